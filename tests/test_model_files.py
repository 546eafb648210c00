"""Model files under hostile conditions: saving that never loses a good file, and reading
files that are damaged, tampered with or not files at all (each a ModelFileError naming the
problem, quick, with memory bounded by the file's real content), plus a fuzz test."""

import io
import json
import os
import struct
import time
import tracemalloc
import zipfile
from unittest import mock

import numpy as np
import pytest

import lamina
from lamina.io import ModelFileError


def _model(compiled=True, fitted=True):
    m = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(8, activation="relu"),
                           lamina.layers.Dense(3, activation="softmax")], seed=0)
    if compiled:
        m.compile("adam", "sparse_categorical_crossentropy")
    if fitted:
        x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
        m.fit(x, (x[:, 0] > 0).astype("int64"), epochs=1, verbose=0)
    return m


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    path = tmp_path_factory.mktemp("saved") / "good.lamina"
    _model().save(path)
    return path.read_bytes()


def _members(data):
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {i.filename: (zf.read(i), i.compress_type) for i in zf.infolist()}


def _zip(members, method=None):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, (data, ctype) in members.items():
            zf.writestr(name, data, compress_type=method if method is not None else ctype)
    return buf.getvalue()


def _npz(arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _load_bytes(tmp_path, data, name="m.lamina"):
    path = tmp_path / name
    path.write_bytes(data)
    return lamina.load_model(path)


# ====================================================================== saving =========
def _nan_model():
    m = _model()
    m.layers[0].kernel[0, 0] = np.nan
    return m


@pytest.mark.parametrize("kind", ["model", "weights"])
def test_save_of_nan_weights_keeps_the_good_file(tmp_path, kind):
    good = _model()
    path = tmp_path / ("m.lamina" if kind == "model" else "m.weights.npz")
    save = (lambda m: m.save(path)) if kind == "model" else (lambda m: m.save_weights(path))
    save(good)
    before = path.read_bytes()
    with pytest.raises(ValueError, match="NaN|nan"):
        save(_nan_model())
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == [path.name]
    if kind == "model":
        lamina.load_model(path)
    else:
        good.load_weights(path)


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002, 0o027])
@pytest.mark.parametrize("name", ["m.lamina", "m.weights.npz"])
def test_new_file_gets_the_umask_mode(tmp_path, umask, name):
    path = tmp_path / name
    old = os.umask(umask)
    try:
        m = _model()
        m.save(path) if name.endswith(".lamina") else m.save_weights(path)
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o600, 0o664])
def test_replacing_a_file_keeps_its_mode(tmp_path, mode):
    path = tmp_path / "m.lamina"
    _model().save(path)
    os.chmod(path, mode)
    _model().save(path)
    assert path.stat().st_mode & 0o777 == mode


def test_saving_to_a_symlink_writes_its_target(tmp_path):
    target_dir = tmp_path / "real"
    target_dir.mkdir()
    target = target_dir / "model.lamina"
    _model(fitted=False).save(target)
    link = tmp_path / "latest.lamina"
    link.symlink_to(os.path.relpath(target, tmp_path))
    m = _model()
    m.save(link)
    assert link.is_symlink() and os.readlink(link) == os.path.relpath(target, tmp_path)
    np.testing.assert_array_equal(lamina.load_model(target).get_weights()[0],
                                  m.get_weights()[0])
    assert sorted(os.listdir(target_dir)) == ["model.lamina"]
    link2 = tmp_path / "w.weights.npz"
    (target_dir / "w.weights.npz").write_bytes(b"")
    link2.symlink_to(target_dir / "w.weights.npz")
    m.save_weights(link2)
    assert link2.is_symlink()
    lamina.load_model(link)  # through the link


def test_saving_to_a_symlink_loop_is_an_error(tmp_path):
    a, b = tmp_path / "a.lamina", tmp_path / "b.lamina"
    a.symlink_to(b)
    b.symlink_to(a)
    with pytest.raises(OSError):
        _model().save(a)
    assert a.is_symlink() and b.is_symlink()


@pytest.mark.parametrize("length", [255, 200, 9])
def test_long_legal_file_names_save(tmp_path, length):
    name = "m" * (length - len(".lamina")) + ".lamina"
    path = tmp_path / name
    _model().save(path)
    _model().save(path)  # and replace
    lamina.load_model(path)
    assert os.listdir(tmp_path) == [name]


