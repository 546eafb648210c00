"""Run files: one TOML (or JSON) file describes a whole experiment.

A run file has six sections, every key optional (the defaults train a small MLP on the
bundled digits)::

    name = "dropout"                      # label in `lamina compare` (default: file stem)
    description = "oversized net + dropout"

    [data]
    source = "digits"                     # bundled digits, or a .npz / .csv path
                                          # (relative to the run file)
    label = "label"                       # CSV: label column; NPZ: label array key ("y")
    features = "x"                        # NPZ only: features array key
    max_samples = 0                       # 0: all; n: a seeded random subset of n samples

    [preprocessing]
    standardize = true                    # zero mean, unit variance (fit on the train part)
    test_split = 0.2                      # held-out test fraction
    seed = 0                              # split, subset, and the default training seed

    [model]
    dtype = "float32"
    [[model.layers]]                      # Keras names: type dense | dropout | activation
    units = 128
    activation = "relu"
    kernel_initializer = "he_normal"      # or {name = "random_normal", stddev = 0.05}
    kernel_regularizer = {l2 = 1e-4}      # shorthand: l1 = ..., l2 = ...
    dropout = 0.5                         # shorthand: a Dropout layer after this one
    [[model.layers]]
    units = 10
    activation = "softmax"

    [training]
    optimizer = "adam"                    # or {name = "sgd", learning_rate = 0.1, momentum = 0.9}
    learning_rate = 0.001                 # shorthand for optimizer.learning_rate
    schedule = {name = "exponential_decay", decay_steps = 100, decay_rate = 0.9}
    loss = "sparse_categorical_crossentropy"
    metrics = ["accuracy"]
    epochs = 30
    batch_size = 32                       # or "full"
    validation_split = 0.2                # the last part of the train split, as Keras
    shuffle = true
    early_stopping = {patience = 5}       # or true / false
    seed = 0

    [diagnosis]                           # thresholds of the rules in lamina.diagnose
    patience = 3                          # e.g. epochs of rising val_loss that mean overfitting

    [outputs]
    dir = ""                              # default runs/<timestamp>/; `--out` overrides
    model = true                          # model.lamina
    history = true                        # history.csv
    plot = true                           # learning_curves.png (needs matplotlib)

`load_run(path_or_dict, overrides=[...])` returns a fully resolved `Run` (a dict with every
default filled in and every shorthand expanded). Every mistake raises `RunFileError` naming
the key path and the accepted values. `Run.to_toml()` writes the resolved run back, and
loading that text gives the same run.

The model section is ``Sequential.get_config()`` in run-file spelling (one schema):
`model_config(run, input_dim)` and `model_section(config)` convert between the two,
`build_model(run, input_dim)` builds the model, and `run_from_model(model)` writes a model
made in Python as a run. `load_data(run)` reads, subsets, splits and standardizes the data;
``lamina.experiment.train_run(run)`` does what ``lamina train`` does.

Example:
    >>> from lamina.run import load_run
    >>> run = load_run({"training": {"epochs": 5}}, overrides=["model.layers[0].units=32"])
    >>> run["training"]["epochs"], run["model"]["layers"][0]["units"]
    (5, 32)
"""

from __future__ import annotations

import copy
import csv
import difflib
import json
import math
import os
import re
import sys
from pathlib import Path
from typing import Any, Iterable, Mapping

__all__ = [
    "RunFileError",
    "Run",
    "load_run",
    "default_run",
    "parse_override",
    "to_toml",
    "load_data",
    "Dataset",
    "read_arrays",
    "encode_labels",
    "fit_size",
    "model_config",
    "model_section",
    "build_model",
    "run_from_model",
]


class RunFileError(ValueError):
    """A run file (or a `--set` override, or the data it names) is invalid.

    Attributes:
        key: the key path of the bad value, e.g. ``model.layers[1].activation``.
        message: what is wrong, with the accepted values.
        source: the file the run came from, if any.

    Example:
        >>> err = RunFileError("training.epochs", "must be >= 1, got 0")
        >>> str(err), err.key
        ('training.epochs: must be >= 1, got 0', 'training.epochs')
    """

    def __init__(self, key: str, message: str, source: str | None = None):
        self.key = key
        self.message = message
        self.source = source
        super().__init__(f"{key}: {message}" if key else message)

    def with_source(self, source: str | None) -> RunFileError:
        if source and not self.source:
            self.source = source
        return self


# ---------------------------------------------------------------------------------------------
# Accepted names (Keras 3 spellings; the core's lists in cpp/include/lamina/*.hpp).

ACTIVATIONS = (
    "linear", "relu", "sigmoid", "tanh", "softmax", "leaky_relu", "elu", "selu", "gelu",
    "gelu_tanh", "softplus", "softsign", "silu", "hard_sigmoid", "log_softmax",
)
ACTIVATION_ALIASES = {"swish": "silu", "none": "linear", "identity": "linear"}
INITIALIZERS = {
    # name: accepted parameters and their defaults (Keras 3)
    "glorot_uniform": {"seed": None},
    "glorot_normal": {"seed": None},
    "he_uniform": {"seed": None},
    "he_normal": {"seed": None},
    "lecun_uniform": {"seed": None},
    "lecun_normal": {"seed": None},
    "random_normal": {"mean": 0.0, "stddev": 0.05, "seed": None},
    "random_uniform": {"minval": -0.05, "maxval": 0.05, "seed": None},
    "truncated_normal": {"mean": 0.0, "stddev": 0.05, "seed": None},
    "zeros": {},
    "ones": {},
    "constant": {"value": 0.0},
    "orthogonal": {"gain": 1.0, "seed": None},
}
LOSSES = (
    "sparse_categorical_crossentropy", "categorical_crossentropy", "binary_crossentropy",
    "mean_squared_error", "mean_absolute_error", "huber",
)
LOSS_ALIASES = {"mse": "mean_squared_error", "mae": "mean_absolute_error"}
METRICS = (
    "accuracy", "sparse_categorical_accuracy", "categorical_accuracy", "binary_accuracy",
    "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy",
    "mean_squared_error", "mean_absolute_error",
)
METRIC_ALIASES = {"acc": "accuracy", "mse": "mean_squared_error", "mae": "mean_absolute_error"}
_COMMON_OPT = {"weight_decay": None, "clipnorm": None, "clipvalue": None, "global_clipnorm": None}
OPTIMIZERS = {
    # name: hyperparameters and their Keras 3 defaults (None: off, omitted when resolved)
    "sgd": {"learning_rate": 0.01, "momentum": 0.0, "nesterov": False},
    "rmsprop": {"learning_rate": 0.001, "rho": 0.9, "momentum": 0.0, "epsilon": 1e-7,
                "centered": False},
    "adam": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
             "amsgrad": False},
    "adamw": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
              "amsgrad": False},
    "adagrad": {"learning_rate": 0.001, "initial_accumulator_value": 0.1, "epsilon": 1e-7},
    "adamax": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
    "nadam": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
}
SCHEDULES = {
    # name: parameters (required ones have default ...), Keras 3 semantics, per optimizer step
    "exponential_decay": {"decay_steps": ..., "decay_rate": ..., "staircase": False},
    "inverse_time_decay": {"decay_steps": ..., "decay_rate": ..., "staircase": False},
    "cosine_decay": {"decay_steps": ..., "alpha": 0.0},
    "piecewise_constant_decay": {"boundaries": ..., "values": ...},
}
LAYER_TYPES = ("dense", "dropout", "activation")
MONITORS_HINT = "val_loss, loss, val_accuracy, accuracy, ..."
DTYPES = ("float32", "float64")

