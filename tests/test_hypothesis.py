"""Property-based tests: random shapes, dtypes, strides and values (NaN, inf, denormals, empty,
huge) into lamina.ops and Sequential; each call gives a correct result or a clean exception."""

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import lamina  # noqa: E402
from lamina import layers, ops  # noqa: E402

pytestmark = pytest.mark.kernel

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

special = st.sampled_from([0.0, 1.0, -1.0, np.nan, np.inf, -np.inf, 1e-40, -1e-42, 3e38, -3e38])


@st.composite
def arrays(draw, max_side=40, dtypes=(np.float32, np.float64)):
    dtype = draw(st.sampled_from(dtypes))
    rows = draw(st.integers(0, max_side))
    cols = draw(st.integers(0, max_side))
    step_r = draw(st.integers(1, 3))
    step_c = draw(st.integers(1, 2))
    seed = draw(st.integers(0, 2**32 - 1))
    base = np.random.default_rng(seed).standard_normal((rows * step_r, cols * step_c)).astype(dtype)
    a = base[::step_r, ::step_c]
    if a.size and draw(st.booleans()):
        a = a.copy()
        for _ in range(draw(st.integers(1, 3))):
            a[draw(st.integers(0, rows - 1)), draw(st.integers(0, cols - 1))] = draw(special)
    if draw(st.booleans()):
        a = a.T
    return a


@SETTINGS
@given(a=arrays(), b=arrays(), trans_a=st.booleans(), trans_b=st.booleans())
def test_matmul_correct_or_clean_error(a, b, trans_a, trans_b):
    if b.dtype != a.dtype:
        b = b.astype(a.dtype)
    op_a = a.T if trans_a else a
    op_b = b.T if trans_b else b
    try:
        out = ops.matmul(a, b, trans_a=trans_a, trans_b=trans_b)
    except (ValueError, TypeError) as exc:
        assert op_a.shape[1] != op_b.shape[0] or "contiguous" in str(exc), str(exc)
        return
    assert op_a.shape[1] == op_b.shape[0]
    with np.errstate(all="ignore"):
        ref = op_a.astype(np.float64) @ op_b.astype(np.float64)
    assert out.shape == ref.shape
    finite = np.isfinite(ref) & (np.abs(ref) < 1e30)
    # Rows/cols touching a non-finite or huge input are only required to be non-finite-consistent.
    clean_rows = np.all(np.isfinite(op_a) & (np.abs(op_a) < 1e30), axis=1)
    clean_cols = np.all(np.isfinite(op_b) & (np.abs(op_b) < 1e30), axis=0)
    mask = finite & clean_rows[:, None] & clean_cols[None, :]
    tol = 1e-4 if a.dtype == np.float32 else 1e-10
    with np.errstate(all="ignore"):  # 0 * inf in the scale of rows the mask leaves out
        scale = np.abs(op_a.astype(np.float64)) @ np.abs(op_b.astype(np.float64))
        assert np.all(np.abs(out[mask] - ref[mask]) <= tol * (scale[mask] + 1e-30) + 1e-35)


@SETTINGS
@given(x=arrays(max_side=12), name=st.sampled_from(["relu", "sigmoid", "tanh", "softmax", "gelu", "elu", "softplus"]))
def test_activation_never_crashes(x, name):
    try:
        y = ops.activation(x, name)
    except (ValueError, TypeError):
        return
    assert y.shape == x.shape
    finite_in = np.isfinite(x)
    if name in ("sigmoid", "tanh"):
        assert np.all(np.isfinite(y[finite_in]))


@SETTINGS
@given(n=st.integers(0, 30), d=st.integers(0, 6), units=st.integers(1, 8),
       batch=st.integers(-2, 40), dtype=st.sampled_from(["float32", "float64"]),
       poison=st.sampled_from([None, np.nan, np.inf, 1e-42, 1e30]))
def test_fit_predict_correct_or_clean_error(n, d, units, batch, dtype, poison):
    rng = np.random.default_rng(n * 31 + d)
    x = rng.standard_normal((n, d))
    if poison is not None and x.size:
        x[rng.integers(n), rng.integers(d)] = poison
    y = rng.integers(0, 3, n)
    try:
        model = lamina.Sequential([lamina.Input(shape=(d,)), layers.Dense(units, activation="tanh"),
                                   layers.Dense(3, activation="softmax")], seed=0, dtype=dtype)
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
        p = model.predict(x, batch_size=max(batch, 1), verbose=0)
    except (ValueError, TypeError) as exc:
        msg = str(exc)
        assert n == 0 or d == 0 or batch <= 0 or poison in (np.nan, np.inf) or msg, msg
        return
    assert n > 0 and d > 0 and batch > 0
    assert p.shape == (n, 3)
    if poison is None or poison in (1e-42,):
        assert np.allclose(p.sum(axis=1), 1.0, atol=1e-4)
