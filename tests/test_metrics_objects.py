"""lamina.metrics objects against scikit-learn or a numpy reference on random data, with and
without sample weights; streaming over batches equals one pass; get_config round trips."""

import numpy as np
import pytest

import lamina
from lamina import metrics as M

sk = pytest.importorskip("sklearn.metrics")

RNG = np.random.default_rng(7)
N = 203  # not a multiple of the batch sizes below
BIN_T = RNG.integers(0, 2, size=(N, 1)).astype(float)
BIN_P = np.clip(BIN_T * 0.3 + RNG.uniform(size=(N, 1)) * 0.7, 0, 1)
LABELS = RNG.integers(0, 4, size=N)
ONEHOT = np.eye(4)[LABELS]
PROBS = RNG.dirichlet(np.ones(4), size=N)
REG_T = RNG.normal(size=(N, 3)) + 2.0
REG_P = REG_T + RNG.normal(scale=0.5, size=(N, 3))
POS_T, POS_P = np.abs(REG_T) + 0.1, np.abs(REG_P) + 0.1
SW = RNG.uniform(0.1, 2.0, size=N)


def result(metric, y_true, y_pred, sample_weight=None, batches=(N,)):
    """metric's result after updating it over consecutive batches of the given sizes."""
    metric.reset_state()
    start = 0
    for size in batches:
        stop = min(N, start + size)
        sw = None if sample_weight is None else sample_weight[start:stop]
        metric.update_state(y_true[start:stop], y_pred[start:stop], sample_weight=sw)
        start = stop
    assert start == N
    return metric.result()


def check(metric, y_true, y_pred, expected, sample_weight=None, atol=1e-9):
    """One pass equals ``expected``; 7 uneven batches equal one pass."""
    whole = result(metric, y_true, y_pred, sample_weight)
    np.testing.assert_allclose(whole, expected, rtol=0, atol=atol)
    streamed = result(metric, y_true, y_pred, sample_weight, batches=(1, 31, 64, 5, 40, 32, 30))
    np.testing.assert_allclose(streamed, whole, rtol=1e-12, atol=1e-12)


def wmean(values, sw):
    return np.sum(values * sw) / np.sum(sw) if sw is not None else np.mean(values)


@pytest.mark.parametrize("sw", [None, SW])
def test_accuracies(sw):
    check(M.BinaryAccuracy(), BIN_T, BIN_P, wmean((BIN_P[:, 0] > 0.5) == BIN_T[:, 0], sw), sw)
    check(M.BinaryAccuracy(threshold=0.7), BIN_T, BIN_P,
          wmean((BIN_P[:, 0] > 0.7) == BIN_T[:, 0], sw), sw)
    hit = PROBS.argmax(1) == LABELS
    check(M.CategoricalAccuracy(), ONEHOT, PROBS, wmean(hit, sw), sw)
    check(M.SparseCategoricalAccuracy(), LABELS, PROBS, wmean(hit, sw), sw)
    top2 = np.argsort(-PROBS, axis=1)[:, :2]
    in2 = (top2 == LABELS[:, None]).any(1)
    check(M.TopKCategoricalAccuracy(k=2), ONEHOT, PROBS, wmean(in2, sw), sw)
    check(M.SparseTopKCategoricalAccuracy(k=2), LABELS, PROBS, wmean(in2, sw), sw)
    rounded = np.round(PROBS * 2) / 2
    check(M.Accuracy(), rounded, np.round(PROBS[::-1] * 2) / 2,
          wmean(np.mean(rounded == np.round(PROBS[::-1] * 2) / 2, axis=1), sw), sw)


def test_top_k_bounds_are_checked_in_python():
    """k beyond 32 bits reached the core wrapped around ("must be >= 1, got 10**12")."""
    for k in (0, 10**12, 2.0, True):
        with pytest.raises(ValueError, match=r"k must be an int in \[1, 2147483647\]"):
            M.SparseTopKCategoricalAccuracy(k=k)
    assert M.TopKCategoricalAccuracy(k=2**31 - 1).k == 2**31 - 1


