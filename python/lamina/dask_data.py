"""Dask arrays and DataFrames as ``fit`` / ``evaluate`` / ``predict`` data, computed one
partition at a time so that the data never has to fit in memory.

``model.fit(x, y)`` with Dask collections (x, y and sample_weight all Dask arrays,
DataFrames or Series with the same partitions, e.g. ``ddf[features]`` and ``ddf["label"]``)
streams their partitions: each epoch computes one partition at a time (x, y and
sample_weight in one ``dask.compute``, so a source they share is read once; the next
partition is computed in a background thread while the current one trains, so at most two
are in memory), forms the batches within that partition and drops it before the next.

Shuffling (``shuffle=True``) has two levels, both seeded by the model's seed: the order of
the partitions is permuted every epoch, and the rows within each partition are permuted with
the permutation an in-memory fit uses (``_core.permutation``, keyed by the optimizer's step
count when the partition starts). A batch never spans two partitions, so each partition's
last batch may be smaller than ``batch_size``. With ``shuffle=False`` the partitions and
their rows keep their order. A fit on a Dask array with one partition equals the fit on
the same numpy array bit for bit, shuffled or not.

The training loop reads its data as an iterable of numpy ``(x, y, sample_weight)`` batches
per epoch (`DaskData.batches`), so another source of batches can drive it alike.
``predict`` returns a numpy array (as Keras does for any input), computed partition by
partition.

Example:
    >>> import numpy as np
    >>> is_dask_collection(np.zeros(3))
    False
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import callbacks as callbacks_mod
from .batches import Batches
from .fit_info import fit_info, has_penalty, stop_info
from .optimizers.schedules import _learning_rate_at as learning_rate_at
from .sigint import SigintGuard

__all__ = ["DaskData", "is_dask_collection", "fit_dask", "evaluate_dask", "predict_dask"]


def is_dask_collection(obj) -> bool:
    """Whether ``obj`` is a Dask collection (checked without importing dask)."""
    return (hasattr(type(obj), "__dask_graph__")
            and type(obj).__module__.partition(".")[0] in ("dask", "dask_expr"))


def _layout(name, obj):
    """``(partitions, row counts or None where unknown, divisions or None)`` of a Dask array
    (its row blocks), DataFrame or Series."""
    import dask.array as da

    if isinstance(obj, da.Array):
        if obj.ndim == 0:
            raise ValueError(f"{name} is a 0-d Dask array: need one row per sample")
        rows = [None if math.isnan(c) else int(c) for c in obj.chunks[0]]
        return obj.numblocks[0], rows, None
    if _is_frame(obj):
        divisions = tuple(obj.divisions) if obj.known_divisions else None
        return int(obj.npartitions), [None] * int(obj.npartitions), divisions
    raise TypeError(f"{name} is a Dask {type(obj).__name__}: lamina reads Dask arrays, "
                    "DataFrames and Series (convert other collections to one of them)")


def _is_frame(obj):
    try:
        import dask.dataframe as dd
    except ImportError:  # dask without its DataFrame requirements (pandas, pyarrow)
        return False
    return isinstance(obj, (dd.DataFrame, dd.Series))


def _partition(obj, i):
    return obj.partitions[i] if _is_frame(obj) else obj.blocks[i]


class DaskData:
    """``x`` and optional ``y`` / ``sample_weight`` Dask collections with the same
    partitions, computed one partition at a time.

    Args:
        x: A Dask array (rows are split by its row blocks), DataFrame or Series.
        y: Targets, a Dask collection partitioned like x. Defaults to `None`.
        sample_weight: Weights, a Dask collection partitioned like x. Defaults to `None`.
        prefix: Put before the names in messages ("validation "). Defaults to `""`.
    """

    def __init__(self, x, y=None, sample_weight=None, prefix=""):
        named = [(f"{prefix}{n}", v) for n, v in
                 (("x", x), ("y", y), ("sample_weight", sample_weight)) if v is not None]
        for n, v in named:
            if not is_dask_collection(v):
                kinds = ", ".join(f"{m} is a {type(w).__module__.partition('.')[0]} "
                                  f"{type(w).__name__}" for m, w in named)
                raise TypeError(f"{n} is not a Dask collection: streaming Dask data needs x, y "
                                "and sample_weight all as Dask collections with the same "
                                f"partitions (e.g. ddf[features] and ddf['label']); {kinds}")
        self.prefix = prefix
        self.present = [v is not None for v in (x, y, sample_weight)]
        self.sources = [v for _, v in named]
        self.names = [n for n, _ in named]
        layouts = [_layout(n, v) for n, v in named]
        self.n_parts, rows, divisions = layouts[0]
        for n, (k, r, d) in zip(self.names[1:], layouts[1:]):
            if k != self.n_parts:
                raise ValueError(f"{n} has {k} partitions but {self.names[0]} has "
                                 f"{self.n_parts}: give them the same partitions (rechunk or "
                                 "repartition them alike, or take both from one DataFrame)")
            if d is not None and divisions is not None and d != divisions:
                raise ValueError(f"{n} and {self.names[0]} have different divisions: "
                                 "partition them alike")
            for i, (a, b) in enumerate(zip(rows, r)):
                if a is not None and b is not None and a != b:
                    raise ValueError(f"partition {i}: {self.names[0]} has {a} rows but {n} "
                                     f"has {b}: give them the same chunks along the rows")
            rows = [a if a is not None else b for a, b in zip(rows, r)]
        if self.n_parts == 0:
            raise ValueError(f"{self.names[0]} has no partitions: need at least one sample")
        self.rows = rows

    def steps(self, batch_size):
        """Batches per epoch (a batch never spans partitions), or None while unknown."""
        if any(r is None for r in self.rows):
            return None
        return sum(-(-r // batch_size) for r in self.rows)

    def compute(self, i):
        """Partition ``i`` as a ``(x, y or None, sample_weight or None)`` tuple of in-memory
        objects, or None when it is empty."""
        import dask

        got = iter(dask.compute(*[_partition(v, i) for v in self.sources]))
        parts = tuple(next(got) if p else None for p in self.present)
        lengths = {n: len(v) for n, v in zip(self.names, (p for p in parts if p is not None))}
        if len(set(lengths.values())) > 1:
            desc = ", ".join(f"{n} has {k}" for n, k in lengths.items())
            raise ValueError(f"partition {i} has different lengths: {desc} rows")
        if self.rows[i] is None:
            self.rows[i] = next(iter(lengths.values()))
        return parts if self.rows[i] else None

    def order(self, shuffle, seed, key):
        """The partitions' order for an epoch: permuted (seeded by ``seed`` and ``key``)
        when shuffling."""
        if not shuffle:
            return list(range(self.n_parts))
        return [int(i) for i in np.random.default_rng((seed, key)).permutation(self.n_parts)]

    def computed(self, order):
        """Yields the non-empty partitions of ``order``; the next is computed in a
        background thread while the caller works on the current one."""
        order = list(order)
        if not order:
            return
        with ThreadPoolExecutor(1, thread_name_prefix="lamina-dask") as pool:
            pending = pool.submit(self.compute, order[0])
            for k in range(len(order)):
                got = pending.result()
                if k + 1 < len(order):
                    pending = pool.submit(self.compute, order[k + 1])
                if got is not None:
                    yield got

    def batches(self, model, batch_size, shuffle, class_weight=None):
        """Yields one epoch's numpy ``(x, y, sample_weight)`` training batches, prepared by the
        model (cast, targets checked, class weights applied) one partition at a time."""
        opt = model.optimizer
        seed = model._shuffle_seed
        for part in self.computed(self.order(shuffle, seed, opt.iterations)):
            xt, yt, sw = model._prepare_xy(*part, class_weight)
            self.chunk = (xt, yt, sw)  # the partition in training (fit_info reads the first)
            prepared = Batches(xt, yt, sw, batch_size, shuffle)
            # Keyed like an in-memory epoch: by the optimizer's step count at its start.
            for _, xb, yb, swb in prepared.epoch(seed, opt.iterations):
                yield xb, yb, swb


class _Interrupt(SigintGuard):
    """Ctrl-C during a streamed fit: stop after the current step (a second one aborts)."""

    def __init__(self, model):
        self.model = model
        self.hit = False

    def _handler(self, signum, frame):
        if self.hit:
            raise KeyboardInterrupt
        self.hit = True
        self.model.stop_training = True


def _validation(model, validation_data):
    """``validation_data`` checked: a ``DaskData`` or the model's prepared arrays."""
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        what = type(validation_data).__name__
        if isinstance(validation_data, (tuple, list)):
            what += f" of length {len(validation_data)}"
        raise ValueError("validation_data must be (x_val, y_val) or (x_val, y_val, "
                         f"sample_weight_val), got a {what}")
    vsw = validation_data[2] if len(validation_data) == 3 else None
    args = (validation_data[0], validation_data[1], vsw)
    if any(is_dask_collection(a) for a in args):
        return DaskData(*args, prefix="validation ")
    return model._prepare_xy(*args, prefix="validation ")


