"""Data files read a chunk of rows at a time: CSV (the standard library's reader, one row at
a time) and Parquet (pyarrow's ``iter_batches``, across row groups), so that ``lamina
predict`` works on files larger than memory.

Every problem is a `RunFileError` on the given key (``DATA`` for the CLI) that names the
file and, where there is one, the line or row and column.

Example:
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "d.csv")
    >>> with open(path, "w") as f:
    ...     _ = f.write("a,b,label\\n1,2,0\\n3,4,1\\n5,6,0\\n")
    >>> names, chunks = read_chunks(path, "label", chunk_rows=2)
    >>> names, [(x.shape, y.tolist()) for x, y in chunks]
    (['a', 'b'], [((2, 2), [0.0, 1.0]), ((1, 2), [0.0])])
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from .errors import RunFileError, one_of

__all__ = ["CHUNKED_SUFFIXES", "read_chunks"]

# The files read a chunk at a time (``.npz`` and "digits" are read whole).
CHUNKED_SUFFIXES = (".csv", ".parquet", ".pq")


def parse_row(key, name, header, row, line, out):
    """Parses one CSV data row into ``out`` (floats), or raises `RunFileError` naming the file
    ``name``, the ``line`` and the column: a wrong number of fields, a cell that is not a
    number, a non-finite value. Shared by the whole-file and the chunked readers."""
    if len(row) != len(header):
        raise RunFileError(key, f"{name} line {line}: {len(row)} fields, the header has "
                           f"{len(header)}")
    for c, cell in enumerate(row):
        try:
            v = float(cell)
        except ValueError:
            raise RunFileError(key, f"{name}: column {header[c]!r} is not numeric "
                               f"(line {line}: {cell!r})") from None
        if not math.isfinite(v):
            raise RunFileError(key, f"{name}: column {header[c]!r} has a non-finite "
                               f"value (line {line}: {cell!r})")
        out[c] = v


def read_chunks(source: str, label: str | None, key: str = "DATA", lkey: str = "--label",
                require_label: bool = False, chunk_rows: int = 65536):
    """Opens a CSV or Parquet file and reads its header; the rows come later, in chunks.

    Args:
        source: A path ending in .csv, .parquet or .pq.
        label: The label column (kept apart from the features), or None.
        key: The name errors use for the file. Defaults to `"DATA"`.
        lkey: The name errors use for the label. Defaults to `"--label"`.
        require_label: A missing label column is an error (else y is None).
            Defaults to `False`.
        chunk_rows: Rows per chunk. Defaults to `65536`.

    Returns:
        ``(feature names, iterator of (x float64 (k, d), y float64 (k,) or None))``; the
        iterator raises `RunFileError` at the first bad row and when the file has no rows.
    """
    p = Path(source)
    if not p.is_file():
        raise RunFileError(key, f"file not found: {source!r}")
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise ValueError(f"chunk_rows must be an int >= 1, got {chunk_rows!r}")
    if p.suffix.lower() == ".csv":
        return _csv_chunks(p, label, key, lkey, require_label, chunk_rows)
    if p.suffix.lower() in (".parquet", ".pq"):
        return _parquet_chunks(p, label, key, lkey, require_label, chunk_rows)
    raise RunFileError(key, f"{source!r} is not a path ending in "
                       f"{', '.join(CHUNKED_SUFFIXES)}")


def _label_index(header, label, lkey, require_label):
    if label is not None and label in header:
        return header.index(label)
    if require_label:
        raise one_of(lkey, label, header, "column")
    return None


def _csv_chunks(p, label, key, lkey, require_label, chunk_rows):
    import numpy as np

    def fail(exc):
        return RunFileError(key, f"cannot read {str(p)!r} as CSV: {exc}")

    try:  # the header now (errors before any output), the rows when iterated
        with open(p, newline="", encoding="utf-8") as f:
            header = next((r for r in csv.reader(f) if any(c.strip() for c in r)), None)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise fail(exc) from None
    if header is None:
        raise RunFileError(key, f"{str(p)!r} needs a header row and at least one data row")
    header = [h.strip() for h in header]
    li = _label_index(header, label, lkey, require_label)
    feat = [c for c in range(len(header)) if c != li]
    if not feat:
        raise RunFileError(key, f"{p.name} has no feature columns besides {label!r}")

    def chunks():
        try:
            f = open(p, newline="", encoding="utf-8")
        except OSError as exc:
            raise fail(exc) from None
        with f:
            buf = np.empty((chunk_rows, len(header)), dtype=np.float64)
            k = total = 0
            r = 1  # data lines count from 2, blank lines skipped (as the whole-file reader)
            try:
                reader = csv.reader(f)
                next((h for h in reader if any(c.strip() for c in h)), None)  # the header
                for row in reader:
                    if not any(c.strip() for c in row):
                        continue
                    r += 1
                    parse_row(key, p.name, header, row, r, buf[k])
                    k += 1
                    if k == chunk_rows:
                        total += k
                        yield _split(buf, feat, li, k)
                        k = 0
            except (UnicodeDecodeError, csv.Error) as exc:
                raise fail(exc) from None
            if k:
                total += k
                yield _split(buf, feat, li, k)
            if total == 0:
                raise RunFileError(key, f"{str(p)!r} needs a header row and at least one "
                                   "data row")

    return [header[c] for c in feat], chunks()


def _split(buf, feat, li, k):
    x = buf[:k, feat]  # fancy indexing copies, so buf is free for the next chunk
    return x, (None if li is None else buf[:k, li].copy())


def _parquet_chunks(p, label, key, lkey, require_label, chunk_rows):
    import numpy as np

    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise RunFileError(key, f"reading {p.name} needs pyarrow: pip install pyarrow") from None

    def fail(exc):
        return RunFileError(key, f"cannot read {str(p)!r} as Parquet: "
                            f"{' '.join(str(exc).split())}")

    try:  # the schema now (errors before any output), the rows when iterated
        schema = pq.read_schema(p)
    except (OSError, pa.ArrowException) as exc:
        raise fail(exc) from None
    header = list(schema.names)
    li = _label_index(header, label, lkey, require_label)
    for c, field in enumerate(schema):
        t = field.type
        if not (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)):
            raise RunFileError(key, f"{p.name}: column {field.name!r} is not numeric "
                               f"(type {t})")
    feat = [c for c in range(len(header)) if c != li]
    if not feat:
        raise RunFileError(key, f"{p.name} has no feature columns besides {label!r}")

    def chunks():
        start = 0
        try:
            with pq.ParquetFile(p) as pf:
                for batch in pf.iter_batches(batch_size=chunk_rows):
                    if batch.num_rows:
                        cols = [_parquet_column(batch.column(c), header[c], start)
                                for c in range(len(header))]
                        yield (np.stack([cols[c] for c in feat], axis=1),
                               None if li is None else cols[li])
                        start += batch.num_rows
        except (OSError, pa.ArrowException) as exc:
            raise fail(exc) from None
        if start == 0:
            raise RunFileError(key, f"{str(p)!r} has no rows")

    def _parquet_column(col, name, start):
        """One column of a record batch as float64, or the first missing/non-finite value."""
        if col.null_count:
            row = start + int(np.argmax(np.asarray(col.is_null())))
            raise RunFileError(key, f"{p.name}: column {name!r} has a missing value "
                               f"(row index {row})")
        arr = col.to_numpy(zero_copy_only=False).astype(np.float64)
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise RunFileError(key, f"{p.name}: column {name!r} has a non-finite value "
                               f"(row index {start + int(bad[0])}: {arr[bad[0]]!r})")
        return arr

    return [header[c] for c in feat], chunks()
