"""Layers of a model (Keras 3's ``keras.layers``), one kind per module.

A layer describes one stage of the network and, once built, owns its parameters as
``lamina.Variable`` objects over numpy arrays (``Dense.kernel`` of shape ``(inputs,
units)``, ``Dense.bias`` of shape ``(units,)``), made by ``Layer.add_weight``. The core reads
and updates these very arrays in place during training, so they are always the live
weights; ``set_weights`` and ``Variable.assign`` copy into them.

Example:
    >>> import lamina
    >>> layer = lamina.layers.Dense(4, activation="relu")
    >>> layer.build((3,))
    >>> layer.kernel.shape, layer.bias.shape
    ((3, 4), (4,))
"""

from __future__ import annotations

from .._validation import from_class_config
from .activation import ELU, Activation, LeakyReLU, ReLU, Softmax
from .activity_regularization import ActivityRegularization
from .alpha_dropout import AlphaDropout
from .batch_normalization import BatchNormalization
from .dense import Dense
from .dropout import Dropout
from .flatten import Flatten
from .gaussian_dropout import GaussianDropout
from .gaussian_noise import GaussianNoise
from .input_layer import Input, InputLayer
from .layer import Layer, SymbolicOutput, class_for, registered
from .prelu import PReLU
from .preprocessing_normalization import Normalization
from .layer_normalization import LayerNormalization
from .rescaling import Rescaling
from .reshape import Reshape

__all__ = ["Layer", "InputLayer", "Input", "Dense", "Dropout", "Activation", "Flatten",
           "ReLU", "LeakyReLU", "Softmax", "Rescaling", "SymbolicOutput", "get", "serialize",
           "deserialize", "class_for", "registered"]
__all__ += ["ELU", "PReLU", "Normalization", "GaussianNoise", "GaussianDropout", "AlphaDropout",
            "ActivityRegularization", "Reshape", "BatchNormalization",
            "LayerNormalization"]


def serialize(layer) -> dict:
    """Returns ``{"class_name": ..., "config": ...}`` for a layer.

    Example:
        >>> serialize(Dense(2, name="out"))["config"]["units"]
        2
    """
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def deserialize(config: dict) -> Layer:
    """Creates a layer from ``serialize``'s output (unknown classes list the accepted ones).

    The class is looked up in the layer registry: every ``Layer`` subclass, lamina's and
    the user's, registers itself when it is defined.

    Example:
        >>> deserialize({"class_name": "Dense", "config": {"units": 2}}).units
        2
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"a layer config must be a dict with 'class_name' and 'config', got "
                         f"{config!r}")
    return from_class_config("layer class", config, registered())


get = deserialize


# Keras layers lamina does not have, and why: a script that reaches for one gets this reason
# instead of a bare AttributeError.
_BRANCHES = ("lamina runs a model as one chain of layers (one input, one output); branches "
             "and merges are not supported (README: 'Models, layers and weights')")
_NOT_DENSE = ("lamina trains dense networks on tabular or flattened inputs; convolution, "
              "recurrent, attention and embedding layers are not supported")
_UNSUPPORTED = {
    **{name: _BRANCHES for name in (
        "Concatenate", "concatenate", "Add", "add", "Subtract", "subtract", "Multiply",
        "multiply", "Average", "average", "Maximum", "maximum", "Minimum", "minimum", "Dot",
        "dot")},
    **{name: _NOT_DENSE for name in (
        "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "MaxPooling1D",
        "MaxPooling2D", "AveragePooling1D", "AveragePooling2D", "GlobalAveragePooling1D",
        "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "SimpleRNN",
        "LSTM", "GRU", "Bidirectional", "TimeDistributed", "Embedding",
        "MultiHeadAttention", "Attention")},
    "Lambda": ("lamina runs the whole network in its C++ core and cannot run a Python "
               "function as a layer; use the built-in layers, or an activation name"),
}


def __getattr__(name):
    reason = _UNSUPPORTED.get(name)
    if reason is not None:
        raise AttributeError(f"keras.layers.{name} is not supported by lamina: {reason}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
