"""Reading learning curves: what a training history says and what to change.

A diagnosis judges the per-epoch curves of a `History` (``loss``, ``val_loss``, ...) against
what is known before training, and against the run's own hyperparameters:

- the *untrained loss*: the loss of a model that learned nothing, i.e. the best constant
  prediction for the training targets (ln C for C balanced classes, ln 2 for balanced binary
  labels, the targets' variance for MSE, their mean absolute deviation for MAE), and the
  *chance accuracy* (the majority class's share). `fit` measures both on its targets
  (``History.fit_info``); without them, ln C / ln 2 stand in where the loss says C.
- the run itself (`RunInfo`): optimizer and learning rate, batch size, initializers,
  activations, dropout, L1/L2, early stopping. Advice names numbers from it ("lower the
  learning rate 10x: 1 -> 0.1") and never asks for what the run already has.

For a model with L1/L2 penalties the rules read ``data_loss`` / ``val_data_loss`` (the loss
without the penalties, logged by `fit`) instead of Keras's penalty-included ``loss``.

Each rule is a small function ``rule(curves, info=None, **thresholds) -> Finding | None``;
`diagnose` runs them in this order:

- `divergence`: the loss became NaN/inf, blew up, or ended above the untrained loss
  (or, with a learning rate far above the optimizer's default, sat at the untrained loss
  and chance accuracy) -> lower the learning rate (by a number), clip gradients.
- `unstable`: the learning rate is too high without a blow-up: the loss spikes from epoch to
  epoch, or the validation loss ends above the untrained loss while the accuracy is high
  (a few predictions wrong with extreme confidence) -> lower the learning rate.
- `bad_initialization`: constant (e.g. all-zero) kernels leave the loss flat at the untrained
  loss; kernels far larger than fan-in scaling start it far above -> glorot / he init.
- `vanishing_gradients`: a deep sigmoid/tanh network sat at the untrained loss for epochs
  -> relu, he_normal, an adaptive optimizer.
- `learning_rate_too_low`: the loss falls slowly and steadily far above where it could be,
  with a learning rate far below the default -> raise it (by a number).
- `underfitting`: both losses high and flat -> more units or layers (reduce the
  regularization the run has).
- `overfitting`: validation loss rose while training loss fell, or a wide, growing gap ->
  dropout / L2 / early stopping / a smaller network, whichever the run does not have.
- `still_improving`: the monitored loss was still falling at the last epoch -> more epochs.
- `noisy`: the loss went back and forth from epoch to epoch -> larger batches (a batch of
  1-8 samples is named as the cause), or a lower learning rate.

A divergence is reported alone (the other rules would read noise); a specific cause of a
flat curve (initialization, vanishing gradients, a low learning rate) replaces the generic
underfitting finding; an unstable run is not also called overfitting or noisy.

Thresholds are keyword arguments with documented defaults; pass any of them to `diagnose`.

Example:
    >>> from lamina.diagnose import diagnose
    >>> h = {"loss": [1.0, 0.5, 0.3, 0.2, 0.1, 0.05, 0.02, 0.01],
    ...      "val_loss": [1.0, 0.6, 0.45, 0.4, 0.45, 0.55, 0.7, 0.9]}
    >>> [f.name for f in diagnose(h)]
    ['overfitting']
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

__all__ = [
    "Finding",
    "RunInfo",
    "run_info",
    "reference",
    "curves",
    "loss_keys",
    "diagnose",
    "divergence",
    "unstable",
    "bad_initialization",
    "vanishing_gradients",
    "learning_rate_too_low",
    "underfitting",
    "overfitting",
    "still_improving",
    "noisy",
    "RULES",
]

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
        out["optimizer"] = str(getattr(opt, "name", type(opt).__name__)).lower()
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
    if "early_stopping" in fit:  # what fit's callbacks did (lamina.trainer._stop_info)
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


def curves(history: Any) -> dict[str, list[float]]:
    """Per-epoch curves as plain floats, from whatever holds them.

    Args:
        history: A `History`, its ``.history`` dict, or any ``{key: per-epoch values}``.
            A number becomes a one-value curve (a test metric); values that are not
            numbers (booleans, strings, schedule objects) are left out.

    Returns:
        ``{key: [float, ...]}``.

    Raises:
        TypeError: `history` is not a History or a dict.

    Example:
        >>> curves({"loss": (1, 0.5), "test_accuracy": 0.9, "note": "x"})
        {'loss': [1.0, 0.5], 'test_accuracy': [0.9]}
    """
    h = getattr(history, "history", history)
    if not isinstance(h, Mapping):
        raise TypeError(f"expected a History or a dict of per-epoch lists, got "
                        f"{type(history).__name__}")
    out = {}
    for k, v in h.items():
        if isinstance(v, bool) or isinstance(v, (str, bytes)):
            continue
        if isinstance(v, numbers.Real):
            out[str(k)] = [float(v)]
            continue
        try:
            out[str(k)] = [float(x) for x in v]
        except (TypeError, ValueError):
            continue  # non-numeric logs (e.g. learning-rate schedules as objects) are skipped
    return out


def loss_keys(curves: Mapping[str, Sequence[float]]) -> tuple[str, str]:
    """The training and validation loss keys to read: the data loss when there is one.

    Example:
        >>> loss_keys({"loss": [1.0], "data_loss": [0.9]})
        ('data_loss', 'val_data_loss')
    """
    if curves.get("data_loss"):
        return "data_loss", "val_data_loss"
    return "loss", "val_loss"


def _accuracy_keys(curves: Mapping[str, Sequence[float]]) -> tuple[str | None, str | None]:
    train = next((k for k in curves if "accuracy" in k and not k.startswith(("val_", "test_"))),
                 None)
    val = f"val_{train}" if train and f"val_{train}" in curves else None
    return train, val


def _finite(xs: Sequence[float]) -> bool:
    return all(math.isfinite(x) for x in xs)


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _info(info: RunInfo | None) -> RunInfo:
    return info if info is not None else RunInfo()


def _lower_lr(info: RunInfo, factor: float = 10.0) -> str:
    lr = info.learning_rate
    if not lr:
        return "lower the learning rate (e.g. 10x smaller)"
    text = f"lower the learning rate {factor:g}x: learning_rate = {lr / factor:.3g} (now {lr:g}"
    if info.default_learning_rate and info.optimizer:
        text += f"; {info.optimizer}'s default is {info.default_learning_rate:g}"
    return text + ")"


def _lr_words(info: RunInfo) -> str:
    """'; learning rate 10 is 1000x sgd's default 0.01' or ''."""
    r = info.lr_ratio()
    if r is None:
        return ""
    times = f"{r:.3g}x" if r >= 1 else f"1/{1 / r:.3g} of"
    return (f"; learning rate {info.learning_rate:g} is {times} {info.optimizer}'s default "
            f"{info.default_learning_rate:g}")


