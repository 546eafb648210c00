"""Optimizers with Keras 3 names, arguments and defaults; the update runs in the core.

An optimizer holds its hyperparameters, its step count ``iterations`` and, after
``build(params)``, one list of slot arrays per parameter (numpy arrays of the parameter's
shape and dtype, e.g. Adam's first and second moments) that the core updates in place.
``learning_rate`` may be a float or a schedule from ``lamina.optimizers.schedules``.

Example:
    >>> import numpy as np
    >>> import lamina
    >>> opt = lamina.optimizers.Adam(learning_rate=1e-3)
    >>> opt.build([np.zeros((3, 2), np.float32)])
    >>> [s.shape for s in opt.slots[0]]
    [(3, 2), (3, 2)]
    >>> opt.learning_rate = 0.01; opt.learning_rate
    0.01
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .. import naming
from .._validation import from_class_config
from . import schedules
from .schedules import LearningRateSchedule

__all__ = ["Optimizer", "LearningRate", "SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "Adamax", "Nadam",
           "Adadelta", "Lion", "get", "serialize", "deserialize", "schedules"]


def _number(name, value, low=0.0, high=math.inf, low_open=False, high_open=False):
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a number, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}") from None
    ok = math.isfinite(v) and (v > low if low_open else v >= low) and (
        v < high if high_open else v <= high)
    if not ok:
        lo = "(" if low_open else "["
        hi = ")" if high_open or high == math.inf else "]"  # inf itself is never allowed
        raise ValueError(f"{name} must be in {lo}{low}, {high}{hi}, got {value!r}")
    return v


def _optional_positive(name, value):
    if value is None:
        return None
    return _number(name, value, 0.0, low_open=True)


class LearningRate(float):
    """The current learning rate: a float that also answers Keras variable calls.

    ``float(lr)``, ``lr.numpy()`` and ``lr.assign(new)`` (which sets the optimizer's rate)
    work as on a Keras 3 optimizer's ``learning_rate`` variable.

    Example:
        >>> opt = SGD(0.1)
        >>> opt.learning_rate.assign(0.05); float(opt.learning_rate)
        0.05
    """

    def __new__(cls, value, optimizer):
        obj = float.__new__(cls, value)
        obj._optimizer = optimizer
        return obj

    def numpy(self):
        """The value as a numpy float64 scalar."""
        return np.float64(self)

    def assign(self, value):
        """Sets the optimizer's learning rate (like ``optimizer.learning_rate = value``)."""
        self._optimizer.learning_rate = value

    def __reduce__(self):  # pickles and copies as the plain float it is
        return (float, (float(self),))


class Optimizer:
    """Base class of lamina's optimizers (Keras 3 common arguments).

    Args:
        learning_rate: A float >= 0 or a ``LearningRateSchedule``.
        weight_decay: Decoupled weight decay ``w -= lr * weight_decay * w`` before each
            update. Defaults to `None` (off).
        clipnorm: Clip each parameter's gradient to this L2 norm. Defaults to `None`.
        clipvalue: Clip each gradient element to ``[-clipvalue, clipvalue]``. Defaults to
            `None`.
        global_clipnorm: Clip all gradients together to this L2 norm. Defaults to `None`.
        use_ema: Keep an exponential moving average of the weights and give the model the
            averages at the end of ``fit`` (see `lamina.optimizers.ema`). Defaults to
            `False`.
        ema_momentum: The average's momentum, in [0, 1]. Defaults to `0.99`.
        ema_overwrite_frequency: Set the weights to their averages every this many steps.
            Defaults to `None` (only at the end of ``fit``).
        loss_scale_factor: Must be None (or 1). Defaults to `None`.
        gradient_accumulation_steps: Must be None (or 1). Defaults to `None`.
        name: Name. Defaults to `None` (the class name in snake case, numbered from the
            second one on, as in Keras: ``adam``, ``adam_1``, ...).

    Every subclass takes these as keyword arguments too.

    Example:
        >>> opt = get("adam"); isinstance(opt, Optimizer), Adam(name="a").name
        (True, 'a')
    """

    core_name = ""

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        if "decay" in kwargs:  # Keras 3 warns and ignores the Keras 2 argument
            kwargs.pop("decay")
            warnings.warn("Argument `decay` is no longer supported and will be ignored "
                          "(use a learning-rate schedule)", UserWarning, stacklevel=3)
        if kwargs:
            raise TypeError(f"unexpected arguments for {type(self).__name__}: "
                            f"{', '.join(sorted(kwargs))}")
        self.use_ema = bool(use_ema)
        self.ema_momentum = _number("ema_momentum", ema_momentum, 0.0, 1.0)
        if ema_overwrite_frequency is not None and (
                isinstance(ema_overwrite_frequency, bool)
                or not isinstance(ema_overwrite_frequency, (int, np.integer))
                or ema_overwrite_frequency < 1):
            raise ValueError(f"ema_overwrite_frequency must be None or an int >= 1, got "
                             f"{ema_overwrite_frequency!r}")
        self.ema_overwrite_frequency = (None if ema_overwrite_frequency is None
                                        else int(ema_overwrite_frequency))
        self.ema_averages = None  # the weights' averages (lamina.optimizers.ema)
        if loss_scale_factor not in (None, 1, 1.0):
            raise ValueError(f"loss_scale_factor={loss_scale_factor!r} is not supported")
        if gradient_accumulation_steps not in (None, 1):
            raise ValueError(f"gradient_accumulation_steps={gradient_accumulation_steps!r} "
                             "is not supported")
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        if clipnorm is not None and global_clipnorm is not None:
            raise ValueError("only one of clipnorm and global_clipnorm can be set, got "
                             f"clipnorm={clipnorm!r}, global_clipnorm={global_clipnorm!r}")
        self.name = name or naming.auto_name(type(self).__name__)
        self.weight_decay = None if weight_decay is None else _number("weight_decay",
                                                                      weight_decay)
        self.clipnorm = _optional_positive("clipnorm", clipnorm)
        self.clipvalue = _optional_positive("clipvalue", clipvalue)
        self.global_clipnorm = _optional_positive("global_clipnorm", global_clipnorm)
        self._schedule = None
        self._lr = 0.0
        self._set_lr(learning_rate)
        self.iterations = 0
        self.slots = None
        # Nadam's running product of momentum-cache terms; carried across steps and saved.
        self.optimizer_state = np.ones(1, dtype=np.float64)

    # -- learning rate ------------------------------------------------------------------
    def _set_lr(self, value):
        if isinstance(value, LearningRate):
            value = float(value)
        if isinstance(value, dict):
            value = schedules.get(value)
        if isinstance(value, LearningRateSchedule):
            self._schedule = value
        else:
            self._schedule = None
            self._lr = _number("learning_rate", value)

    @property
    def learning_rate(self) -> float:
        """The learning rate of the next step (a schedule is evaluated at ``iterations``)."""
        if self._schedule is not None:
            return LearningRate(schedules._learning_rate_at(self._schedule, self.iterations),
                                self)
        return LearningRate(self._lr, self)

    @learning_rate.setter
    def learning_rate(self, value):
        if self._schedule is not None and not isinstance(value, LearningRateSchedule):
            raise TypeError("this optimizer was created with a LearningRateSchedule, so its "
                            f"learning rate cannot be set to {value!r}; pass a schedule "
                            "instead")
        self._set_lr(value)

    @property
    def schedule(self):
        """The ``LearningRateSchedule`` in use, or ``None``."""
        return self._schedule

    # -- slots ---------------------------------------------------------------------------
    @property
    def num_slots(self) -> int:
        """Slot arrays per parameter (as the core's ``optim_num_slots``)."""
        raise NotImplementedError  # pragma: no cover

    def _slot_init(self, k: int) -> float:
        return 0.0

    @property
    def nonnegative_slots(self) -> tuple:
        """Indices of the slots that hold squares or magnitudes (never below zero): a
        model file with a negative value there is corrupt (the update would take its
        square root)."""
        return ()

    def build(self, params) -> None:
        """Allocates the slot arrays: ``num_slots`` per parameter, same shape and dtype.

        Args:
            params: List of numpy arrays: the trainable parameters (kernels and biases,
                in model order); frozen ones get no slots.
        """
        slots = []
        for p in params:
            slots.append([np.full(p.shape, self._slot_init(k), dtype=p.dtype)
                          for k in range(self.num_slots)])
        self.slots = slots
        self.iterations = 0
        self.optimizer_state[...] = 1.0
        self.ema_averages = None

    @property
    def built(self) -> bool:
        """Whether ``build`` has allocated the slots."""
        return self.slots is not None

    def variables(self) -> list:
        """Every slot array, parameter by parameter (flattened)."""
        return [s for per_param in (self.slots or []) for s in per_param]

    # -- core ----------------------------------------------------------------------------
    def _core_extra(self) -> dict:
        return {}

    def core_spec(self) -> dict:
        """Returns the optimizer entry of the core's network spec (every key present)."""
        spec = {"name": self.core_name, "momentum": 0.0, "nesterov": False, "rho": 0.9,
                "centered": False, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
                "amsgrad": False, "weight_decay": self.weight_decay or 0.0,
                "clipnorm": self.clipnorm or 0.0, "clipvalue": self.clipvalue or 0.0,
                "global_clipnorm": self.global_clipnorm or 0.0}
        spec.update(self._core_extra())
        return spec

    # -- config --------------------------------------------------------------------------
    def get_config(self) -> dict:
        """Returns the hyperparameters (the current learning rate, or the schedule's config)."""
        lr = (schedules.serialize(self._schedule) if self._schedule is not None else self._lr)
        config = {"name": self.name, "learning_rate": lr, "weight_decay": self.weight_decay,
                  "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm,
                  "clipvalue": self.clipvalue, "use_ema": self.use_ema,
                  "ema_momentum": self.ema_momentum,
                  "ema_overwrite_frequency": self.ema_overwrite_frequency,
                  "loss_scale_factor": self.loss_scale_factor,
                  "gradient_accumulation_steps": self.gradient_accumulation_steps,
                  **self._extra_config()}
        return config

    def _extra_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict):
        """Creates an optimizer from ``get_config()``'s output (schedules included)."""
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.get(config["learning_rate"])
        return cls(**config)

    def __repr__(self):
        return f"{type(self).__name__}(learning_rate={self.get_config()['learning_rate']!r})"


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum.

    ``v = momentum * v - lr * g; w += v`` (Nesterov: ``w += momentum * v - lr * g``).

    Args:
        learning_rate: A float or a schedule. Defaults to `0.01`.
        momentum: Momentum in [0, 1]. Defaults to `0.0`.
        nesterov: Use Nesterov momentum. Defaults to `False`.
        weight_decay: Decoupled weight decay. Defaults to `None`.
        clipnorm: Per-parameter gradient norm clip. Defaults to `None`.
        clipvalue: Element-wise gradient clip. Defaults to `None`.
        global_clipnorm: Global gradient norm clip. Defaults to `None`.
        name: Name. Defaults to `None` (the class name in snake case, numbered from the
            second one on, as in Keras).

    Example:
        >>> SGD(momentum=0.9).num_slots
        1
    """

    core_name = "sgd"

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name=None, **kwargs):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         name=name, **kwargs)
        self.momentum = _number("momentum", momentum, 0.0, 1.0)
        self.nesterov = bool(nesterov)

    @property
    def num_slots(self):
        return 1 if self.momentum > 0 else 0

    def _core_extra(self):
        return {"momentum": self.momentum, "nesterov": self.nesterov}

    def _extra_config(self):
        return {"momentum": self.momentum, "nesterov": self.nesterov}


class RMSprop(Optimizer):
    """RMSprop: divides the gradient by a running RMS of recent gradients.

    Args:
        learning_rate: A float or a schedule. Defaults to `0.001`.
        rho: Discount of the squared-gradient average. Defaults to `0.9`.
        momentum: Momentum. Defaults to `0.0`.
        epsilon: Numerical stability term. Defaults to `1e-7`.
        centered: Normalize by the gradient's estimated variance. Defaults to `False`.
        weight_decay: Decoupled weight decay. Defaults to `None`.
        clipnorm: Per-parameter gradient norm clip. Defaults to `None`.
        clipvalue: Element-wise gradient clip. Defaults to `None`.
        global_clipnorm: Global gradient norm clip. Defaults to `None`.
        name: Name. Defaults to `None` (the class name in snake case, numbered from the
            second one on, as in Keras).

    Example:
        >>> RMSprop(centered=True, momentum=0.9).num_slots
        3
    """

    core_name = "rmsprop"

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None, **kwargs):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         name=name, **kwargs)
        self.rho = _number("rho", rho, 0.0, 1.0)
        self.momentum = _number("momentum", momentum, 0.0, 1.0)
        self.epsilon = _number("epsilon", epsilon)
        self.centered = bool(centered)

    @property
    def num_slots(self):
        return 1 + (self.momentum > 0) + self.centered

    @property
    def nonnegative_slots(self):
        return (0,)  # the mean square

    def _core_extra(self):
        return {"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                "centered": self.centered}

    def _extra_config(self):
        return self._core_extra()


class Adam(Optimizer):
    """Adam: adaptive moments with bias correction (Kingma & Ba), optionally AMSGrad.

    Args:
        learning_rate: A float or a schedule. Defaults to `0.001`.
        beta_1: First-moment decay. Defaults to `0.9`.
        beta_2: Second-moment decay. Defaults to `0.999`.
        epsilon: Numerical stability term. Defaults to `1e-7`.
        amsgrad: Use the AMSGrad variant. Defaults to `False`.
        weight_decay: Decoupled weight decay. Defaults to `None`.
        clipnorm: Per-parameter gradient norm clip. Defaults to `None`.
        clipvalue: Element-wise gradient clip. Defaults to `None`.
        global_clipnorm: Global gradient norm clip. Defaults to `None`.
        name: Name. Defaults to `None` (the class name in snake case, numbered from the
            second one on, as in Keras).

    Example:
        >>> Adam().get_config()["beta_2"]
        0.999
    """

    core_name = "adam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None, **kwargs):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         name=name, **kwargs)
        self.beta_1 = _number("beta_1", beta_1, 0.0, 1.0, high_open=True)
        self.beta_2 = _number("beta_2", beta_2, 0.0, 1.0, high_open=True)
        self.epsilon = _number("epsilon", epsilon)
        self.amsgrad = bool(amsgrad)

    @property
    def num_slots(self):
        return 3 if self.amsgrad else 2

    @property
    def nonnegative_slots(self):
        return (1, 2) if self.amsgrad else (1,)  # v (and v_hat)

    def _core_extra(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "amsgrad": self.amsgrad}

    def _extra_config(self):
        return self._core_extra()


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter).

    Args:
        learning_rate: A float or a schedule. Defaults to `0.001`.
        weight_decay: Decoupled weight decay. Defaults to `0.004`.
        beta_1: First-moment decay. Defaults to `0.9`.
        beta_2: Second-moment decay. Defaults to `0.999`.
        epsilon: Numerical stability term. Defaults to `1e-7`.
        amsgrad: Use the AMSGrad variant. Defaults to `False`.
        clipnorm: Per-parameter gradient norm clip. Defaults to `None`.
        clipvalue: Element-wise gradient clip. Defaults to `None`.
        global_clipnorm: Global gradient norm clip. Defaults to `None`.
        name: Name. Defaults to `None` (the class name in snake case, numbered from the
            second one on, as in Keras).

    Example:
        >>> AdamW().weight_decay
        0.004
    """

    core_name = "adamw"

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None, **kwargs):
        if weight_decay is None:
            raise ValueError("AdamW needs a weight_decay (a float >= 0), got None")
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay,
                         clipnorm, clipvalue, global_clipnorm, name=name, **kwargs)