@pytest.mark.parametrize("sw", [None, SW])
def test_regression_metrics_against_sklearn(sw):
    check(M.MeanSquaredError(), REG_T, REG_P, sk.mean_squared_error(REG_T, REG_P,
                                                                    sample_weight=sw), sw)
    check(M.MeanAbsoluteError(), REG_T, REG_P,
          sk.mean_absolute_error(REG_T, REG_P, sample_weight=sw), sw)
    check(M.RootMeanSquaredError(), REG_T, REG_P,
          np.sqrt(sk.mean_squared_error(REG_T, REG_P, sample_weight=sw)), sw)
    check(M.MeanAbsolutePercentageError(), REG_T, REG_P,
          100 * sk.mean_absolute_percentage_error(REG_T, REG_P, sample_weight=sw), sw,
          atol=1e-7)
    check(M.MeanSquaredLogarithmicError(), POS_T, POS_P,
          sk.mean_squared_log_error(POS_T, POS_P, sample_weight=sw), sw)
    for aggregation, multioutput in (("uniform_average", "uniform_average"),
                                     ("variance_weighted_average", "variance_weighted"),
                                     (None, "raw_values")):
        check(M.R2Score(class_aggregation=aggregation), REG_T, REG_P,
              sk.r2_score(REG_T, REG_P, sample_weight=sw, multioutput=multioutput), sw)


def test_adjusted_r2_and_its_fallback():
    r2 = sk.r2_score(REG_T[:, :1], REG_P[:, :1])
    check(M.R2Score(num_regressors=5), REG_T[:, :1], REG_P[:, :1],
          1 - (1 - r2) * (N - 1) / (N - 5 - 1))
    m = M.R2Score(num_regressors=10)
    m.update_state(REG_T[:5, :1], REG_P[:5, :1])
    with pytest.warns(UserWarning, match="num_regressors"):
        assert m.result() == pytest.approx(sk.r2_score(REG_T[:5, 0], REG_P[:5, 0]))


@pytest.mark.parametrize("sw", [None, SW])
def test_per_sample_metrics_against_numpy(sw):
    d = REG_P - REG_T
    check(M.LogCoshError(), REG_T, REG_P, wmean(np.mean(np.log(np.cosh(d)), 1), sw), sw)
    cos = np.sum(REG_T * REG_P, 1) / np.linalg.norm(REG_T, axis=1) / np.linalg.norm(REG_P, axis=1)
    check(M.CosineSimilarity(), REG_T, REG_P, wmean(cos, sw), sw)
    kl = np.sum(ONEHOT.clip(1e-7, 1) * np.log(ONEHOT.clip(1e-7, 1) / PROBS.clip(1e-7, 1)), 1)
    check(M.KLDivergence(), ONEHOT, PROBS, wmean(kl, sw), sw)
    check(M.Poisson(), POS_T, POS_P, wmean(np.mean(POS_P - POS_T * np.log(POS_P + 1e-7), 1),
                                             sw), sw)
    signed = 2 * BIN_T - 1
    margin = np.maximum(1 - signed * (BIN_P - 0.5), 0)
    check(M.Hinge(), BIN_T, BIN_P - 0.5, wmean(margin.mean(1), sw), sw)
    check(M.SquaredHinge(), BIN_T, BIN_P - 0.5, wmean((margin ** 2).mean(1), sw), sw)
    pos = np.sum(ONEHOT * PROBS, 1)
    neg = np.max((1 - ONEHOT) * PROBS, 1)
    check(M.CategoricalHinge(), ONEHOT, PROBS, wmean(np.maximum(neg - pos + 1, 0), sw), sw)
    ce = -np.log(PROBS[np.arange(N), LABELS])
    check(M.CategoricalCrossentropy(), ONEHOT, PROBS, wmean(ce, sw), sw)
    check(M.SparseCategoricalCrossentropy(), LABELS, PROBS, wmean(ce, sw), sw)
    smooth = ONEHOT * 0.9 + 0.1 / 4
    check(M.CategoricalCrossentropy(label_smoothing=0.1), ONEHOT, PROBS,
          wmean(-np.sum(smooth * np.log(PROBS), 1), sw), sw)
    bce = -(BIN_T * np.log(BIN_P.clip(1e-7, 1 - 1e-7))
            + (1 - BIN_T) * np.log(1 - BIN_P.clip(1e-7, 1 - 1e-7)))[:, 0]
    check(M.BinaryCrossentropy(), BIN_T, BIN_P, wmean(bce, sw), sw)
    check(M.BinaryCrossentropy(from_logits=True), BIN_T, np.log(BIN_P.clip(1e-7, 1 - 1e-7) / (
        1 - BIN_P.clip(1e-7, 1 - 1e-7))), wmean(bce, sw), sw, atol=1e-6)


