"""The Python layers of issue 14 part B: Normalization (adapt), PReLU, ELU / LeakyReLU / ReLU
/ Softmax, GaussianNoise / GaussianDropout / AlphaDropout, ActivityRegularization and
activity_regularizer=, Dropout(noise_shape), Reshape: arguments, config round trips,
save/load, summary, run files, the scikit-learn estimators, and Keras parity where Keras is
installed."""

import os
import re
import shutil

import numpy as np
import pytest

import lamina
from lamina import layers as L

RNG = np.random.default_rng(0)
X = (RNG.normal(size=(64, 5)) * [1, 2, 3, 4, 5] + [0, 1, -2, 3, 10]).astype("float32")
Y = (X[:, 0] + X[:, 1] > 1).astype("int64")


def _model(*hidden, seed=0):
    return lamina.Sequential([lamina.Input((5,)), *hidden, L.Dense(2, activation="softmax")],
                             seed=seed)


# ---- Normalization ----------------------------------------------------------------------

@pytest.mark.parametrize("data", [
    lambda x: x,
    lambda x: [x[:10], x[10:37], x[37:]],
    lambda x: (b for b in np.array_split(x, 7)),
    lambda x: [(x[:30], None), (x[30:], None)],
])
def test_adapt_matches_numpy_for_arrays_and_iterables(data):
    norm = L.Normalization()
    norm.adapt(data(X.astype(np.float64)))
    np.testing.assert_allclose(norm.adapt_mean, X.astype(np.float64).mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(norm.adapt_variance, X.astype(np.float64).var(axis=0),
                               rtol=1e-6)
    assert int(norm.count) == 64
    assert norm.trainable_weights == [] and len(norm.non_trainable_weights) == 3


def test_one_feature_as_a_vector_like_keras():
    """The TF "basic regression" tutorial: one feature given as a vector (a numpy array or a
    pandas Series) is (samples, 1) for adapt, fit, evaluate and predict, as Keras 3 reads it
    for a model whose input is (1,); other shapes keep their clear errors."""
    hp = X[:, 4].astype(np.float64)
    target = 0.5 * hp - 1.0
    col = hp.reshape(-1, 1)
    a = L.Normalization(axis=None)
    a.adapt(hp)
    b = L.Normalization(axis=None)
    b.adapt(col)
    assert float(a.mean) == float(b.mean) and float(a.variance) == float(b.variance)
    assert float(a.mean) == pytest.approx(hp.mean(), rel=1e-6)

    def fitted(x):
        norm = L.Normalization(axis=None)
        norm.adapt(col)
        m = lamina.Sequential([lamina.Input((1,)), norm, L.Dense(1)], seed=3)
        m.compile(optimizer="adam", loss="mean_absolute_error")
        h = m.fit(x, target, epochs=2, batch_size=16, validation_split=0.25, shuffle=False,
                  verbose=0)
        return m, h.history

    (m1, h1), (m2, h2) = fitted(hp), fitted(col)
    assert h1 == h2
    np.testing.assert_array_equal(m1.predict(hp, verbose=0), m2.predict(col, verbose=0))
    assert m1.evaluate(hp, target, verbose=0) == m2.evaluate(col, target, verbose=0)
    pd = pytest.importorskip("pandas")
    series = pd.Series(hp, name="Horsepower")
    c = L.Normalization(axis=None)
    c.adapt(series)
    assert float(c.mean) == float(a.mean)
    np.testing.assert_array_equal(m1.predict(series, verbose=0), m1.predict(col, verbose=0))
    with pytest.raises(ValueError, match=r"must be 2-D.*\(64,\)"):
        _model().predict(hp, verbose=0)  # five features expected: a vector is ambiguous


def test_adapt_batch_size_steps_and_axis():
    norm = L.Normalization()
    norm.adapt(X, batch_size=9)
    np.testing.assert_allclose(norm.adapt_variance, X.astype(np.float64).var(axis=0),
                               rtol=1e-5)
    norm = L.Normalization()
    norm.adapt(np.array_split(X, 8), steps=2)  # the first two batches only
    np.testing.assert_allclose(norm.adapt_mean, X[:16].mean(axis=0), rtol=1e-5)
    norm = L.Normalization(axis=None)
    norm.adapt(X)
    assert norm.adapt_mean.shape == () and norm.mean.shape == (1, 1)  # Keras's broadcast
    assert float(norm.mean) == pytest.approx(X.mean(), rel=1e-5)
    x3 = RNG.normal(size=(10, 3, 4))
    norm = L.Normalization(axis=1)  # per row of each (3, 4) sample
    norm.adapt(x3)
    np.testing.assert_allclose(norm.adapt_mean, x3.mean(axis=(0, 2)), rtol=1e-6)
    assert norm.mean.shape == (1, 3, 1)
    model = lamina.Sequential([lamina.Input((3, 4)), norm, L.Flatten(), L.Dense(2)], seed=0)
    model.layers[-1].set_weights([np.eye(12, 2), np.zeros(2)])
    want = ((x3 - norm.mean) / np.sqrt(norm.variance)).reshape(10, 12)[:, :2]
    np.testing.assert_allclose(model.predict(x3, verbose=0), want, rtol=1e-5, atol=1e-6)


def test_normalization_forward_invert_and_given_statistics():
    mean, var = [1.0, 2.0, 3.0, 4.0, 5.0], [4.0, 1.0, 0.0, 9.0, 0.25]
    for invert in (False, True):
        model = lamina.Sequential([lamina.Input((5,)), L.Normalization(
            mean=mean, variance=var, invert=invert), L.Dense(5, use_bias=False,
                                                             kernel_initializer="ones")],
            dtype="float64", seed=0)
        model.layers[-1].set_weights([np.eye(5)])
        d = np.maximum(np.sqrt(var), 1e-7)
        want = np.asarray(mean) + X * d if invert else (X - np.asarray(mean)) / d
        np.testing.assert_allclose(model.predict(X.astype(np.float64), verbose=0), want,
                                   rtol=1e-12)
        assert model.layers[0].weights == []  # given statistics are config, not weights
        again = lamina.Sequential.from_config(model.get_config())
        assert again.layers[0].get_config() == model.layers[0].get_config()


@pytest.mark.parametrize("kwargs,text", [
    (dict(mean=[1.0]), "both mean and variance"),
    (dict(mean=[1.0, 2.0], variance=[1.0]), "same shape"),
    (dict(mean=[1.0], variance=[-1.0]), "variance must be >= 0"),
    (dict(axis="x"), "axis must be"),
])
def test_normalization_bad_arguments(kwargs, text):
    with pytest.raises((ValueError, TypeError), match=text):
        L.Normalization(**kwargs)


def test_adapt_bad_data():
    with pytest.raises(ValueError, match="no data"):
        L.Normalization().adapt([])
    with pytest.raises(ValueError, match="shape"):
        L.Normalization().adapt(np.float64(3.0))  # a vector is one feature (Keras), a scalar no data
    with pytest.raises(ValueError, match="nan"):
        L.Normalization().adapt(np.array([[1.0], [np.nan]]))
    with pytest.raises(ValueError, match="batch_size"):
        L.Normalization().adapt(X, batch_size=0)
    with pytest.raises(ValueError, match="mean and variance"):
        L.Normalization(mean=0.0, variance=1.0).adapt(X)


# ---- every layer through fit, config, save/load, summary ---------------------------------

def _all_layers():
    norm = L.Normalization()
    norm.adapt(X)
    return [norm, L.Dense(9, activity_regularizer=lamina.regularizers.L1L2(0.001, 0.002)),
            L.PReLU(alpha_regularizer="l2"), L.GaussianNoise(0.1),
            L.Dropout(0.2, noise_shape=(None, 1)),
            L.ELU(alpha=0.7), L.Dense(8), L.LeakyReLU(0.1), L.ReLU(max_value=2.0, threshold=-0.5,
                                                             negative_slope=0.05),
            L.GaussianDropout(0.2), L.AlphaDropout(0.1, noise_shape=(1, None)),
            L.ActivityRegularization(l1=0.001), L.Reshape((2, 4)), L.Flatten(), L.Dense(4),
            L.PReLU(shared_axes=[1]), L.Dense(2), L.Softmax()]


def test_every_layer_fits_saves_loads_and_resumes_exactly(tmp_path):
    model = lamina.Sequential([lamina.Input((5,)), *_all_layers()], seed=1)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(X, Y, epochs=2, batch_size=16, verbose=0)
    path = tmp_path / "m.lamina"
    model.save(path)
    again = lamina.load_model(path)
    assert np.array_equal(model.predict(X, verbose=0), again.predict(X, verbose=0))
    h1 = model.fit(X, Y, epochs=2, batch_size=16, verbose=0).history["loss"]
    h2 = again.fit(X, Y, epochs=2, batch_size=16, verbose=0).history["loss"]
    assert h1 == h2
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), again.get_weights()))
    # config round trip, layer by layer
    clone = lamina.Sequential.from_config(model.get_config())
    assert [type(a) for a in clone.layers] == [type(b) for b in model.layers]
    for a, b in zip(clone.layers, model.layers):
        assert a.get_config() == b.get_config()
    text = []
    model.summary(print_fn=text.append)
    assert re.search(r"p_re_lu(_\d+)? \(PReLU\)", text[0])  # Keras's auto name
    assert "Non-trainable params: 11" in text[0]


