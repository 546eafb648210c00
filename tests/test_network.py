"""The step executor (lamina._core.Network) against finite differences and the independent
float64 numpy reference in tests/ref_network.py."""

import copy
import math
import threading

import re

import numpy as np
import pytest

from lamina import _core
import ref_ops
from ref_network import (ACTIVATIONS, RefNetwork, dropout_masks, make_spec, param_arrays,
                         param_entries)

pytestmark = pytest.mark.kernel


def _data(rng, m, d_in, d_out, dtype="float64", sparse=False, onehot=False):
    x = rng.standard_normal((m, d_in)).astype(dtype)
    if sparse:
        y = rng.integers(0, d_out, m).astype(np.int64)
    elif onehot:
        y = np.eye(d_out, dtype=dtype)[rng.integers(0, d_out, m)]
    else:
        y = rng.uniform(0.05, 0.95, (m, d_out)).astype(dtype)
    sw = rng.uniform(0.5, 2.0, m).astype(dtype)
    return x, y, sw


def _fd_check(spec, x, y, sw, step=3, h=1e-6, tol=1e-6):
    """Central differences of the loss gradients() reports vs its analytic gradients (of the
    trainable parameters: a frozen one reports 0)."""
    net = _core.Network(spec)
    loss, grads = net.gradients(x, y, sw, step)
    for e, g in zip(param_entries(spec), grads):
        p = e["value"]
        assert g.shape == p.shape
        if not e["trainable"]:
            continue
        fd = np.empty_like(p)
        flat, fdf = p.reshape(-1), fd.reshape(-1)
        for j in range(flat.size):
            keep = flat[j]
            flat[j] = keep + h
            lp = net.gradients(x, y, sw, step)[0]
            flat[j] = keep - h
            lm = net.gradients(x, y, sw, step)[0]
            flat[j] = keep
            fdf[j] = (lp - lm) / (2 * h)
        err = np.linalg.norm(fd - g) / max(np.linalg.norm(fd), np.linalg.norm(g), 1e-12)
        assert err < tol, (p.shape, err, fd, g)
    assert net.gradients(x, y, sw, step)[0] == loss  # parameters restored, deterministic


REGS = dict(kernel_l1=1e-3, kernel_l2=2e-3, bias_l1=3e-3, bias_l2=4e-3)


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_whole_step_gradient_fd(act, isa):
    # dense(act) + dropout + activation layer(act) + dense + dense without bias, L1/L2.
    rng = np.random.default_rng(7)
    spec = make_spec(4, [("dense", 7, act, 0.3, REGS), ("dropout", 0.3), ("activation", act, 0.7),
                         ("dense", 5, "tanh", REGS), ("dense_nobias", 3, "linear")],
                     loss=dict(name="mean_squared_error"), rng=rng, seed=11)
    x, y, sw = _data(rng, 13, 4, 3)
    _fd_check(spec, x, y, sw)


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_gradients_match_reference(act, isa):
    rng = np.random.default_rng(3)
    spec = make_spec(5, [("dense", 8, act, 0.25, REGS), ("activation", act, 0.6),
                         ("dense", 6, act, 0.3), ("dense", 3, "sigmoid")],
                     loss=dict(name="binary_crossentropy"), rng=rng)
    x, y, sw = _data(rng, 31, 5, 3)
    net, ref = _core.Network(spec), RefNetwork(spec)
    loss, grads = net.gradients(x, y, sw, 1)
    rloss, rgrads, _, _ = ref.loss_grads(x, y, sw)
    assert loss == pytest.approx(rloss, rel=1e-12)
    for g, r in zip(grads, rgrads):
        np.testing.assert_allclose(g, r, rtol=1e-9, atol=1e-13)


HEADS = [
    # (last layers, loss, target kind)
    ([("dense", 4, "softmax")], dict(name="categorical_crossentropy"), "onehot"),
    ([("dense", 4, "softmax")], dict(name="sparse_categorical_crossentropy"), "sparse"),
    ([("dense", 4, "linear"), ("activation", "softmax")],
     dict(name="categorical_crossentropy"), "soft"),
    ([("dense", 4, "linear"), ("activation", "softmax")],
     dict(name="sparse_categorical_crossentropy"), "sparse"),
    ([("dense", 4, "sigmoid")], dict(name="binary_crossentropy"), "soft"),
    ([("dense", 4, "tanh"), ("activation", "sigmoid")], dict(name="binary_crossentropy"), "soft"),
    ([("dense", 4, "linear")], dict(name="binary_crossentropy", from_logits=True), "soft"),
    ([("dense", 4, "linear")], dict(name="categorical_crossentropy", from_logits=True), "soft"),
    ([("dense", 4, "linear")], dict(name="sparse_categorical_crossentropy", from_logits=True),
     "sparse"),
    ([("dense", 4, "linear")], dict(name="huber", delta=0.3), "soft"),
    ([("dense", 4, "elu")], dict(name="mean_absolute_error"), "soft"),
    ([("dense", 4, "softplus"), ("dropout", 0.4)], dict(name="mean_squared_error"), "soft"),
    ([("dense", 4, "softmax"), ("dropout", 0.2)], dict(name="categorical_crossentropy"), "soft"),
]


