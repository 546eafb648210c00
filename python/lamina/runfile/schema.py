"""The run-file sections besides ``[model]``: defaults and checks.

Names, parameters and defaults of the optimizers, schedules, early stopping, losses and
metrics come from their registries and classes (see `lamina.runfile.registry`); an
optimizer, a schedule or an EarlyStopping is checked by building it, so its ranges are the
class's own. What is the run file's alone lives here: the defaults of a run
(`RAW_DEFAULTS`, `EARLY_STOPPING_DEFAULTS`), the data, preprocessing, training-loop and
output keys, and the rules that tie keys together (one gradient clip, a learning rate > 0,
metrics that fit the loss, early stopping on val_* needs validation data).

Example:
    >>> check_training({"optimizer": "sgd"}, default_seed=0)["optimizer"]
    {'name': 'sgd', 'learning_rate': 0.01, 'momentum': 0.0, 'nesterov': False}
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Mapping

from . import registry
from .errors import (RunFileError, bad, check_bool, check_float, check_int, check_str,
                     check_table, from_exception, named, one_of)
from .model import check_positive

__all__ = ["DEFAULT_LAYERS", "RAW_DEFAULTS", "TOP_KEYS", "EARLY_STOPPING_DEFAULTS",
           "check_data", "check_preprocessing", "check_optimizer", "check_schedule",
           "check_early_stopping", "check_training", "diagnosis_defaults", "check_diagnosis",
           "check_outputs"]

DEFAULT_LAYERS = [
    {"type": "dense", "units": 128, "activation": "relu"},
    {"type": "dense", "units": 10, "activation": "softmax"},
]

# The raw defaults a run file is merged onto (section by section; any value given in the file
# replaces the default value of that key as a whole).
RAW_DEFAULTS: dict[str, Any] = {
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
        "terminate_on_nan": True,
    },
    "outputs": {"dir": "", "model": True, "history": True, "plot": True},
}
TOP_KEYS = ("name", "description", "data", "preprocessing", "model", "training", "diagnosis",
            "outputs")
# `early_stopping = true` in a run file: Keras's EarlyStopping with these two changed.
EARLY_STOPPING_DEFAULTS = {"patience": 5, "restore_best_weights": True}
_CLIPS = ("clipnorm", "clipvalue", "global_clipnorm")


def check_data(d: Any, base_dir: Path | None) -> dict:
    """``[data]``: the source (made absolute against `base_dir`), label, features, subset."""
    d = check_table("data", d, ("source", "label", "features", "max_samples"))
    src = check_str("data.source", d.get("source", "digits"))
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
    out["label"] = check_str("data.label", d.get("label", label_default))
    if "features" in d and fmt == "csv":
        raise RunFileError("data.features", "only applies to .npz data (a CSV's features are "
                           "every column except data.label)")
    if fmt == "npz":
        out["features"] = check_str("data.features", d.get("features", "x"))
    out["max_samples"] = check_int("data.max_samples", d.get("max_samples", 0), lo=0)
    return out


def check_preprocessing(d: Any) -> dict:
    """``[preprocessing]``: standardize, test_split, seed."""
    d = check_table("preprocessing", d, ("standardize", "test_split", "seed"))
    return {
        "standardize": check_bool("preprocessing.standardize", d.get("standardize", True)),
        "test_split": check_float("preprocessing.test_split", d.get("test_split", 0.2), 0.0,
                                  1.0, hi_open=True),
        "seed": check_int("preprocessing.seed", d.get("seed", 0), lo=0, hi=2**63 - 1),
    }


def check_optimizer(t: Mapping) -> dict:
    """``training.optimizer`` (and the ``training.learning_rate`` shorthand) -> a table with
    the optimizer's name and every hyperparameter that is not None (its class's defaults)."""
    path = "training.optimizer"
    raw = t.get("optimizer", "adam")
    name, params = named(path, raw)
    name = name.lower()
    types = registry.optimizer_types()
    if name not in types:
        raise one_of(f"{path}.name" if isinstance(raw, Mapping) else path, name, types)
    cls = types[name]
    sig = registry.parameters(cls)
    check_table(path, {"name": name, **params}, ("name", *sig))
    if "learning_rate" in t:
        if "learning_rate" in params:
            raise RunFileError("training.learning_rate", "also given as "
                               "training.optimizer.learning_rate: keep one")
        params["learning_rate"] = check_positive("training.learning_rate", "learning_rate",
                                                 t["learning_rate"])
    for k, v in params.items():
        if isinstance(sig.get(k), bool):
            params[k] = check_bool(f"{path}.{k}", v)
        else:
            params[k] = check_positive(f"{path}.{k}", k, v)
    clips = [k for k in _CLIPS if params.get(k) is not None]
    if len(clips) > 1:
        raise RunFileError(f"{path}.{clips[1]}", f"only one of {', '.join(_CLIPS)} may be set "
                           f"(also got {clips[0]})")
    try:
        config = cls(**params).get_config()
    except (ValueError, TypeError) as exc:
        raise from_exception(path, exc, list(params)) from None
    return {"name": name, **{k: config[k] for k in sig if config.get(k) is not None}}


def check_schedule(v: Any, learning_rate: float) -> dict | None:
    """``training.schedule`` -> ``{name, **parameters}`` (every parameter written out)."""
    path = "training.schedule"
    if v is None or v is False:
        return None
    name, params = named(path, v)
    types = registry.schedule_types()
    if name not in types:
        raise one_of(f"{path}.name", name, types)
    cls = types[name]
    sig = registry.parameters(cls, skip=("name", "initial_learning_rate"))
    check_table(path, {"name": name, **params}, ("name", *sig))
    needed = [k for k, default in sig.items() if default is registry.REQUIRED]
    for k in needed:
        if k not in params:
            raise RunFileError(f"{path}.{k}", f"missing: the {name} schedule needs "
                               f"{', '.join(needed)}")
    for k, val in params.items():
        if isinstance(sig[k], bool):
            params[k] = check_bool(f"{path}.{k}", val)
    first = ({"initial_learning_rate": learning_rate}
             if "initial_learning_rate" in registry.parameters(cls) else {})
    try:
        cls(**first, **params)
    except (ValueError, TypeError) as exc:
        raise from_exception(path, exc, list(params)) from None
    out: dict[str, Any] = {"name": name}
    for k, default in sig.items():
        val = params.get(k, default)
        if val is not None:
            out[k] = val
    return out


def check_early_stopping(v: Any) -> dict | bool:
    """``training.early_stopping``: false, true (the defaults) or a table of the arguments of
    ``lamina.callbacks.EarlyStopping`` (its defaults, but `EARLY_STOPPING_DEFAULTS`)."""
    from ..callbacks import EarlyStopping

    path = "training.early_stopping"
    if v is False:
        return False
    if v is True:
        v = {}
    sig = registry.parameters(EarlyStopping, skip=("verbose",))
    d = check_table(path, v, sig)
    out: dict[str, Any] = {}
    for k, default in sig.items():
        val = d.get(k, EARLY_STOPPING_DEFAULTS.get(k, default))
        if val is None:
            continue
        if isinstance(default, bool):
            val = check_bool(f"{path}.{k}", val)
        elif isinstance(default, str):
            val = check_str(f"{path}.{k}", val)
        out[k] = val
    if not out["monitor"]:
        raise RunFileError(f"{path}.monitor", "must name a logged value (val_loss, loss, "
                           "val_accuracy, accuracy, ...)")
    try:
        EarlyStopping(**out)
    except (ValueError, TypeError) as exc:
        raise from_exception(path, exc, list(out)) from None
    return out


def _check_loss(v: Any) -> str:
    loss = check_str("training.loss", v)
    canonical = registry.canonical_loss(loss)
    if canonical is None:
        raise one_of("training.loss", loss, registry.loss_names())
    return canonical


def _check_metrics(raw: Any, loss: str) -> list[str]:
    from ..metrics import SPARSE_METRICS

    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        raise bad("training.metrics", "a list of metric names", raw)
    names = registry.metric_names()
    sparse_loss = loss == "sparse_categorical_crossentropy"
    out: list[str] = []
    for i, m in enumerate(raw):
        path = f"training.metrics[{i}]"
        text = check_str(path, m)
        m = registry.canonical_metric(text)
        if m is None:
            raise one_of(path, text, names)
        if (m in SPARSE_METRICS) != sparse_loss and m != "accuracy":
            fits = [x for x in names if x == "accuracy" or (x in SPARSE_METRICS) == sparse_loss]
            needs = "integer labels" if m in SPARSE_METRICS else "one-hot targets"
            takes = "integer labels" if sparse_loss else "dense targets"
            raise RunFileError(path, f"{m!r} needs {needs} but training.loss {loss!r} takes "
                               f"{takes}; with this loss use one of {', '.join(fits)}")
        if m not in out:
            out.append(m)
    return out


# training.precision -> the dtype policy the model's layers are built under.
PRECISIONS = {"float32": None, "bf16": "mixed_bfloat16"}


def check_training(d: Any, default_seed: int) -> dict:
    """``[training]``: optimizer, schedule, loss, metrics, epochs, batches, early stopping,
    terminate_on_nan, precision."""
    d = check_table("training", d, ("optimizer", "learning_rate", "schedule", "loss",
                                    "metrics", "epochs", "batch_size", "validation_split",
                                    "shuffle", "early_stopping", "terminate_on_nan", "seed",
                                    "precision"))
    precision = check_str("training.precision", d.get("precision", "float32"))
    if precision not in PRECISIONS:
        raise one_of("training.precision", precision, PRECISIONS)
    loss = _check_loss(d.get("loss", "sparse_categorical_crossentropy"))
    metrics = _check_metrics(d.get("metrics", ["accuracy"]), loss)
    bs = d.get("batch_size", 32)
    if isinstance(bs, str):
        if bs != "full":
            raise RunFileError("training.batch_size", f"expected an integer >= 1 or \"full\", "
                               f"got {bs!r}")
    else:
        bs = check_int("training.batch_size", bs, lo=1)
    opt = check_optimizer(d)
    out = {
        "optimizer": opt,
        "loss": loss,
        "metrics": metrics,
        "epochs": check_int("training.epochs", d.get("epochs", 30), lo=1),
        "batch_size": bs,
        "validation_split": check_float("training.validation_split",
                                        d.get("validation_split", 0.2), 0.0, 1.0, hi_open=True),
        "shuffle": check_bool("training.shuffle", d.get("shuffle", True)),
        "early_stopping": check_early_stopping(d.get("early_stopping", False)),
        "terminate_on_nan": check_bool("training.terminate_on_nan",
                                       d.get("terminate_on_nan", True)),
        "seed": check_int("training.seed", d.get("seed", default_seed), lo=0, hi=2**63 - 1),
        "precision": precision,
    }
    sched = check_schedule(d.get("schedule"), opt["learning_rate"])
    if sched is not None:
        out["schedule"] = sched
    es = out["early_stopping"]
    if es and es["monitor"].startswith("val_") and out["validation_split"] == 0:
        raise RunFileError("training.early_stopping.monitor", f"{es['monitor']!r} needs "
                           "validation data: set training.validation_split > 0 or monitor "
                           "'loss'")
    return out


def diagnosis_defaults() -> dict:
    """Every threshold of the diagnosis rules with its default (``lamina.diagnose.RULES``).

    Example:
        >>> diagnosis_defaults()["patience"]
        3
    """
    from ..diagnose import RULES

    out = {}
    for rule in RULES.values():
        for name, p in inspect.signature(rule).parameters.items():
            if name != "curves" and p.default is not None:
                out[name] = p.default
    return out


def check_diagnosis(d: Any) -> dict:
    """``[diagnosis]``: the rules' thresholds, and the optional ``baseline`` loss."""
    defaults = diagnosis_defaults()
    d = check_table("diagnosis", d, [*defaults, "baseline"])
    out = {}
    for k, default in defaults.items():
        v = d.get(k, default)
        if isinstance(default, int):
            out[k] = check_int(f"diagnosis.{k}", v, lo=1)
        else:
            out[k] = check_float(f"diagnosis.{k}", v, 0.0)
    if "baseline" in d:
        out["baseline"] = check_float("diagnosis.baseline", d["baseline"], 0.0, lo_open=True)
    return out


def check_outputs(d: Any) -> dict:
    """``[outputs]``: dir, and which files to write (model, history, plot)."""
    d = check_table("outputs", d, ("dir", "model", "history", "plot"))
    return {
        "dir": check_str("outputs.dir", d.get("dir", "")),
        "model": check_bool("outputs.model", d.get("model", True)),
        "history": check_bool("outputs.history", d.get("history", True)),
        "plot": check_bool("outputs.plot", d.get("plot", True)),
    }
