"""Learning-rate schedules (``lamina.optimizers.schedules``), Keras 3 formulas.

A schedule maps the optimizer's step count (0 for the first update) to a learning rate.
lamina evaluates it in Python before every step and passes the value to the core.

Example:
    >>> import lamina
    >>> s = lamina.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    >>> s(0), s(10), s(20)
    (0.1, 0.05, 0.025)
"""

from __future__ import annotations

import math

from .._validation import config_repr, from_class_config

__all__ = ["LearningRateSchedule", "ExponentialDecay", "PiecewiseConstantDecay", "CosineDecay",
           "InverseTimeDecay", "PolynomialDecay", "CosineDecayRestarts", "get", "serialize",
           "deserialize"]


def _float(name, value):
    try:
        return float(value)
    except (TypeError, ValueError) as exc:  # same exception type, now naming the argument
        raise type(exc)(f"{name} must be a number, got {value!r}") from None


def _positive(name, value, allow_zero=False):
    v = _float(name, value)
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise ValueError(f"{name} must be a finite number {'>=' if allow_zero else '>'} 0, "
                         f"got {value!r}")
    return v


def _learning_rate_at(schedule, step) -> float:
    """``schedule(step)`` as a float; a ``ValueError`` naming the schedule when its formula
    overflows or gives NaN/inf at ``step`` (a decay rate or step count that is too large)."""
    try:
        lr = float(schedule(step))
    except (OverflowError, ZeroDivisionError) as exc:
        raise ValueError(f"learning-rate schedule {schedule!r} cannot be evaluated at step "
                         f"{step}: {exc}") from None
    if not math.isfinite(lr):
        raise ValueError(f"learning-rate schedule {schedule!r} gives {lr} at step {step}: "
                         "its parameters overflow")
    return lr


class LearningRateSchedule:
    """Base class: ``schedule(step) -> float``; subclasses implement ``__call__``.

    Example:
        >>> isinstance(ExponentialDecay(0.1, 10, 0.5), LearningRateSchedule)
        True
    """

    def __call__(self, step) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def get_config(self) -> dict:
        """Returns the constructor arguments as a dict."""
        raise NotImplementedError  # pragma: no cover

    @classmethod
    def from_config(cls, config: dict):
        """Creates a schedule from ``get_config()``'s output."""
        return cls(**config)

    __repr__ = config_repr


