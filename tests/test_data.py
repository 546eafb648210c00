"""The epoch shuffle (lamina._core.permutation), against its reference loop and the order
lamina has always produced (seeded runs keep their batches)."""

import hashlib

import numpy as np
import pytest

from lamina import _core


@pytest.mark.parametrize("n", [0, 1, 2, 7, 1000])
def test_permutation_is_a_permutation(n):
    p = _core.permutation(n, 42, 0)
    assert p.dtype == np.int64
    assert np.array_equal(np.sort(p), np.arange(n))


def test_permutation_reproducible_and_varies_by_epoch():
    a = _core.permutation(1000, 7, 3)
    assert np.array_equal(a, _core.permutation(1000, 7, 3))
    assert not np.array_equal(a, _core.permutation(1000, 7, 4))
    assert not np.array_equal(a, _core.permutation(1000, 8, 3))


def test_permutation_is_roughly_uniform():
    # Position of element 0 over many epochs: every slot about equally likely.
    n, trials = 5, 5000
    counts = np.zeros(n)
    for e in range(trials):
        counts[np.flatnonzero(_core.permutation(n, 1, e) == 0)[0]] += 1
    expected = trials / n
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected))


def test_permutation_rejects_negative():
    with pytest.raises(ValueError, match="-1"):
        _core.permutation(-1, 0, 0)


@pytest.mark.parametrize("n,seed,epoch", [(0, 0, 0), (1, 5, 5), (13, 3, 1), (1000, 2**63, 9),
                                          (4097, 2**64 - 1, 2**64 - 1)])
def test_permutation_matches_reference_loop(n, seed, epoch):
    np.testing.assert_array_equal(_core.permutation(n, seed, epoch),
                                  _core.permutation(n, seed, epoch, reference=True))


def test_permutation_keeps_the_order_of_earlier_releases():
    # Values from the Cython implementation this replaced (lamina._data, until 0.x).
    assert _core.permutation(10, 42, 0).tolist() == [0, 9, 7, 3, 5, 6, 1, 4, 8, 2]
    assert _core.permutation(7, 2**64 - 1, 2**64 - 1).tolist() == [1, 2, 5, 6, 3, 4, 0]
    digest = hashlib.sha256(_core.permutation(100000, 123456789, 17).tobytes()).hexdigest()
    assert digest == "2fb8d1d856912b046183d1d4f1c57ac14dbcad035a38691256b3edc8df001788"
