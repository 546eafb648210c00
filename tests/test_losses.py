"""Losses (value + gradient) and metric sums against the float64 reference (tests/ref_ops.py)."""

import numpy as np
import pytest

from lamina import _core, ops

import ref_ops

pytestmark = pytest.mark.kernel

SHAPES = [(1, 1), (2, 3), (7, 13), (31, 10), (97, 2)]
DENSE = ["mean_squared_error", "mean_absolute_error", "huber", "binary_crossentropy",
         "categorical_crossentropy"]


def _case(name, shape, dtype, from_logits, seed=0):
    """(y_true, y_pred) away from kinks and clip edges."""
    rng = np.random.default_rng(seed)
    m, n = shape
    if name == "sparse_categorical_crossentropy":
        y = rng.integers(0, n, size=m)
    elif name == "binary_crossentropy":
        y = rng.uniform(0, 1, size=shape)  # soft labels are allowed
    elif name == "categorical_crossentropy":
        y = ref_ops.one_hot(rng.integers(0, n, size=m), n)
        y = 0.8 * y + 0.2 * rng.dirichlet(np.ones(n), size=m)  # smoothed targets
    else:
        y = rng.normal(size=shape)
    if from_logits:
        p = rng.normal(scale=3.0, size=shape)
    elif name == "binary_crossentropy":
        p = rng.uniform(0.02, 0.98, size=shape)
    elif name in ("categorical_crossentropy", "sparse_categorical_crossentropy"):
        p = rng.uniform(0.05, 1.0, size=shape)  # not normalised: Keras divides by the sum
    else:
        p = y + rng.choice([-1, 1], size=shape) * rng.uniform(0.05, 3.0, size=shape)
        if name == "huber":  # keep |e| away from delta = 1
            e = p - y
            e[np.abs(np.abs(e) - 1.0) < 0.05] *= 1.2
            p = y + e
    return y, p.astype(dtype)


def _params():
    for name in DENSE + ["sparse_categorical_crossentropy"]:
        for logits in ([False, True] if "crossentropy" in name else [False]):
            yield name, logits


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,from_logits", list(_params()))
def test_value_and_grad_match_reference(name, from_logits, dtype):
    rtol = 2e-5 if dtype == np.float32 else 1e-12
    for k, shape in enumerate(SHAPES):
        y, p = _case(name, shape, dtype, from_logits, seed=k)
        if name != "sparse_categorical_crossentropy":
            y = y.astype(dtype)
        sw = np.random.default_rng(k).uniform(0.1, 2.0, size=shape[0])
        for weights in (None, sw):
            total, grad = ops.loss(y, p, name, from_logits=from_logits, delta=1.0,
                                   sample_weight=weights, scale=0.37)
            w = None if weights is None else weights.astype(dtype)
            want, want_g = ref_ops.loss(y, p, name, from_logits, 1.0, w, 0.37)
            assert isinstance(total, float)
            assert total == pytest.approx(want, rel=rtol, abs=1e-12)
            assert grad.dtype == dtype and grad.shape == p.shape
            np.testing.assert_allclose(grad, want_g, rtol=rtol, atol=rtol * 1e-3)


@pytest.mark.parametrize("name,from_logits", list(_params()))
def test_gradient_finite_differences(name, from_logits):
    y, p = _case(name, (4, 5), np.float64, from_logits, seed=11)
    sw = np.array([0.5, 1.0, 2.0, 1.5])
    _, g = ops.loss(y, p, name, from_logits=from_logits, sample_weight=sw)
    h = 1e-6
    fd = np.empty_like(p)
    for idx in np.ndindex(p.shape):
        pp, pm = p.copy(), p.copy()
        pp[idx] += h
        pm[idx] -= h
        fd[idx] = (ops.loss(y, pp, name, from_logits=from_logits, sample_weight=sw)[0]
                   - ops.loss(y, pm, name, from_logits=from_logits, sample_weight=sw)[0]) / (2 * h)
    err = np.abs(g - fd) / np.maximum(np.abs(fd), 1e-3)
    assert err.max() < 1e-6, (name, from_logits, err.max())


