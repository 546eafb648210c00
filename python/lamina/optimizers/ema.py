"""Exponential moving average of the weights (Keras 3's ``use_ema`` optimizer argument).

After each optimizer step, every trainable weight's average moves toward it:
``average = m * average + (1 - m) * weight``, with ``m = ema_momentum`` except on the
optimizer's very first step, where ``m = 0`` (the average starts at the weights). Every
``ema_overwrite_frequency`` steps the weights are set to their averages, and at the end of
``fit`` the model keeps the averages (Keras's ``finalize_variable_values``). The averages
live on the optimizer (``optimizer.ema_averages``) beside its slots; the core's fused step
is unchanged, the average costs one pass over the weights in numpy per step. The
averages are saved with the optimizer's state (``saved`` / ``restore``), so a loaded model
resumes its average where it stopped.

Example:
    >>> import numpy as np
    >>> from lamina.optimizers import SGD
    >>> opt = SGD(use_ema=True, ema_momentum=0.5)
    >>> w = np.zeros(2)
    >>> update(opt, [w], 0); w += 4.0; update(opt, [w], 1)
    >>> opt.ema_averages[0].tolist()
    [2.0, 2.0]
    >>> finalize(opt, [w]); w.tolist()
    [2.0, 2.0]
"""

from __future__ import annotations

import numpy as np

__all__ = ["update", "finalize", "wrap_step", "trained_arrays", "saved", "restore"]


def trained_arrays(spec) -> list:
    """The live arrays of the parameters that train, in the core spec's order."""
    return [p["value"] for entry in (spec or {}).get("layers", ())
            for p in entry.get("params", ()) if p.get("trainable", True)]


def _averages(opt, params):
    """The optimizer's averages for ``params`` (new copies when the parameters changed)."""
    avgs = getattr(opt, "ema_averages", None)
    if avgs is None or len(avgs) != len(params) or any(
            a.shape != p.shape or a.dtype != p.dtype for a, p in zip(avgs, params)):
        avgs = [p.copy() for p in params]
        opt.ema_averages = avgs
        opt._ema_scratch = [np.empty_like(p) for p in params]
    return avgs


def update(opt, params, iterations):
    """Moves the averages toward ``params`` after the step that ``iterations`` (the steps
    before it) counts, and overwrites the weights every ``ema_overwrite_frequency`` steps.

    Args:
        opt: The optimizer (``use_ema`` set).
        params: The live arrays of the trained parameters.
        iterations: Optimizer steps done before this one.
    """
    avgs = _averages(opt, params)
    m = opt.ema_momentum if iterations != 0 else 0.0
    for avg, tmp, p in zip(avgs, opt._ema_scratch, params):
        np.multiply(p, 1.0 - m, out=tmp)
        np.multiply(avg, m, out=avg)
        np.add(avg, tmp, out=avg)
    freq = opt.ema_overwrite_frequency
    if freq and (iterations + 1) % freq == 0:
        finalize(opt, params)


def finalize(opt, params):
    """Sets the weights to their averages (the end of ``fit``)."""
    avgs = getattr(opt, "ema_averages", None)
    if avgs is None or len(avgs) != len(params):
        return
    for avg, p in zip(avgs, params):
        if avg.shape == p.shape:
            p[...] = avg


def wrap_step(train_step, opt, params):
    """``train_step(x, y, sample_weight, lr, step)`` followed by the averages' update."""
    def step(x, y, sw, lr, t, _step=train_step):
        r = _step(x, y, sw, lr, t)
        update(opt, params, t - 1)
        return r
    return step


def saved(opt):
    """The averages to save with the optimizer (None before its first averaged step)."""
    return getattr(opt, "ema_averages", None) if opt.use_ema else None


def restore(opt, averages):
    """Installs saved ``averages`` (one array per trained parameter, model order)."""
    opt.ema_averages = [np.array(a) for a in averages]
    opt._ema_scratch = [np.empty_like(a) for a in opt.ema_averages]
