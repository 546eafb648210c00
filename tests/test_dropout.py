"""Dropout masks (counter-based SplitMix64) and inverted scaling."""

import math

import numpy as np
import pytest

from lamina import _core, ops

import ref_ops

pytestmark = pytest.mark.kernel

SIZES = [1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 97, 255, 513, 1025, 70001]


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.9])
def test_keep_fraction_within_3_sigma(isa, rate):
    n = 1_000_000
    keep = ops.dropout_mask(n, rate, seed=12345, step=7, layer=1)
    p = 1.0 - rate
    sigma = math.sqrt(n * p * (1 - p))
    assert abs(int(keep.sum()) - n * p) < 3 * sigma
    # neighbours are independent: P(keep_i and keep_i+1) ~ p^2 (the two halves of one word
    # and the boundary between words)
    both = np.count_nonzero(keep[:-1] & keep[1:])
    pp = p * p
    assert abs(both - (n - 1) * pp) < 4 * math.sqrt(n * pp * (1 - pp))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_numpy_splitmix_reference(isa, dtype):
    """Every ISA path gives exactly the bits of the independent numpy generator."""
    for n in SIZES:
        for rate in (0.3, 0.5):
            want = ref_ops.dropout_keep(n, rate, seed=99, step=n, layer=2)
            np.testing.assert_array_equal(ops.dropout_mask(n, rate, 99, n, 2), want)
            x = np.random.default_rng(n).normal(size=n).astype(dtype)
            y, packed = ops.dropout(x, rate, 99, n, 2)
            np.testing.assert_array_equal(np.unpackbits(packed, bitorder="little", count=n),
                                          want)
            np.testing.assert_array_equal(y, ref_ops.dropout(x, want, rate))
            if n % 8:
                assert packed[-1] >> (n % 8) == 0  # padding bits are zero


def test_same_bits_on_every_isa_and_thread_count(threads):
    from lamina import runtime

    before = _core.active_isa()
    x = np.random.default_rng(0).normal(size=(1031, 300)).astype(np.float32)  # 2 chunks
    results = []
    try:
        for level in _core.supported_isas():
            runtime.set_isa(level)
            for t in (1, 2):
                threads(t)
                y, m = ops.dropout(x, 0.4, seed=5, step=3, layer=0)
                dx = ops.dropout_grad(x, m, 0.4)
                results.append((level, t, y, m, dx))
    finally:
        _core.set_isa(before)
    for level, t, y, m, dx in results[1:]:
        np.testing.assert_array_equal(y, results[0][2], err_msg=f"{level} {t} threads")
        np.testing.assert_array_equal(m, results[0][3])
        np.testing.assert_array_equal(dx, results[0][4])


def test_reproducible_and_distinct_streams():
    n = 4096
    base = ops.dropout_mask(n, 0.5, seed=1, step=10, layer=0)
    np.testing.assert_array_equal(base, ops.dropout_mask(n, 0.5, seed=1, step=10, layer=0))
    for kw in ({"seed": 2, "step": 10, "layer": 0}, {"seed": 1, "step": 11, "layer": 0},
               {"seed": 1, "step": 10, "layer": 1}, {"seed": 2**64 - 1, "step": 10, "layer": 0}):
        other = ops.dropout_mask(n, 0.5, **kw)
        agree = np.count_nonzero(other == base) / n
        assert 0.45 < agree < 0.55, (kw, agree)  # uncorrelated, not merely different
    # a prefix of a longer mask is the shorter mask (bits depend on the index only)
    np.testing.assert_array_equal(ops.dropout_mask(100, 0.5, 1, 10, 0), base[:100])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_backward_values(dtype):
    rate = 0.25
    x = np.random.default_rng(3).normal(size=(13, 31)).astype(dtype)
    y, m = ops.dropout(x, rate, seed=7, step=0)
    keep = np.unpackbits(m, bitorder="little", count=x.size).astype(bool).reshape(x.shape)
    s = dtype(1.0 / (1.0 - rate))
    np.testing.assert_array_equal(y, np.where(keep, x * s, 0))
    np.testing.assert_allclose(y[keep], x[keep] / (1 - rate), rtol=1e-6)
    dy = np.random.default_rng(4).normal(size=x.shape).astype(dtype)
    np.testing.assert_array_equal(ops.dropout_grad(dy, m, rate), np.where(keep, dy * s, 0))
    # in place through the core
    z = x.copy()
    _core.dropout_forward(z, z, rate, 7, 0, 0, None)
    np.testing.assert_array_equal(z, y)
    want_dx = ops.dropout_grad(dy, m, rate)
    _core.dropout_backward(dy, m, rate, dy)
    np.testing.assert_array_equal(dy, want_dx)


