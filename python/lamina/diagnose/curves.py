"""The one reader of training histories: ``curves(history)`` and the loss keys to judge."""

from __future__ import annotations

import numbers
from typing import Any, Mapping, Sequence



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
