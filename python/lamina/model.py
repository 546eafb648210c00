"""Sequential: a stack of layers with Keras 3's compile / fit / evaluate / predict.

Python orchestrates epochs, batches, shuffling, validation and callbacks; each training batch
crosses into the C++ core once (``lamina._core.Network.train_step``), which runs forward,
loss, backward, regularization and the optimizer update for the whole network in place on
the layers' numpy arrays.

Example:
    >>> import numpy as np
    >>> import lamina
    >>> x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    >>> y = (x[:, 0] > 0).astype("int64")
    >>> model = lamina.Sequential([lamina.Input(shape=(4,)),
    ...                            lamina.layers.Dense(8, activation="relu"),
    ...                            lamina.layers.Dense(2, activation="softmax")], seed=0)
    >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
    ...               metrics=["accuracy"])
    >>> history = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    >>> sorted(history.history)
    ['accuracy', 'learning_rate', 'loss']
    >>> model.predict(x[:3], verbose=0).shape
    (3, 2)
"""

from __future__ import annotations

import json
import math
import signal
import sys
import threading
import time

import numpy as np

from . import _core, _data, _validation
from . import callbacks as callbacks_mod
from . import config as config_mod
from . import layers as layers_mod
from . import losses as losses_mod
from . import metrics as metrics_mod
from . import optimizers as optimizers_mod
from . import utils
from ._validation import check_float, check_int
from ._version import __version__

__all__ = ["Sequential", "Model"]

# Rows gathered per shuffle chunk are sized to about this many bytes of features, so a
# shuffled epoch costs one gather per chunk instead of one per batch.
_CHUNK_BYTES = 4 << 20
# predict / evaluate default batch: results do not depend on it (fixed-order reductions),
# only speed does, so it is larger than Keras's 32.
_INFER_BATCH = 1024

_MODEL_COUNT = [0]


def _model_name():
    n = _MODEL_COUNT[0]
    _MODEL_COUNT[0] += 1
    return "sequential" if n == 0 else f"sequential_{n}"


def _verbose(verbose):
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2) or isinstance(verbose, bool):
        raise ValueError(f"verbose must be 0, 1, 2 or 'auto', got {verbose!r}")
    return int(verbose)


def _dtype_name(dtype):
    if dtype is None:
        return config_mod.floatx()
    if isinstance(dtype, dict):  # Keras DTypePolicy config
        dtype = dtype.get("config", {}).get("name", dtype)
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = str(dtype)
    if name not in ("float32", "float64"):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    return name


def _inference_args(what, verbose, batch_size, steps):
    """evaluate's and predict's checked ``(verbose, batch_size)``; ``steps`` must be None."""
    verbose = _verbose(verbose)
    batch_size = _INFER_BATCH if batch_size is None else check_int("batch_size", batch_size, 1)
    if steps is not None:
        raise ValueError(f"steps={steps!r} is not supported: {what} uses all the data")
    return verbose, batch_size