class Adagrad(Optimizer):
    """Adagrad: per-parameter rates scaled by the accumulated squared gradients.

    Args:
        learning_rate: A float or a schedule. Defaults to `0.001`.
        initial_accumulator_value: Start value of the accumulator. Defaults to `0.1`.
        epsilon: Numerical stability term. Defaults to `1e-7`.
        weight_decay: Decoupled weight decay. Defaults to `None`.
        clipnorm: Per-parameter gradient norm clip. Defaults to `None`.
        clipvalue: Element-wise gradient clip. Defaults to `None`.
        global_clipnorm: Global gradient norm clip. Defaults to `None`.
        name: Name. Defaults to `None` (the class name in snake case, numbered from the
            second one on, as in Keras).

    Example:
        >>> import numpy as np
        >>> opt = Adagrad(); opt.build([np.zeros(2)]); opt.slots[0][0].tolist()
        [0.1, 0.1]
    """

    core_name = "adagrad"

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 name=None, **kwargs):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         name=name, **kwargs)
        self.initial_accumulator_value = _number("initial_accumulator_value",
                                                 initial_accumulator_value)
        self.epsilon = _number("epsilon", epsilon)

    @property
    def num_slots(self):
        return 1

    @property
    def nonnegative_slots(self):
        return (0,)  # the accumulator

    def _slot_init(self, k):
        return self.initial_accumulator_value

    def _core_extra(self):
        return {"epsilon": self.epsilon}

    def _extra_config(self):
        return {"initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


class Adamax(Optimizer):
    """Adamax: Adam with the infinity norm for the second moment.

    Args:
        learning_rate: A float or a schedule. Defaults to `0.001`.
        beta_1: First-moment decay. Defaults to `0.9`.
        beta_2: Decay of the exponentially weighted infinity norm. Defaults to `0.999`.
        epsilon: Numerical stability term. Defaults to `1e-7`.
        weight_decay: Decoupled weight decay. Defaults to `None`.
        clipnorm: Per-parameter gradient norm clip. Defaults to `None`.
        clipvalue: Element-wise gradient clip. Defaults to `None`.
        global_clipnorm: Global gradient norm clip. Defaults to `None`.
        name: Name. Defaults to `None` (the class name in snake case, numbered from the
            second one on, as in Keras).

    Example:
        >>> Adamax().num_slots
        2
    """

    core_name = "adamax"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 name=None, **kwargs):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         name=name, **kwargs)
        self.beta_1 = _number("beta_1", beta_1, 0.0, 1.0, high_open=True)
        self.beta_2 = _number("beta_2", beta_2, 0.0, 1.0, high_open=True)
        self.epsilon = _number("epsilon", epsilon)

    @property
    def num_slots(self):
        return 2

    @property
    def nonnegative_slots(self):
        return (1,)  # Adamax's infinity norm u, Nadam's second moment v

    def _core_extra(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}

    def _extra_config(self):
        return self._core_extra()