def test_huber_delta_and_regions():
    y = np.zeros((1, 4))
    p = np.array([[0.5, -0.5, 3.0, -3.0]])
    total, g = ops.loss(y, p, "huber", delta=2.0)
    # 0.125, 0.125, 2*3 - 2, 2*3 - 2 averaged over 4
    assert total == pytest.approx((0.125 + 0.125 + 4 + 4) / 4)
    np.testing.assert_allclose(g, [[0.5 / 4, -0.5 / 4, 2 / 4, -2 / 4]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_crossentropy_stability(dtype):
    """Logits of +-1e4 and probabilities of exactly 0 and 1: finite values and gradients."""
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, -1e4]], dtype=dtype)
    labels = np.array([1, 0, 2])
    onehot = ref_ops.one_hot(labels, 3).astype(dtype)
    for name, y in [("sparse_categorical_crossentropy", labels),
                    ("categorical_crossentropy", onehot), ("binary_crossentropy", onehot)]:
        total, g = ops.loss(y, logits, name, from_logits=True)
        assert np.isfinite(total) and np.all(np.isfinite(g)), name
        want, want_g = ref_ops.loss(y, logits, name, True)
        assert total == pytest.approx(want, rel=1e-6)
        np.testing.assert_allclose(g, want_g, atol=1e-6)
    probs = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.5, 0.5, 0.0]], dtype=dtype)
    for name, y in [("sparse_categorical_crossentropy", labels),
                    ("categorical_crossentropy", onehot), ("binary_crossentropy", onehot)]:
        total, g = ops.loss(y, probs, name)
        assert np.isfinite(total) and np.all(np.isfinite(g)), name
        want, want_g = ref_ops.loss(y, probs, name, False)
        assert total == pytest.approx(want, rel=1e-5)
        np.testing.assert_allclose(g, want_g, rtol=1e-5)


def test_keras_documented_values():
    # keras.losses.CategoricalCrossentropy docstring: [[0,1,0],[0,0,1]] vs
    # [[.05,.95,0],[.1,.8,.1]] -> 1.177 (mean over the batch)
    y = np.array([[0, 1, 0], [0, 0, 1]], np.float32)
    p = np.array([[0.05, 0.95, 0], [0.1, 0.8, 0.1]], np.float32)
    total, _ = ops.loss(y, p, "categorical_crossentropy")
    assert total / 2 == pytest.approx(1.1769392, rel=1e-6)
    total, _ = ops.loss(np.array([1, 2]), p, "sparse_categorical_crossentropy")
    assert total / 2 == pytest.approx(1.1769392, rel=1e-6)
    # keras.losses.BinaryCrossentropy docstring: 0.815 for these probabilities
    yb = np.array([[0, 1], [0, 0]], np.float32)
    pb = np.array([[0.6, 0.4], [0.4, 0.6]], np.float32)
    total, _ = ops.loss(yb, pb, "binary_crossentropy")
    assert total / 2 == pytest.approx(0.81492424, rel=1e-6)


def test_labels_int32_int64_and_column():
    _, p = _case("sparse_categorical_crossentropy", (9, 4), np.float64, True, seed=3)
    lab = np.array([0, 3, 1, 2, 2, 0, 3, 1, 0])
    res = [ops.loss(v, p, "sparse_categorical_crossentropy", from_logits=True)
           for v in (lab.astype(np.int32), lab.astype(np.int64), lab.reshape(-1, 1),
                     lab.astype(np.float64))]
    for total, g in res[1:]:
        assert total == res[0][0]
        np.testing.assert_array_equal(g, res[0][1])


def test_threads_give_identical_bits(threads):
    y, p = _case("categorical_crossentropy", (4099, 10), np.float32, True, seed=5)
    y = y.astype(np.float32)
    threads(1)
    a = ops.loss(y, p, "categorical_crossentropy", from_logits=True)
    threads(2)
    b = ops.loss(y, p, "categorical_crossentropy", from_logits=True)
    assert a[0] == b[0]
    np.testing.assert_array_equal(a[1], b[1])


def test_strided_predictions():
    y, p = _case("mean_squared_error", (7, 13), np.float64, False)
    big = np.zeros((7, 20))
    big[:, 4:17] = p
    a = ops.loss(y, big[:, 4:17], "mse")
    b = ops.loss(y, p, "mse")
    assert a[0] == b[0]
    np.testing.assert_array_equal(a[1], b[1])


