"""Sweeps on Optuna: TPE sampling, pruning every epoch, a study shared through its storage.

``lamina.tune.search`` comes here for ``strategy="tpe"``, for a ``pruner`` other than
"none" and whenever a ``storage`` is given (grid and random then run through Optuna's
``GridSampler`` / ``RandomSampler``, so they prune and share a study too). The space keeps
its format; each entry becomes one Optuna distribution:

=======================  ===============================================================
space entry              Optuna distribution
=======================  ===============================================================
``[a, b, c]``            ``CategoricalDistribution`` (of the values; of their indices
                         when a value is not None/bool/int/float/str, e.g. a layer list)
``choice([...])``        the same
``uniform(lo, hi)``      ``FloatDistribution(lo, hi)``
``loguniform(lo, hi)``   ``FloatDistribution(lo, hi, log=True)``
``randint(lo, hi)``      ``IntDistribution(lo, hi - 1)`` (``hi`` excluded, as numpy)
=======================  ===============================================================

Each trial trains with ``lamina train``'s code plus a callback that reports the run's
metric to Optuna after every epoch (step = epochs trained; the value is the best so far,
which is what trials are ranked by) and raises ``TrialPruned`` when the pruner says so,
except after the last epoch; a pruned trial is a row with status "pruned" and the epochs it
trained. Hyperband's largest resource is the run's ``training.epochs`` (when the space does
not vary it); TPE is multivariate, with the constant liar (`tpe_sampler`), and trial k
samples from its own seed, ``trial_seed(seed, k)``.
Trials are asked and told one at a time, so any number of processes (``lamina tune
--storage URL --study-name NAME`` started several times, on one machine or many) fill one
study up to ``n_trials`` finished trials between them, and a sweep stopped with Ctrl-C
resumes from the storage: finished trials (complete, pruned or failed) are kept, the
interrupted one runs again. ``n_jobs`` local workers share a temporary journal file when
no storage is given.

Example:
    >>> uses_optuna("tpe", "none", None), uses_optuna("grid", "none", None)
    (True, False)
"""

from __future__ import annotations

import copy
import json
import os
import socket
import tempfile
import time
import traceback
from pathlib import Path

from ..sigint import SigintGuard
from .space import Distribution, _Choice, _LogUniform, _RandInt, _Uniform

__all__ = ["PRUNERS", "uses_optuna", "import_optuna", "to_optuna", "open_storage", "trial_seed",
           "tpe_sampler", "close_storage", "PruningCallback", "search_optuna"]

PRUNERS = ("none", "median", "hyperband")
_LOCAL = ("sequential", "loky", "threading", "multiprocessing")


def uses_optuna(strategy, pruner, storage) -> bool:
    """Whether a search needs Optuna: TPE, a pruner, or a shared storage.

    Example:
        >>> uses_optuna("random", "none", None), uses_optuna("random", "median", None)
        (False, True)
    """
    return strategy == "tpe" or pruner not in (None, "none") or storage is not None


def import_optuna():
    """Returns the ``optuna`` module, or raises a one-line ImportError naming the extra."""
    try:
        import optuna
    except ImportError:
        raise ImportError("strategy='tpe', pruners and --storage run on Optuna: "
                          "`pip install 'lamina[optuna]'`") from None
    return optuna


def _primitive(value) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def to_optuna(key, values):
    """The Optuna distribution of one space entry and the function from its value back.

    Args:
        key: The key path (for error messages).
        values: A list of values or a lamina distribution.

    Returns:
        ``(distribution, decode)``: Optuna's distribution and ``decode(optuna_value)`` ->
        the run-file value.
    """
    optuna = import_optuna()
    dists = optuna.distributions
    if isinstance(values, _Uniform):
        return dists.FloatDistribution(values.low, values.high), float
    if isinstance(values, _LogUniform):
        return dists.FloatDistribution(values.low, values.high, log=True), float
    if isinstance(values, _RandInt):
        return dists.IntDistribution(values.low, values.high - 1), int
    if isinstance(values, _Choice):
        values = values.options
    elif isinstance(values, Distribution):
        raise ValueError(f"{key}: Optuna has no counterpart of {values!r}")
    options = [v.item() if hasattr(v, "item") and not isinstance(v, (list, dict)) else v
               for v in values]
    if all(_primitive(v) for v in options) and len(set(map(repr, options))) == len(options):
        return dists.CategoricalDistribution(tuple(options)), lambda v: v
    # Lists, tables (a layer stack, a schedule): Optuna chooses an index.
    return (dists.CategoricalDistribution(tuple(range(len(options)))),
            lambda i: copy.deepcopy(options[int(i)]))


