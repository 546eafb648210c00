"""Custom losses written with lamina.ops train like the built-in losses they re-implement:
forward in the core, loss and gradient on the tape, backward and update in the core."""

import numpy as np
import pytest

import lamina
from lamina import layers, losses, ops

RNG = np.random.default_rng(0)
X = RNG.normal(size=(64, 5))
Y_REG = RNG.normal(size=(64, 3))
LABELS = RNG.integers(0, 3, size=64)
Y_CAT = np.eye(3)[LABELS]
SW = RNG.uniform(0.2, 2.0, size=64)


def my_mse(y_true, y_pred):
    return ops.mean(ops.square(y_pred - y_true), axis=-1)


def my_cce(y_true, y_pred):  # Keras 3's definition from probabilities
    p = y_pred / ops.sum(y_pred, axis=-1, keepdims=True)
    return -ops.sum(y_true * ops.log(ops.clip(p, 1e-7, 1 - 1e-7)), axis=-1)


def my_cce_logits(y_true, y_pred):
    return -ops.sum(y_true * ops.log_softmax(y_pred, axis=-1), axis=-1)


class MySparseCCE(losses.Loss):
    def call(self, y_true, y_pred):
        return ops.sparse_categorical_crossentropy(y_true, y_pred, from_logits=True)


def _model(dtype, last_activation=None, dropout=0.0, batch_norm=False, optimizer="adam"):
    body = [lamina.Input((5,)), layers.Dense(16, activation="tanh")]
    if batch_norm:
        body.append(layers.BatchNormalization())
    if dropout:
        body.append(layers.Dropout(dropout))
    body.append(layers.Dense(3, activation=last_activation))
    model = lamina.Sequential(body, seed=3, dtype=dtype)
    return model, optimizer


def _train(loss, dtype, y, metrics=None, sample_weight=None, **kw):
    model, opt = _model(dtype, **kw)
    model.compile(optimizer=lamina.optimizers.get(opt) if isinstance(opt, str) else opt,
                  loss=loss, metrics=metrics)
    hist = model.fit(X, y, batch_size=16, epochs=3, verbose=0, sample_weight=sample_weight,
                     shuffle=True)
    return model, hist


def _same_weights(m1, m2, tol):
    for a, b in zip(m1.get_weights(), m2.get_weights()):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype,tol", [("float64", 1e-10), ("float32", 1e-5)])
@pytest.mark.parametrize("case", ["mse", "cce_probs", "cce_logits", "sparse_logits"])
def test_custom_loss_trains_like_the_built_in(case, dtype, tol):
    kw = {"dropout": 0.25, "sample_weight": SW}
    if case == "mse":
        builtin, custom, y = "mse", my_mse, Y_REG
    elif case == "cce_probs":  # the built-in is fused with the softmax, the custom one is not
        builtin, custom, y = "categorical_crossentropy", my_cce, Y_CAT
        kw["last_activation"] = "softmax"
    elif case == "cce_logits":
        builtin, custom, y = losses.CategoricalCrossentropy(from_logits=True), my_cce_logits, Y_CAT
    else:
        builtin, custom, y = (losses.SparseCategoricalCrossentropy(from_logits=True),
                              MySparseCCE(), LABELS)
        kw["metrics"] = ["sparse_categorical_accuracy"]
    m1, h1 = _train(builtin, dtype, y, **kw)
    m2, h2 = _train(custom, dtype, y, **kw)
    _same_weights(m1, m2, tol)
    for key in h1.history:
        np.testing.assert_allclose(h1.history[key], h2.history[key], rtol=tol, err_msg=key)
    assert m1.evaluate(X, y, verbose=0) == pytest.approx(m2.evaluate(X, y, verbose=0), rel=tol)


@pytest.mark.parametrize("opt", [lambda: lamina.optimizers.SGD(0.1, global_clipnorm=0.5),
                                 lambda: lamina.optimizers.Nadam(clipnorm=0.1)])
def test_clipping_batch_norm_and_state_match(opt):
    m1, _ = _train("mse", "float64", Y_REG, batch_norm=True, optimizer=opt())
    m2, _ = _train(my_mse, "float64", Y_REG, batch_norm=True, optimizer=opt())
    _same_weights(m1, m2, 1e-10)  # includes the moving statistics


