"""Hyperparameter sweeps over run files: grid or random search on joblib, Dask or Ray.

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
``scheduler="tcp://…"`` (``"dask"``), or on Ray (``"ray"``, through Ray's joblib backend). Each trial pins lamina's core to its thread
share (1 thread when several trials run at once), so workers never oversubscribe the CPU.
A trial that fails (bad combination, NaN loss) is reported with its error and never stops
the sweep; on loky, neither does a trial that kills its worker process (a native crash, the
OOM killer): the trials left then run one at a time and that one becomes a failed row.

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

import copy
import itertools
import json
import math
import os
import socket
import time
import traceback
from pathlib import Path
from typing import Mapping

import numpy as np

__all__ = [
    "Distribution",
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
]

BACKENDS = ("sequential", "loky", "threading", "multiprocessing", "dask", "ray")


# ---------------------------------------------------------------------- distributions
class Distribution:
    """A distribution of values that random search samples from."""

    def sample(self, rng: np.random.Generator):  # pragma: no cover - abstract
        raise NotImplementedError

    def __eq__(self, other):
        return type(self) is type(other) and vars(self) == vars(other)

    def __repr__(self):
        args = ", ".join(repr(v) for v in vars(self).values())
        return f"{type(self).__name__.lstrip('_').lower()}({args})"


class _Uniform(Distribution):
    def __init__(self, low, high):
        low, high = float(low), float(high)
        if not (math.isfinite(low) and math.isfinite(high)) or not low < high:
            raise ValueError(f"uniform needs finite low < high, got low={low!r}, high={high!r}")
        self.low, self.high = low, high

    def sample(self, rng):
        return float(rng.uniform(self.low, self.high))


class _LogUniform(Distribution):
    def __init__(self, low, high):
        low, high = float(low), float(high)
        if not (0 < low < high) or not math.isfinite(high):
            raise ValueError(f"loguniform needs 0 < low < high, got low={low!r}, high={high!r}")
        self.low, self.high = low, high

    def sample(self, rng):
        return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))


class _Choice(Distribution):
    def __init__(self, options):
        options = list(options)
        if not options:
            raise ValueError("choice needs at least one option, got []")
        self.options = options

    def sample(self, rng):
        return copy.deepcopy(self.options[int(rng.integers(len(self.options)))])


class _RandInt(Distribution):
    def __init__(self, low, high):
        if int(low) != low or int(high) != high or not int(low) < int(high):
            raise ValueError(f"randint needs ints low < high, got low={low!r}, high={high!r}")
        self.low, self.high = int(low), int(high)

    def sample(self, rng):
        return int(rng.integers(self.low, self.high))


def uniform(low: float, high: float) -> Distribution:
    """A float drawn uniformly from [low, high).

    Example:
        >>> uniform(0.0, 0.5)
        uniform(0.0, 0.5)
    """
    return _Uniform(low, high)


def loguniform(low: float, high: float) -> Distribution:
    """A float whose logarithm is uniform on [log(low), log(high)) (learning rates, penalties).

    Example:
        >>> loguniform(1e-4, 1e-2)
        loguniform(0.0001, 0.01)
    """
    return _LogUniform(low, high)


def choice(options) -> Distribution:
    """One of ``options``, each equally likely.

    Example:
        >>> choice(["relu", "tanh"])
        choice(['relu', 'tanh'])
    """
    return _Choice(options)


def randint(low: int, high: int) -> Distribution:
    """An int drawn uniformly from [low, high) (``high`` excluded, like numpy).

    Example:
        >>> randint(16, 129)
        randint(16, 129)
    """
    return _RandInt(low, high)


def _distribution_from_spec(key: str, spec: Mapping) -> Distribution:
    """``{"loguniform": [1e-4, 1e-2]}`` (the form SPACE.toml files use) to a distribution."""
    makers = {"uniform": uniform, "loguniform": loguniform, "randint": randint, "choice": choice}
    if len(spec) != 1 or next(iter(spec)) not in makers:
        raise ValueError(
            f"{key}: a distribution is one of {{uniform|loguniform|randint = [low, high]}} "
            f"or {{choice = [...]}}, got {dict(spec)!r}"
        )
    ((name, args),) = spec.items()
    if name == "choice":
        return choice(args)
    if not isinstance(args, (list, tuple)) or len(args) != 2:
        raise ValueError(f"{key}: {name} needs [low, high], got {args!r}")
    return makers[name](*args)


def _normalize_space(space: Mapping) -> dict:
    if not isinstance(space, Mapping) or not space:
        raise ValueError(f"space must be a non-empty dict of key path -> values, got {space!r}")
    out = {}
    for key, values in space.items():
        if not isinstance(key, str) or not key or "=" in key:
            raise ValueError(f"space keys must be run-file key paths (str), got {key!r}")
        try:
            _parse_path(key)
        except ValueError as exc:
            raise ValueError(f"bad key path {key!r}: {exc}") from None
        if isinstance(values, Mapping):
            values = _distribution_from_spec(key, values)
        elif isinstance(values, (str, bytes)) or not isinstance(
            values, (Distribution, list, tuple, range, np.ndarray)
        ):
            raise ValueError(f"{key}: give a list of values or a distribution, got {values!r}")
        elif not isinstance(values, Distribution):
            values = list(values)
            if not values:
                raise ValueError(f"{key}: the list of values is empty")
        out[key] = values
    return out


# ---------------------------------------------------------------------- key paths
def _parse_path(path: str) -> list:
    """``"model.layers[0].units"`` -> ``["model", "layers", 0, "units"]`` (as ``--set``)."""
    from .run import parse_override

    parts, _ = parse_override(f"{path}=0")
    return parts


# ---------------------------------------------------------------------- sampling
def sample_space(
    space: Mapping, strategy: str = "grid", n_trials: int | None = None, seed: int = 0
) -> list[dict]:
    """The points a search visits, in order.

    Args:
        space: Key path -> list of values or distribution.
        strategy: "grid" (every combination of the lists, in order; distributions are not
            allowed) or "random" (``n_trials`` independent draws; a list is drawn uniformly).
            Defaults to `"grid"`.
        n_trials: Grid: keep the first ``n_trials`` points; random: the number of draws
            (10 when None). Defaults to `None`.
        seed: Seed of the random draws. Defaults to `0`.

    Returns:
        A list of dicts key path -> value.

    Example:
        >>> sample_space({"a": [1, 2], "b": ["x", "y"]})
        [{'a': 1, 'b': 'x'}, {'a': 1, 'b': 'y'}, {'a': 2, 'b': 'x'}, {'a': 2, 'b': 'y'}]
    """
    space = _normalize_space(space)
    if n_trials is not None and (
        isinstance(n_trials, bool) or int(n_trials) != n_trials or n_trials < 1
    ):
        raise ValueError(f"n_trials must be a positive int or None, got {n_trials!r}")
    if strategy == "grid":
        dists = [k for k, v in space.items() if isinstance(v, Distribution)]
        if dists:
            raise ValueError(
                f"grid search needs lists of values, but {', '.join(dists)} "
                "is a distribution: use strategy='random' or give a list"
            )
        keys = list(space)
        points = [dict(zip(keys, combo)) for combo in itertools.product(*space.values())]
        return points if n_trials is None else points[: int(n_trials)]
    if strategy == "random":
        rng = np.random.default_rng(seed)
        points = []
        for _ in range(10 if n_trials is None else int(n_trials)):
            point = {}
            for key, values in space.items():
                if isinstance(values, Distribution):
                    point[key] = values.sample(rng)
                else:
                    v = values[int(rng.integers(len(values)))]
                    point[key] = v.item() if isinstance(v, np.generic) else copy.deepcopy(v)
            points.append(point)
        return points
    raise ValueError(f"strategy must be 'grid' or 'random', got {strategy!r}")


# ---------------------------------------------------------------------- one trial
def _load_base_run(run) -> dict:
    """The base run as written (not resolved), with a relative data path made absolute.

    Trials apply their point on top of it exactly as ``lamina train --set key=value`` does,
    then resolve it with ``load_run``: shorthands (``optimizer = "adam"``) expand the same
    way and every bad value is reported with its key path. The base must load on its own.
    """
    from .run import _read_file, load_run

    if isinstance(run, (str, os.PathLike)):
        path = Path(run)
        load_run(path)  # the base run must be valid (raises RunFileError naming the key)
        raw = _read_file(path)
        data = raw.get("data")
        if (
            isinstance(data, dict)
            and isinstance(data.get("source"), str)
            and data["source"] != "digits"
        ):
            src = Path(data["source"]).expanduser()
            if not src.is_absolute():
                data["source"] = str((path.resolve().parent / src).resolve())
        raw.setdefault("name", path.stem)
        return raw
    if isinstance(run, Mapping):
        raw = copy.deepcopy(dict(run))
        load_run(raw)
        return raw
    raise TypeError(f"run must be a run-file path, a dict or a callable, got {type(run).__name__}")


def resolve_trial_run(base: Mapping, params: Mapping):
    """The resolved run of one trial: ``base`` with ``params`` applied as ``--set`` overrides.

    Args:
        base: The run as written (a dict).
        params: Key path -> value.

    Returns:
        A resolved ``lamina.run.Run`` (raises ``RunFileError`` naming a bad key or value).
    """
    from .run import _toml_value, load_run

    overrides = [f"{key}={_toml_value(value)}" for key, value in params.items()]
    return load_run(copy.deepcopy(dict(base)), overrides=overrides)


def _train_run_dict(base: dict, params: dict) -> dict:
    """Trains one trial with ``lamina train``'s code; returns its curves and final metrics."""
    from .experiment import train_run

    result = train_run(resolve_trial_run(base, params), out_dir=None, verbose=False)
    curves = dict(result.history.history)
    for part in ("test",):  # the held-out test metrics, reported as one-value curves
        for name, value in (getattr(result, part, None) or {}).items():
            curves[f"{part}_{name}"] = [value]
    return curves


