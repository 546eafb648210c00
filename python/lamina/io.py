"""Model files: the ``.lamina`` zip and ``.weights.npz``, written atomically, read safely.

This module is the file format. It reads and writes a model through its public surface
(``built``, ``weights``, ``get_config``, ``get_compile_config``, ``optimizer``) and imports no
model class; ``lamina.saving.load_model`` builds the model a file describes and hands it
back here (``read_model``) to fill in weights and optimizer state.

A ``.lamina`` file is a zip holding exactly:

- ``config.json``: format version, the architecture (``model.get_config()``), the compile
  settings (optimizer hyperparameters and current learning rate, loss, metrics) and the
  optimizer's step count;
- ``weights.npz``: the parameters, layer by layer (``p0000``, ``p0001`` …);
- ``optimizer.npz`` (compiled models): the optimizer slots (``s0000_0`` …) and its
  carried state, so training resumes exactly.

Writes go to a temporary file in the same directory, are flushed and fsynced, then renamed
over the target (``lamina.atomic_write``): a crash or Ctrl-C mid-save leaves the previous
file intact and no temporary file behind. Weights with NaN or inf are refused (the loader would reject
the file), a replaced file keeps its mode (a new one gets ``0o666 & ~umask``) and a symlink's
target is written. Reads never unpickle (``allow_pickle=False``) nor evaluate anything;
every member name, size, dtype and shape is checked against the architecture before an
array is allocated, weights are allocated only up to what the file really holds, and
truncated, corrupted, encrypted or tampered files, devices, FIFOs and symlink loops raise
``ModelFileError`` (a ``ValueError``) naming the problem.

Example:
    >>> import os, tempfile
    >>> import lamina
    >>> model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)], seed=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "m.lamina")
    >>> model.save(path)
    >>> restored = lamina.load_model(path)
    >>> all((a == b).all() for a, b in zip(model.get_weights(), restored.get_weights()))
    True
"""

from __future__ import annotations

import errno
import io as _pyio
import json
import os
import stat
import tokenize
import warnings
import zipfile
import zlib

import numpy as np

from . import feature_names, initializers
from .atomic_write import atomic_write
from .optimizers import ema
from ._validation import first_nonfinite
from ._version import __version__

__all__ = ["ModelFileError", "save_model", "read_model", "save_weights", "load_weights"]

FORMAT = "lamina.model"
FORMAT_VERSION = 1
_CONFIG_LIMIT = 16 << 20          # config.json larger than this is not a lamina config
_NPY_HEADER_SLACK = 4096          # bytes allowed per .npy member beyond its data
_MEMBERS = ("config.json", "weights.npz", "optimizer.npz")
# Most optimizer steps a file may record: exact in a float64 (schedules take the step as a
# float) and far from int64 overflow when the core adds to it.
MAX_ITERATIONS = 2**53


class ModelFileError(ValueError):
    """A model or weights file that is truncated, corrupted, tampered with or mismatched.

    Example:
        >>> issubclass(ModelFileError, ValueError)
        True
    """


# ---------------------------------------------------------------------- writing --------
def _require_finite_weights(model, path):
    """Refuses to write weights the loader would reject (a good file must not be lost)."""
    for i, w in enumerate(model.weights):
        where = first_nonfinite(w)
        if where is not None:
            raise ValueError(f"cannot save {path!r}: weight {i} ({tuple(w.shape)}) contains "
                             f"{w[where]} at index {where}; the model has diverged (lower the "
                             "learning rate), so the file there is left as it was")


def _npz_bytes(arrays: dict) -> bytes:
    buf = _pyio.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for name, arr in arrays.items():
            member = _pyio.BytesIO()
            # np.require keeps a 0-d array 0-d (ascontiguousarray would make it (1,)).
            np.lib.format.write_array(member, np.require(arr, requirements="C"),
                                      allow_pickle=False)
            zf.writestr(name + ".npy", member.getvalue())
    return buf.getvalue()


def _check_target(filepath, overwrite, suffixes, what):
    path = os.fspath(filepath)
    if not path.endswith(suffixes):
        raise ValueError(f"{what} path must end in {' or '.join(suffixes)}, got {path!r}")
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path!r} exists and overwrite=False")
    return path


