"""model.fit / evaluate / predict on Dask arrays and DataFrames (a partition at a time), and
`lamina predict` on Parquet and CSV files read in chunks."""

import csv

import numpy as np
import pytest

import lamina

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")


def _data(n=600, d=5, k=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype(np.float32)
    w = rng.normal(size=(d, k))
    y = np.argmax(x @ w + 0.3 * rng.normal(size=(n, k)), axis=1)
    return x, y


def _model(d=5, k=3, seed=1, penalized=False):
    reg = "l2" if penalized else None
    m = lamina.Sequential([lamina.Input((d,)),
                           lamina.layers.Dense(16, activation="relu", kernel_regularizer=reg),
                           lamina.layers.Dense(k, activation="softmax")], seed=seed)
    opt = "adam"
    if penalized:  # with a schedule too: the learning rate is read per step
        opt = lamina.optimizers.Adam(lamina.optimizers.schedules.ExponentialDecay(
            0.01, decay_steps=10, decay_rate=0.9))
    m.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def _weights_equal(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    return len(wa) == len(wb) and all(np.array_equal(p, q) for p, q in zip(wa, wb))


@pytest.mark.parametrize("shuffle,penalized", [(False, False), (True, False), (True, True)])
def test_one_partition_is_bit_identical_to_numpy(shuffle, penalized):
    x, y = _data()
    ref, got = _model(penalized=penalized), _model(penalized=penalized)
    h_ref = ref.fit(x, y, batch_size=32, epochs=3, shuffle=shuffle, verbose=0)
    h_got = got.fit(da.from_array(x, chunks=(x.shape[0], -1)), da.from_array(y, chunks=-1),
                    batch_size=32, epochs=3, shuffle=shuffle, verbose=0)
    assert _weights_equal(ref, got)
    assert h_got.history == h_ref.history
    assert ("data_loss" in h_got.history) == penalized
    assert h_got.fit_info == h_ref.fit_info
    assert ref.optimizer.iterations == got.optimizer.iterations


def test_partitions_in_order_without_shuffle_match_numpy_batches():
    # batch_size divides every chunk, so the batches are the numpy fit's batches
    x, y = _data()
    ref, got = _model(), _model()
    ref.fit(x, y, batch_size=50, epochs=2, shuffle=False, verbose=0)
    got.fit(da.from_array(x, chunks=(200, 5)), da.from_array(y, chunks=200), batch_size=50,
            epochs=2, shuffle=False, verbose=0)
    assert _weights_equal(ref, got)


def test_one_partition_computed_at_a_time(monkeypatch):
    x, y = _data()
    calls = []
    real = dask.compute

    def spy(*args, **kwargs):
        calls.append([a.shape[0] for a in args])
        return real(*args, **kwargs)

    monkeypatch.setattr(dask, "compute", spy)
    m = _model()
    m.fit(da.from_array(x, chunks=(150, 5)), da.from_array(y, chunks=150), batch_size=32,
          epochs=2, verbose=0)
    # x and y of one partition per compute call, 4 partitions per epoch
    assert calls == [[150, 150]] * 8


def test_shuffle_permutes_partitions_per_epoch_and_is_seeded():
    x, y = _data()
    seen = []

    def record(block, block_info=None):
        seen.append(block_info[0]["chunk-location"][0])
        return block

    def fit():
        xd = da.from_array(x, chunks=(100, 5)).map_blocks(record, dtype=x.dtype)
        m = _model()
        h = m.fit(xd, da.from_array(y, chunks=100), batch_size=32, epochs=4, verbose=0)
        return m, h

    a, ha = fit()
    orders = [seen[i:i + 6] for i in range(0, 24, 6)]
    assert all(sorted(o) == list(range(6)) for o in orders)
    assert len({tuple(o) for o in orders}) > 1  # the order changes between epochs
    seen.clear()
    b, hb = fit()
    assert [seen[i:i + 6] for i in range(0, 24, 6)] == orders
    assert _weights_equal(a, b) and ha.history == hb.history
    assert ha.history["accuracy"][-1] > ha.history["accuracy"][0]


def test_predict_evaluate_and_validation_data():
    x, y = _data()
    m = _model()
    m.fit(x, y, batch_size=32, epochs=2, verbose=0)
    xd, yd = da.from_array(x, chunks=(128, 5)), da.from_array(y, chunks=128)
    got = m.predict(xd, verbose=0)
    assert isinstance(got, np.ndarray) and np.array_equal(got, m.predict(x, verbose=0))
    ev = m.evaluate(xd, yd, verbose=0, return_dict=True)
    ref = m.evaluate(x, y, verbose=0, return_dict=True)
    assert ev == pytest.approx(ref, rel=1e-6)
    h = m.fit(xd, yd, batch_size=32, epochs=2, verbose=0, validation_data=(xd, yd))
    h2 = _model().fit(xd, yd, batch_size=32, epochs=1, verbose=0, validation_data=(x, y))
    assert len(h.history["val_loss"]) == 2 and len(h2.history["val_accuracy"]) == 1
    assert h.fit_info["validation_samples"] == x.shape[0]


def test_callbacks_and_sample_weights_stream():
    x, y = _data()
    steps = []

    class Count(lamina.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            steps.append(batch)

    m = _model()
    sw = np.ones(x.shape[0])
    h = m.fit(da.from_array(x, chunks=(250, 5)), da.from_array(y, chunks=250),
              sample_weight=da.from_array(sw, chunks=250), batch_size=100, epochs=2,
              verbose=0, callbacks=[Count()], class_weight={0: 1.0, 1: 2.0, 2: 1.0})
    # 250, 250, 100 rows: 3 + 3 + 1 batches per epoch (a batch never spans partitions)
    assert steps == list(range(7)) * 2 and len(h.history["loss"]) == 2
    stop = lamina.callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=10.0)
    h = _model().fit(da.from_array(x, chunks=200), da.from_array(y, chunks=200), epochs=5,
                     verbose=0, callbacks=[stop])
    assert len(h.history["loss"]) == 2 and h.fit_info["early_stopping"]["stopped_epoch"] == 2


def test_bad_dask_inputs_name_the_problem():
    x, y = _data()
    xd = da.from_array(x, chunks=(200, 5))
    m = _model()
    with pytest.raises(TypeError, match="y is not a Dask collection"):
        m.fit(xd, y, verbose=0)
    with pytest.raises(ValueError, match="y has 2 partitions but x has 3"):
        m.fit(xd, da.from_array(y, chunks=300), verbose=0)
    with pytest.raises(ValueError, match="partition 0: x has 200 rows but y has 100"):
        m.fit(xd, da.from_array(y, chunks=(100, 200, 300)), verbose=0)
    with pytest.raises(ValueError, match="validation_split=0.2 is not supported"):
        m.fit(xd, da.from_array(y, chunks=200), validation_split=0.2, verbose=0)
    with pytest.raises(TypeError, match="x is a Dask Delayed.*: lamina reads Dask arrays"):
        m.predict(dask.delayed(x), verbose=0)
    with pytest.raises(ValueError, match="samples of shape"):
        m.predict(da.from_array(x[:, :3], chunks=100), verbose=0)


def test_dask_dataframe_fit_and_predict(capsys):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")  # dask.dataframe needs it (a plain ImportError without)
    dd = pytest.importorskip("dask.dataframe")
    x, y = _data()
    df = pd.DataFrame(x, columns=[f"f{i}" for i in range(5)]).assign(label=y)
    ddf = dd.from_pandas(df, npartitions=3, sort=False)
    feats = [f"f{i}" for i in range(5)]
    ref, got = _model(), _model()
    ref.fit(da.from_array(x, chunks=(200, 5)), da.from_array(y, chunks=200), batch_size=32,
            epochs=2, verbose=0)
    got.fit(ddf[feats], ddf["label"], batch_size=32, epochs=2, verbose=0)
    assert _weights_equal(ref, got)
    assert np.array_equal(got.predict(ddf[feats], verbose=0), got.predict(x, verbose=0))
    with pytest.raises(ValueError, match="partitions"):
        got.fit(ddf[feats], dd.from_pandas(df["label"], npartitions=2, sort=False), verbose=0)
    # partition lengths are unknown until the first pass: the progress bar copes
    capsys.readouterr()
    h = got.fit(ddf[feats], ddf["label"], batch_size=100, epochs=2, verbose=1)
    out = capsys.readouterr()
    assert "Epoch 2/2" in out.out + out.err and h.fit_info["samples"] == 600


# ---------------------------------------------------------------------------------------------
# lamina predict on files read a chunk at a time


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dask-predict")
    x, y = _data(n=500)
    m = _model()
    m.fit(x, y, epochs=2, verbose=0)
    m.save(tmp / "m.lamina")
    return tmp, x, y, m


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_lamina_predict_parquet_in_chunks_equals_array_predict(saved):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    from lamina import cli
    from lamina.experiment import predict_model

    tmp, x, y, m = saved
    table = pa.table({**{f"f{i}": x[:, i] for i in range(5)}, "label": y})
    pq.write_table(table, tmp / "d.parquet", row_group_size=128)
    np.savez(tmp / "d.npz", x=x, y=y)
    assert cli.main(["predict", str(tmp / "m.lamina"), str(tmp / "d.parquet"), "--out",
                     str(tmp / "p.csv"), "--chunk-rows", "100"]) == 0
    predict_model(tmp / "m.lamina", str(tmp / "d.npz"), tmp / "q.csv")
    got, ref = _rows(tmp / "p.csv"), _rows(tmp / "q.csv")
    assert got == ref and len(got) == 501
    probs = m.predict(x, verbose=0)
    assert [int(r[1]) for r in got[1:]] == probs.argmax(axis=1).tolist()
    # lamina evaluate reads Parquet too (whole): the same metrics as on the .npz
    from lamina.experiment import evaluate_model

    assert evaluate_model(tmp / "m.lamina", str(tmp / "d.parquet")) == evaluate_model(
        tmp / "m.lamina", str(tmp / "d.npz"))
    # CSV read in chunks writes the same file as read whole
    with open(tmp / "d.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([f"f{i}" for i in range(5)] + ["label"])
        w.writerows([[repr(float(v)) for v in row] + [int(c)] for row, c in zip(x, y)])
    assert predict_model(tmp / "m.lamina", str(tmp / "d.csv"), tmp / "c.csv",
                         chunk_rows=7) == 500
    assert _rows(tmp / "c.csv") == ref


def test_lamina_predict_bad_parquet_is_one_line_and_exit_2(saved, capsys):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    from lamina import cli

    tmp, x, y, _ = saved
    model = str(tmp / "m.lamina")
    (tmp / "junk.parquet").write_bytes(b"not a parquet file at all")
    cols = {f"f{i}": x[:50, i].astype(np.float64) for i in range(5)}
    bad_nan = dict(cols, f2=np.where(np.arange(50) == 30, np.nan, cols["f2"]))
    pq.write_table(pa.table(bad_nan), tmp / "nan.parquet", row_group_size=20)
    pq.write_table(pa.table(dict(cols, f1=pa.array(["a"] * 50))), tmp / "text.parquet")
    pq.write_table(pa.table(dict(cols, f4=pa.array([1.0] * 49 + [None]))),
                   tmp / "null.parquet")
    pq.write_table(pa.table({"f0": x[:5, 0]}), tmp / "narrow.parquet")
    cases = {"junk": "as Parquet", "nan": "'f2' has a non-finite value (row index 30",
             "text": "'f1' is not numeric", "null": "'f4' has a missing value (row index 49)",
             "narrow": "has 1 feature columns, the model expects 5"}
    for name, msg in cases.items():
        out = tmp / f"{name}.csv"
        rc = cli.main(["predict", model, str(tmp / f"{name}.parquet"), "--out", str(out)])
        err = capsys.readouterr().err
        assert rc == 2 and msg in err and len(err.strip().splitlines()) == 1, (name, err)
        assert not out.exists()  # no half-written predictions
    # a bad row in a later chunk of a CSV: the same, after earlier chunks were written
    with open(tmp / "late.csv", "w") as f:
        f.write("f0,f1,f2,f3,f4\n" + "1,2,3,4,5\n" * 250 + "1,2,x,4,5\n")
    out = tmp / "late_out.csv"
    rc = cli.main(["predict", model, str(tmp / "late.csv"), "--out", str(out),
                   "--chunk-rows", "100"])
    err = capsys.readouterr().err
    assert rc == 2 and "column 'f2' is not numeric (line 252: 'x')" in err and not out.exists()
