"""Real Keras 3 parity for BatchNormalization and LayerNormalization: the same initial weights
and data give the same loss curve (within 1e-5) over 10 full-batch steps with SGD and Adam,
and the same moving statistics and predictions afterwards. Skips without keras (the
`interop` extra: keras>=3 and torch, run on Keras's torch backend)."""

import numpy as np
import pytest

from conftest import import_keras3

keras = import_keras3(module_level=True)

import lamina  # noqa: E402 - after the skip

# Keras's Variable.__array__ predates numpy 2's copy keyword (a warning of theirs, not ours).
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def _layers(api, norm):
    L = api.layers
    norm_layer = (L.BatchNormalization(momentum=0.9) if norm == "bn"
                  else L.LayerNormalization())
    return [L.Dense(16), norm_layer, L.Activation("relu"), L.Dense(8, activation="tanh"),
            (L.BatchNormalization() if norm == "bn" else L.LayerNormalization(epsilon=1e-2)),
            L.Dense(4, activation="softmax")]


def _optimizer(api, name):
    return (api.optimizers.SGD(learning_rate=0.1, momentum=0.9) if name == "sgd"
            else api.optimizers.Adam(learning_rate=0.01))


@pytest.mark.parametrize("opt", ["sgd", "adam"])
@pytest.mark.parametrize("norm", ["bn", "ln"])
def test_same_loss_curve_as_keras(norm, opt):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((64, 10)) * 1.5 + 0.5).astype("float32")
    y = rng.integers(0, 4, 64)
    lam = lamina.Sequential([lamina.Input((10,))] + _layers(lamina, norm), seed=3)
    lam.compile(optimizer=_optimizer(lamina, opt), loss="sparse_categorical_crossentropy")
    ker = keras.Sequential([keras.Input((10,))] + _layers(keras, norm))
    ker.compile(optimizer=_optimizer(keras, opt), loss="sparse_categorical_crossentropy")
    ker.set_weights(lam.get_weights())  # the same order: gamma, beta, moving mean, variance
    h_lam = lam.fit(x, y, batch_size=64, epochs=10, shuffle=False, verbose=0)
    h_ker = ker.fit(x, y, batch_size=64, epochs=10, shuffle=False, verbose=0)
    np.testing.assert_allclose(h_lam.history["loss"], h_ker.history["loss"], rtol=0,
                               atol=1e-5)
    for i, (a, b) in enumerate(zip(lam.get_weights(), ker.get_weights())):
        if norm == "bn" and opt == "adam" and i in (1, 4):
            # The bias before a BatchNormalization has a zero gradient; Adam turns each
            # framework's float32 rounding noise of that zero into its own lr-sized steps,
            # and the moving mean (index 4) follows that bias. The loss cannot see either.
            continue
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    # inference mode: the moving statistics (with that bias noise under Adam)
    np.testing.assert_allclose(lam.predict(x, verbose=0), ker.predict(x, verbose=0),
                               rtol=1e-4, atol=1e-4)


def test_frozen_batch_norm_matches_keras():
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((48, 10)) + 1).astype("float32")
    y = rng.integers(0, 4, 48)
    models = []
    for api in (lamina, keras):
        m = (lamina.Sequential([lamina.Input((10,))] + _layers(lamina, "bn"), seed=5)
             if api is lamina else keras.Sequential([keras.Input((10,))] + _layers(keras, "bn")))
        m.layers[1].trainable = False
        m.compile(optimizer=_optimizer(api, "adam"), loss="sparse_categorical_crossentropy")
        models.append(m)
    lam, ker = models
    w = lam.get_weights()
    w[4] = np.linspace(-0.5, 0.5, 16).astype("float32")  # moving mean
    w[5] = np.linspace(0.5, 2.0, 16).astype("float32")  # moving variance
    lam.set_weights(w)
    ker.set_weights(w)
    h_lam = lam.fit(x, y, batch_size=48, epochs=10, shuffle=False, verbose=0)
    h_ker = ker.fit(x, y, batch_size=48, epochs=10, shuffle=False, verbose=0)
    np.testing.assert_allclose(h_lam.history["loss"], h_ker.history["loss"], rtol=0,
                               atol=1e-5)
    for a, b in zip(lam.get_weights()[2:6], ker.get_weights()[2:6]):
        np.testing.assert_array_equal(a, b)  # frozen: untouched in both
