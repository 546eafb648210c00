"""The compiled metrics of a model and the log entries they give (Keras 3's CompileMetrics).

``compile(metrics=..., weighted_metrics=...)`` resolves to one ``CompiledMetrics``:

- Names as Keras 3 logs them: a name repeated within ``metrics`` gets ``_1``, ``_2`` …;
  a weighted metric whose name is taken gets the ``weighted_`` prefix (then ``_1`` …).
- ``metrics`` are unweighted (sample and class weights do not weight them), and
  ``weighted_metrics`` are weighted by them, as in Keras 3.
- The common metrics (accuracies, top-k, mse, mae: ``Metric.core_spec()``) are summed in
  the core's step, each with its ``weighted`` flag: the step returns
  ``(loss, weight_sum, metric_sum_0, …)``, and an unweighted sum is over the rows with
  weight 1. Every other metric is a numpy ``Metric`` updated with that step's outputs,
  which the core copies into a reused buffer (``outputs=``) during the step's own forward
  pass: no second forward.

The trainer asks only for ``core_specs()`` (into the network spec), ``wrap(step)`` (the core
call that also feeds the numpy metrics), ``reset()`` at the start of a pass and
``logs(results, sizes)`` at its end.

Example:
    >>> cm = CompiledMetrics(["mae", "mae", "auc"], ["mae", "mse"], "mse", 1)
    >>> cm.names
    ['mae', 'mae_1', 'auc', 'weighted_mae', 'mse']
    >>> [s["weighted"] for s in cm.core_specs()]
    [False, False, True, True]
"""

from __future__ import annotations

import numpy as np

from . import metrics as metrics_mod

__all__ = ["CompiledMetrics", "log_names", "flatten_ids"]


def flatten_ids(group, what):
    """A compile argument (None, one metric or a list) as a list of identifiers."""
    if group is None:
        return []
    if isinstance(group, (str, metrics_mod.Metric)) or callable(group):
        return [group]
    if isinstance(group, dict):
        raise ValueError(f"{what} as a dict is for multi-output models; pass a list, got "
                         f"{group!r}")
    if not isinstance(group, (list, tuple)):
        raise ValueError(f"{what} must be a list of metrics, got {group!r}")
    return [m for m in group if m is not None]


def log_names(names, weighted_names):
    """Keras 3's log keys for ``metrics`` then ``weighted_metrics`` (CompileMetrics.result).

    Example:
        >>> log_names(["acc", "acc"], ["acc", "acc", "mse"])
        ['acc', 'acc_1', 'weighted_acc', 'weighted_acc_1', 'mse']
    """
    counters, out = {}, []
    for name in names:
        if name not in counters:
            counters[name] = 1
            out.append(name)
        else:
            out.append(f"{name}_{counters[name]}")
            counters[name] += 1
    for name in weighted_names:
        if name not in counters:
            counters[name] = 1
            out.append(name)
            continue
        name = f"weighted_{name}"
        if name not in counters:
            counters[name] = 1
        else:
            index = counters[name]
            counters[name] += 1
            name = f"{name}_{index}"
        out.append(name)
    return out


