"""Saving and loading: the .lamina zip, weights files, configs; atomic writes, safe reads."""

import io
import json
import os
import zipfile

import numpy as np
import pytest

import lamina
from lamina import io as lio
from test_fit import make_data, make_model, same_weights


def trained(seed=0, dropout=0.3, optimizer=None, epochs=2):
    x, y = make_data()
    model = make_model(seed=seed, dropout=dropout,
                       optimizer=optimizer or lamina.optimizers.Adam(0.01))
    model.fit(x, y, epochs=epochs, batch_size=8, verbose=0)
    return model, x, y


def test_save_load_predicts_bit_identically(tmp_path):
    model, x, _ = trained()
    path = tmp_path / "m.lamina"
    model.save(path)
    loaded = lamina.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.get_config() == model.get_config()
    assert loaded.get_compile_config() == model.get_compile_config()
    assert loaded.optimizer.iterations == model.optimizer.iterations
    for a, b in zip(loaded.optimizer.variables(), model.optimizer.variables()):
        np.testing.assert_array_equal(a, b)
    assert lamina.models.load_model is lamina.load_model


@pytest.mark.parametrize("optimizer", [
    lambda: lamina.optimizers.Adam(0.01),
    lambda: lamina.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    lambda: lamina.optimizers.SGD(lamina.optimizers.schedules.ExponentialDecay(0.1, 3, 0.9)),
    lambda: lamina.optimizers.Nadam(0.01),
    lambda: lamina.optimizers.RMSprop(0.01, momentum=0.5, centered=True),
    lambda: lamina.optimizers.Adagrad(0.05),
    lambda: lamina.optimizers.AdamW(0.01, amsgrad=True, global_clipnorm=1.0),
])
def test_resume_after_load_equals_uninterrupted(tmp_path, optimizer):
    x, y = make_data()
    full = make_model(seed=3, dropout=0.25, optimizer=optimizer())
    full.fit(x, y, epochs=4, batch_size=8, verbose=0)
    part = make_model(seed=3, dropout=0.25, optimizer=optimizer())
    part.fit(x, y, epochs=2, batch_size=8, verbose=0)
    part.save(tmp_path / "mid.lamina")
    resumed = lamina.load_model(tmp_path / "mid.lamina")
    resumed.fit(x, y, epochs=4, initial_epoch=2, batch_size=8, verbose=0)
    assert same_weights(full, resumed)
    again = lamina.load_model(tmp_path / "mid.lamina")  # plain fit() continues too
    again.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert same_weights(full, again)


def test_reduced_learning_rate_is_saved(tmp_path):
    model, _, _ = trained(dropout=0.0, optimizer=lamina.optimizers.SGD(0.1))
    model.optimizer.learning_rate = 0.01
    model.save(tmp_path / "m.lamina")
    assert lamina.load_model(tmp_path / "m.lamina").optimizer.learning_rate == 0.01


def test_uncompiled_and_keras_extension_and_no_compile(tmp_path):
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2, activation="relu")],
                              seed=1)
    model.save(tmp_path / "m.keras")
    loaded = lamina.load_model(tmp_path / "m.keras")
    assert not loaded.compiled and same_weights(model, loaded)
    trained_model, x, _ = trained()
    trained_model.save(tmp_path / "t.lamina")
    plain = lamina.load_model(tmp_path / "t.lamina", compile=False)
    assert not plain.compiled
    np.testing.assert_array_equal(plain.predict(x, verbose=0),
                                  trained_model.predict(x, verbose=0))


def test_save_requires_built_model_and_known_extension(tmp_path):
    with pytest.raises(ValueError, match="not built"):
        lamina.Sequential([lamina.layers.Dense(2)]).save(tmp_path / "m.lamina")
    model = make_model()
    with pytest.raises(ValueError, match=r"\.lamina"):
        model.save(tmp_path / "m.txt")
    model.save(tmp_path / "m.lamina")
    with pytest.raises(FileExistsError):
        model.save(tmp_path / "m.lamina", overwrite=False)


def test_weights_roundtrip_in_place(tmp_path):
    model, x, _ = trained()
    other = make_model(seed=50, dropout=0.3)
    live = other.weights
    model.save_weights(tmp_path / "w.weights.npz")
    other.load_weights(tmp_path / "w.weights.npz")
    assert same_weights(model, other)
    assert all(a is b for a, b in zip(live, other.weights))  # copied in place
    third = make_model(seed=51, dropout=0.3)
    model.save(tmp_path / "m.lamina")
    third.load_weights(tmp_path / "m.lamina")
    assert same_weights(model, third)
    with pytest.raises(ValueError, match=r"\.weights\.npz"):
        model.save_weights(tmp_path / "w.h5")