def _accuracy_words(curves: Mapping[str, Sequence[float]], info: RunInfo) -> str:
    """'; accuracy 0.089 (chance 0.1)' when an accuracy curve is there."""
    key, vkey = _accuracy_keys(curves)
    key = vkey or key
    if not key or not curves[key]:
        return ""
    text = f"; {key} {_fmt(curves[key][-1])}"
    if info.chance_accuracy is not None:
        text += f" (chance {_fmt(info.chance_accuracy)})"
    return text


def _near_chance(curves: Mapping[str, Sequence[float]], info: RunInfo, tol: float) -> bool:
    key, vkey = _accuracy_keys(curves)
    key = vkey or key
    if not key or info.chance_accuracy is None or not curves[key]:
        return True  # nothing says otherwise
    return curves[key][-1] <= info.chance_accuracy + tol * (1.0 - info.chance_accuracy)


def _init_words(info: RunInfo) -> str:
    names = info.init_names or ()
    gains = info.init_gain or ()
    parts = []
    for i, g in enumerate(gains):
        if g == 0.0 or g > LARGE_INIT_GAIN:
            nm = names[i] if i < len(names) else "?"
            parts.append(f"layer {i + 1} {nm} (var(W) x fan_in = {g:.3g})")
    return ", ".join(parts)


def _clip_hint() -> str:
    return "clip gradients (training.optimizer.clipnorm = 1.0)"


def _fit_init_hint(info: RunInfo) -> str:
    act = info.hidden_activations or ()
    best = "he_normal" if any(a in ("relu", "leaky_relu", "elu", "gelu", "selu", "silu")
                              for a in act) or not act else "glorot_uniform"
    return (f"initialize the kernels with {best} (fan-in scaled random values: "
            "kernel_initializer = \"" + best + "\")")


# ---------------------------------------------------------------------------------------------
# Rules


