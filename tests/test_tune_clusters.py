"""Sweeps on Dask and Ray where a trial kills its worker process: that trial becomes a failed
row and every other trial is kept (as on loky), and the sweep ends."""

import textwrap

import pytest

from lamina import tune

# Defined in a "__main__" namespace so that cloudpickle ships the function by value: the
# workers need not import this test module.
_ns = {"__name__": "__main__"}
exec(textwrap.dedent("""
    def crash_on_one(params):
        import os
        import signal

        if params["x"] == 1:
            os.kill(os.getpid(), signal.SIGKILL)  # as a crash in native code would
        return {"val_loss": [float(params["x"]), float(params["x"]) / 2]}
"""), _ns)
crash_on_one = _ns["crash_on_one"]
SPACE = {"x": [0, 1, 2, 3]}


def _check(res):
    by_x = {r["x"]: r for r in res}
    assert sorted(by_x) == [0, 1, 2, 3]
    assert by_x[1]["status"] == "failed"
    assert "worker process running this trial died" in by_x[1]["error"]
    for x in (0, 2, 3):
        assert by_x[x]["status"] == "ok", by_x[x]
        assert by_x[x]["curves"]["val_loss"] == [float(x), x / 2]
    assert res.best["x"] == 0


@pytest.mark.slow
def test_a_trial_that_kills_its_dask_worker_is_a_failed_row():
    distributed = pytest.importorskip("distributed")
    import dask

    # Give up on a trial after its first dead worker (the default retries it 3 times).
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      host="127.0.0.1", dashboard_address=None,
                                      memory_limit="1GiB") as cluster, \
                distributed.Client(cluster, timeout=60):
            _check(tune.search(crash_on_one, SPACE, backend="dask", metric="val_loss"))
            # The cluster still runs sweeps afterwards.
            again = tune.search(crash_on_one, {"x": [0, 2]}, backend="dask",
                                metric="val_loss")
            assert [r["status"] for r in again] == ["ok", "ok"]


@pytest.mark.slow
def test_a_trial_that_kills_its_ray_worker_is_a_failed_row():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             object_store_memory=80 * 2**20)
    try:
        _check(tune.search(crash_on_one, SPACE, backend="ray", metric="val_loss"))
    finally:
        ray.shutdown()
