"""Low-level kernels of the C++ core, for tests and benchmarks.

Each block wraps one kernel family of ``lamina._core`` with argument handling that numpy
users expect; the training engine calls the core directly.
"""

from __future__ import annotations

import numpy as np

from . import _core

# ---- gemm ----

_GEMM_DTYPES = (np.float32, np.float64)


def _rows_contiguous(x: np.ndarray) -> np.ndarray:
    """Returns `x` if its rows are contiguous with a positive row stride, else a C copy."""
    if x.ndim != 2:
        return x  # the core reports the bad ndim with the shape
    item = x.itemsize
    ok = x.shape[1] <= 1 or x.strides[1] == item
    if ok and x.shape[0] > 1:
        s0 = x.strides[0]
        ok = s0 > 0 and s0 % item == 0 and s0 // item >= x.shape[1]
    return x if ok else np.ascontiguousarray(x)


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
    try:  # fast path: arrays the core takes as they are
        return _core.matmul(a, b, trans_a, trans_b, alpha, beta, out, bias, activation)
    except (TypeError, ValueError):  # array-likes, other layouts: convert or copy, then retry
        a2 = _rows_contiguous(np.asarray(a))
        b2 = _rows_contiguous(np.asarray(b))
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
