"""EarlyStopping: stops training when a monitored value stops improving."""

from __future__ import annotations

from .._validation import check_float, check_int
from ._monitor import monitored, resolve_mode
from .callback import Callback


class EarlyStopping(Callback):
    """Stops training when a monitored value has stopped improving (Keras 3 semantics).

    Args:
        monitor: Log key to watch. Defaults to `"val_loss"`.
        min_delta: Smallest change that counts as an improvement. Defaults to `0`.
        patience: Epochs without improvement before stopping. Defaults to `0`.
        verbose: 1 prints when it stops. Defaults to `0`.
        mode: "min", "max" or "auto" (max for accuracies, min otherwise). Defaults to
            `"auto"`.
        baseline: Value the monitor must beat to reset the patience. Defaults to `None`.
        restore_best_weights: At the end of training, copy back the weights of the best
            epoch. Defaults to `False`.
        start_from_epoch: Epochs to wait before monitoring. Defaults to `0`.

    Example:
        >>> es = EarlyStopping(monitor="val_accuracy", patience=3)
        >>> es.mode
        'max'
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        self.monitor = monitor
        self.patience = check_int("patience", patience, minimum=0)
        self.verbose = verbose
        self.baseline = baseline
        self.min_delta = abs(check_float("min_delta", min_delta))
        self.restore_best_weights = bool(restore_best_weights)
        self.start_from_epoch = check_int("start_from_epoch", start_from_epoch, minimum=0)
        self.mode = resolve_mode(monitor, mode, "EarlyStopping")
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def _is_improvement(self, value, reference):
        if reference is None:
            return True
        if self.mode == "min":  # Keras: monitor_op(value - (-min_delta), reference)
            return value + self.min_delta < reference
        return value - self.min_delta > reference

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        current = monitored("EarlyStopping", self.monitor, logs or {})
        if current is None:
            return
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print("Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)
