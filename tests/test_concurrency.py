"""Threads: calls on one model from several threads, sweeps on the threading backend, the
thread-count cap and the LAMINA_NUM_THREADS check."""

import subprocess
import sys
import threading

import numpy as np
import pytest

import lamina
from lamina import _core


def _data(n=256, d=8):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, d)).astype("float32")
    return x, (x[:, 0] > 0).astype("int64")


def _model(d=8, seed=0):
    m = lamina.Sequential([lamina.Input((d,)), lamina.layers.Dense(16, activation="relu"),
                           lamina.layers.Dense(2, activation="softmax")], seed=seed)
    m.compile("adam", "sparse_categorical_crossentropy")
    return m


def _in_threads(n, target):
    errors = []

    def run(i):
        try:
            target(i)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert not errors, errors


def test_two_threads_fitting_one_model_lose_no_steps():
    x, y = _data()
    model = _model()
    start = threading.Barrier(2)

    def fit(i):
        start.wait()  # both calls overlap
        model.fit(x, y, epochs=10, batch_size=8, verbose=0)

    _in_threads(2, fit)
    assert model.optimizer.iterations == 2 * 10 * 32
    # Serialized: the same weights as two fits one after the other.
    ref = _model()
    for _ in range(2):
        ref.fit(x, y, epochs=10, batch_size=8, verbose=0)
    for a, b in zip(model.get_weights(), ref.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_many_threads_train_on_batch_count_every_step():
    x, y = _data()
    model = _model()
    _in_threads(4, lambda i: [model.train_on_batch(x[:32], y[:32]) for _ in range(25)])
    assert model.optimizer.iterations == 100


def test_predict_and_evaluate_while_another_thread_fits():
    x, y = _data()
    model = _model()
    preds = []

    def work(i):
        if i == 0:
            model.fit(x, y, epochs=4, batch_size=8, verbose=0)
        else:
            for _ in range(10):
                preds.append(model.predict(x, verbose=0))
                model.evaluate(x, y, verbose=0)

    _in_threads(3, work)
    assert model.optimizer.iterations == 4 * 32
    assert all(p.shape == (256, 2) and np.isfinite(p).all() for p in preds)


def test_save_while_another_thread_fits(tmp_path):
    x, y = _data()
    model = _model()
    paths = [tmp_path / f"m{i}.lamina" for i in range(5)]

    def work(i):
        if i == 0:
            model.fit(x, y, epochs=3, batch_size=8, verbose=0)
        else:
            for p in paths:
                model.save(p)

    _in_threads(2, work)
    for p in paths:  # each file is one consistent state the loader accepts
        lamina.load_model(p).predict(x, verbose=0)


def test_callbacks_may_call_the_model_inside_fit():
    # The model's lock is re-entrant: a callback evaluating or predicting does not deadlock.
    x, y = _data()
    model = _model()
    seen = []
    cb = lamina.callbacks.LambdaCallback(
        on_epoch_end=lambda e, logs: seen.append(model.predict(x[:4], verbose=0).shape))
    model.fit(x, y, epochs=2, verbose=0, callbacks=[cb])
    assert seen == [(4, 2), (4, 2)]


# ------------------------------------------------------------------ sweeps ---------------
def test_threading_sweep_restores_the_callers_thread_count():
    pytest.importorskip("joblib")
    old = lamina.get_num_threads()
    try:
        lamina.set_num_threads(3)
        seen = []

        def trial(params):
            seen.append(lamina.get_num_threads())
            x, y = _data(64)
            m = _model()
            h = m.fit(x, y, epochs=params["e"], batch_size=16, verbose=0)
            return {"val_loss": h.history["loss"]}

        res = lamina.tune.search(trial, {"e": [1, 2, 1, 2, 1, 2]}, backend="threading",
                                 n_jobs=3, threads_per_trial=1, metric="val_loss")
        assert all(r["status"] == "ok" for r in res)
        assert lamina.get_num_threads() == 3
        assert seen == [1] * 6
        res = lamina.tune.search(trial, {"e": [1, 1, 1]}, backend="threading", n_jobs=3,
                                 metric="val_loss")
        assert lamina.get_num_threads() == 3
    finally:
        lamina.set_num_threads(old)


def test_sequential_sweep_restores_the_thread_count_after_a_failing_trial():
    old = lamina.get_num_threads()
    try:
        lamina.set_num_threads(2)

        def trial(params):
            raise RuntimeError("boom")

        res = lamina.tune.search(trial, {"a": [1, 2]}, backend="sequential",
                                 threads_per_trial=1, metric="val_loss")
        assert [r["status"] for r in res] == ["failed", "failed"]
        assert lamina.get_num_threads() == 2
    finally:
        lamina.set_num_threads(old)


# ------------------------------------------------------------------ thread count ---------
@pytest.mark.parametrize("n", [100000, 2**31 - 1, lamina.runtime.MAX_THREADS + 1])
def test_set_num_threads_is_capped(n):
    old = lamina.get_num_threads()
    with pytest.raises(ValueError, match=str(n)):
        lamina.set_num_threads(n)
    assert lamina.get_num_threads() == old
    with pytest.raises(ValueError, match="num_threads"):
        _core.set_num_threads(n)
    assert lamina.get_num_threads() == old


def test_set_num_threads_accepts_the_cap_boundaries():
    old = lamina.get_num_threads()
    try:
        lamina.set_num_threads(1)
        assert lamina.get_num_threads() == 1
        lamina.set_num_threads(5)
        assert lamina.get_num_threads() == 5
    finally:
        lamina.set_num_threads(old)


def _import_with_env(value):
    env = {"LAMINA_NUM_THREADS": value, "PATH": "/usr/bin:/bin"}
    import os

    for k in ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS", "HOME", "LAMINA_ISA"):
        if k in os.environ:
            env[k] = os.environ[k]
    return subprocess.run([sys.executable, "-c", "import lamina; print(lamina.get_num_threads())"],
                          capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize("value", ["abc", "0", "-3", "100000", "2.5", "4x", " "])
def test_invalid_lamina_num_threads_warns(value):
    proc = _import_with_env(value)
    assert proc.returncode == 0, proc.stderr
    assert "LAMINA_NUM_THREADS" in proc.stderr and "RuntimeWarning" in proc.stderr
    assert int(proc.stdout.split()[-1]) == _core.usable_cores() or int(
        proc.stdout.split()[-1]) == min(_core.usable_cores(), lamina.runtime.MAX_THREADS)


@pytest.mark.parametrize("value,threads", [("3", 3), ("1", 1), ("", None)])
def test_valid_lamina_num_threads_is_silent(value, threads):
    proc = _import_with_env(value)
    assert proc.returncode == 0, proc.stderr
    assert "LAMINA_NUM_THREADS" not in proc.stderr
    if threads is not None:
        assert int(proc.stdout.split()[-1]) == threads
