"""Hyperparameter sweeps over run files: grid or random search on joblib, Dask or Ray, and
Optuna's TPE sampler and pruners, in a study that processes and machines share
(`optuna_strategy`).

A sweep starts from one run (the file ``lamina train`` reads, or its dict) and a *space*
that maps run-file key paths to the values to try::

    space = {
        "model.layers[0].units": [32, 64, 128],  # a list: every value
        "training.optimizer.learning_rate": tune.loguniform(1e-4, 1e-2),  # a distribution
    }

Each trial applies one point of the space to the run exactly as ``lamina train --set
key=value`` does, trains it with the same code ``lamina train`` runs
(``lamina.experiment.train_run``), and reports its learning curves (plus its test metrics as
``test_*``). ``run`` may also be any callable ``f(params) -> dict of per-epoch lists``.

Trials run through joblib: in this process (``backend="sequential"``), in local processes
(``"loky"``, the default), on the Dask cluster of the active ``distributed.Client`` or of
``scheduler="tcp://…"`` (``"dask"``), or on Ray (``"ray"``, through Ray's joblib backend).
Each trial pins lamina's core to its thread share (when several trials run at once: a local
worker gets ``cores // n_jobs`` threads, at least 1; a Dask or Ray task slot gets 1), so
workers never oversubscribe the CPU.
A trial that fails (bad combination, NaN loss) is reported with its error and never stops
the sweep; on loky, neither does a trial that kills its worker process (a native crash, the
OOM killer): the trials left then run one at a time and that one becomes a failed row.

The package: `space` (distributions, sampling, space files), `trials` (one trial, anywhere),
`backends` (joblib, Dask, Ray), `results` (ranking, the table, the output files),
`tensorboard` (the sweep for TensorBoard's HParams dashboard: ``write_tensorboard``),
`optuna_strategy` (TPE, pruning, shared storage).

The result is a list of dicts sorted by the metric (best first; failed trials last) that
also carries ``.best_run`` (the winning run dict, ready for ``lamina train``) and ``.df``
(a pandas DataFrame when pandas is installed).

Example:
    >>> from lamina import tune
    >>> def trial(params):  # any callable taking the point of the space works too
    ...     return {"val_loss": [(params["x"] - 2) ** 2]}
    >>> res = tune.search(trial, {"x": [0, 1, 2, 3]}, backend="sequential")
    >>> res[0]["x"], res.best_params
    (2, {'x': 2})
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from .backends import run_parallel
from .optuna_strategy import PRUNERS, PruningCallback, search_optuna, uses_optuna
from .results import SearchResult, format_table, metric_mode, rank, write_outputs
from .space import (Distribution, choice, load_space, loguniform, normalize_space, randint,
                    sample_space, uniform)
from .tensorboard import write_tensorboard
from .trials import check_space_keys, load_base_run, resolve_trial_run, run_trial

__all__ = [
    "Distribution",
    "PruningCallback",
    "SearchResult",
    "choice",
    "format_table",
    "load_space",
    "loguniform",
    "randint",
    "resolve_trial_run",
    "sample_space",
    "search",
    "uniform",
    "write_outputs",
    "write_tensorboard",
]

BACKENDS = ("sequential", "loky", "threading", "multiprocessing", "dask", "ray")


def search(
    run,
    space: Mapping,
    n_trials: int | None = None,
    strategy: str = "grid",
    metric: str = "val_loss",
    backend: str = "loky",
    n_jobs: int = -1,
    seed: int = 0,
    threads_per_trial: int | None = None,
    scheduler: str | None = None,
    mode: str = "auto",
    verbose: int = 0,
    pruner: str = "none",
    storage: str | None = None,
    study_name: str | None = None,
) -> SearchResult:
    """Trains one model per point of ``space`` and ranks them by ``metric``.

    Args:
        run: The base run: a run-file path (TOML/JSON), its dict, or a callable
            ``f(params) -> dict of per-epoch lists (or a History)`` for custom trials.
        space: Key path (``"model.layers[0].units"``) -> list of values, or a distribution
            (``uniform``, ``loguniform``, ``choice``, ``randint``), or in file form
            ``{"loguniform": [1e-4, 1e-2]}``.
        n_trials: Grid: at most this many points; random: the number of draws (10 when
            None); on Optuna (TPE, a pruner or a storage): the finished trials the study
            should hold, counting those already in ``storage``. Defaults to `None`.
        strategy: "grid", "random" or "tpe" (Optuna's TPE sampler; needs
            ``lamina[optuna]``). Defaults to `"grid"`.
        metric: The history key that ranks trials; its best value over the epochs
            counts. Defaults to `"val_loss"`.
        backend: "sequential" (this process), "loky" (local processes), "threading",
            "multiprocessing", "dask" (the active ``distributed.Client``, or
            ``scheduler``) or "ray" (Ray's joblib backend). Defaults to `"loky"`.
        n_jobs: Trials run at once (joblib meaning: -1 is every core; for Dask and Ray,
            every worker slot). Defaults to `-1`.
        seed: Seed of the random and TPE strategies' draws (on Optuna, trial k samples
            with ``optuna_strategy.trial_seed(seed, k)``, so sweeps with different seeds are
            independent; each trial trains with the run's own seed, so trials differ only
            by their hyperparameters). Defaults to `0`.
        threads_per_trial: Threads of lamina's core inside each trial. None: each local
            worker's share of the cores (``cores // n_jobs``, at least 1; 1 on Dask and Ray)
            when several trials run at once, else lamina's current setting.
            Defaults to `None`.
        scheduler: Dask: a scheduler address (``"tcp://host:8786"``) to connect to instead
            of the active client; Ray: the cluster address for ``ray.init``.
            Defaults to `None`.
        mode: "min", "max" or "auto" (max for accuracy-like metrics, else min).
            Defaults to `"auto"`.
        verbose: joblib's verbosity. Defaults to `0`.
        pruner: "none", "median" or "hyperband": Optuna's pruner, told the metric after
            every epoch; a pruned trial is a row with status "pruned" (see
            ``lamina.tune.optuna_strategy``). Defaults to `"none"`.
        storage: An Optuna storage (``"sqlite:///study.db"``, any RDB URL, or a journal
            file ``"journal:study.log"``) that processes and machines share; a sweep run
            again on it resumes, keeping its finished trials. Defaults to `None`.
        study_name: The study's name in ``storage``. Defaults to `None` ("lamina").

    Returns:
        A :class:`SearchResult`: the trial rows, best first, with ``best_run`` and ``df``.

    Example:
        >>> res = search(lambda p: {"val_loss": [p["lr"]]},
        ...                          {"lr": [0.3, 0.1, 0.2]}, backend="sequential")
        >>> [r["lr"] for r in res]
        [0.1, 0.2, 0.3]
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if not isinstance(metric, str) or not metric:
        raise ValueError(f"metric must be a history key such as 'val_loss', got {metric!r}")
    mode = metric_mode(metric, mode)
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0:
        raise ValueError(f"n_jobs must be a non-zero int, got {n_jobs!r}")
    if threads_per_trial is not None and (
        isinstance(threads_per_trial, bool)
        or int(threads_per_trial) != threads_per_trial
        or threads_per_trial < 1
    ):
        raise ValueError(
            f"threads_per_trial must be a positive int or None, got {threads_per_trial!r}"
        )
    space = normalize_space(space)
    if uses_optuna(strategy, pruner, storage):  # TPE, pruning, shared studies: Optuna
        if pruner not in PRUNERS:
            raise ValueError(f"pruner must be one of {', '.join(PRUNERS)}, got {pruner!r}")
        if strategy not in ("grid", "random", "tpe"):
            raise ValueError(f"strategy must be 'grid', 'random' or 'tpe', got {strategy!r}")
        base_run = None if callable(run) else load_base_run(run)
        rows, points = search_optuna(
            run if callable(run) else base_run, space, n_trials, strategy, metric, mode, seed,
            pruner=pruner, storage=storage, study_name=study_name, backend=backend,
            n_jobs=n_jobs, threads_per_trial=threads_per_trial)
        ranked = rank(rows, metric, mode, list(space), points)
        return SearchResult(ranked, metric=metric, mode=mode, keys=list(space),
                            base_run=base_run)
    points = sample_space(space, strategy, n_trials, seed)
    base_run = None if callable(run) else load_base_run(run)
    if base_run is not None:
        check_space_keys(base_run, space)
    trial_run = run if callable(run) else base_run

    if backend == "sequential":
        rows = [run_trial(i, trial_run, p, threads_per_trial) for i, p in enumerate(points)]
    else:
        rows = run_parallel(
            trial_run, points, backend, n_jobs, threads_per_trial, scheduler, verbose
        )
    ranked = rank(rows, metric, mode, list(space), points)
    return SearchResult(ranked, metric=metric, mode=mode, keys=list(space), base_run=base_run)