def _targets(rng, kind, m, n, dtype="float64"):
    if kind == "sparse":
        return rng.integers(0, n, m).astype(np.int64)
    if kind == "onehot":
        return np.eye(n, dtype=dtype)[rng.integers(0, n, m)]
    y = rng.uniform(0.05, 1.0, (m, n))
    return (y / y.sum(axis=1, keepdims=True)).astype(dtype)


@pytest.mark.parametrize("head", range(len(HEADS)))
def test_loss_heads_fd_and_reference(head):
    # The fused softmax/sigmoid + crossentropy equals the unfused (probability) reference.
    last, loss, kind = HEADS[head]
    rng = np.random.default_rng(head)
    spec = make_spec(6, [("dense", 9, "relu", REGS)] + last, loss=loss, rng=rng, seed=5)
    x = rng.standard_normal((17, 6))
    y = _targets(rng, kind, 17, 4)
    sw = rng.uniform(0.5, 2.0, 17)
    _fd_check(spec, x, y, sw, tol=1e-6)
    if any(d[0] == "dropout" for d in last):
        return
    net, ref = _core.Network(spec), RefNetwork(spec)
    loss_v, grads = net.gradients(x, y, sw, 1)
    rloss, rgrads, _, _ = ref.loss_grads(x, y, sw)
    assert loss_v == pytest.approx(rloss, rel=1e-10)
    for g, r in zip(grads, rgrads):
        np.testing.assert_allclose(g, r, rtol=1e-8, atol=1e-13)


def _same_results(a, b, rel):
    assert len(a) == len(b)
    for u, v in zip(a, b):
        assert u == pytest.approx(v, rel=rel, abs=rel)


def _same_state(spec_a, spec_b):
    """Two specs' parameters and optimizer slots are bit-identical."""
    for a, b in zip(param_arrays(spec_a), param_arrays(spec_b)):
        assert np.array_equal(a, b)
    for ea, eb in zip(param_entries(spec_a), param_entries(spec_b)):
        for sa, sb in zip(ea["slots"], eb["slots"]):
            assert np.array_equal(sa, sb)


OPTIMIZERS = [
    dict(name="adam"),
    dict(name="sgd", momentum=0.9),
    dict(name="sgd", momentum=0.8, nesterov=True),
    dict(name="sgd"),
    dict(name="adam", global_clipnorm=0.05),
    dict(name="sgd", momentum=0.5, clipnorm=0.02),
    dict(name="adam", clipvalue=0.01),
    dict(name="adamw", weight_decay=0.05),
    dict(name="adam", amsgrad=True),
    dict(name="rmsprop"),
    dict(name="rmsprop", momentum=0.5, centered=True),
    dict(name="adagrad"),
    dict(name="adamax"),
    dict(name="nadam"),
    dict(name="adadelta", rho=0.9),
    dict(name="lion", beta_2=0.9),
]


@pytest.mark.parametrize("dtype,tol", [("float64", 1e-10), ("float32", 1e-5)])
@pytest.mark.parametrize("opt", range(len(OPTIMIZERS)))
def test_train_steps_match_reference(opt, dtype, tol, isa):
    rng = np.random.default_rng(opt)
    spec = make_spec(13, [("dense", 31, "relu", REGS), ("dense", 7, "gelu"),
                          ("dense", 5, "softmax", dict(kernel_l2=1e-2))],
                     loss=dict(name="sparse_categorical_crossentropy"), optimizer=OPTIMIZERS[opt],
                     dtype=dtype, rng=rng,
                     metrics=[dict(name="sparse_categorical_accuracy"),
                              dict(name="sparse_top_k_categorical_accuracy", k=2)])
    net, ref = _core.Network(spec), RefNetwork(spec)
    lrs = [0.01, 0.02, 0.005, 0.01, 0.03]
    for t, lr in enumerate(lrs, start=1):
        x, y, sw = _data(rng, 97 if t % 2 else 40, 13, 5, dtype, sparse=True)
        if t == 3:
            sw = None
        got = net.train_step(x, y, sw, lr, t)
        want = ref.step(x.astype(np.float64), y, None if sw is None else sw.astype(np.float64),
                        lr, t)
        assert len(got) == 4
        _same_results(got[:2], want[:2], tol)
    for p, (r, _, _, _) in zip(param_arrays(spec), ref.params()):
        np.testing.assert_allclose(p, r, rtol=tol, atol=tol)
    for e, re in zip(param_entries(spec), ref.entries()):
        for s, rs in zip(e["slots"], re["slots"]):
            np.testing.assert_allclose(s, rs, rtol=tol * 10, atol=tol)
    assert spec["optimizer_state"][0] == pytest.approx(ref.state, rel=1e-14)


@pytest.mark.parametrize("opt", [dict(name="adam", amsgrad=True), dict(name="sgd", momentum=0.9),
                                 dict(name="nadam"), dict(name="rmsprop", centered=True)])