def _curves(out) -> dict:
    """A trial's return (History, dict of lists or of scalars) to a dict of float lists."""
    hist = getattr(out, "history", out)
    if not isinstance(hist, Mapping):
        raise TypeError(f"a trial must return a dict or a History, got {type(out).__name__}")
    curves = {}
    for key, vals in hist.items():
        if isinstance(vals, (list, tuple, np.ndarray)):
            curves[str(key)] = [float(v) for v in vals]
        elif isinstance(vals, (int, float, np.integer, np.floating)) and not isinstance(vals, bool):
            curves[str(key)] = [float(vals)]
    return curves


def _run_trial(index: int, run, params: dict, threads: int | None) -> dict:
    """Runs one trial anywhere (this process, a loky worker, a Dask or Ray worker).

    Never raises: a failure becomes a row with status "failed" and the error.
    """
    import lamina

    row: dict = {"trial": index, "status": "ok", "error": None}
    t0 = time.perf_counter()
    old_threads = lamina.get_num_threads()
    try:
        if threads is not None:
            lamina.set_num_threads(int(threads))
        if callable(run):
            out = run(copy.deepcopy(params))
        else:
            out = _train_run_dict(run, params)
        row["curves"] = _curves(out)
    except Exception as exc:  # noqa: BLE001 - a failing trial must not stop the sweep
        row["status"] = "failed"
        row["error"] = f"{type(exc).__name__}: {exc}"
        row["traceback"] = traceback.format_exc(limit=8)
        row["curves"] = {}
    finally:
        row["threads"] = lamina.get_num_threads()
        if threads is not None:
            lamina.set_num_threads(old_threads)
    row["seconds"] = time.perf_counter() - t0
    row["pid"] = os.getpid()
    row["host"] = socket.gethostname()
    return row


