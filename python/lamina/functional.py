"""Keras's functional ``Model(inputs, outputs)`` for a chain of layer calls.

``Functional`` is the class of what ``lamina.Model(inputs, outputs)`` returns: a
``Sequential`` over the chain whose ``layers`` start with the ``InputLayer`` (so layer
indices match Keras's) and whose config is Keras's functional config (layers with their
``inbound_nodes``, ``input_layers``, ``output_layers``).

Example:
    >>> import lamina
    >>> inputs = lamina.Input(shape=(3,))
    >>> outputs = lamina.layers.Dense(1)(inputs)
    >>> model = lamina.Model(inputs, outputs, seed=0)
    >>> isinstance(model, lamina.Sequential), [type(lay).__name__ for lay in model.layers]
    (True, ['InputLayer', 'Dense'])
"""

from __future__ import annotations

from . import layers as layers_mod
from .model import Sequential

__all__ = ["Functional", "Model"]

_FUNCTIONAL_COUNT = [0]


def _functional_name():
    n = _FUNCTIONAL_COUNT[0]
    _FUNCTIONAL_COUNT[0] += 1
    return "functional" if n == 0 else f"functional_{n}"


def _one(what, value):
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            raise ValueError(f"lamina models take one input and have one output, got "
                             f"{len(value)} {what}")
        value = value[0]
    return value


def _tensor_config(node, dtype):
    """Keras's ``__keras_tensor__`` config of a symbolic tensor (an inbound node's arg)."""
    layer = node if isinstance(node, layers_mod.InputLayer) else node.layer
    return {"class_name": "__keras_tensor__",
            "config": {"shape": list(node.shape), "dtype": dtype,
                       "keras_history": [layer.name, 0, 0]}}


def _inbound_name(entry):
    """The name of the layer feeding a layer, from its Keras 3 (or Keras 2) inbound nodes."""
    nodes = entry.get("inbound_nodes")
    if not isinstance(nodes, (list, tuple)) or len(nodes) != 1:
        raise ValueError(f"layer {entry.get('name')!r} must be called exactly once in a lamina "
                         f"model, its inbound_nodes are {nodes!r}")
    node = nodes[0]
    if isinstance(node, dict):  # Keras 3: {"args": [tensor], "kwargs": {}}
        args = node.get("args")
        if (not isinstance(args, (list, tuple)) or len(args) != 1
                or not isinstance(args[0], dict)
                or args[0].get("class_name") != "__keras_tensor__"):
            raise ValueError(f"layer {entry.get('name')!r} must take one tensor, its inbound "
                             f"node is {node!r}")
        return args[0]["config"]["keras_history"][0]
    if isinstance(node, (list, tuple)) and len(node) == 1 and isinstance(
            node[0], (list, tuple)):  # Keras 2
        return node[0][0]
    raise ValueError(f"layer {entry.get('name')!r} has an inbound node lamina cannot read: "
                     f"{node!r}")


