"""`lamina train` stops a diverging run at its first NaN loss (TerminateOnNaN, on by default,
``training.terminate_on_nan``) and says so in its summary and diagnosis."""

import io

import numpy as np
import pytest

from lamina import callbacks
from lamina import plot as lplot
from lamina.experiment import train_run
from lamina.runfile import RunFileError, build_callbacks, load_run

SMALL = {"model": {"layers": [{"units": 32, "activation": "relu"},
                              {"units": 10, "activation": "softmax"}]},
         "training": {"optimizer": {"name": "sgd", "learning_rate": 10.0}, "epochs": 20}}


def kinds(run):
    return [type(cb).__name__ for cb in build_callbacks(run)]


def test_terminate_on_nan_is_on_by_default_and_can_be_turned_off():
    run = load_run(None)
    assert run["training"]["terminate_on_nan"] is True
    assert kinds(run) == ["TerminateOnNaN"]
    off = load_run(None, ["training.terminate_on_nan=false"])
    assert off["training"]["terminate_on_nan"] is False and kinds(off) == []
    assert "terminate_on_nan = false" in off.to_toml()
    assert load_run({"training": {"terminate_on_nan": False}}) == off
    with pytest.raises(RunFileError) as exc:
        load_run({"training": {"terminate_on_nan": "yes"}})
    assert exc.value.key == "training.terminate_on_nan"


def test_a_diverging_run_stops_at_once_and_the_summary_says_why(tmp_path, capsys):
    out = io.StringIO()
    res = train_run(load_run(SMALL), out_dir=tmp_path, stream=out)
    text = out.getvalue()
    h = res.history.history
    assert len(h["loss"]) == 1 and not np.isfinite(h["loss"][0])  # not 20 epochs of NaN
    assert "TerminateOnNaN: the loss became NaN/inf at batch" in text
    assert "the model keeps the last finite weights" in text
    assert all(np.isfinite(w).all() for w in res.model.weights)
    assert [f.name for f in res.findings] == ["divergence"]
    assert "learning_rate = 1 " in res.findings[0].suggestions[0]
    assert "diagnosis:\n  divergence:" in text and "TerminateOnNaN stopped the run" in text
    if lplot.available():
        assert (tmp_path / "learning_curves.png").stat().st_size > 1000
    # turned off, the run trains on through the NaN epochs, and the diagnosis still says it
    res = train_run(load_run(SMALL, ["training.terminate_on_nan=false"]), out_dir=None,
                    verbose=False)
    assert len(res.history.history["loss"]) == 20
    assert [f.name for f in res.findings] == ["divergence"]
    assert not any(isinstance(cb, callbacks.TerminateOnNaN) for cb in
                   build_callbacks(res.run))


def test_early_stopping_is_reported_once(tmp_path):
    out = io.StringIO()
    run = load_run({"data": {"max_samples": 300},
                    "model": {"layers": [{"units": 256, "activation": "relu"},
                                         {"units": 10, "activation": "softmax"}]},
                    "training": {"epochs": 60, "early_stopping": {"patience": 3}}})
    res = train_run(run, out_dir=None, stream=out)
    text = out.getvalue()
    stopped = len(res.history.history["loss"])
    assert stopped < 60
    assert text.count(f"early stopping ended the run at epoch {stopped}") == 1 + sum(
        f.name == "overfitting" for f in res.findings)
    assert not any("more epochs" in s for f in res.findings for s in f.suggestions)


def test_a_regularized_run_reports_its_data_loss():
    run = load_run({"data": {"max_samples": 200},
                    "model": {"layers": [{"units": 32, "activation": "relu", "l2": 1e-2},
                                         {"units": 10, "activation": "softmax"}]},
                    "training": {"epochs": 3}})
    res = train_run(run, out_dir=None, verbose=False)
    for part in (res.train, res.val, res.test):
        assert 0.0 < part["data_loss"] < part["loss"]
    h = res.history.history
    assert all(d < t for d, t in zip(h["data_loss"], h["loss"]))
    assert all(d < t for d, t in zip(h["val_data_loss"], h["val_loss"]))