# Member names inside weights.npz / optimizer.npz: the file format, defined here only.
def _weights_dict(model):
    """``{"p0000": kernel, "p0001": bias, ...}``: the live parameter arrays by member name."""
    return {f"p{i:04d}": w for i, w in enumerate(model.weights)}


def _slots_dict(opt):
    """``{"s0000_0": slot, ...}``: the optimizer's live slot arrays by member name."""
    return {f"s{p:04d}_{k}": s for p, slots in enumerate(opt.slots or [])
            for k, s in enumerate(slots)}


def _require_built(model, what):
    if not model.built:
        raise ValueError(f"model {model.name!r} is not built yet, so {what} is not "
                         "available: start it with lamina.Input(shape=...), call "
                         "model.build((None, features)), or fit/predict first")


def _require_optimizer_slots(model):
    """Allocates the optimizer's slots if fit has not yet (Keras: ``optimizer.build``)."""
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_weights)


def saved_optimizer(model):
    """The optimizer state a model file gets: the model's optimizer (built first if fit has
    not run), or, when layers' ``trainable`` flags changed since the compile that made its
    slots, a fresh optimizer of the same config built on the weights trainable now. The
    file's config holds the new flags and a loaded model is compiled with them, so its slots
    must be those; recompiling in memory starts the optimizer afresh the same way (Keras
    3 loads such a file with a warning and skips its optimizer variables)."""
    _require_optimizer_slots(model)
    opt = model.optimizer
    params = [np.asarray(w) for w in model.trainable_weights]
    if len(opt.slots) == len(params) and all(
            not s or s[0].shape == p.shape for s, p in zip(opt.slots, params)):
        return opt
    warnings.warn(f"model {model.name!r}: layers' trainable flags changed since compile; the "
                  "file gets a fresh optimizer state for the weights trainable now (what the "
                  "next compile starts from)", UserWarning, stacklevel=3)
    fresh = type(opt).from_config(opt.get_config())
    fresh.build(params)
    return fresh


def _ema_dict(averages):
    """``{"e0000": average, ...}``: the weights' moving averages (``use_ema``) by member."""
    return {f"e{i:04d}": a for i, a in enumerate(averages or [])}


def _optimizer_dict(opt):
    return {"optimizer_state": opt.optimizer_state,
            "iterations": np.array([opt.iterations], dtype=np.int64), **_slots_dict(opt),
            **_ema_dict(ema.saved(opt))}


def _class_name(model):
    """"Functional" for a ``lamina.Model(inputs, outputs)``, else "Sequential"."""
    return "Functional" if type(model).__name__ == "Functional" else "Sequential"


def save_model(model, filepath, overwrite=True):
    """Writes ``model`` to a ``.lamina`` file atomically (``.keras``: ``lamina.keras_format``).

    Args:
        model: A built ``Sequential``.
        filepath: Target path.
        overwrite: Replace an existing file. Defaults to `True`.

    Example:
        >>> import os, tempfile
        >>> import lamina
        >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)], seed=0)
        >>> path = os.path.join(tempfile.mkdtemp(), "m.lamina")
        >>> save_model(model, path); lamina.load_model(path).count_params()
        3
    """
    path = _check_target(filepath, overwrite, (".lamina",), "model")
    _require_built(model, "save")
    _require_finite_weights(model, path)
    compiled = model.compiled and model._loss is not None
    opt = saved_optimizer(model) if compiled else None
    config = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "lamina_version": __version__,
        "model": {"class_name": _class_name(model), "config": model.get_config()},
        "compile_config": model.get_compile_config(),
        "optimizer_iterations": opt.iterations if compiled else 0,
    }
    if feature_names.to_config(model) is not None:  # fitted on a DataFrame: its columns
        config["feature_names_in"] = feature_names.to_config(model)
    members = {"config.json": json.dumps(config, indent=1, allow_nan=False).encode(),
               "weights.npz": _npz_bytes(_weights_dict(model))}
    if compiled:
        members["optimizer.npz"] = _npz_bytes(_optimizer_dict(opt))
    # The archive is built in memory and written in one call: nothing half-built is ever on
    # disk, and an interruption while building it leaves no file handle to tidy up.
    buf = _pyio.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            method = zipfile.ZIP_DEFLATED if name.endswith(".json") else zipfile.ZIP_STORED
            zf.writestr(name, data, compress_type=method)
    data = buf.getvalue()
    atomic_write(path, lambda f: f.write(data))


