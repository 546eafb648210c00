"""BatchNormalization and LayerNormalization through the Keras-style API: weights and their
order, trainable / non-trainable lists, summary counts, fit / predict semantics against numpy,
a frozen BatchNormalization, config round trips, save / load and resuming training."""

import numpy as np
import pytest

import lamina
from lamina import layers


def _data(n=96, d=6, k=3, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((n, d)) * 2 + 1).astype("float32")
    return x, rng.integers(0, k, n)


def _model(norm="bn", seed=1, frozen=False, **kw):
    layer = (layers.BatchNormalization(**kw) if norm == "bn"
             else layers.LayerNormalization(**kw))
    layer.trainable = not frozen
    m = lamina.Sequential([lamina.Input((6,)), layers.Dense(8, use_bias=False), layer,
                           layers.Activation("relu"), layers.Dropout(0.2),
                           layers.Dense(3, activation="softmax")], seed=seed)
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return m


def test_weights_order_trainable_lists_and_counts():
    bn = layers.BatchNormalization()
    bn.build((5,))
    assert [w is v for w, v in zip(bn.weights, (bn.gamma, bn.beta, bn.moving_mean,
                                                 bn.moving_variance))] == [True] * 4
    assert [w.tolist() for w in bn.weights] == [[1.0] * 5, [0.0] * 5, [0.0] * 5, [1.0] * 5]
    assert len(bn.trainable_weights) == 2 and bn.trainable_weights[0] is bn.gamma
    assert bn.non_trainable_weights[0] is bn.moving_mean and len(bn.non_trainable_weights) == 2
    bn.trainable = False
    assert bn.trainable_weights == [] and len(bn.non_trainable_weights) == 4
    nb = layers.BatchNormalization(scale=False)
    nb.build((3,))
    assert nb.gamma is None and len(nb.weights) == 3 and nb.count_params() == 9
    ln = layers.LayerNormalization(center=False)
    ln.build((4,))
    assert ln.beta is None and ln.weights == [ln.gamma] and ln.count_params() == 4

    m = _model()
    text = []
    m.summary(print_fn=text.append)
    text = text[0]
    # 6*8 kernel + 4*8 BN (gamma, beta trainable; moving mean/variance not) + 8*3+3
    assert "Total params: 107" in text and "Trainable params: 91" in text
    assert "Non-trainable params: 16" in text
    assert "batch_normalization" in text and "(BatchNormalization)" in text
    assert m.count_params() == 107


def test_fit_uses_batch_statistics_and_updates_the_moving_ones_predict_uses_them():
    x, y = _data()
    m = lamina.Sequential([lamina.Input((6,)), layers.BatchNormalization(momentum=0.5),
                           layers.Dense(3, activation="softmax")], seed=2)
    m.compile(optimizer=lamina.optimizers.SGD(0.0), loss="sparse_categorical_crossentropy")
    bn = m.layers[0]
    m.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, verbose=0)
    np.testing.assert_allclose(bn.moving_mean, x.mean(0) * 0.5, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn.moving_variance, 0.5 + x.var(0) * 0.5, rtol=1e-5)
    # predict: (x - moving_mean) / sqrt(moving_variance + eps) * gamma + beta, then the head
    bn.gamma[...] = np.linspace(0.5, 2, 6)
    bn.beta[...] = np.linspace(-1, 1, 6)
    h = (x - bn.moving_mean) / np.sqrt(bn.moving_variance + 1e-3) * bn.gamma + bn.beta
    z = h.astype(np.float64) @ m.layers[1].kernel + m.layers[1].bias
    p = np.exp(z - z.max(1, keepdims=True))
    np.testing.assert_allclose(m.predict(x, verbose=0), p / p.sum(1, keepdims=True),
                               rtol=1e-5, atol=1e-6)


def test_layer_normalization_predict_matches_numpy():
    x, _ = _data()
    m = lamina.Sequential([lamina.Input((6,)), layers.LayerNormalization(epsilon=0.01)], seed=0)
    ln = m.layers[0]
    ln.gamma[...] = np.linspace(0.5, 2, 6)
    ln.beta[...] = np.linspace(-1, 1, 6)
    mu, var = x.mean(1, keepdims=True), x.var(1, keepdims=True)
    np.testing.assert_allclose(m.predict(x, verbose=0),
                               (x - mu) / np.sqrt(var + 0.01) * ln.gamma + ln.beta,
                               rtol=1e-5, atol=1e-5)


