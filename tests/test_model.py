"""Sequential structure, build, summary, compile, evaluate/predict and the *_on_batch calls."""

import numpy as np
import pytest

import lamina
from test_fit import make_data, make_model


def test_namespace_mirrors_keras():
    import lamina as keras

    for name in ("Sequential", "Model", "Input", "layers", "activations", "losses", "metrics",
                 "optimizers", "regularizers", "initializers", "callbacks", "utils", "models",
                 "datasets", "load_model", "config"):
        assert name in keras.__all__ and hasattr(keras, name)
    assert keras.optimizers.schedules.CosineDecay
    assert keras.layers.Dense and keras.layers.Dropout and keras.layers.Activation
    assert keras.layers.Flatten and keras.layers.InputLayer
    assert keras.models.Sequential is keras.Sequential
    assert keras.callbacks.EarlyStopping and keras.utils.set_random_seed
    from lamina.optimizers.schedules import ExponentialDecay  # noqa: F401


def test_add_build_and_shapes():
    model = lamina.Sequential(seed=0)
    model.add(lamina.Input(shape=(6,)))
    model.add(lamina.layers.Dense(4, activation="relu"))
    assert model.built and model.layers[0].kernel.shape == (6, 4)
    model.add(lamina.layers.Dropout(0.5))
    model.add(lamina.layers.Dense(2))
    assert model.input_shape == (None, 6) and model.output_shape == (None, 2)
    assert model.count_params() == 6 * 4 + 4 + 4 * 2 + 2
    assert [w.shape for w in model.get_weights()] == [(6, 4), (4,), (4, 2), (2,)]
    popped = model.pop()
    assert popped.units == 2 and model.output_shape == (None, 4)


def test_build_from_keras_style_shape():
    model = lamina.Sequential([lamina.layers.Dense(3)], seed=0)
    assert not model.built
    model.build((None, 5))
    assert model.layers[0].kernel.shape == (5, 3)
    with pytest.raises(ValueError, match=r"\(5,\).*\(4,\)"):
        model.build((None, 4))


def test_layer_kernel_and_bias_are_the_live_arrays():
    x, y = make_data()
    model = make_model()
    k = model.layers[0].kernel
    before = k.copy()
    model.fit(x, y, epochs=1, verbose=0)
    assert model.layers[0].kernel is k and not np.array_equal(k, before)
    k[...] = 0.0  # writes go straight to the core
    model.layers[1].kernel[...] = 0.0
    model.layers[1].bias[...] = np.array([0.0, 1.0, 0.0], np.float32)
    assert (model.predict(x, verbose=0).argmax(1) == 1).all()


def test_summary(capsys):
    model = make_model(dropout=0.2)
    model.summary()
    out = capsys.readouterr().out
    assert "Dense" in out and "Dropout" in out and "(None, 7)" in out
    assert "Total params: 66" in out
    lines = []
    model.summary(print_fn=lines.append)
    assert "Trainable params: 66" in lines[0]


def test_duplicate_names_and_input_position():
    with pytest.raises(ValueError, match="'a'"):
        lamina.Sequential([lamina.layers.Dense(2, name="a"), lamina.layers.Dense(2, name="a")])
    with pytest.raises(ValueError, match="first layer"):
        lamina.Sequential([lamina.layers.Dense(2), lamina.Input((3,))])
    assert lamina.layers.Dense(2).name != lamina.layers.Dense(2).name


def test_predict_does_not_depend_on_batch_size():
    x, y = make_data(n=97)
    model = make_model(dropout=0.5)
    model.fit(x, y, epochs=1, verbose=0)
    ref = model.predict(x, verbose=0)
    for bs in (1, 7, 32, 1000):
        np.testing.assert_array_equal(model.predict(x, batch_size=bs, verbose=0), ref)
    np.testing.assert_array_equal(model.predict_on_batch(x), ref)
    np.testing.assert_array_equal(model(x), ref)


def test_predict_before_compile_and_softmax_rows():
    model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(3, activation="softmax")],
                              seed=0)
    out = model.predict(np.ones((5, 4)), verbose=0)
    assert out.shape == (5, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out.sum(1), 1.0, rtol=1e-6)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    np.testing.assert_array_equal(model.predict(np.ones((5, 4)), verbose=0), out)


def test_evaluate_return_forms():
    x, y = make_data()
    model = make_model()
    res = model.evaluate(x, y, verbose=0)
    assert isinstance(res, list) and len(res) == 2
    d = model.evaluate(x, y, verbose=0, return_dict=True)
    assert list(d) == sorted(["loss", "accuracy"]) and d["loss"] == res[0]
    nometric = make_model(metrics=())
    assert isinstance(nometric.evaluate(x, y, verbose=0), float)
    for bs in (1, 13, 40):
        assert model.evaluate(x, y, batch_size=bs, verbose=0)[1] == pytest.approx(res[1])
        assert model.evaluate(x, y, batch_size=bs, verbose=0)[0] == pytest.approx(res[0],
                                                                                 rel=1e-6)


def test_evaluate_verbose_prints(capsys):
    x, y = make_data()
    make_model().evaluate(x, y)
    assert "accuracy" in capsys.readouterr().out


def test_train_on_batch_returns_loss_before_the_update_and_counts_steps():
    x, y = make_data()
    model = make_model()
    before = model.evaluate(x, y, verbose=0, batch_size=40)
    got = model.train_on_batch(x, y)
    assert got[0] == pytest.approx(before[0], rel=1e-6)
    assert got[1] == pytest.approx(before[1])
    assert model.optimizer.iterations == 1
    assert model.test_on_batch(x, y, return_dict=True)["loss"] < got[0]
    assert isinstance(make_model(metrics=()).train_on_batch(x, y), float)


