"""BatchNormalization and LayerNormalization in the step executor (cpp/network/
layer_batch_norm.cpp, layer_layer_norm.cpp) against finite differences and the independent
float64 numpy reference of tests/ref_network.py: forward, backward, parameter updates and
BatchNormalization's moving statistics, at every ISA level, odd sizes, 1 and 2 threads."""

import copy

import numpy as np
import pytest

from lamina import _core
from ref_network import (RefNetwork, dropout_masks, make_spec, param_arrays, param_entries,
                         state_arrays)

pytestmark = pytest.mark.kernel


def _data(rng, m, d_in, d_out, dtype="float64"):
    x = (rng.standard_normal((m, d_in)) * 1.5 + 0.7).astype(dtype)
    y = rng.uniform(0.05, 0.95, (m, d_out)).astype(dtype)
    sw = rng.uniform(0.5, 2.0, m).astype(dtype)
    return x, y, sw


def _fd_check(spec, x, y, sw, step=3, h=1e-6, tol=1e-5):
    """Central differences of the training-mode loss (gradients()) vs its analytic gradients;
    gradients() must leave the moving statistics alone."""
    net = _core.Network(spec)
    before = [s.copy() for s in state_arrays(spec)]
    loss, grads = net.gradients(x, y, sw, step)
    for e, g in zip(param_entries(spec), grads):
        if not e["trainable"]:
            assert not g.any()
            continue
        p = e["value"]
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
        err = np.linalg.norm(fd - g) / max(np.linalg.norm(fd), np.linalg.norm(g), 1e-3)
        assert err < tol, (e["name"], p.shape, err, fd, g)
    for a, b in zip(state_arrays(spec), before):
        assert np.array_equal(a, b)
    return net


NORMS = [
    ("batch_norm", {}),
    ("batch_norm", dict(scale=False)),
    ("batch_norm", dict(center=False)),
    ("batch_norm", dict(scale=False, center=False)),
    ("batch_norm", dict(momentum=0.5, epsilon=0.1, gamma_l2=1e-2, beta_l1=1e-3)),
    ("batch_norm", dict(training=False, trainable=False)),  # frozen: moving statistics
    ("layer_norm", {}),
    ("layer_norm", dict(scale=False)),
    ("layer_norm", dict(center=False, epsilon=0.1)),
    ("layer_norm", dict(gamma_l1=1e-3, beta_l2=1e-2)),
]