def save_weights(model, filepath, overwrite=True):
    """Writes the weights to a ``.weights.npz`` file atomically.

    Args:
        model: A built ``Sequential``.
        filepath: Path ending in ``.weights.npz``.
        overwrite: Replace an existing file. Defaults to `True`.

    Example:
        >>> import os, tempfile
        >>> import lamina
        >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)], seed=0)
        >>> path = os.path.join(tempfile.mkdtemp(), "m.weights.npz")
        >>> save_weights(model, path); load_weights(model, path)
    """
    path = _check_target(filepath, overwrite, (".weights.npz",), "weights")
    _require_built(model, "save_weights")
    _require_finite_weights(model, path)
    data = _npz_bytes(_weights_dict(model))
    atomic_write(path, lambda f: f.write(data))


# ---------------------------------------------------------------------- reading --------
def _open_file(path, what):
    """Opens ``path`` for reading if it is a regular file; a binary file object."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused just below.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise FileNotFoundError(f"no such {what} file: {path!r}") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ModelFileError(f"{path!r} is a symlink loop, not a {what} file") from None
        if exc.errno in (errno.ENOTDIR, errno.ENAMETOOLONG):
            raise FileNotFoundError(f"no such {what} file: {path!r} ({exc.strerror})"
                                    ) from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = ("a directory" if stat.S_ISDIR(st.st_mode) else
                    "a FIFO" if stat.S_ISFIFO(st.st_mode) else
                    "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else
                    "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file")
            raise ModelFileError(f"{path!r} is {kind}, not a {what} file")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


class _OwnedZipFile(zipfile.ZipFile):
    """A read-only ZipFile that closes the file object it reads when it is closed."""

    def __init__(self, f):
        self._owned = f
        super().__init__(f, "r")

    def close(self):
        try:
            super().close()
        finally:
            self._owned.close()


def _open_zip(path, what):
    path = os.fspath(path)
    f = _open_file(path, what)
    try:
        return _OwnedZipFile(f)
    except _ZIP_ERRORS as exc:
        f.close()
        raise ModelFileError(f"{path!r} is not a valid {what} file (not a zip archive, or "
                             f"truncated): {exc}") from None


# What zipfile raises on a damaged archive: BadZipFile for most damage, but also zlib.error (a
# corrupt deflate stream), NotImplementedError (an unknown method or zip version),
# RuntimeError (encryption), EOFError/OSError/ValueError (truncation, bad headers).
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, NotImplementedError,
               RuntimeError, EOFError, OSError, ValueError)

# Member compression lamina reads: stored or deflate (what it writes), with deflate's
# largest possible expansion, which bounds what a member can hold by its size in the file.
_METHOD_RATIO = {zipfile.ZIP_STORED: 1, zipfile.ZIP_DEFLATED: 1032}


def _check_info(info, path, where=""):
    """Refuses encrypted members and compression lamina does not write."""
    if info.flag_bits & 0x1:
        raise ModelFileError(f"{path!r}: member {where}{info.filename!r} is encrypted; lamina "
                             "files are never encrypted")
    if info.compress_type not in _METHOD_RATIO:
        raise ModelFileError(f"{path!r}: member {where}{info.filename!r} uses compression "
                             f"method {info.compress_type}; lamina files use stored or deflate")


def _content_bound(info):
    """Most bytes ``info``'s member can really decompress to (its header may claim more)."""
    return min(info.file_size, _METHOD_RATIO[info.compress_type] * info.compress_size)


def _member_names(zf, path, allowed):
    names = []
    for info in zf.infolist():
        name = info.filename
        if name not in allowed:
            bad = ("/" in name or "\\" in name or ".." in name or name.startswith("/"))
            reason = "a member path outside the archive root" if bad else "an unexpected member"
            raise ModelFileError(f"{path!r} contains {reason} {name!r}: a lamina file holds "
                                 f"only {', '.join(allowed)}")
        if name in names:
            raise ModelFileError(f"{path!r} contains {name!r} twice")
        _check_info(info, path)
        names.append(name)
    return names


