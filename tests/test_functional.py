"""The functional surface: inputs/outputs, layer.output, get_layer, feature extractors,
model(x, training=...), and the InputLayer in a functional model's layers."""

import json

import numpy as np
import pytest

import lamina
from lamina import layers


def functional(seed=0, dropout=0.5):
    inputs = lamina.Input(shape=(5,))
    h = layers.Dense(8, activation="relu", name="h")(inputs)
    d = layers.Dropout(dropout, name="drop")(h)
    out = layers.Dense(3, activation="softmax", name="out")(d)
    return lamina.Model(inputs, out, seed=seed)


def data(n=40):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(n, 5)).astype("float32")
    return x, (x[:, 0] > 0).astype("int64") + (x[:, 2] > 0.5)


def test_functional_layers_start_with_the_input_layer_like_keras():
    m = functional()
    assert type(m).__name__ == "Functional" and isinstance(m, lamina.Sequential)
    assert [type(lay).__name__ for lay in m.layers] == ["InputLayer", "Dense", "Dropout",
                                                        "Dense"]
    assert m.get_layer(index=0) is m.input and m.get_layer(index=1).name == "h"
    assert m.get_layer(index=-1).name == "out" and m.get_layer("drop").rate == 0.5
    seq = lamina.Sequential([lamina.Input((5,)), layers.Dense(2, name="a")], seed=0)
    assert [lay.name for lay in seq.layers] == ["a"] and seq.get_layer(index=0).name == "a"
    with pytest.raises(ValueError, match="out of range: model .* has 4 layers"):
        m.get_layer(index=4)
    with pytest.raises(ValueError, match="no layer named 'nope'"):
        m.get_layer("nope")
    with pytest.raises(ValueError, match="not both"):
        m.get_layer("h", index=1)
    with pytest.raises(TypeError, match="index must be an int"):
        m.get_layer(index="1")
    with pytest.raises(ValueError, match="a name or an index"):
        m.get_layer()
    assert "input_layer" in m.get_layer(index=0).name  # summary lists it too
    lines = []
    m.summary(print_fn=lines.append)
    assert "(InputLayer)" in lines[0] and "(None, 5)" in lines[0]


def test_symbolic_inputs_and_outputs():
    m = functional()
    assert m.inputs == [m.input] and m.outputs == [m.output]
    assert m.input.shape == (None, 5) and m.output.shape == (None, 3)
    h = m.get_layer("h")
    assert h.input is m.input and h.output.shape == (None, 8)
    assert m.get_layer("out").input is m.get_layer("drop").output
    assert m.output is m.get_layer("out").output
    # A Sequential gets symbolic tensors once built, like Keras's.
    seq = lamina.Sequential([layers.Dense(4, name="a"), layers.Dense(2, name="b")], seed=0)
    with pytest.raises(AttributeError, match="no defined input"):
        seq.inputs
    with pytest.raises(AttributeError, match="no defined output"):
        seq.output
    seq.build((None, 3))
    assert seq.input.shape == (None, 3) and seq.output.shape == (None, 2)
    assert seq.get_layer("b").input is seq.get_layer("a").output
    with pytest.raises(AttributeError, match="never been called"):
        layers.Dense(2).output
    with pytest.raises(AttributeError, match="never been called"):
        layers.Dense(2).input


def test_feature_extractor_shares_the_weights():
    m = functional()
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x, y = data()
    features = lamina.Model(m.inputs, m.get_layer("h").output)
    assert features.get_layer("h") is m.get_layer("h")
    assert features.output_shape == (None, 8)
    h = m.get_layer("h")
    expect = np.maximum(x @ h.kernel.numpy() + h.bias.numpy(), 0)
    np.testing.assert_allclose(features.predict(x, verbose=0), expect, rtol=1e-5, atol=1e-6)
    m.fit(x, y, epochs=2, batch_size=8, verbose=0)  # training the model moves the extractor
    expect2 = np.maximum(x @ h.kernel.numpy() + h.bias.numpy(), 0)
    assert not np.allclose(expect, expect2)
    np.testing.assert_allclose(features.predict(x, verbose=0), expect2, rtol=1e-5, atol=1e-6)
    # the same from a Sequential
    seq = lamina.Sequential([lamina.Input((5,)), layers.Dense(6, activation="tanh", name="a"),
                             layers.Dense(2, name="b")], seed=3)
    fa = lamina.Model(seq.inputs, seq.get_layer("a").output)
    a = seq.get_layer("a")
    np.testing.assert_allclose(fa(x), np.tanh(x @ a.kernel.numpy() + a.bias.numpy()),
                               rtol=1e-5, atol=1e-6)
    assert seq.get_layer("a").output is fa.output  # the layer keeps its first node


