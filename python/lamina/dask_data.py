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

fit's one training loop reads these batches through the data adapters
(`lamina.data_adapters`: `DaskTrain`, `DaskEval`), as it reads arrays and generators.
``predict`` returns a numpy array (as Keras does for any input), computed partition by
partition.

Example:
    >>> import numpy as np
    >>> is_dask_collection(np.zeros(3))
    False
"""

from __future__ import annotations

import math
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .batches import Batches

__all__ = ["DaskData", "DaskTrain", "DaskEval", "is_dask_collection", "train_data",
           "eval_data", "predict_dask"]


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
    # A Dask DataFrame exists only once dask.dataframe is imported: look it up rather than
    # import it (importing it needs pandas and pyarrow, and older dask warns without dask-expr)
    dd = sys.modules.get("dask.dataframe")
    return dd is not None and isinstance(obj, (dd.DataFrame, dd.Series))


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
        self.kept = None  # (index, partition) computed once ahead, used by the next compute

    def steps(self, batch_size):
        """Batches per epoch (a batch never spans partitions), or None while unknown."""
        if any(r is None for r in self.rows):
            return None
        return sum(-(-r // batch_size) for r in self.rows)

    def compute(self, i):
        """Partition ``i`` as a ``(x, y or None, sample_weight or None)`` tuple of in-memory
        objects, or None when it is empty."""
        if self.kept is not None and self.kept[0] == i:  # computed ahead by DaskTrain.first
            parts, self.kept = self.kept[1], None
            return parts
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

    def batches(self, model, batch_size, shuffle, class_weight, seed, key):
        """Yields one epoch's numpy ``(x, y, sample_weight)`` training batches, prepared by the
        model (cast, targets checked, class weights applied) one partition at a time.
        ``seed`` and ``key`` (the optimizer's step count at the epoch's start) seed the
        shuffles; each partition's rows are keyed by the step count at its start, as an
        in-memory epoch is."""
        for part in self.computed(self.order(shuffle, seed, key)):
            xt, yt, sw = model._prepare_xy(*part, class_weight, fit=True)
            prepared = Batches(xt, yt, sw, batch_size, shuffle)
            for _, xb, yb, swb in prepared.epoch(seed, key):
                key += 1
                yield xb, yb, swb


class DaskTrain:
    """fit's training data from Dask collections, as the data adapters give it
    (`lamina.data_adapters`): ``epoch(seed, key)`` yields ``(b, x, y, sample_weight)`` and
    fills ``sizes``; ``steps`` is the batches per epoch (None until every partition's length
    is known, after the first pass); ``samples`` the rows (None while unknown).

    Args:
        model: The model (prepares each partition).
        data: The `DaskData`.
        batch_size: Rows per step.
        shuffle: Permute the partitions and the rows within each.
        class_weight: ``{class: weight}`` or None.
    """

    def __init__(self, model, data, batch_size, shuffle, class_weight):
        self.model, self.data = model, data
        self.batch_size, self.shuffle, self.class_weight = batch_size, shuffle, class_weight
        self.steps = data.steps(batch_size)
        self.sizes = []

    @property
    def samples(self):
        """Rows of x, or None while a partition's length is unknown."""
        rows = self.data.rows
        return None if any(r is None for r in rows) else int(sum(rows))

    def first(self):
        """The first non-empty partition, prepared (it builds the model; fit_info reads it)."""
        for i in range(self.data.n_parts):
            part = self.data.compute(i)
            if part is not None:
                self.data.kept = (i, part)  # the first epoch reuses it, not computes it again
                return self.model._prepare_xy(*part, self.class_weight, fit=True)
        raise ValueError(f"{self.data.names[0]} has no rows: every partition is empty")

    def epoch(self, seed, key):
        """Yields ``(batch index, x, y, sample_weight)`` for one epoch."""
        sizes = self.sizes
        sizes.clear()
        b = -1
        for b, (xb, yb, swb) in enumerate(self.data.batches(
                self.model, self.batch_size, self.shuffle, self.class_weight, seed, key)):
            sizes.append(xb.shape[0])
            yield b, xb, yb, swb
        if self.steps is None and not self.model.stop_training:
            self.steps = b + 1  # known after the first whole pass


class DaskEval:
    """Evaluation data from Dask collections (validation_data, evaluate's x), with the data
    adapters' interface: ``batches(batch_size)`` yields prepared ``(x, y, sample_weight)``
    slices one partition at a time; ``seen`` is the rows of the last evaluation.

    Args:
        model: The model (prepares each partition).
        data: The `DaskData`.
        batch_size: Rows per core call (None: the caller's). Defaults to `None`.
    """

    def __init__(self, model, data, batch_size=None):
        self.model, self.data, self.batch_size = model, data, batch_size
        self.seen = 0

    @property
    def samples(self):
        """Rows, or None while a partition's length is unknown."""
        rows = self.data.rows
        return None if any(r is None for r in rows) else int(sum(rows))

    def num_steps(self, batch_size=None):
        """Batches of one evaluation (None when unknown)."""
        return self.data.steps(self.batch_size or batch_size)

    def batches(self, batch_size=None):
        """Yields ``(x, y, sample_weight)`` batches of every partition, in order."""
        bs = self.batch_size or batch_size
        data = self.data
        self.seen = 0
        for part in data.computed(range(data.n_parts)):
            xt, yt, sw = self.model._prepare_xy(*part, prefix=data.prefix)
            for s in range(0, xt.shape[0], bs):
                e = min(xt.shape[0], s + bs)
                self.seen += e - s
                yield xt[s:e], yt[s:e], None if sw is None else sw[s:e]
        if self.seen == 0:
            raise ValueError(f"{data.names[0]} has no rows: every partition is empty")


def train_data(model, x, y, sample_weight, class_weight, batch_size, shuffle,
               steps_per_epoch, validation_split):
    """fit's training data for Dask collections, as `lamina.data_adapters.train_data`
    returns it: ``(DaskTrain, first partition prepared, batch_size, None)``."""
    for name, value in (("validation_split", validation_split),
                        ("steps_per_epoch", steps_per_epoch)):
        if value:
            raise ValueError(f"{name}={value!r} is not supported with Dask data (its rows "
                             "are not known without computing every partition): "
                             + ("pass validation_data" if name == "validation_split" else
                                "an epoch is one pass over the partitions"))
    batch_size = 32 if batch_size is None else batch_size
    data = DaskTrain(model, DaskData(x, y, sample_weight), batch_size, bool(shuffle),
                     class_weight)
    return data, data.first(), batch_size, None


def eval_data(model, x, y, sample_weight, batch_size=None, prefix=""):
    """evaluate's (or validation's) data for Dask collections: a `DaskEval`."""
    return DaskEval(model, DaskData(x, y, sample_weight, prefix=prefix), batch_size)


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