def _read_member(zf, path, name, limit):
    info = zf.getinfo(name)
    if info.file_size > limit:
        raise ModelFileError(f"{path!r}: member {name!r} claims {info.file_size} bytes, more "
                             f"than the {limit} this model can need")
    try:
        with zf.open(info) as f:
            data = f.read(limit + 1)
    except _ZIP_ERRORS as exc:
        raise ModelFileError(f"{path!r}: member {name!r} is corrupted or truncated: {exc}"
                             ) from None
    if len(data) != info.file_size:
        raise ModelFileError(f"{path!r}: member {name!r} has {len(data)} bytes, its header "
                             f"says {info.file_size}")
    return data


def _read_npz(data, path, member, expected):
    """Reads an npz whose members must be exactly ``expected`` ({name: (shape, dtype)})."""
    try:
        zf = zipfile.ZipFile(_pyio.BytesIO(data))
    except _ZIP_ERRORS as exc:
        raise ModelFileError(f"{path!r}: {member} is not a valid npz archive: {exc}") from None
    out = {}
    with zf:
        for info in zf.infolist():
            _check_info(info, path, f"{member}/")
        names = {i.filename for i in zf.infolist()}
        want = {k + ".npy" for k in expected}
        if names != want:
            missing = sorted(n[:-4] for n in want - names)
            extra = sorted(names - want)
            raise ModelFileError(f"{path!r}: {member} does not match the model: missing "
                                 f"{missing or 'nothing'}, unexpected {extra or 'nothing'}")
        for key, (shape, dtype) in expected.items():
            info = zf.getinfo(key + ".npy")
            count = int(np.prod(shape, dtype=np.int64))
            # float32 and float64 files load into either model dtype (cast on copy).
            widest = 8 if np.dtype(dtype).kind == "f" else np.dtype(dtype).itemsize
            if info.file_size > count * widest + _NPY_HEADER_SLACK:
                raise ModelFileError(f"{path!r}: {member}/{key} claims {info.file_size} bytes "
                                     f"for an array of {count} elements")
            try:
                with zf.open(info) as f:
                    version = np.lib.format.read_magic(f)
                    if version == (1, 0):
                        hshape, fortran, hdtype = np.lib.format.read_array_header_1_0(f)
                    elif version == (2, 0):
                        hshape, fortran, hdtype = np.lib.format.read_array_header_2_0(f)
                    else:
                        raise ValueError(f"unsupported npy version {version}")
                    if hdtype.hasobject:
                        raise ValueError("object arrays are refused (no pickle)")
                    want_dtype = np.dtype(dtype)
                    same_kind = (hdtype.kind == want_dtype.kind == "f"
                                 and hdtype.itemsize in (4, 8)
                                 ) or hdtype.newbyteorder("=") == want_dtype.newbyteorder("=")
                    if tuple(hshape) != tuple(shape) or not same_kind:
                        raise ModelFileError(
                            f"{path!r}: {member}/{key} is {hdtype} {tuple(hshape)}, the model "
                            f"needs {want_dtype} {tuple(shape)}")
                    nbytes = count * hdtype.itemsize
                    raw = f.read(nbytes + 1)
            except ModelFileError:
                raise
            except (*_ZIP_ERRORS, SyntaxError, tokenize.TokenError) as exc:  # a bad npy header
                raise ModelFileError(f"{path!r}: {member}/{key} is corrupted: {exc}") from None
            if len(raw) != nbytes:
                raise ModelFileError(f"{path!r}: {member}/{key} is truncated ({len(raw)} of "
                                     f"{nbytes} bytes)")
            arr = np.frombuffer(raw, dtype=hdtype)
            arr = arr.reshape(shape, order="F" if fortran else "C")
            out[key] = np.ascontiguousarray(arr, dtype=dtype)
    return out


def _expected(arrays):
    """``{member name: (shape, dtype)}`` of live arrays, for ``_read_npz``."""
    return {key: (a.shape, a.dtype) for key, a in arrays.items()}


