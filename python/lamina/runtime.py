"""What the core runs on: the CPU dispatch level and the thread pool."""

from __future__ import annotations

import contextlib
import os
import re
import threading
import warnings

from . import _core

ISA_LEVELS = ("generic", "avx2", "avx512", "avx512_bf16")
MAX_THREADS = _core.MAX_THREADS


def _num_threads_env_problem(value):
    """Why ``LAMINA_NUM_THREADS=value`` is ignored ("" when the core honours it)."""
    if not value:
        return ""
    # The core parses it with strtol: optional leading space and sign, then digits only.
    if re.fullmatch(r"\s*[+-]?[0-9]+", value) and 1 <= int(value) <= MAX_THREADS:
        return ""
    return (f"LAMINA_NUM_THREADS={value!r} is not a whole number in [1, {MAX_THREADS}]; "
            f"using {_core.get_num_threads()} threads (the usable cores)")


for _problem in (_core.isa_env_problem(), _core.caches_env_problem()):
    if _problem:
        warnings.warn(_problem, RuntimeWarning, stacklevel=2)
_problem = _num_threads_env_problem(os.environ.get("LAMINA_NUM_THREADS", ""))
if _problem:
    warnings.warn(_problem, RuntimeWarning, stacklevel=2)


def cpu_info() -> dict:
    """Describes the CPU dispatch and threading state of the core.

    Returns:
        A dict with ``model`` (the CPU's name), ``isa`` (the active level: "generic",
        "avx2", "avx512" or "avx512_bf16"), ``max_isa`` (the best level this CPU supports), ``supported``
        (list of levels, lowest first), ``caches`` (``{"l1d", "l2", "l3"}``: data cache
        sizes of one core in bytes, l3 being the L3 the core shares, as read from CPUID or
        sysfs and after the ``LAMINA_CACHES`` override, e.g.
        ``LAMINA_CACHES="l1d=32K,l2=512K,l3=32M"``), ``gemm_blocks`` (per dtype,
        ``{"MR", "NR", "MC", "KC", "NC"}``: the GEMM micro-tile and the blocks derived from
        those caches at the active level), ``num_threads`` (threads the core uses),
        ``usable_cores``, and ``build`` (compiler, build type and flags). A bug report that
        quotes it says what ran.

    Example:
        >>> info = cpu_info()
        >>> info["isa"] in info["supported"]
        True
    """
    return {
        "model": _core.cpu_model(),
        "isa": _core.active_isa(),
        "max_isa": _core.max_isa(),
        "supported": list(_core.supported_isas()),
        "caches": dict(_core.cache_sizes()),
        "gemm_blocks": {dt: dict(_core.gemm_blocks(dt)) for dt in ("float32", "float64")},
        "num_threads": _core.get_num_threads(),
        "usable_cores": _core.usable_cores(),
        "build": dict(_core.build_info()),
    }


def get_num_threads() -> int:
    """Returns the number of threads the core uses for one kernel or training step."""
    return _core.get_num_threads()


def set_num_threads(n: int) -> None:
    """Sets the number of threads the core uses.

    Results never depend on it: work is split by output tiles and every reduction runs in
    a fixed order.

    Args:
        n: Threads, from 1 to ``MAX_THREADS`` (1024). The default at import is
            ``LAMINA_NUM_THREADS`` if set (an invalid value warns and is ignored), else the
            number of usable cores.

    Raises:
        ValueError: ``n`` is outside [1, ``MAX_THREADS``]; the thread count is unchanged.

    Example:
        >>> import lamina
        >>> old = lamina.get_num_threads(); lamina.set_num_threads(1)
        >>> lamina.get_num_threads()
        1
        >>> lamina.set_num_threads(old)
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"num_threads must be an int, got {n!r}")
    if not 1 <= n <= MAX_THREADS:
        raise ValueError(f"num_threads must be in [1, {MAX_THREADS}], got {n}")
    _core.set_num_threads(n)


def set_isa(level: str) -> None:
    """Sets the ISA level kernels dispatch on (for tests and benchmarks).

    Args:
        level: "generic", "avx2", "avx512" or "avx512_bf16" (AVX-512 with the bf16 dot
            product); at most ``cpu_info()["max_isa"]``.
    """
    if level not in ISA_LEVELS:
        raise ValueError(f"ISA level {level!r} is not one of {', '.join(ISA_LEVELS)}")
    _core.set_isa(level)


# The core's thread count is process-wide: blocks that pin it at once in one process (sweep
# trials on the threading backend, scikit-learn estimators fitted in threads) share it, so
# the first to enter saves the caller's count and the last to leave restores it (saving and
# restoring per block would leave whatever the block that finished last had saved).
_pin_lock = threading.Lock()
_pin_state = {"depth": 0, "saved": None}


def _reset_pins_in_child():  # a thread that held the lock at fork() does not exist here
    global _pin_lock
    _pin_lock = threading.Lock()
    _pin_state.update(depth=0, saved=None)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_pins_in_child)


@contextlib.contextmanager
def _pinned_threads(threads):
    if threads is None:
        yield
        return
    with _pin_lock:
        if _pin_state["depth"] == 0:
            _pin_state["saved"] = get_num_threads()
        set_num_threads(int(threads))
        _pin_state["depth"] += 1
    try:
        yield
    finally:
        with _pin_lock:
            _pin_state["depth"] -= 1
            if _pin_state["depth"] == 0:
                set_num_threads(_pin_state["saved"])
