"""Metrics in compile / fit / evaluate as Keras 3 has them: `metrics` unweighted,
`weighted_metrics` weighted and named `weighted_<name>` on a clash; core metrics summed in the
step, the others (AUC, Precision, custom functions, Metric subclasses) updated in numpy with
the step's own outputs (the core's `outputs=` buffer, no second forward)."""

import numpy as np
import pytest

import lamina
from lamina import metrics as M

RNG = np.random.default_rng(11)
X = RNG.normal(size=(90, 4)).astype("float32")
Y = (X[:, :1] + 0.5 * RNG.normal(size=(90, 1)) > 0).astype("float32")
SW = RNG.uniform(0.1, 3.0, size=90).astype("float32")


def binary_model(lr=0.0, seed=0, **compile_kw):
    model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(6, activation="tanh"),
                               lamina.layers.Dense(1, activation="sigmoid")], seed=seed)
    model.compile(optimizer=lamina.optimizers.SGD(lr), loss="binary_crossentropy",
                  **compile_kw)
    return model


def wmean(v, w=None):
    return float(np.sum(v * w) / np.sum(w)) if w is not None else float(np.mean(v))


def test_metrics_are_unweighted_and_weighted_metrics_weighted():
    # lr 0: every step sees the same weights, so each log is a function of predict's outputs
    model = binary_model(metrics=["mae", "accuracy"], weighted_metrics=["mae", "mse"])
    h = model.fit(X, Y, batch_size=16, sample_weight=SW, verbose=0).history
    assert list(h) == sorted(["loss", "mae", "accuracy", "weighted_mae", "mse"])
    p = model.predict(X, verbose=0)
    err = np.abs(p - Y)[:, 0]
    assert h["mae"][0] == pytest.approx(wmean(err), rel=1e-5)
    assert h["weighted_mae"][0] == pytest.approx(wmean(err, SW), rel=1e-5)
    assert h["mse"][0] == pytest.approx(wmean(err ** 2, SW), rel=1e-5)
    assert h["accuracy"][0] == pytest.approx(wmean((p > 0.5) == Y), rel=1e-6)
    logs = model.evaluate(X, Y, sample_weight=SW, verbose=0, return_dict=True)
    assert list(logs) == sorted(["loss", "mae", "accuracy", "weighted_mae", "mse"])
    assert model.evaluate(X, Y, sample_weight=SW, verbose=0) == [logs[k] for k in [
        "loss", "mae", "accuracy", "weighted_mae", "mse"]]  # the list: compile order
    assert logs["mae"] == pytest.approx(wmean(err), rel=1e-5)
    assert logs["weighted_mae"] == pytest.approx(wmean(err, SW), rel=1e-5)


def test_class_weight_weights_only_weighted_metrics():
    model = binary_model(metrics=["accuracy"], weighted_metrics=["accuracy"])
    h = model.fit(X, Y, batch_size=90, class_weight={0: 1.0, 1: 4.0}, verbose=0).history
    p = model.predict(X, verbose=0)
    hit = ((p > 0.5) == Y)[:, 0]
    w = np.where(Y[:, 0] == 1, 4.0, 1.0)
    assert h["accuracy"][0] == pytest.approx(wmean(hit), rel=1e-6)
    assert h["weighted_accuracy"][0] == pytest.approx(wmean(hit, w), rel=1e-6)


def test_numpy_metrics_see_the_steps_outputs():
    sk = pytest.importorskip("sklearn.metrics")
    model = binary_model(metrics=[M.AUC(num_thresholds=2000), "precision", "recall",
                                  M.R2Score()],
                         weighted_metrics=[M.AUC(num_thresholds=2000, name="wauc")])
    h = model.fit(X, Y, batch_size=16, sample_weight=SW, validation_split=0.2,
                  verbose=0).history
    assert list(h) == sorted(["loss", "auc", "precision", "recall", "r2_score", "wauc",
                              "val_loss", "val_auc", "val_precision", "val_recall",
                              "val_r2_score", "val_wauc"])
    p = model.predict(X, verbose=0)
    t, pt, st = Y[:72, 0], p[:72, 0], SW[:72]
    assert h["auc"][0] == pytest.approx(sk.roc_auc_score(t, pt), abs=2e-3)
    assert h["wauc"][0] == pytest.approx(sk.roc_auc_score(t, pt, sample_weight=st), abs=2e-3)
    assert h["precision"][0] == pytest.approx(sk.precision_score(t, pt > 0.5))
    assert h["recall"][0] == pytest.approx(sk.recall_score(t, pt > 0.5))
    assert h["r2_score"][0] == pytest.approx(sk.r2_score(t, pt), rel=1e-5)
    assert h["val_auc"][0] == pytest.approx(sk.roc_auc_score(Y[72:, 0], p[72:, 0]), abs=2e-3)
    # evaluate equals the metric objects on predict's outputs, batch size irrelevant
    for batch_size in (7, 90):
        logs = model.evaluate(X, Y, batch_size=batch_size, verbose=0, return_dict=True)
        m = M.Precision()
        m.update_state(Y, p)
        assert logs["precision"] == pytest.approx(m.result())


