"""GEMM (lamina.ops.matmul / bias_grad) against an independent float64 numpy reference."""

import itertools

import numpy as np
import pytest

from lamina import _core, ops

from conftest import run_python

pytestmark = pytest.mark.kernel

SIZES = (1, 2, 3, 7, 13, 31, 64, 97, 128, 255, 513)
DTYPES = (np.float32, np.float64)
TRANS = list(itertools.product((False, True), repeat=2))


def _rand(rng, shape, dtype):
    """Never-zero values: magnitudes in [0.5, 1.5], random signs."""
    x = rng.uniform(0.5, 1.5, size=shape) * rng.choice((-1.0, 1.0), size=shape)
    return x.astype(dtype)


def _operands(rng, m, n, k, dtype, trans_a, trans_b):
    a = _rand(rng, (k, m) if trans_a else (m, k), dtype)
    b = _rand(rng, (n, k) if trans_b else (k, n), dtype)
    return a, b


def _reference(a, b, trans_a, trans_b, alpha=1.0, beta=0.0, c0=None, bias=None, act=None):
    """float64 result and an elementwise magnitude scale for the error bound."""
    a64 = a.astype(np.float64)
    b64 = b.astype(np.float64)
    opa = a64.T if trans_a else a64
    opb = b64.T if trans_b else b64
    r = alpha * (opa @ opb)
    scale = abs(alpha) * (np.abs(opa) @ np.abs(opb))
    if beta != 0.0:
        r += beta * c0.astype(np.float64)
        scale += abs(beta) * np.abs(c0.astype(np.float64))
    if bias is not None:
        r += bias.astype(np.float64)
        scale += np.abs(bias.astype(np.float64))
    if act == "relu":
        r = np.maximum(r, 0.0)
    return r, scale + 1e-30


def _assert_close(got, ref, scale, k, dtype):
    tol = 1e-5 * max(1.0, np.sqrt(k)) if dtype == np.float32 else 1e-12 * max(1.0, np.sqrt(k))
    err = np.abs(got.astype(np.float64) - ref) / scale
    assert got.dtype == dtype
    assert np.all(np.isfinite(got))
    assert err.max() <= tol, f"max relative error {err.max():.3g} > {tol:.3g}"


