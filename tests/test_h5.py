"""HDF5 and .keras files that lie: each gives a clear ModelFileError, never a crash or code.

Also the legacy Keras 2 whole-model ``.h5`` (read only), built here with h5py the way
Keras 2 wrote it (``model_config`` attribute, ``model_weights`` group).
"""

import json
import zipfile

import numpy as np
import pytest

import lamina

h5py = pytest.importorskip("h5py")
L = lamina.layers


def small_model(seed=0):
    return lamina.Sequential([lamina.Input((4,)), L.Dense(3, activation="relu"), L.Dense(2)],
                             seed=seed)


def keras_zip(path, config, weights_fill=None, extra=None):
    """Writes a .keras zip with this config and an HDF5 weights member ``weights_fill`` fills."""
    import io

    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f.create_group("vars")
        if weights_fill is not None:
            weights_fill(f)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("metadata.json", json.dumps({"keras_version": "3.5.0"}))
        zf.writestr("config.json", json.dumps(config))
        zf.writestr("model.weights.h5", buf.getvalue())
        for name, data in (extra or {}).items():
            zf.writestr(name, data)


def model_entry(layers):
    return {"module": "keras", "class_name": "Sequential", "registered_name": None,
            "config": {"name": "s", "layers": [
                {"module": "keras.layers", "class_name": "InputLayer",
                 "config": {"batch_shape": [None, 4], "dtype": "float32", "name": "in"}},
                *layers]}}


DENSE = {"module": "keras.layers", "class_name": "Dense", "registered_name": None,
         "config": {"name": "d", "units": 2, "activation": "linear"}}


def good_weights(f):
    f["layers/dense/vars/0"] = np.ones((4, 2), "float32")
    f["layers/dense/vars/1"] = np.zeros((2,), "float32")


def test_a_handmade_keras_file_loads(tmp_path):
    keras_zip(tmp_path / "ok.keras", model_entry([DENSE]), good_weights)
    model = lamina.load_model(tmp_path / "ok.keras")
    np.testing.assert_array_equal(model.predict(np.ones((1, 4), "float32"), verbose=0),
                                  [[4.0, 4.0]])


@pytest.mark.parametrize("bad,match", [
    ({"module": "keras.layers", "class_name": "Lambda",
      "config": {"name": "l", "function": {"class_name": "__lambda__", "config": {
          "code": "4wEAAAAAAAAAAAAAAAEAAAACAAAAQwAAAHMEAAAAfABTACkBTqkAKQHaAXhyAQAAAHIBAAAA",
          "defaults": None, "closure": None}}}}, "Lambda"),
    ({"module": "keras.layers", "class_name": "Activation",
      "config": {"name": "a", "activation": {"module": "builtins", "class_name": "function",
                                             "config": "eval", "registered_name": None}}},
     "function"),
    ({"module": "mypackage.evil", "class_name": "Exploit", "config": {"name": "x"}},
     "Exploit"),
    ({"module": "keras.layers", "class_name": "Conv2D", "config": {"name": "c"}}, "Conv2D"),
])
def test_code_and_unknown_classes_are_refused(tmp_path, bad, match):
    keras_zip(tmp_path / "bad.keras", model_entry([bad, DENSE]), good_weights)
    with pytest.raises(lamina.ModelFileError, match=match):
        lamina.load_model(tmp_path / "bad.keras")


def _write_weights(tmp_path, fill):
    keras_zip(tmp_path / "w.keras", model_entry([DENSE]), fill)
    return tmp_path / "w.keras"


def test_wrong_shape_is_refused(tmp_path):
    def fill(f):
        f["layers/dense/vars/0"] = np.ones((5, 2), "float32")
        f["layers/dense/vars/1"] = np.zeros((2,), "float32")
    with pytest.raises(lamina.ModelFileError, match=r"\(5, 2\).*\(4, 2\)"):
        lamina.load_model(_write_weights(tmp_path, fill))


