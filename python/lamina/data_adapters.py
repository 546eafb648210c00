"""The data of fit / evaluate / predict as batches, whatever the user passed (Keras 3's
data adapters and ``EpochIterator``).

Arrays keep the fast path of `lamina.batches.Batches` (cast once, views per batch). The
general case is a *batch source*: a Python generator or any iterator, a re-iterable of
batches (a list of ``(x, y)`` tuples, a torch ``DataLoader``), or a `PyDataset` (lamina's or
Keras's), each batch ``(x, y)`` or ``(x, y, sample_weight)`` (``x`` or ``(x,)`` for
predict). Its batches are checked and cast one by one on a background thread
(`lamina.prefetch`) while the core trains on the previous one.

Epochs follow Keras 3's ``EpochIterator``:

- Without ``steps_per_epoch`` an epoch is one pass: all the arrays' batches, a PyDataset's
  ``num_batches``, an iterable until it ends. A generator is read once: when it has run out
  and epochs remain, fit warns ("Your input ran out of data") and stops.
- With ``steps_per_epoch`` an epoch is that many batches and the next epoch continues where
  it stopped (arrays and PyDatasets start a new, reshuffled pass once the pass is used up).
  A pass that runs out inside an epoch ends the epoch early, with the same warning.
- An endless PyDataset (``num_batches`` None) needs ``steps_per_epoch``.

Example:
    >>> import numpy as np
    >>> import lamina
    >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)], seed=0)
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> def batches():
    ...     for _ in range(3):
    ...         yield np.ones((4, 2)), np.zeros((4, 1))
    >>> len(model.fit(batches(), verbose=0).history["loss"])
    1
"""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np

from . import _core, dask_data
from ._validation import check_int
from .batches import Batches
from .prefetch import ordered_map, prefetch
from .py_dataset import is_py_dataset

__all__ = ["is_batch_source", "train_data", "validation_data_source", "eval_data",
           "predict_batches", "ArraySteps", "BatchStream", "RAN_OUT"]

RAN_OUT = ("Your input ran out of data; interrupting training. Make sure that your dataset "
           "or generator can generate at least `steps_per_epoch * epochs` batches.")
# Batches prepared ahead of the step being trained (a PyDataset's max_queue_size wins).
_DEPTH = 2


def is_batch_source(x, y=None) -> bool:
    """True when ``x`` holds batches rather than samples: a generator or iterator, a
    PyDataset, another non-array iterable, or (when ``y`` is None) a list or tuple of
    ``(x, y)`` batches."""
    if x is None or isinstance(x, (np.ndarray, str, bytes, dict)):
        return False
    if is_py_dataset(x):
        return True
    if isinstance(x, (list, tuple)):  # a list of batches of arrays; nested lists are samples
        return (y is None and bool(x) and isinstance(x[0], (tuple, list)) and bool(x[0])
                and hasattr(x[0][0], "__array__"))
    # numpy-likes (torch tensors, Dask and pandas objects) are arrays of samples
    if hasattr(x, "__array__") or hasattr(x, "__array_interface__") or hasattr(x, "to_numpy"):
        return False
    return hasattr(x, "__iter__") or hasattr(x, "__next__")


def _one_array_list(v, min_ndim=2) -> bool:
    """A list or tuple holding exactly one array-like of at least ``min_ndim`` dimensions."""
    return (isinstance(v, (list, tuple)) and len(v) == 1 and hasattr(v[0], "__array__")
            and getattr(v[0], "ndim", 0) >= min_ndim)


def describe(x) -> str:
    """How messages name a batch source: "a generator", "a PyDataset (Squares)" …"""
    if is_py_dataset(x):
        return f"a PyDataset ({type(x).__name__})"
    if isinstance(x, (list, tuple)):
        return f"a {type(x).__name__} of batches"
    if hasattr(x, "__next__"):
        return "a generator" if hasattr(x, "gi_frame") else f"an iterator ({type(x).__name__})"
    return f"an iterable ({type(x).__name__})"


