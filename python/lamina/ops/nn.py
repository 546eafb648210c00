"""``keras.ops`` neural-network functions (activations, one_hot, crossentropies), tape-aware.

The activations compute in numpy (float64 stays float64); their gradients are recorded when
an input is a tape Tensor. The crossentropies follow Keras 3's backend definitions (the
probability forms normalise, then clip to ``[1e-7, 1 - 1e-7]``).

Example:
    >>> import numpy as np
    >>> from lamina import ops
    >>> ops.softmax(np.array([[0.0, 0.0]])).tolist()
    [[0.5, 0.5]]
"""

from __future__ import annotations

import math

import numpy as np

from . import numpy_ops as npo
from .tape import NUMPY_NAMES, record, value

__all__ = []

EPSILON = 1e-7


def _public(fn):
    globals()[fn.__name__] = fn
    __all__.append(fn.__name__)
    return fn


def _activation(name, f, df, what, numpy_name=False):
    """df(x, y, g) -> dL/dx."""
    def op(x):
        xv = value(x)
        y = f(xv)
        return record(name, y, (x,), lambda g: (df(xv, y, g),))
    op.__name__ = op.__qualname__ = name
    op.__doc__ = (f"{what} (``keras.ops.{name}``).\n\n    Args:\n        x: A tensor or "
                  "array.\n")
    if numpy_name:
        NUMPY_NAMES[name] = op
    return _public(op)


def _sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _softplus(x):
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


_SELU_A, _SELU_S = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946

_activation("sigmoid", _sigmoid, lambda x, y, g: g * y * (1 - y), "1 / (1 + exp(-x))")
_activation("relu", lambda x: np.maximum(x, 0), lambda x, y, g: g * (x > 0), "max(x, 0)")
_activation("relu6", lambda x: np.clip(x, 0, 6), lambda x, y, g: g * ((x > 0) & (x < 6)),
            "min(max(x, 0), 6)")
_activation("softplus", _softplus, lambda x, y, g: g * _sigmoid(x), "log(1 + exp(x))")
_activation("softsign", lambda x: x / (1 + np.abs(x)),
            lambda x, y, g: g / np.square(1 + np.abs(x)), "x / (1 + |x|)")
_activation("silu", lambda x: x * _sigmoid(x),
            lambda x, y, g: g * (_sigmoid(x) * (1 + x * (1 - _sigmoid(x)))), "x * sigmoid(x)")
_activation("swish", lambda x: x * _sigmoid(x),
            lambda x, y, g: g * (_sigmoid(x) * (1 + x * (1 - _sigmoid(x)))), "x * sigmoid(x)")
_activation("log_sigmoid", lambda x: -_softplus(-x), lambda x, y, g: g * _sigmoid(-x),
            "log(sigmoid(x))")
_activation("hard_sigmoid", lambda x: np.clip(x / 6 + 0.5, 0, 1),
            lambda x, y, g: g * ((x > -3) & (x < 3)) / 6, "clip(x / 6 + 0.5, 0, 1) (Keras 3)")
_activation("selu", lambda x: _SELU_S * np.where(x > 0, x, _SELU_A * np.expm1(np.minimum(x, 0))),
            lambda x, y, g: g * _SELU_S * np.where(x > 0, 1, _SELU_A * np.exp(np.minimum(x, 0))),
            "Scaled exponential linear unit")


@_public
def elu(x, alpha=1.0):
    """x if x > 0 else alpha * (exp(x) - 1) (``keras.ops.elu``).

    Args:
        x: A tensor or array.
        alpha: Scale of the negative part. Defaults to `1.0`.
    """
    xv = value(x)
    y = np.where(xv > 0, xv, alpha * np.expm1(np.minimum(xv, 0)))
    return record("elu", y, (x,),
                  lambda g: (g * np.where(xv > 0, 1, alpha * np.exp(np.minimum(xv, 0))),))


@_public
def leaky_relu(x, negative_slope=0.2):
    """x if x > 0 else negative_slope * x (``keras.ops.leaky_relu``).

    Args:
        x: A tensor or array.
        negative_slope: Slope of the negative part. Defaults to `0.2`.
    """
    xv = value(x)
    return record("leaky_relu", np.where(xv > 0, xv, negative_slope * xv), (x,),
                  lambda g: (g * np.where(xv > 0, 1, negative_slope),))


