"""What diagnose knows of a run beyond its curves (``RunInfo``) and the losses of a model that
learned nothing (``reference``); the findings it returns (``Finding``)."""

from __future__ import annotations

import inspect
import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Mapping


# A learning rate this many times its optimizer's default (or more) counts as high when a
# bad curve needs a cause; this many times lower (or more) counts as low.
HIGH_LR_FACTOR = 30.0
LOW_LR_FACTOR = 30.0
# Kernel initialization: var(W) * fan_in above this is "large" (He normal gives 2).
LARGE_INIT_GAIN = 10.0
# Hidden layers whose activations saturate (derivative at most 0.25 / 1 and -> 0 when large).
SATURATING = ("sigmoid", "tanh", "hard_sigmoid", "softsign")
# Batches of at most this many samples are called small (their gradients are noisy).
SMALL_BATCH = 8


@dataclass(frozen=True)
class Finding:
    """What a rule saw in the curves.

    Attributes:
        name: the rule, e.g. ``"overfitting"``.
        evidence: the numbers that triggered it, in one sentence.
        suggestions: what to change, most useful first.
        epoch: the (1-based) epoch where the problem shows, if there is one.

    Example:
        >>> print(Finding("divergence", "loss became nan at epoch 3", ("clip gradients",), 3))
        divergence: loss became nan at epoch 3
          try: clip gradients
    """

    name: str
    evidence: str
    suggestions: tuple[str, ...] = field(default=())
    epoch: int | None = None

    def __str__(self) -> str:
        text = f"{self.name}: {self.evidence}"
        if self.suggestions:
            text += "\n  try: " + "; ".join(self.suggestions)
        return text


@dataclass(frozen=True)
class RunInfo:
    """What the diagnosis knows about a run besides its curves (None: not known).

    `run_info` fills it from a `History` (its model and ``fit_info``); any field can be given
    by hand, e.g. ``RunInfo(untrained_loss=2.303, learning_rate=0.1)``.

    Attributes:
        loss: the loss name (``"sparse_categorical_crossentropy"``, ...).
        untrained_loss: the loss of a model that learned nothing (best constant prediction).
        chance_accuracy: the accuracy of that model (the majority class's share).
        n_classes: classes of a classification loss.
        optimizer: the optimizer's name (``"sgd"``, ``"adam"``, ...).
        learning_rate: the (initial) learning rate used.
        default_learning_rate: the optimizer's default learning rate.
        batch_size: samples per step.
        samples: training samples per epoch.
        epochs: the epochs asked for.
        hidden_activations: activation of each hidden Dense layer.
        hidden_units: units of each hidden Dense layer.
        init_gain: per Dense kernel, var(W) * fan_in of its initializer (0: constant).
        init_names: per Dense kernel, the initializer's name.
        dropout: rates of the dropout in the model (empty: none).
        l1: largest L1 factor of a trainable parameter (0: none).
        l2: largest L2 factor of a trainable parameter (0: none).
        early_stopping: an EarlyStopping callback was used.
        stopped_epoch: the 1-based epoch after which a callback ended training.
        restored_epoch: the 1-based epoch whose weights early stopping restored.
        nan_epoch: the 1-based epoch in which TerminateOnNaN stopped training.
        grad_rms: per Dense kernel, first to last, the RMS of its gradient before the first
            step (`fit` measures it for networks with saturating hidden layers).

    Example:
        >>> RunInfo(learning_rate=0.1).optimizer is None
        True
    """

    loss: str | None = None
    untrained_loss: float | None = None
    chance_accuracy: float | None = None
    n_classes: int | None = None
    optimizer: str | None = None
    learning_rate: float | None = None
    default_learning_rate: float | None = None
    batch_size: int | None = None
    samples: int | None = None
    epochs: int | None = None
    hidden_activations: tuple[str, ...] | None = None
    hidden_units: tuple[int, ...] | None = None
    init_gain: tuple[float, ...] | None = None
    init_names: tuple[str, ...] | None = None
    dropout: tuple[float, ...] | None = None
    l1: float | None = None
    l2: float | None = None
    early_stopping: bool | None = None
    stopped_epoch: int | None = None
    restored_epoch: int | None = None
    nan_epoch: int | None = None
    grad_rms: tuple[float, ...] | None = None

    # -- what the fields say ------------------------------------------------------------
    def lr_ratio(self) -> float | None:
        """learning_rate / default_learning_rate, or None when either is unknown."""
        if not self.learning_rate or not self.default_learning_rate:
            return None
        return self.learning_rate / self.default_learning_rate

    def lr_high(self) -> bool:
        """The learning rate is HIGH_LR_FACTOR times the optimizer's default or more."""
        r = self.lr_ratio()
        return r is not None and r >= HIGH_LR_FACTOR

    def lr_low(self) -> bool:
        """The learning rate is LOW_LR_FACTOR times below the optimizer's default or more."""
        r = self.lr_ratio()
        return r is not None and r <= 1.0 / LOW_LR_FACTOR

    def constant_init(self) -> bool:
        """Some Dense kernel starts constant (zeros, ones): its units never differ."""
        return bool(self.init_gain) and any(g == 0.0 for g in self.init_gain)

    def large_init(self) -> bool:
        """Some Dense kernel starts with var(W) * fan_in above LARGE_INIT_GAIN."""
        return bool(self.init_gain) and any(g > LARGE_INIT_GAIN for g in self.init_gain)

    def saturating_layers(self) -> int:
        """How many hidden layers use a saturating activation (sigmoid, tanh, ...)."""
        return sum(a in SATURATING for a in self.hidden_activations or ())