class ExponentialDecay(LearningRateSchedule):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)``.

    Args:
        initial_learning_rate: Rate at step 0.
        decay_steps: Steps per decay period, > 0.
        decay_rate: Factor per period, > 0.
        staircase: Decay in whole periods (``floor(step / decay_steps)``). Defaults to `False`.
        name: Name. Defaults to `"ExponentialDecay"`.

    Example:
        >>> ExponentialDecay(1.0, 2, 0.5, staircase=True)(3)
        0.5
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="ExponentialDecay"):
        self.initial_learning_rate = _positive("initial_learning_rate", initial_learning_rate,
                                               True)
        self.decay_steps = _positive("decay_steps", decay_steps)
        self.decay_rate = _positive("decay_rate", decay_rate)
        self.staircase = bool(staircase)
        self.name = name

    def __call__(self, step):
        p = step / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_learning_rate * self.decay_rate ** p

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class InverseTimeDecay(LearningRateSchedule):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)``.

    Args:
        initial_learning_rate: Rate at step 0.
        decay_steps: Steps per decay period, > 0.
        decay_rate: Decay per period, >= 0.
        staircase: Decay in whole periods. Defaults to `False`.
        name: Name. Defaults to `"InverseTimeDecay"`.

    Example:
        >>> InverseTimeDecay(1.0, 1, 1.0)(1)
        0.5
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="InverseTimeDecay"):
        self.initial_learning_rate = _positive("initial_learning_rate", initial_learning_rate,
                                               True)
        self.decay_steps = _positive("decay_steps", decay_steps)
        self.decay_rate = _positive("decay_rate", decay_rate, True)
        self.staircase = bool(staircase)
        self.name = name

    def __call__(self, step):
        p = step / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_learning_rate / (1 + self.decay_rate * p)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` up to ``boundaries[0]``, ``values[i]`` up to ``boundaries[i]``, then the last.

    Args:
        boundaries: Increasing step counts (n of them).
        values: Learning rates (n + 1 of them).
        name: Name. Defaults to `"PiecewiseConstant"`.

    Example:
        >>> s = PiecewiseConstantDecay([10], [1.0, 0.1])
        >>> s(10), s(11)
        (1.0, 0.1)
    """

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        boundaries = [_float("boundaries", b) for b in boundaries]
        values = [_float("values", v) for v in values]
        if len(values) != len(boundaries) + 1:
            raise ValueError(f"PiecewiseConstantDecay needs len(values) == len(boundaries) + 1,"
                             f" got {len(values)} values and {len(boundaries)} boundaries")
        if any(b2 <= b1 for b1, b2 in zip(boundaries, boundaries[1:])):
            raise ValueError(f"boundaries must increase, got {boundaries}")
        for v in values:
            _positive("values", v, True)
        self.boundaries, self.values, self.name = boundaries, values, name

    def __call__(self, step):
        for b, v in zip(self.boundaries, self.values):
            if step <= b:
                return v
        return self.values[-1]

    def get_config(self):
        return {"boundaries": list(self.boundaries), "values": list(self.values),
                "name": self.name}


class CosineDecay(LearningRateSchedule):
    """Cosine decay from the initial (or warmup target) rate to ``alpha`` times it.

    Without warmup: ``lr * ((1 - alpha) * 0.5 * (1 + cos(pi * min(step, decay_steps) /
    decay_steps)) + alpha)``. With ``warmup_steps`` and ``warmup_target``, the rate first
    rises linearly from ``initial_learning_rate`` to ``warmup_target``, then decays from it.

    Args:
        initial_learning_rate: Rate at step 0.
        decay_steps: Steps to decay over, > 0.
        alpha: Final rate as a fraction of the start rate. Defaults to `0.0`.
        name: Name. Defaults to `"CosineDecay"`.
        warmup_target: Rate reached after warmup. Defaults to `None` (no warmup).
        warmup_steps: Warmup length. Defaults to `0`.

    Example:
        >>> CosineDecay(1.0, 10)(5)
        0.5
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        self.initial_learning_rate = _positive("initial_learning_rate", initial_learning_rate,
                                               True)
        self.decay_steps = _positive("decay_steps", decay_steps)
        self.alpha = _float("alpha", alpha)
        if not 0.0 <= self.alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha!r}")
        self.warmup_target = None if warmup_target is None else _positive(
            "warmup_target", warmup_target, True)
        self.warmup_steps = _positive("warmup_steps", warmup_steps, True)
        self.name = name

    def _decay(self, step, start):
        step = min(step, self.decay_steps)
        cosine = 0.5 * (1.0 + math.cos(math.pi * step / self.decay_steps))
        return start * ((1.0 - self.alpha) * cosine + self.alpha)

    def __call__(self, step):
        if self.warmup_target is None:
            return self._decay(step, self.initial_learning_rate)
        if step < self.warmup_steps:
            frac = step / self.warmup_steps
            return self.initial_learning_rate + (self.warmup_target
                                                 - self.initial_learning_rate) * frac
        return self._decay(step - self.warmup_steps, self.warmup_target)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


class PolynomialDecay(LearningRateSchedule):
    """Polynomial decay from ``initial_learning_rate`` to ``end_learning_rate`` over
    ``decay_steps`` (Keras 3's ``PolynomialDecay``): ``(initial - end) * (1 - p) ** power +
    end`` with ``p = min(step, decay_steps) / decay_steps``; with ``cycle`` the horizon grows
    to the next multiple of ``decay_steps`` instead of holding at the end rate.

    Args:
        initial_learning_rate: Rate at step 0.
        decay_steps: Steps to decay over, > 0.
        end_learning_rate: Rate at the end. Defaults to `0.0001`.
        power: Exponent of the polynomial, > 0. Defaults to `1.0`.
        cycle: Restart the decay past ``decay_steps``. Defaults to `False`.
        name: Name. Defaults to `"PolynomialDecay"`.

    Example:
        >>> PolynomialDecay(1.0, 10, end_learning_rate=0.0)(5)
        0.5
    """

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0,
                 cycle=False, name="PolynomialDecay"):
        self.initial_learning_rate = _positive("initial_learning_rate", initial_learning_rate,
                                               True)
        self.decay_steps = _positive("decay_steps", decay_steps)
        self.end_learning_rate = _positive("end_learning_rate", end_learning_rate, True)
        self.power = _positive("power", power)
        self.cycle = bool(cycle)
        self.name = name

    def __call__(self, step):
        steps = self.decay_steps
        if self.cycle:
            steps = steps * (1.0 if step == 0 else math.ceil(step / steps))
        else:
            step = min(step, steps)
        p = step / steps
        return ((self.initial_learning_rate - self.end_learning_rate) * (1.0 - p) ** self.power
                + self.end_learning_rate)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle, "name": self.name}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR, Loshchilov & Hutter 2017; Keras 3's
    ``CosineDecayRestarts``): the first period lasts ``first_decay_steps``, each next one
    ``t_mul`` times longer and starting from ``m_mul`` times the previous start rate; within
    a period ``initial * m_mul ** i * ((1 - alpha) * 0.5 * (1 + cos(pi * f)) + alpha)``,
    ``f`` the fraction of the period done.

    Args:
        initial_learning_rate: Rate at step 0.
        first_decay_steps: Length of the first period, > 0.
        t_mul: Growth of the period length, > 0. Defaults to `2.0`.
        m_mul: Factor of each restart's rate, >= 0. Defaults to `1.0`.
        alpha: Floor as a fraction of the rate, in [0, 1]. Defaults to `0.0`.
        name: Name. Defaults to `"SGDRDecay"`.

    Example:
        >>> CosineDecayRestarts(1.0, 10)(10), CosineDecayRestarts(1.0, 10)(20)
        (1.0, 0.5)
    """

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0,
                 alpha=0.0, name="SGDRDecay"):
        self.initial_learning_rate = _positive("initial_learning_rate", initial_learning_rate,
                                               True)
        self.first_decay_steps = _positive("first_decay_steps", first_decay_steps)
        self.t_mul = _positive("t_mul", t_mul)
        self.m_mul = _positive("m_mul", m_mul, True)
        self.alpha = _float("alpha", alpha)
        if not 0.0 <= self.alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha!r}")
        self.name = name

    def __call__(self, step):
        done = step / self.first_decay_steps
        if self.t_mul == 1.0:
            restart = math.floor(done)
            done -= restart
        else:
            restart = math.floor(math.log(1.0 - done * (1.0 - self.t_mul))
                                 / math.log(self.t_mul))
            before = (1.0 - self.t_mul ** restart) / (1.0 - self.t_mul)
            done = (done - before) / self.t_mul ** restart
        cosine = 0.5 * self.m_mul ** restart * (1.0 + math.cos(math.pi * done))
        return self.initial_learning_rate * ((1.0 - self.alpha) * cosine + self.alpha)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self.t_mul,
                "m_mul": self.m_mul, "alpha": self.alpha, "name": self.name}


_CLASSES = {c.__name__: c for c in (ExponentialDecay, PiecewiseConstantDecay, CosineDecay,
                                     InverseTimeDecay, PolynomialDecay, CosineDecayRestarts)}


def get(identifier) -> LearningRateSchedule:
    """Resolves a schedule from ``{"class_name": ..., "config": ...}`` or an instance.

    Example:
        >>> get({"class_name": "CosineDecay", "config": {"initial_learning_rate": 1.0,
        ...      "decay_steps": 4}})(4)
        0.0
    """
    if isinstance(identifier, LearningRateSchedule):
        return identifier
    if isinstance(identifier, dict):
        return from_class_config("learning-rate schedule", identifier, _CLASSES)
    raise TypeError(f"expected a LearningRateSchedule or its config dict, got {identifier!r}")


def serialize(schedule) -> dict:
    """Returns ``{"class_name": ..., "config": ...}``.

    Example:
        >>> serialize(ExponentialDecay(0.1, 10, 0.5))["class_name"]
        'ExponentialDecay'
    """
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


deserialize = get
