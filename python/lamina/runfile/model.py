"""The ``[model]`` section: ``Sequential.get_config()`` in run-file spelling.

A ``[[model.layers]]`` table is a Keras layer config, ``{"class_name": ..., "config":
{...}}``, written flat: ``type`` is a short spelling of the class name (``dense``,
``dropout``, ``activation``, ``leaky_relu``, ...; ``dense`` when left out) and the other
keys are the constructor's arguments. An initializer is its name (``"he_normal"``) or
``{name = "random_normal", stddev = 0.05}``; a regularizer is ``{l1 = ..., l2 = ...}``.
Shorthands: ``l1 = ...`` / ``l2 = ...`` for ``kernel_regularizer``, and ``dropout = 0.5``
for a Dropout layer after this one.

A layer is checked by building it through ``lamina.layers.deserialize`` and resolved by
writing its ``get_config()`` back in this spelling, so the accepted keys, their defaults and
their ranges are the layer class's own.

Example:
    >>> check_model({"layers": [{"units": 10, "activation": "softmax"}]})["layers"]
    [{'type': 'dense', 'units': 10, 'activation': 'softmax', 'use_bias': True, \
'kernel_initializer': 'glorot_uniform', 'bias_initializer': 'zeros'}]
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from . import registry
from .errors import (RunFileError, bad, check_bool, check_float, check_str, check_table,
                     from_exception, named, one_of)

__all__ = ["POSITIVE", "check_positive", "check_activation", "check_initializer",
           "check_regularizer", "check_layer", "check_model", "layer_config", "layer_section",
           "model_config", "model_section"]

# Values a class accepts at 0 but a run file rejects there: a run with one of them at 0
# learns nothing or draws every weight alike, so it is surely a mistake in the file.
POSITIVE = ("learning_rate", "epsilon", "stddev")
_CHECK_NAME = "runfile_check"  # an explicit name keeps layer auto-naming untouched


def check_positive(path: str, key: str, value: Any) -> Any:
    """Applies the run file's own rule for a `POSITIVE` key (> 0); other keys pass."""
    if key in POSITIVE:
        return check_float(path, value, 0.0, lo_open=True)
    return value


def _check_params(path: str, cls: type, params: Mapping, sig: Mapping) -> dict:
    """Bool-typed defaults take true/false; `POSITIVE` keys are > 0. The class checks the rest."""
    out = {}
    for k, v in params.items():
        if isinstance(sig.get(k), bool):
            v = check_bool(f"{path}.{k}", v)
        out[k] = check_positive(f"{path}.{k}", k, v)
    return out


def check_activation(path: str, v: Any) -> str:
    """An activation name (Keras aliases accepted) -> its canonical name."""
    name = check_str(path, v)
    canonical = registry.canonical_activation(name)
    if canonical is None:
        raise one_of(path, name, registry.activation_names())
    return canonical


def check_initializer(path: str, v: Any) -> Any:
    """``"name"`` or ``{name = ..., **params}`` -> the resolved initializer.

    A bare name when every parameter is at its default (as ``initializers.serialize``),
    else a table with every parameter written out.
    """
    from .. import initializers

    name, params = named(path, v)
    try:
        cls = type(initializers.get(name))
    except (ValueError, TypeError):
        raise one_of(path, name, registry.initializer_names()) from None
    sig = registry.parameters(cls, skip=())
    check_table(path, {"name": name, **params}, ("name", *sig))
    params = _check_params(path, cls, params, sig)
    try:
        init = cls(**params)
    except (ValueError, TypeError) as exc:
        raise from_exception(path, exc, list(params)) from None
    out = initializers.serialize(init)
    if isinstance(out, str):
        return out
    return {"name": initializers.serialize(cls()),
            **{k: val for k, val in out["config"].items() if val is not None}}


def _regularizer_classes() -> dict[frozenset, type]:
    from .. import regularizers

    return {frozenset(registry.parameters(getattr(regularizers, n), skip=())):
            getattr(regularizers, n) for n in ("L1", "L2", "L1L2")}


def check_regularizer(path: str, v: Any) -> dict | None:
    """``{l1 = ..., l2 = ...}`` -> the penalties that are > 0 (None when none is)."""
    from ..regularizers import L1L2

    if v is False or v is None:
        return None
    keys = list(registry.parameters(L1L2, skip=()))
    d = check_table(path, v, keys)
    try:
        L1L2(**d)
    except (ValueError, TypeError) as exc:
        raise from_exception(path, exc, keys) from None
    out = {k: float(d[k]) for k in keys if k in d and float(d[k]) > 0}
    return out or None


