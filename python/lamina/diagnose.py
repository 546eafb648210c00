"""Reading learning curves: what a training history says and what to change.

Each rule is a small function ``rule(curves, **thresholds) -> Finding | None`` over the
per-epoch curves of a `History` (``loss``, ``val_loss``, ...). `diagnose` runs them all:

- `divergence`: the loss became NaN/inf or blew up -> lower the learning rate, clip gradients.
- `overfitting`: validation loss rose for several epochs while training loss kept falling, or
  the validation loss ended far above the training loss -> dropout, L2, fewer epochs, early
  stopping.
- `underfitting`: both losses stayed high and flat -> more units or layers, more epochs, a
  higher learning rate.
- `still_improving`: the monitored loss was still falling at the last epoch -> more epochs.
- `noisy`: the loss went up and down from epoch to epoch -> larger batches, lower learning rate.

Thresholds are keyword arguments with documented defaults; pass any of them to `diagnose`.

Example:
    >>> from lamina.diagnose import diagnose
    >>> h = {"loss": [1.0, 0.5, 0.3, 0.2, 0.1, 0.05, 0.02, 0.01],
    ...      "val_loss": [1.0, 0.6, 0.45, 0.4, 0.45, 0.55, 0.7, 0.9]}
    >>> [f.name for f in diagnose(h)]
    ['overfitting']
"""

from __future__ import annotations

import inspect
import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

__all__ = [
    "Finding",
    "curves",
    "diagnose",
    "divergence",
    "overfitting",
    "underfitting",
    "still_improving",
    "noisy",
    "RULES",
]


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


def _finite(xs: Sequence[float]) -> bool:
    return all(math.isfinite(x) for x in xs)


def _fmt(x: float) -> str:
    return f"{x:.4g}"


# ---------------------------------------------------------------------------------------------
# Rules


def divergence(curves: Mapping[str, Sequence[float]], explode_ratio: float = 3.0
               ) -> Finding | None:
    """The loss became NaN or infinite, or ended far above its best value.

    Args:
        curves: per-epoch values by key (``loss``, ``val_loss``).
        explode_ratio: fires when the last training loss exceeds this many times its minimum
            (and its first value). Defaults to `3.0`.

    Example:
        >>> divergence({"loss": [1.0, 0.5, float("nan")]}).evidence
        'loss became nan at epoch 3'
    """
    suggestions = (
        "lower the learning rate (e.g. 10x smaller)",
        "clip gradients (training.optimizer.clipnorm = 1.0)",
        "standardize the inputs and check the data for NaN or huge values",
    )
    for key in ("loss", "val_loss"):
        xs = curves.get(key)
        if not xs:
            continue
        for i, x in enumerate(xs):
            if not math.isfinite(x):
                return Finding("divergence", f"{key} became {x} at epoch {i + 1}", suggestions,
                               i + 1)
    xs = curves.get("loss")
    if xs and len(xs) >= 2:
        lo = min(xs)
        best = xs.index(lo)
        if xs[-1] > explode_ratio * lo and xs[-1] > xs[0] and lo > 0:
            return Finding("divergence", f"loss rose from {_fmt(lo)} (epoch {best + 1}) to "
                           f"{_fmt(xs[-1])} at the last epoch ({xs[-1] / lo:.1f}x)",
                           suggestions, best + 1)
    return None


