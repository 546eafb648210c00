"""Keras-compatible building blocks: names, defaults, formulas, configs."""

import math
import os

import numpy as np
import pytest

import lamina
from lamina import activations, initializers, losses, metrics, optimizers, regularizers
from lamina.optimizers import schedules
from ref_network import act_forward

X = np.linspace(-6, 6, 97)


# ---------------------------------------------------------------- activations -----------
@pytest.mark.parametrize("name", ["linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu",
                                  "selu", "gelu", "softplus", "softsign", "silu",
                                  "hard_sigmoid", "softmax", "log_softmax"])
def test_numpy_activations_match_reference(name):
    fn = activations.deserialize(name)
    alpha = activations.DEFAULT_ALPHA.get(name, 0.0)
    x = X.reshape(1, -1)
    np.testing.assert_allclose(fn(x), act_forward(name, alpha, x), rtol=1e-12, atol=1e-12)


def test_activation_names_and_aliases():
    assert activations.get("swish") == "silu"
    assert activations.get(None) == "linear"
    assert activations.get("ReLU") == "relu"
    assert activations.get(activations.gelu) == "gelu"
    np.testing.assert_allclose(activations.deserialize("gelu_tanh")(X),
                               activations.gelu(X, approximate=True))
    with pytest.raises(ValueError, match="'rleu'.*relu"):
        activations.get("rleu")
    with pytest.raises(ValueError, match="not supported"):
        activations.get(np.sin)


@pytest.mark.parametrize("name", activations.ALL_ACTIVATIONS + ("swish",))
def test_every_activation_name_runs_in_the_core(name):
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(4, activation=name)],
                              seed=0, dtype="float64")
    x = np.random.default_rng(0).normal(size=(5, 3))
    k, b = model.get_weights()
    canonical = activations.get(name)
    expected = act_forward(canonical, activations.DEFAULT_ALPHA.get(canonical, 0.0), x @ k + b)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-9, atol=1e-12)


def test_activations_keep_float32():
    assert activations.relu(np.ones(3, np.float32)).dtype == np.float32
    assert activations.sigmoid(np.array([1000.0, -1000.0])).tolist() == [1.0, 0.0]


# ---------------------------------------------------------------- initializers ----------
@pytest.mark.parametrize("name,std", [
    ("glorot_uniform", math.sqrt(2 / (300 + 200))),
    ("glorot_normal", math.sqrt(2 / (300 + 200))),
    ("he_uniform", math.sqrt(2 / 300)),
    ("he_normal", math.sqrt(2 / 300)),
    ("lecun_uniform", math.sqrt(1 / 300)),
    ("lecun_normal", math.sqrt(1 / 300)),
    ("random_normal", 0.05),
    ("random_uniform", 0.1 / math.sqrt(12)),
    ("uniform", 0.1 / math.sqrt(12)),  # Keras's alias (kernel_initializer='uniform')
    ("normal", 0.05),
    ("truncated_normal", 0.05 * 0.87962566103423978),
])
def test_initializer_scales_follow_keras(name, std):
    w = initializers.get(name)((300, 200), "float64", np.random.default_rng(0))
    assert w.shape == (300, 200) and w.dtype == np.float64
    assert w.std() == pytest.approx(std, rel=0.03)
    assert abs(w.mean()) < 0.1 * std


def test_initializer_bounds_and_constants():
    rng = np.random.default_rng(0)
    w = initializers.GlorotUniform()((30, 20), rng=rng)
    assert np.abs(w).max() <= math.sqrt(6 / 50)
    t = initializers.TruncatedNormal(stddev=1.0)((10000,), rng=rng)
    assert np.abs(t).max() <= 2.0
    h = initializers.HeNormal()((100, 10), rng=rng)
    assert np.abs(h).max() <= 2 * math.sqrt(2 / 100) / 0.87962566103423978
    assert initializers.get("zeros")((3,)).tolist() == [0.0] * 3
    assert initializers.get("ones")((2,)).tolist() == [1.0] * 2
    assert initializers.Constant(0.5)((2,)).tolist() == [0.5, 0.5]
    q = initializers.Orthogonal(gain=2.0)((5, 8), "float64", rng)
    np.testing.assert_allclose(q @ q.T, 4 * np.eye(5), atol=1e-12)
    np.testing.assert_array_equal(initializers.get("identity")((3, 4)), np.eye(3, 4))
    eye = initializers.get({"class_name": "Identity", "config": {"gain": 0.5}})
    np.testing.assert_array_equal(eye((2, 2)), 0.5 * np.eye(2))
    assert initializers.serialize(eye) == {"class_name": "Identity", "config": {"gain": 0.5}}
    with pytest.raises(ValueError, match="2-D kernels only"):
        eye((4,))


