"""Keras 3's ``.keras`` and ``.weights.h5`` files, both ways.

lamina -> lamina needs h5py only; the cross-framework checks need Keras 3 (torch backend:
``pip install torch==2.13.0 keras h5py``, ``KERAS_BACKEND=torch``) and skip without it.
"""

import json
import os
import zipfile

import numpy as np
import pytest

import lamina
from conftest import import_keras3

h5py = pytest.importorskip("h5py")
os.environ.setdefault("KERAS_BACKEND", "torch")

# Keras 3 on numpy 2 warns inside its own code (Variable.__array__); not lamina's concern.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
L = lamina.layers
RNG = np.random.default_rng(0)
X = RNG.normal(size=(64, 6)).astype("float32")
Y = RNG.normal(size=(64, 3)).astype("float32")


def _keras():
    return import_keras3()


def _optional_layers():
    """Layer kinds other helpers add; each present kind joins the cross-checks."""
    out = []
    if hasattr(L, "BatchNormalization"):
        out.append(lambda: L.BatchNormalization())
    if hasattr(L, "LayerNormalization"):
        out.append(lambda: L.LayerNormalization())
    if hasattr(L, "PReLU"):
        out.append(lambda: L.PReLU())
    return out


def lamina_model(seed=0, compile_with=None):
    layers = [lamina.Input((6,)), L.Rescaling(0.5, offset=0.1), L.Dense(8, activation="relu"),
              L.Dropout(0.2)]
    if hasattr(L, "Normalization"):
        layers.insert(1, L.Normalization(mean=X.mean(0), variance=X.var(0)))
    layers += [make() for make in _optional_layers()]
    layers += [L.Dense(3)]
    model = lamina.Sequential(layers, seed=seed)
    # Non-trivial statistics/parameters everywhere (not just the initial ones).
    model.set_weights([w + RNG.normal(size=w.shape).astype(w.dtype) * 0.1
                       if w.dtype.kind == "f" else w for w in model.get_weights()])
    if compile_with is not None:
        model.compile(optimizer=compile_with, loss="mse")
    return model


def same_weights(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))


# --------------------------------------------------------------- lamina <-> lamina ------
def test_keras_file_is_keras_layout(tmp_path):
    model = lamina_model(compile_with=lamina.optimizers.Adam(0.01))
    model.fit(X, Y, epochs=1, batch_size=16, verbose=0)
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as zf:
        assert sorted(zf.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
        config = json.loads(zf.read("config.json"))
        assert "keras_version" in json.loads(zf.read("metadata.json"))
        (tmp_path / "w.h5").write_bytes(zf.read("model.weights.h5"))
    assert config["class_name"] == "Sequential" and config["module"] == "keras"
    dense = [e for e in config["config"]["layers"] if e["class_name"] == "Dense"][0]
    assert dense["module"] == "keras.layers" and dense["registered_name"] is None
    assert dense["build_config"]["input_shape"][0] is None
    assert config["compile_config"]["optimizer"]["class_name"] == "Adam"
    with h5py.File(tmp_path / "w.h5") as f:
        kernel = f["layers/dense/vars/0"][()]
        np.testing.assert_array_equal(kernel, model.get_layer(dense["config"]["name"]).kernel)
        assert f["optimizer/vars/0"][()] == model.optimizer.iterations == 4
        n_trained = len(model.trainable_weights)
        assert len(f["optimizer/vars"]) == 2 + 2 * n_trained


def test_keras_roundtrip_in_lamina_resumes_exactly(tmp_path):
    model = lamina_model(compile_with=lamina.optimizers.Adam(0.01))
    model.fit(X, Y, epochs=2, batch_size=16, verbose=0, shuffle=False)
    model.save(tmp_path / "m.keras")
    loaded = lamina.load_model(tmp_path / "m.keras")
    assert same_weights(model, loaded)
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), model.predict(X, verbose=0))
    assert loaded.optimizer.iterations == model.optimizer.iterations
    for a, b in zip(model.optimizer.variables(), loaded.optimizer.variables()):
        np.testing.assert_array_equal(a, b)
    for m in (model, loaded):
        for i in range(3):
            m.train_on_batch(X[16 * i:16 * i + 16], Y[16 * i:16 * i + 16])
    np.testing.assert_allclose(loaded.get_weights()[-2], model.get_weights()[-2], atol=1e-6)


