"""Independent float64 numpy references of the element-wise kernels (the test oracles).

Written from the Keras 3 definitions, not from lamina's C++: activations forward and
backward, losses (value + gradient), metric sums, and the dropout mask generator (SplitMix64 in
numpy uint64 arithmetic). Plain functions on float64 arrays so that other tests (a whole
network step reference) can reuse them.

Conventions: activations map x (any shape; softmax/log_softmax along the last axis) to y;
`*_grad` functions return dx = dy * f'(x). Losses take y_true, y_pred (m, n) (labels (m,) for
the sparse one) and return (total, grad) with total = sum_i sw_i * l_i and
grad = scale * sw_i * d l_i / d y_pred.
"""

from __future__ import annotations

import math

import numpy as np

EPSILON = 1e-7  # keras.config.epsilon()
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
_erf = np.vectorize(math.erf, otypes=[np.float64])
_erfc = np.vectorize(math.erfc, otypes=[np.float64])


def _f64(x):
    return np.asarray(x, dtype=np.float64)


# ---- activations: forward ----------------------------------------------------------------

def linear(x):
    return _f64(x).copy()


def sigmoid(x):
    x = _f64(x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def tanh(x):
    return np.tanh(_f64(x))


def relu(x):
    return np.maximum(_f64(x), 0.0)


def leaky_relu(x, alpha=0.2):
    x = _f64(x)
    return np.where(x > 0, x, alpha * x)


def elu(x, alpha=1.0):
    x = _f64(x)
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


def selu(x):
    return SELU_SCALE * elu(x, SELU_ALPHA)


def gelu(x):
    """Exact GELU: x * Phi(x) = 0.5 x erfc(-x / sqrt 2)."""
    x = _f64(x)
    return 0.5 * x * _erfc(-x / math.sqrt(2.0))


def gelu_tanh(x):
    """Tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    x = _f64(x)
    u = math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)
    return x * sigmoid(2.0 * u)  # 0.5 (1 + tanh u) written without cancellation


def softplus(x):
    return np.logaddexp(_f64(x), 0.0)


def softsign(x):
    x = _f64(x)
    return x / (1.0 + np.abs(x))


def silu(x):
    x = _f64(x)
    return x * sigmoid(x)


def hard_sigmoid(x):
    """Keras 3: relu6(x + 3) / 6."""
    return np.clip(_f64(x) + 3.0, 0.0, 6.0) / 6.0


def relu6(x):
    return np.clip(_f64(x), 0.0, 6.0)


def hard_silu(x):
    x = _f64(x)
    return x * hard_sigmoid(x)


def mish(x):
    x = _f64(x)
    return x * np.tanh(softplus(x))


def log_sigmoid(x):
    return -softplus(-_f64(x))


def softmax(x):
    x = _f64(x)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax(x):
    x = _f64(x)
    z = x - x.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


# ---- activations: derivatives (dx = dy * f'(x)) ------------------------------------------

def linear_grad(x, dy):
    return _f64(dy).copy()


def sigmoid_grad(x, dy):
    s = sigmoid(x)
    return _f64(dy) * s * (1.0 - s)


def tanh_grad(x, dy):
    return _f64(dy) * (1.0 - np.tanh(_f64(x)) ** 2)


def relu_grad(x, dy):
    return np.where(_f64(x) > 0, _f64(dy), 0.0)


def leaky_relu_grad(x, dy, alpha=0.2):
    return np.where(_f64(x) > 0, 1.0, alpha) * _f64(dy)


def elu_grad(x, dy, alpha=1.0):
    x = _f64(x)
    return np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0))) * _f64(dy)


def selu_grad(x, dy):
    return SELU_SCALE * elu_grad(x, dy, SELU_ALPHA)


def gelu_grad(x, dy):
    x = _f64(x)
    pdf = np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    return _f64(dy) * (0.5 * _erfc(-x / math.sqrt(2.0)) + x * pdf)


def gelu_tanh_grad(x, dy):
    x = _f64(x)
    c = math.sqrt(2.0 / math.pi)
    t = np.tanh(c * (x + 0.044715 * x**3))
    return _f64(dy) * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * c * (1.0 + 3 * 0.044715 * x * x))


def softplus_grad(x, dy):
    return _f64(dy) * sigmoid(x)


def softsign_grad(x, dy):
    return _f64(dy) / (1.0 + np.abs(_f64(x))) ** 2


def silu_grad(x, dy):
    x = _f64(x)
    s = sigmoid(x)
    return _f64(dy) * (s * (1.0 + x * (1.0 - s)))


def hard_sigmoid_grad(x, dy):
    x = _f64(x)
    return np.where((x > -3.0) & (x < 3.0), 1.0 / 6.0, 0.0) * _f64(dy)


def relu6_grad(x, dy):
    x = _f64(x)
    return np.where((x > 0) & (x < 6), _f64(dy), 0.0)


def hard_silu_grad(x, dy):
    x = _f64(x)
    return np.where(x < -3, 0.0, np.where(x > 3, 1.0, (2 * x + 3) / 6)) * _f64(dy)


def mish_grad(x, dy):
    x = _f64(x)
    t = np.tanh(softplus(x))
    return _f64(dy) * (t + x * sigmoid(x) * (1 - t * t))


def log_sigmoid_grad(x, dy):
    return _f64(dy) * sigmoid(-_f64(x))


def softmax_grad(x, dy):
    y = softmax(x)
    dy = _f64(dy)
    return y * (dy - (dy * y).sum(axis=-1, keepdims=True))


def log_softmax_grad(x, dy):
    dy = _f64(dy)
    return dy - softmax(x) * dy.sum(axis=-1, keepdims=True)


_ALPHA_DEFAULT = {"leaky_relu": 0.2, "elu": 1.0}
ACTIVATIONS = ("linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu",
               "gelu_tanh", "softplus", "softsign", "silu", "hard_sigmoid", "softmax",
               "log_softmax", "relu6", "hard_silu", "mish", "log_sigmoid")


def activation(x, name, alpha=None):
    """f(x) for an activation name (swish = silu); alpha for leaky_relu / elu."""
    name = "silu" if name == "swish" else name
    fn = globals()[name]
    if name in _ALPHA_DEFAULT:
        return fn(x, _ALPHA_DEFAULT[name] if alpha is None else alpha)
    return fn(x)


def activation_grad(x, dy, name, alpha=None):
    """dy * f'(x) for an activation name."""
    name = "silu" if name == "swish" else name
    fn = globals()[name + "_grad"]
    if name in _ALPHA_DEFAULT:
        return fn(x, dy, _ALPHA_DEFAULT[name] if alpha is None else alpha)
    return fn(x, dy)


# ---- losses: per-sample values l_i and d l_i / d y_pred ----------------------------------

def _clip_bounds(dtype):
    """Keras clips in the prediction's dtype: eps and 1 - eps rounded to it."""
    dt = np.dtype(dtype)
    return float(dt.type(EPSILON)), float(dt.type(1.0 - EPSILON))


def mse_per_sample(y, p):
    d = _f64(p) - _f64(y)
    return (d * d).mean(axis=-1), 2.0 * d / d.shape[-1]


def mae_per_sample(y, p):
    d = _f64(p) - _f64(y)
    return np.abs(d).mean(axis=-1), np.sign(d) / d.shape[-1]


def huber_per_sample(y, p, delta=1.0):
    e = _f64(p) - _f64(y)
    a = np.abs(e)
    lv = np.where(a <= delta, 0.5 * e * e, delta * a - 0.5 * delta * delta)
    g = np.where(a <= delta, e, delta * np.sign(e))
    return lv.mean(axis=-1), g / e.shape[-1]


def bce_per_sample(y, p, from_logits=False, dtype=np.float64):
    y, p = _f64(y), _f64(p)
    n = p.shape[-1]
    if from_logits:
        lv = np.maximum(p, 0.0) - p * y + np.log1p(np.exp(-np.abs(p)))
        g = sigmoid(p) - y
    else:
        lo, hi = _clip_bounds(dtype)
        c = np.clip(p, lo, hi)
        lv = -(y * np.log(c) + (1.0 - y) * np.log(1.0 - c))
        inside = (p >= lo) & (p <= hi)
        g = np.where(inside, -y / c + (1.0 - y) / (1.0 - c), 0.0)
    return lv.mean(axis=-1), g / n


def cce_per_sample(y, p, from_logits=False, dtype=np.float64):
    y, p = _f64(y), _f64(p)
    if from_logits:
        ls = log_softmax(p)
        lv = -(y * ls).sum(axis=-1)
        g = np.exp(ls) * y.sum(axis=-1, keepdims=True) - y
        return lv, g
    lo, hi = _clip_bounds(dtype)
    s = p.sum(axis=-1, keepdims=True)
    q = p / s
    c = np.clip(q, lo, hi)
    lv = -(y * np.log(c)).sum(axis=-1)
    inside = (q >= lo) & (q <= hi)
    dq = np.where(inside, -y / c, 0.0)  # d l / d q
    g = (dq - (dq * q).sum(axis=-1, keepdims=True)) / s  # chain rule through q = p / sum(p)
    return lv, g


def one_hot(labels, n):
    labels = np.asarray(labels).reshape(-1)
    out = np.zeros((labels.size, n))
    out[np.arange(labels.size), labels] = 1.0
    return out


def loss(y_true, y_pred, name, from_logits=False, delta=1.0, sample_weight=None, scale=1.0):
    """(sum_i sw_i l_i, scale * sw_i * d l_i / d y_pred) in float64, Keras 3 semantics."""
    dtype = np.asarray(y_pred).dtype
    p = _f64(y_pred)
    name = {"mse": "mean_squared_error", "mae": "mean_absolute_error"}.get(name, name)
    if name == "sparse_categorical_crossentropy":
        y_true, name = one_hot(y_true, p.shape[-1]), "categorical_crossentropy"
    y = _f64(y_true)
    if name == "mean_squared_error":
        lv, g = mse_per_sample(y, p)
    elif name == "mean_absolute_error":
        lv, g = mae_per_sample(y, p)
    elif name == "huber":
        lv, g = huber_per_sample(y, p, delta)
    elif name == "binary_crossentropy":
        lv, g = bce_per_sample(y, p, from_logits, dtype)
    elif name == "categorical_crossentropy":
        lv, g = cce_per_sample(y, p, from_logits, dtype)
    else:
        raise ValueError(name)
    sw = np.ones(p.shape[0]) if sample_weight is None else _f64(sample_weight)
    return float((sw * lv).sum()), scale * sw[:, None] * g


# ---- metrics -----------------------------------------------------------------------------

def metric(y_true, y_pred, name, threshold=0.5, k=5, sample_weight=None):
    """sum_i sw_i * metric_i (Keras 3 definitions; top-k: ties at the boundary count as hits)."""
    p = _f64(y_pred)
    name = {"mse": "mean_squared_error", "mae": "mean_absolute_error"}.get(name, name)
    if name in ("sparse_categorical_accuracy", "sparse_top_k_categorical_accuracy"):
        t = np.asarray(y_true).reshape(-1).astype(np.int64)
    elif name in ("categorical_accuracy", "top_k_categorical_accuracy"):
        t = np.argmax(_f64(y_true), axis=-1)
    if name == "binary_accuracy":
        v = ((p > threshold) == (_f64(y_true) > 0.5)).mean(axis=-1)
    elif name in ("categorical_accuracy", "sparse_categorical_accuracy"):
        v = (np.argmax(p, axis=-1) == t).astype(np.float64)
    elif name in ("top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy"):
        target = p[np.arange(p.shape[0]), t]
        v = ((p > target[:, None]).sum(axis=-1) < k).astype(np.float64)
    elif name == "mean_squared_error":
        v = ((p - _f64(y_true)) ** 2).mean(axis=-1)
    elif name == "mean_absolute_error":
        v = np.abs(p - _f64(y_true)).mean(axis=-1)
    else:
        raise ValueError(name)
    sw = np.ones(p.shape[0]) if sample_weight is None else _f64(sample_weight)
    return float((sw * v).sum())


# ---- dropout: SplitMix64 keep bits ---------------------------------------------------------

_M64 = (1 << 64) - 1
_GAMMA = 0x9E3779B97F4A7C15


def _mix_int(z: int) -> int:
    """SplitMix64's output function on one Python int (mod 2**64)."""
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def _mix_u64(z: np.ndarray) -> np.ndarray:
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def dropout_keep(n, rate, seed, step, layer=0):
    """Keep mask (bool (n,)) of lamina's dropout: SplitMix64 seeded by (seed, step, layer),
    word c = mix(key + (c + 1) G) decides elements 2c (low 32 bits) and 2c + 1 (high)."""
    if rate == 0.0:
        return np.ones(n, dtype=bool)
    key = _mix_int((seed + _GAMMA) & _M64)
    key = _mix_int(key ^ ((step + 2 * _GAMMA) & _M64))
    key = _mix_int(key ^ ((layer + 3 * _GAMMA) & _M64))
    c = np.arange((n + 1) // 2, dtype=np.uint64)
    with np.errstate(over="ignore"):
        words = _mix_u64(np.uint64(key) + (c + np.uint64(1)) * np.uint64(_GAMMA))
    u = np.empty(2 * c.size, dtype=np.uint64)
    u[0::2] = words & np.uint64(0xFFFFFFFF)
    u[1::2] = words >> np.uint64(32)
    threshold = min(round((1.0 - rate) * 2.0**32), 2**32 - 1)
    return u[:n] < np.uint64(threshold)


def dropout(x, keep, rate):
    """Inverted dropout with a given keep mask: x * (1 / (1 - rate)) where kept, in x's dtype."""
    x = np.asarray(x)
    scale = x.dtype.type(1.0 / (1.0 - rate))
    return np.where(keep.reshape(x.shape), x * scale, x.dtype.type(0))