def test_loss_bad_inputs():
    p = np.full((2, 3), 0.3)
    with pytest.raises(ValueError, match="unknown loss 'mse2'.*huber.*sparse_categorical"):
        ops.loss(p, p, "mse2")
    with pytest.raises(ValueError, match="label 3 at index 1 is out of range"):
        ops.loss(np.array([0, 3]), p, "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="label -1"):
        ops.loss(np.array([0, -1]), p, "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="whole numbers"):
        ops.loss(np.array([0.5, 1]), p, "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="from_logits.*'mse'"):
        ops.loss(p, p, "mse", from_logits=True)
    with pytest.raises(ValueError, match=r"y_true shape \(3, 2\)"):
        ops.loss(np.ones((3, 2)), p, "mse")
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(2,\)"):
        ops.loss(p, p, "mse", sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="huber delta must be > 0"):
        ops.loss(p, p, "huber", delta=0.0)
    with pytest.raises(TypeError, match="integer labels"):
        _core.loss_forward_backward(p, p, "sparse_categorical_crossentropy", False, 1.0, None,
                                    1.0, None)
    with pytest.raises(TypeError, match="float targets"):
        _core.loss_forward_backward(np.array([0, 1]), p, "mse", False, 1.0, None, 1.0, None)
    with pytest.raises(ValueError, match="grad overlaps y_pred"):
        _core.loss_forward_backward(p, p, "mse", False, 1.0, None, 1.0, p)
    assert _core.loss_forward_backward(p, p, "mse", False, 1.0, None, 1.0, None) == 0.0


# ---- metrics ----

METRICS = ["binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
           "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy",
           "mean_squared_error", "mean_absolute_error"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", METRICS)
def test_metrics_match_reference(name, dtype):
    rng = np.random.default_rng(8)
    for m, n in [(1, 1), (3, 2), (13, 7), (97, 10)]:
        p = rng.uniform(0, 1, size=(m, n)).astype(dtype)
        p[:, -1] = p[:, 0]  # ties
        lab = rng.integers(0, n, size=m)
        if name.startswith("sparse"):
            y = lab
        elif name == "binary_accuracy":
            y = rng.integers(0, 2, size=(m, n)).astype(dtype)
        elif "categorical" in name:
            y = ref_ops.one_hot(lab, n).astype(dtype)
        else:
            y = rng.normal(size=(m, n)).astype(dtype)
        sw = rng.uniform(0.5, 2, size=m).astype(dtype)
        for k in (1, 2, 5):
            for weights in (None, sw):
                got = ops.metric(y, p, name, threshold=0.4, k=k, sample_weight=weights)
                want = ref_ops.metric(y, p, name, threshold=0.4, k=k, sample_weight=weights)
                assert got == pytest.approx(want, rel=1e-6 if dtype == np.float32 else 1e-13)


def test_top_k_ties_count_as_hits():
    p = np.array([[0.5, 0.5, 0.5, 0.1]])
    assert ops.metric(np.array([2]), p, "sparse_top_k_categorical_accuracy", k=1) == 1.0
    assert ops.metric(np.array([3]), p, "sparse_top_k_categorical_accuracy", k=3) == 0.0
    assert ops.metric(np.array([3]), p, "sparse_top_k_categorical_accuracy", k=4) == 1.0
    assert ops.metric(np.array([[0, 1.0, 0, 0]]), p, "categorical_accuracy") == 0.0  # first max


def test_metric_bad_inputs():
    p = np.full((2, 3), 0.3)
    with pytest.raises(ValueError, match="unknown metric 'acc'.*binary_accuracy"):
        ops.metric(p, p, "acc")
    with pytest.raises(ValueError, match="k must be >= 1"):
        ops.metric(np.array([0, 1]), p, "sparse_top_k_categorical_accuracy", k=0)
    with pytest.raises(ValueError, match="label 7"):
        ops.metric(np.array([0, 7]), p, "sparse_categorical_accuracy")
    with pytest.raises(TypeError, match="int32 or int64"):
        _core.metric_sum(p, p, "sparse_categorical_accuracy", 0.5, 5, None)
