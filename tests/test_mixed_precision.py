"""Keras's mixed precision in lamina: dtype policies, the "mixed_bfloat16" Dense GEMMs in
the core, and the policy through configs, files, run files and summaries."""

import numpy as np
import pytest

import lamina
from lamina import _core, dtype_policies, mixed_precision

L = lamina.layers


@pytest.fixture(autouse=True)
def _reset_policy():
    yield
    mixed_precision.set_global_policy(None)
    lamina.config.set_floatx("float32")


def bf16(a):
    """Round-to-nearest-even to bfloat16, returned as float64 (the reference's inputs)."""
    u = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) & 0xFFFF0000
    return u.astype(np.uint32).view(np.float32).astype(np.float64)


def test_bf16_helper_rounds_to_nearest_even():
    x = np.array([1.0, 1.0 + 2**-8, 1.0 + 3 * 2**-8, 1.0 + 2**-9, -2.5], np.float32)
    # 1 + 2^-8 is a tie between 1 and 1 + 2^-7: even mantissa (1); 1 + 3*2^-8: up to 1 + 2^-6
    assert bf16(x).tolist() == [1.0, 1.0, 1.0 + 2**-6, 1.0, -2.5]


# ---- the policy API ----------------------------------------------------------------------

@pytest.mark.parametrize("name, compute, variable", [
    ("float32", "float32", "float32"), ("float64", "float64", "float64"),
    ("mixed_bfloat16", "bfloat16", "float32")])
def test_policy_dtypes(name, compute, variable):
    p = mixed_precision.Policy(name)
    assert isinstance(p, lamina.DTypePolicy)
    assert (p.name, p.compute_dtype, p.variable_dtype) == (name, compute, variable)
    assert p.get_config() == {"name": name}
    assert dtype_policies.DTypePolicy.from_config(p.get_config()) == p
    assert repr(p) == f'<DTypePolicy "{name}">'


@pytest.mark.parametrize("name, hint", [("mixed_float16", "no float16"),
                                        ("float16", "no float16"),
                                        ("bfloat16", "float32 master weights"),
                                        ("int8", "lamina's policies are")])
def test_unsupported_policies_are_refused_by_name(name, hint):
    with pytest.raises(ValueError, match=f"'{name}'.*{hint}"):
        mixed_precision.set_global_policy(name)
    with pytest.raises(ValueError, match=hint):
        L.Dense(2, dtype=name)
    assert mixed_precision.global_policy().name == "float32"


def test_bad_policy_types():
    with pytest.raises(ValueError, match="Invalid `policy`"):
        mixed_precision.set_global_policy(3)
    with pytest.raises(TypeError, match="dtype policy"):
        L.Dense(2, dtype=[1])
    with pytest.raises(ValueError, match="not supported"):
        dtype_policies.deserialize({"class_name": "QuantizedDTypePolicy",
                                    "config": {"name": "float32"}})


def test_global_policy_is_taken_at_layer_creation():
    assert mixed_precision.global_policy() == lamina.DTypePolicy("float32")
    mixed_precision.set_global_policy("mixed_bfloat16")
    mixed = L.Dense(3)
    own = L.Dense(3, dtype="float32")
    mixed_precision.set_global_policy("float32")
    later = L.Dense(3)
    assert (mixed.dtype_policy.name, mixed.compute_dtype, mixed.variable_dtype, mixed.dtype) == \
        ("mixed_bfloat16", "bfloat16", "float32", "float32")
    assert own.compute_dtype == "float32" and later.compute_dtype == "float32"


def test_policy_spellings_and_keras_config():
    keras_entry = {"module": "keras", "class_name": "DTypePolicy",
                   "config": {"name": "mixed_bfloat16"}, "registered_name": None}
    assert L.Dense(2, dtype=keras_entry).compute_dtype == "bfloat16"
    assert L.Dense(2, dtype=lamina.DTypePolicy("mixed_bfloat16")).compute_dtype == "bfloat16"
    assert dtype_policies.serialize("mixed_bfloat16") == keras_entry
    assert dtype_policies.get(np.float64).name == "float64"


def test_float_policy_is_floatx_and_sets_the_model_dtype():
    mixed_precision.set_global_policy("float64")
    assert lamina.config.floatx() == "float64"
    model = lamina.Sequential([lamina.Input((3,)), L.Dense(2)])
    assert model.dtype == "float64" and model.layers[-1].kernel.dtype == np.float64
    mixed_precision.set_global_policy("mixed_bfloat16")
    assert lamina.Sequential().dtype == "float32"