def test_initializer_seeding():
    a = initializers.HeNormal()((4, 4), rng=np.random.default_rng(1))
    b = initializers.HeNormal()((4, 4), rng=np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    seeded = initializers.RandomNormal(seed=3)
    np.testing.assert_array_equal(seeded((5,)), seeded((5,)))  # Keras 3: same values per call
    assert initializers.get({"class_name": "RandomUniform",
                             "config": {"minval": 0, "maxval": 1}}).maxval == 1.0
    assert initializers.serialize(initializers.VarianceScaling(2.0))["class_name"] == \
        "VarianceScaling"
    with pytest.raises(ValueError, match="he_norm"):
        initializers.get("he_norm")


def test_dense_uses_model_rng_and_initializers():
    m = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(
        2, kernel_initializer="ones", bias_initializer=initializers.Constant(0.5))], seed=0)
    k, b = m.get_weights()
    assert k.tolist() == [[1.0, 1.0]] * 3 and b.tolist() == [0.5, 0.5]


# ---------------------------------------------------------------- regularizers ----------
def test_regularizers_defaults_and_values():
    w = np.array([1.0, -2.0])
    assert regularizers.L1()(w) == pytest.approx(0.03)
    assert regularizers.L2()(w) == pytest.approx(0.05)
    assert regularizers.L1L2().get_config() == {"l1": 0.0, "l2": 0.0}
    assert regularizers.l1_l2(l1=1.0, l2=1.0)(w) == pytest.approx(8.0)
    assert regularizers.l2 is regularizers.L2
    assert regularizers.get("l2") == regularizers.L2(0.01)
    assert regularizers.get(regularizers.serialize(regularizers.L1L2(0.1, 0.2))) == \
        regularizers.L1L2(0.1, 0.2)
    with pytest.raises(ValueError, match="-1"):
        regularizers.L2(-1)


def test_regularization_reaches_the_core():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 4))
    y = rng.normal(size=(16, 1))
    plain = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(1)], seed=0,
                              dtype="float64")
    reg = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(
        1, kernel_regularizer=regularizers.L1L2(0.01, 0.1), bias_regularizer="l2")], seed=0,
        dtype="float64")
    for m in (plain, reg):
        m.compile(optimizer="sgd", loss="mse")
    k, b = reg.get_weights()
    expected = plain.evaluate(x, y, verbose=0) + 0.01 * np.abs(k).sum() + 0.1 * (k ** 2).sum() \
        + 0.01 * (b ** 2).sum()
    assert reg.evaluate(x, y, verbose=0) == pytest.approx(expected, rel=1e-12)


# ---------------------------------------------------------------- losses ----------------
def test_losses_match_formulas():
    yt = np.array([[0.0, 1.0], [1.0, 0.0]])
    yp = np.array([[0.3, 0.7], [0.6, 0.4]])
    assert losses.MeanSquaredError()(yt, yp) == pytest.approx(np.mean((yt - yp) ** 2))
    assert losses.MeanAbsoluteError()(yt, yp) == pytest.approx(np.mean(np.abs(yt - yp)))
    assert losses.CategoricalCrossentropy()(yt, yp) == pytest.approx(
        -(np.log(0.7) + np.log(0.6)) / 2)
    assert losses.SparseCategoricalCrossentropy()([1, 0], yp) == pytest.approx(
        -(np.log(0.7) + np.log(0.6)) / 2)
    assert losses.BinaryCrossentropy()(yt, yp) == pytest.approx(
        -np.mean(yt * np.log(yp) + (1 - yt) * np.log(1 - yp)))
    z = np.array([[2.0, -1.0]])
    assert losses.CategoricalCrossentropy(from_logits=True)([[1.0, 0.0]], z) == pytest.approx(
        -np.log(np.exp(2) / (np.exp(2) + np.exp(-1))))
    assert losses.Huber(delta=0.5)([[0.0]], [[2.0]]) == pytest.approx(0.5 * (2 - 0.25))
    assert losses.MeanSquaredError()(yt, yp, sample_weight=[2.0, 0.0]) == pytest.approx(
        np.mean((yt[0] - yp[0]) ** 2))


