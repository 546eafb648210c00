"""Learning-curve figures (matplotlib, from the ``plot`` extra: ``pip install 'lamina[plot]'``).

Figures are drawn on a `matplotlib.figure.Figure` directly (no pyplot, no global backend
state), so they work in scripts, servers and tests alike. What they show, so that the
extremes stay readable:

- the loss axis turns logarithmic when the finite losses span more than 100x (a diverging
  run next to a healthy one); else it starts at 0, so a flat curve looks flat;
- epochs whose value is NaN or infinite are marked with an ``x`` along the top of the
  panel (and counted in the legend), not silently dropped;
- a dashed line at the untrained loss (the loss of a model that learned nothing, from
  `lamina.diagnose.run_info`) and at the chance accuracy;
- training and validation of one run share a colour family (validation solid and dark,
  training dashed or dotted and lighter);
- for a regularized model the loss panel shows the data loss (``data_loss``, without the
  L1/L2 penalties) and, faintly, Keras's penalty-included ``loss``;
- the diagnosis: a vertical line at each finding's epoch (the best epoch of an overfitting
  run, where a divergence starts).

Example:
    >>> from lamina import plot
    >>> h = {"loss": [1.0, 0.5, 0.3], "val_loss": [1.1, 0.6, 0.5],
    ...      "accuracy": [0.6, 0.8, 0.9], "val_accuracy": [0.55, 0.75, 0.8]}
    >>> fig = plot.learning_curves(h) if plot.available() else None
"""

from __future__ import annotations

import math
import os
from typing import Any, Mapping, Sequence

from .diagnose import RunInfo, loss_keys, run_info
from .diagnose import curves as _read_curves  # History or dict -> {key: [floats]}

__all__ = ["available", "INSTALL_HINT", "LOG_SPAN", "VAL_COLOR", "TRAIN_COLOR", "learning_curves",
           "compare_curves"]

INSTALL_HINT = "pip install 'lamina[plot]'"
# The loss axis is logarithmic when its finite positive values span more than this.
LOG_SPAN = 100.0
# One run's curves share a colour family: validation dark and solid, training light.
VAL_COLOR, TRAIN_COLOR = "#1f4e9c", "#6fa8dc"
# Findings that point at an epoch worth marking: where a divergence or an instability
# starts, the best epoch of an overfitting run.
_MARKED = {"divergence": "tab:red", "unstable": "tab:red", "overfitting": "tab:purple"}


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
    fig = Figure(figsize=(5.2 * ncols, 3.9), layout="constrained")
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
    return [k for k in curves if not k.startswith("val_") and k not in (
        "loss", "data_loss", "learning_rate", "lr")]


def _is_accuracy(key: str) -> bool:
    return "accuracy" in key


def _finite_points(xs: Sequence[float]):
    """(epochs, values) of the finite values; epochs are 1-based."""
    pts = [(i + 1, x) for i, x in enumerate(xs) if math.isfinite(x)]
    return [p[0] for p in pts], [p[1] for p in pts]


def _bad_epochs(xs: Sequence[float]) -> list[int]:
    return [i + 1 for i, x in enumerate(xs) if not math.isfinite(x)]


def _epoch_span(epochs: list[int]) -> str:
    if len(epochs) == 1:
        return f"epoch {epochs[0]}"
    if epochs == list(range(epochs[0], epochs[-1] + 1)):
        return f"epochs {epochs[0]}-{epochs[-1]}"
    return f"{len(epochs)} epochs"


