"""lamina.sklearn: scikit-learn's own estimator checks, model selection, pipelines, pickling."""

from __future__ import annotations

import inspect
import pickle

import numpy as np
import pytest

pytest.importorskip("sklearn")

import lamina  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from lamina.sklearn import LaminaClassifier, LaminaRegressor  # noqa: E402

# Checks that cannot apply to a minibatch network trained in float32 (kept short on purpose).
SAMPLE_WEIGHT_XFAIL = (
    "float32 training: the weighted loss and the loss over repeated samples round differently "
    "(predictions agree to ~1e-6, the check asks 1e-7); in float64 the check passes, see "
    "test_sample_weight_equivalence_in_float64"
)
EXPECTED_FAILED_CHECKS = {
    "LaminaClassifier": {"check_sample_weight_equivalence_on_dense_data": SAMPLE_WEIGHT_XFAIL},
    "LaminaRegressor": {"check_sample_weight_equivalence_on_dense_data": SAMPLE_WEIGHT_XFAIL},
}


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})


_kwargs = {}
if "expected_failed_checks" in inspect.signature(parametrize_with_checks).parameters:
    _kwargs["expected_failed_checks"] = _expected_failed_checks


@parametrize_with_checks([LaminaClassifier(n_threads=1), LaminaRegressor(n_threads=1)], **_kwargs)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", [LaminaClassifier, LaminaRegressor])
def test_sample_weight_equivalence_in_float64(estimator):
    # Integer weights act exactly like repeated samples (lamina rescales weights to mean 1,
    # so the weighted batch loss is the mean over the repeated samples).
    from sklearn.utils.estimator_checks import check_sample_weight_equivalence_on_dense_data

    check_sample_weight_equivalence_on_dense_data(
        estimator.__name__, estimator(n_threads=1, dtype="float64")
    )


# ---------------------------------------------------------------- data
def _digits():
    (x_train, y_train), (x_test, y_test) = lamina.datasets.load_digits()
    return (np.asarray(x_train, np.float64), np.asarray(y_train)), (
        np.asarray(x_test, np.float64),
        np.asarray(y_test),
    )


def _blobs(n=120, seed=0):
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 3.0, 0.0], [3.0, 0.0, 0.0], [0.0, 0.0, 3.0]])
    y = rng.integers(0, 3, size=n)
    return centers[y] + rng.normal(scale=0.5, size=(n, 3)), y


# ---------------------------------------------------------------- behaviour
def test_classifier_learns_digits_and_records_curves():
    (xtr, ytr), (xte, yte) = _digits()
    clf = LaminaClassifier(
        (64,), batch_size=32, epochs=30, validation_split=0.1, random_state=0, n_threads=1
    )
    clf.fit(xtr / 16.0, ytr)
    assert clf.score(xte / 16.0, yte) >= 0.95
    assert clf.n_features_in_ == 64 and list(clf.classes_) == list(range(10))
    assert len(clf.loss_curve_) == clf.n_iter_ == len(clf.validation_loss_curve_) <= 30
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    assert clf.history_["loss"] == clf.loss_curve_ and "val_loss" in clf.history_
    assert isinstance(clf.model_, lamina.Sequential)
    proba = clf.predict_proba(xte[:5] / 16.0)
    assert proba.shape == (5, 10) and np.allclose(proba.sum(axis=1), 1.0)


def test_string_labels_and_binary():
    x, y = _blobs()
    labels = np.array(["cat", "dog", "eel"])[y]
    clf = LaminaClassifier((16,), learning_rate=0.01, epochs=50, random_state=0).fit(x, labels)
    assert set(clf.predict(x)) <= {"cat", "dog", "eel"} and clf.score(x, labels) > 0.9
    binary = LaminaClassifier((16,), learning_rate=0.01, epochs=50, random_state=0).fit(x, y == 0)
    assert binary.predict_proba(x).shape == (len(x), 2) and binary.score(x, y == 0) > 0.9


