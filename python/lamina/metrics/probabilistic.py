"""Losses as metrics: crossentropies, KLDivergence, Poisson and the hinge family.

Each is the mean over samples of the loss's per-sample value (Keras's metric classes of
the same names). Any ``lamina.losses`` loss also works as a metric in ``compile``.

Example:
    >>> m = BinaryCrossentropy(); m.update_state([[1.0]], [[0.5]]); round(m.result(), 4)
    0.6931
"""

from __future__ import annotations

from . import functions as F
from .base import MeanMetricWrapper, function_metric

__all__ = ["BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy",
           "KLDivergence", "Poisson", "Hinge", "SquaredHinge", "CategoricalHinge"]


def _smoothing(label_smoothing):
    ls = float(label_smoothing)
    if not 0.0 <= ls <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing!r}")
    return ls


class BinaryCrossentropy(MeanMetricWrapper):
    """Binary crossentropy between 0/1 targets and predictions.

    Args:
        name: Key in logs. Defaults to `"binary_crossentropy"`.
        dtype: Ignored (float64). Defaults to `None`.
        from_logits: Whether ``y_pred`` holds logits. Defaults to `False`.
        label_smoothing: Targets become ``y * (1 - s) + 0.5 * s``. Defaults to `0`.

    Example:
        >>> m = BinaryCrossentropy(from_logits=True); m.update_state([[1.0]], [[0.0]])
        >>> round(m.result(), 4)
        0.6931
    """

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0):
        super().__init__(self._crossentropy, name=name, dtype=dtype)
        self.from_logits = bool(from_logits)
        self.label_smoothing = _smoothing(label_smoothing)

    def _crossentropy(self, y_true, y_pred):
        return F.binary_crossentropy(*F._dense(y_true, y_pred), self.from_logits,
                                     self.label_smoothing)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing}


class CategoricalCrossentropy(MeanMetricWrapper):
    """Categorical crossentropy between one-hot targets and predictions.

    Args:
        name: Key in logs. Defaults to `"categorical_crossentropy"`.
        dtype: Ignored (float64). Defaults to `None`.
        from_logits: Whether ``y_pred`` holds logits. Defaults to `False`.
        label_smoothing: Targets become ``y * (1 - s) + s / classes``. Defaults to `0`.
        axis: Must be -1 (the class axis). Defaults to `-1`.

    Example:
        >>> m = CategoricalCrossentropy(); m.update_state([[0, 1]], [[0.5, 0.5]])
        >>> round(m.result(), 4)
        0.6931
    """

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0, axis=-1):
        if axis != -1:
            raise ValueError(f"CategoricalCrossentropy(axis={axis!r}) is not supported: "
                             "only -1")
        super().__init__(self._crossentropy, name=name, dtype=dtype)
        self.from_logits = bool(from_logits)
        self.label_smoothing = _smoothing(label_smoothing)

    def _crossentropy(self, y_true, y_pred):
        return F.categorical_crossentropy(*F._dense(y_true, y_pred), self.from_logits,
                                          self.label_smoothing)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": -1}


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """Crossentropy between integer labels and predictions.

    Args:
        name: Key in logs. Defaults to `"sparse_categorical_crossentropy"`.
        dtype: Ignored (float64). Defaults to `None`.
        from_logits: Whether ``y_pred`` holds logits. Defaults to `False`.
        axis: Must be -1 (the class axis). Defaults to `-1`.

    Example:
        >>> m = SparseCategoricalCrossentropy(); m.update_state([1], [[0.5, 0.5]])
        >>> round(m.result(), 4)
        0.6931
    """

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False,
                 axis=-1):
        if axis != -1:
            raise ValueError(f"SparseCategoricalCrossentropy(axis={axis!r}) is not "
                             "supported: only -1")
        super().__init__(F.sparse_categorical_crossentropy, name=name, dtype=dtype,
                         from_logits=bool(from_logits))
        self.from_logits = bool(from_logits)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits,
                "axis": -1}


KLDivergence = function_metric(
    "KLDivergence", F.kl_divergence, "kl_divergence",
    "Kullback-Leibler divergence ``sum(y_true * log(y_true / y_pred))``.",
    ">>> m = KLDivergence(); m.update_state([[0.5, 0.5]], [[0.5, 0.5]]); m.result()\n"
    "        0.0", __name__)
Poisson = function_metric(
    "Poisson", F.poisson, "poisson", "Poisson deviance ``mean(y_pred - y_true * log(y_pred))``.",
    ">>> m = Poisson(); m.update_state([[0.0]], [[2.0]]); m.result()\n        2.0", __name__)
Hinge = function_metric(
    "Hinge", F.hinge, "hinge", "Hinge ``mean(max(1 - y_true * y_pred, 0))`` (0/1 -> -1/1).",
    ">>> m = Hinge(); m.update_state([[1.0]], [[0.5]]); m.result()\n        0.5", __name__)
SquaredHinge = function_metric(
    "SquaredHinge", F.squared_hinge, "squared_hinge",
    "Squared hinge ``mean(max(1 - y_true * y_pred, 0) ** 2)``.",
    ">>> m = SquaredHinge(); m.update_state([[1.0]], [[0.5]]); m.result()\n        0.25",
    __name__)
CategoricalHinge = function_metric(
    "CategoricalHinge", F.categorical_hinge, "categorical_hinge",
    "Categorical hinge ``max(0, 1 + max((1 - y) * p) - sum(y * p))``.",
    ">>> m = CategoricalHinge(); m.update_state([[0.0, 1.0]], [[0.0, 1.0]]); m.result()\n"
    "        0.0", __name__)