def test_load_weights_into_a_different_architecture_fails_clearly(tmp_path):
    model, _, _ = trained()
    model.save_weights(tmp_path / "w.weights.npz")
    wrong = lamina.Sequential([lamina.Input((5,)), lamina.layers.Dense(4),
                               lamina.layers.Dense(3)], seed=0)
    with pytest.raises(lamina.ModelFileError, match=r"\(5, 4\)|\(5, 7\)"):
        wrong.load_weights(tmp_path / "w.weights.npz")


def test_set_weights_is_in_place_and_checked():
    model, x, _ = trained()
    before = model.predict(x, verbose=0)
    live = model.weights
    new = [w * 0 for w in model.get_weights()]
    model.set_weights(new)
    assert all(a is b for a, b in zip(live, model.weights))
    assert np.allclose(model.predict(x, verbose=0), 1 / 3)
    with pytest.raises(ValueError, match="has 4 weight arrays, got 3"):
        model.set_weights(new[:3])
    bad = list(new)
    bad[0] = np.zeros((2, 2))
    with pytest.raises(ValueError, match=r"shape \(5, 7\), got shape \(2, 2\)"):
        model.set_weights(bad)
    bad[0] = np.full((5, 7), np.nan)
    with pytest.raises(ValueError, match="nan"):
        model.set_weights(bad)
    assert not np.array_equal(model.predict(x, verbose=0), before)


def test_get_config_from_config_and_json_roundtrip():
    model = lamina.Sequential([
        lamina.Input(shape=(6,)),
        lamina.layers.Dense(5, activation="leaky_relu", kernel_initializer="he_normal",
                            kernel_regularizer=lamina.regularizers.L2(1e-3),
                            bias_regularizer="l1"),
        lamina.layers.Dropout(0.2),
        lamina.layers.Activation("swish"),
        lamina.layers.Dense(2, use_bias=False,
                            kernel_initializer=lamina.initializers.RandomNormal(stddev=0.1)),
    ], seed=4, name="net")
    config = model.get_config()
    json.dumps(config)
    clone = lamina.Sequential.from_config(config)
    assert clone.get_config() == config
    assert same_weights(model, clone)  # same seed, same initialization
    clone2 = lamina.models.model_from_json(model.to_json())
    assert clone2.get_config() == config
    assert config["layers"][1]["config"]["activation"] == "leaky_relu"
    assert config["layers"][3]["config"]["activation"] == "silu"


def test_input_shape_kwarg_config_roundtrip():
    model = lamina.Sequential([lamina.layers.Dense(3, input_shape=(4,)),
                               lamina.layers.Dense(1)], seed=0)
    assert model.built
    assert lamina.Sequential.from_config(model.get_config()).input_shape == (None, 4)


# ---------------------------------------------------------------- atomic writes ----------
@pytest.mark.parametrize("ext", ["lamina", "weights.npz", "keras"])
def test_save_onto_a_directory_names_the_target(tmp_path, ext):
    """Saving onto a directory failed in the final rename with an error naming the
    temporary file (.~1a2b3c4d~…); it names the target, and nothing is left behind."""
    if ext == "keras":
        pytest.importorskip("h5py")
    model, _, _ = trained()
    target = tmp_path / f"m.{ext}"
    target.mkdir()
    save = model.save_weights if ext == "weights.npz" else model.save
    with pytest.raises(IsADirectoryError, match=f"cannot save to .*m.{ext}.*a directory"):
        save(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"m.{ext}"]
    assert list(target.iterdir()) == []


def test_failed_save_leaves_previous_file_and_no_temp(tmp_path, monkeypatch):
    model, x, _ = trained()
    path = tmp_path / "m.lamina"
    model.save(path)
    before = path.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(zipfile.ZipFile, "writestr", boom)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.lamina"]


# ---------------------------------------------------------------- hostile files ----------
def saved_bytes(tmp_path):
    model, _, _ = trained()
    path = tmp_path / "m.lamina"
    model.save(path)
    return path, path.read_bytes()


def rewrite(path, members):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def members_of(path):
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


@pytest.mark.parametrize("cut", [10, 100, 0.5, 0.9, -1])
def test_truncated_file_is_refused(tmp_path, cut):
    path, data = saved_bytes(tmp_path)
    n = int(len(data) * cut) if isinstance(cut, float) else cut if cut > 0 else len(data) - 1
    path.write_bytes(data[:n])
    with pytest.raises(lamina.ModelFileError, match="m.lamina"):
        lamina.load_model(path)


