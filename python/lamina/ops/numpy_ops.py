"""``keras.ops`` math on numpy arrays, recorded on the tape when an argument is a Tensor.

Each function takes arrays, Python numbers or tape Tensors. On plain inputs it returns what
numpy returns; when an input is a ``lamina.ops.tape.Tensor`` (a custom loss's argument, or
a value computed from one) it returns a Tensor that records the op and its gradient.
Functions marked "no gradient" compute on Tensors too, but a loss whose gradient needs to
pass through them raises ``NotDifferentiableError`` naming them.

Example:
    >>> import numpy as np
    >>> from lamina import ops
    >>> ops.mean(ops.square(np.array([[1.0, 3.0]])), axis=-1).tolist()
    [5.0]
"""

from __future__ import annotations

import builtins

import numpy as np

from .tape import NUMPY_NAMES, Tensor, record, value

__all__ = []  # filled by _export


def _export(fn, name=None, numpy_name=True):
    name = name or fn.__name__
    fn.__name__ = fn.__qualname__ = name
    globals()[name] = fn
    __all__.append(name)
    if numpy_name:
        NUMPY_NAMES[name] = fn
    return fn


def _doc(name, what, grad=True, args="x: A tensor, array or number."):
    tail = "" if grad else " No gradient."
    return (f"{what} (``keras.ops.{name}``).{tail}\n\n    Args:\n        {args}\n\n"
            f"    Returns:\n        A numpy array, or a tape Tensor when an input is one.\n")


# ---- element-wise, one input ---------------------------------------------------------------

def _unary(name, f, df, what):
    """df(x, y, g) -> dL/dx from the input x, the output y and dL/dy g; None: no gradient."""
    def op(x):
        xv = value(x)
        y = f(xv)
        if not isinstance(x, Tensor):
            return y
        return Tensor(y, (x,), None if df is None else (lambda g: (df(xv, y, g),)), name)
    op.__doc__ = _doc(name, what, df is not None)
    return _export(op, name)


