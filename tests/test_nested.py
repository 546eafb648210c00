"""Models as layers: nested models share weights, freeze, summarize, serialize and save."""

import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

import lamina
from lamina import layers

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "transfer_learning.py"


def base_model(seed=0, name="base"):
    return lamina.Sequential([lamina.Input((6,)), layers.Dense(8, activation="tanh", name="f1"),
                              layers.Dense(5, activation="relu", name="f2")], name=name,
                             seed=seed)


def data(n=48, classes=3):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(n, 6)).astype("float32")
    return x, (np.abs(x[:, :3]).argmax(axis=1) % classes).astype("int64")


def test_nested_model_shares_weights_and_matches_the_flat_model():
    base = base_model()
    outer = lamina.Sequential([base, layers.Dense(3, activation="softmax", name="head")],
                              seed=1)
    assert outer.built and outer.input_shape == (None, 6) and outer.output_shape == (None, 3)
    assert outer.layers[0] is base and outer.weights[:4] == base.weights[:4]
    assert all(a is b for a, b in zip(outer.weights, base.weights))
    assert outer.count_params() == base.count_params() + 18
    # The flattened chain computes what the same layers stacked flat compute.
    x, y = data()
    flat = lamina.Sequential([lamina.Input((6,)), layers.Dense(8, activation="tanh"),
                              layers.Dense(5, activation="relu"),
                              layers.Dense(3, activation="softmax")], seed=9)
    flat.set_weights(outer.get_weights())
    np.testing.assert_array_equal(outer.predict(x, verbose=0), flat.predict(x, verbose=0))
    # Training the outer model trains the base's own arrays (shared, not copied).
    outer.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    flat.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    before = base.predict(x, verbose=0)
    k = base.get_layer("f1").kernel.value
    outer.fit(x, y, epochs=2, batch_size=16, verbose=0, shuffle=False)
    flat.fit(x, y, epochs=2, batch_size=16, verbose=0, shuffle=False)
    assert base.get_layer("f1").kernel.value is k
    assert not np.array_equal(base.predict(x, verbose=0), before)
    assert all(np.array_equal(a, b) for a, b in zip(outer.get_weights(), flat.get_weights()))