def open_storage(storage):
    """Optuna's storage for ``storage``: None (in memory), an RDB URL (``sqlite:///x.db``,
    ``postgresql://…``) or a journal file (``journal:PATH``, or a path ending in ``.log`` or
    ``.journal``)."""
    if storage is None:
        return None
    optuna = import_optuna()
    if not isinstance(storage, str) or not storage:
        raise ValueError(f"storage must be a URL such as 'sqlite:///study.db' or "
                         f"'journal:study.log', got {storage!r}")
    path = None
    if storage.startswith("journal:"):
        path = storage[len("journal:"):].removeprefix("///")
    elif storage.endswith((".log", ".journal")) and "://" not in storage:
        path = storage
    if path is None:
        # Processes started together may race to create the tables of a new database
        # (one of them then fails on the schema-version row): the loser retries and finds
        # the tables made.
        RDBStorage = optuna.storages.RDBStorage
        for attempt in range(5):
            opened = RDBStorage.__new__(RDBStorage)
            try:
                opened.__init__(storage)
                return opened
            except Exception as exc:  # noqa: BLE001 - sqlalchemy's errors differ per database
                # The engine made before the failure (a busy database) holds a connection:
                # close it now, not at garbage collection (a ResourceWarning on Python 3.13).
                close_storage(opened)
                if attempt == 4:  # an unknown dialect, a database that cannot be opened …
                    raise ValueError(f"storage {storage!r} cannot be opened: "
                                     f"{type(exc).__name__}: "
                                     f"{str(exc).splitlines()[0] if str(exc) else ''}"
                                     ) from None
                time.sleep(0.2 * (attempt + 1))
    journal = optuna.storages.journal if hasattr(optuna.storages, "journal") else None
    backend = getattr(journal, "JournalFileBackend", None)
    if backend is None:  # Optuna 3
        backend = optuna.storages.JournalFileStorage
    return optuna.storages.JournalStorage(backend(str(path)))


def trial_seed(seed, number) -> int:
    """The seed of trial ``number``'s sampler in a sweep seeded with ``seed``.

    Drawn from ``numpy.random.SeedSequence([seed, number])``, so every (seed, trial) pair
    has its own stream: sweeps with neighbouring seeds share no points (with ``seed +
    number``, trial k of seed s drew the same point as trial k - 1 of seed s + 1).

    Example:
        >>> trial_seed(0, 1) == trial_seed(0, 1), trial_seed(0, 1) == trial_seed(1, 0)
        (True, False)
    """
    import numpy as np

    return int(np.random.SeedSequence([int(seed), int(number)]).generate_state(1)[0])


def tpe_sampler(optuna, seed=None):
    """The TPE sampler ``lamina tune --strategy tpe`` uses: multivariate, with the constant liar.

    Both are Optuna 4's and 5's defaults, set here so every supported Optuna (3.6 on, where
    they were experimental and off) samples alike: multivariate TPE models the parameters
    jointly (a good learning rate depends on the dropout and the width), and the constant
    liar counts trials still running as bad, so workers sharing a study do not all sample
    next to the same best point. The 10 random start-up trials are Optuna's default; pruned
    trials count among them and inform TPE (ranked below every finished trial, deeper ones
    first), which is how a pruned sweep still learns from its short trials.

    Args:
        optuna: The ``optuna`` module.
        seed: The sampler's seed. Defaults to `None`.

    Example:
        >>> import optuna
        >>> s = tpe_sampler(optuna, seed=0)
        >>> s._multivariate, s._constant_liar, s._n_startup_trials
        (True, True, 10)
    """
    import warnings

    with warnings.catch_warnings():  # Optuna < 4 marks both options experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=True)