def test_weights_h5_roundtrip_and_checkpoint(tmp_path):
    model = lamina_model(seed=1)
    other = lamina_model(seed=2)
    model.save_weights(tmp_path / "w.weights.h5")
    live = other.weights
    other.load_weights(tmp_path / "w.weights.h5")
    assert same_weights(model, other) and all(a is b for a, b in zip(live, other.weights))
    model.save(tmp_path / "m.keras")
    third = lamina_model(seed=3)
    third.load_weights(tmp_path / "m.keras")
    assert same_weights(model, third)
    model.compile(optimizer="sgd", loss="mse")
    ckpt = lamina.callbacks.ModelCheckpoint(str(tmp_path / "e{epoch}.weights.h5"),
                                            save_weights_only=True)
    model.fit(X, Y, epochs=2, verbose=0, callbacks=[ckpt])
    fourth = lamina_model(seed=4)
    fourth.load_weights(tmp_path / "e2.weights.h5")
    assert same_weights(model, fourth)


def test_lamina_format_stays_lamina(tmp_path):
    model = lamina_model()
    model.save(tmp_path / "m.lamina")
    with zipfile.ZipFile(tmp_path / "m.lamina") as zf:
        assert "weights.npz" in zf.namelist()
    with pytest.raises(ValueError, match=r"\.lamina, \.keras or \(legacy\) \.h5"):
        model.save(tmp_path / "m.pkl")


def test_keras_files_of_lamina_0_1_still_load(tmp_path):
    model = lamina_model()
    model.save(tmp_path / "m.lamina")  # lamina 0.1 wrote this zip under .keras too
    (tmp_path / "m.lamina").rename(tmp_path / "old.keras")
    assert same_weights(lamina.load_model(tmp_path / "old.keras"), model)
    other = lamina_model(seed=9)
    other.load_weights(tmp_path / "old.keras")
    assert same_weights(other, model)


def test_missing_h5py_names_the_package(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ImportError, match="pip install h5py"):
        lamina_model().save(tmp_path / "m.keras")
    with pytest.raises(ImportError, match="pip install h5py"):
        lamina_model().save_weights(tmp_path / "m.weights.h5")


# --------------------------------------------------------------- lamina -> Keras --------
def _nested_lamina_model():
    inner = lamina.Sequential([lamina.Input((6,)), L.Dense(5, activation="tanh")], seed=3)
    try:
        return lamina.Sequential([lamina.Input((6,)), inner, L.Dense(2)], seed=4)
    except TypeError:
        pytest.skip("this lamina has no nested models yet")


@pytest.mark.parametrize("nested", [False, True])
def test_keras_loads_lamina_files(tmp_path, nested):
    keras = _keras()
    model = _nested_lamina_model() if nested else lamina_model()
    model.save(tmp_path / "m.keras")
    model.save_weights(tmp_path / "m.weights.h5")
    kmodel = keras.saving.load_model(tmp_path / "m.keras")
    expected = model.predict(X, verbose=0)
    np.testing.assert_allclose(kmodel.predict(X, verbose=0), expected, atol=1e-6)
    kmodel2 = keras.saving.load_model(tmp_path / "m.keras")
    for w in kmodel2.weights:
        w.assign(np.zeros(w.shape, w.dtype))
    kmodel2.load_weights(tmp_path / "m.weights.h5")
    np.testing.assert_allclose(kmodel2.predict(X, verbose=0), expected, atol=1e-6)


# --------------------------------------------------------------- Keras -> lamina --------
def keras_model(keras, functional):
    layers = [keras.layers.Rescaling(0.5, offset=0.1),
              keras.layers.Dense(8, activation="relu"), keras.layers.Dropout(0.2)]
    if hasattr(L, "BatchNormalization"):
        layers.append(keras.layers.BatchNormalization())
    if hasattr(L, "LayerNormalization"):
        layers.append(keras.layers.LayerNormalization())
    if hasattr(L, "PReLU"):
        layers.append(keras.layers.PReLU())
    layers.append(keras.layers.Dense(3))
    if functional:
        inputs = keras.Input((6,))
        h = inputs
        for layer in layers:
            h = layer(h)
        return keras.Model(inputs, h)
    return keras.Sequential([keras.Input((6,)), *layers])