def test_numpy_metrics_with_dropout_use_the_training_forward():
    # the step's own (dropped-out) outputs feed the metric: a custom MSE equals the core's
    model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(16, activation="relu"),
                               lamina.layers.Dropout(0.5), lamina.layers.Dense(1)], seed=3)

    def my_mse(y_true, y_pred):
        return np.mean((y_true - y_pred) ** 2, axis=-1)

    model.compile(optimizer="adam", loss="mse", metrics=["mse", my_mse])
    h = model.fit(X, Y, batch_size=16, epochs=2, verbose=0).history
    np.testing.assert_allclose(h["my_mse"], h["mse"], rtol=1e-5)
    np.testing.assert_allclose(h["mse"], h["loss"], rtol=1e-5)


class MaxError(M.Metric):
    def __init__(self, name="max_error", **kwargs):
        super().__init__(name=name, **kwargs)
        self.worst = self.add_variable((), "zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.worst.assign(max(float(self.worst), float(np.max(np.abs(y_true - y_pred)))))

    def result(self):
        return float(self.worst)


def test_custom_functions_subclasses_and_losses_as_metrics():
    model = binary_model(metrics=[lambda t, p: np.abs(t - p), MaxError(),
                                  lamina.losses.BinaryCrossentropy(), "huber",
                                  M.BinaryAccuracy], weighted_metrics=[M.MeanSquaredError])
    h = model.fit(X, Y, batch_size=32, verbose=0).history
    assert list(h) == sorted(["loss", "metric", "max_error", "binary_crossentropy", "huber",
                       "binary_accuracy", "mean_squared_error"])
    p = model.predict(X, verbose=0)
    assert h["metric"][0] == pytest.approx(float(np.mean(np.abs(Y - p))), rel=1e-5)
    assert h["max_error"][0] == pytest.approx(float(np.max(np.abs(Y - p))), rel=1e-5)
    assert h["binary_crossentropy"][0] == pytest.approx(h["loss"][0], rel=1e-5)
    assert h["huber"][0] == pytest.approx(float(np.mean(lamina.losses.huber(Y, p))), rel=1e-5)
    with pytest.raises(ValueError, match="Mean"):  # Mean takes values, not (y_true, y_pred)
        binary_model(metrics=[M.Mean()])


def test_keras_metrics_spellings_of_loss_functions():
    # keras.metrics.binary_crossentropy & co. are the loss functions; as metrics they run as
    # their metric classes (computed by the core), huber as a numpy function metric
    model = binary_model(metrics=[M.binary_crossentropy, M.huber])
    h = model.fit(X, Y, batch_size=32, verbose=0).history
    assert list(h) == sorted(["loss", "binary_crossentropy", "huber"])
    assert h["binary_crossentropy"][0] == pytest.approx(h["loss"][0], rel=1e-5)
    assert M.binary_crossentropy is lamina.losses.binary_crossentropy
    assert M.categorical_crossentropy is lamina.losses.categorical_crossentropy
    assert M.sparse_categorical_crossentropy is lamina.losses.sparse_categorical_crossentropy
    assert isinstance(M.get(M.sparse_categorical_crossentropy),
                      M.SparseCategoricalCrossentropy)


def test_batch_calls_and_batch_logs_carry_numpy_metrics():
    model = binary_model(metrics=["accuracy", "auc"])
    r = model.test_on_batch(X, Y, return_dict=True)
    m = M.AUC()
    m.update_state(Y, model.predict(X, verbose=0))
    assert list(r) == ["accuracy", "auc", "loss"]  # sorted, as Keras 3's
    assert r["auc"] == pytest.approx(m.result())
    assert model.train_on_batch(X, Y, return_dict=True)["auc"] == pytest.approx(m.result())
    seen = []
    cb = lamina.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(logs))
    h = model.fit(X, Y, batch_size=30, verbose=0, callbacks=[cb]).history
    assert [sorted(s) for s in seen] == [["accuracy", "auc", "batch_loss", "loss"]] * 3
    assert seen[-1]["auc"] == pytest.approx(h["auc"][0])


