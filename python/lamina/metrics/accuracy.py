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
from .base import MeanMetricWrapper, function_metric

__all__ = ["Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy",
           "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy"]


def _check_k(k):
    # 2**31 - 1: the core counts classes in 32 bits (a larger k reached it wrapped around)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= 2**31 - 1:
        raise ValueError(f"k must be an int in [1, 2147483647], got {k!r}")
    return int(k)


Accuracy = function_metric(
    "Accuracy", F.accuracy, "accuracy", "How often ``y_pred`` equals ``y_true`` exactly.",
    ">>> m = Accuracy(); m.update_state([[1], [2]], [[1], [3]]); m.result()\n        0.5",
    __name__)


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
        self.threshold = float(threshold)
        super().__init__(F.binary_accuracy, name=name, dtype=dtype, threshold=self.threshold)


CategoricalAccuracy = function_metric(
    "CategoricalAccuracy", F.categorical_accuracy, "categorical_accuracy",
    "How often ``argmax(y_pred)`` matches the one-hot target's argmax.",
    ">>> m = CategoricalAccuracy(); m.update_state([[0, 1]], [[0.1, 0.9]]); m.result()\n"
    "        1.0", __name__, core_name="categorical_accuracy")
SparseCategoricalAccuracy = function_metric(
    "SparseCategoricalAccuracy", F.sparse_categorical_accuracy, "sparse_categorical_accuracy",
    "How often ``argmax(y_pred)`` matches the integer label.",
    ">>> m = SparseCategoricalAccuracy(); m.update_state([1], [[0.1, 0.9]]); m.result()\n"
    "        1.0", __name__, core_name="sparse_categorical_accuracy")


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
        self.k = _check_k(k)
        super().__init__(self._function, name=name, dtype=dtype, k=self.k)


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