def test_random_state_makes_fit_reproducible_and_threads_do_not_matter():
    x, y = _blobs()
    a = LaminaClassifier((16,), dropout=0.2, epochs=10, random_state=3, n_threads=1).fit(x, y)
    b = LaminaClassifier((16,), dropout=0.2, epochs=10, random_state=3, n_threads=2).fit(x, y)
    c = LaminaClassifier((16,), dropout=0.2, epochs=10, random_state=4, n_threads=1).fit(x, y)
    assert a.loss_curve_ == b.loss_curve_
    assert np.array_equal(a.predict_proba(x), b.predict_proba(x))
    assert a.loss_curve_ != c.loss_curve_


def test_n_threads_is_restored_after_fit_and_predict():
    before = lamina.get_num_threads()
    x, y = _blobs()
    clf = LaminaClassifier((8,), epochs=2, n_threads=1).fit(x, y)
    clf.predict(x)
    assert lamina.get_num_threads() == before


def test_early_stopping_stops_and_keeps_the_best_epoch():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(200, 5)), rng.integers(0, 3, size=200)  # random labels: overfits
    clf = LaminaClassifier(
        (64,), learning_rate=0.05, epochs=300, early_stopping=True, patience=3, random_state=0
    ).fit(x, y)
    assert clf.n_iter_ < 300
    val = clf.validation_loss_curve_
    assert len(val) == clf.n_iter_ and min(val) < val[-1]
    assert int(np.argmin(val)) >= clf.n_iter_ - 1 - 3  # stopped `patience` epochs after the best
    # tol=None trains every epoch
    full = LaminaClassifier((8,), epochs=15, tol=None, random_state=0).fit(x, y)
    assert full.n_iter_ == 15
    one = LaminaClassifier((8,), epochs=1, validation_split=0.2, random_state=0).fit(x, y)
    assert one.n_iter_ == 1 and len(one.validation_loss_curve_) == 1


def test_partial_fit_runs_one_epoch_per_call():
    x, y = _blobs()
    clf = LaminaClassifier((16,), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(x, y)
    for i in range(5):
        clf.partial_fit(x[:60], y[:60], classes=[0, 1, 2] if i == 0 else None)
    assert clf.n_iter_ == 5 and len(clf.loss_curve_) == 5
    clf.partial_fit(x[60:], y[60:])
    assert clf.n_iter_ == 6
    with pytest.raises(ValueError, match=r"\[7\]"):
        clf.partial_fit(x[:3], [0, 1, 7])
    reg = LaminaRegressor((8,), random_state=0)
    for _ in range(3):
        reg.partial_fit(x, y.astype(float))
    assert reg.n_iter_ == 3


def test_regressor_single_and_multi_output():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4))
    y = x @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.1 * rng.normal(size=200)
    reg = LaminaRegressor((32,), epochs=200, learning_rate=0.01, random_state=0).fit(x, y)
    assert reg.predict(x).shape == (200,) and reg.score(x, y) > 0.9
    y2 = np.stack([y, -y], axis=1)
    reg2 = LaminaRegressor((32,), epochs=100, learning_rate=0.01, random_state=0).fit(x, y2)
    assert reg2.predict(x).shape == (200, 2) and reg2.score(x, y2) > 0.9


def test_layers_spec_optimizers_and_regularizers():
    x, y = _blobs()
    clf = LaminaClassifier(
        layers=[
            {"units": 16},
            {"type": "dropout", "rate": 0.1},
            {"units": 8, "activation": "tanh"},
        ],
        optimizer="sgd",
        learning_rate=0.1,
        optimizer_kwargs={"momentum": 0.9, "nesterov": True},
        alpha=1e-3,
        l1_ratio=0.5,
        epochs=30,
        random_state=0,
    ).fit(x, y)
    assert clf.score(x, y) > 0.9
    kinds = [type(layer).__name__ for layer in clf.model_.layers]
    assert kinds == ["Dense", "Dropout", "Dense", "Dense"]
    for name in ("rmsprop", "adamw", "adagrad", "adamax", "nadam"):
        LaminaClassifier((4,), optimizer=name, epochs=2, random_state=0).fit(x, y)


