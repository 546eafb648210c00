"""The result of a search: the trials ranked by the metric, as a table and as files.

Example:
    >>> metric_mode("val_accuracy", "auto"), metric_mode("val_loss", "auto")
    ('max', 'min')
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .trials import resolve_trial_run

__all__ = ["SearchResult", "metric_mode", "rank", "format_table", "retrain_note",
           "write_outputs"]


class SearchResult(list):
    """The trials of a search as a list of dicts, best first (failed trials last).

    Each row holds ``trial`` (its index in the visiting order), ``status`` ("ok",
    "failed", or "pruned" when an Optuna pruner stopped it), the metric (its best value
    over the epochs), one column per key path of the space, ``final_<key>`` for every
    curve's last value, ``epochs``, ``best_epoch``, ``error`` (None when ok), ``curves``
    (the per-epoch history), ``seconds``, ``pid``, ``host`` and ``threads``.

    Attributes:
        metric: The metric trials are ranked by.
        mode: "min" or "max".
        best: The best row (None when every trial failed).
        best_params: Its key path -> value dict.
        best_run: The resolved run (``lamina.runfile.Run``) with the best params applied, ready
            for ``lamina train`` (``best_run.save("best.toml")``); None for callable runs.
            Trials are ranked by their best epoch, so it trains that many epochs
            (``training.epochs = best_epoch``): retraining it reproduces the ranked metric
            (training is deterministic for a given seed). A metric without a value per
            epoch (``test_*``) keeps the run's epochs.
        retrain_epochs: The epochs ``best_run`` trains when they were set to the best trial's
            best epoch, else None (the run's own setting).
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
        self.retrain_epochs = None
        if self.best is not None and base_run is not None:
            params = dict(self.best_params)
            self.retrain_epochs = _best_epoch_to_retrain(self.best, metric)
            if self.retrain_epochs is not None:
                params["training.epochs"] = self.retrain_epochs
            self.best_run = resolve_trial_run(base_run, params)
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


def _best_epoch_to_retrain(row, metric):
    """The trial's best epoch when ``metric`` has a value for every epoch it trained (so
    training that many epochs ends on the ranked value), else None."""
    curves = row.get("curves") or {}
    trained = len(curves.get("loss", ()))
    vals = curves.get(metric) or ()
    if row.get("best_epoch") is None or trained == 0 or len(vals) != trained:
        return None
    return int(row["best_epoch"])


def retrain_note(result) -> str:
    """One line saying how many epochs ``best_run`` trains and why ("" without a best run).

    Example:
        >>> class R: best_run, retrain_epochs, best, metric = None, None, None, "val_loss"
        >>> retrain_note(R())
        ''
    """
    if result.best_run is None:
        return ""
    best = result.best
    if result.retrain_epochs is None:
        return (f"best_run trains the run's {result.best_run['training']['epochs']} epochs "
                f"({result.metric} has no value per epoch to choose one by)")
    return (f"best_run trains {result.retrain_epochs} epochs: trial {best['trial']}'s best "
            f"{result.metric} epoch (it trained {best['epochs']}), so retraining reproduces "
            f"{result.metric}={_fmt(best[result.metric])}")


def metric_mode(metric: str, mode: str) -> str:
    """"min" or "max": `mode` itself, or for "auto" max for accuracy-like metrics, else min.

    Example:
        >>> metric_mode("val_loss", "max")
        'max'
    """
    if mode in ("min", "max"):
        return mode
    if mode != "auto":
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    base = metric[4:] if metric.startswith("val_") else metric
    if any(s in base for s in ("acc", "auc", "precision", "recall", "r2", "score")):
        return "max"
    return "min"


def rank(rows: list[dict], metric: str, mode: str, keys, params) -> list[dict]:
    """The trial rows with their point, final values and best metric, best first.

    A trial that reported no `metric`, or a NaN/inf one, becomes a failed row; failed rows
    come last, in trial order.
    """
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
            lines.append(f"trial {r['trial']} {r['status']}: {r['error']}")
    if result.best is not None:
        best = ", ".join(f"{k}={v!r}" for k, v in result.best_params.items())
        lines.append(
            f"best: trial {result.best['trial']} "
            f"({result.metric}={_fmt(result.best[result.metric])}): {best}"
        )
    note = retrain_note(result)
    if note:
        lines.append(note)
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