def test_mixed_layer_needs_a_float32_model():
    with pytest.raises(ValueError, match="'mixed_bfloat16'.*float64.*float32 model"):
        lamina.Sequential([lamina.Input((3,)), L.Dense(2, dtype="mixed_bfloat16")],
                          dtype="float64")
    # a plain float policy follows the model
    model = lamina.Sequential([lamina.Input((3,)), L.Dense(2, dtype="float32")], dtype="float64")
    assert model.layers[-1].dtype == "float64"


def test_policy_setter_on_a_built_layer():
    model = lamina.Sequential([lamina.Input((3,)), L.Dense(2)])
    dense = model.layers[-1]
    dense.dtype_policy = "mixed_bfloat16"
    assert dense.compute_dtype == "bfloat16"
    with pytest.raises(ValueError, match="float32 weights"):
        dense.dtype_policy = "float64"


# ---- the core ------------------------------------------------------------------------------

def _mlp(policy, seed=0, hidden=(24, 16), classes=10, features=40):
    mixed_precision.set_global_policy(policy)
    stack = [lamina.Input((features,))]
    stack += [L.Dense(u, activation="relu") for u in hidden]
    stack += [L.Dense(classes, activation="softmax")]
    model = lamina.Sequential(stack, seed=seed)
    mixed_precision.set_global_policy(None)
    return model


def test_dense_core_spec_carries_the_compute_dtype():
    model = _mlp("mixed_bfloat16")
    assert [e.get("compute_dtype") for e in model.core_spec()] == ["bfloat16"] * 3
    assert all("compute_dtype" not in e for e in _mlp("float32").core_spec())


def test_core_checks_the_compute_dtype():
    rng = np.random.default_rng(0)

    def spec(dtype, compute):
        w = rng.normal(size=(3, 2)).astype(dtype)
        return {"dtype": dtype, "input_dim": 3,
                "layers": [{"type": "dense", "units": 2, "activation": "linear", "alpha": 0.0,
                            "compute_dtype": compute,
                            "params": [{"name": "kernel", "value": w, "trainable": False,
                                        "l1": 0.0, "l2": 0.0, "slots": []}]}],
                "loss": {"name": "mean_squared_error", "from_logits": False, "delta": 1.0},
                "optimizer": lamina.optimizers.SGD().core_spec(),
                "optimizer_state": np.ones(1), "metrics": [], "seed": 0}

    _core.Network(spec("float32", "bfloat16"))
    _core.Network(spec("float64", "float64"))
    with pytest.raises(ValueError, match="compute_dtype'] must be one of float32, float64, "
                                         "bfloat16, got 'float16'"):
        _core.Network(spec("float32", "float16"))
    with pytest.raises(ValueError, match="'bfloat16'.*needs a float32 network"):
        _core.Network(spec("float64", "bfloat16"))
    with pytest.raises(ValueError, match="'float64' differs from the network's float32"):
        _core.Network(spec("float32", "float64"))


@pytest.mark.parametrize("m, k, n", [(1, 1, 1), (7, 13, 5), (33, 130, 17), (130, 300, 70)])
def test_dense_forward_equals_float64_reference_of_bf16_inputs(m, k, n):
    rng = np.random.default_rng(m * 1000 + k)
    model = lamina.Sequential([lamina.Input((k,)),
                               L.Dense(n, dtype="mixed_bfloat16",
                                       bias_initializer="random_normal")], seed=1)
    x = rng.normal(size=(m, k)).astype(np.float32)
    kernel, bias = model.get_weights()
    ref = bf16(x) @ bf16(kernel) + bias.astype(np.float64)
    got = model.predict(x, verbose=0)
    # fp32 accumulation of k exact products: |err| <= ~k * eps32 * sum |a_i b_i|
    bound = 2 * k * 2.0**-24 * (np.abs(bf16(x)) @ np.abs(bf16(kernel))) + 1e-30
    assert np.all(np.abs(got - ref) <= bound + 2.0**-24 * np.abs(ref))
    # and it is not the float32 product (the bf16 rounding is visible)
    if k > 10:
        exact = x.astype(np.float64) @ kernel.astype(np.float64) + bias
        assert np.max(np.abs(got - exact)) > 10 * np.max(np.abs(got - ref))