def divergence(curves: Mapping[str, Sequence[float]], info: RunInfo | None = None,
               explode_ratio: float = 3.0, above_untrained: float = 1.5,
               at_untrained_tol: float = 0.05
               ) -> Finding | None:
    """The loss became NaN or infinite, blew up, or training ended worse than no training.

    Fires on (a) a NaN/inf loss; (b) a last training loss more than `explode_ratio` times
    its minimum (and above its first value); (c) with an untrained loss known, a last
    training loss more than `above_untrained` times it, at chance accuracy (without an
    accuracy: no longer falling; a slow start far above is not a divergence) (unless the
    run starts far above
    it because of a large initialization and its learning rate is not high: that is
    `bad_initialization`); (d) with a learning rate far above the optimizer's default, a
    training loss that ended at the untrained loss (less than `at_untrained_tol` below it) or
    above, at chance accuracy (the
    first steps threw the weights where no unit learns).

    Args:
        curves: per-epoch values by key (``loss``, ``val_loss``).
        info: what the run knows (`RunInfo`). Defaults to `None` (nothing).
        explode_ratio: fires when the last training loss exceeds this many times its minimum
            (and its first value). Defaults to `3.0`.
        above_untrained: fires when the last training loss exceeds this many times the
            untrained loss. Defaults to `1.5`.
        at_untrained_tol: relative distance to the untrained loss that counts as "at" it.
            Defaults to `0.05`.

    Example:
        >>> divergence({"loss": [1.0, 0.5, float("nan")]}).evidence
        'loss became nan at epoch 3'
    """
    info = _info(info)
    suggestions = (
        _lower_lr(info),
        _clip_hint(),
        "standardize the inputs and check the data for NaN or huge values",
    )
    lr = _lr_words(info)
    if info.batch_size is not None and info.batch_size <= SMALL_BATCH:
        lr += f"; with batch size {info.batch_size} every step follows a few samples"
        suggestions += ("use a larger batch size (e.g. 32)",)
    train_key, val_key = loss_keys(curves)
    for key in ("loss", "val_loss", train_key, val_key):
        xs = curves.get(key)
        if not xs:
            continue
        for i, x in enumerate(xs):
            if not math.isfinite(x):
                text = f"{key} became {x} at epoch {i + 1}"
                if info.nan_epoch is not None:
                    text += f"; TerminateOnNaN stopped the run in epoch {info.nan_epoch}"
                return Finding("divergence", text + lr, suggestions, i + 1)
    if info.nan_epoch is not None:
        return Finding("divergence", f"the loss became NaN in epoch {info.nan_epoch} and "
                       f"TerminateOnNaN stopped the run" + lr, suggestions, info.nan_epoch)
    xs = curves.get(train_key)
    if not xs:
        return None
    if len(xs) >= 2:
        lo = min(xs)
        best = xs.index(lo)
        if xs[-1] > explode_ratio * lo and xs[-1] > xs[0] and lo > 0:
            above = (f"; the untrained loss is {_fmt(info.untrained_loss)}"
                     if info.untrained_loss else "")
            return Finding("divergence", f"{train_key} rose from {_fmt(lo)} (epoch {best + 1}) "
                           f"to {_fmt(xs[-1])} at the last epoch ({xs[-1] / lo:.3g}x){above}"
                           + lr, suggestions, best + 1)
    base = info.untrained_loss
    if base is None or base <= 0:
        return None
    init_cause = info.large_init() and not info.lr_high()
    acc_key, vacc_key = _accuracy_keys(curves)
    # with an accuracy: at chance; without one (regression): no longer falling, since a
    # slow start from far above (targets far from 0) is not a divergence
    stuck = (_near_chance(curves, info, 0.5) if (acc_key or vacc_key)
             else xs[-1] >= min(xs[:-1], default=xs[-1]))
    if xs[-1] > above_untrained * base and not init_cause and stuck:
        first = next((i for i, x in enumerate(xs) if x > above_untrained * base), 0)
        return Finding("divergence", f"{train_key} ended at {_fmt(xs[-1])}, {xs[-1] / base:.3g}x "
                       f"the untrained loss {_fmt(base)} (a model that learned nothing does "
                       f"better){_accuracy_words(curves, info)}" + lr, suggestions, first + 1)
    # (an accuracy well above chance with such a loss is `unstable`: confident mistakes)
    if info.lr_high() and xs[-1] >= (1 - at_untrained_tol) * base and _near_chance(
            curves, info, 0.1):
        return Finding("divergence", f"{train_key} {_fmt(xs[-1])} sits at the untrained loss "
                       f"{_fmt(base)}{_accuracy_words(curves, info)}{lr}: the first steps "
                       "overshot and the network stopped learning", suggestions, 1)
    return None


def unstable(curves: Mapping[str, Sequence[float]], info: RunInfo | None = None,
             spike_ratio: float = 1.5, confident_accuracy: float = 0.5) -> Finding | None:
    """A learning rate too high for steady training, short of a blow-up.

    Fires when the run's learning rate is not known to be moderate (it is high, or not
    known) and either (a) the validation (else training) loss ends above the untrained loss
    while its accuracy is well above chance (some predictions are wrong with extreme
    confidence: the weights grew huge), or (b) the training loss jumped to more than
    `spike_ratio` times its previous epoch's value after the first epoch (by at least 5% of
    its largest value).

    Args:
        curves: per-epoch values by key.
        info: what the run knows (`RunInfo`). Defaults to `None` (nothing).
        spike_ratio: an epoch's training loss over the previous one's that counts as a
            spike. Defaults to `1.5`.
        confident_accuracy: for (a), the accuracy must cover at least this
            fraction of the way from chance to 1. Defaults to `0.5`.

    Example:
        >>> unstable({"loss": [2.0, 1.0, 0.8, 2.5, 0.9, 0.7]}).epoch
        4
    """
    info = _info(info)
    r = info.lr_ratio()
    if r is not None and not info.lr_high():
        return None  # a moderate learning rate: bumps are noise or overfitting, not this
    train_key, val_key = loss_keys(curves)
    train, val = curves.get(train_key), curves.get(val_key)
    if not train or not _finite(train):
        return None
    suggestions = (_lower_lr(info), _clip_hint())
    base = info.untrained_loss
    acc_key, vacc_key = _accuracy_keys(curves)
    for key, xs, akey in ((val_key, val, vacc_key), (train_key, train, acc_key)):
        if not xs or not _finite(xs) or not base or not akey or info.chance_accuracy is None:
            continue
        acc = curves[akey][-1]
        sure = info.chance_accuracy + confident_accuracy * (1 - info.chance_accuracy)
        if xs[-1] > base and acc >= sure:
            first = next(i for i, x in enumerate(xs) if x > base)
            return Finding("unstable", f"{key} {_fmt(xs[-1])} ends {xs[-1] / base:.3g}x the "
                           f"untrained loss {_fmt(base)} while {akey} is {_fmt(acc)} (chance "
                           f"{_fmt(info.chance_accuracy)}): a few predictions are wrong with "
                           f"extreme confidence, the weights grew huge" + _lr_words(info),
                           suggestions, first + 1)
    top = max(train)  # a jump must matter at the curve's scale, not only near 0
    spikes = [i for i in range(2, len(train)) if train[i] > spike_ratio * train[i - 1]
              and train[i] - train[i - 1] > 0.05 * top]
    if spikes:
        i = spikes[0]
        return Finding("unstable", f"{train_key} jumped from {_fmt(train[i - 1])} to "
                       f"{_fmt(train[i])} ({train[i] / train[i - 1]:.2g}x) at epoch {i + 1}"
                       + (f" and {len(spikes) - 1} more time(s)" if len(spikes) > 1 else "")
                       + _lr_words(info), suggestions, i + 1)
    return None


