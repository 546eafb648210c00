"""The estimators' partial_fit (scikit-learn's incremental protocol) and dask-ml's
Incremental / ParallelPostFit around them on a loopback Dask cluster."""

import pickle

import numpy as np
import pytest

pytest.importorskip("sklearn")

from lamina.sklearn import LaminaClassifier, LaminaRegressor  # noqa: E402


def _blobs(n=300, seed=0):
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 0.0, 0.0], [3.0, 3.0, 0.0], [0.0, 3.0, 3.0]])
    y = rng.integers(0, 3, size=n)
    return centers[y] + rng.normal(size=(n, 3)), y


def _same_weights(a, b):
    return all(np.array_equal(p, q) for p, q in zip(a.model_.get_weights(),
                                                     b.model_.get_weights()))


def test_partial_fit_calls_are_epochs_that_keep_the_optimizer_state():
    x, y = _blobs()
    kw = dict(hidden_layer_sizes=(16,), random_state=0, tol=None, batch_size=32)
    whole = LaminaClassifier(epochs=4, **kw).fit(x, y)
    parts = LaminaClassifier(**kw)
    for i in range(4):
        parts.partial_fit(x, y, classes=np.array([0, 1, 2]))  # classes may repeat if equal
        assert parts.n_iter_ == i + 1
    # one pass per call, Adam's moments and step count carried over: the same as 4 epochs
    assert _same_weights(whole, parts) and parts.loss_curve_ == whole.loss_curve_
    assert parts.model_.optimizer.iterations == whole.model_.optimizer.iterations == 40
    # pickled between calls (as dask-ml moves it between worker processes): the same again
    hop = LaminaClassifier(**kw)
    for i in range(4):
        hop = pickle.loads(pickle.dumps(hop.partial_fit(x, y, classes=[0, 1, 2])))
    assert _same_weights(whole, hop) and hop.loss_curve_ == whole.loss_curve_
    reg_kw = dict(hidden_layer_sizes=(8,), random_state=0, tol=None, batch_size=50)
    reg = LaminaRegressor(epochs=3, **reg_kw).fit(x, y.astype(float))
    inc = LaminaRegressor(**reg_kw)
    for _ in range(3):
        inc.partial_fit(x, y.astype(float))
    assert _same_weights(reg, inc)


