"""The bundled examples: each lesson shows its claim in numbers; they ship and copy out;
keras_style.py (a Keras-docs-style MLP) runs with `import lamina as keras`."""

import functools
import importlib.util
import math
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

from lamina import cli, examples

EXAMPLE = examples.HERE / "keras_style.py"
LN10 = math.log(10)


def test_example_differs_from_keras_only_in_the_import():
    text = EXAMPLE.read_text()
    imports = [line for line in text.splitlines() if re.match(r"(import|from) \w", line)]
    assert "import lamina as keras" in imports
    assert [i for i in imports if "lamina" in i] == ["import lamina as keras",
                                                     "from lamina import layers"]


@pytest.mark.slow
def test_keras_style_example_runs(tmp_path):
    r = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True,
                       timeout=600, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    acc = float(re.search(r"Test accuracy: ([0-9.]+)", r.stdout).group(1))
    assert acc >= 0.95
    assert "Restored model predicts the same." in r.stdout


def readme_usage_block():
    readme = (pathlib.Path(__file__).resolve().parents[1] / "README.md").read_text()
    usage = readme.split("## Usage", 1)[1]
    return usage.split("```python", 1)[1].split("```", 1)[0]


def test_readme_usage_example_runs(tmp_path):
    code = readme_usage_block()
    assert "import lamina as keras" in code
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=600, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    loss, acc = (float(v) for v in r.stdout.strip().strip("[]").split(","))
    assert acc > 0.9
    assert (tmp_path / "digits.lamina").exists()


# The Keras 3 guide "Training & evaluation with the built-in methods", first section, with
# the data swapped for the bundled digits; everything else as the guide writes it.
KERAS_GUIDE = """
import numpy as np
import lamina as keras
from lamina import layers

inputs = keras.Input(shape=(64,), name="digits")
x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
x = layers.Dense(64, activation="relu", name="dense_2")(x)
outputs = layers.Dense(10, activation="softmax", name="predictions")(x)

model = keras.Model(inputs=inputs, outputs=outputs)

(x_train, y_train), (x_test, y_test) = keras.datasets.load_digits()

# Preprocess the data (these are NumPy arrays)
x_train = x_train.reshape(-1, 64).astype("float32") / 16
x_test = x_test.reshape(-1, 64).astype("float32") / 16

y_train = y_train.astype("float32")
y_test = y_test.astype("float32")

# Reserve 200 samples for validation
x_val = x_train[-200:]
y_val = y_train[-200:]
x_train = x_train[:-200]
y_train = y_train[:-200]

model.compile(
    optimizer=keras.optimizers.RMSprop(),  # Optimizer
    # Loss function to minimize
    loss=keras.losses.SparseCategoricalCrossentropy(),
    # List of metrics to monitor
    metrics=[keras.metrics.SparseCategoricalAccuracy()],
)

print("Fit model on training data")
history = model.fit(
    x_train,
    y_train,
    batch_size=64,
    epochs=20,
    # We pass some validation for
    # monitoring validation loss and metrics
    # at the end of each epoch
    validation_data=(x_val, y_val),
    callbacks=[
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2),
        keras.callbacks.CSVLogger("training.csv"),
        keras.callbacks.ModelCheckpoint("best.keras", monitor="val_loss", save_best_only=True),
    ],
    verbose=0,
)
print(history.history.keys())

# Evaluate the model on the test data using `evaluate`
print("Evaluate on test data")
results = model.evaluate(x_test, y_test, batch_size=128)
print("test loss, test acc:", results)

# Generate predictions (probabilities -- the output of the last layer)
# on new data using `predict`
print("Generate predictions for 3 samples")
predictions = model.predict(x_test[:3])
print("predictions shape:", predictions.shape)
best = keras.models.load_model("best.keras")
print("best val acc:", best.evaluate(x_val, y_val, verbose=0)[1])
"""


