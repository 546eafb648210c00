"""lamina.tune: spaces, key paths, ranking, failures, and the joblib / Dask / Ray backends."""

from __future__ import annotations

import json
import math
import os

import pytest

import lamina
from lamina import tune

# ---------------------------------------------------------------- trial functions
# Module-level so that loky, Dask and Ray workers can import them.


def quadratic_trial(params):
    """A cheap deterministic trial: val_loss is minimal at x = 2; x = 3 fails."""
    x, y = params["x"], params["y"]
    if x == 3:
        raise RuntimeError(f"bad combination x={x}")
    import lamina

    return {
        "loss": [10.0, 5.0, 1.0 + y],
        "val_loss": [9.0, (x - 2) ** 2 + y + 0.5, (x - 2) ** 2 + y],
        "num_threads": lamina.get_num_threads(),
    }


def crashing_trial(params):
    """quadratic_trial, except that x = 1 kills the (worker) process, as a native crash would."""
    if params["x"] == 1:
        import signal

        os.kill(os.getpid(), signal.SIGKILL)
    return quadratic_trial(params)


# A small run (as `lamina train` reads it): 300 digits, 3 epochs, seconds per trial.
RUN = {
    "data": {"max_samples": 300},
    "model": {
        "layers": [{"units": 16, "activation": "relu"}, {"units": 10, "activation": "softmax"}]
    },
    "training": {"epochs": 3, "batch_size": 32, "validation_split": 0.2},
}
RUN_SPACE = {"model.layers[0].units": [8, 16, 32], "training.optimizer.learning_rate": [1e-3, 1e-2]}


GRID = {"x": [0, 1, 2, 3], "y": [0.0, 1.0]}


def _table(result):
    """A search result without what legitimately differs between backends."""
    drop = {"seconds", "pid", "host", "traceback", "threads"}
    return [{k: v for k, v in row.items() if k not in drop} for row in result]


# ---------------------------------------------------------------- spaces and key paths
def test_grid_visits_every_combination_in_order():
    points = tune.sample_space({"a": [1, 2], "b": ["x", "y", "z"]})
    assert points == [{"a": a, "b": b} for a in (1, 2) for b in ("x", "y", "z")]
    assert tune.sample_space({"a": [1, 2], "b": [3]}, n_trials=1) == [{"a": 1, "b": 3}]


def test_random_draws_are_reproducible_and_in_range():
    space = {
        "lr": tune.loguniform(1e-4, 1e-1),
        "drop": tune.uniform(0.0, 0.5),
        "units": tune.randint(8, 17),
        "act": tune.choice(["relu", "tanh"]),
        "bs": [16, 32],
    }
    a = tune.sample_space(space, "random", n_trials=50, seed=3)
    assert a == tune.sample_space(space, "random", n_trials=50, seed=3)
    assert a != tune.sample_space(space, "random", n_trials=50, seed=4)
    assert len(a) == 50
    for p in a:
        assert 1e-4 <= p["lr"] < 1e-1 and 0.0 <= p["drop"] < 0.5
        assert 8 <= p["units"] < 17 and isinstance(p["units"], int)
        assert p["act"] in ("relu", "tanh") and p["bs"] in (16, 32)
    # loguniform spreads over the decades
    assert min(math.log10(p["lr"]) for p in a) < -3 < max(math.log10(p["lr"]) for p in a)
    assert len(tune.sample_space({"a": [1]}, "random")) == 10


@pytest.mark.parametrize(
    "space, strategy, match",
    [
        ({}, "grid", "non-empty"),
        ({"a": []}, "grid", "empty"),
        ({"a": "relu"}, "grid", "list of values or a distribution"),
        ({"a": tune.uniform(0, 1)}, "grid", "distribution"),
        ({"a": [1]}, "bayes", "'bayes'"),
        ({"a[": [1]}, "grid", "bad key path"),
        ({"a": {"normal": [0, 1]}}, "grid", "normal"),
    ],
)
def test_bad_spaces_are_rejected(space, strategy, match):
    with pytest.raises(ValueError, match=match):
        tune.sample_space(space, strategy)