def _flat_epochs(xs: Sequence[float], base: float, tol: float) -> int:
    """How many epochs from the first one the loss stayed within `tol` (relative) of base."""
    n = 0
    for x in xs:
        if abs(x - base) > tol * base:
            break
        n += 1
    return n


def bad_initialization(curves: Mapping[str, Sequence[float]], info: RunInfo | None = None,
                       at_untrained_tol: float = 0.05, start_ratio: float = 1.5
                       ) -> Finding | None:
    """Initial weights that stop learning: constant kernels, or kernels far too large.

    Needs the initializers (`RunInfo.init_gain`). Fires when a Dense kernel starts constant
    (zeros, ones: every unit of a layer computes the same thing and gets the same update)
    and the training loss stayed within `at_untrained_tol` of the untrained loss; or, whatever
    the curves, when a kernel starts with var(W) * fan_in above ``LARGE_INIT_GAIN``
    (saturated or exploding units; He normal gives 2) and the learning rate is not high.
    The evidence says whether the first epoch's loss was more than `start_ratio` times the
    untrained loss.

    Args:
        curves: per-epoch values by key.
        info: what the run knows (`RunInfo`). Defaults to `None` (nothing).
        at_untrained_tol: relative distance to the untrained loss that counts as "at" it.
            Defaults to `0.05`.
        start_ratio: first-epoch loss over the untrained loss that counts as a bad start.
            Defaults to `1.5`.

    Example:
        >>> info = RunInfo(untrained_loss=2.3, init_gain=(0.0, 0.0), init_names=("Zeros",
        ...                "Zeros"))
        >>> bad_initialization({"loss": [2.31, 2.302, 2.302, 2.301]}, info).name
        'bad_initialization'
    """
    info = _info(info)
    base = info.untrained_loss
    train_key, val_key = loss_keys(curves)
    xs = curves.get(train_key)
    if not xs or not _finite(xs) or base is None or base <= 0 or not info.init_gain:
        return None
    flat = _flat_epochs(xs, base, at_untrained_tol)
    fix = (_fit_init_hint(info),)
    if info.constant_init() and flat == len(xs):
        return Finding("bad_initialization", f"{train_key} stayed within "
                       f"{at_untrained_tol:.0%} of the "
                       f"untrained loss {_fmt(base)} for all {len(xs)} epochs (last "
                       f"{_fmt(xs[-1])}{_accuracy_words(curves, info)}): constant kernels "
                       f"({_init_words(info)}) give every unit of a layer the same output and "
                       "the same update, so the symmetry never breaks", fix, 1)
    if info.large_init() and not info.lr_high():
        if xs[0] > start_ratio * base:
            how = f"started at {_fmt(xs[0])}, {xs[0] / base:.3g}x the untrained loss {_fmt(base)}"
        elif flat == len(xs):
            how = (f"stayed within {at_untrained_tol:.0%} of the untrained loss {_fmt(base)} "
                   f"for all {len(xs)} epochs")
        else:
            how = f"went from {_fmt(xs[0])} (the untrained loss is {_fmt(base)})"
        val = curves.get(val_key)
        gap = ""
        if val and _finite(val) and len(val) == len(xs):
            gap = (f"; {val_key} ended at {_fmt(val[-1])}, "
                   f"{val[-1] / max(xs[-1], 1e-12):.3g}x the training loss")
        return Finding("bad_initialization", f"{train_key} {how} to {_fmt(xs[-1])}{gap}"
                       f"{_accuracy_words(curves, info)}: kernels far larger than fan-in "
                       f"scaling ({_init_words(info)}) saturate the units (or blow up their "
                       "outputs) from the first step, so what they learn generalizes badly",
                       fix, 1)
    return None


def vanishing_gradients(curves: Mapping[str, Sequence[float]], info: RunInfo | None = None,
                        plateau_tol: float = 0.03, min_flat: int = 3, min_layers: int = 2
                        ) -> Finding | None:
    """A deep sigmoid/tanh network that sat at the untrained loss: its gradients vanish.

    Needs the activations (`RunInfo.hidden_activations`). Fires when at least `min_layers`
    hidden layers use a saturating activation (sigmoid, tanh: derivative at most 0.25 / 1,
    and multiplied once per layer on the way back) and the training loss stayed within
    `plateau_tol` of the untrained loss for at least `min_flat` epochs from the start.

    Args:
        curves: per-epoch values by key.
        info: what the run knows (`RunInfo`). Defaults to `None` (nothing).
        plateau_tol: relative distance to the untrained loss that counts as "at" it.
            Defaults to `0.03`.
        min_flat: epochs at the untrained loss needed. Defaults to `3`.
        min_layers: saturating hidden layers needed. Defaults to `2`.

    Example:
        >>> info = RunInfo(untrained_loss=2.3, hidden_activations=("sigmoid",) * 3)
        >>> vanishing_gradients({"loss": [2.31, 2.30, 2.30, 2.29, 2.28]}, info).epoch
        1
    """
    info = _info(info)
    base = info.untrained_loss
    train_key, _ = loss_keys(curves)
    xs = curves.get(train_key)
    deep = info.saturating_layers()
    if not xs or not _finite(xs) or not base or deep < min_layers or info.constant_init():
        return None
    flat = _flat_epochs(xs, base, plateau_tol)
    if flat < min(min_flat, len(xs)):
        return None
    acts = sorted({a for a in info.hidden_activations or () if a in SATURATING})
    how = (f"for all {len(xs)} epochs" if flat == len(xs)
           else f"for the first {flat} epochs, then fell to {_fmt(xs[-1])}")
    suggestions = ["use relu hidden activations with he_normal kernels (gradients do not "
                   "shrink layer by layer)"]
    if info.optimizer in (None, "sgd"):
        suggestions.append("or an adaptive optimizer (adam) that rescales small gradients")
    if info.lr_low():
        suggestions.append("raise the learning rate 10x: learning_rate = "
                           f"{info.learning_rate * 10:.3g}")
    measured = ""
    g = info.grad_rms
    if g and len(g) >= 2 and g[-1] > 0:
        measured = (f"; before training, the first layer's gradient (RMS {g[0]:.2g}) was "
                    f"{g[0] / g[-1]:.2g}x the last layer's ({g[-1]:.2g})")
    return Finding("vanishing_gradients", f"{train_key} stayed within {plateau_tol:.0%} of the "
                   f"untrained loss {_fmt(base)} {how}: {deep} hidden layers use "
                   f"{'/'.join(acts)}, whose derivatives (at most 0.25 for sigmoid) shrink the "
                   f"gradient at every layer on the way back{measured}", tuple(suggestions), 1)


