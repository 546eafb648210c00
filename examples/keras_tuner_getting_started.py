"""KerasTuner's "Getting started with KerasTuner" on lamina models.

The script is the guide's (https://keras.io/guides/keras_tuner/getting_started/) with two
changes: the imports (``import lamina as keras``, ``from lamina import keras_tuner``), and
the data, which are lamina's bundled 8x8 digits instead of a downloaded MNIST (so it runs
offline in seconds; sizes are scaled down to match). Everything else - ``build_model(hp)``,
the tuner, ``search``, ``results_summary``, ``get_best_models``,
``get_best_hyperparameters`` - is KerasTuner's own API running lamina models.

Run: ``pip install 'lamina[tuner]'`` then ``python examples/keras_tuner_getting_started.py``
(``--directory DIR`` chooses where KerasTuner keeps its trials; default: a temp folder).
"""

import argparse
import tempfile

import numpy as np

import lamina as keras
from lamina import keras_tuner, layers

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--directory", default=None)
parser.add_argument("--max-epochs", type=int, default=6)
args = parser.parse_args()
directory = args.directory or tempfile.mkdtemp(prefix="keras_tuner_")


def build_model(hp):
    model = keras.Sequential()
    model.add(layers.Flatten())
    # Tune the number of layers.
    for i in range(hp.Int("num_layers", 1, 3)):
        model.add(
            layers.Dense(
                # Tune number of units separately.
                units=hp.Int(f"units_{i}", min_value=32, max_value=256, step=32),
                activation=hp.Choice("activation", ["relu", "tanh"]),
            )
        )
    if hp.Boolean("dropout"):
        model.add(layers.Dropout(rate=0.25))
    model.add(layers.Dense(10, activation="softmax"))
    learning_rate = hp.Float("lr", min_value=1e-4, max_value=1e-2, sampling="log")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


build_model(keras_tuner.HyperParameters())

tuner = keras_tuner.Hyperband(
    hypermodel=build_model,
    objective="val_accuracy",
    max_epochs=args.max_epochs,
    factor=3,
    seed=0,
    overwrite=True,
    directory=directory,
    project_name="helloworld",
)
tuner.search_space_summary()

# The data: lamina's bundled digits (the guide downloads MNIST here).
(x, y), (x_test, y_test) = keras.datasets.load_digits()
x = x.astype("float32") / 16.0
x_test = x_test.astype("float32") / 16.0
num_classes = 10
y = keras.utils.to_categorical(y, num_classes)
y_test = keras.utils.to_categorical(y_test, num_classes)
x_train, x_val = x[:-300], x[-300:]
y_train, y_val = y[:-300], y[-300:]

tuner.search(x_train, y_train, epochs=args.max_epochs, validation_data=(x_val, y_val),
             verbose=0)

# Get the top 2 models.
models = tuner.get_best_models(num_models=2)
best_model = models[0]
best_model.summary()

tuner.results_summary()

# Get the top 5 hyperparameters.
best_hps = tuner.get_best_hyperparameters(5)
# Build the model with the best hp.
model = build_model(best_hps[0])
# Fit with the entire dataset.
x_all = np.concatenate((x_train, x_val))
y_all = np.concatenate((y_train, y_val))
model.fit(x=x_all, y=y_all, epochs=args.max_epochs, verbose=0)
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"best hyperparameters: {best_hps[0].values}")
print(f"test accuracy of the retrained best model: {accuracy:.3f}")
