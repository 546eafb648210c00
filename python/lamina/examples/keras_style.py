"""Simple MLP classifier, written the way the Keras 3 documentation writes it.

The only lamina-specific line is the import: with `import keras` (and the same data) the
rest of this script runs on Keras 3 unchanged. The data are the 8x8 handwritten digits
bundled with lamina, so nothing is downloaded.

Run: python examples/keras_style.py
"""

import os
import tempfile

import numpy as np

import lamina as keras
from lamina import layers

# Model / data parameters
num_classes = 10
input_shape = (64,)

# Load the data and split it between train and test sets
(x_train, y_train), (x_test, y_test) = keras.datasets.load_digits()

# Scale pixel intensities (0..16) to the [0, 1] range
x_train = x_train.astype("float32") / 16
x_test = x_test.astype("float32") / 16
print("x_train shape:", x_train.shape)
print(x_train.shape[0], "train samples")
print(x_test.shape[0], "test samples")

keras.utils.set_random_seed(1337)

model = keras.Sequential(
    [
        keras.Input(shape=input_shape),
        layers.Dense(128, activation="relu"),
        layers.Dropout(0.2),
        layers.Dense(64, activation="relu"),
        layers.Dropout(0.2),
        layers.Dense(num_classes, activation="softmax"),
    ]
)
model.summary()

batch_size = 32
epochs = 30

model.compile(
    loss=keras.losses.SparseCategoricalCrossentropy(),
    optimizer=keras.optimizers.Adam(learning_rate=1e-3),
    metrics=[keras.metrics.SparseCategoricalAccuracy(name="acc")],
)

callbacks = [
    keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True),
]

history = model.fit(
    x_train,
    y_train,
    batch_size=batch_size,
    epochs=epochs,
    validation_split=0.15,
    callbacks=callbacks,
    verbose=2,
)

score = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", score[0])
print("Test accuracy:", score[1])

predictions = model.predict(x_test[:5], verbose=0)
print("Predicted classes:", np.argmax(predictions, axis=1), "true:", y_test[:5])

# Save the whole model (architecture, weights, optimizer state) and load it back.
path = os.path.join(tempfile.mkdtemp(), "final_model.keras")
model.save(path)
restored = keras.models.load_model(path)
np.testing.assert_allclose(restored.predict(x_test[:5], verbose=0), predictions)
print("Restored model predicts the same.")