# ---------------------------------------------------------------------- result
class SearchResult(list):
    """The trials of a search as a list of dicts, best first (failed trials last).

    Each row holds ``trial`` (its index in the visiting order), ``status`` ("ok" or
    "failed"), the metric (its best value over the epochs), one column per key path of the
    space, ``final_<key>`` for every curve's last value, ``epochs``, ``best_epoch``,
    ``error`` (None when ok), ``curves`` (the per-epoch history), ``seconds``, ``pid``,
    ``host`` and ``threads``.

    Attributes:
        metric: The metric trials are ranked by.
        mode: "min" or "max".
        best: The best row (None when every trial failed).
        best_params: Its key path -> value dict.
        best_run: The resolved run (``lamina.run.Run``) with the best params applied, ready
            for ``lamina train`` (``best_run.save("best.toml")``); None for callable runs.
        df: A pandas DataFrame of the rows without curves, or None without pandas.
    """

    def __init__(self, rows, *, metric, mode, keys, base_run):
        super().__init__(rows)
        self.metric = metric
        self.mode = mode
        self.keys = list(keys)
        self.best = self[0] if self and self[0]["status"] == "ok" else None
        self.best_params = None if self.best is None else {k: self.best[k] for k in self.keys}
        self.best_run = None
        if self.best is not None and base_run is not None:
            self.best_run = resolve_trial_run(base_run, self.best_params)
        self.df = self.to_dataframe(required=False)

    def table(self) -> list[dict]:
        """The rows without the bulky per-epoch curves and tracebacks."""
        return [{k: v for k, v in r.items() if k not in ("curves", "traceback")} for r in self]

    def to_dataframe(self, required: bool = True):
        """The table as a pandas DataFrame (None, or ImportError when required, without pandas)."""
        try:
            import pandas as pd
        except ImportError:
            if required:
                raise ImportError("to_dataframe needs pandas: `pip install pandas`") from None
            return None
        return pd.DataFrame(self.table())

    def write_best(self, path) -> Path:
        """Writes ``best_run`` as a run file for ``lamina train`` (TOML; JSON for ``.json``)."""
        if self.best_run is None:
            raise ValueError("no best run to write: every trial failed or the run is a callable")
        path = Path(path)
        self.best_run.save(path)
        return path


