"""ONNX export: every layer kind, checked by onnx.checker and run by onnxruntime.

Needs ``pip install onnx onnxruntime`` (the ``interop`` extra); skips without them. Layer
kinds that other work adds (BatchNormalization, LayerNormalization, Normalization, PReLU,
ELU, the noise layers) join the checks as soon as ``lamina.layers`` has them.
"""

import sys

import numpy as np
import pytest

import lamina
from lamina import cli

try:  # any ImportError (a wheel without its native library too) means: skip
    import onnx
    import onnxruntime as ort
except ImportError as exc:
    pytest.skip(f"onnx and onnxruntime are needed: {exc}", allow_module_level=True)
L = lamina.layers
RNG = np.random.default_rng(0)


def _has(*names):
    missing = [n for n in names if not hasattr(L, n)]
    if missing:
        pytest.skip(f"lamina.layers has no {', '.join(missing)} yet")
    return [getattr(L, n) for n in names]


def run_onnx(path, x):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (inp,), (out,) = sess.get_inputs(), sess.get_outputs()
    return sess.run([out.name], {inp.name: x})[0]


def check_export(tmp_path, model, features=(6,), dtype="float32"):
    """Exports, checks the graph, compares onnxruntime with predict at batch 1 and 1000."""
    path = tmp_path / f"{model.name}.onnx"
    model.export(path, format="onnx", verbose=False)
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    assert max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")) >= 17
    (inp,), (out,) = proto.graph.input, proto.graph.output
    assert inp.type.tensor_type.shape.dim[0].dim_param == "batch"
    assert out.name == "output" and inp.name
    for batch in (1, 1000):
        x = RNG.normal(size=(batch, *features)).astype(dtype)
        np.testing.assert_allclose(run_onnx(path, x), model.predict(x, verbose=0),
                                   rtol=1e-5, atol=1e-5)
    return proto


def randomize(model):
    model.set_weights([w + RNG.normal(size=w.shape).astype(w.dtype) * 0.2
                       if w.dtype.kind == "f" else w for w in model.get_weights()])
    return model


ACTIVATIONS = ["linear", "relu", "sigmoid", "tanh", "softmax", "leaky_relu", "elu", "selu",
               "gelu", "gelu_tanh", "softplus", "softsign", "silu", "hard_sigmoid",
               "log_softmax", "relu6", "hard_silu", "mish", "log_sigmoid"]


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_dense_with_every_activation(tmp_path, activation):
    model = lamina.Sequential([lamina.Input((6,), name="features"),
                               L.Dense(5, activation=activation), L.Dense(3, use_bias=False)],
                              seed=1)
    proto = check_export(tmp_path, model)
    assert proto.graph.input[0].name == "features"
    ops = {n.op_type for n in proto.graph.node}
    assert "Gemm" in ops and "MatMul" in ops


def test_layers_rescaling_flatten_dropout_and_activation_layers(tmp_path):
    model = lamina.Sequential([
        lamina.Input((2, 3)), L.Rescaling(0.5, offset=-1.0), L.Flatten(),
        L.Dense(8), L.ReLU(), L.Dropout(0.5), L.Dense(8), L.LeakyReLU(0.1),
        L.Activation("tanh"), L.Dense(4), L.Softmax()], seed=2)
    proto = check_export(tmp_path, model, features=(2, 3))
    assert "Dropout" not in {n.op_type for n in proto.graph.node}


def test_float64_models_export_as_double(tmp_path):
    model = lamina.Sequential([lamina.Input((6,)), L.Dense(4, activation="relu")], seed=3,
                              dtype="float64")
    proto = check_export(tmp_path, model, dtype="float64")
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE


def test_batch_normalization(tmp_path):
    (bn,) = _has("BatchNormalization")
    model = randomize(lamina.Sequential([lamina.Input((6,)), L.Dense(5), bn(epsilon=1e-3),
                                         L.Dense(2)], seed=4))
    check_export(tmp_path, model)