def test_frozen_batch_norm_runs_in_inference_mode_during_fit():
    x, y = _data()
    m = _model(frozen=True)
    bn = m.layers[1]
    bn.moving_mean[...] = 0.3
    bn.moving_variance[...] = 2.0
    before = [w.copy() for w in bn.weights]
    first = m.layers[0].kernel.copy()
    hist = m.fit(x, y, batch_size=32, epochs=2, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(bn.weights, before))
    assert not np.array_equal(first, m.layers[0].kernel)  # the rest trains
    assert np.isfinite(hist.history["loss"]).all()
    # inference-mode normalisation in fit: the training loss of an SGD(0) step equals the
    # evaluate loss without dropout
    m2 = lamina.Sequential([lamina.Input((6,)), layers.Dense(8), layers.BatchNormalization(
        trainable=False), layers.Dense(3, activation="softmax")], seed=4)
    m2.compile(optimizer=lamina.optimizers.SGD(0.0), loss="sparse_categorical_crossentropy")
    m2.layers[1].moving_variance[...] = 3.0
    fit_loss = m2.fit(x, y, batch_size=len(x), epochs=1, verbose=0).history["loss"][0]
    assert fit_loss == pytest.approx(m2.evaluate(x, y, verbose=0), rel=1e-6)
    # unfrozen, the batch statistics give another loss
    m2.layers[1].trainable = True
    m2.compile(optimizer=lamina.optimizers.SGD(0.0), loss="sparse_categorical_crossentropy")
    assert m2.fit(x, y, batch_size=len(x), epochs=1, verbose=0).history["loss"][0] != \
        pytest.approx(fit_loss, rel=1e-3)


@pytest.mark.parametrize("norm", ["bn", "ln"])
def test_config_round_trip_and_keras_configs(norm):
    cls = layers.BatchNormalization if norm == "bn" else layers.LayerNormalization
    layer = cls(epsilon=0.01, center=False, gamma_regularizer="l2", name="n")
    again = layers.deserialize(layers.serialize(layer))
    assert type(again) is cls and again.get_config() == layer.get_config()
    cfg = layer.get_config()
    assert cfg["epsilon"] == 0.01 and cfg["center"] is False and cfg["axis"] == -1
    assert layers.class_for("batch_normalization") is layers.BatchNormalization
    assert layers.class_for("layer_normalization") is layers.LayerNormalization
    keras_cfg = {"name": "k", "trainable": True, "dtype": {"module": "keras", "class_name":
                 "DTypePolicy", "config": {"name": "float32"}, "registered_name": None},
                 "axis": [-1] if norm == "ln" else -1, "epsilon": 0.001, "center": True,
                 "scale": True, "beta_initializer": {"module": "keras.initializers",
                 "class_name": "Zeros", "config": {}, "registered_name": None},
                 "gamma_initializer": {"module": "keras.initializers", "class_name": "Ones",
                 "config": {}, "registered_name": None}, "beta_regularizer": None,
                 "gamma_regularizer": None, "beta_constraint": None, "gamma_constraint": None}
    if norm == "bn":
        keras_cfg.update(momentum=0.9, moving_mean_initializer="zeros",
                         moving_variance_initializer="ones", synchronized=False, renorm=False,
                         renorm_clipping=None, renorm_momentum=0.99)
    else:
        keras_cfg.update(rms_scaling=False)
    k = layers.deserialize({"class_name": cls.__name__, "config": keras_cfg})
    assert k.name == "k" and k.epsilon == 0.001


@pytest.mark.parametrize("kw,text", [
    (dict(axis=0), "axis=0"), (dict(axis=[1, 2]), "axis=[1, 2]"), (dict(axis="x"), "axis='x'"),
    (dict(momentum=1.5), "momentum"), (dict(epsilon=0), "epsilon"),
    (dict(renorm=True), "renorm=True"), (dict(synchronized=True), "synchronized"),
    (dict(gamma_constraint="fancy_norm"), "fancy_norm"),
])
def test_bad_batch_norm_arguments_name_the_value(kw, text):
    with pytest.raises((ValueError, TypeError)) as info:
        layers.BatchNormalization(**kw)
    assert text in str(info.value)


