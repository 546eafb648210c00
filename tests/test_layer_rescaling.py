"""Rescaling (Keras's layers.Rescaling): the layer kind added by docs/architecture.md's
walkthrough, with exactly its files (cpp/network/layer_rescaling.cpp,
python/lamina/layers/rescaling.py, one import line in layers/__init__.py, this test). It
shows a new kind trains, saves, loads and is found by run files and the sklearn
estimators without any other change."""

import numpy as np
import pytest

import lamina
from lamina import layers


def rescaling_model(scale, offset, d=5, k=3, seed=0, dtype="float64"):
    m = lamina.Sequential([lamina.Input((d,)), layers.Dense(7, activation="tanh"),
                           layers.Rescaling(scale, offset), layers.Dense(k)],
                          seed=seed, dtype=dtype)
    m.compile(optimizer=lamina.optimizers.SGD(learning_rate=0.1), loss="mse")
    return m


def reference_step(m, x, y, scale, offset, lr=0.1):
    """One float64 SGD step of Dense(tanh) -> Rescaling -> Dense on MSE, by hand."""
    w1, b1, w2, b2 = [np.array(w, np.float64) for w in m.get_weights()]
    h = np.tanh(x @ w1 + b1)
    r = h * scale + offset
    out = r @ w2 + b2
    loss = np.mean((out - y) ** 2)
    d_out = 2 * (out - y) / out.size
    g_w2, g_b2 = r.T @ d_out, d_out.sum(0)
    d_r = d_out @ w2.T
    d_h = d_r * scale                           # Rescaling's backward
    d_z = d_h * (1 - h * h)
    g_w1, g_b1 = x.T @ d_z, d_z.sum(0)
    new = [w1 - lr * g_w1, b1 - lr * g_b1, w2 - lr * g_w2, b2 - lr * g_b2]
    return loss, new, out


@pytest.mark.kernel
@pytest.mark.parametrize("m_rows,d", [(1, 1), (3, 5), (13, 7), (64, 31)])
@pytest.mark.parametrize("scale,offset", [(1 / 255, 0.0), (-2.5, 0.75), (0.0, 3.0)])
def test_forward_and_backward_against_float64(m_rows, d, scale, offset):
    rng = np.random.default_rng(m_rows * 100 + d)
    x = rng.normal(size=(m_rows, d))
    y = rng.normal(size=(m_rows, 3))
    m = rescaling_model(scale, offset, d=d)
    loss, new, out = reference_step(m, x, y, scale, offset)
    np.testing.assert_allclose(m.predict(x, verbose=0), out, rtol=1e-12, atol=1e-12)
    got = m.train_on_batch(x, y)
    assert got == pytest.approx(loss, rel=1e-12, abs=1e-14)
    for w, want in zip(m.get_weights(), new):
        np.testing.assert_allclose(w, want, rtol=1e-11, atol=1e-13)


def test_first_layer_rescaling_and_thread_count_independence():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(96, 12)).astype(np.float32)
    y = rng.integers(0, 4, size=96)
    before = lamina.get_num_threads()
    runs = []
    try:
        for threads in (1, 2):
            lamina.set_num_threads(threads)
            m = lamina.Sequential([lamina.Input((12,)), layers.Rescaling(1 / 255),
                                   layers.Dense(16, activation="relu"),
                                   layers.Dense(4, activation="softmax")], seed=3)
            m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
            m.fit(x, y, epochs=3, batch_size=16, verbose=0)
            runs.append(m.get_weights())
    finally:
        lamina.set_num_threads(before)
    assert all(np.array_equal(a, b) for a, b in zip(*runs))
    unscaled = lamina.Sequential([lamina.Input((12,)), layers.Dense(16, activation="relu"),
                                  layers.Dense(4, activation="softmax")], seed=3)
    unscaled.set_weights(runs[0])
    np.testing.assert_allclose(unscaled.predict(x / 255, verbose=0),
                               m.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_identity_rescaling_is_dropped_and_config_round_trips():
    layer = layers.Rescaling(2.0, offset=-1.0, name="scale_it")
    again = layers.deserialize(layers.serialize(layer))
    assert type(again) is layers.Rescaling
    assert again.get_config() == layer.get_config()
    assert (again.scale, again.offset) == (2.0, -1.0)
    m = lamina.Sequential([lamina.Input((2,)), layers.Rescaling(1.0), layers.Dense(1)], seed=0)
    x = np.ones((3, 2), np.float32)
    np.testing.assert_array_equal(m.predict(x, verbose=0),
                                  x @ m.weights[0] + m.weights[1])


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "two", None])
def test_bad_scale_names_the_value(bad):
    with pytest.raises((ValueError, TypeError), match="Rescaling scale"):
        layers.Rescaling(bad)


def test_saves_and_loads_bit_identically(tmp_path):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(40, 5)), rng.normal(size=(40, 3))
    m = rescaling_model(0.5, 0.25, dtype="float32")
    m.fit(x, y, epochs=2, batch_size=8, verbose=0)
    path = tmp_path / "r.lamina"
    m.save(path)
    back = lamina.load_model(path)
    assert isinstance(back.layers[1], layers.Rescaling)
    np.testing.assert_array_equal(back.predict(x, verbose=0), m.predict(x, verbose=0))
    m.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    back.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(m.get_weights(), back.get_weights()))


def test_appears_in_a_run_file(tmp_path):
    run = lamina.runfile.load_run({
        "data": {"max_samples": 200},
        "model": {"layers": [{"type": "rescaling", "scale": 0.5, "offset": 0.1},
                             {"units": 8, "activation": "relu"},
                             {"units": 10, "activation": "softmax"}]},
        "training": {"epochs": 2}})
    entry = run["model"]["layers"][0]
    assert entry["type"] == "rescaling" and entry["scale"] == 0.5
    model = lamina.runfile.build_model(run, input_dim=64)
    assert [type(lay).__name__ for lay in model.layers] == ["Rescaling", "Dense", "Dense"]
    path = tmp_path / "run.toml"
    path.write_text(run.to_toml())
    assert lamina.runfile.load_run(path)["model"]["layers"][0] == entry
    with pytest.raises(lamina.runfile.RunFileError, match="scale"):
        lamina.runfile.load_run({"model": {"layers": [{"type": "rescaling"},
                                                      {"units": 2}]}})


def test_sklearn_estimator_takes_it():
    pytest.importorskip("sklearn")
    from lamina.sklearn import LaminaClassifier

    rng = np.random.default_rng(0)
    x = rng.integers(0, 16, size=(60, 4)).astype(float)
    y = (x[:, 0] > 7).astype(int)
    clf = LaminaClassifier(layers=[{"type": "rescaling", "scale": 1 / 16}, {"units": 8}],
                           epochs=3, random_state=0, verbose=0)
    clf.fit(x, y)
    assert type(clf.model_.layers[0]).__name__ == "Rescaling"
    assert clf.predict(x).shape == (60,)
