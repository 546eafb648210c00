"""Freezing weights (Keras's ``trainable``): frozen weights stay bit-identical through fit,
are reported as non-trainable, survive save/load, and a change of the flag takes effect at
the next compile. The trainable part of a partly frozen network is checked against the
float64 reference with the frozen weights as constants."""

import numpy as np
import pytest

import lamina
from lamina import layers
from ref_network import RefNetwork


def data(n=48, d=6, k=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)).astype(np.float32), rng.integers(0, k, size=n)


def model_of(*hidden, d=6, k=3, seed=0, optimizer="adam", compile=True, l2=0.0, **kw):
    reg = lamina.regularizers.L2(l2) if l2 else None
    hs = [layers.Dense(u, activation="tanh", name=f"h{i}", kernel_regularizer=reg, **kw.get(
        f"h{i}", {})) for i, u in enumerate(hidden)]
    m = lamina.Sequential([lamina.Input((d,)), *hs,
                           layers.Dense(k, activation="softmax", name="out")], seed=seed)
    if compile:
        m.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return m


def snapshot(layer):
    return [w.copy() for w in layer.weights]


def unchanged(layer, before):
    return all(np.array_equal(a, b) for a, b in zip(layer.weights, before))


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "rmsprop", "nadam"])
def test_constructor_flag_freezes_a_layer(optimizer):
    x, y = data()
    m = model_of(8, 5, optimizer=optimizer, h0={"trainable": False})
    frozen, other = m.get_layer("h0"), m.get_layer("h1")
    f0, o0 = snapshot(frozen), snapshot(other)
    m.fit(x, y, epochs=3, batch_size=16, verbose=0)
    assert unchanged(frozen, f0)
    assert not unchanged(other, o0)


def test_setting_the_flag_takes_effect_at_the_next_compile():
    x, y = data()
    m = model_of(8)
    h0 = m.get_layer("h0")
    h0.trainable = False          # not yet: compile has not run again (Keras semantics)
    before = snapshot(h0)
    m.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert not unchanged(h0, before)
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    before = snapshot(h0)
    m.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert unchanged(h0, before)
    h0.trainable = True           # unfreeze + recompile trains it again
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    m.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert not unchanged(h0, before)


def test_model_trainable_false_freezes_every_layer_and_reports_them():
    x, y = data()
    m = model_of(8, 4)
    m.trainable = False
    assert all(not lay.trainable for lay in m.layers)
    assert m.trainable_weights == [] and m.trainable_variables == []
    assert len(m.non_trainable_weights) == len(m.weights) == 6
    m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    before = m.get_weights()
    m.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, m.get_weights()))
    m.trainable = True
    assert all(lay.trainable for lay in m.layers) and len(m.trainable_weights) == 6


def test_weights_lists_and_summary_counts():
    m = model_of(8, 4, h1={"trainable": False})
    h1 = m.get_layer("h1")
    assert [id(w) for w in m.non_trainable_weights] == [id(w) for w in h1.weights]
    assert len(m.trainable_weights) == 4
    assert h1.trainable_weights == [] and len(h1.non_trainable_variables) == 2
    text = []
    m.summary(print_fn=text.append)
    frozen = 8 * 4 + 4
    total = m.count_params()
    assert f"Trainable params: {total - frozen:,}" in text[0]
    assert f"Non-trainable params: {frozen:,}" in text[0]


def test_frozen_layers_get_no_optimizer_slots():
    m = model_of(8, 4, h0={"trainable": False})
    x, y = data()
    m.fit(x, y, epochs=1, batch_size=16, verbose=0)
    slots = m.optimizer.slots
    assert len(slots) == len(m.trainable_weights) == 4
    assert [s[0].shape for s in slots] == [w.shape for w in m.trainable_weights]


def test_partly_frozen_network_matches_the_float64_reference():
    x, y = data(n=32)
    m = model_of(7, 5, optimizer="adam", l2=1e-3, h1={"trainable": False})
    m.fit(x[:1], y[:1], epochs=1, batch_size=1, verbose=0)  # builds the network
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    m._network_for("train")
    ref = RefNetwork(m._spec)
    for step in range(1, 4):
        xb, yb = x[8 * step:8 * step + 8], y[8 * step:8 * step + 8]
        got = m.train_on_batch(xb, yb, return_dict=True)
        want = ref.step(xb, yb, None, 1e-3, step)
        assert got["loss"] == pytest.approx(want[0], rel=1e-5)
    for w, r in zip(m.weights, ref.params()):
        np.testing.assert_allclose(w, r[0], rtol=1e-4, atol=1e-5)


