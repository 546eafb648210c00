"""bf16 GEMM (_core.matmul_bf16, round_to_bf16) against independent numpy references.

The oracle is a float64 product of the bf16-rounded operands. gemm_bf16 adds exact products
(two bf16 values multiply exactly in float32) into a float32 accumulator, one rounding per
term, in pairs (the odd K index first, as vdpbf16ps does), in K blocks of at most KC whose
results are combined through C := alpha * acc + C. So with u = 2**-24 and S the sum of the
magnitudes of every term that reaches an element (|alpha| sum_p |a_ip b_pj|, |beta c|, |bias|),
   |got - exact| <= (k + 2 * nkb + 3) * u * S * (1 + 1e-6)
(k - 1 additions inside the K walk, a rounding for alpha * acc and one for adding C per K
block, beta * C, the bias): Higham's gamma_n bound, with n = k + 2 nkb + 3.
"""

import itertools

import numpy as np
import pytest

import lamina
from lamina import _core

from conftest import run_python

pytestmark = pytest.mark.kernel

SIZES = (1, 2, 3, 7, 13, 31, 64, 97, 128, 255, 513)
TRANS = list(itertools.product((False, True), repeat=2))
U = 2.0 ** -24


# ---- round_to_bf16 -------------------------------------------------------------------------

def _bf16_reference(x):
    """Nearest bf16 by float64 distance (ties to an even last bit), as float32 bit patterns.

    Independent of the kernel's integer trick: for finite normal x the two candidates are the
    truncation and the next bf16 away from zero; subnormals give a signed zero, NaN a NaN with
    the quiet bit set, and the infinities stay.
    """
    u = x.view(np.uint32)
    sign = u & np.uint32(0x80000000)
    mag = u & np.uint32(0x7FFFFFFF)
    lo = mag & np.uint32(0xFFFF0000)
    hi = lo + np.uint32(0x10000)  # may reach 0x7f800000: infinity, the right answer past max
    with np.errstate(invalid="ignore", over="ignore"):  # NaN patterns: handled below
        xlo = lo.view(np.float32).astype(np.float64)
        # Past the largest bf16 the next step up is 2**128 (where infinity "starts").
        xhi = np.where(hi == np.uint32(0x7F800000), 2.0 ** 128,
                       hi.view(np.float32).astype(np.float64))
        xm = mag.view(np.float32).astype(np.float64)
        d_lo, d_hi = xm - xlo, xhi - xm
        pick_hi = (d_hi < d_lo) | ((d_hi == d_lo) & ((lo >> np.uint32(16)) & np.uint32(1) == 1))
    out = np.where(pick_hi, hi, lo) | sign
    is_sub = (u & np.uint32(0x7F800000)) == 0
    out = np.where(is_sub, sign, out)
    is_nan = mag > np.uint32(0x7F800000)
    out = np.where(is_nan, (u | np.uint32(0x00400000)) & np.uint32(0xFFFF0000), out)
    is_inf = mag == np.uint32(0x7F800000)
    out = np.where(is_inf, u, out)
    return out.astype(np.uint32)


def test_round_to_bf16_matches_numpy_bits():
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2**32, size=400_000, dtype=np.uint64).astype(np.uint32)
    specials = np.array([
        0x00000000, 0x80000000,              # zeros
        0x00000001, 0x807FFFFF, 0x00400000,  # subnormals -> signed zero
        0x00800000, 0x80800000,              # smallest normals (exact)
        0x7F800000, 0xFF800000,              # infinities
        0x7F800001, 0xFF800001, 0x7FC00000, 0x7FBFFFFF, 0xFFFFFFFF,  # NaNs (signalling, quiet)
        0x3F808000, 0x3F818000, 0xBF808000,  # ties: to even (down, up, negative)
        0x3F807FFF, 0x3F808001,              # just below / above a tie
        0x7F7FFFFF, 0x7F7F8000, 0x7F7F7FFF,  # past the largest bf16 -> inf; tie -> inf; below
        0x00FFFFFF,                          # rounds up into the next binade
    ], dtype=np.uint32)
    # Ties and near-ties everywhere: random high halves with low halves 0x8000, 0x7fff, 0x8001.
    tie_hi = rng.integers(0, 2**16, size=30_000).astype(np.uint32) << np.uint32(16)
    ties = np.concatenate([tie_hi | np.uint32(v) for v in (0x8000, 0x7FFF, 0x8001)])
    x = np.concatenate([bits, specials, ties]).view(np.float32)
    got = _core.round_to_bf16(x).view(np.uint32)
    ref = _bf16_reference(x)
    bad = np.flatnonzero(got != ref)
    assert bad.size == 0, [(hex(int(x.view(np.uint32)[i])), hex(int(got[i])), hex(int(ref[i])))
                           for i in bad[:5]]
    assert np.all(got & np.uint32(0xFFFF) == 0)


