"""The layer base class, the layer registry, and the symbolic outputs of layer calls.

Every ``Layer`` subclass registers itself under its class name when it is defined, so
``lamina.layers.deserialize``, run files, save files and the scikit-learn estimators find a
new layer kind without a table to edit (see docs/architecture.md, "Adding a layer kind").
"""

from __future__ import annotations

import functools
import re

import numpy as np

from .. import activations as activations_mod
from .. import constraints as constraints_mod
from .. import dtype_policies
from .. import eager
from .. import initializers as initializers_mod
from .. import naming
from .. import regularizers as regularizers_mod
from .._validation import check_int, first_nonfinite
from ..variables import Variable

def check_shape(name, shape):
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (int(shape),)
    try:
        shape = tuple(shape)
    except TypeError:
        raise TypeError(f"{name} must be a tuple of ints, got {shape!r}") from None
    out = []
    for s in shape:
        out.append(check_int(f"{name} entry", s, minimum=1))
    if not out:
        raise ValueError(f"{name} must have at least one dimension, got {shape!r}")
    return tuple(out)


def checked_weight(what, new, live):
    """Returns ``new`` as an array fit to be copied into ``live``, or raises naming ``what``."""
    new = np.asarray(new)
    if new.shape != live.shape:
        raise ValueError(f"{what} has shape {live.shape}, got shape {new.shape}")
    if new.dtype.kind not in "biuf":
        raise TypeError(f"{what} must be numeric, got dtype {new.dtype}")
    where = first_nonfinite(new)
    if where is not None:
        raise ValueError(f"{what} contains {new[where]} at index {where}")
    if live.dtype.kind == "f":  # finite here, but maybe beyond the live dtype's range
        with np.errstate(over="ignore", invalid="ignore"):
            cast = np.asarray(new, dtype=live.dtype)
        where = first_nonfinite(cast)
        if where is not None:
            raise ValueError(f"{what} holds {new[where]!r} at index {where}, beyond the range "
                             f"of {live.dtype.name}")
    return new


# Keys of Keras 3 layer configs that lamina accepts when they hold Keras's default (their
# feature is not supported otherwise, and the constructor then names it).
_KERAS_DEFAULTS = {"activity_regularizer": None, "kernel_constraint": None,
                   "bias_constraint": None, "lora_rank": None, "lora_alpha": None,
                   "quantization_config": None, "noise_shape": None, "sparse": False,
                   "ragged": False, "optional": False, "batch_size": None,
                   "data_format": "channels_last"}


def _drop_keras_defaults(config):
    config = dict(config)
    if config.get("dtype") is None:
        config.pop("dtype", None)
    for key, default in _KERAS_DEFAULTS.items():
        if key in config and config[key] == default:
            del config[key]
    return config


# Sizes are checked before anything is allocated: a side of a kernel fits a signed 32-bit
# int (the GEMM's panel arithmetic), and a kernel at most 2^34 elements (64 GiB of float32).
_MAX_DIM = 2**31 - 1
_MAX_KERNEL = 2**34


# Activation layers a Dense (or Activation) takes as its ``activation`` (Keras accepts any
# callable; these are the ones the core's fused activation computes), with the config keys
# that say what they compute.
_ACTIVATION_LAYERS = {"Activation": ("activation",), "ReLU": ("max_value", "negative_slope",
                      "threshold"), "LeakyReLU": ("negative_slope", "alpha"),
                      "ELU": ("alpha",), "Softmax": ("axis",)}


