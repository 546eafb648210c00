"""Keras's automatic names: ``dense``, ``dense_1``, ``adam``, ``adam_1``, ...

Layers and optimizers created without a ``name`` take their class name in snake case,
numbered from the second of a kind on, with one counter per base name shared by every kind
(as Keras 3's ``naming.auto_name``); ``lamina.backend.clear_session`` restarts the counters.

Example:
    >>> reset(); auto_name("RMSprop"), auto_name("RMSprop"), to_snake_case("PReLU")
    ('rm_sprop', 'rm_sprop_1', 'p_re_lu')
"""
from __future__ import annotations

import re

__all__ = ["to_snake_case", "auto_name", "reset"]

_COUNTS: dict = {}


def to_snake_case(name: str) -> str:
    """Keras's ``naming.to_snake_case``.

    Example:
        >>> to_snake_case("BatchNormalization"), to_snake_case("LeakyReLU")
        ('batch_normalization', 'leaky_re_lu')
    """
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def auto_name(cls_name: str) -> str:
    """The next automatic name for an object of class ``cls_name``."""
    base = to_snake_case(cls_name)
    n = _COUNTS.get(base, 0)
    _COUNTS[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def reset() -> None:
    """Restarts every counter (``clear_session``)."""
    _COUNTS.clear()
