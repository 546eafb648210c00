"""Small helpers the rules share: number formatting and the words of their evidence and advice."""

from __future__ import annotations

import math
from typing import Mapping, Sequence

from .run_info import LARGE_INIT_GAIN, RunInfo


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