@pytest.mark.parametrize(
    "make, args",
    [
        (tune.uniform, (1, 1)),
        (tune.loguniform, (0, 1)),
        (tune.randint, (3, 3)),
        (tune.choice, ([],)),
    ],
)
def test_bad_distributions_are_rejected(make, args):
    with pytest.raises(ValueError):
        make(*args)


def test_space_from_file_accepts_quoted_paths_tables_and_distributions(tmp_path):
    path = tmp_path / "space.toml"
    path.write_text(
        '"model.layers[0].units" = [32, 64]\n'
        "[training.optimizer]\n"
        "learning_rate = {loguniform = [1e-4, 1e-2]}\n"
        'name = ["adam", "sgd"]\n'
    )
    space = tune.load_space(path)
    assert space == {
        "model.layers[0].units": [32, 64],
        "training.optimizer.learning_rate": tune.loguniform(1e-4, 1e-2),
        "training.optimizer.name": ["adam", "sgd"],
    }
    (tmp_path / "space.json").write_text(json.dumps({"a.b": {"choice": [1, 2]}}))
    assert tune.load_space(tmp_path / "space.json") == {"a.b": tune.choice([1, 2])}


# ---------------------------------------------------------------- ranking and failures
def test_sequential_search_ranks_by_best_epoch_and_reports_failures():
    res = tune.search(quadratic_trial, GRID, backend="sequential")
    assert len(res) == 8
    ok = [r for r in res if r["status"] == "ok"]
    failed = [r for r in res if r["status"] == "failed"]
    assert len(ok) == 6 and len(failed) == 2
    assert res[-2:] == failed  # failed trials last
    assert [r["val_loss"] for r in ok] == sorted(r["val_loss"] for r in ok)
    assert res.best_params == {"x": 2, "y": 0.0} and res.best["val_loss"] == 0.0
    assert res.best["best_epoch"] == 3 and res.best["epochs"] == 3
    assert res.best["final_loss"] == 1.0
    for r in failed:
        assert r["x"] == 3 and r["val_loss"] is None
        assert r["error"] == "RuntimeError: bad combination x=3"
        assert "quadratic_trial" in r["traceback"]
    assert res.best["pid"] == os.getpid()
    assert res.best_run is None  # a callable run has no run dict
    text = tune.format_table(res)
    assert "trial 6 failed: RuntimeError: bad combination x=3" in text
    assert "best: trial 4 (val_loss=0): x=2, y=0.0" in text


def test_nan_metric_and_missing_metric_are_failures():
    def trial(p):
        return {"val_loss": [1.0, float("nan")]} if p["a"] == 1 else {"loss": [p["a"]]}

    res = tune.search(trial, {"a": [1, 2]}, backend="sequential")
    assert [r["status"] for r in res] == ["failed", "failed"]
    assert res[0]["error"] == "val_loss is nan at epoch 2"
    assert "reported no 'val_loss' (it reported: loss)" in res[1]["error"]
    assert res.best is None and res.best_params is None


def test_metric_mode_maximizes_accuracy():
    res = tune.search(
        lambda p: {"val_accuracy": [p["a"]]},
        {"a": [0.5, 0.9, 0.7]},
        metric="val_accuracy",
        backend="sequential",
    )
    assert [r["a"] for r in res] == [0.9, 0.7, 0.5] and res.mode == "max"


def test_bad_search_arguments():
    with pytest.raises(ValueError, match="backend"):
        tune.search(quadratic_trial, GRID, backend="spark")
    with pytest.raises(ValueError, match="n_jobs"):
        tune.search(quadratic_trial, GRID, n_jobs=0)
    with pytest.raises(ValueError, match="threads_per_trial"):
        tune.search(quadratic_trial, GRID, threads_per_trial=0)
    with pytest.raises(TypeError, match="run must be"):
        tune.search(42, GRID)
    with pytest.raises(ValueError, match="run file not found: 'nope.toml'"):
        tune.search("nope.toml", GRID)
    with pytest.raises(ValueError, match="space"):
        tune.search(quadratic_trial, {})


def test_dask_without_a_client_says_how_to_get_one():
    pytest.importorskip("distributed")
    pytest.importorskip("joblib")
    with pytest.raises(RuntimeError, match="distributed.Client"):
        tune.search(quadratic_trial, GRID, backend="dask")