def test_noise_layers_are_reproducible_and_identity_at_inference(threads):
    losses = []
    for n in (1, 2, 1):
        threads(n)
        model = lamina.Sequential([lamina.Input((5,)), L.Dense(8), L.GaussianNoise(0.5),
                                   L.GaussianDropout(0.3), L.AlphaDropout(0.2),
                                   L.Dense(2, activation="softmax")], seed=4)
        model.compile("sgd", "sparse_categorical_crossentropy")
        losses.append(model.fit(X, Y, epochs=2, batch_size=8, verbose=0).history["loss"])
        p1 = model.predict(X, verbose=0)
        assert np.array_equal(p1, model.predict(X, verbose=0))
    assert losses[0] == losses[1] == losses[2]
    # inference skips the noise: the same as the model without the noise layers
    plain = lamina.Sequential([lamina.Input((5,)), L.Dense(8), L.Dense(2, activation="softmax")],
                              seed=0)
    plain.set_weights(model.get_weights())
    np.testing.assert_array_equal(plain.predict(X, verbose=0), p1)


def test_activity_regularizer_adds_the_penalty_over_the_batch_size():
    model = lamina.Sequential([lamina.Input((5,)), L.Dense(
        3, activity_regularizer=lamina.regularizers.L1L2(l1=0.01, l2=0.02))], dtype="float64",
        seed=2)
    model.compile("sgd", "mse")
    y = np.zeros((64, 3))
    out = model.predict(X.astype(np.float64), verbose=0)
    want = (out ** 2).mean() + (0.01 * np.abs(out).sum() + 0.02 * (out ** 2).sum()) / 64
    assert model.evaluate(X.astype(np.float64), y, batch_size=64, verbose=0) == \
        pytest.approx(want, rel=1e-12)
    assert model.layers[0].get_config()["activity_regularizer"]["class_name"] == "L1L2"


