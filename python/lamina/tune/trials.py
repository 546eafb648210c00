"""One trial: a point of the space applied to the base run, trained, reported as curves.

Example:
    >>> row = run_trial(0, lambda p: {"val_loss": [p["x"]]}, {"x": 0.5}, None)
    >>> row["status"], row["curves"]
    ('ok', {'val_loss': [0.5]})
"""

from __future__ import annotations

import copy
import os
import socket
import time
import traceback
from pathlib import Path
from typing import Mapping

__all__ = ["load_base_run", "resolve_trial_run", "train_run_curves", "run_trial"]


def load_base_run(run) -> dict:
    """The base run as written (not resolved), with a relative data path made absolute.

    Trials apply their point on top of it exactly as ``lamina train --set key=value`` does,
    then resolve it with ``load_run``: shorthands (``optimizer = "adam"``) expand the same
    way and every bad value is reported with its key path. The base must load on its own.
    """
    from ..runfile import load_run, read_file

    if isinstance(run, (str, os.PathLike)):
        path = Path(run)
        load_run(path)  # the base run must be valid (raises RunFileError naming the key)
        raw = read_file(path)
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
        A resolved ``lamina.runfile.Run`` (raises ``RunFileError`` naming a bad key or value).
    """
    from ..runfile import load_run, toml_value

    overrides = [f"{key}={toml_value(value)}" for key, value in params.items()]
    return load_run(copy.deepcopy(dict(base)), overrides=overrides)


def train_run_curves(base: dict, params: dict, callbacks=None) -> dict:
    """Trains one trial with ``lamina train``'s code; returns its curves and final metrics."""
    from ..experiment import train_run

    result = train_run(resolve_trial_run(base, params), out_dir=None, verbose=False,
                       callbacks=callbacks)
    curves = dict(result.history.history)
    for part in ("test",):  # the held-out test metrics, reported as one-value curves
        for name, value in (getattr(result, part, None) or {}).items():
            curves[f"{part}_{name}"] = [value]
    return curves


def run_trial(index: int, run, params: dict, threads: int | None) -> dict:
    """Runs one trial anywhere (this process, a loky worker, a Dask or Ray worker).

    Never raises: a failure becomes a row with status "failed" and the error.
    """
    import lamina
    from lamina.diagnose import curves

    row: dict = {"trial": index, "status": "ok", "error": None}
    t0 = time.perf_counter()
    old_threads = lamina.get_num_threads()
    try:
        if threads is not None:
            lamina.set_num_threads(int(threads))
        if callable(run):
            out = run(copy.deepcopy(params))
        else:
            out = train_run_curves(run, params)
        row["curves"] = curves(out)
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