def learning_rate_too_low(curves: Mapping[str, Sequence[float]], info: RunInfo | None = None,
                          high: float = 0.5) -> Finding | None:
    """A learning rate so low that the loss creeps down far above where it could be.

    Needs the learning rate and the optimizer's default (`RunInfo`). Fires when the learning
    rate is at least ``LOW_LR_FACTOR`` times below the default, the training loss ended above
    `high` times the untrained loss (when known; else above half its first value) and it
    was still falling at the last epoch.

    Args:
        curves: per-epoch values by key.
        info: what the run knows (`RunInfo`). Defaults to `None` (nothing).
        high: fraction of the untrained loss above which a loss counts as high.
            Defaults to `0.5`.

    Example:
        >>> info = RunInfo(untrained_loss=2.3, learning_rate=1e-4, optimizer="sgd",
        ...                default_learning_rate=0.01)
        >>> learning_rate_too_low({"loss": [2.3, 2.28, 2.26, 2.24, 2.22]}, info).name
        'learning_rate_too_low'
    """
    info = _info(info)
    train_key, _ = loss_keys(curves)
    xs = curves.get(train_key)
    if not xs or len(xs) < 2 or not _finite(xs) or not info.lr_low():
        return None
    base = info.untrained_loss or xs[0]
    if xs[-1] <= high * base or xs[-1] >= xs[-2]:
        return None
    lr = info.learning_rate
    target = info.default_learning_rate
    per_epoch = (xs[0] - xs[-1]) / max(len(xs) - 1, 1)
    return Finding("learning_rate_too_low", f"{train_key} fell only from {_fmt(xs[0])} to "
                   f"{_fmt(xs[-1])} in {len(xs)} epochs ({_fmt(per_epoch)} per epoch) and is "
                   f"still falling{_lr_words(info)}",
                   (f"raise the learning rate: learning_rate = {min(lr * 10, target):.3g} "
                    f"(now {lr:g}; {info.optimizer}'s default is {target:g})",), len(xs))


def underfitting(curves: Mapping[str, Sequence[float]], info: RunInfo | None = None,
                 baseline: float | None = None, high: float = 0.5, flat_window: int = 5,
                 flat_tol: float = 0.05) -> Finding | None:
    """Both losses high and flat: the model cannot fit even the training data.

    "High" means above `high` times the `baseline` (the loss of a model that learned nothing:
    the untrained loss; `fit` measures it and `diagnose` passes it in `info`); without one
    the first epoch's loss stands in. "Flat" means the training loss fell by less than
    `flat_tol` (relative) over the last `flat_window` epochs.

    Args:
        curves: per-epoch values by key.
        info: what the run knows (`RunInfo`). Defaults to `None` (nothing).
        baseline: the loss of an untrained model. Defaults to `None` (``info``'s untrained
            loss, else the first epoch's loss).
        high: fraction of the baseline above which a loss counts as high. Defaults to `0.5`.
        flat_window: epochs over which flatness is measured. Defaults to `5`.
        flat_tol: relative fall over `flat_window` epochs below which a loss is flat.
            Defaults to `0.05`.

    Example:
        >>> underfitting({"loss": [2.3, 2.29, 2.29, 2.28, 2.28, 2.28]}, baseline=2.3).name
        'underfitting'
    """
    info = _info(info)
    train_key, val_key = loss_keys(curves)
    train = curves.get(train_key)
    if not train or len(train) <= flat_window or not _finite(train):
        return None
    if baseline is None:
        baseline = info.untrained_loss
    base = baseline if baseline is not None else train[0]
    if base <= 0:
        return None
    level = high * base
    val = curves.get(val_key)
    ref = train[-1 - flat_window]
    fall = (ref - train[-1]) / max(abs(ref), 1e-12)
    if train[-1] <= level or fall >= flat_tol:
        return None
    if val and _finite(val) and val[-1] <= level:
        return None
    vtext = f", {val_key} {_fmt(val[-1])}" if val else ""
    btext = "the untrained loss" if baseline is not None else "the first epoch's loss"
    stuck = baseline is not None and train[-1] >= 0.95 * baseline
    units = info.hidden_units
    if units is not None:
        narrow = min(units) if units else None
        grow = (f"use more units or layers (the narrowest hidden layer has {narrow} "
                f"unit{'s' if narrow != 1 else ''}: try {max(64, 2 * narrow)})"
                if narrow is not None else
                "add a hidden layer (e.g. 64 relu units)")
        if info.saturating_layers():
            grow += " or a less saturating activation (relu)"
        suggestions = [grow]
        if info.lr_ratio() is not None and info.lr_ratio() < 1.0:
            suggestions.append(f"raise the learning rate toward {info.optimizer}'s default "
                               f"{info.default_learning_rate:g} (now {info.learning_rate:g})")
        regs = []
        if info.dropout:
            regs.append(f"dropout {max(info.dropout):g}")
        if info.l1:
            regs.append(f"l1 {info.l1:g}")
        if info.l2:
            regs.append(f"l2 {info.l2:g}")
        if regs:
            suggestions.append(f"reduce the regularization ({', '.join(regs)})")
        if stuck:
            suggestions.insert(0, "check the inputs: standardized features, labels that "
                               "match them")
        suggestions = tuple(suggestions)
    else:
        suggestions = ("use more units or layers (or a less saturating activation: relu)",
                       "raise the learning rate (e.g. 10x) or switch to adam",
                       "train for more epochs; reduce regularization (dropout, l1/l2) if any")
        if stuck:  # nothing was learned at all: look at what stops every unit from learning
            suggestions = ("check the initializers: all-zero (or constant) weights never "
                           "break the symmetry between units",) + suggestions
    return Finding(
        "underfitting",
        f"{train_key} {_fmt(train[-1])}{vtext} stays above {high:.0%} of {btext} ({_fmt(base)})"
        f" and fell only {max(fall, 0):.1%} over the last {flat_window} epochs"
        + _accuracy_words(curves, info)
        + ("; the network learned next to nothing" if stuck else ""),
        suggestions, len(train))