def _default_lr(opt) -> float | None:
    try:
        p = inspect.signature(type(opt).__init__).parameters.get("learning_rate")
    except (TypeError, ValueError):
        return None
    return float(p.default) if p is not None and isinstance(p.default, numbers.Real) else None


def _init_gain(layer) -> float | None:
    """var(W) * fan_in of a sample from the layer's kernel initializer (0: a constant)."""
    import numpy as np

    kernel = getattr(layer, "kernel", None)
    init = getattr(layer, "kernel_initializer", None)
    if kernel is None or init is None or kernel.ndim != 2:
        return None
    fan_in, units = kernel.shape
    rows = min(fan_in, 256)  # a sample is enough for the spread; the gain uses fan_in
    try:
        w = np.asarray(init((fan_in, units), "float64", np.random.default_rng(0)))[:rows]
    except (TypeError, ValueError):
        return None
    spread = float(w.std())
    return 0.0 if spread == 0.0 else spread ** 2 * fan_in


def _from_model(model) -> dict:
    out: dict[str, Any] = {}
    loss = getattr(model, "loss", None)
    if getattr(loss, "core_name", None):
        out["loss"] = loss.core_name
    opt = getattr(model, "optimizer", None)
    if opt is not None:
        # the kind, not the name: a name may be the user's or numbered ("adam_1")
        out["optimizer"] = str(getattr(opt, "core_name", "") or type(opt).__name__).lower()
        sched = getattr(opt, "schedule", None)
        try:
            out["learning_rate"] = float(sched(0) if sched is not None else opt.learning_rate)
        except (TypeError, ValueError):
            pass
        out["default_learning_rate"] = _default_lr(opt)
    layers = list(getattr(model, "layers", None) or ())
    dense = [lay for lay in layers if getattr(lay, "kernel", None) is not None]
    if dense:
        out["hidden_activations"] = tuple(str(getattr(lay, "activation", "linear"))
                                          for lay in dense[:-1])
        out["hidden_units"] = tuple(int(lay.units) for lay in dense[:-1]
                                    if hasattr(lay, "units"))
        gains = [_init_gain(lay) for lay in dense]
        if all(g is not None for g in gains):
            out["init_gain"] = tuple(gains)
        names = []
        for lay in dense:
            init = getattr(lay, "kernel_initializer", None)
            names.append(type(init).__name__ if init is not None else "?")
        out["init_names"] = tuple(names)
        l1 = l2 = 0.0
        for lay in dense:
            for reg in (getattr(lay, "kernel_regularizer", None),
                        getattr(lay, "bias_regularizer", None)):
                if reg is not None and getattr(lay, "trainable", True):
                    l1 = max(l1, float(getattr(reg, "l1", 0.0) or 0.0))
                    l2 = max(l2, float(getattr(reg, "l2", 0.0) or 0.0))
        out["l1"], out["l2"] = l1, l2
    if layers:
        out["dropout"] = tuple(float(lay.rate) for lay in layers
                               if type(lay).__name__ == "Dropout" and float(lay.rate) > 0)
    shape = getattr(model, "output_shape", None)
    if out.get("loss", "").endswith("categorical_crossentropy") and shape:
        out["n_classes"] = int(shape[-1])
    return out


