"""Real Keras 3 parity for the metrics: every metric class gives Keras's result (float32
tolerance) on the same random batches with sample weights, and fit's History keys for
metrics + weighted_metrics are Keras's. Skips without keras (the `interop` extra: keras>=3
and torch, run on Keras's torch backend)."""

import numpy as np
import pytest

from conftest import import_keras3

keras = import_keras3(module_level=True)

import lamina  # noqa: E402 - after the skip

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

RNG = np.random.default_rng(3)
N = 97
BIN_T = RNG.integers(0, 2, size=(N, 3)).astype("float32")
BIN_P = np.clip(BIN_T * 0.25 + RNG.uniform(size=(N, 3)) * 0.75, 0, 1).astype("float32")
LABELS = RNG.integers(0, 4, size=(N,))
ONEHOT = np.eye(4, dtype="float32")[LABELS]
PROBS = RNG.dirichlet(np.ones(4), size=N).astype("float32")
REG_T = (RNG.normal(size=(N, 2)) + 2).astype("float32")
REG_P = (REG_T + RNG.normal(scale=0.5, size=(N, 2))).astype("float32")
SW = RNG.uniform(0.1, 2.0, size=N).astype("float32")

BIN, CAT, SPARSE, REG = (BIN_T, BIN_P), (ONEHOT, PROBS), (LABELS, PROBS), (REG_T, REG_P)
CASES = [
    ("BinaryAccuracy", {"threshold": 0.4}, BIN), ("CategoricalAccuracy", {}, CAT),
    ("SparseCategoricalAccuracy", {}, SPARSE), ("TopKCategoricalAccuracy", {"k": 2}, CAT),
    ("SparseTopKCategoricalAccuracy", {"k": 2}, SPARSE), ("Accuracy", {}, BIN),
    ("AUC", {}, BIN), ("AUC", {"curve": "PR"}, BIN),
    ("AUC", {"summation_method": "minoring"}, BIN),
    ("AUC", {"curve": "PR", "summation_method": "majoring", "num_thresholds": 50}, BIN),
    ("AUC", {"multi_label": True}, BIN), ("AUC", {"multi_label": True, "curve": "PR"}, BIN),
    ("AUC", {"multi_label": True, "label_weights": [1.0, 0.0, 3.0]}, BIN),
    ("AUC", {"from_logits": True}, (BIN_T, BIN_P * 6 - 3)),
    ("AUC", {"thresholds": [0.2, 0.5, 0.7]}, BIN),
    ("Precision", {}, BIN), ("Precision", {"thresholds": [0.3, 0.6]}, BIN),
    ("Precision", {"top_k": 2}, CAT), ("Precision", {"class_id": 1}, BIN),
    ("Recall", {}, BIN), ("Recall", {"top_k": 1, "class_id": 2}, CAT),
    ("TruePositives", {"thresholds": [0.2, 0.8]}, BIN), ("FalsePositives", {}, BIN),
    ("TrueNegatives", {}, BIN), ("FalseNegatives", {"thresholds": 0.7}, BIN),
    ("F1Score", {}, CAT), ("F1Score", {"average": "micro"}, CAT),
    ("F1Score", {"average": "macro", "threshold": 0.3}, CAT),
    ("FBetaScore", {"average": "weighted", "beta": 2.0}, CAT),
    ("FBetaScore", {"beta": 0.5, "threshold": 0.5}, BIN),
    ("MeanSquaredError", {}, REG), ("RootMeanSquaredError", {}, REG),
    ("MeanAbsoluteError", {}, REG), ("MeanAbsolutePercentageError", {}, REG),
    ("MeanSquaredLogarithmicError", {}, REG), ("LogCoshError", {}, REG),
    ("CosineSimilarity", {}, REG), ("R2Score", {}, REG),
    ("R2Score", {"class_aggregation": "variance_weighted_average"}, REG),
    ("R2Score", {"class_aggregation": None, "num_regressors": 3}, REG),
    ("BinaryCrossentropy", {"label_smoothing": 0.1}, BIN),
    ("CategoricalCrossentropy", {"label_smoothing": 0.2}, CAT),
    ("SparseCategoricalCrossentropy", {}, SPARSE), ("KLDivergence", {}, CAT),
    ("Poisson", {}, (np.abs(REG_T), np.abs(REG_P))), ("Hinge", {}, BIN), ("SquaredHinge", {}, BIN),
    ("CategoricalHinge", {}, CAT),
]


@pytest.mark.parametrize("name,kwargs,data", CASES,
                         ids=[f"{c[0]}{i}" for i, c in enumerate(CASES)])
@pytest.mark.parametrize("weighted", [False, True])
def test_metric_matches_keras(name, kwargs, data, weighted):
    y_true, y_pred = data
    km, lm = getattr(keras.metrics, name)(**kwargs), getattr(lamina.metrics, name)(**kwargs)
    for s in range(0, N, 40):  # three batches, the last one short
        sw = SW[s:s + 40] if weighted else None
        km.update_state(y_true[s:s + 40], y_pred[s:s + 40], sample_weight=sw)
        lm.update_state(y_true[s:s + 40], y_pred[s:s + 40], sample_weight=sw)
    expected = keras.ops.convert_to_numpy(km.result())
    np.testing.assert_allclose(lm.result(), expected, rtol=2e-4, atol=2e-5)


def _fit_keys(api, metrics, weighted_metrics, sample_weight):
    model = api.Sequential([api.Input((3,)), api.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=metrics,
                  weighted_metrics=weighted_metrics)
    x = RNG.normal(size=(32, 3)).astype("float32")
    y = (x[:, :1] > 0).astype("float32")
    h = model.fit(x, y, epochs=1, verbose=0, validation_split=0.25, batch_size=8,
                  sample_weight=sample_weight)
    names = model.metrics_names
    return sorted(h.history), names


@pytest.mark.parametrize("metrics,weighted", [
    (["accuracy"], None), (["mae", "mae", "auc"], ["mae", "accuracy", "mse", "mae"]),
    (None, ["accuracy", "precision"]), (["acc", "binary_crossentropy"], ["acc"]),
    (None, None)])
def test_history_keys_and_metrics_names_match_keras(metrics, weighted):
    sw = np.linspace(0.5, 1.5, 32).astype("float32")
    assert _fit_keys(lamina, metrics, weighted, sw) == _fit_keys(keras, metrics, weighted, sw)


def test_weighted_and_unweighted_values_match_keras():
    x = RNG.normal(size=(64, 3)).astype("float32")
    y = (x[:, :1] + 0.3 * RNG.normal(size=(64, 1)) > 0).astype("float32")
    sw = RNG.uniform(0.1, 3.0, size=64).astype("float32")
    logs = []
    for api in (keras, lamina):
        model = api.Sequential([api.Input((3,)), api.layers.Dense(1, activation="sigmoid")])
        model.build((None, 3))
        model.layers[-1].set_weights([np.array([[0.5], [-0.2], [0.1]], "float32"),
                                      np.zeros(1, "float32")])
        model.compile(optimizer="sgd", loss="binary_crossentropy",
                      metrics=["accuracy", "mae", "auc"],
                      weighted_metrics=["accuracy", "mae", "auc"])
        logs.append(model.evaluate(x, y, sample_weight=sw, verbose=0, return_dict=True))
    assert sorted(logs[0]) == sorted(logs[1])
    for key in logs[0]:
        assert logs[1][key] == pytest.approx(float(logs[0][key]), rel=1e-4, abs=1e-5), key