DEFAULT_LAYERS = [
    {"type": "dense", "units": 128, "activation": "relu"},
    {"type": "dense", "units": 10, "activation": "softmax"},
]

# The raw defaults a run file is merged onto (section by section; any value given in the file
# replaces the default value of that key as a whole).
_RAW_DEFAULTS: dict[str, Any] = {
    "data": {"source": "digits", "max_samples": 0},
    "preprocessing": {"standardize": True, "test_split": 0.2, "seed": 0},
    "model": {"dtype": "float32", "layers": DEFAULT_LAYERS},
    "training": {
        "optimizer": "adam",
        "loss": "sparse_categorical_crossentropy",
        "metrics": ["accuracy"],
        "epochs": 30,
        "batch_size": 32,
        "validation_split": 0.2,
        "shuffle": True,
        "early_stopping": False,
    },
    "outputs": {"dir": "", "model": True, "history": True, "plot": True},
}
_TOP_KEYS = ("name", "description", "data", "preprocessing", "model", "training", "diagnosis",
             "outputs")


# ---------------------------------------------------------------------------------------------
# Small checkers: each returns the cleaned value or raises RunFileError(path, ...).

def _kind(v: Any) -> str:
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, int):
        return "an integer"
    if isinstance(v, float):
        return "a number"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, (list, tuple)):
        return "a list"
    if isinstance(v, Mapping):
        return "a table"
    return type(v).__name__


def _bad(path: str, expected: str, v: Any) -> RunFileError:
    return RunFileError(path, f"expected {expected}, got {v!r} ({_kind(v)})")


def _one_of(path: str, v: Any, choices: Iterable[str], what: str = "") -> RunFileError:
    choices = list(choices)
    msg = f"{v!r} is not one of {', '.join(choices)}"
    if isinstance(v, str):
        close = difflib.get_close_matches(v, choices, n=1)
        if close:
            msg += f" (did you mean {close[0]!r}?)"
    return RunFileError(path, (what + " " if what else "") + msg)


