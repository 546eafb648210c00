"""KerasTuner's tuners on lamina models (``from lamina import keras_tuner``)."""

import json
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

import lamina  # noqa: E402

try:  # first: it chooses a Keras backend when none is set, before KerasTuner imports Keras
    from lamina import keras_tuner  # noqa: E402
except ImportError as exc:  # no KerasTuner (lamina[tuner])
    pytest.skip(str(exc), allow_module_level=True)

import keras_tuner as real_kt  # noqa: E402

# KerasTuner itself calls threading.currentThread() (deprecated) in its oracle.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:keras_tuner")

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / \
    "keras_tuner_getting_started.py"


def build_model(hp):
    model = lamina.Sequential(seed=0)
    model.add(lamina.layers.Dense(hp.Int("units", 8, 32, step=8), activation="relu"))
    model.add(lamina.layers.Dense(3, activation="softmax"))
    model.compile(optimizer=lamina.optimizers.Adam(hp.Choice("lr", [1e-2, 1e-3])),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(90, 4)).astype("float32")
    y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5).astype(int)
    return x[:60], y[:60], x[60:], y[60:]


# BayesianOptimization's Gaussian process (scikit-learn, inside KerasTuner) warns when the
# few trials' scores leave a length scale at its bound, which depends on the CPU's last bits
# (the Zen 4 GEMM gave it, the Zen 3 one did not): KerasTuner's fit, not lamina's.
@pytest.mark.filterwarnings("ignore:The optimal value found for dimension")
@pytest.mark.parametrize("name, kw", [
    ("RandomSearch", dict(max_trials=3)),
    ("GridSearch", dict(max_trials=8)),
    ("BayesianOptimization", dict(max_trials=3, num_initial_points=2)),
    ("Hyperband", dict(max_epochs=4, factor=2)),
])
def test_each_tuner_is_keras_tuners_and_tunes_lamina_models(tmp_path, name, kw, capsys):
    cls = getattr(keras_tuner, name)
    assert issubclass(cls, getattr(real_kt, name))
    tuner = cls(build_model, objective="val_accuracy", directory=str(tmp_path),
                project_name="p", seed=0, **kw)
    x, y, xv, yv = data()
    tuner.search(x, y, epochs=3, validation_data=(xv, yv), verbose=0)
    trials = tuner.oracle.get_best_trials(num_trials=100)
    assert len(trials) >= 2 if name != "GridSearch" else len(trials) == 8
    best_model = tuner.get_best_models(1)[0]
    assert isinstance(best_model, lamina.Sequential)
    # The reloaded model holds the best epoch's weights: it scores the trial's best value.
    best = trials[0]
    acc = best_model.evaluate(xv, yv, verbose=0, return_dict=True)["accuracy"]
    assert acc == pytest.approx(best.score)
    hp = tuner.get_best_hyperparameters(1)[0]
    assert hp.values["units"] == best.hyperparameters.values["units"]
    trial_dir = tmp_path / "p" / f"trial_{best.trial_id}"
    assert (trial_dir / "checkpoint.weights.npz").is_file()
    assert json.loads((trial_dir / "build_config.json").read_text()) == {
        "input_shape": [None, 4]}
    tuner.results_summary(1)
    out = capsys.readouterr().out
    assert "Results summary" in out and f"Trial {best.trial_id} summary" in out
    # A second tuner on the same directory reloads the finished search (KerasTuner's layout).
    again = cls(build_model, objective="val_accuracy", directory=str(tmp_path),
                project_name="p", seed=0, **kw)
    assert again.oracle.get_best_trials(1)[0].trial_id == best.trial_id


def test_a_build_function_returning_no_model_is_refused(tmp_path):
    tuner = keras_tuner.RandomSearch(lambda hp: "not a model", objective="val_loss",
                                     max_trials=1, directory=str(tmp_path))
    x, y, xv, yv = data()
    with pytest.raises(real_kt.errors.FatalTypeError, match="lamina"):
        tuner.search(x, y, epochs=1, validation_data=(xv, yv), verbose=0)


def test_getting_started_example_differs_from_kerastuners_only_in_imports_and_data():
    text = EXAMPLE.read_text()
    imports = [line for line in text.splitlines() if re.match(r"(import|from) \w", line)]
    assert [i for i in imports if "lamina" in i] == ["import lamina as keras",
                                                     "from lamina import keras_tuner, layers"]
    for call in ("def build_model(hp)", "keras_tuner.Hyperband(", "tuner.search(",
                 "tuner.results_summary()", "tuner.get_best_models(num_models=2)",
                 "tuner.get_best_hyperparameters(5)"):
        assert call in text


@pytest.mark.slow
def test_getting_started_example_runs(tmp_path):
    r = subprocess.run([sys.executable, str(EXAMPLE), "--directory", str(tmp_path),
                        "--max-epochs", "4"], capture_output=True, text=True, timeout=600,
                       cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Results summary" in r.stdout and "Trial 0000 summary" in r.stdout
    acc = float(re.search(r"test accuracy of the retrained best model: ([0-9.]+)",
                          r.stdout).group(1))
    assert acc > 0.85
    assert list((tmp_path / "helloworld").glob("trial_*/checkpoint.weights.npz"))
