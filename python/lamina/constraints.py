"""Weight constraints: projections applied to a weight after every optimizer step (Keras 3's
``keras.constraints``: names, defaults and arithmetic).

A layer takes them as ``kernel_constraint`` / ``bias_constraint`` (``Dense``), or
``add_weight(constraint=...)``; ``fit`` and ``train_on_batch`` set each constrained trainable
weight to ``constraint(weight)`` after the optimizer's update (and after the weights' moving
average, as Keras orders them). The classic use is Dropout with ``MaxNorm(3)`` on the kernels
(Srivastava et al., JMLR 2014). The projection runs in numpy on the live weight, in the
weight's dtype, once per step: a weight without a constraint costs nothing.

A constraint is any callable ``f(w) -> array of w's shape``; subclass ``Constraint`` (and
give it ``get_config``) to save it with the model.

Example:
    >>> import numpy as np
    >>> w = np.array([[3.0, 0.5], [4.0, 0.0]], np.float32)   # column norms 5 and 0.5
    >>> MaxNorm(max_value=2.0)(w).round(4).tolist()
    [[1.2, 0.5], [1.6, 0.0]]
"""

from __future__ import annotations

import math

import numpy as np

from ._validation import config_repr

__all__ = ["Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "max_norm",
           "min_max_norm", "non_neg", "unit_norm", "get", "serialize", "deserialize",
           "apply", "weight_constraints", "wrap_step"]

# Keras's backend.epsilon(), the fuzz in the norm divisions.
_EPSILON = 1e-7


def _number(name, value, minimum=None):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v) or (minimum is not None and v < minimum):
        bound = "" if minimum is None else f" >= {minimum}"
        raise ValueError(f"{name} must be a finite number{bound}, got {value!r}")
    return value


def _axis(value):
    def one(a):
        if isinstance(a, bool) or not isinstance(a, (int, np.integer)):
            raise TypeError(f"axis must be an int or a list of ints, got {value!r}")
        return int(a)

    return [one(a) for a in value] if isinstance(value, (list, tuple)) else one(value)


class Constraint:
    """Base class: the identity. Subclasses override ``__call__(w)``.

    Example:
        >>> class Clip(Constraint):
        ...     def __call__(self, w):
        ...         return np.clip(w, -1.0, 1.0)
        >>> Clip()(np.array([-3.0, 0.5])).tolist()
        [-1.0, 0.5]
    """

    def __call__(self, w):
        """Returns the projected weight (the base class: ``w`` unchanged)."""
        return w

    def get_config(self) -> dict:
        """Returns the constructor arguments as a dict."""
        return {}

    @classmethod
    def from_config(cls, config: dict):
        """Creates the constraint from ``get_config()``'s output."""
        return cls(**config)

    __repr__ = config_repr

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == other.get_config()

    __hash__ = None


def _norms(w, axis):
    return np.sqrt(np.sum(np.square(w), axis=tuple(axis) if isinstance(axis, list) else axis,
                          keepdims=True))