class Nadam(Adamax):
    """Nadam: Adam with Nesterov momentum (Keras 3's momentum-cache schedule).

    Args:
        learning_rate: A float or a schedule. Defaults to `0.001`.
        beta_1: First-moment decay. Defaults to `0.9`.
        beta_2: Second-moment decay. Defaults to `0.999`.
        epsilon: Numerical stability term. Defaults to `1e-7`.
        weight_decay: Decoupled weight decay. Defaults to `None`.
        clipnorm: Per-parameter gradient norm clip. Defaults to `None`.
        clipvalue: Element-wise gradient clip. Defaults to `None`.
        global_clipnorm: Global gradient norm clip. Defaults to `None`.
        name: Name. Defaults to `None` (the class name in snake case, numbered from the
            second one on, as in Keras).

    Example:
        >>> Nadam().num_slots
        2
    """

    core_name = "nadam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 name=None, **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, weight_decay, clipnorm,
                         clipvalue, global_clipnorm, name=name, **kwargs)


class Adadelta(Optimizer):
    """Adadelta (Zeiler 2012): steps scaled by running averages of the squared gradients and
    of the squared steps themselves (Keras 3's update, ``learning_rate`` included).

    Args:
        learning_rate: A float or a schedule. Defaults to `0.001`.
        rho: Decay of both running averages, in [0, 1). Defaults to `0.95`.
        epsilon: Numerical stability term. Defaults to `1e-7`.
        weight_decay: Decoupled weight decay. Defaults to `None`.
        clipnorm: Per-parameter gradient norm clip. Defaults to `None`.
        clipvalue: Element-wise gradient clip. Defaults to `None`.
        global_clipnorm: Global gradient norm clip. Defaults to `None`.
        name: Name. Defaults to `None` (the class name in snake case, numbered from the
            second one on, as in Keras).

    Example:
        >>> Adadelta().num_slots
        2
    """

    core_name = "adadelta"

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name=None,
                 **kwargs):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         name=name, **kwargs)
        self.rho = _number("rho", rho, 0.0, 1.0, high_open=True)
        self.epsilon = _number("epsilon", epsilon)

    @property
    def num_slots(self):
        return 2

    @property
    def nonnegative_slots(self):
        return (0, 1)  # both running averages of squares

    def _core_extra(self):
        return {"rho": self.rho, "epsilon": self.epsilon}

    def _extra_config(self):
        return self._core_extra()