@pytest.mark.parametrize("functional", [False, True])
def test_lamina_loads_keras_files(tmp_path, functional):
    keras = _keras()
    keras.utils.set_random_seed(0)
    kmodel = keras_model(keras, functional)
    kmodel.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    kmodel.fit(X, Y, epochs=2, batch_size=16, verbose=0)
    kmodel.save(tmp_path / "k.keras")
    kmodel.save_weights(tmp_path / "k.weights.h5")
    model = lamina.load_model(tmp_path / "k.keras")
    expected = kmodel.predict(X, verbose=0)
    np.testing.assert_allclose(model.predict(X, verbose=0), expected, atol=1e-6)
    # A Keras Functional stays functional: the same layers, InputLayer first, as in Keras.
    assert type(model).__name__ == ("Functional" if functional else "Sequential")
    assert [lay.name for lay in model.layers] == [lay.name for lay in kmodel.layers]
    assert type(model.optimizer).__name__ == "Adam" and model.loss is not None
    assert model.optimizer.iterations == int(kmodel.optimizer.iterations.numpy())
    fresh = lamina.load_model(tmp_path / "k.keras", compile=False)
    for w in fresh.weights:
        w[...] = 0
    fresh.load_weights(tmp_path / "k.weights.h5")
    np.testing.assert_allclose(fresh.predict(X, verbose=0), expected, atol=1e-6)


def _functional_lamina_model():
    inputs = lamina.Input((6,), name="features")
    x = L.Dense(8, activation="relu", name="h1")(inputs)
    x = L.Dropout(0.2, name="drop")(x)
    model = lamina.Model(inputs, L.Dense(3, name="out")(x), name="fm", seed=0)
    model.compile(optimizer="adam", loss="mse")
    model.fit(X, Y, epochs=2, batch_size=16, verbose=0)
    return model


