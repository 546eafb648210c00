"""fork() and interpreter exit: a forked child trains, predicts, changes threads and exits;
a daemon thread inside the core at interpreter exit does not abort the process.

Every case runs in a subprocess under a timeout, so a hang fails the test instead of the
suite (the bug these guard against was a child that hangs at exit or on its first kernel).
"""

import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

TIMEOUT = 240  # generous: CI and the sanitizer job run on 2 shared cores

PRELUDE = textwrap.dedent("""
    import os, sys, threading, multiprocessing as mp
    import numpy as np
    import lamina

    lamina.set_num_threads(2)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 16)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")

    def make():
        m = lamina.Sequential([lamina.Input((16,)),
                               lamina.layers.Dense(32, activation="relu"),
                               lamina.layers.Dense(2, activation="softmax")], seed=0)
        m.compile("adam", "sparse_categorical_crossentropy")
        return m
""")

MATRIX = PRELUDE + textwrap.dedent("""
    case, how = sys.argv[1], sys.argv[2]
    model = make()
    stop = threading.Event()
    if case == "after_train":
        model.fit(x, y, epochs=2, batch_size=32, verbose=0)
    elif case == "after_predict":
        model.predict(x, verbose=0)
    elif case == "after_set_num_threads":
        model.predict(x, verbose=0)
        lamina.set_num_threads(3)
        model.predict(x, verbose=0)
    elif case == "while_training":
        busy = threading.Event()

        def loop():
            while not stop.is_set():
                model.fit(x, y, epochs=1, batch_size=8, verbose=0)
                busy.set()

        threading.Thread(target=loop, daemon=True).start()
        assert busy.wait(120)
    before = lamina.get_num_threads()

    def child():
        assert lamina.get_num_threads() == before  # a fresh pool of the parent's size
        # The parent's model (maybe mid-fit in another thread at the fork) and a new one.
        for m in (model, make()):
            m.fit(x, y, epochs=1, batch_size=32, verbose=0)
            p = m.predict(x, verbose=0)
            assert p.shape == (256, 2) and np.isfinite(p).all()
        lamina.set_num_threads(3)
        assert lamina.get_num_threads() == 3
        make().fit(x, y, epochs=1, batch_size=32, verbose=0)

    if how == "os.fork":
        pid = os.fork()
        if pid == 0:  # the child leaves through a normal interpreter exit (atexit, finalize)
            try:
                child()
            except BaseException:
                import traceback
                traceback.print_exc()
                sys.exit(1)
            sys.exit(0)
        rc = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    else:
        p = mp.get_context("fork").Process(target=child)
        p.start()
        p.join()
        rc = p.exitcode
    stop.set()
    # The parent still works after the fork.
    make().fit(x, y, epochs=1, batch_size=32, verbose=0)
    print("child exit", rc)
    sys.exit(rc)
""")


def _run(script, *args):
    proc = subprocess.run([sys.executable, "-c", script, *args], capture_output=True,
                          text=True, timeout=TIMEOUT)
    return proc


@pytest.mark.parametrize("how", ["os.fork", "multiprocessing"])
@pytest.mark.parametrize("case", ["after_train", "after_predict", "after_set_num_threads",
                                  "while_training"])
def test_fork_child_trains_predicts_and_exits(case, how):
    proc = _run(MATRIX, case, how)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "child exit 0" in proc.stdout


def test_fork_in_a_pool_of_workers():
    # multiprocessing.Pool with the fork start method: several children at once, each using
    # the parent's trained model (what scikit-learn/joblib users do on Linux).
    script = PRELUDE + textwrap.dedent("""
        model = make()
        model.fit(x, y, epochs=1, batch_size=32, verbose=0)
        want = model.predict(x, verbose=0)

        def work(i):
            got = model.predict(x, verbose=0)
            m = make()
            m.fit(x, y, epochs=1, batch_size=32, verbose=0)
            return bool(np.array_equal(got, want))

        with mp.get_context("fork").Pool(3) as pool:
            assert pool.map(work, range(6)) == [True] * 6
        print("ok")
    """)
    proc = _run(script)
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stdout + proc.stderr


@pytest.mark.parametrize("where", ["fit", "predict", "set_num_threads"])
def test_daemon_thread_inside_the_core_at_exit(where):
    # The main thread exits while a daemon thread is inside the core: no "terminate called
    # without an active exception" (rc 134), no SIGSEGV from the daemon thread dropping Python
    # references after CPython ended it in the GIL re-acquire (rc -11 on 3.13, about 1 exit
    # in 4 before the fix), no hang.
    script = PRELUDE + textwrap.dedent(f"""
        import time
        x = rng.normal(size=(2048, 16)).astype("float32")
        y = (x[:, 0] > 0).astype("int64")
        model = make()
        started = threading.Event()

        def loop():
            n = 1
            while True:
                if "{where}" == "fit":
                    model.fit(x, y, epochs=1, batch_size=2048, verbose=0)
                elif "{where}" == "predict":
                    model.predict(x, verbose=0)
                else:
                    n = 3 - n
                    lamina.set_num_threads(n + 1)
                    model.predict(x[:64], verbose=0)
                started.set()

        for _ in range(2):
            threading.Thread(target=loop, daemon=True).start()
        assert started.wait(120)
        time.sleep(0.2)
        print("exiting")
    """)
    for _ in range(4):  # the race is at a random point of a step: try a few exits
        proc = _run(script)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "terminate called" not in proc.stderr