def _sampler(optuna, strategy, seed, grid):
    if strategy == "tpe":
        return tpe_sampler(optuna, seed)
    if strategy == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.GridSampler(grid, seed=seed)


def _pruner(optuna, pruner, max_epochs=None):
    if pruner in (None, "none"):
        return optuna.pruners.NopPruner()
    if pruner == "median":
        return optuna.pruners.MedianPruner()
    if pruner == "hyperband":
        # With the run's epochs known, Hyperband's brackets exist from the first trial on;
        # "auto" waits for a finished trial and then takes its last step + 1 (an extra
        # bracket whose last rung falls on the final epoch). min_resource 1 and reduction
        # factor 3 are Optuna's defaults (4 brackets for 27 epochs, within the 4-6 its docs
        # advise): on 100 seeds of benchmarks/bench_tune.py a first rung at 2 or 3 epochs
        # trained over half random search's epochs on 47-90% of seeds, a factor of 4 lost
        # best val_loss (RESULTS.md, "Tuning (issue 24): why seed 1 missed").
        return optuna.pruners.HyperbandPruner(max_resource=max_epochs or "auto")
    raise ValueError(f"pruner must be one of {', '.join(PRUNERS)}, got {pruner!r}")


def _max_epochs(run, space):
    """The epochs every trial of a run-file sweep trains at most (None when the space varies
    them or the run is a callable)."""
    if callable(run) or any(k == "training.epochs" for k in space):
        return None
    from ..runfile import load_run

    return int(load_run(copy.deepcopy(dict(run)))["training"]["epochs"])


class PruningCallback:
    """A callback that reports ``metric`` to an Optuna trial after each epoch and prunes.

    What ``lamina tune`` adds to each trial's ``fit``, and usable in an Optuna objective
    like optuna-integration's ``KerasPruningCallback`` (which works too, but imports
    Keras): the step reported is the number of epochs trained. It records the epoch logs (so
    a pruned trial keeps its curves) and, when ``fit`` was stopped by Ctrl-C, raises
    ``KeyboardInterrupt`` from ``on_train_end`` so the trial is not mistaken for a finished
    one. The last epoch of ``fit`` is reported but never pruned: stopping then saves no
    training and would throw a finished trial away.

    Args:
        trial: The ``optuna.Trial``.
        metric: The log key to report. Defaults to `"val_loss"`.
        mode: None reports each epoch's value (as Keras's callback does); "min" or "max"
            report the best value so far, which is what ``lamina tune`` ranks a trial by
            (its best epoch), so a trial whose metric passed its best before a rung is
            judged by that best. Defaults to `None`.
    """

    def __init__(self, trial, metric="val_loss", mode=None):
        if mode not in (None, "min", "max"):
            raise ValueError(f"mode must be None, 'min' or 'max', got {mode!r}")
        self.trial = trial
        self.metric = metric
        self.mode = mode
        self.curves = {}
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = dict(params or {})

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        for k, v in logs.items():
            self.curves.setdefault(k, []).append(v)
        value = logs.get(self.metric)
        if value is None:
            return
        seen = self.curves[self.metric]
        step = len(seen)
        if self.mode is not None:
            value = _best(seen, self.mode)
        self.trial.report(float(value), step)
        if epoch + 1 >= self.params.get("epochs", float("inf")):
            return  # the last epoch: nothing left to save
        if self.trial.should_prune():
            import optuna

            raise optuna.TrialPruned(f"pruned after {step} epochs ({self.metric}={value:.4g})")

    def on_train_end(self, logs=None):
        history = getattr(self.model, "history", None)
        if getattr(history, "interrupted", False):
            raise KeyboardInterrupt


