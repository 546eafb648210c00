"""TerminateOnNaN: stops at the first non-finite loss, keeping finite weights."""

from __future__ import annotations

import math

import numpy as np

from .callback import Callback


class TerminateOnNaN(Callback):
    """Stops training at the first batch whose loss is NaN or inf, and says so.

    The model is left with its last finite weights: before each batch the weights are
    copied into one of two reused buffers (one copy of the parameters per batch, only while
    this callback is used), and when a batch reports a non-finite loss the newest finite
    copy is put back (``restored_step`` records which).

    Args:
        restore_finite_weights: Put back the last finite weights when stopping. Defaults to
            `True`.

    Example:
        >>> TerminateOnNaN().stopped_batch is None
        True
    """

    def __init__(self, restore_finite_weights=True):
        super().__init__()
        self.restore_finite_weights = bool(restore_finite_weights)
        self.stopped_batch = None
        self.restored_step = None
        self._buffers = None
        self._steps = [None, None]
        self._turn = 0

    def on_train_begin(self, logs=None):
        self.stopped_batch = None
        self.restored_step = None
        if self.restore_finite_weights:
            self._buffers = [[np.empty_like(w) for w in self.model.weights] for _ in range(2)]
            self._steps = [None, None]

    def on_train_batch_begin(self, batch, logs=None):
        if self._buffers is not None:
            self._turn ^= 1
            for dst, src in zip(self._buffers[self._turn], self.model.weights):
                np.copyto(dst, src)
            self._steps[self._turn] = self.model.optimizer.iterations

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("batch_loss", (logs or {}).get("loss"))
        if loss is None or math.isfinite(loss):
            return
        self.stopped_batch = batch
        self.model.stop_training = True
        message = f"Batch {batch}: Invalid loss {loss}, terminating training"
        if self._buffers is not None:
            for turn in (self._turn, self._turn ^ 1):
                saved = self._buffers[turn]
                if self._steps[turn] is not None and all(np.isfinite(w).all() for w in saved):
                    for dst, src in zip(self.model.weights, saved):
                        np.copyto(dst, src)
                    self.restored_step = self._steps[turn]
                    message += (f"; restored the finite weights from before optimizer step "
                                f"{self.restored_step + 1}")
                    break
        print(message)

    def on_train_end(self, logs=None):
        self._buffers = None