def _unpack(item, where, need_y):
    """``(x, y, sample_weight)`` of one batch, or raises naming the batch."""
    if isinstance(item, (tuple, list)):
        n = len(item)
        if need_y and n in (2, 3):
            return item[0], item[1], item[2] if n == 3 else None
        if not need_y and 1 <= n <= 3:
            return item[0], None, None
        want = "(x, y) or (x, y, sample_weight)" if need_y else "x or (x,)"
        raise ValueError(f"{where} is a {type(item).__name__} of length {n}: each batch must be "
                         f"{want}")
    if not need_y and item is not None:
        return item, None, None
    raise ValueError(f"{where} is a {type(item).__name__}, not a tuple: each batch must be "
                     "(x, y) or (x, y, sample_weight)")


def _own(arr, *sources):
    """``arr``, copied when it shares memory with the batch the user yielded (a generator
    may refill one buffer, and batches are prepared ahead of training)."""
    if arr is not None and any(isinstance(s, np.ndarray) and np.may_share_memory(arr, s)
                               for s in sources):
        return arr.copy()
    return arr


class BatchStream:
    """The raw batches of a batch source, epoch by epoch (see the module docstring).

    Args:
        x: The batch source.
        name: How messages name it ("x", "validation_data").
        steps: Batches per epoch (``steps_per_epoch``), or None for one pass.
        shuffle: Reshuffle a PyDataset's batch order every pass (the other sources keep
            their order).
        steps_arg: The argument that sets ``steps``, for messages.
    """

    def __init__(self, x, name, steps, shuffle, steps_arg):
        self.x, self.name, self.steps, self.steps_arg = x, name, steps, steps_arg
        self.shuffle = bool(shuffle)
        self.what = f"{name} ({describe(x)})"
        if is_py_dataset(x):
            self.kind = "dataset"
            nb = x.num_batches
            self.num_batches = None if nb is None else check_int(f"{name}.num_batches", nb, 0)
            if self.num_batches is None and steps is None:
                raise ValueError(f"{self.what} is endless (num_batches is None): pass "
                                 f"{steps_arg}")
            self.workers = int(getattr(x, "workers", 1) or 1)
            self.depth = int(getattr(x, "max_queue_size", 10) or 10)
        else:
            self.kind = "iterator" if hasattr(x, "__next__") else "iterable"
            self.num_batches = None
            self.workers, self.depth = 1, _DEPTH
        self._order = None  # a PyDataset's batch order in the current pass
        self._pos = 0  # batches taken from the current pass
        self._it = None  # the current iterator of an iterable / iterator
        self._pending = []  # raw batches read ahead (the peeked first one)
        self.exhausted = False  # a one-shot iterator has ended
        self.ran_out = False  # the last epoch ended before its steps

    def first(self):
        """The first raw batch (to build the model from); it is still yielded in turn."""
        if self.kind == "dataset":
            if self.num_batches == 0:
                raise ValueError(f"{self.what} has no batch (num_batches is 0)")
            return self.x[0]
        if not self._pending:
            if self._it is None:
                self._it = iter(self.x)
            try:
                self._pending.append(next(self._it))
            except StopIteration:
                raise ValueError(f"{self.what} yielded no batch") from None
        return self._pending[0]

    def epoch(self, seed=0, key=0):
        """An iterator over the raw batches of the next epoch (``(index, batch)`` pairs)."""
        self.ran_out = False
        if self.kind == "dataset":
            return self._dataset_epoch(seed, key)
        steps = self.steps
        if self._it is None or (steps is None and self.kind == "iterable"
                                and not self._pending):
            self._it = iter(self.x)
            self._pending = []
        pending, self._pending = self._pending, []
        rest = self._it if steps is None else itertools.islice(self._it, steps - len(pending))
        return enumerate(itertools.chain(pending, rest))

    def _dataset_epoch(self, seed, key):
        nb, steps = self.num_batches, self.steps
        if self._order is None:
            if nb is None:
                self._order = itertools.count()
            elif self.shuffle and nb > 1:
                self._order = np.asarray(_core.permutation(nb, seed, key)).tolist()
            else:
                self._order = range(nb)
            self._pos = 0
        take = nb if steps is None else steps if nb is None else min(steps, nb - self._pos)
        if nb is None:
            indices = list(itertools.islice(self._order, take))
        else:
            indices = self._order[self._pos:self._pos + take]
        self._pos += take
        if steps is not None and take < steps:
            self.ran_out = True
        if nb is not None and self._pos >= nb:
            self._order = None  # the next epoch starts a new pass
        getitem = self.x.__getitem__
        return enumerate(ordered_map(getitem, indices, self.workers, self.depth))

    def end_epoch(self, got, more_epochs):
        """Records how the epoch that yielded ``got`` batches ended; True when the source
        has no batch left for ``more_epochs``."""
        if self.kind == "dataset":
            return False
        short = self.steps is None or got < self.steps
        if short:
            self._it = None if self.kind == "iterable" else self._it
            if self.steps is not None:
                self.ran_out = True
            if self.kind == "iterator":
                self.exhausted = True
        elif more_epochs:
            try:  # is there a batch left for the next epoch?
                self._pending.append(next(self._it))
            except StopIteration:  # a re-iterable starts a new pass; a generator is done
                self._it = None
                self.exhausted = self.kind == "iterator"
        return self.kind == "iterator" and self.exhausted


