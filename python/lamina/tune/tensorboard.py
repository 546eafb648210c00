"""A sweep for TensorBoard's HParams dashboard: each trial's hyperparameters and curves.

``write_tensorboard(result, log_dir)`` writes one TensorBoard run per trial
(``<log_dir>/trial_007``) holding the trial's point of the space (its *session*), every
curve it reported as a scalar per epoch (``loss``, ``val_loss``, ``val_accuracy``, ...), and
``best_<metric>``, the value the sweep ranked it by; and at ``<log_dir>`` itself the
experiment: the hyperparameters with the values tried and the metrics. Then
``tensorboard --logdir <log_dir>`` shows the sweep in its HParams tab (table, parallel
coordinates, scatter plots) and every trial's curves in the Scalars tab. The files are
written by the process that ran the sweep, from the curves the trials returned, so the
same works for trials that ran on Dask or Ray workers. Failed trials are left out (they
have no curves; the sweep's table lists their errors).

Needs tensorboardX (``pip install 'lamina[tensorboard]'``).

Example:
    >>> import tempfile
    >>> from lamina import tune
    >>> res = tune.search(lambda p: {"val_loss": [1.0, p["x"]]}, {"x": [0.1, 0.2]},
    ...                   backend="sequential")
    >>> [p.name for p in write_tensorboard(res, tempfile.mkdtemp())]  # doctest: +SKIP
    ['trial_000', 'trial_001']
"""

from __future__ import annotations

import math
import os
from pathlib import Path

__all__ = ["write_tensorboard", "hparam_value"]


def hparam_value(value):
    """A hyperparameter value as TensorBoard's HParams stores it: bool, number or string.

    Example:
        >>> hparam_value(0.5), hparam_value("adam"), hparam_value([32, 32])
        (0.5, 'adam', '[32, 32]')
    """
    if isinstance(value, bool) or isinstance(value, str):
        return value
    if isinstance(value, int):
        return float(value) if abs(value) >= 2 ** 53 else value
    if isinstance(value, float):
        return value
    try:
        import numpy as np

        if isinstance(value, np.generic):
            return hparam_value(value.item())
    except ImportError:  # pragma: no cover - numpy is a dependency
        pass
    return str(value)


def write_tensorboard(result, log_dir: str | os.PathLike) -> list[Path]:
    """Writes a finished sweep as TensorBoard HParams runs (see the module docstring).

    Args:
        result: What ``lamina.tune.search`` returned.
        log_dir: The folder to give ``tensorboard --logdir``.

    Returns:
        The trial folders written, in trial order.

    Raises:
        ImportError: tensorboardX is not installed (one line naming the package).
    """
    from ..callbacks.tensorboard import require_tensorboardx, summary_writer

    require_tensorboardx("writing a sweep for TensorBoard")
    from tensorboardX.summary import hparams

    root = Path(log_dir)
    rows = sorted((r for r in result if r["status"] == "ok"), key=lambda r: r["trial"])
    keys = list(result.keys)
    width = max(3, len(str(max((r["trial"] for r in result), default=0))))
    best_tag = f"best_{result.metric}"
    seen: list[str] = []
    for r in rows:
        seen += [k for k in r["curves"] if k not in seen]
    # the ranking value first, then validation, training and test curves (the table's columns)
    order = {"val": 0, "test": 2}
    metrics = [best_tag] + sorted(seen, key=lambda k: order.get(k.split("_")[0], 1))
    written = []
    for r in rows:
        params = {k: hparam_value(r[k]) for k in keys}
        last = {m: float(r[result.metric]) if m == best_tag else _last(r["curves"].get(m))
                for m in metrics}
        exp, ssi, sei = hparams(params, last)
        folder = root / f"trial_{r['trial']:0{width}d}"
        writer = summary_writer(folder)
        fw = writer._get_file_writer()
        fw.add_summary(ssi)
        for key, values in r["curves"].items():
            for epoch, v in enumerate(values):
                writer.add_scalar(key, float(v), epoch)
        writer.add_scalar(best_tag, float(r[result.metric]), 0)
        fw.add_summary(sei)
        writer.close()
        written.append(folder)
        experiment = exp
    if rows:  # the experiment (hyperparameters and metrics) once, at the root
        writer = summary_writer(root)
        writer._get_file_writer().add_summary(experiment)
        writer.close()
    return written


def _last(values) -> float:
    if not values:
        return math.nan
    return float(values[-1])
