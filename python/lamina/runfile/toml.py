"""Reading run files (TOML or JSON) and writing them back as TOML.

`read_file` reads a run file as written (nothing resolved); `loads` parses TOML text;
`to_toml` writes a nested dict as TOML (enough for run files: tables, arrays of tables,
inline tables, scalars) and `toml_value` one value, as ``--set key=<value>`` reads it.

Example:
    >>> loads(to_toml({"training": {"epochs": 3}}))
    {'training': {'epochs': 3}}
    >>> toml_value({"l2": 1e-4})
    '{l2 = 0.0001}'
"""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path
from typing import Any, Mapping

from .errors import RunFileError, kind

__all__ = ["loads", "read_file", "to_toml", "toml_value"]


def _tomllib():
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib
    try:
        import tomli  # type: ignore[import-not-found]
    except ImportError as exc:  # pragma: no cover - only on Python < 3.11 without tomli
        raise RunFileError("", "reading TOML on Python < 3.11 needs the tomli package: "
                           "`pip install tomli` (or write the run file as JSON)") from exc
    return tomli


def loads(text: str) -> dict:
    """Parses TOML text (tomllib; tomli on Python < 3.11).

    Args:
        text: The TOML text.

    Raises:
        RunFileError: without a TOML reader (Python < 3.11 without tomli).
        ValueError: the text is not valid TOML (``tomllib.TOMLDecodeError``).

    Example:
        >>> loads('a = [1, 2]')
        {'a': [1, 2]}
    """
    return _tomllib().loads(text)


def read_file(path: str | Path) -> dict:
    """Reads a run file as written: TOML, or JSON for a ``.json`` file.

    Args:
        path: The run file.

    Returns:
        Its top-level table (nothing checked or resolved: `load_run` does that).

    Raises:
        RunFileError: the file is missing, unreadable, or not valid TOML / JSON.

    Example:
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "r.toml"
        >>> _ = path.write_text("[training]\\nepochs = 3\\n")
        >>> read_file(path)
        {'training': {'epochs': 3}}
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RunFileError("", f"run file not found: {str(path)!r}", str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RunFileError("", f"cannot read run file {str(path)!r}: {exc}", str(path)) from None
    if path.suffix.lower() == ".json":
        try:
            raw = json.loads(text)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError, too many digits, depth
            what = "nested too deeply" if isinstance(exc, RecursionError) else exc
            raise RunFileError("", f"invalid JSON: {what}", str(path)) from None
        if not isinstance(raw, dict):
            raise RunFileError("", f"a run file must hold a table at the top, got {kind(raw)}",
                               str(path))
        return raw
    try:
        return loads(text)
    except RunFileError:
        raise
    except Exception as exc:  # tomllib.TOMLDecodeError (tomli's on older Pythons)
        raise RunFileError("", f"invalid TOML: {exc}", str(path)) from None


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _key(k: str) -> str:
    return k if _BARE_KEY.fullmatch(k) else json.dumps(k)


def toml_value(v: Any) -> str:
    """One value as TOML text (tables inline; None entries of a table left out).

    Args:
        v: bool, int, float, str, a list or a dict of those.

    Example:
        >>> toml_value([1, 0.5, "relu", True])
        '[1, 0.5, "relu", true]'
    """
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{" + ", ".join(f"{_key(str(k))} = {toml_value(x)}" for k, x in v.items()
                               if x is not None) + "}"
    raise TypeError(f"cannot write {v!r} ({type(v).__name__}) as TOML")


def _is_table_array(v: Any) -> bool:
    return isinstance(v, (list, tuple)) and bool(v) and all(isinstance(x, Mapping) for x in v)


def to_toml(data: Mapping) -> str:
    """Writes a nested dict as TOML (None values are left out; TOML has no null).

    Args:
        data: str keys; values bool, int, float, str, lists, dicts.

    Returns:
        The TOML text.

    Example:
        >>> print(to_toml({"name": "a", "training": {"epochs": 3, "seed": None}}))
        name = "a"
        <BLANKLINE>
        [training]
        epochs = 3
        <BLANKLINE>
    """
    lines: list[str] = []

    def table(prefix: str, d: Mapping) -> None:
        subs = []
        for k, v in d.items():
            if v is None:
                continue
            if isinstance(v, Mapping) or _is_table_array(v):
                subs.append((k, v))
            else:
                lines.append(f"{_key(str(k))} = {toml_value(v)}")
        for k, v in subs:
            name = f"{prefix}.{_key(str(k))}" if prefix else _key(str(k))
            if isinstance(v, Mapping):
                if lines:
                    lines.append("")
                lines.append(f"[{name}]")
                table(name, v)
            else:
                for item in v:
                    lines.append("")
                    lines.append(f"[[{name}]]")
                    for ik, iv in item.items():  # nested values inline
                        if iv is not None:
                            lines.append(f"{_key(str(ik))} = {toml_value(iv)}")

    table("", data)
    return "\n".join(lines) + "\n"
