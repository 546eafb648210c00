"""keras.datasets loaders and keras.utils.get_file, on small local files in Keras's formats
(no network: the origin is a file:// folder and the hashes are the local files'). Where Keras
is installed, its own loaders read the same files and must return the same arrays."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import pathlib
import tarfile
import zipfile

import numpy as np
import pytest

from lamina import datasets
from lamina.datasets import _keras_files
from lamina.utils import get_file

from conftest import import_keras3


def _sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _objects(lists):
    out = np.empty(len(lists), dtype=object)
    out[:] = lists
    return out


@pytest.fixture
def origin(tmp_path, monkeypatch):
    """A folder of fake Keras dataset files served as the loaders' origin."""
    src = tmp_path / "origin"
    src.mkdir()
    rng = np.random.default_rng(0)
    np.savez(src / "mnist.npz", x_train=rng.integers(0, 256, (7, 28, 28), dtype=np.uint8),
             y_train=rng.integers(0, 10, 7, dtype=np.uint8),
             x_test=rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
             y_test=rng.integers(0, 10, 3, dtype=np.uint8))
    for name, n, body in [("train-labels-idx1-ubyte.gz", 5, None),
                          ("train-images-idx3-ubyte.gz", 5, (28, 28)),
                          ("t10k-labels-idx1-ubyte.gz", 2, None),
                          ("t10k-images-idx3-ubyte.gz", 2, (28, 28))]:
        header = 16 if body else 8
        data = rng.integers(0, 256 if body else 10, n * (784 if body else 1), dtype=np.uint8)
        with gzip.open(src / name, "wb") as f:
            f.write(bytes(header) + data.tobytes())
    np.savez(src / "boston_housing.npz", x=rng.normal(size=(23, 13)), y=rng.normal(size=23))
    np.savez(src / "california_housing.npz", x=rng.normal(size=(650, 8)).astype(np.float32),
             y=rng.normal(size=650).astype(np.float32))
    seqs = lambda n: _objects([rng.integers(1, 60, rng.integers(2, 12)).tolist()  # noqa: E731
                               for _ in range(n)])
    np.savez(src / "imdb.npz", x_train=seqs(20), y_train=rng.integers(0, 2, 20),
             x_test=seqs(15), y_test=rng.integers(0, 2, 15))
    np.savez(src / "reuters.npz", x=seqs(30), y=rng.integers(0, 46, 30))
    (src / "imdb_word_index.json").write_text(json.dumps({"the": 1, "film": 2}))
    (src / "reuters_word_index.json").write_text(json.dumps({"said": 1}))
    hashes = {p.name: (hashlib.md5(p.read_bytes()).hexdigest() if p.suffix == ".json"
                       else _sha256(p)) for p in src.iterdir()}
    monkeypatch.setattr(_keras_files, "ORIGIN", src.as_uri() + "/")
    monkeypatch.setattr(_keras_files, "HASHES", hashes)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    return src


def test_loaders_return_keras_shapes_and_splits(origin):
    (x, y), (xt, yt) = datasets.mnist.load_data()
    assert x.shape == (7, 28, 28) and x.dtype == np.uint8 and xt.shape == (3, 28, 28)
    with np.load(origin / "mnist.npz") as f:
        np.testing.assert_array_equal(x, f["x_train"])
    (x, y), (xt, yt) = datasets.fashion_mnist.load_data()
    assert x.shape == (5, 28, 28) and y.shape == (5,) and xt.shape == (2, 28, 28)
    (x, y), (xt, yt) = datasets.boston_housing.load_data(test_split=0.3)
    assert x.shape == (16, 13) and xt.shape == (7, 13)
    (x, y), (xt, yt) = datasets.california_housing.load_data(version="small")
    assert len(x) + len(xt) == 600 and len(xt) == 120
    (x, y), (xt, yt) = datasets.imdb.load_data(num_words=30, maxlen=9)
    assert x.dtype == object and all(s[0] == 1 and len(s) < 9 for s in x)
    assert all(w == 2 or w < 30 for s in list(x) + list(xt) for w in s)
    assert datasets.imdb.get_word_index() == {"the": 1, "film": 2}
    (x, y), (xt, yt) = datasets.reuters.load_data(test_split=0.5, start_char=None,
                                                  oov_char=None, num_words=20)
    assert len(x) == 15 and all(3 <= w < 20 for s in x for w in s)
    assert len(datasets.reuters.get_label_names()) == 46
    assert (origin.parent / "keras_home" / "datasets" / "mnist.npz").exists()