def test_dense_gradient_uses_bf16_operands():
    """dW = bf16(X)^T bf16(dZ) on one linear Dense with a mean squared error."""
    rng = np.random.default_rng(3)
    m, k, n = 64, 96, 8
    model = lamina.Sequential([lamina.Input((k,)), L.Dense(n, dtype="mixed_bfloat16")],
                              seed=2)
    model.compile(optimizer=lamina.optimizers.SGD(learning_rate=1.0), loss="mse")
    x = rng.normal(size=(m, k)).astype(np.float32)
    y = rng.normal(size=(m, n)).astype(np.float32)
    w0 = model.get_weights()
    z = model.predict(x, verbose=0)  # the bf16 forward
    dz = (2.0 / (m * n)) * (z.astype(np.float64) - y)
    model.train_on_batch(x, y)
    dw = w0[0] - model.get_weights()[0]  # SGD lr 1: the gradient
    ref = bf16(x).T @ bf16(dz.astype(np.float32))
    exact = x.astype(np.float64).T @ dz
    err_ref, err_exact = np.max(np.abs(dw - ref)), np.max(np.abs(dw - exact))
    assert err_ref < 1e-3 * np.max(np.abs(ref))
    assert err_ref < err_exact / 5


def _train(policy, threads, seed=0, epochs=10):
    (x, y), (xt, yt) = lamina.datasets.make_mnist1d(n_samples=3000, seed=7)
    before = lamina.get_num_threads()
    lamina.set_num_threads(threads)
    try:
        model = _mlp(policy, seed=seed, hidden=(128, 128))
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        model.fit(x, y, batch_size=32, epochs=epochs, verbose=0)
        acc = model.evaluate(xt, yt, verbose=0)[1]
    finally:
        lamina.set_num_threads(before)
    return model.get_weights(), acc


def test_bf16_training_converges_deterministically_at_any_thread_count():
    w1, acc1 = _train("mixed_bfloat16", 1)
    w2, acc2 = _train("mixed_bfloat16", 2)
    for a, b in zip(w1, w2):
        np.testing.assert_array_equal(a, b)
    assert acc1 == acc2
    wf, accf = _train("float32", 1)
    assert accf > 0.6  # it learns (10 balanced classes: chance is 0.1)
    assert abs(acc1 - accf) < 0.05
    assert all(w.dtype == np.float32 for w in w1)  # float32 master weights
    assert any(not np.array_equal(a, b) for a, b in zip(w1, wf))  # the bf16 path ran


# ---- configs, files, run files, summary -------------------------------------------------------

def _fitted_mixed():
    model = lamina.Sequential([lamina.Input((5,)), L.Dense(4, activation="relu",
                                                           dtype="mixed_bfloat16"),
                               L.Dense(2, activation="softmax")], seed=3)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    model.fit(rng.normal(size=(20, 5)).astype(np.float32), rng.integers(0, 2, 20),
              epochs=1, verbose=0)
    return model


def test_config_round_trip_keeps_the_policy():
    model = _fitted_mixed()
    cfg = model.get_config()
    assert cfg["layers"][1]["config"]["dtype"] == "mixed_bfloat16"
    assert "dtype" not in cfg["layers"][2]["config"]  # float32: the model's dtype
    clone = lamina.Sequential.from_config(cfg)
    assert [lay.compute_dtype for lay in clone.layers] == ["bfloat16", "float32"]


def test_lamina_file_keeps_the_policy(tmp_path):
    model = _fitted_mixed()
    x = np.random.default_rng(1).normal(size=(6, 5)).astype(np.float32)
    model.save(tmp_path / "m.lamina")
    back = lamina.load_model(tmp_path / "m.lamina")
    assert [lay.compute_dtype for lay in back.layers] == ["bfloat16", "float32"]
    np.testing.assert_array_equal(back.predict(x, verbose=0), model.predict(x, verbose=0))


def test_keras_file_keeps_the_policy(tmp_path):
    pytest.importorskip("h5py")
    from lamina import keras_config

    model = _fitted_mixed()
    entry = keras_config.model_to_keras(model)
    policies = [e["config"]["dtype"]["config"]["name"] for e in entry["config"]["layers"][1:]]
    assert policies == ["mixed_bfloat16", "float32"]
    model.save(tmp_path / "m.keras")
    back = lamina.load_model(tmp_path / "m.keras")
    assert [lay.dtype_policy.name for lay in back.layers] == ["mixed_bfloat16", "float32"]


def test_summary_names_the_mixed_layers():
    lines = []
    _fitted_mixed().summary(print_fn=lines.append)
    assert "Dtype policy mixed_bfloat16: dense" in lines[0].replace("dense_", "dense")