@pytest.mark.parametrize("sw", [None, SW])
def test_precision_recall_f_scores_against_sklearn(sw):
    pred = (BIN_P[:, 0] > 0.5).astype(int)
    t = BIN_T[:, 0].astype(int)
    check(M.Precision(), BIN_T, BIN_P, sk.precision_score(t, pred, sample_weight=sw), sw)
    check(M.Recall(), BIN_T, BIN_P, sk.recall_score(t, pred, sample_weight=sw), sw)
    pred7 = (BIN_P[:, 0] > 0.7).astype(int)
    check(M.Precision(thresholds=[0.5, 0.7]), BIN_T, BIN_P,
          [sk.precision_score(t, p, sample_weight=sw) for p in (pred, pred7)], sw)
    check(M.Recall(thresholds=0.7), BIN_T, BIN_P, sk.recall_score(t, pred7, sample_weight=sw),
          sw)
    # multi-class: the row maximum is the one positive (threshold None)
    onehot_pred = np.eye(4)[PROBS.argmax(1)]
    for average in (None, "micro", "macro", "weighted"):
        check(M.F1Score(average=average), ONEHOT, PROBS,
              sk.f1_score(ONEHOT, onehot_pred, average=average, sample_weight=sw), sw,
              atol=1e-6)
        check(M.FBetaScore(average=average, beta=2.0, threshold=0.3), ONEHOT, PROBS,
              sk.fbeta_score(ONEHOT, (PROBS > 0.3).astype(int), beta=2.0, average=average,
                             sample_weight=sw, zero_division=0), sw, atol=1e-6)
    # class_id and top_k: one column, the k best columns
    check(M.Precision(class_id=2), ONEHOT, PROBS,
          sk.precision_score(ONEHOT[:, 2], PROBS[:, 2] > 0.5, sample_weight=sw), sw)
    top2 = np.zeros_like(ONEHOT)
    np.put_along_axis(top2, np.argsort(-PROBS, axis=1)[:, :2], 1, axis=1)
    check(M.Precision(top_k=2), ONEHOT, PROBS,
          sk.precision_score(ONEHOT.ravel(), top2.ravel(),
                             sample_weight=None if sw is None else np.repeat(sw, 4)), sw)
    check(M.Recall(top_k=2, class_id=1), ONEHOT, PROBS,
          sk.recall_score(ONEHOT[:, 1], top2[:, 1], sample_weight=sw), sw)


@pytest.mark.parametrize("sw", [None, SW])
def test_confusion_counts(sw):
    w = np.ones(N) if sw is None else sw
    t = BIN_T[:, 0] == 1
    for thr in (0.2, 0.5, 0.9):
        p = BIN_P[:, 0] > thr
        check(M.TruePositives(thr), BIN_T, BIN_P, np.sum(w * (t & p)), sw)
        check(M.FalsePositives(thr), BIN_T, BIN_P, np.sum(w * (~t & p)), sw)
        check(M.TrueNegatives(thr), BIN_T, BIN_P, np.sum(w * (~t & ~p)), sw)
        check(M.FalseNegatives(thr), BIN_T, BIN_P, np.sum(w * (t & ~p)), sw)
    check(M.TruePositives([0.9, 0.2]), BIN_T, BIN_P,
          [np.sum(w * (t & (BIN_P[:, 0] > c))) for c in (0.9, 0.2)], sw)