def test_update_during_backward_matches_reference_and_after_backward(opt, threads, isa):
    # Each tensor is updated as soon as its gradient is complete, during the backward pass;
    # forcing the update after the whole backward (a global_clipnorm that never clips) must
    # give the same bits.
    threads(2)
    specs = []
    for gcn in (0.0, 1e30):
        rng = np.random.default_rng(2)
        spec = make_spec(300, [("dense", 230, "relu", REGS), ("dense", 3, "softmax")],
                         loss=dict(name="categorical_crossentropy"),
                         optimizer=dict(opt, global_clipnorm=gcn), rng=rng)
        net = _core.Network(spec)
        ref = RefNetwork(spec) if gcn == 0 else None
        for t in range(1, 4):
            x, y, sw = _data(rng, 37, 300, 3, onehot=True)
            got = net.train_step(x, y, sw, 0.01, t)
            if ref is not None:
                _same_results(got, ref.step(x, y, sw, 0.01, t), 1e-10)
        if ref is not None:
            for p, (r, _, _, _) in zip(param_arrays(spec), ref.params()):
                np.testing.assert_allclose(p, r, rtol=1e-10, atol=1e-12)
        specs.append(spec)
    _same_state(specs[0], specs[1])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_wide_packed_dw_gemm_step_matches_reference_and_threads(dtype, threads, isa):
    # A dW gemm whose op(B) (batch x 2100) is too big for the direct path runs packed, on chunks
    # of columns sized by the packed-B budget: the update during and after the backward, 1 and
    # 2 threads give the same bits, and float64 matches the reference.
    results = []
    for n_thr, gcn in ((1, 0.0), (2, 0.0), (2, 1e30)):
        threads(n_thr)
        rng = np.random.default_rng(3)
        spec = make_spec(37, [("dense", 2100, "relu"), ("dense", 3, "softmax")],
                         loss=dict(name="categorical_crossentropy"), dtype=dtype,
                         optimizer=dict(name="adam", global_clipnorm=gcn), rng=rng)
        net = _core.Network(spec)
        ref = RefNetwork(spec) if dtype == "float64" and n_thr == 1 else None
        for t in range(1, 4):
            x, y, sw = _data(rng, 120, 37, 3, dtype, onehot=True)
            got = net.train_step(x, y, sw, 0.001, t)
            if ref is not None:
                _same_results(got, ref.step(x, y, sw, 0.001, t), 1e-10)
        if ref is not None:
            for p, (r, _, _, _) in zip(param_arrays(spec), ref.params()):
                np.testing.assert_allclose(p, r, rtol=1e-10, atol=1e-12)
        results.append(spec)
    for other in results[1:]:
        _same_state(results[0], other)