@pytest.mark.parametrize("make,text", [
    (lambda: L.Dropout(0.5, noise_shape=(None, 1, 1)), "noise_shape"),
    (lambda: L.ReLU(max_value=-1.0), "max_value"),
    (lambda: L.PReLU(alpha_constraint="fancy_norm"), "fancy_norm"),
    (lambda: L.GaussianNoise(2.0), "stddev"),
    (lambda: L.GaussianDropout(1.0), "rate"),
    (lambda: L.Reshape((0, 2)), "target_shape"),
    (lambda: L.Softmax(axis=0), "axis"),
    (lambda: L.ActivityRegularization(l1=-1), "l1"),
])
def test_bad_arguments_name_the_value(make, text):
    with pytest.raises((ValueError, TypeError), match=text):
        make()


def test_dropout_noise_shape_masks_whole_rows():
    model = lamina.Sequential([lamina.Input((5,)), L.Dense(6, kernel_initializer="ones"),
                               L.Dropout(0.5, noise_shape=(None, 1)), L.Dense(1)], seed=0)
    model.compile("sgd", "mse")
    net = model._network_for("train")
    assert any(e["type"] == "shared_dropout" for e in model._spec["layers"])
    assert net is not None


# ---- run files, sklearn ------------------------------------------------------------------