@pytest.mark.parametrize("act", ["tanh", "relu"])
@pytest.mark.parametrize("norm", range(len(NORMS)))
@pytest.mark.parametrize("m", [1, 2, 13])
def test_gradient_fd_and_reference(norm, m, act, isa):
    # dense -> norm -> act -> dense -> norm -> dense: the gradient through the statistics
    # reaches the first dense layer. A relu after batch_normalization is absorbed into it
    # (fusion 5) and its derivative runs in the next dense layer's dX gemm (fusion 3).
    kind, opts = NORMS[norm]
    if kind == "batch_norm" and m == 1 and opts.get("training", True):
        m = 3  # one row: every normalised value is 0 and the loss is flat in the inputs
    rng = np.random.default_rng(norm * 10 + m)
    spec = make_spec(5, [("dense", 7, "linear"), (kind, opts), ("activation", act),
                         ("dense", 3, "linear"), (kind, opts), ("dense", 2, "sigmoid")],
                     loss=dict(name="binary_crossentropy"), rng=rng)
    x, y, sw = _data(rng, m, 5, 2)
    net = _fd_check(spec, x, y, sw)
    loss, grads = net.gradients(x, y, sw, 1)
    rloss, rgrads, _, _ = RefNetwork(spec).loss_grads(x, y, sw, training=True)
    assert loss == pytest.approx(rloss, rel=1e-12)
    for g, r in zip(grads, rgrads):
        np.testing.assert_allclose(g, r, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kind", ["batch_norm", "layer_norm"])
@pytest.mark.parametrize("n", [1, 2, 17, 67])
def test_forward_matches_reference_in_training_and_inference(kind, n, isa):
    # n features (1, primes): a norm layer right after the input, then a linear dense head.
    rng = np.random.default_rng(n)
    spec = make_spec(n, [(kind, {}), ("dense", 3, "linear")], rng=rng)
    x, y, sw = _data(rng, 29, n, 3)
    net, ref = _core.Network(spec), RefNetwork(spec)
    out = np.empty((29, 3))
    net.predict(x, out)
    np.testing.assert_allclose(out, ref.forward(x)[0], rtol=1e-12, atol=1e-12)
    got = net.evaluate(x, y, sw)
    want = ref.results(x, y, sw)
    assert got[0] == pytest.approx(want[0], rel=1e-12)
    # training mode: gradients() reports the training-mode loss
    assert net.gradients(x, y, sw, 1)[0] == pytest.approx(
        ref.loss_grads(x, y, sw, training=True)[0], rel=1e-12)


OPTIMIZERS = [dict(name="sgd"), dict(name="sgd", momentum=0.9), dict(name="adam"),
              dict(name="rmsprop", centered=True), dict(name="adam", global_clipnorm=0.1)]


@pytest.mark.parametrize("dtype,tol", [("float64", 1e-10), ("float32", 1e-4)])
@pytest.mark.parametrize("opt", range(len(OPTIMIZERS)))
def test_train_steps_update_params_and_moving_statistics_as_reference(opt, dtype, tol, isa):
    # No bias before the BatchNormalization: its true gradient is 0 and Adam / RMSprop turn
    # the rounding noise of a float32 zero into steps of the learning rate's size.
    rng = np.random.default_rng(opt + 40)
    spec = make_spec(11, [("dense_nobias", 19, "linear"), ("batch_norm", dict(momentum=0.9)),
                          ("activation", "relu"), ("dropout", 0.3), ("dense", 7, "relu"),
                          ("layer_norm", {}), ("dense", 4, "softmax")],
                     loss=dict(name="categorical_crossentropy"), optimizer=OPTIMIZERS[opt],
                     dtype=dtype, rng=rng, seed=5, metrics=[dict(name="categorical_accuracy")])
    net, ref = _core.Network(spec), RefNetwork(spec)
    for t in range(1, 6):
        m = [31, 8, 1 + 2, 53, 17][t - 1]
        x, y, sw = _data(rng, m, 11, 4, dtype)
        y = np.eye(4, dtype=dtype)[rng.integers(0, 4, m)]
        got = net.train_step(x, y, sw, 0.02, t)
        want = ref.step(x.astype(np.float64), y.astype(np.float64), sw.astype(np.float64), 0.02,
                        t, masks=dropout_masks(spec, m, t))
        for u, v in zip(got, want):
            assert u == pytest.approx(v, rel=tol, abs=tol)
    for p, (r, _, _, _) in zip(param_arrays(spec), ref.params()):
        np.testing.assert_allclose(p, r, rtol=tol, atol=tol)
    ref_state = [s for r in ref.layers for s in r.get("state", ())]
    assert len(ref_state) == 2
    for s, r in zip(state_arrays(spec), ref_state):
        np.testing.assert_allclose(s, r, rtol=tol, atol=tol)
    # inference uses the moving statistics
    x, y, sw = _data(rng, 23, 11, 4, dtype)
    out = np.empty((23, 4), dtype)
    net.predict(x, out)
    np.testing.assert_allclose(out, ref.forward(x.astype(np.float64))[0], rtol=tol * 10,
                               atol=tol)


def test_moving_statistics_follow_keras_rule_exactly():
    # One step from known statistics: moving = moving * momentum + stat * (1 - momentum), with
    # the biased batch variance.
    rng = np.random.default_rng(1)
    spec = make_spec(6, [("batch_norm", dict(momentum=0.75)), ("dense", 2, "linear")], rng=rng)
    mm0, mv0 = (s.copy() for s in state_arrays(spec))
    x, y, sw = _data(rng, 9, 6, 2)
    _core.Network(spec).train_step(x, y, sw, 0.1, 1)
    mm, mv = state_arrays(spec)
    np.testing.assert_allclose(mm, mm0 * 0.75 + x.mean(0) * 0.25, rtol=1e-14)
    np.testing.assert_allclose(mv, mv0 * 0.75 + x.var(0) * 0.25, rtol=1e-14)


def test_frozen_batch_norm_uses_and_keeps_its_moving_statistics():
    # training=False (a frozen Keras layer): inference-mode normalisation during training, its
    # state and parameters bit-identical, the layers around it still trained as the reference.
    rng = np.random.default_rng(2)
    spec = make_spec(7, [("dense", 9, "linear"),
                         ("batch_norm", dict(training=False, trainable=False)),
                         ("dense", 3, "linear")], optimizer=dict(name="adam"), rng=rng)
    frozen = [e["value"].copy() for e in param_entries(spec)[2:4]] + [
        s.copy() for s in state_arrays(spec)]
    net, ref = _core.Network(spec), RefNetwork(spec)
    for t in range(1, 4):
        x, y, sw = _data(rng, 10, 7, 3)
        got = net.train_step(x, y, sw, 0.01, t)
        assert got[0] == pytest.approx(ref.step(x, y, sw, 0.01, t)[0], rel=1e-12)
    now = [e["value"] for e in param_entries(spec)[2:4]] + state_arrays(spec)
    for a, b in zip(now, frozen):
        assert np.array_equal(a, b)
    for p, (r, _, _, _) in zip(param_arrays(spec), ref.params()):
        np.testing.assert_allclose(p, r, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("after", [[("activation", "relu"), ("dropout", 0.4)],
                                   [("dropout", 0.4), ("activation", "relu")],
                                   [("activation", "relu")]])
def test_frozen_batch_norm_with_relu_and_dropout_matches_reference(after):
    # The absorbed relu's derivative in the frozen layer's own dx pass (dropout next) or in
    # the next dense layer's dX gemm.
    rng = np.random.default_rng(6)
    spec = make_spec(7, [("dense", 9, "linear"),
                         ("batch_norm", dict(training=False, trainable=False))] + after +
                     [("dense", 3, "linear")], optimizer=dict(name="sgd", momentum=0.5),
                     rng=rng, seed=3)
    net, ref = _core.Network(spec), RefNetwork(spec)
    for t in range(1, 4):
        x, y, sw = _data(rng, 12, 7, 3)
        got = net.train_step(x, y, sw, 0.05, t)
        want = ref.step(x, y, sw, 0.05, t, masks=dropout_masks(spec, 12, t))
        assert got[0] == pytest.approx(want[0], rel=1e-12)
    for p, (r, _, _, _) in zip(param_arrays(spec), ref.params()):
        np.testing.assert_allclose(p, r, rtol=1e-10, atol=1e-12)


def test_relu_after_batch_norm_keeps_nan_like_the_relu_kernel():
    spec = make_spec(3, [("batch_norm", dict(training=False)), ("activation", "relu"),
                         ("dense", 2, "linear")], rng=np.random.default_rng(0))
    out = np.empty((2, 2))
    _core.Network(spec).predict(np.array([[np.nan, 0.0, 1.0], [1.0, 2.0, 3.0]]), out)
    assert np.isnan(out[0]).all() and np.isfinite(out[1]).all()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_thread_count_does_not_change_anything(dtype, threads, isa):
    results = []
    for n in (1, 2):
        threads(n)
        rng = np.random.default_rng(3)
        spec = make_spec(97, [("dense", 131, "linear"), ("batch_norm", {}),
                              ("activation", "relu"), ("dropout", 0.2), ("dense", 67, "relu"),
                              ("layer_norm", {}), ("dense", 5, "softmax")],
                         loss=dict(name="categorical_crossentropy"), dtype=dtype, rng=rng)
        net = _core.Network(spec)
        losses = []
        for t in range(1, 5):
            x, _, sw = _data(rng, 129, 97, 5, dtype)
            y = np.eye(5, dtype=dtype)[rng.integers(0, 5, 129)]
            losses.append(net.train_step(x, y, sw, 0.01, t))
        results.append((losses, [a.copy() for a in param_arrays(spec) + state_arrays(spec)]))
    assert results[0][0] == results[1][0]
    for a, b in zip(results[0][1], results[1][1]):
        assert np.array_equal(a, b)


def _bn_spec():
    return make_spec(4, [("dense", 3, "linear"), ("batch_norm", {}), ("dense", 2, "linear")],
                     rng=np.random.default_rng(0))


def _mutated(fn):
    spec = _bn_spec()
    fn(spec["layers"][1])
    return spec


BAD = [
    (lambda r: r.update(momentum=1.5), "momentum"),
    (lambda r: r.update(epsilon=0.0), "epsilon"),
    (lambda r: r.pop("training"), "training"),
    (lambda r: r["state"].pop(), "moving_mean', 'moving_variance"),
    (lambda r: r["state"].reverse(), "must be 'moving_mean'"),
    (lambda r: r["state"][1].update(value=np.ones(5)), "'moving_variance' must have shape (3,)"),
    (lambda r: r["params"].reverse(), "must be 'gamma'"),
    (lambda r: r["params"].pop(0), "'gamma', 'beta'"),
    (lambda r: r.update(scale=False), "'beta'"),
]


@pytest.mark.parametrize("case", range(len(BAD)))
def test_bad_specs_raise_naming_the_value(case):
    fn, text = BAD[case]
    with pytest.raises(ValueError, match=None) as info:
        _core.Network(_mutated(fn))
    assert text in str(info.value)


def test_spec_is_not_copied_state_is_live():
    spec = _bn_spec()
    live = state_arrays(spec)
    net = _core.Network(spec)
    before = [a.copy() for a in live]
    rng = np.random.default_rng(0)
    x, y, sw = _data(rng, 8, 4, 2)
    net.train_step(x, y, sw, 0.1, 1)
    assert all(not np.array_equal(a, b) for a, b in zip(live, before))
    spec2 = copy.deepcopy(_bn_spec())
    spec2["layers"][1]["state"][0]["value"] = spec2["layers"][1]["params"][0]["value"]
    with pytest.raises(ValueError, match="share memory"):
        _core.Network(spec2)


@pytest.mark.parametrize("kind", ["batch_norm", "layer_norm"])
def test_statistics_stay_accurate_far_from_zero(kind):
    # float32 features around 1e4 with unit spread: the statistics must not cancel (the
    # batch variance is accumulated shifted by the first row, in double).
    rng = np.random.default_rng(4)
    spec = make_spec(9, [(kind, dict(momentum=0.0)), ("dense", 2, "linear")],
                     dtype="float32", rng=rng)
    x = (1e4 + rng.standard_normal((64, 9))).astype("float32")
    y = np.zeros((64, 2), "float32")
    net, ref = _core.Network(spec), RefNetwork(spec)
    loss, _ = net.gradients(x, y, None, 1)
    assert loss == pytest.approx(ref.loss_grads(x.astype(np.float64), y, training=True)[0],
                                 rel=1e-5)
    if kind == "batch_norm":  # momentum 0: the moving statistics are the batch's
        net.train_step(x, y, None, 0.0, 1)
        mm, mv = state_arrays(spec)
        np.testing.assert_allclose(mm, x.astype(np.float64).mean(0), rtol=1e-7)
        np.testing.assert_allclose(mv, x.astype(np.float64).var(0), rtol=1e-5)
