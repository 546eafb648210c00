"""Weight penalties added to the loss: L1, L2 and both (Keras 3 names and defaults).

The core adds ``l1 * sum(|w|) + l2 * sum(w ** 2)`` for each regularized kernel or bias to
the training loss and its gradient; calling a regularizer on an array computes the same
penalty in numpy.

Example:
    >>> import numpy as np
    >>> import lamina
    >>> lamina.regularizers.L2(0.01)(np.array([1.0, 2.0]))
    0.05
"""

from __future__ import annotations

import math

import numpy as np

from ._validation import config_repr, from_class_config

__all__ = ["Regularizer", "L1", "L2", "L1L2", "l1", "l2", "l1_l2", "get", "serialize",
           "deserialize"]


def _rate(name, value):
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a number, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return v


class Regularizer:
    """Base class: ``l1 * sum(|w|) + l2 * sum(w ** 2)``; subclasses fix which terms exist.

    Example:
        >>> reg = L1L2(l1=0.5, l2=0.25); isinstance(reg, Regularizer), reg([1.0, -2.0])
        (True, 2.75)
    """

    l1 = 0.0
    l2 = 0.0

    def __call__(self, x) -> float:
        """Returns the penalty of array ``x`` as a Python float (float64 arithmetic)."""
        x = np.asarray(x, dtype=np.float64)
        return float(self.l1 * np.abs(x).sum() + self.l2 * np.square(x).sum())

    def get_config(self) -> dict:
        """Returns the constructor arguments as a dict."""
        return {"l1": self.l1, "l2": self.l2}

    @classmethod
    def from_config(cls, config: dict):
        """Creates a regularizer from ``get_config()``'s output."""
        return cls(**config)

    __repr__ = config_repr

    def __eq__(self, other):
        return isinstance(other, Regularizer) and (self.l1, self.l2) == (other.l1, other.l2)

    __hash__ = None


class L1(Regularizer):
    """L1 penalty ``l1 * sum(|w|)``.

    Args:
        l1: Rate, >= 0. Defaults to `0.01`.

    Example:
        >>> L1(0.1)([1.0, -2.0])
        0.30000000000000004
    """

    def __init__(self, l1=0.01):
        self.l1 = _rate("l1", l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """L2 penalty ``l2 * sum(w ** 2)`` (Keras: no 1/2 factor).

    Args:
        l2: Rate, >= 0. Defaults to `0.01`.

    Example:
        >>> L2(0.5)([2.0])
        2.0
    """

    def __init__(self, l2=0.01):
        self.l2 = _rate("l2", l2)

    def get_config(self):
        return {"l2": self.l2}


class L1L2(Regularizer):
    """Both penalties, ``l1 * sum(|w|) + l2 * sum(w ** 2)``.

    Args:
        l1: L1 rate, >= 0. Defaults to `0.0`.
        l2: L2 rate, >= 0. Defaults to `0.0`.

    Example:
        >>> L1L2(l1=1.0, l2=1.0)([2.0])
        6.0
    """

    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = _rate("l1", l1), _rate("l2", l2)


# Keras 3 spellings: the lowercase names are the classes.
l1 = L1
l2 = L2
l1_l2 = L1L2

_CLASSES = {"L1": L1, "L2": L2, "L1L2": L1L2}
_NAMES = {"l1": L1, "l2": L2, "l1_l2": L1L2, "l1l2": L1L2}


def get(identifier):
    """Resolves a regularizer from ``None``, a name, a config dict or an instance.

    Args:
        identifier: ``None``, "l1", "l2", "l1_l2", ``{"class_name": "L2", "config":
            {"l2": 0.001}}`` or a ``Regularizer``.

    Returns:
        A ``Regularizer`` or ``None``.

    Example:
        >>> get("l2")
        L2(l2=0.01)
    """
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str):
        cls = _NAMES.get(identifier.strip().lower()) or _CLASSES.get(identifier.strip())
        if cls is None:
            raise ValueError(f"unknown regularizer {identifier!r}: accepted names are "
                             "l1, l2, l1_l2")
        return cls()
    if isinstance(identifier, dict):
        return from_class_config("regularizer class", identifier, _CLASSES, _NAMES,
                                 accepted="L1, L2, L1L2")
    raise TypeError(f"regularizer must be None, a name, a config dict or a lamina "
                    f"Regularizer, got {identifier!r}")


def serialize(regularizer):
    """Returns ``None`` or ``{"class_name": ..., "config": ...}``.

    Example:
        >>> serialize(L2(0.001))
        {'class_name': 'L2', 'config': {'l2': 0.001}}
    """
    reg = get(regularizer)
    if reg is None:
        return None
    return {"class_name": type(reg).__name__, "config": reg.get_config()}


deserialize = get
