"""Sweeps rank and retrain alike: best_run trains the best trial's best epoch count, so
retraining it reproduces the val_loss the sweep ranked it by."""

from __future__ import annotations

import pytest

from lamina import tune
from lamina.experiment import train_run
from lamina.runfile import load_run

# A run that overfits quickly (a high learning rate on few samples): its best val_loss
# comes well before its last epoch.
RUN = {
    "data": {"source": "digits", "max_samples": 400},
    "model": {"layers": [{"units": 32, "activation": "relu"},
                         {"units": 10, "activation": "softmax"}]},
    "training": {"epochs": 12, "batch_size": 16, "validation_split": 0.25,
                 "optimizer": {"name": "adam", "learning_rate": 0.02}},
    "outputs": {"model": False, "history": False, "plot": False},
}
SPACE = {"training.optimizer.learning_rate": [0.05, 0.02]}


def test_best_run_trains_the_best_epoch_and_reproduces_the_ranked_val_loss(tmp_path):
    res = tune.search(RUN, SPACE, backend="sequential")
    best = res.best
    assert best["best_epoch"] < best["epochs"] == 12  # the case the issue is about
    assert res.retrain_epochs == best["best_epoch"]
    assert res.best_run["training"]["epochs"] == best["best_epoch"]
    assert res.best_params == {k: best[k] for k in SPACE}  # the point itself is unchanged
    written = tune.write_outputs(res, tmp_path)
    again = train_run(load_run(tmp_path / "best_run.toml"), out_dir=None, verbose=False)
    val = again.history.history["val_loss"]
    assert len(val) == best["best_epoch"]
    assert val[-1] == pytest.approx(best["val_loss"], rel=1e-6)
    assert tmp_path / "best_run.toml" in written
    table = tune.format_table(res)
    assert (f"best_run trains {best['best_epoch']} epochs: trial {best['trial']}'s best "
            f"val_loss epoch (it trained 12)") in table


def test_a_metric_without_a_value_per_epoch_keeps_the_run_epochs():
    res = tune.search(RUN, {"training.optimizer.learning_rate": [0.02]}, metric="test_loss",
                      backend="sequential")
    assert res.retrain_epochs is None
    assert res.best_run["training"]["epochs"] == 12
    assert "best_run trains the run's 12 epochs (test_loss has no value per epoch" in (
        tune.format_table(res))


def test_optuna_sweeps_retrain_the_best_epoch_too():
    pytest.importorskip("optuna")
    res = tune.search(RUN, {"training.optimizer.learning_rate": tune.loguniform(0.01, 0.05)},
                      n_trials=2, strategy="tpe", backend="sequential")
    assert res.best_run["training"]["epochs"] == res.best["best_epoch"] == res.retrain_epochs
