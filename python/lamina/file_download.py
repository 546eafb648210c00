"""``get_file``: downloads a file once into a cache and returns its path (Keras 3's
``keras.utils.get_file``: arguments, defaults and cache layout).

The cache is Keras's: ``$KERAS_HOME`` or ``~/.keras`` (``/tmp/.keras`` when that is not
writable), subfolder ``cache_subdir``, so a dataset Keras already downloaded is found there
and not fetched again. A download goes to a temporary file beside the target and is renamed
into place only when it is complete and its hash matches: an interrupted or corrupted
download never leaves a file under the cached name. Archives (tar, zip) are extracted with
every member checked to stay inside the extraction folder.

Example:
    >>> import os, tempfile, pathlib
    >>> src = pathlib.Path(tempfile.mkdtemp()) / "data.txt"; _ = src.write_text("hello")
    >>> path = get_file(origin=src.as_uri(), cache_dir=tempfile.mkdtemp())
    >>> os.path.basename(path), open(path).read()
    ('data.txt', 'hello')
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile

__all__ = ["get_file", "hash_file", "validate_file", "extract_archive", "cache_home"]


def cache_home() -> str:
    """Keras's cache root: ``$KERAS_HOME``, else ``~/.keras``."""
    return os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")


def _hasher(algorithm, file_hash=None):
    if algorithm not in ("auto", "sha256", "md5"):
        raise ValueError(f"hash_algorithm must be 'auto', 'sha256' or 'md5', got {algorithm!r}")
    if algorithm == "sha256" or (algorithm == "auto" and file_hash is not None
                                 and len(str(file_hash)) == 64):
        return hashlib.sha256()
    return hashlib.md5()


def hash_file(fpath, algorithm="sha256", chunk_size=65535) -> str:
    """The hex digest of a file ("sha256" or "md5").

    Args:
        fpath: The file.
        algorithm: "sha256", "md5" or "auto" (sha256). Defaults to `"sha256"`.
        chunk_size: Bytes read at a time. Defaults to `65535`.
    """
    hasher = _hasher(algorithm) if isinstance(algorithm, str) else algorithm
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def validate_file(fpath, file_hash, algorithm="auto", chunk_size=65535) -> bool:
    """Whether the file's hash is ``file_hash`` ("auto": sha256 for 64 hex digits, else md5).

    Args:
        fpath: The file.
        file_hash: The expected hex digest.
        algorithm: "auto", "sha256" or "md5". Defaults to `"auto"`.
        chunk_size: Bytes read at a time. Defaults to `65535`.
    """
    return hash_file(fpath, _hasher(algorithm, file_hash), chunk_size) == str(file_hash).lower()


def _inside(root, name):
    target = os.path.realpath(os.path.join(root, name))
    return target == root or target.startswith(root + os.sep)


def extract_archive(file_path, path=".", archive_format="auto") -> bool:
    """Extracts a tar or zip archive into ``path``; False when the file is neither.

    Members that would land outside ``path`` (absolute names, ``..``, links pointing out)
    and device files refuse the whole archive with a ValueError; a failed extraction
    removes what it wrote.

    Args:
        file_path: The archive.
        path: The folder to extract into. Defaults to `"."`.
        archive_format: "auto" (tar, then zip), "tar", "zip", a list of those, or None
            (do not extract). Defaults to `"auto"`.
    """
    if archive_format is None:
        return False
    formats = ["tar", "zip"] if archive_format == "auto" else (
        [archive_format] if isinstance(archive_format, str) else list(archive_format))
    for fmt in formats:
        if fmt not in ("tar", "zip"):
            raise ValueError(f"archive_format must be 'auto', 'tar', 'zip' or None, got {fmt!r}")
    file_path = os.fspath(file_path)
    root = os.path.realpath(os.fspath(path))
    for fmt in formats:
        if fmt == "tar" and tarfile.is_tarfile(file_path):
            with tarfile.open(file_path) as archive:
                for m in archive.getmembers():
                    bad = (not _inside(root, m.name) or m.isdev()
                           or (m.issym() and not _inside(root, os.path.join(
                               os.path.dirname(m.name), m.linkname)))
                           or (m.islnk() and not _inside(root, m.linkname)))
                    if bad:
                        raise ValueError(f"archive {file_path!r}: member {m.name!r} would be "
                                         f"written outside {path!r}")
                _extract_all(archive, root, tar=True)
            return True
        if fmt == "zip" and zipfile.is_zipfile(file_path):
            with zipfile.ZipFile(file_path) as archive:
                for name in archive.namelist():
                    if not _inside(root, name):
                        raise ValueError(f"archive {file_path!r}: member {name!r} would be "
                                         f"written outside {path!r}")
                _extract_all(archive, root, tar=False)
            return True
    return False


def _extract_all(archive, root, tar):
    existed = os.path.exists(root)
    try:
        if tar and sys.version_info >= (3, 12):
            archive.extractall(root, filter="data")
        else:  # members checked above
            archive.extractall(root)
    except BaseException:
        if not existed:
            shutil.rmtree(root, ignore_errors=True)
        raise


