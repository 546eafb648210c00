"""Rules about how training went: divergence, instability, initialization, vanishing
gradients, a learning rate too low."""

from __future__ import annotations

import math
from typing import Mapping, Sequence

from .run_info import SATURATING, SMALL_BATCH, Finding, RunInfo
from .curves import loss_keys
from ._words import (_accuracy_keys, _finite, _fmt, _info, _lower_lr, _lr_words, _accuracy_words,
                     _near_chance, _init_words, _clip_hint, _fit_init_hint)


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
