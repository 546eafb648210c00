"""The per-sample loss functions in numpy (float64), Keras 3's definitions.

``lamina.losses`` re-exports them (``lamina.losses.mean_squared_error`` ...); the classes
there train with the same maths fused in the C++ core (cpp/ops/losses.cpp).

Example:
    >>> log_cosh([[0.0]], [[0.0]]).tolist()
    [0.0]
"""

from __future__ import annotations

import numpy as np

__all__ = ["mean_squared_error", "mean_absolute_error", "huber", "binary_crossentropy",
           "categorical_crossentropy", "sparse_categorical_crossentropy", "log_cosh",
           "kl_divergence", "poisson", "hinge", "squared_hinge", "categorical_hinge",
           "cosine_similarity", "mean_squared_logarithmic_error",
           "mean_absolute_percentage_error"]

EPSILON = 1e-7

ALL_LOSSES = ("mean_squared_error", "mean_absolute_error", "huber", "binary_crossentropy",
              "categorical_crossentropy", "sparse_categorical_crossentropy")


def _arrays(y_true, y_pred):
    y_pred = np.asarray(y_pred, dtype=np.float64)
    y_true = np.asarray(y_true, dtype=np.float64)
    if y_true.shape != y_pred.shape and y_true.size == y_pred.size:
        y_true = y_true.reshape(y_pred.shape)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true shape {y_true.shape} does not match y_pred shape "
                         f"{y_pred.shape}")
    return y_true, y_pred


def mean_squared_error(y_true, y_pred):
    """Per-sample ``mean((y_true - y_pred) ** 2)`` over the last axis.

    Args:
        y_true: Targets, shape ``(n, d)``.
        y_pred: Predictions, same shape.

    Example:
        >>> mean_squared_error([[0.0, 0.0]], [[1.0, 3.0]]).tolist()
        [5.0]
    """
    y_true, y_pred = _arrays(y_true, y_pred)
    return np.mean(np.square(y_pred - y_true), axis=-1)


def mean_absolute_error(y_true, y_pred):
    """Per-sample ``mean(|y_true - y_pred|)`` over the last axis.

    Args:
        y_true: Targets, shape ``(n, d)``.
        y_pred: Predictions, same shape.

    Example:
        >>> mean_absolute_error([[0.0, 0.0]], [[1.0, -3.0]]).tolist()
        [2.0]
    """
    y_true, y_pred = _arrays(y_true, y_pred)
    return np.mean(np.abs(y_pred - y_true), axis=-1)


def huber(y_true, y_pred, delta=1.0):
    """Per-sample Huber loss: quadratic for errors up to ``delta``, linear beyond.

    Args:
        y_true: Targets, shape ``(n, d)``.
        y_pred: Predictions, same shape.
        delta: Where the loss turns linear. Defaults to `1.0`.

    Example:
        >>> huber([[0.0]], [[3.0]]).tolist()
        [2.5]
    """
    y_true, y_pred = _arrays(y_true, y_pred)
    err = np.abs(y_pred - y_true)
    quad = np.minimum(err, delta)
    return np.mean(0.5 * quad ** 2 + delta * (err - quad), axis=-1)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    """Per-sample binary crossentropy, averaged over the last axis.

    Args:
        y_true: Targets in [0, 1], shape ``(n, d)``.
        y_pred: Probabilities (clipped to ``[1e-7, 1 - 1e-7]``) or logits.
        from_logits: Whether ``y_pred`` holds logits. Defaults to `False`.
        label_smoothing: Targets become ``y * (1 - ls) + 0.5 * ls``. Defaults to `0.0`.

    Example:
        >>> round(float(binary_crossentropy([[1.0]], [[0.5]])[0]), 4)
        0.6931
    """
    y_true, y_pred = _arrays(y_true, y_pred)
    y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        z = y_pred
        per = np.maximum(z, 0) - z * y_true + np.log1p(np.exp(-np.abs(z)))
    else:
        p = np.clip(y_pred, EPSILON, 1 - EPSILON)
        per = -(y_true * np.log(p) + (1 - y_true) * np.log(1 - p))
    return np.mean(per, axis=-1)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0):
    """Per-sample categorical crossentropy with one-hot (or soft) targets.

    Args:
        y_true: Targets, shape ``(n, k)``, rows summing to 1.
        y_pred: Probabilities (normalized, then clipped to ``[1e-7, 1 - 1e-7]``) or logits.
        from_logits: Whether ``y_pred`` holds logits. Defaults to `False`.
        label_smoothing: Targets become ``y * (1 - ls) + ls / k``. Defaults to `0.0`.

    Example:
        >>> round(float(categorical_crossentropy([[0.0, 1.0]], [[0.5, 0.5]])[0]), 4)
        0.6931
    """
    y_true, y_pred = _arrays(y_true, y_pred)
    y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[-1]
    if from_logits:
        s = y_pred - y_pred.max(axis=-1, keepdims=True)
        logp = s - np.log(np.exp(s).sum(axis=-1, keepdims=True))
    else:
        p = y_pred / y_pred.sum(axis=-1, keepdims=True)
        logp = np.log(np.clip(p, EPSILON, 1 - EPSILON))
    return -np.sum(y_true * logp, axis=-1)