def test_rate_zero_is_identity_and_mask_all_ones():
    x = np.arange(1.0, 12.0)
    y, m = ops.dropout(x, 0.0, seed=1, step=1)
    np.testing.assert_array_equal(y, x)
    assert ops.dropout_mask(11, 0.0, 1, 1).all()
    assert m.tolist() == [255, 0b111]


def test_empty():
    y, m = ops.dropout(np.zeros(0), 0.5, 1, 1)
    assert y.shape == (0,) and m.shape == (0,)
    assert ops.dropout_mask(0, 0.5, 1, 1).shape == (0,)


def test_bad_inputs():
    x = np.ones(10)
    for rate in (1.0, -0.1, float("nan"), 1.5):
        with pytest.raises(ValueError, match="rate must be in"):
            ops.dropout(x, rate, 1, 1)
        with pytest.raises(ValueError, match="rate must be in"):
            _core.dropout_mask(10, rate, 1, 1, 0, np.empty(2, np.uint8))
    with pytest.raises(ValueError, match="seed must be an integer in"):
        _core.dropout_mask(10, 0.5, -1, 1, 0, np.empty(2, np.uint8))
    with pytest.raises(ValueError, match="layer must be an integer in"):
        _core.dropout_mask(10, 0.5, 1, 1, 2**32, np.empty(2, np.uint8))
    with pytest.raises(TypeError, match="seed must be an int"):
        ops.dropout(x, 0.5, 1.5, 1)
    with pytest.raises(ValueError, match=r"mask must have shape \(2,\).*\(3,\)"):
        _core.dropout_forward(x, np.empty(10), 0.5, 1, 1, 0, np.empty(3, np.uint8))
    with pytest.raises(TypeError, match="mask must be uint8"):
        ops.dropout_grad(x, np.zeros(2, np.int32), 0.5)
    with pytest.raises(ValueError, match="out overlaps x"):
        big = np.ones(20)
        _core.dropout_forward(big[:10], big[5:15], 0.5, 1, 1, 0, None)
    with pytest.raises(ValueError, match="C-contiguous"):
        big = np.ones(20)
        _core.dropout_forward(big[::2], np.empty(10), 0.5, 1, 1, 0, None)
    with pytest.raises(ValueError, match="n must be"):
        ops.dropout_mask(-1, 0.5, 1, 1)


def test_mask_bytes_are_uniform_chi_square():
    """At rate 0.5 each mask byte is 8 fair coins: its 256 values are equally likely, and a byte
    does not predict the next one (also across rows: the pair test spans the whole mask)."""
    packed = np.packbits(ops.dropout_mask(8 * 200_000, 0.5, seed=2024, step=1, layer=3),
                         bitorder="little")
    counts = np.bincount(packed, minlength=256)
    exp = packed.size / 256
    chi2 = ((counts - exp) ** 2 / exp).sum()
    assert chi2 < 255 + 5 * np.sqrt(2 * 255), chi2  # 255 dof, 5 sigma
    # high nibble of byte i vs high nibble of byte i + 1 (16 x 16 table)
    pairs = (packed[:-1] >> 4).astype(np.int64) * 16 + (packed[1:] >> 4)
    counts = np.bincount(pairs, minlength=256)
    exp = pairs.size / 256
    chi2 = ((counts - exp) ** 2 / exp).sum()
    assert chi2 < 255 + 5 * np.sqrt(2 * 255), chi2


def test_consecutive_steps_and_layers_are_independent():
    """Masks of neighbouring steps / layers agree on ~p^2 + (1-p)^2 of the elements."""
    n, rate = 200_000, 0.3
    p = 1 - rate
    want = p * p + (1 - p) * (1 - p)
    sd = np.sqrt(want * (1 - want) / n)
    base = ops.dropout_mask(n, rate, seed=0, step=0, layer=0)
    for kw in ({"step": 1, "layer": 0}, {"step": 0, "layer": 1}, {"step": 2**32, "layer": 0}):
        agree = np.mean(ops.dropout_mask(n, rate, seed=0, **kw) == base)
        assert abs(agree - want) < 5 * sd, (kw, agree)