def test_keras_layer_configs_optimizer_configs_and_schedules():
    x, y = _blobs()
    schedule = {"class_name": "ExponentialDecay",
                "config": {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5}}
    clf = LaminaClassifier(
        layers=[
            {"class_name": "Dense", "config": {"units": 16}},
            {"type": "leaky_relu", "negative_slope": 0.1},
            {"class_name": "Dense", "config": {"units": 8, "activation": "tanh"}},
        ],
        optimizer={"class_name": "SGD", "config": {"momentum": 0.9}},
        learning_rate=schedule,
        alpha=1e-3,
        epochs=30,
        random_state=0,
    ).fit(x, y)
    assert clf.score(x, y) > 0.9
    first, leaky, second, out = clf.model_.layers
    assert type(leaky).__name__ == "LeakyReLU"
    # a Dense config takes the estimator's activation and penalty where it leaves them out
    assert first.activation == "relu" and second.activation == "tanh"
    assert first.kernel_regularizer.l2 == pytest.approx(1e-3)
    opt = clf.model_.optimizer
    assert type(opt).__name__ == "SGD" and opt.get_config()["momentum"] == 0.9
    assert opt.schedule.get_config()["decay_rate"] == 0.5
    same = LaminaClassifier(
        layers=[{"units": 16}, {"type": "LeakyReLU", "negative_slope": 0.1},
                {"units": 8, "activation": "tanh"}],
        optimizer="sgd",
        optimizer_kwargs={"momentum": 0.9},
        learning_rate=lamina.optimizers.schedules.get(schedule),
        alpha=1e-3,
        epochs=30,
        random_state=0,
    ).fit(x, y)
    assert same.loss_curve_ == clf.loss_curve_


def test_docstring_examples():
    import doctest

    import lamina.sklearn as sk
    from lamina.sklearn import _layer_specs

    for module in (sk, _layer_specs):  # the estimators' examples run with lamina.sklearn
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0 and result.attempted > 0, module.__name__


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"hidden_layer_sizes": (10, 0)}, ValueError, "hidden_layer_sizes"),
        ({"dropout": 1.0}, ValueError, "dropout"),
        ({"learning_rate": 0.0}, ValueError, "learning_rate"),
        ({"epochs": 0}, ValueError, "epochs"),
        ({"epochs": 2.5}, TypeError, "epochs"),
        ({"optimizer": "lbfgs"}, ValueError, "lbfgs"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"validation_split": 1.0}, ValueError, "validation_split"),
        ({"l1_ratio": 2.0}, ValueError, "l1_ratio"),
        ({"dtype": "float16"}, ValueError, "float16"),
        ({"layers": [{"type": "conv"}]}, ValueError, "conv"),
        ({"layers": "dense"}, TypeError, "layers"),
        ({"layers": [{"units": 4}, {"type": "dense", "units": 0}]}, ValueError, r"layers\[1\]"),
        ({"learning_rate": "fast"}, TypeError, "learning_rate"),
        ({"optimizer_kwargs": {"learning_rate": 0.1}}, ValueError, "learning_rate"),
        ({"optimizer_kwargs": {"momentum": 0.9}}, TypeError, "momentum"),  # Adam has none
    ],
)
def test_bad_hyperparameters_are_reported_at_fit(params, error, match):
    x, y = _blobs(20)
    clf = LaminaClassifier(**{"epochs": 1, **params})  # constructing never validates (sklearn rule)
    with pytest.raises(error, match=match):
        clf.fit(x, y)


def test_diverging_fit_raises_with_advice():
    x, y = _blobs()
    with pytest.raises(ValueError, match="lower learning_rate"):
        LaminaRegressor(
            (8,), optimizer="sgd", learning_rate=1e6, epochs=20, tol=None, random_state=0
        ).fit(x * 1e3, y * 1e3)


