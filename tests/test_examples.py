"""examples/keras_style.py (a Keras-docs-style MLP) runs with `import lamina as keras`."""

import pathlib
import re
import subprocess
import sys

import pytest

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "keras_style.py"


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
