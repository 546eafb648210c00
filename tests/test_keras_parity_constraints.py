"""Real Keras 3 parity for weight constraints: the same weights, data and optimizer give the
same weights after each of 10 steps with MaxNorm/NonNeg/UnitNorm/MinMaxNorm on the kernels
and biases, and the constraints cross the .keras format both ways. Skips without keras (the
`interop` extra: keras>=3 and torch, run on Keras's torch backend)."""

import numpy as np
import pytest

from conftest import import_keras3

keras = import_keras3(module_level=True)

import lamina  # noqa: E402 - after the skip

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def _layers(api):
    C, L = api.constraints, api.layers
    return [L.Dense(16, activation="relu", kernel_constraint=C.MaxNorm(0.8),
                    bias_constraint=C.NonNeg()),
            L.BatchNormalization(gamma_constraint=C.MaxNorm(3.0), beta_constraint=C.NonNeg()),
            L.Dense(8, activation="tanh", kernel_constraint=C.UnitNorm(axis=1)),
            L.PReLU(alpha_constraint=C.MinMaxNorm(0.1, 0.5, axis=0)),
            L.Dense(8, activation="relu", kernel_constraint=C.MinMaxNorm(0.5, 1.0, rate=0.7)),
            L.Dense(3, activation="softmax", kernel_constraint="max_norm")]


@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_constrained_weights_follow_keras_step_by_step(opt):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((64, 10)) * 2).astype("float32")
    y = rng.integers(0, 3, 64)
    models = []
    for api in (lamina, keras):
        m = api.Sequential([api.Input((10,))] + _layers(api))
        m.compile(optimizer=(api.optimizers.SGD(0.5, momentum=0.9) if opt == "sgd"
                             else api.optimizers.Adam(0.05)),
                  loss="sparse_categorical_crossentropy")
        models.append(m)
    lam, ker = models
    ker.set_weights(lam.get_weights())
    for step in range(10):
        lam.train_on_batch(x, y) if step % 2 else lam.fit(x, y, batch_size=64, verbose=0)
        ker.train_on_batch(x, y)
        for a, b in zip(lam.get_weights(), ker.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=2e-5)
    k0 = lam.layers[0].kernel.numpy()
    assert np.sqrt((k0 ** 2).sum(axis=0)).max() <= 0.8 + 1e-6  # the constraint did bind
    assert lam.layers[0].bias.numpy().min() >= 0


@pytest.mark.parametrize("writer", ["lamina", "keras"])
def test_constraints_cross_the_keras_format(tmp_path, writer):
    api = lamina if writer == "lamina" else keras
    m = api.Sequential([api.Input((10,))] + _layers(api))
    path = str(tmp_path / "m.keras")
    m.save(path)
    other = keras.saving.load_model(path) if writer == "lamina" else lamina.load_model(path)
    keys = ("kernel_constraint", "bias_constraint", "beta_constraint", "gamma_constraint",
            "alpha_constraint")
    for a, b in zip(m.layers, other.layers):
        for key in keys:
            if not hasattr(a, key):
                continue
            ca, cb = getattr(a, key), getattr(b, key)
            assert type(ca).__name__ == type(cb).__name__
            assert (ca.get_config() if ca else None) == (cb.get_config() if cb else None)
