"""Building what a run describes: the model, its optimizer and schedule, the callbacks.

Everything is built through lamina's registries (``Sequential.from_config`` and
``lamina.layers.deserialize``, ``optimizers.get``, ``optimizers.schedules.get``), from the
resolved run; `run_from_model` goes the other way, from a model made in Python to a run.

Example:
    >>> from lamina.runfile import load_run
    >>> run = load_run({"training": {"optimizer": "sgd", "schedule": {
    ...     "name": "exponential_decay", "decay_steps": 10, "decay_rate": 0.5}}})
    >>> opt = build_optimizer(run["training"])
    >>> type(opt).__name__, type(opt.schedule).__name__
    ('SGD', 'ExponentialDecay')
"""

from __future__ import annotations

import copy
from typing import Any, Mapping, TextIO

from . import registry
from .errors import RunFileError
from .load import Run, load_run
from .model import model_config, model_section

STANDARDIZE_LAYER = "standardize"  # the Normalization layer of [preprocessing] standardize

__all__ = ["build_model", "build_schedule", "build_optimizer", "build_callbacks",
           "fit_batch_size", "run_from_model"]


def build_model(run: Mapping, input_dim: int, data=None):
    """Builds the (uncompiled) `Sequential` a run describes.

    Args:
        run: a resolved run.
        input_dim: features per sample.
        data: The run's `Dataset`; when it leaves the standardization to the model
            (``in_model``), the model starts with a ``Normalization`` layer named
            ``"standardize"`` holding its mean and variance (``scale ** 2``), so the saved
            model standardizes raw inputs itself. Defaults to `None`.

    Returns:
        A `lamina.Sequential`, built for ``input_dim`` features and seeded by
        ``training.seed`` (initialization, shuffling and dropout).

    Example:
        >>> from lamina.runfile import default_run
        >>> build_model(default_run(), 64).input_shape
        (None, 64)
    """
    from .. import Sequential, dtype_policies
    from .schema import PRECISIONS

    config = model_config(run, input_dim)
    if data is not None and getattr(data, "in_model", False):
        norm = {"class_name": "Normalization",
                "config": {"name": STANDARDIZE_LAYER, "axis": -1,
                           "mean": [float(v) for v in data.mean],
                           "variance": [float(v) ** 2 for v in data.scale]}}
        config["layers"].insert(1, norm)  # after the InputLayer
    policy = PRECISIONS[run["training"].get("precision", "float32")]
    if policy is None:
        return Sequential.from_config(config)
    if run["model"]["dtype"] != "float32":
        raise RunFileError("training.precision", f"{run['training']['precision']!r} needs "
                           f"model.dtype = \"float32\", got {run['model']['dtype']!r}")
    # The layers are made under the policy (as under Keras's set_global_policy); a layer
    # with its own dtype keeps it.
    before = dtype_policies.dtype_policy()
    dtype_policies.set_dtype_policy(policy)
    try:
        return Sequential.from_config(config)
    finally:
        dtype_policies.set_dtype_policy(before)


def build_schedule(schedule: Mapping, learning_rate: float):
    """A run's ``training.schedule`` as a ``LearningRateSchedule`` starting at `learning_rate`.

    Args:
        schedule: The resolved ``{"name": ..., **parameters}``.
        learning_rate: The optimizer's learning rate (the schedule's initial rate).

    Example:
        >>> build_schedule({"name": "cosine_decay", "decay_steps": 4}, 1.0)(4)
        0.0
    """
    from ..optimizers import schedules

    params = {k: v for k, v in schedule.items() if k != "name"}
    cls = registry.schedule_types()[schedule["name"]]
    if "initial_learning_rate" in registry.parameters(cls):
        params["initial_learning_rate"] = learning_rate
    return schedules.get({"class_name": cls.__name__, "config": params})


def build_optimizer(training: Mapping):
    """The optimizer of a run's ``[training]`` section, with its schedule if it has one.

    Args:
        training: The resolved ``run["training"]``.

    Example:
        >>> from lamina.runfile import default_run
        >>> build_optimizer(default_run()["training"]).get_config()["beta_2"]
        0.999
    """
    from .. import optimizers

    config = {k: v for k, v in training["optimizer"].items() if k != "name"}
    if training.get("schedule"):
        config["learning_rate"] = build_schedule(training["schedule"], config["learning_rate"])
    cls = registry.optimizer_types()[training["optimizer"]["name"]]
    return optimizers.get({"class_name": cls.__name__, "config": config})


def fit_batch_size(training: Mapping, n_fit: int) -> int:
    """The batch size fit uses: ``"full"`` is every fitted sample; never more than those.

    Args:
        training: The resolved ``run["training"]``.
        n_fit: Samples fit trains on (`lamina.runfile.fit_size`).

    Example:
        >>> fit_batch_size({"batch_size": "full"}, 80), fit_batch_size({"batch_size": 32}, 10)
        (80, 10)
    """
    bs = training["batch_size"]
    return n_fit if bs == "full" else min(bs, n_fit)


class _LogLearningRate:
    """Adds the optimizer's learning rate to each epoch's logs (as Keras's
    LearningRateScheduler does), for a run whose optimizer follows a schedule."""

    def set_model(self, model):
        self.model = model

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)


def build_callbacks(run: Mapping, progress: bool = False, stream: TextIO | None = None) -> list:
    """The callbacks of a run: the learning rate in the logs when the run has a schedule,
    early stopping if it asks for it, TerminateOnNaN unless
    ``training.terminate_on_nan = false``, and a progress bar.

    Args:
        run: A resolved run.
        progress: Add a ``ProgbarLogger`` (a bar redrawn per batch on a terminal, one line
            per epoch elsewhere). Defaults to `False`.
        stream: Where the progress goes. Defaults to `None` (sys.stdout).

    Example:
        >>> from lamina.runfile import load_run
        >>> run = load_run({"training": {"early_stopping": True}})
        >>> [type(cb).__name__ for cb in build_callbacks(run)]
        ['EarlyStopping', 'TerminateOnNaN']
    """
    import sys

    from .. import callbacks

    out: list[Any] = []
    if run["training"].get("schedule"):
        out.append(_LogLearningRate())  # history.csv shows the schedule, epoch by epoch
    es = run["training"]["early_stopping"]
    if es:
        out.append(callbacks.EarlyStopping(**es))
    if run["training"].get("terminate_on_nan", True):
        # stops at the first non-finite batch loss and puts back the last finite weights,
        # so a diverging run ends at once with a usable model (`lamina train` reports it)
        out.append(callbacks.TerminateOnNaN())
    if progress:
        stream = stream or sys.stdout
        live = bool(getattr(stream, "isatty", lambda: False)())
        out.append(callbacks.ProgbarLogger(verbose=1 if live else 2, stream=stream))
    return out


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
    # A model trained from a run starts with its standardization layer; the run's
    # [preprocessing] standardize (on unless the sections turn it off) makes it again.
    if (raw.get("preprocessing") or {}).get("standardize", True):
        config = dict(config, layers=[
            lc for lc in config["layers"]
            if not (lc.get("class_name") == "Normalization"
                    and lc.get("config", {}).get("name") == STANDARDIZE_LAYER)])
    raw["model"] = model_section(config)
    training = dict(raw.get("training") or {})
    if config.get("seed") is not None:
        training.setdefault("seed", int(config["seed"]))
    raw["training"] = training
    return load_run(raw)