class Lion(Optimizer):
    """Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms"): steps of
    ``learning_rate`` times the sign of an interpolation of momentum and gradient (Keras 3's
    update). Its steps have the size of the learning rate in every coordinate, so it wants a
    learning rate 3-10x smaller than Adam's.

    Args:
        learning_rate: A float or a schedule. Defaults to `0.001`.
        beta_1: Weight of the momentum in the step's sign, in (0, 1). Defaults to `0.9`.
        beta_2: Decay of the momentum, in [0, 1). Defaults to `0.99`.
        weight_decay: Decoupled weight decay. Defaults to `None`.
        clipnorm: Per-parameter gradient norm clip. Defaults to `None`.
        clipvalue: Element-wise gradient clip. Defaults to `None`.
        global_clipnorm: Global gradient norm clip. Defaults to `None`.
        name: Name. Defaults to `None` (the class name in snake case, numbered from the
            second one on, as in Keras).

    Example:
        >>> Lion().num_slots
        1
    """

    core_name = "lion"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name=None, **kwargs):
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         name=name, **kwargs)
        # Keras also takes beta_1 == 1 (the momentum alone); lamina's core keeps every beta < 1.
        self.beta_1 = _number("beta_1", beta_1, 0.0, 1.0, low_open=True, high_open=True)
        self.beta_2 = _number("beta_2", beta_2, 0.0, 1.0, high_open=True)

    @property
    def num_slots(self):
        return 1

    def _core_extra(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2}

    def _extra_config(self):
        return self._core_extra()


