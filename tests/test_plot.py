"""Learning-curve figures at the extremes: log axis, NaN epochs, untrained loss, colours."""

import math

import numpy as np
import pytest

from lamina import plot
from lamina.diagnose import Finding, RunInfo

pytestmark = pytest.mark.skipif(not plot.available(), reason="needs matplotlib")

NAN = float("nan")
E = np.arange(20)
HEALTHY = {"loss": list(0.1 + 2.2 * np.exp(-E / 3)),
           "val_loss": list(0.15 + 2.2 * np.exp(-E / 3)),
           "accuracy": list(1 - 0.9 * np.exp(-E / 3)),
           "val_accuracy": list(0.97 - 0.87 * np.exp(-E / 3))}
BLOWUP = {"loss": [2.0 * 30.0 ** i for i in range(10)],  # up to ~4e13, as lr = 2 does
          "val_loss": [2.5 * 30.0 ** i for i in range(10)]}
INFO = RunInfo(untrained_loss=2.302, chance_accuracy=0.1)


def legend(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_loss_axis_turns_logarithmic_beyond_100x():
    fig = plot.learning_curves(BLOWUP, info=INFO)
    assert fig.axes[0].get_yscale() == "log"
    fig = plot.learning_curves(HEALTHY, info=INFO)
    ax = fig.axes[0]
    assert ax.get_yscale() == "linear" and ax.get_ylim()[0] == 0.0
    assert ax.get_ylim()[1] >= 2.302  # the untrained loss stays in view
    assert fig.axes[1].get_ylim() == (0.0, 1.02)  # accuracy on its whole range
    fig = plot.compare_curves({"lr 2": BLOWUP, "lr 0.01": HEALTHY})
    assert fig.axes[0].get_yscale() == "log"


def test_flat_run_looks_flat_next_to_the_untrained_loss():
    flat = {"loss": [2.33, 2.31, 2.30, 2.29, 2.27, 2.25, 2.22],
            "val_loss": [2.32, 2.31, 2.30, 2.30, 2.28, 2.26, 2.23]}
    fig = plot.learning_curves(flat, info=INFO)
    ax = fig.axes[0]
    assert ax.get_ylim()[0] == 0.0  # not autoscaled to 2.22-2.34
    assert "untrained loss 2.3" in legend(ax)
    line = next(ln for ln in ax.get_lines() if ln.get_label() == "untrained loss 2.3")
    assert list(line.get_ydata()) == [2.302, 2.302] and line.get_linestyle() == "--"


def test_non_finite_epochs_are_marked_not_dropped(tmp_path):
    h = {"loss": [2.0, 1.5, NAN, NAN, math.inf], "val_loss": [2.1, 1.7, NAN, NAN, NAN],
         "accuracy": [0.3, 0.4, 0.1, 0.1, 0.1]}
    fig = plot.learning_curves(h, tmp_path / "nan.png", info=INFO,
                               findings=[Finding("divergence", "loss became nan", (), 3)])
    ax = fig.axes[0]
    labels = legend(ax)
    assert "train NaN/inf (epochs 3-5)" in labels and "validation NaN/inf (epochs 3-5)" in labels
    marks = next(ln for ln in ax.get_lines() if ln.get_label() == "train NaN/inf (epochs 3-5)")
    assert list(marks.get_xdata()) == [3, 4, 5] and marks.get_marker() == "x"
    assert labels[-1] == "divergence (epoch 3)"
    assert (tmp_path / "nan.png").stat().st_size > 1000
    # a run with no finite loss at all (TerminateOnNaN after one epoch) still says what it is
    fig = plot.learning_curves({"loss": [NAN], "val_loss": [NAN]}, info=INFO)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["no finite loss: NaN/inf in epoch 1"]
    fig = plot.compare_curves({"lr 10": {"loss": [NAN], "val_loss": [NAN]}, "ok": HEALTHY})
    assert legend(fig.axes[0])[0] == "lr 10 (NaN/inf from epoch 1)"


def test_one_run_one_colour_family():
    fig = plot.learning_curves(HEALTHY)
    lines = {ln.get_label(): ln for ln in fig.axes[0].get_lines()}
    assert lines["validation"].get_color() == plot.VAL_COLOR
    assert lines["train"].get_color() == plot.TRAIN_COLOR
    assert lines["validation"].get_linestyle() == "-" and lines["train"].get_linestyle() == "--"
    fig = plot.compare_curves({"a": HEALTHY, "b": HEALTHY})
    by_color = {}
    for ln in fig.axes[0].get_lines():
        if len(ln.get_xdata()) == 20:
            by_color.setdefault(ln.get_color(), []).append(ln.get_linestyle())
    assert len(by_color) == 2  # a colour per run: its validation solid, its training dotted
    assert all(sorted(styles) == ["-", ":"] for styles in by_color.values())


def test_regularized_runs_show_their_data_loss():
    h = {"loss": [2.5, 1.5, 1.2, 1.0, 0.9], "data_loss": [2.2, 1.0, 0.5, 0.3, 0.2],
         "val_loss": [2.6, 1.8, 1.6, 1.6, 1.7], "val_data_loss": [2.3, 1.3, 1.0, 1.0, 1.1]}
    fig = plot.learning_curves(h)
    ax = fig.axes[0]
    assert ax.get_ylabel() == "data loss (no penalty)"
    lines = {ln.get_label(): list(ln.get_ydata()) for ln in ax.get_lines()}
    assert lines["train"] == h["data_loss"] and lines["validation"] == h["val_data_loss"]
    assert lines["train loss incl. L1/L2 penalty"] == h["loss"]
    fig = plot.compare_curves({"l2": h})
    assert list(fig.axes[0].get_lines()[0].get_ydata()) == h["val_data_loss"]


def test_learning_curves_png_of_a_real_history_draws_the_untrained_loss(tmp_path):
    import lamina

    x = np.random.default_rng(0).normal(size=(60, 4))
    y = (x[:, 0] > 0).astype(np.int64)
    model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(2, "softmax")], seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    h = model.fit(x, y, epochs=3, validation_split=0.2, verbose=0)
    fig = plot.learning_curves(h, tmp_path / "h.png")
    p = np.bincount(y[:48], minlength=2) / 48
    entropy = float(-(p * np.log(p)).sum())
    assert f"untrained loss {entropy:.3g}" in legend(fig.axes[0])
    assert f"chance accuracy {p.max():.3g}" in legend(fig.axes[1])
