"""Keras 3's serialization schema, both ways: lamina config <-> ``config.json`` of a ``.keras``.

Keras 3 writes every object as ``{"module", "class_name", "config", "registered_name"}``
(layers add ``build_config``, the model adds ``compile_config``). lamina's layer configs
already use Keras's names and defaults, so writing adds the envelope (modules, DTypePolicy,
the InputLayer's ``batch_shape``) and reading removes it.

Reading follows Keras's ``safe_mode``: nothing in a file is executed. Only lamina's own
built-in layer kinds are built, by class name; ``Lambda`` layers, ``__lambda__`` and
function objects, and any class lamina does not ship are refused with a
``ModelFileError`` that names the class. A Keras ``Functional`` model is read when it is
a chain (each layer called once, on the previous layer's output).

Example:
    >>> import lamina
    >>> from lamina import keras_config
    >>> model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)], seed=0)
    >>> entry = keras_config.model_to_keras(model)
    >>> entry["class_name"], entry["config"]["layers"][1]["module"]
    ('Sequential', 'keras.layers')
    >>> keras_config.model_from_keras(entry).count_params()
    8
"""

from __future__ import annotations

from . import layers as layers_mod
from .io import ModelFileError
from .naming import to_snake_case

__all__ = ["model_to_keras", "model_from_keras", "compile_to_keras", "compile_from_keras",
           "check_safe", "to_snake_case", "body_layers", "input_name"]

_NESTED = {"initializer": "keras.initializers", "regularizer": "keras.regularizers",
           "constraint": "keras.constraints", "activation": "keras.layers"}
_DROP_ON_READ = ("module", "registered_name", "build_config", "compile_config",
                 "shared_object_id")
_MODEL_CLASSES = ("Sequential", "Functional", "Model")
# Keys newer Keras versions add with a value that means "as before" (initializers' fan axes).
_NEWER_DEFAULTS = {"input_axes": None, "output_axes": None}


def _envelope(module, class_name, config, **extra):
    return {"module": module, "class_name": class_name, "config": config,
            "registered_name": None, **extra}


def _policy(dtype):
    return _envelope("keras", "DTypePolicy", {"name": dtype})


def _keras_values(config):
    """Adds Keras's module envelope to nested initializer/regularizer/constraint configs."""
    out = {}
    for key, value in config.items():
        if isinstance(value, dict) and "class_name" in value and "module" not in value:
            module = _NESTED.get(key.rsplit("_", 1)[-1])
            if module is not None:
                value = _envelope(module, value["class_name"], dict(value.get("config") or {}))
        out[key] = value
    return out


def _input_entry(shape, dtype, name="input_layer"):
    return _envelope("keras.layers", "InputLayer",
                     {"batch_shape": [None, *shape], "dtype": dtype, "sparse": False,
                      "name": name})


def _layer_entry(layer, dtype):
    if isinstance(getattr(layer, "layers", None), list):  # a nested model
        return model_to_keras(layer, compile=False)
    config = dict(layer.get_config())
    config.pop("input_shape", None)  # the model's InputLayer carries the shape
    policy = getattr(layer, "dtype_policy", None)
    config["dtype"] = _policy(policy.name if policy is not None and policy.is_mixed else dtype)
    return _envelope("keras.layers", type(layer).__name__, _keras_values(config),
                     build_config={"input_shape": [None, *layer.input_shape]})


def body_layers(model):
    """The model's layers without its InputLayer (a functional model lists it first)."""
    return [lay for lay in model.layers if not isinstance(lay, layers_mod.InputLayer)]


def input_name(model, default="input_layer"):
    """The name of the model's InputLayer, or ``default`` when it has none."""
    found = getattr(model, "_input_layer", None)
    for lay in model.layers:
        if isinstance(lay, layers_mod.InputLayer):
            found = lay
    return found.name if found is not None else default


def is_functional(model) -> bool:
    """Whether ``model`` is a ``lamina.Model(inputs, outputs)`` (Keras's Functional)."""
    return type(model).__name__ == "Functional"