def _metric_mode(metric: str, mode: str) -> str:
    if mode in ("min", "max"):
        return mode
    if mode != "auto":
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    base = metric[4:] if metric.startswith("val_") else metric
    if any(s in base for s in ("acc", "auc", "precision", "recall", "r2", "score")):
        return "max"
    return "min"


def _rank(rows: list[dict], metric: str, mode: str, keys, params) -> list[dict]:
    for row in rows:
        row.update({k: params[row["trial"]][k] for k in keys})
        curves = row["curves"]
        for key, vals in curves.items():
            if vals:
                row[f"final_{key}"] = vals[-1]
        row["epochs"] = max((len(v) for v in curves.values()), default=0)
        vals = curves.get(metric)
        row[metric] = None
        row["best_epoch"] = None
        if row["status"] != "ok":
            continue
        if not vals:
            row["status"] = "failed"
            row["error"] = (
                f"the trial reported no {metric!r} (it reported: {', '.join(curves) or 'nothing'})"
            )
            continue
        arr = np.asarray(vals, dtype=np.float64)
        if not np.all(np.isfinite(arr)):
            bad = int(np.flatnonzero(~np.isfinite(arr))[0])
            row["status"] = "failed"
            row["error"] = f"{metric} is {float(arr[bad])!r} at epoch {bad + 1}"
            continue
        best = int(np.argmin(arr) if mode == "min" else np.argmax(arr))
        row[metric] = float(arr[best])
        row["best_epoch"] = best + 1
    ok = [r for r in rows if r["status"] == "ok"]
    failed = [r for r in rows if r["status"] != "ok"]
    ok.sort(key=lambda r: (r[metric] if mode == "min" else -r[metric], r["trial"]))
    failed.sort(key=lambda r: r["trial"])
    order = ["trial", "status", metric, *keys]
    return [
        {**{k: r[k] for k in order}, **{k: v for k, v in r.items() if k not in order}}
        for r in ok + failed
    ]