def _download(origin, target, file_hash, hash_algorithm):
    """Fetches ``origin`` into a temporary file beside ``target``, checks it, renames it."""
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(target) + ".", suffix=".part",
                               dir=os.path.dirname(target))
    os.close(fd)
    try:
        try:
            urllib.request.urlretrieve(origin, tmp)
        except urllib.error.HTTPError as exc:
            raise OSError(f"URL fetch failure on {origin}: HTTP {exc.code} {exc.msg}") from None
        except urllib.error.URLError as exc:
            raise OSError(f"URL fetch failure on {origin}: {exc.reason}") from None
        except ValueError as exc:  # not a URL urllib knows
            raise ValueError(f"origin {origin!r} is not a URL that can be fetched: {exc}") \
                from None
        if file_hash is not None and not validate_file(tmp, file_hash, hash_algorithm):
            got = hash_file(tmp, _hasher(hash_algorithm, file_hash))
            raise ValueError(f"the file downloaded from {origin} is incomplete or corrupted: "
                             f"its hash is {got}, expected {file_hash}")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def get_file(fname=None, origin=None, untar=False, md5_hash=None, file_hash=None,
             cache_subdir="datasets", hash_algorithm="auto", extract=False,
             archive_format="auto", cache_dir=None, force_download=False):
    """Downloads ``origin`` into the cache unless a file with the right hash is there, and
    returns its path (the extraction folder with ``extract=True``).

    Args:
        fname: The file's name in the cache (a plain name, no folder). Defaults to `None`
            (the last part of the URL's path).
        origin: The URL (``https://``, ``file://`` …).
        untar: Keras's older spelling of ``extract=True`` for tar files. Defaults to `False`.
        md5_hash: Keras's older spelling of ``file_hash`` with md5. Defaults to `None`.
        file_hash: The expected sha256 or md5 hex digest; a cached file that does not match
            is fetched again, a download that does not match is refused. Defaults to `None`
            (not checked).
        cache_subdir: Folder under the cache root (an absolute path is used as it is).
            Defaults to `"datasets"`.
        hash_algorithm: "auto", "sha256" or "md5". Defaults to `"auto"`.
        extract: Extract the archive (tar or zip) into ``<name>_extracted`` (or ``<name>``
            when ``fname`` has no extension) and return that folder. Defaults to `False`.
        archive_format: "auto", "tar", "zip" or None. Defaults to `"auto"`.
        cache_dir: The cache root. Defaults to `None` (``$KERAS_HOME`` or ``~/.keras``).
        force_download: Fetch even if a valid file is cached. Defaults to `False`.

    Returns:
        The path of the file (or of the extraction folder).

    Raises:
        ValueError: No origin, a bad ``fname``, an unknown hash algorithm, a hash mismatch.
        OSError: The URL cannot be fetched (the message names it and the reason).
    """
    if not origin or not isinstance(origin, str):
        raise ValueError(f"origin must be the URL of the file to download, got {origin!r}")
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    _hasher(hash_algorithm)  # names a bad algorithm before anything is fetched
    root = os.path.expanduser(os.fspath(cache_dir) if cache_dir is not None else cache_home())
    try:
        os.makedirs(root, exist_ok=True)
    except OSError:  # not creatable here: the temporary folder's cache below
        pass
    if not os.access(root, os.W_OK):
        root = os.path.join(tempfile.gettempdir(), ".keras")
    datadir = os.path.join(root, cache_subdir)
    os.makedirs(datadir, exist_ok=True)
    given = fname is not None and fname != ""
    name = os.fspath(fname) if given else os.path.basename(urllib.parse.urlsplit(origin).path)
    if not name:
        raise ValueError(f"cannot tell the file name from origin {origin!r}: pass fname")
    if os.sep in name or (os.altsep and os.altsep in name) or name in (".", ".."):
        raise ValueError(f"fname must be a plain file name, got {fname!r}: put the folder in "
                         "cache_dir or cache_subdir")
    extracting = bool(extract or untar)
    if extracting:
        if given and "." in name:
            target = os.path.join(datadir, name)
            folder = os.path.join(datadir, name[:name.find(".")] + "_extracted")
        else:
            target = os.path.join(datadir, name + "_archive")
            folder = os.path.join(datadir, name)
    else:
        target = os.path.join(datadir, name)
    fetch = force_download or not os.path.exists(target) or (
        file_hash is not None and not validate_file(target, file_hash, hash_algorithm))
    if fetch:
        print(f"Downloading data from {origin}", file=sys.stderr)
        _download(origin, target, file_hash, hash_algorithm)
    if extracting:
        if not extract_archive(target, folder, "tar" if untar else archive_format):
            raise ValueError(f"{target!r} (from {origin}) is not a tar or zip archive: it "
                             "cannot be extracted")
        return folder
    return target
