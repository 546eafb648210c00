"""How `lamina tune` prunes: the best value so far is reported (what trials are ranked by),
the last epoch is never pruned, and Hyperband's largest resource is the run's epochs."""

from __future__ import annotations

import pytest

from lamina import tune
from lamina.tune import optuna_strategy

optuna = pytest.importorskip("optuna")


class _Trial:
    """The two methods of optuna.Trial the callback uses; prunes whenever asked."""

    def __init__(self):
        self.reports = []

    def report(self, value, step):
        self.reports.append((step, value))

    def should_prune(self):
        return True


def test_reports_the_best_value_so_far_with_a_mode():
    trial = _Trial()
    cb = tune.PruningCallback(trial, "val_loss", mode="min")
    cb.set_params({"epochs": 10})
    cb.trial.should_prune = lambda: False
    for epoch, v in enumerate([0.5, 0.7, 0.4, 0.6]):
        cb.on_epoch_end(epoch, {"val_loss": v})
    assert trial.reports == [(1, 0.5), (2, 0.5), (3, 0.4), (4, 0.4)]
    trial = _Trial()
    cb = tune.PruningCallback(trial, "val_accuracy", mode="max")
    cb.trial.should_prune = lambda: False
    for epoch, v in enumerate([0.5, 0.4]):
        cb.on_epoch_end(epoch, {"val_accuracy": v})
    assert trial.reports == [(1, 0.5), (2, 0.5)]
    trial = _Trial()  # no mode: each epoch's own value, as Keras's callback reports
    cb = tune.PruningCallback(trial, "val_loss")
    cb.trial.should_prune = lambda: False
    for epoch, v in enumerate([0.5, 0.7]):
        cb.on_epoch_end(epoch, {"val_loss": v})
    assert trial.reports == [(1, 0.5), (2, 0.7)]
    with pytest.raises(ValueError, match="'median'"):
        tune.PruningCallback(trial, mode="median")


def test_the_last_epoch_is_reported_but_never_pruned():
    trial = _Trial()
    cb = tune.PruningCallback(trial, "val_loss", mode="min")
    cb.set_params({"epochs": 3, "steps": 5, "verbose": 0})
    for epoch in (0, 1):
        with pytest.raises(optuna.TrialPruned, match=f"after {epoch + 1} epochs"):
            cb.on_epoch_end(epoch, {"val_loss": 0.5})
    cb.on_epoch_end(2, {"val_loss": 0.4})  # the last one: no TrialPruned
    assert trial.reports == [(1, 0.5), (2, 0.5), (3, 0.4)]


def test_hyperband_spans_the_run_epochs():
    run = {"data": {"source": "digits"}, "training": {"epochs": 27}}
    assert optuna_strategy._max_epochs(run, {"training.batch_size": [16]}) == 27
    assert optuna_strategy._max_epochs(run, {"training.epochs": [9, 27]}) is None
    assert optuna_strategy._max_epochs(lambda p: {}, {}) is None
    pruner = optuna_strategy._pruner(optuna, "hyperband", 27)
    assert pruner._max_resource == 27
    assert optuna_strategy._pruner(optuna, "hyperband")._max_resource == "auto"


RUN = {
    "data": {"source": "digits", "max_samples": 300},
    "model": {"layers": [{"units": 16, "activation": "relu"},
                         {"units": 10, "activation": "softmax"}]},
    "training": {"epochs": 9, "batch_size": 32, "validation_split": 0.25},
    "outputs": {"model": False, "history": False, "plot": False},
}


def test_a_pruned_sweep_keeps_every_trial_that_trained_to_the_end():
    res = tune.search(RUN, {"training.optimizer.learning_rate": tune.loguniform(1e-4, 0.3)},
                      n_trials=8, strategy="tpe", pruner="hyperband", backend="sequential")
    assert len(res) == 8 and {r["status"] for r in res} <= {"ok", "pruned"}
    # a trial that trained all 9 epochs is a finished trial (rung 9 is the last epoch)
    assert all(r["status"] == "ok" for r in res if r["epochs"] == 9)
    assert all(r["epochs"] < 9 for r in res if r["status"] == "pruned")


def test_each_trial_samples_from_its_own_seed_stream():
    seeds = {optuna_strategy.trial_seed(s, k) for s in range(5) for k in range(24)}
    assert len(seeds) == 5 * 24  # no (seed, trial) pair shares its sampler's seed
    assert optuna_strategy.trial_seed(3, 7) == optuna_strategy.trial_seed(3, 7)
    assert all(0 <= s < 2**32 for s in seeds)

    def points(seed, strategy):
        res = tune.search(lambda p: {"val_loss": [p["x"] ** 2]}, {"x": tune.uniform(-1, 1)},
                          n_trials=12, strategy=strategy, pruner="median", seed=seed,
                          backend="sequential")
        return [r["x"] for r in sorted(res, key=lambda r: r["trial"])]

    for strategy in ("tpe", "random"):
        a, b = points(0, strategy), points(1, strategy)
        assert a == points(0, strategy)  # reproducible
        # neighbouring seeds draw different points (with seed + trial number, trial k of
        # seed 1 drew trial k + 1 of seed 0's point)
        assert not set(a) & set(b)


def test_tpe_is_multivariate_with_the_constant_liar_on_every_optuna():
    sampler = optuna_strategy.tpe_sampler(optuna, seed=0)  # no ExperimentalWarning either
    assert isinstance(sampler, optuna.samplers.TPESampler)
    assert sampler._multivariate is True and sampler._constant_liar is True
    assert isinstance(optuna_strategy._sampler(optuna, "tpe", 0, None),
                      optuna.samplers.TPESampler)
