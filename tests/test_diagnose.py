"""Diagnosis rules on constructed learning curves: each fires on its pattern only."""

import math

import numpy as np
import pytest

from lamina import diagnose as dg
from lamina.diagnose import Finding, diagnose

E = np.arange(30)

HEALTHY = {  # fast fall, then both curves flatten together with a small gap
    "loss": list(0.08 + 2.2 * np.exp(-E / 3)),
    "val_loss": list(0.12 + 2.2 * np.exp(-E / 3)),
    "accuracy": list(1 - 0.9 * np.exp(-E / 3)),
}
OVERFIT = {  # val_loss bottoms out and climbs while the training loss keeps falling
    "loss": list(2.0 * np.exp(-E / 4)),
    "val_loss": list(0.3 + 2.0 * np.exp(-E / 4) + 0.02 * np.maximum(E - 8, 0) ** 1.3),
}
GAP = {  # val flat (never rises) but ends far above a training loss that went to ~0
    "loss": list(1.5 * np.exp(-E / 3)),
    "val_loss": list(0.5 + 1.0 * np.exp(-E / 3) - 0.0001 * E),
}
UNDERFIT = {  # barely below ln(10) and flat
    "loss": list(2.1 + 0.2 * np.exp(-E / 2)),
    "val_loss": list(2.12 + 0.2 * np.exp(-E / 2)),
}
STILL_IMPROVING = {  # steady fall, no plateau
    "loss": list(2.3 * np.exp(-E / 15)),
    "val_loss": list(0.05 + 2.3 * np.exp(-E / 15)),
}
NOISY = {  # a flat level with epoch-to-epoch jumps of +-20%
    "loss": list(0.5 + 0.4 * np.exp(-E / 2) + 0.1 * (-1.0) ** E),
    "val_loss": list(0.55 + 0.4 * np.exp(-E / 2) + 0.12 * (-1.0) ** (E + 1)),
}
DIVERGED_NAN = {"loss": [2.3, 1.5, 4.0, float("nan"), float("nan")],
                "val_loss": [2.3, 1.6, 5.0, float("nan"), float("nan")]}
DIVERGED_BLOWUP = {"loss": [2.3, 1.2, 0.9, 1.5, 4.0, 9.0, 30.0],
                   "val_loss": [2.3, 1.3, 1.0, 2.0, 5.0, 12.0, 40.0]}


def names(h, **kw):
    return [f.name for f in diagnose(h, **kw)]


def test_healthy_run_is_silent():
    assert diagnose(HEALTHY) == []
    assert diagnose(HEALTHY, baseline=math.log(10)) == []


def test_overfitting_val_loss_rising():
    fs = diagnose(OVERFIT)
    assert [f.name for f in fs] == ["overfitting"]
    f = fs[0]
    best = int(np.argmin(OVERFIT["val_loss"])) + 1
    assert f.epoch == best and "val_loss rose" in f.evidence and f"epoch {best}" in f.evidence
    assert any("dropout" in s for s in f.suggestions)
    assert any("early" in s for s in f.suggestions)
    assert any("L2" in s for s in f.suggestions)


def test_overfitting_growing_gap():
    fs = diagnose(GAP)
    assert "overfitting" in [f.name for f in fs]
    f = next(f for f in fs if f.name == "overfitting")
    assert "gap" in f.evidence
    # the gap test has thresholds a user can raise
    assert "overfitting" not in names(GAP, gap_ratio=1e9)
    assert "overfitting" not in names(GAP, min_gap=10.0)


def test_overfitting_thresholds():
    assert "overfitting" not in names(OVERFIT, patience=50, gap_ratio=1e9)
    assert "overfitting" not in names(OVERFIT, min_rise=10.0, gap_ratio=1e9)
    # without validation data there is nothing to compare
    assert dg.overfitting({"loss": OVERFIT["loss"]}) is None


def test_underfitting():
    fs = diagnose(UNDERFIT, baseline=math.log(10))
    assert [f.name for f in fs] == ["underfitting"]
    f = fs[0]
    assert "stays above 50%" in f.evidence and "2.303" in f.evidence
    assert any("units" in s for s in f.suggestions)
    assert any("learning rate" in s for s in f.suggestions)
    assert any("epochs" in s for s in f.suggestions)
    # without a baseline the first epoch's loss stands in
    assert "underfitting" in names(UNDERFIT)
    assert "underfitting" not in names(UNDERFIT, baseline=math.log(10), high=0.95)
    assert "learned next to nothing" not in f.evidence
    stuck = diagnose({"loss": [2.31] * 10, "val_loss": [2.31] * 10}, baseline=math.log(10))
    assert "learned next to nothing" in stuck[0].evidence
    assert "initializers" in stuck[0].suggestions[0]
    # a high loss that is still falling fast is not underfitting (yet)
    assert dg.underfitting(STILL_IMPROVING, baseline=100.0) is None