def test_dataframe_when_pandas_is_installed():
    pd = pytest.importorskip("pandas")
    res = tune.search(quadratic_trial, GRID, backend="sequential")
    assert isinstance(res.df, pd.DataFrame)
    assert list(res.df["trial"]) == [r["trial"] for r in res]
    assert "curves" not in res.df.columns


def test_write_outputs(tmp_path):
    res = tune.search(quadratic_trial, GRID, backend="sequential")
    paths = tune.write_outputs(res, tmp_path / "out")
    assert [p.name for p in paths] == ["results.csv", "curves.json"]
    lines = (tmp_path / "out" / "results.csv").read_text().splitlines()
    assert len(lines) == 9 and lines[0].startswith("trial,status,val_loss,x,y")
    curves = json.loads((tmp_path / "out" / "curves.json").read_text())
    assert curves["4"]["val_loss"] == [9.0, 0.5, 0.0]


# ---------------------------------------------------------------- parallel backends
@pytest.mark.slow
def test_loky_gives_the_same_table_as_sequential():
    pytest.importorskip("joblib")
    seq = tune.search(quadratic_trial, GRID, backend="sequential", threads_per_trial=1)
    par = tune.search(quadratic_trial, GRID, backend="loky", n_jobs=2)
    assert _table(par) == _table(seq)
    # several trials at once: each pinned to its worker's share of the cores (cores // 2,
    # at least 1), in worker processes
    share = lamina.runtime.thread_share(2)
    assert {r["threads"] for r in par} == {share}
    assert {r["curves"]["num_threads"][0] for r in par if r["status"] == "ok"} == {float(share)}
    assert os.getpid() not in {r["pid"] for r in par}


@pytest.mark.slow
def test_a_trial_that_kills_its_loky_worker_is_a_failed_row():
    pytest.importorskip("joblib")
    seq = tune.search(quadratic_trial, GRID, backend="sequential", threads_per_trial=1)
    par = tune.search(crashing_trial, GRID, backend="loky", n_jobs=2)
    assert len(par) == len(seq)
    by_params = {(r["x"], r["y"]): r for r in par}
    for r in seq:
        got = by_params[(r["x"], r["y"])]
        if r["x"] == 1:
            assert got["status"] == "failed"
            assert "worker process running this trial died" in got["error"], got["error"]
            assert "SIGKILL" in got["error"], got["error"]
        else:  # every other trial, finished before or after the crash, is as in sequential
            assert _table([got]) == _table([r])


@pytest.mark.slow
def test_random_search_is_reproducible_across_backends():
    pytest.importorskip("joblib")
    space = {"x": tune.randint(0, 3), "y": tune.uniform(0.0, 1.0)}
    seq = tune.search(
        quadratic_trial,
        space,
        strategy="random",
        n_trials=5,
        seed=11,
        backend="sequential",
        threads_per_trial=1,
    )
    par = tune.search(
        quadratic_trial, space, strategy="random", n_trials=5, seed=11, backend="loky", n_jobs=2
    )
    assert _table(par) == _table(seq)


def _has_lamina_fit():
    import lamina

    return hasattr(lamina, "Sequential")


needs_fit = pytest.mark.skipif(not _has_lamina_fit(), reason="lamina.Sequential has not landed yet")


@needs_fit
def test_run_file_trials_train_with_lamina_train_code(tmp_path):
    space = {"model.layers[0].units": [8, 32], "model.layers[0].dropout": [0.1, 1.5]}
    res = tune.search(RUN, space, backend="sequential")
    assert [r["status"] for r in res] == ["ok", "ok", "failed", "failed"]
    for r in res[:2]:
        assert r["epochs"] == 3 and r["best_epoch"] in (1, 2, 3)
        assert set(r["curves"]) >= {"loss", "val_loss", "accuracy", "val_accuracy", "test_accuracy"}
        assert r["val_loss"] == min(r["curves"]["val_loss"])
    assert "model.layers[0].dropout" in res[2]["error"] and "RunFileError" in res[2]["error"]
    # the best run is a resolved run file that lamina train takes as is
    best = res.best_run
    assert best["model"]["layers"][0]["units"] == res.best_params["model.layers[0].units"]
    path = res.write_best(tmp_path / "best.toml")
    from lamina.runfile import load_run

    assert load_run(path)["model"] == best["model"]


