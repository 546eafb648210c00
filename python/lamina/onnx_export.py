"""ONNX export (Keras 3's ``model.export(path, format="onnx")``): one graph for serving.

The exporter is a table of small converters keyed by layer class name. Each reads only
what Keras's conventions define — ``layer.get_config()`` and ``layer.get_weights()`` in
Keras's weight order — and appends ONNX nodes, so a layer kind that follows those
conventions exports as soon as it exists. Nested models are flattened; layers that only
act in training (Dropout and the noise layers) are left out; BatchNormalization and
BatchNormalization folds into one ``Mul`` + ``Add``, Normalization is Keras's ``(x - mean) /
max(sqrt(variance), epsilon)`` with its statistics as constants. The graph has opset
17, a named input (the model's input layer) with a dynamic batch dimension ``"batch"``
and a named output, and is checked with ``onnx.checker`` before it is written.

Needs the ``onnx`` package (``pip install 'lamina[onnx]'``).

Example:
    >>> import lamina.onnx_export
    >>> "Dense" in lamina.onnx_export.CONVERTERS
    True
"""

from __future__ import annotations

import math
import os

import numpy as np

__all__ = ["export_onnx", "CONVERTERS", "OPSET"]

OPSET = 17
CONVERTERS: dict = {}
_EPSILON = 1e-7  # keras.config.epsilon(): Normalization's floor on sqrt(variance)


def _require_onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError("ONNX export needs the onnx package: pip install onnx (or pip "
                          "install 'lamina[onnx]')") from None
    return onnx


def converter(*class_names):
    """Registers ``fn(graph, layer, x) -> output name`` for layer classes by name."""
    def register(fn):
        for name in class_names:
            CONVERTERS[name] = fn
        return fn
    return register


class _Graph:
    """Nodes and initializers being built; names are unique within the graph."""

    def __init__(self, onnx, dtype):
        self.onnx = onnx
        self.dtype = np.dtype(dtype)
        self.nodes = []
        self.initializers = []
        self._count = 0

    def fresh(self, hint):
        self._count += 1
        return f"{hint}_{self._count}"

    def const(self, hint, value, dtype=None):
        arr = np.asarray(value, dtype=dtype or self.dtype)
        name = self.fresh(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(arr, name))
        return name

    def op(self, op_type, inputs, hint=None, **attrs):
        out = self.fresh(hint or op_type.lower())
        self.nodes.append(self.onnx.helper.make_node(op_type, list(inputs), [out],
                                                     name=self.fresh(op_type), **attrs))
        return out


# ------------------------------------------------------------------ activations --------
def _activation(g, name, x, alpha=None):
    """Nodes computing Keras activation ``name`` of ``x``."""
    if name in (None, "linear"):
        return x
    simple = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softplus": "Softplus",
              "softsign": "Softsign", "exponential": "Exp"}
    if name in simple:
        return g.op(simple[name], [x])
    if name == "softmax":
        return g.op("Softmax", [x], axis=-1)
    if name == "log_softmax":
        return g.op("LogSoftmax", [x], axis=-1)
    if name == "leaky_relu":
        return g.op("LeakyRelu", [x], alpha=float(0.2 if alpha is None else alpha))
    if name == "elu":
        return g.op("Elu", [x], alpha=float(1.0 if alpha is None else alpha))
    if name == "selu":
        return g.op("Selu", [x], alpha=1.6732632423543772, gamma=1.0507009873554805)
    if name in ("silu", "swish"):
        return g.op("Mul", [x, g.op("Sigmoid", [x])])
    if name == "hard_sigmoid":  # Keras 3: relu6(x + 3) / 6
        return g.op("HardSigmoid", [x], alpha=1.0 / 6.0, beta=0.5)
    if name == "relu6":
        return g.op("Clip", [x, g.const("zero", 0.0), g.const("six", 6.0)])
    if name == "hard_silu":  # x * relu6(x + 3) / 6 (ONNX HardSwish, opset 14)
        return g.op("Mul", [x, g.op("HardSigmoid", [x], alpha=1.0 / 6.0, beta=0.5)])
    if name == "mish":  # x * tanh(softplus(x))
        return g.op("Mul", [x, g.op("Tanh", [g.op("Softplus", [x])])])
    if name == "log_sigmoid":  # -softplus(-x)
        return g.op("Neg", [g.op("Softplus", [g.op("Neg", [x])])])
    if name == "gelu":  # exact: 0.5 * x * (1 + erf(x / sqrt(2)))
        erf = g.op("Erf", [g.op("Mul", [x, g.const("inv_sqrt2", 1 / math.sqrt(2))])])
        half_x = g.op("Mul", [x, g.const("half", 0.5)])
        return g.op("Mul", [half_x, g.op("Add", [erf, g.const("one", 1.0)])])
    if name == "gelu_tanh":  # 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))
        cube = g.op("Mul", [g.op("Mul", [x, x]), x])
        inner = g.op("Add", [x, g.op("Mul", [cube, g.const("c", 0.044715)])])
        t = g.op("Tanh", [g.op("Mul", [inner, g.const("k", math.sqrt(2 / math.pi))])])
        half_x = g.op("Mul", [x, g.const("half", 0.5)])
        return g.op("Mul", [half_x, g.op("Add", [t, g.const("one", 1.0)])])
    raise ValueError(f"activation {name!r} has no ONNX converter")