def test_divergence_nan():
    fs = diagnose(DIVERGED_NAN)
    assert len(fs) == 1 and fs[0].name == "divergence"
    assert "nan" in fs[0].evidence and fs[0].epoch == 4
    assert any("learning rate" in s for s in fs[0].suggestions)
    assert any("clip" in s for s in fs[0].suggestions)


def test_divergence_blowup():
    fs = diagnose(DIVERGED_BLOWUP)
    assert [f.name for f in fs] == ["divergence"]
    assert "epoch 3" in fs[0].evidence
    assert dg.divergence(DIVERGED_BLOWUP, explode_ratio=100.0) is None


def test_still_improving():
    fs = diagnose(STILL_IMPROVING)
    assert [f.name for f in fs] == ["still_improving"]
    assert "val_loss fell" in fs[0].evidence
    assert any("more epochs" in s for s in fs[0].suggestions)
    assert dg.still_improving(STILL_IMPROVING, min_improvement=0.5) is None
    # without validation data it reads the training loss
    assert "loss fell" in dg.still_improving({"loss": STILL_IMPROVING["loss"]}).evidence


def test_noisy():
    fs = diagnose(NOISY)
    assert "noisy" in [f.name for f in fs]
    f = next(f for f in fs if f.name == "noisy")
    assert "back and forth" in f.evidence
    assert any("batch size" in s for s in f.suggestions)
    assert dg.noisy(NOISY, noise_tol=1.0) is None
    # a steep but steady curve is not noisy
    assert dg.noisy(STILL_IMPROVING) is None and dg.noisy(OVERFIT) is None


def test_short_histories_stay_quiet():
    for h in ({"loss": [2.3]}, {"loss": [2.3, 2.3], "val_loss": [2.3, 2.3]}, {}):
        assert diagnose(h) == []
    # two falling epochs: still improving, and nothing else can be told yet
    assert names({"loss": [2.3, 1.0], "val_loss": [2.3, 1.1]}) == ["still_improving"]


def test_accepts_a_history_object_and_rule_subsets():
    class History:
        history = OVERFIT

    assert names(History()) == ["overfitting"]
    assert names(OVERFIT, rules=["noisy"]) == []
    with pytest.raises(ValueError, match="unknown diagnosis rule 'overfit'"):
        diagnose(OVERFIT, rules=["overfit"])
    with pytest.raises(TypeError, match="unknown threshold 'patiense'"):
        diagnose(OVERFIT, patiense=3)
    with pytest.raises(TypeError, match="History"):
        diagnose([1, 2, 3])


def test_finding_text():
    f = Finding("overfitting", "val_loss rose", ("add dropout", "stop early"), 3)
    assert str(f) == "overfitting: val_loss rose\n  try: add dropout; stop early"


@pytest.mark.parametrize("rule", list(dg.RULES.values()), ids=list(dg.RULES))
def test_every_rule_is_documented_with_its_thresholds(rule):
    doc = rule.__doc__
    assert doc and "Args:" in doc
    import inspect

    for p in list(inspect.signature(rule).parameters)[1:]:
        assert f"{p}:" in doc and "Defaults to" in doc


def test_plots_draw_with_and_without_validation_curves(tmp_path):
    from lamina import plot

    if not plot.available():
        with pytest.raises(ImportError, match=r"pip install 'lamina\[plot\]'"):
            plot.learning_curves(HEALTHY)
        return
    fig = plot.learning_curves(HEALTHY, tmp_path / "a.png", title="healthy")
    assert [ax.get_ylabel() for ax in fig.axes] == ["loss", "accuracy"]
    assert (tmp_path / "a.png").stat().st_size > 1000
    fig = plot.learning_curves(OVERFIT, findings=diagnose(OVERFIT))
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels[-1].startswith("overfitting (epoch ")
    fig = plot.learning_curves({"loss": [1.0, 0.5]})  # no metric, no validation
    assert [ax.get_ylabel() for ax in fig.axes] == ["loss"]
    fig = plot.compare_curves({"a": HEALTHY, "b": {"loss": [1.0, 0.4]}}, tmp_path / "c.png")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["a", "b (loss)"]  # a run without validation falls back to training


def test_plot_without_matplotlib_says_how_to_get_it(monkeypatch):
    import sys

    from lamina import plot

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    assert not plot.available()
    with pytest.raises(ImportError, match=r"pip install 'lamina\[plot\]'"):
        plot.learning_curves(HEALTHY)


def test_curves_reads_histories_dicts_and_one_value_metrics():
    class H:
        history = {"loss": [1, 0.5], "val_loss": np.array([1.5, 0.75])}

    assert dg.curves(H()) == {"loss": [1.0, 0.5], "val_loss": [1.5, 0.75]}
    got = dg.curves({"loss": (2, 1), "test_accuracy": np.float32(0.5), "done": True,
                     "note": "x", "lr": [object()]})
    assert got == {"loss": [2.0, 1.0], "test_accuracy": [0.5]}
    with pytest.raises(TypeError, match="History or a dict.*list"):
        dg.curves([1.0, 2.0])