@pytest.mark.parametrize("dtype,tol", [("float64", 1e-10), ("float32", 1e-5)])
def test_train_steps_with_dropout_match_reference(dtype, tol):
    rng = np.random.default_rng(8)
    spec = make_spec(9, [("dropout", 0.2), ("dense", 31, "relu", REGS), ("dropout", 0.5),
                         ("dense", 13, "elu", 0.5), ("dropout", 0.0), ("dense", 4, "softmax")],
                     loss=dict(name="categorical_crossentropy"),
                     optimizer=dict(name="sgd", momentum=0.9), dtype=dtype, rng=rng, seed=99,
                     metrics=[dict(name="categorical_accuracy")])
    net, ref = _core.Network(spec), RefNetwork(spec)
    for t in range(1, 5):
        x, y, sw = _data(rng, 7 + 10 * t, 9, 4, dtype, onehot=True)
        got = net.train_step(x, y, sw, 0.05, t)
        want = ref.step(x.astype(np.float64), y.astype(np.float64), sw.astype(np.float64), 0.05,
                        t, masks=dropout_masks(spec, len(x), t))
        _same_results(got, want, tol)
    for p, (r, _, _, _) in zip(param_arrays(spec), ref.params()):
        np.testing.assert_allclose(p, r, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_evaluate_and_predict_match_reference(dtype, isa):
    rng = np.random.default_rng(4)
    spec = make_spec(11, [("dense", 13, "selu"), ("dropout", 0.5), ("dense", 7, "silu", REGS),
                          ("dense", 3, "sigmoid")],
                     loss=dict(name="binary_crossentropy"), dtype=dtype, rng=rng,
                     metrics=[dict(name="binary_accuracy", threshold=0.4),
                              dict(name="mean_squared_error"), dict(name="mean_absolute_error")])
    net, ref = _core.Network(spec), RefNetwork(spec)
    tol = 1e-12 if dtype == "float64" else 1e-5
    # 2500 rows: more than the arena (none yet) and than one chunk (1024 rows).
    for m in (1, 2, 7, 255, 2500):
        x, y, sw = _data(rng, m, 11, 3, dtype)
        y = (y > 0.5).astype(dtype)
        out = np.full((m, 3), np.nan, dtype)
        net.predict(x, out)
        want, _ = ref.forward(x.astype(np.float64))
        np.testing.assert_allclose(out, want, rtol=tol, atol=tol)
        got = net.evaluate(x, y, sw)
        _same_results(got, ref.results(x.astype(np.float64), y.astype(np.float64),
                                       sw.astype(np.float64)), tol)
        assert net.evaluate(x, y) == pytest.approx(ref.results(x, y), rel=tol)
    assert net.capacity == 1024


def test_sparse_evaluate_in_chunks_matches_reference():
    # 2100 rows with a 64-row arena: three chunks of 1024 / 1024 / 52 rows; labels and sample
    # weights must follow their rows.
    rng = np.random.default_rng(6)
    spec = make_spec(9, [("dense", 17, "tanh", REGS), ("dense", 5, "softmax")],
                     loss=dict(name="sparse_categorical_crossentropy"), rng=rng,
                     metrics=[dict(name="sparse_categorical_accuracy"),
                              dict(name="sparse_top_k_categorical_accuracy", k=2)])
    net, ref = _core.Network(spec), RefNetwork(spec)
    x, y, sw = _data(rng, 64, 9, 5, sparse=True)
    net.train_step(x, y, sw, 0.0, 1)  # lr 0: sizes the arena, changes nothing
    assert net.capacity == 64
    x, y, sw = _data(rng, 2100, 9, 5, sparse=True)
    _same_results(net.evaluate(x, y, sw), ref.results(x, y, sw), 1e-12)
    assert net.capacity == 1024


def test_categorical_metrics_match_reference():
    rng = np.random.default_rng(5)
    spec = make_spec(6, [("dense", 7, "softmax")], loss=dict(name="categorical_crossentropy"),
                     rng=rng, metrics=[dict(name="categorical_accuracy"),
                                       dict(name="top_k_categorical_accuracy", k=3),
                                       dict(name="mean_squared_error")])
    x, y, sw = _data(rng, 97, 6, 7, onehot=True)
    got = _core.Network(spec).evaluate(x, y, sw)
    _same_results(got, RefNetwork(spec).results(x, y, sw), 1e-12)


def _train(spec, rng_seed, steps=5, m=67):
    rng = np.random.default_rng(rng_seed)
    net = _core.Network(spec)
    res = []
    for t in range(1, steps + 1):
        x, y, sw = _data(rng, m, spec["input_dim"], 10, spec["dtype"], sparse=True)
        res.append(net.train_step(x, y, sw, 1e-2, t))
    return res


def _net_spec(dtype, seed=0, optimizer=None):
    return make_spec(97, [("dense", 64, "relu"), ("dropout", 0.3), ("dense", 31, "tanh", REGS),
                          ("dropout", 0.2), ("dense", 10, "softmax")],
                     loss=dict(name="sparse_categorical_crossentropy"), dtype=dtype,
                     optimizer=optimizer, rng=np.random.default_rng(1), seed=seed,
                     metrics=[dict(name="sparse_categorical_accuracy")])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_thread_count_does_not_change_weights(dtype, threads, isa):
    specs = []
    for n in (1, 2):
        threads(n)
        spec = _net_spec(dtype)
        _train(spec, 9)
        specs.append(spec)
    for a, b in zip(param_arrays(specs[0]), param_arrays(specs[1])):
        assert np.array_equal(a, b)


def test_same_seed_same_weights_other_seed_differs():
    a, b, c = _net_spec("float32", 5), _net_spec("float32", 5), _net_spec("float32", 6)
    ra, rb, rc = _train(a, 2), _train(b, 2), _train(c, 2)
    assert ra == rb
    for pa, pb in zip(param_arrays(a), param_arrays(b)):
        assert np.array_equal(pa, pb)
    assert ra != rc


def test_dropout_masks_follow_step_and_vanish_at_inference():
    rng = np.random.default_rng(0)
    spec = make_spec(5, [("dense", 200, "linear"), ("dropout", 0.5), ("dense", 1, "linear")],
                     rng=rng, seed=17)
    net = _core.Network(spec)
    x, y, sw = _data(rng, 1, 5, 1)
    l1, g1 = net.gradients(x, y, sw, 1)
    assert net.gradients(x, y, sw, 1)[0] == l1
    l2, g2 = net.gradients(x, y, sw, 2)
    assert l1 != l2
    # one row: the first bias' gradient is zero exactly in the dropped units, which are the
    # mask of (seed 17, step 1, layer index 1 in the spec)
    dropped = g1[1] == 0
    assert 60 < np.count_nonzero(dropped) < 140
    np.testing.assert_array_equal(ref_ops.dropout_keep(200, 0.5, 17, 1, 1), ~dropped)
    # inference: identity
    ref = RefNetwork(spec)
    out = np.empty((1, 1))
    net.predict(x, out)
    np.testing.assert_allclose(out, ref.forward(x)[0], rtol=1e-12)


def test_training_reduces_loss():
    rng = np.random.default_rng(0)
    spec = make_spec(10, [("dense", 32, "relu"), ("dense", 3, "softmax")],
                     loss=dict(name="sparse_categorical_crossentropy"), rng=rng,
                     metrics=[dict(name="sparse_categorical_accuracy")], dtype="float32")
    x = rng.standard_normal((300, 10)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5)
    net = _core.Network(spec)
    first = net.evaluate(x, y, None)
    for t in range(1, 301):
        net.train_step(x[t % 10 * 30:(t % 10 + 1) * 30], y[t % 10 * 30:(t % 10 + 1) * 30], None,
                       1e-2, t)
    last = net.evaluate(x, y, None)
    assert last[0] < 0.5 * first[0]
    assert last[2] / last[1] > 0.9


def test_nadam_u_product_advances_once_per_step():
    spec = make_spec(3, [("dense", 4, "tanh"), ("dense", 2, "linear")],
                     optimizer=dict(name="nadam"))
    net = _core.Network(spec)
    rng = np.random.default_rng(0)
    x, y, sw = _data(rng, 5, 3, 2)
    prod = 1.0
    for t in range(1, 4):
        net.train_step(x, y, sw, 1e-3, t)
        prod *= 0.9 * (1 - 0.5 * 0.96**t)  # Keras 3's momentum schedule
        assert spec["optimizer_state"][0] == pytest.approx(prod, rel=1e-12)


def test_arena_grows_only_with_the_batch():
    spec = _net_spec("float32")
    net = _core.Network(spec)
    rng = np.random.default_rng(0)
    assert net.capacity == 0
    for m, cap in [(32, 32), (16, 32), (33, 33), (1, 33)]:
        x, y, sw = _data(rng, m, 97, 10, "float32", sparse=True)
        net.train_step(x, y, sw, 1e-3, 1)
        assert net.capacity == cap
    x = rng.standard_normal((5000, 97)).astype(np.float32)
    out = np.empty((5000, 10), np.float32)
    net.predict(x, out)
    assert net.capacity == 1024
    ref = np.empty_like(out)
    for i in range(0, 5000, 7):  # chunking does not change the rows
        net.predict(x[i:i + 7], ref[i:i + 7])
    np.testing.assert_array_equal(out, ref)


def test_properties_and_gradients_layout():
    spec = make_spec(6, [("dense", 5, "relu"), ("dense_nobias", 4, "linear"),
                         ("dense", 2, "linear")], dtype="float32")
    net = _core.Network(spec)
    assert (net.input_dim, net.output_dim, net.num_params) == (6, 2, 6 * 5 + 5 + 5 * 4 + 4 * 2 + 2)
    assert net.dtype == "float32"
    assert repr(net) == "<lamina._core.Network float32 6 -> 2, 65 parameters>"
    x = np.ones((3, 6), np.float32)
    loss, grads = net.gradients(x, np.zeros((3, 2), np.float32), None, 0)
    assert isinstance(loss, float)
    assert [g.shape for g in grads] == [(6, 5), (5,), (5, 4), (4, 2), (2,)]
    assert all(g.dtype == np.float32 for g in grads)


def test_concurrent_predict_from_threads():
    spec = _net_spec("float64")
    net = _core.Network(spec)
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((m, 97)) for m in (3, 50, 200, 7)]
    want = []
    for x in xs:
        o = np.empty((len(x), 10))
        net.predict(x, o)
        want.append(o)
    errors = []

    def work(i):
        for _ in range(20):
            x = xs[i % len(xs)]
            o = np.empty((len(x), 10))
            net.predict(x, o)
            if not np.array_equal(o, want[i % len(xs)]):
                errors.append(i)

    ts = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors


