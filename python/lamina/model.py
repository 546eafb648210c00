"""``Sequential``: a stack of layers (the functional ``Model`` builds one, see functional.py).

A model holds its layers, their weights and its compile settings, and turns them into the
core's ``Network`` (``_network_for``, built by ``lamina.model_network``); the training loop it inherits lives in
``lamina.trainer`` (fit / evaluate / predict), the file format in ``lamina.io``.

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
    ['accuracy', 'loss']
    >>> model.predict(x[:3], verbose=0).shape
    (3, 2)
"""

from __future__ import annotations

import numpy as np

from . import dtype_policies
from . import layers as layers_mod
from . import losses as losses_mod
from . import metric_logs
from . import model_network
from . import optimizers as optimizers_mod
from . import utils
from ._validation import check_float, check_int
from .layers.layer import Layer, SymbolicOutput, check_shape
from .model_state import ModelState
from .model_surface import KerasSurface
from .trainer import Trainer

__all__ = ["Sequential"]

_MODEL_COUNT = [0]


def _model_name():
    n = _MODEL_COUNT[0]
    _MODEL_COUNT[0] += 1
    return "sequential" if n == 0 else f"sequential_{n}"



def _dtype_name(dtype):
    """The model's float type: "float32" / "float64", or a dtype policy's variable dtype
    (a Keras model config carries a DTypePolicy; "mixed_bfloat16" gives float32)."""
    if dtype is None:
        return dtype_policies.dtype_policy().variable_dtype
    if isinstance(dtype, (dict, dtype_policies.DTypePolicy)):
        try:
            return dtype_policies.get(dtype).variable_dtype
        except (TypeError, ValueError) as exc:
            raise ValueError(f"dtype must be 'float32', 'float64' or a dtype policy, got "
                             f"{dtype!r}: {exc}") from None
    if dtype in dtype_policies.POLICY_NAMES:
        return dtype_policies.get(dtype).variable_dtype
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = str(dtype)
    if name not in ("float32", "float64"):
        raise ValueError(f"dtype must be 'float32', 'float64' or a dtype policy, got {dtype!r}")
    return name