def overfitting(curves: Mapping[str, Sequence[float]], patience: int = 3,
                min_rise: float = 0.05, gap_ratio: float = 3.0, min_gap: float = 0.3
                ) -> Finding | None:
    """Validation loss rising while training loss falls, or a wide, growing gap.

    Needs ``val_loss``. Fires when either
    (a) the validation loss ended at least `patience` epochs after its minimum and more than
        `min_rise` (relative) above it, while the training loss fell over the same epochs; or
    (b) the last validation loss is more than `gap_ratio` times the training loss and at
        least `min_gap` above it, and that gap grew over the second half of training.

    Args:
        curves: per-epoch values by key.
        patience: epochs the validation loss must have risen since its best. Defaults to `3`.
        min_rise: relative rise of the validation loss over its best. Defaults to `0.05`.
        gap_ratio: val_loss / loss at the last epoch for the gap test. Defaults to `3.0`.
        min_gap: absolute val_loss - loss at the last epoch for the gap test. Defaults to `0.3`.

    Example:
        >>> overfitting({"loss": [1.0, 0.5, 0.3, 0.2, 0.1, 0.05, 0.02, 0.01],
        ...              "val_loss": [1.0, 0.6, 0.45, 0.4, 0.45, 0.55, 0.7, 0.9]}).epoch
        4
    """
    train, val = curves.get("loss"), curves.get("val_loss")
    if not train or not val or len(val) < 3 or not _finite(train) or not _finite(val):
        return None
    suggestions = (
        "add dropout (a Dropout layer, rate 0.2-0.5) or L2 (kernel_regularizer = {l2 = 1e-4})",
        "train for fewer epochs, or stop early (training.early_stopping = {patience = 5})",
        "use a smaller network or more training data",
    )
    best = min(range(len(val)), key=lambda i: val[i])
    since = len(val) - 1 - best
    rise = (val[-1] - val[best]) / max(val[best], 1e-12)
    if since >= patience and rise > min_rise and train[-1] < train[best]:
        return Finding(
            "overfitting",
            f"val_loss rose {rise:.0%} from its best {_fmt(val[best])} at epoch {best + 1} to "
            f"{_fmt(val[-1])} over {since} epochs while loss fell from {_fmt(train[best])} "
            f"to {_fmt(train[-1])}", suggestions, best + 1)
    mid = len(val) // 2
    gap_end = val[-1] - train[-1]
    gap_mid = val[mid] - train[mid]
    if (gap_end >= min_gap and val[-1] > gap_ratio * max(train[-1], 1e-12)
            and gap_end > gap_mid):
        return Finding(
            "overfitting",
            f"val_loss {_fmt(val[-1])} ends {val[-1] / max(train[-1], 1e-12):.1f}x the "
            f"training loss {_fmt(train[-1])} (gap {_fmt(gap_end)}, up from {_fmt(gap_mid)} "
            f"at epoch {mid + 1})", suggestions, mid + 1)
    return None


def underfitting(curves: Mapping[str, Sequence[float]], baseline: float | None = None,
                 high: float = 0.5, flat_window: int = 5, flat_tol: float = 0.05
                 ) -> Finding | None:
    """Both losses high and flat: the model cannot fit even the training data.

    "High" means above `high` times the `baseline` (the loss of a model that learned nothing,
    e.g. ln(n_classes) for cross-entropy; `lamina train` passes it); without a baseline the
    first epoch's loss stands in. "Flat" means the training loss fell by less than `flat_tol`
    (relative) over the last `flat_window` epochs.

    Args:
        curves: per-epoch values by key.
        baseline: the loss of an untrained model. Defaults to `None` (the first epoch's loss).
        high: fraction of the baseline above which a loss counts as high. Defaults to `0.5`.
        flat_window: epochs over which flatness is measured. Defaults to `5`.
        flat_tol: relative fall over `flat_window` epochs below which a loss is flat.
            Defaults to `0.05`.

    Example:
        >>> underfitting({"loss": [2.3, 2.29, 2.29, 2.28, 2.28, 2.28]}, baseline=2.3).name
        'underfitting'
    """
    train = curves.get("loss")
    if not train or len(train) <= flat_window or not _finite(train):
        return None
    base = baseline if baseline is not None else train[0]
    if base <= 0:
        return None
    level = high * base
    val = curves.get("val_loss")
    ref = train[-1 - flat_window]
    fall = (ref - train[-1]) / max(abs(ref), 1e-12)
    if train[-1] <= level or fall >= flat_tol:
        return None
    if val and _finite(val) and val[-1] <= level:
        return None
    vtext = f", val_loss {_fmt(val[-1])}" if val else ""
    btext = "the untrained loss" if baseline is not None else "the first epoch's loss"
    suggestions = ("use more units or layers (or a less saturating activation: relu)",
                   "raise the learning rate (e.g. 10x) or switch to adam",
                   "train for more epochs; reduce regularization (dropout, l1/l2) if any")
    stuck = baseline is not None and train[-1] >= 0.95 * baseline
    if stuck:  # nothing was learned at all: look at what stops every unit from learning
        suggestions = ("check the initializers: all-zero (or constant) weights never break "
                       "the symmetry between units",) + suggestions
    return Finding(
        "underfitting",
        f"loss {_fmt(train[-1])}{vtext} stays above {high:.0%} of {btext} ({_fmt(base)}) and "
        f"fell only {max(fall, 0):.1%} over the last {flat_window} epochs"
        + ("; the network learned next to nothing" if stuck else ""),
        suggestions, len(train))


