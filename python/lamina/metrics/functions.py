"""Per-sample metric functions (Keras 3's ``keras.metrics.*`` functions), in numpy float64.

Each returns one value per sample (averaged over the last axis where Keras does); the
metric classes average them over samples with the sample weights. The functions a loss
shares are the loss's own (``lamina.loss_functions``), on targets shaped like the
predictions (a 1-D ``y_pred`` is one output per sample).

Example:
    >>> mean_absolute_percentage_error([[2.0, 4.0]], [[1.0, 4.0]]).tolist()
    [25.0]
"""

from __future__ import annotations

import numpy as np

from .. import loss_functions as _lf
from ..losses import (binary_crossentropy, categorical_crossentropy,
                      sparse_categorical_crossentropy)

__all__ = [
    "accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
    "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "mean_squared_error",
    "mean_absolute_error", "mean_absolute_percentage_error", "mean_squared_logarithmic_error",
    "log_cosh", "cosine_similarity", "kl_divergence", "poisson", "hinge", "squared_hinge",
    "categorical_hinge", "binary_crossentropy", "categorical_crossentropy",
    "sparse_categorical_crossentropy", "mse", "mae", "mape", "msle",
]

EPSILON = 1e-7  # keras.backend.epsilon()


def _pred(y_pred):
    y_pred = np.asarray(y_pred, dtype=np.float64)
    return y_pred.reshape(-1, 1) if y_pred.ndim == 1 else y_pred


def _dense(y_true, y_pred):
    """(y_true, y_pred) as float64 arrays of y_pred's 2-D shape (dense targets)."""
    y_pred = _pred(y_pred)
    y_true = np.asarray(y_true, dtype=np.float64)
    if y_true.size != y_pred.size:
        raise ValueError(f"y_true of shape {y_true.shape} does not match y_pred of shape "
                         f"{y_pred.shape}")
    return y_true.reshape(y_pred.shape), y_pred


def _sparse_labels(y_true):
    y = np.asarray(y_true)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    return y.astype(np.int64)


def accuracy(y_true, y_pred):
    """Per-sample fraction of outputs equal to the target (Keras's ``Accuracy``).

    Example:
        >>> accuracy([[1.0, 2.0]], [[1.0, 3.0]]).tolist()
        [0.5]
    """
    y_true, y_pred = _dense(y_true, y_pred)
    return np.mean(y_true == y_pred, axis=-1)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """Per-sample fraction of outputs where ``(y_pred > threshold) == (y_true > 0.5)``.

    Args:
        y_true: 0/1 targets, shape ``(n, d)`` or ``(n,)``.
        y_pred: Predictions, same shape.
        threshold: Decision threshold. Defaults to `0.5`.

    Example:
        >>> binary_accuracy([[1.0], [0.0]], [[0.7], [0.6]]).tolist()
        [1.0, 0.0]
    """
    y_true, y_pred = _dense(y_true, y_pred)
    return np.mean((y_pred > threshold) == (y_true > 0.5), axis=-1)


def categorical_accuracy(y_true, y_pred):
    """Per-sample ``argmax(y_pred) == argmax(y_true)``.

    Example:
        >>> categorical_accuracy([[0, 1]], [[0.2, 0.8]]).tolist()
        [1.0]
    """
    y_true, y_pred = _dense(y_true, y_pred)
    return (np.argmax(y_pred, -1) == np.argmax(y_true, -1)).astype(np.float64)


def sparse_categorical_accuracy(y_true, y_pred):
    """Per-sample ``argmax(y_pred) == label``.

    Example:
        >>> sparse_categorical_accuracy([1], [[0.2, 0.8]]).tolist()
        [1.0]
    """
    return (np.argmax(_pred(y_pred), -1) == _sparse_labels(y_true)).astype(np.float64)


