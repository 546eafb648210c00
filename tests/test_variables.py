"""Weights are lamina.Variable objects over the very arrays the core updates in place."""

import copy
import pickle

import numpy as np
import pytest

import lamina
from lamina import layers


def model(seed=0, dropout=0.0):
    stack = [lamina.Input((4,)), layers.Dense(6, activation="tanh", name="h")]
    if dropout:
        stack.append(layers.Dropout(dropout))
    return lamina.Sequential(stack + [layers.Dense(3, activation="softmax", name="out")],
                             seed=seed)


def data(n=32):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype("float32")
    return x, (x[:, 0] > 0).astype("int64") + (x[:, 1] > 0)


def test_weights_are_variables_with_keras_names_and_paths():
    m = model()
    h = m.get_layer("h")
    assert all(isinstance(w, lamina.Variable) for w in m.weights)
    assert [w.name for w in m.weights] == ["kernel", "bias", "kernel", "bias"]
    assert [w.path for w in m.weights] == [f"{m.name}/h/kernel", f"{m.name}/h/bias",
                                           f"{m.name}/out/kernel", f"{m.name}/out/bias"]
    named = lamina.Sequential([lamina.Input((2,)), layers.Dense(1, name="d")], name="net")
    assert named.weights[0].path == "net/d/kernel"  # Keras: "sequential/dense/kernel"
    assert h.kernel.path == f"{m.name}/h/kernel" and h.path == f"{m.name}/h"
    assert h.kernel.shape == (4, 6) and h.kernel.dtype == np.float32 and h.kernel.ndim == 2
    assert h.kernel.trainable and h.bias.trainable
    assert m.trainable_weights == m.weights and m.non_trainable_weights == []
    assert h.weights == [h.kernel, h.bias]
    standalone = layers.Dense(2, name="solo")
    standalone.build((3,))
    assert standalone.kernel.path == "solo/kernel"


def test_variable_numpy_interop_shares_memory():
    m = model()
    k = m.get_layer("h").kernel
    assert np.asarray(k) is k.value  # no copy
    assert np.shares_memory(np.asarray(k), k.value)
    snap = k.numpy()
    assert type(snap) is np.ndarray and not np.shares_memory(snap, k.value)
    assert type(k + 1) is np.ndarray and np.array_equal(k + 1, snap + 1)
    # The same numpy operation on the snapshot: BLAS's matrix-vector product adds in its own
    # order (on a Zen 3 OpenBLAS it differs from sum(axis=1) in the last bit).
    assert type(2 * k) is np.ndarray and np.array_equal(k @ np.ones(6, "float32"),
                                                        snap @ np.ones(6, "float32"))
    assert np.array_equal(np.exp(k), np.exp(snap))
    assert float(k.sum()) == pytest.approx(float(snap.sum()))
    assert k.size == 24 and k.nbytes == 96 and k.copy().base is None
    assert np.array_equal(k[1], snap[1]) and float(k[0, 0]) == snap[0, 0]
    k[0, 0] = 5.0
    assert k.value[0, 0] == 5.0
    before = k
    k += 1.0  # in place; the name stays bound to the variable
    assert k is before and k.value[0, 0] == 6.0
    np.copyto(k, np.zeros((4, 6)))  # old code writing weights in place keeps working
    assert not k.value.any() and k.value is before.value
    assert len(k) == 4 and [r.shape for r in k] == [(6,)] * 4
    assert k in m.weights and len({k, k}) == 1  # hashable by identity


def test_assign_methods_and_errors():
    v = lamina.Variable(np.zeros(3, "float32"), name="b", path="x/b")
    assert v.assign([1, 2, 3]) is v and v.numpy().tolist() == [1, 2, 3]
    v.assign_add(np.ones(3))
    v.assign_sub(0.5)
    assert v.numpy().tolist() == [1.5, 2.5, 3.5] and v.dtype == np.float32
    with pytest.raises(ValueError, match=r"assign on variable 'x/b' of shape \(3,\).*\(2,\)"):
        v.assign([1, 2])
    with pytest.raises(TypeError, match="needs numbers"):
        v.assign(np.array(["a", "b", "c"]))
    with pytest.raises(TypeError, match="name must be a string"):
        lamina.Variable([1.0], name=3)
    with pytest.raises(ValueError, match="expected"):
        lamina.Variable(np.zeros(2), shape=(3,))
    w = lamina.Variable("ones", shape=(2, 2), dtype="float64", trainable=False)
    assert w.numpy().tolist() == [[1, 1], [1, 1]] and not w.trainable and w.name == "variable"
    with pytest.raises(ValueError, match="needs a shape"):
        lamina.Variable("zeros")
    other = lamina.Variable(w)
    assert not np.shares_memory(other.value, w.value)
    assert "path=x/b" in repr(v) and "shape=(3,)" in repr(v)


