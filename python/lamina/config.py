"""Global defaults: the float type new models use (Keras's ``keras.config``).

Example:
    >>> import lamina
    >>> lamina.config.floatx()
    'float32'
    >>> lamina.config.set_floatx("float64"); lamina.config.floatx()
    'float64'
    >>> lamina.config.set_floatx("float32")
"""

from __future__ import annotations

__all__ = ["floatx", "set_floatx", "epsilon", "backend", "FLOATX_TYPES"]

_FLOATX = "float32"
# The float types the core computes in (what floatx and a model's dtype may be).
FLOATX_TYPES = ("float32", "float64")


def floatx() -> str:
    """Returns the default float type of new models: "float32" (the default) or "float64".

    Example:
        >>> floatx()
        'float32'
    """
    return _FLOATX


def set_floatx(value: str) -> None:
    """Sets the default float type of models created afterwards.

    Args:
        value: "float32" or "float64" (the core computes in one of these). Defaults to
            `"float32"` at import.

    Example:
        >>> import lamina
        >>> lamina.config.set_floatx("float64")
        >>> lamina.Sequential([lamina.layers.Dense(1)]).dtype
        'float64'
        >>> lamina.config.set_floatx("float32")
    """
    global _FLOATX
    name = getattr(value, "name", value)  # accept np.float32 / np.dtype too
    if isinstance(value, type):
        import numpy as np

        name = np.dtype(value).name
    if name not in FLOATX_TYPES:
        raise ValueError(f"floatx must be one of {', '.join(FLOATX_TYPES)}, got {value!r}")
    _FLOATX = name


def epsilon() -> float:
    """Returns the fuzz factor Keras uses in losses (1e-7); lamina's core uses the same.

    Example:
        >>> epsilon()
        1e-07
    """
    return 1e-7


def backend() -> str:
    """Keras's ``keras.config.backend()``: "numpy". lamina computes in its own C++ core and
    hands back numpy arrays, as Keras's numpy backend does, so a script that branches on the
    backend to turn results into arrays takes the right branch.

    Example:
        >>> backend()
        'numpy'
    """
    return "numpy"
