"""F-scores: ``FBetaScore`` and ``F1Score`` (Keras 3's, per class or averaged).

Example:
    >>> m = F1Score(average="micro", threshold=0.5)
    >>> m.update_state([[1, 0], [0, 1]], [[0.9, 0.2], [0.6, 0.7]]); round(m.result(), 4)
    0.8
"""

from __future__ import annotations

import numpy as np

from .base import Metric, to_result

__all__ = ["FBetaScore", "F1Score"]

EPSILON = 1e-7
_AVERAGES = (None, "micro", "macro", "weighted")


class FBetaScore(Metric):
    """F-beta score ``(1 + b^2) * P * R / (b^2 * P + R)`` per class, or averaged.

    Predictions are binarized with ``threshold`` (or, when it is None, the row's maximum is
    the one positive), then true/false positives and false negatives are counted per
    class (over every entry for ``average="micro"``).

    Args:
        average: None (one score per class), "micro", "macro" or "weighted" (by the
            number of true instances per class). Defaults to `None`.
        beta: Weight of recall against precision (> 0). Defaults to `1.0`.
        threshold: Scores above it are positive; None picks each row's maximum.
            Defaults to `None`.
        name: Key in logs. Defaults to `"fbeta_score"`.
        dtype: Ignored (float64). Defaults to `None`.

    Example:
        >>> m = FBetaScore(beta=2.0, average="macro", threshold=0.5)
        >>> m.update_state([[1, 0], [1, 1]], [[0.9, 0.1], [0.2, 0.8]]); round(m.result(), 4)
        0.7778
    """

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score",
                 dtype=None):
        super().__init__(dtype=dtype, name=name)
        if average not in _AVERAGES:
            raise ValueError(f"average must be one of {_AVERAGES}, got {average!r}")
        if isinstance(beta, bool) or not isinstance(beta, (int, float, np.number)) \
                or not beta > 0:
            raise ValueError(f"beta must be a number > 0, got {beta!r}")
        if threshold is not None and (isinstance(threshold, bool) or not isinstance(
                threshold, (int, float, np.number)) or not 0.0 <= threshold <= 1.0):
            raise ValueError(f"threshold must be None or a number in [0, 1], got "
                             f"{threshold!r}")
        self.average, self.beta = average, float(beta)
        self.threshold = None if threshold is None else float(threshold)
        self.reset_state()

    def reset_state(self):
        super().reset_state()
        self._counts = None  # (tp, fp, fn, support)

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Adds the batch's weighted counts."""
        y_pred = np.asarray(y_pred, dtype=np.float64)
        y_true = np.asarray(y_true, dtype=np.float64)
        if y_pred.ndim != 2 or y_true.shape != y_pred.shape:
            raise ValueError(f"{type(self).__name__} expects 2-D y_true and y_pred of one "
                             f"shape (batch, classes), got {y_true.shape} and {y_pred.shape}")
        if self.threshold is None:
            pred = (y_pred >= y_pred.max(axis=-1, keepdims=True)) & (np.abs(y_pred) > 1e-9)
        else:
            pred = y_pred > self.threshold
        pred = pred.astype(np.float64)
        weighted_true = y_true
        if sample_weight is not None:
            w = np.asarray(sample_weight, dtype=np.float64).reshape(-1, 1)
            pred, weighted_true = pred * w, y_true * w
        axis = None if self.average == "micro" else 0
        # tp, predicted positives and support, each a (weighted) sum over the batch
        tp = np.sum(pred * y_true, axis=axis)
        predicted, support = np.sum(pred, axis=axis), np.sum(weighted_true, axis=axis)
        batch = np.stack([tp, predicted - tp, support - tp, support])
        if self._counts is None:
            self._counts = np.zeros_like(batch)
        elif self._counts.shape != batch.shape:
            raise ValueError(f"{type(self).__name__} was built for {self._counts.shape[-1]} "
                             f"classes, got {y_pred.shape[-1]}")
        self._counts += batch

    def result(self):
        """The score (per class when average is None; 0.0 before any update)."""
        if self._counts is None:
            return 0.0
        tp, fp, fn, support = self._counts
        precision = tp / (tp + fp + EPSILON)
        recall = tp / (tp + fn + EPSILON)
        b2 = self.beta ** 2
        f = precision * recall / (b2 * precision + recall + EPSILON) * (1 + b2)
        if self.average == "weighted":
            f = np.sum(f * support / (np.sum(support) + EPSILON))
        elif self.average is not None:
            f = np.mean(f)
        return to_result(f)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "average": self.average,
                "beta": self.beta, "threshold": self.threshold}


class F1Score(FBetaScore):
    """F1 score: the harmonic mean of precision and recall (``FBetaScore`` with beta=1).

    Args:
        average: None (one score per class), "micro", "macro" or "weighted". Defaults to
            `None`.
        threshold: Scores above it are positive; None picks each row's maximum.
            Defaults to `None`.
        name: Key in logs. Defaults to `"f1_score"`.
        dtype: Ignored (float64). Defaults to `None`.

    Example:
        >>> m = F1Score(average="macro"); m.update_state([[1, 0], [0, 1]], [[0.9, 0.1], [0.2, 0.8]])
        >>> round(m.result(), 4)
        1.0
    """

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name,
                         dtype=dtype)

    def get_config(self):
        config = super().get_config()
        del config["beta"]
        return config
