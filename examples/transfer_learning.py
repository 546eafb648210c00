"""Transfer learning, the Keras way: train a base model, freeze it, train a new head, fine-tune.

The flow of Keras's transfer-learning guide on the bundled 8x8 digits (no download):
task A classifies the digits 0-4, task B the digits 5-9. The base model learned on task A
becomes, frozen, the feature extractor of a new model for task B; only the new head
trains. Then the base is unfrozen and the whole model is fine-tuned with a small learning
rate (recompiling makes the changed ``trainable`` flags take effect, as in Keras).

The base is shared, not copied: ``model_b`` trains the very weights ``base`` holds.

Run: ``python examples/transfer_learning.py`` (a few seconds).
"""

import numpy as np

import lamina as keras
from lamina import layers

(x_train, y_train), (x_test, y_test) = keras.datasets.load_digits()
x_train = x_train.astype("float32") / 16
x_test = x_test.astype("float32") / 16


def task(x, y, digits):
    keep = np.isin(y, digits)
    return x[keep], (y[keep] - digits[0]).astype("int64")


xa, ya = task(x_train, y_train, [0, 1, 2, 3, 4])
xa_test, ya_test = task(x_test, y_test, [0, 1, 2, 3, 4])
xb, yb = task(x_train, y_train, [5, 6, 7, 8, 9])
xb_test, yb_test = task(x_test, y_test, [5, 6, 7, 8, 9])

# 1. The base model, trained on task A with its own head.
base = keras.Sequential([
    keras.Input(shape=(64,)),
    layers.Dense(64, activation="relu", name="features_1"),
    layers.Dense(32, activation="relu", name="features_2"),
], name="base", seed=0)
model_a = keras.Sequential([base, layers.Dense(5, activation="softmax", name="head_a")],
                           name="model_a", seed=1)
model_a.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                metrics=["accuracy"])
model_a.fit(xa, ya, epochs=20, batch_size=32, verbose=0)
_, acc_a = model_a.evaluate(xa_test, ya_test, verbose=0)
print(f"Task A accuracy: {acc_a:.4f}")

# 2. Freeze the base and train a new head on task B (functional style, as the guide does).
base.trainable = False
inputs = keras.Input(shape=(64,))
features = base(inputs, training=False)
outputs = layers.Dense(5, activation="softmax", name="head_b")(features)
model_b = keras.Model(inputs, outputs, name="model_b", seed=2)
model_b.summary()
before = [w.numpy() for w in base.weights]
model_b.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy",
                metrics=["accuracy"])
model_b.fit(xb, yb, epochs=15, batch_size=32, verbose=0)
assert all(np.array_equal(b, w.numpy()) for b, w in zip(before, base.weights))
print("Base unchanged while frozen.")
_, acc_frozen = model_b.evaluate(xb_test, yb_test, verbose=0)
print(f"Task B accuracy, frozen base: {acc_frozen:.4f}")

# 3. Unfreeze, recompile with a small learning rate, fine-tune everything.
base.trainable = True
model_b.compile(optimizer=keras.optimizers.Adam(1e-4), loss="sparse_categorical_crossentropy",
                metrics=["accuracy"])
model_b.fit(xb, yb, epochs=5, batch_size=32, verbose=0)
assert not all(np.array_equal(b, w.numpy()) for b, w in zip(before, base.weights))
_, acc_fine = model_b.evaluate(xb_test, yb_test, verbose=0)
print(f"Task B accuracy, fine-tuned: {acc_fine:.4f}")
