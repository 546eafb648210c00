"""LearningRateScheduler: sets the learning rate at the start of each epoch."""

from __future__ import annotations

import math

from .callback import Callback


class LearningRateScheduler(Callback):
    """Sets the learning rate at the start of each epoch from ``schedule(epoch, lr)``.

    Args:
        schedule: Function ``(epoch, lr) -> new lr`` (or ``(epoch) -> lr``); epochs count
            from 0.
        verbose: 1 prints each change. Defaults to `0`.

    Example:
        >>> LearningRateScheduler(lambda epoch, lr: lr * 0.9).verbose
        0
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"schedule must be callable, got {schedule!r}")
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        opt = self.model.optimizer
        lr = float(opt.learning_rate)
        try:
            new_lr = self.schedule(epoch, lr)
        except TypeError:  # a schedule of the epoch alone (Keras's fallback)
            new_lr = self.schedule(epoch)
        try:
            new_lr = float(new_lr)
        except (TypeError, ValueError):
            raise ValueError(f"the schedule returned {new_lr!r} at epoch {epoch}: it must "
                             "return a float") from None
        if not (math.isfinite(new_lr) and new_lr >= 0):
            raise ValueError(f"the schedule returned learning rate {new_lr!r} at epoch "
                             f"{epoch}: it must be a finite number >= 0")
        opt.learning_rate = new_lr
        if self.verbose > 0:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                  f"{new_lr}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)