def overfitting(curves: Mapping[str, Sequence[float]], info: RunInfo | None = None,
                patience: int = 3, min_rise: float = 0.05, gap_ratio: float = 3.0,
                min_gap: float = 0.3) -> Finding | None:
    """Validation loss rising while training loss falls, or a wide, growing gap.

    Needs ``val_loss``. Fires when either
    (a) the validation loss ended at least `patience` epochs after its minimum and more than
        `min_rise` (relative) above it, while the training loss fell over the same epochs; or
    (b) the last validation loss is more than `gap_ratio` times the training loss and at
        least `min_gap` above it, and that gap grew over the second half of training.
    The advice leaves out what the run has (dropout, L2, early stopping) and says what
    early stopping did.

    Args:
        curves: per-epoch values by key.
        info: what the run knows (`RunInfo`). Defaults to `None` (nothing).
        patience: epochs the validation loss must have risen since its best. Defaults to `3`.
        min_rise: relative rise of the validation loss over its best. Defaults to `0.05`.
        gap_ratio: val_loss / loss at the last epoch for the gap test. Defaults to `3.0`.
        min_gap: absolute val_loss - loss at the last epoch for the gap test. Defaults to `0.3`.

    Example:
        >>> overfitting({"loss": [1.0, 0.5, 0.3, 0.2, 0.1, 0.05, 0.02, 0.01],
        ...              "val_loss": [1.0, 0.6, 0.45, 0.4, 0.45, 0.55, 0.7, 0.9]}).epoch
        4
    """
    info = _info(info)
    train_key, val_key = loss_keys(curves)
    train, val = curves.get(train_key), curves.get(val_key)
    if not train or not val or len(val) < 3 or not _finite(train) or not _finite(val):
        return None
    best = min(range(len(val)), key=lambda i: val[i])
    since = len(val) - 1 - best
    rise = (val[-1] - val[best]) / max(val[best], 1e-12)
    evidence = epoch = None
    if since >= patience and rise > min_rise and train[-1] < train[best]:
        evidence = (f"{val_key} rose {rise:.0%} from its best {_fmt(val[best])} at epoch "
                    f"{best + 1} to {_fmt(val[-1])} over {since} epochs while {train_key} fell "
                    f"from {_fmt(train[best])} to {_fmt(train[-1])}")
        epoch = best + 1
    else:
        mid = len(val) // 2
        gap_end = val[-1] - train[-1]
        gap_mid = val[mid] - train[mid]
        if (gap_end >= min_gap and val[-1] > gap_ratio * max(train[-1], 1e-12)
                and gap_end > gap_mid):
            evidence = (f"{val_key} {_fmt(val[-1])} ends {val[-1] / max(train[-1], 1e-12):.1f}x "
                        f"the training loss {_fmt(train[-1])} (gap {_fmt(gap_end)}, up from "
                        f"{_fmt(gap_mid)} at epoch {mid + 1})")
            epoch = mid + 1
    if evidence is None:
        return None
    suggestions = []
    if info.dropout is None:
        suggestions.append("add dropout (a Dropout layer, rate 0.2-0.5) or L2 "
                           "(kernel_regularizer = {l2 = 1e-4})")
    else:
        if info.dropout:
            evidence += f"; the model has dropout {max(info.dropout):g}"
        else:
            suggestions.append("add dropout (a Dropout layer, rate 0.2-0.5)")
        if info.l2:
            evidence += (f" and L2 {info.l2:g}" if info.dropout
                         else f"; the model has L2 {info.l2:g}")
            suggestions.append(f"stronger L2: l2 = {info.l2 * 10:g} (now {info.l2:g})")
        else:
            suggestions.append("add L2 (kernel_regularizer = {l2 = 1e-4})")
        if info.dropout and max(info.dropout) < 0.5:
            suggestions.append(f"a higher dropout rate (now {max(info.dropout):g}, try 0.5)")
    if info.stopped_epoch is not None:
        evidence += f"; early stopping ended the run at epoch {info.stopped_epoch}"
        if info.restored_epoch is not None:
            evidence += (f" and restored the weights of epoch {info.restored_epoch}, its best"
                         " (the model kept is the best one)")
    elif info.early_stopping:
        evidence += "; early stopping was on but its patience outlasted the run"
    else:
        stop = ("train for fewer epochs, or stop early (training.early_stopping = "
                "{patience = 5})")
        if info.early_stopping is False:
            stop = (f"stop early (training.early_stopping = {{patience = 5}}) or train for "
                    f"about {epoch} epochs")
        suggestions.append(stop)
    widest = max(info.hidden_units) if info.hidden_units else None
    suggestions.append("use a smaller network" + (f" (the widest hidden layer has {widest} "
                                                  "units)" if widest else "")
                       + " or more training data"
                       + (f" (now {info.samples} samples)" if info.samples else ""))
    return Finding("overfitting", evidence, tuple(suggestions), epoch)