def _functional_to_keras(model):
    """A lamina functional chain as Keras 3 writes a Functional: the InputLayer first, each
    layer with its name and the call that made its output (lamina's config already holds
    Keras's ``inbound_nodes``)."""
    nodes = {e["name"]: e.get("inbound_nodes", []) for e in model.get_config()["layers"]}
    iname = input_name(model)
    layers = [{**_input_entry(list(model.input_shape[1:]), model.dtype, iname),
               "name": iname, "inbound_nodes": []}]
    for layer in body_layers(model):
        layers.append({**_layer_entry(layer, model.dtype), "name": layer.name,
                       "inbound_nodes": nodes[layer.name]})
    config = {"name": model.name, "trainable": bool(model.trainable), "layers": layers,
              "input_layers": [iname, 0, 0], "output_layers": [layers[-1]["name"], 0, 0]}
    return _envelope("keras.src.models.functional", "Functional", config,
                     registered_name="Functional", build_config={"input_shape": None})


def model_to_keras(model, compile=True):
    """The ``config.json`` entry of a built lamina model in Keras 3's schema.

    Args:
        model: A built lamina model: a ``Sequential`` is written as Keras's ``Sequential``,
            a ``lamina.Model(inputs, outputs)`` as Keras's ``Functional``.
        compile: Include ``compile_config`` when the model is compiled. Defaults to `True`.
    """
    if is_functional(model):
        entry = _functional_to_keras(model)
    else:
        shape = list(model.input_shape[1:])
        layers = [_input_entry(shape, model.dtype, input_name(model))]
        layers += [_layer_entry(layer, model.dtype) for layer in body_layers(model)]
        config = {"name": model.name, "trainable": bool(model.trainable),
                  "dtype": _policy(model.dtype), "layers": layers,
                  "build_input_shape": [None, *shape]}
        entry = _envelope("keras", "Sequential", config,
                          build_config={"input_shape": [None, *shape]})
    if compile:
        cc = compile_to_keras(model)
        if cc is not None:
            entry["compile_config"] = cc
    return entry


def _keras_object(module, obj):
    if not isinstance(obj, dict):
        return obj
    config = dict(obj.get("config") or {})
    lr = config.get("learning_rate")
    if isinstance(lr, dict) and "module" not in lr:
        config["learning_rate"] = _envelope("keras.optimizers.schedules", lr["class_name"],
                                            dict(lr.get("config") or {}))
    if obj.get("registered_name"):  # a custom class or function: Keras writes no module
        return _envelope(None, obj["class_name"], config,
                         registered_name=obj["registered_name"])
    return _envelope(module, obj["class_name"], config)


def compile_to_keras(model):
    """Keras's ``compile_config`` for a compiled lamina model (None when not compiled)."""
    cc = model.get_compile_config()
    if cc is None:
        return None
    metrics, weighted = ([_keras_object("keras.metrics", m) for m in cc.get(key) or []]
                         for key in ("metrics", "weighted_metrics"))
    return {"optimizer": _keras_object("keras.optimizers", cc["optimizer"]),
            "loss": _keras_object("keras.losses", cc.get("loss")),
            "loss_weights": cc.get("loss_weights"), "metrics": metrics or None,
            "weighted_metrics": weighted or None, "run_eagerly": False, "steps_per_execution": 1,
            "jit_compile": False}


# ---------------------------------------------------------------------- reading --------
def check_safe(obj, where="config.json"):
    """Refuses what Keras's safe_mode refuses: lambdas and functions defined by the file.

    Raises:
        ModelFileError: A ``Lambda`` layer, a ``__lambda__`` object or a function object
            anywhere in the config.
    """
    if isinstance(obj, list):
        for item in obj:
            check_safe(item, where)
        return
    if not isinstance(obj, dict):
        return
    cls = obj.get("class_name")
    if cls in ("Lambda", "__lambda__", "function", "__function__", "TFOpLambda",
               "__typespec__") or (isinstance(cls, str) and "lambda" in cls.lower()):
        name = (obj.get("config") or {}).get("name") if isinstance(obj.get("config"),
                                                                   dict) else None
        raise ModelFileError(f"{where}: {cls!r} object{f' {name!r}' if name else ''} refused: "
                             "loading never runs code from a file (Keras safe_mode); "
                             "rebuild the model in Python instead")
    if obj.get("module") == "builtins":
        raise ModelFileError(f"{where}: a builtins object {cls!r} is refused (safe_mode)")
    for value in obj.values():
        check_safe(value, where)


