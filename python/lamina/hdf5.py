"""HDF5 files read safely and written atomically (h5py, an optional dependency).

Keras keeps weights in HDF5 (``model.weights.h5`` inside a ``.keras`` zip, ``.weights.h5``
files, legacy ``.h5`` models). HDF5 can point outside the file (external links, soft
links, virtual datasets, external raw storage) and declare datasets of any size, so reads
go through ``open_checked``: it walks the whole file once, refuses every link that is not
a plain hard link and every dataset that is virtual, stored outside the file, not numeric
or larger than the caller allows, and hands back each dataset's shape and dtype before a
single byte of data is read; ``read`` then reads a dataset whose shape the caller has
checked against the model.

Example:
    >>> import lamina.hdf5
    >>> callable(lamina.hdf5.require_h5py)
    True
"""

from __future__ import annotations

import io as _pyio
import os

import numpy as np

from .atomic_write import atomic_write as _atomic_write
from .io import ModelFileError

__all__ = ["require_h5py", "open_checked", "to_bytes", "write_atomic", "CheckedFile"]

MAX_DATASET_BYTES = 1 << 36   # 64 GiB: no lamina parameter is larger (layers' kernel cap)
_ATTR_LIMIT = 16 << 20        # an attribute (a legacy model_config) larger than this is refused


def require_h5py(what):
    """Imports h5py, or raises ImportError naming the package to install.

    Args:
        what: What needs it, for the message (e.g. ``"writing .weights.h5 files"``).

    Example:
        >>> require_h5py("tests").__name__
        'h5py'
    """
    try:
        import h5py
    except ImportError:
        raise ImportError(f"{what} needs the h5py package: pip install h5py (or pip install "
                          "'lamina[hdf5]')") from None
    return h5py


def _walk(h5py, group, prefix, out, path):
    for name in group.keys():
        where = f"{prefix}{name}"
        link = group.get(name, getlink=True)
        if isinstance(link, h5py.ExternalLink):
            raise ModelFileError(f"{path!r}: HDF5 object {where!r} is an external link to "
                                 f"{link.filename!r}: refused, a model file must be "
                                 "self-contained")
        if isinstance(link, h5py.SoftLink):
            raise ModelFileError(f"{path!r}: HDF5 object {where!r} is a soft link to "
                                 f"{link.path!r}: refused (Keras files hold no links)")
        obj = group[name]
        if isinstance(obj, h5py.Group):
            out[where] = None
            _walk(h5py, obj, where + "/", out, path)
            continue
        if not isinstance(obj, h5py.Dataset):  # pragma: no cover - named datatypes
            raise ModelFileError(f"{path!r}: HDF5 object {where!r} is a {type(obj).__name__}, "
                                 "not a dataset or group")
        if obj.is_virtual:
            raise ModelFileError(f"{path!r}: dataset {where!r} is a virtual dataset: refused, "
                                 "it would read other files")
        if obj.external:
            raise ModelFileError(f"{path!r}: dataset {where!r} keeps its data in external "
                                 f"files {[e[0] for e in obj.external]}: refused")
        dtype = obj.dtype
        if dtype.kind not in "fiub" or dtype.fields is not None:
            raise ModelFileError(f"{path!r}: dataset {where!r} has dtype {dtype}: only "
                                 "numeric arrays are read")
        shape = obj.shape
        if shape is None:
            raise ModelFileError(f"{path!r}: dataset {where!r} is empty (no dataspace)")
        nbytes = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
        if nbytes > MAX_DATASET_BYTES:
            raise ModelFileError(f"{path!r}: dataset {where!r} declares shape {shape} "
                                 f"({nbytes} bytes): refused before allocating")
        out[where] = (tuple(int(d) for d in shape), dtype)


class CheckedFile:
    """An HDF5 file whose objects have all been checked; ``datasets`` maps path to
    ``(shape, dtype)`` and groups to None."""

    def __init__(self, h5file, objects, path):
        self.file = h5file
        self.objects = objects
        self.path = path

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.file.close()

    def has(self, name):
        """Whether a group or dataset of that path exists."""
        return name in self.objects

    def shape(self, name):
        """``(shape, dtype)`` of a dataset, or None where there is none."""
        return self.objects.get(name)

    def children(self, name):
        """Names directly inside a group (sorted), e.g. ``["0", "1"]`` for ``x/vars``."""
        prefix = name.rstrip("/") + "/" if name else ""
        out = {p[len(prefix):].split("/", 1)[0] for p in self.objects
               if p.startswith(prefix) and p != name}
        return sorted(out)

    def read(self, name, shape, dtype):
        """Reads dataset ``name``, which must have ``shape``; returns it as ``dtype``."""
        info = self.objects.get(name)
        if info is None:
            raise ModelFileError(f"{self.path!r} has no dataset {name!r}")
        if info[0] != tuple(shape):
            raise ModelFileError(f"{self.path!r}: dataset {name!r} has shape {info[0]}, the "
                                 f"model needs {tuple(shape)}")
        try:
            arr = self.file[name][()]
        except (OSError, ValueError, KeyError) as exc:
            raise ModelFileError(f"{self.path!r}: dataset {name!r} is corrupted: {exc}"
                                 ) from None
        return np.asarray(arr, dtype=dtype).reshape(shape)

    def attr(self, name, key):
        """A string/bytes attribute of a group (None if absent), size-checked."""
        obj = self.file[name] if name else self.file
        if key not in obj.attrs:
            return None
        try:
            space = obj.attrs.get_id(key).get_storage_size()
        except (OSError, ValueError, KeyError):  # pragma: no cover - defensive
            space = 0
        if space > _ATTR_LIMIT:
            raise ModelFileError(f"{self.path!r}: attribute {key!r} has {space} bytes")
        value = obj.attrs[key]
        if isinstance(value, np.ndarray) and value.shape == ():
            value = value[()]
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        return value


def open_checked(source, path, what="HDF5"):
    """Opens an HDF5 file (a path or bytes) and checks every object in it.

    Args:
        source: A filesystem path or the file's bytes.
        path: The name to quote in errors.
        what: What needs h5py, for the ImportError. Defaults to `"HDF5"`.

    Returns:
        A ``CheckedFile`` (a context manager).

    Raises:
        ModelFileError: Not an HDF5 file, or it holds a link, a virtual/external dataset, a
            non-numeric or oversized dataset.
    """
    h5py = require_h5py(f"reading {what} files")
    if isinstance(source, (bytes, bytearray)):
        handle = _pyio.BytesIO(bytes(source))
    else:
        if not os.path.exists(source):
            raise FileNotFoundError(f"no such {what} file: {os.fspath(source)!r}")
        handle = os.fspath(source)
    try:
        f = h5py.File(handle, "r")
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"{path!r} is not a valid HDF5 file (or is truncated): {exc}"
                             ) from None
    try:
        objects = {}
        _walk(h5py, f, "", objects, path)
    except ModelFileError:
        f.close()
        raise
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        f.close()
        raise ModelFileError(f"{path!r}: the HDF5 file is corrupted: {exc}") from None
    return CheckedFile(f, objects, path)


def to_bytes(fill):
    """Builds an HDF5 file in memory: ``fill(h5file)`` writes it; returns its bytes."""
    h5py = require_h5py("writing HDF5 (.h5) files")
    buf = _pyio.BytesIO()
    with h5py.File(buf, "w") as f:
        fill(f)
    return buf.getvalue()


def write_atomic(path, fill):
    """Writes an HDF5 file atomically (temp file + rename): ``fill(h5file)`` fills it."""
    data = to_bytes(fill)
    _atomic_write(path, lambda f: f.write(data))