class CompiledMetrics:
    """The metrics of one compile, resolved for a loss and an output size.

    Args:
        metrics: ``compile``'s ``metrics`` (identifiers ``metrics.get`` takes).
        weighted_metrics: ``compile``'s ``weighted_metrics``.
        loss: The compiled loss (for "accuracy").
        out_dim: The model's output size (for "accuracy"), or None.
    """

    def __init__(self, metrics, weighted_metrics, loss, out_dim):
        plain = [metrics_mod.get(m, loss=loss, output_dim=out_dim) for m in metrics]
        weighted = [metrics_mod.get(m, loss=loss, output_dim=out_dim)
                    for m in weighted_metrics]
        for m in plain + weighted:
            if type(m) in (metrics_mod.Mean, metrics_mod.Sum):
                raise ValueError(f"{type(m).__name__} takes values, not (y_true, y_pred), so "
                                 "it cannot be a compiled metric: wrap a function "
                                 "fn(y_true, y_pred) in MeanMetricWrapper or pass it directly")
        self.names = log_names([m.name for m in plain], [m.name for m in weighted])
        # (log name, metric, weighted, core spec or None), in log order
        self.entries = [(n, m, w, m.core_spec()) for n, m, w in zip(
            self.names, plain + weighted, [False] * len(plain) + [True] * len(weighted))]
        for name in self.names:
            if name == "loss" or name.startswith("val_"):
                raise ValueError(f"metric name {name!r} clashes with the loss's log keys: "
                                 "give the metric another name")
        self._core = [e for e in self.entries if e[3] is not None]
        self._numpy = [(m, w) for _, m, w, spec in self.entries if spec is None]
        self.needs_outputs = bool(self._numpy)

    @property
    def metrics(self) -> list:
        """The metric objects in log order."""
        return [e[1] for e in self.entries]

    @property
    def needs_labels(self) -> bool:
        """Whether a core metric takes integer labels (a sparse accuracy)."""
        return any(spec["name"] in metrics_mod.SPARSE_METRICS for _, _, _, spec in self._core)

    def check_targets(self, sparse_loss, loss_name):
        """Raises when a core metric needs the other kind of targets than the loss gives."""
        for name, _, _, spec in self._core:
            if (spec["name"] in metrics_mod.SPARSE_METRICS) != sparse_loss:
                raise ValueError(
                    f"metric {name!r} ({spec['name']}) needs "
                    f"{'integer labels' if not sparse_loss else 'one-hot targets'}, but the "
                    f"loss {loss_name} takes "
                    f"{'integer labels' if sparse_loss else 'dense targets'}")

    def core_specs(self) -> list:
        """The core metrics' entries of the network spec, each with its ``weighted`` flag."""
        return [{**spec, "weighted": w} for _, _, w, spec in self._core]

    def reset(self) -> None:
        """Starts a pass (an epoch, an evaluation): forgets the numpy metrics' state."""
        for m, _ in self._numpy:
            m.reset_state()

    def wrap(self, step, out_dim, dtype):
        """``step`` (the core's train_step or evaluate) also updating the numpy metrics.

        The wrapper takes the same ``(x, y, sample_weight, *rest)`` and returns the same
        tuple; the core writes the step's outputs into a buffer reused across calls.
        Without numpy metrics it is ``step`` itself.
        """
        if not self._numpy:
            return step
        numpy_metrics = self._numpy
        buf = [np.empty((0, out_dim), dtype=dtype)]

        def stepped(x, y, sw, *rest):
            m = x.shape[0]
            if buf[0].shape[0] < m:
                buf[0] = np.empty((m, out_dim), dtype=dtype)
            out = buf[0][:m]
            r = step(x, y, sw, *rest, outputs=out)
            for metric, weighted in numpy_metrics:
                metric.update_state(y, out, sw if weighted else None)
            return r

        return stepped

    def logs(self, results, sizes, in_order=False) -> dict:
        """The pass's logs: ``loss`` and each metric, from the core's per-step results.

        Args:
            results: The step results ``(loss, weight_sum, metric_sum_0, …)``, in order
                (entries after the metric sums are ignored).
            sizes: Rows of each step (the loss is a mean over rows).
            in_order: Sum the steps one after the other (evaluate's order) instead of
                with numpy (fit's). Defaults to `False`.
        """
        if not len(results):
            return {"loss": float("nan"), **{e[0]: float("nan") for e in self.entries}}
        k = len(results)
        if in_order:
            n = float(sum(sizes[:k]))
            loss = 0.0
            for r, rows in zip(results, sizes):
                loss += r[0] * rows
            sums = [0.0] * (2 + len(self._core))
            for r in results:
                for j in range(1, len(sums)):
                    sums[j] += r[j]
            loss /= n
        else:
            arr = np.asarray(results, dtype=np.float64)[:, :2 + len(self._core)]
            rows = np.asarray(sizes[:k], dtype=np.float64)
            n = float(rows.sum())
            loss = float(np.dot(arr[:, 0], rows) / n)
            sums = [float(arr[:, j].sum()) for j in range(arr.shape[1])]
        return self._fill({"loss": loss}, sums, n)

    def running(self):
        """An accumulator of batch logs (the running values after each step)."""
        return _Running(self)

    def _fill(self, logs, sums, rows):
        j = 2
        for name, metric, weighted, spec in self.entries:
            if spec is None:
                logs[name] = _py(metric.result())
                continue
            denom = sums[1] if weighted else rows
            logs[name] = float(sums[j] / denom) if denom else 0.0
            j += 1
        return logs


class _Running:
    """Running sums of the steps so far; ``add(result, rows)`` returns the batch logs."""

    def __init__(self, compiled):
        self._compiled = compiled
        self._sums = [0.0] * (2 + len(compiled._core))
        self._loss = 0.0
        self._rows = 0

    def add(self, r, rows) -> dict:
        sums = self._sums
        self._rows += rows
        self._loss += r[0] * rows
        for j in range(1, len(sums)):
            sums[j] += r[j]
        return self._compiled._fill({"loss": self._loss / self._rows}, sums, self._rows)


def _py(value):
    """A metric result as a log value: a float, or a list for a vector result."""
    arr = np.asarray(value, dtype=np.float64)
    return float(arr) if arr.ndim == 0 else arr.tolist()