def test_same_arrays_as_keras_loaders(origin, monkeypatch):
    import_keras3()
    from keras.src.datasets import boston_housing, california_housing, imdb, reuters

    def local(fname=None, origin=None, **kwargs):  # Keras's loaders read the same files
        return str(origin_dir / os.path.basename(origin))

    origin_dir = origin
    for mod in (boston_housing, california_housing, imdb, reuters):
        monkeypatch.setattr(mod, "get_file", local)
    for kwargs in ({}, {"num_words": 25, "skip_top": 4}, {"maxlen": 8, "oov_char": None},
                   {"start_char": None, "index_from": 0, "seed": 7}):
        for ours, theirs in ((datasets.imdb, imdb), (datasets.reuters, reuters)):
            a, b = ours.load_data(**kwargs), theirs.load_data(**kwargs)
            for (xa, ya), (xb, yb) in zip(a, b):
                assert [list(s) for s in xa] == [list(s) for s in xb], (ours, kwargs)
                np.testing.assert_array_equal(ya, yb)
    for ours, theirs, kwargs in ((datasets.boston_housing, boston_housing, {"seed": 3}),
                                 (datasets.california_housing, california_housing,
                                  {"version": "small", "test_split": 0.25})):
        for (xa, ya), (xb, yb) in zip(ours.load_data(**kwargs), theirs.load_data(**kwargs)):
            np.testing.assert_array_equal(xa, xb)
            np.testing.assert_array_equal(ya, yb)


def test_get_file_caches_checks_and_never_keeps_a_bad_download(tmp_path):
    src = tmp_path / "data.bin"
    src.write_bytes(b"abc" * 1000)
    cache = tmp_path / "cache"
    path = get_file(origin=src.as_uri(), file_hash=_sha256(src), cache_dir=cache)
    assert path == str(cache / "datasets" / "data.bin")
    src.unlink()  # cached and valid: not fetched again
    assert get_file(origin=src.as_uri(), file_hash=hashlib.sha256(b"abc" * 1000).hexdigest(),
                    cache_dir=cache) == path
    with pytest.raises(OSError, match="data.bin"):  # gone, and forced
        get_file(origin=src.as_uri(), cache_dir=cache, force_download=True)
    assert os.path.exists(path)  # the cached copy survived the failed download
    src.write_bytes(b"other")
    with pytest.raises(ValueError, match="corrupted.*expected 0+"):
        get_file("fresh.bin", origin=src.as_uri(), file_hash="0" * 64, cache_dir=cache)
    assert sorted(os.listdir(cache / "datasets")) == ["data.bin"]  # nothing half-written
    # a cached file whose hash is wrong is fetched again
    (cache / "datasets" / "data.bin").write_bytes(b"truncated")
    get_file(origin=src.as_uri(), md5_hash=hashlib.md5(b"other").hexdigest(), cache_dir=cache)
    assert (cache / "datasets" / "data.bin").read_bytes() == b"other"
    with pytest.raises(ValueError, match="plain file name"):
        get_file("sub/x.bin", origin=src.as_uri(), cache_dir=cache)
    with pytest.raises(ValueError, match="origin"):
        get_file("x.bin", cache_dir=cache)
    with pytest.raises(ValueError, match="hash_algorithm"):
        get_file(origin=src.as_uri(), hash_algorithm="sha1", cache_dir=cache)


def test_get_file_extracts_archives_and_refuses_escaping_members(tmp_path):
    tar_path = tmp_path / "pack.tar.gz"
    with tarfile.open(tar_path, "w:gz") as tar:
        data = b"x,y\n1,2\n"
        info = tarfile.TarInfo("pack/table.csv")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    folder = get_file("pack.tar.gz", origin=tar_path.as_uri(), extract=True,
                      cache_dir=tmp_path / "c")
    assert folder.endswith("pack_extracted")
    assert (pathlib.Path(folder) / "pack" / "table.csv").read_text() == "x,y\n1,2\n"
    zip_path = tmp_path / "z.zip"
    with zipfile.ZipFile(zip_path, "w") as z:
        z.writestr("a.txt", "A")
    folder = get_file("z", origin=zip_path.as_uri(), extract=True, cache_dir=tmp_path / "c")
    assert (pathlib.Path(folder) / "a.txt").read_text() == "A"
    evil = tmp_path / "evil.tar"
    with tarfile.open(evil, "w") as tar:
        info = tarfile.TarInfo("../outside.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"!"))
    with pytest.raises(ValueError, match="outside"):
        get_file("evil.tar", origin=evil.as_uri(), extract=True, cache_dir=tmp_path / "c")
    assert not (tmp_path / "c" / "datasets" / "outside.txt").exists()
    plain = tmp_path / "plain.txt"
    plain.write_text("no archive")
    with pytest.raises(ValueError, match="not a tar or zip"):
        get_file("plain.txt", origin=plain.as_uri(), extract=True, cache_dir=tmp_path / "c")


def test_bad_arguments_name_the_value(origin):
    with pytest.raises(ValueError, match="test_split.*1.5"):
        datasets.boston_housing.load_data(test_split=1.5)
    with pytest.raises(ValueError, match="version.*'medium'"):
        datasets.california_housing.load_data(version="medium")
    with pytest.raises(ValueError, match="maxlen=2"):
        datasets.imdb.load_data(maxlen=2)