class _Prepared:
    """A batch source as prepared ``(x, y, sample_weight)`` batches, one epoch at a time.

    ``prepare(raw, where)`` checks and casts one raw batch (``model._prepare_xy``); it runs
    on the prefetch thread, except for the first batch, which builds the model.
    """

    def __init__(self, stream, prepare):
        self.stream = stream
        self.prepare = prepare
        self.depth = stream.depth

    def _batches(self, seed, key, label):
        prepare, name = self.prepare, self.stream.what

        def produce():
            for i, raw in self.stream.epoch(seed, key):
                yield prepare(raw, f"{label} {i} of {name}")

        return prefetch(produce(), self.depth)


class BatchData(_Prepared):
    """Training batches from a batch source: ``epoch`` yields ``(b, x, y, sample_weight)``
    and fills ``sizes`` (the rows of each batch of the current epoch) as it goes."""

    samples = None  # not known ahead

    def __init__(self, stream, prepare, model, epochs):
        super().__init__(stream, prepare)
        self.model = model
        self.epochs_left = epochs
        self.steps = stream.steps or stream.num_batches or (
            len(stream.x) if isinstance(stream.x, (list, tuple)) else None)
        self.sizes = []

    def epoch(self, seed, key):
        """Yields ``(batch index, x, y, sample_weight)`` for one epoch."""
        sizes = self.sizes
        sizes.clear()
        stream = self.stream
        if stream.kind == "dataset":
            getattr(stream.x, "on_epoch_begin", lambda: None)()
        b = -1
        for b, (xb, yb, swb) in enumerate(self._batches(seed, key, "batch")):
            sizes.append(xb.shape[0])
            yield b, xb, yb, swb
        self.epochs_left -= 1
        done = stream.end_epoch(b + 1, self.epochs_left > 0)
        if stream.kind == "dataset":
            getattr(stream.x, "on_epoch_end", lambda: None)()
        if stream.ran_out or (done and self.epochs_left > 0):
            warnings.warn(RAN_OUT, UserWarning, stacklevel=2)
        if done and self.epochs_left > 0:
            self.model.stop_training = True


