"""What the monitoring callbacks share: the direction of a monitored log key, its value."""

from __future__ import annotations

import warnings


def resolve_mode(monitor, mode, name):
    """Returns "min" or "max" for ``mode`` ("auto": max for accuracies and AUC, else min)."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{name} mode {mode!r} is not one of auto, min, max")
    if mode == "auto":
        m = monitor[4:] if monitor.startswith("val_") else monitor
        mode = "max" if (m in ("acc", "accuracy", "auc") or m.endswith("accuracy")
                         or m.endswith("_acc") or m.endswith("auc")) else "min"
    return mode


def monitored(owner, monitor, logs):
    """Returns ``logs[monitor]``; when it is missing, warns naming ``owner`` and returns None."""
    current = logs.get(monitor)
    if current is None:
        warnings.warn(f"{owner} monitors {monitor!r}, which is not in the logs (available: "
                      f"{', '.join(sorted(logs))})", RuntimeWarning, stacklevel=3)
    return current
