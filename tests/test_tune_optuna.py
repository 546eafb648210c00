"""lamina.tune on Optuna: TPE, pruning every epoch, shared and resumed studies."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from lamina import tune

try:
    import optuna
except ImportError as exc:  # lamina[optuna]
    pytest.skip(f"optuna is needed: {exc}", allow_module_level=True)

from lamina.tune import optuna_strategy  # noqa: E402

# A small run on the bundled digits; trials take a fraction of a second.
RUN = {
    "data": {"max_samples": 300},
    "model": {
        "layers": [{"units": 16, "activation": "relu"}, {"units": 10, "activation": "softmax"}]
    },
    "training": {"epochs": 9, "batch_size": 32, "validation_split": 0.2},
}
SPACE = {
    "model.layers[0].units": [4, 8, 16, 32],
    "training.optimizer.learning_rate": tune.loguniform(1e-4, 3e-2),
}


def quadratic(params):
    return {"val_loss": [(params["x"] - 1.0) ** 2 + 1.0, (params["x"] - 1.0) ** 2]}


def test_distributions_map_onto_optunas():
    d = optuna.distributions
    cases = [
        ([1, 2, 3], d.CategoricalDistribution((1, 2, 3)), 2, 2),
        (tune.choice(["relu", "tanh"]), d.CategoricalDistribution(("relu", "tanh")), "tanh",
         "tanh"),
        (tune.uniform(0.0, 0.5), d.FloatDistribution(0.0, 0.5), 0.25, 0.25),
        (tune.loguniform(1e-4, 1e-2), d.FloatDistribution(1e-4, 1e-2, log=True), 1e-3, 1e-3),
        (tune.randint(8, 17), d.IntDistribution(8, 16), 9, 9),
        # lists and tables are chosen by index and come back as the values
        ([[16], [16, 16]], d.CategoricalDistribution((0, 1)), 1, [16, 16]),
    ]
    for values, want, optuna_value, run_value in cases:
        dist, decode = optuna_strategy.to_optuna("k", values)
        assert dist == want
        assert decode(optuna_value) == run_value


def test_tpe_search_on_a_callable_finds_the_minimum():
    res = tune.search(quadratic, {"x": tune.uniform(-4.0, 4.0)}, n_trials=25, strategy="tpe",
                      backend="sequential", seed=1)
    assert len(res) == 25 and all(r["status"] == "ok" for r in res)
    assert abs(res.best_params["x"] - 1.0) < 0.5
    again = tune.search(quadratic, {"x": tune.uniform(-4.0, 4.0)}, n_trials=25,
                        strategy="tpe", backend="sequential", seed=1)
    assert [r["x"] for r in again] == [r["x"] for r in res]  # seeded: reproducible


def test_grid_through_optuna_visits_every_point_once():
    res = tune.search(quadratic, {"x": [0.0, 1.0, 2.0, 3.0]}, strategy="grid",
                      storage=None, pruner="median", backend="sequential")
    assert sorted(r["x"] for r in res) == [0.0, 1.0, 2.0, 3.0]
    assert res.best_params == {"x": 1.0}


def test_hyperband_prunes_run_file_trials_and_reports_their_epochs():
    res = tune.search(RUN, SPACE, n_trials=10, strategy="tpe", pruner="hyperband",
                      backend="sequential", seed=0)
    assert len(res) == 10
    pruned = [r for r in res if r["status"] == "pruned"]
    ok = [r for r in res if r["status"] == "ok"]
    assert pruned and ok
    assert all(r["epochs"] == 9 for r in ok)
    assert all(1 <= r["epochs"] < 9 and "pruned after" in r["error"] for r in pruned)
    assert all(len(r["curves"]["val_loss"]) == r["epochs"] for r in res)
    assert res.best["status"] == "ok" and res.best_run is not None
    assert "pruned: pruned after" in tune.format_table(res)


def test_local_workers_share_a_temporary_study():
    res = tune.search(quadratic, {"x": tune.uniform(-4.0, 4.0)}, n_trials=6, strategy="tpe",
                      backend="loky", n_jobs=2)
    assert sorted(r["trial"] for r in res) == list(range(6))  # 6 in all, none twice
    assert os.getpid() not in {r["pid"] for r in res}  # ran in the workers


def test_bad_pruner_backend_and_metric_are_refused(tmp_path):
    with pytest.raises(ValueError, match="'asha'"):
        tune.search(quadratic, {"x": [1.0]}, pruner="asha", backend="sequential")
    with pytest.raises(ValueError, match="backend='dask'"):
        tune.search(quadratic, {"x": [1.0]}, strategy="tpe", backend="dask")
    with pytest.raises(ValueError, match="storage must be"):
        tune.search(quadratic, {"x": [1.0]}, strategy="tpe", storage="",
                    backend="sequential")
    # A storage that cannot be opened is a ValueError naming it (the CLI: one line, exit 2),
    # not sqlalchemy's exception and traceback.
    for bad in ("garbage://", f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}"):
        with pytest.raises(ValueError, match=r"storage '.*' cannot be opened"):
            tune.search(quadratic, {"x": [1.0]}, strategy="tpe", storage=bad,
                        backend="sequential")
    url = f"sqlite:///{tmp_path / 's.db'}"
    tune.search(quadratic, {"x": [1.0]}, strategy="tpe", storage=url, n_trials=1,
                backend="sequential")
    with pytest.raises(ValueError, match="ranks trials by 'val_loss'"):
        tune.search(lambda p: {"val_accuracy": [1.0]}, {"x": [1.0]}, strategy="tpe",
                    storage=url, metric="val_accuracy", backend="sequential")


def test_without_optuna_the_error_is_one_line_naming_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)
    with pytest.raises(ImportError, match=r"^strategy='tpe'.*lamina\[optuna\]'`$"):
        tune.search(quadratic, {"x": [1.0]}, strategy="tpe", backend="sequential")


# ---------------------------------------------------------------- processes and storage
def _files(tmp_path, epochs):
    run = dict(RUN, training=dict(RUN["training"], epochs=epochs))
    run_path = tmp_path / "run.json"
    run_path.write_text(json.dumps(run))
    space_path = tmp_path / "space.json"
    space_path.write_text(json.dumps({"model.layers[0].units": [4, 8, 16, 32],
                                      "training.optimizer.learning_rate":
                                          {"loguniform": [1e-4, 3e-2]}}))
    return [sys.executable, "-m", "lamina", "tune", str(run_path), str(space_path),
            "--backend", "sequential", "--storage", f"sqlite:///{tmp_path / 'study.db'}",
            "--study-name", "s"]


def _trials(tmp_path, polling=False):
    if polling and not (tmp_path / "study.db").exists():
        return []
    storage = optuna_strategy.open_storage(f"sqlite:///{tmp_path / 'study.db'}")
    try:
        return optuna.load_study(study_name="s", storage=storage).get_trials(deepcopy=False)
    except KeyError:  # not created yet
        return []
    except Exception:  # noqa: BLE001 - polling while the sweep writes: the database is busy
        if not polling:
            raise
        return []
    finally:
        optuna_strategy.close_storage(storage)


@pytest.mark.slow
def test_two_processes_finish_one_study_with_every_trial_once(tmp_path):
    # Trials long enough (~1 s) that neither process can finish the study alone before
    # the other has started, even on a loaded machine.
    cmd = _files(tmp_path, epochs=150) + ["--strategy", "tpe", "--n-trials", "10"]
    procs = [subprocess.Popen(cmd + ["--out", str(tmp_path / f"out{i}")],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    trials = _trials(tmp_path)
    S = optuna.trial.TrialState
    counted = [t for t in trials if not t.user_attrs.get("lamina_surplus")]
    assert len(counted) == 10 and all(t.state == S.COMPLETE for t in counted)
    assert len(trials) - len(counted) <= 1  # at most one surplus ask, told at once
    pids = {t.user_attrs["lamina_row"]["pid"] for t in counted}
    assert len(pids) == 2  # both processes trained trials
    params = [json.dumps(t.user_attrs["lamina_params"], sort_keys=True) for t in counted]
    assert len(set(params)) == 10  # no point trained twice
    # each process reports the trials finished when it ends (the last one: all, each once)
    tables = [(tmp_path / f"out{i}" / "results.csv").read_text().splitlines()
              for i in range(2)]
    assert max(len(t) for t in tables) == 1 + 10
    for table in tables:
        numbers = [int(line.split(",")[0]) for line in table[1:]]
        assert len(numbers) == len(set(numbers))


@pytest.mark.slow
def test_ctrl_c_then_resume_keeps_the_finished_trials(tmp_path):
    cmd = _files(tmp_path, epochs=150) + ["--strategy", "random", "--n-trials", "6"]
    # a runner started in the background (`cmd &`) passes on an ignored SIGINT
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    S = optuna.trial.TrialState
    deadline = time.monotonic() + 240
    try:
        while True:
            done = [t for t in _trials(tmp_path, polling=True) if t.state == S.COMPLETE]
            if len(done) >= 2:
                break
            assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130 and "resume" in err, (out, err)
    before = {t.number: t.user_attrs["lamina_params"] for t in _trials(tmp_path)
              if t.state == S.COMPLETE}
    assert 2 <= len(before) < 6
    again = subprocess.run(cmd + ["--out", str(tmp_path / "out")], capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    trials = _trials(tmp_path)
    finished = [t for t in trials if t.state == S.COMPLETE]
    assert len(finished) == 6  # not 6 more: the sweep resumed
    for number, params in before.items():  # the finished trials are kept, not rerun
        assert trials[number].user_attrs["lamina_params"] == params
    pids = [t.user_attrs["lamina_row"]["pid"] for t in finished]
    assert pids.count(pids[0]) == len(before) and len(set(pids)) == 2
    interrupted = [t for t in trials if t.user_attrs.get("lamina_interrupted")]
    assert len(interrupted) <= 1 and all(t.state == S.FAIL for t in interrupted)
    assert len(trials) == 6 + len(interrupted)  # nothing left RUNNING, nothing else failed
    rows = (tmp_path / "out" / "results.csv").read_text().splitlines()
    assert len(rows) == 1 + 6


def _study_trials(url):
    storage = optuna_strategy.open_storage(url)
    try:
        return optuna.load_study(study_name="lamina", storage=storage).get_trials()
    finally:
        optuna_strategy.close_storage(storage)


@pytest.mark.skipif(signal.getsignal(signal.SIGINT) is not signal.default_int_handler,
                    reason="the test runner owns SIGINT")
def test_ctrl_c_inside_a_storage_write_waits_for_it_and_stops_the_sweep(tmp_path, monkeypatch):
    # A Ctrl-C that arrives while Optuna writes a report to the database must not break the
    # write (a KeyboardInterrupt inside SQLAlchemy leaves the trial RUNNING, or is swallowed):
    # the write finishes, fit stops after its step, the trial is recorded as interrupted.
    url = f"sqlite:///{tmp_path / 'study.db'}"
    report = optuna.trial.Trial.report
    calls = []

    def report_with_ctrl_c(self, value, step):
        calls.append((self.number, step))
        if (self.number, step) == (1, 3):
            os.kill(os.getpid(), signal.SIGINT)  # the handler runs here, before the write
        report(self, value, step)

    monkeypatch.setattr(optuna.trial.Trial, "report", report_with_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        tune.search(RUN, SPACE, n_trials=4, strategy="random", pruner="median",
                    backend="sequential", storage=url)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    S = optuna.trial.TrialState
    trials = _study_trials(url)
    assert [t.state for t in trials] == [S.COMPLETE, S.FAIL]
    stopped = trials[1]
    assert stopped.user_attrs["lamina_interrupted"]
    assert sorted(stopped.intermediate_values) == [1, 2, 3]  # the write went through
    assert len(stopped.user_attrs["lamina_row"]["curves"]["val_loss"]) == 3  # stopped there


@pytest.mark.skipif(signal.getsignal(signal.SIGINT) is not signal.default_int_handler,
                    reason="the test runner owns SIGINT")
def test_ctrl_c_in_a_callable_trials_fit_stops_it_and_the_sweep(tmp_path):
    import lamina
    from lamina import layers

    url = f"sqlite:///{tmp_path / 'study.db'}"
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 3)), rng.normal(size=(64, 1))
    histories = []

    class CtrlC(lamina.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if len(histories) == 2 and epoch == 1:
                os.kill(os.getpid(), signal.SIGINT)

    def trial(params):
        model = lamina.Sequential([layers.Input((3,)), layers.Dense(1)])
        model.compile("sgd", "mse")
        history = model.fit(x, y, epochs=6, validation_split=0.25, verbose=0,
                            callbacks=[CtrlC()])
        histories.append(history)
        return history

    with pytest.raises(KeyboardInterrupt):
        tune.search(trial, {"x": tune.uniform(0.0, 1.0)}, n_trials=4, strategy="random",
                    backend="sequential", storage=url)
    assert [h.interrupted for h in histories] == [False, False, True]  # fit stopped cleanly
    assert len(histories[2].epoch) == 2
    S = optuna.trial.TrialState
    trials = _study_trials(url)
    assert [t.state for t in trials] == [S.COMPLETE, S.COMPLETE, S.FAIL]
    assert trials[2].user_attrs["lamina_interrupted"]
