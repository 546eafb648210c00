"""Rules about how well the model fits: underfitting, overfitting, still improving, noise."""

from __future__ import annotations

import math
from typing import Mapping, Sequence

from .run_info import SMALL_BATCH, Finding, RunInfo
from .curves import loss_keys
from ._words import _finite, _fmt, _info, _lower_lr, _accuracy_words


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