def test_huge_declared_dataset_is_refused_before_allocation(tmp_path):
    def fill(f):
        good_weights(f)
        f.create_dataset("layers/dense/vars/2", shape=(2**40, 2**10), dtype="float32",
                         chunks=(1, 16))  # declared, never written: a tiny file
    with pytest.raises(lamina.ModelFileError, match="declares shape"):
        lamina.load_model(_write_weights(tmp_path, fill))


def test_missing_and_extra_weights_are_refused(tmp_path):
    with pytest.raises(lamina.ModelFileError, match="no group 'layers/dense'"):
        lamina.load_model(_write_weights(tmp_path, lambda f: None))

    def extra(f):
        good_weights(f)
        f["layers/dense_1/vars/0"] = np.ones((2, 2), "float32")
    with pytest.raises(lamina.ModelFileError, match="dense_1"):
        lamina.load_model(_write_weights(tmp_path, extra))


def test_nan_weights_are_refused(tmp_path):
    def fill(f):
        f["layers/dense/vars/0"] = np.full((4, 2), np.nan, "float32")
        f["layers/dense/vars/1"] = np.zeros((2,), "float32")
    with pytest.raises(lamina.ModelFileError, match="NaN"):
        lamina.load_model(_write_weights(tmp_path, fill))


def test_external_links_soft_links_and_virtual_datasets_are_refused(tmp_path):
    secret = tmp_path / "secret.h5"
    with h5py.File(secret, "w") as f:
        f["data"] = np.ones((4, 2), "float32")
        f["bias"] = np.zeros((2,), "float32")

    def external(f):
        f["layers/dense/vars/0"] = h5py.ExternalLink(str(secret), "data")
        f["layers/dense/vars/1"] = np.zeros((2,), "float32")

    def soft(f):
        f["elsewhere"] = np.ones((4, 2), "float32")
        f["layers/dense/vars/0"] = h5py.SoftLink("/elsewhere")
        f["layers/dense/vars/1"] = np.zeros((2,), "float32")

    def virtual(f):
        layout = h5py.VirtualLayout(shape=(4, 2), dtype="float32")
        layout[:] = h5py.VirtualSource(str(secret), "data", shape=(4, 2))
        f.create_virtual_dataset("layers/dense/vars/0", layout)
        f["layers/dense/vars/1"] = np.zeros((2,), "float32")

    def external_storage(f):
        raw = tmp_path / "raw.bin"
        raw.write_bytes(np.ones(8, "float32").tobytes())
        f.create_dataset("layers/dense/vars/0", shape=(4, 2), dtype="float32",
                         external=[(str(raw), 0, 32)])
        f["layers/dense/vars/1"] = np.zeros((2,), "float32")

    for fill, match in ((external, "external link"), (soft, "soft link"),
                        (virtual, "virtual dataset"), (external_storage, "external files")):
        with pytest.raises(lamina.ModelFileError, match=match):
            lamina.load_model(_write_weights(tmp_path, fill))
        # the same checks guard .weights.h5 files
        path = tmp_path / "x.weights.h5"
        with h5py.File(path, "w") as f:
            fill(f)
        with pytest.raises(lamina.ModelFileError, match=match):
            model = lamina.Sequential([lamina.Input((4,)), L.Dense(2)], seed=0)
            model.load_weights(path)


