"""Threads that cooperate: threadpoolctl limits lamina's pool, OMP_NUM_THREADS sets its
default, and joblib's workers (loky, GridSearchCV, tune) get their share of the cores."""

from __future__ import annotations

import ctypes
import os

import numpy as np
import pytest

import lamina
from lamina import _core

from conftest import run_python


@pytest.fixture
def threadpoolctl():
    tpc = pytest.importorskip("threadpoolctl")
    if not hasattr(tpc, "register"):  # pragma: no cover - threadpoolctl < 3.4
        pytest.skip("threadpoolctl without register(): lamina cannot join it")
    return tpc


def test_threadpool_info_lists_lamina(threads, threadpoolctl):
    threads(3)
    infos = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "lamina"]
    assert len(infos) == 1, threadpoolctl.threadpool_info()
    info = infos[0]
    assert info["internal_api"] == "lamina" and info["num_threads"] == 3
    assert os.path.realpath(info["filepath"]) == os.path.realpath(_core.__file__)
    assert info["version"] == lamina.__version__


def test_threadpool_limits_one_brings_lamina_to_one_thread_and_back(threads, threadpoolctl):
    threads(3)
    with threadpoolctl.threadpool_limits(1):
        assert lamina.get_num_threads() == 1
        # the core really runs on it: a kernel split across threads still completes
        a = np.ones((200, 200), np.float32)
        assert lamina.ops.matmul(a, a)[0, 0] == 200.0
    assert lamina.get_num_threads() == 3


def test_threadpool_limits_by_user_api(threads, threadpoolctl):
    threads(3)
    with threadpoolctl.threadpool_limits(2, user_api="lamina"):
        assert lamina.get_num_threads() == 2
    assert lamina.get_num_threads() == 3
    with threadpoolctl.threadpool_limits(1, user_api="blas"):  # BLAS only: lamina untouched
        assert lamina.get_num_threads() == 3
    with threadpoolctl.threadpool_limits({"lamina": 1}):
        assert lamina.get_num_threads() == 1
    assert lamina.get_num_threads() == 3


def test_threadpool_controller_limit_and_wrap(threads, threadpoolctl):
    threads(2)
    controller = threadpoolctl.ThreadpoolController()
    lam = controller.select(user_api="lamina")
    assert len(lam.lib_controllers) == 1
    with controller.limit(limits=1, user_api="lamina"):
        assert lamina.get_num_threads() == 1
    assert lamina.get_num_threads() == 2

    @controller.wrap(limits=1, user_api="lamina")
    def inside():
        return lamina.get_num_threads()

    assert inside() == 1 and lamina.get_num_threads() == 2


def test_lamina_imports_without_threadpoolctl():
    proc = run_python("import sys; sys.modules['threadpoolctl'] = None; import lamina; "
                      "from lamina import _threadpoolctl as t; "
                      "print(t._registered, t.register(), lamina.get_num_threads() >= 1)")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "False", "True"]


def test_c_entry_points_clamp_and_never_throw(threads):
    lib = ctypes.CDLL(_core.__file__)
    threads(2)
    assert lib.lamina_get_num_threads() == 2
    assert lib.lamina_set_num_threads(0) == 1 and lamina.get_num_threads() == 1
    assert lib.lamina_set_num_threads(-5) == 1
    assert lib.lamina_set_num_threads(10 ** 6) == lamina.runtime.MAX_THREADS
    assert lib.lamina_set_num_threads(3) == 3 and lamina.get_num_threads() == 3


# ------------------------------------------------------------------ the environment
_SHOW = "import lamina; print(lamina.get_num_threads())"


def _env_threads(env):
    """The thread count (and stderr) of a fresh interpreter with ``env`` set and the thread
    variables of this one unset."""
    proc = run_python(_SHOW, {"OMP_NUM_THREADS": "", **env})
    assert proc.returncode == 0, proc.stderr
    return int(proc.stdout.split()[-1]), proc.stderr


@pytest.mark.parametrize("env,expected", [
    ({"OMP_NUM_THREADS": "3"}, 3),
    ({"OMP_NUM_THREADS": "3,1"}, 3),  # one count per nesting level: the first one counts
    ({"OMP_NUM_THREADS": "3", "LAMINA_NUM_THREADS": "2"}, 2),  # lamina's own comes first
    ({"OMP_NUM_THREADS": "3", "LAMINA_NUM_THREADS": "bad"}, 3),  # (warns, see below)
])
def test_omp_num_threads_is_honoured_after_lamina_num_threads(env, expected):
    n, err = _env_threads(env)
    assert n == expected
    if env.get("LAMINA_NUM_THREADS") == "bad":
        assert "LAMINA_NUM_THREADS='bad'" in err and "(OMP_NUM_THREADS)" in err
    else:
        assert "RuntimeWarning" not in err


@pytest.mark.parametrize("value", ["abc", "0", "2.5"])
def test_invalid_omp_num_threads_warns_and_uses_the_cores(value):
    n, err = _env_threads({"OMP_NUM_THREADS": value})
    assert n == min(_core.usable_cores(), lamina.runtime.MAX_THREADS)
    assert "OMP_NUM_THREADS" in err and "RuntimeWarning" in err


def test_thread_share():
    cores = _core.usable_cores()
    assert lamina.runtime.thread_share(1) == cores
    assert lamina.runtime.thread_share(2) == max(1, cores // 2)
    assert lamina.runtime.thread_share(cores * 4) == 1


# ------------------------------------------------------------------ joblib workers
@pytest.mark.slow
def test_loky_workers_get_their_share_of_the_cores():
    joblib = pytest.importorskip("joblib")
    with joblib.parallel_config(backend="loky", n_jobs=2):
        got = joblib.Parallel()(joblib.delayed(lamina.get_num_threads)() for _ in range(2))
    assert set(got) == {max(1, joblib.cpu_count() // 2)}
    # parallel_config(inner_max_num_threads=k) reaches lamina through OMP_NUM_THREADS
    with joblib.parallel_config(backend="loky", n_jobs=2, inner_max_num_threads=3):
        got = joblib.Parallel()(joblib.delayed(lamina.get_num_threads)() for _ in range(2))
    assert set(got) == {3}


def _threads_scorer(estimator, X, y):
    return float(lamina.get_num_threads())


@pytest.mark.slow
def test_grid_search_workers_fit_with_their_share(threads):
    joblib = pytest.importorskip("joblib")
    pytest.importorskip("sklearn")
    from sklearn.model_selection import GridSearchCV

    from lamina.sklearn import LaminaClassifier

    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    est = LaminaClassifier((4,), epochs=2, random_state=0)
    grid = {"learning_rate": [0.01, 0.02]}
    threads(min(2, lamina.runtime.MAX_THREADS))
    one = GridSearchCV(est, grid, cv=2, n_jobs=1, scoring=_threads_scorer, refit=False)
    one.fit(X, y)
    assert set(one.cv_results_["mean_test_score"]) == {2.0}  # in this process: its setting
    two = GridSearchCV(est, grid, cv=2, n_jobs=2, scoring=_threads_scorer, refit=False)
    two.fit(X, y)
    share = float(max(1, joblib.cpu_count() // 2))
    assert set(two.cv_results_["mean_test_score"]) == {share}