def test_call_on_data_inference_and_training():
    x, _ = data(16)
    m = functional(seed=4)
    p = m.predict(x, verbose=0)
    np.testing.assert_array_equal(m(x), p)
    np.testing.assert_array_equal(m(x, training=False), p)
    weights = m.get_weights()
    t1 = m(x, training=True)
    t2 = m(x, training=True)
    assert t1.shape == p.shape and not np.allclose(t1, p)  # dropout is active
    assert not np.array_equal(t1, t2)  # each call draws new masks
    assert all(np.array_equal(a, b) for a, b in zip(weights, m.get_weights()))
    # deterministic given the seed: a model with the same seed repeats the sequence
    m2 = functional(seed=4)
    np.testing.assert_array_equal(m2(x, training=True), t1)
    np.testing.assert_array_equal(m2(x, training=True), t2)
    # the training output is the dropped-out activation: each unit 0 or scaled by 1/(1-rate)
    inputs = lamina.Input((5,))
    hidden = layers.Dense(64, activation="relu", name="h")(inputs)
    dropped = lamina.Model(inputs, layers.Dropout(0.5)(hidden), seed=1)
    hid = dropped.predict(x, verbose=0)
    t = dropped(x, training=True)
    kept = t != 0
    np.testing.assert_allclose(t[kept], 2 * hid[kept], rtol=1e-6)
    live = hid > 0
    assert 0.3 < (kept & live).sum() / live.sum() < 0.7
    # compiled: the optimizer's step count does not move either
    m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    m(x, training=True)
    assert m.optimizer.iterations == 0
    assert all(np.array_equal(a, b) for a, b in zip(weights, m.get_weights()))
    # no stochastic layer: training=True gives the inference output
    plain = lamina.Sequential([lamina.Input((5,)), layers.Dense(3)], seed=0)
    np.testing.assert_allclose(plain(x, training=True), plain.predict(x, verbose=0))
    with pytest.raises(ValueError, match="training must be"):
        m(x, training="yes")
    with pytest.raises(ValueError, match="mask"):
        m(x, mask=np.ones(16))


def test_functional_config_is_keras_functional_and_round_trips(tmp_path):
    m = functional(seed=5)
    cfg = m.get_config()
    assert cfg["input_layers"] == [m.input.name, 0, 0]  # Keras 3 spells one input so
    assert cfg["output_layers"] == ["out", 0, 0]
    nested_lists = {**cfg, "input_layers": [cfg["input_layers"]],
                    "output_layers": [cfg["output_layers"]]}
    assert lamina.Model.from_config(nested_lists).output_shape == (None, 3)
    names = [e["name"] for e in cfg["layers"]]
    assert names == [m.input.name, "h", "drop", "out"]
    hist = cfg["layers"][2]["inbound_nodes"][0]["args"][0]["config"]["keras_history"]
    assert hist == ["h", 0, 0]
    json.dumps(cfg)
    clone = lamina.Model.from_config(cfg)
    assert type(clone).__name__ == "Functional" and [lay.name for lay in clone.layers] == names
    x, y = data()
    np.testing.assert_array_equal(clone.predict(x, verbose=0), m.predict(x, verbose=0))
    assert lamina.models.model_from_json(m.to_json()).get_config() == cfg
    # save / load: bit-identical predictions, training resumes exactly
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    m.fit(x, y, epochs=2, batch_size=8, verbose=0)
    path = tmp_path / "f.lamina"
    m.save(path)
    r = lamina.load_model(path)
    assert type(r).__name__ == "Functional" and isinstance(r.layers[0], layers.InputLayer)
    np.testing.assert_array_equal(r.predict(x, verbose=0), m.predict(x, verbose=0))
    m.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    r.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    assert all(np.array_equal(a, b) for a, b in zip(m.get_weights(), r.get_weights()))