def test_loss_resolution_and_config():
    assert losses.get("mse").core_name == "mean_squared_error"
    assert losses.get("huber").core_spec() == {"name": "huber", "from_logits": False,
                                               "delta": 1.0}
    assert losses.get(losses.sparse_categorical_crossentropy).name == \
        "sparse_categorical_crossentropy"
    cfg = losses.serialize(losses.BinaryCrossentropy(from_logits=True))
    assert losses.get(cfg).from_logits is True
    # Keras 3 has no label smoothing for the sparse crossentropy (issue 15 added it to the
    # categorical and binary ones, and made any callable a custom loss)
    with pytest.raises(ValueError, match="label_smoothing"):
        losses.SparseCategoricalCrossentropy(label_smoothing=0.1)
    with pytest.raises(ValueError, match="mean_squared_eror"):
        losses.get("mean_squared_eror")
    with pytest.raises(ValueError, match="not supported"):
        losses.get(42)
    assert isinstance(losses.get(lambda a, b: 0), losses.LossFunctionWrapper)


def test_model_loss_equals_numpy_loss():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 4))
    for loss, y in [("mse", rng.normal(size=(20, 3))), ("mae", rng.normal(size=(20, 3))),
                    (losses.Huber(0.3), rng.normal(size=(20, 3))),
                    ("categorical_crossentropy", lamina.utils.to_categorical(
                        rng.integers(0, 3, 20), 3)),
                    ("sparse_categorical_crossentropy", rng.integers(0, 3, 20))]:
        act = "softmax" if "crossentropy" in str(loss) else None
        m = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(3, activation=act)],
                              seed=0, dtype="float64")
        m.compile(optimizer="sgd", loss=loss)
        expected = losses.get(loss)(y, m.predict(x, verbose=0))
        assert m.evaluate(x, y, verbose=0) == pytest.approx(expected, rel=1e-9), loss


# ---------------------------------------------------------------- metrics ---------------
@pytest.mark.parametrize("loss,units,expected", [
    ("sparse_categorical_crossentropy", 3, "sparse_categorical_accuracy"),
    ("categorical_crossentropy", 3, "categorical_accuracy"),
    ("binary_crossentropy", 1, "binary_accuracy"),
    ("binary_crossentropy", 4, "binary_accuracy"),
    ("mse", 1, "binary_accuracy"),
    ("mse", 3, "categorical_accuracy"),
])
def test_accuracy_resolution_like_keras(loss, units, expected):
    for name in ("accuracy", "acc"):
        m = metrics.get(name, loss=loss, output_dim=units)
        assert m.core_name == expected and m.name == name


def test_metric_names_are_history_keys():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 4))
    y = rng.integers(0, 3, 30)
    model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(3, activation="softmax")],
                              seed=0, dtype="float64")
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                  metrics=["acc", metrics.SparseTopKCategoricalAccuracy(k=2, name="top2")])
    h = model.fit(x, y, epochs=1, verbose=0)
    assert list(h.history) == sorted(["loss", "acc", "top2"])
    assert model.metrics_names == ["loss", "compile_metrics"]  # Keras 3's
    pred = model.predict(x, verbose=0)
    res = model.evaluate(x, y, verbose=0, return_dict=True)
    assert res["acc"] == pytest.approx(metrics.sparse_categorical_accuracy(y, pred).mean())
    assert res["top2"] == pytest.approx(
        metrics.sparse_top_k_categorical_accuracy(y, pred, k=2).mean())