def _evaluate_stream(model, data, batch_size, cbl=None):
    """Loss and metrics over every partition of ``data`` (a DaskData), as evaluate's logs;
    the row count is stored in ``data.seen``."""
    net = model._network_for("train")
    loss_sum = w_sum = 0.0
    msums = [0.0] * len(model._metrics)
    hooks = cbl is not None and cbl.has_test_batch_hooks
    n = b = 0
    for part in data.computed(range(data.n_parts)):
        xt, yt, sw = model._prepare_xy(*part, prefix=data.prefix)
        for s in range(0, xt.shape[0], batch_size):
            e = min(xt.shape[0], s + batch_size)
            if hooks:
                cbl.on_test_batch_begin(b, {"size": e - s})
            r = net.evaluate(xt[s:e], yt[s:e], None if sw is None else sw[s:e])
            loss_sum += r[0] * (e - s)
            w_sum += r[1]
            for j in range(len(msums)):
                msums[j] += r[2 + j]
            n += e - s
            if hooks:
                cbl.on_test_batch_end(b, {"loss": loss_sum / n})
            b += 1
    if n == 0:
        raise ValueError(f"{data.names[0]} has no rows: every partition is empty")
    data.seen = n
    logs = {"loss": loss_sum / n}
    for m, s in zip(model._metrics, msums):
        logs[m.name] = s / w_sum if w_sum else 0.0
    return logs