def test_bad_layer_norm_arguments_and_shapes():
    with pytest.raises(ValueError, match="axis=-2"):
        layers.LayerNormalization(axis=-2)
    with pytest.raises(ValueError, match="rms_scaling"):
        layers.LayerNormalization(rms_scaling=True)
    with pytest.raises(ValueError, match="1-D samples"):
        layers.BatchNormalization().build((3, 4))


@pytest.mark.parametrize("norm", ["bn", "ln"])
def test_save_load_bit_identical_and_training_resumes_exactly(tmp_path, norm):
    x, y = _data()
    full = _model(norm, seed=5)
    full.fit(x, y, epochs=4, batch_size=16, verbose=0)
    part = _model(norm, seed=5)
    part.fit(x, y, epochs=2, batch_size=16, verbose=0)
    part.save(tmp_path / "mid.lamina")
    resumed = lamina.load_model(tmp_path / "mid.lamina")
    assert [type(la).__name__ for la in resumed.layers] == [type(la).__name__
                                                              for la in part.layers]
    np.testing.assert_array_equal(resumed.predict(x, verbose=0), part.predict(x, verbose=0))
    for a, b in zip(resumed.get_weights(), part.get_weights()):
        assert np.array_equal(a, b)
    resumed.fit(x, y, epochs=4, initial_epoch=2, batch_size=16, verbose=0)
    for a, b in zip(resumed.get_weights(), full.get_weights()):
        assert np.array_equal(a, b)  # moving statistics included
    if norm == "bn":
        assert not np.array_equal(full.layers[1].moving_mean, 0)


def test_weights_file_round_trip_carries_moving_statistics(tmp_path):
    x, y = _data()
    a = _model()
    a.fit(x, y, epochs=1, batch_size=16, verbose=0)
    a.save_weights(tmp_path / "w.weights.npz")
    b = _model(seed=9)
    b.load_weights(tmp_path / "w.weights.npz")
    assert np.array_equal(b.layers[1].moving_variance, a.layers[1].moving_variance)
    np.testing.assert_array_equal(b.predict(x, verbose=0), a.predict(x, verbose=0))


def test_thread_count_does_not_change_training(threads):
    x, y = _data(200)
    out = []
    for n in (1, 2):
        threads(n)
        m = _model(seed=7)
        m.fit(x, y, epochs=2, batch_size=64, verbose=0)
        out.append(m.get_weights())
    for a, b in zip(*out):
        assert np.array_equal(a, b)


def test_sklearn_estimator_takes_normalization_layers():
    pytest.importorskip("sklearn")
    from lamina.sklearn import LaminaClassifier

    x, y = _data(120)
    clf = LaminaClassifier(layers=[{"units": 16}, {"type": "batch_normalization"},
                                   {"type": "activation", "activation": "relu"},
                                   {"units": 8, "activation": "relu"},
                                   {"type": "layer_normalization", "epsilon": 0.01}],
                           epochs=3, random_state=0, n_threads=1).fit(x, y)
    kinds = [type(la).__name__ for la in clf.model_.layers]
    assert "BatchNormalization" in kinds and "LayerNormalization" in kinds
    assert clf.predict(x).shape == (120,)


def test_run_file_model_section_takes_normalization_layers(tmp_path):
    from lamina.runfile import load_run, model_config

    path = tmp_path / "run.toml"
    path.write_text("[model]\n[[model.layers]]\nunits = 8\n"
                    "[[model.layers]]\ntype = 'batch_normalization'\nmomentum = 0.9\n"
                    "[[model.layers]]\ntype = 'layer_normalization'\n"
                    "[[model.layers]]\nunits = 2\nactivation = 'softmax'\n")
    model = lamina.Sequential.from_config(model_config(load_run(path), 5))
    bn, ln = model.layers[1], model.layers[2]
    assert isinstance(bn, layers.BatchNormalization) and bn.momentum == 0.9
    assert isinstance(ln, layers.LayerNormalization) and ln.epsilon == 1e-3