def test_network_keeps_spec_arrays_alive():
    spec = _net_spec("float32")
    kernel = spec["layers"][0]["params"][0]["value"]
    before = kernel.copy()
    net = _core.Network(copy.copy(spec))
    del spec
    rng = np.random.default_rng(0)
    x, y, sw = _data(rng, 4, 97, 10, "float32", sparse=True)
    net.train_step(x, y, sw, 0.1, 1)
    assert not np.array_equal(kernel, before)  # updated in place, the live array


# ---- bad inputs ------------------------------------------------------------------------------

def _good():
    return make_spec(4, [("dense", 3, "relu"), ("dropout", 0.1), ("dense", 2, "softmax")],
                     loss=dict(name="sparse_categorical_crossentropy"),
                     metrics=[dict(name="sparse_categorical_accuracy")])


def _mutated(fn):
    spec = _good()
    fn(spec)
    return spec


BAD_SPECS = [
    (lambda s: s.update(dtype="float16"), "float16"),
    (lambda s: s.update(input_dim=0), "input_dim"),
    (lambda s: s.pop("seed"), "seed"),
    (lambda s: s.update(seed=-1), "-1"),
    (lambda s: s.update(layers=[]), "at least one layer"),
    (lambda s: s["layers"][0].update(activation="relu7"), "relu7"),
    (lambda s: s["layers"][0].update(type="conv"), "conv"),
    (lambda s: s["layers"][0].update(units=4), "(4, 4)"),
    (lambda s: s["layers"][0]["params"][0].update(value=np.zeros((4, 3), np.float32)),
     "float32"),
    (lambda s: s["layers"][0]["params"][0].update(value=np.zeros((3, 4)).T), "C-contiguous"),
    (lambda s: s["layers"][0]["params"][0].update(value=[[0.0] * 3] * 4), "numpy array"),
    (lambda s: s["layers"][0]["params"][0]["value"].setflags(write=False), "writeable"),
    (lambda s: s["layers"][0]["params"][0].update(l2=-1.0), "-1"),
    (lambda s: s["layers"][0]["params"][0].update(slots=[]), "2 arrays"),
    (lambda s: s["layers"][2]["params"][1].update(slots=[s["layers"][2]["params"][1]["value"]] * 2),
     "share memory"),
    (lambda s: s["layers"][1].update(rate=1.0), "1.0"),
    (lambda s: s["loss"].update(name="focal"), "focal"),
    (lambda s: s["loss"].pop("delta"), "delta"),
    (lambda s: s["optimizer"].update(name="lbfgs"), "lbfgs"),
    (lambda s: s["optimizer"].update(beta_1=1.0), "beta_1"),
    (lambda s: s["optimizer"].update(clipnorm=float("nan")), "nan"),
    (lambda s: s.update(metrics=[dict(name="auc", threshold=0.5, k=5)]), "auc"),
    (lambda s: s.update(metrics=[dict(name="categorical_accuracy", threshold=0.5, k=5)]),
     "dense targets"),
    (lambda s: s.update(optimizer_state=np.ones(2)), "optimizer_state"),
]


