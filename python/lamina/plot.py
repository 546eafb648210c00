"""Learning-curve figures (matplotlib, from the ``plot`` extra: ``pip install 'lamina[plot]'``).

Figures are drawn on a `matplotlib.figure.Figure` directly (no pyplot, no global backend
state), so they work in scripts, servers and tests alike.

Example:
    >>> from lamina import plot
    >>> h = {"loss": [1.0, 0.5, 0.3], "val_loss": [1.1, 0.6, 0.5],
    ...      "accuracy": [0.6, 0.8, 0.9], "val_accuracy": [0.55, 0.75, 0.8]}
    >>> fig = plot.learning_curves(h) if plot.available() else None
"""

from __future__ import annotations

import os
from typing import Any, Mapping, Sequence

from .diagnose import curves as _read_curves  # History or dict -> {key: [floats]}

__all__ = ["available", "INSTALL_HINT", "learning_curves", "compare_curves"]

INSTALL_HINT = "pip install 'lamina[plot]'"


def available() -> bool:
    """True when matplotlib can be imported.

    Example:
        >>> available() in (True, False)
        True
    """
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _figure(ncols: int):
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(f"plotting needs matplotlib: {INSTALL_HINT}") from exc
    fig = Figure(figsize=(5.0 * ncols, 3.8), layout="constrained")
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, axes


def _finish(fig, title, path):
    """Titles the figure and saves it to ``path`` (when given); returns it."""
    if title:
        fig.suptitle(title)
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig


def _metric_keys(curves: Mapping[str, Sequence[float]]) -> list[str]:
    return [k for k in curves if not k.startswith("val_") and k not in ("loss", "learning_rate",
                                                                         "lr")]


def learning_curves(history: Any, path: str | os.PathLike | None = None,
                    title: str | None = None, findings: Sequence[Any] = ()):
    """Loss and the first metric per epoch, training vs validation, side by side.

    Args:
        history: a `History` or a ``{key: per-epoch values}`` dict.
        path: where to save the PNG; None only returns the figure. Defaults to `None`.
        title: figure title. Defaults to `None`.
        findings: `lamina.diagnose.Finding` objects; those with an epoch are marked with a
            dotted vertical line on the loss panel. Defaults to `()`.

    Returns:
        The matplotlib `Figure`.

    Raises:
        ImportError: matplotlib is not installed (the message says how to get it).

    Example:
        >>> h = {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}
        >>> fig = learning_curves(h, title="run") if available() else None
    """
    curves = _read_curves(history)
    metrics = _metric_keys(curves)
    panels = ["loss"] + metrics[:1]
    fig, axes = _figure(len(panels))
    for ax, key in zip(axes, panels):
        for k, style, label in ((key, "-", "train"), (f"val_{key}", "--", "validation")):
            if k in curves:
                xs = curves[k]
                ax.plot(range(1, len(xs) + 1), xs, style, marker="o", markersize=3, label=label)
        if key == "loss":
            for f in findings:
                if getattr(f, "epoch", None):
                    ax.axvline(f.epoch, color="gray", linestyle=":",
                               label=f"{f.name} (epoch {f.epoch})")
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        ax.legend()
    return _finish(fig, title, path)


def compare_curves(histories: Mapping[str, Any], path: str | os.PathLike | None = None,
                   keys: Sequence[str] | None = None, title: str | None = None):
    """Several runs' curves on shared axes (validation loss, then a validation metric).

    Args:
        histories: run name -> `History` or ``{key: per-epoch values}``.
        path: where to save the PNG; None only returns the figure. Defaults to `None`.
        keys: the curves to draw, one panel each. Defaults to `None`: ``val_loss`` and the
            first ``val_`` metric (falling back to training curves for runs without
            validation).
        title: figure title. Defaults to `None`.

    Returns:
        The matplotlib `Figure`.

    Example:
        >>> runs = {"a": {"val_loss": [1.0, 0.6]}, "b": {"val_loss": [1.0, 0.4]}}
        >>> fig = compare_curves(runs) if available() else None
    """
    all_curves = {name: _read_curves(h) for name, h in histories.items()}
    if keys is None:
        keys = ["val_loss"]
        for c in all_curves.values():
            ms = [k for k in c if k.startswith("val_") and k != "val_loss"]
            if ms:
                keys.append(ms[0])
                break
    fig, axes = _figure(len(keys))
    for ax, key in zip(axes, keys):
        for name, c in all_curves.items():
            k = key if key in c else key.removeprefix("val_")
            if k in c:
                xs = c[k]
                label = name if k == key else f"{name} ({k})"
                ax.plot(range(1, len(xs) + 1), xs, label=label)
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    return _finish(fig, title, path)