def _labels(y_true, n_classes):
    y = np.asarray(y_true)
    if y.ndim >= 1 and y.shape[-1] == 1 and y.ndim > 1:
        y = y[..., 0]
    frac = np.flatnonzero(np.floor(y) != y)
    if frac.size:
        raise ValueError(f"sparse_categorical_crossentropy needs integer labels, got "
                         f"{y.flat[frac[0]]} at position {frac[0]}")
    y = y.astype(np.int64)
    bad = np.flatnonzero((y < 0) | (y >= n_classes))
    if bad.size:
        raise ValueError(f"label {y.flat[bad[0]]} at position {bad[0]} is outside "
                         f"[0, {n_classes})")
    return y


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    """Per-sample crossentropy with integer class labels.

    Args:
        y_true: Labels in ``[0, k)``, shape ``(n,)`` or ``(n, 1)``.
        y_pred: Probabilities or logits, shape ``(n, k)``.
        from_logits: Whether ``y_pred`` holds logits. Defaults to `False`.

    Example:
        >>> round(float(sparse_categorical_crossentropy([1], [[0.5, 0.5]])[0]), 4)
        0.6931
    """
    y_pred = np.asarray(y_pred, dtype=np.float64)
    y = _labels(y_true, y_pred.shape[-1])
    onehot = np.zeros_like(y_pred)
    onehot[np.arange(y.shape[0]), y] = 1.0
    return categorical_crossentropy(onehot, y_pred, from_logits=from_logits)


def log_cosh(y_true, y_pred):
    """Per-sample ``mean(log(cosh(y_pred - y_true)))`` over the last axis.

    Args:
        y_true: Targets, shape ``(n, d)``.
        y_pred: Predictions, same shape.

    Example:
        >>> round(float(log_cosh([[0.0]], [[1.0]])[0]), 4)
        0.4338
    """
    y_true, y_pred = _arrays(y_true, y_pred)
    e = y_pred - y_true
    return np.mean(e + np.logaddexp(0.0, -2.0 * e) - np.log(2.0), axis=-1)


def kl_divergence(y_true, y_pred):
    """Per-sample ``sum(y_true * log(y_true / y_pred))``, both clipped to ``[1e-7, 1]``.

    Args:
        y_true: Target distributions, shape ``(n, d)``.
        y_pred: Predicted distributions, same shape.

    Example:
        >>> round(float(kl_divergence([[0.5, 0.5]], [[0.25, 0.75]])[0]), 4)
        0.1438
    """
    y_true, y_pred = _arrays(y_true, y_pred)
    t, p = np.clip(y_true, EPSILON, 1.0), np.clip(y_pred, EPSILON, 1.0)
    return np.sum(t * np.log(t / p), axis=-1)