def test_recompile_resets_optimizer_and_keeps_weights():
    x, y = make_data()
    model = make_model()
    model.fit(x, y, epochs=1, verbose=0)
    w = model.get_weights()
    model.compile(optimizer=lamina.optimizers.Adam(0.1), loss="sparse_categorical_crossentropy")
    assert model.optimizer.iterations == 0
    assert all(np.array_equal(a, b) for a, b in zip(w, model.get_weights()))
    model.fit(x, y, epochs=1, verbose=0)
    assert model.optimizer.iterations == 2


def test_compile_defaults_and_arguments():
    model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
    model.compile(loss="mse")
    assert isinstance(model.optimizer, lamina.optimizers.RMSprop)
    assert model.loss == "mse"  # Keras keeps what compile was given
    huber = lamina.losses.Huber(delta=0.5)
    model.compile(loss=huber)
    assert model.loss is huber
    model.compile(loss="mse")
    model.compile(optimizer="adam", loss="mse", loss_weights=[2.0], metrics="mae")
    assert model.loss_weights == 2.0 and model.metrics_names == ["loss", "compile_metrics"]
    model.compile(optimizer="adam", loss="mse", metrics=["mae", "mae"])  # Keras: mae_1
    h = model.fit(np.ones((4, 2)), np.zeros((4, 1)), verbose=0)
    assert list(h.history) == ["loss", "mae", "mae_1"]
    with pytest.raises(ValueError, match="'loss'"):
        model.compile(optimizer="adam", loss="mse",
                      metrics=[lamina.metrics.MeanAbsoluteError(name="loss")])


def test_float64_via_config_floatx():
    lamina.config.set_floatx("float64")
    try:
        model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
    finally:
        lamina.config.set_floatx("float32")
    assert model.dtype == "float64" and model.layers[0].kernel.dtype == np.float64
    with pytest.raises(ValueError, match="float16"):
        lamina.config.set_floatx("float16")


def test_layer_classes():
    relu = lamina.layers.ReLU()
    leaky = lamina.layers.LeakyReLU(negative_slope=0.1)
    assert relu.core_spec()[0]["activation"] == "relu"
    assert leaky.core_spec()[0] == {"type": "activation", "activation": "leaky_relu",
                                    "alpha": 0.1}
    assert lamina.layers.Dense(3, activation="leaky_relu").alpha == 0.2
    assert lamina.layers.Dropout(0.0).core_spec() == []
    dense = lamina.layers.Dense(2, use_bias=False, kernel_regularizer=lamina.regularizers.L2(0.5))
    dense.build((3,))
    dense.trainable = False  # the model, not the layer's spec, applies the compiled flag
    spec = dense.core_spec()[0]
    assert [(p["name"], p["value"] is dense.kernel, p["trainable"], p["l1"], p["l2"], p["slots"])
            for p in spec["params"]] == [("kernel", True, True, 0.0, 0.5, [])]
    assert (spec["type"], spec["units"], spec.get("state", [])) == ("dense", 2, [])
    assert lamina.layers.Activation("linear").core_spec() == []
    for layer in (lamina.layers.Dense(3, activation="elu"), lamina.layers.Dropout(0.1),
                  lamina.layers.Activation("tanh"), lamina.layers.Flatten(), leaky,
                  lamina.layers.Softmax(), lamina.Input((3,))):
        again = lamina.layers.deserialize(lamina.layers.serialize(layer))
        assert type(again) is type(layer) and again.get_config() == layer.get_config()


def test_predict_from_several_threads_is_correct():
    import threading

    x, y = make_data(n=300)
    model = make_model(dropout=0.2)
    model.fit(x, y, epochs=1, verbose=0)
    expected = model.predict(x, verbose=0)
    results, errors = [None] * 6, []

    def work(i):
        try:
            for _ in range(20):
                out = model.predict(x, batch_size=17 + i, verbose=0)
            results[i] = out
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for out in results:
        np.testing.assert_array_equal(out, expected)


def test_functional_chain_builds_the_same_model():
    inputs = lamina.Input(shape=(5,))
    x = lamina.layers.Dense(7, activation="tanh")(inputs)
    assert x.shape == (None, 7)
    outputs = lamina.layers.Dense(3, activation="softmax")(x)
    model = lamina.Model(inputs=inputs, outputs=outputs, seed=0)
    assert isinstance(model, lamina.Model) and isinstance(model, lamina.Sequential)
    assert isinstance(make_model(), lamina.models.Model)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    ref = make_model(seed=0)
    xs, ys = make_data()
    model.fit(xs, ys, epochs=2, verbose=0)
    ref.fit(xs, ys, epochs=2, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), ref.get_weights()))


def test_functional_api_limits_are_clear():
    inputs = lamina.Input(shape=(3,))
    dense = lamina.layers.Dense(2)
    out = dense(inputs)
    with pytest.raises(ValueError, match="already used"):
        dense(out)
    with pytest.raises(ValueError, match="batch axis"):  # data: an eager call needs a batch
        lamina.layers.Dense(2)(np.ones(3))
    with pytest.raises(ValueError, match="chained on"):
        lamina.Model(inputs=lamina.Input(shape=(3,)), outputs=out)
    with pytest.raises(ValueError, match="one output"):
        lamina.Model(inputs=inputs, outputs=[out, out])

    class Custom(lamina.Model):
        pass

    with pytest.raises(TypeError, match="subclassing"):
        Custom()