def test_reductions_and_loss_subclass_match_the_core():
    for reduction in ("sum", "mean_with_sample_weight", "sum_over_batch_size", None):
        class Custom(losses.Loss):
            def call(self, y_true, y_pred):
                return ops.mean(ops.square(y_pred - y_true), axis=-1)
        m1, h1 = _train(losses.MeanSquaredError(reduction=reduction), "float64", Y_REG,
                        sample_weight=SW)
        m2, h2 = _train(Custom(reduction=reduction), "float64", Y_REG, sample_weight=SW)
        _same_weights(m1, m2, 1e-10)
        np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=1e-10)


def test_train_and_test_on_batch_and_gradients_info():
    model, _ = _model("float64")
    model.compile(optimizer="sgd", loss=my_mse, metrics=["mae"])
    before = model.test_on_batch(X, Y_REG)
    ref = float(np.mean(np.mean((model.predict(X, verbose=0) - Y_REG) ** 2, axis=-1)))
    assert before[0] == pytest.approx(ref, rel=1e-12)
    model.train_on_batch(X, Y_REG)
    assert model.test_on_batch(X, Y_REG)[0] < before[0]
    # the vanishing-gradient probe of fit_info runs the custom loss through the core too
    sat = lamina.Sequential([lamina.Input((5,)), layers.Dense(8, activation="sigmoid"),
                             layers.Dense(8, activation="sigmoid"), layers.Dense(3)], seed=0,
                            dtype="float64")
    sat.compile(optimizer="sgd", loss=my_mse)
    hist = sat.fit(X, Y_REG, epochs=1, verbose=0)
    assert len(hist.fit_info["grad_rms"]) == 3 and all(g > 0 for g in hist.fit_info["grad_rms"])


@pytest.mark.parametrize("fn,op", [
    (lambda t, p: ops.mean(ops.cast(ops.equal(ops.argmax(p, axis=-1), ops.argmax(t, axis=-1)),
                                    "float32")), "equal"),
    (lambda t, p: ops.cast(ops.argmax(p, axis=-1), "float64") - ops.argmax(t, axis=-1), "argmax"),
    (lambda t, p: ops.mean(ops.round(p) - t), "round"),
])
def test_non_differentiable_loss_names_the_op(fn, op):
    model, _ = _model("float32")
    model.compile(optimizer="sgd", loss=fn)
    with pytest.raises(ops.NotDifferentiableError, match=rf"lamina\.ops\.{op}\b"):
        model.fit(X, Y_CAT, epochs=1, verbose=0)


def test_loss_that_leaves_the_tape_is_refused():
    model, _ = _model("float32")
    model.compile(optimizer="sgd", loss=lambda t, p: float(np.mean(np.asarray(p) - t)))
    with pytest.raises(ops.NotDifferentiableError, match="does not depend on y_pred"):
        model.fit(X, Y_REG, epochs=1, verbose=0)


def test_numpy_style_loss_trains():
    model, _ = _model("float64")
    model.compile(optimizer="sgd", loss=lambda t, p: np.mean(np.abs(p - t) ** 2, axis=-1))
    ref, _ = _model("float64")
    ref.compile(optimizer="sgd", loss="mse")
    model.fit(X, Y_REG, epochs=2, verbose=0)
    ref.fit(X, Y_REG, epochs=2, verbose=0)
    _same_weights(model, ref, 1e-10)


def test_save_load_registered_and_refused(tmp_path):
    @losses.register_keras_serializable(package="test")
    def scaled_mse(y_true, y_pred):
        return 2.0 * ops.mean(ops.square(y_pred - y_true), axis=-1)

    model, _ = _model("float64")
    model.compile(optimizer="adam", loss=scaled_mse)
    model.fit(X, Y_REG, epochs=1, verbose=0)
    path = tmp_path / "m.lamina"
    model.save(path)
    loaded = lamina.models.load_model(path)
    assert loaded.evaluate(X, Y_REG, verbose=0) == pytest.approx(
        model.evaluate(X, Y_REG, verbose=0), rel=1e-12)
    loaded.fit(X, Y_REG, epochs=1, verbose=0)
    pytest.importorskip("h5py")
    model.save(tmp_path / "m.keras")  # Keras's format keeps the registered name too
    from_keras = lamina.models.load_model(tmp_path / "m.keras")
    assert from_keras.loss.fn is scaled_mse
    assert from_keras.evaluate(X, Y_REG, verbose=0) == pytest.approx(
        model.evaluate(X, Y_REG, verbose=0), rel=1e-12)

    anonymous, _ = _model("float64")
    anonymous.compile(optimizer="adam", loss=lambda t, p: ops.mean(ops.abs(p - t), axis=-1))
    with pytest.raises(ValueError, match="'<lambda>' cannot be saved"):
        anonymous.save(tmp_path / "a.lamina")
    del losses._REGISTERED["test>scaled_mse"]
    with pytest.raises(ValueError, match="'test>scaled_mse' is not registered"):
        lamina.models.load_model(path)
    assert lamina.models.load_model(path, compile=False).predict(X, verbose=0).shape == (64, 3)