# ---------------------------------------------------------------------- search
def _effective_jobs(n_jobs: int, n_trials: int) -> int:
    cpus = os.cpu_count() or 1
    jobs = cpus + 1 + n_jobs if n_jobs < 0 else n_jobs
    return max(1, min(jobs, n_trials))


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
) -> SearchResult:
    """Trains one model per point of ``space`` and ranks them by ``metric``.

    Args:
        run: The base run: a run-file path (TOML/JSON), its dict, or a callable
            ``f(params) -> dict of per-epoch lists (or a History)`` for custom trials.
        space: Key path (``"model.layers[0].units"``) -> list of values, or a distribution
            (``uniform``, ``loguniform``, ``choice``, ``randint``), or in file form
            ``{"loguniform": [1e-4, 1e-2]}``.
        n_trials: Grid: at most this many points; random: the number of draws (10 when
            None). Defaults to `None`.
        strategy: "grid" or "random". Defaults to `"grid"`.
        metric: The history key that ranks trials; its best value over the epochs
            counts. Defaults to `"val_loss"`.
        backend: "sequential" (this process), "loky" (local processes), "threading",
            "multiprocessing", "dask" (the active ``distributed.Client``, or
            ``scheduler``) or "ray" (Ray's joblib backend). Defaults to `"loky"`.
        n_jobs: Trials run at once (joblib meaning: -1 is every core; for Dask and Ray,
            every worker slot). Defaults to `-1`.
        seed: Seed of the random strategy's draws (each trial trains with the run's own
            seed, so trials differ only by their hyperparameters). Defaults to `0`.
        threads_per_trial: Threads of lamina's core inside each trial. None: 1 when
            several trials run at once, else lamina's current setting. Defaults to `None`.
        scheduler: Dask: a scheduler address (``"tcp://host:8786"``) to connect to instead
            of the active client; Ray: the cluster address for ``ray.init``.
            Defaults to `None`.
        mode: "min", "max" or "auto" (max for accuracy-like metrics, else min).
            Defaults to `"auto"`.
        verbose: joblib's verbosity. Defaults to `0`.

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
    mode = _metric_mode(metric, mode)
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
    space = _normalize_space(space)
    points = sample_space(space, strategy, n_trials, seed)
    base_run = None if callable(run) else _load_base_run(run)
    trial_run = run if callable(run) else base_run

    if backend == "sequential":
        rows = [_run_trial(i, trial_run, p, threads_per_trial) for i, p in enumerate(points)]
    else:
        rows = _run_parallel(
            trial_run, points, backend, n_jobs, threads_per_trial, scheduler, verbose
        )
    ranked = _rank(rows, metric, mode, list(space), points)
    return SearchResult(ranked, metric=metric, mode=mode, keys=list(space), base_run=base_run)


def _run_parallel(run, points, backend, n_jobs, threads, scheduler, verbose):
    try:
        import joblib
    except ImportError:
        raise ImportError(
            f"backend={backend!r} runs trials through joblib: `pip install joblib` "
            "(or `pip install 'lamina[dask]'`), or use backend='sequential'"
        ) from None

    n = len(points)
    client = None
    ray_started = False
    try:
        if backend == "dask":
            try:
                import distributed
            except ImportError:
                raise ImportError(
                    "backend='dask' needs dask.distributed: `pip install 'lamina[dask]'`"
                ) from None
            if scheduler is not None:
                client = distributed.Client(scheduler, set_as_default=True)
            else:
                try:
                    distributed.get_client()
                except ValueError:
                    raise RuntimeError(
                        "backend='dask' needs a running distributed.Client (create one, e.g. "
                        "`Client(LocalCluster())`) or scheduler='tcp://host:port'"
                    ) from None
            jobs = n_jobs
            concurrent = n > 1
            cfg = {"backend": "dask"}
        elif backend == "ray":
            try:
                import ray
                from ray.util.joblib import register_ray
            except ImportError:
                raise ImportError("backend='ray' needs ray: `pip install 'ray[default]'`") from None
            if not ray.is_initialized():
                ray.init(address=scheduler, include_dashboard=False, log_to_driver=False)
                ray_started = True
            register_ray()
            jobs = n_jobs
            concurrent = n > 1
            cfg = {"backend": "ray"}
        else:
            jobs = _effective_jobs(int(n_jobs), n)
            concurrent = jobs > 1
            cfg = {"backend": backend}
        if threads is None and concurrent:
            threads = 1
        with joblib.parallel_config(**cfg, n_jobs=jobs, verbose=verbose):
            if backend == "loky":
                return _run_loky(joblib, run, points, threads)
            rows = joblib.Parallel()(
                joblib.delayed(_run_trial)(i, run, p, threads) for i, p in enumerate(points)
            )
        return list(rows)
    finally:
        if client is not None:
            client.close()
        if ray_started:
            import ray

            ray.shutdown()


def _run_loky(joblib, run, points, threads) -> list[dict]:
    """The loky backend, where a trial can kill its worker process (a crash in native code,
    the OOM killer, ``os._exit``) and joblib then abandons the whole batch.

    The rows finished before the crash are kept; the unfinished trials then run one at a
    time in a one-worker loky executor (a fresh one after each crash), so the trial that
    kills its worker is known and becomes a failed row while the sweep goes on.
    """
    from joblib.externals.loky.process_executor import ProcessPoolExecutor, TerminatedWorkerError

    rows: dict[int, dict] = {}
    try:
        for row in joblib.Parallel(return_as="generator")(
            joblib.delayed(_run_trial)(i, run, p, threads) for i, p in enumerate(points)
        ):
            rows[row["trial"]] = row
    except TerminatedWorkerError:
        # A one-worker executor of our own (joblib's shared one is left to joblib), replaced
        # after each crash.
        executor = None
        try:
            for i, p in enumerate(points):
                if i in rows:
                    continue
                t0 = time.perf_counter()
                if executor is None:
                    executor = ProcessPoolExecutor(max_workers=1)
                try:
                    rows[i] = executor.submit(_run_trial, i, run, p, threads).result()
                except TerminatedWorkerError as exc:
                    executor.shutdown(wait=True)
                    executor = None
                    codes = [ln for ln in str(exc).splitlines() if "exit code" in ln]
                    why = codes[0].strip() if codes else type(exc).__name__
                    rows[i] = {
                        "trial": i, "status": "failed",
                        "error": f"the worker process running this trial died: {why}",
                        "traceback": None, "curves": {}, "threads": threads,
                        "seconds": time.perf_counter() - t0, "pid": None,
                        "host": socket.gethostname(),
                    }
        finally:
            if executor is not None:
                executor.shutdown(wait=True)
    return [rows[i] for i in range(len(points))]


# ---------------------------------------------------------------------- files and text
_DIST_NAMES = ("uniform", "loguniform", "randint", "choice")


def load_space(path) -> dict:
    """Reads a space file (TOML or JSON) into key path -> values.

    Keys may be quoted key paths (``"model.layers[0].units" = [32, 64]``) or nested tables
    (``[training.optimizer]`` then ``learning_rate = {loguniform = [1e-4, 1e-2]}``); a leaf
    is a list of values or a one-key table naming a distribution (uniform, loguniform,
    randint, choice).

    Args:
        path: The space file.

    Returns:
        A dict for :func:`search`.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"space file not found: {str(path)!r}")
    if path.suffix.lower() == ".json":
        raw = json.loads(path.read_text())
    else:
        try:
            import tomllib
        except ImportError:  # Python < 3.11
            import tomli as tomllib
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    out: dict = {}

    def walk(prefix, node):
        for key, value in node.items():
            full = f"{prefix}.{key}" if prefix else key
            if isinstance(value, dict) and not (
                len(value) == 1 and next(iter(value)) in _DIST_NAMES
            ):
                walk(full, value)
            else:
                out[full] = value

    walk("", raw)
    return _normalize_space(out)


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def format_table(result: SearchResult, max_rows: int = 20) -> str:
    """The ranked trials as aligned text (best first), with errors of failed trials."""
    extra = [
        c
        for c in ("final_val_accuracy", "final_test_accuracy", "final_test_loss")
        if c != f"final_{result.metric}" and any(c in r for r in result)
    ]
    cols = ["trial", "status", result.metric, *result.keys, *extra, "best_epoch", "epochs"]
    cols.append("seconds")
    rows = [[_fmt(r.get(c)) for c in cols] for r in result[:max_rows]]
    widths = [
        max(len(c), *(len(row[i]) for row in rows)) if rows else len(c) for i, c in enumerate(cols)
    ]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in rows]
    if len(result) > max_rows:
        lines.append(f"... {len(result) - max_rows} more")
    for r in result:
        if r["status"] != "ok":
            lines.append(f"trial {r['trial']} failed: {r['error']}")
    if result.best is not None:
        best = ", ".join(f"{k}={v!r}" for k, v in result.best_params.items())
        lines.append(
            f"best: trial {result.best['trial']} "
            f"({result.metric}={_fmt(result.best[result.metric])}): {best}"
        )
    return "\n".join(lines)


def write_outputs(result: SearchResult, out_dir) -> list[Path]:
    """Writes results.csv (the table), curves.json (per-epoch) and best_run.toml."""
    import csv

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    table = result.table()
    fields: list = []
    for row in table:
        fields += [k for k in row if k not in fields]
    written = []
    path = out / "results.csv"
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        for row in table:
            writer.writerow(
                {k: json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in row.items()}
            )
    written.append(path)
    path = out / "curves.json"
    path.write_text(json.dumps({str(r["trial"]): r["curves"] for r in result}, indent=1) + "\n")
    written.append(path)
    if result.best_run is not None:
        written.append(result.write_best(out / "best_run.toml"))
    return written