@pytest.mark.parametrize("case", range(len(BAD_SPECS)))
def test_bad_specs_raise_naming_the_value(case):
    fn, text = BAD_SPECS[case]
    with pytest.raises(ValueError, match=__import__("re").escape(text)):
        _core.Network(_mutated(fn))


def test_bad_batches_raise_naming_the_value():
    net = _core.Network(_good())
    x = np.ones((5, 4))
    y = np.zeros(5, np.int64)
    cases = [
        (dict(x=np.ones((5, 4), np.float32)), "float32"),
        (dict(x=np.ones((5, 3))), "(5, 3)"),
        (dict(x=np.ones((0, 4))), "at least one row"),
        (dict(x=np.ones((4, 5)).T), "C-contiguous"),
        (dict(x=[[1.0] * 4] * 5), "numpy array"),
        (dict(y=np.array([0, 1, 2, 0, 1])), "y[2] = 2"),
        (dict(y=np.array([0, 1, -1, 0, 1])), "y[2] = -1"),
        (dict(y=np.zeros(5, np.int32)), "int64"),
        (dict(y=np.zeros(4, np.int64)), "(4,)"),
        (dict(sw=np.ones(4)), "sample_weight"),
        (dict(sw=np.ones(5, np.float32)), "float32"),
        (dict(lr=float("inf")), "learning_rate"),
        (dict(it=0), "iteration"),
    ]
    for change, text in cases:
        a = dict(x=x, y=y, sw=None, lr=0.1, it=1)
        a.update(change)
        with pytest.raises(ValueError, match=__import__("re").escape(text)):
            net.train_step(a["x"], a["y"], a["sw"], a["lr"], a["it"])
    with pytest.raises(ValueError, match="step"):
        net.gradients(x, y, None, -1)
    with pytest.raises(ValueError, match=r"\(5, 2\)"):
        net.predict(x, np.empty((5, 3)))
    with pytest.raises(ValueError, match="writeable"):
        out = np.empty((5, 2))
        out.setflags(write=False)
        net.predict(x, out)
    big = np.ones((10, 4))
    with pytest.raises(ValueError, match="share memory"):
        net.predict(big[:5], big.reshape(20, 2)[2:7])
    with pytest.raises(ValueError, match="y must have shape"):
        _core.Network(make_spec(4, [("dense", 2, "linear")])).evaluate(x, np.ones((5, 3)))
    # nothing was corrupted: the network still trains
    assert math.isfinite(net.train_step(x, y, None, 0.1, 1)[0])


@pytest.mark.parametrize("hidden", ["tanh", "relu"])
def test_non_finite_inputs_give_non_finite_loss_without_crashing(hidden):
    # relu included: the gemm's fused relu keeps NaN, so a NaN cannot hide behind a ReLU.
    spec = make_spec(4, [("dense", 3, hidden), ("dropout", 0.1), ("dense", 2, "softmax")],
                     loss=dict(name="sparse_categorical_crossentropy"))
    net = _core.Network(spec)
    x = np.ones((3, 4))
    x[1, 2] = np.nan
    loss = net.train_step(x, np.zeros(3, np.int64), None, 0.1, 1)[0]
    assert math.isnan(loss)
    out = np.empty((3, 2))
    net.predict(np.full((3, 4), np.inf), out)  # no exception, no crash


# ---- layer kinds and frozen parameters ----------------------------------------------------

FROZEN_CASES = [
    # (regs of the first / second / last dense layer)
    (dict(kernel_trainable=False), {}, {}),
    ({}, dict(bias_trainable=False), {}),
    ({}, dict(trainable=False), {}),
    (dict(trainable=False), dict(trainable=False), {}),  # the first layers frozen
    (dict(trainable=False, kernel_l2=1e-2), dict(kernel_trainable=False, bias_l1=1e-2),
     dict(bias_trainable=False, kernel_l1=1e-3)),
]


def _frozen_spec(case, optimizer, dtype="float64", rng_seed=0, frozen_slots=False, big=False):
    r0, r1, r2 = (dict(d, frozen_slots=frozen_slots) for d in FROZEN_CASES[case])
    return make_spec(300 if big else 9,
                     [("dense", 230 if big else 12, "relu", r0), ("dropout", 0.2),
                      ("dense", 7, "tanh", r1), ("dense", 4, "softmax", r2)],
                     loss=dict(name="categorical_crossentropy"), optimizer=optimizer,
                     dtype=dtype, rng=np.random.default_rng(rng_seed), seed=3,
                     metrics=[dict(name="categorical_accuracy")])


@pytest.mark.parametrize("opt", [dict(name="adam"), dict(name="sgd", momentum=0.9),
                                 dict(name="adam", global_clipnorm=0.05),
                                 dict(name="rmsprop", clipnorm=0.02), dict(name="nadam")])
