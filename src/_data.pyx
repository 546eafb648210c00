# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""lamina._data: the per-batch data path, in one nogil pass each.

- ``permutation(n, seed, epoch)``: the epoch's shuffle, a Fisher-Yates driven by a
  counter-based generator (splitmix64 of seed and epoch), so it is reproducible and cheap.
- ``gather_rows(src, idx, out)``: ``out[i, :] = src[idx[i], :]`` with the dtype cast, into a
  reused C-contiguous buffer; ``src`` may be any 2-D strided view.
- ``check_labels(y, n_classes)``: the first label outside ``[0, n_classes)``.
- ``one_hot(y, out)``: labels to a one-hot float matrix.
"""

from libc.stdint cimport int64_t, uint64_t, int32_t, uint8_t

ctypedef fused src_t:
    float
    double
    int32_t
    int64_t
    uint8_t

ctypedef fused dst_t:
    float
    double

ctypedef fused label_t:
    int32_t
    int64_t


cdef inline uint64_t _splitmix64(uint64_t* state) noexcept nogil:
    state[0] += <uint64_t>0x9E3779B97F4A7C15
    cdef uint64_t z = state[0]
    z = (z ^ (z >> 30)) * <uint64_t>0xBF58476D1CE4E5B9
    z = (z ^ (z >> 27)) * <uint64_t>0x94D049BB133111EB
    return z ^ (z >> 31)


cdef inline uint64_t _bounded(uint64_t* state, uint64_t bound) noexcept nogil:
    # Unbiased integer in [0, bound) by rejection (bound > 0).
    cdef uint64_t threshold = (-bound) % bound
    cdef uint64_t r
    while True:
        r = _splitmix64(state)
        if r >= threshold:
            return r % bound


def permutation(int64_t n, uint64_t seed, uint64_t epoch):
    """Returns a reproducible permutation of ``range(n)`` (int64) for ``(seed, epoch)``."""
    import numpy as np
    if n < 0:
        raise ValueError(f"permutation size must be >= 0, got {n}")
    out = np.arange(n, dtype=np.int64)
    cdef int64_t[::1] p = out
    cdef uint64_t state = seed * <uint64_t>0xD1B54A32D192ED03 + epoch * <uint64_t>0x9E3779B97F4A7C15 + 1
    cdef int64_t i, j, tmp
    with nogil:
        i = n - 1
        while i > 0:
            j = <int64_t>_bounded(&state, <uint64_t>(i + 1))
            tmp = p[i]
            p[i] = p[j]
            p[j] = tmp
            i -= 1
    return out


def gather_rows(const src_t[:, :] src, const int64_t[::1] idx, dst_t[:, ::1] out):
    """Copies ``src[idx[i], :]`` into ``out[i, :]`` for every i, casting to out's dtype.

    Args:
        src: 2-D array (float32, float64, int32, int64 or uint8), any strides.
        idx: 1-D int64 row indices, each in ``[0, len(src))``.
        out: C-contiguous float32/float64 buffer with ``len(idx)`` rows (or more) and
            ``src.shape[1]`` columns.
    """
    cdef Py_ssize_t n = idx.shape[0], cols = src.shape[1], rows = src.shape[0]
    cdef Py_ssize_t i, j
    cdef int64_t r
    if out.shape[0] < n or out.shape[1] != cols:
        raise ValueError(
            f"gather_rows: out has shape ({out.shape[0]}, {out.shape[1]}), "
            f"need at least ({n}, {cols})")
    for i in range(n):
        if idx[i] < 0 or idx[i] >= rows:
            raise ValueError(f"gather_rows: index {idx[i]} at position {i} is outside [0, {rows})")
    with nogil:
        for i in range(n):
            r = idx[i]
            for j in range(cols):
                out[i, j] = <dst_t>src[r, j]


def check_labels(const label_t[:] y, int64_t n_classes):
    """Returns -1 when every label is in ``[0, n_classes)``, else the first bad position."""
    cdef Py_ssize_t i, n = y.shape[0]
    cdef Py_ssize_t bad = -1
    with nogil:
        for i in range(n):
            if y[i] < 0 or y[i] >= n_classes:
                bad = i
                break
    return bad


def one_hot(const label_t[:] y, dst_t[:, ::1] out):
    """Writes the one-hot encoding of ``y`` into ``out`` (shape ``(len(y), n_classes)``)."""
    cdef Py_ssize_t i, j, n = y.shape[0], k = out.shape[1]
    if out.shape[0] < n:
        raise ValueError(f"one_hot: out has {out.shape[0]} rows, need {n}")
    bad = check_labels(y, k)
    if bad >= 0:
        raise ValueError(f"one_hot: label {y[bad]} at position {bad} is outside [0, {k})")
    with nogil:
        for i in range(n):
            for j in range(k):
                out[i, j] = 0
            out[i, y[i]] = 1
