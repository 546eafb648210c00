"""Low-level kernels of the C++ core, for tests and benchmarks.

Each block wraps one kernel family of ``lamina._core`` with argument handling that numpy
users expect; the training engine calls the core directly. ``lamina.ops`` (Keras's
``keras.ops`` names) re-exports every name here, so ``lamina.ops.activation`` and
``lamina.ops.matmul(a, b, trans_b=True, bias=..., activation="relu")`` keep working.
"""

from __future__ import annotations

import numpy as np

from . import _core
# The optimizer-update kernels live in lamina.optimizer_kernels; their names stay here.
from .optimizer_kernels import (OPTIMIZER_DEFAULTS, OPTIMIZER_LEARNING_RATES,  # noqa: F401
                                OPTIMIZER_WEIGHT_DECAY, grad_sq_sum, optimizer_num_slots,
                                optimizer_slots, optimizer_update, penalty)
from .variables import live_array as _live

# ---- gemm ----

_GEMM_DTYPES = (np.float32, np.float64)


def _has_contiguous_rows(x: np.ndarray) -> bool:
    """Whether the core reads the 2-D `x` in place: contiguous rows, a positive row stride."""
    item = x.itemsize
    ok = x.shape[1] <= 1 or x.strides[1] == item
    if ok and x.shape[0] > 1:
        s0 = x.strides[0]
        ok = s0 > 0 and s0 % item == 0 and s0 // item >= x.shape[1]
    return ok


def _rows_contiguous(x: np.ndarray) -> np.ndarray:
    """Returns `x` if its rows are contiguous with a positive row stride, else a C copy."""
    if x.ndim != 2:
        return x  # the core reports the bad ndim with the shape
    return x if _has_contiguous_rows(x) else np.ascontiguousarray(x)


def _transposed_view(x: np.ndarray, trans: bool) -> tuple[np.ndarray, bool]:
    """``(x.T, not trans)`` when only the transpose of `x` has contiguous rows, else as is."""
    if x.ndim == 2 and not _has_contiguous_rows(x) and _has_contiguous_rows(x.T):
        return x.T, not trans
    return x, trans


def matmul(
    a: np.ndarray,
    b: np.ndarray,
    *,
    trans_a: bool = False,
    trans_b: bool = False,
    alpha: float = 1.0,
    beta: float = 0.0,
    out: np.ndarray | None = None,
    bias: np.ndarray | None = None,
    activation: str | None = None,
) -> np.ndarray:
    """Computes ``alpha * op(a) @ op(b) + beta * out``, then adds bias and applies the activation.

    ``op(x)`` is ``x.T`` when the matching ``trans_*`` flag is set. Inputs are 2-D float32 or
    float64 arrays of one dtype. C-contiguous arrays and strided views whose rows are
    contiguous (e.g. ``x[:, 3:10]``) are used in place; other layouts are copied.

    Args:
        a: Left operand, shape (m, k), or (k, m) when ``trans_a``.
        b: Right operand, shape (k, n), or (n, k) when ``trans_b``.
        trans_a: Use ``a.T``. Defaults to `False`.
        trans_b: Use ``b.T``. Defaults to `False`.
        alpha: Scale of the product. Defaults to `1.0`.
        beta: Scale of the previous ``out``; a non-zero value needs ``out``. With 0 the old
            contents of ``out`` are never read (they may be NaN). Defaults to `0.0`.
        out: Result array of shape (m, n) with contiguous rows, written in place; it must not
            overlap ``a``, ``b`` or ``bias``. Defaults to `None` (a new array).
        bias: Shape (n,), added to every row after the product. Defaults to `None`.
        activation: None or "linear" (identity) or "relu", applied last. Defaults to `None`.

    Returns:
        The (m, n) result (``out`` when given).

    Raises:
        ValueError: On a dtype or shape mismatch, ``out`` overlapping an input, a non-zero
            ``beta`` without ``out``, or an unknown activation.

    Example:
        >>> import numpy as np
        >>> a = np.ones((2, 3), np.float32); b = np.ones((3, 4), np.float32)
        >>> matmul(a, b, bias=np.full(4, -1.0, np.float32), activation="relu")[0]
        array([2., 2., 2., 2.], dtype=float32)
    """
    out = _live(out)
    try:  # fast path: arrays the core takes as they are
        return _core.matmul(a, b, trans_a, trans_b, alpha, beta, out, bias, activation)
    except (TypeError, ValueError):  # array-likes, other layouts: convert or copy, then retry
        # A column-major operand (``w.T``, a Fortran-ordered array) is the row-major transpose
        # of what the core reads with the other trans flag: no copy (a copy of a transposed
        # 512 x 784 float32 matrix took as long as the product).
        a2, trans_a = _transposed_view(np.asarray(a), trans_a)
        b2, trans_b = _transposed_view(np.asarray(b), trans_b)
        a2 = _rows_contiguous(a2)
        b2 = _rows_contiguous(b2)
        bias2 = bias
        if bias is not None:
            bias2 = np.asarray(bias)
            if bias2.ndim == 1 and bias2.dtype == a2.dtype and not bias2.flags.c_contiguous:
                bias2 = np.ascontiguousarray(bias2)
        if a2 is a and b2 is b and bias2 is bias:
            raise
    return _core.matmul(a2, b2, trans_a, trans_b, alpha, beta, out, bias2, activation)