def still_improving(curves: Mapping[str, Sequence[float]], improve_window: int = 3,
                    min_improvement: float = 0.01) -> Finding | None:
    """The monitored loss (``val_loss``, else ``loss``) was still falling at the last epoch.

    Fires when the last epoch set a new best (strictly) and the value fell by more than
    `min_improvement` (relative) over the last `improve_window` epochs (over all of them in
    shorter runs).

    Args:
        curves: per-epoch values by key.
        improve_window: epochs looked back. Defaults to `3`.
        min_improvement: relative fall over those epochs that counts as improving.
            Defaults to `0.01`.

    Example:
        >>> still_improving({"loss": [1.0, 0.8, 0.6, 0.45, 0.33]}).name
        'still_improving'
    """
    key = "val_loss" if curves.get("val_loss") else "loss"
    xs = curves.get(key)
    if not xs or len(xs) < 2 or not _finite(xs):
        return None
    improve_window = min(improve_window, len(xs) - 1)  # short runs: all the epochs there are
    ref = xs[-1 - improve_window]
    fall = (ref - xs[-1]) / max(abs(ref), 1e-12)
    if xs[-1] >= min(xs[:-1]) or fall <= min_improvement:
        return None
    return Finding(
        "still_improving",
        f"{key} fell {fall:.1%} over the last {improve_window} epochs ({_fmt(ref)} -> "
        f"{_fmt(xs[-1])}) and is at its best at the last epoch",
        ("train for more epochs (e.g. twice as many, with early stopping to stop in time)",
         "or raise the learning rate a little"),
        len(xs))


def noisy(curves: Mapping[str, Sequence[float]], noise_tol: float = 0.08,
          min_epochs: int = 6) -> Finding | None:
    """The loss went back and forth from epoch to epoch instead of moving steadily.

    Over the second half of training, the back-and-forth movement is the total variation
    minus the net change, per epoch, relative to the mean level:
    ``(sum |x[i+1] - x[i]| - |x[-1] - x[0]|) / ((n - 1) * mean(x))``. A steady curve scores
    0 whatever its slope.

    Args:
        curves: per-epoch values by key.
        noise_tol: score above which a curve is noisy. Defaults to `0.08`.
        min_epochs: epochs needed before the rule looks. Defaults to `6`.

    Example:
        >>> noisy({"loss": [1.0, 0.9, 1.0, 0.8, 1.0, 0.7, 1.0, 0.6, 1.0, 0.5]}).name
        'noisy'
    """
    worst = None
    for key in ("loss", "val_loss"):
        xs = curves.get(key)
        if not xs or len(xs) < min_epochs or not _finite(xs):
            continue
        tail = xs[len(xs) // 2:]
        mean = sum(tail) / len(tail)
        if mean <= 0 or len(tail) < 3:
            continue
        tv = sum(abs(b - a) for a, b in zip(tail, tail[1:]))
        score = (tv - abs(tail[-1] - tail[0])) / ((len(tail) - 1) * mean)
        ups = sum(b > a for a, b in zip(tail, tail[1:]))
        if score > noise_tol and ups >= 2 and (worst is None or score > worst[1]):
            worst = (key, score, ups, len(tail))
    if worst is None:
        return None
    key, score, ups, n = worst
    return Finding(
        "noisy",
        f"{key} went back and forth by {score:.0%} of its level per epoch over the last {n} "
        f"epochs (rose in {ups} of {n - 1})",
        ("use a larger batch size", "lower the learning rate (or add a decay schedule)"),
        None)


RULES: dict[str, Callable[..., Finding | None]] = {
    "divergence": divergence,
    "overfitting": overfitting,
    "underfitting": underfitting,
    "still_improving": still_improving,
    "noisy": noisy,
}


def _params(rule: Callable) -> list[str]:
    return [p for p in inspect.signature(rule).parameters if p != "curves"]


def diagnose(history: Any, rules: Sequence[str] | None = None, **thresholds: Any
             ) -> list[Finding]:
    """Runs the rules over a training history and returns what they found.

    When the run diverged, only that finding is returned (the other rules would read noise).

    Args:
        history: a `History` (what `fit` returns), its ``.history`` dict, or any
            ``{key: per-epoch values}`` mapping.
        rules: names of the rules to run, from `RULES`. Defaults to `None` (all).
        **thresholds: any rule's thresholds by name, e.g. ``patience=5``, ``baseline=2.3``,
            ``noise_tol=0.1``.

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
    accepted = {p for n in names for p in _params(RULES[n])}
    for k in thresholds:
        if k not in accepted:
            raise TypeError(f"unknown threshold {k!r}; accepted: {', '.join(sorted(accepted))}")
    per_epoch = curves(history)
    found = []
    for n in names:
        rule = RULES[n]
        kw = {k: v for k, v in thresholds.items() if k in _params(rule)}
        f = rule(per_epoch, **kw)
        if f is not None:
            if n == "divergence":
                return [f]
            found.append(f)
    return found