@pytest.mark.parametrize("sw", [None, SW])
def test_auc_against_sklearn_within_discretization(sw):
    t = BIN_T[:, 0]
    roc = sk.roc_auc_score(t, BIN_P[:, 0], sample_weight=sw)
    ap = sk.average_precision_score(t, BIN_P[:, 0], sample_weight=sw)
    check(M.AUC(), BIN_T, BIN_P, roc, sw, atol=5e-3)  # 200 thresholds
    check(M.AUC(num_thresholds=5000), BIN_T, BIN_P, roc, sw, atol=2e-4)
    check(M.AUC(curve="PR", num_thresholds=5000), BIN_T, BIN_P, ap, sw, atol=1e-2)
    check(M.AUC(curve="PR", summation_method="majoring", num_thresholds=5000), BIN_T, BIN_P,
          ap, sw, atol=1e-2)
    logits = np.log(BIN_P.clip(1e-6, 1 - 1e-6) / (1 - BIN_P.clip(1e-6, 1 - 1e-6)))
    check(M.AUC(from_logits=True, num_thresholds=5000), BIN_T, logits, roc, sw, atol=2e-4)
    # minoring / majoring bracket the interpolated ROC area
    low = result(M.AUC(summation_method="minoring"), BIN_T, BIN_P, sw)
    high = result(M.AUC(summation_method="majoring"), BIN_T, BIN_P, sw)
    assert low <= result(M.AUC(), BIN_T, BIN_P, sw) <= high


def test_auc_multi_label_and_explicit_thresholds():
    per_label = [sk.roc_auc_score(ONEHOT[:, j], PROBS[:, j]) for j in range(4)]
    check(M.AUC(multi_label=True, num_thresholds=5000), ONEHOT, PROBS, np.mean(per_label),
          atol=2e-4)
    lw = np.array([1.0, 2.0, 0.0, 1.0])
    check(M.AUC(multi_label=True, num_labels=4, label_weights=lw, num_thresholds=5000), ONEHOT,
          PROBS, np.dot(per_label, lw) / lw.sum(), atol=2e-4)
    check(M.AUC(num_thresholds=5000), ONEHOT, PROBS, sk.roc_auc_score(ONEHOT.ravel(),
                                                                      PROBS.ravel()), atol=2e-4)
    grid = list(np.linspace(0.001, 0.999, 999))
    assert result(M.AUC(thresholds=grid), BIN_T, BIN_P) == pytest.approx(
        result(M.AUC(num_thresholds=1001), BIN_T, BIN_P), abs=1e-3)


def test_auc_exact_on_a_grid():
    # scores on the threshold grid: the ROC curve is measured exactly, and interpolation is
    # the trapezoid rule sklearn uses
    t = np.array([0, 0, 1, 1, 0, 1, 1, 0, 1, 1])
    p = np.array([0.1, 0.3, 0.35, 0.8, 0.55, 0.9, 0.3, 0.15, 0.65, 0.45]) + 1e-4
    m = M.AUC(num_thresholds=101)
    m.update_state(t, p)
    assert m.result() == pytest.approx(sk.roc_auc_score(t, p), abs=1e-12)


def test_mean_sum_and_wrapper():
    check(M.MeanMetricWrapper(lambda a, b: np.abs(a - b).max(axis=1)), REG_T, REG_P,
          np.mean(np.abs(REG_T - REG_P).max(axis=1)))
    m = M.Mean()
    m.update_state([1.0, 2.0])
    m.update_state(np.array([[3.0, 5.0]]), sample_weight=[2.0])
    assert m.result() == pytest.approx((1 + 2 + 2 * 4) / 4)
    s = M.Sum()
    s.update_state([1.0, 2.0], sample_weight=[3.0, 0.5])
    s.update_state(4.0)
    assert s.result() == 8.0
    s.reset_state()
    assert s.result() == 0.0
    loss_metric = M.get(lamina.losses.Huber(delta=0.5))
    check(loss_metric, REG_T, REG_P, np.mean(lamina.losses.huber(REG_T, REG_P, delta=0.5)))
    assert loss_metric.name == "huber_loss"  # the loss object's name, as in Keras