def test_regression_metrics_in_core_match_numpy():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(25, 4))
    y = rng.normal(size=(25, 2))
    model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(2)], seed=0,
                              dtype="float64")
    model.compile(optimizer="sgd", loss="mae", metrics=["mse", "mae"])
    pred = model.predict(x, verbose=0)
    res = model.evaluate(x, y, verbose=0, return_dict=True)
    assert res["mse"] == pytest.approx(metrics.mse(y, pred).mean())
    assert res["mae"] == pytest.approx(res["loss"])


def test_metric_state_and_errors():
    m = metrics.BinaryAccuracy(threshold=0.7)
    m.update_state([[1.0], [1.0]], [[0.8], [0.6]])
    assert m.result() == 0.5
    m.reset_state()
    assert m.result() == 0.0
    assert metrics.top_k_categorical_accuracy([[0, 0, 1]], [[0.1, 0.5, 0.4]], k=2).tolist() \
        == [1.0]
    with pytest.raises(ValueError, match="'f1'"):
        metrics.get("f1")
    model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(3)], seed=0)
    model.compile(optimizer="sgd", loss="categorical_crossentropy",
                  metrics=["sparse_categorical_accuracy"])
    with pytest.raises(ValueError, match="integer labels"):
        model.fit(np.ones((2, 4)), np.eye(3)[:2], verbose=0)


# ---------------------------------------------------------------- optimizers ------------
@pytest.mark.parametrize("name,cls,lr,slots", [
    ("sgd", optimizers.SGD, 0.01, 0), ("rmsprop", optimizers.RMSprop, 0.001, 1),
    ("adam", optimizers.Adam, 0.001, 2), ("adamw", optimizers.AdamW, 0.001, 2),
    ("adagrad", optimizers.Adagrad, 0.001, 1), ("adamax", optimizers.Adamax, 0.001, 2),
    ("nadam", optimizers.Nadam, 0.001, 2), ("adadelta", optimizers.Adadelta, 0.001, 2),
    ("lion", optimizers.Lion, 0.001, 1)])
def test_optimizer_defaults_and_roundtrip(name, cls, lr, slots):
    opt = optimizers.get(name)
    assert type(opt) is cls and opt.learning_rate == lr and opt.num_slots == slots
    again = optimizers.get(optimizers.serialize(opt))
    assert again.get_config() == opt.get_config()
    assert opt.core_spec()["name"] == name
    params = [np.zeros((3, 2), np.float32), np.zeros(2, np.float32)]
    opt.build(params)
    assert [[s.shape for s in ps] for ps in opt.slots] == [[(3, 2)] * slots, [(2,)] * slots]
    assert all(s.dtype == np.float32 for s in opt.variables())


def test_optimizer_keras_defaults():
    lamina.backend.clear_session()
    assert optimizers.Adam().get_config() == {
        "name": "adam", "learning_rate": 0.001, "weight_decay": None, "clipnorm": None,
        "global_clipnorm": None, "clipvalue": None, "use_ema": False, "ema_momentum": 0.99,
        "ema_overwrite_frequency": None, "loss_scale_factor": None,
        "gradient_accumulation_steps": None, "beta_1": 0.9, "beta_2": 0.999,
        "epsilon": 1e-7, "amsgrad": False}
    assert [optimizers.RMSprop().name, optimizers.RMSprop().name, optimizers.Adam().name,
            optimizers.Adam(name="mine").name] == ["rm_sprop", "rm_sprop_1", "adam_1", "mine"]
    assert optimizers.AdamW().weight_decay == 0.004
    assert optimizers.RMSprop().rho == 0.9
    assert optimizers.Adagrad().initial_accumulator_value == 0.1
    opt = optimizers.Adagrad()
    opt.build([np.zeros(3)])
    assert opt.slots[0][0].tolist() == [0.1] * 3
    assert optimizers.RMSprop(momentum=0.9, centered=True).num_slots == 3
    assert optimizers.Adam(amsgrad=True).num_slots == 3
    spec = optimizers.SGD(clipnorm=1.0, weight_decay=0.1).core_spec()
    assert spec["clipnorm"] == 1.0 and spec["weight_decay"] == 0.1 and spec["clipvalue"] == 0.0