def _initializer_config(spec: Any) -> Any:
    """A resolved initializer as Keras writes it (a name or ``{class_name, config}``)."""
    from .. import initializers

    if isinstance(spec, str):
        return spec
    params = {k: v for k, v in spec.items() if k != "name"}
    return {"class_name": type(initializers.get(spec["name"])).__name__, "config": params}


def _regularizer_config(reg: Mapping | None) -> Any:
    if not reg:
        return None
    cls = _regularizer_classes()[frozenset(reg)]
    return {"class_name": cls.__name__, "config": dict(reg)}


def _find_type(text: str, types: Mapping[str, type]) -> str | None:
    flat = text.replace("_", "").lower()
    for key, cls in types.items():
        if flat == cls.__name__.lower():
            return key
    return None


def check_layer(i: int, v: Any, is_last: bool) -> list[dict]:
    """One ``[[model.layers]]`` table -> its resolved layers (two with ``dropout = ...``)."""
    from .. import layers

    path = f"model.layers[{i}]"
    if not isinstance(v, Mapping):
        raise bad(path, "a table (a layer)", v)
    types = registry.layer_types()
    text = check_str(f"{path}.type", v.get("type", "dense"))
    ltype = _find_type(text, types)
    if ltype is None:
        raise one_of(f"{path}.type", text.lower(), types)
    cls = types[ltype]
    sig = registry.parameters(cls)
    shorthands = (["l1", "l2"] if "kernel_regularizer" in sig else []) + (
        ["dropout"] if cls is not layers.Dropout else [])
    d = check_table(path, v, ["type", *sig, *shorthands])
    for k, default in sig.items():
        if default is registry.REQUIRED and k not in d:
            raise RunFileError(f"{path}.{k}", f"missing: a {ltype} layer needs {k}")
    config = _check_params(path, cls, {k: d[k] for k in sig if k in d}, sig)
    for k in list(config):
        p = f"{path}.{k}"
        if k.endswith("_initializer"):
            config[k] = _initializer_config(check_initializer(p, config[k]))
        elif k.endswith("_regularizer"):
            config[k] = _regularizer_config(check_regularizer(p, config[k]))
        elif k == "activation":
            config[k] = check_activation(p, config[k])
    if ("l1" in d or "l2" in d) and "kernel_regularizer" in sig:  # shorthand
        if "kernel_regularizer" in d:
            given = "l1" if "l1" in d else "l2"
            raise RunFileError(f"{path}.{given}", "give either the shorthand l1/l2 or "
                               "kernel_regularizer, not both")
        short = check_regularizer(path, {k: d[k] for k in ("l1", "l2") if k in d})
        config["kernel_regularizer"] = _regularizer_config(short)
    try:
        layer = layers.deserialize({"class_name": cls.__name__,
                                    "config": {**config, "name": _CHECK_NAME}})
    except (ValueError, TypeError) as exc:
        raise from_exception(path, exc, [k for k in d if k != "type"]) from None
    out = [layer_section(layers.serialize(layer))]
    if "dropout" in d:
        p = f"{path}.dropout"
        try:
            rate = layers.Dropout(d["dropout"], name=_CHECK_NAME).rate
        except (ValueError, TypeError) as exc:
            raise RunFileError(p, from_exception("", exc, ()).message) from None
        if is_last:
            raise RunFileError(p, "the output layer cannot be followed by dropout")
        if rate > 0:
            out.append({"type": registry.short_name(layers.Dropout.__name__), "rate": rate})
    return out


def check_model(d: Any, default_layers: list | None = None) -> dict:
    """The ``[model]`` section -> ``{"dtype", "layers"}``, every layer resolved."""
    from .. import config

    d = check_table("model", d, ("dtype", "layers"))
    dtype = check_str("model.dtype", d.get("dtype", "float32"))
    if dtype not in config.FLOATX_TYPES:
        raise one_of("model.dtype", dtype, config.FLOATX_TYPES)
    raw_layers = d.get("layers", default_layers)
    if not isinstance(raw_layers, (list, tuple)):
        raise bad("model.layers", "a list of layer tables ([[model.layers]])", raw_layers)
    if not raw_layers:
        raise RunFileError("model.layers", "is empty: list at least one layer (the output "
                           "layer, e.g. {units = 10, activation = \"softmax\"})")
    layers: list[dict] = []
    for i, layer in enumerate(raw_layers):
        layers.extend(check_layer(i, layer, i == len(raw_layers) - 1))
    if not any(ly["type"] == "dense" for ly in layers):
        raise RunFileError("model.layers", "needs at least one dense layer")
    if layers[-1]["type"] == "dropout":
        raise RunFileError(f"model.layers[{len(raw_layers) - 1}]", "the last layer cannot be "
                           "a dropout layer")
    return {"dtype": dtype, "layers": layers}


