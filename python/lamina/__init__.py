"""lamina: Keras-style dense networks on the CPU, with the hot paths in a C++ core.

Example:
    >>> import lamina
    >>> lamina.cpu_info()["isa"] in lamina.cpu_info()["supported"]
    True
"""

from ._version import __version__

try:
    from . import _core  # noqa: F401
except ImportError as exc:  # pragma: no cover - only when the build is missing or broken
    raise ImportError(
        "lamina's compiled core is missing or failed to load: reinstall with `pip install .` "
        f"from the source tree (original error: {exc})"
    ) from exc

from .runtime import cpu_info, get_num_threads, set_num_threads

__all__ = [
    "__version__",
    "cpu_info",
    "get_num_threads",
    "set_num_threads",
]