def test_round_to_bf16_keeps_shape_and_nan():
    x = np.array([[1.0, np.nan], [-np.inf, 1e-40]], np.float32)
    r = _core.round_to_bf16(x)
    assert r.shape == (2, 2) and r.dtype == np.float32
    assert r[0, 0] == 1.0 and np.isnan(r[0, 1]) and r[1, 0] == -np.inf and r[1, 1] == 0.0
    with pytest.raises(ValueError, match="float32"):
        _core.round_to_bf16(np.ones(3))


# ---- the GEMM ------------------------------------------------------------------------------

def _rand(rng, shape):
    """Never-zero float32 values: magnitudes in [0.5, 1.5], random signs."""
    x = rng.uniform(0.5, 1.5, size=shape) * rng.choice((-1.0, 1.0), size=shape)
    return x.astype(np.float32)


def _operands(rng, m, n, k, trans_a, trans_b):
    a = _rand(rng, (k, m) if trans_a else (m, k))
    b = _rand(rng, (n, k) if trans_b else (k, n))
    return a, b


def _reference(a, b, trans_a, trans_b, alpha=1.0, beta=0.0, c0=None, bias=None, act=None):
    """float64 product of the bf16-rounded operands, and the magnitude sum S of its terms."""
    a64 = _core.round_to_bf16(a).astype(np.float64)
    b64 = _core.round_to_bf16(b).astype(np.float64)
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
    return r, scale


