"""What the core runs on: the CPU dispatch level and the thread pool."""

from __future__ import annotations

import warnings

from . import _core

ISA_LEVELS = ("generic", "avx2", "avx512")

for _problem in (_core.isa_env_problem(), _core.caches_env_problem()):
    if _problem:
        warnings.warn(_problem, RuntimeWarning, stacklevel=2)


def cpu_info() -> dict:
    """Describes the CPU dispatch and threading state of the core.

    Returns:
        A dict with ``model`` (the CPU's name), ``isa`` (the active level: "generic",
        "avx2" or "avx512"), ``max_isa`` (the best level this CPU supports), ``supported``
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
        n: Threads, at least 1. The default at import is ``LAMINA_NUM_THREADS`` if set,
            else the number of usable cores.

    Example:
        >>> import lamina
        >>> old = lamina.get_num_threads(); lamina.set_num_threads(1)
        >>> lamina.get_num_threads()
        1
        >>> lamina.set_num_threads(old)
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"num_threads must be an int, got {n!r}")
    if n < 1:
        raise ValueError(f"num_threads must be >= 1, got {n}")
    _core.set_num_threads(n)


def set_isa(level: str) -> None:
    """Sets the ISA level kernels dispatch on (for tests and benchmarks).

    Args:
        level: "generic", "avx2" or "avx512"; at most ``cpu_info()["max_isa"]``.
    """
    if level not in ISA_LEVELS:
        raise ValueError(f"ISA level {level!r} is not one of {', '.join(ISA_LEVELS)}")
    _core.set_isa(level)
