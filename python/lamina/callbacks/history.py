"""History: records every key of the epoch logs; ``fit`` returns it."""

from __future__ import annotations

from .callback import Callback


class History(Callback):
    """Records every key of the epoch logs; ``fit`` returns it (also ``model.history``).

    Attributes:
        history: ``{"loss": [...], "accuracy": [...], "val_loss": [...], ...}`` per epoch.
        epoch: The epoch indices recorded.

    Example:
        >>> h = History(); h.on_train_begin(); h.on_epoch_end(0, {"loss": 1.0})
        >>> h.history
        {'loss': [1.0]}
    """

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []
        self.interrupted = False  # set by fit when Ctrl-C ended training early

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)
        if self.model is not None:
            self.model.history = self

    def diagnose(self, **thresholds):
        """What the curves say (overfitting, underfitting, ...): `lamina.diagnose.diagnose`."""
        from ..diagnose import diagnose

        return diagnose(self, **thresholds)
