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

__all__ = ["floatx", "set_floatx", "epsilon", "load_run"]

_FLOATX = "float32"
_SUPPORTED = ("float32", "float64")


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
    if name not in _SUPPORTED:
        raise ValueError(f"floatx must be one of {', '.join(_SUPPORTED)}, got {value!r}")
    _FLOATX = name


def epsilon() -> float:
    """Returns the fuzz factor Keras uses in losses (1e-7); lamina's core uses the same.

    Example:
        >>> epsilon()
        1e-07
    """
    return 1e-7


def load_run(path=None, overrides=None):
    """Loads and validates a run file (TOML or JSON), the format `lamina train` reads.

    A thin alias of `lamina.run.load_run`, so the run files and ``Sequential.from_config``
    share one schema under ``lamina.config``.

    Args:
        path: a run file path, a dict, or None for the default run. Defaults to `None`.
        overrides: ``["key.path=value", ...]`` applied on top. Defaults to `None`.

    Returns:
        The fully resolved run.

    Example:
        >>> run = load_run(overrides=["training.epochs=3"])
        >>> run["training"]["epochs"]
        3
    """
    from .run import load_run as _load_run

    return _load_run(path, overrides=overrides)