def test_optimizer_errors_quote_values():
    with pytest.raises(ValueError, match="-0.1"):
        optimizers.SGD(learning_rate=-0.1)
    with pytest.raises(ValueError, match="clipnorm"):
        optimizers.Adam(clipnorm=1.0, global_clipnorm=1.0)
    with pytest.raises(ValueError, match="1.5"):
        optimizers.Adam(beta_1=1.5)
    with pytest.raises(ValueError, match="'adamm'"):
        optimizers.get("adamm")
    with pytest.raises(TypeError, match="momentun"):
        optimizers.SGD(momentun=0.9)


def test_learning_rate_setter_and_schedule():
    opt = optimizers.SGD(0.1)
    opt.learning_rate = 0.5
    assert opt.learning_rate == 0.5
    s = schedules.PiecewiseConstantDecay([2, 4], [1.0, 0.5, 0.1])
    opt = optimizers.SGD(s)
    assert [s(i) for i in range(6)] == [1.0, 1.0, 1.0, 0.5, 0.5, 0.1]
    opt.iterations = 5
    assert opt.learning_rate == 0.1
    with pytest.raises(TypeError, match="LearningRateSchedule"):
        opt.learning_rate = 0.3
    cfg = optimizers.serialize(opt)
    assert isinstance(optimizers.get(cfg).schedule, schedules.PiecewiseConstantDecay)


def test_schedules_follow_keras_formulas():
    e = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.96)
    assert e(25) == pytest.approx(0.1 * 0.96 ** 2.5)
    assert schedules.ExponentialDecay(0.1, 10, 0.96, staircase=True)(25) == pytest.approx(
        0.1 * 0.96 ** 2)
    i = schedules.InverseTimeDecay(0.1, decay_steps=1.0, decay_rate=0.5)
    assert i(4) == pytest.approx(0.1 / 3)
    c = schedules.CosineDecay(0.1, decay_steps=100, alpha=0.1)
    assert c(0) == pytest.approx(0.1) and c(100) == pytest.approx(0.01)
    assert c(1000) == pytest.approx(0.01)
    assert c(50) == pytest.approx(0.1 * (0.9 * 0.5 + 0.1))
    w = schedules.CosineDecay(0.0, decay_steps=10, warmup_target=1.0, warmup_steps=10)
    assert w(5) == pytest.approx(0.5) and w(10) == pytest.approx(1.0)
    assert w(15) == pytest.approx(0.5)
    for sched in (e, i, c, w, schedules.PiecewiseConstantDecay([1], [1.0, 2.0])):
        assert schedules.get(schedules.serialize(sched)).get_config() == sched.get_config()
    with pytest.raises(ValueError, match="decay_steps"):
        schedules.ExponentialDecay(0.1, 0, 0.9)


def test_polynomial_decay_and_cosine_restarts_follow_keras():
    """PolynomialDecay and CosineDecayRestarts (SGDR) with Keras 3's formulas; against Keras
    itself where it is installed (float32 there: 2e-7)."""
    p = schedules.PolynomialDecay(0.1, decay_steps=10, end_learning_rate=0.01, power=2.0)
    assert p(0) == pytest.approx(0.1) and p(5) == pytest.approx(0.09 * 0.25 + 0.01)
    assert p(10) == pytest.approx(0.01) and p(50) == pytest.approx(0.01)
    cyc = schedules.PolynomialDecay(0.1, 10, end_learning_rate=0.0, cycle=True)
    assert cyc(15) == pytest.approx(0.1 * 0.25)  # the horizon grew to 20
    r = schedules.CosineDecayRestarts(1.0, first_decay_steps=10, t_mul=2.0, m_mul=0.5)
    assert r(0) == 1.0 and r(5) == pytest.approx(0.5)
    assert r(10) == pytest.approx(0.5) and r(20) == pytest.approx(0.5 * 0.5)  # 2nd: 20 steps
    assert r(30) == pytest.approx(0.25)  # the third period starts at 10 + 20
    for sched in (p, cyc, r):
        assert schedules.get(schedules.serialize(sched)).get_config() == sched.get_config()
    with pytest.raises(ValueError, match="power"):
        schedules.PolynomialDecay(0.1, 10, power=0)
    with pytest.raises(ValueError, match="alpha"):
        schedules.CosineDecayRestarts(0.1, 10, alpha=2.0)
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    cases = [("PolynomialDecay", {"decay_steps": 7, "end_learning_rate": 0.01, "power": 2.0}),
             ("PolynomialDecay", {"decay_steps": 7, "power": 0.5, "cycle": True}),
             ("CosineDecayRestarts", {"first_decay_steps": 5}),
             ("CosineDecayRestarts", {"first_decay_steps": 5, "t_mul": 1.0, "m_mul": 0.5,
                                      "alpha": 0.1})]
    for name, kw in cases:
        ours = getattr(schedules, name)(0.1, **kw)
        theirs = getattr(keras.optimizers.schedules, name)(0.1, **kw)
        for step in range(60):
            assert ours(step) == pytest.approx(float(theirs(step)), rel=2e-6, abs=1e-9)