_CLASSES = {c.__name__: c for c in (SGD, RMSprop, Adam, AdamW, Adagrad, Adamax, Nadam, Adadelta,
                                    Lion)}
_NAMES = {name.lower(): cls for name, cls in _CLASSES.items()}


def get(identifier) -> Optimizer:
    """Resolves an optimizer from a name ("adam", "sgd" …), a config dict or an instance.

    Args:
        identifier: A name, ``{"class_name": "Adam", "config": {...}}`` or an ``Optimizer``.

    Example:
        >>> get("rmsprop").learning_rate
        0.001
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    if isinstance(identifier, str):
        cls = _NAMES.get(identifier.strip().lower())
        if cls is None:
            raise ValueError(f"unknown optimizer {identifier!r}: accepted names are "
                             f"{', '.join(sorted(_NAMES))}")
        return cls()
    if isinstance(identifier, dict):
        return from_class_config("optimizer class", identifier, _CLASSES, _NAMES)
    raise TypeError(f"optimizer must be a name, a config dict or a lamina optimizer, "
                    f"got {identifier!r}")


def serialize(optimizer) -> dict:
    """Returns ``{"class_name": ..., "config": ...}``.

    Example:
        >>> serialize("sgd")["class_name"]
        'SGD'
    """
    opt = get(optimizer)
    return {"class_name": type(opt).__name__, "config": opt.get_config()}


deserialize = get