@_public
def gelu(x, approximate=True):
    """Gaussian error linear unit (``keras.ops.gelu``).

    Args:
        x: A tensor or array.
        approximate: The tanh approximation. Defaults to `True`.
    """
    xv = value(x)
    if approximate:
        c = math.sqrt(2 / math.pi)
        t = np.tanh(c * (xv + 0.044715 * xv ** 3))
        y = 0.5 * xv * (1 + t)
        d = 0.5 * (1 + t) + 0.5 * xv * (1 - t * t) * c * (1 + 3 * 0.044715 * xv ** 2)
    else:
        from math import erf
        cdf = 0.5 * (1 + np.vectorize(erf)(xv / math.sqrt(2)))
        y = xv * cdf
        d = cdf + xv * np.exp(-0.5 * xv * xv) / math.sqrt(2 * math.pi)
    return record("gelu", y.astype(xv.dtype, copy=False), (x,), lambda g: (g * d,))


@_public
def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along ``axis`` (``keras.ops.softmax``).

    Args:
        x: A tensor or array.
        axis: The axis. Defaults to `-1`.
    """
    xv = value(x)
    e = np.exp(xv - np.max(xv, axis=axis, keepdims=True))
    y = e / np.sum(e, axis=axis, keepdims=True)
    return record("softmax", y, (x,),
                  lambda g: (y * (g - np.sum(g * y, axis=axis, keepdims=True)),))


@_public
def log_softmax(x, axis=-1):
    """x - logsumexp(x) along ``axis`` (``keras.ops.log_softmax``).

    Args:
        x: A tensor or array.
        axis: The axis. Defaults to `-1`.
    """
    xv = value(x)
    s = xv - np.max(xv, axis=axis, keepdims=True)
    y = s - np.log(np.sum(np.exp(s), axis=axis, keepdims=True))
    return record("log_softmax", y, (x,),
                  lambda g: (g - np.exp(y) * np.sum(g, axis=axis, keepdims=True),))


@_public
def one_hot(x, num_classes, axis=-1, dtype=None):
    """One-hot vectors of integer labels (``keras.ops.one_hot``). No gradient.

    Args:
        x: Integer labels.
        num_classes: Number of classes.
        axis: Where the class axis goes. Defaults to `-1`.
        dtype: The dtype. Defaults to `None` (float32, as Keras).
    """
    labels = value(x).astype(np.int64)
    out = (labels[..., None] == np.arange(int(num_classes))).astype(dtype or np.float32)
    if axis != -1:
        out = np.moveaxis(out, -1, axis)
    return record("one_hot", out, (x,), None)


@_public
def binary_crossentropy(target, output, from_logits=False):
    """Element-wise binary crossentropy (``keras.ops.binary_crossentropy``; no mean).

    Args:
        target: Targets in [0, 1].
        output: Probabilities (clipped to ``[1e-7, 1 - 1e-7]``) or logits.
        from_logits: Whether ``output`` holds logits. Defaults to `False`.
    """
    if from_logits:
        # max(z, 0) - z * t + log(1 + exp(-|z|))
        return npo.subtract(npo.add(npo.maximum(output, 0), npo.log1p(
            npo.exp(npo.negative(npo.abs(output))))), npo.multiply(output, target))
    p = npo.clip(output, EPSILON, 1 - EPSILON)
    return npo.negative(npo.add(npo.multiply(target, npo.log(p)),
                                npo.multiply(npo.subtract(1, target),
                                             npo.log(npo.subtract(1, p)))))


@_public
def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Per-sample categorical crossentropy (``keras.ops.categorical_crossentropy``).

    Args:
        target: One-hot (or soft) targets.
        output: Probabilities (normalised along ``axis``, then clipped) or logits.
        from_logits: Whether ``output`` holds logits. Defaults to `False`.
        axis: The class axis. Defaults to `-1`.
    """
    if from_logits:
        logp = log_softmax(output, axis=axis)
    else:
        p = npo.divide(output, npo.sum(output, axis=axis, keepdims=True))
        logp = npo.log(npo.clip(p, EPSILON, 1 - EPSILON))
    return npo.negative(npo.sum(npo.multiply(target, logp), axis=axis))


@_public
def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Per-sample crossentropy of integer labels
    (``keras.ops.sparse_categorical_crossentropy``).

    Args:
        target: Integer labels, shape ``(n,)`` or ``(n, 1)``.
        output: Probabilities or logits, shape ``(n, classes)``.
        from_logits: Whether ``output`` holds logits. Defaults to `False`.
        axis: The class axis. Defaults to `-1`.
    """
    labels = value(target)
    if labels.ndim == value(output).ndim and labels.shape[-1] == 1:
        labels = labels[..., 0]
    onehot = one_hot(labels, value(output).shape[axis], axis=axis,
                     dtype=value(output).dtype)
    return categorical_crossentropy(onehot, output, from_logits=from_logits, axis=axis)
