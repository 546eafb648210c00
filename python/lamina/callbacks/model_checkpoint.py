"""ModelCheckpoint: saves the model (or its weights) after each epoch or every N batches."""

from __future__ import annotations

import math
import os

from ._monitor import monitored, resolve_mode
from .callback import Callback


class ModelCheckpoint(Callback):
    """Saves the model (or its weights) after each epoch or every ``save_freq`` batches,
    optionally only when it improved.

    ``filepath`` may hold format fields: ``{epoch}`` (1-based), ``{batch}`` (1-based, with
    an integer ``save_freq``) and any log key, e.g.
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
        save_freq: "epoch" saves after each epoch; an int N saves after every N training
            batches, counted across epochs (as Keras 3), with the batch's logs (the
            running loss and metrics of the epoch; ``val_*`` keys are not there).
            Defaults to `"epoch"`.
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
            if isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq < 1:
                raise ValueError(f"ModelCheckpoint save_freq={save_freq!r}: expected 'epoch' "
                                 "or an int >= 1 (save every that many batches)")
            # Batch hooks only for a batch frequency, so an epoch checkpoint keeps fit's
            # hook-free loop (CallbackList calls the hooks an object has of its own).
            self.on_epoch_begin = self._track_epoch
            self.on_train_batch_end = self._save_on_batch
        self.save_freq = save_freq
        self._current_epoch = 0
        self._batches_since_save = 0
        self._last_batch = -1
        if save_weights_only and not self.filepath.endswith((".weights.npz", ".weights.h5")):
            raise ValueError(f"ModelCheckpoint with save_weights_only=True needs a filepath "
                             f"ending in .weights.npz or .weights.h5, got {self.filepath!r}")
        if not save_weights_only and (self.filepath.endswith(".weights.h5") or
                                      not self.filepath.endswith((".lamina", ".keras", ".h5",
                                                                  ".hdf5"))):
            raise ValueError(f"ModelCheckpoint needs a filepath ending in .lamina, .keras or "
                             f"(legacy) .h5, got {self.filepath!r}")
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

    def _track_epoch(self, epoch, logs=None):
        self._current_epoch = epoch

    def _save_on_batch(self, batch, logs=None):
        # Keras 3's count: a batch index at or below the last one starts a new epoch.
        self._batches_since_save += batch + 1 if batch <= self._last_batch else (
            batch - self._last_batch)
        self._last_batch = batch
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(self._current_epoch, logs, batch)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, logs)

    def _save(self, epoch, logs, batch=None):
        logs = logs or {}
        if self.save_best_only:
            current = monitored("ModelCheckpoint", self.monitor, logs)
            if current is None:
                return
            if not self._better(current):
                return
            self.best = current
        try:
            fields = {"epoch": epoch + 1, **({} if batch is None else {"batch": batch + 1})}
            path = self.filepath.format(**fields, **logs)
        except (KeyError, IndexError) as exc:
            raise KeyError(f"ModelCheckpoint filepath {self.filepath!r} names {exc}, which is "
                           f"not in the logs (available: {', '.join([*fields, *sorted(logs)])})"
                           ) from None
        folder = os.path.dirname(path)
        if folder:  # Keras's ModelCheckpoint creates the checkpoint folder ("ckpt/w_{epoch}")
            os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)
        self.last_saved = path
        if self.verbose > 0:
            at = "" if batch is None else f", batch {batch + 1}"
            print(f"Epoch {epoch + 1}{at}: saved model to {path}")
