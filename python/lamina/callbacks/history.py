"""History: records every key of the epoch logs; ``fit`` returns it."""

from __future__ import annotations

from .callback import Callback


class History(Callback):
    """Records every key of the epoch logs; ``fit`` returns it (also ``model.history``).

    Attributes:
        history: ``{"loss": [...], "accuracy": [...], "val_loss": [...], ...}`` per epoch.
        epoch: The epoch indices recorded.
        fit_info: What ``fit`` knew beyond the curves, for ``lamina.diagnose``: batch size,
            sample counts, what early stopping and TerminateOnNaN did, and the untrained
            loss and chance accuracy of the training targets (empty until ``fit`` runs).

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
        self.fit_info = {}  # set by fit (see the class docstring)

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)
        if self.model is not None:
            self.model.history = self

    def diagnose(self, **thresholds):
        """What the curves say (overfitting, divergence, ...): `lamina.diagnose.diagnose`,
        judged against the untrained loss and the run's own hyperparameters (its model and
        ``fit_info``)."""
        from ..diagnose import diagnose

        return diagnose(self, **thresholds)