def test_layer_normalization(tmp_path):
    (ln,) = _has("LayerNormalization")
    model = randomize(lamina.Sequential([lamina.Input((6,)), L.Dense(5), ln(),
                                         L.Dense(2)], seed=5))
    proto = check_export(tmp_path, model)
    assert "LayerNormalization" in {n.op_type for n in proto.graph.node}


def test_normalization(tmp_path):
    (norm,) = _has("Normalization")
    data = RNG.normal(3.0, 2.0, size=(200, 6)).astype("float32")
    data[:, 0] = 1.0  # zero variance: Keras divides by max(sqrt(var), epsilon)
    layer = norm()
    layer.adapt(data)
    model = lamina.Sequential([lamina.Input((6,)), layer, L.Dense(2)], seed=6)
    check_export(tmp_path, model)


def test_prelu(tmp_path):
    (prelu,) = _has("PReLU")
    model = randomize(lamina.Sequential([lamina.Input((6,)), L.Dense(5), prelu(),
                                         L.Dense(2)], seed=7))
    proto = check_export(tmp_path, model)
    assert "PRelu" in {n.op_type for n in proto.graph.node}


def test_elu_relu_options_and_noise_layers(tmp_path):
    (elu,) = _has("ELU")
    noise = [getattr(L, n)(0.1) for n in ("GaussianNoise", "GaussianDropout", "AlphaDropout")
             if hasattr(L, n)]
    relu = []
    if "max_value" in L.ReLU.__init__.__code__.co_varnames:
        relu = [L.ReLU(max_value=0.8, threshold=0.1, negative_slope=0.05), L.Dense(4)]
    model = randomize(lamina.Sequential([lamina.Input((6,)), L.Dense(5), *noise, *relu,
                                         L.Dense(4), elu(alpha=0.7), L.Dense(2)], seed=7))
    proto = check_export(tmp_path, model)
    assert not {"GaussianNoise", "Dropout"} & {n.op_type for n in proto.graph.node}


def test_nested_models_are_flattened(tmp_path):
    inner = lamina.Sequential([lamina.Input((6,)), L.Dense(5, activation="tanh")], seed=8)
    try:
        model = lamina.Sequential([lamina.Input((6,)), inner, L.Dense(2)], seed=9)
    except TypeError:
        pytest.skip("this lamina has no nested models yet")
    check_export(tmp_path, model)


def test_cli_export(tmp_path, capsys):
    model = lamina.Sequential([lamina.Input((6,)), L.Dense(3, activation="softmax")], seed=10)
    model.save(tmp_path / "m.lamina")
    assert cli.main(["export", str(tmp_path / "m.lamina"), "--format", "onnx"]) == 0
    assert "m.onnx" in capsys.readouterr().out
    x = RNG.normal(size=(7, 6)).astype("float32")
    np.testing.assert_allclose(run_onnx(tmp_path / "m.onnx", x), model.predict(x, verbose=0),
                               atol=1e-5)
    assert cli.main(["export", str(tmp_path / "missing.lamina")]) == 2


def test_unknown_format_and_unconvertible_layer(tmp_path):
    model = lamina.Sequential([lamina.Input((6,)), L.Dense(3)], seed=11)
    with pytest.raises(ValueError, match="'tf_saved_model'"):
        model.export(tmp_path / "m", format="tf_saved_model")

    class Custom(L.Activation):
        pass

    odd = lamina.Sequential([lamina.Input((6,)), L.Dense(3), Custom("relu")], seed=12)
    with pytest.raises(ValueError, match="Custom"):
        odd.export(tmp_path / "odd.onnx", verbose=False)


def test_missing_onnx_names_the_package(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    model = lamina.Sequential([lamina.Input((6,)), L.Dense(3)], seed=13)
    with pytest.raises(ImportError, match="pip install onnx"):
        model.export(tmp_path / "m.onnx", verbose=False)
