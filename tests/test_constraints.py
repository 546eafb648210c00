"""lamina.constraints against an independent float64 reference, and where fit applies them."""

import numpy as np
import pytest

import lamina
from lamina import constraints as C
from lamina import layers


def _ref_scale(w, axis, target):
    w = np.asarray(w, np.float64)
    norms = np.sqrt((w ** 2).sum(axis=axis, keepdims=True))
    return w * target(norms) / (1e-7 + norms)


@pytest.mark.parametrize("shape,axis", [((1, 1), 0), ((7, 3), 0), ((7, 3), 1), ((5, 2, 3), [0, 1]),
                                        ((13,), 0)])
def test_norm_constraints_match_a_float64_reference(shape, axis):
    rng = np.random.default_rng(sum(shape))
    for dtype, tol in ((np.float32, 2e-6), (np.float64, 1e-12)):
        w = (rng.standard_normal(shape) * 2).astype(dtype)
        ax = tuple(axis) if isinstance(axis, list) else axis
        cases = [
            (C.MaxNorm(1.5, axis=axis), lambda n: np.clip(n, 0, 1.5)),
            (C.UnitNorm(axis=axis), lambda n: np.ones_like(n)),
            (C.MinMaxNorm(0.5, 1.0, rate=0.3, axis=axis),
             lambda n: 0.3 * np.clip(n, 0.5, 1.0) + 0.7 * n),
        ]
        for constraint, target in cases:
            got = constraint(w)
            assert got.dtype == dtype and got.shape == w.shape
            np.testing.assert_allclose(got, _ref_scale(w, ax, target), rtol=tol, atol=tol)
        np.testing.assert_array_equal(C.NonNeg()(w), np.maximum(w, 0))


def test_names_configs_and_bad_values():
    assert C.get("max_norm") == C.MaxNorm() and C.get("UnitNorm") == C.UnitNorm()
    assert C.max_norm is C.MaxNorm and C.get(C.NonNeg) == C.NonNeg()
    c = C.MinMaxNorm(0.1, 2.0, rate=0.5, axis=[0])
    assert C.deserialize(C.serialize(c)) == c
    keras_form = {"module": "keras.constraints", "class_name": "MaxNorm",
                  "config": {"max_value": 3, "axis": 0}, "registered_name": None}
    assert C.get(keras_form) == C.MaxNorm(3)
    with pytest.raises(ValueError, match="'maxnorm2'"):
        C.get("maxnorm2")
    with pytest.raises(ValueError, match="max_value.*-1"):
        C.MaxNorm(-1)
    with pytest.raises(ValueError, match="rate.*1.5"):
        C.MinMaxNorm(rate=1.5)
    with pytest.raises(TypeError, match="axis"):
        C.UnitNorm(axis="rows")
    with pytest.raises(ValueError, match="plain callable"):
        C.serialize(lambda w: w)


def _data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((96, 6)).astype("float32") * 3, rng.integers(0, 3, 96)


def _model(**dense):
    m = lamina.Sequential([layers.Input((6,)), layers.Dense(12, activation="relu", **dense),
                           layers.Dense(3, activation="softmax")], seed=1)
    m.compile(lamina.optimizers.SGD(1.0), "sparse_categorical_crossentropy")
    return m


def test_fit_projects_after_every_step():
    x, y = _data()
    seen = []

    class Norms(lamina.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            k = self.model.layers[0].kernel.numpy()
            seen.append(np.sqrt((k ** 2).sum(axis=0)).max())

    m = _model(kernel_constraint=C.MaxNorm(0.25), bias_constraint="non_neg")
    m.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[Norms()])
    assert len(seen) == 12 and max(seen) <= 0.25 + 1e-6
    assert m.layers[0].bias.numpy().min() >= 0
    free = _model()
    free.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert np.sqrt((free.layers[0].kernel.numpy() ** 2).sum(axis=0)).max() > 0.5


def test_frozen_weights_and_custom_callables():
    x, y = _data()
    m = _model(kernel_constraint=lambda w: np.clip(w, -0.01, 0.01))
    m.train_on_batch(x, y)
    assert np.abs(m.layers[0].kernel.numpy()).max() <= 0.01 + 1e-9
    m = _model(kernel_constraint=C.MaxNorm(1e-3))
    m.layers[0].trainable = False  # Keras constrains only what trains
    m.compile(lamina.optimizers.SGD(1.0), "sparse_categorical_crossentropy")
    before = m.layers[0].kernel.numpy()
    m.fit(x, y, epochs=1, verbose=0)
    np.testing.assert_array_equal(m.layers[0].kernel.numpy(), before)
    bad = _model(kernel_constraint=lambda w: w[:1])
    with pytest.raises(ValueError, match="returned shape"):
        bad.train_on_batch(x, y)


def test_constraints_are_saved_with_the_model(tmp_path):
    m = _model(kernel_constraint=C.MinMaxNorm(0.2, 0.9), bias_constraint="non_neg")
    m.save(tmp_path / "m.keras")
    back = lamina.load_model(tmp_path / "m.keras")
    assert back.layers[0].kernel_constraint == C.MinMaxNorm(0.2, 0.9)
    assert back.layers[0].bias.constraint == C.NonNeg()