def test_variable_copies_and_pickles():
    v = lamina.Variable(np.arange(4.0), name="k", path="m/d/k", trainable=False)
    for c in (copy.deepcopy(v), pickle.loads(pickle.dumps(v))):
        assert isinstance(c, lamina.Variable) and c.path == "m/d/k" and not c.trainable
        assert np.array_equal(c.value, v.value) and not np.shares_memory(c.value, v.value)


def test_core_reads_and_writes_the_variables_memory():
    m = model()
    m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x, y = data()
    k = m.get_layer("h").kernel
    arr = k.value
    m._network_for("train")
    assert m._spec["layers"][0]["params"][0]["value"] is arr  # the spec passes the array
    before = k.numpy()
    m.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert k.value is arr and m.get_layer("h").kernel is k  # same object, same memory
    assert not np.array_equal(k.numpy(), before)  # the step wrote into it
    # assign changes what predict computes, with no recompile.
    p = m.predict(x, verbose=0)
    k.assign(np.zeros((4, 6)))
    m.get_layer("h").bias.assign(np.zeros(6))
    q = m.predict(x, verbose=0)
    assert not np.array_equal(p, q)
    np.testing.assert_allclose(q, np.broadcast_to(q[0], q.shape))  # hidden layer is zero
    out = m.get_layer("out")
    expect = np.exp(out.bias.numpy()) / np.exp(out.bias.numpy()).sum()
    np.testing.assert_allclose(q[0], expect, rtol=1e-6)
    # get_weights gives copies, not the variables.
    ws = m.get_weights()
    assert all(type(w) is np.ndarray for w in ws)
    assert not np.shares_memory(ws[0], k.value)


def test_add_weight_trainable_and_state():
    class Scale(layers.Layer):
        def build(self, input_shape):
            self.gamma = self.add_weight(input_shape, "ones", name="gamma")
            self.count = self.add_weight((), trainable=False, name="count")
            super().build(input_shape)

    layer = Scale(name="scale")
    layer.build((3,))
    assert [w.name for w in layer.weights] == ["gamma", "count"]
    assert layer.trainable_weights == [layer.gamma]
    assert layer.non_trainable_weights == [layer.count]
    assert layer.gamma.path == "scale/gamma" and layer.count.numpy() == 0.0
    layer.build((3,))  # a rebuilt layer replaces its weights, keeping their order
    assert len(layer.weights) == 2
    layer.trainable = False
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 2
    with pytest.raises(ValueError, match="regularizer"):
        layer.add_weight((2,), regularizer="l2")
    assert layer.add_weight((2,)).name == "variable_2"


def test_frozen_variable_is_not_trained():
    m = model()
    k = m.get_layer("h").kernel
    k.trainable = False
    assert all(w is not k for w in m.trainable_weights)
    assert any(w is k for w in m.non_trainable_weights)
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    before = k.numpy()
    bias = m.get_layer("h").bias.numpy()
    x, y = data()
    m.fit(x, y, epochs=1, batch_size=8, verbose=0)
    np.testing.assert_array_equal(k.numpy(), before)
    assert not np.array_equal(m.get_layer("h").bias.numpy(), bias)


def test_float64_model_variables_and_save_load(tmp_path):
    m = lamina.Sequential([lamina.Input((3,)), layers.Dense(2)], seed=0, dtype="float64")
    assert m.weights[0].dtype == np.float64
    m.compile(optimizer="adam", loss="mse")
    x = np.ones((4, 3))
    m.fit(x, np.zeros((4, 2)), epochs=2, verbose=0)
    m.save(tmp_path / "m.lamina")
    r = lamina.load_model(tmp_path / "m.lamina")
    assert all(isinstance(w, lamina.Variable) for w in r.weights)
    np.testing.assert_array_equal(r.predict(x, verbose=0), m.predict(x, verbose=0))
