"""``keras.ops`` shapes, indexing, products, constructors and conversions (tape-aware).

Example:
    >>> import numpy as np
    >>> from lamina import ops
    >>> ops.squeeze(ops.expand_dims(np.ones(3), 0)).shape
    (3,)
"""

from __future__ import annotations

import numpy as np

from .tape import NUMPY_NAMES, Tensor, record, value

__all__ = []


def _public(fn, numpy_name=True):
    if numpy_name:
        NUMPY_NAMES[fn.__name__] = fn
    globals()[fn.__name__] = fn
    __all__.append(fn.__name__)
    return fn


@_public
def reshape(x, newshape):
    """Reshapes (``keras.ops.reshape``).

    Args:
        x: A tensor or array.
        newshape: The new shape (one entry may be -1).
    """
    xv = value(x)
    return record("reshape", np.reshape(xv, newshape), (x,), lambda g: (g.reshape(xv.shape),))


@_public
def expand_dims(x, axis):
    """Inserts an axis of size 1 (``keras.ops.expand_dims``).

    Args:
        x: A tensor or array.
        axis: Where the new axis goes.
    """
    xv = value(x)
    return record("expand_dims", np.expand_dims(xv, axis), (x,),
                  lambda g: (g.reshape(xv.shape),))


@_public
def squeeze(x, axis=None):
    """Removes axes of size 1 (``keras.ops.squeeze``).

    Args:
        x: A tensor or array.
        axis: Which axes. Defaults to `None` (all of size 1).
    """
    xv = value(x)
    return record("squeeze", np.squeeze(xv, axis=axis), (x,), lambda g: (g.reshape(xv.shape),))


@_public
def transpose(x, axes=None):
    """Permutes the axes (``keras.ops.transpose``).

    Args:
        x: A tensor or array.
        axes: The permutation. Defaults to `None` (reversed).
    """
    xv = value(x)
    inv = None if axes is None else np.argsort(axes)
    return record("transpose", np.transpose(xv, axes), (x,),
                  lambda g: (np.transpose(g, inv),))


@_public
def broadcast_to(x, shape):
    """Broadcasts to ``shape`` (``keras.ops.broadcast_to``).

    Args:
        x: A tensor or array.
        shape: The target shape.
    """
    return record("broadcast_to", np.broadcast_to(value(x), shape), (x,), lambda g: (g,))


@_public
def concatenate(xs, axis=0):
    """Joins arrays along an existing axis (``keras.ops.concatenate``).

    Args:
        xs: A list of tensors or arrays.
        axis: The axis. Defaults to `0`.
    """
    vals = [value(x) for x in xs]
    y = np.concatenate(vals, axis=axis)
    cuts = np.cumsum([v.shape[axis] for v in vals])[:-1]
    return record("concatenate", y, tuple(xs), lambda g: tuple(np.split(g, cuts, axis=axis)))


@_public
def stack(x, axis=0):
    """Joins arrays along a new axis (``keras.ops.stack``).

    Args:
        x: A list of tensors or arrays of one shape.
        axis: The new axis. Defaults to `0`.
    """
    y = np.stack([value(v) for v in x], axis=axis)
    return record("stack", y, tuple(x), lambda g: tuple(
        np.squeeze(s, axis=axis) for s in np.split(g, len(x), axis=axis)))