def _weights(layer):
    return [np.asarray(w) for w in layer.get_weights()]


# ------------------------------------------------------------------ converters ---------
@converter("Dense")
def _dense(g, layer, x):
    cfg = layer.get_config()
    w = _weights(layer)
    kernel = g.const(f"{layer.name}_kernel", w[0])
    if len(w) > 1:
        y = g.op("Gemm", [x, kernel, g.const(f"{layer.name}_bias", w[1])], hint=layer.name)
    else:
        y = g.op("MatMul", [x, kernel], hint=layer.name)
    return _activation(g, cfg.get("activation"), y, cfg.get("alpha"))


@converter("Activation")
def _activation_layer(g, layer, x):
    cfg = layer.get_config()
    return _activation(g, cfg["activation"], x, cfg.get("alpha"))


@converter("ReLU")
def _relu(g, layer, x):
    cfg = layer.get_config()
    slope = float(cfg.get("negative_slope") or 0.0)
    threshold = float(cfg.get("threshold") or 0.0)
    max_value = cfg.get("max_value")
    if threshold == 0.0:
        y = g.op("LeakyRelu", [x], alpha=slope) if slope else g.op("Relu", [x])
    else:  # x >= threshold ? x : slope * (x - threshold)
        below = g.op("Mul", [g.op("Sub", [x, g.const("threshold", threshold)]),
                             g.const("slope", slope)])
        keep = g.op("GreaterOrEqual", [x, g.const("threshold", threshold)])
        y = g.op("Where", [keep, x, below])
    if max_value is not None:
        y = g.op("Min", [y, g.const("max_value", float(max_value))])
    return y


@converter("LeakyReLU")
def _leaky_relu(g, layer, x):
    cfg = layer.get_config()
    return g.op("LeakyRelu", [x], alpha=float(cfg.get("negative_slope", 0.3)))


@converter("ELU")
def _elu(g, layer, x):
    return g.op("Elu", [x], alpha=float(layer.get_config().get("alpha", 1.0)))


@converter("PReLU")
def _prelu(g, layer, x):
    return g.op("PRelu", [x, g.const(f"{layer.name}_alpha", _weights(layer)[0])])


@converter("Softmax")
def _softmax(g, layer, x):
    return g.op("Softmax", [x], axis=int(layer.get_config().get("axis", -1)))


@converter("Rescaling")
def _rescaling(g, layer, x):
    cfg = layer.get_config()
    y = g.op("Mul", [x, g.const("scale", cfg.get("scale", 1.0))])
    return g.op("Add", [y, g.const("offset", cfg.get("offset", 0.0))])


@converter("Flatten")
def _flatten(g, layer, x):
    return g.op("Flatten", [x], axis=1)


@converter("Dropout", "GaussianNoise", "GaussianDropout", "AlphaDropout", "SpatialDropout1D",
           "ActivityRegularization", "InputLayer")
def _identity(g, layer, x):  # active only in training
    return x


def _last_axis(layer, axis):
    axes = axis if isinstance(axis, (list, tuple)) else [axis]
    rank = len(layer.input_shape) + 1
    if [a % rank for a in axes] != [rank - 1]:
        raise ValueError(f"layer {layer.name!r} ({type(layer).__name__}) normalizes over axis "
                         f"{axis!r}: ONNX export supports the last axis only")


def _affine(g, layer, x, scale, shift):
    """``x * scale + shift`` with per-feature constants computed in float64."""
    y = g.op("Mul", [x, g.const(f"{layer.name}_scale", scale)])
    return g.op("Add", [y, g.const(f"{layer.name}_shift", shift)], hint=layer.name)


