"""A model as the core's ``Network``: the spec of its layers, loss, metrics and optimizer.

``Sequential._network_for`` calls ``network_for``: nested models are flattened into one
chain of layer entries, each parameter trains as its layer's flag said at the last
``compile``, the optimizer's slots are (re)built for the parameters that train, and the
core gets every weight's live array (it reads and updates it in place).

Example:
    >>> import lamina
    >>> model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)], seed=0)
    >>> net = network_for(model, "infer")
    >>> [entry["type"] for entry in model._spec["layers"]], network_for(model, "infer") is net
    (['dense'], True)
"""

from __future__ import annotations

import math

from . import _core
from . import custom_loss as custom_loss_mod
from . import layers as layers_mod
from . import losses as losses_mod
from . import optimizers as optimizers_mod
from . import trainer as trainer_mod
from .variables import live_array as _live

__all__ = ["network_for"]


def network_for(model, kind):
    """The model's core ``Network``, built on first use and cached on the model.

    Args:
        model: A built ``Sequential`` (or functional ``Model``).
        kind: "train" (compiled: loss, metrics, optimizer slots) or "infer" (any built
            model; once the model is compiled, the training network serves both).

    Returns:
        The ``lamina._core.Network`` (a ``CustomLossNetwork`` around it for a Python loss).
    """
    if kind == "infer" and model.compiled and model._loss is not None:
        kind = "train"  # one network serves both once the model is compiled
    if model._network is not None and model._network_generation != trainer_mod.fork_generation():
        model._network = model._network_kind = None  # forked: the old one may be locked
    model._require_built("the network")
    leaves = [leaf for leaf, _ in model._leaves()]
    key = tuple(id(leaf) for leaf in leaves)
    if model._leaf_key is not None and key != model._leaf_key:
        model._invalidate()  # a nested model changed its layers
    if model._network is not None and (kind == "infer" or model._network_kind == "train"):
        return model._network
    if not leaves:
        raise ValueError(f"model {model.name!r} has no layers: add at least one")
    if len(model._input_shape) != 1 and not any(
            isinstance(lay, (layers_mod.Flatten, layers_mod.Reshape))
            and len(lay.output_shape) == 1 for lay in leaves):
        raise ValueError(f"inputs of shape {model._input_shape} need a Flatten layer")
    if kind == "train":
        model._require_compiled("training")
        opt, loss = model.optimizer, model._loss
        out_dim = model._out_dim()
        compiled = model._resolve_metrics(out_dim)
        external = not losses_mod.is_fused(loss)
        sparse_loss = loss.core_name == "sparse_categorical_crossentropy" or (
            external and (model.__dict__.get("_labels_seen", False)
                          or compiled.needs_labels))
        compiled.check_targets(sparse_loss, loss.core_name or loss.name)
        model._compiled_metrics = compiled
        metric_specs = compiled.core_specs()
        loss_spec = loss.core_spec()
        if external:  # a Python loss (lamina.custom_loss); the name sets the targets
            loss_spec = {"name": "sparse_categorical_crossentropy" if sparse_loss
                         else "mean_squared_error", "from_logits": False, "delta": 1.0}
    else:
        external = False
        opt = optimizers_mod.SGD()
        loss_spec = {"name": "mean_squared_error", "from_logits": False, "delta": 1.0}
        metric_specs = []
    # Each layer's parameters train as its flag said at the last compile; the
    # optimizer's slots belong to the parameters that train, in spec order. Nested
    # models are flattened: their layers' entries join the chain in line. The core
    # gets each Variable's live array (it reads and updates it in place).
    layer_specs, trained = [], []
    for layer in leaves:
        trains = model._trains(layer)
        for entry in layer.core_spec() + layer.activity_spec():
            if "training" in entry:  # batch statistics in fit only while the layer trains
                entry["training"] = trains and entry["training"]
            for p in entry.get("params", ()):
                p["value"] = _live(p["value"])
                p["trainable"] = trains and p["trainable"]
                if p["trainable"]:
                    trained.append(p)
            for st in entry.get("state", ()):
                st["value"] = _live(st["value"])
            layer_specs.append(entry)
    if not layer_specs:  # only reshapes and identities (Flatten, Activation("linear")):
        # the core runs the identity on the flat sample
        layer_specs.append({"type": "activation", "activation": "linear", "alpha": 0.0,
                            "keep": True})
    params = [p["value"] for p in trained]
    if opt.slots is None or len(opt.slots) != len(params) or any(
            len(s) != opt.num_slots or (s and s[0].shape != p.shape)
            for s, p in zip(opt.slots, params)):
        opt.build(params)
    for p, slots in zip(trained, opt.slots):
        p["slots"] = slots
    spec = {"dtype": model.dtype, "input_dim": int(math.prod(model._input_shape)),
            "layers": layer_specs, "loss": loss_spec, "optimizer": opt.core_spec(),
            "optimizer_state": opt.optimizer_state, "metrics": metric_specs,
            "seed": model._dropout_seed}
    if external:
        spec["external_loss"] = True
    net = _core.Network(spec)
    if external:
        net = custom_loss_mod.CustomLossNetwork(net, model._loss)
    model._network, model._network_kind, model._spec = net, kind, spec
    model._leaf_key = key
    model._network_generation = trainer_mod.fork_generation()
    return net
