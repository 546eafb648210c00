"""``keras.ops`` for lamina: numpy maths that a custom loss can be differentiated through.

Outside a loss these functions compute on numpy arrays and return numpy arrays. Inside a
custom loss (``compile(loss=fn)``) the arguments are tape Tensors (``lamina.ops.tape``):
every function here, and the operators on them, record their gradient, so lamina gets
dL/dy_pred for the core's backward pass.

The core's low-level kernels (``lamina.kernels``: ``activation``, ``loss``, ``metric``,
``dropout``, ``optimizer_update`` ...) are re-exported here under their old names, and
``matmul(a, b, trans_a=..., trans_b=..., alpha=..., beta=..., out=..., bias=...,
activation=...)`` is the core's GEMM on arrays, as before (2-D float32/float64 of one
dtype); on tape Tensors it is numpy's matmul with a gradient.

Example:
    >>> import numpy as np
    >>> from lamina import ops
    >>> y_true, y_pred = np.array([[0.0, 1.0]]), np.array([[0.5, 0.5]])
    >>> ops.mean(ops.square(y_pred - y_true), axis=-1).tolist()
    [0.25]
    >>> ops.argmax(ops.softmax(np.array([[1.0, 3.0]])), axis=-1).tolist()
    [1]
"""

from __future__ import annotations

from .. import kernels as _kernels
from ..kernels import *  # noqa: F401,F403 - the kernels' old spelling, lamina.ops.activation ...
from ..kernels import (ACTIVATION_ALPHA, LOSS_NAMES, METRIC_NAMES,  # noqa: F401
                       OPTIMIZER_DEFAULTS, OPTIMIZER_LEARNING_RATES, OPTIMIZER_WEIGHT_DECAY,
                       activation, activation_grad, activation_names, bias_grad, dropout,
                       dropout_grad, dropout_mask, grad_sq_sum, loss, loss_names, metric,
                       optimizer_num_slots, optimizer_slots, optimizer_update, penalty)
from . import array_ops as _array_ops, nn as _nn, numpy_ops as _numpy_ops, tape
from .array_ops import *  # noqa: F401,F403
from .array_ops import getitem, numpy_matmul
from .nn import *  # noqa: F401,F403
from .numpy_ops import *  # noqa: F401,F403
from .tape import NUMPY_NAMES as _NUMPY_NAMES, NotDifferentiableError, Tensor

KERNEL_NAMES = ["activation", "activation_grad", "activation_names", "bias_grad", "dropout",
                "dropout_grad", "dropout_mask", "grad_sq_sum", "loss", "loss_names", "metric",
                "optimizer_num_slots", "optimizer_slots", "optimizer_update", "penalty"]

__all__ = sorted(set(_numpy_ops.__all__) | set(_array_ops.__all__) | set(_nn.__all__)
                 | {"matmul", "Tensor", "NotDifferentiableError"} | set(KERNEL_NAMES))


def matmul(a, b, *, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, out=None, bias=None,
           activation=None):
    """Matrix product (``keras.ops.matmul``); on arrays, the core's fused GEMM.

    On numpy arrays this is ``lamina.kernels.matmul`` (2-D float32/float64 arrays of one
    dtype; see it for the keywords). On tape Tensors (inside a custom loss) it is numpy's
    ``matmul`` with its gradient, and the kernel keywords are refused.

    Args:
        a: Left operand.
        b: Right operand.
        trans_a: Use ``a.T`` (kernel only). Defaults to `False`.
        trans_b: Use ``b.T`` (kernel only). Defaults to `False`.
        alpha: Scale of the product (kernel only). Defaults to `1.0`.
        beta: Scale of the previous ``out`` (kernel only). Defaults to `0.0`.
        out: Result array written in place (kernel only). Defaults to `None`.
        bias: Added to every row (kernel only). Defaults to `None`.
        activation: None, "linear" or "relu" (kernel only). Defaults to `None`.

    Example:
        >>> import numpy as np
        >>> matmul(np.ones((2, 3), np.float32), np.ones((3, 1), np.float32)).tolist()
        [[3.0], [3.0]]
    """
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        extras = {"trans_a": trans_a, "trans_b": trans_b, "alpha": alpha != 1.0,
                  "beta": beta != 0.0, "out": out is not None, "bias": bias is not None,
                  "activation": activation is not None}
        used = [k for k, v in extras.items() if v]
        if used:
            raise ValueError(f"lamina.ops.matmul on tape Tensors takes no kernel keywords, got "
                             f"{', '.join(used)}")
        return numpy_matmul(a, b)
    return _kernels.matmul(a, b, trans_a=trans_a, trans_b=trans_b, alpha=alpha, beta=beta,
                           out=out, bias=bias, activation=activation)


_NUMPY_NAMES["matmul"] = numpy_matmul
_NUMPY_NAMES["dot"] = dot  # noqa: F405


def _install_operators():
    """Gives tape Tensors numpy's operators, each recorded by its lamina.ops function."""
    def flip(fn):
        return lambda self, other: fn(other, self)

    table = {
        "__add__": add, "__radd__": flip(add), "__sub__": subtract,  # noqa: F405
        "__rsub__": flip(subtract), "__mul__": multiply, "__rmul__": flip(multiply),  # noqa: F405
        "__truediv__": divide, "__rtruediv__": flip(divide), "__pow__": power,  # noqa: F405
        "__rpow__": flip(power), "__matmul__": numpy_matmul,  # noqa: F405
        "__rmatmul__": flip(numpy_matmul), "__neg__": negative, "__abs__": abs,  # noqa: F405
        "__pos__": lambda self: self, "__getitem__": getitem,
        "__lt__": less, "__le__": less_equal, "__gt__": greater,  # noqa: F405
        "__ge__": greater_equal, "__eq__": equal, "__ne__": not_equal,  # noqa: F405
        "__floordiv__": floor_divide, "__mod__": mod,  # noqa: F405
    }
    for name, fn in table.items():
        setattr(Tensor, name, fn)
    Tensor.T = property(lambda self: transpose(self))  # noqa: F405
    Tensor.astype = lambda self, dtype: cast(self, dtype)  # noqa: F405
    Tensor.reshape = lambda self, *shape: reshape(  # noqa: F405
        self, shape[0] if len(shape) == 1 else shape)
    for name in ("sum", "mean", "max", "min", "prod", "std", "var", "argmax", "argmin"):
        setattr(Tensor, name, _NUMPY_NAMES[name])


_install_operators()
