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

from ..runtime import _pinned_threads

__all__ = ["load_base_run", "resolve_trial_run", "check_space_keys", "train_run_curves",
           "run_trial"]


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


def check_space_keys(base: Mapping, space: Mapping) -> None:
    """Raises ``ValueError`` naming a space key that is not a key of the run, before any
    trial runs (otherwise every trial fails with the same error, one row each).

    A key counts as wrong when setting it alone fails on the key's path itself: an unknown
    key, or a path through a value that is not a table (``learning_rate.lognormal`` when
    ``lognormal`` is no distribution name). Errors about a value are left to the trials.
    """
    import numpy as np

    from ..runfile import RunFileError
    from .space import Distribution

    for key, values in space.items():
        value = (values.sample(np.random.default_rng(0)) if isinstance(values, Distribution)
                 else values[0])
        try:
            resolve_trial_run(base, {key: value})
        except RunFileError as exc:
            err_key = exc.key or ""
            structural = ("unknown key" in exc.message
                          or (err_key and key.startswith(err_key) and key != err_key))
            if structural:
                last = key.rsplit(".", 1)[-1]
                hint = (f" ('{last}' is not a distribution: use uniform, loguniform, randint "
                        "or choice)" if "." in key else "")
                raise ValueError(f"space key {key!r} is not a key of the run: {exc}{hint}"
                                 ) from None
        except (ValueError, TypeError):
            pass  # a bad value: the trials report it


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
    with _pinned_threads(threads):
        try:
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
        row["threads"] = lamina.get_num_threads()
    row["seconds"] = time.perf_counter() - t0
    row["pid"] = os.getpid()
    row["host"] = socket.gethostname()
    return row