class _Batches:
    """Prepared training data of one fit: cast once, views per batch built once.

    Without shuffling the batches are views of the (cast) data. With shuffling, each epoch
    permutes the rows with ``_data.permutation(n, seed, key)`` and copies them, a chunk of
    about ``_CHUNK_BYTES`` at a time, into reused C-contiguous buffers; the per-batch views
    into those buffers are made once per fit, so a batch costs no allocation and no copy
    call of its own.
    """

    def __init__(self, x, y, sw, batch_size, shuffle):
        self.n = n = x.shape[0]
        self.bs = bs = batch_size
        self.x, self.y, self.sw = x, y, sw
        self.steps = steps = -(-n // bs)
        self.shuffle = shuffle
        self.sizes = [min(bs, n - b * bs) for b in range(steps)]
        if not shuffle:
            self.chunk_batches = steps
            xs, ys, ss = x, y, sw
        else:
            row_bytes = max(1, x.shape[1] * x.itemsize)
            per_chunk = max(1, min(steps, _CHUNK_BYTES // (row_bytes * bs)))
            self.chunk_batches = per_chunk
            rows = min(n, per_chunk * bs)
            self.xc = xs = np.empty((rows, x.shape[1]), dtype=x.dtype)
            self.yc = ys = np.empty((rows,) + y.shape[1:], dtype=y.dtype)
            self.sc = ss = None if sw is None else np.empty(rows, dtype=sw.dtype)
        # Views for batch b live at offset (b % chunk_batches) * bs of the (chunk) buffers;
        # the whole (b, x, y, sample_weight) tuple is built here so a batch yields it as is.
        self.views = []
        for b in range(steps):
            lo = (b % self.chunk_batches) * bs
            hi = lo + self.sizes[b]
            self.views.append((b, xs[lo:hi], ys[lo:hi], None if ss is None else ss[lo:hi]))

    def epoch(self, seed, key):
        """Yields (batch index, x, y, sample_weight) for one epoch."""
        views = self.views
        if not self.shuffle:
            yield from views
            return
        perm = _data.permutation(self.n, seed, key)
        x, y, sw, bs, cb = self.x, self.y, self.sw, self.bs, self.chunk_batches
        take = np.take
        for c0 in range(0, self.steps, cb):
            lo = c0 * bs
            hi = min(self.n, lo + cb * bs)
            idx = perm[lo:hi]
            k = hi - lo
            # The data were cast to the buffers' dtype once per fit, so this is a row copy.
            # mode="clip" (indices are a permutation, always in range) lets numpy copy
            # straight into `out`: ~10x faster than mode="raise" or _data.gather_rows here.
            take(x, idx, axis=0, out=self.xc[:k], mode="clip")
            take(y, idx, axis=0, out=self.yc[:k], mode="clip")
            if sw is not None:
                take(sw, idx, out=self.sc[:k], mode="clip")
            yield from views[c0:c0 + cb]


class _Interrupt:
    """Turns Ctrl-C during fit into a flag checked after each step (a second Ctrl-C aborts)."""

    def __init__(self, model):
        self.model = model
        self.hit = False
        self._previous = None

    def __enter__(self):
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self._previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def _handler(self, signum, frame):
        if self.hit:
            raise KeyboardInterrupt
        self.hit = True
        self.model.stop_training = True

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False


class Sequential:
    """A linear stack of layers (Keras 3 ``keras.Sequential``).

    Args:
        layers: Layers to add, optionally starting with ``lamina.Input(shape=...)``.
            Defaults to `None`.
        trainable: Must be True. Defaults to `True`.
        name: Model name. Defaults to `None` ("sequential", "sequential_1" …).
        seed: Seed of initialization, shuffling and dropout; same seed and data give
            bit-identical weights with any thread count. Defaults to `None` (drawn from
            ``lamina.utils.set_random_seed``'s generator if set, else random).
        dtype: "float32" or "float64". Defaults to `None` (``lamina.config.floatx()``).

    Example:
        >>> import lamina
        >>> model = lamina.Sequential(seed=1)
        >>> model.add(lamina.Input(shape=(3,)))
        >>> model.add(lamina.layers.Dense(2))
        >>> model.count_params()
        8
    """

    def __init__(self, layers=None, trainable=True, name=None, *, seed=None, dtype=None):
        if not trainable:
            raise ValueError("trainable=False is not supported: lamina trains every layer")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"model name must be a string, got {name!r}")
        self.name = name or _model_name()
        self.dtype = _dtype_name(dtype)
        self.seed = utils.draw_seed() if seed is None else check_int("seed", seed, 0,
                                                                     2**63 - 1)
        init_ss, shuffle_ss, dropout_ss = np.random.SeedSequence(self.seed).spawn(3)
        self._init_rng = np.random.default_rng(init_ss)
        self._shuffle_seed = int(shuffle_ss.generate_state(1, np.uint64)[0])
        self._dropout_seed = int(dropout_ss.generate_state(1, np.uint64)[0])
        self._layers = []
        self._input_layer = None
        self._input_shape = None
        self.built = False
        self.optimizer = None
        self.loss = None
        self.loss_weights = None
        self._metric_ids = []
        self._metrics = []
        self.compiled = False
        self._network = None
        self._network_kind = None
        self._spec = None
        self.stop_training = False
        self.history = None
        for layer in layers or []:
            self.add(layer)

    # ------------------------------------------------------------------ structure -----
    @property
    def layers(self) -> list:
        """The layers (without the input layer)."""
        return list(self._layers)

    def add(self, layer) -> None:
        """Appends a layer (``InputLayer``/``Input`` only first); builds it if shapes are known.

        Args:
            layer: A ``lamina.layers`` layer.
        """
        if not isinstance(layer, layers_mod.Layer):
            raise TypeError(f"Sequential.add expects a lamina layer, got {layer!r}")
        if isinstance(layer, layers_mod.InputLayer):
            if self._layers or self._input_layer is not None:
                raise ValueError("an Input / InputLayer can only be the first layer of a "
                                 f"Sequential, got {layer.name!r} after other layers")
            self._input_layer = layer
            self._input_shape = layer.shape
            self.build()
            return
        names = {lay.name for lay in self._layers}
        if layer.name in names:
            raise ValueError(f"a layer named {layer.name!r} is already in the model: layer "
                             "names must be unique")
        if not self._layers and self._input_shape is None and layer._batch_input_shape:
            self._input_shape = layer._batch_input_shape
        self._layers.append(layer)
        self._invalidate()
        if self._input_shape is not None:
            self.build()

    def pop(self):
        """Removes and returns the last layer."""
        if not self._layers:
            raise IndexError("pop from an empty Sequential")
        layer = self._layers.pop()
        self._invalidate()
        return layer

    def _invalidate(self):
        self._network = None
        self._network_kind = None
        if self.optimizer is not None:
            self.optimizer.slots = None

    def build(self, input_shape=None) -> None:
        """Creates every layer's weights for samples of ``input_shape``.

        Args:
            input_shape: Shape of one sample, e.g. ``(64,)``, or Keras's ``(None, 64)``.
                Defaults to `None` (the shape from ``Input``).
        """
        if input_shape is not None:
            shape = tuple(input_shape)
            if shape and shape[0] is None:
                shape = shape[1:]
            shape = layers_mod._shape("input_shape", shape)
            if self._input_shape is not None and shape != self._input_shape:
                raise ValueError(f"model {self.name!r} was declared for inputs of shape "
                                 f"{self._input_shape}, got {shape}")
            self._input_shape = shape
        if self._input_shape is None:
            raise ValueError(f"model {self.name!r} has no input shape: start it with "
                             "lamina.Input(shape=...), call build((None, features)), or fit/"
                             "predict on data")
        shape = self._input_shape
        for layer in self._layers:
            if layer.built:
                if layer.input_shape != shape:
                    raise ValueError(f"layer {layer.name!r} was built for inputs "
                                     f"{layer.input_shape} but receives {shape} here")
            else:
                layer._dtype = self.dtype
                layer._rng = self._init_rng
                layer.build(shape)
                layer._rng = None
            if isinstance(layer, layers_mod.Dense) and layer.kernel.dtype.name != self.dtype:
                raise ValueError(f"layer {layer.name!r} holds {layer.kernel.dtype} weights but "
                                 f"the model is {self.dtype}")
            shape = layer.output_shape
        self.built = True

    @property
    def input_shape(self):
        """``(None, *sample_shape)`` like Keras, or None before the shape is known."""
        return None if self._input_shape is None else (None, *self._input_shape)

    @property
    def output_shape(self):
        """``(None, outputs)`` once built."""
        self._require_built("output_shape")
        shape = self._input_shape
        for layer in self._layers:
            shape = layer.output_shape
        return (None, *shape)

    def _dense_layers(self):
        return [lay for lay in self._layers if isinstance(lay, layers_mod.Dense)]

    @property
    def weights(self) -> list:
        """The live parameter arrays, layer by layer (kernel, then bias)."""
        return [w for layer in self._layers for w in layer.weights]

    trainable_weights = weights

    @property
    def trainable_variables(self):
        """Keras's name for ``weights``: every parameter is trainable."""
        return self.weights

    @property
    def non_trainable_weights(self):
        """Always ``[]``: lamina trains every parameter."""
        return []

    def count_params(self) -> int:
        """Number of scalar parameters."""
        self._require_built("count_params")
        return sum(int(w.size) for w in self.weights)

    def get_layer(self, name=None, index=None):
        """Returns a layer by name or index."""
        if index is not None:
            return self._layers[index]
        for layer in self._layers:
            if layer.name == name:
                return layer
        raise ValueError(f"no layer named {name!r}: layers are "
                         f"{', '.join(lay.name for lay in self._layers)}")

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None) -> None:
        """Prints each layer's type, output shape and parameter count, and the totals.

        Args:
            line_length: Total width. Defaults to `None` (65).
            print_fn: Function called with the text. Defaults to `None` (print).
        """
        width = line_length or 65
        c1, c2 = int(width * 0.45), int(width * 0.33)
        rows = [("Layer (type)", "Output Shape", "Param #")]
        for layer in self._layers:
            out = "?" if not layer.built else str((None, *layer.output_shape))
            params = str(layer.count_params()) if layer.built else "0 (unbuilt)"
            rows.append((f"{layer.name} ({type(layer).__name__})", out, params))
        lines = [f'Model: "{self.name}"', "_" * width]
        for i, (a, b, c) in enumerate(rows):
            lines.append(f"{a:<{c1}}{b:<{c2}}{c:>{width - c1 - c2}}")
            lines.append(("=" if i == 0 else "_") * width)
        total = sum(lay.count_params() for lay in self._layers if lay.built)
        nbytes = sum(w.nbytes for w in self.weights) if self.built else 0
        lines += [f"Total params: {total:,} ({nbytes / 1024:.2f} KB)",
                  f"Trainable params: {total:,}", "Non-trainable params: 0", "_" * width]
        text = "\n".join(lines)
        (print_fn or print)(text)

    # ------------------------------------------------------------------ compile -------
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1,
                jit_compile="auto", auto_scale_loss=True) -> None:
        """Configures training: optimizer, loss and metrics (Keras 3 arguments).

        Args:
            optimizer: Name ("adam", "sgd" …) or ``lamina.optimizers`` instance. Defaults to
                `"rmsprop"`.
            loss: Name or ``lamina.losses`` instance. Defaults to `None` (must be given
                before fit/evaluate).
            loss_weights: A float (or a one-element list/dict) scaling the loss. Defaults to
                `None` (1.0).
            metrics: List of names ("accuracy", "mae" …) or ``lamina.metrics`` instances.
                Defaults to `None`.
            weighted_metrics: More metrics; lamina weights every metric by the sample
                weights. Defaults to `None`.
            run_eagerly: Ignored. Defaults to `False`.
            steps_per_execution: Must be 1. Defaults to `1`.
            jit_compile: Ignored. Defaults to `"auto"`.
            auto_scale_loss: Ignored. Defaults to `True`.
        """
        if steps_per_execution != 1:
            raise ValueError(f"steps_per_execution={steps_per_execution!r} is not supported: "
                             "only 1")
        opt = optimizers_mod.get(optimizer)
        loss_obj = None if loss is None else losses_mod.get(loss)
        lw = loss_weights
        if isinstance(lw, (dict, list, tuple)):
            if len(lw) != 1:
                raise ValueError(f"loss_weights must have one entry for a Sequential model, got"
                                 f" {loss_weights!r}")
            lw = next(iter(lw.values() if isinstance(lw, dict) else lw))
        if lw is not None:
            lw = check_float("loss_weights", lw, minimum=0.0)
        ids = []
        for group in (metrics, weighted_metrics):
            if group is None:
                continue
            if isinstance(group, (str, metrics_mod.Metric)) or callable(group):
                group = [group]
            if isinstance(group, dict):
                raise ValueError(f"metrics as a dict is for multi-output models; pass a list, "
                                 f"got {group!r}")
            ids.extend(group)
        resolved = [metrics_mod.get(m, loss=loss_obj) for m in ids]  # validates names early
        names = [m.name for m in resolved]
        dup = {n for n in names if names.count(n) > 1}
        if dup or "loss" in names:
            raise ValueError(f"metric names must be unique and not 'loss', got {names}")
        self.optimizer = opt
        self.loss = loss_obj
        self.loss_weights = lw
        self._metric_ids = ids
        self._metrics = []
        self.compiled = True
        self._invalidate()

    @property
    def metrics_names(self) -> list:
        """``["loss", *metric names]``."""
        names = ["loss"]
        if self.compiled:
            names += [m.name for m in (self._metrics or self._resolve_metrics(None))]
        return names

    def _resolve_metrics(self, out_dim):
        return [metrics_mod.get(m, loss=self.loss, output_dim=out_dim)
                if not isinstance(m, metrics_mod.Metric) else m for m in self._metric_ids]

    def _require_built(self, what):
        if not self.built:
            raise ValueError(f"model {self.name!r} is not built yet, so {what} is not "
                             "available: start it with lamina.Input(shape=...), call "
                             "model.build((None, features)), or fit/predict first")

    def _require_compiled(self, what):
        if not self.compiled:
            raise RuntimeError(f"model {self.name!r} must be compiled before {what}: call "
                               "model.compile(optimizer=..., loss=...)")
        if self.loss is None:
            raise ValueError(f"model {self.name!r} was compiled without a loss, so {what} "
                             "cannot run: compile(loss=...)")

    def _out_dim(self):
        return self.output_shape[-1]

    def _network_for(self, kind):
        """The core Network: "train" (compiled) or "infer" (any built model)."""
        if kind == "infer" and self.compiled and self.loss is not None:
            kind = "train"  # one network serves both once the model is compiled
        if self._network is not None and (kind == "infer" or self._network_kind == "train"):
            return self._network
        self._require_built("the network")
        dense = self._dense_layers()
        if not dense:
            raise ValueError(f"model {self.name!r} has no Dense layer: add at least one")
        if len(self._input_shape) != 1 and not any(isinstance(lay, layers_mod.Flatten)
                                                   for lay in self._layers):
            raise ValueError(f"inputs of shape {self._input_shape} need a Flatten layer")
        if kind == "train":
            self._require_compiled("training")
            opt, loss = self.optimizer, self.loss
            out_dim = self._out_dim()
            self._metrics = self._resolve_metrics(out_dim)
            sparse_loss = loss.core_name == "sparse_categorical_crossentropy"
            for m in self._metrics:
                if (m.core_name in metrics_mod.SPARSE_METRICS) != sparse_loss:
                    raise ValueError(
                        f"metric {m.name!r} ({m.core_name}) needs "
                        f"{'integer labels' if not sparse_loss else 'one-hot targets'}, but "
                        f"the loss {loss.core_name} takes "
                        f"{'integer labels' if sparse_loss else 'dense targets'}")
            metric_specs = [m.core_spec() for m in self._metrics]
            loss_spec = loss.core_spec()
        else:
            opt = optimizers_mod.SGD()
            loss_spec = {"name": "mean_squared_error", "from_logits": False, "delta": 1.0}
            metric_specs = []
        layer_specs = [entry for layer in self._layers for entry in layer.core_spec()]
        # The optimizer's slots belong to the trainable parameters, in spec order.
        trainable = [p for entry in layer_specs for p in entry.get("params", ())
                     if p["trainable"]]
        params = [p["value"] for p in trainable]
        if opt.slots is None or len(opt.slots) != len(params) or any(
                len(s) != opt.num_slots or (s and s[0].shape != p.shape)
                for s, p in zip(opt.slots, params)):
            opt.build(params)
        for p, slots in zip(trainable, opt.slots):
            p["slots"] = slots
        spec = {"dtype": self.dtype, "input_dim": int(math.prod(self._input_shape)),
                "layers": layer_specs, "loss": loss_spec, "optimizer": opt.core_spec(),
                "optimizer_state": opt.optimizer_state, "metrics": metric_specs,
                "seed": self._dropout_seed}
        net = _core.Network(spec)
        self._network, self._network_kind, self._spec = net, kind, spec
        return net

    # ------------------------------------------------------------------ data ----------
    def _prepare_x(self, x, name="x"):
        arr = _validation.features(name, x, self._input_shape)
        if not self.built:
            self.build(arr.shape[1:])
        return np.ascontiguousarray(arr.reshape(arr.shape[0], -1), dtype=self.dtype)

    def _prepare_xy(self, x, y, sample_weight, class_weight=None, prefix=""):
        if y is None:
            raise ValueError(f"{prefix}y is None: fit/evaluate need targets")
        xt = self._prepare_x(x, f"{prefix}x")
        self._network_for("train")
        yt = _validation.targets(f"{prefix}y", y, self.loss.core_name, self._out_dim(),
                                 self.dtype)
        sw = None
        if sample_weight is not None:
            sw = _validation.sample_weights(f"{prefix}sample_weight", sample_weight,
                                            yt.shape[0], self.dtype)
        _validation.same_length([(f"{prefix}x", xt), (f"{prefix}y", yt),
                                 (f"{prefix}sample_weight", sw)])
        if class_weight is not None:
            if yt.ndim == 1:
                classes = yt
            elif yt.shape[1] == 1:
                classes = (yt[:, 0] > 0.5).astype(np.int64)
            else:
                classes = np.argmax(yt, axis=1)
            cw = _validation.class_weights(class_weight, classes, self.dtype)
            sw = cw if sw is None else np.ascontiguousarray(sw * cw, dtype=self.dtype)
        if self.loss_weights is not None and self.loss_weights != 1.0:
            sw = (np.full(yt.shape[0], self.loss_weights, dtype=self.dtype) if sw is None
                  else np.ascontiguousarray(sw * self.loss_weights, dtype=self.dtype))
        return xt, yt, sw

    # ------------------------------------------------------------------ fit -----------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1):
        """Trains for ``epochs - initial_epoch`` epochs (Keras 3 semantics).

        Args:
            x: Inputs, shape ``(n, *input_shape)``, any int/float dtype (cast once).
                Defaults to `None` (required).
            y: Targets: integer labels for sparse_categorical_crossentropy, else
                ``(n, outputs)`` (or ``(n,)`` for one output). Defaults to `None` (required).
            batch_size: Samples per step (``len(x)`` is full-batch gradient descent, 1 is
                pure SGD); the last batch may be smaller. Defaults to `None` (32).
            epochs: Index of the last epoch (counting from ``initial_epoch``). Defaults to `1`.
            verbose: 0 silent, 1 progress bar, 2 one line per epoch, "auto" is 1.
                Defaults to `"auto"`.
            callbacks: List of ``lamina.callbacks.Callback``. Defaults to `None`.
            validation_split: Fraction in [0, 1) of the data held out for validation: the
                LAST samples, taken before shuffling. Defaults to `0.0`.
            validation_data: ``(x_val, y_val)`` or ``(x_val, y_val, sample_weight_val)``;
                overrides validation_split. Defaults to `None`.
            shuffle: Reshuffle the training samples every epoch. Defaults to `True`.
            class_weight: ``{class index: weight}`` multiplying each sample's loss.
                Defaults to `None`.
            sample_weight: Per-sample loss weights, shape ``(n,)``. Defaults to `None`.
            initial_epoch: Epoch to start at (for resuming). Defaults to `0`.
            steps_per_epoch: Must be None (a whole pass per epoch). Defaults to `None`.
            validation_steps: Must be None. Defaults to `None`.
            validation_batch_size: Batch size for validation. Defaults to `None`
                (batch_size).
            validation_freq: Validate every this many epochs. Defaults to `1`.

        Returns:
            The ``History``; ``history.history`` holds ``loss``, each metric, ``val_*`` and
            ``learning_rate`` per epoch. Ctrl-C stops after the current step and returns it
            (``history.interrupted`` is then True) with the model usable.
        """
        self._require_compiled("fit")
        epochs = check_int("epochs", epochs, minimum=0)
        initial_epoch = check_int("initial_epoch", initial_epoch, minimum=0)
        batch_size = 32 if batch_size is None else check_int("batch_size", batch_size, 1)
        verbose = _verbose(verbose)
        validation_split = check_float("validation_split", validation_split, 0.0, 1.0,
                                       max_open=True)
        validation_freq = check_int("validation_freq", validation_freq, minimum=1)
        if validation_batch_size is not None:
            validation_batch_size = check_int("validation_batch_size", validation_batch_size,
                                              1)
        for arg, value in (("steps_per_epoch", steps_per_epoch),
                           ("validation_steps", validation_steps)):
            if value is not None:
                raise ValueError(f"{arg}={value!r} is not supported: lamina trains on in-memory"
                                 " arrays, one full pass per epoch")
        if shuffle not in (True, False) and not isinstance(shuffle, (bool, np.bool_)):
            raise ValueError(f"shuffle must be True or False, got {shuffle!r}")
        callbacks = list(callbacks or [])

        xt, yt, sw = self._prepare_xy(x, y, sample_weight, class_weight)
        val = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (
                    2, 3):
                what = type(validation_data).__name__
                if isinstance(validation_data, (tuple, list)):
                    what += f" of length {len(validation_data)}"
                raise ValueError("validation_data must be (x_val, y_val) or (x_val, y_val, "
                                 f"sample_weight_val), got a {what}")
            vx, vy = validation_data[0], validation_data[1]
            vsw = validation_data[2] if len(validation_data) == 3 else None
            val = self._prepare_xy(vx, vy, vsw, prefix="validation ")
        elif validation_split > 0.0:
            n = xt.shape[0]
            split_at = int(math.floor(n * (1.0 - validation_split)))
            if split_at < 1 or split_at >= n:
                raise ValueError(f"validation_split={validation_split} leaves {split_at} "
                                 f"training and {n - split_at} validation samples out of {n}: "
                                 "both need at least one")
            val = (xt[split_at:], yt[split_at:], None if sw is None else sw[split_at:])
            xt, yt = xt[:split_at], yt[:split_at]
            sw = None if sw is None else sw[:split_at]

        net = self._network_for("train")
        batches = _Batches(xt, yt, sw, batch_size, bool(shuffle))
        history = callbacks_mod.History()
        cbs = ([callbacks_mod.ProgbarLogger()] if verbose else []) + callbacks + [history]
        params = {"epochs": epochs, "steps": batches.steps, "verbose": verbose}
        cbl = callbacks_mod.CallbackList(cbs, self, params)
        hooks = cbl.has_train_batch_hooks
        opt = self.optimizer
        metric_names = [m.name for m in self._metrics]
        nm = len(metric_names)
        sizes = batches.sizes
        train_step = net.train_step
        history.interrupted = False
        self.stop_training = False
        self.history = history

        with _Interrupt(self) as interrupt:
            cbl.on_train_begin()
            for epoch in range(initial_epoch, epochs):
                if self.stop_training:
                    history.interrupted = interrupt.hit
                    break
                cbl.on_epoch_begin(epoch)
                schedule = opt.schedule
                lr = float(opt.learning_rate)
                it = opt.iterations
                results = []
                append = results.append
                if not hooks:
                    # The hot loop: one core call per batch, no allocation, no dispatch.
                    try:
                        if schedule is None:
                            for b, xb, yb, swb in batches.epoch(self._shuffle_seed, it):
                                append(train_step(xb, yb, swb, lr, it + 1))
                                it += 1
                                if self.stop_training:
                                    break
                        else:
                            for b, xb, yb, swb in batches.epoch(self._shuffle_seed, it):
                                lr = float(schedule(it))
                                append(train_step(xb, yb, swb, lr, it + 1))
                                it += 1
                                if self.stop_training:
                                    break
                    finally:  # steps done so far count even if a step raised
                        opt.iterations = it
                else:
                    run_loss = run_w = 0.0
                    run_m = [0.0] * nm
                    seen = 0
                    for b, xb, yb, swb in batches.epoch(self._shuffle_seed, it):
                        cbl.on_train_batch_begin(b, {"size": sizes[b]})
                        lr = float(opt.learning_rate)
                        r = train_step(xb, yb, swb, lr, it + 1)
                        it += 1
                        opt.iterations = it
                        append(r)
                        seen += sizes[b]
                        run_loss += r[0] * sizes[b]
                        run_w += r[1]
                        logs = {"loss": run_loss / seen}
                        for j in range(nm):
                            run_m[j] += r[2 + j]
                            logs[metric_names[j]] = run_m[j] / run_w if run_w else 0.0
                        logs["batch_loss"] = r[0]
                        cbl.on_train_batch_end(b, logs)
                        if self.stop_training:
                            break
                if interrupt.hit:
                    history.interrupted = True
                    break
                logs = self._epoch_logs(results, sizes, metric_names)
                if val is not None and (epoch + 1) % validation_freq == 0:
                    cbl.on_test_begin()
                    vlogs = self._evaluate_prepared(*val, validation_batch_size or batch_size,
                                                    cbl)
                    cbl.on_test_end(vlogs)
                    logs.update({f"val_{k}": v for k, v in vlogs.items()})
                logs["learning_rate"] = float(opt.learning_rate)
                cbl.on_epoch_end(epoch, logs)
            cbl.on_train_end()
        if history.interrupted:
            done = len(history.epoch)
            print(f"lamina: training interrupted (Ctrl-C) after {done} complete epoch(s); the "
                  "model keeps the weights of the last step", file=sys.stderr)
        return history

    @staticmethod
    def _epoch_logs(results, sizes, metric_names):
        if not results:
            return {"loss": float("nan"), **{m: float("nan") for m in metric_names}}
        arr = np.asarray(results, dtype=np.float64)
        k = arr.shape[0]
        w = np.asarray(sizes[:k], dtype=np.float64)
        logs = {"loss": float(np.dot(arr[:, 0], w) / w.sum())}
        wsum = float(arr[:, 1].sum())
        for j, name in enumerate(metric_names):
            logs[name] = float(arr[:, 2 + j].sum() / wsum) if wsum else 0.0
        return logs

    # ------------------------------------------------------------------ evaluate ------
    def _evaluate_prepared(self, xt, yt, sw, batch_size, cbl=None):
        net = self._network_for("train")
        n = xt.shape[0]
        loss_sum = w_sum = 0.0
        msums = [0.0] * len(self._metrics)
        evaluate = net.evaluate
        hooks = cbl is not None and cbl.has_test_batch_hooks
        for b, s in enumerate(range(0, n, batch_size)):
            e = min(n, s + batch_size)
            if hooks:
                cbl.on_test_batch_begin(b, {"size": e - s})
            r = evaluate(xt[s:e], yt[s:e], None if sw is None else sw[s:e])
            loss_sum += r[0] * (e - s)
            w_sum += r[1]
            for j in range(len(msums)):
                msums[j] += r[2 + j]
            if hooks:
                cbl.on_test_batch_end(b, {"loss": loss_sum / e})
        logs = {"loss": loss_sum / n}
        for m, s in zip(self._metrics, msums):
            logs[m.name] = s / w_sum if w_sum else 0.0
        return logs

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False):
        """Returns the loss and metrics on data (no dropout, no update).

        Args:
            x: Inputs. Defaults to `None` (required).
            y: Targets. Defaults to `None` (required).
            batch_size: Rows per core call; results do not depend on it. Defaults to
                `None` (1024).
            verbose: 0 silent, 1 or 2 print one line. Defaults to `"auto"`.
            sample_weight: Per-sample loss weights. Defaults to `None`.
            steps: Must be None. Defaults to `None`.
            callbacks: Callbacks with test hooks. Defaults to `None`.
            return_dict: Return ``{"loss": ..., metric: ...}``. Defaults to `False`.

        Returns:
            The loss (no metrics), ``[loss, *metrics]``, or a dict.
        """
        self._require_compiled("evaluate")
        verbose, batch_size = _inference_args("evaluate", verbose, batch_size, steps)
        xt, yt, sw = self._prepare_xy(x, y, sample_weight)
        cbl = callbacks_mod.CallbackList(callbacks or [], self, {"verbose": verbose})
        cbl.on_test_begin()
        t0 = time.perf_counter()
        logs = self._evaluate_prepared(xt, yt, sw, batch_size, cbl)
        cbl.on_test_end(logs)
        if verbose:
            print(f"{xt.shape[0]} samples - {callbacks_mod._fmt_time(time.perf_counter() - t0)}"
                  " - " + " - ".join(f"{k}: {v:.4f}" for k, v in logs.items()))
        return self._as_result(logs, return_dict)

    # ------------------------------------------------------------------ predict -------
    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Returns the network's outputs for ``x`` (no dropout), shape ``(n, outputs)``.

        Args:
            x: Inputs, shape ``(n, *input_shape)``.
            batch_size: Rows per core call; results do not depend on it. Defaults to
                `None` (1024).
            verbose: 0 silent, 1 or 2 print one line. Defaults to `"auto"`.
            steps: Must be None. Defaults to `None`.
            callbacks: Callbacks with predict hooks. Defaults to `None`.
        """
        verbose, batch_size = _inference_args("predict", verbose, batch_size, steps)
        t0 = time.perf_counter()
        xt = self._prepare_x(x)
        net = self._network_for("infer")
        n = xt.shape[0]
        out = np.empty((n, self._out_dim()), dtype=self.dtype)
        predict = net.predict
        cbl = callbacks_mod.CallbackList(callbacks or [], self, {"verbose": verbose})
        hooks = cbl.has_predict_batch_hooks
        cbl.on_predict_begin()
        for b, s in enumerate(range(0, n, batch_size)):
            if hooks:
                cbl.on_predict_batch_begin(b, {"size": min(batch_size, n - s)})
            predict(xt[s:s + batch_size], out[s:s + batch_size])
            if hooks:
                cbl.on_predict_batch_end(b, {"outputs": out[s:s + batch_size]})
        cbl.on_predict_end()
        if verbose:
            print(f"{n} samples - {callbacks_mod._fmt_time(time.perf_counter() - t0)}")
        return out

    def predict_on_batch(self, x):
        """Returns the outputs for one batch (all of ``x`` in one core call)."""
        xt = self._prepare_x(x)
        out = np.empty((xt.shape[0], self._out_dim()), dtype=self.dtype)
        self._network_for("infer").predict(xt, out)
        return out

    __call__ = predict_on_batch

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict=False):
        """Runs one training step on exactly this batch.

        Args:
            x: Inputs.
            y: Targets. Defaults to `None` (required).
            sample_weight: Per-sample loss weights. Defaults to `None`.
            class_weight: ``{class: weight}``. Defaults to `None`.
            return_dict: Return a dict. Defaults to `False`.

        Returns:
            The batch's loss (computed before the update), ``[loss, *metrics]`` or a dict.
        """
        self._require_compiled("train_on_batch")
        xt, yt, sw = self._prepare_xy(x, y, sample_weight, class_weight)
        net = self._network_for("train")
        opt = self.optimizer
        r = net.train_step(xt, yt, sw, float(opt.learning_rate), opt.iterations + 1)
        opt.iterations += 1
        return self._batch_result(r, xt.shape[0], return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Returns the loss and metrics on one batch (no update)."""
        self._require_compiled("test_on_batch")
        xt, yt, sw = self._prepare_xy(x, y, sample_weight)
        r = self._network_for("train").evaluate(xt, yt, sw)
        return self._batch_result(r, xt.shape[0], return_dict)

    def _batch_result(self, r, n, return_dict):
        logs = {"loss": float(r[0])}
        for j, m in enumerate(self._metrics):
            logs[m.name] = float(r[2 + j] / r[1]) if r[1] else 0.0
        return self._as_result(logs, return_dict)

    @staticmethod
    def _as_result(logs, return_dict):
        """Keras's return value: the logs dict, the loss alone (no metrics) or a list."""
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    # ------------------------------------------------------------------ weights -------
    def get_weights(self) -> list:
        """Copies of every parameter array, layer by layer (kernel, then bias)."""
        return [w.copy() for w in self.weights]

    def set_weights(self, weights) -> None:
        """Copies ``weights`` (as from ``get_weights``) into the live arrays, in place.

        All arrays are checked (count, shapes, finite values) before anything is copied.
        """
        self._require_built("set_weights")
        own = self.weights
        weights = list(weights)
        if len(weights) != len(own):
            raise ValueError(f"model {self.name!r} has {len(own)} weight arrays, got "
                             f"{len(weights)}")
        checked = []
        for layer in self._layers:
            for k, w in enumerate(layer.weights):
                i = len(checked)
                what = f"weight {i} ({layer.name} {'kernel' if k == 0 else 'bias'})"
                checked.append(layers_mod._checked_weight(what, weights[i], w))
        for w, new in zip(own, checked):
            np.copyto(w, new, casting="unsafe")

    def save(self, filepath, overwrite=True, **kwargs) -> None:
        """Saves architecture, compile settings, weights and optimizer state to one file.

        The file is a zip (``config.json``, ``weights.npz``, ``optimizer.npz``) written
        atomically; ``lamina.load_model`` restores it so that predictions are bit-identical
        and training resumes exactly.

        Args:
            filepath: Path ending in ``.lamina`` (``.keras`` is accepted too).
            overwrite: Replace an existing file. Defaults to `True`.
        """
        from . import io

        io.save_model(self, filepath, overwrite=overwrite)

    def save_weights(self, filepath, overwrite=True) -> None:
        """Saves the weights alone to a ``.weights.npz`` file (atomically).

        Args:
            filepath: Path ending in ``.weights.npz``.
            overwrite: Replace an existing file. Defaults to `True`.
        """
        from . import io

        io.save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, skip_mismatch=False) -> None:
        """Loads weights saved by ``save_weights`` (or a ``.lamina`` file) in place."""
        from . import io

        if skip_mismatch:
            raise ValueError("skip_mismatch=True is not supported")
        io.load_weights(self, filepath)

    # ------------------------------------------------------------------ config --------
    def get_config(self) -> dict:
        """Returns the architecture and its hyperparameters (JSON-able)."""
        layers = []
        if self._input_layer is not None:
            layers.append(layers_mod.serialize(self._input_layer))
        elif self._input_shape is not None and not (
                self._layers and self._layers[0]._batch_input_shape):
            layers.append({"class_name": "InputLayer",
                           "config": {"shape": list(self._input_shape), "name": "input_layer"}})
        layers += [layers_mod.serialize(lay) for lay in self._layers]
        return {"name": self.name, "dtype": self.dtype, "seed": self.seed, "layers": layers}

    @classmethod
    def from_config(cls, config: dict):
        """Creates an (uncompiled) model from ``get_config()``'s output."""
        if not isinstance(config, dict):
            raise TypeError(f"config must be a dict, got {type(config).__name__}")
        unknown = set(config) - {"name", "dtype", "seed", "layers", "trainable",
                                 "build_input_shape"}
        if unknown:
            raise ValueError(f"unknown Sequential config keys: {', '.join(sorted(unknown))}")
        layer_configs = config.get("layers")
        if not isinstance(layer_configs, list):
            raise ValueError(f"config['layers'] must be a list, got {layer_configs!r}")
        model = cls(name=config.get("name"), seed=config.get("seed"),
                    dtype=config.get("dtype"))
        for lc in layer_configs:
            model.add(layers_mod.deserialize(lc))
        bis = config.get("build_input_shape")
        if bis is not None and not model.built:
            model.build(bis)
        return model

    def get_compile_config(self):
        """Returns the compile arguments (optimizer, loss, metrics, loss_weights), or None."""
        if not self.compiled:
            return None
        metrics = [m if isinstance(m, str) else metrics_mod.serialize(m)
                   for m in self._metric_ids]
        return {"optimizer": optimizers_mod.serialize(self.optimizer),
                "loss": None if self.loss is None else losses_mod.serialize(self.loss),
                "metrics": metrics, "loss_weights": self.loss_weights}

    def compile_from_config(self, config):
        """Compiles from ``get_compile_config()``'s output."""
        if not isinstance(config, dict):
            raise TypeError(f"compile config must be a dict, got {config!r}")
        unknown = set(config) - {"optimizer", "loss", "metrics", "loss_weights",
                                 "weighted_metrics"}
        if unknown:
            raise ValueError(f"unknown compile config keys: {', '.join(sorted(unknown))}")
        self.compile(optimizer=optimizers_mod.get(config.get("optimizer", "rmsprop")),
                     loss=config.get("loss"), metrics=config.get("metrics"),
                     loss_weights=config.get("loss_weights"))

    def to_json(self, **kwargs) -> str:
        """Returns the architecture as JSON (``lamina.models.model_from_json`` reads it)."""
        return json.dumps({"class_name": "Sequential", "config": self.get_config(),
                           "lamina_version": __version__}, **kwargs)

    def __repr__(self):
        return f"<Sequential name={self.name!r}, layers={len(self._layers)}, built={self.built}>"


