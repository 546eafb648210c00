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


# ---------------------------------------------------------------------------------------------
# What the run knows: the untrained loss, the learning rate, the initialization, the batch

LN10 = math.log(10)
SGD = dict(optimizer="sgd", learning_rate=0.01, default_learning_rate=0.01)


def info(**kw):
    base = dict(untrained_loss=LN10, chance_accuracy=0.1, **SGD)
    base.update(kw)
    return dg.RunInfo(**base)


def test_reference_losses_of_a_model_that_learned_nothing():
    ref = dg.reference
    assert ref("sparse_categorical_crossentropy", None, 10) == {
        "untrained_loss": pytest.approx(LN10), "chance_accuracy": 0.1, "n_classes": 10}
    assert ref("binary_crossentropy")["untrained_loss"] == pytest.approx(math.log(2))
    # with targets: the best constant prediction (the class prior, the mean, the median)
    y = np.array([0, 0, 0, 1])
    got = ref("sparse_categorical_crossentropy", y, 2)
    assert got["untrained_loss"] == pytest.approx(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25)))
    assert got["chance_accuracy"] == 0.75
    assert ref("categorical_crossentropy", np.eye(4)[[0, 1, 2, 3]], 4)["untrained_loss"] == \
        pytest.approx(math.log(4))
    assert ref("binary_crossentropy", [[1.0], [0.0]])["chance_accuracy"] == 0.5
    assert ref("mean_squared_error", [[1.0, 0.0], [3.0, 0.0]])["untrained_loss"] == 0.5
    assert ref("mean_absolute_error", [[1.0], [2.0], [9.0]])["untrained_loss"] == \
        pytest.approx(8 / 3)
    assert ref("mean_squared_error")["untrained_loss"] is None  # needs the targets


def test_divergence_judged_against_the_untrained_loss_not_epoch_1():
    # the blow-up made epoch 1 huge: the old rule called this healthy
    h = {"loss": [40.0, 9.0, 6.0, 5.5, 5.2, 5.1], "accuracy": [0.1, 0.1, 0.09, 0.1, 0.1, 0.09]}
    assert "divergence" not in names(h)  # the curves alone cannot tell
    fs = diagnose(h, info=info(learning_rate=10.0))
    assert [f.name for f in fs] == ["divergence"]
    assert "loss ended at 5.1, 2.21x the untrained loss 2.303" in fs[0].evidence
    assert "accuracy 0.09 (chance 0.1)" in fs[0].evidence
    assert "learning_rate = 1 (now 10; sgd's default is 0.01)" in fs[0].suggestions[0]
    # sat at the untrained loss and chance accuracy after a huge learning rate
    flat = {"loss": [9.0, 2.31, 2.303, 2.302, 2.302, 2.302], "accuracy": [0.1] * 6}
    fs = diagnose(flat, info=info(learning_rate=10.0))
    assert [f.name for f in fs] == ["divergence"] and "overshot" in fs[0].evidence
    # the same curve with a normal learning rate is not blamed on it
    assert "divergence" not in names(flat, info=info())


def test_unstable_high_learning_rate_without_a_blow_up():
    # val loss far above the untrained loss while accuracy is high: confident mistakes
    h = {"loss": [150, 180, 65, 85, 128, 190, 220, 150], "accuracy": [0.7, 0.9, 0.94] + [0.95] * 5,
         "val_loss": [140, 120, 113, 250, 200, 440, 360, 600],
         "val_accuracy": [0.88, 0.92, 0.94, 0.87, 0.95, 0.92, 0.94, 0.95]}
    adam1 = info(optimizer="adam", learning_rate=1.0, default_learning_rate=0.001)
    fs = diagnose(h, info=adam1)
    assert [f.name for f in fs] == ["unstable"]  # not overfitting, not noisy
    assert "600 ends 261x the untrained loss" in fs[0].evidence
    assert fs[0].suggestions[0].startswith("lower the learning rate 10x: learning_rate = 0.1")
    assert all("dropout" not in s for s in fs[0].suggestions)
    # a spike, no accuracy
    assert dg.unstable({"loss": [2.0, 1.0, 0.8, 2.5, 0.9]}).epoch == 4
    # with a moderate learning rate the rule stays quiet
    assert dg.unstable({"loss": [2.0, 1.0, 0.8, 2.5, 0.9]}, info()) is None