def _suggest(trial, key, dist):
    # trial.suggest_* keeps Optuna's public surface (and its checks) in the loop
    name = type(dist).__name__
    if name == "FloatDistribution":
        return trial.suggest_float(key, dist.low, dist.high, log=dist.log)
    if name == "IntDistribution":
        return trial.suggest_int(key, dist.low, dist.high)
    return trial.suggest_categorical(key, dist.choices)


def _finished(optuna, trials) -> int:
    """Trials that count towards ``n_trials``: finished (not interrupted) or running."""
    S = optuna.trial.TrialState
    n = 0
    for t in trials:
        if t.user_attrs.get("lamina_surplus") or t.user_attrs.get("lamina_interrupted"):
            continue
        if t.state in (S.COMPLETE, S.PRUNED, S.FAIL, S.RUNNING):
            n += 1
    return n


def _best(values, mode):
    return min(values) if mode == "min" else max(values)


class _CtrlC(SigintGuard):
    """Ctrl-C during a sweep stops it where that is safe: never inside Optuna's storage
    writes (asking, reporting, telling), so no trial is left half-written. A run-file trial's
    ``fit`` takes Ctrl-C over while it trains (its own guard stops it after the step, and this
    guard is told); a Ctrl-C outside ``fit`` is held until the trial or the write ends. A
    callable ``run`` is the user's code: Ctrl-C interrupts it at once, as Python would. The
    trial is then recorded as interrupted and the sweep stops. A second Ctrl-C always
    interrupts."""

    def __init__(self):
        self.in_user_code = False
        self.pending = False

    def _handler(self, signum, frame):
        again = self.pending
        self.pending = True
        if again or self.in_user_code:
            raise KeyboardInterrupt

    def _note(self):
        self.pending = True

    def _seen(self):
        return self.pending

    def check(self):
        if self.pending:
            raise KeyboardInterrupt


class _Surplus(Exception):
    """Raised in a trial asked after another process claimed the study's last slot."""


def _run_loop(study, run, space, n_trials, strategy, seed, metric, mode, threads):
    """Runs trials (one ``study.optimize`` call each) until the study holds ``n_trials``."""
    optuna = import_optuna()
    encoded = {k: to_optuna(k, v) for k, v in space.items()}
    grid = {k: list(d.choices) for k, (d, _) in encoded.items()} if strategy == "grid" else None
    with _CtrlC() as ctrl_c:
        _loop(optuna, study, run, encoded, grid, n_trials, strategy, seed, metric, mode,
              threads, ctrl_c)


def _loop(optuna, study, run, encoded, grid, n_trials, strategy, seed, metric, mode, threads,
          ctrl_c):
    while True:
        ctrl_c.check()
        trials = study.get_trials(deepcopy=False)
        if _finished(optuna, trials) >= n_trials:
            return
        predicted = len(trials)
        # TPE and random: trial k samples with its own seed, trial_seed(seed, k) (reproducible,
        # and processes sharing a study draw different points); the grid keeps one seed (it
        # shuffles its points).
        study.sampler = _sampler(optuna, strategy,
                                 seed if strategy == "grid" else trial_seed(seed, predicted), grid)

        def objective(trial):
            if trial.number != predicted and strategy != "grid":
                # sampling happens in suggest_*: seed it by the trial's own number
                study.sampler = _sampler(optuna, strategy, trial_seed(seed, trial.number), grid)
            # Another process may have claimed the last slots between the count and the ask.
            before = [t for t in study.get_trials(deepcopy=False) if t.number < trial.number]
            if _finished(optuna, before) >= n_trials:
                trial.set_user_attr("lamina_surplus", True)
                raise _Surplus(f"trial {trial.number} is beyond n_trials={n_trials}")
            return _objective(trial, encoded, run, metric, mode, threads, ctrl_c)

        study.optimize(objective, n_trials=1, catch=(Exception,))