def _table(path: str, v: Any, allowed: Iterable[str]) -> dict:
    if not isinstance(v, Mapping):
        raise _bad(path, "a table", v)
    allowed = list(allowed)
    for k in v:
        if k not in allowed:
            close = difflib.get_close_matches(str(k), allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            sub = f"{path}.{k}" if path else str(k)
            raise RunFileError(sub, f"unknown key{hint}; accepted keys: {', '.join(allowed)}")
    return dict(v)


def _bool(path: str, v: Any) -> bool:
    if not isinstance(v, bool):
        raise _bad(path, "true or false", v)
    return v


def _int(path: str, v: Any, lo: int | None = None, hi: int | None = None) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        if isinstance(v, float) and v.is_integer() and math.isfinite(v):
            v = int(v)
        else:
            raise _bad(path, "an integer", v)
    if lo is not None and v < lo:
        raise RunFileError(path, f"must be >= {lo}, got {v}")
    if hi is not None and v > hi:
        raise RunFileError(path, f"must be <= {hi}, got {v}")
    return int(v)


def _float(path: str, v: Any, lo: float | None = None, hi: float | None = None,
           lo_open: bool = False, hi_open: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _bad(path, "a number", v)
    v = float(v)
    if not math.isfinite(v):
        raise RunFileError(path, f"must be a finite number, got {v}")
    if lo is not None and (v < lo or (lo_open and v == lo)):
        rng = _range_text(lo, hi, lo_open, hi_open)
        raise RunFileError(path, f"must be {rng}, got {v}")
    if hi is not None and (v > hi or (hi_open and v == hi)):
        rng = _range_text(lo, hi, lo_open, hi_open)
        raise RunFileError(path, f"must be {rng}, got {v}")
    return v


def _range_text(lo, hi, lo_open, hi_open) -> str:
    if hi is None:
        return f"{'>' if lo_open else '>='} {lo:g}"
    if lo is None:
        return f"{'<' if hi_open else '<='} {hi:g}"
    return f"in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"


def _str(path: str, v: Any) -> str:
    if not isinstance(v, str):
        raise _bad(path, "a string", v)
    return v


def _named(path: str, v: Any) -> tuple[str, dict]:
    """A `"name"` or `{name = "...", ...params}` value -> (name, params)."""
    if isinstance(v, str):
        return v, {}
    if isinstance(v, Mapping):
        if "name" not in v:
            raise RunFileError(path, "a table here needs a 'name' key")
        params = {k: val for k, val in v.items() if k != "name"}
        return _str(f"{path}.name", v["name"]), params
    raise _bad(path, "a name or a table with a 'name' key", v)


# ---------------------------------------------------------------------------------------------
# Sections

def _check_data(d: Any, base_dir: Path | None) -> dict:
    d = _table("data", d, ("source", "label", "features", "max_samples"))
    src = _str("data.source", d.get("source", "digits"))
    out: dict[str, Any] = {}
    if src == "digits":
        out["source"] = "digits"
        fmt = "digits"
    else:
        p = Path(src).expanduser()
        if not p.is_absolute() and base_dir is not None:
            p = base_dir / p
        fmt = p.suffix.lower().lstrip(".")
        if fmt not in ("npz", "csv"):
            raise RunFileError("data.source", f"{src!r} is not 'digits' or a path ending in "
                               ".npz or .csv")
        if not p.is_file():
            raise RunFileError("data.source", f"file not found: {str(p)!r}")
        out["source"] = str(p.resolve())
    label_default = "label" if fmt == "csv" else "y"
    out["label"] = _str("data.label", d.get("label", label_default))
    if "features" in d and fmt == "csv":
        raise RunFileError("data.features", "only applies to .npz data (a CSV's features are "
                           "every column except data.label)")
    if fmt == "npz":
        out["features"] = _str("data.features", d.get("features", "x"))
    out["max_samples"] = _int("data.max_samples", d.get("max_samples", 0), lo=0)
    return out


def _check_preprocessing(d: Any) -> dict:
    d = _table("preprocessing", d, ("standardize", "test_split", "seed"))
    return {
        "standardize": _bool("preprocessing.standardize", d.get("standardize", True)),
        "test_split": _float("preprocessing.test_split", d.get("test_split", 0.2), 0.0, 1.0,
                             hi_open=True),
        "seed": _int("preprocessing.seed", d.get("seed", 0), lo=0),
    }


def _check_initializer(path: str, v: Any) -> Any:
    name, params = _named(path, v)
    if name not in INITIALIZERS:
        raise _one_of(path, name, INITIALIZERS)
    accepted = INITIALIZERS[name]
    _table(path, {"name": name, **params}, ("name", *accepted))
    out: dict[str, Any] = {}
    for k, default in accepted.items():
        val = params.get(k, default)
        if val is None:
            continue
        if k == "seed":
            out[k] = _int(f"{path}.seed", val, lo=0)
        elif k == "stddev":
            out[k] = _float(f"{path}.{k}", val, 0.0, lo_open=True)
        else:
            out[k] = _float(f"{path}.{k}", val)
    if "minval" in out and out["minval"] >= out["maxval"]:
        raise RunFileError(f"{path}.minval", f"must be < maxval ({out['maxval']}), got "
                           f"{out['minval']}")
    # A bare name when every parameter is at its default: the resolved file stays readable.
    if all(out.get(k) == d for k, d in accepted.items() if d is not None) and "seed" not in out:
        return name
    return {"name": name, **out}


def _check_regularizer(path: str, v: Any) -> dict | None:
    if v is False or v is None:
        return None
    d = _table(path, v, ("l1", "l2"))
    out = {}
    for k in ("l1", "l2"):
        if k in d:
            val = _float(f"{path}.{k}", d[k], 0.0)
            if val > 0:
                out[k] = val
    return out or None


def _activation(path: str, v: Any) -> str:
    name = _str(path, v)
    return ACTIVATION_ALIASES.get(name.lower(), name)


def _check_layer(i: int, v: Any, is_last: bool) -> list[dict]:
    path = f"model.layers[{i}]"
    if not isinstance(v, Mapping):
        raise _bad(path, "a table (a layer)", v)
    ltype = v.get("type", "dense")
    ltype = _str(f"{path}.type", ltype).lower()
    if ltype not in LAYER_TYPES:
        raise _one_of(f"{path}.type", ltype, LAYER_TYPES)
    if ltype == "dropout":
        d = _table(path, v, ("type", "rate", "seed"))
        if "rate" not in d:
            raise RunFileError(f"{path}.rate", "missing: a dropout layer needs a rate in [0, 1)")
        out = {"type": "dropout", "rate": _float(f"{path}.rate", d["rate"], 0.0, 1.0,
                                                 hi_open=True)}
        if "seed" in d:
            out["seed"] = _int(f"{path}.seed", d["seed"], lo=0)
        return [out]
    if ltype == "activation":
        d = _table(path, v, ("type", "activation"))
        act = _activation(f"{path}.activation", d.get("activation", "linear"))
        if act not in ACTIVATIONS:
            raise _one_of(f"{path}.activation", act, ACTIVATIONS)
        return [{"type": "activation", "activation": act}]
    d = _table(path, v, ("type", "units", "activation", "use_bias", "kernel_initializer",
                         "bias_initializer", "kernel_regularizer", "bias_regularizer", "l1",
                         "l2", "dropout"))
    if "units" not in d:
        raise RunFileError(f"{path}.units", "missing: a dense layer needs units (an integer "
                           ">= 1)")
    act = _activation(f"{path}.activation", d.get("activation", "linear"))
    if act not in ACTIVATIONS:
        raise _one_of(f"{path}.activation", act, ACTIVATIONS)
    out = {
        "type": "dense",
        "units": _int(f"{path}.units", d["units"], lo=1),
        "activation": act,
        "use_bias": _bool(f"{path}.use_bias", d.get("use_bias", True)),
        "kernel_initializer": _check_initializer(f"{path}.kernel_initializer",
                                                 d.get("kernel_initializer", "glorot_uniform")),
        "bias_initializer": _check_initializer(f"{path}.bias_initializer",
                                               d.get("bias_initializer", "zeros")),
    }
    kreg = _check_regularizer(f"{path}.kernel_regularizer", d.get("kernel_regularizer"))
    for k in ("l1", "l2"):  # shorthand for kernel_regularizer
        if k in d:
            if "kernel_regularizer" in d:
                raise RunFileError(f"{path}.{k}", "give either the shorthand l1/l2 or "
                                   "kernel_regularizer, not both")
            val = _float(f"{path}.{k}", d[k], 0.0)
            if val > 0:
                kreg = {**(kreg or {}), k: val}
    if kreg:
        out["kernel_regularizer"] = dict(sorted(kreg.items()))
    breg = _check_regularizer(f"{path}.bias_regularizer", d.get("bias_regularizer"))
    if breg:
        out["bias_regularizer"] = breg
    layers = [out]
    if "dropout" in d:
        rate = _float(f"{path}.dropout", d["dropout"], 0.0, 1.0, hi_open=True)
        if is_last:
            raise RunFileError(f"{path}.dropout", "the output layer cannot be followed by "
                               "dropout")
        if rate > 0:
            layers.append({"type": "dropout", "rate": rate})
    return layers


def _check_model(d: Any) -> dict:
    d = _table("model", d, ("dtype", "layers"))
    dtype = _str("model.dtype", d.get("dtype", "float32"))
    if dtype not in DTYPES:
        raise _one_of("model.dtype", dtype, DTYPES)
    raw_layers = d.get("layers", DEFAULT_LAYERS)
    if not isinstance(raw_layers, (list, tuple)):
        raise _bad("model.layers", "a list of layer tables ([[model.layers]])", raw_layers)
    if not raw_layers:
        raise RunFileError("model.layers", "is empty: list at least one layer (the output "
                           "layer, e.g. {units = 10, activation = \"softmax\"})")
    layers: list[dict] = []
    for i, layer in enumerate(raw_layers):
        layers.extend(_check_layer(i, layer, i == len(raw_layers) - 1))
    if not any(ly["type"] == "dense" for ly in layers):
        raise RunFileError("model.layers", "needs at least one dense layer")
    if layers[-1]["type"] == "dropout":
        raise RunFileError(f"model.layers[{len(raw_layers) - 1}]", "the last layer cannot be "
                           "a dropout layer")
    return {"dtype": dtype, "layers": layers}


def _check_optimizer(t: dict) -> dict:
    path = "training.optimizer"
    name, params = _named(path, t.get("optimizer", "adam"))
    name = name.lower()
    if name not in OPTIMIZERS:
        raise _one_of(f"{path}.name" if isinstance(t.get("optimizer"), Mapping) else path,
                      name, OPTIMIZERS)
    accepted = {**OPTIMIZERS[name], **_COMMON_OPT}
    if name == "adamw":
        accepted["weight_decay"] = 0.004
    _table(path, {"name": name, **params}, ("name", *accepted))
    if "learning_rate" in t:
        if "learning_rate" in params:
            raise RunFileError("training.learning_rate", "also given as "
                               "training.optimizer.learning_rate: keep one")
        params["learning_rate"] = _float("training.learning_rate", t["learning_rate"], 0.0,
                                         lo_open=True)
    out: dict[str, Any] = {"name": name}
    for k, default in accepted.items():
        val = params.get(k, default)
        if val is None:
            continue
        p = f"{path}.{k}"
        if k in ("nesterov", "centered", "amsgrad"):
            out[k] = _bool(p, val)
        elif k == "learning_rate":
            out[k] = _float(p, val, 0.0, lo_open=True)
        elif k in ("beta_1", "beta_2"):  # the optimizer classes' ranges (1 would divide by 0)
            out[k] = _float(p, val, 0.0, 1.0, hi_open=True)
        elif k in ("rho", "momentum"):
            out[k] = _float(p, val, 0.0, 1.0)
        elif k in ("epsilon", "clipnorm", "clipvalue", "global_clipnorm"):
            out[k] = _float(p, val, 0.0, lo_open=True)
        else:  # weight_decay, initial_accumulator_value
            out[k] = _float(p, val, 0.0)
    clips = [k for k in ("clipnorm", "clipvalue", "global_clipnorm") if k in out]
    if len(clips) > 1:
        raise RunFileError(f"{path}.{clips[1]}", f"only one of clipnorm, clipvalue, "
                           f"global_clipnorm may be set (also got {clips[0]})")
    return out


def _check_schedule(v: Any) -> dict | None:
    path = "training.schedule"
    if v is None or v is False:
        return None
    name, params = _named(path, v)
    if name not in SCHEDULES:
        raise _one_of(f"{path}.name", name, SCHEDULES)
    accepted = SCHEDULES[name]
    _table(path, {"name": name, **params}, ("name", *accepted))
    out: dict[str, Any] = {"name": name}
    for k, default in accepted.items():
        p = f"{path}.{k}"
        if k not in params:
            if default is ...:
                raise RunFileError(p, f"missing: the {name} schedule needs "
                                   f"{', '.join(a for a, d in accepted.items() if d is ...)}")
            out[k] = default
            continue
        val = params[k]
        if k == "decay_steps":
            out[k] = _int(p, val, lo=1)
        elif k == "staircase":
            out[k] = _bool(p, val)
        elif k == "decay_rate":
            out[k] = _float(p, val, 0.0, lo_open=True)
        elif k == "alpha":
            out[k] = _float(p, val, 0.0, 1.0)
        elif k == "boundaries":
            if not isinstance(val, list) or not val:
                raise _bad(p, "a non-empty list of step numbers", val)
            out[k] = [_int(f"{p}[{i}]", b, lo=1) for i, b in enumerate(val)]
            if out[k] != sorted(set(out[k])):
                raise RunFileError(p, f"must be strictly increasing, got {out[k]}")
        elif k == "values":
            if not isinstance(val, list):
                raise _bad(p, "a list of learning rates", val)
            out[k] = [_float(f"{p}[{i}]", b, 0.0, lo_open=True) for i, b in enumerate(val)]
    if name == "piecewise_constant_decay" and len(out["values"]) != len(out["boundaries"]) + 1:
        raise RunFileError(f"{path}.values", f"needs len(boundaries) + 1 = "
                           f"{len(out['boundaries']) + 1} learning rates, got "
                           f"{len(out['values'])}")
    return out


def _check_early_stopping(v: Any) -> dict | bool:
    path = "training.early_stopping"
    if v is False:
        return False
    if v is True:
        v = {}
    d = _table(path, v, ("monitor", "patience", "min_delta", "restore_best_weights", "mode",
                         "start_from_epoch"))
    mode = _str(f"{path}.mode", d.get("mode", "auto"))
    if mode not in ("auto", "min", "max"):
        raise _one_of(f"{path}.mode", mode, ("auto", "min", "max"))
    monitor = _str(f"{path}.monitor", d.get("monitor", "val_loss"))
    if not monitor:
        raise RunFileError(f"{path}.monitor", f"must name a logged value ({MONITORS_HINT})")
    return {
        "monitor": monitor,
        "patience": _int(f"{path}.patience", d.get("patience", 5), lo=0),
        "min_delta": _float(f"{path}.min_delta", d.get("min_delta", 0.0), 0.0),
        "restore_best_weights": _bool(f"{path}.restore_best_weights",
                                      d.get("restore_best_weights", True)),
        "mode": mode,
        "start_from_epoch": _int(f"{path}.start_from_epoch", d.get("start_from_epoch", 0),
                                 lo=0),
    }


def _check_training(d: Any, default_seed: int) -> dict:
    d = _table("training", d, ("optimizer", "learning_rate", "schedule", "loss", "metrics",
                               "epochs", "batch_size", "validation_split", "shuffle",
                               "early_stopping", "seed"))
    loss = _str("training.loss", d.get("loss", "sparse_categorical_crossentropy"))
    loss = LOSS_ALIASES.get(loss, loss)
    if loss not in LOSSES:
        raise _one_of("training.loss", loss, LOSSES)
    metrics_raw = d.get("metrics", ["accuracy"])
    if isinstance(metrics_raw, str):
        metrics_raw = [metrics_raw]
    if not isinstance(metrics_raw, list):
        raise _bad("training.metrics", "a list of metric names", metrics_raw)
    metrics = []
    for i, m in enumerate(metrics_raw):
        m = _str(f"training.metrics[{i}]", m)
        m = METRIC_ALIASES.get(m, m)
        if m not in METRICS:
            raise _one_of(f"training.metrics[{i}]", m, METRICS)
        sparse_loss = loss == "sparse_categorical_crossentropy"
        if m.startswith("sparse_") != sparse_loss and m != "accuracy":
            fits = [x for x in METRICS if x == "accuracy" or x.startswith("sparse_") == sparse_loss]
            needs = "integer labels" if m.startswith("sparse_") else "one-hot targets"
            takes = "integer labels" if sparse_loss else "dense targets"
            raise RunFileError(f"training.metrics[{i}]", f"{m!r} needs {needs} but training.loss "
                               f"{loss!r} takes {takes}; with this loss use one of "
                               f"{', '.join(fits)}")
        if m not in metrics:
            metrics.append(m)
    bs = d.get("batch_size", 32)
    if isinstance(bs, str):
        if bs != "full":
            raise RunFileError("training.batch_size", f"expected an integer >= 1 or \"full\", "
                               f"got {bs!r}")
    else:
        bs = _int("training.batch_size", bs, lo=1)
    opt = _check_optimizer(d)
    out = {
        "optimizer": opt,
        "loss": loss,
        "metrics": metrics,
        "epochs": _int("training.epochs", d.get("epochs", 30), lo=1),
        "batch_size": bs,
        "validation_split": _float("training.validation_split", d.get("validation_split", 0.2),
                                   0.0, 1.0, hi_open=True),
        "shuffle": _bool("training.shuffle", d.get("shuffle", True)),
        "early_stopping": _check_early_stopping(d.get("early_stopping", False)),
        "seed": _int("training.seed", d.get("seed", default_seed), lo=0),
    }
    sched = _check_schedule(d.get("schedule"))
    if sched is not None:
        out["schedule"] = sched
    es = out["early_stopping"]
    if es and es["monitor"].startswith("val_") and out["validation_split"] == 0:
        raise RunFileError("training.early_stopping.monitor", f"{es['monitor']!r} needs "
                           "validation data: set training.validation_split > 0 or monitor "
                           "'loss'")
    return out


def _diagnosis_defaults() -> dict:
    """Every threshold of the diagnosis rules with its default (lamina.diagnose)."""
    import inspect

    from .diagnose import RULES

    out = {}
    for rule in RULES.values():
        for name, p in inspect.signature(rule).parameters.items():
            if name != "curves" and p.default is not None:
                out[name] = p.default
    return out


def _check_diagnosis(d: Any) -> dict:
    defaults = _diagnosis_defaults()
    d = _table("diagnosis", d, [*defaults, "baseline"])
    out = {}
    for k, default in defaults.items():
        v = d.get(k, default)
        if isinstance(default, int):
            out[k] = _int(f"diagnosis.{k}", v, lo=1)
        else:
            out[k] = _float(f"diagnosis.{k}", v, 0.0)
    if "baseline" in d:
        out["baseline"] = _float("diagnosis.baseline", d["baseline"], 0.0, lo_open=True)
    return out


def _check_outputs(d: Any) -> dict:
    d = _table("outputs", d, ("dir", "model", "history", "plot"))
    return {
        "dir": _str("outputs.dir", d.get("dir", "")),
        "model": _bool("outputs.model", d.get("model", True)),
        "history": _bool("outputs.history", d.get("history", True)),
        "plot": _bool("outputs.plot", d.get("plot", True)),
    }


# ---------------------------------------------------------------------------------------------
# Overrides: `--set training.epochs=2`, `--set model.layers[0].units=64`, `--set a.b="x"`.

_PATH_TOKEN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)((?:\[-?\d+\])*)")


def parse_override(text: str) -> tuple[list, Any]:
    """Parses ``key.path[i]=value`` into (path parts, value).

    The value is read as a TOML value (``2``, ``0.5``, ``true``, ``"adam"``, ``[64, 32]``,
    ``{l2 = 1e-4}``); anything that is not valid TOML is taken as a bare string (``adam``).

    Args:
        text: the override, as given to ``--set``.

    Returns:
        The path as a list of keys (str) and list indices (int), and the value.

    Example:
        >>> parse_override("model.layers[0].units=64")
        (['model', 'layers', 0, 'units'], 64)
    """
    if "=" not in text:
        raise RunFileError("--set", f"expected key=value, got {text!r}")
    key, _, raw = text.partition("=")
    key, raw = key.strip(), raw.strip()
    parts: list = []
    for piece in key.split("."):
        m = _PATH_TOKEN.fullmatch(piece)
        if not m:
            raise RunFileError("--set", f"bad key path {key!r} (expected names like "
                               "training.epochs or model.layers[0].units)")
        parts.append(m.group(1))
        parts.extend(int(i) for i in re.findall(r"\[(-?\d+)\]", m.group(2)))
    try:
        value = _tomllib().loads(f"v = {raw}")["v"]
    except RunFileError:  # no TOML reader (Python < 3.11 without tomli): JSON values
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
    except Exception:
        value = raw
    return parts, value


def _path_text(parts: list) -> str:
    s = ""
    for p in parts:
        s += f"[{p}]" if isinstance(p, int) else (f".{p}" if s else p)
    return s


def _apply_override(raw: dict, parts: list, value: Any) -> None:
    node: Any = raw
    for depth, p in enumerate(parts[:-1]):
        here = _path_text(parts[: depth + 1])
        nxt = parts[depth + 1]
        if isinstance(p, int):
            if not isinstance(node, list):
                raise RunFileError(_path_text(parts[:depth]) or "--set", "is not a list")
            if not -len(node) <= p < len(node):
                raise RunFileError(here, f"no such entry: {_path_text(parts[:depth])} has "
                                   f"{len(node)} entries")
            child = node[p]
        else:
            if not isinstance(node, dict):
                raise RunFileError(_path_text(parts[:depth]), "is not a table")
            child = node.get(p)
            if child is None or child is False or child is True:
                child = [] if isinstance(nxt, int) else {}
        if isinstance(child, str) and not isinstance(nxt, int):
            child = {"name": child}  # "adam" -> {name = "adam"} so its parameters can be set
        if isinstance(child, list):
            child = list(child)
        elif isinstance(child, Mapping):
            child = dict(child)
        node[p] = child
        node = child
    last = parts[-1]
    if isinstance(last, int):
        if not isinstance(node, list):
            raise RunFileError(_path_text(parts[:-1]), "is not a list")
        if not -len(node) <= last < len(node):
            raise RunFileError(_path_text(parts), f"no such entry: {_path_text(parts[:-1])} "
                               f"has {len(node)} entries")
    elif not isinstance(node, dict):
        raise RunFileError(_path_text(parts[:-1]), "is not a table")
    node[last] = value


# ---------------------------------------------------------------------------------------------
# Loading

def _tomllib():
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib
    try:
        import tomli  # type: ignore[import-not-found]
    except ImportError as exc:  # pragma: no cover - only on Python < 3.11 without tomli
        raise RunFileError("", "reading TOML on Python < 3.11 needs the tomli package: "
                           "`pip install tomli` (or write the run file as JSON)") from exc
    return tomli


def _read_file(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RunFileError("", f"run file not found: {str(path)!r}", str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RunFileError("", f"cannot read run file {str(path)!r}: {exc}", str(path)) from None
    if path.suffix.lower() == ".json":
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RunFileError("", f"invalid JSON: {exc}", str(path)) from None
        if not isinstance(raw, dict):
            raise RunFileError("", f"a run file must hold a table at the top, got {_kind(raw)}",
                               str(path))
        return raw
    try:
        return _tomllib().loads(text)
    except RunFileError:
        raise
    except Exception as exc:  # tomllib.TOMLDecodeError (tomli's on older Pythons)
        raise RunFileError("", f"invalid TOML: {exc}", str(path)) from None


def default_run() -> Run:
    """The run `lamina train` uses without a file: a 128-unit ReLU MLP on the digits.

    Example:
        >>> run = default_run()
        >>> run["data"]["source"], run["model"]["layers"][0]["units"]
        ('digits', 128)
    """
    return load_run({})


def load_run(run: str | os.PathLike | Mapping | None = None,
             overrides: Iterable[str] | None = None) -> Run:
    """Reads, checks and resolves a run.

    Args:
        run: a path to a ``.toml`` or ``.json`` run file, or a dict with the same content.
            None means the default run. Defaults to `None`.
        overrides: ``key.path=value`` strings (as ``lamina train --set``) applied on top,
            before defaults are resolved; ``model.layers[i]`` counts the layers as written
            (a ``dropout = ...`` shorthand is part of its dense layer). Defaults to `None`.

    Returns:
        A `Run`: every default filled in, every shorthand expanded, data paths absolute.

    Raises:
        RunFileError: naming the key path and the accepted values.

    Example:
        >>> load_run({"model": {"layers": [{"units": 10, "activation": "softmax"}]}})[
        ...     "model"]["layers"][0]["kernel_initializer"]
        'glorot_uniform'
    """
    source: str | None = None
    base_dir: Path | None = None
    name = "default"
    if run is None:
        raw: dict = {}
    elif isinstance(run, Mapping):
        raw = copy.deepcopy(dict(run))
    else:
        path = Path(run)
        source = str(path)
        base_dir = path.resolve().parent
        name = path.stem
        raw = _read_file(path)
    try:
        raw = _merge_defaults(raw)
        for text in overrides or ():
            parts, value = parse_override(text)
            _apply_override(raw, parts, value)
        return _resolve(raw, base_dir, name, source)
    except RunFileError as exc:
        raise exc.with_source(source) from None


def _merge_defaults(raw: dict) -> dict:
    _table("", raw, _TOP_KEYS)
    out = copy.deepcopy(raw)
    for section, defaults in _RAW_DEFAULTS.items():
        given = out.get(section, {})
        if isinstance(given, Mapping):
            out[section] = {**copy.deepcopy(defaults), **given}
    return out


def _resolve(raw: dict, base_dir: Path | None, name: str, source: str | None) -> Run:
    _table("", raw, _TOP_KEYS)
    pre = _check_preprocessing(raw.get("preprocessing", {}))
    run = Run(
        name=_str("name", raw.get("name", name)),
        description=_str("description", raw.get("description", "")),
        data=_check_data(raw.get("data", {}), base_dir),
        preprocessing=pre,
        model=_check_model(raw.get("model", {})),
        training=_check_training(raw.get("training", {}), pre["seed"]),
        diagnosis=_check_diagnosis(raw.get("diagnosis", {})),
        outputs=_check_outputs(raw.get("outputs", {})),
    )
    run.source = source
    return run


class Run(dict):
    """A resolved run: a plain nested dict (JSON-able) with a few helpers.

    `source` is the file it was read from (None for dicts).

    Example:
        >>> run = load_run({"training": {"epochs": 3}})
        >>> isinstance(run, Run), run.source, run["training"]["epochs"]
        (True, None, 3)
    """

    source: str | None = None

    def to_toml(self) -> str:
        """The run as TOML text; `load_run` of that text gives this run back."""
        return to_toml(dict(self))

    def save(self, path: str | os.PathLike) -> None:
        """Writes the run as TOML (``.toml``) or JSON (``.json``)."""
        path = Path(path)
        text = (json.dumps(dict(self), indent=2) + "\n" if path.suffix.lower() == ".json"
                else self.to_toml())
        path.write_text(text, encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# A tiny TOML writer (enough for run files: tables, arrays of tables, inline tables, scalars).

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _toml_key(k: str) -> str:
    return k if _BARE_KEY.fullmatch(k) else json.dumps(k)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{" + ", ".join(f"{_toml_key(str(k))} = {_toml_value(x)}" for k, x in v.items()
                               if x is not None) + "}"
    raise TypeError(f"cannot write {v!r} ({type(v).__name__}) as TOML")


def _is_table_array(v: Any) -> bool:
    return isinstance(v, (list, tuple)) and bool(v) and all(isinstance(x, Mapping) for x in v)


def to_toml(data: Mapping) -> str:
    """Writes a nested dict as TOML (None values are left out; TOML has no null).

    Args:
        data: str keys; values bool, int, float, str, lists, dicts.

    Returns:
        The TOML text.

    Example:
        >>> print(to_toml({"name": "a", "training": {"epochs": 3, "seed": None}}))
        name = "a"
        <BLANKLINE>
        [training]
        epochs = 3
        <BLANKLINE>
    """
    lines: list[str] = []

    def table(prefix: str, d: Mapping) -> None:
        subs = []
        for k, v in d.items():
            if v is None:
                continue
            if isinstance(v, Mapping) or _is_table_array(v):
                subs.append((k, v))
            else:
                lines.append(f"{_toml_key(str(k))} = {_toml_value(v)}")
        for k, v in subs:
            name = f"{prefix}.{_toml_key(str(k))}" if prefix else _toml_key(str(k))
            if isinstance(v, Mapping):
                if lines:
                    lines.append("")
                lines.append(f"[{name}]")
                table(name, v)
            else:
                for item in v:
                    lines.append("")
                    lines.append(f"[[{name}]]")
                    for ik, iv in item.items():  # nested values inline
                        if iv is not None:
                            lines.append(f"{_toml_key(str(ik))} = {_toml_value(iv)}")

    table("", data)
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Data: read, check, subset, split, standardize. Every problem is a RunFileError on data.*.

class Dataset:
    """The arrays a run trains and tests on.

    Attributes:
        x_train, y_train: the training part (fit's validation_split is taken from its end).
        x_test, y_test: the held-out test part (may be empty when test_split is 0).
        n_classes: number of classes (labels are 0..n_classes-1) for classification losses,
            else None.
        mean, scale: the standardization fitted on x_train (None when not standardizing).
        feature_names: column names for CSV data, else None.

    Example:
        >>> ds = load_data(default_run())
        >>> ds.input_dim, ds.n_classes
        (64, 10)
    """

    def __init__(self, x_train, y_train, x_test, y_test, n_classes, mean=None, scale=None,
                 feature_names=None):
        self.x_train, self.y_train = x_train, y_train
        self.x_test, self.y_test = x_test, y_test
        self.n_classes = n_classes
        self.mean, self.scale = mean, scale
        self.feature_names = feature_names

    @property
    def input_dim(self) -> int:
        return int(self.x_train.shape[1])


def read_arrays(source: str, label: str | None = "y", features: str = "x",
                key: str = "data.source", require_label: bool = True):
    """Reads features and labels from ``"digits"``, a ``.npz`` or a ``.csv`` file.

    Args:
        source: ``"digits"`` or a path.
        label: the label column (CSV) or array key (NPZ); None for unlabeled data.
            Defaults to `"y"`.
        features: the NPZ features key. Defaults to `"x"`.
        key: the name errors use for the source. Defaults to `"data.source"`.
        require_label: a missing label column is an error (else y is None). Defaults to `True`.

    Returns:
        (x float64 (n, d), y float64 (n,) or None, feature names or None).

    Example:
        >>> x, y, names = read_arrays("digits")
        >>> x.shape, y.shape, names
        ((1797, 64), (1797,), None)
    """
    import numpy as np

    from ._validation import first_nonfinite

    if source == "digits":
        x, y = _load_digits()
        return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64), None
    p = Path(source)
    if not p.is_file():
        raise RunFileError(key, f"file not found: {source!r}")
    suffix = p.suffix.lower()
    lkey = "data.label" if key == "data.source" else "--label"
    if suffix == ".npz":
        try:
            with np.load(p, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except Exception as exc:
            raise RunFileError(key, f"cannot read {source!r} as .npz: {exc}") from None
        fkey = "data.features" if key == "data.source" else "--features"
        if features not in arrays:
            raise _one_of(fkey, features, arrays, "array")
        x = arrays[features]
        if x.ndim == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[0] == 0:
            raise RunFileError(fkey, f"expected a non-empty 2-D array, got shape {x.shape}")
        if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
            raise RunFileError(fkey, f"expected numbers, got dtype {x.dtype}")
        y = None
        if label is not None and label in arrays:
            y = arrays[label]
            if y.ndim == 2 and y.shape[1] == 1:
                y = y[:, 0]
            if y.ndim != 1 or y.shape[0] != x.shape[0]:
                raise RunFileError(lkey, f"expected {x.shape[0]} labels (one per row of "
                                   f"{features!r}), got shape {y.shape}")
            if not np.issubdtype(y.dtype, np.number):
                raise RunFileError(lkey, f"expected numeric labels, got dtype {y.dtype}")
        elif require_label:
            raise _one_of(lkey, label, arrays, "array")
        x = x.astype(np.float64)
        bad = first_nonfinite(x)
        if bad is not None:
            raise RunFileError(fkey, f"contains NaN or infinite values ({x[bad]} at row "
                                     f"{bad[0]}, column {bad[1]})")
        return x, (None if y is None else y.astype(np.float64)), None
    if suffix == ".csv":
        return _read_csv(p, label, key, lkey, require_label)
    raise RunFileError(key, f"{source!r} is not 'digits' or a path ending in .npz or .csv")


def _read_csv(p: Path, label: str | None, key: str, lkey: str, require_label: bool):
    import numpy as np

    try:
        with open(p, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise RunFileError(key, f"cannot read {str(p)!r} as CSV: {exc}") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise RunFileError(key, f"{str(p)!r} needs a header row and at least one data row")
    header = [h.strip() for h in rows[0]]
    if label is not None and label in header:
        li = header.index(label)
    elif require_label:
        raise _one_of(lkey, label, header, "column")
    else:
        li = None
    data = np.empty((len(rows) - 1, len(header)), dtype=np.float64)
    for r, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise RunFileError(key, f"{p.name} line {r}: {len(row)} fields, the header has "
                               f"{len(header)}")
        for c, cell in enumerate(row):
            try:
                v = float(cell)
            except ValueError:
                raise RunFileError(key, f"{p.name}: column {header[c]!r} is not numeric "
                                   f"(line {r}: {cell!r})") from None
            if not math.isfinite(v):
                raise RunFileError(key, f"{p.name}: column {header[c]!r} has a non-finite "
                                   f"value (line {r}: {cell!r})")
            data[r - 2, c] = v
    feat_cols = [c for c in range(len(header)) if c != li]
    if not feat_cols:
        raise RunFileError(key, f"{p.name} has no feature columns besides {label!r}")
    x = data[:, feat_cols]
    y = data[:, li] if li is not None else None
    return x, y, [header[c] for c in feat_cols]


def _load_digits():
    """The bundled 8x8 digits in their original order: x (1797, 64) in 0..16, y (1797,)."""
    from .datasets import load_digits

    return load_digits(return_X_y=True)


_CLASSIFICATION = ("sparse_categorical_crossentropy", "categorical_crossentropy",
                   "binary_crossentropy")


def load_data(run: Mapping) -> Dataset:
    """Reads a run's data and applies its preprocessing (subset, split, standardize).

    Args:
        run: a resolved run (`load_run`).

    Returns:
        A `Dataset` with float arrays in the model's dtype and labels shaped for the loss
        (int64 class indices for sparse_categorical_crossentropy, one-hot for
        categorical_crossentropy, (n, 1) floats for the others).

    Example:
        >>> ds = load_data(default_run())
        >>> ds.x_train.shape[1], ds.y_train.dtype
        (64, dtype('int64'))
    """
    import numpy as np

    d, pre, tr = run["data"], run["preprocessing"], run["training"]
    x, y, names = read_arrays(d["source"], d["label"], d.get("features", "x"))
    rng = np.random.default_rng(pre["seed"])
    n = x.shape[0]
    if d["max_samples"] and d["max_samples"] < n:
        keep = np.sort(rng.choice(n, size=d["max_samples"], replace=False))
        x, y, n = x[keep], y[keep], d["max_samples"]
    loss = tr["loss"]
    last = [ly for ly in run["model"]["layers"] if ly["type"] == "dense"][-1]
    units = last["units"]
    n_classes = None
    if loss in _CLASSIFICATION or units > 1:
        if not np.all(y == np.round(y)) or y.min() < 0:
            bad = y[(y != np.round(y)) | (y < 0)][0]
            raise RunFileError("data.label", f"classification labels must be integers 0, 1, "
                               f"..., got {bad:g} (loss {loss})")
        n_classes = int(y.max()) + 1
        want = 1 if loss == "binary_crossentropy" else n_classes
        if loss == "binary_crossentropy" and n_classes > 2:
            raise RunFileError("training.loss", f"binary_crossentropy needs labels 0/1, the "
                               f"data has {n_classes} classes: use "
                               f"sparse_categorical_crossentropy")
        if units != want:
            raise RunFileError("model.layers[-1].units", f"the output layer has {units} units "
                               f"but the data has {n_classes} classes (needs {want})")
    n_test = int(round(pre["test_split"] * n))
    n_train = n - n_test
    if n_train < 2:
        raise RunFileError("preprocessing.test_split", f"leaves {n_train} training samples "
                           f"of {n}")
    n_fit = fit_size(n_train, tr["validation_split"])
    if n_fit < 1 or (tr["validation_split"] > 0 and n_fit >= n_train):
        raise RunFileError("training.validation_split", f"leaves {n_fit} of {n_train} training "
                           f"samples for fitting and {n_train - n_fit} for validation")
    perm = rng.permutation(n)
    tr_idx, te_idx = perm[:n_train], perm[n_train:]
    x_train, x_test = x[tr_idx], x[te_idx]
    mean = scale = None
    if pre["standardize"]:
        mean = x_train.mean(axis=0)
        scale = x_train.std(axis=0)
        scale[scale == 0] = 1.0
        x_train = (x_train - mean) / scale
        x_test = (x_test - mean) / scale
    dtype = np.dtype(run["model"]["dtype"])
    ys = [encode_labels(y[idx], loss, n_classes, dtype) for idx in (tr_idx, te_idx)]
    return Dataset(np.ascontiguousarray(x_train, dtype), ys[0],
                   np.ascontiguousarray(x_test, dtype), ys[1], n_classes, mean, scale, names)


def fit_size(n_train: int, validation_split: float) -> int:
    """Samples fit trains on; the rest (the last ones) validate, as Keras's validation_split.

    Args:
        n_train: Samples in the training part.
        validation_split: The fraction held out for validation.

    Example:
        >>> fit_size(100, 0.2)
        80
    """
    return int(math.floor(n_train * (1.0 - validation_split)))


def encode_labels(y, loss: str, n_classes: int | None, dtype):
    """Labels as the loss wants them: int64 indices, one-hot rows, or an (n, 1) column.

    Args:
        y: Labels, shape ``(n,)``.
        loss: The loss name.
        n_classes: Number of classes, or None for regression.
        dtype: The float dtype of one-hot rows and columns.

    Example:
        >>> import numpy as np
        >>> encode_labels(np.array([0.0, 2.0]), "categorical_crossentropy", 3, "float32")
        array([[1., 0., 0.],
               [0., 0., 1.]], dtype=float32)
    """
    import numpy as np

    if loss == "sparse_categorical_crossentropy":
        return y.astype(np.int64)
    if loss == "categorical_crossentropy" or (n_classes and n_classes > 1
                                              and loss != "binary_crossentropy"):
        out = np.zeros((y.shape[0], n_classes), dtype=dtype)
        out[np.arange(y.shape[0]), y.astype(np.int64)] = 1
        return out
    return np.ascontiguousarray(y.reshape(-1, 1), dtype=dtype)


# ---------------------------------------------------------------------------------------------
# The model section <-> Sequential.get_config() / from_config (one schema).

_INIT_CLASSES = {
    "glorot_uniform": "GlorotUniform", "glorot_normal": "GlorotNormal",
    "he_uniform": "HeUniform", "he_normal": "HeNormal",
    "lecun_uniform": "LecunUniform", "lecun_normal": "LecunNormal",
    "random_normal": "RandomNormal", "random_uniform": "RandomUniform",
    "truncated_normal": "TruncatedNormal", "zeros": "Zeros", "ones": "Ones",
    "constant": "Constant", "orthogonal": "Orthogonal",
}
_INIT_NAMES = {v: k for k, v in _INIT_CLASSES.items()}


def _init_to_config(spec: Any) -> Any:
    if isinstance(spec, str):
        return spec
    params = {k: v for k, v in spec.items() if k != "name"}
    full = {k: v for k, v in INITIALIZERS[spec["name"]].items()}
    full.update(params)
    return {"class_name": _INIT_CLASSES[spec["name"]], "config": full}


def _init_from_config(path: str, cfg: Any) -> Any:
    if isinstance(cfg, str):
        return _check_initializer(path, cfg)
    if isinstance(cfg, Mapping) and "class_name" in cfg:
        name = _INIT_NAMES.get(cfg["class_name"])
        if name is None:
            raise _one_of(path, cfg["class_name"], _INIT_NAMES, "initializer")
        return _check_initializer(path, {"name": name, **(cfg.get("config") or {})})
    raise _bad(path, "an initializer name or {class_name, config}", cfg)


def _reg_to_config(reg: Mapping | None) -> Any:
    if not reg:
        return None
    if len(reg) == 2:
        return {"class_name": "L1L2", "config": {"l1": reg["l1"], "l2": reg["l2"]}}
    (k, v), = reg.items()
    return {"class_name": k.upper(), "config": {k: v}}


def _reg_from_config(path: str, cfg: Any) -> dict | None:
    if cfg is None:
        return None
    if isinstance(cfg, Mapping) and "class_name" in cfg:
        return _check_regularizer(path, dict(cfg.get("config") or {}))
    return _check_regularizer(path, cfg)


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
        >>> model_config(default_run(), 64)["layers"][0]
        {'class_name': 'InputLayer', 'config': {'shape': [64]}}
    """
    m = run["model"]
    layers: list[dict] = [{"class_name": "InputLayer", "config": {"shape": [int(input_dim)]}}]
    for ly in m["layers"]:
        if ly["type"] == "dense":
            cfg = {"units": ly["units"], "activation": ly["activation"],
                   "use_bias": ly["use_bias"],
                   "kernel_initializer": _init_to_config(ly["kernel_initializer"]),
                   "bias_initializer": _init_to_config(ly["bias_initializer"]),
                   "kernel_regularizer": _reg_to_config(ly.get("kernel_regularizer")),
                   "bias_regularizer": _reg_to_config(ly.get("bias_regularizer"))}
            layers.append({"class_name": "Dense", "config": cfg})
        elif ly["type"] == "dropout":
            layers.append({"class_name": "Dropout",
                           "config": {"rate": ly["rate"], "seed": ly.get("seed")}})
        else:
            layers.append({"class_name": "Activation",
                           "config": {"activation": ly["activation"]}})
    return {"name": _model_name(run.get("name", "run")), "dtype": m["dtype"],
            "seed": run["training"]["seed"], "layers": layers}


def _model_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name) or "run"


def model_section(config: Mapping) -> dict:
    """The inverse of `model_config`: a ``Sequential.get_config()`` as a run's model section.

    Args:
        config: ``Sequential.get_config()`` output.

    Returns:
        ``{"dtype", "layers"}``, validated like a run file's model section.

    Example:
        >>> section = model_section(build_model(default_run(), 64).get_config())
        >>> section["layers"][-1]["units"], section["layers"][-1]["activation"]
        (10, 'softmax')
    """
    layers: list[dict] = []
    dtype = config.get("dtype")
    for item in config.get("layers", []):
        cls, cfg = item.get("class_name"), dict(item.get("config") or {})
        path = f"model.layers[{len(layers)}]"
        if cls == "InputLayer":
            continue
        if cls == "Dense":
            ly = {"type": "dense", "units": cfg["units"],
                  "activation": cfg.get("activation") or "linear",
                  "use_bias": cfg.get("use_bias", True),
                  "kernel_initializer": _init_from_config(f"{path}.kernel_initializer",
                                                          cfg.get("kernel_initializer",
                                                                  "glorot_uniform")),
                  "bias_initializer": _init_from_config(f"{path}.bias_initializer",
                                                        cfg.get("bias_initializer", "zeros"))}
            for k in ("kernel_regularizer", "bias_regularizer"):
                reg = _reg_from_config(f"{path}.{k}", cfg.get(k))
                if reg:
                    ly[k] = reg
        elif cls == "Dropout":
            ly = {"type": "dropout", "rate": cfg["rate"]}
            if cfg.get("seed") is not None:
                ly["seed"] = cfg["seed"]
        elif cls == "Activation":
            ly = {"type": "activation", "activation": cfg.get("activation") or "linear"}
        else:
            raise _one_of(f"{path}.type", cls, ("Dense", "Dropout", "Activation"),
                          "layer class")
        layers.append(ly)
    return _check_model({"dtype": dtype or "float32", "layers": layers})


def build_model(run: Mapping, input_dim: int):
    """Builds the (uncompiled) `Sequential` a run describes.

    Args:
        run: a resolved run.
        input_dim: features per sample.

    Returns:
        A `lamina.Sequential`, built for ``input_dim`` features.

    Example:
        >>> build_model(default_run(), 64).input_shape
        (None, 64)
    """
    from . import Sequential

    return Sequential.from_config(model_config(run, input_dim))


def run_from_model(model, **sections: Any) -> Run:
    """A resolved run whose model section is `model`'s architecture (its ``get_config()``).

    Args:
        model: a `lamina.Sequential`.
        **sections: other run sections or top-level keys (``training={...}``, ``name=...``)
            as in a run file. The model's seed becomes ``training.seed`` unless given.

    Returns:
        A `Run`; ``run.to_toml()`` writes the model as a run file.

    Example:
        >>> import lamina
        >>> m = lamina.Sequential([lamina.Input((64,)), lamina.layers.Dense(10, "softmax")],
        ...                       seed=3)
        >>> run_from_model(m)["model"]["layers"][0]["activation"]
        'softmax'
    """
    config = model.get_config()
    raw = copy.deepcopy(sections)
    raw["model"] = model_section(config)
    training = dict(raw.get("training") or {})
    if config.get("seed") is not None:
        training.setdefault("seed", int(config["seed"]))
    raw["training"] = training
    return load_run(raw)