def test_learning_rate_answers_keras_variable_calls():
    opt = optimizers.Adam(0.01)
    lr = opt.learning_rate
    assert lr == 0.01 and lr.numpy() == np.float64(0.01)
    lr.assign(0.002)
    assert opt.learning_rate == 0.002 and type(opt.get_config()["learning_rate"]) is float
    opt.learning_rate = opt.learning_rate  # setting it to itself stays a plain float inside
    assert type(opt._lr) is float


def test_keras_lowercase_and_long_names_are_the_classes():
    from lamina import initializers as I

    pairs = {"constant": I.Constant, "glorot_normal": I.GlorotNormal,
             "glorot_uniform": I.GlorotUniform, "he_normal": I.HeNormal,
             "he_uniform": I.HeUniform, "identity": I.Identity, "lecun_normal": I.LecunNormal,
             "lecun_uniform": I.LecunUniform, "ones": I.Ones, "orthogonal": I.Orthogonal,
             "random_normal": I.RandomNormal, "random_uniform": I.RandomUniform,
             "truncated_normal": I.TruncatedNormal, "variance_scaling": I.VarianceScaling,
             "zeros": I.Zeros, "IdentityInitializer": I.Identity,
             "OrthogonalInitializer": I.Orthogonal}
    for name, cls in pairs.items():
        assert getattr(I, name) is cls, name
    a = I.he_normal(seed=3)((4, 5), "float32")
    np.testing.assert_array_equal(a, I.HeNormal(seed=3)((4, 5), "float32"))


def test_initializer_none_is_keras_glorot_fallback():
    assert initializers.get(None) is None and initializers.serialize(None) is None
    d = lamina.layers.Dense(64, bias_initializer=None, kernel_initializer=None)
    lamina.Sequential([lamina.Input((32,)), d], seed=0)
    limit = math.sqrt(6 / (64 + 64))  # glorot_uniform of a (64,) bias: fan_in = fan_out = 64
    b = d.bias.numpy()
    assert np.abs(b).max() <= limit and b.std() > 0.3 * limit  # not zeros
    config = d.get_config()
    assert config["bias_initializer"] is None
    assert lamina.layers.Dense.from_config(config).bias_initializer is None


def test_constant_initializer_takes_arrays():
    init = initializers.Constant(np.log([0.25]))  # the imbalanced-data tutorial's bias
    assert isinstance(init.value, float) and init.get_config() == {"value": math.log(0.25)}
    np.testing.assert_allclose(init((3,)), [math.log(0.25)] * 3, rtol=1e-6)
    rows = initializers.Constant([1.0, 2.0])
    assert rows((2, 2)).tolist() == [[1.0, 2.0], [1.0, 2.0]]
    assert initializers.Constant.from_config(rows.get_config())((1, 2)).tolist() == [[1, 2]]
    with pytest.raises(ValueError, match=r"shape \(3,\) does not broadcast .* \(2, 2\)"):
        initializers.Constant([1.0, 2.0, 3.0])((2, 2))
    with pytest.raises(TypeError, match="got 'a'"):
        initializers.Constant("a")
    with pytest.raises(ValueError, match="finite"):
        initializers.Constant([1.0, np.inf])