def _epoch_axis(ax, n: int) -> None:
    """Whole epochs on the x axis, with room around a one-epoch run."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(0.5, max(n, 2) + 0.5)


def _scale_loss_axis(ax, values: Sequence[float], untrained: float | None) -> None:
    """Log scale when the finite positive values span more than LOG_SPAN, else from 0."""
    pos = [v for v in values if math.isfinite(v) and v > 0]
    if pos and max(pos) / min(pos) > LOG_SPAN:
        ax.set_yscale("log")
        return
    finite = [v for v in values if math.isfinite(v)]
    top = max(finite + ([untrained] if untrained else []), default=1.0)
    if min(finite, default=0.0) >= 0.0:
        ax.set_ylim(0.0, top * 1.08 if top > 0 else 1.0)


def _mark_bad(ax, epochs: list[int], color: str, label: str | None) -> None:
    """An x per non-finite epoch along the top of the panel (axes coordinates in y)."""
    if not epochs:
        return
    ax.plot(epochs, [0.97] * len(epochs), linestyle="none", marker="x", color=color,
            markersize=6, transform=ax.get_xaxis_transform(), clip_on=False,
            label=label or "_nolegend_")


def _reference_line(ax, key: str, info: RunInfo, label: bool = True) -> None:
    if _is_accuracy(key):
        value, what = info.chance_accuracy, "chance accuracy"
    else:
        value, what = info.untrained_loss, "untrained loss"
    if value is None:
        return
    ax.axhline(value, color="gray", linestyle="--", linewidth=1.0,
               label=f"{what} {value:.3g}" if label else "_nolegend_")


def learning_curves(history: Any, path: str | os.PathLike | None = None,
                    title: str | None = None, findings: Sequence[Any] = (),
                    info: RunInfo | None = None):
    """Loss and the first metric per epoch, training vs validation, side by side.

    Args:
        history: a `History` or a ``{key: per-epoch values}`` dict.
        path: where to save the PNG; None only returns the figure. Defaults to `None`.
        title: figure title. Defaults to `None`.
        findings: `lamina.diagnose.Finding` objects; a divergence, an instability and an
            overfitting are marked with a dotted vertical line at their epoch on the loss
            panel. Defaults to `()`.
        info: what the run knows (the untrained loss and chance accuracy are drawn as
            dashed lines). Defaults to `None` (`lamina.diagnose.run_info` of `history`).

    Returns:
        The matplotlib `Figure`.

    Raises:
        ImportError: matplotlib is not installed (the message says how to get it).

    Example:
        >>> h = {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}
        >>> fig = learning_curves(h, title="run") if available() else None
    """
    curves = _read_curves(history)
    if info is None:
        info = run_info(history)
    metrics = _metric_keys(curves)
    train_key, val_key = loss_keys(curves)
    panels = [train_key] + metrics[:1]
    fig, axes = _figure(len(panels))
    for ax, key in zip(axes, panels):
        vkey = val_key if key == train_key else f"val_{key}"
        drawn: list[float] = []
        for k, style, label, color in ((key, "--", "train", TRAIN_COLOR),
                                        (vkey, "-", "validation", VAL_COLOR)):
            if k not in curves:
                continue
            xs = curves[k]
            ep, vals = _finite_points(xs)
            drawn += vals
            ax.plot(ep, vals, style, marker="o", markersize=3, color=color, label=label)
            bad = _bad_epochs(xs)
            _mark_bad(ax, bad, color, f"{label} NaN/inf ({_epoch_span(bad)})" if bad else None)
        if key == train_key and key == "data_loss" and "loss" in curves:
            ep, vals = _finite_points(curves["loss"])
            ax.plot(ep, vals, ":", color=TRAIN_COLOR, linewidth=1.2,
                    label="train loss incl. L1/L2 penalty")
            drawn += vals
        _reference_line(ax, key, info)
        if key == train_key:
            _scale_loss_axis(ax, drawn, info.untrained_loss)
            if not drawn and curves.get(key):
                ax.text(0.5, 0.5, f"no finite {key}: NaN/inf in "
                        f"{_epoch_span(_bad_epochs(curves[key]))}", transform=ax.transAxes,
                        ha="center", color="tab:red")
            for f in findings:
                if getattr(f, "epoch", None) and f.name in _MARKED:
                    ax.axvline(f.epoch, color=_MARKED[f.name], linestyle=":",
                               label=f"{f.name} (epoch {f.epoch})")
        elif _is_accuracy(key):
            ax.set_ylim(0.0, 1.02)
        _epoch_axis(ax, max((len(curves.get(k, ())) for k in (key, vkey)), default=1))
        ax.set_xlabel("epoch")
        ax.set_ylabel(key.replace("data_loss", "data loss (no penalty)")
                      if key == "data_loss" else key)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    return _finish(fig, title, path)


def compare_curves(histories: Mapping[str, Any], path: str | os.PathLike | None = None,
                   keys: Sequence[str] | None = None, title: str | None = None):
    """Several runs' curves on shared axes (validation loss, then a validation metric).

    Each run has one colour: its validation curve solid, its training curve dotted and
    faint; regularized runs show their data loss (without the penalties).

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
    infos = {name: run_info(h) for name, h in histories.items()}
    if keys is None:
        keys = ["val_loss"]
        for c in all_curves.values():
            ms = [k for k in c if k.startswith("val_") and k not in ("val_loss",
                                                                      "val_data_loss")]
            if ms:
                keys.append(ms[0])
                break
    fig, axes = _figure(len(keys))
    for ax, key in zip(axes, keys):
        is_loss = key in ("val_loss", "loss")
        drawn: list[float] = []
        refs: list[tuple[float, str]] = []
        any_bad = False
        for i, (name, c) in enumerate(all_curves.items()):
            color = f"C{i % 10}"
            want = key
            if is_loss:  # a regularized run's data loss
                want = loss_keys(c)[1] if key == "val_loss" else loss_keys(c)[0]
            k = want if want in c else want.removeprefix("val_")
            if k not in c:
                continue
            xs = c[k]
            ep, vals = _finite_points(xs)
            drawn += vals
            bad = _bad_epochs(xs)
            label = name if k == want else f"{name} ({k})"
            if bad:
                label += f" (NaN/inf from epoch {bad[0]})"
            ax.plot(ep, vals, "-", color=color, label=label)
            _mark_bad(ax, bad, color, None)
            train_k = k.removeprefix("val_")
            if k.startswith("val_") and train_k in c:
                tep, tvals = _finite_points(c[train_k])
                ax.plot(tep, tvals, ":", color=color, alpha=0.6, linewidth=1.0,
                        label="_nolegend_")
                drawn += tvals
                tbad = _bad_epochs(c[train_k])
                _mark_bad(ax, tbad, color, None)
                bad = bad or tbad
            any_bad = any_bad or bool(bad)
            ref = (infos[name].chance_accuracy if _is_accuracy(key)
                   else infos[name].untrained_loss if is_loss else None)
            if ref is not None:
                refs.append((ref, color))
        if refs:
            values = [r for r, _ in refs]
            if max(values) - min(values) <= 0.02 * max(abs(max(values)), 1e-12):
                what = "chance accuracy" if _is_accuracy(key) else "untrained loss"
                ax.axhline(values[0], color="gray", linestyle="--", linewidth=1.0,
                           label=f"{what} {values[0]:.3g}")
            else:
                for r, color in refs:
                    ax.axhline(r, color=color, linestyle="--", linewidth=0.8, alpha=0.7,
                               label="_nolegend_")
        if is_loss:
            _scale_loss_axis(ax, drawn, max((r for r, _ in refs), default=None))
        elif _is_accuracy(key):
            ax.set_ylim(0.0, 1.02)
        if any_bad:
            ax.text(0.01, 0.02, "x: NaN/inf epochs", transform=ax.transAxes,
                    fontsize="small", color="gray")
        _epoch_axis(ax, max((len(v) for c in all_curves.values() for v in c.values()),
                            default=1))
        ax.set_xlabel("epoch (solid: validation, dotted: training)")
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    return _finish(fig, title, path)