def _safe_div(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return a / b


_unary("negative", np.negative, lambda x, y, g: -g, "Element-wise -x")
_unary("abs", np.abs, lambda x, y, g: g * np.sign(x), "Element-wise |x|")
_unary("absolute", np.abs, lambda x, y, g: g * np.sign(x), "Element-wise |x|")
_unary("square", np.square, lambda x, y, g: g * 2 * x, "Element-wise x ** 2")
_unary("sqrt", np.sqrt, lambda x, y, g: _safe_div(g, 2 * y), "Element-wise square root")
_unary("exp", np.exp, lambda x, y, g: g * y, "Element-wise e ** x")
_unary("expm1", np.expm1, lambda x, y, g: g * (y + 1), "Element-wise e ** x - 1")
_unary("log", np.log, lambda x, y, g: _safe_div(g, x), "Element-wise natural logarithm")
_unary("log1p", np.log1p, lambda x, y, g: _safe_div(g, 1 + x), "Element-wise log(1 + x)")
_unary("log2", np.log2, lambda x, y, g: _safe_div(g, x * np.log(2.0)), "Element-wise log2")
_unary("log10", np.log10, lambda x, y, g: _safe_div(g, x * np.log(10.0)),
       "Element-wise log10")
_unary("reciprocal", np.reciprocal, lambda x, y, g: -g * y * y, "Element-wise 1 / x")
_unary("sin", np.sin, lambda x, y, g: g * np.cos(x), "Element-wise sine")
_unary("cos", np.cos, lambda x, y, g: -g * np.sin(x), "Element-wise cosine")
_unary("tan", np.tan, lambda x, y, g: g * (1 + y * y), "Element-wise tangent")
_unary("arctan", np.arctan, lambda x, y, g: g / (1 + x * x), "Element-wise arctangent")
_unary("sinh", np.sinh, lambda x, y, g: g * np.cosh(x), "Element-wise sinh")
_unary("cosh", np.cosh, lambda x, y, g: g * np.sinh(x), "Element-wise cosh")
_unary("tanh", np.tanh, lambda x, y, g: g * (1 - y * y), "Element-wise tanh")
for _name in ("sign", "round", "floor", "ceil", "isnan", "isinf", "isfinite", "logical_not"):
    _unary(_name, getattr(np, _name), None, f"Element-wise {_name}")


# ---- element-wise, two inputs (numpy broadcasting) -------------------------------------

def _binary(name, f, dfa, dfb, what):
    """dfa / dfb(a, b, y, g) -> dL/da, dL/db before un-broadcasting; None: no gradient."""
    def op(x1, x2):
        a, b = value(x1), value(x2)
        y = f(a, b)
        if dfa is None:
            return record(name, y, (x1, x2), None)
        return record(name, y, (x1, x2), lambda g: (dfa(a, b, y, g), dfb(a, b, y, g)))
    op.__doc__ = _doc(name, what, dfa is not None, "x1: A tensor, array or number.\n"
                      "        x2: A tensor, array or number (broadcast against x1).")
    return _export(op, name)


_binary("add", np.add, lambda a, b, y, g: g, lambda a, b, y, g: g, "x1 + x2")
_binary("subtract", np.subtract, lambda a, b, y, g: g, lambda a, b, y, g: -g, "x1 - x2")
_binary("multiply", np.multiply, lambda a, b, y, g: g * b, lambda a, b, y, g: g * a,
        "x1 * x2")
_binary("divide", np.true_divide, lambda a, b, y, g: _safe_div(g, b),
        lambda a, b, y, g: -_safe_div(g * y, b), "x1 / x2")
_binary("true_divide", np.true_divide, lambda a, b, y, g: _safe_div(g, b),
        lambda a, b, y, g: -_safe_div(g * y, b), "x1 / x2")
_binary("power", np.power,
        lambda a, b, y, g: g * b * np.power(a, np.subtract(b, 1), dtype=np.result_type(y)),
        lambda a, b, y, g: g * y * np.log(np.where(a > 0, a, 1)), "x1 ** x2")
# Ties: x1 gets the gradient where x1 >= x2 (maximum) / x1 <= x2 (minimum), as TensorFlow.
_binary("maximum", np.maximum, lambda a, b, y, g: g * (a >= b), lambda a, b, y, g: g * (a < b),
        "Element-wise larger of x1 and x2")
_binary("minimum", np.minimum, lambda a, b, y, g: g * (a <= b), lambda a, b, y, g: g * (a > b),
        "Element-wise smaller of x1 and x2")
for _name in ("equal", "not_equal", "greater", "greater_equal", "less", "less_equal",
              "logical_and", "logical_or", "logical_xor", "floor_divide", "mod"):
    _binary(_name, getattr(np, _name), None, None, f"Element-wise {_name}")
NUMPY_NAMES["remainder"] = NUMPY_NAMES["mod"]


def clip(x, x_min, x_max):
    """Clips to ``[x_min, x_max]`` (``keras.ops.clip``); the gradient passes where
    ``x_min <= x <= x_max``.

    Args:
        x: A tensor or array.
        x_min: Lower bound (a number or array; no gradient).
        x_max: Upper bound (a number or array; no gradient).
    """
    xv, lo, hi = value(x), value(x_min), value(x_max)
    y = np.clip(xv, lo, hi)
    return record("clip", y, (x,), lambda g: (g * ((xv >= lo) & (xv <= hi)),))


def where(condition, x1=None, x2=None):
    """``x1`` where ``condition``, else ``x2`` (``keras.ops.where``); no gradient to the
    condition. With one argument, the indices where it is true.

    Args:
        condition: Booleans.
        x1: Values where true. Defaults to `None`.
        x2: Values where false. Defaults to `None`.
    """
    c = value(condition).astype(bool)
    if x1 is None and x2 is None:
        return np.nonzero(c)
    a, b = value(x1), value(x2)
    y = np.where(c, a, b)
    return record("where", y, (condition, x1, x2),
                  lambda g: (None, np.where(c, g, 0), np.where(c, 0, g)))


def cast(x, dtype):
    """Casts to ``dtype`` (``keras.ops.cast``); a cast to a float type passes the gradient
    on (to the op that made ``x``), a cast to an integer or bool type has none.

    Args:
        x: A tensor or array.
        dtype: The numpy dtype or its name ("float32", "int64" ...).
    """
    xv = value(x)
    y = xv.astype(dtype)
    if y.dtype.kind == "f":
        return record("cast", y, (x,), lambda g: (
            g.astype(xv.dtype, copy=False) if xv.dtype.kind == "f" else g,))
    return record("cast", y, (x,), None)


for _fn in (clip, where, cast):
    _export(_fn)


# ---- reductions ----------------------------------------------------------------------

def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axis = (axis,) if np.isscalar(axis) or isinstance(axis, (int, np.integer)) else axis
    return tuple(int(a) % ndim if ndim else 0 for a in axis)


def _expand(g, shape, axis, keepdims):
    """A gradient of a reduction over `axis`, broadcast back to the input `shape`."""
    g = np.asarray(g)
    if not keepdims and len(shape):
        g = np.expand_dims(g, _axes(axis, len(shape)))
    return np.broadcast_to(g, shape)


def _count(shape, axis):
    return builtins.max(int(np.prod([shape[a] for a in _axes(axis, len(shape))])), 1)


def _reduction(name, f, grad, what):
    """grad(x, y_kept, g_kept, n) -> dL/dx with y and g broadcast back (keepdims)."""
    def op(x, axis=None, keepdims=False):
        xv = value(x)
        y = f(xv, axis=axis, keepdims=keepdims)
        if grad is None:
            return record(name, y, (x,), None)

        def vjp(g):
            yk = _expand(y, xv.shape, axis, keepdims)
            gk = _expand(g, xv.shape, axis, keepdims)
            return (grad(xv, yk, gk, _count(xv.shape, axis), axis),)
        return record(name, y, (x,), vjp)
    op.__doc__ = _doc(name, what, grad is not None, "x: A tensor or array.\n"
                      "        axis: Axis or axes to reduce. Defaults to `None` (all).\n"
                      "        keepdims: Keep the reduced axes with size 1. Defaults to "
                      "`False`.")
    return _export(op, name)


def _extreme_grad(x, y, g, n, axis):
    hit = (x == y).astype(g.dtype if g.dtype.kind == "f" else np.float64)
    return g * hit / hit.sum(axis=_axes(axis, x.ndim), keepdims=True)


def _var_grad(x, y, g, n, axis):
    return g * 2 * (x - x.mean(axis=_axes(axis, x.ndim), keepdims=True)) / n


def _std_grad(x, y, g, n, axis):
    return _safe_div(g * (x - x.mean(axis=_axes(axis, x.ndim), keepdims=True)), n * y)


def _prod_grad(x, y, g, n, axis):
    return _safe_div(g * y, x)


def _logsumexp(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    s = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return s if keepdims else np.squeeze(s, axis=_axes(axis, x.ndim))


_reduction("sum", np.sum, lambda x, y, g, n, a: g, "Sum")
_reduction("mean", np.mean, lambda x, y, g, n, a: g / n, "Mean")
_reduction("max", np.max, _extreme_grad, "Maximum (ties share the gradient)")
_reduction("min", np.min, _extreme_grad, "Minimum (ties share the gradient)")
_reduction("amax", np.max, _extreme_grad, "Maximum (ties share the gradient)")
_reduction("amin", np.min, _extreme_grad, "Minimum (ties share the gradient)")
_reduction("prod", np.prod, _prod_grad, "Product")
_reduction("var", np.var, _var_grad, "Variance (ddof 0)")
_reduction("std", np.std, _std_grad, "Standard deviation (ddof 0)")
_reduction("logsumexp", _logsumexp, lambda x, y, g, n, a: g * np.exp(x - y),
           "log(sum(exp(x))), computed stably")
_reduction("any", np.any, None, "Logical or")
_reduction("all", np.all, None, "Logical and")
_reduction("count_nonzero", lambda x, axis=None, keepdims=False: np.count_nonzero(
    x, axis=axis, keepdims=keepdims), None, "Number of non-zero entries")
NUMPY_NAMES["amax"], NUMPY_NAMES["amin"] = NUMPY_NAMES["max"], NUMPY_NAMES["min"]


def argmax(x, axis=None, keepdims=False):
    """Index of the largest entry (``keras.ops.argmax``). No gradient.

    Args:
        x: A tensor or array.
        axis: Axis to search. Defaults to `None` (the flattened array).
        keepdims: Keep the axis with size 1. Defaults to `False`.
    """
    return record("argmax", np.argmax(value(x), axis=axis, keepdims=keepdims), (x,), None)


def argmin(x, axis=None, keepdims=False):
    """Index of the smallest entry (``keras.ops.argmin``). No gradient.

    Args:
        x: A tensor or array.
        axis: Axis to search. Defaults to `None` (the flattened array).
        keepdims: Keep the axis with size 1. Defaults to `False`.
    """
    return record("argmin", np.argmin(value(x), axis=axis, keepdims=keepdims), (x,), None)


def cumsum(x, axis=None):
    """Cumulative sum (``keras.ops.cumsum``).

    Args:
        x: A tensor or array.
        axis: Axis. Defaults to `None` (the flattened array).
    """
    xv = value(x)
    y = np.cumsum(xv, axis=axis)

    def vjp(g):
        if axis is None:
            return (np.flip(np.cumsum(np.flip(g.reshape(-1)))).reshape(xv.shape),)
        return (np.flip(np.cumsum(np.flip(g, axis), axis=axis), axis),)
    return record("cumsum", y, (x,), vjp)


for _fn in (argmax, argmin, cumsum):
    _export(_fn)
