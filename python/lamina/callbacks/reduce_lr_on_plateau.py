"""ReduceLROnPlateau: lowers the learning rate when a monitored value stalls."""

from __future__ import annotations

import math

import numpy as np

from .._validation import check_float, check_int
from ._monitor import monitored, resolve_mode
from .callback import Callback


class ReduceLROnPlateau(Callback):
    """Multiplies the learning rate by ``factor`` when a monitored value stops improving.

    Args:
        monitor: Log key to watch. Defaults to `"val_loss"`.
        factor: Multiplier in (0, 1). Defaults to `0.1`.
        patience: Epochs without improvement before reducing. Defaults to `10`.
        verbose: 1 prints each reduction. Defaults to `0`.
        mode: "min", "max" or "auto". Defaults to `"auto"`.
        min_delta: Smallest change that counts as an improvement. Defaults to `1e-4`.
        cooldown: Epochs to wait after a reduction. Defaults to `0`.
        min_lr: Lower bound of the learning rate. Defaults to `0.0`.

    Example:
        >>> ReduceLROnPlateau(factor=0.5, patience=2).factor
        0.5
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0, **kwargs):
        super().__init__()
        if kwargs:
            raise TypeError(f"unexpected arguments for ReduceLROnPlateau: "
                            f"{', '.join(sorted(kwargs))}")
        self.factor = check_float("ReduceLROnPlateau factor", factor, 0.0, 1.0, min_open=True,
                                  max_open=True)
        self.monitor = monitor
        self.patience = check_int("patience", patience, minimum=0)
        self.verbose = verbose
        self.mode = resolve_mode(monitor, mode, "ReduceLROnPlateau")
        self.min_delta = check_float("min_delta", min_delta)
        self.cooldown = check_int("cooldown", cooldown, minimum=0)
        self.min_lr = check_float("min_lr", min_lr, minimum=0.0)
        self._reset()

    def _reset(self):
        self.best = math.inf if self.mode == "min" else -math.inf
        self.cooldown_counter = 0
        self.wait = 0

    def _improved(self, current):
        if self.mode == "min":
            return current < self.best - self.min_delta
        return current > self.best + self.min_delta

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:  # as Keras: the rate this epoch trained with joins the logs
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)
        current = monitored("ReduceLROnPlateau", self.monitor, logs or {})
        if current is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(current):
            self.best = current
            self.wait = 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                opt = self.model.optimizer
                old_lr = float(opt.learning_rate)
                if old_lr > float(np.float32(self.min_lr)):
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    opt.learning_rate = new_lr
                    if self.verbose > 0:
                        print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate "
                              f"to {new_lr}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0