@pytest.mark.parametrize("where", ["os.fsync", "os.replace", "zipfile.ZipFile.writestr",
                                   "numpy.lib.format.write_array"])
def test_interrupted_save_raises_keyboardinterrupt_and_leaves_no_trace(tmp_path, where):
    path = tmp_path / "m.lamina"
    _model(fitted=False).save(path)
    before = path.read_bytes()
    with mock.patch(where, side_effect=KeyboardInterrupt):
        with pytest.raises(KeyboardInterrupt):
            _model().save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.lamina"]


def test_checkpoint_best_only_recovers_from_a_nan_first_value(tmp_path):
    path = tmp_path / "best.lamina"
    cb = lamina.callbacks.ModelCheckpoint(str(path), monitor="loss", save_best_only=True)
    cb.set_model(_model())
    cb.on_epoch_end(0, {"loss": float("nan")})
    assert not path.exists()
    cb.on_epoch_end(1, {"loss": 0.5})
    assert path.exists() and cb.best == 0.5
    path.unlink()
    cb.on_epoch_end(2, {"loss": float("nan")})  # NaN later is no improvement either
    assert not path.exists()
    cb.on_epoch_end(3, {"loss": 0.4})
    assert path.exists()


def test_checkpoint_nan_threshold_is_no_bar(tmp_path):
    path = tmp_path / "best.lamina"
    cb = lamina.callbacks.ModelCheckpoint(str(path), monitor="loss", save_best_only=True,
                                          initial_value_threshold=float("nan"), mode="max")
    cb.set_model(_model())
    cb.on_epoch_end(0, {"loss": 0.1})
    assert path.exists()


# ====================================================================== hostile files ===
def _quick(fn, seconds=20):
    t0 = time.perf_counter()
    try:
        fn()
    finally:
        assert time.perf_counter() - t0 < seconds


def test_deeply_nested_config_json(tmp_path, saved):
    members = _members(saved)
    deep = "[" * 200000 + "]" * 200000
    members["config.json"] = (deep.encode(), zipfile.ZIP_DEFLATED)
    with pytest.raises(ModelFileError, match="nested too deeply|config.json"):
        _quick(lambda: _load_bytes(tmp_path, _zip(members)))
    cfg = json.loads(_members(saved)["config.json"][0])
    node = cfg["model"]["config"]
    for _ in range(50000):  # deep nesting inside the model config
        node = {"layers": [node]}
    cfg["model"]["config"] = node
    try:
        text = json.dumps(cfg)
    except RecursionError:
        return
    members["config.json"] = (text.encode(), zipfile.ZIP_DEFLATED)
    with pytest.raises(ModelFileError):
        _quick(lambda: _load_bytes(tmp_path, _zip(members)))


@pytest.mark.parametrize("units", [30000, 2**31 - 1])
def test_small_config_declaring_huge_layers_fails_before_allocating(tmp_path, saved, units):
    members = _members(saved)
    cfg = json.loads(members["config.json"][0])
    layers = cfg["model"]["config"]["layers"]
    dense = [lay for lay in layers if lay["class_name"] == "Dense"]
    dense[0]["config"]["units"] = units
    dense[1]["config"]["units"] = units
    members["config.json"] = (json.dumps(cfg).encode(), zipfile.ZIP_DEFLATED)
    data = _zip(members)
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError):
            _quick(lambda: _load_bytes(tmp_path, data))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20, peak


def test_huge_input_shape_fails_before_allocating(tmp_path, saved):
    members = _members(saved)
    cfg = json.loads(members["config.json"][0])
    cfg["model"]["config"]["layers"][0]["config"]["shape"] = [10**6]
    members["config.json"] = (json.dumps(cfg).encode(), zipfile.ZIP_DEFLATED)
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError):
            _load_bytes(tmp_path, _zip(members))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20, peak


def _patch_central(data, name, offset, value, fmt="<H", local_offset=None):
    """Rewrites a field of ``name``'s central directory entry (and local header)."""
    buf = bytearray(data)
    pos = 0
    while True:
        pos = buf.find(b"PK\x01\x02", pos)
        assert pos >= 0
        nlen = struct.unpack_from("<H", buf, pos + 28)[0]
        if bytes(buf[pos + 46:pos + 46 + nlen]) == name.encode():
            struct.pack_into(fmt, buf, pos + offset, value)
            if local_offset is not None:
                loc = struct.unpack_from("<I", buf, pos + 42)[0]
                struct.pack_into(fmt, buf, loc + local_offset, value)
            return bytes(buf)
        pos += 4