def test_run_file_refuses_unknown_loss_names():
    from lamina.runfile import registry
    assert registry.canonical_loss("my_custom_loss") is None
    assert registry.canonical_loss("log_cosh") == "log_cosh"


def test_integer_labels_without_a_sparse_metric():
    """A Python loss gets one label per sample when y is (n,) for several outputs."""
    model, _ = _model("float64")
    model.compile(optimizer="adam", loss=MySparseCCE())
    ref, _ = _model("float64")
    ref.compile(optimizer="adam", loss=losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(X, LABELS, epochs=2, verbose=0)
    ref.fit(X, LABELS, epochs=2, verbose=0)
    _same_weights(model, ref, 1e-10)
    with pytest.raises(ValueError, match="label 7"):
        model.fit(X, np.full(64, 7), epochs=1, verbose=0)


def test_accuracy_follows_integer_labels_with_a_python_loss():
    """"accuracy" with a Python loss is picked from the targets as Keras picks it: integer
    labels for several outputs give the sparse accuracy (it was the categorical one, and fit
    stopped with "needs one-hot targets"); one-hot targets keep the categorical one."""
    model, _ = _model("float64")
    model.compile(optimizer="adam", loss=MySparseCCE(), metrics=["accuracy"])
    h = model.fit(X, LABELS, epochs=2, verbose=0)
    assert set(h.history) == {"loss", "accuracy"}
    logits = model.predict(X, verbose=0)
    want = float(np.mean(np.argmax(logits, axis=1) == LABELS))
    assert model.evaluate(X, LABELS, verbose=0)[1] == pytest.approx(want, abs=1e-12)
    onehot, _ = _model("float64")
    onehot.compile(optimizer="adam", loss=my_cce_logits, metrics=["accuracy"])
    h = onehot.fit(X, Y_CAT, epochs=1, verbose=0)
    assert onehot.evaluate(X, Y_CAT, verbose=0)[1] == pytest.approx(
        float(np.mean(np.argmax(onehot.predict(X, verbose=0), axis=1) == LABELS)), abs=1e-12)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_same_custom_loss_code_trains_like_keras():
    """One loss written against `ops`, run with keras.ops in Keras and lamina.ops in lamina:
    the same loss curve and weights from the same initial weights."""
    import os
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":  # pragma: no cover
        pytest.skip("runs Keras on its torch backend")

    def make_loss(K):
        class WeightedSquaredLog(K.losses.Loss):
            def call(self, y_true, y_pred):
                p = K.ops.clip(y_pred, 1e-7, 1.0)
                return K.ops.mean(K.ops.square(K.ops.log(p) - K.ops.log1p(y_true)), axis=-1)
        return WeightedSquaredLog(reduction="sum_over_batch_size")

    x = (RNG.normal(size=(48, 5))).astype("float32")
    y = RNG.uniform(0.0, 1.0, size=(48, 3)).astype("float32")
    models = []
    for K in (lamina, keras):
        m = K.Sequential([K.Input((5,)), K.layers.Dense(8, activation="tanh"),
                          K.layers.Dense(3, activation="sigmoid")])
        m.compile(optimizer=K.optimizers.Adam(0.01), loss=make_loss(K))
        models.append(m)
    lam, ker = models
    ker.set_weights(lam.get_weights())
    h_lam = lam.fit(x, y, batch_size=16, epochs=5, shuffle=False, verbose=0)
    h_ker = ker.fit(x, y, batch_size=16, epochs=5, shuffle=False, verbose=0)
    np.testing.assert_allclose(h_lam.history["loss"], h_ker.history["loss"], rtol=1e-5)
    for a, b in zip(lam.get_weights(), ker.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