def test_partial_fit_errors_are_clear():
    x, y = _blobs()
    clf = LaminaClassifier((8,), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(x, y)
    with pytest.raises(ValueError, match=r"y has labels \[2\] that are not in classes_"):
        clf.partial_fit(x, y, classes=[0, 1])
    with pytest.raises(ValueError, match="at least two classes"):
        LaminaClassifier((8,)).partial_fit(x[y == 0], y[y == 0], classes=[0])
    clf = LaminaClassifier((8,), random_state=0).partial_fit(x, y, classes=[0, 1, 2, 3])
    assert clf.classes_.tolist() == [0, 1, 2, 3]  # a class not in this batch is kept
    with pytest.raises(ValueError, match=r"classes=\[0, 1, 2\] is not the same as on the "
                                         r"first call to partial_fit: \[0, 1, 2, 3\]"):
        clf.partial_fit(x, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="X has 2 features, but LaminaClassifier is "
                                         "expecting 3 features"):
        clf.partial_fit(x[:, :2], y)
    with pytest.raises(ValueError, match=r"\[7\]"):
        clf.partial_fit(x[:3], [0, 1, 7])
    assert clf.n_iter_ == 1  # the refused calls trained nothing
    reg = LaminaRegressor((8,), random_state=0).partial_fit(x, y.astype(float))
    with pytest.raises(ValueError, match=r"y has shape \(300, 2\), but the first fit had "
                                         r"1-D targets"):
        reg.partial_fit(x, np.stack([y, y], axis=1).astype(float))
    with pytest.raises(ValueError, match="expecting 3 features"):
        reg.partial_fit(x[:, :1], y.astype(float))


def _teacher_block(i, rows, seed):
    """Block ``i`` of a 4-class problem labelled by a fixed random tanh network (with label
    noise): the same rows for the same (seed, i), whatever else is generated."""
    t = np.random.default_rng(1234)
    w1, w2 = t.normal(size=(10, 16)), t.normal(size=(16, 4))
    rng = np.random.default_rng((seed, i))
    x = rng.normal(size=(rows, 10)).astype(np.float32)
    logits = np.tanh(x @ w1) @ w2 + 0.5 * rng.normal(size=(rows, 4))
    return x, np.argmax(logits, axis=1).astype(np.int64)


def _chunked_classification(n, chunk, seed=0):
    """``(x, y)`` Dask arrays of n rows in blocks of ``chunk``, each generated on its own."""
    import dask
    import dask.array as da

    xs, ys = [], []
    for i, start in enumerate(range(0, n, chunk)):
        rows = min(chunk, n - start)
        block = dask.delayed(_teacher_block, nout=2)(i, rows, seed)
        xs.append(da.from_delayed(block[0], shape=(rows, 10), dtype=np.float32))
        ys.append(da.from_delayed(block[1], shape=(rows,), dtype=np.int64))
    return da.concatenate(xs), da.concatenate(ys)


@pytest.fixture
def client():
    pytest.importorskip("dask_ml")
    distributed = pytest.importorskip("distributed")
    # in-process transport; the dashboard on a free port (8787 may be another cluster's)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as c:
        yield c


PASSES = 8


def test_dask_ml_incremental_matches_in_memory_fit(client):
    from dask_ml.wrappers import Incremental

    x, y = _chunked_classification(20_000, 4_000)
    xm, ym = (np.concatenate(a) for a in zip(*(_teacher_block(i, 4_000, 0) for i in range(5))))
    xte, yte = _teacher_block(0, 10_000, 1)
    kw = dict(hidden_layer_sizes=(32,), learning_rate=0.003, random_state=0, batch_size=100)
    inc = Incremental(LaminaClassifier(**kw), shuffle_blocks=True, random_state=0)
    for _ in range(PASSES):  # each pass: the 5 chunks in a shuffled order
        inc.partial_fit(x, y, classes=np.arange(4))
    mem = LaminaClassifier(epochs=PASSES, tol=None, **kw).fit(xm, ym)  # the same rows
    acc_inc = inc.estimator_.score(xte, yte)
    acc_mem = mem.score(xte, yte)
    # chance is 0.34 and the teacher itself gets 0.91 (label noise)
    assert acc_mem > 0.75 and abs(acc_inc - acc_mem) <= 0.01, (acc_inc, acc_mem)
    assert inc.estimator_.n_iter_ == 5 * PASSES  # one epoch per chunk per pass
    # Incremental's own predict runs block by block and equals the estimator's
    xd_te, _ = _chunked_classification(10_000, 2_500, seed=1)
    assert np.array_equal(inc.predict(xd_te).compute(),
                          inc.estimator_.predict(np.concatenate([
                              _teacher_block(i, 2_500, 1)[0] for i in range(4)])))


def test_dask_ml_parallel_post_fit_predicts_a_dataframe_like_in_memory(client):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")  # dask.dataframe needs it (a plain ImportError without)
    dd = pytest.importorskip("dask.dataframe")
    from dask_ml.wrappers import ParallelPostFit

    x, y = _blobs(n=1000)
    df = pd.DataFrame(x, columns=["a", "b", "c"])
    est = ParallelPostFit(LaminaClassifier((16,), epochs=20, random_state=0))
    est.fit(df, y)
    ddf = dd.from_pandas(df, npartitions=4, sort=False)
    got = est.predict(ddf)
    assert np.array_equal(np.asarray(got.compute()), est.estimator.predict(df))
    proba = est.predict_proba(ddf)
    assert np.array_equal(np.asarray(proba.compute()), est.estimator.predict_proba(df))