class Sequential(ModelState, KerasSurface, Trainer, Layer):
    """A linear stack of layers (Keras 3 ``keras.Sequential``).

    A built model is also a layer: it can be added to another ``Sequential`` or called on a
    symbolic tensor in a functional chain (transfer learning: ``Sequential([base,
    Dense(1)])``). Its layers, and so its weights, are then shared with the outer model, not
    copied; ``base.trainable = False`` freezes them in the outer model too (at its next
    ``compile``). The outer model's core network runs the inner layers in line.

    Args:
        layers: Layers to add, optionally starting with ``lamina.Input(shape=...)``.
            Defaults to `None`.
        trainable: Whether fit updates the model's weights; setting ``model.trainable``
            later sets it on every layer, and a change takes effect at the next
            ``compile`` (Keras semantics). Defaults to `True`.
        name: Model name. Defaults to `None` ("sequential", "sequential_1" …).
        seed: Seed of initialization, shuffling and dropout; same seed and data give
            bit-identical weights with any thread count. Defaults to `None` (drawn from
            ``lamina.utils.set_random_seed``'s generator if set, else random).
        dtype: The float type of the weights and the core: "float32" or "float64" (or a
            dtype policy, which gives its variable dtype: "mixed_bfloat16" is float32; the
            layers' compute dtypes come from their own policies). Defaults to `None` (the
            global policy's variable dtype, ``lamina.config.floatx()`` unless
            ``lamina.mixed_precision.set_global_policy`` set a mixed one).

    Example:
        >>> import lamina
        >>> model = lamina.Sequential(seed=1)
        >>> model.add(lamina.Input(shape=(3,)))
        >>> model.add(lamina.layers.Dense(2))
        >>> model.count_params()
        8
    """

    def __init__(self, layers=None, trainable=True, name=None, *, seed=None, dtype=None):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"model name must be a string, got {name!r}")
        self.name = name or _model_name()
        self.dtype = dtype
        self.seed = utils.draw_seed() if seed is None else check_int("seed", seed, 0,
                                                                     2**63 - 1)
        init_ss, shuffle_ss, dropout_ss = np.random.SeedSequence(self.seed).spawn(3)
        self._init_rng = np.random.default_rng(init_ss)
        self._shuffle_seed = int(shuffle_ss.generate_state(1, np.uint64)[0])
        self._dropout_seed = int(dropout_ss.generate_state(1, np.uint64)[0])
        # Layer state (a model is a layer too; Layer.__init__ would set the shape attributes
        # that Sequential exposes as properties).
        self._batch_input_shape = None
        self._dtype = None
        self._rng = None
        self._path_prefix = None
        self._variables = {}
        self._node = None
        self._layers = []
        self._trainable = bool(trainable)
        self._compiled_trainable = {}  # id(leaf layer) -> its weights train, as of compile()
        self._input_layer = None
        self._auto_input = None  # the InputLayer a Sequential without Input gets when built
        self._nodes = []  # the symbolic output of each layer in this model's chain
        self._leaf_key = None  # the leaf layers the cached network was built from
        self._call_count = 0  # model(x, training=True) calls so far (their mask step)
        self._input_shape = None
        self.built = False
        self.optimizer = None
        self.loss = None  # what compile was given (Keras keeps the user's object)
        self._loss = None  # that loss resolved to a lamina.losses.Loss
        self.loss_weights = None
        self._metric_ids = []
        self._weighted_metric_ids = []
        self._compiled_metrics = None  # metric_logs.CompiledMetrics, set by _network_for
        self.compiled = False
        self._network = None
        self._network_kind = None
        self._network_generation = 0
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
        if layer is self or (isinstance(layer, Sequential)
                             and any(leaf is self for leaf in layer._models())):
            raise ValueError(f"model {self.name!r} cannot contain itself")
        if isinstance(layer, layers_mod.InputLayer):
            if self._layers or self._input_layer is not None:
                raise ValueError("an Input / InputLayer can only be the first layer of a "
                                 f"Sequential, got {layer.name!r} after other layers")
            self._input_layer = layer
            self._input_shape = layer.output_shape
            self.build()
            return
        names = {lay.name for lay in self._layers}
        if layer.name in names:
            raise ValueError(f"a layer named {layer.name!r} is already in the model: layer "
                             "names must be unique")
        if not self._layers and self._input_shape is None:
            if isinstance(layer, Sequential) and layer.built:
                self._input_shape = layer._input_shape
            elif layer._batch_input_shape:
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
        del self._nodes[len(self._layers):]
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
            shape = check_shape("input_shape", shape)
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
            if isinstance(layer, Sequential):  # a nested model builds with its own seed
                if layer.built and layer._input_shape != shape:
                    raise ValueError(f"model {layer.name!r} was built for inputs "
                                     f"{layer._input_shape} but receives {shape} here")
                if not layer.built:
                    layer.dtype = self.dtype
                    layer.build(shape)
                if layer.dtype != self.dtype:
                    raise ValueError(f"model {layer.name!r} is {layer.dtype} but the model "
                                     f"{self.name!r} is {self.dtype}")
                shape = layer.compute_output_shape(shape)
                continue
            if layer.built:
                if layer.input_shape != shape:
                    raise ValueError(f"layer {layer.name!r} was built for inputs "
                                     f"{layer.input_shape} but receives {shape} here")
            else:
                layer._take_model_dtype(self.dtype, self.name)
                layer._dtype = self.dtype
                layer._rng = self._init_rng
                layer._path_prefix = self.name
                layer.build(shape)
                layer._rng = None
            for w in layer.weights:
                if w.dtype.kind == "f" and w.dtype.name != self.dtype:  # not counts (int64)
                    raise ValueError(f"layer {layer.name!r} holds {w.dtype} weights but the "
                                     f"model is {self.dtype}")
            shape = layer.output_shape
        self.built = True
        self._link_nodes()

    def _link_nodes(self):
        """The symbolic chain of this model: its input, then one output per layer.

        Each layer's first node (``layer.output``) is the one of the first model that built
        it, or of its functional call; a nested model keeps its own ``output``.
        """
        if self._input_layer is None and self._auto_input is None:
            # Keras gives a built Sequential an input too; a fixed name, so that no global
            # name counter moves.
            self._auto_input = layers_mod.InputLayer(shape=self._input_shape,
                                                     name="input_layer")
        node = self.input
        nodes = []
        for k, layer in enumerate(self._layers):
            old = self._nodes[k] if k < len(self._nodes) else None
            if old is None or old.layer is not layer or old.parent is not node:
                old = SymbolicOutput(layer, node)
            nodes.append(old)
            if layer._node is None and not isinstance(layer, Sequential):
                layer._node = old
            node = old
        self._nodes = nodes

    def compute_output_shape(self, input_shape):
        """The per-sample output shape for a per-sample input shape (through every layer)."""
        shape = tuple(input_shape)
        for layer in self._layers:
            shape = tuple(layer.compute_output_shape(shape))
        return shape

    def get_build_config(self):
        """Keras's build config, ``{"input_shape": [None, *sample_shape]}`` (None unbuilt).

        With ``build_from_config`` it lets a tool (KerasTuner) rebuild a model that was
        declared without an ``Input`` before loading weights into it.
        """
        if not self.built:
            return None
        return {"input_shape": [None, *self._input_shape]}

    def build_from_config(self, config) -> None:
        """Builds the model from ``get_build_config()``'s dict (nothing to do for None).

        Args:
            config: ``{"input_shape": [None, *sample_shape]}`` or None.
        """
        if config is None:
            return
        if not isinstance(config, dict) or "input_shape" not in config:
            raise ValueError(f"a build config is {{'input_shape': [None, ...]}}, got {config!r}")
        self.build(tuple(config["input_shape"]))

    @property
    def input_shape(self):
        """``(None, *sample_shape)`` like Keras, or None before the shape is known."""
        return None if self._input_shape is None else (None, *self._input_shape)

    @property
    def output_shape(self):
        """``(None, outputs)`` once built."""
        self._require_built("output_shape")
        return (None, *self.compute_output_shape(self._input_shape))

    def _models(self):
        """This model and every model nested in it."""
        out = [self]
        for layer in self._layers:
            if isinstance(layer, Sequential):
                out += layer._models()
        return out

    def _leaves(self, trainable=None):
        """``[(layer, trains now)]``: the layers the core runs, nested models flattened.

        A leaf trains now when it and every model above it are trainable.
        """
        trainable = self._trainable if trainable is None else trainable
        out = []
        for layer in self._layers:
            if isinstance(layer, Sequential):
                out += layer._leaves(trainable and layer._trainable)
            else:
                out.append((layer, trainable and layer.trainable))
        return out

    @property
    def path(self) -> str:
        """The model's path (its name)."""
        return self.name

    @property
    def weights(self) -> list:
        """The weights (``lamina.Variable``, live), layer by layer (kernel, then bias)."""
        return [w for layer in self._layers for w in layer.weights]

    @property
    def trainable(self) -> bool:
        """Whether fit may update the weights; setting it sets every layer's flag too."""
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        value = bool(value)
        self._trainable = value
        for layer in self._layers:
            layer.trainable = value

    @property
    def trainable_weights(self) -> list:
        """The weights of the layers that are trainable now (none if the model is not)."""
        if not self._trainable:
            return []
        return [w for layer in self._layers for w in layer.trainable_weights]

    @property
    def losses(self) -> list:
        """Keras's ``model.losses``: the weight penalties of every layer (``Layer.losses``),
        in layer order; ``[]`` when the model is frozen or nothing is regularized."""
        if not self._trainable:
            return []
        return [v for layer in self._layers for v in layer.losses]

    @property
    def non_trainable_weights(self) -> list:
        """The frozen weights: those of frozen layers, or all when the model is frozen."""
        if not self._trainable:
            return self.weights
        return [w for layer in self._layers for w in layer.non_trainable_weights]

    @property
    def trainable_variables(self) -> list:
        """Keras's name for ``trainable_weights``."""
        return self.trainable_weights

    @property
    def non_trainable_variables(self) -> list:
        """Keras's name for ``non_trainable_weights``."""
        return self.non_trainable_weights

    def _trains(self, layer) -> bool:
        """Whether fit updates ``layer``'s weights (a leaf layer, possibly inside a nested
        model): its flag, and those of the models above it, as of the last compile."""
        flag = self._compiled_trainable.get(id(layer))
        if flag is None:
            flag = dict((id(leaf), t) for leaf, t in self._leaves()).get(id(layer), False)
        return flag

    def count_params(self) -> int:
        """Number of scalar parameters."""
        self._require_built("count_params")
        return sum(int(w.size) for w in self.weights)

    # ------------------------------------------------------------------ compile -------
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1,
                jit_compile="auto", auto_scale_loss=True) -> None:
        """Configures training: optimizer, loss and metrics (Keras 3 arguments).

        Args:
            optimizer: Name ("adam", "sgd" …) or ``lamina.optimizers`` instance. Defaults to
                `"rmsprop"`.
            loss: Name, ``lamina.losses`` instance, or a custom loss: any
                ``fn(y_true, y_pred)`` or ``Loss`` subclass written with ``lamina.ops``
                (trained through the tape: ``lamina.custom_loss``). Defaults to `None`
                (must be given before fit/evaluate).
            loss_weights: A float (or a one-element list/dict) scaling the loss. Defaults to
                `None` (1.0).
            metrics: Metrics to log, unweighted (sample and class weights do not weight
                them): names ("accuracy", "auc", "mae" …), ``lamina.metrics`` objects,
                losses or functions ``fn(y_true, y_pred)``. Defaults to `None`.
            weighted_metrics: Metrics weighted by the sample and class weights; a name
                already used by ``metrics`` is logged as ``weighted_<name>``. Defaults to
                `None`.
            run_eagerly: Ignored. Defaults to `False`.
            steps_per_execution: Must be 1. Defaults to `1`.
            jit_compile: Ignored. Defaults to `"auto"`.
            auto_scale_loss: Ignored. Defaults to `True`.
        """
        if self.__dict__.get("_fitting"):
            raise RuntimeError(f"model {self.name!r} is being trained: compile() cannot run "
                               "inside fit (from a callback); change the learning rate "
                               "through model.optimizer.learning_rate, or compile after fit")
        if steps_per_execution != 1:
            raise ValueError(f"steps_per_execution={steps_per_execution!r} is not supported: "
                             "only 1")
        opt = optimizers_mod.get(optimizer)
        loss = self._one_output_arg(loss, "loss")
        metrics = self._one_output_arg(metrics, "metrics")
        weighted_metrics = self._one_output_arg(weighted_metrics, "weighted_metrics")
        loss_obj = None if loss is None else losses_mod.get(loss)
        lw = loss_weights
        if isinstance(lw, (dict, list, tuple)):
            if len(lw) != 1:
                raise ValueError(f"loss_weights must have one entry for a Sequential model, got"
                                 f" {loss_weights!r}")
            lw = next(iter(lw.values() if isinstance(lw, dict) else lw))
        if lw is not None:
            lw = check_float("loss_weights", lw, minimum=0.0)
        ids = metric_logs.flatten_ids(metrics, "metrics")
        wids = metric_logs.flatten_ids(weighted_metrics, "weighted_metrics")
        metric_logs.CompiledMetrics(ids, wids, loss_obj, None)  # validates names early
        self.optimizer = opt
        self.loss = loss
        self._loss = loss_obj
        self.loss_weights = lw
        self._metric_ids = ids
        self._weighted_metric_ids = wids
        self._compiled_metrics = None
        self.compiled = True
        # Keras semantics: the trainable flags in force now are the ones fit obeys until the
        # next compile.
        self._compiled_trainable = {id(leaf): t for leaf, t in self._leaves()}
        self._invalidate()

    def _one_output_arg(self, value, what):
        """Keras's per-output form of a compile argument for this model's one output: a dict
        keyed by the output layer's name gives its entry; a one-element list gives its
        element for ``loss``. Other values are returned as they are."""
        if isinstance(value, dict) and "class_name" not in value:  # (not a serialized one)
            out = self.layers[-1].name if self.layers else None
            if list(value) != [out]:
                raise ValueError(f"{what} as a dict maps output names to values: this model "
                                 f"has one output, {out!r}; got keys "
                                 f"{sorted(map(str, value))}")
            return value[out]
        if what == "loss" and isinstance(value, (list, tuple)) and len(value) == 1:
            return value[0]
        return value

    @property
    def metrics_names(self) -> list:
        """Keras 3's: ``["loss", "compile_metrics"]`` once compiled with metrics, ``["loss"]``
        without, ``[]`` before compile (the History keys name each metric)."""
        if not self.compiled:
            return []
        return ["loss"] + (["compile_metrics"] if self._metric_ids or self._weighted_metric_ids
                           else [])

    def _resolve_metrics(self, out_dim):
        loss = self._loss
        if (loss is not None and not losses_mod.is_fused(loss)
                and self.__dict__.get("_labels_seen", False)):
            # A Python loss trained on integer labels: "accuracy" is the sparse one, as
            # Keras picks it from the targets' shape (its name says nothing here).
            loss = "sparse_categorical_crossentropy"
        return metric_logs.CompiledMetrics(self._metric_ids, self._weighted_metric_ids,
                                           loss, out_dim)

    def _require_built(self, what):
        if not self.built:
            raise ValueError(f"model {self.name!r} is not built yet, so {what} is not "
                             "available: start it with lamina.Input(shape=...), call "
                             "model.build((None, features)), or fit/predict first")

    def _require_compiled(self, what):
        if not self.compiled:
            raise RuntimeError(f"model {self.name!r} must be compiled before {what}: call "
                               "model.compile(optimizer=..., loss=...)")
        if self._loss is None:
            raise ValueError(f"model {self.name!r} was compiled without a loss, so {what} "
                             "cannot run: compile(loss=...)")

    def _targets_name(self, y=None):
        """The loss name that says how targets ``y`` are checked: the compiled loss's, or for
        a Python loss "sparse_categorical_crossentropy" (int labels) when a sparse metric is
        compiled or ``y`` is one label per sample for several outputs, else
        "mean_squared_error" ((n, outputs) floats)."""
        self._network_for("train")
        if y is not None and not losses_mod.is_fused(self._loss):
            shape = np.shape(y)
            labels = self._out_dim() > 1 and (len(shape) == 1 or (
                len(shape) == 2 and shape[1] == 1))
            if labels != (self._spec["loss"]["name"] == "sparse_categorical_crossentropy"):
                self.__dict__["_labels_seen"] = labels
                self._network = self._network_kind = None  # rebuilt for these targets
                self._network_for("train")
        return self._spec["loss"]["name"]

    def _out_dim(self):
        return self.output_shape[-1]

    def _network_for(self, kind):
        """The core Network: "train" (compiled) or "infer" (any built model)."""
        return model_network.network_for(self, kind)

    def core_spec(self) -> list:
        """The core spec entries of every layer, nested models flattened (as a layer)."""
        return [entry for leaf, _ in self._leaves() for entry in leaf.core_spec()]

    # ------------------------------------------------------------------ pickle / copy ---
    @property
    def dtype(self) -> str:
        """The model's float type ("float32" or "float64"): its weights' and its core's."""
        return self._dtype_policy.variable_dtype

    @dtype.setter
    def dtype(self, value):
        self._dtype_policy = dtype_policies.DTypePolicy(_dtype_name(value))

    def __getstate__(self):
        """Everything but the core Network and the lock, which are rebuilt when next used."""
        state = self.__dict__.copy()
        state.update(_network=None, _network_kind=None, _spec=None, _leaf_key=None)
        state.pop("_call_lock", None)
        state.pop("_fitting", None)  # a copy made inside fit is not being trained
        return state

    def __repr__(self):
        return (f"<{type(self).__name__} name={self.name!r}, layers={len(self._layers)}, "
                f"built={self.built}>")

