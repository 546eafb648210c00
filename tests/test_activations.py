"""Activations forward/backward against the float64 reference (tests/ref_ops.py)."""

import numpy as np
import pytest

from lamina import _core, ops

import ref_ops

pytestmark = pytest.mark.kernel

NAMES = ref_ops.ACTIVATIONS
SHAPES = [(1, 1), (2, 3), (7, 13), (3, 97), (31, 255)]
TOL = {np.float32: (2e-6, 1e-6), np.float64: (1e-13, 1e-14)}  # (rtol, atol)
ALPHAS = {"leaky_relu": 0.3, "elu": 0.7}


def _x(shape, dtype, seed=0, lo=-6.0, hi=6.0):
    """Random inputs away from the kinks (0 and +-3) so that f' is defined everywhere."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(lo, hi, size=shape)
    for kink in (0.0, 3.0, -3.0, 6.0, -6.0):
        near = np.abs(x - kink) < 0.05
        x[near] += 0.1
    return x.astype(dtype)


def _close(got, want, dtype, scale=1.0):
    rtol, atol = TOL[dtype]
    np.testing.assert_allclose(got.astype(np.float64), want, rtol=rtol * scale, atol=atol * scale)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", NAMES)
def test_forward_matches_reference(isa, name, dtype):
    alpha = ALPHAS.get(name)
    for shape in SHAPES:
        x = _x(shape, dtype)
        y = ops.activation(x, name, alpha=alpha)
        assert y.dtype == dtype and y.shape == shape
        # the reference sees the rounded input, so only the kernel's own rounding is compared
        _close(y, ref_ops.activation(x.astype(np.float64), name, alpha), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", NAMES)
def test_backward_matches_reference(isa, name, dtype):
    alpha = ALPHAS.get(name)
    rng = np.random.default_rng(1)
    for shape in SHAPES:
        x = _x(shape, dtype, seed=2)
        y = ops.activation(x, name, alpha=alpha)
        dy = rng.uniform(0.5, 1.5, size=shape).astype(dtype)
        dx = ops.activation_grad(x, y, dy, name, alpha=alpha)
        want = ref_ops.activation_grad(x.astype(np.float64), dy.astype(np.float64), name, alpha)
        # y feeds the derivative of y-based activations (sigmoid, tanh, softmax): its rounding
        # is amplified at most a few times, hence the wider float32 tolerance.
        _close(dx, want, dtype, scale=8.0 if dtype == np.float32 else 4.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", NAMES)
def test_strided_rows_and_in_place(name, dtype):
    alpha = ALPHAS.get(name)
    big = _x((13, 40), dtype, seed=3)
    x = big[:, 3:32]  # row stride 40, 29 columns
    want = ref_ops.activation(x.astype(np.float64), name, alpha)
    out_big = np.full((13, 50), 7.0, dtype=dtype)
    out = out_big[:, 5:34]
    ops.activation(x, name, alpha=alpha, out=out)
    _close(out, want, dtype)
    assert np.all(out_big[:, :5] == 7.0) and np.all(out_big[:, 34:] == 7.0)  # nothing outside
    inplace = x.copy()
    ops.activation(inplace, name, alpha=alpha, out=inplace)
    np.testing.assert_array_equal(inplace, ops.activation(x, name, alpha=alpha))
    # backward with strided operands and dx written over dy
    y = ops.activation(x, name, alpha=alpha)
    dy_big = np.random.default_rng(4).uniform(-1, 1, size=(13, 45)).astype(dtype)
    dy = dy_big[:, 10:39]
    want_dx = ops.activation_grad(np.ascontiguousarray(x), y, np.ascontiguousarray(dy), name,
                                  alpha=alpha)
    ops.activation_grad(x, y, dy, name, alpha=alpha, out=dy)
    np.testing.assert_array_equal(dy, want_dx)


def test_columns_inner_stride_and_1d():
    x = _x((9, 10), np.float64)
    np.testing.assert_allclose(ops.activation(x.T, "softmax"), ref_ops.softmax(x.T), rtol=1e-13)
    v = x[0]
    np.testing.assert_allclose(ops.activation(v, "softmax"), ref_ops.softmax(v), rtol=1e-13)
    np.testing.assert_allclose(ops.activation(v[::2], "tanh"), np.tanh(v[::2]), rtol=1e-14)


@pytest.mark.parametrize("name", NAMES)
def test_gradient_finite_differences(name):
    """Central differences in float64 of L = sum(w * f(x)) against activation_grad."""
    alpha = ALPHAS.get(name)
    x = _x((3, 7), np.float64, seed=5, lo=-4, hi=4)
    w = np.random.default_rng(6).uniform(0.5, 1.5, size=x.shape)
    y = ops.activation(x, name, alpha=alpha)
    g = ops.activation_grad(x, y, w, name, alpha=alpha)
    h = 1e-5
    fd = np.empty_like(x)
    for idx in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += h
        xm[idx] -= h
        fd[idx] = (np.sum(w * ops.activation(xp, name, alpha=alpha))
                   - np.sum(w * ops.activation(xm, name, alpha=alpha))) / (2 * h)
    err = np.abs(g - fd) / np.maximum(np.abs(fd), 1e-3)
    assert err.max() < 1e-6, (name, err.max())


def test_relu_subgradient_at_zero_and_hard_sigmoid_edges():
    x = np.array([[-0.0, 0.0, 1e-30, -1e-30, -3.0, 3.0]])
    y = ops.activation(x, "relu")
    dx = ops.activation_grad(x, y, np.ones_like(x), "relu")
    assert dx.tolist() == [[0.0, 0.0, 1.0, 0.0, 0.0, 1.0]]
    hs = ops.activation(x, "hard_sigmoid")
    assert hs[0, 4] == 0.0 and hs[0, 5] == 1.0 and hs[0, 0] == 0.5


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", NAMES)
def test_stable_at_extremes(isa, name, dtype):
    """No inf/NaN from exp overflow for |x| up to 1e4 (and at 0), forward and backward."""
    vals = np.array([-1e4, -1e3, -710.0, -89.0, -20.0, 0.0, 20.0, 89.0, 710.0, 1e3, 1e4])
    x = np.tile(vals, (3, 1)).astype(dtype)
    y = ops.activation(x, name, alpha=ALPHAS.get(name))
    dx = ops.activation_grad(x, y, np.ones_like(x), name, alpha=ALPHAS.get(name))
    if name == "log_softmax":
        # log-probabilities of -1e4 against a max of 1e4 are finite but large
        assert np.all(np.isfinite(y)) and np.all(np.isfinite(dx))
    else:
        assert np.all(np.isfinite(y)), y
        assert np.all(np.isfinite(dx)), dx
    want = ref_ops.activation(x.astype(np.float64), name, ALPHAS.get(name))
    _close(y, want, dtype)


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "silu", "gelu", "softmax"])
def test_threads_give_identical_bits(threads, name):
    x = _x((64, 1031), np.float32, seed=7)  # several parallel tasks
    threads(1)
    y1 = ops.activation(x, name)
    d1 = ops.activation_grad(x, y1, x, name)
    threads(2)
    y2 = ops.activation(x, name)
    d2 = ops.activation_grad(x, y2, x, name)
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(d1, d2)


def test_swish_is_silu_and_defaults():
    x = _x((4, 9), np.float64)
    np.testing.assert_array_equal(ops.activation(x, "swish"), ops.activation(x, "silu"))
    np.testing.assert_allclose(ops.activation(x, "leaky_relu"), ref_ops.leaky_relu(x, 0.2))
    np.testing.assert_allclose(ops.activation(x, "elu"), ref_ops.elu(x, 1.0), rtol=1e-14)
    np.testing.assert_array_equal(ops.activation(x, "hard_swish"), ops.activation(x, "hard_silu"))
    assert set(NAMES) | {"swish", "hard_swish"} == set(ops.activation_names())


def test_bad_inputs():
    x = np.ones((2, 3))
    with pytest.raises(ValueError, match="unknown activation 'rleu'.*relu.*softmax"):
        ops.activation(x, "rleu")
    with pytest.raises(TypeError, match="real numeric.*complex"):
        ops.activation(np.ones((2, 2), np.complex128), "relu")
    with pytest.raises(TypeError, match="float32 or float64.*int64"):
        _core.activation_forward(np.ones((2, 2), np.int64), np.ones((2, 2)), "relu", 0.0)
    with pytest.raises(ValueError, match=r"2-D.*\(2, 3, 4\)"):
        ops.activation(np.ones((2, 3, 4)), "relu")
    with pytest.raises(ValueError, match=r"out shape \(3, 2\)"):
        ops.activation(x, "relu", out=np.empty((3, 2)))
    with pytest.raises(TypeError, match="out dtype float32"):
        ops.activation(x, "relu", out=np.empty((2, 3), np.float32))
    big = np.ones((3, 4))
    with pytest.raises(ValueError, match="overlaps"):
        _core.activation_forward(big[:2, :3], big[1:, 1:], "relu", 0.0)
    ro = np.empty((2, 3))
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        ops.activation(x, "relu", out=ro)
    with pytest.raises(ValueError, match="'gelu' needs x"):
        ops.activation_grad(None, x, x, "gelu")
    with pytest.raises(ValueError, match="inner stride"):
        _core.activation_forward(big[:, ::2], np.empty((3, 2)), "relu", 0.0)
    # y-only activations accept x=None
    y = ops.activation(x, "sigmoid")
    np.testing.assert_allclose(ops.activation_grad(None, y, x, "sigmoid"), y * (1 - y))


def test_empty():
    for shape in [(0, 5), (3, 0)]:
        assert ops.activation(np.ones(shape), "softmax").shape == shape


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["sigmoid", "tanh", "elu", "selu", "gelu", "gelu_tanh", "silu",
                                  "softplus", "softmax", "log_softmax"])
def test_dense_sweep_accuracy(isa, name, dtype):
    """The vector exp paths stay within a few ulp of the float64 reference, tiny |x| included."""
    tiny = np.geomspace(1e-30, 1e-2, 200)
    x = np.concatenate([np.linspace(-40, 40, 4001), tiny, -tiny]).astype(dtype)
    x = x.reshape(1, -1) if name not in ("softmax", "log_softmax") else x[:4400].reshape(40, 110)
    y = ops.activation(x, name)
    x64 = x.astype(np.float64)
    want = ref_ops.activation(x64, name)
    rtol = 1e-6 if dtype == np.float32 else 2e-15
    eps = np.finfo(dtype).eps
    # Conditioning of f at the (rounded) input: relative errors of order eps * |x f'(x) / f(x)|
    # are inherent to computing in `dtype` (e.g. gelu_tanh's far negative tail, where the
    # rounding of u = c (x + k x^3) is amplified by exp(2u)).
    if name == "gelu_tanh":
        cond = 1 + 2 * np.abs(np.sqrt(2 / np.pi) * (x64 + 0.044715 * x64**3))
    elif name == "gelu":  # erfc(z) with z = -x / sqrt 2: d ln erfc / d ln z ~ 2 z^2 = x^2
        cond = 1 + x64 * x64
    else:
        cond = np.ones_like(x64)
    if name == "log_softmax":  # values near 0 carry the absolute error of the row's shift
        atol = 4 * eps * np.abs(x64).max(axis=-1, keepdims=True)
    else:
        atol = np.finfo(dtype).tiny
    err = np.abs(y.astype(np.float64) - want)
    assert np.all(err <= rtol * cond * np.abs(want) + atol), (err / (np.abs(want) + 1e-300)).max()
    dy = np.ones_like(x)
    dx = ops.activation_grad(x, y, dy, name)
    want_dx = ref_ops.activation_grad(x64, dy.astype(np.float64), name)
    # Derivatives are compared at an absolute scale: y-based ones inherit y's rounding, and
    # log_softmax's dy - softmax * sum(dy) cancels against sum(dy) = cols.
    scale = x.shape[-1] if name == "log_softmax" else max(1.0, np.abs(want_dx).max())
    err = np.abs(dx.astype(np.float64) - want_dx)
    assert np.all(err <= 8 * rtol * cond * np.abs(want_dx) + 16 * eps * scale), err.max()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", NAMES)
def test_nan_propagates(isa, name, dtype):
    """A NaN input gives a NaN output (Keras/numpy semantics; nothing hides a diverged run)."""
    x = np.linspace(-3, 3, 37).astype(dtype).reshape(1, -1)
    x[0, [0, 5, 17, 36]] = np.nan
    y = ops.activation(x, name, alpha=ALPHAS.get(name))
    if name in ("softmax", "log_softmax"):
        assert np.all(np.isnan(y))  # the row's normaliser is NaN
    else:
        assert np.array_equal(np.isnan(y), np.isnan(x)), name


def test_activation_layers_as_the_activation_argument():
    """Keras takes any callable as ``activation``: ``Dense(4, activation=LeakyReLU(0.1))``
    (GAN and Q&A code) computes what Dense + LeakyReLU(0.1) computes, keeps its slope
    through get_config / JSON / .keras (written as Keras writes it, a LeakyReLU config),
    and a layer the fused activation cannot express is refused by name."""
    import lamina
    from lamina import layers as L

    x = np.random.default_rng(0).normal(size=(16, 3))
    fused = lamina.Sequential([lamina.Input((3,)), L.Dense(4, activation=L.LeakyReLU(0.1)),
                               L.Dense(3, activation=L.ELU(0.5)),
                               L.Dense(2, activation=L.Softmax())], seed=0, dtype="float64")
    apart = lamina.Sequential([lamina.Input((3,)), L.Dense(4), L.LeakyReLU(0.1), L.Dense(3),
                               L.ELU(0.5), L.Dense(2), L.Softmax()], seed=0, dtype="float64")
    apart.set_weights(fused.get_weights())
    np.testing.assert_allclose(fused.predict(x, verbose=0), apart.predict(x, verbose=0),
                               rtol=1e-13, atol=1e-15)
    config = fused.get_config()["layers"]
    assert config[1]["config"]["activation"] == {"class_name": "LeakyReLU",
                                                 "config": {"negative_slope": 0.1}}
    assert config[3]["config"]["activation"] == "softmax"
    again = lamina.models.model_from_json(fused.to_json())
    assert [(lay.activation, lay.alpha) for lay in again.layers] == [
        ("leaky_relu", 0.1), ("elu", 0.5), ("softmax", 0.0)]
    assert L.Dense(2, activation=L.LeakyReLU()).alpha == 0.3  # the layer's own default
    assert L.Dense(2, activation="leaky_relu").alpha == 0.2   # the function's
    with pytest.raises(ValueError, match=r"activation=ReLU\(\.\.\.\) cannot be fused"):
        L.Dense(2, activation=L.ReLU(max_value=6.0))
    with pytest.raises(ValueError, match=r"activation=Dense\(\.\.\.\)"):
        L.Dense(2, activation=L.Dense(3))