def test_run_file_precision(tmp_path):
    from lamina.runfile import build_model, load_run
    from lamina.runfile.errors import RunFileError

    run = load_run({"training": {"precision": "bf16"}})
    model = build_model(run, 64)
    dense = [lay for lay in model.layers if isinstance(lay, L.Dense)]
    assert dense and all(lay.compute_dtype == "bfloat16" for lay in dense)
    assert mixed_precision.global_policy().name == "float32"  # restored
    assert load_run({})["training"]["precision"] == "float32"
    assert 'precision = "bf16"' in run.to_toml()
    with pytest.raises(RunFileError, match="training.precision.*'fp16' is not one of float32, "
                                           "bf16"):
        load_run({"training": {"precision": "fp16"}})
    with pytest.raises(RunFileError, match="training.precision.*float64"):
        build_model(load_run({"training": {"precision": "bf16"},
                              "model": {"dtype": "float64"}}), 64)


def test_cli_train_bf16(tmp_path):
    from lamina import cli

    run = tmp_path / "run.toml"
    run.write_text('[data]\nmax_samples = 300\n[training]\nepochs = 2\nprecision = "bf16"\n'
                   '[outputs]\nplot = false\n')
    assert cli.main(["train", str(run), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    back = lamina.load_model(tmp_path / "out" / "model.lamina")
    assert {lay.compute_dtype for lay in back.layers
            if isinstance(lay, L.Dense)} == {"bfloat16"}


# Keras 3 on numpy 2 warns inside its own code (Variable.__array__); not lamina's concern.
@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
def test_keras_reads_and_writes_mixed_policies(tmp_path):
    import os

    pytest.importorskip("h5py")
    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        import keras
    except ImportError as exc:
        pytest.skip(f"Keras 3 is not importable here: {exc}")
    if keras.backend.backend() != "torch":  # pragma: no cover - another backend preloaded
        pytest.skip("this check runs Keras 3 on the torch backend")
    _fitted_mixed().save(tmp_path / "lamina.keras")
    back = keras.saving.load_model(tmp_path / "lamina.keras")
    assert [lay.dtype_policy.name for lay in back.layers] == ["mixed_bfloat16", "float32"]
    before = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        k = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3),
                              keras.layers.Dense(2, dtype="float32")])
    finally:
        keras.config.set_dtype_policy(before)
    k.save(tmp_path / "keras.keras")
    model = lamina.load_model(tmp_path / "keras.keras")
    assert model.dtype == "float32"
    assert [lay.dtype_policy.name for lay in model.layers] == ["mixed_bfloat16", "float32"]


def test_bench_bf16_column_leaves_the_global_policy():
    from lamina.bench import frameworks
    from lamina.bench.workloads import MLPSpec

    assert frameworks.expand(["bf16", "lamina"]) == ["lamina", "lamina-bf16", "torch-bf16"]
    fw = frameworks.get("lamina-bf16")
    x = np.random.default_rng(0).random((40, 8), dtype=np.float32)
    trainer = fw.mlp_trainer(MLPSpec(8, (6,), 3, batch_size=16), x, np.arange(40) % 3)
    assert [lay.compute_dtype for lay in trainer.model.layers] == ["bfloat16"] * 2
    assert mixed_precision.global_policy().name == "float32"
    trainer.train(1)


def _train_wide(threads, **adam):
    """mixed_bfloat16 with a 300 x 256 kernel (a packed dW gemm), a few steps of batch 64."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(256, 40)).astype(np.float32)
    y = rng.integers(0, 10, 256)
    before = lamina.get_num_threads()
    lamina.set_num_threads(threads)
    try:
        model = _mlp("mixed_bfloat16", seed=1, hidden=(300, 256))
        model.compile(optimizer=lamina.optimizers.Adam(1e-3, **adam),
                      loss="sparse_categorical_crossentropy")
        model.fit(x, y, batch_size=64, epochs=2, shuffle=False, verbose=0)
    finally:
        lamina.set_num_threads(before)
    return model.get_weights()


def test_bf16_update_inside_the_gemm_is_thread_independent_and_exact():
    """The dW gemm hands the fused update whole rows (split by rows at 2 threads): the same
    bits at 1 and 2 threads, and the same as the update run after the backward pass (a
    global_clipnorm that never clips turns the fusion off and scales by exactly 1)."""
    w1 = _train_wide(1)
    for a, b in zip(w1, _train_wide(2)):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(w1, _train_wide(1, global_clipnorm=1e30)):
        np.testing.assert_array_equal(a, b)
