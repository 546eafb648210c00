"""Layers of a Sequential model: Dense, Dropout, Activation, Flatten, InputLayer (Keras 3).

A layer describes one stage of the network and, once built, owns its parameters as numpy
arrays (``Dense.kernel`` of shape ``(inputs, units)``, ``Dense.bias`` of shape
``(units,)``). The core reads and updates these very arrays in place during training, so
they are always the live weights; ``set_weights`` copies into them.

Example:
    >>> import lamina
    >>> layer = lamina.layers.Dense(4, activation="relu")
    >>> layer.build((3,))
    >>> layer.kernel.shape, layer.bias.shape
    ((3, 4), (4,))
"""

from __future__ import annotations

import math
import re

import numpy as np

from . import activations as activations_mod
from . import initializers as initializers_mod
from . import regularizers as regularizers_mod
from ._validation import check_float, check_int, first_nonfinite, from_class_config

__all__ = ["Layer", "InputLayer", "Input", "Dense", "Dropout", "Activation", "Flatten",
           "ReLU", "LeakyReLU", "Softmax", "SymbolicOutput", "get", "serialize",
           "deserialize"]

_NAME_COUNTS: dict = {}


def _auto_name(cls_name: str) -> str:
    base = re.sub(r"(?<!^)(?=[A-Z])", "_", cls_name).lower()
    base = {"re_l_u": "re_lu", "leaky_re_l_u": "leaky_re_lu"}.get(base, base)
    n = _NAME_COUNTS.get(base, 0)
    _NAME_COUNTS[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def _shape(name, shape):
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


def _checked_weight(what, new, live):
    """Returns ``new`` as an array fit to be copied into ``live``, or raises naming ``what``."""
    new = np.asarray(new)
    if new.shape != live.shape:
        raise ValueError(f"{what} has shape {live.shape}, got shape {new.shape}")
    if new.dtype.kind not in "biuf":
        raise TypeError(f"{what} must be numeric, got dtype {new.dtype}")
    where = first_nonfinite(new)
    if where is not None:
        raise ValueError(f"{what} contains {new[where]} at index {where}")
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
    config.pop("dtype", None)  # the model's dtype applies (Keras stores a DTypePolicy here)
    for key, default in _KERAS_DEFAULTS.items():
        if key in config and config[key] == default:
            del config[key]
    return config


# Sizes are checked before anything is allocated: a side of a kernel fits a signed 32-bit
# int (the GEMM's panel arithmetic), and a kernel at most 2^34 elements (64 GiB of float32).
_MAX_DIM = 2**31 - 1
_MAX_KERNEL = 2**34


class Layer:
    """Base class: a named stage with an input shape (per sample) and optional weights.

    Args:
        name: Unique name. Defaults to `None` (derived from the class: "dense", "dense_1" …).
        dtype: Ignored per layer: the model's dtype is used. Defaults to `None`.
        trainable: Must be True (lamina trains every parameter). Defaults to `True`.
        input_shape: Shape of one sample, for the first layer of a Sequential (Keras 2
            style; ``lamina.Input(shape=...)`` is the Keras 3 way). Defaults to `None`.

    Example:
        >>> layer = Flatten(); layer.build((2, 3)); isinstance(layer, Layer), layer.output_shape
        (True, (6,))
    """

    def __init__(self, name=None, dtype=None, trainable=True, input_shape=None,
                 input_dim=None, **kwargs):
        if kwargs:
            raise TypeError(f"unexpected arguments for {type(self).__name__}: "
                            f"{', '.join(sorted(kwargs))}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"layer name must be a string, got {name!r}")
        self.name = name or _auto_name(type(self).__name__)
        self.trainable = bool(trainable)
        if input_dim is not None:
            input_shape = (check_int("input_dim", input_dim, minimum=1),)
        self._batch_input_shape = None if input_shape is None else _shape("input_shape",
                                                                          input_shape)
        self.built = False
        self.input_shape = None
        self.output_shape = None
        self._dtype = None
        self._rng = None

    # -- shapes and weights --------------------------------------------------------------
    def compute_output_shape(self, input_shape):
        """Returns the per-sample output shape for a per-sample input shape."""
        return tuple(input_shape)

    def build(self, input_shape) -> None:
        """Creates the weights for a per-sample ``input_shape`` (e.g. ``(64,)``)."""
        input_shape = _shape("input_shape", input_shape)
        self.output_shape = self.compute_output_shape(input_shape)
        self.input_shape = input_shape
        self.built = True

    @property
    def weights(self) -> list:
        """The live parameter arrays (kernel, then bias)."""
        return []

    trainable_weights = weights

    @property
    def non_trainable_weights(self) -> list:
        """Always ``[]``: lamina trains every parameter."""
        return []

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
        checked = [_checked_weight(f"layer {self.name!r} weight {i}", new, w)
                   for i, (w, new) in enumerate(zip(own, weights))]
        for w, new in zip(own, checked):
            np.copyto(w, new, casting="unsafe")

    # -- core ----------------------------------------------------------------------------
    def core_spec(self) -> list:
        """Entries of the core's network spec for this layer (none for shape-only layers)."""
        return []

    # -- config --------------------------------------------------------------------------
    def get_config(self) -> dict:
        """Returns the constructor arguments as a JSON-able dict."""
        config = {"name": self.name, "trainable": self.trainable}
        if self._batch_input_shape is not None:
            config["input_shape"] = list(self._batch_input_shape)
        return config

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

        Calling a layer on data is not supported: build a model and use ``predict``.
        """
        if isinstance(inputs, (InputLayer, SymbolicOutput)):
            if getattr(self, "_called", False):
                raise ValueError(f"layer {self.name!r} is already used in a chain: lamina's "
                                 "functional API builds a single chain of distinct layers")
            self._called = True
            return SymbolicOutput(self, inputs)
        raise TypeError(f"calling layer {self.name!r} on {type(inputs).__name__} is not "
                        "supported: put layers in a Sequential (or lamina.Model(inputs, "
                        "outputs) over layer calls from lamina.Input) and use model.predict")


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
        shape = node.shape
        for layer in reversed(chain):
            shape = layer.compute_output_shape(shape)
        return (None, *shape)

    def __repr__(self):
        return f"<SymbolicOutput shape={self.shape} from {self.layer.name!r}>"


class InputLayer(Layer):
    """Declares the shape of one input sample; ``lamina.Input(shape=...)`` returns one.

    Args:
        shape: Shape of one sample, e.g. ``(64,)`` or ``(8, 8)``.
        batch_size: Accepted for Keras compatibility and ignored. Defaults to `None`.
        dtype: Ignored (the model's dtype applies). Defaults to `None`.
        batch_shape: ``(None, *shape)``, instead of ``shape``. Defaults to `None`.
        name: Name. Defaults to `None` ("input_layer").

    Example:
        >>> InputLayer(shape=(64,)).output_shape
        (64,)
    """

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None,
                 input_tensor=None, name=None, **kwargs):
        if "input_shape" in kwargs and shape is None:
            shape = kwargs.pop("input_shape")
        if sparse:
            raise ValueError("sparse inputs are not supported by lamina")
        if input_tensor is not None:
            raise ValueError("input_tensor is not supported by lamina")
        if shape is None and batch_shape is not None:
            shape = tuple(batch_shape)[1:]
        if shape is None:
            raise ValueError("InputLayer needs a shape, e.g. InputLayer(shape=(64,))")
        super().__init__(name=name, **kwargs)
        self.shape = _shape("shape", shape)
        self.batch_size = batch_size
        self.input_shape = self.output_shape = self.shape
        self.built = True

    def get_config(self):
        return {"name": self.name, "shape": list(self.shape)}

    @classmethod
    def from_config(cls, config):
        config = _drop_keras_defaults(config)
        if "batch_shape" in config and "shape" not in config:
            config["shape"] = tuple(config.pop("batch_shape"))[1:]
        config.pop("trainable", None)
        return cls(**config)


def Input(shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, name=None,
          tensor=None):
    """Declares a model input (Keras's ``keras.Input``); put it first in a Sequential.

    Args:
        shape: Shape of one sample, e.g. ``(64,)``. Defaults to `None` (then
            ``batch_shape`` gives it).
        batch_size: Accepted for Keras compatibility and ignored. Defaults to `None`.
        dtype: Ignored (the model's dtype applies). Defaults to `None`.
        sparse: Must be falsy. Defaults to `None`.
        batch_shape: ``(None, *shape)``, instead of ``shape``. Defaults to `None`.
        name: Name. Defaults to `None`.
        tensor: Must be None. Defaults to `None`.

    Returns:
        An ``InputLayer``.

    Example:
        >>> import lamina
        >>> model = lamina.Sequential([lamina.Input(shape=(4,)), lamina.layers.Dense(2)])
        >>> model.built
        True
    """
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse,
                      batch_shape=batch_shape, input_tensor=tensor, name=name)


def _activation_and_alpha(activation, alpha=None):
    name = activations_mod.get(activation)
    if alpha is None:
        alpha = activations_mod.DEFAULT_ALPHA.get(name, 0.0)
    return name, float(alpha)


class Dense(Layer):
    """Fully connected layer: ``activation(inputs @ kernel + bias)``.

    Args:
        units: Output size, a positive int.
        activation: Name or ``lamina.activations`` function. Defaults to `None` (linear).
        use_bias: Whether to add a bias. Defaults to `True`.
        kernel_initializer: Initializer of the ``(inputs, units)`` kernel. Defaults to
            `"glorot_uniform"`.
        bias_initializer: Initializer of the bias. Defaults to `"zeros"`.
        kernel_regularizer: Penalty on the kernel (``lamina.regularizers``). Defaults to
            `None`.
        bias_regularizer: Penalty on the bias. Defaults to `None`.
        activity_regularizer: Must be None (not supported). Defaults to `None`.
        kernel_constraint: Must be None (not supported). Defaults to `None`.
        bias_constraint: Must be None (not supported). Defaults to `None`.
        name: Name. Defaults to `None` ("dense", "dense_1" …).

    Example:
        >>> import lamina
        >>> d = lamina.layers.Dense(3, activation="relu", kernel_regularizer="l2")
        >>> d.build((5,)); d.count_params()
        18
    """

    def __init__(self, units, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.units = check_int("Dense units", units, minimum=1, maximum=_MAX_DIM)
        self.activation, self.alpha = _activation_and_alpha(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers_mod.get(kernel_initializer)
        self.bias_initializer = initializers_mod.get(bias_initializer)
        self.kernel_regularizer = regularizers_mod.get(kernel_regularizer)
        self.bias_regularizer = regularizers_mod.get(bias_regularizer)
        for arg, value in (("activity_regularizer", activity_regularizer),
                           ("kernel_constraint", kernel_constraint),
                           ("bias_constraint", bias_constraint)):
            if value is not None:
                raise ValueError(f"Dense {arg}={value!r} is not supported by lamina")
        self.kernel = None
        self.bias = None

    def compute_output_shape(self, input_shape):
        return (self.units,)

    def build(self, input_shape):
        input_shape = _shape("input_shape", input_shape)
        if len(input_shape) != 1:
            raise ValueError(f"Dense layer {self.name!r} expects 1-D samples, got input shape "
                             f"{input_shape}: add lamina.layers.Flatten() before it")
        from . import config

        dtype = self._dtype or config.floatx()
        if input_shape[0] > _MAX_DIM or input_shape[0] * self.units > _MAX_KERNEL:
            raise ValueError(
                f"Dense layer {self.name!r}: a ({input_shape[0]}, {self.units}) kernel has "
                f"{input_shape[0] * self.units} elements, more than lamina allows "
                f"({_MAX_KERNEL}, each side at most {_MAX_DIM})")
        rng = self._rng if self._rng is not None else np.random.default_rng()
        self.kernel = self.kernel_initializer((input_shape[0], self.units), dtype, rng)
        self.bias = (self.bias_initializer((self.units,), dtype, rng) if self.use_bias
                     else None)
        super().build(input_shape)

    @property
    def weights(self):
        if not self.built:
            return []
        return [self.kernel] + ([self.bias] if self.bias is not None else [])

    trainable_weights = weights

    def core_spec(self):
        def param(name, value, reg):
            return {"name": name, "value": value, "trainable": self.trainable,
                    "l1": reg.l1 if reg else 0.0, "l2": reg.l2 if reg else 0.0, "slots": []}

        params = [param("kernel", self.kernel, self.kernel_regularizer)]
        if self.bias is not None:
            params.append(param("bias", self.bias, self.bias_regularizer))
        return [{"type": "dense", "units": self.units, "activation": self.activation,
                 "alpha": self.alpha, "params": params, "state": []}]

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units, "activation": self.activation, "use_bias": self.use_bias,
            "kernel_initializer": initializers_mod.serialize(self.kernel_initializer),
            "bias_initializer": initializers_mod.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers_mod.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers_mod.serialize(self.bias_regularizer),
        })
        return config


class Dropout(Layer):
    """Zeroes a fraction ``rate`` of its inputs during training (scaling the rest by
    ``1 / (1 - rate)``); the identity at inference.

    Masks come from the core's counter-based generator keyed by the model's seed, the step
    and the layer, so they are reproducible and independent of the thread count.

    Args:
        rate: Fraction to drop, in [0, 1).
        noise_shape: Must be None (not supported). Defaults to `None`.
        seed: Accepted for Keras compatibility; the model's seed drives the masks. Defaults
            to `None`.
        name: Name. Defaults to `None` ("dropout", "dropout_1" …).

    Example:
        >>> import lamina
        >>> lamina.layers.Dropout(0.5).rate
        0.5
    """

    def __init__(self, rate, noise_shape=None, seed=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.rate = check_float("Dropout rate", rate, 0.0, 1.0, max_open=True)
        if noise_shape is not None:
            raise ValueError(f"Dropout noise_shape={noise_shape!r} is not supported by lamina")
        self.seed = check_int("Dropout seed", seed, minimum=0, allow_none=True)

    def core_spec(self):
        if self.rate == 0.0:
            return []
        return [{"type": "dropout", "rate": self.rate}]

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed})
        return config


class Activation(Layer):
    """Applies an activation function.

    Args:
        activation: Name or ``lamina.activations`` function.
        name: Name. Defaults to `None` ("activation", …).

    Example:
        >>> import lamina
        >>> lamina.layers.Activation("softmax").activation
        'softmax'
    """

    def __init__(self, activation, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.activation, self.alpha = _activation_and_alpha(activation)

    def core_spec(self):
        if self.activation == "linear":
            return []
        return [{"type": "activation", "activation": self.activation, "alpha": self.alpha}]

    def get_config(self):
        config = super().get_config()
        config["activation"] = self.activation
        return config


class ReLU(Activation):
    """ReLU as a layer (no ``max_value`` / ``threshold`` support).

    Args:
        negative_slope: Slope below zero (0 is ReLU, > 0 is leaky). Defaults to `0.0`.
        name: Name. Defaults to `None`.

    Example:
        >>> ReLU().activation
        'relu'
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, name=None, **kwargs):
        if max_value is not None or threshold != 0.0:
            raise ValueError(f"ReLU max_value/threshold are not supported by lamina, got "
                             f"max_value={max_value!r}, threshold={threshold!r}")
        slope = check_float("negative_slope", negative_slope, minimum=0.0)
        super().__init__("relu" if slope == 0 else "leaky_relu", name=name, **kwargs)
        self.negative_slope = slope
        self.alpha = slope

    def get_config(self):
        config = Layer.get_config(self)
        config["negative_slope"] = self.negative_slope
        return config


class LeakyReLU(Activation):
    """Leaky ReLU layer: ``x`` if ``x > 0`` else ``negative_slope * x``.

    Args:
        negative_slope: Slope below zero. Defaults to `0.3` (Keras's layer default).
        name: Name. Defaults to `None`.

    Example:
        >>> LeakyReLU().alpha
        0.3
    """

    def __init__(self, negative_slope=0.3, name=None, **kwargs):
        super().__init__("leaky_relu", name=name, **kwargs)
        self.negative_slope = check_float("negative_slope", negative_slope, minimum=0.0)
        self.alpha = self.negative_slope

    def get_config(self):
        config = Layer.get_config(self)
        config["negative_slope"] = self.negative_slope
        return config


class Softmax(Activation):
    """Softmax over the last axis, as a layer.

    Args:
        axis: Must be -1. Defaults to `-1`.
        name: Name. Defaults to `None`.

    Example:
        >>> Softmax().activation
        'softmax'
    """

    def __init__(self, axis=-1, name=None, **kwargs):
        if axis not in (-1, 1):
            raise ValueError(f"Softmax axis={axis!r} is not supported: only the last axis")
        super().__init__("softmax", name=name, **kwargs)

    def get_config(self):
        return Layer.get_config(self)


class Flatten(Layer):
    """Flattens each sample to 1-D (e.g. ``(8, 8)`` → ``(64,)``); free (no copy).

    Args:
        data_format: Ignored (only channels-last data). Defaults to `None`.
        name: Name. Defaults to `None` ("flatten", …).

    Example:
        >>> f = Flatten(); f.build((8, 8)); f.output_shape
        (64,)
    """

    def __init__(self, data_format=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)

    def compute_output_shape(self, input_shape):
        return (math.prod(input_shape),)


_CLASSES = {c.__name__: c for c in (InputLayer, Dense, Dropout, Activation, Flatten, ReLU,
                                     LeakyReLU, Softmax)}


def serialize(layer) -> dict:
    """Returns ``{"class_name": ..., "config": ...}`` for a layer.

    Example:
        >>> serialize(Dense(2, name="out"))["config"]["units"]
        2
    """
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def deserialize(config: dict) -> Layer:
    """Creates a layer from ``serialize``'s output (unknown classes list the accepted ones).

    Example:
        >>> deserialize({"class_name": "Dense", "config": {"units": 2}}).units
        2
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"a layer config must be a dict with 'class_name' and 'config', got "
                         f"{config!r}")
    return from_class_config("layer class", config, _CLASSES)


get = deserialize