def evaluate_dask(model, x, y, sample_weight, batch_size, cbl):
    """``model.evaluate`` on Dask collections: ``(logs, rows)``."""
    data = DaskData(x, y, sample_weight)
    logs = _evaluate_stream(model, data, batch_size, cbl)
    return logs, data.seen


def predict_dask(model, x, batch_size, cbl):
    """``model.predict`` on a Dask array or DataFrame: a numpy array, computed partition by
    partition."""
    data = DaskData(x)
    hooks = cbl.has_predict_batch_hooks
    outs = []
    b = 0
    for (part, _, _) in data.computed(range(data.n_parts)):
        xt = model._prepare_x(part)
        predict = model._network_for("infer").predict
        n = xt.shape[0]
        out = np.empty((n, model._out_dim()), dtype=model.dtype)
        for s in range(0, n, batch_size):
            if hooks:
                cbl.on_predict_batch_begin(b, {"size": min(batch_size, n - s)})
            predict(xt[s:s + batch_size], out[s:s + batch_size])
            if hooks:
                cbl.on_predict_batch_end(b, {"outputs": out[s:s + batch_size]})
            b += 1
        outs.append(out)
    if not outs:
        raise ValueError("x has no rows: every partition is empty")
    return outs[0] if len(outs) == 1 else np.concatenate(outs)