def layer_config(layer: Mapping) -> dict:
    """A resolved run-file layer -> its Keras config ``{"class_name", "config"}``.

    Example:
        >>> layer_config({"type": "dropout", "rate": 0.5})
        {'class_name': 'Dropout', 'config': {'rate': 0.5}}
    """
    cls = registry.layer_types()[layer["type"]]
    config = {}
    for k, v in layer.items():
        if k == "type":
            continue
        if k.endswith("_initializer"):
            v = _initializer_config(v)
        elif k.endswith("_regularizer"):
            v = _regularizer_config(v)
        config[k] = v
    return {"class_name": cls.__name__, "config": config}


def layer_section(item: Mapping) -> dict:
    """A Keras layer config -> the run-file layer (the inverse of `layer_config`).

    Example:
        >>> layer_section({"class_name": "Dense", "config": {"name": "d", "units": 3,
        ...                "activation": "relu", "kernel_regularizer": {"class_name": "L2",
        ...                "config": {"l2": 0.01}}}})
        {'type': 'dense', 'units': 3, 'activation': 'relu', 'kernel_regularizer': {'l2': 0.01}}
    """
    from .. import initializers

    key = registry.short_name(str(item.get("class_name")))
    types = registry.layer_types()
    if key not in types:
        raise one_of("model.layers", item.get("class_name"), [c.__name__ for c in
                                                                types.values()], "layer class")
    cfg = item.get("config") or {}
    out: dict[str, Any] = {"type": key}
    for k in registry.parameters(types[key]):
        v = cfg.get(k)
        if v is None:
            continue
        if k.endswith("_initializer") and isinstance(v, Mapping):
            try:
                cls = type(initializers.get(v.get("class_name")))
            except (ValueError, TypeError):
                raise one_of(f"model.layers.{k}", v.get("class_name"),
                             registry.initializer_names(), "initializer") from None
            v = {"name": initializers.serialize(cls()),
                 **{pk: pv for pk, pv in (v.get("config") or {}).items() if pv is not None}}
        elif k.endswith("_regularizer"):
            v = {rk: rv for rk, rv in (v.get("config") or {}).items() if rv} or None
            if v is None:
                continue
        out[k] = v
    return out


def model_config(run: Mapping, input_dim: int) -> dict:
    """The run's model section as ``Sequential.get_config()`` output.

    Args:
        run: a resolved run.
        input_dim: features per sample.

    Returns:
        ``{"name", "dtype", "seed", "layers": [{"class_name", "config"}, ...]}`` starting
        with an InputLayer; the seed is ``training.seed`` (it drives initialization,
        shuffling and dropout). `Sequential.from_config` builds the model from it.

    Example:
        >>> from lamina.runfile import default_run
        >>> model_config(default_run(), 64)["layers"][0]
        {'class_name': 'InputLayer', 'config': {'shape': [64]}}
    """
    layers = [{"class_name": "InputLayer", "config": {"shape": [int(input_dim)]}}]
    layers += [layer_config(ly) for ly in run["model"]["layers"]]
    return {"name": re.sub(r"[^A-Za-z0-9_.-]+", "_", run.get("name", "run")) or "run",
            "dtype": run["model"]["dtype"], "seed": run["training"]["seed"], "layers": layers}


def model_section(config: Mapping) -> dict:
    """The inverse of `model_config`: a ``Sequential.get_config()`` as a run's model section.

    Args:
        config: ``Sequential.get_config()`` output.

    Returns:
        ``{"dtype", "layers"}``, validated like a run file's model section.

    Example:
        >>> section = model_section({"dtype": "float32", "layers": [
        ...     {"class_name": "InputLayer", "config": {"shape": [4]}},
        ...     {"class_name": "Dense", "config": {"units": 2, "activation": "softmax"}}]})
        >>> section["layers"][0]["units"], section["layers"][0]["kernel_initializer"]
        (2, 'glorot_uniform')
    """
    layers = [layer_section(item) for item in config.get("layers", [])
              if item.get("class_name") != "InputLayer"]
    return check_model({"dtype": config.get("dtype") or "float32", "layers": layers})
