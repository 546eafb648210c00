"""A layer kind defined in this test module only: ``ScaleBy`` multiplies its inputs by a
constant. Defining the class registers it (layers/layer.py), so it trains, saves, loads and
appears in a run file without any table being edited. Its core side is the registered
``rescaling`` kind (a kind with its own C++ file is what docs/architecture.md's walkthrough
adds, as tests/test_layer_rescaling.py shows for Rescaling)."""

import numpy as np
import pytest

import lamina
from lamina import layers
from lamina._validation import check_float
from lamina.layers import Layer


class ScaleBy(Layer):
    """``inputs * factor`` (test-only layer kind)."""

    def __init__(self, factor=2.0, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.factor = check_float("ScaleBy factor", factor)

    def core_spec(self):
        return [{"type": "rescaling", "scale": self.factor, "offset": 0.0}]

    def get_config(self):
        config = super().get_config()
        config["factor"] = self.factor
        return config


def model_with_scale(factor=0.5, seed=0):
    m = lamina.Sequential([lamina.Input((6,)), ScaleBy(factor, name="scale_by"),
                           layers.Dense(8, activation="relu"),
                           layers.Dense(3, activation="softmax")], seed=seed)
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def data(n=64):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 6)).astype(np.float32), rng.integers(0, 3, size=n)


def test_defining_the_class_registers_it():
    assert layers.registered()["ScaleBy"] is ScaleBy
    assert layers.class_for("scale_by") is ScaleBy
    again = layers.deserialize(layers.serialize(ScaleBy(3.0, name="s")))
    assert type(again) is ScaleBy and again.factor == 3.0


def test_it_trains_like_the_scaled_inputs():
    x, y = data()
    a = model_with_scale(0.5)
    b = lamina.Sequential([lamina.Input((6,)), layers.Dense(8, activation="relu"),
                           layers.Dense(3, activation="softmax")], seed=0)
    b.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    b.set_weights(a.get_weights())
    a.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
    b.fit(x * np.float32(0.5), y, epochs=3, batch_size=16, shuffle=False, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-6)


def test_it_saves_and_loads(tmp_path):
    x, y = data()
    m = model_with_scale()
    m.fit(x, y, epochs=2, batch_size=16, verbose=0)
    m.save(tmp_path / "m.lamina")
    back = lamina.load_model(tmp_path / "m.lamina")
    assert isinstance(back.get_layer("scale_by"), ScaleBy)
    np.testing.assert_array_equal(back.predict(x, verbose=0), m.predict(x, verbose=0))


def test_it_appears_in_a_run_file():
    run = lamina.runfile.load_run({
        "data": {"max_samples": 100},
        "model": {"layers": [{"type": "scale_by", "factor": 0.25},
                             {"units": 4, "activation": "relu"},
                             {"units": 10, "activation": "softmax"}]}})
    assert run["model"]["layers"][0]["factor"] == 0.25
    model = lamina.runfile.build_model(run, input_dim=64)
    assert isinstance(model.layers[0], ScaleBy) and model.layers[0].factor == 0.25
    with pytest.raises(lamina.runfile.RunFileError, match="factor"):
        lamina.runfile.load_run({"model": {"layers": [{"type": "scale_by", "factor": "x"},
                                                      {"units": 2}]}})


def test_a_keras_custom_layer_with_call_is_refused_by_name():
    """A Keras-style custom layer computes in a Python ``call()``, which the C++ network
    cannot run; it must fail when made, not act as a pass-through (Keras: x**2, a silent
    pass-through: x)."""

    class Square(Layer):
        def call(self, x):
            return x * x

    class ZeroDense(layers.Dense):
        def call(self, x):
            return 0 * x

    with pytest.raises(TypeError, match=r"Square defines call\(\)"):
        Square()
    with pytest.raises(TypeError, match=r"ZeroDense defines call\(\)"):
        ZeroDense(3)
    # A subclass that only changes arguments keeps working (its core spec is Dense's).
    class WideDense(layers.Dense):
        def __init__(self, **kwargs):
            super().__init__(64, **kwargs)

    assert WideDense().units == 64