def still_improving(curves: Mapping[str, Sequence[float]], info: RunInfo | None = None,
                    improve_window: int = 3, min_improvement: float = 0.01) -> Finding | None:
    """The monitored loss (``val_loss``, else ``loss``) was still falling at the last epoch.

    Fires when the last epoch set a new best (strictly) and the value fell by more than
    `min_improvement` (relative to it, or to a tenth of the untrained loss when that is
    larger) over the last `improve_window` epochs (over all of them in shorter runs). Quiet
    when a callback (early stopping) ended the run.

    Args:
        curves: per-epoch values by key.
        info: what the run knows (`RunInfo`). Defaults to `None` (nothing).
        improve_window: epochs looked back. Defaults to `3`.
        min_improvement: relative fall over those epochs that counts as improving.
            Defaults to `0.01`.

    Example:
        >>> still_improving({"loss": [1.0, 0.8, 0.6, 0.45, 0.33]}).name
        'still_improving'
    """
    info = _info(info)
    if info.stopped_epoch is not None:
        return None
    train_key, val_key = loss_keys(curves)
    key = val_key if curves.get(val_key) else train_key
    xs = curves.get(key)
    if not xs or len(xs) < 2 or not _finite(xs):
        return None
    improve_window = min(improve_window, len(xs) - 1)  # short runs: all the epochs there are
    ref = xs[-1 - improve_window]
    # relative to the loss, but a loss near 0 counts as at least a tenth of the untrained
    # loss: 0.053 -> 0.052 is not worth more epochs when a model that learned nothing has 2.3
    scale = max(abs(ref), (info.untrained_loss or 0.0) / 10, 1e-12)
    fall = (ref - xs[-1]) / scale
    if xs[-1] >= min(xs[:-1]) or fall <= min_improvement:
        return None
    fall = (ref - xs[-1]) / max(abs(ref), 1e-12)
    more = "train for more epochs"
    more += (f": epochs = {2 * len(xs)} (now {len(xs)})" if info.epochs or info.samples
             else " (e.g. twice as many")
    if info.early_stopping:
        more += ", early stopping will end it in time"
    elif info.early_stopping is None and not (info.epochs or info.samples):
        more += ", with early stopping to stop in time"
    elif info.early_stopping is False:
        more += " with early stopping (training.early_stopping = {patience = 5})"
    if not (info.epochs or info.samples):
        more += ")"
    suggestions = [more]
    if not info.lr_high() and (info.lr_ratio() is None or info.lr_ratio() <= 1.0):
        suggestions.append("or raise the learning rate a little")
    return Finding(
        "still_improving",
        f"{key} fell {fall:.1%} over the last {improve_window} epochs ({_fmt(ref)} -> "
        f"{_fmt(xs[-1])}) and is at its best at the last epoch",
        tuple(suggestions), len(xs))


def _reversals(xs: Sequence[float]) -> tuple[float, int]:
    """Back-and-forth movement: at each turn (up then down, or down then up) the smaller of
    the two steps, summed; and the number of rises. A monotone curve scores 0, a U-shaped
    one only its single turn."""
    steps = [b - a for a, b in zip(xs, xs[1:])]
    total = sum(min(abs(d0), abs(d1)) for d0, d1 in zip(steps, steps[1:]) if d0 * d1 < 0)
    return total, sum(d > 0 for d in steps)