class _ModelType(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, Sequential)


class Model(metaclass=_ModelType):
    """Keras's functional ``Model(inputs, outputs)`` for a chain of layer calls.

    ``lamina.Input`` followed by layer calls, each on the previous output, describes the same
    network as a Sequential; this returns that ``Sequential`` (and ``isinstance(model,
    lamina.Model)`` holds for every lamina model). Branches, several inputs or outputs and
    subclassing ``Model`` are not supported.

    Args:
        inputs: The ``lamina.Input(...)`` the chain starts from (or a one-element list).
        outputs: The last layer call's output (or a one-element list).
        name: Model name. Defaults to `None`.
        seed: As for ``Sequential``. Defaults to `None`.
        dtype: As for ``Sequential``. Defaults to `None`.

    Example:
        >>> import lamina
        >>> inputs = lamina.Input(shape=(4,))
        >>> x = lamina.layers.Dense(8, activation="relu")(inputs)
        >>> outputs = lamina.layers.Dense(2, activation="softmax")(x)
        >>> model = lamina.Model(inputs=inputs, outputs=outputs, seed=0)
        >>> model.output_shape, isinstance(model, lamina.Model)
        ((None, 2), True)
    """

    def __new__(cls, inputs=None, outputs=None, name=None, *, seed=None, dtype=None,
                trainable=True):
        if cls is not Model:
            raise TypeError("subclassing lamina.Model is not supported: lamina runs whole "
                            "networks in its C++ core; use Sequential or Model(inputs, outputs)")
        if isinstance(inputs, (list, tuple)):
            if len(inputs) != 1:
                raise ValueError(f"lamina models take one input, got {len(inputs)}")
            inputs = inputs[0]
        if isinstance(outputs, (list, tuple)):
            if len(outputs) != 1:
                raise ValueError(f"lamina models have one output, got {len(outputs)}")
            outputs = outputs[0]
        if not isinstance(inputs, layers_mod.InputLayer):
            raise TypeError(f"inputs must be a lamina.Input(...), got {inputs!r}")
        chain = []
        node = outputs
        while isinstance(node, layers_mod.SymbolicOutput):
            chain.append(node.layer)
            node = node.parent
        if node is not inputs:
            raise ValueError("outputs must come from layer calls chained on `inputs`, got "
                             f"{outputs!r}")
        if not chain:
            raise ValueError("the model has no layers between inputs and outputs")
        return Sequential([inputs, *reversed(chain)], trainable=trainable, name=name,
                          seed=seed, dtype=dtype)
