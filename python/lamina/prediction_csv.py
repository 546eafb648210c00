"""The predictions CSV that ``lamina predict`` writes, a chunk of rows at a time:
``index,prediction[,label],p_0,...`` (``p_j`` only for models with several outputs)."""

from __future__ import annotations

__all__ = ["write_prediction_rows"]


def write_prediction_rows(w, probs, y, start: int) -> int:
    """Writes the rows of ``probs`` numbered from ``start`` (the header before row 0).

    Args:
        w: A ``csv.writer``.
        probs: The model's outputs for these rows, shape ``(k, outputs)``.
        y: Their labels as the loss takes them (``(k,)`` indices, one-hot or a column),
            or None.
        start: The index of the first row.

    Returns:
        The index of the next row.

    Example:
        >>> import csv, io
        >>> import numpy as np
        >>> buf = io.StringIO()
        >>> write_prediction_rows(csv.writer(buf), np.array([[0.2, 0.8]]), None, 0)
        1
        >>> buf.getvalue().splitlines()
        ['index,prediction,p_0,p_1', '0,1,0.2,0.8']
    """
    k = probs.shape[1]
    labels = None
    if y is not None:
        labels = y if y.ndim == 1 else (y.argmax(axis=1) if y.shape[1] > 1 else y[:, 0])
    if start == 0:
        w.writerow(["index", "prediction", *(["label"] if labels is not None else []),
                    *(f"p_{j}" for j in range(k))] if k > 1 else
                   ["index", "prediction", *(["label"] if labels is not None else [])])
    for i in range(probs.shape[0]):
        pred = int(probs[i].argmax()) if k > 1 else float(probs[i, 0])
        row = [start + i, pred]
        if labels is not None:
            row.append(labels[i].item() if hasattr(labels[i], "item") else labels[i])
        if k > 1:
            row.extend(f"{p:.6g}" for p in probs[i])
        w.writerow(row)
    return start + int(probs.shape[0])