def test_functional_config_errors():
    cfg = functional().get_config()
    with pytest.raises(ValueError, match="unknown Functional config keys: extra"):
        lamina.Model.from_config({**cfg, "extra": 1})
    broken = json.loads(json.dumps(cfg))
    broken["layers"].append({**broken["layers"][1], "name": "side"})
    broken["layers"][-1]["config"] = {**broken["layers"][-1]["config"], "name": "side"}
    with pytest.raises(ValueError, match=r"chains: layers \['side'\]"):
        lamina.Model.from_config(broken)
    twice = json.loads(json.dumps(cfg))
    twice["layers"][1]["inbound_nodes"] *= 2
    with pytest.raises(ValueError, match="called exactly once"):
        lamina.Model.from_config(twice)
    with pytest.raises(ValueError, match="one input"):
        lamina.Model.from_config({**cfg, "input_layers": [["a", 0, 0], ["b", 0, 0]]})
    with pytest.raises(ValueError, match="must name one layer each"):
        lamina.Model.from_config({**cfg, "input_layers": []})
    with pytest.raises(TypeError, match="must be a lamina.Input"):
        lamina.Model(layers.Dense(2), None)


def test_core_forward_checks_its_arguments():
    m = functional(seed=6)
    x, _ = data(8)
    net = m._network_for("infer")
    out = np.empty((8, 3), "float32")
    net.forward(x, out, False, 0)
    np.testing.assert_array_equal(out, m.predict(x, verbose=0))
    net.forward(x, out, True, 7)
    again = np.empty_like(out)
    net.forward(x, again, True, 7)
    np.testing.assert_array_equal(out, again)  # the masks are a function of the step
    net.forward(x, again, True, 8)
    assert not np.array_equal(out, again)
    with pytest.raises(ValueError, match=r"out must have shape \(8, 3\)"):
        net.forward(x, np.empty((8, 2), "float32"), True, 0)
    with pytest.raises(ValueError, match="step must be >= 0"):
        net.forward(x, out, True, -1)
    with pytest.raises(ValueError, match="C-contiguous"):
        net.forward(x, x[:, :3], True, 0)
    with pytest.raises(ValueError, match="out and x share memory"):
        net.forward(x, x.reshape(-1)[:24].reshape(8, 3), True, 0)
    with pytest.raises(ValueError, match="shares memory with"):
        net.forward(x, m.get_layer("h").kernel.value[:3].reshape(-1)[:24].reshape(8, 3),
                    True, 0)


def test_named_and_listed_inputs_outputs_and_compile_arguments():
    """Keras's per-input / per-output forms for a one-input, one-output model:
    fit({"features": x}, {"price": y}), predict([x]), compile(loss={"price": "mse"},
    metrics={"price": ["mae"]}) and loss=["mse"] mean what the plain forms mean; a wrong
    name is refused by name, and a list holding one vector stays one sample."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 8))
    y = x.sum(axis=1, keepdims=True)

    def model():
        inputs = lamina.Input((8,), name="features")
        h = lamina.layers.Dense(4, activation="relu")(inputs)
        return lamina.Model(inputs, lamina.layers.Dense(1, name="price")(h), seed=3)

    a, b = model(), model()
    a.compile("adam", loss={"price": "mse"}, metrics={"price": ["mae"]})
    b.compile("adam", loss="mse", metrics=["mae"])
    ha = a.fit({"features": x}, {"price": y}, epochs=2, batch_size=8, shuffle=False,
               verbose=0, validation_data=([x], [y]))
    hb = b.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0, validation_data=(x, y))
    assert ha.history == hb.history
    np.testing.assert_array_equal(a.predict([x], verbose=0), b.predict(x, verbose=0))
    np.testing.assert_array_equal(a.predict({"features": x}, verbose=0),
                                  b.predict(x, verbose=0))
    a.compile("adam", loss=["mse"])
    assert a.evaluate((x,), [y], verbose=0) == b.evaluate(x, y, verbose=0)[0]
    with pytest.raises(ValueError, match="one input, 'features'"):
        a.predict({"feature": x}, verbose=0)
    with pytest.raises(ValueError, match="one output, 'price'"):
        a.compile("adam", loss={"out": "mse"})
    assert a.predict([x[0]], verbose=0).shape == (1, 1)  # one sample, as before