def test_flipped_byte_is_refused(tmp_path):
    path, data = saved_bytes(tmp_path)
    members = members_of(path)
    w = bytearray(members["weights.npz"])
    w[len(w) // 2] ^= 0xFF
    # Keep the outer CRC valid: the tampering is inside weights.npz.
    members["weights.npz"] = bytes(w)
    rewrite(path, members)
    with pytest.raises(lamina.ModelFileError):
        lamina.load_model(path)
    raw = bytearray(data)
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(lamina.ModelFileError):
        lamina.load_model(path)


def test_pickle_payload_is_refused(tmp_path):
    path, _ = saved_bytes(tmp_path)
    members = members_of(path)
    buf = io.BytesIO()
    arrays = {f"p{i:04d}": np.zeros(1) for i in range(4)}
    arrays["p0000"] = np.array([{"evil": 1}], dtype=object)
    np.savez(buf, **arrays)
    members["weights.npz"] = buf.getvalue()
    rewrite(path, members)
    with pytest.raises(lamina.ModelFileError):
        lamina.load_model(path)


@pytest.mark.parametrize("name", ["../evil.txt", "/etc/passwd", "sub/config.json", "extra.py"])
def test_unexpected_or_traversal_members_are_refused(tmp_path, name):
    path, _ = saved_bytes(tmp_path)
    members = members_of(path)
    members[name] = b"x"
    rewrite(path, members)
    with pytest.raises(lamina.ModelFileError, match="member"):
        lamina.load_model(path)


def test_oversized_member_is_refused(tmp_path):
    path, _ = saved_bytes(tmp_path)
    members = members_of(path)
    members["weights.npz"] = members["weights.npz"] + b"\0" * (1 << 20)
    rewrite(path, members)
    with pytest.raises(lamina.ModelFileError, match="bytes"):
        lamina.load_model(path)
    members = members_of(path)
    members["config.json"] = b" " * (17 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, d in members.items():
            zf.writestr(n, d)
    with pytest.raises(lamina.ModelFileError, match="config.json"):
        lamina.load_model(path)


@pytest.mark.parametrize("edit", [
    lambda c: {**c, "format": "other"},
    lambda c: {**c, "format_version": 99},
    lambda c: {**c, "model": {"class_name": "Functional", "config": {}}},
    lambda c: {**c, "model": {"class_name": "Sequential",
                              "config": {**c["model"]["config"], "layers": [
                                  {"class_name": "Lambda", "config": {}}]}}},
    lambda c: {**c, "optimizer_iterations": 12345},
])
def test_tampered_config_is_refused(tmp_path, edit):
    path, _ = saved_bytes(tmp_path)
    members = members_of(path)
    members["config.json"] = json.dumps(edit(json.loads(members["config.json"]))).encode()
    rewrite(path, members)
    with pytest.raises(lamina.ModelFileError):
        lamina.load_model(path)


@pytest.mark.parametrize("ext", ["lamina", "keras"])
@pytest.mark.parametrize("value, match", [(np.nan, "NaN or inf"), (-1.0, "non-negative")])
def test_tampered_optimizer_state_is_refused(tmp_path, ext, value, match):
    """A NaN anywhere in the optimizer's slots, or a negative second moment (Adam's v, whose
    square root the update takes), loaded silently and made every weight NaN at the first
    step; the file is refused instead. The first moment may be negative."""
    if ext == "keras":
        h5py = pytest.importorskip("h5py")
    x, y = make_data()
    model = make_model(optimizer="adam")
    model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / f"m.{ext}"
    model.save(path)
    members = members_of(path)
    if ext == "lamina":
        slots = dict(np.load(io.BytesIO(members["optimizer.npz"])))
        first, second = slots["s0000_0"], slots["s0000_1"]
        second[0, 0], first[0, 0] = value, -5.0
        buf = io.BytesIO()
        np.savez(buf, **slots)
        members["optimizer.npz"] = buf.getvalue()
    else:
        raw = io.BytesIO(members["model.weights.h5"])
        with h5py.File(raw, "r+") as f:
            # Keras's order: iterations, learning rate, then m and v of each weight
            group = f["optimizer/vars"]
            n = len(group)
            v = group[str(n - 4 + 1)]  # (the weights are kernel, bias, kernel, bias)
            arr = v[()]
            arr.flat[0] = value
            v[...] = arr
        members["model.weights.h5"] = raw.getvalue()
    rewrite(path, members)
    with pytest.raises(lamina.ModelFileError, match=match):
        lamina.load_model(path)
    assert lamina.load_model(path, compile=False).built  # the weights are fine


def test_keras_file_iterations_must_be_whole(tmp_path):
    h5py = pytest.importorskip("h5py")
    x, y = make_data()
    model = make_model(optimizer="adam")
    model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    for bad in (2.5, -1.0, float(2**62)):
        members = members_of(path)
        raw = io.BytesIO(members["model.weights.h5"])
        with h5py.File(raw, "r+") as f:
            del f["optimizer/vars/0"]
            f["optimizer/vars/0"] = np.float64(bad)
        members["model.weights.h5"] = raw.getvalue()
        broken = tmp_path / "b.keras"
        rewrite(broken, members)
        with pytest.raises(lamina.ModelFileError, match="whole number"):
            lamina.load_model(broken)


def test_weights_shape_mismatch_in_file_is_refused(tmp_path):
    path, _ = saved_bytes(tmp_path)
    members = members_of(path)
    cfg = json.loads(members["config.json"])
    cfg["model"]["config"]["layers"][1]["config"]["units"] = 8
    members["config.json"] = json.dumps(cfg).encode()
    rewrite(path, members)
    with pytest.raises(lamina.ModelFileError, match="needs"):
        lamina.load_model(path)


def test_not_a_zip_and_missing_file(tmp_path):
    bad = tmp_path / "x.lamina"
    bad.write_bytes(b"hello")
    with pytest.raises(lamina.ModelFileError, match="not a valid"):
        lamina.load_model(bad)
    with pytest.raises(FileNotFoundError):
        lamina.load_model(tmp_path / "missing.lamina")


def test_loader_never_uses_pickle():
    import inspect

    source = inspect.getsource(lio)
    assert "pickle.load" not in source and "allow_pickle=True" not in source


def test_weights_load_across_float_dtypes(tmp_path):
    model, x, _ = trained()
    model.save_weights(tmp_path / "w.weights.npz")
    wide = make_model(seed=60, dropout=0.3, dtype="float64")
    wide.load_weights(tmp_path / "w.weights.npz")
    for a, b in zip(wide.get_weights(), model.get_weights()):
        assert a.dtype == np.float64
        np.testing.assert_array_equal(a, b.astype(np.float64))
    wide.save_weights(tmp_path / "w64.weights.npz")
    narrow = make_model(seed=61, dropout=0.3)
    narrow.load_weights(tmp_path / "w64.weights.npz")
    assert same_weights(narrow, model)


KERAS3_JSON = """{"module": "keras", "class_name": "Sequential", "config": {"name": "sequential",
 "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy",
 "config": {"name": "float32"}, "registered_name": null}, "layers": [
 {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 64],
  "dtype": "float32", "sparse": false, "ragged": false, "name": "input_layer", "optional": false},
  "registered_name": null},
 {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "trainable": true,
  "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
  "registered_name": null}, "units": 32, "activation": "relu", "use_bias": true,
  "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform",
  "config": {"seed": null}, "registered_name": null},
  "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {},
  "registered_name": null},
  "kernel_regularizer": {"module": "keras.regularizers", "class_name": "L2",
  "config": {"l2": 0.001}, "registered_name": null}, "bias_regularizer": null,
  "kernel_constraint": null, "bias_constraint": null, "lora_rank": null},
  "registered_name": null, "build_config": {"input_shape": [null, 64]}},
 {"module": "keras.layers", "class_name": "Dropout", "config": {"name": "dropout",
  "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy",
  "config": {"name": "float32"}, "registered_name": null}, "rate": 0.2, "seed": null,
  "noise_shape": null}, "registered_name": null},
 {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense_1",
  "trainable": true, "units": 10, "activation": "softmax", "use_bias": true,
  "kernel_initializer": {"module": "keras.initializers", "class_name": "HeNormal",
  "config": {"seed": 7}, "registered_name": null},
  "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {},
  "registered_name": null}, "kernel_regularizer": null, "bias_regularizer": null,
  "kernel_constraint": null, "bias_constraint": null}, "registered_name": null}],
 "build_input_shape": [null, 64]}, "registered_name": null,
 "build_config": {"input_shape": [null, 64]}}"""


def test_keras3_model_json_is_understood():
    model = lamina.models.model_from_json(KERAS3_JSON)
    assert model.input_shape == (None, 64) and model.output_shape == (None, 10)
    dense = model.layers[0]
    assert dense.activation == "relu" and dense.kernel_regularizer == lamina.regularizers.L2(1e-3)
    assert model.layers[1].rate == 0.2
    assert isinstance(model.layers[2].kernel_initializer, lamina.initializers.HeNormal)
    assert model.layers[2].kernel_initializer.seed == 7
    config = json.loads(KERAS3_JSON)
    config["config"]["layers"][1]["config"]["kernel_constraint"] = {
        "module": "keras.constraints", "class_name": "MaxNorm", "config": {"max_value": 3},
        "registered_name": None}
    model = lamina.models.model_from_json(json.dumps(config))
    assert model.layers[0].kernel.constraint == lamina.constraints.MaxNorm(3)
    config["config"]["layers"][1]["config"]["kernel_constraint"] = {"class_name": "FancyNorm"}
    with pytest.raises(ValueError, match="FancyNorm"):
        lamina.models.model_from_json(json.dumps(config))
