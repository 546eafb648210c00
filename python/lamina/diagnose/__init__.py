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
from typing import Any, Callable, Sequence

from .curves import curves, loss_keys
from .rules_fit import noisy, overfitting, still_improving, underfitting
from .rules_training import (bad_initialization, divergence, learning_rate_too_low, unstable,
                             vanishing_gradients)
from .run_info import (HIGH_LR_FACTOR, LARGE_INIT_GAIN, LOW_LR_FACTOR, SATURATING,  # noqa: F401
                       SMALL_BATCH, Finding, RunInfo, reference, run_info)

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
