"""The fused optimizer-update kernels of the core, called directly (tests, benchmarks): one
in-place step on a parameter and its slots with Keras 3's update rules.

The hyperparameters each kernel takes, and their defaults, are read from the optimizer
classes' constructors (lamina.optimizers), their one home. ``lamina.ops`` keeps these names.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence

import numpy as np

from . import _core
from . import optimizers as optimizers_mod
from .variables import live_array as _live

__all__ = ["OPTIMIZER_DEFAULTS", "OPTIMIZER_LEARNING_RATES", "OPTIMIZER_WEIGHT_DECAY",
           "optimizer_num_slots", "optimizer_slots", "optimizer_update", "grad_sq_sum",
           "penalty"]

_NAMES = ("sgd", "rmsprop", "adam", "adamw", "adagrad", "adamax", "nadam", "adadelta", "lion")
# The hyperparameters the core's update kernels read (others: learning rate, clipping and
# weight decay, passed apart; Adagrad's initial_accumulator_value fills its slot).
_KERNEL_HYPERPARAMETERS = ("momentum", "nesterov", "rho", "centered", "beta_1", "beta_2",
                           "epsilon", "amsgrad")


def _signature_defaults(name: str) -> dict:
    cls = type(optimizers_mod.get(name))
    return {p.name: p.default for p in inspect.signature(cls).parameters.values()
            if p.default is not inspect.Parameter.empty}


#: Keras 3 defaults of every hyperparameter each optimizer's kernel takes (besides the
#: learning rate, the clipping options and `weight_decay`).
OPTIMIZER_DEFAULTS: dict[str, dict[str, object]] = {
    n: {k: v for k, v in _signature_defaults(n).items() if k in _KERNEL_HYPERPARAMETERS}
    for n in _NAMES}
#: Keras 3 default learning rates.
OPTIMIZER_LEARNING_RATES: dict[str, float] = {
    n: _signature_defaults(n)["learning_rate"] for n in _NAMES}
#: Keras 3 default weight decay (absent: off).
OPTIMIZER_WEIGHT_DECAY: dict[str, float | None] = {
    n: wd for n in _NAMES if (wd := _signature_defaults(n).get("weight_decay")) is not None}


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
    adagrad [accumulator]; adamax [m, u]; nadam [m, v]; adadelta [accumulated_grad,
    accumulated_delta_var]; lion [momentum].

    Args:
        name: "sgd", "rmsprop", "adam", "adamw", "adagrad", "adamax", "nadam", "adadelta"
            or "lion".
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
        name: "sgd", "rmsprop", "adam", "adamw", "adagrad", "adamax", "nadam", "adadelta"
            or "lion".
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
    w, g, slots = _live(w), _live(g), [_live(q) for q in slots]
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
    return _core.grad_sq_sum(_live(g), _live(w), l1, l2)


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
    return _core.penalty(_live(w), l1, l2)