class MaxNorm(Constraint):
    """Scales each weight vector along ``axis`` down to a norm of at most ``max_value``:
    ``w * clip(norm, 0, max_value) / (1e-7 + norm)``. For a Dense kernel ``(inputs, units)``
    and ``axis=0``, each unit's incoming weights.

    Args:
        max_value: The largest norm, >= 0. Defaults to `2`.
        axis: The axis (or list of axes) the norms are taken over. Defaults to `0`.

    Example:
        >>> MaxNorm(1.0)(np.array([[3.0], [4.0]])).ravel().round(4).tolist()
        [0.6, 0.8]
    """

    def __init__(self, max_value=2, axis=0):
        self.max_value = _number("max_value", max_value, 0)
        self.axis = _axis(axis)

    def __call__(self, w):
        w = np.asarray(w)
        norms = _norms(w, self.axis)
        desired = np.clip(norms, 0, self.max_value)
        return w * (desired / (w.dtype.type(_EPSILON) + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Sets negative weights to zero: ``max(w, 0)``.

    Example:
        >>> NonNeg()(np.array([-1.0, 2.0])).tolist()
        [0.0, 2.0]
    """

    def __call__(self, w):
        return np.maximum(np.asarray(w), 0)


class UnitNorm(Constraint):
    """Scales each weight vector along ``axis`` to norm 1: ``w / (1e-7 + norm)``.

    Args:
        axis: The axis (or list of axes) the norms are taken over. Defaults to `0`.

    Example:
        >>> UnitNorm()(np.array([[3.0], [4.0]])).ravel().round(4).tolist()
        [0.6, 0.8]
    """

    def __init__(self, axis=0):
        self.axis = _axis(axis)

    def __call__(self, w):
        w = np.asarray(w)
        return w / (w.dtype.type(_EPSILON) + _norms(w, self.axis))

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Moves each weight vector's norm along ``axis`` into ``[min_value, max_value]``:
    ``w * (rate * clip(norm, min_value, max_value) + (1 - rate) * norm) / (1e-7 + norm)``
    (``rate=1`` enforces the bounds at once, a smaller rate moves toward them each step).

    Args:
        min_value: The smallest norm, >= 0. Defaults to `0.0`.
        max_value: The largest norm, >= min_value. Defaults to `1.0`.
        rate: How far to move toward the bounds per step, in [0, 1]. Defaults to `1.0`.
        axis: The axis (or list of axes) the norms are taken over. Defaults to `0`.

    Example:
        >>> MinMaxNorm(2.0, 3.0)(np.array([[0.6], [0.8]])).ravel().round(4).tolist()
        [1.2, 1.6]
    """

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value = _number("min_value", min_value, 0)
        self.max_value = _number("max_value", max_value, float(min_value))
        self.rate = _number("rate", rate, 0)
        if float(rate) > 1:
            raise ValueError(f"rate must be in [0, 1], got {rate!r}")
        self.axis = _axis(axis)

    def __call__(self, w):
        w = np.asarray(w)
        norms = _norms(w, self.axis)
        desired = (self.rate * np.clip(norms, self.min_value, self.max_value)
                   + (1 - self.rate) * norms).astype(w.dtype, copy=False)
        return w * (desired / (w.dtype.type(_EPSILON) + norms))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}


# Keras 3 spellings: the lowercase names are the classes.
max_norm = MaxNorm
min_max_norm = MinMaxNorm
non_neg = NonNeg
unit_norm = UnitNorm

_CLASSES = {"Constraint": Constraint, "MaxNorm": MaxNorm, "MinMaxNorm": MinMaxNorm,
            "NonNeg": NonNeg, "UnitNorm": UnitNorm}
_NAMES = {"constraint": Constraint, "max_norm": MaxNorm, "min_max_norm": MinMaxNorm,
          "non_neg": NonNeg, "unit_norm": UnitNorm}


def get(identifier):
    """Resolves a constraint from ``None``, a name, a config dict or a callable.

    Args:
        identifier: ``None``, a name ("max_norm", "MaxNorm", "non_neg", "unit_norm",
            "min_max_norm": the class with its defaults), ``{"class_name": "MaxNorm",
            "config": {"max_value": 3}}`` (Keras's serialized form, a registered custom
            class included), a ``Constraint`` class or instance, or any callable
            ``f(w) -> w``.

    Returns:
        A constraint or ``None``.

    Example:
        >>> get("max_norm")
        MaxNorm(max_value=2, axis=0)
    """
    if identifier is None:
        return None
    if isinstance(identifier, str):
        key = identifier.strip()
        cls = _CLASSES.get(key) or _NAMES.get(key.lower())
        if cls is None:
            raise ValueError(f"unknown constraint {identifier!r}: accepted names are "
                             f"{', '.join(sorted(_NAMES))} (or their class names)")
        return cls()
    if isinstance(identifier, dict):
        return _from_config(identifier)
    if isinstance(identifier, type):
        if not issubclass(identifier, Constraint):
            raise TypeError(f"constraint class must subclass lamina.constraints.Constraint, "
                            f"got {identifier!r}")
        return identifier()
    if callable(identifier):
        return identifier
    raise TypeError(f"constraint must be None, a name, a config dict or a callable, "
                    f"got {identifier!r}")


def _from_config(config):
    from .object_registration import get_registered_object, not_found

    name = config.get("class_name")
    key = config.get("registered_name") or name
    cls = _CLASSES.get(name) if config.get("module") in (None, "keras.constraints") else None
    if cls is None:
        cls = get_registered_object(key, module_objects=_CLASSES)
    if cls is None:
        raise ValueError(not_found("constraint", key))
    if not (isinstance(cls, type) and issubclass(cls, Constraint)):
        raise TypeError(f"constraint {key!r} is {cls!r}, not a Constraint subclass")
    return cls.from_config(dict(config.get("config") or {}))


def serialize(constraint):
    """Returns ``None`` or ``{"class_name": ..., "config": ...}`` (a registered custom class
    under its registered name; a plain function cannot be saved: ValueError names it).

    Example:
        >>> serialize(MaxNorm(3))
        {'class_name': 'MaxNorm', 'config': {'max_value': 3, 'axis': 0}}
    """
    c = get(constraint)
    if c is None:
        return None
    if not isinstance(c, Constraint):
        raise ValueError(f"constraint {c!r} is a plain callable: it cannot be saved; make it "
                         "a lamina.constraints.Constraint subclass with get_config")
    from .object_registration import registered_key

    out = {"class_name": type(c).__name__, "config": c.get_config()}
    if _CLASSES.get(type(c).__name__) is not type(c):
        key = registered_key(type(c))
        if key is not None:
            out["registered_name"] = key
    return out


deserialize = get


def apply(pairs) -> None:
    """Sets each weight to ``constraint(weight)`` in place.

    Args:
        pairs: ``(live array, constraint)`` pairs (``weight_constraints``).
    """
    for w, constraint in pairs:
        new = np.asarray(constraint(w))
        if new.shape != w.shape:
            raise ValueError(f"constraint {constraint!r} returned shape {new.shape} for a "
                             f"weight of shape {w.shape}")
        np.copyto(w, new, casting="unsafe")


def weight_constraints(model) -> list:
    """``(live array, constraint)`` of the model's trainable weights that have a constraint
    (what ``fit`` and ``train_on_batch`` apply after each step)."""
    return [(v.value, v.constraint) for v in model.trainable_weights
            if getattr(v, "constraint", None) is not None]


def wrap_step(train_step, pairs):
    """``train_step(x, y, sample_weight, lr, step)`` followed by the constraints."""
    def step(x, y, sw, lr, t, _step=train_step):
        r = _step(x, y, sw, lr, t)
        apply(pairs)
        return r
    return step