class Functional(Sequential):
    """A model over a chain of layer calls (what ``lamina.Model(inputs, outputs)`` returns).

    It is a ``Sequential`` of the chain's layers; ``layers`` starts with the ``InputLayer``
    as in Keras, and ``get_config()`` is Keras's functional config. The layers are the
    chain's own objects: a model made from another model's tensors (``Model(m.inputs,
    m.get_layer("h").output)``) shares that model's weights.

    Args:
        inputs: The ``lamina.Input(...)`` the chain starts from (or a one-element list).
        outputs: The last layer call's output (or a one-element list).
        name: Model name. Defaults to `None` ("functional", "functional_1" …).
        trainable: As for ``Sequential``. Defaults to `True`.
        seed: As for ``Sequential``. Defaults to `None`.
        dtype: As for ``Sequential``. Defaults to `None`.

    Example:
        >>> import lamina
        >>> inputs = lamina.Input(shape=(4,))
        >>> hidden = lamina.layers.Dense(8, activation="relu", name="h")(inputs)
        >>> model = lamina.Model(inputs, lamina.layers.Dense(2)(hidden), seed=0)
        >>> features = lamina.Model(model.inputs, model.get_layer("h").output)
        >>> features.output_shape, features.get_layer("h") is model.get_layer("h")
        ((None, 8), True)
    """

    def __init__(self, inputs, outputs, name=None, trainable=True, *, seed=None, dtype=None):
        inputs, outputs = _one("inputs", inputs), _one("outputs", outputs)
        if not isinstance(inputs, layers_mod.InputLayer):
            raise TypeError(f"inputs must be a lamina.Input(...), got {inputs!r}")
        chain, nodes = [], []
        node = outputs
        while isinstance(node, layers_mod.SymbolicOutput):
            chain.append(node.layer)
            nodes.append(node)
            node = node.parent
        if node is not inputs:
            raise ValueError("outputs must come from layer calls chained on `inputs`, got "
                             f"{outputs!r}")
        if not chain:
            raise ValueError("the model has no layers between inputs and outputs")
        super().__init__(trainable=trainable, name=name or _functional_name(), seed=seed,
                         dtype=dtype)
        self.add(inputs)
        for layer in reversed(chain):
            self.add(layer)
        self._nodes = nodes[::-1]  # the chain's own tensors (layer.output stays theirs)
        self._link_nodes()

    @property
    def layers(self) -> list:
        """The layers, starting with the ``InputLayer`` (Keras's functional indices)."""
        return [self._input_layer, *self._layers]

    def get_config(self) -> dict:
        """Keras's functional config: layers with ``inbound_nodes``, ``input_layers`` and
        ``output_layers`` (plus lamina's ``dtype`` and ``seed``)."""
        entries = []
        for k, layer in enumerate(self.layers):
            entry = {**layers_mod.serialize(layer), "name": layer.name, "inbound_nodes": []}
            if k:
                parent = self._nodes[k - 1].parent
                entry["inbound_nodes"] = [{"args": [_tensor_config(parent, self.dtype)],
                                           "kwargs": {}}]
            entries.append(entry)
        config = {"name": self.name, "trainable": self._trainable, "layers": entries,
                  "input_layers": [self._input_layer.name, 0, 0],  # Keras: one input
                  "output_layers": [self._layers[-1].name, 0, 0],
                  "dtype": self.dtype, "seed": self.seed}
        return config

    @classmethod
    def from_config(cls, config: dict):
        """Creates an (uncompiled) model from ``get_config()``'s output (or a Keras 3
        functional config of a chain)."""
        if not isinstance(config, dict):
            raise TypeError(f"config must be a dict, got {type(config).__name__}")
        unknown = set(config) - {"name", "trainable", "layers", "input_layers",
                                 "output_layers", "dtype", "seed"}
        if unknown:
            raise ValueError(f"unknown Functional config keys: {', '.join(sorted(unknown))}")
        entries = config.get("layers")
        if not isinstance(entries, list) or not entries:
            raise ValueError(f"config['layers'] must be a non-empty list, got {entries!r}")
        by_name = {}
        for entry in entries:
            if not isinstance(entry, dict) or "name" not in entry:
                raise ValueError(f"a functional layer entry needs 'name', got {entry!r}")
            if entry["name"] in by_name:
                raise ValueError(f"layer name {entry['name']!r} appears twice")
            by_name[entry["name"]] = entry
        ins, outs = config.get("input_layers"), config.get("output_layers")
        try:  # Keras writes one input as ["name", 0, 0], several as [["name", 0, 0], ...]
            in_name = ins[0] if isinstance(ins[0], str) else _one("inputs", list(ins))[0]
            out_name = outs[0] if isinstance(outs[0], str) else _one("outputs", list(outs))[0]
        except (TypeError, IndexError, KeyError):
            raise ValueError(f"input_layers / output_layers must name one layer each, got "
                             f"{ins!r} / {outs!r}") from None
        if in_name not in by_name or out_name not in by_name:
            raise ValueError(f"input_layers / output_layers name unknown layers: {ins!r} / "
                             f"{outs!r}")
        chain, name = [], out_name
        while name != in_name:
            if name in chain or name not in by_name:
                raise ValueError(f"layer {name!r} is not on a chain from {in_name!r} to "
                                 f"{out_name!r}")
            chain.append(name)
            name = _inbound_name(by_name[name])
        if len(chain) + 1 != len(entries):
            extra = set(by_name) - set(chain) - {in_name}
            raise ValueError(f"lamina models are chains: layers {sorted(extra)} are not on the "
                             f"chain from {in_name!r} to {out_name!r}")
        strip = ("name", "inbound_nodes")
        inputs = layers_mod.deserialize({k: v for k, v in by_name[in_name].items()
                                         if k not in strip})
        if not isinstance(inputs, layers_mod.InputLayer):
            raise ValueError(f"the input layer {in_name!r} must be an InputLayer")
        x = inputs
        for name in reversed(chain):
            x = layers_mod.deserialize({k: v for k, v in by_name[name].items()
                                        if k not in strip})(x)
        return cls(inputs, x, name=config.get("name"), trainable=config.get("trainable", True),
                   seed=config.get("seed"), dtype=config.get("dtype"))


class _ModelType(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, Sequential)


class Model(metaclass=_ModelType):
    """Keras's functional ``Model(inputs, outputs)`` for a chain of layer calls.

    ``lamina.Input`` followed by layer calls, each on the previous output, describes a chain
    of layers; this returns a ``Functional`` model over it (a ``Sequential`` whose ``layers``
    start with the ``InputLayer``), and ``isinstance(model, lamina.Model)`` holds for every
    lamina model. A built model can be one of the calls (``x = base(inputs)``). Branches,
    several inputs or outputs and subclassing ``Model`` are not supported.

    Args:
        inputs: The ``lamina.Input(...)`` the chain starts from (or a one-element list).
        outputs: The last layer call's output (or a one-element list).
        name: Model name. Defaults to `None`.
        seed: As for ``Sequential``. Defaults to `None`.
        dtype: As for ``Sequential``. Defaults to `None`.
        trainable: As for ``Sequential``. Defaults to `True`.

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
        return Functional(inputs, outputs, name=name, trainable=trainable, seed=seed,
                          dtype=dtype)

    @staticmethod
    def from_config(config, custom_objects=None):
        """Creates a model from a ``Functional`` or ``Sequential`` config.

        Args:
            config: ``model.get_config()``.
            custom_objects: Must be None. Defaults to `None`.
        """
        if custom_objects:
            raise ValueError("custom_objects are not supported")
        if isinstance(config, dict) and "input_layers" in config:
            return Functional.from_config(config)
        return Sequential.from_config(config)
