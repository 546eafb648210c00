"""Atomic file writes: a temporary file beside the target, fsynced, renamed over it.

Every file lamina writes (``.lamina``, ``.weights.npz``, ``.keras``, ``.weights.h5``,
ONNX) goes through ``atomic_write``: a crash or Ctrl-C mid-save leaves the previous file
intact and no temporary file behind; a replaced file keeps its mode (a new one gets
``0o666 & ~umask``, like any new file) and a symlink's target is written, the link kept.

Example:
    >>> import os, pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
    >>> atomic_write(path, lambda f: f.write(b"hello"))
    >>> path.read_bytes(), os.listdir(path.parent)
    (b'hello', ['notes.txt'])
"""

from __future__ import annotations

import errno
import os
import secrets
import stat

__all__ = ["atomic_write"]


def _umask():
    """The process umask, read without changing it where the OS allows."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # pragma: no cover - not Linux
    os.umask(mask)
    return mask


def _save_target(path):
    """The file a save replaces: ``path``, or the file it links to (the link stays a link)."""
    if not os.path.islink(path):
        return path
    target = os.path.realpath(path)
    if os.path.islink(target):
        raise OSError(errno.ELOOP, f"cannot save to {path!r}: a symlink loop")
    return target


def atomic_write(path, write):
    """Calls ``write(fileobj)`` on a temp file beside ``path``, fsyncs, renames over it.

    The target keeps its mode when it exists (else it gets ``0o666 & ~umask``, like any new
    file); a symlink's target is replaced, not the link; the temporary name is never longer
    than the target's, so any legal name works; an interruption (Ctrl-C included) removes
    the temporary file, leaves the target as it was and propagates unchanged.
    """
    path = _save_target(os.fspath(path))
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"directory {directory!r} does not exist (saving {path!r})")
    if os.path.isdir(path):  # else the rename fails naming the temporary file
        raise IsADirectoryError(errno.EISDIR, f"cannot save to {path!r}: it is a directory")
    base = os.path.basename(path)
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    tmp = None
    try:
        for _ in range(100):
            name = (f".~{secrets.token_hex(4)}~{base}")[:max(len(base), 12)]
            candidate = os.path.join(directory, name)
            try:
                fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                continue
            except OSError as exc:  # no permission, a read-only or pseudo file system
                raise type(exc)(exc.errno, f"cannot save to {path!r}: "
                                f"{exc.strerror}") from None
            tmp = candidate
            break
        else:  # pragma: no cover - 100 collisions of 32 random bits
            raise FileExistsError(f"no free temporary name beside {path!r}")
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    try:  # make the rename itself durable
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:  # pragma: no cover - platforms without directory fsync
        pass