def test_run_file_layer_types_are_accepted(tmp_path):
    from lamina.runfile import load_run
    from lamina.experiment import train_run

    run = load_run({"model": {"layers": [
        {"units": 16}, {"type": "prelu"}, {"type": "gaussian_noise", "stddev": 0.1},
        {"type": "alpha_dropout", "rate": 0.1}, {"type": "elu"},
        {"type": "activity_regularization", "l2": 0.001},
        {"units": 10, "activation": "softmax"}]},
        "training": {"epochs": 1}, "data": {"max_samples": 200}})
    res = train_run(run, out_dir=None, verbose=False)
    assert [type(x).__name__ for x in res.model.layers][:3] == ["Normalization", "Dense",
                                                                "PReLU"]


def test_run_model_carries_its_standardization_anywhere(tmp_path):
    from lamina.experiment import evaluate_model, model_inputs, predict_model, train_run
    from lamina.runfile import load_run

    run = load_run({"training": {"epochs": 2}, "data": {"max_samples": 300}})
    res = train_run(run, out_dir=tmp_path / "run", verbose=False)
    # preprocessing.npz is still written, as a record: the model does not need it
    (tmp_path / "run" / "preprocessing.npz").unlink()
    in_run = evaluate_model(res.files["model"], "digits")
    other = tmp_path / "elsewhere"
    other.mkdir()
    shutil.copy(res.files["model"], other / "model.lamina")
    assert evaluate_model(other / "model.lamina", "digits") == in_run
    predict_model(res.files["model"], "digits", tmp_path / "a.csv")
    predict_model(other / "model.lamina", "digits", tmp_path / "b.csv")
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()
    # the run's test split, evaluated in the run folder, matches train_run's test metrics
    assert evaluate_model(res.files["model"]) == pytest.approx(res.test, rel=1e-6)
    model, x, _, _, _ = model_inputs(res.files["model"], None, None, True)
    assert model.layers[0].name == "standardize" and abs(float(x.mean())) > 1  # raw inputs


def test_sklearn_layers_take_the_new_kinds():
    pytest.importorskip("sklearn")
    from lamina.sklearn import LaminaClassifier

    clf = LaminaClassifier(layers=[{"units": 8}, {"type": "prelu"}, {"type": "gaussian_noise",
                                                                      "stddev": 0.1},
                                   {"type": "elu"}], epochs=3, random_state=0)
    clf.fit(X, Y)
    assert clf.predict(X).shape == (64,)
    assert any(type(x).__name__ == "PReLU" for x in clf.model_.layers)


# ---- Keras parity --------------------------------------------------------------------------

def _keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    pytest.importorskip("torch")
    return pytest.importorskip("keras")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Keras's own, under numpy 2
def test_keras_parity_prelu_elu_relu_normalization_forward():
    keras = _keras()
    x = X.astype(np.float32)
    norm_k = keras.layers.Normalization()
    norm_k.adapt(x)
    alpha = RNG.uniform(-0.5, 0.5, (5,)).astype(np.float32)
    km = keras.Sequential([keras.Input((5,)), norm_k, keras.layers.PReLU(),
                           keras.layers.ELU(alpha=0.7),
                           keras.layers.ReLU(max_value=1.5, negative_slope=0.1, threshold=0.2)])
    km.layers[1].set_weights([alpha])
    norm = L.Normalization()
    norm.adapt(x)
    lm = lamina.Sequential([lamina.Input((5,)), norm, L.PReLU(), L.ELU(alpha=0.7),
                            L.ReLU(max_value=1.5, negative_slope=0.1, threshold=0.2)], seed=0)
    lm.layers[1].set_weights([alpha])
    np.testing.assert_allclose(norm.mean, np.asarray(norm_k.mean), rtol=1e-5)
    np.testing.assert_allclose(lm.predict(x, verbose=0),
                               np.asarray(km.predict(x, verbose=0)), rtol=1e-5, atol=1e-6)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Keras's own, under numpy 2