def test_functional_model_keeps_its_class_in_keras_files(tmp_path):
    """A lamina.Model(inputs, outputs) was written as a Keras Sequential: it came back
    without its InputLayer (layer indices shifted, get_layer(input name) failed). It is
    written as Keras writes a Functional and read back as one."""
    model = _functional_lamina_model()
    path = tmp_path / "f.keras"
    model.save(path)
    entry = json.loads(zipfile.ZipFile(path).read("config.json"))
    assert entry["class_name"] == "Functional"
    assert entry["config"]["input_layers"] == ["features", 0, 0]
    assert [e["name"] for e in entry["config"]["layers"]] == ["features", "h1", "drop", "out"]
    back = lamina.load_model(path)
    assert type(back).__name__ == "Functional" and back.name == "fm"
    assert [lay.name for lay in back.layers] == ["features", "h1", "drop", "out"]
    assert back.get_layer("features") is back.layers[0]
    np.testing.assert_array_equal(back.predict(X, verbose=0), model.predict(X, verbose=0))
    back.fit(X, Y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    model.fit(X, Y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    assert same_weights(back, model)
    model.save_weights(tmp_path / "f.weights.h5")
    fresh = lamina.load_model(path, compile=False)
    fresh.load_weights(tmp_path / "f.weights.h5")
    assert same_weights(fresh, model)


def test_keras_loads_lamina_functional_files(tmp_path):
    keras = _keras()
    model = _functional_lamina_model()
    model.save(tmp_path / "f.keras")
    model.save_weights(tmp_path / "f.weights.h5")
    kmodel = keras.models.load_model(tmp_path / "f.keras")
    assert type(kmodel).__name__ == "Functional"
    assert [lay.name for lay in kmodel.layers] == ["features", "h1", "drop", "out"]
    np.testing.assert_allclose(kmodel.predict(X, verbose=0), model.predict(X, verbose=0),
                               atol=1e-6)
    assert int(kmodel.optimizer.iterations.numpy()) == model.optimizer.iterations
    for w in kmodel.weights:
        w.assign(np.zeros(w.shape, "float32"))
    kmodel.load_weights(tmp_path / "f.weights.h5")
    np.testing.assert_allclose(kmodel.predict(X, verbose=0), model.predict(X, verbose=0),
                               atol=1e-6)


def test_lamina_loads_nested_keras_models(tmp_path):
    keras = _keras()
    _nested_lamina_model()  # skips where lamina cannot nest models
    keras.utils.set_random_seed(2)
    inner = keras.Sequential([keras.Input((6,)), keras.layers.Dense(5, activation="tanh")])
    kmodel = keras.Sequential([keras.Input((6,)), inner, keras.layers.Dense(2)])
    kmodel.save(tmp_path / "nested.keras")
    model = lamina.load_model(tmp_path / "nested.keras")
    np.testing.assert_allclose(model.predict(X, verbose=0), kmodel.predict(X, verbose=0),
                               atol=1e-6)


def test_unsupported_keras_layer_is_named(tmp_path):
    keras = _keras()
    kmodel = keras.Sequential([keras.Input((4, 3)), keras.layers.Conv1D(2, 2),
                               keras.layers.Flatten(), keras.layers.Dense(1)])
    kmodel.save(tmp_path / "conv.keras")
    with pytest.raises(lamina.ModelFileError, match="Conv1D"):
        lamina.load_model(tmp_path / "conv.keras")


# --------------------------------------------------------------- optimizer state --------
def _steps_lamina(model, n):
    for i in range(n):
        model.train_on_batch(X[16 * i:16 * i + 16], Y[16 * i:16 * i + 16])
    return model.predict(X, verbose=0)


def _steps_keras(kmodel, n):
    for i in range(n):
        kmodel.train_on_batch(X[16 * i:16 * i + 16], Y[16 * i:16 * i + 16])
    return kmodel.predict(X, verbose=0)


def _dense_lamina(optimizer):
    model = lamina.Sequential([lamina.Input((6,)), L.Dense(8, activation="tanh"),
                               L.Dense(3)], seed=5)
    model.compile(optimizer=optimizer, loss="mse")
    return model


OPTIMIZERS = [("adam", lambda m: m.optimizers.Adam(0.01)),
              ("sgd_momentum", lambda m: m.optimizers.SGD(0.05, momentum=0.9)),
              ("adadelta", lambda m: m.optimizers.Adadelta(1.0, rho=0.9)),
              ("lion", lambda m: m.optimizers.Lion(0.003, beta_2=0.95))]


@pytest.mark.parametrize("name,make", OPTIMIZERS)
def test_training_resumed_in_keras_continues_the_curve(tmp_path, name, make):
    keras = _keras()
    model = _dense_lamina(make(lamina))
    model.fit(X, Y, epochs=2, batch_size=16, shuffle=False, verbose=0)
    model.save(tmp_path / "m.keras")
    kmodel = keras.saving.load_model(tmp_path / "m.keras")
    assert int(kmodel.optimizer.iterations.numpy()) == model.optimizer.iterations
    np.testing.assert_allclose(_steps_keras(kmodel, 3), _steps_lamina(model, 3), atol=1e-5)


@pytest.mark.parametrize("name,make", OPTIMIZERS)
def test_training_resumed_in_lamina_continues_the_curve(tmp_path, name, make):
    keras = _keras()
    keras.utils.set_random_seed(1)
    kmodel = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="tanh"),
                               keras.layers.Dense(3)])
    kmodel.compile(optimizer=make(keras), loss="mse")
    kmodel.fit(X, Y, epochs=2, batch_size=16, shuffle=False, verbose=0)
    kmodel.save(tmp_path / "k.keras")
    model = lamina.load_model(tmp_path / "k.keras")
    np.testing.assert_allclose(_steps_lamina(model, 3), _steps_keras(kmodel, 3), atol=1e-5)


@pytest.mark.parametrize("cls", ["SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "Adamax",
                                 "Nadam", "Adadelta", "Lion"])
def test_optimizer_config_has_keras_keys_in_keras_order(cls):
    keras = _keras()
    keras.backend.clear_session()  # both number their automatic names from here
    lamina.backend.clear_session()
    mine = getattr(lamina.optimizers, cls)().get_config()
    theirs = getattr(keras.optimizers, cls)().get_config()
    assert list(mine) == list(theirs)
    for key, value in theirs.items():  # Keras keeps the learning rate as a float32 variable
        if isinstance(value, float):
            assert mine[key] == pytest.approx(value, rel=1e-6), key
        else:
            assert mine[key] == value, key


@pytest.mark.parametrize("name", ["relu6", "hard_silu", "hard_swish", "mish", "log_sigmoid"])
def test_keras_activation_names_cross_keras(tmp_path, name):
    keras = _keras()
    km = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4, activation=name),
                           keras.layers.Dense(3)])
    km.save(tmp_path / "k.keras")
    lm = lamina.load_model(tmp_path / "k.keras")
    np.testing.assert_allclose(lm.predict(X * 4, verbose=0), km.predict(X * 4, verbose=0),
                               atol=2e-6)
    lm.save(tmp_path / "l.keras")
    back = keras.models.load_model(tmp_path / "l.keras")
    np.testing.assert_allclose(back.predict(X * 4, verbose=0), km.predict(X * 4, verbose=0),
                               atol=2e-6)


