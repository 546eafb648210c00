"""Calling layers and models on data (Keras's eager calls), and networks without weights.

A layer called on an array runs at once in the core (built for the array's shape first) and
gives exactly what the same layer computes inside a model; the result answers ``.numpy()``
like a TensorFlow eager tensor. Models of Normalization, activations, dropout or reshapes
alone (no weights) predict, evaluate and fit, as Keras's do.
"""

import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina.eager import EagerArray

RNG = np.random.default_rng(7)
X = (RNG.normal(size=(37, 5)) * 3 + 1).astype("float32")


def test_dense_called_on_data_builds_it_and_matches_the_model():
    d = L.Dense(3, activation="tanh")
    out = d(X[:4])
    assert isinstance(out, EagerArray) and out.shape == (4, 3) and d.built
    assert d.kernel.shape == (5, 3)
    want = np.tanh(X[:4].astype(np.float64) @ d.kernel.numpy() + d.bias.numpy())
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-6)
    model = lamina.Sequential([lamina.Input((5,)), d])  # the same weights, not new ones
    np.testing.assert_array_equal(model.predict(X[:4], verbose=0), out)
    assert type(out.numpy()) is np.ndarray
    # the call leaves no trace: the layer's output is the model's node
    assert d.output.parent is not None and model.get_layer(index=0) is d


def test_normalization_called_on_data_is_the_tutorials_first_example():
    n = L.Normalization(axis=-1)
    n.adapt(X)
    got = n(X[:1]).numpy()
    want = (X[:1] - X.mean(0)) / np.sqrt(X.var(0))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    model = lamina.Sequential([n, L.Dense(1)], seed=0)  # then used in a model as usual
    model.compile("adam", "mse")
    model.fit(X, X[:, :1], epochs=1, verbose=0)


def test_layer_calls_in_training_mode_and_reshapes():
    ones = np.ones((64, 8), "float32")
    drop = L.Dropout(0.5, seed=3)
    np.testing.assert_array_equal(drop(ones), ones)  # inference: the identity
    trained = drop(ones, training=True)
    assert set(np.unique(trained)) == {0.0, 2.0}
    bn = L.BatchNormalization()
    z = bn(X, training=True)
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-4)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), 0)  # nothing is updated
    assert L.Flatten()(np.ones((2, 3, 4))).shape == (2, 12)
    assert L.ReLU()(np.array([[-1.0, 2.0]])).tolist() == [[0.0, 2.0]]


def test_model_calls_return_arrays_with_numpy():
    model = lamina.Sequential([lamina.Input((5,)), L.Dense(2, activation="softmax")], seed=1)
    out = model(X)
    assert isinstance(out, EagerArray)
    np.testing.assert_array_equal(out.numpy(), model.predict(X, verbose=0))
    assert isinstance(model(X, training=True), EagerArray)


@pytest.mark.parametrize("bad, err, match", [
    (np.ones(5), ValueError, r"batch axis.*got shape \(5,\)"),
    (np.ones((2, 4)), ValueError, r"built for inputs \(5,\) but receives \(4,\)"),
    (np.array([["a"] * 5]), TypeError, "real numbers, got dtype <U1"),
])
def test_bad_eager_calls_name_the_input(bad, err, match):
    d = L.Dense(2)
    d.build((5,))
    with pytest.raises(err, match=match):
        d(bad)
    with pytest.raises(TypeError, match="takes only `training`"):
        d(X, True, mask=None)


@pytest.mark.parametrize("make", [
    lambda: [L.Normalization(mean=[1.0] * 5, variance=[4.0] * 5)],
    lambda: [L.Activation("relu"), L.Dropout(0.5)],
    lambda: [L.Activation("linear")],
    lambda: [L.Softmax()],
])
def test_networks_without_weights_predict_evaluate_and_fit(make):
    model = lamina.Sequential([lamina.Input((5,))] + make(), seed=0)
    p = model.predict(X, verbose=0)
    assert p.shape == (37, 5) and np.isfinite(p).all()
    model.compile("sgd", "mse")
    h = model.fit(X, p + 1, epochs=2, verbose=0)
    assert len(h.history["loss"]) == 2 and np.isfinite(h.history["loss"]).all()
    assert model.evaluate(X, p, verbose=0) == 0.0  # its own predictions as the targets
    np.testing.assert_array_equal(model.predict(X, verbose=0), p)  # nothing trained


def test_flatten_alone_is_the_identity_on_the_flat_sample():
    model = lamina.Sequential([lamina.Input((2, 3)), L.Flatten()])
    x = np.arange(12.0).reshape(2, 2, 3)
    np.testing.assert_array_equal(model.predict(x, verbose=0), x.reshape(2, 6))


def test_a_model_without_layers_is_refused_by_name():
    model = lamina.Sequential([lamina.Input((3,))], name="empty")
    with pytest.raises(ValueError, match="'empty' has no layers"):
        model.predict(np.ones((1, 3)), verbose=0)