@pytest.mark.parametrize("case", range(len(FROZEN_CASES)))
def test_frozen_params_stay_bit_identical_and_the_rest_match_reference(case, opt):
    spec = _frozen_spec(case, opt)
    frozen = [p["value"].copy() if not p["trainable"] else None for p in param_entries(spec)]
    assert any(f is not None for f in frozen)
    net, ref = _core.Network(spec), RefNetwork(spec)
    rng = np.random.default_rng(case)
    for t in range(1, 5):
        x, y, sw = _data(rng, 23, 9, 4, onehot=True)
        got = net.train_step(x, y, sw, 0.05, t)
        want = ref.step(x, y, sw, 0.05, t, masks=dropout_masks(spec, len(x), t))
        _same_results(got, want, 1e-10)
    for e, f, (r, _, _, _) in zip(param_entries(spec), frozen, ref.params()):
        if f is not None:
            assert np.array_equal(e["value"], f)  # not touched, bit for bit
            assert e["slots"] == []
        np.testing.assert_allclose(e["value"], r, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", range(len(FROZEN_CASES)))
def test_frozen_params_get_zero_gradients_and_no_penalty(case):
    spec = _frozen_spec(case, dict(name="adam"))
    net, ref = _core.Network(spec), RefNetwork(spec)
    rng = np.random.default_rng(10 + case)
    x, y, sw = _data(rng, 17, 9, 4, onehot=True)
    loss, grads = net.gradients(x, y, sw, 2)
    rloss, rgrads, _, _ = ref.loss_grads(x, y, sw, dropout_masks(spec, len(x), 2))
    assert loss == pytest.approx(rloss, rel=1e-12)
    for e, g, r in zip(param_entries(spec), grads, rgrads):
        assert g.shape == e["value"].shape
        if not e["trainable"]:
            assert not g.any()
        np.testing.assert_allclose(g, r, rtol=1e-9, atol=1e-13)
    _fd_check(spec, x[:5], y[:5], sw[:5])  # the trainable ones


def test_fd_check_sees_frozen_params_as_constants():
    # gradients() reports 0 for a frozen parameter although the loss depends on it.
    spec = _frozen_spec(0, dict(name="sgd"))
    net = _core.Network(spec)
    x, y, sw = _data(np.random.default_rng(1), 5, 9, 4, onehot=True)
    assert not net.gradients(x, y, sw, 1)[1][0].any()
    kernel = param_entries(spec)[0]["value"]
    before = net.gradients(x, y, sw, 1)[0]
    kernel += 0.1
    assert net.gradients(x, y, sw, 1)[0] != before


def test_frozen_params_take_slots_or_none_with_the_same_result():
    results = []
    for frozen_slots in (False, True):
        spec = _frozen_spec(4, dict(name="adam"), frozen_slots=frozen_slots)
        slots = [s.copy() for e in param_entries(spec) for s in e["slots"]]
        res = _train_onehot(spec)
        results.append((res, [p.copy() for p in param_arrays(spec)]))
        if frozen_slots:  # given but never written
            given = [s for e in param_entries(spec) if not e["trainable"] for s in e["slots"]]
            assert given and all(not s.any() for s in given)
            assert len(slots) == sum(len(e["slots"]) for e in param_entries(spec))
    assert results[0][0] == results[1][0]
    for a, b in zip(results[0][1], results[1][1]):
        assert np.array_equal(a, b)


def _train_onehot(spec, steps=4, m=29):
    rng = np.random.default_rng(4)
    net = _core.Network(spec)
    d_in = spec["input_dim"]
    return [net.train_step(*_data(rng, m, d_in, 4, spec["dtype"], onehot=True), 0.02, t)
            for t in range(1, steps + 1)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", [0, 3, 4])
def test_thread_count_does_not_change_weights_with_frozen_layers(case, dtype, threads):
    # big: the 300x230 kernel takes a packed dW gemm when trainable
    out = []
    for n in (1, 2):
        threads(n)
        spec = _frozen_spec(case, dict(name="adam"), dtype=dtype, big=True)
        out.append((_train_onehot(spec), spec))
    assert out[0][0] == out[1][0]
    for a, b in zip(param_arrays(out[0][1]), param_arrays(out[1][1])):
        assert np.array_equal(a, b)


def test_big_frozen_kernel_skips_the_fused_update_and_the_rest_matches_reference():
    spec = _frozen_spec(1, dict(name="adam"), big=True)  # first kernel trainable: fused update
    spec2 = _frozen_spec(3, dict(name="adam"), big=True)  # first layers frozen
    for s in (spec, spec2):
        net, ref = _core.Network(s), RefNetwork(s)
        rng = np.random.default_rng(0)
        for t in range(1, 3):
            x, y, sw = _data(rng, 11, 300, 4, onehot=True)
            _same_results(net.train_step(x, y, sw, 0.01, t),
                          ref.step(x, y, sw, 0.01, t, masks=dropout_masks(s, len(x), t)), 1e-10)
        for p, (r, _, _, _) in zip(param_arrays(s), ref.params()):
            np.testing.assert_allclose(p, r, rtol=1e-10, atol=1e-12)


def test_all_frozen_network_trains_nothing_and_reports_the_loss():
    spec = make_spec(5, [("dense", 6, "elu", dict(trainable=False, kernel_l2=0.5)),
                         ("dense", 3, "sigmoid", dict(trainable=False))],
                     loss=dict(name="binary_crossentropy"))
    before = [p.copy() for p in param_arrays(spec)]
    net, ref = _core.Network(spec), RefNetwork(spec)
    x, y, sw = _data(np.random.default_rng(2), 8, 5, 3)
    got = net.train_step(x, y, sw, 0.1, 1)
    _same_results(got, ref.results(x, y, sw), 1e-12)  # no penalty of the frozen kernel
    for a, b in zip(param_arrays(spec), before):
        assert np.array_equal(a, b)
    assert not any(g.any() for g in net.gradients(x, y, sw, 1)[1])


def test_unknown_layer_type_lists_the_registered_kinds():
    with pytest.raises(ValueError) as e:
        _core.Network(_mutated(lambda s: s["layers"][1].update(type="conv2d")))
    msg = str(e.value)
    assert "'conv2d'" in msg
    accepted = re.search(r"\(accepted: ([^)]*)\)", msg).group(1).split(", ")
    # Every registered kind, sorted: a new kind appears here without editing this test.
    assert accepted == sorted(accepted) and {"activation", "dense", "dropout"} <= set(accepted)


@pytest.mark.parametrize("layer,key,value,text", [
    (0, "units", 0, "['units'] must be >= 1, got 0"),
    (0, "units", 2.5, "['units'] must be an int, got 2.5"),
    (0, "activation", "relu7", "unknown activation 'relu7' (accepted: linear, sigmoid"),
    (0, "alpha", float("nan"), "['alpha'] must be finite, got nan"),
    (1, "rate", 1.0, "['rate'] must be in [0, 1), got 1.0"),
    (1, "rate", -0.5, "['rate'] must be in [0, 1), got -0.5"),
    (1, "rate", "half", "['rate'] must be a number, got 'half'"),
    (3, "activation", "mesh", "unknown activation 'mesh'"),
    (3, "activation", 3, "['activation'] must be a str, got 3"),
    (3, "alpha", float("inf"), "['alpha'] must be finite, got inf"),
])
def test_bad_attribute_of_each_kind_names_it(layer, key, value, text):
    def mutate(s):
        s["layers"].append(dict(type="activation", activation="tanh", alpha=0.0))
        s["layers"][layer][key] = value
    with pytest.raises(ValueError, match=__import__("re").escape(
            f"spec['layers'][{layer}]" + ("" if text.startswith("unknown") else "") )) as e:
        _core.Network(_mutated(mutate))
    assert text in str(e.value)


def test_missing_attribute_names_the_key():
    with pytest.raises(ValueError, match=r"spec\['layers'\]\[1\] is missing the key 'rate'"):
        _core.Network(_mutated(lambda s: s["layers"][1].pop("rate")))


@pytest.mark.parametrize("fn,text", [
    (lambda s: s["layers"][0]["params"].append(
        dict(name="extra", value=np.zeros(3), trainable=True, l1=0.0, l2=0.0,
             slots=[np.zeros(3), np.zeros(3)])),
     "takes the parameters 'kernel', 'bias' (optional) in this order, got 3"),
    (lambda s: s["layers"][0]["params"].clear(), "got 0"),
    (lambda s: s["layers"][0]["params"][0].update(name="weights"), "'weights'"),
    (lambda s: s["layers"][0]["params"].reverse(), "must be 'kernel', got 'bias'"),
    (lambda s: s["layers"][0]["params"][1].update(value=np.zeros(4)), "(3,)"),
    (lambda s: s["layers"][0]["params"][0].update(trainable="yes"), "must be a bool"),
    (lambda s: s["layers"][0]["params"][0].update(trainable=False, slots=[np.zeros((4, 3))]),
     "0 or 2 arrays"),
    (lambda s: s["layers"][0]["params"][0].update(slots=[np.zeros((4, 3)), np.zeros((3, 4))]),
     "['slots'][1] must have shape (4, 3)"),
    (lambda s: s["layers"][1].update(params=[s["layers"][0]["params"][0]]),
     "dropout layer has no parameters"),
    (lambda s: s["layers"][0].update(params={}), "['params'] must be a list"),
    (lambda s: s["layers"][0].update(state=[dict(name="m", value=s["layers"][0]["params"][0]
                                                 ["value"])]), "share memory"),
])
def test_bad_params_raise_naming_the_value(fn, text):
    with pytest.raises(ValueError, match=__import__("re").escape(text)):
        _core.Network(_mutated(fn))


@pytest.mark.parametrize("fn,text", [
    (lambda s: s["loss"].update(name="focal"),
     "(accepted: mean_squared_error (mse), mean_absolute_error (mae), huber,"),
    (lambda s: s["optimizer"].update(name="lbfgs"),
     "(accepted: sgd, rmsprop, adam, adamw, adagrad, adamax, nadam, adadelta, lion)"),
    (lambda s: s.update(metrics=[dict(name="auc", threshold=0.5, k=5)]),
     "binary_accuracy, categorical_accuracy, sparse_categorical_accuracy"),
    (lambda s: s["layers"][0].update(activation="relu7"), "silu (swish), hard_sigmoid"),
])
def test_accepted_lists_come_from_the_name_tables(fn, text):
    with pytest.raises(ValueError, match=__import__("re").escape(text)):
        _core.Network(_mutated(fn))