def _npz_limit(expected):
    return sum(int(np.prod(s, dtype=np.int64)) * max(8, np.dtype(d).itemsize)
               + _NPY_HEADER_SLACK + 512 for s, d in expected.values()) + 4096


def _has_ema(zf):
    """Whether the file's optimizer.npz holds moving averages (``e0000`` ...), read from
    its directory only; _read_npz checks them, and a damaged archive, after."""
    try:
        with zf.open("optimizer.npz") as member, zipfile.ZipFile(member) as npz:
            return "e0000.npy" in npz.namelist()
    except _ZIP_ERRORS:
        return False


def check_optimizer_slot(opt, k, arr, where, path):
    """Raises ModelFileError when slot ``k`` of ``opt`` read from a file (``where`` in it)
    holds NaN or inf, or a negative value where the optimizer keeps squares (Adam's v …):
    either would turn every weight it updates into NaN at the next step."""
    bad = first_nonfinite(arr)
    if bad is not None:
        raise ModelFileError(f"{path!r}: {where} contains {arr[bad]} at index {bad}: NaN "
                             "or inf")
    if k in opt.nonnegative_slots and arr.size and arr.min() < 0:
        at = np.unravel_index(int(np.argmin(arr)), arr.shape)
        raise ModelFileError(f"{path!r}: {where} holds {arr[at]} at index {at}, but "
                             f"{type(opt).__name__} keeps non-negative values in that slot")


def _copy_weights(model, arrays, path):
    live = _weights_dict(model)
    for key in live:
        a = arrays[key]
        where = first_nonfinite(a)
        if where is not None:
            raise ModelFileError(f"{path!r}: weight {key} contains {a[where]} at index "
                                 f"{where}: NaN or inf")
    for key, w in live.items():
        np.copyto(w, arrays[key])


