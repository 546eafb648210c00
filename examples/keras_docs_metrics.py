"""Keras's classification metrics, a custom metric, label smoothing and a generator.

Written as the Keras guides write them (the imbalanced-classification guide's confusion
metrics, AUC and PR-AUC with class weights; a custom metric with ``keras.ops``; label
smoothing; training from a Python generator with ``steps_per_epoch``), on scikit-learn's
bundled 8x8 digits instead of a download. Only the imports differ from the Keras script:
``import lamina as keras`` and ``from lamina import layers, ops`` (with ``import keras`` and
``from keras import layers, ops`` it runs under Keras 3).

Run: ``python examples/keras_docs_metrics.py`` (a few seconds).
"""

import math

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import lamina as keras
from lamina import layers, ops

keras.utils.set_random_seed(0)
digits = load_digits()
x_train, x_test, y_train, y_test = train_test_split(
    digits.data.astype("float32"), digits.target, test_size=0.2, random_state=0)
x_train = keras.utils.normalize(x_train, axis=-1)
x_test = keras.utils.normalize(x_test, axis=-1)

# 1. Imbalanced binary classification: "is it a 9?" (about 10% positives).
yb_train = (y_train == 9).astype("float32")
yb_test = (y_test == 9).astype("float32")
neg, pos = np.bincount(yb_train.astype("int64"))
class_weight = {0: (1 / neg) * (len(yb_train) / 2.0), 1: (1 / pos) * (len(yb_train) / 2.0)}

metrics = [
    keras.metrics.FalseNegatives(name="fn"),
    keras.metrics.FalsePositives(name="fp"),
    keras.metrics.TrueNegatives(name="tn"),
    keras.metrics.TruePositives(name="tp"),
    keras.metrics.Precision(name="precision"),
    keras.metrics.Recall(name="recall"),
    keras.metrics.AUC(name="auc"),
    keras.metrics.AUC(name="prc", curve="PR"),
]
model = keras.Sequential([
    keras.Input(shape=(64,)),
    layers.Dense(64, activation="relu"),
    layers.Dropout(0.2),
    layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-2),
              loss="binary_crossentropy", metrics=metrics)
model.fit(x_train, yb_train, batch_size=64, epochs=20, verbose=0,
          class_weight=class_weight, validation_data=(x_test, yb_test))
results = model.evaluate(x_test, yb_test, verbose=0, return_dict=True)
print("Binary test metrics:",
      ", ".join(f"{name}={value:.4g}" for name, value in results.items()))


# 2. Ten classes: label smoothing, a custom metric, and a generator of batches.
def top_2_accuracy(y_true, y_pred):
    """Fraction of samples whose true class is among the two highest scores."""
    true_score = ops.sum(y_true * y_pred, axis=-1)
    above = ops.sum(ops.cast(y_pred > ops.expand_dims(true_score, -1), "float32"), axis=-1)
    return ops.cast(above < 2, "float32")


yc_train = keras.utils.to_categorical(y_train, 10)
yc_test = keras.utils.to_categorical(y_test, 10)


def batches(x, y, batch_size):
    while True:  # an endless generator, as in the Keras docs: steps_per_epoch ends an epoch
        for start in range(0, len(x), batch_size):
            yield x[start:start + batch_size], y[start:start + batch_size]


model = keras.Sequential([
    keras.Input(shape=(64,)),
    layers.Dense(64, activation="relu"),
    layers.Dense(10, activation="softmax"),
])
model.compile(optimizer="adam",
              loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1),
              metrics=["accuracy", keras.metrics.AUC(name="auc"), top_2_accuracy])
batch_size = 32
history = model.fit(batches(x_train, yc_train, batch_size),
                    steps_per_epoch=math.ceil(len(x_train) / batch_size), epochs=30,
                    validation_data=(x_test, yc_test), verbose=0)
print("History keys:", sorted(history.history))
loss, acc, auc, top2 = model.evaluate(x_test, yc_test, verbose=0)
print(f"Test accuracy: {acc:.4f}  AUC: {auc:.4f}  top-2 accuracy: {top2:.4f}")