def test_initialization_constant_and_large():
    flat = {"loss": [2.304, 2.303, 2.303, 2.304, 2.303, 2.303, 2.303], "val_loss": [2.31] * 7}
    zeros = info(init_gain=(0.0, 0.0, 1.0), init_names=("Zeros", "Zeros", "GlorotUniform"))
    fs = diagnose(flat, info=zeros)
    assert [f.name for f in fs] == ["bad_initialization"]
    assert "symmetry" in fs[0].evidence and "layer 1 Zeros" in fs[0].evidence
    assert "glorot_uniform" in fs[0].suggestions[0] or "he_normal" in fs[0].suggestions[0]
    # without knowing the initializers: the generic "learned next to nothing"
    assert names(flat, baseline=LN10) == ["underfitting"]
    large = info(init_gain=(64.0, 64.0, 64.0), init_names=("RandomNormal",) * 3,
                 hidden_activations=("tanh",) * 2, hidden_units=(64, 64))
    gap = {"loss": list(2.0 * np.exp(-E / 4)), "val_loss": list(0.8 + 1.2 * np.exp(-E / 4))}
    fs = diagnose(gap, info=large)
    assert [f.name for f in fs] == ["bad_initialization"]  # not "add dropout"
    assert "var(W) x fan_in = 64" in fs[0].evidence


def test_vanishing_gradients_and_learning_rate_too_low():
    plateau = {"loss": [2.33, 2.31, 2.31, 2.30, 2.30, 2.30, 2.31, 2.30]}
    sig = info(hidden_activations=("sigmoid",) * 3, hidden_units=(64,) * 3)
    fs = diagnose(plateau, info=sig)
    assert [f.name for f in fs] == ["vanishing_gradients"]
    assert "3 hidden layers use sigmoid" in fs[0].evidence and "relu" in fs[0].suggestions[0]
    assert "vanishing_gradients" not in names(plateau, info=info(hidden_activations=("relu",)))
    slow = {"loss": list(2.5 - 0.007 * E), "val_loss": list(2.48 - 0.006 * E)}
    low = info(learning_rate=1e-4)
    fs = diagnose(slow, info=low)
    assert [f.name for f in fs] == ["learning_rate_too_low"]
    assert fs[0].suggestions == ("raise the learning rate: learning_rate = 0.001 (now 0.0001; "
                                 "sgd's default is 0.01)",)
    assert "learning_rate_too_low" not in names(slow, info=info())


def test_underfitting_advice_fits_the_run():
    narrow = info(hidden_units=(1,), dropout=(0.5,), l2=1e-3, l1=0.0, optimizer="adam",
                  learning_rate=0.001, default_learning_rate=0.001)
    tips = " | ".join(diagnose(UNDERFIT, info=narrow)[0].suggestions)
    assert "the narrowest hidden layer has 1 unit: try 64" in tips
    assert "reduce the regularization (dropout 0.5, l2 0.001)" in tips
    assert "learning rate" not in tips and "epochs" not in tips
    plain = info(hidden_units=(2,), dropout=(), l1=0.0, l2=0.0)
    assert "regularization" not in " ".join(diagnose(UNDERFIT, info=plain)[0].suggestions)


def test_noise_measure_and_batch_noise():
    # a U-shaped curve (overfitting) is not noise; a zigzag is
    assert dg.noisy(OVERFIT) is None
    jitter = {"val_loss": [0.45, 0.26, 0.24, 0.35, 0.33, 0.39, 0.32, 0.33, 0.35, 0.36, 0.38]}
    assert dg.noisy(jitter) is None  # too little for a batch of 32
    f = dg.noisy(jitter, dg.RunInfo(batch_size=1, samples=480, learning_rate=0.05,
                                    optimizer="sgd", default_learning_rate=0.01))
    assert "batch size 1, 480 noisy steps per epoch" in f.evidence
    assert f.suggestions[0].startswith("use a larger batch size")
    # noise on a loss near 0 counts at the scale of the untrained loss
    tiny = {"loss": [2.0, 0.3, 0.01, 0.02, 0.01, 0.02, 0.01, 0.02, 0.01]}
    assert dg.noisy(tiny, dg.RunInfo(untrained_loss=LN10)) is None


def test_data_loss_is_what_the_rules_read():
    # the penalty-included loss keeps falling; the data loss shows the overfitting
    h = {"loss": list(3.0 - 0.05 * E), "val_loss": list(3.1 - 0.04 * E),
         "data_loss": OVERFIT["loss"], "val_data_loss": OVERFIT["val_loss"]}
    fs = diagnose(h)
    assert [f.name for f in fs] == ["overfitting"] and "val_data_loss rose" in fs[0].evidence
    assert dg.loss_keys(h) == ("data_loss", "val_data_loss")


def test_regression_far_from_zero_is_not_called_divergence():
    # targets around 100 with variance 1: an untrained net starts near 1e4 and comes down
    slow = {"loss": [9000.0, 4000.0, 1500.0, 600.0, 200.0, 60.0]}
    mse = dg.RunInfo(loss="mean_squared_error", untrained_loss=1.0, **SGD)
    assert "divergence" not in names(slow, info=mse)
    stalled = {"loss": [9000.0, 400.0, 60.0, 55.0, 58.0, 57.0]}
    assert names(stalled, info=mse) == ["divergence"]
    # a spike near 0 (dropout noise on a memorized set) is no instability
    assert dg.unstable({"loss": [2.0, 0.5, 0.01, 0.004, 0.015, 0.003]}) is None