def _activation_and_alpha(activation, alpha=None):
    """``(core activation name, alpha)`` of a name, a ``lamina.activations`` function, an
    activation layer (``LeakyReLU(0.1)``: Keras calls any callable) or such a layer's
    serialized form (what Keras writes for it)."""
    if isinstance(activation, dict) and activation.get("class_name") in _ACTIVATION_LAYERS:
        keys = _ACTIVATION_LAYERS[activation["class_name"]]
        config = activation.get("config") or {}
        activation = _REGISTRY[activation["class_name"]](
            **{k: v for k, v in config.items() if k in keys})
    if isinstance(activation, Layer):
        kind = type(activation).__name__
        spec = activation.core_spec() if kind in _ACTIVATION_LAYERS else None
        if spec is None or len(spec) > 1 or (spec and spec[0].get("type") != "activation"):
            raise ValueError(
                f"activation={kind}(...) cannot be fused into the layer: pass a name, an "
                f"activation function, or LeakyReLU/ELU/Softmax/Activation/a plain ReLU "
                f"layer; add this {kind} as a layer of its own after it")
        return activation.activation, float(activation.alpha)
    name = activations_mod.get(activation)
    if alpha is None:
        alpha = activations_mod.DEFAULT_ALPHA.get(name, 0.0)
    return name, float(alpha)


def _activation_config(name, alpha):
    """What a layer's config says for ``(name, alpha)``: the name when alpha is the name's
    default, else the activation layer that computes it (as Keras serializes
    ``activation=LeakyReLU(0.1)``)."""
    if alpha == activations_mod.DEFAULT_ALPHA.get(name, 0.0):
        return name
    if name == "leaky_relu":
        return {"class_name": "LeakyReLU", "config": {"negative_slope": alpha}}
    if name == "elu":
        return {"class_name": "ELU", "config": {"alpha": alpha}}
    return name


def _batch_shapes(fn, method):
    """Lets ``build`` / ``compute_output_shape`` take Keras's shapes with the batch axis
    first, ``(None, 20)``, besides lamina's per-sample ``(20,)``; Keras's form gets the batch
    axis back in ``compute_output_shape``'s result (``(None, 4)``, as Keras returns it)."""
    if getattr(fn, "_batch_shapes", False):
        return fn

    @functools.wraps(fn)
    def wrapper(self, input_shape=None, *args, **kwargs):
        batched = (isinstance(input_shape, (tuple, list)) and len(input_shape) > 0
                   and input_shape[0] is None)
        if batched:
            input_shape = tuple(input_shape[1:])
        out = fn(self, input_shape, *args, **kwargs)
        if batched and method == "compute_output_shape" and out is not None:
            out = (None, *out)
        return out

    wrapper._batch_shapes = True
    return wrapper


# ---- the registry: class name -> layer class ---------------------------------------------
_REGISTRY: dict = {}


def _register(cls):
    """Registers a Layer subclass under its class name when it is defined. A class of the
    same name from another module does not replace the first one (a user's ``Dense`` cannot
    shadow lamina's); redefining a class in its own module (a re-run notebook cell) does."""
    name = cls.__name__
    if name.startswith("_"):
        return
    old = _REGISTRY.get(name)
    if old is None or (old.__module__, old.__qualname__) == (cls.__module__, cls.__qualname__):
        _REGISTRY[name] = cls


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower().replace("re_l_u", "relu")


def registered() -> dict:
    """``{class name: class}`` of every registered layer kind (built-in and user-defined)."""
    return dict(_REGISTRY)