@needs_fit
def test_diverging_run_is_a_failed_trial():
    run = {**RUN, "training": {**RUN["training"], "optimizer": {"name": "sgd"}}}
    res = tune.search(run, {"training.optimizer.learning_rate": [0.01, 1e12]}, backend="sequential")
    assert [r["status"] for r in res] == ["ok", "failed"]
    assert res[1]["error"].startswith("val_loss is ") and "at epoch" in res[1]["error"]


@needs_fit
def test_cli_tune_writes_the_table_and_the_best_run(tmp_path, capsys):
    from lamina.cli import main

    (tmp_path / "run.json").write_text(json.dumps(RUN))
    (tmp_path / "space.toml").write_text('"model.layers[0].units" = [8, 16]\n')
    rc = main(
        [
            "tune",
            str(tmp_path / "run.json"),
            str(tmp_path / "space.toml"),
            "--backend",
            "sequential",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0 and "best: trial" in out and "model.layers[0].units" in out
    assert {p.name for p in (tmp_path / "out").iterdir()} == {
        "results.csv",
        "curves.json",
        "best_run.toml",
    }
    rc = main(["tune", str(tmp_path / "run.json"), str(tmp_path / "nope.toml")])
    assert rc == 2 and "space file not found" in capsys.readouterr().err


@needs_fit
def test_example_space_sweeps_the_example_run():
    from lamina.examples import HERE as examples  # the run files bundled in the package

    space = tune.load_space(examples / "sweeps" / "adam_space.toml")
    assert space["training.optimizer.learning_rate"] == tune.loguniform(1e-4, 1e-2)
    space.update({"training.epochs": [2], "data.max_samples": [300]})  # keep the test short
    res = tune.search(
        examples / "adam.toml", space, strategy="random", n_trials=2, backend="sequential"
    )
    assert [r["status"] for r in res] == ["ok", "ok"] and res.best_run["name"] == "adam"


@pytest.mark.slow
@needs_fit
def test_run_file_sweep_is_the_same_on_loky():
    pytest.importorskip("joblib")
    seq = tune.search(RUN, RUN_SPACE, backend="sequential", threads_per_trial=1)
    par = tune.search(RUN, RUN_SPACE, backend="loky", n_jobs=2)
    assert _table(par) == _table(seq)


@pytest.mark.slow
@needs_fit
def test_dask_local_cluster_runs_trials_on_worker_processes():
    distributed = pytest.importorskip("distributed")
    seq = tune.search(RUN, RUN_SPACE, backend="sequential", threads_per_trial=1)
    failing = {"model.layers[0].units": [8], "model.layers[0].dropout": [0.2, 1.5]}
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        worker_pids = set(client.run(os.getpid).values())
        res = tune.search(RUN, RUN_SPACE, backend="dask")  # the active client
        by_address = tune.search(RUN, failing, backend="dask", scheduler=cluster.scheduler_address)
    assert len(res) == 6 and all(r["status"] == "ok" for r in res)
    pids = {r["pid"] for r in res}
    assert pids <= worker_pids and os.getpid() not in pids  # ran in the worker processes
    assert {r["threads"] for r in res} == {1}
    assert _table(res) == _table(seq)  # bit-identical curves, same ranking
    assert [r["status"] for r in by_address] == ["ok", "failed"]
    assert "model.layers[0].dropout" in by_address[1]["error"]
    assert by_address[1]["pid"] in worker_pids


@pytest.mark.slow
def test_ray_runs_trials_on_worker_processes():
    ray = pytest.importorskip("ray")
    pytest.importorskip("ray.util.joblib")
    seq = tune.search(quadratic_trial, GRID, backend="sequential", threads_per_trial=1)
    # Ray workers import this module by name: give them the tests folder.
    env = {
        "PYTHONPATH": os.pathsep.join([os.path.dirname(__file__), os.environ.get("PYTHONPATH", "")])
    }
    ray.init(
        num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": env}
    )
    try:
        res = tune.search(quadratic_trial, GRID, backend="ray")
    finally:
        ray.shutdown()
    assert _table(res) == _table(seq)
    assert os.getpid() not in {r["pid"] for r in res}
    assert {r["threads"] for r in res} == {1}