def read_model(filepath, build, compile=True):
    """Reads a ``.lamina`` file: ``build`` makes the model its config describes, then the
    weights and (when compiled) the optimizer state are checked and copied into it.

    Args:
        filepath: A ``.lamina`` (or ``.keras``) file written by lamina.
        build: ``build(model_config, compile_config) -> model``: a built model (compiled
            when ``compile_config`` is not None); a functional model's config is the one
            with ``input_layers``. Its ``ValueError``/``TypeError``/
            ``KeyError`` become ``ModelFileError``.
        compile: Restore the compile settings and optimizer state. Defaults to `True`.

    Returns:
        The model ``build`` made, with the file's weights and optimizer state.

    Raises:
        ModelFileError: The file is truncated, corrupted, tampered with or inconsistent.
    """
    path = os.fspath(filepath)
    with _open_zip(path, "lamina model") as zf:
        names = _member_names(zf, path, _MEMBERS)
        for required in ("config.json", "weights.npz"):
            if required not in names:
                raise ModelFileError(f"{path!r} has no {required}: not a lamina model file")
        try:
            config = json.loads(_read_member(zf, path, "config.json", _CONFIG_LIMIT))
        except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError,
            # an int of too many digits, or nesting deeper than the parser's recursion limit
            what = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            raise ModelFileError(f"{path!r}: config.json is not valid JSON: {what}") from None
        if not isinstance(config, dict) or config.get("format") != FORMAT:
            raise ModelFileError(f"{path!r}: config.json is not a lamina model config")
        if config.get("format_version") != FORMAT_VERSION:
            raise ModelFileError(f"{path!r}: format version {config.get('format_version')!r} "
                                 f"is not supported (this lamina reads {FORMAT_VERSION})")
        model_cfg = config.get("model")
        if not isinstance(model_cfg, dict) or model_cfg.get("class_name") not in (
                "Sequential", "Functional"):
            raise ModelFileError(f"{path!r}: config.json describes no Sequential or "
                                 "Functional model")
        compile_cfg = config.get("compile_config") if compile else None
        if compile_cfg is not None and not isinstance(compile_cfg, dict):
            raise ModelFileError(f"{path!r}: compile_config is not a mapping")
        # Weights are allocated while the model is built: at most what weights.npz really
        # holds (twice that, since a float32 file loads into a float64 model), so a small
        # file declaring huge layers fails before the memory is taken.
        budget = 2 * _content_bound(zf.getinfo("weights.npz")) + 4096
        try:
            with initializers._weight_budget(budget):
                model = build(model_cfg.get("config"), compile_cfg)
        except ModelFileError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError, IndexError, OverflowError,
                RecursionError) as exc:
            what = "nested too deeply" if isinstance(exc, RecursionError) else exc
            raise ModelFileError(f"{path!r}: invalid model config: {what}") from None
        feature_names.from_config(model, config.get("feature_names_in"), path, ModelFileError)
        expected = _expected(_weights_dict(model))
        data = _read_member(zf, path, "weights.npz", _npz_limit(expected))
        _copy_weights(model, _read_npz(data, path, "weights.npz", expected), path)
        if compile_cfg is not None and compile_cfg.get("loss") is not None:
            _require_optimizer_slots(model)
            opt = model.optimizer
            if "optimizer.npz" not in names:
                raise ModelFileError(f"{path!r} is compiled but has no optimizer.npz")
            slots = _slots_dict(opt)
            averages = _ema_dict(model.trainable_weights if opt.use_ema and _has_ema(
                zf) else None)
            oexp = {"optimizer_state": ((1,), np.float64), "iterations": ((1,), np.int64),
                    **_expected(slots), **_expected(averages)}
            odata = _read_member(zf, path, "optimizer.npz", _npz_limit(oexp))
            arrays = _read_npz(odata, path, "optimizer.npz", oexp)
            iterations = int(arrays["iterations"][0])
            if not 0 <= iterations <= MAX_ITERATIONS:
                raise ModelFileError(f"{path!r}: optimizer iterations {iterations} are outside "
                                     f"[0, {MAX_ITERATIONS}]")
            if iterations != config.get("optimizer_iterations", iterations):
                raise ModelFileError(
                    f"{path!r}: config.json says optimizer_iterations "
                    f"{config.get('optimizer_iterations')!r}, optimizer.npz holds {iterations}")
            for key, s in slots.items():
                check_optimizer_slot(opt, int(key.split("_")[1]), arrays[key], key, path)
            for key in averages:
                check_optimizer_slot(opt, -1, arrays[key], key, path)
            state = arrays["optimizer_state"]
            if first_nonfinite(state) is not None:
                raise ModelFileError(f"{path!r}: optimizer_state holds {state[0]}: NaN or inf")
            for key, s in slots.items():
                np.copyto(s, arrays[key])
            if averages:
                ema.restore(opt, [arrays[key] for key in averages])
            np.copyto(opt.optimizer_state, arrays["optimizer_state"])
            opt.iterations = iterations
    return model


def load_weights(model, filepath):
    """Copies weights from a ``.weights.npz`` (or ``.lamina``) file into ``model`` in place.

    Args:
        model: A built ``Sequential`` with the saved architecture.
        filepath: Path ending in ``.weights.npz``, ``.lamina`` or ``.keras``.

    Example:
        >>> import os, tempfile
        >>> import lamina
        >>> a = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)], seed=0)
        >>> b = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)], seed=1)
        >>> path = os.path.join(tempfile.mkdtemp(), "a.lamina")
        >>> a.save(path); load_weights(b, path)
        >>> all((x == y).all() for x, y in zip(a.get_weights(), b.get_weights()))
        True
    """
    path = os.fspath(filepath)
    _require_built(model, "load_weights")
    expected = _expected(_weights_dict(model))
    limit = _npz_limit(expected)
    if path.endswith((".lamina", ".keras")):
        with _open_zip(path, "lamina model") as zf:
            _member_names(zf, path, _MEMBERS)
            if "weights.npz" not in zf.namelist():
                raise ModelFileError(f"{path!r} has no weights.npz")
            data = _read_member(zf, path, "weights.npz", limit)
    elif path.endswith(".weights.npz"):
        with _open_file(path, "weights") as f:
            size = os.fstat(f.fileno()).st_size
            if size > limit:
                raise ModelFileError(f"{path!r} has {size} bytes, more than this model's "
                                     f"weights can take ({limit})")
            data = f.read(limit + 1)
    else:
        raise ValueError(f"weights path must end in .weights.npz or .lamina, got {path!r}")
    _copy_weights(model, _read_npz(data, path, "weights", expected), path)
