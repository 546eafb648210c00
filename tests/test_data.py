"""The Cython data path (lamina._data): permutations, row gathers with casts, labels."""

import numpy as np
import pytest

from lamina import _data


@pytest.mark.parametrize("n", [0, 1, 2, 7, 1000])
def test_permutation_is_a_permutation(n):
    p = _data.permutation(n, 42, 0)
    assert p.dtype == np.int64
    assert np.array_equal(np.sort(p), np.arange(n))


def test_permutation_reproducible_and_varies_by_epoch():
    a = _data.permutation(1000, 7, 3)
    assert np.array_equal(a, _data.permutation(1000, 7, 3))
    assert not np.array_equal(a, _data.permutation(1000, 7, 4))
    assert not np.array_equal(a, _data.permutation(1000, 8, 3))


def test_permutation_is_roughly_uniform():
    # Position of element 0 over many epochs: every slot about equally likely.
    n, trials = 5, 5000
    counts = np.zeros(n)
    for e in range(trials):
        counts[np.flatnonzero(_data.permutation(n, 1, e) == 0)[0]] += 1
    expected = trials / n
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected))


def test_permutation_rejects_negative():
    with pytest.raises((ValueError, OverflowError)):
        _data.permutation(-1, 0, 0)


@pytest.mark.parametrize("src_dtype", [np.float32, np.float64, np.int32, np.int64, np.uint8])
@pytest.mark.parametrize("dst_dtype", [np.float32, np.float64])
def test_gather_rows_casts(src_dtype, dst_dtype):
    rng = np.random.default_rng(0)
    src = (rng.random((13, 7)) * 100).astype(src_dtype)
    idx = rng.permutation(13)[:5].astype(np.int64)
    out = np.empty((8, 7), dst_dtype)
    _data.gather_rows(src, idx, out)
    np.testing.assert_array_equal(out[:5], src[idx].astype(dst_dtype))


def test_gather_rows_strided_and_readonly_views():
    base = np.arange(60, dtype=np.float64).reshape(6, 10)
    src = base[::2, 1::3]  # non-contiguous in both dimensions
    src.flags.writeable = False
    idx = np.array([2, 0], np.int64)
    out = np.empty((2, src.shape[1]), np.float32)
    _data.gather_rows(src, idx, out)
    np.testing.assert_array_equal(out, src[idx])


def test_gather_rows_rejects_bad_index_and_shape():
    src = np.zeros((4, 3), np.float32)
    with pytest.raises(ValueError, match="index 4 at position 1"):
        _data.gather_rows(src, np.array([0, 4], np.int64), np.empty((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"\(2, 2\)"):
        _data.gather_rows(src, np.array([0, 1], np.int64), np.empty((2, 2), np.float32))


def test_labels_and_one_hot():
    y = np.array([0, 2, 1], np.int64)
    assert _data.check_labels(y, 3) == -1
    assert _data.check_labels(np.array([0, 3, -1], np.int32), 3) == 1
    out = np.empty((3, 3), np.float32)
    _data.one_hot(y, out)
    np.testing.assert_array_equal(out, np.eye(3, dtype=np.float32)[y])
    with pytest.raises(ValueError, match="label 5 at position 1"):
        _data.one_hot(np.array([0, 5], np.int64), out)