def test_keras_parity_activity_regularizer_loss():
    keras = _keras()
    x = X.astype(np.float32)
    y = np.zeros((64, 3), np.float32)
    km = keras.Sequential([keras.Input((5,)), keras.layers.Dense(
        3, activity_regularizer=keras.regularizers.L1L2(0.01, 0.02))])
    km.compile("sgd", "mse")
    lm = lamina.Sequential([lamina.Input((5,)), L.Dense(
        3, activity_regularizer=lamina.regularizers.L1L2(0.01, 0.02))], seed=0)
    lm.compile("sgd", "mse")
    lm.set_weights([np.asarray(w) for w in km.get_weights()])
    assert lm.evaluate(x, y, batch_size=64, verbose=0) == pytest.approx(
        km.evaluate(x, y, batch_size=64, verbose=0), rel=1e-5)


def test_run_from_a_run_trained_model_does_not_standardize_twice():
    from lamina.experiment import train_run
    from lamina.runfile import build_model, load_run, run_from_model

    run = load_run({"training": {"epochs": 1}, "data": {"max_samples": 100}})
    model = train_run(run, out_dir=None, verbose=False).model
    assert model.layers[0].name == "standardize"
    again = run_from_model(model)
    assert [ly["type"] for ly in again["model"]["layers"]] == \
        [ly["type"] for ly in run["model"]["layers"]]
    assert type(build_model(again, 64).layers[0]).__name__ == "Dense"
    kept = run_from_model(model, preprocessing={"standardize": False})
    assert kept["model"]["layers"][0]["type"] == "normalization"


def test_run_file_normalization_layer_is_adapted_on_the_fitted_data():
    from lamina.experiment import train_run
    from lamina.runfile import load_run

    run = load_run({"preprocessing": {"standardize": False},
                    "model": {"layers": [{"type": "normalization"}, {"units": 10,
                                                                     "activation": "softmax"}]},
                    "training": {"epochs": 1, "validation_split": 0.25},
                    "data": {"max_samples": 100}})
    res = train_run(run, out_dir=None, verbose=False)
    norm = res.model.layers[0]
    from lamina.runfile import load_data
    ds = load_data(run)
    n_fit = int(ds.x_train.shape[0] * 0.75)
    np.testing.assert_allclose(norm.adapt_mean,
                               ds.x_train[:n_fit].astype(np.float64).mean(axis=0),
                               rtol=1e-5, atol=1e-6)
    assert int(norm.count) == n_fit


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Keras's own, under numpy 2
def test_keras_parity_training_with_prelu_and_activity_regularizer():
    keras = _keras()
    x = ((X - X.mean(axis=0)) / X.std(axis=0)).astype(np.float32)
    y = (x[:, :1] * 0.5 - x[:, 1:2]).astype(np.float32)
    km = keras.Sequential([keras.Input((5,)), keras.layers.Dense(6), keras.layers.PReLU(
        alpha_initializer=keras.initializers.Constant(0.2)), keras.layers.Dense(
        1, activity_regularizer=keras.regularizers.L2(0.01))])
    km.compile(keras.optimizers.SGD(0.1), "mse")
    lm = lamina.Sequential([lamina.Input((5,)), L.Dense(6), L.PReLU(
        alpha_initializer=lamina.initializers.Constant(0.2)), L.Dense(
        1, activity_regularizer=lamina.regularizers.L2(0.01))], seed=0)
    lm.compile(lamina.optimizers.SGD(0.1), "mse")
    lm.set_weights([np.asarray(w) for w in km.get_weights()])
    kh = km.fit(x, y, batch_size=64, epochs=10, shuffle=False, verbose=0).history["loss"]
    lh = lm.fit(x, y, batch_size=64, epochs=10, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(lh, kh, rtol=1e-5)
    np.testing.assert_allclose(lm.layers[1].alpha, np.asarray(km.layers[1].get_weights()[0]),
                               rtol=1e-4, atol=1e-6)
