"""Activation functions: Keras names for the core's activations, and numpy versions for users.

Each function works on numpy arrays (float64 math, result in the input's float dtype) and is
accepted wherever an activation is (``Dense(8, activation=lamina.activations.relu)``), as is
its name (``activation="relu"``). Keras aliases are understood: "swish" is "silu",
``None`` is "linear".

Example:
    >>> import numpy as np
    >>> import lamina
    >>> lamina.activations.relu(np.array([-1.0, 2.0])).tolist()
    [0.0, 2.0]
    >>> lamina.activations.get("swish")
    'silu'
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "elu", "gelu", "get", "hard_sigmoid", "leaky_relu", "linear", "log_softmax", "relu",
    "selu", "serialize", "deserialize", "sigmoid", "silu", "softmax", "softplus", "softsign",
    "swish", "tanh", "relu6", "hard_silu", "hard_swish", "mish", "log_sigmoid",
    "ALL_ACTIVATIONS",
]

# Names the core understands (cpp/include/lamina/activations.hpp), canonical spelling, the
# most used first (error messages list them in this order).
ALL_ACTIVATIONS = (
    "linear", "relu", "sigmoid", "tanh", "softmax", "leaky_relu", "elu", "selu", "gelu",
    "gelu_tanh", "softplus", "softsign", "silu", "hard_sigmoid", "log_softmax", "relu6",
    "hard_silu", "mish", "log_sigmoid",
)
_ALIASES = {"swish": "silu", "none": "linear", "identity": "linear", "hard_swish": "hard_silu"}
# The `alpha` each activation gets from its name alone (Keras 3 defaults).
DEFAULT_ALPHA = {"leaky_relu": 0.2, "elu": 1.0}


def _float(x):
    a = np.asarray(x)
    return a if np.issubdtype(a.dtype, np.floating) else a.astype(np.float64)


def linear(x):
    """Identity: ``f(x) = x``.

    Args:
        x: Array-like input.

    Example:
        >>> linear(np.array([1.5])).tolist()
        [1.5]
    """
    return _float(x)


def relu(x):
    """Rectified linear unit: ``max(x, 0)``.

    Args:
        x: Array-like input.

    Example:
        >>> relu(np.array([-2.0, 3.0])).tolist()
        [0.0, 3.0]
    """
    x = _float(x)
    return np.maximum(x, 0).astype(x.dtype)


def leaky_relu(x, negative_slope=0.2):
    """Leaky ReLU: ``x`` if ``x > 0`` else ``negative_slope * x``.

    Args:
        x: Array-like input.
        negative_slope: Slope for negative inputs. Defaults to `0.2`.

    Example:
        >>> leaky_relu(np.array([-1.0, 1.0])).tolist()
        [-0.2, 1.0]
    """
    x = _float(x)
    return np.where(x > 0, x, negative_slope * x).astype(x.dtype)


def elu(x, alpha=1.0):
    """Exponential linear unit: ``x`` if ``x > 0`` else ``alpha * (exp(x) - 1)``.

    Args:
        x: Array-like input.
        alpha: Scale of the negative part. Defaults to `1.0`.

    Example:
        >>> round(float(elu(np.array([-1.0]))[0]), 4)
        -0.6321
    """
    x = _float(x)
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))).astype(x.dtype)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(x):
    """Scaled ELU: ``scale * elu(x, alpha)`` with the self-normalizing constants.

    Args:
        x: Array-like input.

    Example:
        >>> round(float(selu(np.array([1.0]))[0]), 4)
        1.0507
    """
    x = _float(x)
    return (_SELU_SCALE * np.where(x > 0, x, _SELU_ALPHA * np.expm1(np.minimum(x, 0)))).astype(
        x.dtype)


def sigmoid(x):
    """Logistic sigmoid: ``1 / (1 + exp(-x))``, stable for large ``|x|``.

    Args:
        x: Array-like input.

    Example:
        >>> sigmoid(np.array([0.0])).tolist()
        [0.5]
    """
    x = _float(x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)


def tanh(x):
    """Hyperbolic tangent.

    Args:
        x: Array-like input.

    Example:
        >>> tanh(np.array([0.0])).tolist()
        [0.0]
    """
    x = _float(x)
    return np.tanh(x)


def softplus(x):
    """Softplus: ``log(1 + exp(x))``, stable for large ``|x|``.

    Args:
        x: Array-like input.

    Example:
        >>> round(float(softplus(np.array([0.0]))[0]), 4)
        0.6931
    """
    x = _float(x)
    return (np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))).astype(x.dtype)


def softsign(x):
    """Softsign: ``x / (1 + |x|)``.

    Args:
        x: Array-like input.

    Example:
        >>> softsign(np.array([1.0])).tolist()
        [0.5]
    """
    x = _float(x)
    return x / (1 + np.abs(x))


def silu(x):
    """SiLU, also called swish: ``x * sigmoid(x)``.

    Args:
        x: Array-like input.

    Example:
        >>> silu(np.array([0.0])).tolist()
        [0.0]
    """
    x = _float(x)
    return (x * sigmoid(x)).astype(x.dtype)


swish = silu


def gelu(x, approximate=False):
    """Gaussian error linear unit: ``x * Phi(x)`` (exact), or its tanh approximation.

    Args:
        x: Array-like input.
        approximate: Use the tanh approximation (the core's "gelu_tanh"). Defaults to `False`.

    Example:
        >>> round(float(gelu(np.array([1.0]))[0]), 4)
        0.8413
    """
    x = _float(x)
    if approximate:
        c = math.sqrt(2 / math.pi)
        return (0.5 * x * (1 + np.tanh(c * (x + 0.044715 * x ** 3)))).astype(x.dtype)
    erf = np.vectorize(math.erf, otypes=[np.float64])
    return (0.5 * x * (1 + erf(x / math.sqrt(2)))).astype(x.dtype)


def hard_sigmoid(x):
    """Hard sigmoid (Keras 3): ``relu6(x + 3) / 6``.

    Args:
        x: Array-like input.

    Example:
        >>> hard_sigmoid(np.array([0.0, 5.0])).tolist()
        [0.5, 1.0]
    """
    x = _float(x)
    return (np.clip(x + 3, 0, 6) / 6).astype(x.dtype)


def relu6(x):
    """ReLU capped at 6: ``min(max(x, 0), 6)``.

    Args:
        x: Array-like input.

    Example:
        >>> relu6(np.array([-1.0, 3.0, 9.0])).tolist()
        [0.0, 3.0, 6.0]
    """
    x = _float(x)
    return np.clip(x, 0, 6).astype(x.dtype)


def hard_silu(x):
    """Hard SiLU (hard swish, Keras 3): ``x * relu6(x + 3) / 6``.

    Args:
        x: Array-like input.

    Example:
        >>> hard_silu(np.array([-4.0, 0.0, 1.0, 4.0])).round(4).tolist()
        [-0.0, 0.0, 0.6667, 4.0]
    """
    x = _float(x)
    return (x * (np.clip(x + 3, 0, 6) / 6)).astype(x.dtype)


hard_swish = hard_silu


def mish(x):
    """Mish (Misra 2019): ``x * tanh(softplus(x))``.

    Args:
        x: Array-like input.

    Example:
        >>> round(float(mish(np.array([1.0]))[0]), 4)
        0.8651
    """
    x = _float(x)
    return (x * np.tanh(np.logaddexp(x, 0))).astype(x.dtype)


def log_sigmoid(x):
    """Log of the sigmoid, computed stably: ``-softplus(-x)``.

    Args:
        x: Array-like input.

    Example:
        >>> round(float(log_sigmoid(np.array([0.0]))[0]), 4)
        -0.6931
    """
    x = _float(x)
    return (-np.logaddexp(-x, 0)).astype(x.dtype)


def softmax(x, axis=-1):
    """Softmax over ``axis`` (the max is subtracted first).

    Args:
        x: Array-like input.
        axis: Axis to normalize. Defaults to `-1`.

    Example:
        >>> softmax(np.array([[0.0, 0.0]])).tolist()
        [[0.5, 0.5]]
    """
    x = _float(x)
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(x, axis=-1):
    """Log of the softmax over ``axis``, computed stably.

    Args:
        x: Array-like input.
        axis: Axis to normalize. Defaults to `-1`.

    Example:
        >>> round(float(log_softmax(np.array([0.0, 0.0]))[0]), 4)
        -0.6931
    """
    x = _float(x)
    s = x - np.max(x, axis=axis, keepdims=True)
    return s - np.log(np.sum(np.exp(s), axis=axis, keepdims=True))


_FUNCTIONS = {
    "linear": linear, "sigmoid": sigmoid, "tanh": tanh, "relu": relu,
    "leaky_relu": leaky_relu, "elu": elu, "selu": selu, "gelu": gelu,
    "softplus": softplus, "softsign": softsign, "silu": silu, "hard_sigmoid": hard_sigmoid,
    "softmax": softmax, "log_softmax": log_softmax, "relu6": relu6, "hard_silu": hard_silu,
    "mish": mish, "log_sigmoid": log_sigmoid,
}


def get(identifier) -> str:
    """Resolves an activation to the core's canonical name.

    Args:
        identifier: A name ("relu", "swish", "gelu" …), one of this module's functions, or
            ``None`` (linear).

    Returns:
        The canonical name, one of ``ALL_ACTIVATIONS``.

    Example:
        >>> get(None), get("ReLU"), get(tanh)
        ('linear', 'relu', 'tanh')
    """
    if identifier is None:
        return "linear"
    if callable(identifier) and not isinstance(identifier, str):
        for name, fn in _FUNCTIONS.items():
            if fn is identifier:
                return name
        raise ValueError(
            f"activation {identifier!r} is not supported: lamina computes activations in its "
            f"C++ core, so pass one of {', '.join(ALL_ACTIVATIONS + ('swish',))} (by name or "
            "as lamina.activations.<name>)")
    if isinstance(identifier, dict):  # Keras-serialized form
        identifier = identifier.get("config", identifier.get("class_name"))
    if not isinstance(identifier, str):
        raise TypeError(f"activation must be a string, a lamina.activations function or None, "
                        f"got {identifier!r}")
    name = identifier.strip().lower()
    name = _ALIASES.get(name, name)
    if name not in ALL_ACTIVATIONS:
        raise ValueError(f"unknown activation {identifier!r}: accepted names are "
                         f"{', '.join(ALL_ACTIVATIONS + ('swish',))}")
    return name


def serialize(activation) -> str:
    """Returns the name an activation is saved under (the canonical name).

    Example:
        >>> serialize("swish")
        'silu'
    """
    return get(activation)


def deserialize(name):
    """Returns the numpy function for a name (``"gelu_tanh"`` gives approximate gelu).

    Example:
        >>> deserialize("swish") is silu
        True
    """
    name = get(name)
    if name == "gelu_tanh":
        return lambda x: gelu(x, approximate=True)
    return _FUNCTIONS[name]