def run_info(history: Any = None, model: Any = None, **fields: Any) -> RunInfo:
    """What a `History` (and its model) says about the run, as a `RunInfo`.

    Args:
        history: a `History` from `fit`: its ``model`` and ``fit_info`` (batch size, sample
            count, what early stopping and TerminateOnNaN did, the untrained loss and chance
            accuracy measured on the targets) are read. A plain dict gives nothing.
            Defaults to `None`.
        model: the model, when the history does not carry it. Defaults to `None`.
        **fields: `RunInfo` fields that override what was read.

    Returns:
        A `RunInfo` (all None for a plain dict and no model).

    Example:
        >>> run_info({"loss": [1.0]}, learning_rate=0.5).learning_rate
        0.5
    """
    found: dict[str, Any] = {}
    model = model if model is not None else getattr(history, "model", None)
    if model is not None:
        found.update(_from_model(model))
    fit = getattr(history, "fit_info", None) or {}
    for k in ("batch_size", "samples", "untrained_loss", "chance_accuracy", "n_classes"):
        if fit.get(k) is not None:
            found[k] = fit[k]
    if fit.get("grad_rms"):
        found["grad_rms"] = tuple(float(g) for g in fit["grad_rms"])
    params = getattr(history, "params", None) or {}
    if isinstance(params, Mapping) and params.get("epochs") is not None:
        found["epochs"] = int(params["epochs"])
    n_epochs = len(getattr(history, "epoch", ()) or ())
    if "early_stopping" in fit:  # what fit's callbacks did (lamina.fit_info.stop_info)
        es = fit["early_stopping"]
        found["early_stopping"] = es is not None
        if es and es.get("stopped_epoch"):
            found["stopped_epoch"] = int(es["stopped_epoch"])
            if es.get("restored_epoch"):
                found["restored_epoch"] = int(es["restored_epoch"])
    nan = fit.get("terminate_on_nan")
    if nan and nan.get("stopped_batch") is not None:
        found["nan_epoch"] = max(n_epochs, 1)  # fit logs the epoch it stopped in
    if found.get("untrained_loss") is None and found.get("loss"):
        found.update({k: v for k, v in reference(found["loss"], None,
                                                 found.get("n_classes")).items()
                      if v is not None})
    found.update(fields)
    return RunInfo(**{k: v for k, v in found.items() if k in RunInfo.__dataclass_fields__})


def reference(loss: Any, y: Any = None, n_outputs: int | None = None) -> dict:
    """The loss and accuracy of a model that learned nothing: the best constant prediction.

    Args:
        loss: the loss (a name such as ``"mse"``'s canonical ``"mean_squared_error"``, or a
            `lamina.losses.Loss`).
        y: the training targets as `fit` takes them (integer labels for sparse categorical
            crossentropy, else ``(n, outputs)``). Defaults to `None`: ln C for C classes and
            ln 2 for binary crossentropy (balanced classes), nothing for regression.
        n_outputs: the model's outputs (C for categorical losses). Defaults to `None`.

    Returns:
        ``{"untrained_loss": float or None, "chance_accuracy": float or None,
        "n_classes": int or None}``.

    Example:
        >>> round(reference("sparse_categorical_crossentropy", None, 10)["untrained_loss"], 4)
        2.3026
        >>> reference("mean_squared_error", [[1.0], [3.0]])["untrained_loss"]
        1.0
    """
    import numpy as np

    name = getattr(loss, "core_name", None) or str(loss)
    out: dict[str, Any] = {"untrained_loss": None, "chance_accuracy": None, "n_classes": None}
    sparse = name == "sparse_categorical_crossentropy"
    if name in ("sparse_categorical_crossentropy", "categorical_crossentropy"):
        arr = None if y is None else np.asarray(y)
        c = n_outputs or (arr.shape[1] if arr is not None and not sparse and arr.ndim == 2
                          else (int(arr.max()) + 1 if arr is not None and arr.size else None))
        if not c:
            return out
        out["n_classes"] = int(c)
        if arr is None or arr.size == 0:
            out["untrained_loss"], out["chance_accuracy"] = math.log(c), 1.0 / c
            return out
        if sparse:
            p = np.bincount(arr.astype(np.int64).ravel(), minlength=c)[:c].astype(float)
        else:
            p = np.asarray(arr, float).reshape(arr.shape[0], -1).sum(axis=0)
        p = p / max(p.sum(), 1e-300)
        nz = p[p > 0]
        out["untrained_loss"] = float(-(nz * np.log(nz)).sum())
        out["chance_accuracy"] = float(p.max())
        return out
    if name == "binary_crossentropy":
        if y is None:
            out["untrained_loss"], out["chance_accuracy"] = math.log(2.0), 0.5
            return out
        arr = np.asarray(y, float)
        arr = arr.reshape(arr.shape[0], -1)
        if arr.size == 0:
            return out
        p = np.clip(arr.mean(axis=0), 1e-7, 1 - 1e-7)
        out["untrained_loss"] = float(np.mean(-(p * np.log(p) + (1 - p) * np.log(1 - p))))
        pos = (arr > 0.5).mean(axis=0)
        out["chance_accuracy"] = float(np.mean(np.maximum(pos, 1 - pos)))
        return out
    if y is None:
        return out
    arr = np.asarray(y, float)
    arr = arr.reshape(arr.shape[0], -1)
    if arr.size == 0:
        return out
    if name == "mean_squared_error":
        out["untrained_loss"] = float(arr.var(axis=0).mean())
    elif name == "mean_absolute_error":
        out["untrained_loss"] = float(np.abs(arr - np.median(arr, axis=0)).mean())
    elif name == "huber":
        delta = float(getattr(loss, "delta", 1.0))
        r = np.abs(arr - np.median(arr, axis=0))
        out["untrained_loss"] = float(np.where(r <= delta, 0.5 * r * r,
                                               delta * (r - 0.5 * delta)).mean())
    return out
