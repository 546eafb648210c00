"""Shared fixtures: ISA levels and thread counts to run kernel tests under."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

try:  # CI explores the same hypothesis examples every run; developers get fresh ones.
    from hypothesis import settings as _hsettings

    _hsettings.register_profile("ci", derandomize=True, print_blob=True)
    if os.environ.get("CI"):
        _hsettings.load_profile("ci")
except ImportError:  # pragma: no cover - hypothesis is in the test extra
    pass

import lamina
from lamina import _core, runtime

SUPPORTED_ISAS = list(_core.supported_isas())


@pytest.fixture(params=SUPPORTED_ISAS)
def isa(request):
    """Runs the test once per ISA level this CPU supports, restoring the level afterwards."""
    before = _core.active_isa()
    runtime.set_isa(request.param)
    try:
        yield request.param
    finally:
        _core.set_isa(before)


@pytest.fixture
def threads():
    """Returns a setter for the core's thread count that restores it after the test."""
    before = lamina.get_num_threads()
    yield lamina.set_num_threads
    lamina.set_num_threads(before)


def run_python(code: str, env_extra: dict | None = None, timeout: float = 120):
    """Runs `python -c code` in a fresh interpreter; returns the CompletedProcess."""
    env = dict(os.environ)
    env.pop("LAMINA_ISA", None)
    env.pop("LAMINA_NUM_THREADS", None)
    env.pop("OMP_NUM_THREADS", None)  # it sets the default thread count when LAMINA_* is unset
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=timeout)


def import_keras3(module_level=False):
    """Keras 3 on the torch backend, or the calling test (the whole module, when called at
    import with ``module_level=True``) is skipped."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:  # any ImportError (keras present, its backend not) means: skip
        import keras
    except ImportError as exc:
        pytest.skip(f"Keras 3 is not importable here (the interop extra): {exc}",
                    allow_module_level=module_level)
    if keras.backend.backend() != "torch":  # pragma: no cover - another backend preloaded
        pytest.skip("these checks run Keras 3 on the torch backend",
                    allow_module_level=module_level)
    return keras


@pytest.fixture
def keras3():
    """Keras 3 on the torch backend (with h5py for its files), or the test is skipped."""
    pytest.importorskip("h5py")
    return import_keras3()
