"""What the Keras dataset loaders share: where Keras keeps the files, the seeded train/test
split of the housing sets, and the word-index sequences of imdb and reuters (read from their
``.npz`` without unpickling anything but lists of ints)."""

from __future__ import annotations

import io
import pickle
import zipfile

import numpy as np

from ..file_download import get_file

# Where Keras's loaders download from (the same files, so Keras's cache serves both).
ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


# The files' hashes as Keras's loaders check them (sha256; md5 for the word indices).
HASHES = {
    "mnist.npz": "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
    "boston_housing.npz": "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5",
    "california_housing.npz":
        "1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f",
    "imdb.npz": "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f",
    "imdb_word_index.json": "bfafd718b763782e994055a2d397834f",
    "reuters.npz": "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916",
    "reuters_word_index.json": "4d44cc38712099c9e383dc6e5f11a921",
}


def fetch(path, name, **kwargs):
    """The cached path of Keras's file ``name`` (downloaded on first use, hash checked)."""
    return get_file(fname=path, origin=ORIGIN + name, file_hash=HASHES.get(name), **kwargs)


def check_split(test_split):
    if isinstance(test_split, bool) or not isinstance(test_split, (int, float)) or not (
            0 <= test_split < 1):
        raise ValueError(f"test_split must be in [0, 1), got {test_split!r}")
    return float(test_split)


def shuffled(seed, *arrays):
    """The arrays in the order of Keras's seeded shuffle (``RandomState(seed).shuffle``)."""
    order = np.arange(len(arrays[0]))
    np.random.RandomState(seed).shuffle(order)
    return [a[order] for a in arrays]


def load_split(path, name, test_split, seed, rows=None):
    """A housing set: Keras's ``x``/``y`` file, its first ``rows`` samples (None: all),
    shuffled with ``seed`` and split (the boston and california loaders)."""
    test_split = check_split(test_split)
    with np.load(fetch(path, name), allow_pickle=False) as f:
        x, y = f["x"][:rows], f["y"][:rows]
    return split(*shuffled(seed, x, y), test_split)


def split(x, y, test_split):
    """``(x_train, y_train), (x_test, y_test)``: the first ``1 - test_split`` for training."""
    cut = int(len(x) * (1 - test_split))
    return (np.array(x[:cut]), np.array(y[:cut])), (np.array(x[cut:]), np.array(y[cut:]))


class _ListsOnly(pickle.Unpickler):
    """Unpickles numpy's object arrays of Python lists and ints, and nothing else."""

    _ALLOWED = {("numpy.core.multiarray", "_reconstruct"),
                ("numpy._core.multiarray", "_reconstruct"), ("numpy", "ndarray"),
                ("numpy", "dtype"), ("builtins", "list"), ("numpy.core.multiarray", "scalar"),
                ("numpy._core.multiarray", "scalar")}

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"the dataset file holds a {module}.{name} object: only "
                                     "arrays of integer lists are read")


def load_sequences(path):
    """The arrays of an ``.npz`` whose members may be object arrays of int lists."""
    out = {}
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            if not member.endswith(".npy"):
                continue
            buf = io.BytesIO(archive.read(member))
            try:
                arr = np.lib.format.read_array(buf, allow_pickle=False)
            except ValueError:  # an object array: its pickle, restricted
                buf.seek(0)
                major, _ = np.lib.format.read_magic(buf)
                if major == 1:
                    np.lib.format.read_array_header_1_0(buf)
                else:
                    np.lib.format.read_array_header_2_0(buf)
                arr = _ListsOnly(buf).load()
            out[member[:-4]] = arr
    return out


def shift_and_filter(xs, labels, *, maxlen, start_char, index_from):
    """Keras's first transforms of imdb/reuters sequences: add ``index_from`` to every
    index, put ``start_char`` first, drop sequences of ``maxlen`` or more."""
    shift = index_from or 0
    head = [] if start_char is None else [start_char]
    xs = [head + [int(w) + shift for w in x] for x in xs]
    labels = np.asarray(labels)
    if maxlen:
        keep = [i for i, x in enumerate(xs) if len(x) < maxlen]
        xs, labels = [xs[i] for i in keep], labels[keep]
    return xs, labels


def clip_vocabulary(xs, *, num_words, skip_top, oov_char):
    """Words outside ``[skip_top, num_words)`` become ``oov_char`` (dropped when None);
    ``num_words`` None keeps every word."""
    if not num_words:  # Keras's bound: the largest index itself becomes out of vocabulary
        num_words = max((max(x) for x in xs if x), default=0)
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    return [[w for w in x if skip_top <= w < num_words] for x in xs]


def object_array(lists):
    out = np.empty(len(lists), dtype=object)
    out[:] = lists
    return out
