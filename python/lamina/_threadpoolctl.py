"""lamina's thread pool as a threadpoolctl library, so thread limits reach it as they reach BLAS.

threadpoolctl (a small pure-Python package that scikit-learn depends on) finds the native
libraries loaded in the process and sets their thread counts through their C APIs.
``register()`` (called when ``lamina.runtime`` is imported) adds a controller for lamina's
core: it matches the loaded extension ``lamina/_core.*`` by its C entry points
``lamina_get_num_threads`` / ``lamina_set_num_threads`` (src/register_runtime.cpp), so

- ``threadpoolctl.threadpool_limits(1)`` brings lamina to one thread and back, as it does
  OpenBLAS and OpenMP (``user_api="lamina"`` limits lamina alone);
- ``threadpoolctl.threadpool_info()`` lists lamina with its thread count.

threadpoolctl stays optional: without it there is nothing that could call it, and lamina
registers itself whenever it is importable (threadpoolctl >= 3.4 has ``register``).

Example:
    >>> register() is register()  # once per process; False without threadpoolctl
    True
"""

from __future__ import annotations

from ._version import __version__

__all__ = ["USER_API", "register"]

USER_API = "lamina"

_registered = False


def _controller_class(threadpoolctl):
    class LaminaController(threadpoolctl.LibController):
        """threadpoolctl's controller of lamina's thread pool (the ``_core`` extension)."""

        user_api = USER_API
        internal_api = "lamina"
        # The extension's file name (``_core.cpython-312-x86_64-linux-gnu.so``, ``_core.cp312-
        # win_amd64.pyd``); other packages' ``_core`` modules lack the symbols below.
        filename_prefixes = ("_core",)
        check_symbols = ("lamina_get_num_threads", "lamina_set_num_threads")

        def get_num_threads(self):
            return int(self.dynlib.lamina_get_num_threads())

        def set_num_threads(self, num_threads):
            # ctypes releases the GIL around the call; the core clamps to [1, MAX_THREADS].
            return int(self.dynlib.lamina_set_num_threads(int(num_threads)))

        def get_version(self):
            return __version__

    return LaminaController


def register() -> bool:
    """Registers lamina's pool with threadpoolctl when it is installed (once per process).

    Returns:
        True when lamina is registered (now or before), False without a threadpoolctl that
        has ``register``.
    """
    global _registered
    if _registered:
        return True
    try:
        import threadpoolctl
    except ImportError:
        return False
    if not (hasattr(threadpoolctl, "register") and hasattr(threadpoolctl, "LibController")):
        return False
    threadpoolctl.register(_controller_class(threadpoolctl))
    _registered = True
    return True