def _strip(obj):
    """Removes Keras's envelope keys from a nested config (modules, registered names)."""
    if isinstance(obj, list):
        return [_strip(x) for x in obj]
    if not isinstance(obj, dict):
        return obj
    return {k: _strip(v) for k, v in obj.items() if k not in _DROP_ON_READ
            and not (k in _NEWER_DEFAULTS and v == _NEWER_DEFAULTS[k])}


def _builtin_layer_class(class_name, name):
    cls = layers_mod.registered().get(class_name)
    if cls is None or not cls.__module__.startswith("lamina."):
        supported = sorted(n for n, c in layers_mod.registered().items()
                           if c.__module__.startswith("lamina."))
        raise ModelFileError(f"Keras layer class {class_name!r} (layer {name!r}) is not "
                             f"supported by lamina; supported layer classes: "
                             f"{', '.join(supported)}")
    return cls


def _chain(config):
    """The layer entries of a Keras Functional config, in call order, if it is a chain."""
    entries = config.get("layers")
    if not isinstance(entries, list) or not entries:
        raise ModelFileError("config.json: the functional model has no layers")
    by_name = {}
    for e in entries:
        if not isinstance(e, dict) or not isinstance(e.get("name"), str):
            raise ModelFileError(f"config.json: invalid functional layer entry {e!r}")
        by_name[e["name"]] = e
    ins, outs = config.get("input_layers"), config.get("output_layers")

    def single(refs, what):
        if isinstance(refs, list) and len(refs) == 3 and isinstance(refs[0], str):
            refs = [refs]
        if not isinstance(refs, list) or len(refs) != 1:
            raise ModelFileError(f"config.json: lamina models have one {what}, got {refs!r}")
        return refs[0][0]

    first, last = single(ins, "input"), single(outs, "output")
    chain, name = [], last
    while name != first:
        e = by_name.get(name)
        nodes = e.get("inbound_nodes") if e else None
        if not isinstance(nodes, list) or len(nodes) != 1:
            raise ModelFileError(f"config.json: layer {name!r} is not called exactly once "
                                 "on one input: lamina reads functional models that are a "
                                 "chain of layers")
        args = nodes[0].get("args") if isinstance(nodes[0], dict) else None
        if not isinstance(args, list) or len(args) != 1 or not isinstance(args[0], dict):
            raise ModelFileError(f"config.json: layer {name!r} takes {args!r}: lamina reads "
                                 "functional models that are a chain of layers")
        history = (args[0].get("config") or {}).get("keras_history")
        if not isinstance(history, list) or not history or history[0] not in by_name:
            raise ModelFileError(f"config.json: layer {name!r} has no valid input")
        chain.append(e)
        name = history[0]
        if len(chain) > len(entries):
            raise ModelFileError("config.json: the functional graph has a cycle")
    used = {e["name"] for e in chain} | {first}
    if used != set(by_name):
        raise ModelFileError(f"config.json: layers {sorted(set(by_name) - used)} are not on "
                             "the input-to-output chain: lamina reads chains only")
    return [by_name[first], *reversed(chain)]


