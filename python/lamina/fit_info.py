"""What a fit tells `lamina.diagnose` beyond its curves (``History.fit_info``): the batch
size, the sample counts, the loss and accuracy of a model that learned nothing, the gradient
sizes of saturating networks, and what early stopping and TerminateOnNaN did. Plain values
only, so a model holding its history still pickles.
"""

from __future__ import annotations

import numpy as np

from . import callbacks as callbacks_mod
from .diagnose import SATURATING, reference

__all__ = ["fit_info", "stop_info", "has_penalty"]


def fit_info(model, net, x, y, sw, batch_size, val):
    """What `lamina.diagnose` needs to know of a fit beyond its curves (History.fit_info):
    the batch size and sample counts, and the loss and accuracy a model that learned nothing
    gets on these training targets (`stop_info` adds what the callbacks did). Plain
    values only, so a model holding its history still pickles.

    ``x``, ``y``, ``sw`` are the prepared training arrays (a batch source's first batch);
    ``val`` the validation data (`lamina.data_adapters.ArrayEval` or ``BatchEval``, whose
    ``samples`` is None) or None.

    A network with two or more saturating hidden layers (sigmoid, tanh) also gets
    ``grad_rms``: the RMS gradient of each Dense kernel, first to last, on up to 256
    training rows before the first step (one core call, no update): how much smaller the
    first layer's gradient is shows vanishing gradients in numbers.
    """
    info = {"batch_size": int(batch_size), "samples": int(y.shape[0]),
            "validation_samples": 0 if val is None else val.samples,
            **reference(model._loss, y, model._out_dim())}
    hidden = [lay for lay in model.layers if getattr(lay, "kernel", None) is not None][:-1]
    if sum(getattr(lay, "activation", None) in SATURATING for lay in hidden) >= 2 and len(x):
        rows = slice(0, min(256, x.shape[0]))
        _, grads = net.gradients(x[rows], y[rows], None if sw is None else sw[rows], 0)
        names = [p["name"] for e in model._spec["layers"] for p in e.get("params", ())]
        info["grad_rms"] = [float(np.sqrt(np.mean(np.square(g, dtype=np.float64))))
                            for n, g in zip(names, grads) if n == "kernel"]
    return info


def stop_info(callbacks):
    """What early stopping and TerminateOnNaN did in a fit, as plain values (1-based)."""
    out = {"early_stopping": None, "terminate_on_nan": None}
    for cb in callbacks:
        if isinstance(cb, callbacks_mod.EarlyStopping):
            stopped = cb.stopped_epoch + 1 if cb.stopped_epoch else None
            restored = (cb.best_epoch + 1 if stopped and cb.restore_best_weights
                        and cb.best_weights is not None else None)
            out["early_stopping"] = {"stopped_epoch": stopped, "restored_epoch": restored}
        elif isinstance(cb, callbacks_mod.TerminateOnNaN):
            out["terminate_on_nan"] = {"stopped_batch": cb.stopped_batch}
    return out


def has_penalty(spec):
    """True when a trainable parameter of the core spec has an L1 or L2 factor, or a layer
    penalizes its activities (activity_regularization)."""
    layers = (spec or {}).get("layers", ())
    return any(p.get("trainable", True) and (p.get("l1", 0.0) or p.get("l2", 0.0))
               for entry in layers for p in entry.get("params", ())) or any(
        entry.get("type") == "activity_regularization" for entry in layers)