def test_vector_results_and_the_progress_line(capsys):
    y3 = np.eye(3, dtype="float32")[RNG.integers(0, 3, 90)]
    model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(3, activation="softmax")],
                              seed=0)
    model.compile(optimizer="sgd", loss="categorical_crossentropy",
                  metrics=[M.F1Score(), M.F1Score(average="macro", name="f1")])
    h = model.fit(X, y3, verbose=2).history
    assert len(h["f1_score"][0]) == 3 and h["f1"][0] == pytest.approx(np.mean(h["f1_score"][0]))
    assert "f1_score: [" in capsys.readouterr().out


def test_the_core_returns_step_outputs_and_unweighted_sums():
    model = binary_model(metrics=["mae"], weighted_metrics=["mae"])
    net = model._network_for("train")
    assert [s["weighted"] for s in model._spec["metrics"]] == [False, True]
    out = np.full((90, 1), np.nan, dtype="float32")
    r = net.evaluate(X, Y, SW, outputs=out)
    np.testing.assert_array_equal(out, model.predict(X, verbose=0))
    err = np.abs(out - Y)[:, 0].astype(np.float64)
    assert r[1] == pytest.approx(float(np.sum(SW.astype(np.float64))))
    assert r[2] == pytest.approx(float(np.sum(err)), rel=1e-6)
    assert r[3] == pytest.approx(float(np.sum(err * SW)), rel=1e-6)
    step_out = np.empty((16, 1), dtype="float32")
    net.train_step(X[:16], Y[:16], None, 0.0, 1, outputs=step_out)
    np.testing.assert_array_equal(step_out, out[:16])  # lr 0, no dropout: same outputs
    for bad, text in ((np.empty((15, 1), "float32"), r"shape \(16, 1\)"),
                      (np.empty((16, 1), "float64"), "dtype"),
                      (np.empty((16, 2), "float32")[:, :1], "C-contiguous")):
        with pytest.raises(ValueError, match=text):
            net.train_step(X[:16], Y[:16], None, 0.0, 1, outputs=bad)
    x2 = np.ascontiguousarray(np.repeat(X[:, :1], 4, axis=1))
    with pytest.raises(ValueError, match="x share memory"):
        net.evaluate(x2, Y, None, outputs=x2.reshape(-1, 1)[:90])


def test_compile_config_round_trip_keeps_weighted_metrics(tmp_path):
    model = binary_model(metrics=["auc", M.Precision(thresholds=0.3)],
                         weighted_metrics=["accuracy"])
    model.fit(X, Y, verbose=0)
    config = model.get_compile_config()
    assert config["weighted_metrics"] == ["accuracy"]
    model.save(tmp_path / "m.lamina")
    back = lamina.models.load_model(tmp_path / "m.lamina")
    h = back.fit(X, Y, verbose=0, sample_weight=SW).history
    assert list(h) == sorted(["loss", "auc", "precision", "accuracy"])
    assert back.get_compile_config() == config


def test_metrics_names_and_bad_metrics():
    model = binary_model()
    assert model.metrics_names == ["loss"]
    assert lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(1)]).metrics_names == []
    with pytest.raises(ValueError, match="no_such_metric"):
        binary_model(metrics=["no_such_metric"])
    with pytest.raises(ValueError, match="weighted_metrics"):
        binary_model(weighted_metrics={"out": "mae"})
    with pytest.raises(ValueError, match="'val_x'"):
        binary_model(metrics=[M.MeanAbsoluteError(name="val_x")])


def test_evaluate_uses_keras_batch_for_per_batch_functions():
    """A metric function that returns one value per batch (the popular recall/f1 snippets)
    averages over Keras's 32-row batches in evaluate, as Keras does by default; built-in
    metrics keep the large default batch (their result does not depend on it)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 6))
    y = (x[:, :1] > 0).astype(float)

    def batch_recall(y_true, y_pred):  # one scalar per batch
        tp = np.sum(np.round(np.clip(y_true * y_pred, 0, 1)))
        return tp / (np.sum(np.round(np.clip(y_true, 0, 1))) + 1e-7)

    def steps_of(model):
        seen = []
        cb = lamina.callbacks.LambdaCallback(
            on_test_batch_end=lambda batch, logs: seen.append(batch))
        model.evaluate(x, y, verbose=0, callbacks=[cb])
        return len(seen)

    model = lamina.Sequential([lamina.Input((6,)), lamina.layers.Dense(1, activation="sigmoid")],
                              seed=0)
    model.compile("adam", "binary_crossentropy", metrics=[batch_recall])
    assert model.evaluate(x, y, verbose=0) == model.evaluate(x, y, batch_size=32, verbose=0)
    assert model.evaluate(x, y, verbose=0) != model.evaluate(x, y, batch_size=500, verbose=0)
    assert steps_of(model) == 16
    model.compile("adam", "binary_crossentropy", metrics=["accuracy", "auc"])
    assert steps_of(model) == 1