def test_corrupt_compressed_member(tmp_path, saved):
    members = _members(saved)
    raw = bytearray(_zip(members))
    # Damage the deflate stream of config.json (the member after its local header).
    loc = raw.find(b"PK\x03\x04")
    nlen, xlen = struct.unpack_from("<HH", raw, loc + 26)
    start = loc + 30 + nlen + xlen
    for i in range(start, start + 40):
        raw[i] ^= 0x5A
    with pytest.raises(ModelFileError, match="config.json"):
        _load_bytes(tmp_path, bytes(raw))


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA, 99, 12345])
def test_unsupported_compression(tmp_path, saved, method):
    if method in (zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):
        data = _zip(_members(saved), method=method)
    else:
        data = _patch_central(saved, "config.json", 10, method, local_offset=8)
    with pytest.raises(ModelFileError, match="compression"):
        _load_bytes(tmp_path, data)


@pytest.mark.parametrize("member", ["config.json", "weights.npz"])
def test_encryption_flag(tmp_path, saved, member):
    data = _patch_central(saved, member, 8, 0x1, local_offset=6)
    with pytest.raises(ModelFileError, match="encrypted"):
        _load_bytes(tmp_path, data)


def test_compression_inside_npz_members(tmp_path, saved):
    members = _members(saved)
    inner = _members(members["weights.npz"][0])
    members["weights.npz"] = (_zip(inner, method=zipfile.ZIP_BZIP2), zipfile.ZIP_STORED)
    with pytest.raises(ModelFileError, match="compression"):
        _load_bytes(tmp_path, _zip(members))


@pytest.mark.parametrize("iterations", [2**63 - 1, 2**53 + 1, -1])
def test_implausible_iteration_counter(tmp_path, saved, iterations):
    members = _members(saved)
    cfg = json.loads(members["config.json"][0])
    cfg["optimizer_iterations"] = iterations
    members["config.json"] = (json.dumps(cfg).encode(), zipfile.ZIP_DEFLATED)
    with np.load(io.BytesIO(members["optimizer.npz"][0])) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["iterations"] = np.array([iterations], dtype=np.int64)
    members["optimizer.npz"] = (_npz(arrays), zipfile.ZIP_STORED)
    with pytest.raises(ModelFileError, match="iterations"):
        _load_bytes(tmp_path, _zip(members))


@pytest.mark.parametrize("path", ["/dev/zero", "/dev/null", "/dev/urandom"])
def test_device_paths(tmp_path, path):
    if not os.path.exists(path):
        pytest.skip(f"no {path}")
    with pytest.raises(ModelFileError, match="device"):
        _quick(lambda: lamina.load_model(path))
    link = tmp_path / "dev.weights.npz"  # a weights path that leads to the device
    link.symlink_to(path)
    with pytest.raises(ModelFileError, match="device"):
        _quick(lambda: _model().load_weights(link))


def test_fifo_and_directory(tmp_path):
    fifo = tmp_path / "pipe.lamina"
    os.mkfifo(fifo)
    with pytest.raises(ModelFileError, match="FIFO"):
        _quick(lambda: lamina.load_model(fifo))
    wfifo = tmp_path / "pipe.weights.npz"
    os.mkfifo(wfifo)
    with pytest.raises(ModelFileError, match="FIFO"):
        _quick(lambda: _model().load_weights(wfifo))
    d = tmp_path / "dir.lamina"
    d.mkdir()
    with pytest.raises(ModelFileError, match="directory"):
        lamina.load_model(d)


def test_symlink_loop(tmp_path):
    a, b = tmp_path / "a.lamina", tmp_path / "b.lamina"
    a.symlink_to(b)
    b.symlink_to(a)
    with pytest.raises(ModelFileError, match="symlink loop"):
        lamina.load_model(a)
    with pytest.raises(ModelFileError, match="symlink loop"):
        _model().load_weights(a)
    with pytest.raises(FileNotFoundError):
        lamina.load_model(tmp_path / "missing.lamina")