def test_activation_layers_inside_dense_cross_keras(tmp_path):
    """Dense(activation=LeakyReLU(0.1) / ELU(0.5)) both ways: Keras writes the activation as
    the layer's config, lamina reads it (and writes the same) with the same numbers."""
    keras = _keras()
    km = keras.Sequential([keras.Input((6,)),
                           keras.layers.Dense(4, activation=keras.layers.LeakyReLU(0.1)),
                           keras.layers.Dense(3, activation=keras.layers.ELU(0.5))])
    km.save(tmp_path / "k.keras")
    lm = lamina.load_model(tmp_path / "k.keras")
    # Keras writes compile_config {} for a model it never compiled: it stays uncompiled
    # (it came back compiled with RMSprop and no optimizer state, a file Keras refused).
    assert not lm.compiled
    assert [(lay.activation, lay.alpha) for lay in lm.layers] == [("leaky_relu", 0.1),
                                                                  ("elu", 0.5)]
    np.testing.assert_allclose(lm.predict(X, verbose=0), km.predict(X, verbose=0), atol=1e-6)
    lm.save(tmp_path / "l.keras")
    back = keras.models.load_model(tmp_path / "l.keras")
    np.testing.assert_allclose(back.predict(X, verbose=0), km.predict(X, verbose=0), atol=1e-6)


def test_legacy_h5_is_written_like_keras_writes_it(tmp_path):
    """model.save("m.h5") and ModelCheckpoint("best_model.h5") (in most older tutorials)
    were refused; they write the legacy HDF5 layout Keras 3 writes, with its warning, and
    lamina reads the file back (architecture, weights, compile settings)."""
    model = lamina.Sequential([lamina.Input((6,)), L.Dense(5, activation="relu"), L.Dense(3)],
                              seed=0, name="seq")
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    best = lamina.callbacks.ModelCheckpoint(str(tmp_path / "best_model.h5"),
                                            save_best_only=True, monitor="loss")
    with pytest.warns(UserWarning, match="legacy HDF5"):
        model.fit(X, Y, epochs=2, batch_size=16, verbose=0, callbacks=[best])
    assert (tmp_path / "best_model.h5").is_file()
    with pytest.warns(UserWarning, match="legacy HDF5"):
        model.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5") as f:
        assert json.loads(f.attrs["model_config"])["class_name"] == "Sequential"
        assert [n.decode() if isinstance(n, bytes) else n
                for n in f["model_weights"].attrs["layer_names"]] == [
            lay.name for lay in model.layers]
        assert len(f["optimizer_weights"].attrs["weight_names"]) == 2 + 2 * 4
    back = lamina.load_model(tmp_path / "m.h5")
    np.testing.assert_array_equal(back.predict(X, verbose=0), model.predict(X, verbose=0))
    assert back.get_compile_config()["loss"] == model.get_compile_config()["loss"]
    for name in ("model.hdf5",):
        with pytest.warns(UserWarning):
            model.save(tmp_path / name)
        assert lamina.load_model(tmp_path / name).count_params() == model.count_params()


def test_keras_loads_lamina_legacy_h5(tmp_path):
    keras = _keras()
    model = _functional_lamina_model()
    with pytest.warns(UserWarning):
        model.save(tmp_path / "f.h5")
    kmodel = keras.models.load_model(tmp_path / "f.h5")
    assert type(kmodel).__name__ == "Functional"
    np.testing.assert_allclose(kmodel.predict(X, verbose=0), model.predict(X, verbose=0),
                               atol=1e-6)
    assert int(kmodel.optimizer.iterations.numpy()) == model.optimizer.iterations


def test_huge_layer_in_a_keras_config_fails_before_allocating(tmp_path):
    """A .keras config edited to declare a huge layer tried to allocate it (a MemoryError
    or a long stall); its weights are charged against what model.weights.h5 can hold."""
    lamina_model().save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    config = json.loads(members["config.json"])
    dense = next(e for e in config["config"]["layers"] if e["class_name"] == "Dense")
    dense["config"]["units"] = 10**9
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(tmp_path / "big.keras", "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    with pytest.raises(lamina.ModelFileError, match=r"needs \d+ bytes, more than the \d+ "
                                                    r"bytes of weights left in the file"):
        lamina.load_model(tmp_path / "big.keras")
