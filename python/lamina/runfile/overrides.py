"""Overrides: ``--set training.epochs=2``, ``--set model.layers[0].units=64``, ``--set a.b="x"``.

Example:
    >>> raw = {"training": {"optimizer": "adam"}}
    >>> apply_override(raw, *parse_override("training.optimizer.learning_rate=0.01")); raw
    {'training': {'optimizer': {'name': 'adam', 'learning_rate': 0.01}}}
"""

from __future__ import annotations

import json
import re
from typing import Any, Mapping

from .errors import RunFileError
from .toml import loads

__all__ = ["parse_override", "apply_override", "path_text"]

_PATH_TOKEN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)((?:\[-?\d+\])*)")


def parse_override(text: str) -> tuple[list, Any]:
    """Parses ``key.path[i]=value`` into (path parts, value).

    The value is read as a TOML value (``2``, ``0.5``, ``true``, ``"adam"``, ``[64, 32]``,
    ``{l2 = 1e-4}``); anything that is not valid TOML is taken as a bare string (``adam``).

    Args:
        text: the override, as given to ``--set``.

    Returns:
        The path as a list of keys (str) and list indices (int), and the value.

    Example:
        >>> parse_override("model.layers[0].units=64")
        (['model', 'layers', 0, 'units'], 64)
    """
    if "=" not in text:
        raise RunFileError("--set", f"expected key=value, got {text!r}")
    key, _, raw = text.partition("=")
    key, raw = key.strip(), raw.strip()
    parts: list = []
    for piece in key.split("."):
        m = _PATH_TOKEN.fullmatch(piece)
        if not m:
            raise RunFileError("--set", f"bad key path {key!r} (expected names like "
                               "training.epochs or model.layers[0].units)")
        parts.append(m.group(1))
        parts.extend(int(i) for i in re.findall(r"\[(-?\d+)\]", m.group(2)))
    try:
        value = loads(f"v = {raw}")["v"]
    except RunFileError:  # no TOML reader (Python < 3.11 without tomli): JSON values
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
    except Exception:
        value = raw
    return parts, value


def path_text(parts: list) -> str:
    """Key path parts back as text: ``['model', 'layers', 0]`` -> ``model.layers[0]``.

    Example:
        >>> path_text(["model", "layers", 0, "units"])
        'model.layers[0].units'
    """
    s = ""
    for p in parts:
        s += f"[{p}]" if isinstance(p, int) else (f".{p}" if s else p)
    return s


def apply_override(raw: dict, parts: list, value: Any) -> None:
    """Sets `value` at the key path `parts` of the run as written (in place).

    Missing tables are created; a name given as a string (``optimizer = "adam"``) becomes
    ``{name = "adam"}`` when one of its parameters is set.

    Args:
        raw: The run as written (a dict).
        parts: The key path (`parse_override`).
        value: The value to set.
    """
    node: Any = raw
    for depth, p in enumerate(parts[:-1]):
        here = path_text(parts[: depth + 1])
        nxt = parts[depth + 1]
        if isinstance(p, int):
            if not isinstance(node, list):
                raise RunFileError(path_text(parts[:depth]) or "--set", "is not a list")
            if not -len(node) <= p < len(node):
                raise RunFileError(here, f"no such entry: {path_text(parts[:depth])} has "
                                   f"{len(node)} entries")
            child = node[p]
        else:
            if not isinstance(node, dict):
                raise RunFileError(path_text(parts[:depth]), "is not a table")
            child = node.get(p)
            if child is None or child is False or child is True:
                child = [] if isinstance(nxt, int) else {}
        if isinstance(child, str) and not isinstance(nxt, int):
            child = {"name": child}  # "adam" -> {name = "adam"} so its parameters can be set
        if isinstance(child, list):
            child = list(child)
        elif isinstance(child, Mapping):
            child = dict(child)
        node[p] = child
        node = child
    last = parts[-1]
    if isinstance(last, int):
        if not isinstance(node, list):
            raise RunFileError(path_text(parts[:-1]), "is not a list")
        if not -len(node) <= last < len(node):
            raise RunFileError(path_text(parts), f"no such entry: {path_text(parts[:-1])} "
                               f"has {len(node)} entries")
    elif not isinstance(node, dict):
        raise RunFileError(path_text(parts[:-1]), "is not a table")
    node[last] = value