class Positives(M.Metric):
    """A Keras-style subclass: state in add_variable, default reset_state."""

    def __init__(self, name="positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.count = self.add_variable((), "zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.count.assign_add(np.sum(np.asarray(y_pred) > 0.5))

    def result(self):
        return float(self.count)


def test_metric_subclass_with_variables():
    m = Positives()
    check(m, BIN_T, BIN_P, np.sum(BIN_P > 0.5))
    assert [v.name for v in m.variables] == ["count"] and m.get_config()["name"] == "positives"
    assert m(BIN_T[:3], BIN_P[:3]) == np.sum(BIN_P > 0.5) + np.sum(BIN_P[:3] > 0.5)


CLASSES = [c for c in (getattr(M, n) for n in M.__all__) if isinstance(c, type)
           and issubclass(c, M.Metric) and c not in (M.Metric, M.Mean, M.Sum,
                                                     M.MeanMetricWrapper)]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_config_round_trip(cls):
    kwargs = {"AUC": {"curve": "PR", "num_thresholds": 50, "multi_label": True},
              "Precision": {"thresholds": [0.3, 0.6], "class_id": 1},
              "FBetaScore": {"beta": 0.5, "average": "macro", "threshold": 0.4},
              "R2Score": {"class_aggregation": None},
              "BinaryAccuracy": {"threshold": 0.3},
              "TopKCategoricalAccuracy": {"k": 2}}.get(cls.__name__, {})
    m = cls(name="custom", **kwargs)
    config = m.get_config()
    again = cls.from_config(config)
    assert again.get_config() == config and again.name == "custom"
    back = M.deserialize(M.serialize(m))
    assert type(back) is cls and back.get_config() == config
    y_true, y_pred = (LABELS, PROBS) if "Sparse" in cls.__name__ else (ONEHOT, PROBS)
    np.testing.assert_allclose(result(m, y_true, y_pred, SW), result(again, y_true, y_pred, SW))


KERAS_NAMES = {
    "auc": M.AUC, "precision": M.Precision, "recall": M.Recall, "f1_score": M.F1Score,
    "f_beta_score": M.FBetaScore, "fbeta_score": M.FBetaScore, "r2_score": M.R2Score,
    "root_mean_squared_error": M.RootMeanSquaredError, "mse": M.MeanSquaredError,
    "mae": M.MeanAbsoluteError, "mape": M.MeanAbsolutePercentageError,
    "msle": M.MeanSquaredLogarithmicError, "log_cosh_error": M.LogCoshError,
    "cosine_similarity": M.CosineSimilarity, "true_positives": M.TruePositives,
    "false_negatives": M.FalseNegatives, "kl_divergence": M.KLDivergence, "hinge": M.Hinge,
    "binary_crossentropy": M.BinaryCrossentropy, "bce": M.BinaryCrossentropy,
    "MeanAbsolutePercentageError": M.MeanAbsolutePercentageError,
}


@pytest.mark.parametrize("name", sorted(KERAS_NAMES))
def test_keras_string_names(name):
    m = M.get(name)
    assert type(m) is KERAS_NAMES[name] and m.name == name  # the string is the log key


def test_bad_arguments_name_the_value():
    for make, text in ((lambda: M.AUC(curve="ROCK"), "ROCK"),
                       (lambda: M.AUC(num_thresholds=1), "1"),
                       (lambda: M.AUC(summation_method="sum"), "sum"),
                       (lambda: M.Precision(thresholds=1.5), "1.5"),
                       (lambda: M.Recall(top_k=0), "0"),
                       (lambda: M.F1Score(average="median"), "median"),
                       (lambda: M.FBetaScore(beta=-1), "-1"),
                       (lambda: M.R2Score(class_aggregation="mean"), "mean"),
                       (lambda: M.get("areaundercurve"), "areaundercurve"),
                       (lambda: M.MeanMetricWrapper(3), "3")):
        with pytest.raises((ValueError, TypeError), match=text):
            make()
    with pytest.raises(ValueError, match="shape"):
        M.F1Score().update_state(ONEHOT[:, 0], PROBS[:, 0])