# ---------------------------------------------------------------- the scikit-learn ecosystem
@pytest.mark.slow
def test_grid_search_on_digits():
    (xtr, ytr), (xte, yte) = _digits()
    pipe = make_pipeline(
        StandardScaler(), LaminaClassifier(batch_size=32, epochs=15, random_state=0, n_threads=1)
    )
    grid = GridSearchCV(
        pipe,
        {
            "laminaclassifier__hidden_layer_sizes": [(16,), (64,)],
            "laminaclassifier__alpha": [1e-4, 1e-2],
        },
        cv=3,
    )
    grid.fit(xtr, ytr)
    assert grid.best_params_["laminaclassifier__hidden_layer_sizes"] == (64,)
    assert grid.score(xte, yte) >= 0.93
    assert len(grid.cv_results_["mean_test_score"]) == 4


def test_pipeline_with_standard_scaler_and_cross_val_score():
    (xtr, ytr), _ = _digits()
    pipe = make_pipeline(
        StandardScaler(),
        LaminaClassifier((32,), learning_rate=0.01, batch_size=32, epochs=10, random_state=0),
    )
    scores = cross_val_score(pipe, xtr[:600], ytr[:600], cv=3)
    assert scores.shape == (3,) and scores.min() > 0.85


@pytest.mark.slow
def test_fitted_estimators_come_back_from_worker_processes():
    from sklearn.model_selection import cross_validate

    (xtr, ytr), (xte, _) = _digits()
    pipe = make_pipeline(StandardScaler(), LaminaClassifier((16,), epochs=3, random_state=0))
    out = cross_validate(pipe, xtr[:400], ytr[:400], cv=2, n_jobs=2, return_estimator=True)
    for est in out["estimator"]:  # fitted in a loky worker, pickled back through .lamina bytes
        assert est[-1].model_ is not None and est.predict(xte[:5]).shape == (5,)


def test_pickle_round_trip_gives_identical_predictions():
    (xtr, ytr), (xte, _) = _digits()
    clf = LaminaClassifier((32,), dropout=0.1, epochs=5, random_state=0).fit(xtr, ytr)
    blob = pickle.dumps(clf)
    assert b"lamina._core" not in blob  # the core is never pickled, only the .lamina bytes
    back = pickle.loads(blob)
    assert np.array_equal(back.predict_proba(xte), clf.predict_proba(xte))
    assert back.loss_curve_ == clf.loss_curve_ and back.get_params() == clf.get_params()
    back.partial_fit(xtr, ytr)  # a restored estimator keeps training
    assert back.n_iter_ == clf.n_iter_ + 1
    reg = LaminaRegressor((8,), epochs=3, random_state=0).fit(xtr, ytr.astype(float))
    assert np.array_equal(pickle.loads(pickle.dumps(reg)).predict(xte), reg.predict(xte))
    unfitted = pickle.loads(pickle.dumps(LaminaClassifier(alpha=0.5)))
    assert unfitted.alpha == 0.5 and not hasattr(unfitted, "model_")


def test_clone_copies_hyperparameters_not_the_fit():
    x, y = _blobs()
    clf = LaminaClassifier((8, 4), activation="tanh", dropout=0.2, epochs=3, random_state=1).fit(
        x, y
    )
    twin = clone(clf)
    assert twin.get_params() == clf.get_params() and not hasattr(twin, "model_")
    twin.fit(x, y)
    assert twin.loss_curve_ == clf.loss_curve_ and twin.model_ is not clf.model_


def test_feature_names_from_a_dataframe():
    pd = pytest.importorskip("pandas")
    x, y = _blobs()
    df = pd.DataFrame(x, columns=["a", "b", "c"])
    clf = LaminaClassifier((8,), epochs=3, random_state=0).fit(df, y)
    assert list(clf.feature_names_in_) == ["a", "b", "c"]
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(df[["c", "b", "a"]])
