"""End to end on the bundled handwritten digits: 64-128-64-10 ReLU + Adam reaches >= 97%."""

import numpy as np
import pytest

import lamina


def test_digits_file_ships_with_the_installed_package():
    import pathlib

    path = pathlib.Path(lamina.datasets.__file__).with_name("digits.npz")
    assert path.exists() and "site-packages" in path.parts
    assert path.stat().st_size < 100_000


def test_bundled_digits():
    (xtr, ytr), (xte, yte) = lamina.datasets.load_digits()
    assert xtr.shape == (1437, 64) and xte.shape == (360, 64)
    assert xtr.dtype == np.uint8 and ytr.dtype == np.uint8
    assert xtr.max() == 16 and set(np.unique(ytr)) == set(range(10))
    x, y = lamina.datasets.load_digits(return_X_y=True)
    assert x.shape == (1797, 64) and np.bincount(y).tolist()[:3] == [178, 182, 177]
    # Same split every call, disjoint and complete.
    (a, _), (b, _) = lamina.datasets.load_digits()
    np.testing.assert_array_equal(a, xtr)


@pytest.mark.slow
def test_digits_mlp_reaches_97_percent_in_30_epochs():
    (xtr, ytr), (xte, yte) = lamina.datasets.load_digits()
    model = lamina.Sequential([
        lamina.Input(shape=(64,)),
        lamina.layers.Dense(128, activation="relu"),
        lamina.layers.Dense(64, activation="relu"),
        lamina.layers.Dense(10, activation="softmax"),
    ], seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    h = model.fit(xtr / 16.0, ytr, epochs=30, batch_size=32, verbose=0)
    assert len(h.history["loss"]) == 30
    loss, acc = model.evaluate(xte / 16.0, yte, verbose=0)
    assert acc >= 0.97, acc
    assert (model.predict(xte / 16.0, verbose=0).argmax(1) == yte).mean() == pytest.approx(acc)
