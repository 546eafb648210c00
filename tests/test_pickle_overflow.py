"""Models and estimators pickle, deepcopy and clone at any point of their life; float64 data
beyond the model dtype's range is refused instead of turning the weights into NaN."""

import copy
import pickle

import numpy as np
import pytest

import lamina


def _data(n=64):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype("float32")
    return x, (x[:, 0] > 0).astype("int64")


def _model(dtype=None):
    return lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(8, activation="relu"),
                              lamina.layers.Dropout(0.2),
                              lamina.layers.Dense(2, activation="softmax")], seed=0,
                             dtype=dtype)


def _at_stage(stage, tmp_path):
    x, y = _data()
    m = _model()
    if stage == "fresh":
        return m
    if stage in ("compiled", "fitted", "predicted", "evaluated", "loaded"):
        m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    if stage in ("fitted", "predicted", "evaluated", "loaded"):
        m.fit(x, y, epochs=2, batch_size=16, verbose=0)
    if stage == "predicted":
        m.predict(x, verbose=0)
    if stage == "evaluated":
        m.evaluate(x, y, verbose=0)
    if stage == "loaded":
        m.save(tmp_path / "m.lamina")
        m = lamina.load_model(tmp_path / "m.lamina")
    if stage == "predict_only":
        m.predict(x, verbose=0)
    return m


COPIES = {"pickle": lambda m: pickle.loads(pickle.dumps(m)), "deepcopy": copy.deepcopy}


@pytest.mark.parametrize("how", sorted(COPIES))
@pytest.mark.parametrize("stage", ["fresh", "predict_only", "compiled", "fitted", "predicted",
                                   "evaluated", "loaded"])
def test_models_copy_at_any_stage(stage, how, tmp_path):
    x, y = _data()
    m = _at_stage(stage, tmp_path)
    c = COPIES[how](m)
    np.testing.assert_array_equal(c.predict(x, verbose=0), m.predict(x, verbose=0))
    if m.compiled:
        # Training goes on exactly as it would have in the original.
        m.fit(x, y, epochs=1, batch_size=16, verbose=0)
        c.fit(x, y, epochs=1, batch_size=16, verbose=0)
        for a, b in zip(m.get_weights(), c.get_weights()):
            np.testing.assert_array_equal(a, b)
        assert c.optimizer.iterations == m.optimizer.iterations
    # The copy owns its weights.
    c.layers[0].kernel[...] = 0
    assert m.layers[0].kernel.any()


def test_pickled_arrays_feed_the_core():
    # Arrays that went through pickle (a multiprocessing queue) carry their own dtype object.
    x, y = _data()
    x, y = pickle.loads(pickle.dumps((x, y)))
    m = _model()
    m.compile("sgd", "sparse_categorical_crossentropy")
    m.fit(x, y, epochs=1, verbose=0)
    assert m.predict(x, verbose=0).shape == (64, 2)
    a = pickle.loads(pickle.dumps(np.ones((3, 2), np.float32)))
    assert lamina.ops.matmul(a, a.T).shape == (3, 3)


@pytest.mark.parametrize("stage", ["unfitted", "fitted", "partial"])
@pytest.mark.parametrize("how", ["pickle", "deepcopy", "clone"])
def test_estimators_copy_at_any_stage(stage, how):
    sklearn = pytest.importorskip("sklearn")
    from sklearn.base import clone

    from lamina.sklearn import LaminaClassifier

    x, y = _data()
    est = LaminaClassifier(hidden_layer_sizes=(8,), epochs=2, random_state=0)
    if stage == "fitted":
        est.fit(x, y)
    elif stage == "partial":
        est.partial_fit(x, y, classes=[0, 1])
    c = {"pickle": lambda e: pickle.loads(pickle.dumps(e)), "deepcopy": copy.deepcopy,
         "clone": clone}[how](est)
    assert sklearn is not None
    if how == "clone" or stage == "unfitted":
        c.fit(x, y)
        assert c.predict(x).shape == (64,)
    else:
        np.testing.assert_array_equal(c.predict_proba(x), est.predict_proba(x))


# ====================================================================== overflow =======
BIG = 1e300


def _compiled(loss="sparse_categorical_crossentropy"):
    m = _model()
    m.compile("sgd", loss)
    return m


def _check_weights_unchanged(m, before):
    for a, b in zip(m.get_weights(), before):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("value", [BIG, -BIG, 3.5e38, np.finfo(np.float64).max])
def test_inputs_beyond_float32_are_refused(value):
    x, y = _data()
    x = x.astype(np.float64)
    x[3, 2] = value
    m = _compiled()
    m.build((None, 4))
    before = m.get_weights()
    with pytest.raises(ValueError, match=r"x .*row 3, column 2.*float32"):
        m.fit(x, y, epochs=1, verbose=0)
    _check_weights_unchanged(m, before)
    with pytest.raises(ValueError, match="float32"):
        m.predict(x, verbose=0)
    with pytest.raises(ValueError, match="float32"):
        m.evaluate(x, y, verbose=0)
    with pytest.raises(ValueError, match="float32"):
        m.train_on_batch(x, y)


def test_validation_data_beyond_float32_is_refused():
    x, y = _data()
    m = _compiled()
    vx = x.astype(np.float64)
    vx[0, 0] = BIG
    with pytest.raises(ValueError, match="validation x"):
        m.fit(x, y, validation_data=(vx, y), epochs=1, verbose=0)


def test_targets_beyond_float32_are_refused():
    x, _ = _data()
    y = np.zeros((64, 2))
    y[5, 1] = BIG
    m = _compiled("mse")
    with pytest.raises(ValueError, match=r"y .*row 5, column 1.*float32"):
        m.fit(x, y, epochs=1, verbose=0)


def test_sample_weights_beyond_float32_are_refused():
    x, y = _data()
    sw = np.ones(64)
    sw[7] = BIG
    m = _compiled()
    with pytest.raises(ValueError, match=r"sample_weight .*row 7.*float32"):
        m.fit(x, y, sample_weight=sw, epochs=1, verbose=0)


def test_class_weights_beyond_float32_are_refused():
    x, y = _data()
    m = _compiled()
    with pytest.raises(ValueError, match=r"class_weight.*float32"):
        m.fit(x, y, class_weight={0: 1.0, 1: BIG}, epochs=1, verbose=0)


def test_products_of_weights_that_overflow_are_refused():
    x, y = _data()
    sw = np.full(64, 1e20)
    m = _compiled()
    with pytest.raises(ValueError, match="float32"):
        m.fit(x, y, sample_weight=sw, class_weight={0: 1e20, 1: 1e20}, epochs=1, verbose=0)


def test_set_weights_beyond_float32_is_refused():
    m = _model()
    w = [a.astype(np.float64) for a in m.get_weights()]
    w[0][1, 1] = BIG
    before = m.get_weights()
    with pytest.raises(ValueError, match="float32"):
        m.set_weights(w)
    _check_weights_unchanged(m, before)


def test_float64_models_take_large_float64_values():
    x, y = _data()
    x = x.astype(np.float64)
    x[0, 0] = 1e300
    m = _model("float64")
    m.compile("sgd", "sparse_categorical_crossentropy")
    m.predict(x, verbose=0)  # in range for float64: accepted