def _sampled_shapes(seed, count, max_work=1e7):
    rng = np.random.default_rng(seed)
    shapes = []
    while len(shapes) < count:
        m, n, k = (int(rng.choice(SIZES)) for _ in range(3))
        if m * n * k <= max_work:
            shapes.append((m, n, k))
    return shapes


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("trans_a,trans_b", TRANS, ids=["NN", "NT", "TN", "TT"])
def test_matmul_matches_reference(isa, dtype, trans_a, trans_b):
    rng = np.random.default_rng(1)
    seed = 10 * trans_a + trans_b + (100 if dtype == np.float64 else 0)
    shapes = _sampled_shapes(seed, 10)
    # Every size appears at least once in each dimension across the cases.
    shapes += [(s, SIZES[(i + 3) % len(SIZES)], SIZES[(i + 7) % len(SIZES)])
               for i, s in enumerate(SIZES)]
    shapes += [(SIZES[(i + 5) % len(SIZES)], s, SIZES[(i + 2) % len(SIZES)])
               for i, s in enumerate(SIZES)]
    for m, n, k in shapes:
        if m * n * k > 1e7:
            continue
        a, b = _operands(rng, m, n, k, dtype, trans_a, trans_b)
        got = ops.matmul(a, b, trans_a=trans_a, trans_b=trans_b)
        assert got.shape == (m, n)
        ref, scale = _reference(a, b, trans_a, trans_b)
        _assert_close(got, ref, scale, k, dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("trans_a,trans_b", TRANS, ids=["NN", "NT", "TN", "TT"])
def test_strided_views_in_place(isa, dtype, trans_a, trans_b):
    """Views with a row stride larger than the row are read and written in place."""
    rng = np.random.default_rng(2)
    for m, n, k in [(13, 31, 97), (97, 130, 64), (64, 7, 513), (3, 65, 2)]:
        big_a = _rand(rng, (m + k + 5, m + k + 9), dtype)
        big_b = _rand(rng, (n + k + 4, n + k + 11), dtype)
        a = big_a[2:2 + (k if trans_a else m), 3:3 + (m if trans_a else k)]
        b = big_b[1:1 + (n if trans_b else k), 5:5 + (k if trans_b else n)]
        big_c = np.full((m + 2, n + 6), np.nan, dtype)
        out = big_c[1:1 + m, 2:2 + n]
        res = ops.matmul(a, b, trans_a=trans_a, trans_b=trans_b, out=out)
        assert res is out
        ref, scale = _reference(a, b, trans_a, trans_b)
        _assert_close(out, ref, scale, k, dtype)
        # Nothing outside the view was touched.
        assert np.isnan(big_c[0]).all() and np.isnan(big_c[-1]).all()
        assert np.isnan(big_c[:, :2]).all() and np.isnan(big_c[:, 2 + n:]).all()


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_other_layouts_are_copied(dtype):
    rng = np.random.default_rng(3)
    a = _rand(rng, (40, 60), dtype)[:, ::2]            # column stride 2
    b = np.asfortranarray(_rand(rng, (30, 17), dtype))  # column-major
    ref, scale = _reference(a, b, False, False)
    _assert_close(ops.matmul(a, b), ref, scale, 30, dtype)
    a_rev = _rand(rng, (9, 30), dtype)[::-1]             # negative row stride
    ref, scale = _reference(a_rev, b, False, False)
    _assert_close(ops.matmul(a_rev, b), ref, scale, 30, dtype)


def test_array_likes_are_converted():
    np.testing.assert_array_equal(ops.matmul([[1.0, 2.0]], [[3.0], [4.0]]), [[11.0]])
    np.testing.assert_array_equal(ops.bias_grad([[1.0, 2.0], [3.0, 4.0]]), [4.0, 6.0])


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("alpha,beta", [(1.0, 0.0), (-0.5, 0.0), (2.0, 1.0), (0.75, -0.3),
                                        (0.0, 0.5), (0.0, 0.0)])
def test_alpha_beta(isa, dtype, alpha, beta):
    rng = np.random.default_rng(4)
    cases = [(31, 97, 255), (128, 64, 13), (7, 513, 31), (255, 3, 600)]
    for (m, n, k), (trans_a, trans_b) in zip(cases, TRANS):
        a, b = _operands(rng, m, n, k, dtype, trans_a, trans_b)
        c0 = _rand(rng, (m, n), dtype)
        out = c0.copy() if beta != 0.0 else np.full((m, n), np.nan, dtype)
        ops.matmul(a, b, trans_a=trans_a, trans_b=trans_b, alpha=alpha, beta=beta, out=out)
        ref, scale = _reference(a, b, trans_a, trans_b, alpha, beta, c0)
        _assert_close(out, ref, scale, k, dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("activation", [None, "linear", "relu"])
def test_bias_activation_epilogue(isa, dtype, activation):
    rng = np.random.default_rng(5)
    cases = [(128, 97, 513), (13, 255, 64), (64, 10, 256), (1, 1, 1), (255, 33, 1000)]
    for i, (m, n, k) in enumerate(cases):
        for trans_a, trans_b in TRANS[i % 2::2]:
            a, b = _operands(rng, m, n, k, dtype, trans_a, trans_b)
            bias = (_rand(rng, (n,), dtype) * np.sqrt(k)).astype(dtype)  # moves about half the outputs below 0
            c0 = _rand(rng, (m, n), dtype)
            out = c0.copy()
            ops.matmul(a, b, trans_a=trans_a, trans_b=trans_b, alpha=0.5, beta=0.25, out=out,
                       bias=bias, activation=activation)
            ref, scale = _reference(a, b, trans_a, trans_b, 0.5, 0.25, c0, bias, activation)
            _assert_close(out, ref, scale, k, dtype)
            if activation == "relu" and m * n > 50:
                assert (out >= 0).all() and (out == 0).any()


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_empty_and_k_zero(isa, dtype):
    rng = np.random.default_rng(6)
    assert ops.matmul(np.ones((0, 3), dtype), np.ones((3, 4), dtype)).shape == (0, 4)
    assert ops.matmul(np.ones((2, 3), dtype), np.ones((3, 0), dtype)).shape == (2, 0)
    a, b = np.ones((5, 0), dtype), np.ones((0, 4), dtype)
    np.testing.assert_array_equal(ops.matmul(a, b), np.zeros((5, 4), dtype))
    c0 = _rand(rng, (5, 4), dtype)
    bias = _rand(rng, (4,), dtype)
    out = c0.copy()
    ops.matmul(a, b, beta=2.0, out=out, bias=bias, activation="relu")
    np.testing.assert_allclose(out, np.maximum(2.0 * c0 + bias, 0), rtol=1e-6)
    out = np.full((5, 4), np.nan, dtype)
    ops.matmul(a, b, out=out, bias=bias)
    np.testing.assert_allclose(out, np.broadcast_to(bias, (5, 4)), rtol=0)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_bit_identical_for_1_and_2_threads(isa, threads, dtype):
    rng = np.random.default_rng(7)
    shapes = [(128, 512, 300), (255, 97, 513), (1000, 10, 300), (64, 1100, 129),
              (200, 300, 1500)]  # the last: several K blocks, 10 column chunks on 2 threads
    for (m, n, k), (trans_a, trans_b) in zip(shapes, TRANS + TRANS[:1]):
        a, b = _operands(rng, m, n, k, dtype, trans_a, trans_b)
        bias = _rand(rng, (n,), dtype)
        results = []
        for t in (1, 2):
            threads(t)
            results.append(ops.matmul(a, b, trans_a=trans_a, trans_b=trans_b, bias=bias,
                                      activation="relu"))
        np.testing.assert_array_equal(results[0], results[1])
        ref, scale = _reference(a, b, trans_a, trans_b, bias=bias, act="relu")
        _assert_close(results[0], ref, scale, k, dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_weight_gradient_row_bands_match_one_thread(isa, threads, dtype):
    """op(A) = A^T with a short K (the weight gradient X^T dY) splits into row bands, one per
    thread (gemm.cpp, gemm_row_bands): bit-identical to one thread for 2 and 3 threads, also
    with beta, alpha, bias + relu, row counts that are no multiple of the tile and strided
    views, and within the float64 reference's bound."""
    rng = np.random.default_rng(17)
    cases = [(784, 512, 128, False), (97, 300, 64, True), (1031, 257, 17, False),
             (61, 1100, 200, True), (13, 40, 256, False)]
    for m, n, k, trans_b in cases:
        big = _rand(rng, (k + 3, m + 5), dtype)
        a = big[2:2 + k, 3:3 + m]  # strided view of the (k, m) operand
        b = _rand(rng, (n, k) if trans_b else (k, n), dtype)
        c0 = _rand(rng, (m, n), dtype)
        bias = _rand(rng, (n,), dtype)
        results = []
        for t in (1, 2, 3):
            threads(t)
            out = c0.copy()
            ops.matmul(a, b, trans_a=True, trans_b=trans_b, alpha=0.5, beta=-1.5, out=out,
                       bias=bias, activation="relu")
            results.append(out)
        np.testing.assert_array_equal(results[0], results[1])
        np.testing.assert_array_equal(results[0], results[2])
        ref, scale = _reference(a, b, True, trans_b, alpha=0.5, beta=-1.5, c0=c0, bias=bias,
                                act="relu")
        _assert_close(results[0], ref, scale, k, dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_bias_grad(dtype):
    rng = np.random.default_rng(8)
    for m, n in [(1, 1), (128, 512), (97, 13), (513, 1031), (3, 2)]:
        dy = _rand(rng, (m, n), dtype)
        got = ops.bias_grad(dy)
        # Rows are added in order 0..m-1: exactly what a sequential loop in dtype gives.
        seq = dy[0].copy()
        for row in dy[1:]:
            seq += row
        np.testing.assert_array_equal(got, seq)
        tol = 1e-6 * np.sqrt(m) if dtype == np.float32 else 1e-14 * np.sqrt(m)
        err = np.abs(got - dy.astype(np.float64).sum(0)) / np.abs(dy.astype(np.float64)).sum(0)
        assert err.max() <= tol
    big = _rand(rng, (40, 70), dtype)
    view = big[3:33, 5:60]
    out = np.full(55, np.nan, dtype)
    assert ops.bias_grad(view, out=out) is out
    np.testing.assert_allclose(out, view.astype(np.float64).sum(0), rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(ops.bias_grad(np.ones((0, 3), dtype)), np.zeros(3, dtype))


def test_bad_inputs_raise_value_errors():
    f32, f64 = np.float32, np.float64
    a = np.ones((4, 5), f32)
    b = np.ones((5, 6), f32)
    with pytest.raises(ValueError, match=r"\(4, 5\).*\(5, 6\)"):
        ops.matmul(a, b.astype(f64))
    with pytest.raises(ValueError, match=r"\(4, 5\).*\(4, 6\)"):
        ops.matmul(a, np.ones((4, 6), f32))
    with pytest.raises(ValueError, match=r"\(4, 5\) \(transposed\)"):
        ops.matmul(a, b, trans_a=True)
    with pytest.raises(ValueError, match="int64"):
        ops.matmul(a.astype(np.int64), b.astype(np.int64))
    with pytest.raises(ValueError, match=r"2-D.*\(5,\)"):
        ops.matmul(np.ones(5, f32), b)
    with pytest.raises(ValueError, match=r"out has shape \(4, 5\)"):
        ops.matmul(a, b, out=np.ones((4, 5), f32))
    with pytest.raises(ValueError, match="out has dtype float64"):
        ops.matmul(a, b, out=np.ones((4, 6), f64))
    with pytest.raises(ValueError, match="overlaps"):
        sq = np.ones((5, 5), f32)
        ops.matmul(sq, sq, out=sq)
    with pytest.raises(ValueError, match="overlaps"):
        big = np.ones((10, 10), f32)
        ops.matmul(big[:4, :5], big[4:9, :6], out=big[5:9, 4:10])
    with pytest.raises(ValueError, match="beta"):
        ops.matmul(a, b, beta=1.0)
    with pytest.raises(ValueError, match="'tanh'"):
        ops.matmul(a, b, activation="tanh")
    with pytest.raises(ValueError, match=r"bias has shape \(5,\)"):
        ops.matmul(a, b, bias=np.ones(5, f32))
    with pytest.raises(ValueError, match="bias has dtype float64"):
        ops.matmul(a, b, bias=np.ones(6, f64))
    with pytest.raises(ValueError, match="read-only"):
        ro = np.ones((4, 6), f32)
        ro.flags.writeable = False
        ops.matmul(a, b, out=ro)
    with pytest.raises(ValueError, match="contiguous rows"):
        _core.matmul(np.ones((4, 10), f32)[:, ::2], b)  # the raw core rejects, ops copies
    with pytest.raises(ValueError, match="contiguous rows"):
        ops.matmul(a, b, out=np.ones((4, 12), f32)[:, ::2])
    with pytest.raises(TypeError, match="out must be a numpy.ndarray"):
        ops.matmul(a, b, out=[[0.0] * 6] * 4)
    with pytest.raises(TypeError, match="out must be a numpy.ndarray"):
        ops.bias_grad(np.ones((4, 6), f32), out=[0.0] * 6)
    with pytest.raises(ValueError, match=r"\(3,\)"):
        ops.bias_grad(np.ones((4, 6), f32), out=np.ones(3, f32))
    with pytest.raises(ValueError, match="float64"):
        ops.bias_grad(np.ones((4, 6), f32), out=np.ones(6, f64))
    with pytest.raises(ValueError, match="2-D"):
        ops.bias_grad(np.ones(6, f32))


@pytest.mark.parametrize("path", ["packed", "direct"])
def test_forced_paths_match_reference(path):
    """Both the packed and the direct (small-size) path on shapes where auto picks the other."""
    code = f"""
import numpy as np
from lamina import _core, ops
rng = np.random.default_rng(9)
worst = 0.0
for isa, dtype in [(i, d) for i in _core.supported_isas() for d in (np.float32, np.float64)]:
    _core.set_isa(isa)
    # k = 2053 splits K into several blocks on every ISA (the AVX-512 float32 block is 1024).
    for m, n, k in [(7, 513, 31), (97, 10, 255), (130, 64, 13), (255, 1031, 97), (61, 130, 2053)]:
        for ta in (False, True):
            for tb in (False, True):
                a = rng.uniform(0.5, 1.5, (k, m) if ta else (m, k)).astype(dtype)
                b = rng.uniform(-1.5, -0.5, (n, k) if tb else (k, n)).astype(dtype)
                bias = rng.uniform(-1, 1, n).astype(dtype)
                out = rng.uniform(-1, 1, (m, n)).astype(dtype)
                ref = 0.5 * ((a.T if ta else a).astype(np.float64) @ (b.T if tb else b)) \\
                    + 2.0 * out + bias
                ops.matmul(a, b, trans_a=ta, trans_b=tb, alpha=0.5, beta=2.0, out=out, bias=bias)
                err = np.abs(out - ref).max() / np.abs(ref).max()
                worst = max(worst, err / (1e-6 if dtype == np.float32 else 1e-14))
print(worst)
"""
    proc = run_python(code, {"LAMINA_GEMM_PATH": path})
    assert proc.returncode == 0, proc.stderr
    assert float(proc.stdout) < 10.0


def test_kernel_name_follows_isa(isa):
    name = _core.gemm_kernel_name("float32")
    # avx512_bf16 adds only the bf16 GEMM's kernel: float32 runs the avx512 one there.
    level = {"generic": "ref", "avx512_bf16": "avx512"}.get(isa, isa)
    assert name.startswith("gemm_" + level + "_f32_")
    assert "_f64_" in _core.gemm_kernel_name("float64")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m,k,n", [(37, 40, 70), (300, 900, 700)])  # direct and packed paths
def test_fused_relu_keeps_nan(isa, dtype, m, k, n):
    # A NaN in op(A) must reach C through the fused ReLU (like ops.activation "relu"), on
    # every path and ISA level; negative values still become 0.
    a = np.full((m, k), -1.0, dtype)
    a[5, 3] = np.nan
    b = np.ones((k, n), dtype)
    c = ops.matmul(a, b, activation="relu")
    assert np.all(np.isnan(c[5]))
    assert np.all(c[np.arange(m) != 5] == 0)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_column_major_operands_are_read_as_transposes(dtype):
    # w.T and Fortran-ordered arrays are used in place, with the other trans flag
    rng = np.random.default_rng(5)
    for m, n, k in [(1, 7, 5), (13, 1, 29), (31, 97, 255), (128, 784, 512)]:
        for trans_a, trans_b in TRANS:
            a, b = _operands(rng, m, n, k, dtype, trans_a, trans_b)
            fa, fb = np.asfortranarray(a), np.asfortranarray(b)
            ref, scale = _reference(a, b, trans_a, trans_b)
            for x, y in [(fa, b), (a, fb), (fa, fb), (a.T.copy().T, b)]:
                got = ops.matmul(x, y, trans_a=trans_a, trans_b=trans_b)
                _assert_close(got, ref, scale, k, dtype)