def poisson(y_true, y_pred):
    """Per-sample ``mean(y_pred - y_true * log(y_pred + 1e-7))``.

    Args:
        y_true: Counts, shape ``(n, d)``.
        y_pred: Predicted rates (> 0), same shape.

    Example:
        >>> round(float(poisson([[1.0]], [[1.0]])[0]), 4)
        1.0
    """
    y_true, y_pred = _arrays(y_true, y_pred)
    return np.mean(y_pred - y_true * np.log(y_pred + EPSILON), axis=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    """Per-sample ``mean((log1p(max(y_pred, 1e-7)) - log1p(max(y_true, 1e-7))) ** 2)``.

    Args:
        y_true: Targets (>= 0 where it matters), shape ``(n, d)``.
        y_pred: Predictions, same shape.

    Example:
        >>> round(float(mean_squared_logarithmic_error([[0.0]], [[np.e - 1]])[0]), 6)
        1.0
    """
    y_true, y_pred = _arrays(y_true, y_pred)
    d = np.log1p(np.maximum(y_pred, EPSILON)) - np.log1p(np.maximum(y_true, EPSILON))
    return np.mean(np.square(d), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """Per-sample ``100 * mean(|y_true - y_pred| / max(|y_true|, 1e-7))``.

    Args:
        y_true: Targets, shape ``(n, d)``.
        y_pred: Predictions, same shape.

    Example:
        >>> mean_absolute_percentage_error([[4.0]], [[3.0]]).tolist()
        [25.0]
    """
    y_true, y_pred = _arrays(y_true, y_pred)
    diff = np.abs(y_true - y_pred) / np.maximum(np.abs(y_true), EPSILON)
    return 100.0 * np.mean(diff, axis=-1)


def _hinge_labels(y_true):
    """Keras 3: labels that are all 0 or 1 become -1 / 1."""
    if np.all((y_true == 0) | (y_true == 1)):
        return 2.0 * y_true - 1.0
    return y_true


def hinge(y_true, y_pred):
    """Per-sample ``mean(max(1 - y_true * y_pred, 0))``; 0/1 labels become -1/1.

    Args:
        y_true: Labels -1/1 (or 0/1), shape ``(n, d)``.
        y_pred: Scores, same shape.

    Example:
        >>> hinge([[1.0]], [[0.25]]).tolist()
        [0.75]
    """
    y_true, y_pred = _arrays(y_true, y_pred)
    return np.mean(np.maximum(1.0 - _hinge_labels(y_true) * y_pred, 0.0), axis=-1)


def squared_hinge(y_true, y_pred):
    """Per-sample ``mean(max(1 - y_true * y_pred, 0) ** 2)``; 0/1 labels become -1/1.

    Args:
        y_true: Labels -1/1 (or 0/1), shape ``(n, d)``.
        y_pred: Scores, same shape.

    Example:
        >>> squared_hinge([[1.0]], [[0.5]]).tolist()
        [0.25]
    """
    y_true, y_pred = _arrays(y_true, y_pred)
    return np.mean(np.square(np.maximum(1.0 - _hinge_labels(y_true) * y_pred, 0.0)), axis=-1)


def categorical_hinge(y_true, y_pred):
    """Per-sample ``max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)``.

    Args:
        y_true: One-hot targets, shape ``(n, k)``.
        y_pred: Scores, same shape.

    Example:
        >>> categorical_hinge([[0.0, 1.0]], [[0.5, 0.25]]).tolist()
        [1.25]
    """
    y_true, y_pred = _arrays(y_true, y_pred)
    pos = np.sum(y_true * y_pred, axis=-1)
    neg = np.max((1.0 - y_true) * y_pred, axis=-1)
    return np.maximum(neg - pos + 1.0, 0.0)


def _l2_normalize(x):
    return x / np.sqrt(np.maximum(np.sum(x * x, axis=-1, keepdims=True), 1e-12))


def cosine_similarity(y_true, y_pred, axis=-1):
    """Per-sample ``-sum(l2_normalize(y_true) * l2_normalize(y_pred))`` (-1: aligned).

    Args:
        y_true: Targets, shape ``(n, d)``.
        y_pred: Predictions, same shape.
        axis: The vector axis; -1 (the last) only. Defaults to `-1`.

    Example:
        >>> cosine_similarity([[1.0, 0.0]], [[2.0, 0.0]]).tolist()
        [-1.0]
    """
    if axis not in (-1, 1):
        raise ValueError(f"cosine_similarity takes axis=-1 (the outputs), got {axis!r}")
    y_true, y_pred = _arrays(y_true, y_pred)
    return -np.sum(_l2_normalize(y_true) * _l2_normalize(y_pred), axis=-1)