def _tolerance(k):
    kc = _core.gemm_blocks("bfloat16")["KC"]
    nkb = max(1, -(-k // kc))
    return (k + 2 * nkb + 3) * U * (1 + 1e-6)


def _assert_close(got, ref, scale, k):
    assert got.dtype == np.float32
    assert np.all(np.isfinite(got))
    err = np.abs(got.astype(np.float64) - ref)
    bound = _tolerance(k) * scale
    assert np.all(err <= bound), f"max error / bound {np.max(err / np.maximum(bound, 1e-300)):.3g}"


def _sampled_shapes(seed, count, max_work=4e6):
    rng = np.random.default_rng(seed)
    shapes = []
    while len(shapes) < count:
        m, n, k = (int(rng.choice(SIZES)) for _ in range(3))
        if m * n * k <= max_work:
            shapes.append((m, n, k))
    return shapes


@pytest.mark.parametrize("trans_a,trans_b", TRANS, ids=["NN", "NT", "TN", "TT"])
def test_matches_float64_reference_of_rounded_inputs(isa, trans_a, trans_b):
    rng = np.random.default_rng(1)
    shapes = _sampled_shapes(10 * trans_a + trans_b, 8)
    # Every size in every dimension (1, primes, non-multiples of the 12 x 32 tile).
    shapes += [(s, SIZES[(i + 3) % len(SIZES)], SIZES[(i + 7) % len(SIZES)])
               for i, s in enumerate(SIZES)]
    shapes += [(SIZES[(i + 5) % len(SIZES)], s, SIZES[(i + 2) % len(SIZES)])
               for i, s in enumerate(SIZES)]
    shapes += [(SIZES[(i + 1) % len(SIZES)], SIZES[(i + 4) % len(SIZES)], s)
               for i, s in enumerate(SIZES)]
    for m, n, k in shapes:
        if m * n * k > 4e6:
            continue
        a, b = _operands(rng, m, n, k, trans_a, trans_b)
        got = _core.matmul_bf16(a, b, trans_a=trans_a, trans_b=trans_b)
        assert got.shape == (m, n)
        ref, scale = _reference(a, b, trans_a, trans_b)
        _assert_close(got, ref, scale, k)


def test_operands_are_rounded_to_bf16(isa):
    """The bound above is tight enough to tell bf16 operands from float32 ones."""
    rng = np.random.default_rng(11)
    a, b = _operands(rng, 64, 64, 256, False, False)
    got = _core.matmul_bf16(a, b).astype(np.float64)
    exact32 = a.astype(np.float64) @ b.astype(np.float64)
    scale = np.abs(a.astype(np.float64)) @ np.abs(b.astype(np.float64))
    assert np.max(np.abs(got - exact32) / scale) > 10 * _tolerance(256)


@pytest.mark.parametrize("trans_a,trans_b", TRANS, ids=["NN", "NT", "TN", "TT"])
def test_bits_equal_the_naive_reference(isa, trans_a, trans_b):
    """alpha = 1, beta = 0, k <= KC: one K block, the same sums in the same order as
    gemm_bf16_ref at every ISA level (the header's contract), so the bits agree."""
    rng = np.random.default_rng(3)
    for m, n, k in [(1, 1, 1), (13, 31, 97), (97, 65, 2), (128, 100, 255), (25, 33, 1024)]:
        a, b = _operands(rng, m, n, k, trans_a, trans_b)
        got = _core.matmul_bf16(a, b, trans_a=trans_a, trans_b=trans_b)
        ref = _core.matmul_bf16(a, b, trans_a=trans_a, trans_b=trans_b, reference=True)
        np.testing.assert_array_equal(got, ref)


def test_pairs_add_the_odd_product_first(isa):
    # Products p = (1, 0, 2**-25, -2**-24). Pairs, odd first: (0 + p1) + p0 = 1, then
    # 1 + p3 = 1 - 2**-24, + p2 = 1 - 2**-25: a tie, to even -> 1. In natural order it would be
    # 1 + 2**-25 -> 1, - 2**-24 -> 1 - 2**-24. The float64 truth, 1 - 2**-25, is within the
    # bound of either.
    a = np.array([[1.0, 0.0, 2.0 ** -12, -(2.0 ** -12)]], np.float32)
    b = np.array([[1.0], [0.0], [2.0 ** -13], [2.0 ** -12]], np.float32)
    assert _core.matmul_bf16(a, b, reference=True)[0, 0] == 1.0
    assert _core.matmul_bf16(a, b)[0, 0] == 1.0
    assert np.float32(1.0) - np.float32(2.0 ** -24) != 1.0


@pytest.mark.parametrize("trans_a,trans_b", TRANS, ids=["NN", "NT", "TN", "TT"])
def test_strided_views_in_place(isa, trans_a, trans_b):
    rng = np.random.default_rng(2)
    for m, n, k in [(13, 31, 97), (97, 130, 64), (64, 7, 513), (3, 65, 2)]:
        big_a = _rand(rng, (m + k + 5, m + k + 9))
        big_b = _rand(rng, (n + k + 4, n + k + 11))
        a = big_a[2:2 + (k if trans_a else m), 3:3 + (m if trans_a else k)]
        b = big_b[1:1 + (n if trans_b else k), 5:5 + (k if trans_b else n)]
        big_c = np.full((m + 2, n + 6), np.nan, np.float32)
        out = big_c[1:1 + m, 2:2 + n]
        res = _core.matmul_bf16(a, b, trans_a=trans_a, trans_b=trans_b, out=out)
        assert res is out or np.shares_memory(res, big_c)
        ref, scale = _reference(a, b, trans_a, trans_b)
        _assert_close(out, ref, scale, k)
        # Outside the view: untouched.
        assert np.all(np.isnan(big_c[0])) and np.all(np.isnan(big_c[:, :2]))
        assert np.all(np.isnan(big_c[:, 2 + n:]))


@pytest.mark.parametrize("alpha,beta", [(1.0, 0.0), (-0.5, 0.0), (1.0, 1.0), (2.5, -1.5)])
def test_alpha_beta(isa, alpha, beta):
    rng = np.random.default_rng(4)
    for (m, n, k), (ta, tb) in zip([(31, 65, 97), (130, 200, 1100), (7, 3, 513)], TRANS):
        a, b = _operands(rng, m, n, k, ta, tb)
        c0 = _rand(rng, (m, n))
        out = c0.copy() if beta != 0.0 else np.full((m, n), np.nan, np.float32)
        _core.matmul_bf16(a, b, trans_a=ta, trans_b=tb, alpha=alpha, beta=beta, out=out)
        ref, scale = _reference(a, b, ta, tb, alpha, beta, c0)
        _assert_close(out, ref, scale, k)


@pytest.mark.parametrize("activation", [None, "relu"])
def test_bias_activation_epilogue(isa, activation):
    rng = np.random.default_rng(5)
    for (m, n, k), (ta, tb) in zip([(37, 70, 40), (300, 129, 700), (12, 32, 1), (5, 1, 3)],
                                   TRANS):
        a, b = _operands(rng, m, n, k, ta, tb)
        bias = _rand(rng, (n,))
        got = _core.matmul_bf16(a, b, trans_a=ta, trans_b=tb, bias=bias, activation=activation)
        ref, scale = _reference(a, b, ta, tb, bias=bias, act=activation)
        _assert_close(got, ref, scale, k)
        if activation == "relu":
            assert np.all(got >= 0) and np.any(got == 0)


def test_relu_keeps_nan(isa):
    a = np.full((40, 50), -1.0, np.float32)
    a[5, 3] = np.nan
    c = _core.matmul_bf16(a, np.ones((50, 70), np.float32), activation="relu")
    assert np.all(np.isnan(c[5]))
    assert np.all(c[np.arange(40) != 5] == 0)


def test_empty_and_k_zero(isa):
    empty = _core.matmul_bf16(np.ones((0, 3), np.float32), np.ones((3, 4), np.float32))
    assert empty.shape == (0, 4)
    out = np.full((2, 3), 7.0, np.float32)
    _core.matmul_bf16(np.ones((2, 0), np.float32), np.ones((0, 3), np.float32), beta=0.5,
                      out=out, bias=np.array([1, 2, 3], np.float32))
    np.testing.assert_array_equal(out, [[4.5, 5.5, 6.5]] * 2)
    out = np.full((2, 3), np.nan, np.float32)
    _core.matmul_bf16(np.ones((2, 0), np.float32), np.ones((0, 3), np.float32), out=out)
    np.testing.assert_array_equal(out, np.zeros((2, 3)))


def test_bit_identical_for_1_and_2_threads(isa, threads):
    rng = np.random.default_rng(7)
    shapes = [(128, 512, 300), (255, 97, 513), (1000, 10, 301), (64, 1100, 129),
              (200, 300, 2500)]  # the last: three K blocks (one odd), several column chunks
    for (m, n, k), (ta, tb) in zip(shapes, TRANS + TRANS[:1]):
        a, b = _operands(rng, m, n, k, ta, tb)
        bias = _rand(rng, (n,))
        results = []
        for t in (1, 2):
            threads(t)
            results.append(_core.matmul_bf16(a, b, trans_a=ta, trans_b=tb, bias=bias,
                                             activation="relu"))
        np.testing.assert_array_equal(results[0], results[1])
        ref, scale = _reference(a, b, ta, tb, bias=bias, act="relu")
        _assert_close(results[0], ref, scale, k)


def test_weight_gradient_row_bands_match_one_thread(isa, threads):
    """op(A) = A^T with a short K (the weight gradient) splits into row bands on several
    threads (gemm_bf16.cpp, gemm_split): bit-identical to one thread at 2 and 3 threads,
    with alpha, beta, bias + relu, row counts that are no multiple of the tile, strided
    views, and within the float64 reference's bound."""
    rng = np.random.default_rng(19)
    for m, n, k, tb in [(784, 512, 128, False), (97, 300, 64, True), (1031, 257, 17, False),
                        (61, 700, 200, True)]:
        big = _rand(rng, (k + 3, m + 5))
        a = big[2:2 + k, 3:3 + m]  # strided view of the (k, m) operand
        b = _rand(rng, (n, k) if tb else (k, n))
        c0, bias = _rand(rng, (m, n)), _rand(rng, (n,))
        results = []
        for t in (1, 2, 3):
            threads(t)
            out = c0.copy()
            _core.matmul_bf16(a, b, trans_a=True, trans_b=tb, alpha=0.5, beta=-1.5, out=out,
                              bias=bias, activation="relu")
            results.append(out)
        np.testing.assert_array_equal(results[0], results[1])
        np.testing.assert_array_equal(results[0], results[2])
        ref, scale = _reference(a, b, True, tb, 0.5, -1.5, c0, bias=bias, act="relu")
        _assert_close(results[0], ref, scale, k)


def test_same_bits_at_every_isa_level():
    """The K split does not depend on the level (the header's contract): alpha = 1 and beta
    in {0, 1} give the same bits everywhere, over several K blocks too."""
    rng = np.random.default_rng(9)
    cases = [(_operands(rng, 50, 70, 2100, ta, tb), ta, tb) for ta, tb in TRANS]
    before = _core.active_isa()
    results = {}
    try:
        for level in _core.supported_isas():
            lamina.runtime.set_isa(level)
            results[level] = [_core.matmul_bf16(a, b, trans_a=ta, trans_b=tb)
                              for (a, b), ta, tb in cases]
    finally:
        _core.set_isa(before)
    first = next(iter(results.values()))
    for level, res in results.items():
        for x, y in zip(first, res):
            np.testing.assert_array_equal(x, y, err_msg=level)


def test_kernel_name_and_blocks_follow_isa(isa):
    name = _core.gemm_kernel_name("bfloat16")
    if isa == "avx512_bf16":
        assert name == "gemm_avx512bf16_12x32"
    else:
        assert name == "bf16emu_" + _core.gemm_kernel_name("float32")
    b = _core.gemm_blocks("bfloat16")
    assert b["KC"] % 2 == 0 and b["MC"] % b["MR"] == 0 and b["NC"] % b["NR"] == 0
    with pytest.raises(ValueError, match="'float16'"):
        _core.gemm_kernel_name("float16")


def test_dot_peak_only_on_the_bf16_level(isa):
    peak = _core.bf16_dot_peak_gflops(0.01)
    assert (peak > 0) == (isa == "avx512_bf16")
    with pytest.raises(ValueError, match="seconds"):
        _core.bf16_dot_peak_gflops(0.0)


def test_bad_inputs_raise_value_errors():
    a32 = np.ones((3, 4), np.float32)
    with pytest.raises(ValueError, match="float32"):
        _core.matmul_bf16(np.ones((3, 4)), np.ones((4, 2)))
    with pytest.raises(ValueError, match="b .* must be float32"):
        _core.matmul_bf16(a32, np.ones((4, 2), np.float64))
    with pytest.raises(ValueError, match="inner dimensions"):
        _core.matmul_bf16(a32, np.ones((3, 2), np.float32))
    with pytest.raises(ValueError, match="'tanh'"):
        _core.matmul_bf16(a32, np.ones((4, 2), np.float32), activation="tanh")
    with pytest.raises(ValueError, match="needs out"):
        _core.matmul_bf16(a32, np.ones((4, 2), np.float32), beta=1.0)
    with pytest.raises(ValueError, match="bias"):
        _core.matmul_bf16(a32, np.ones((4, 2), np.float32), bias=np.ones(3, np.float32))


def test_env_level_reaches_bf16_kernel():
    if "avx512_bf16" not in _core.supported_isas():
        pytest.skip("no AVX512_BF16 here")
    code = "from lamina import _core; print(_core.gemm_kernel_name('bfloat16'))"
    out = run_python(code, {"LAMINA_ISA": "avx512"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "bf16emu_gemm_avx512_f32_12x32"
    out = run_python(code)
    assert out.stdout.strip() == "gemm_avx512bf16_12x32"


@pytest.mark.parametrize("trans_a,trans_b", TRANS, ids=["NN", "NT", "TN", "TT"])
def test_narrow_outputs_equal_the_wide_kernel_bits(isa, trans_a, trans_b, threads):
    """Outputs of at most 16 columns take their own tile (16 x 16 at the avx512_bf16 level):
    every element is the same sum in the same order, so the first 16 columns of a 17-column
    product (the wide tile) are the bits of the 16-column one, over several K blocks, with
    alpha, beta, bias and relu, at 1 and 2 threads."""
    rng = np.random.default_rng(11)
    kc = _core.gemm_blocks("bfloat16")["KC"]
    for m, k in [(1, 1), (15, 2), (16, 255), (17, 97), (33, kc + 3), (200, 2 * kc + 1)]:
        a, b = _operands(rng, m, 17, k, trans_a, trans_b)
        b16 = b[:16] if trans_b else b[:, :16]
        c0 = _rand(rng, (m, 17))
        bias = _rand(rng, (17,))
        kw = dict(trans_a=trans_a, trans_b=trans_b, alpha=0.75, beta=0.5, activation="relu")
        wide = _core.matmul_bf16(a, b, out=c0.copy(), bias=bias, **kw)
        for t in (1, 2):
            threads(t)
            narrow = _core.matmul_bf16(a, np.ascontiguousarray(b16), out=c0[:, :16].copy(),
                                       bias=bias[:16], **kw)
            np.testing.assert_array_equal(narrow, wide[:, :16])
        for n in (1, 10):  # fewer columns than the narrow tile
            bn = np.ascontiguousarray(b[:n] if trans_b else b[:, :n])
            np.testing.assert_array_equal(_core.matmul_bf16(a, bn, trans_a=trans_a,
                                                            trans_b=trans_b),
                                          _core.matmul_bf16(a, b, trans_a=trans_a,
                                                            trans_b=trans_b)[:, :n])