@converter("BatchNormalization")
def _batch_norm(g, layer, x):
    cfg = layer.get_config()
    _last_axis(layer, cfg.get("axis", -1))
    w = [a.astype(np.float64) for a in _weights(layer)]
    gamma = w.pop(0) if cfg.get("scale", True) else 1.0
    beta = w.pop(0) if cfg.get("center", True) else 0.0
    mean, var = w[0], w[1]
    scale = gamma / np.sqrt(var + float(cfg.get("epsilon", 1e-3)))
    return _affine(g, layer, x, scale * np.ones_like(mean), beta - mean * scale)


@converter("Normalization")
def _normalization(g, layer, x):
    cfg = layer.get_config()
    _last_axis(layer, cfg.get("axis", -1))
    w = _weights(layer)
    if len(w) >= 2:
        mean, var = w[0].astype(np.float64), w[1].astype(np.float64)
    else:
        mean = np.asarray(cfg["mean"], np.float64)
        var = np.asarray(cfg["variance"], np.float64)
    mean, var = mean.reshape(-1), var.reshape(-1)
    denom = g.const(f"{layer.name}_denominator", np.maximum(np.sqrt(var), _EPSILON))
    mean = g.const(f"{layer.name}_mean", mean)
    if cfg.get("invert", False):  # Keras: mean + x * max(sqrt(var), eps)
        return g.op("Add", [g.op("Mul", [x, denom]), mean], hint=layer.name)
    # Keras: (x - mean) / max(sqrt(var), eps), in this order (a zero-variance feature
    # divides by eps, and folding it into x * s + t would cancel catastrophically).
    return g.op("Div", [g.op("Sub", [x, mean]), denom], hint=layer.name)


@converter("LayerNormalization")
def _layer_norm(g, layer, x):
    cfg = layer.get_config()
    _last_axis(layer, cfg.get("axis", -1))
    if cfg.get("rms_scaling"):
        raise ValueError(f"layer {layer.name!r}: rms_scaling=True has no ONNX converter")
    w = _weights(layer)
    features = int(layer.input_shape[-1])
    gamma = w.pop(0) if cfg.get("scale", True) else np.ones(features)
    beta = w.pop(0) if cfg.get("center", True) else np.zeros(features)
    return g.op("LayerNormalization", [x, g.const(f"{layer.name}_gamma", gamma),
                                       g.const(f"{layer.name}_beta", beta)],
                hint=layer.name, axis=-1, epsilon=float(cfg.get("epsilon", 1e-3)))


# ------------------------------------------------------------------ the graph ----------
def _convert(g, layers, x):
    for layer in layers:
        if isinstance(getattr(layer, "layers", None), list):  # a nested model: flattened
            x = _convert(g, layer.layers, x)
            continue
        fn = CONVERTERS.get(type(layer).__name__)
        if fn is None:
            raise ValueError(f"layer {layer.name!r} of class {type(layer).__name__} has no "
                             f"ONNX converter; supported: {', '.join(sorted(CONVERTERS))}")
        x = fn(g, layer, x)
    return x


def build_onnx(model):
    """Returns the ``onnx.ModelProto`` of a built model (checked with ``onnx.checker``).

    Args:
        model: A built lamina model.
    """
    from .keras_config import input_name

    onnx = _require_onnx()
    if not model.built:
        raise ValueError(f"model {model.name!r} is not built yet: it has no input shape to "
                         "export")
    g = _Graph(onnx, model.dtype)
    elem = onnx.helper.np_dtype_to_tensor_dtype(np.dtype(model.dtype))
    in_name = input_name(model, "input")
    x = _convert(g, model.layers, in_name)
    out_name = "output"
    g.nodes.append(onnx.helper.make_node("Identity", [x], [out_name], name="output"))
    in_shape = ["batch", *[int(d) for d in model.input_shape[1:]]]
    out_shape = ["batch", *[int(d) for d in model.output_shape[1:]]]
    graph = onnx.helper.make_graph(
        g.nodes, model.name,
        [onnx.helper.make_tensor_value_info(in_name, elem, in_shape)],
        [onnx.helper.make_tensor_value_info(out_name, elem, out_shape)],
        initializer=g.initializers)
    proto = onnx.helper.make_model(graph, producer_name="lamina",
                                   opset_imports=[onnx.helper.make_opsetid("", OPSET)])
    proto.ir_version = min(proto.ir_version, 8)  # readable by onnxruntime releases of 2023+
    onnx.checker.check_model(proto, full_check=True)
    return proto


def export_onnx(model, filepath):
    """Writes ``model`` as an ONNX graph (opset 17) atomically.

    Args:
        model: A built lamina model.
        filepath: Target path, conventionally ending in ``.onnx``.
    """
    from .atomic_write import atomic_write as _atomic_write

    data = build_onnx(model).SerializeToString()
    _atomic_write(os.fspath(filepath), lambda f: f.write(data))