class ArraySteps:
    """Array batches with ``steps_per_epoch``: each epoch takes the next ``steps`` batches
    of the current pass, and a new (reshuffled) pass starts when one is used up (Keras 3's
    ``EpochIterator``)."""

    def __init__(self, batches: Batches, steps):
        self.batches = batches
        self.steps = steps
        self.sizes = []
        self._it = None
        self._seen = 0

    def epoch(self, seed, key):
        """Yields ``(batch index, x, y, sample_weight)`` for one epoch."""
        sizes = self.sizes
        sizes.clear()
        nb = self.batches.steps
        if self._it is None:
            self._it = self.batches.epoch(seed, key)
            self._seen = 0
        for j in range(self.steps):
            if self._seen >= nb:
                warnings.warn(RAN_OUT, UserWarning, stacklevel=2)
                break
            _, xb, yb, swb = next(self._it)
            self._seen += 1
            sizes.append(xb.shape[0])
            yield j, xb, yb, swb
        if self._seen >= nb:
            self._it = None


class ArrayEval:
    """Prepared evaluation arrays, batch by batch. With ``steps``, each evaluation takes the
    next ``steps`` batches and the next evaluation continues (Keras 3 keeps fit's
    validation iterator), a pass that runs out ending the evaluation with a warning."""

    def __init__(self, x, y, sw, batch_size=None, steps=None):
        self.x, self.y, self.sw = x, y, sw
        self.batch_size = batch_size
        self.steps = steps
        self.samples = x.shape[0]
        self.seen = 0  # rows of the last evaluation
        self._next = 0  # the batch the next evaluation starts at (with steps)

    def num_steps(self, batch_size=None):
        """Batches of the next evaluation."""
        nb = -(-self.samples // (self.batch_size or batch_size))
        return nb if self.steps is None else min(nb - self._next, self.steps)

    def batches(self, batch_size=None):
        """Yields ``(x, y, sample_weight)`` slices of ``batch_size`` rows."""
        bs = self.batch_size or batch_size
        x, y, sw, n = self.x, self.y, self.sw, self.samples
        nb = -(-n // bs)
        first = self._next if self.steps is not None else 0
        take = self.num_steps(batch_size)
        if self.steps is not None:
            if take < self.steps:
                warnings.warn(RAN_OUT, UserWarning, stacklevel=2)
            self._next = 0 if first + take >= nb else first + take
        self.seen = 0
        for b in range(first, first + take):
            s, e = b * bs, min(n, (b + 1) * bs)
            self.seen += e - s
            yield x[s:e], y[s:e], None if sw is None else sw[s:e]


class BatchEval(_Prepared):
    """Evaluation batches from a batch source (validation_data, evaluate's x)."""

    samples = None

    def __init__(self, stream, prepare):
        super().__init__(stream, prepare)
        self.steps = stream.steps or stream.num_batches or (
            len(stream.x) if isinstance(stream.x, (list, tuple)) else None)
        self.seen = 0  # rows of the last evaluation

    def num_steps(self, batch_size=None):
        """Batches of one evaluation (None when unknown)."""
        return self.steps

    def batches(self, batch_size=None):
        """Yields prepared ``(x, y, sample_weight)`` batches of one evaluation."""
        stream = self.stream
        if stream.kind == "iterator" and stream.exhausted:
            raise ValueError(_no_batch(stream))
        dataset = stream.x if stream.kind == "dataset" else None
        if dataset is not None:
            getattr(dataset, "on_epoch_begin", lambda: None)()
        got = self.seen = 0
        for got, batch in enumerate(self._batches(0, 0, "batch"), 1):
            self.seen += batch[0].shape[0]
            yield batch
        stream.end_epoch(got, True)
        if dataset is not None:
            getattr(dataset, "on_epoch_end", lambda: None)()
        if got == 0:
            raise ValueError(_no_batch(stream))
        if stream.ran_out:
            warnings.warn(RAN_OUT, UserWarning, stacklevel=2)


def _no_batch(stream):
    return (f"{stream.what} has no batch left for this evaluation: a generator is read once; "
            f"pass {stream.steps_arg} and a generator that yields that many batches per evaluation (e.g. "
            "one that loops forever), or a re-iterable source (a list, a PyDataset)")


def _preparer(model, class_weight, prefix):
    def prepare(raw, where):
        x, y, sw = _unpack(raw, where, True)
        if y is None:
            raise ValueError(f"{where} has y None: fit and evaluate need targets")
        xt, yt, swt = model._prepare_xy(x, y, sw, class_weight, prefix=f"{prefix}{where}: ")
        return _own(xt, x), _own(yt, y), _own(swt, sw)
    return prepare


def _refuse_with_source(x, name, **given):
    for arg, value in given.items():
        if value is not None:
            raise ValueError(f"{arg} must not be passed when {name} is {describe(x)}: "
                             f"the batches carry it (got {arg}={_short(value)})")


def _short(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _steps(name, value):
    return check_int(name, value, minimum=1, allow_none=True)


def train_data(model, x, y, sample_weight, class_weight, batch_size, shuffle,
               steps_per_epoch, validation_split, epochs):
    """fit's training data: ``(data, arrays, batch_size, val_split)``.

    ``data.epoch(seed, key)`` yields ``(b, x, y, sample_weight)`` and fills ``data.sizes``;
    ``data.steps`` is the number of batches per epoch (None when unknown). ``arrays`` is
    ``(x, y, sample_weight)`` prepared (for a batch source: its first batch), for
    ``fit_info``. ``val_split`` is the held-out ``(x, y, sample_weight)`` of
    ``validation_split``, or None.
    """
    steps_per_epoch = _steps("steps_per_epoch", steps_per_epoch)
    if dask_data.is_dask_collection(x) or dask_data.is_dask_collection(y):
        return dask_data.train_data(model, x, y, sample_weight, class_weight, batch_size,
                                    shuffle, steps_per_epoch, validation_split)
    if is_batch_source(x, y):
        if batch_size is not None:
            raise ValueError(f"batch_size={_short(batch_size)} must not be passed when x is "
                             f"{describe(x)}: the source yields whole batches")
        _refuse_with_source(x, "x", y=y, sample_weight=sample_weight)
        if validation_split:
            raise ValueError(f"validation_split={validation_split} needs arrays, but x is "
                             f"{describe(x)}: pass validation_data instead")
        if class_weight is not None and not is_py_dataset(x):
            raise ValueError(f"class_weight is not supported when x is {describe(x)} (as in "
                             "Keras): yield (x, y, sample_weight) batches instead, got "
                             f"class_weight={_short(class_weight)}")
        stream = BatchStream(x, "x", steps_per_epoch, shuffle, "steps_per_epoch")
        prepare = _preparer(model, class_weight, "")
        first = prepare(stream.first(), f"batch 0 of {stream.what}")
        data = BatchData(stream, prepare, model, epochs)
        return data, first, first[0].shape[0], None
    # class_weight weights the training samples only (Keras 3): the validation split keeps
    # the plain sample_weight, so val_loss and what callbacks monitor are unweighted.
    xt, yt, sw = model._prepare_xy(x, y, sample_weight, None, fit=True)
    val = None
    if validation_split > 0.0:
        n = xt.shape[0]
        split_at = int(math.floor(n * (1.0 - validation_split)))
        if split_at < 1 or split_at >= n:
            raise ValueError(f"validation_split={validation_split} leaves {split_at} "
                             f"training and {n - split_at} validation samples out of {n}: "
                             "both need at least one")
        val = ArrayEval(xt[split_at:], yt[split_at:], None if sw is None else sw[split_at:])
        xt, yt = xt[:split_at], yt[:split_at]
        sw = None if sw is None else sw[:split_at]
    if class_weight is not None:
        sw = model._class_weighted(yt, sw, class_weight)
    if batch_size is None:  # Keras: one pass per epoch when only steps_per_epoch is given
        batch_size = (int(math.ceil(xt.shape[0] / steps_per_epoch)) if steps_per_epoch
                      else 32)
    data = Batches(xt, yt, sw, batch_size, bool(shuffle))
    if steps_per_epoch is not None:
        data = ArraySteps(data, steps_per_epoch)
    return data, (xt, yt, sw), batch_size, val


def validation_data_source(model, validation_data, validation_steps, validation_batch_size):
    """fit's validation data (`ArrayEval` or `BatchEval`), or None."""
    validation_steps = _steps("validation_steps", validation_steps)
    if validation_data is None:
        return None
    if (isinstance(validation_data, (tuple, list)) and len(validation_data) in (2, 3)
            and _one_array_list(validation_data[0])
            and _one_array_list(validation_data[1], min_ndim=1)):
        # ([x], [y]): Keras's per-input / per-output lists of a one-input model, one (x, y)
        # pair, not two batches of one element each
        validation_data = (validation_data[0][0], validation_data[1][0],
                           *validation_data[2:])
    if is_batch_source(validation_data):
        if validation_batch_size is not None:
            raise ValueError(f"validation_batch_size={_short(validation_batch_size)} must not "
                             f"be passed when validation_data is {describe(validation_data)}:"
                             " the source yields whole batches")
        stream = BatchStream(validation_data, "validation_data", validation_steps, False,
                             "validation_steps")
        return BatchEval(stream, _preparer(model, None, "validation "))
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        what = type(validation_data).__name__
        if isinstance(validation_data, (tuple, list)):
            what += f" of length {len(validation_data)}"
        raise ValueError("validation_data must be (x_val, y_val), (x_val, y_val, "
                         "sample_weight_val) or a source of such batches (a generator, a "
                         f"PyDataset), got a {what}")
    vx, vy = validation_data[0], validation_data[1]
    vsw = validation_data[2] if len(validation_data) == 3 else None
    if any(dask_data.is_dask_collection(v) for v in (vx, vy, vsw)):
        return dask_data.eval_data(model, vx, vy, vsw, validation_batch_size, "validation ")
    xt, yt, sw = model._prepare_xy(vx, vy, vsw, prefix="validation ")
    return ArrayEval(xt, yt, sw, validation_batch_size, validation_steps)


def eval_data(model, x, y, sample_weight, batch_size, steps):
    """evaluate's data (`ArrayEval` or `BatchEval`); ``batch_size`` None for a source."""
    steps = _steps("steps", steps)
    if dask_data.is_dask_collection(x) or dask_data.is_dask_collection(y):
        if steps is not None:
            raise ValueError(f"steps={steps!r} is not supported with Dask data: an evaluation "
                             "is one pass over the partitions")
        return dask_data.eval_data(model, x, y, sample_weight, batch_size)
    if is_batch_source(x, y):
        if batch_size is not None:
            raise ValueError(f"batch_size={_short(batch_size)} must not be passed when x is "
                             f"{describe(x)}: the source yields whole batches")
        _refuse_with_source(x, "x", y=y, sample_weight=sample_weight)
        stream = BatchStream(x, "x", steps, False, "steps")
        prepare = _preparer(model, None, "")
        prepare(stream.first(), f"batch 0 of {stream.what}")  # builds and checks the model
        return BatchEval(stream, prepare)
    xt, yt, sw = model._prepare_xy(x, y, sample_weight)
    return ArrayEval(xt, yt, sw, batch_size, steps)


def predict_batches(model, x, steps):
    """predict's batches of a batch source: an iterator of prepared ``x`` arrays. The first
    batch is read (and builds the model) before this returns."""
    steps = _steps("steps", steps)
    stream = BatchStream(x, "x", steps, False, "steps")

    def prepare(raw, where):
        xb, _, _ = _unpack(raw, where, False)
        return _own(model._prepare_x(xb, f"{where}: x"), xb)

    prepare(stream.first(), f"batch 0 of {stream.what}")  # builds the model
    return _predict_pass(stream, prepare)


def _predict_pass(stream, prepare):
    got = 0
    for got, xb in enumerate(_Prepared(stream, prepare)._batches(0, 0, "batch"), 1):
        yield xb
    stream.end_epoch(got, False)
    if stream.ran_out:
        warnings.warn(RAN_OUT, UserWarning, stacklevel=2)