def _objective(trial, encoded, run, metric, mode, threads, ctrl_c):
    """One trial: suggest the point, train it, report every epoch; its row goes to user attrs."""
    import math

    import lamina
    from lamina.diagnose import curves as to_curves

    from .trials import train_run_curves

    optuna = import_optuna()
    params = {k: decode(_suggest(trial, k, dist)) for k, (dist, decode) in encoded.items()}
    trial.set_user_attr("lamina_params", params)
    reporter = PruningCallback(trial, metric, mode)
    old_threads = lamina.get_num_threads()
    attrs = {"pid": os.getpid(), "host": socket.gethostname()}
    t0 = time.perf_counter()
    curves = {}
    try:
        if threads is not None:
            lamina.set_num_threads(int(threads))
        attrs["threads"] = lamina.get_num_threads()
        if callable(run):
            ctrl_c.in_user_code = True
            try:
                out = run(copy.deepcopy(params))
            finally:
                ctrl_c.in_user_code = False
        else:
            out = train_run_curves(run, params, callbacks=[reporter])
        ctrl_c.check()  # a Ctrl-C the run finished through (held, or fit stopped gracefully)
        curves = to_curves(out)
        vals = curves.get(metric)
        if not vals:
            raise ValueError(f"the trial reported no {metric!r} (it reported: "
                             f"{', '.join(curves) or 'nothing'})")
        if not all(math.isfinite(v) for v in vals):
            bad = next(i for i, v in enumerate(vals) if not math.isfinite(v))
            raise ValueError(f"{metric} is {vals[bad]!r} at epoch {bad + 1}")
        return _best(vals, mode)
    except optuna.TrialPruned as exc:
        curves = reporter.curves
        attrs["error"] = str(exc)
        raise
    except KeyboardInterrupt:
        curves = curves or reporter.curves  # the epochs it trained
        trial.set_user_attr("lamina_interrupted", True)
        raise
    except Exception as exc:  # a failing trial is a failed row (optimize catches it)
        curves = curves or reporter.curves
        attrs["error"] = f"{type(exc).__name__}: {exc}"
        attrs["traceback"] = traceback.format_exc(limit=8)
        raise
    finally:
        if threads is not None:
            lamina.set_num_threads(old_threads)
        attrs["seconds"] = time.perf_counter() - t0
        attrs["curves"] = {k: [float(v) for v in vs] for k, vs in curves.items()}
        trial.set_user_attr("lamina_row", json.loads(json.dumps(attrs)))


def close_storage(storage) -> None:
    """Closes the database connections an RDB storage holds (Python 3.13 warns about each
    sqlite3 connection left to the garbage collector); other storages hold none.

    Args:
        storage: A storage from `open_storage` (or None).
    """
    engine = getattr(storage, "engine", None)
    if engine is not None:
        engine.dispose()


def _worker(run, space, n_trials, strategy, seed, metric, mode, threads, storage,
            study_name, pruner):
    """One process's share of a study in ``storage`` (a joblib task)."""
    optuna = import_optuna()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    opened = open_storage(storage)
    try:
        study = optuna.load_study(study_name=study_name, storage=opened,
                                  pruner=_pruner(optuna, pruner, _max_epochs(run, space)))
        _run_loop(study, run, space, n_trials, strategy, seed, metric, mode, threads)
    finally:
        close_storage(opened)


def rows_from_study(study):
    """lamina's trial rows (and points) from the finished trials of an Optuna study."""
    optuna = import_optuna()
    S = optuna.trial.TrialState
    status = {S.COMPLETE: "ok", S.PRUNED: "pruned", S.FAIL: "failed"}
    rows, points = [], {}
    for t in study.get_trials(deepcopy=False):
        attrs = t.user_attrs
        if (t.state not in status or "lamina_params" not in attrs
                or attrs.get("lamina_interrupted") or attrs.get("lamina_surplus")):
            continue
        extra = dict(attrs.get("lamina_row", {}))
        row = {"trial": t.number, "status": status[t.state], "error": extra.pop("error", None)}
        row["curves"] = extra.pop("curves", {})
        row.update(extra)
        rows.append(row)
        points[t.number] = attrs["lamina_params"]
    return rows, points