def test_frozen_flag_survives_save_and_load(tmp_path):
    x, y = data()
    m = model_of(8, h0={"trainable": False})
    m.fit(x, y, epochs=1, batch_size=16, verbose=0)
    path = tmp_path / "m.lamina"
    m.save(path)
    back = lamina.load_model(path)
    assert back.get_layer("h0").trainable is False
    assert len(back.non_trainable_weights) == 2
    before = snapshot(back.get_layer("h0"))
    back.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert unchanged(back.get_layer("h0"), before)
    m.fit(x, y, epochs=1, batch_size=16, verbose=0)     # training resumes exactly
    np.testing.assert_array_equal(m.predict(x, verbose=0), back.predict(x, verbose=0))


@pytest.mark.parametrize("ext", ["lamina", "keras"])
def test_flag_changed_after_compile_saves_a_loadable_file(tmp_path, ext):
    """Freezing a layer after compile and saving without recompiling wrote the optimizer
    slots of the old trainable set beside the new flags, a file load_model refused. The
    file now holds what the next compile starts from (a fresh optimizer for the weights
    trainable now, as recompiling in memory gives) and says so in a warning; it loads,
    predicts the same and trains like the recompiled model."""
    if ext == "keras":
        pytest.importorskip("h5py")
    x, y = data()
    m = model_of(8)
    m.fit(x, y, epochs=1, batch_size=16, verbose=0)
    m.get_layer("h0").trainable = False
    path = tmp_path / f"m.{ext}"
    with pytest.warns(UserWarning, match="trainable flags changed since compile"):
        m.save(path)
    back = lamina.load_model(path)
    np.testing.assert_array_equal(back.predict(x, verbose=0), m.predict(x, verbose=0))
    assert back.optimizer.iterations == 0
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    before = snapshot(back.get_layer("h0"))
    back.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    m.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    assert unchanged(back.get_layer("h0"), before)
    np.testing.assert_array_equal(back.predict(x, verbose=0), m.predict(x, verbose=0))


def test_frozen_model_flag_survives_config_round_trip():
    m = model_of(4, compile=False)
    m.trainable = False
    clone = lamina.models.clone_model(m)
    assert clone.trainable is False and clone.trainable_weights == []


def test_shared_layer_stays_shared_between_two_models():
    x, y = data()
    shared = layers.Dense(8, activation="relu", name="shared")
    a = lamina.Sequential([lamina.Input((6,)), shared, layers.Dense(3, activation="softmax")],
                          seed=1)
    b = lamina.Sequential([lamina.Input((6,)), shared, layers.Dense(2, activation="softmax")],
                          seed=2)
    assert a.get_layer("shared").kernel is b.get_layer("shared").kernel
    b.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    p_before = b.predict(x, verbose=0)
    a.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    a.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert b.get_layer("shared").kernel is shared.kernel
    assert not np.array_equal(b.predict(x, verbose=0), p_before)  # b sees a's training
    shared.trainable = False
    b.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    k = shared.kernel.copy()
    b.fit(x, y % 2, epochs=1, batch_size=8, verbose=0)
    np.testing.assert_array_equal(shared.kernel, k)


def test_functional_model_trainable_argument():
    inputs = lamina.Input((3,))
    out = layers.Dense(2)(inputs)
    m = lamina.Model(inputs, out, trainable=False, seed=0)
    assert m.trainable is False and m.trainable_weights == []


def test_freezing_is_thread_count_independent():
    x, y = data(n=64)
    before = lamina.get_num_threads()
    weights = []
    try:
        for threads in (1, 2):
            lamina.set_num_threads(threads)
            m = model_of(16, 8, h1={"trainable": False}, seed=3)
            m.fit(x, y, epochs=2, batch_size=16, verbose=0)
            weights.append(m.get_weights())
    finally:
        lamina.set_num_threads(before)
    assert all(np.array_equal(a, b) for a, b in zip(*weights))
