"""Running the trials: joblib's loky, threading and multiprocessing, Dask, Ray.

Example:
    >>> effective_jobs(-1, 1)
    1
"""

from __future__ import annotations

import os
import socket
import time

from ..runtime import thread_share
from .trials import run_trial

__all__ = ["effective_jobs", "run_parallel", "run_loky", "run_dask", "run_ray"]


def effective_jobs(n_jobs: int, n_trials: int) -> int:
    """Trials run at once on a local backend: joblib's meaning of `n_jobs`, at most `n_trials`.

    Example:
        >>> effective_jobs(4, 2)
        2
    """
    cpus = os.cpu_count() or 1
    jobs = cpus + 1 + n_jobs if n_jobs < 0 else n_jobs
    return max(1, min(jobs, n_trials))



def run_parallel(run, points, backend, n_jobs, threads, scheduler, verbose) -> list[dict]:
    """Runs one trial per point on a joblib backend (loky, threading, multiprocessing), the
    Dask cluster (``scheduler`` or the active client) or Ray; returns the rows in order.

    Each trial pins lamina's core to ``threads``; when several trials run at once and
    ``threads`` is None, a local worker's share of the cores (``cores // n_jobs``, at
    least 1) and 1 on Dask and Ray (one task slot), so the workers do not oversubscribe the
    CPU.
    """
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
            except ImportError:
                raise ImportError("backend='ray' needs ray: `pip install 'ray[default]'`") from None
            if not ray.is_initialized():
                ray.init(address=scheduler, include_dashboard=False, log_to_driver=False)
                ray_started = True
            jobs = n_jobs
            concurrent = n > 1
            cfg = {"backend": "ray"}
        else:
            jobs = effective_jobs(int(n_jobs), n)
            concurrent = jobs > 1
            cfg = {"backend": backend}
        if threads is None and concurrent:
            # local workers: each its share of the cores; a Dask or Ray task slot: one core
            threads = thread_share(jobs) if backend not in ("dask", "ray") else 1
        if backend == "dask":
            return run_dask(client or distributed.get_client(), run, points, threads)
        if backend == "ray":
            return run_ray(ray, run, points, threads)
        with joblib.parallel_config(**cfg, n_jobs=jobs, verbose=verbose):
            if backend == "loky":
                return run_loky(joblib, run, points, threads)
            rows = joblib.Parallel()(
                joblib.delayed(run_trial)(i, run, p, threads) for i, p in enumerate(points)
            )
        return list(rows)
    finally:
        if client is not None:
            client.close()
        if ray_started:
            import ray

            ray.shutdown()


def _died_row(index, threads, why, seconds=0.0) -> dict:
    """The failed row of a trial whose worker process died (or was given up on)."""
    return {"trial": index, "status": "failed",
            "error": f"the worker process running this trial died: {why}",
            "traceback": None, "curves": {}, "threads": threads, "seconds": seconds,
            "pid": None, "host": socket.gethostname()}


def run_dask(client, run, points, threads) -> list[dict]:
    """The Dask backend: one future per trial, so a trial that kills its worker becomes a
    failed row and the others are kept (joblib's Dask backend instead waits forever for a
    batch the scheduler gave up on).

    When a worker dies, the scheduler counts the death against every trial that worker was
    running and gives up on them (``KilledWorker``) after ``allowed-failures`` deaths; those
    trials then run again one at a time, as on loky, so only the one that kills its worker
    ends as a failed row.
    """
    import uuid

    tag = uuid.uuid4().hex[:8]

    def submit(i, p, attempt):
        return client.submit(run_trial, i, run, p, threads, pure=False,
                             key=f"lamina-trial-{tag}-{i}-{attempt}")

    futures = [submit(i, p, 0) for i, p in enumerate(points)]
    rows: dict[int, dict] = {}
    lost = []
    for i, fut in enumerate(futures):
        try:  # run_trial never raises: an exception here is the cluster's (a dead worker)
            rows[i] = fut.result()
        except Exception:  # noqa: BLE001 - KilledWorker, a lost connection ...
            lost.append(i)
    for i in lost:
        t0 = time.perf_counter()
        try:
            rows[i] = submit(i, points[i], 1).result()
        except Exception as exc:  # noqa: BLE001
            rows[i] = _died_row(i, threads, f"{type(exc).__name__}: {exc}",
                                time.perf_counter() - t0)
    return [rows[i] for i in range(len(points))]


def run_ray(ray, run, points, threads) -> list[dict]:
    """The Ray backend: one task per trial, not retried, so a trial that kills its worker
    (``WorkerCrashedError``) becomes a failed row while the finished trials are kept
    (joblib's Ray backend threw the whole batch away)."""
    remote = ray.remote(max_retries=0, num_cpus=1)(run_trial)
    refs = [remote.remote(i, run, p, threads) for i, p in enumerate(points)]
    rows = []
    t0 = time.perf_counter()
    for i, ref in enumerate(refs):
        try:
            rows.append(ray.get(ref))
        except ray.exceptions.RayError as exc:
            why = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            rows.append(_died_row(i, threads, f"{type(exc).__name__}: {why}",
                                  time.perf_counter() - t0))
    return rows


def run_loky(joblib, run, points, threads) -> list[dict]:
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
            joblib.delayed(run_trial)(i, run, p, threads) for i, p in enumerate(points)
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
                    rows[i] = executor.submit(run_trial, i, run, p, threads).result()
                except TerminatedWorkerError as exc:
                    executor.shutdown(wait=True)
                    executor = None
                    codes = [ln for ln in str(exc).splitlines() if "exit code" in ln]
                    why = codes[0].strip() if codes else type(exc).__name__
                    rows[i] = _died_row(i, threads, why, time.perf_counter() - t0)
        finally:
            if executor is not None:
                executor.shutdown(wait=True)
    return [rows[i] for i in range(len(points))]