def bias_grad(dy: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Sums the rows of ``dy`` (the gradient of a bias), adding rows in order 0..m-1.

    Args:
        dy: Shape (m, n), float32 or float64; strided rows are used in place.
        out: Contiguous (n,) array of the same dtype to write into. Defaults to `None`.

    Returns:
        The (n,) column sums (``out`` when given).

    Example:
        >>> import numpy as np
        >>> bias_grad(np.ones((3, 2), np.float32))
        array([3., 3.], dtype=float32)
    """
    try:
        return _core.bias_grad(dy, out)
    except (TypeError, ValueError):
        dy2 = _rows_contiguous(np.asarray(dy))
        if dy2 is dy:
            raise
    return _core.bias_grad(dy2, out)


# ---- activations ----

#: Keras 3 default `alpha` of the activations that take one (others ignore it).
ACTIVATION_ALPHA: dict[str, float] = {"leaky_relu": 0.2, "elu": 1.0}


def _float_array(x, name: str) -> np.ndarray:
    """`x` as a float32/float64 array (other dtypes are converted to float64)."""
    x = np.asarray(x)
    if x.dtype not in (np.float32, np.float64):
        if x.dtype.kind not in "biuf":
            raise TypeError(f"{name} must be a real numeric array, got dtype {x.dtype}")
        x = x.astype(np.float64)
    return x


def _as_rows(x: np.ndarray) -> np.ndarray:
    """A 2-D view of `x` with contiguous rows (1-D: one row; a strided inner axis is copied)."""
    if x.ndim == 1:
        x = x.reshape(1, -1)
    if x.ndim == 2 and x.shape[1] > 1 and x.strides[1] != x.itemsize:
        x = np.ascontiguousarray(x)
    return x


def _alpha(name: str, alpha: float | None) -> float:
    if alpha is None:
        return ACTIVATION_ALPHA.get(name, 0.0)
    return float(alpha)


def activation_names() -> list[str]:
    """Names `activation` accepts (Keras spelling; "swish" is "silu")."""
    return list(_core.activation_names())


def activation(x, name: str, alpha: float | None = None, out: np.ndarray | None = None):
    """Applies an activation element-wise (softmax and log_softmax per row).

    Args:
        x: float32 or float64 array, 1-D (one row) or 2-D (rows, cols); rows may be strided.
        name: Keras name: linear, sigmoid, tanh, relu, leaky_relu, elu, selu, gelu (exact),
            gelu_tanh, softplus, softsign, silu/swish, hard_sigmoid, softmax, log_softmax,
            relu6, hard_silu/hard_swish, mish, log_sigmoid.
        alpha: Slope of leaky_relu or scale of elu. Defaults to `None` (Keras 3: 0.2 for
            leaky_relu, 1.0 for elu).
        out: Array like `x` to write into (may be `x` itself). Defaults to `None` (a new array).

    Returns:
        The activated array (`out` when given), shaped like `x`.

    Example:
        >>> import numpy as np
        >>> from lamina import ops
        >>> ops.activation(np.array([-1.0, 0.0, 2.0]), "relu").tolist()
        [0.0, 0.0, 2.0]
    """
    x = _float_array(x, "x")
    shape = x.shape
    x2 = _as_rows(x)
    if out is None:
        out = np.empty(shape, dtype=x.dtype)
    o2 = out.reshape(x2.shape) if out.ndim == 1 else out
    _core.activation_forward(x2, o2, name, _alpha(name, alpha))
    return out


def activation_grad(x, y, dy, name: str, alpha: float | None = None,
                    out: np.ndarray | None = None):
    """Backpropagates through an activation: dx = dy * f'(x).

    Args:
        x: The activation's input (may be `None` for linear, sigmoid, tanh, relu, softmax and
            log_softmax, which only read `y`).
        y: Its output, `activation(x, name, alpha)`.
        dy: Gradient with respect to `y`, shaped like `y`.
        name: Activation name, as in `activation`.
        alpha: As in `activation`. Defaults to `None`.
        out: Array like `dy` to write into (may be `dy`). Defaults to `None` (a new array).

    Returns:
        dx, shaped like `dy`.

    Example:
        >>> import numpy as np
        >>> from lamina import ops
        >>> x = np.array([-1.0, 2.0]); y = ops.activation(x, "relu")
        >>> ops.activation_grad(x, y, np.ones(2), "relu").tolist()
        [0.0, 1.0]
    """
    y = _float_array(y, "y")
    dy = np.asarray(dy)
    x2 = None if x is None else _as_rows(np.asarray(x))
    if out is None:
        out = np.empty(dy.shape, dtype=y.dtype)
    y2, dy2 = _as_rows(y), _as_rows(dy)
    o2 = out.reshape(dy2.shape) if out.ndim == 1 else out
    _core.activation_backward(x2, y2, dy2, o2, name, _alpha(name, alpha))
    return out


# ---- losses ----

#: Losses whose per-sample value averages over the outputs (the crossentropies over classes sum).
LOSS_NAMES = ("mean_squared_error", "mean_absolute_error", "huber", "binary_crossentropy",
              "categorical_crossentropy", "sparse_categorical_crossentropy", "log_cosh",
              "kl_divergence", "poisson", "hinge", "squared_hinge", "categorical_hinge",
              "cosine_similarity", "mean_squared_logarithmic_error",
              "mean_absolute_percentage_error")
_CROSSENTROPY = {"binary_crossentropy", "categorical_crossentropy",
                 "sparse_categorical_crossentropy"}


def _labels(y_true) -> np.ndarray:
    """Integer class labels (m,): (m, 1) is squeezed, integral floats are accepted."""
    y = np.asarray(y_true)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
            raise ValueError("sparse labels must be whole numbers, got non-integral values")
        y = y.astype(np.int64)
    elif y.dtype.kind in "ub":
        y = y.astype(np.int64)
    elif y.dtype not in (np.int32, np.int64):
        if y.dtype.kind != "i":
            raise TypeError(f"sparse labels must be integers, got dtype {y.dtype}")
        y = y.astype(np.int64)
    return np.ascontiguousarray(y)


def _weights(sample_weight, m: int, dtype) -> np.ndarray | None:
    if sample_weight is None:
        return None
    sw = np.ascontiguousarray(np.asarray(sample_weight, dtype=dtype))
    if sw.ndim == 2 and sw.shape[1] == 1:
        sw = np.ascontiguousarray(sw[:, 0])
    if sw.shape != (m,):
        raise ValueError(f"sample_weight must have shape ({m},), got {sw.shape}")
    return sw


def loss_names() -> list[str]:
    """Names `loss` accepts ("mse" and "mae" are aliases)."""
    return list(_core.loss_names())


def loss(y_true, y_pred, name: str, from_logits: bool = False, delta: float = 1.0,
         sample_weight=None, scale: float = 1.0, label_smoothing: float = 0.0):
    """Computes a loss and its gradient in one pass (Keras 3 definitions).

    Args:
        y_true: Targets: float (m, n) like `y_pred`, or integer labels (m,) for
            sparse_categorical_crossentropy.
        y_pred: float32/float64 predictions (m, n) (probabilities, or logits with
            `from_logits`); rows may be strided. A 1-D array is one column (m, 1).
        name: mean_squared_error (mse), mean_absolute_error (mae), huber,
            binary_crossentropy, categorical_crossentropy, sparse_categorical_crossentropy,
            log_cosh, kl_divergence, poisson, hinge, squared_hinge, categorical_hinge,
            cosine_similarity, mean_squared_logarithmic_error (msle),
            mean_absolute_percentage_error (mape).
        from_logits: Whether `y_pred` holds logits (crossentropies only). Defaults to `False`.
        delta: Huber's threshold. Defaults to `1.0`.
        sample_weight: Per-sample weights (m,). Defaults to `None` (all ones).
        scale: Factor applied to the gradient (e.g. 1/m for a batch mean). Defaults to `1.0`.
        label_smoothing: Binary / categorical crossentropy: targets become
            ``y * (1 - ls) + ls / K`` (K = 2 / classes). Defaults to `0.0`.

    Returns:
        ``(total, grad)``: total = sum_i sw_i * l_i as a float (divide by m for Keras'
        "sum_over_batch_size"), and grad = scale * sw_i * d l_i / d y_pred, shaped like
        `y_pred`.

    Example:
        >>> import numpy as np
        >>> from lamina import ops
        >>> total, grad = ops.loss(np.array([[1.0, 0.0]]), np.array([[0.5, 0.5]]), "mse")
        >>> total, grad.tolist()
        (0.25, [[-0.5, 0.5]])
    """
    key = name.lower() if isinstance(name, str) else name
    if from_logits and key not in _CROSSENTROPY:
        raise ValueError(f"from_logits applies to the crossentropy losses only, got loss {name!r}")
    p = _float_array(y_pred, "y_pred")
    one_d = p.ndim == 1
    if one_d:
        p = p.reshape(-1, 1)
    p = _as_rows(p)
    if key == "sparse_categorical_crossentropy":
        t = _labels(y_true)
    else:
        t = _as_rows(np.asarray(y_true, dtype=p.dtype).reshape(p.shape) if one_d
                     else np.asarray(y_true, dtype=p.dtype))
    sw = _weights(sample_weight, p.shape[0], p.dtype)
    grad = np.empty(p.shape, dtype=p.dtype)
    total = _core.loss_forward_backward(t, p, key, bool(from_logits), float(delta), sw,
                                        float(scale), grad, float(label_smoothing))
    return total, (grad.reshape(-1) if one_d else grad)


#: Metric names `metric` accepts.
METRIC_NAMES = ("binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
                "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy",
                "mean_squared_error", "mean_absolute_error")


def metric(y_true, y_pred, name: str, threshold: float = 0.5, k: int = 5,
           sample_weight=None) -> float:
    """Sums a Keras metric over a batch: sum_i sw_i * metric_i.

    Args:
        y_true: Targets: float (m, n) like `y_pred`, or integer labels (m,) for the sparse
            metrics.
        y_pred: float32/float64 predictions (m, n). A 1-D array is one column (m, 1).
        name: binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
            top_k_categorical_accuracy, sparse_top_k_categorical_accuracy, mean_squared_error
            (mse), mean_absolute_error (mae).
        threshold: binary_accuracy's decision threshold on `y_pred`. Defaults to `0.5`.
        k: The k of the top-k metrics. Defaults to `5`.
        sample_weight: Per-sample weights (m,). Defaults to `None`.

    Returns:
        The weighted sum as a float (divide by m, or by sum(sw), for the batch mean).

    Example:
        >>> import numpy as np
        >>> from lamina import ops
        >>> ops.metric(np.array([1, 0]), np.array([[0.2, 0.8], [0.9, 0.1]]),
        ...            "sparse_categorical_accuracy")  # both rows right: a sum of 2
        2.0
    """
    key = name.lower() if isinstance(name, str) else name
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"k must be an int, got {k!r}")
    p = _float_array(y_pred, "y_pred")
    one_d = p.ndim == 1
    if one_d:
        p = p.reshape(-1, 1)
    p = _as_rows(p)
    if key in ("sparse_categorical_accuracy", "sparse_top_k_categorical_accuracy"):
        t = _labels(y_true)
    else:
        t = np.asarray(y_true, dtype=p.dtype)
        t = _as_rows(t.reshape(p.shape) if one_d else t)
    sw = _weights(sample_weight, p.shape[0], p.dtype)
    return _core.metric_sum(t, p, key, float(threshold), int(k), sw)


# ---- dropout ----


def _dropout_args(rate, seed, step, layer) -> float:
    for label, v in (("seed", seed), ("step", step), ("layer", layer)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{label} must be an int, got {v!r}")
    rate = float(rate)
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"dropout rate must be in [0, 1), got {rate}")
    return rate


def dropout_mask(n: int, rate: float, seed: int, step: int, layer: int = 0) -> np.ndarray:
    """The keep mask dropout draws for n elements (True = kept).

    Args:
        n: Number of elements (a layer's batch * units activation, row-major).
        rate: Fraction dropped, in [0, 1).
        seed: The run's seed (0 <= seed < 2**64).
        step: The training step (0 <= step < 2**64).
        layer: The dropout layer's index (0 <= layer < 2**32). Defaults to `0`.

    Returns:
        A bool array (n,); P(True) = 1 - rate, the same for every thread count and ISA.

    Example:
        >>> from lamina import ops
        >>> ops.dropout_mask(1000, 0.5, seed=1, step=0).shape
        (1000,)
    """
    rate = _dropout_args(rate, seed, step, layer)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be an int >= 0, got {n!r}")
    packed = np.empty((int(n) + 7) // 8, dtype=np.uint8)
    _core.dropout_mask(int(n), rate, int(seed), int(step), int(layer), packed)
    return np.unpackbits(packed, bitorder="little", count=int(n)).astype(bool)


def dropout(x, rate: float, seed: int, step: int, layer: int = 0):
    """Inverted dropout at training time: y = x / (1 - rate) where kept, else 0.

    Args:
        x: float32/float64 array (any shape; elements are indexed in C order).
        rate: Fraction dropped, in [0, 1).
        seed: The run's seed.
        step: The training step.
        layer: The dropout layer's index. Defaults to `0`.

    Returns:
        ``(y, packed_mask)``: y like `x`, and the keep bits as uint8 ((x.size + 7) // 8,),
        bit b of byte i = element 8 i + b (numpy's ``bitorder="little"``).

    Example:
        >>> import numpy as np
        >>> from lamina import ops
        >>> y, mask = ops.dropout(np.ones((4, 4), np.float32), 0.5, seed=0, step=0)
        >>> sorted(set(y.ravel().tolist())) in ([0.0, 2.0], [0.0], [2.0])
        True
    """
    rate = _dropout_args(rate, seed, step, layer)
    x = np.ascontiguousarray(_float_array(x, "x"))
    y = np.empty_like(x)
    packed = np.empty((x.size + 7) // 8, dtype=np.uint8)
    _core.dropout_forward(x, y, rate, int(seed), int(step), int(layer), packed)
    return y, packed


def dropout_grad(dy, packed_mask, rate: float):
    """Backpropagates through dropout with the mask of the forward pass.

    Args:
        dy: Gradient with respect to dropout's output (float32/float64, C order).
        packed_mask: The uint8 mask `dropout` returned.
        rate: The forward pass's rate.

    Returns:
        dx = dy / (1 - rate) where kept, else 0.

    Example:
        >>> import numpy as np
        >>> from lamina import ops
        >>> y, m = ops.dropout(np.ones(8), 0.25, seed=3, step=1)
        >>> bool(np.array_equal(ops.dropout_grad(np.ones(8), m, 0.25), y))
        True
    """
    rate = float(rate)
    dy = np.ascontiguousarray(_float_array(dy, "dy"))
    dx = np.empty_like(dy)
    _core.dropout_backward(dy, np.asarray(packed_mask), rate, dx)
    return dx