@_public
def tile(x, repeats):
    """Repeats the whole array (``keras.ops.tile``).

    Args:
        x: A tensor or array.
        repeats: Repetitions per axis.
    """
    xv = value(x)
    y = np.tile(xv, repeats)

    def vjp(g):
        shape = xv.shape if xv.ndim >= g.ndim else (1,) * (g.ndim - xv.ndim) + xv.shape
        split = [d for pair in zip(np.array(g.shape) // np.array(shape), shape) for d in pair]
        return (g.reshape(split).sum(axis=tuple(range(0, 2 * len(shape), 2))).reshape(
            xv.shape),)
    return record("tile", y, (x,), vjp)


@_public
def take(x, indices, axis=None):
    """Entries at integer ``indices`` (``keras.ops.take``); no gradient to the indices.

    Args:
        x: A tensor or array.
        indices: Integer indices.
        axis: The axis. Defaults to `None` (the flattened array).
    """
    xv, idx = value(x), value(indices).astype(np.int64)
    y = np.take(xv, idx, axis=axis)

    def vjp(g):
        out = np.zeros(xv.size if axis is None else xv.shape, dtype=g.dtype)
        if axis is None:
            np.add.at(out, idx.reshape(-1), g.reshape(-1))
            return (out.reshape(xv.shape), None)
        ax = axis % xv.ndim
        moved = np.moveaxis(out, ax, 0)
        gm = np.moveaxis(g, tuple(range(ax, ax + idx.ndim)), tuple(range(idx.ndim)))
        np.add.at(moved, idx, gm)
        return (out, None)
    return record("take", y, (x, indices), vjp)


@_public
def take_along_axis(x, indices, axis=None):
    """Entries picked along ``axis`` (``keras.ops.take_along_axis``).

    Args:
        x: A tensor or array.
        indices: Integer indices, broadcastable against x.
        axis: The axis. Defaults to `None` (the flattened array).
    """
    xv, idx = value(x), value(indices).astype(np.int64)
    y = np.take_along_axis(xv, idx, axis=axis)

    def vjp(g):
        out = np.zeros(xv.size if axis is None else xv.shape, dtype=g.dtype)
        if axis is None:
            np.add.at(out, idx, g)
            return (out.reshape(xv.shape), None)
        full = out
        ax = axis % xv.ndim
        grid = list(np.indices(idx.shape, sparse=True))
        grid[ax] = idx
        np.add.at(full, tuple(grid), g)
        return (full, None)
    return record("take_along_axis", y, (x, indices), vjp)


def getitem(x, key):
    """``x[key]`` with numpy indexing; the gradient scatters back (repeated indices add)."""
    xv = value(x)
    key = tuple(value(k) if isinstance(k, Tensor) else k for k in key) if isinstance(
        key, tuple) else (value(key) if isinstance(key, Tensor) else key)

    def vjp(g):
        out = np.zeros(xv.shape, dtype=g.dtype)
        np.add.at(out, key, g)
        return (out,)
    return record("getitem", xv[key], (x,), vjp)


# ---- products --------------------------------------------------------------------------

def _mat_grads(a, b, g):
    a2, b2 = (a[None, :] if a.ndim == 1 else a), (b[:, None] if b.ndim == 1 else b)
    g2 = g
    if a.ndim == 1:
        g2 = np.expand_dims(g2, -2)
    if b.ndim == 1:
        g2 = np.expand_dims(g2, -1)
    ga = g2 @ np.swapaxes(b2, -1, -2)
    gb = np.swapaxes(a2, -1, -2) @ g2
    if a.ndim == 1:
        ga = ga.reshape(ga.shape[:-2] + (a.shape[0],))
    if b.ndim == 1:
        gb = gb.reshape(gb.shape[:-2] + (b.shape[0],))
    return ga, gb


def numpy_matmul(x1, x2):
    """numpy's matmul on tape values (``keras.ops.matmul``'s maths)."""
    a, b = value(x1), value(x2)
    return record("matmul", np.matmul(a, b), (x1, x2), lambda g: _mat_grads(a, b, g))


@_public
def dot(x1, x2):
    """numpy's dot (``keras.ops.dot``): matmul for 1-D / 2-D inputs.

    Args:
        x1: A tensor or array.
        x2: A tensor or array.
    """
    a, b = value(x1), value(x2)
    if a.ndim == 0 or b.ndim == 0:
        return record("dot", a * b, (x1, x2), lambda g: (g * b, g * a))
    if b.ndim > 2:
        raise ValueError(f"lamina.ops.dot takes 1-D or 2-D x2 (use matmul), got shape {b.shape}")
    return record("dot", np.dot(a, b), (x1, x2), lambda g: _mat_grads(a, b, g))


@_public
def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002 - keras.ops's name
    """Euclidean norm of a vector (``keras.ops.norm`` with ``ord=None`` or 2).

    Args:
        x: A tensor or array.
        ord: None or 2. Defaults to `None`.
        axis: Axis of the vectors. Defaults to `None` (all entries).
        keepdims: Keep the axis with size 1. Defaults to `False`.
    """
    if ord not in (None, 2, 2.0, "euclidean"):
        raise ValueError(f"lamina.ops.norm supports ord=None or 2, got {ord!r}")
    from .numpy_ops import sqrt, square, sum as sum_  # noqa: A004
    return sqrt(sum_(square(x), axis=axis, keepdims=keepdims))


# ---- constructors and conversions -------------------------------------------------------

@_public
def zeros_like(x, dtype=None):
    """Zeros shaped like ``x`` (``keras.ops.zeros_like``). No gradient.

    Args:
        x: A tensor or array.
        dtype: The dtype. Defaults to `None` (x's).
    """
    return np.zeros_like(value(x), dtype=dtype)


@_public
def ones_like(x, dtype=None):
    """Ones shaped like ``x`` (``keras.ops.ones_like``). No gradient.

    Args:
        x: A tensor or array.
        dtype: The dtype. Defaults to `None` (x's).
    """
    return np.ones_like(value(x), dtype=dtype)


@_public
def full_like(x, fill_value, dtype=None):
    """``fill_value`` shaped like ``x`` (``keras.ops.full_like``). No gradient.

    Args:
        x: A tensor or array.
        fill_value: The value.
        dtype: The dtype. Defaults to `None` (x's).
    """
    return np.full_like(value(x), value(fill_value), dtype=dtype)


for _name in ("zeros", "ones", "eye", "arange", "full", "linspace"):
    _public(getattr(np, _name), numpy_name=False)


@_public
def convert_to_numpy(x):
    """The value as a numpy array (``keras.ops.convert_to_numpy``); leaves the tape.

    Args:
        x: A tensor, array or array-like.
    """
    return np.asarray(value(x))


@_public
def convert_to_tensor(x, dtype=None, sparse=None):
    """An array (``keras.ops.convert_to_tensor``); a tape Tensor stays itself.

    Args:
        x: A tensor, array or array-like.
        dtype: Cast to this dtype. Defaults to `None`.
        sparse: Must be None or False. Defaults to `None`.
    """
    if sparse:
        raise ValueError("lamina.ops.convert_to_tensor: sparse tensors are not supported")
    if isinstance(x, Tensor):
        from .numpy_ops import cast
        return x if dtype is None else cast(x, dtype)
    return np.asarray(x, dtype=dtype)


@_public
def stop_gradient(variable):
    """The value without its gradient (``keras.ops.stop_gradient``).

    Args:
        variable: A tensor or array.
    """
    return np.asarray(value(variable))


@_public
def shape(x):
    """The shape as a tuple (``keras.ops.shape``).

    Args:
        x: A tensor or array.
    """
    return tuple(value(x).shape)


@_public
def size(x):
    """The number of entries (``keras.ops.size``).

    Args:
        x: A tensor or array.
    """
    return int(value(x).size)


@_public
def ndim(x):
    """The number of axes (``keras.ops.ndim``).

    Args:
        x: A tensor or array.
    """
    return int(value(x).ndim)


@_public
def is_tensor(x):
    """Whether ``x`` is an array or tape Tensor (``keras.ops.is_tensor``).

    Args:
        x: Anything.
    """
    return isinstance(x, (np.ndarray, Tensor))


# ---- sorting and selection (metrics' helpers) --------------------------------------------

@_public
def sort(x, axis=-1):
    """Sorted along ``axis`` (``keras.ops.sort``); the gradient follows each entry.

    Args:
        x: A tensor or array.
        axis: The axis. Defaults to `-1`.
    """
    order = np.argsort(value(x), axis=axis, kind="stable")
    return take_along_axis(x, order, axis=axis)


@_public
def argsort(x, axis=-1):
    """Indices that sort ``x`` along ``axis`` (``keras.ops.argsort``). No gradient.

    Args:
        x: A tensor or array.
        axis: The axis. Defaults to `-1`.
    """
    return record("argsort", np.argsort(value(x), axis=axis, kind="stable"), (x,), None)


@_public
def top_k(x, k, sorted=True):  # noqa: A002 - keras.ops's name
    """The ``k`` largest entries of the last axis and their indices (``keras.ops.top_k``);
    the values carry the gradient.

    Args:
        x: A tensor or array.
        k: How many.
        sorted: Largest first (always true here). Defaults to `True`.
    """
    idx = np.argsort(-value(x), axis=-1, kind="stable")[..., :int(k)]
    return take_along_axis(x, idx, axis=-1), idx


@_public
def in_top_k(targets, predictions, k):
    """Whether each target label is among the ``k`` largest predictions
    (``keras.ops.in_top_k``). No gradient.

    Args:
        targets: Integer labels (n,).
        predictions: Scores (n, classes).
        k: How many.
    """
    p = value(predictions)
    t = value(targets).astype(np.int64)
    own = p[np.arange(p.shape[0]), t]
    return record("in_top_k", np.sum(p > own[:, None], axis=-1) < int(k), (predictions,), None)


@_public
def erf(x):
    """The error function (``keras.ops.erf``).

    Args:
        x: A tensor or array.
    """
    import math
    xv = value(x)
    y = np.vectorize(math.erf, otypes=[np.float64])(xv).astype(
        xv.dtype if xv.dtype.kind == "f" else np.float64)
    return record("erf", y, (x,), lambda g: (g * 2 / math.sqrt(math.pi) * np.exp(-xv * xv),))


@_public
def isclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    """Element-wise closeness (``keras.ops.isclose``). No gradient.

    Args:
        x1: A tensor or array.
        x2: A tensor or array.
        rtol: Relative tolerance. Defaults to `1e-5`.
        atol: Absolute tolerance. Defaults to `1e-8`.
        equal_nan: Whether NaN equals NaN. Defaults to `False`.
    """
    return record("isclose", np.isclose(value(x1), value(x2), rtol=rtol, atol=atol,
                                        equal_nan=equal_nan), (x1, x2), None)