def test_truncated_and_garbage_files(tmp_path):
    model = small_model()
    model.save(tmp_path / "m.keras")
    data = (tmp_path / "m.keras").read_bytes()
    (tmp_path / "t.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(lamina.ModelFileError):
        lamina.load_model(tmp_path / "t.keras")
    model.save_weights(tmp_path / "w.weights.h5")
    raw = (tmp_path / "w.weights.h5").read_bytes()
    (tmp_path / "t.weights.h5").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(lamina.ModelFileError):
        small_model().load_weights(tmp_path / "t.weights.h5")
    (tmp_path / "g.weights.h5").write_bytes(b"not hdf5 at all" * 10)
    with pytest.raises(lamina.ModelFileError, match="not a valid HDF5"):
        small_model().load_weights(tmp_path / "g.weights.h5")
    keras_zip(tmp_path / "j.keras", {}, good_weights)
    with zipfile.ZipFile(tmp_path / "j2.keras", "w") as zf:
        zf.writestr("config.json", "{not json")
    with pytest.raises(lamina.ModelFileError, match="not valid JSON"):
        lamina.load_model(tmp_path / "j2.keras")
    with pytest.raises(lamina.ModelFileError, match="not supported"):
        lamina.load_model(tmp_path / "j.keras")


def test_deeply_nested_config_is_refused(tmp_path):
    with zipfile.ZipFile(tmp_path / "deep.keras", "w") as zf:
        zf.writestr("config.json", "[" * 200000 + "]" * 200000)
    with pytest.raises(lamina.ModelFileError, match="nested too deeply"):
        lamina.load_model(tmp_path / "deep.keras")
    level = '{"class_name": "Sequential", "config": {"layers": ['
    with zipfile.ZipFile(tmp_path / "deep2.keras", "w") as zf:  # models nested 600 deep
        zf.writestr("config.json", level * 600 + "]}}" * 600)
    with pytest.raises(lamina.ModelFileError):
        lamina.load_model(tmp_path / "deep2.keras")


def test_weights_member_larger_than_the_model_is_refused(tmp_path):
    def fill(f):
        good_weights(f)
        f["padding"] = np.zeros(3 << 20, "float32")  # 12 MB of data the model cannot need
    keras_zip(tmp_path / "big.keras", model_entry([DENSE]), fill)
    with pytest.raises(lamina.ModelFileError, match="claims .* bytes"):
        lamina.load_model(tmp_path / "big.keras")


# ------------------------------------------------------------------ legacy Keras 2 .h5 ---
def legacy_h5(path, kernel, bias, training=True):
    config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4],
                                                "dtype": "float32", "name": "input_1"}},
        {"class_name": "Dense", "config": {
            "name": "dense", "trainable": True, "dtype": "float32", "units": 2,
            "activation": "tanh", "use_bias": True,
            "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
            "bias_initializer": {"class_name": "Zeros", "config": {}},
            "kernel_regularizer": None, "bias_regularizer": None,
            "activity_regularizer": None, "kernel_constraint": None,
            "bias_constraint": None}}]}}
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = "2.13.1"
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps(config)
        if training:
            f.attrs["training_config"] = json.dumps({
                "loss": "mse", "metrics": None, "optimizer_config": {
                    "class_name": "Adam", "config": {"name": "Adam", "learning_rate": 0.01}}})
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = [b"dense"]
        d = g.create_group("dense")
        d.attrs["weight_names"] = [b"dense/kernel:0", b"dense/bias:0"]
        d["dense/kernel:0"] = kernel
        d["dense/bias:0"] = bias


def test_legacy_keras2_h5_model_loads(tmp_path):
    rng = np.random.default_rng(0)
    kernel = rng.normal(size=(4, 2)).astype("float32")
    bias = rng.normal(size=(2,)).astype("float32")
    legacy_h5(tmp_path / "old.h5", kernel, bias)
    model = lamina.load_model(tmp_path / "old.h5")
    x = rng.normal(size=(5, 4)).astype("float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), np.tanh(x @ kernel + bias),
                               atol=1e-6)
    assert model.optimizer.name.lower() == "adam" and model.loss is not None
    other = lamina.Sequential([lamina.Input((4,)), L.Dense(2, activation="tanh",
                                                           name="dense")], seed=1)
    other.load_weights(tmp_path / "old.h5")
    np.testing.assert_array_equal(other.get_weights()[0], kernel)


def test_legacy_h5_with_wrong_shapes_or_no_config_is_refused(tmp_path):
    legacy_h5(tmp_path / "bad.h5", np.ones((5, 2), "float32"), np.zeros(2, "float32"))
    with pytest.raises(lamina.ModelFileError, match=r"\(5, 2\)"):
        lamina.load_model(tmp_path / "bad.h5")
    with h5py.File(tmp_path / "weights_only.h5", "w") as f:
        f["x"] = np.ones(3)
    with pytest.raises(lamina.ModelFileError, match="model_config"):
        lamina.load_model(tmp_path / "weights_only.h5")