def test_frozen_base_trains_only_the_head_then_fine_tunes():
    base = base_model()
    outer = lamina.Sequential([base, layers.Dense(3, activation="softmax", name="head")],
                              seed=1)
    base.trainable = False
    assert all(not lay.trainable for lay in base.layers)
    assert len(outer.trainable_weights) == 2 and len(outer.non_trainable_weights) == 4
    outer.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x, y = data()
    frozen = base.get_weights()
    head = outer.get_layer("head").kernel.numpy()
    outer.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(frozen, base.get_weights()))
    assert not np.array_equal(head, outer.get_layer("head").kernel.numpy())
    # Unfreezing takes effect at the next compile, as in Keras.
    base.trainable = True
    outer.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(frozen, base.get_weights()))
    outer.compile(optimizer=lamina.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    outer.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert not np.array_equal(frozen[0], base.get_weights()[0])
    # A frozen layer inside a trainable base stays frozen; a frozen base wins over its layers.
    base.get_layer("f2").trainable = False
    outer.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    f2 = base.get_layer("f2").kernel.numpy()
    outer.fit(x, y, epochs=1, batch_size=16, verbose=0)
    np.testing.assert_array_equal(f2, base.get_layer("f2").kernel.numpy())
    base.trainable = False
    base.get_layer("f1").trainable = True
    assert outer.trainable_weights == outer.get_layer("head").weights


def test_summary_shows_a_nested_model_as_one_row():
    base = base_model()
    base.trainable = False
    outer = lamina.Sequential([base, layers.Dense(3, name="head")], seed=1, name="outer")
    lines = []
    outer.summary(print_fn=lines.append)
    text = lines[0]
    assert re.search(r"base \(Sequential\)\s+\(None, 5\)\s+101\b", text)
    assert re.search(r"head \(Dense\)\s+\(None, 3\)\s+18\b", text)
    assert "f1" not in text
    assert "Total params: 119" in text and "Trainable params: 18" in text
    assert "Non-trainable params: 101" in text


def test_nested_config_and_save_load_round_trip(tmp_path):
    base = base_model(seed=3)
    base.trainable = False
    outer = lamina.Sequential([base, layers.Dense(3, activation="softmax", name="head")],
                              seed=4, name="outer")
    cfg = outer.get_config()
    nested = [lc for lc in cfg["layers"] if lc["class_name"] == "Sequential"]
    assert len(nested) == 1 and nested[0]["config"]["name"] == "base"
    assert nested[0]["config"]["trainable"] is False
    assert [lc["class_name"] for lc in nested[0]["config"]["layers"]] == ["InputLayer", "Dense",
                                                                        "Dense"]
    clone = lamina.Sequential.from_config(cfg)
    assert isinstance(clone.layers[0], lamina.Sequential) and not clone.layers[0].trainable
    assert all(np.array_equal(a, b) for a, b in zip(clone.get_weights(), outer.get_weights()))
    outer.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x, y = data()
    outer.fit(x, y, epochs=2, batch_size=16, verbose=0)
    path = tmp_path / "nested.lamina"
    outer.save(path)
    r = lamina.load_model(path)
    inner = r.get_layer("base")
    assert isinstance(inner, lamina.Sequential) and not inner.trainable
    np.testing.assert_array_equal(r.predict(x, verbose=0), outer.predict(x, verbose=0))
    assert len(r.trainable_weights) == 2
    outer.fit(x, y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    r.fit(x, y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    assert all(np.array_equal(a, b) for a, b in zip(outer.get_weights(), r.get_weights()))
    # weights files too
    outer.save_weights(tmp_path / "w.weights.npz")
    other = lamina.Sequential.from_config(cfg)
    other.load_weights(tmp_path / "w.weights.npz")
    np.testing.assert_array_equal(other.predict(x, verbose=0), outer.predict(x, verbose=0))


def test_model_called_in_a_functional_chain():
    base = base_model()
    inputs = lamina.Input((6,))
    x_sym = base(inputs, training=False)
    assert x_sym.shape == (None, 5)
    outputs = layers.Dense(2, activation="softmax", name="head")(x_sym)
    model = lamina.Model(inputs, outputs, seed=2)
    assert [type(lay).__name__ for lay in model.layers] == ["InputLayer", "Sequential", "Dense"]
    assert model.get_layer("base") is base and base.output.shape == (None, 5)
    assert model.weights[0] is base.weights[0]
    x, _ = data()
    head = model.get_layer("head")
    expect = base.predict(x, verbose=0) @ head.kernel.numpy() + head.bias.numpy()
    expect = np.exp(expect) / np.exp(expect).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(model.predict(x, verbose=0), expect, rtol=1e-5, atol=1e-6)
    clone = lamina.Model.from_config(model.get_config())
    np.testing.assert_array_equal(clone.predict(x, verbose=0), model.predict(x, verbose=0))
    # a model can be called on several chains (its weights shared by all)
    again = lamina.Input((6,))
    second = lamina.Model(again, layers.Dense(1)(base(again)), seed=3)
    assert second.weights[0] is base.weights[0]
    with pytest.raises(ValueError, match="takes inputs of shape"):
        base(lamina.Input((7,)))


def test_unbuilt_nested_model_builds_with_the_outer_input():
    inner = lamina.Sequential([layers.Dense(4, name="a")], seed=5)
    outer = lamina.Sequential([lamina.Input((3,)), inner, layers.Dense(1)], seed=6,
                              dtype="float64")
    assert inner.built and inner.input_shape == (None, 3) and inner.dtype == "float64"
    assert outer.weights[0].dtype == np.float64
    twin = lamina.Sequential([layers.Dense(4)], seed=5, dtype="float64")
    twin.build((None, 3))
    np.testing.assert_array_equal(inner.weights[0], twin.weights[0])  # its own seed


def test_nesting_errors_are_clear():
    base = base_model()
    with pytest.raises(ValueError, match="cannot contain itself"):
        base.add(base)
    outer = lamina.Sequential([base], name="outer")
    with pytest.raises(ValueError, match="cannot contain itself"):
        base.add(outer)
    with pytest.raises(ValueError, match="was built for inputs"):
        lamina.Sequential([lamina.Input((7,)), base_model(name="b7")])
    with pytest.raises(ValueError, match="is float32 but the model"):
        lamina.Sequential([base_model(name="b32"), layers.Dense(1)], dtype="float64")
    with pytest.raises(ValueError, match="already in the model"):
        lamina.Sequential([base, base])


def test_nested_model_changes_reach_the_outer_network():
    base = base_model()
    outer = lamina.Sequential([base, layers.Dense(2, name="head")], seed=1)
    x, _ = data()
    outer.predict(x, verbose=0)
    base.pop()
    base.add(layers.Dense(5, activation="sigmoid", name="f3"))
    assert 0 < outer.predict(x, verbose=0).shape[0]
    f1 = base.get_layer("f1")
    hidden = np.tanh(x @ f1.kernel.numpy() + f1.bias.numpy())
    f3 = base.get_layer("f3")
    hidden = 1 / (1 + np.exp(-(hidden @ f3.kernel.numpy() + f3.bias.numpy())))
    head = outer.get_layer("head")
    np.testing.assert_allclose(outer.predict(x, verbose=0),
                               hidden @ head.kernel.numpy() + head.bias.numpy(), rtol=1e-5,
                               atol=1e-5)


@pytest.mark.slow
def test_transfer_learning_example_runs(tmp_path):
    r = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True,
                       timeout=600, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Base unchanged while frozen." in r.stdout
    acc = {k: float(v) for k, v in re.findall(r"(Task [^:]+): ([0-9.]+)", r.stdout)}
    assert acc["Task A accuracy"] > 0.9
    assert acc["Task B accuracy, frozen base"] > 0.6
    assert acc["Task B accuracy, fine-tuned"] >= acc["Task B accuracy, frozen base"]


def _plain_initializers(config):
    """The config with default initializer names (lamina reads Keras's initializer configs
    elsewhere; this test is about the model structure)."""
    if isinstance(config, dict):
        return {k: ("glorot_uniform" if k == "kernel_initializer" else "zeros"
                    if k == "bias_initializer" else _plain_initializers(v))
                for k, v in config.items()}
    if isinstance(config, (list, tuple)):
        return type(config)(_plain_initializers(v) for v in config)
    return config


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Keras's own Variable.__array__
def test_keras_nested_and_functional_configs_both_ways(monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    kl = keras.layers
    base = keras.Sequential([keras.Input((6,)), kl.Dense(8, activation="tanh", name="f1"),
                             kl.Dense(5, activation="relu", name="f2")], name="kbase")
    x, _ = data(8)
    outer = keras.Sequential([base, kl.Dense(3, activation="softmax", name="head")])
    inp = keras.Input((6,), name="inp")
    functional = keras.Model(inp, kl.Dense(2, name="o")(base(inp)))
    for kmodel in (outer, functional):
        mine = lamina.Model.from_config(_plain_initializers(kmodel.get_config()))
        assert [lay.name for lay in mine.layers] == [lay.name for lay in kmodel.layers]
        mine.set_weights(kmodel.get_weights())
        np.testing.assert_allclose(mine.predict(x, verbose=0), kmodel.predict(x, verbose=0),
                                   rtol=1e-5, atol=1e-6)
        assert [w.path for w in mine.weights][:4] == [w.path for w in kmodel.weights][:4]
    ours = lamina.Sequential([base_model(), layers.Dense(1, name="z")], seed=1)
    inputs = lamina.Input((6,), name="li")
    ours_f = lamina.Model(inputs, layers.Dense(1, name="lo")(base_model(name="b2")(inputs)))
    for mine in (ours, ours_f):
        theirs = type(mine).__name__ == "Functional" and keras.Model or keras.Sequential
        kmodel = theirs.from_config(mine.get_config())
        assert [lay.name for lay in kmodel.layers] == [lay.name for lay in mine.layers]
        kmodel.set_weights(mine.get_weights())
        np.testing.assert_allclose(kmodel.predict(x, verbose=0), mine.predict(x, verbose=0),
                                   rtol=1e-5, atol=1e-6)