def test_config_that_is_not_a_table(tmp_path, saved):
    for text in ['{"format": "lamina.model", "format_version": 1, "model": {"class_name": '
                 '"Sequential", "config": [1, 2]}}', "1" * 5000, '{"a": 1e999}', "[]"]:
        members = _members(saved)
        members["config.json"] = (text.encode(), zipfile.ZIP_DEFLATED)
        with pytest.raises(ModelFileError):
            _load_bytes(tmp_path, _zip(members))


# ====================================================================== fuzz ==========
def _mutate(rng, data, members):
    """One damaged variant of a good file: a truncation, bit flips or a member edit."""
    kind = rng.integers(6)
    if kind == 0:  # truncation
        return data[:int(rng.integers(len(data)))]
    if kind == 1:  # bit flips anywhere
        buf = bytearray(data)
        for _ in range(int(rng.integers(1, 8))):
            i = int(rng.integers(len(buf)))
            buf[i] ^= 1 << int(rng.integers(8))
        return bytes(buf)
    if kind == 2:  # bytes overwritten in one member's data
        name = list(members)[int(rng.integers(len(members)))]
        body, ctype = members[name]
        buf = bytearray(body)
        if buf:
            i = int(rng.integers(len(buf)))
            buf[i:i + 8] = rng.bytes(min(8, len(buf) - i))
        return _zip({**members, name: (bytes(buf), ctype)})
    if kind == 3:  # a member truncated, dropped or duplicated under another name
        name = list(members)[int(rng.integers(len(members)))]
        body, ctype = members[name]
        edit = int(rng.integers(3))
        out = dict(members)
        if edit == 0:
            out[name] = (body[:int(rng.integers(len(body) + 1))], ctype)
        elif edit == 1:
            del out[name]
        else:
            out["extra.npy"] = (body, ctype)
        return _zip(out)
    if kind == 4:  # a config value changed
        cfg = json.loads(members["config.json"][0])
        leaves = []

        def walk(node):
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for k, v in items:
                if isinstance(v, (dict, list)):
                    walk(v)
                else:
                    leaves.append((node, k))

        walk(cfg)
        node, k = leaves[int(rng.integers(len(leaves)))]
        choices = [None, -1, 0, 2**40, 1e300, "x", [], {}, True, 3.5, "relu", 10**30]
        node[k] = choices[int(rng.integers(len(choices)))]
        try:
            text = json.dumps(cfg)
        except ValueError:
            text = "{}"
        return _zip({**members, "config.json": (text.encode(), zipfile.ZIP_DEFLATED)})
    # an inner npz array replaced by one of another shape, dtype or content
    name = "weights.npz" if rng.integers(2) or "optimizer.npz" not in members else "optimizer.npz"
    with np.load(io.BytesIO(members[name][0])) as z:
        arrays = {k: z[k] for k in z.files}
    key = list(arrays)[int(rng.integers(len(arrays)))]
    a = arrays[key]
    edit = int(rng.integers(5))
    if edit == 0:
        arrays[key] = a.reshape(-1)[:-1] if a.size > 1 else np.zeros(3)
    elif edit == 1:
        arrays[key] = a.astype(np.int32)
    elif edit == 2:
        arrays[key] = np.full_like(a, np.inf if a.dtype.kind == "f" else -1)
    elif edit == 3:
        arrays[key] = np.zeros((10**4, 10), a.dtype)
    else:
        arrays[key] = a.astype(np.float16)
    return _zip({**members, name: (_npz(arrays), zipfile.ZIP_STORED)})


@pytest.mark.slow
def test_fuzz_model_file_reader(tmp_path, saved):
    """Thousands of damaged files: each loads (and predicts) or is a ModelFileError."""
    rng = np.random.default_rng(17)
    members = _members(saved)
    x = np.ones((2, 4), np.float32)
    path = tmp_path / "f.lamina"
    outcomes = {"loaded": 0, "refused": 0}
    t0 = time.perf_counter()
    n = 3000
    for case in range(n):
        data = _mutate(rng, saved, members)
        path.write_bytes(data)
        try:
            model = lamina.load_model(path)
        except ModelFileError:
            outcomes["refused"] += 1
            continue
        except Exception as exc:  # noqa: BLE001 - the failure this test exists for
            raise AssertionError(f"case {case}: {type(exc).__name__}: {exc}") from exc
        assert model.predict(x, verbose=0).shape == (2, 3)  # a loaded model works
        outcomes["loaded"] += 1
    assert outcomes["refused"] > n // 3
    assert time.perf_counter() - t0 < 600