def fit_dask(model, x, y, sample_weight, *, batch_size, epochs, verbose, callbacks,
             validation_split, validation_data, shuffle, class_weight, initial_epoch,
             validation_batch_size, validation_freq):
    """``model.fit`` on Dask collections (arguments checked by fit; see the module docstring
    for the streaming and shuffling)."""
    if validation_split:
        raise ValueError(f"validation_split={validation_split!r} is not supported with Dask "
                         "data (its last rows are not known without computing every "
                         "partition): pass validation_data")
    data = DaskData(x, y, sample_weight)
    val = None if validation_data is None else _validation(model, validation_data)

    history = callbacks_mod.History()
    cbs = ([callbacks_mod.ProgbarLogger()] if verbose else []) + callbacks + [history]
    params = {"epochs": epochs, "steps": data.steps(batch_size), "verbose": verbose}
    cbl = callbacks_mod.CallbackList(cbs, model, params)
    hooks = cbl.has_train_batch_hooks
    metric_names = []  # resolved with the network, by the first partition
    opt = model.optimizer
    history.interrupted = False
    history.fit_info = {}
    model.stop_training = False
    model.history = history
    net = penalized = info = None
    logs = None
    with _Interrupt(model) as interrupt:
        cbl.on_train_begin()
        for epoch in range(initial_epoch, epochs):
            if model.stop_training:
                history.interrupted = interrupt.hit
                break
            cbl.on_epoch_begin(epoch)
            schedule = opt.schedule
            lr = float(opt.learning_rate)
            results, sizes = [], []
            run_loss = run_w = 0.0
            run_m = None
            b = seen = 0
            for xb, yb, swb in data.batches(model, batch_size, shuffle, class_weight):
                if net is None:  # the model is built by its first partition
                    net = model._network_for("train")
                    penalized = has_penalty(model._spec)
                    metric_names = [m.name for m in model._metrics]
                    info = fit_info(model, net, *data.chunk, batch_size,
                                    val if isinstance(val, tuple) else None)
                it = opt.iterations
                size = xb.shape[0]
                if hooks:
                    cbl.on_train_batch_begin(b, {"size": size})
                    lr = float(opt.learning_rate)
                elif schedule is not None:
                    lr = learning_rate_at(schedule, it)
                r = net.train_step(xb, yb, swb, lr, it + 1)
                if penalized:
                    r = (*r, net.last_penalty)
                opt.iterations = it + 1
                results.append(r)
                sizes.append(size)
                if hooks:
                    run_m = run_m or [0.0] * len(metric_names)
                    seen += size
                    run_loss += r[0] * size
                    run_w += r[1]
                    blogs = {"loss": run_loss / seen}
                    for j, name in enumerate(metric_names):
                        run_m[j] += r[2 + j]
                        blogs[name] = run_m[j] / run_w if run_w else 0.0
                    blogs["batch_loss"] = r[0]
                    cbl.on_train_batch_end(b, blogs)
                b += 1
                if model.stop_training:
                    break
            if interrupt.hit:
                history.interrupted = True
                break
            if params["steps"] is None and not model.stop_training:
                params["steps"] = b  # known after the first whole pass
            if not results and net is None:
                raise ValueError("x has no rows: every partition is empty")
            logs = model._epoch_logs(results, sizes, metric_names, penalized)
            if val is not None and (epoch + 1) % validation_freq == 0:
                cbl.on_test_begin()
                vbs = validation_batch_size or batch_size
                if isinstance(val, DaskData):
                    vlogs = _evaluate_stream(model, val, vbs, cbl)
                    info["validation_samples"] = val.seen
                else:
                    vlogs = model._evaluate_prepared(*val, vbs, cbl)
                if penalized:
                    vlogs["data_loss"] = vlogs["loss"] - net.last_penalty
                cbl.on_test_end(vlogs)
                logs.update({f"val_{k}": v for k, v in vlogs.items()})
            logs["learning_rate"] = float(opt.learning_rate)
            cbl.on_epoch_end(epoch, logs)
        cbl.on_train_end(logs)
    if info is not None and all(r is not None for r in data.rows):
        info["samples"] = sum(data.rows)  # fit_info counted the first partition's
    history.fit_info = {**(info or {}), **stop_info(callbacks)}
    if history.interrupted:
        import sys

        print(f"lamina: training interrupted (Ctrl-C) after {len(history.epoch)} complete "
              "epoch(s); the model keeps the weights of the last step", file=sys.stderr)
    return history