def class_for(name: str):
    """The layer class for a class name (``"LeakyReLU"``) or its snake-case spelling
    (``"leaky_relu"``, the run files' ``type``); None when no layer kind has that name."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    key = name.lower().replace("_", "")
    for cname, cls in _REGISTRY.items():
        if cname.lower() == key or _snake(cname).replace("_", "") == key:
            return cls
    return None



class Layer:
    """Base class: a named stage with an input shape (per sample) and optional weights.

    Args:
        name: Unique name. Defaults to `None` (derived from the class: "dense", "dense_1" …).
        dtype: The layer's dtype policy (``lamina.dtype_policies``): "float32", "float64",
            "mixed_bfloat16" or a ``DTypePolicy``. Its compute dtype decides the layer's
            GEMM inputs (bfloat16 under "mixed_bfloat16"); its weights take the model's
            float type (a mixed policy needs a float32 model). Defaults to `None` (the
            global policy, ``lamina.mixed_precision.global_policy()``).
        trainable: Whether fit updates this layer's weights. ``False`` freezes them (they
            appear in ``non_trainable_weights``); as in Keras, a change takes effect at
            the model's next ``compile``. Defaults to `True`.
        input_shape: Shape of one sample, for the first layer of a Sequential (Keras 2
            style; ``lamina.Input(shape=...)`` is the Keras 3 way). Defaults to `None`.
        activity_regularizer: Penalty on the layer's output (``lamina.regularizers``), added
            to the loss divided by the batch size as Keras 3 does. Defaults to `None`.

    Example:
        >>> layer = Flatten(); layer.build((2, 3)); isinstance(layer, Layer), layer.output_shape
        (True, (6,))
    """

    _is_input = False  # True for InputLayer: the root of a chain of layer calls

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _register(cls)
        for method in ("build", "compute_output_shape"):
            if method in cls.__dict__:
                setattr(cls, method, _batch_shapes(cls.__dict__[method], method))

    def __init__(self, name=None, dtype=None, trainable=True, input_shape=None,
                 input_dim=None, activity_regularizer=None, **kwargs):
        if callable(getattr(type(self), "call", None)):
            # A Keras custom layer: its Python call() cannot run inside the C++ network, and
            # ignoring it would train and predict as if the layer were not there.
            raise TypeError(
                f"{type(self).__name__} defines call(): lamina runs the whole network in its "
                f"C++ core and cannot run a custom layer's Python call(); build it from "
                f"lamina's layers (Dense, Activation, Dropout, the normalization and noise "
                f"layers, …) or keep this model in Keras")
        if kwargs:
            raise TypeError(f"unexpected arguments for {type(self).__name__}: "
                            f"{', '.join(sorted(kwargs))}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"layer name must be a string, got {name!r}")
        self.name = name or naming.auto_name(type(self).__name__)
        self.trainable = bool(trainable)
        if input_dim is not None:
            input_shape = (check_int("input_dim", input_dim, minimum=1),)
        self._batch_input_shape = None if input_shape is None else check_shape("input_shape",
                                                                          input_shape)
        self.built = False
        self.input_shape = None
        self.output_shape = None
        self._dtype = None
        self._dtype_policy = dtype_policies.get(dtype)
        self._rng = None
        self.activity_regularizer = regularizers_mod.get(activity_regularizer)
        self._path_prefix = None  # the name of the model that builds this layer
        self._variables = {}  # name -> Variable, in creation order (add_weight)
        self._node = None  # the SymbolicOutput of this layer's first call (Keras: node 0)

    # -- dtype policy (Keras's layer.dtype_policy, dtype, compute_dtype, variable_dtype) --
    @property
    def dtype_policy(self):
        """The layer's ``DTypePolicy``; a new one takes effect at the model's next
        ``compile`` (as ``trainable`` does)."""
        return self._dtype_policy

    @dtype_policy.setter
    def dtype_policy(self, value):
        policy = dtype_policies.get(value)
        if self.weights and policy.variable_dtype != self.variable_dtype:
            raise ValueError(f"layer {self.name!r} holds {self.variable_dtype} weights: its "
                             f"dtype policy cannot become {policy.name!r}")
        self._dtype_policy = policy

    @property
    def dtype(self) -> str:
        """The dtype of the layer's weights (Keras: an alias of ``variable_dtype``)."""
        return self.variable_dtype

    @property
    def variable_dtype(self) -> str:
        """The dtype of the layer's weights."""
        return self._dtype_policy.variable_dtype

    @property
    def compute_dtype(self) -> str:
        """The dtype of the layer's GEMM inputs ("bfloat16" under "mixed_bfloat16")."""
        return self._dtype_policy.compute_dtype

    def _take_model_dtype(self, dtype, model_name):
        """Called by the model that builds this layer: its weights are ``dtype`` (the
        model's float type). A plain float policy follows the model; a mixed one needs a
        float32 model."""
        policy = self._dtype_policy
        if policy.variable_dtype == dtype:
            return
        if policy.is_mixed:
            raise ValueError(f"layer {self.name!r} has dtype policy {policy.name!r} (float32 "
                             f"weights) but the model {model_name!r} is {dtype}: mixed "
                             "precision needs a float32 model")
        self._dtype_policy = dtype_policies.DTypePolicy(dtype)

    def _policy_config(self, config):
        """Adds ``"dtype"`` to a config when the policy is mixed (a plain float policy is
        the model's dtype, which the model's config carries)."""
        if self._dtype_policy.is_mixed:
            config["dtype"] = self._dtype_policy.name
        return config

    # -- shapes and weights --------------------------------------------------------------
    def compute_output_shape(self, input_shape):
        """Returns the per-sample output shape for a per-sample input shape."""
        return tuple(input_shape)

    def build(self, input_shape) -> None:
        """Creates the weights for a per-sample ``input_shape`` (e.g. ``(64,)``)."""
        input_shape = check_shape("input_shape", input_shape)
        self.output_shape = self.compute_output_shape(input_shape)
        self.input_shape = input_shape
        self.built = True

    @property
    def path(self) -> str:
        """Keras's layer path: ``"<model>/<layer name>"`` when a model built it, else the name."""
        return f"{self._path_prefix}/{self.name}" if self._path_prefix else self.name

    def add_weight(self, shape=None, initializer=None, dtype=None, trainable=True,
                   autocast=True, regularizer=None, constraint=None, name=None):
        """Creates a weight of this layer (Keras 3's ``Layer.add_weight``); call it in ``build``.

        The weight is a ``lamina.Variable`` over a new numpy array that the core reads and
        updates in place; ``weights`` lists the layer's variables in creation order.
        Creating a weight under a name the layer already has replaces that weight (a
        rebuilt layer). A layer hands its weights to the core in ``core_spec``: trainable
        ones as ``params``, non-trainable state (moving statistics) as ``state``.

        Args:
            shape: The weight's shape. Defaults to `None` (a scalar: ``()``).
            initializer: Name or ``lamina.initializers`` instance. Defaults to `None`
                ("glorot_uniform" for trainable float weights as in Keras, "zeros" for
                non-trainable ones).
            dtype: Defaults to `None` (the model's dtype, else ``lamina.config.floatx()``).
            trainable: Whether fit may update it. Defaults to `True`.
            autocast: Ignored (lamina has no mixed-precision autocasting of weights).
                Defaults to `True`.
            regularizer: Must be None: layers pass their penalties to the core in
                ``core_spec``. Defaults to `None`.
            constraint: A projection applied to the weight after each optimizer step
                (``lamina.constraints``: a name, a config or a callable); it becomes the
                variable's ``constraint``. Defaults to `None`.
            name: The weight's short name ("kernel"); its ``path`` is the layer's path and
                this name. Defaults to `None` ("variable", "variable_1" …).

        Returns:
            The new ``lamina.Variable``.

        Example:
            >>> layer = Layer(name="scale")
            >>> w = layer.add_weight((3,), "ones", name="gamma")
            >>> w.path, w.shape, [v.name for v in layer.weights]
            ('scale/gamma', (3,), ['gamma'])
        """
        if regularizer is not None:
            raise ValueError(f"layer {self.name!r}: add_weight's regularizer is not supported "
                             "(give the penalty to the core in core_spec)")
        constraint = constraints_mod.get(constraint)
        shape = () if shape is None else tuple(check_int("weight shape entry", s, minimum=0)
                                                for s in shape)
        if name is None:
            name = "variable" if not self._variables else f"variable_{len(self._variables)}"
        if initializer is None:
            initializer = "glorot_uniform" if trainable else "zeros"
        init = initializers_mod.get(initializer)
        dtype = dtype or self._dtype or self.variable_dtype
        rng = self._rng if self._rng is not None else np.random.default_rng()
        value = np.asarray(init(shape, dtype, rng)).reshape(shape)  # () comes back as (1,)
        var = Variable(value, shape=shape, dtype=dtype, trainable=trainable,
                       name=name, path=f"{self.path}/{name}")
        var.constraint = constraint
        self._variables[name] = var
        return var

    @property
    def weights(self) -> list:
        """The layer's weights (``lamina.Variable``), in creation order (kernel, then bias)."""
        return list(self._variables.values()) if self.built else []

    @property
    def trainable_weights(self) -> list:
        """The weights fit updates: the trainable variables, none when the layer is frozen."""
        return [w for w in self.weights if w.trainable] if self.trainable else []

    @property
    def losses(self) -> list:
        """Keras's ``layer.losses``: the L1/L2 penalty of each regularized trainable weight at
        its current value (one float32 scalar array each, in weight order); ``[]`` when
        none is regularized. The penalties of ``activity_regularizer`` depend on a batch and
        are added by fit's core step, not listed here.

        Example:
            >>> import lamina
            >>> d = lamina.layers.Dense(2, kernel_initializer="ones",
            ...                         kernel_regularizer=lamina.regularizers.L2(0.5))
            >>> d.build((3,)); [float(v) for v in d.losses]
            [3.0]
        """
        if not self.built or not self.trainable:
            return []
        out = []
        for entry in self.core_spec():
            for p in entry.get("params", ()):
                l1, l2 = p.get("l1", 0.0), p.get("l2", 0.0)
                if (l1 or l2) and p["trainable"]:
                    w = np.asarray(p["value"], dtype=np.float64)
                    out.append(eager.as_eager(np.float32(l1 * np.abs(w).sum()
                                                         + l2 * np.square(w).sum())))
        return out

    @property
    def non_trainable_weights(self) -> list:
        """The weights fit leaves alone: all of them when ``trainable`` is False, else the
        non-trainable variables (moving statistics)."""
        if not self.trainable:
            return list(self.weights)
        return [w for w in self.weights if not w.trainable]

    @property
    def trainable_variables(self) -> list:
        """Keras's name for ``trainable_weights``."""
        return self.trainable_weights

    @property
    def non_trainable_variables(self) -> list:
        """Keras's name for ``non_trainable_weights``."""
        return self.non_trainable_weights

    def count_params(self) -> int:
        """Number of scalar parameters."""
        return sum(int(w.size) for w in self.weights)

    def get_weights(self) -> list:
        """Copies of the parameter arrays."""
        return [w.copy() for w in self.weights]

    def set_weights(self, weights) -> None:
        """Copies ``weights`` into the live arrays (same count, shapes; finite values)."""
        own = self.weights
        weights = list(weights)
        if len(weights) != len(own):
            raise ValueError(f"layer {self.name!r} has {len(own)} weight arrays, got "
                             f"{len(weights)}")
        checked = [checked_weight(f"layer {self.name!r} weight {i}", new, w)
                   for i, (w, new) in enumerate(zip(own, weights))]
        for w, new in zip(own, checked):
            np.copyto(w, new, casting="unsafe")

    # -- core ----------------------------------------------------------------------------
    def core_spec(self) -> list:
        """Entries of the core's network spec for this layer (none for shape-only layers)."""
        return []

    def activity_spec(self) -> list:
        """The core entry of ``activity_regularizer`` (it follows ``core_spec()``'s)."""
        reg = self.activity_regularizer
        if reg is None or (reg.l1 == 0.0 and reg.l2 == 0.0):
            return []
        return [{"type": "activity_regularization", "l1": reg.l1, "l2": reg.l2}]

    # -- config --------------------------------------------------------------------------
    def get_config(self) -> dict:
        """Returns the constructor arguments as a JSON-able dict."""
        config = {"name": self.name, "trainable": self.trainable}
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = regularizers_mod.serialize(self.activity_regularizer)
        if self._batch_input_shape is not None:
            config["input_shape"] = list(self._batch_input_shape)
        return self._policy_config(config)

    @classmethod
    def from_config(cls, config: dict):
        """Creates a layer from ``get_config()``'s output (or a Keras 3 layer config)."""
        config = _drop_keras_defaults(config)
        if "batch_input_shape" in config:  # Keras 2 spelling
            bis = config.pop("batch_input_shape")
            config["input_shape"] = tuple(bis[1:])
        if "batch_shape" in config:  # Keras 3 spelling on a first layer
            config["input_shape"] = tuple(config.pop("batch_shape"))[1:]
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}, built={self.built}>"

    # -- functional API (linear chains) -------------------------------------------------
    def __call__(self, inputs, *args, **kwargs):
        """Functional API: ``layer(previous)`` on an ``Input`` or another layer call's output
        records the chain for ``lamina.Model(inputs, outputs)``.

        On data (an array of shape ``(batch, ...)``) it runs the layer at once, as Keras's
        eager call does, building it for that shape first, and returns an array with a
        ``.numpy()`` method (see `lamina.eager`); ``training=True`` runs dropout and noise
        and BatchNormalization's batch statistics without updating anything.
        """
        if isinstance(inputs, SymbolicOutput) or getattr(inputs, "_is_input", False):
            if getattr(self, "_called", False):
                raise ValueError(f"layer {self.name!r} is already used in a chain: lamina's "
                                 "functional API builds a single chain of distinct layers")
            self._called = True
            node = SymbolicOutput(self, inputs)
            if self._node is None:
                self._node = node
            return node
        extra = set(kwargs) - {"training"}
        if args or extra:
            raise TypeError(f"calling layer {self.name!r} on data takes only `training`, "
                            f"got {len(args)} more positional and {sorted(extra)}")
        return eager.call_layer(self, inputs, training=kwargs.get("training"))

    @property
    def output(self):
        """The symbolic output of this layer's first call (in a functional chain, or in the
        first model that built it); ``lamina.Model(model.inputs, layer.output)`` is a model
        that shares its weights and ends here (a feature extractor)."""
        if self._node is None:
            raise AttributeError(f"layer {self.name!r} has never been called and thus has no "
                                 "defined output: put it in a model with a known input shape "
                                 "or call it on lamina.Input(...)")
        return self._node

    @property
    def input(self):
        """The symbolic input of this layer's first call (an ``InputLayer`` or the previous
        layer's output)."""
        if self._node is None:
            raise AttributeError(f"layer {self.name!r} has never been called and thus has no "
                                 "defined input")
        return self._node.parent if isinstance(self._node, SymbolicOutput) else self._node


class SymbolicOutput:
    """The output of a layer call in the functional API (Keras's KerasTensor, for chains).

    Attributes:
        layer: The layer that produced it.
        parent: Its input: an ``InputLayer`` or another ``SymbolicOutput``.

    Example:
        >>> inputs = Input(shape=(3,))
        >>> out = Dense(2)(inputs); isinstance(out, SymbolicOutput), out.parent is inputs
        (True, True)
    """

    def __init__(self, layer, parent):
        self.layer = layer
        self.parent = parent

    @property
    def shape(self):
        """``(None, *per-sample shape)`` like Keras."""
        chain = []
        node = self
        while isinstance(node, SymbolicOutput):
            chain.append(node.layer)
            node = node.parent
        shape = node.output_shape
        for layer in reversed(chain):
            shape = layer.compute_output_shape(shape)
        return (None, *shape)

    def __repr__(self):
        return f"<SymbolicOutput shape={self.shape} from {self.layer.name!r}>"


# The base class's own build / compute_output_shape take Keras's batch-first shapes too
# (subclasses get this in __init_subclass__).
Layer.build = _batch_shapes(Layer.build, "build")
Layer.compute_output_shape = _batch_shapes(Layer.compute_output_shape, "compute_output_shape")