def search_optuna(run, space, n_trials, strategy, metric, mode, seed, pruner="none",
                  storage=None, study_name=None, backend="sequential", n_jobs=1,
                  threads_per_trial=None):
    """Runs a sweep on Optuna; returns ``(rows, points)`` for ``results.rank``.

    Args:
        run: The base run dict or a callable ``f(params) -> curves``.
        space: A normalized space (key path -> list or distribution).
        n_trials: Trials the study should hold when done (None: 10, or the grid's size).
        strategy: "tpe", "random" or "grid".
        metric: The history key reported every epoch and optimized.
        mode: "min" or "max".
        seed: Seed of the sampler (trial k samples with ``trial_seed(seed, k)``).
        pruner: "none", "median" or "hyperband". Defaults to `"none"`.
        storage: Optuna storage URL (RDB) or journal file; None keeps the study in memory
            (a temporary journal file when several local workers share it). Defaults to
            `None`.
        study_name: The study's name in ``storage``. Defaults to `None` ("lamina").
        backend: "sequential" or a local joblib backend (loky, threading,
            multiprocessing). Defaults to `"sequential"`.
        n_jobs: Local workers (joblib's meaning). Defaults to `1`.
        threads_per_trial: lamina core threads in each trial. Defaults to `None`.
    """
    optuna = import_optuna()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    if pruner not in PRUNERS:
        raise ValueError(f"pruner must be one of {', '.join(PRUNERS)}, got {pruner!r}")
    if backend not in _LOCAL:
        raise ValueError(f"with Optuna, trials run on local workers (backend one of "
                         f"{', '.join(_LOCAL)}), got backend={backend!r}: to use more machines "
                         "start `lamina tune --storage URL --study-name NAME` on each")
    if strategy == "grid":
        dists = [k for k, v in space.items() if isinstance(v, Distribution)
                 and not isinstance(v, _Choice)]
        if dists:
            raise ValueError(f"grid search needs lists of values, but {', '.join(dists)} is a "
                             "distribution: use strategy='random' or 'tpe', or give a list")
        size = 1
        for v in space.values():
            size *= len(v.options if isinstance(v, _Choice) else v)
        n_trials = size if n_trials is None else min(int(n_trials), size)
    n_trials = 10 if n_trials is None else int(n_trials)
    study_name = study_name or "lamina"
    from .backends import effective_jobs

    workers = 1 if backend == "sequential" else effective_jobs(int(n_jobs), n_trials)
    tmp = None
    if storage is None and workers > 1:
        tmp = tempfile.mkdtemp(prefix="lamina-tune-")
        storage = f"journal:{Path(tmp) / 'study.log'}"
    opened = []
    try:
        opened.append(open_storage(storage))
        study = optuna.create_study(
            study_name=study_name, storage=opened[-1], load_if_exists=True,
            direction="minimize" if mode == "min" else "maximize",
            sampler=_sampler(optuna, strategy, seed, None) if strategy != "grid" else None,
            pruner=_pruner(optuna, pruner, _max_epochs(run, space)))
        known = study.user_attrs.get("lamina_metric")
        if known is not None and known != metric:
            raise ValueError(f"study {study_name!r} ranks trials by {known!r}, not {metric!r}: "
                             "use another --study-name")
        if known is None:
            study.set_user_attr("lamina_metric", metric)
        threads = threads_per_trial
        if workers == 1:
            _run_loop(study, run, space, n_trials, strategy, seed, metric, mode, threads)
        else:
            import joblib

            from ..runtime import thread_share

            threads = thread_share(workers) if threads is None else threads
            with joblib.parallel_config(backend=backend, n_jobs=workers):
                joblib.Parallel()(
                    joblib.delayed(_worker)(run, space, n_trials, strategy, seed, metric, mode,
                                            threads, storage, study_name, pruner)
                    for _ in range(workers))
            opened.append(open_storage(storage))
            study = optuna.load_study(study_name=study_name, storage=opened[-1])
        return rows_from_study(study)
    finally:
        for st in opened:
            close_storage(st)
        if tmp is not None:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
