"""ModelCheckpoint: saves the model (or its weights) after each epoch."""

from __future__ import annotations

import math
import os

from ._monitor import monitored, resolve_mode
from .callback import Callback


class ModelCheckpoint(Callback):
    """Saves the model (or its weights) after each epoch, optionally only when it improved.

    ``filepath`` may hold format fields: ``{epoch}`` (1-based) and any log key, e.g.
    ``"ckpt-{epoch:02d}-{val_loss:.3f}.lamina"``. Whole models go to ``.lamina`` (or
    ``.keras``, Keras 3's format) files, weights to ``.weights.npz`` (or ``.weights.h5``,
    Keras 3's HDF5 layout, with h5py installed).

    Args:
        filepath: Where to save.
        monitor: Log key for ``save_best_only``. Defaults to `"val_loss"`.
        verbose: 1 prints each save. Defaults to `0`.
        save_best_only: Save only when ``monitor`` improves. Defaults to `False`.
        save_weights_only: Save only the weights. Defaults to `False`.
        mode: "min", "max" or "auto". Defaults to `"auto"`.
        save_freq: Only "epoch" is supported. Defaults to `"epoch"`.
        initial_value_threshold: Value the monitor must beat for the first save. Defaults
            to `None`.

    Example:
        >>> ModelCheckpoint("best.lamina", save_best_only=True).mode
        'min'
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        super().__init__()
        self.filepath = os.fspath(filepath)
        if save_freq != "epoch":
            raise ValueError(f"ModelCheckpoint save_freq={save_freq!r} is not supported: "
                             "only 'epoch'")
        if save_weights_only and not self.filepath.endswith((".weights.npz", ".weights.h5")):
            raise ValueError(f"ModelCheckpoint with save_weights_only=True needs a filepath "
                             f"ending in .weights.npz or .weights.h5, got {self.filepath!r}")
        if not save_weights_only and not self.filepath.endswith((".lamina", ".keras")):
            raise ValueError(f"ModelCheckpoint needs a filepath ending in .lamina (or .keras), "
                             f"got {self.filepath!r}")
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        self.mode = resolve_mode(monitor, mode, "ModelCheckpoint")
        self.best = initial_value_threshold
        self.last_saved = None

    def _better(self, current):
        # NaN is never an improvement, and never the value to beat: a first epoch whose
        # monitored value is NaN must not stop every later epoch from saving.
        if current is None or math.isnan(current):
            return False
        if self.best is None or math.isnan(self.best):
            return True
        return current < self.best if self.mode == "min" else current > self.best

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.save_best_only:
            current = monitored("ModelCheckpoint", self.monitor, logs)
            if current is None:
                return
            if not self._better(current):
                return
            self.best = current
        try:
            path = self.filepath.format(epoch=epoch + 1, **logs)
        except (KeyError, IndexError) as exc:
            raise KeyError(f"ModelCheckpoint filepath {self.filepath!r} names {exc}, which is "
                           f"not in the logs (available: epoch, {', '.join(sorted(logs))})"
                           ) from None
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)
        self.last_saved = path
        if self.verbose > 0:
            print(f"Epoch {epoch + 1}: saved model to {path}")