def test_losses_are_the_current_weight_penalties():
    model = lamina.Sequential([
        lamina.Input((5,)),
        lamina.layers.Dense(4, kernel_regularizer=regularizers.L2(0.01)),
        lamina.layers.Dense(3, kernel_regularizer=regularizers.L1(0.1),
                            bias_regularizer=regularizers.L1L2(0.1, 0.2),
                            bias_initializer="ones"),
        lamina.layers.Dense(1)], seed=4)
    w = [v.numpy().astype(np.float64) for v in model.weights]
    want = [0.01 * np.square(w[0]).sum(), 0.1 * np.abs(w[2]).sum(),
            0.1 * np.abs(w[3]).sum() + 0.2 * np.square(w[3]).sum()]
    got = model.losses
    assert [v.dtype for v in got] == [np.float32] * 3
    np.testing.assert_allclose([float(v) for v in got], want, rtol=1e-6)
    assert model.layers[2].losses == [] and lamina.layers.Dense(2).losses == []
    model.layers[0].trainable = False  # Keras lists trainable weights' penalties only
    assert len(model.losses) == 2
    model.trainable = False
    assert model.losses == []


def test_keras_batch_first_shapes_in_build_and_compute_output_shape():
    dense = lamina.layers.Dense(4)
    assert dense.compute_output_shape((None, 20)) == (None, 4)  # Keras's form
    assert dense.compute_output_shape((20,)) == (4,)  # lamina's per-sample form
    dense.build((None, 20))
    assert dense.kernel.shape == (20, 4)
    assert lamina.layers.Flatten().compute_output_shape((None, 3, 4)) == (None, 12)
    assert lamina.layers.Dropout(0.5).compute_output_shape((None, 7)) == (None, 7)
    model = lamina.Sequential([lamina.Input((20,)), lamina.layers.Dense(4),
                               lamina.layers.Dense(2)])
    assert model.compute_output_shape((None, 20)) == (None, 2) == model.output_shape


def test_unsupported_keras_layers_say_why():
    with pytest.raises(AttributeError, match="Concatenate is not supported .* one chain"):
        lamina.layers.Concatenate()
    with pytest.raises(AttributeError, match="LSTM is not supported .* dense networks"):
        lamina.layers.LSTM
    with pytest.raises(AttributeError, match="has no attribute 'NoSuchLayer'"):
        lamina.layers.NoSuchLayer
    assert not hasattr(lamina.layers, "Lambda")


def test_model_checkpoint_creates_its_folder(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 3)), rng.normal(size=(32, 1))
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)], seed=0)
    model.compile("sgd", "mse")
    pattern = str(tmp_path / "ckpt" / "deeper" / "w_{epoch:02d}-{loss:.2f}.weights.h5")
    pytest.importorskip("h5py")
    model.fit(x, y, epochs=2, verbose=0,
              callbacks=[lamina.callbacks.ModelCheckpoint(pattern, save_weights_only=True)])
    assert len(list((tmp_path / "ckpt" / "deeper").glob("w_0*.weights.h5"))) == 2


def test_evaluate_with_a_sum_reduction_averages_keras_batches():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(100, 3)), rng.normal(size=(100, 2))
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)], seed=0)
    model.compile("sgd", losses.MeanSquaredError(reduction="sum"))
    p = model.predict(x, verbose=0).astype(np.float64)
    per_sample = ((p - y) ** 2).mean(axis=1)
    sums = [per_sample[i:i + 32].sum() for i in range(0, 100, 32)]  # Keras: batches of 32
    want = np.average(sums, weights=[len(per_sample[i:i + 32]) for i in range(0, 100, 32)])
    assert model.evaluate(x, y, verbose=0) == pytest.approx(want, rel=1e-5)


def test_keras_2_decay_warns_and_is_ignored_and_keras_names():
    with pytest.warns(UserWarning, match="`decay` is no longer supported"):
        opt = optimizers.SGD(learning_rate=0.01, decay=1e-6, momentum=0.9, nesterov=True)
    assert opt.momentum == 0.9 and "decay" not in opt.get_config()
    with pytest.raises(TypeError, match="unexpected arguments for Adam: lr"):
        optimizers.Adam(lr=0.1)
    assert lamina.backend.backend() == lamina.config.backend() == "numpy"
    assert lamina.models.save_model is lamina.saving.save_model