def noisy(curves: Mapping[str, Sequence[float]], info: RunInfo | None = None,
          noise_tol: float = 0.08, min_epochs: int = 6, small_batch_tol: float = 0.02
          ) -> Finding | None:
    """The loss went back and forth from epoch to epoch instead of moving steadily.

    From the second epoch on, the back-and-forth movement is, at each turn of the curve (a
    rise after a fall or a fall after a rise), the smaller of the two steps, summed, per
    epoch, relative to the curve's level (its mean, and at least a twentieth of its
    largest value or of the untrained loss, so that noise on a loss near 0 does not count
    for much). A steady curve scores 0 whatever its slope, a U-shaped one only its one
    turn. With a small batch (at most ``SMALL_BATCH`` samples) the batch is named as the
    cause and the threshold is `small_batch_tol`.

    Args:
        curves: per-epoch values by key.
        info: what the run knows (`RunInfo`). Defaults to `None` (nothing).
        noise_tol: score above which a curve is noisy. Defaults to `0.08`.
        min_epochs: epochs needed before the rule looks. Defaults to `6`.
        small_batch_tol: the score threshold for runs with a small batch.
            Defaults to `0.02`.

    Example:
        >>> noisy({"loss": [1.0, 0.9, 1.0, 0.8, 1.0, 0.7, 1.0, 0.6, 1.0, 0.5]}).name
        'noisy'
    """
    info = _info(info)
    small = info.batch_size is not None and info.batch_size <= SMALL_BATCH
    tol = small_batch_tol if small else noise_tol
    worst = None
    for key in loss_keys(curves):
        xs = curves.get(key)
        if not xs or len(xs) < min_epochs or not _finite(xs):
            continue
        tail = xs[1:]
        level = max(sum(tail) / len(tail), max(xs) / 20, (info.untrained_loss or 0.0) / 20)
        if level <= 0:
            continue
        total, ups = _reversals(tail)
        score = total / ((len(tail) - 1) * level)
        if score > tol and ups >= 2 and (worst is None or score > worst[1]):
            worst = (key, score, ups, len(tail))
    if worst is None:
        return None
    key, score, ups, n = worst
    evidence = (f"{key} went back and forth by {score:.0%} of its level per epoch over epochs "
                f"2-{n + 1} (rose in {ups} of {n - 1})")
    if small:
        steps = (f", {math.ceil(info.samples / info.batch_size)} noisy steps per epoch"
                 if info.samples else "")
        evidence += (f": batch size {info.batch_size}{steps}, each step's gradient comes from "
                     f"{info.batch_size} sample{'s' if info.batch_size > 1 else ''}")
        suggestions = ("use a larger batch size (e.g. 32: an average over 32 samples)",
                       _lower_lr(info) if info.learning_rate else
                       "or lower the learning rate (or add a decay schedule)")
    else:
        if info.batch_size is not None:
            evidence += f" with batch size {info.batch_size}"
        suggestions = (_lower_lr(info) + " (or add a decay schedule)",
                       "use a larger batch size")
        if info.batch_size is None:
            suggestions = ("use a larger batch size",
                           "lower the learning rate (or add a decay schedule)")
    return Finding("noisy", evidence, suggestions, None)


RULES: dict[str, Callable[..., Finding | None]] = {
    "divergence": divergence,
    "unstable": unstable,
    "bad_initialization": bad_initialization,
    "vanishing_gradients": vanishing_gradients,
    "learning_rate_too_low": learning_rate_too_low,
    "underfitting": underfitting,
    "overfitting": overfitting,
    "still_improving": still_improving,
    "noisy": noisy,
}

# A finding (key) makes these rules' findings redundant: they would read the same curve
# with a vaguer (or wrong) cause.
_REPLACES = {
    "unstable": ("overfitting", "noisy", "underfitting", "still_improving"),
    "bad_initialization": ("underfitting", "vanishing_gradients", "learning_rate_too_low",
                           "overfitting"),
    "vanishing_gradients": ("underfitting",),
    "learning_rate_too_low": ("underfitting", "still_improving"),
    "underfitting": ("still_improving",),
}


def _params(rule: Callable) -> list[str]:
    return [p for p in inspect.signature(rule).parameters if p not in ("curves", "info")]


def diagnose(history: Any, rules: Sequence[str] | None = None, info: RunInfo | None = None,
             **thresholds: Any) -> list[Finding]:
    """Runs the rules over a training history and returns what they found.

    When the run diverged, only that finding is returned (the other rules would read noise).

    Args:
        history: a `History` (what `fit` returns), its ``.history`` dict, or any
            ``{key: per-epoch values}`` mapping.
        rules: names of the rules to run, from `RULES`. Defaults to `None` (all).
        info: what the run knows besides its curves. Defaults to `None` (`run_info` of
            `history`: its model and ``fit_info`` when it is a `History`).
        **thresholds: any rule's thresholds by name, e.g. ``patience=5``, ``noise_tol=0.1``;
            ``baseline=2.3`` sets the untrained loss.

    Returns:
        A list of `Finding`, in the order of `RULES`; empty for a healthy run.

    Example:
        >>> diagnose({"loss": [2.3, 1.0, 0.5, 0.3, 0.25, 0.24, 0.24, 0.24],
        ...           "val_loss": [2.3, 1.1, 0.6, 0.4, 0.36, 0.35, 0.35, 0.35]})
        []
    """
    names = list(RULES) if rules is None else list(rules)
    for n in names:
        if n not in RULES:
            raise ValueError(f"unknown diagnosis rule {n!r}; rules: {', '.join(RULES)}")
    accepted = {p for n in names for p in _params(RULES[n])} | {"baseline"}
    for k in thresholds:
        if k not in accepted:
            raise TypeError(f"unknown threshold {k!r}; accepted: {', '.join(sorted(accepted))}")
    per_epoch = curves(history)
    if info is None:
        info = run_info(history)
    if thresholds.get("baseline") is not None:
        info = dataclasses.replace(info, untrained_loss=float(thresholds["baseline"]))
    found: list[Finding] = []
    skip: set[str] = set()
    for n in names:
        if n in skip:
            continue
        rule = RULES[n]
        kw = {k: v for k, v in thresholds.items() if k in _params(rule)}
        f = rule(per_epoch, info, **kw)
        if f is not None:
            if n == "divergence":
                return [f]
            found.append(f)
            skip.update(_REPLACES.get(n, ()))
    return [f for f in found if f.name not in skip]
