"""Low-level kernels of the C++ core, for tests and benchmarks.

Each block wraps one kernel family of ``lamina._core`` with argument handling that numpy
users expect; the training engine calls the core directly.
"""

from __future__ import annotations

from collections.abc import Sequence

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
    a = np.asarray(a)
    b = np.asarray(b)
    a = _rows_contiguous(a)
    b = _rows_contiguous(b)
    if bias is not None:
        bias = np.asarray(bias)
        if bias.ndim == 1 and bias.dtype == a.dtype:
            bias = np.ascontiguousarray(bias)
    return _core.matmul(a, b, bool(trans_a), bool(trans_b), float(alpha), float(beta), out,
                        bias, activation)


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
    dy = _rows_contiguous(np.asarray(dy))
    return _core.bias_grad(dy, out)
# ---- optimizers ----

#: Keras 3 defaults of every hyperparameter each optimizer accepts (besides the learning rate,
#: the clipping options and `weight_decay`, which every Keras 3 optimizer accepts).
OPTIMIZER_DEFAULTS: dict[str, dict[str, object]] = {
    "sgd": {"momentum": 0.0, "nesterov": False},
    "rmsprop": {"rho": 0.9, "momentum": 0.0, "epsilon": 1e-7, "centered": False},
    "adam": {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False},
    "adamw": {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False},
    "adagrad": {"epsilon": 1e-7},
    "adamax": {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
    "nadam": {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
}
#: Keras 3 default learning rates.
OPTIMIZER_LEARNING_RATES: dict[str, float] = {
    "sgd": 0.01, "rmsprop": 0.001, "adam": 0.001, "adamw": 0.001, "adagrad": 0.001,
    "adamax": 0.001, "nadam": 0.001,
}
#: Keras 3 default weight decay (None: off).
OPTIMIZER_WEIGHT_DECAY: dict[str, float | None] = {"adamw": 0.004}


def _optimizer_hyper(name: str, hyperparameters: dict) -> tuple[str, dict]:
    if not isinstance(name, str):
        raise TypeError(f"optimizer name must be a str, got {name!r}")
    key = name.lower()
    if key not in OPTIMIZER_DEFAULTS:
        raise ValueError(
            f"unknown optimizer {name!r}: expected one of {', '.join(OPTIMIZER_DEFAULTS)}")
    allowed = OPTIMIZER_DEFAULTS[key]
    unknown = sorted(set(hyperparameters) - set(allowed) - {"weight_decay"})
    if unknown:
        raise TypeError(
            f"optimizer {key!r} got unexpected hyperparameter(s) {unknown}; "
            f"it accepts {sorted(allowed) + ['weight_decay']}")
    hp = dict(allowed)
    hp["weight_decay"] = OPTIMIZER_WEIGHT_DECAY.get(key)
    hp.update(hyperparameters)
    if hp["weight_decay"] is None:
        hp["weight_decay"] = 0.0
    return key, hp


def optimizer_num_slots(name: str, **hyperparameters) -> int:
    """Number of slot arrays `optimizer_update` needs for one parameter.

    Slot order: sgd [momentum] (none when momentum == 0); rmsprop [velocity, momentum (if
    momentum > 0), average_gradient (if centered)]; adam/adamw [m, v, v_hat (if amsgrad)];
    adagrad [accumulator]; adamax [m, u]; nadam [m, v].

    Args:
        name: "sgd", "rmsprop", "adam", "adamw", "adagrad", "adamax" or "nadam".
        **hyperparameters: the optimizer's Keras hyperparameters (momentum, centered, amsgrad
            matter here). Defaults to Keras' values.

    Returns:
        The number of slots.

    Example:
        >>> optimizer_num_slots("adam", amsgrad=True)
        3
    """
    key, hp = _optimizer_hyper(name, hyperparameters)
    return _core.optimizer_num_slots(key, float(hp.get("momentum", 0.0)),
                                     bool(hp.get("centered", False)),
                                     bool(hp.get("amsgrad", False)))


def optimizer_slots(name: str, w: np.ndarray, *, initial_accumulator_value: float = 0.1,
                    **hyperparameters) -> list[np.ndarray]:
    """Allocates the slot arrays for `w`, initialised as Keras does.

    All slots start at zero except Adagrad's accumulator, which starts at
    `initial_accumulator_value`.

    Args:
        name: the optimizer's name.
        w: the parameter array (its shape and dtype are used).
        initial_accumulator_value: Adagrad's starting accumulator. Defaults to `0.1`.
        **hyperparameters: as for `optimizer_num_slots`. Defaults to Keras' values.

    Returns:
        A list of new C-contiguous arrays shaped and typed like `w`.

    Example:
        >>> [s.shape for s in optimizer_slots("adam", np.zeros(3, np.float32))]
        [(3,), (3,)]
    """
    n = optimizer_num_slots(name, **hyperparameters)
    fill = initial_accumulator_value if name.lower() == "adagrad" else 0.0
    return [np.full(np.shape(w), fill, dtype=np.asarray(w).dtype) for _ in range(n)]


def optimizer_update(name: str, w: np.ndarray, g: np.ndarray, slots: Sequence[np.ndarray], *,
                     learning_rate: float | None = None, iteration: int,
                     grad_scale: float = 1.0, l1: float = 0.0, l2: float = 0.0,
                     clipnorm: float | None = None, clipvalue: float | None = None,
                     state: np.ndarray | None = None, **hyperparameters) -> None:
    """One fused, in-place optimizer step on `w` and its `slots` (Keras 3 semantics).

    Order per call: g' = (g + l1*sign(w) + 2*l2*w) * grad_scale; clipnorm (this array's
    norm); clipvalue; w -= w * weight_decay * learning_rate; then the optimizer's update.

    Args:
        name: "sgd", "rmsprop", "adam", "adamw", "adagrad", "adamax" or "nadam".
        w: parameters, float32 or float64, C-contiguous and writeable; updated in place.
        g: gradient of the loss without the penalty, same dtype and shape as `w`.
        slots: `optimizer_num_slots(name, ...)` arrays like `w` (see `optimizer_slots`).
        learning_rate: the step's learning rate. Defaults to `None` (Keras' default: 0.01
            for SGD, 0.001 otherwise).
        iteration: 1-based step number (Keras' `iterations + 1`).
        grad_scale: factor on the whole gradient (global_clipnorm, loss scaling).
            Defaults to `1.0`.
        l1: L1 penalty factor of this parameter. Defaults to `0.0`.
        l2: L2 penalty factor of this parameter. Defaults to `0.0`.
        clipnorm: clip this gradient's L2 norm to this value. Defaults to `None`.
        clipvalue: clip each gradient element to [-clipvalue, clipvalue]. Defaults to `None`.
        state: Nadam's u-product as a float64 array of shape (1,), start at 1.0, updated in
            place; with None it is recomputed from `iteration`. Defaults to `None`.
        **hyperparameters: the optimizer's Keras hyperparameters (momentum, nesterov, rho,
            centered, beta_1, beta_2, epsilon, amsgrad, weight_decay). Defaults to Keras'
            values (AdamW: weight_decay 0.004).

    Example:
        >>> w = np.ones(3, np.float32); g = np.full(3, 0.5, np.float32)
        >>> optimizer_update("sgd", w, g, [], learning_rate=0.1, iteration=1)
        >>> w.tolist()
        [0.949999988079071, 0.949999988079071, 0.949999988079071]
    """
    key, hp = _optimizer_hyper(name, hyperparameters)
    if learning_rate is None:
        learning_rate = OPTIMIZER_LEARNING_RATES[key]
    _core.optimizer_update(key, w, g, slots, learning_rate=learning_rate, iteration=iteration,
                           grad_scale=grad_scale, l1=l1, l2=l2, clipnorm=clipnorm,
                           clipvalue=clipvalue, state=state, **hp)


def grad_sq_sum(g: np.ndarray, w: np.ndarray | None = None, l1: float = 0.0,
                l2: float = 0.0) -> float:
    """Sum of squares of a gradient in double, in a fixed (thread-independent) order.

    With `w`, of the penalised gradient g + l1*sign(w) + 2*l2*w: what Keras' global_clipnorm
    measures for a regularized parameter.

    Args:
        g: gradient, float32 or float64, C-contiguous.
        w: the parameters (needed for l1/l2). Defaults to `None`.
        l1: L1 factor. Defaults to `0.0`.
        l2: L2 factor. Defaults to `0.0`.

    Returns:
        The sum as a Python float.

    Example:
        >>> grad_sq_sum(np.array([3.0, 4.0]))
        25.0
    """
    return _core.grad_sq_sum(g, w, l1, l2)


def penalty(w: np.ndarray, l1: float, l2: float) -> float:
    """The regularization loss l1*sum|w| + l2*sum(w**2), in double, fixed order.

    Args:
        w: parameters, float32 or float64, C-contiguous.
        l1: L1 factor.
        l2: L2 factor.

    Returns:
        The penalty as a Python float.

    Example:
        >>> penalty(np.array([1.0, -2.0]), 0.5, 0.25)
        2.75
    """
    return _core.penalty(w, l1, l2)