def model_from_keras(entry, where="config.json", seed=None):
    """Builds the (uncompiled) lamina model a Keras 3 model entry describes.

    Args:
        entry: ``{"class_name": "Sequential" | "Functional", "config": {...}, ...}``.
        where: The name to quote in errors. Defaults to `"config.json"`.
        seed: The lamina model's seed (dropout masks, shuffling). Defaults to `None`
            (a fresh one).

    Raises:
        ModelFileError: Unsupported classes, lambdas, or an inconsistent config.
    """
    from .model import Sequential

    # compile_config is checked by compile_from_keras, which reads a saved custom function
    # as the name it is (looked up, never run).
    check_safe({k: v for k, v in entry.items() if k != "compile_config"}
               if isinstance(entry, dict) else entry, where)
    if not isinstance(entry, dict) or entry.get("class_name") not in _MODEL_CLASSES:
        got = entry.get("class_name") if isinstance(entry, dict) else entry
        raise ModelFileError(f"{where}: the model class {got!r} is not supported: lamina "
                             "reads Sequential models and functional chains")
    config = entry.get("config")
    if not isinstance(config, dict):
        raise ModelFileError(f"{where}: the model has no config")
    if entry["class_name"] == "Sequential":
        entries = config.get("layers")
        if not isinstance(entries, list):
            raise ModelFileError(f"{where}: Sequential config has no layer list")
    else:
        entries = _chain(config)
    def layer_of(e):
        if not isinstance(e, dict):
            raise ModelFileError(f"{where}: invalid layer entry {e!r}")
        cls_name = e.get("class_name")
        if cls_name in _MODEL_CLASSES:
            return model_from_keras(e, where)
        layer_config = _strip(e.get("config") or {})
        if not isinstance(layer_config, dict):
            raise ModelFileError(f"{where}: invalid layer config {layer_config!r}")
        _builtin_layer_class(cls_name, layer_config.get("name"))
        if cls_name == "InputLayer" and "batch_input_shape" in layer_config:  # Keras 2
            layer_config["batch_shape"] = layer_config.pop("batch_input_shape")
        return layers_mod.deserialize({"class_name": cls_name, "config": layer_config})

    try:
        if entry["class_name"] != "Sequential":
            # A functional chain stays a functional model: its InputLayer is in .layers and
            # get_layer(input name) finds it, as in Keras.
            from .functional import Model

            inputs = layer_of(entries[0])
            if not isinstance(inputs, layers_mod.InputLayer):
                raise ModelFileError(f"{where}: the functional model's first layer "
                                     f"{entries[0].get('name')!r} is not an InputLayer")
            x = inputs
            for e in entries[1:]:
                x = layer_of(e)(x)
            dtype = _strip(entries[0].get("config") or {}).get("dtype")
            return Model(inputs, x, name=config.get("name"), seed=seed,
                         trainable=config.get("trainable", True),
                         dtype=dtype if dtype in ("float32", "float64") else None)
        model = Sequential(name=config.get("name"), dtype=config.get("dtype"),
                           trainable=config.get("trainable", True), seed=seed)
        for e in entries:
            model.add(layer_of(e))
        bis = config.get("build_input_shape")
        if bis is not None and not model.built:
            model.build(bis)
    except ModelFileError:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        raise ModelFileError(f"{where}: invalid model config: {exc}") from None
    return model


def _plain_loss(loss):
    registered = loss.get("registered_name") if isinstance(loss, dict) else None
    loss = _strip(loss)
    if isinstance(loss, dict):
        cfg = dict(loss.get("config") or {})
        if cfg.get("reduction") == "sum_over_batch_size":
            cfg.pop("reduction")
        if cfg.get("dtype") is None:
            cfg.pop("dtype", None)
        loss = {"class_name": loss.get("class_name"), "config": cfg}
        if isinstance(registered, str):  # a custom class or function (built-ins: None)
            loss["registered_name"] = registered
    return loss


def _named_function(obj, kind):
    """Keras's saved custom function (``class_name`` "function", its name as ``config``)
    as lamina's config of the object that name selects: a lookup, never code."""
    if not (isinstance(obj, dict) and obj.get("class_name") == "function"
            and isinstance(obj.get("config"), str)):
        return obj
    name = obj["config"]
    if kind == "loss":
        return {"class_name": "LossFunctionWrapper", "config": {}, "registered_name": name}
    return {"class_name": "MeanMetricWrapper", "config": {"fn": name}}


def compile_from_keras(cc, where="config.json"):
    """lamina's compile config from Keras's ``compile_config`` (None stays None, and so
    does the ``{}`` Keras writes for a model it never compiled)."""
    if cc is None or cc == {}:
        return None
    if not isinstance(cc, dict):
        raise ModelFileError(f"{where}: compile_config must be a dict, got {cc!r}")
    cc = {**cc, "loss": _named_function(cc.get("loss"), "loss")}
    for key in ("metrics", "weighted_metrics"):
        if isinstance(cc.get(key), list):
            cc[key] = [_named_function(m, "metric") for m in cc[key]]
    check_safe(cc, where)
    if cc.get("steps_per_execution", 1) not in (1, None):
        cc = {**cc, "steps_per_execution": 1}  # a performance knob lamina does not need
    metrics = cc.get("metrics")
    weighted = cc.get("weighted_metrics")
    out = {"optimizer": _strip(cc.get("optimizer", "rmsprop")),
           "loss": _plain_loss(cc.get("loss")), "loss_weights": cc.get("loss_weights"),
           "metrics": [_plain_loss(m) for m in (metrics or [])] or None}
    if weighted:
        out["weighted_metrics"] = [_plain_loss(m) for m in weighted]
    return out
