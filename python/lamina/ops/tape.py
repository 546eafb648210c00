"""A small reverse-mode tape over numpy: what makes a Python loss differentiable.

Inside a custom loss the arguments are ``Tensor`` objects: numpy arrays that remember how
they were computed. Every ``lamina.ops`` function (and the operators ``+ - * / ** @ [...]``,
and the numpy functions that have a ``lamina.ops`` namesake) returns a ``Tensor`` that
records its inputs and its vector-Jacobian product; ``gradient(loss, y_pred)`` walks the
record backwards. An op without a gradient (``argmax``, comparisons, ``round``, a cast to
integers ...) still computes, and records its name: if the loss's gradient has to pass
through it, ``gradient`` raises ``NotDifferentiableError`` naming it.

Outside a loss nothing is recorded: the ops take and return numpy arrays.

Example:
    >>> import numpy as np
    >>> from lamina import ops
    >>> from lamina.ops.tape import Tensor, gradient
    >>> y = Tensor(np.array([1.0, 2.0]))
    >>> loss = ops.sum(ops.square(y))
    >>> gradient(loss, y).tolist()
    [2.0, 4.0]
"""

from __future__ import annotations

import numpy as np

__all__ = ["Tensor", "NotDifferentiableError", "gradient", "value", "record", "unbroadcast"]

#: numpy function / ufunc name -> the ``lamina.ops`` function that records it (filled by the
#: ops modules), so ``np.exp(t)`` or ``np.mean(t, axis=-1)`` on a Tensor stays on the tape.
NUMPY_NAMES: dict = {}


class NotDifferentiableError(TypeError):
    """The loss's gradient reaches an op that has none (e.g. ``argmax``), or a numpy call
    that lamina.ops cannot record."""


class Tensor:
    """A numpy array on the tape: its value, the op that made it and how to differentiate it.

    Args:
        value: The array (or array-like).
        parents: The op's inputs, Tensors or arrays (only Tensors receive gradients).
            Defaults to `()` (a leaf).
        vjp: ``vjp(g) -> tuple`` of the gradients of the inputs, one per parent (None for
            no gradient). Defaults to `None` (a leaf, or an op without gradient).
        op: The op's name, for error messages. Defaults to `"input"`.

    Example:
        >>> t = Tensor([[1.0, 2.0]]); (t * 2).shape, float((t + 1).numpy().sum())
        ((1, 2), 5.0)
    """

    __slots__ = ("value", "parents", "vjp", "op")
    __array_priority__ = 1000.0
    __hash__ = object.__hash__

    def __init__(self, value, parents=(), vjp=None, op="input"):
        self.value = value if isinstance(value, np.ndarray) else np.asarray(value)
        self.parents = parents
        self.vjp = vjp
        self.op = op

    # -- array protocol ------------------------------------------------------------------
    shape = property(lambda self: self.value.shape)
    dtype = property(lambda self: self.value.dtype)
    ndim = property(lambda self: self.value.ndim)
    size = property(lambda self: self.value.size)

    def numpy(self):
        """The value as a numpy array (leaves the tape)."""
        return self.value

    def __array__(self, dtype=None, copy=None):
        return self.value if dtype is None else self.value.astype(dtype, copy=False)

    def __len__(self):
        return len(self.value)

    def __float__(self):
        return float(self.value)

    def __int__(self):
        return int(self.value)

    def __bool__(self):
        return bool(self.value)

    def __repr__(self):
        return f"<lamina tape Tensor op={self.op} shape={self.shape} dtype={self.dtype}>"

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return _numpy_call(ufunc.__name__, method == "__call__" and not kwargs, inputs, {})

    def __array_function__(self, func, types, args, kwargs):
        return _numpy_call(func.__name__, True, args, kwargs)

    # -- operators (the ops modules install them: see _install_operators) ----------------


def _numpy_call(name, plain, args, kwargs):
    fn = NUMPY_NAMES.get(name)
    if fn is None or not plain:
        raise NotDifferentiableError(
            f"numpy.{name} on a lamina tape Tensor (a custom loss's argument) cannot be "
            f"differentiated: use the lamina.ops function{' ' + name if fn else 's'} instead")
    return fn(*args, **kwargs)


def value(x):
    """The numpy value of ``x`` (a Tensor's array, or ``np.asarray(x)``)."""
    return x.value if isinstance(x, Tensor) else np.asarray(x)


def record(op, out, inputs, vjp):
    """Returns ``out`` as a Tensor made by ``op`` from ``inputs`` when any input is a Tensor,
    else the plain array. ``vjp`` None marks an op without gradient."""
    if not any(isinstance(t, Tensor) for t in inputs):
        return out
    return Tensor(out, tuple(inputs), vjp, op)


def unbroadcast(g, shape):
    """Sums ``g`` over the axes that broadcasting added or stretched, back to ``shape``."""
    g = np.asarray(g)
    if g.shape == tuple(shape):
        return g
    extra = g.ndim - len(shape)
    if extra > 0:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


def _topological(root):
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for p in node.parents:
            if isinstance(p, Tensor) and id(p) not in seen:
                stack.append((p, False))
    return order  # parents before children


def gradient(loss, wrt):
    """d sum(loss) / d wrt, as an array shaped like ``wrt``.

    Args:
        loss: A Tensor computed from ``wrt`` with lamina.ops.
        wrt: The leaf Tensor to differentiate with respect to.

    Raises:
        NotDifferentiableError: ``loss`` does not depend on ``wrt`` through recorded ops, or
            its gradient passes through an op without gradient (named in the message).
    """
    if not isinstance(loss, Tensor):
        raise NotDifferentiableError(
            "the loss does not depend on y_pred through lamina.ops (it is a plain "
            f"{type(loss).__name__}): compute it with lamina.ops functions or operators on "
            "the loss's arguments; numpy.asarray / convert_to_numpy / stop_gradient leave the "
            "tape")
    order = _topological(loss)
    needs = set()
    for node in order:
        if node is wrt or any(id(p) in needs for p in node.parents if isinstance(p, Tensor)):
            needs.add(id(node))
    if id(loss) not in needs:
        raise NotDifferentiableError(
            "the loss does not depend on y_pred through lamina.ops (numpy.asarray, "
            "convert_to_numpy and stop_gradient leave the tape)")
    grads = {id(loss): np.ones(loss.shape, dtype=np.result_type(loss.dtype, np.float32))}
    for node in reversed(order):
        g = grads.pop(id(node), None)
        if g is None or node is wrt or id(node) not in needs:
            if node is wrt:
                grads[id(node)] = g
            continue
        if node.vjp is None:
            raise NotDifferentiableError(
                f"the custom loss is not differentiable: its gradient with respect to y_pred "
                f"passes through lamina.ops.{node.op}, which has no gradient")
        for p, gp in zip(node.parents, node.vjp(g)):
            if gp is None or not isinstance(p, Tensor) or id(p) not in needs:
                continue
            gp = unbroadcast(gp, p.shape)
            prev = grads.get(id(p))
            grads[id(p)] = gp if prev is None else prev + gp
    g = grads.get(id(wrt))
    return np.zeros(wrt.shape, wrt.dtype) if g is None else np.asarray(g).reshape(wrt.shape)
