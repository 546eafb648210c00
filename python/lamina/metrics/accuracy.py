"""Accuracy metrics: Accuracy, BinaryAccuracy, (Sparse)CategoricalAccuracy, (Sparse)TopK.

All but ``Accuracy`` are computed inside the core's training step during ``fit`` /
``evaluate`` (``core_name``); on their own they run in numpy.

Example:
    >>> m = BinaryAccuracy(threshold=0.3)
    >>> m.update_state([[1.0], [0.0]], [[0.4], [0.2]]); m.result()
    1.0
"""

from __future__ import annotations

import numpy as np

from . import functions as F
from .base import MeanMetricWrapper

__all__ = ["Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy",
           "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy"]


def _check_k(k):
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be an int >= 1, got {k!r}")
    return int(k)


class Accuracy(MeanMetricWrapper):
    """How often ``y_pred`` equals ``y_true`` exactly.

    Args:
        name: Key in logs. Defaults to `"accuracy"`.
        dtype: Ignored (float64). Defaults to `None`.

    Example:
        >>> m = Accuracy(); m.update_state([[1], [2]], [[1], [3]]); m.result()
        0.5
    """

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(F.accuracy, name=name, dtype=dtype)


class BinaryAccuracy(MeanMetricWrapper):
    """How often ``(y_pred > threshold)`` matches the 0/1 target.

    Args:
        name: Key in logs. Defaults to `"binary_accuracy"`.
        dtype: Ignored (float64). Defaults to `None`.
        threshold: Decision threshold. Defaults to `0.5`.

    Example:
        >>> m = BinaryAccuracy(); m.update_state([[1.0]], [[0.9]]); m.result()
        1.0
    """

    core_name = "binary_accuracy"

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(F.binary_accuracy, name=name, dtype=dtype)
        self.threshold = float(threshold)
        self._fn_kwargs = {"threshold": self.threshold}

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "threshold": self.threshold}


class CategoricalAccuracy(MeanMetricWrapper):
    """How often ``argmax(y_pred)`` matches the one-hot target's argmax.

    Args:
        name: Key in logs. Defaults to `"categorical_accuracy"`.
        dtype: Ignored (float64). Defaults to `None`.

    Example:
        >>> m = CategoricalAccuracy(); m.update_state([[0, 1]], [[0.1, 0.9]]); m.result()
        1.0
    """

    core_name = "categorical_accuracy"

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(F.categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often ``argmax(y_pred)`` matches the integer label.

    Args:
        name: Key in logs. Defaults to `"sparse_categorical_accuracy"`.
        dtype: Ignored (float64). Defaults to `None`.

    Example:
        >>> m = SparseCategoricalAccuracy(); m.update_state([1], [[0.1, 0.9]]); m.result()
        1.0
    """

    core_name = "sparse_categorical_accuracy"

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(F.sparse_categorical_accuracy, name=name, dtype=dtype)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot target is among the ``k`` highest predictions.

    Args:
        k: How many top predictions count. Defaults to `5`.
        name: Key in logs. Defaults to `"top_k_categorical_accuracy"`.
        dtype: Ignored (float64). Defaults to `None`.

    Example:
        >>> m = TopKCategoricalAccuracy(k=1); m.update_state([[0, 1]], [[0.1, 0.9]]); m.result()
        1.0
    """

    core_name = "top_k_categorical_accuracy"
    _function = staticmethod(F.top_k_categorical_accuracy)

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(self._function, name=name, dtype=dtype)
        self.k = _check_k(k)
        self._fn_kwargs = {"k": self.k}

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "k": self.k}


class SparseTopKCategoricalAccuracy(TopKCategoricalAccuracy):
    """How often the integer label is among the ``k`` highest predictions.

    Args:
        k: How many top predictions count. Defaults to `5`.
        name: Key in logs. Defaults to `"sparse_top_k_categorical_accuracy"`.
        dtype: Ignored (float64). Defaults to `None`.

    Example:
        >>> m = SparseTopKCategoricalAccuracy(k=1); m.update_state([1], [[0.1, 0.9]])
        >>> m.result()
        1.0
    """

    core_name = "sparse_top_k_categorical_accuracy"
    _function = staticmethod(F.sparse_top_k_categorical_accuracy)

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None):
        super().__init__(k=k, name=name, dtype=dtype)