def _in_top_k(pred, labels, k):
    # Label counted when fewer than k classes score strictly higher (ties favour the label).
    target = pred[np.arange(pred.shape[0]), labels]
    return (np.sum(pred > target[:, None], axis=-1) < k).astype(np.float64)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """Per-sample: is ``argmax(y_true)`` among the ``k`` highest predictions.

    Args:
        y_true: One-hot targets, shape ``(n, c)``.
        y_pred: Predictions, shape ``(n, c)``.
        k: How many top predictions count. Defaults to `5`.

    Example:
        >>> top_k_categorical_accuracy([[0, 0, 1]], [[0.5, 0.3, 0.2]], k=2).tolist()
        [0.0]
    """
    y_true, y_pred = _dense(y_true, y_pred)
    return _in_top_k(y_pred, np.argmax(y_true, -1), k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    """Per-sample: is the label among the ``k`` highest predictions.

    Args:
        y_true: Integer labels, shape ``(n,)``.
        y_pred: Predictions, shape ``(n, c)``.
        k: How many top predictions count. Defaults to `5`.

    Example:
        >>> sparse_top_k_categorical_accuracy([2], [[0.5, 0.3, 0.2]], k=3).tolist()
        [1.0]
    """
    return _in_top_k(_pred(y_pred), _sparse_labels(y_true), k)


def mean_squared_error(y_true, y_pred):
    """Per-sample mean squared error over the last axis.

    Example:
        >>> mean_squared_error([[0.0]], [[2.0]]).tolist()
        [4.0]
    """
    return _lf.mean_squared_error(*_dense(y_true, y_pred))


def mean_absolute_error(y_true, y_pred):
    """Per-sample mean absolute error over the last axis.

    Example:
        >>> mean_absolute_error([[0.0]], [[-2.0]]).tolist()
        [2.0]
    """
    return _lf.mean_absolute_error(*_dense(y_true, y_pred))


def mean_absolute_percentage_error(y_true, y_pred):
    """Per-sample ``100 * mean(|y_true - y_pred| / max(|y_true|, 1e-7))``.

    Example:
        >>> mean_absolute_percentage_error([[4.0]], [[3.0]]).tolist()
        [25.0]
    """
    return _lf.mean_absolute_percentage_error(*_dense(y_true, y_pred))


def mean_squared_logarithmic_error(y_true, y_pred):
    """Per-sample ``mean((log1p(max(y_pred, 1e-7)) - log1p(max(y_true, 1e-7))) ** 2)``.

    Example:
        >>> round(float(mean_squared_logarithmic_error([[0.0]], [[np.e - 1]])[0]), 6)
        1.0
    """
    return _lf.mean_squared_logarithmic_error(*_dense(y_true, y_pred))


def log_cosh(y_true, y_pred):
    """Per-sample ``mean(log(cosh(y_pred - y_true)))`` (computed without overflow).

    Example:
        >>> round(float(log_cosh([[0.0]], [[1.0]])[0]), 6)
        0.433781
    """
    return _lf.log_cosh(*_dense(y_true, y_pred))


def cosine_similarity(y_true, y_pred):
    """Per-sample cosine of the angle between ``y_true`` and ``y_pred`` (last axis).

    Example:
        >>> cosine_similarity([[1.0, 0.0]], [[1.0, 1.0]]).round(4).tolist()
        [0.7071]
    """
    return -_lf.cosine_similarity(*_dense(y_true, y_pred))  # the loss is its negative


def kl_divergence(y_true, y_pred):
    """Per-sample ``sum(y_true * log(y_true / y_pred))``, both clipped to ``[1e-7, 1]``.

    Example:
        >>> round(float(kl_divergence([[0.5, 0.5]], [[0.25, 0.75]])[0]), 4)
        0.1438
    """
    return _lf.kl_divergence(*_dense(y_true, y_pred))


def poisson(y_true, y_pred):
    """Per-sample ``mean(y_pred - y_true * log(y_pred + 1e-7))``.

    Example:
        >>> round(float(poisson([[1.0]], [[1.0]])[0]), 4)
        1.0
    """
    return _lf.poisson(*_dense(y_true, y_pred))


def hinge(y_true, y_pred):
    """Per-sample ``mean(max(1 - y_true * y_pred, 0))`` with 0/1 targets mapped to -1/1.

    Example:
        >>> hinge([[1.0, 0.0]], [[0.5, -2.0]]).tolist()
        [0.25]
    """
    return _lf.hinge(*_dense(y_true, y_pred))


def squared_hinge(y_true, y_pred):
    """Per-sample ``mean(max(1 - y_true * y_pred, 0) ** 2)`` (0/1 targets mapped to -1/1).

    Example:
        >>> squared_hinge([[1.0, 0.0]], [[0.5, -2.0]]).tolist()
        [0.125]
    """
    return _lf.squared_hinge(*_dense(y_true, y_pred))


def categorical_hinge(y_true, y_pred):
    """Per-sample ``max(0, 1 + max((1 - y_true) * y_pred) - sum(y_true * y_pred))``.

    Example:
        >>> categorical_hinge([[0.0, 1.0]], [[0.3, 0.6]]).round(6).tolist()
        [0.7]
    """
    return _lf.categorical_hinge(*_dense(y_true, y_pred))


mse = mean_squared_error
mae = mean_absolute_error
mape = mean_absolute_percentage_error
msle = mean_squared_logarithmic_error