def test_keras_guide_functional_script_runs(tmp_path):
    r = subprocess.run([sys.executable, "-c", KERAS_GUIDE], capture_output=True, text=True,
                       timeout=600, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "predictions shape: (3, 10)" in r.stdout
    assert "sparse_categorical_accuracy" in r.stdout and "val_loss" in r.stdout
    acc = float(r.stdout.split("test loss, test acc:")[1].split("]")[0].split(",")[1])
    assert acc > 0.9
    assert (tmp_path / "training.csv").exists() and (tmp_path / "best.keras").exists()


# ---- the bundled examples: shipped, listed, found by name, copied out ----

def test_examples_ship_inside_the_installed_package():
    assert "site-packages" in examples.HERE.parts
    assert (examples.HERE / "clusters.npz").is_file()
    assert (examples.HERE / "sweeps" / "adam_space.toml").is_file()
    grouped = {f for g in examples.GROUPS for f in g.files}
    assert grouped == set(examples.names())  # every bundled run file belongs to a lesson


def test_every_lesson_changes_one_thing():
    from lamina.runfile import load_run

    for g in examples.GROUPS:
        runs = [load_run(examples.find(f)) for f in g.files]
        for r in runs:  # the same data, split and seed for every run of a lesson
            assert r["data"] == runs[0]["data"] and r["preprocessing"] == runs[0]["preprocessing"]
            assert r["training"]["seed"] == runs[0]["training"]["seed"]
            assert r["training"]["validation_split"] * 4800 >= 960  # a large validation set


def test_lamina_examples_lists_the_lessons(capsys):
    assert cli.main(["examples"]) == 0
    out = capsys.readouterr().out
    for g in examples.GROUPS:
        assert f"{g.name}: {' '.join(g.files)}" in out


def test_lamina_examples_copy_writes_runnable_files(tmp_path, capsys):
    from lamina.runfile import load_run

    assert cli.main(["examples", "copy", str(tmp_path / "ex")]) == 0
    assert "wrote" in capsys.readouterr().out
    copied = tmp_path / "ex" / "dropout.toml"
    run = load_run(copied)
    assert run["data"]["source"] == str((tmp_path / "ex" / "clusters.npz").resolve())
    assert (tmp_path / "ex" / "sweeps" / "adam_space.toml").is_file()
    # a second copy does not overwrite silently
    assert cli.main(["examples", "copy", str(tmp_path / "ex")]) == 2
    assert "exists" in capsys.readouterr().err
    assert cli.main(["examples", "copy", str(tmp_path / "ex"), "--force"]) == 0
    assert cli.main(["examples", "copy"]) == 2
    assert "copy needs a folder" in capsys.readouterr().err


def test_train_finds_a_bundled_example_by_name(tmp_path, capsys):
    code = cli.main(["train", "units_2", "--set", "training.epochs=1", "--out",
                     str(tmp_path / "o"), "--quiet"])
    assert code == 0
    assert "clusters.npz" in (tmp_path / "o" / "run.toml").read_text()
    assert cli.main(["train", "dropuot"]) == 2
    err = capsys.readouterr().err
    assert "'dropuot' is neither a run file nor a bundled example" in err


# ---- each lesson shows its claim, in numbers ----

@functools.lru_cache(maxsize=None)
def history(name):
    from lamina.experiment import train_run

    res = train_run(str(examples.find(name)), out_dir=None, verbose=False)
    return {k: np.asarray(v, dtype=float) for k, v in res.history.history.items()}


def rises(v):
    return int((np.diff(v) > 0).sum())


@pytest.mark.slow
def test_layers_and_units_lesson():
    small, wide, deep = (history(n) for n in ("units_2", "units_128", "layers_3"))
    assert small["val_loss"].min() > 1.8 and small["loss"][-1] > 1.8      # underfits
    assert small["val_accuracy"][-1] < 0.35
    for h in (wide, deep):
        assert h["val_loss"].min() < 1.1 and h["val_accuracy"].max() > 0.7


@pytest.mark.slow
def test_activation_lesson():
    sig, tanh, relu = (history(n) for n in ("sigmoid", "tanh", "relu"))
    assert abs(sig["val_loss"][-1] - LN10) < 0.02 and abs(sig["loss"][-1] - LN10) < 0.03
    assert tanh["val_loss"][-1] < 1.5 and relu["val_loss"][-1] < 1.5


@pytest.mark.slow
def test_epochs_lesson():
    short, long, stop = (history(n) for n in ("epochs_10", "epochs_100", "early_stopping"))
    assert np.all(np.diff(short["val_loss"]) < 0)           # still falling when it stops
    best = int(long["val_loss"].argmin())
    assert 10 < best < 40                                     # the minimum comes later
    assert long["val_loss"][-1] > long["val_loss"][best] + 0.5  # and it turns up
    assert long["loss"][-1] < 0.05
    np.testing.assert_array_equal(short["val_loss"], long["val_loss"][:10])  # one run, cut
    assert len(stop["loss"]) < 40 and int(stop["val_loss"].argmin()) == best


@pytest.mark.slow
def test_batch_size_lesson():
    one, b32, full = (history(n) for n in ("batch_size_1", "batch_size_32", "batch_size_full"))
    assert rises(one["val_loss"]) >= 10 and rises(b32["val_loss"]) == 0
    assert one["val_loss"].min() < b32["val_loss"].min()     # many small steps: fast start
    assert rises(full["val_loss"]) == 0
    assert full["val_loss"][0] - full["val_loss"][-1] < 0.2   # one step per epoch: slow
    assert full["val_loss"][-1] > 2.3


@pytest.mark.slow
def test_optimizer_lesson():
    sgd = history("sgd")
    for name in ("momentum", "rmsprop", "adam"):
        h = history(name)
        assert h["val_loss"].min() < sgd["val_loss"].min() - 0.15, name


@pytest.mark.slow
def test_learning_rate_lesson():
    low, good, high, div = (history(n) for n in ("lr_too_low", "lr_good", "lr_too_high",
                                                 "lr_diverging"))
    assert low["val_loss"][-1] > 2.1 and low["val_loss"][0] - low["val_loss"][-1] < 0.4
    assert good["val_loss"][-1] < 1.05
    assert high["loss"][-1] > good["loss"][-1] + 0.3          # cannot settle in a minimum
    assert rises(high["val_loss"]) >= 8 and high["val_accuracy"][-1] < 0.65
    assert not np.isfinite(div["loss"]).all() and np.isfinite(div["loss"][0])


@pytest.mark.slow
def test_initialization_lesson():
    zeros, large, glorot, he = (history(n) for n in (
        "init_zeros", "init_large_normal", "init_glorot_uniform", "init_he_normal"))
    assert np.all(np.abs(zeros["val_loss"] - LN10) < 0.02)
    assert large["val_loss"].min() > 1.9 and large["loss"][-1] < 1.5  # memorizes
    assert glorot["val_loss"].min() < 1.1 and he["val_loss"].min() < 1.2


@pytest.mark.slow
def test_l1_l2_lesson():
    none = history("no_regularization")
    assert none["val_loss"][-1] > none["val_loss"].min() + 0.7  # overfits
    for name in ("l1", "l2"):
        h = history(name)
        assert h["val_loss"][-1] < none["val_loss"][-1] - 0.5, name
        assert h["val_accuracy"][-1] > none["val_accuracy"][-1] + 0.02, name


@pytest.mark.slow
def test_dropout_lesson():
    none, drop = history("no_regularization"), history("dropout")
    assert drop["val_loss"].min() < none["val_loss"].min() - 0.03
    gap = lambda h: h["val_loss"][-1] - h["loss"][-1]  # noqa: E731
    assert gap(drop) < gap(none) / 3
    assert drop["val_accuracy"][-1] > none["val_accuracy"][-1] + 0.03


# examples/keras_docs_metrics.py: AUC, Precision, Recall, confusion counts, a custom metric,
# label smoothing and a generator, as the Keras guides write them (issue 15).
DOCS_METRICS = pathlib.Path(__file__).resolve().parents[1] / "examples" / "keras_docs_metrics.py"


def _run_docs_metrics(path, cwd, env=None):
    r = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                       timeout=600, cwd=cwd, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    binary = dict(kv.split("=") for kv in re.search(r"Binary test metrics: (.*)",
                                                    r.stdout).group(1).split(", "))
    keys = re.search(r"History keys: (.*)", r.stdout).group(1)
    acc, auc, top2 = (float(v) for v in re.search(
        r"Test accuracy: ([0-9.]+)  AUC: ([0-9.]+)  top-2 accuracy: ([0-9.]+)",
        r.stdout).groups())
    return binary, keys, (acc, auc, top2)


def test_keras_docs_metrics_example_differs_from_keras_only_in_the_import():
    imports = [line for line in DOCS_METRICS.read_text().splitlines()
               if re.match(r"(import|from) \w", line)]
    assert [i for i in imports if "lamina" in i] == ["import lamina as keras",
                                                     "from lamina import layers, ops"]


def test_keras_docs_metrics_example_runs(tmp_path):
    pytest.importorskip("sklearn")
    binary, keys, (acc, auc, top2) = _run_docs_metrics(DOCS_METRICS, tmp_path)
    assert set(binary) == {"loss", "fn", "fp", "tn", "tp", "precision", "recall", "auc", "prc"}
    tp, fn = float(binary["tp"]), float(binary["fn"])
    assert tp + fn == 41  # the 9s of the test split, counted by TruePositives + FalseNegatives
    assert float(binary["recall"]) == pytest.approx(tp / (tp + fn), abs=1e-4)
    assert float(binary["auc"]) > 0.95
    assert acc > 0.9 and auc > 0.98 and top2 >= acc


def test_keras_docs_metrics_example_matches_keras(tmp_path):
    """The same script under Keras 3 (imports swapped back) logs the same keys and reaches
    a comparable accuracy."""
    pytest.importorskip("sklearn")
    pytest.importorskip("keras")
    text = DOCS_METRICS.read_text().replace("import lamina as keras", "import keras").replace(
        "from lamina import layers, ops", "from keras import layers, ops")
    path = tmp_path / "keras_version.py"
    path.write_text(text)
    env = {**__import__("os").environ, "KERAS_BACKEND": "torch",
           "PYTHONWARNINGS": "ignore"}
    if importlib.util.find_spec("torch") is None:
        pytest.skip("Keras's torch backend needs torch")
    k_binary, k_keys, (k_acc, _, _) = _run_docs_metrics(path, tmp_path, env)
    binary, keys, (acc, _, _) = _run_docs_metrics(DOCS_METRICS, tmp_path)
    assert keys == k_keys
    assert set(binary) == set(k_binary)
    assert abs(acc - k_acc) < 0.05
