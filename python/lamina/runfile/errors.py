"""`RunFileError` and the small checkers every run-file section is read with.

Each checker returns the cleaned value or raises `RunFileError(path, ...)`, where ``path``
is the key path of the value (``training.epochs``, ``model.layers[1].activation``).

Example:
    >>> check_int("training.epochs", 3, lo=1)
    3
    >>> str(one_of("training.loss", "mse2", ["mse", "mae"]))
    "training.loss: 'mse2' is not one of mse, mae (did you mean 'mse'?)"
"""

from __future__ import annotations

import difflib
import math
import re
from typing import Any, Iterable, Mapping

__all__ = ["RunFileError", "kind", "bad", "one_of", "check_table", "check_bool", "check_int",
           "check_float", "check_str", "named", "from_exception"]


class RunFileError(ValueError):
    """A run file (or a `--set` override, or the data it names) is invalid.

    Attributes:
        key: the key path of the bad value, e.g. ``model.layers[1].activation``.
        message: what is wrong, with the accepted values.
        source: the file the run came from, if any.

    Example:
        >>> err = RunFileError("training.epochs", "must be >= 1, got 0")
        >>> str(err), err.key
        ('training.epochs: must be >= 1, got 0', 'training.epochs')
    """

    def __init__(self, key: str, message: str, source: str | None = None):
        self.key = key
        self.message = message
        self.source = source
        super().__init__(f"{key}: {message}" if key else message)

    def with_source(self, source: str | None) -> RunFileError:
        """Names the file the error came from (once; the first source wins)."""
        if source and not self.source:
            self.source = source
        return self


def kind(v: Any) -> str:
    """How a run file spells the type of `v` ("an integer", "a table", ...)."""
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, int):
        return "an integer"
    if isinstance(v, float):
        return "a number"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, (list, tuple)):
        return "a list"
    if isinstance(v, Mapping):
        return "a table"
    return type(v).__name__


def bad(path: str, expected: str, v: Any) -> RunFileError:
    """``expected <what>, got <value> (<its type>)`` at `path`."""
    return RunFileError(path, f"expected {expected}, got {v!r} ({kind(v)})")


def one_of(path: str, v: Any, choices: Iterable[str], what: str = "") -> RunFileError:
    """``<v> is not one of <choices>``, with the closest choice as a hint."""
    choices = list(choices)
    msg = f"{v!r} is not one of {', '.join(choices)}"
    if isinstance(v, str):
        close = difflib.get_close_matches(v, choices, n=1)
        if close:
            msg += f" (did you mean {close[0]!r}?)"
    return RunFileError(path, (what + " " if what else "") + msg)


def check_table(path: str, v: Any, allowed: Iterable[str]) -> dict:
    """A table whose keys are all in `allowed` (an unknown key names the accepted ones)."""
    if not isinstance(v, Mapping):
        raise bad(path, "a table", v)
    allowed = list(allowed)
    for k in v:
        if k not in allowed:
            close = difflib.get_close_matches(str(k), allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            sub = f"{path}.{k}" if path else str(k)
            raise RunFileError(sub, f"unknown key{hint}; accepted keys: {', '.join(allowed)}")
    return dict(v)


def check_bool(path: str, v: Any) -> bool:
    """``true`` or ``false``."""
    if not isinstance(v, bool):
        raise bad(path, "true or false", v)
    return v


def check_int(path: str, v: Any, lo: int | None = None, hi: int | None = None) -> int:
    """An integer (a float holding one is accepted) within ``[lo, hi]``."""
    if isinstance(v, bool) or not isinstance(v, int):
        if isinstance(v, float) and v.is_integer() and math.isfinite(v):
            v = int(v)
        else:
            raise bad(path, "an integer", v)
    if lo is not None and v < lo:
        raise RunFileError(path, f"must be >= {lo}, got {v}")
    if hi is not None and v > hi:
        raise RunFileError(path, f"must be <= {hi}, got {v}")
    return int(v)


def check_float(path: str, v: Any, lo: float | None = None, hi: float | None = None,
                lo_open: bool = False, hi_open: bool = False) -> float:
    """A finite number within the bounds (``lo_open``/``hi_open`` exclude them)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise bad(path, "a number", v)
    v = float(v)
    if not math.isfinite(v):
        raise RunFileError(path, f"must be a finite number, got {v}")
    if (lo is not None and (v < lo or (lo_open and v == lo))) or (
            hi is not None and (v > hi or (hi_open and v == hi))):
        raise RunFileError(path, f"must be {_range_text(lo, hi, lo_open, hi_open)}, got {v}")
    return v


def _range_text(lo, hi, lo_open, hi_open) -> str:
    if hi is None:
        return f"{'>' if lo_open else '>='} {lo:g}"
    if lo is None:
        return f"{'<' if hi_open else '<='} {hi:g}"
    return f"in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"


def check_str(path: str, v: Any) -> str:
    """A string."""
    if not isinstance(v, str):
        raise bad(path, "a string", v)
    return v


def named(path: str, v: Any) -> tuple[str, dict]:
    """A ``"name"`` or ``{name = "...", ...params}`` value -> (name, params)."""
    if isinstance(v, str):
        return v, {}
    if isinstance(v, Mapping):
        if "name" not in v:
            raise RunFileError(path, "a table here needs a 'name' key")
        params = {k: val for k, val in v.items() if k != "name"}
        return check_str(f"{path}.name", v["name"]), params
    raise bad(path, "a name or a table with a 'name' key", v)


_BOUNDS = re.compile(r"(in )?([\[(])(-?[0-9.e+-]+|-?inf), (-?[0-9.e+-]+|-?inf)([\])])")


def _bounds(m: re.Match) -> str:
    lo, hi = float(m[3]), float(m[4])
    if math.isinf(hi) and not math.isinf(lo):  # [0.0, inf] -> >= 0
        return f"{'>' if m[2] == '(' else '>='} {lo:g}"
    return f"{m[1] or ''}{m[2]}{lo:g}, {hi:g}{m[5]}"


def from_exception(path: str, exc: Exception, keys: Iterable[str]) -> RunFileError:
    """A class's ValueError/TypeError as a RunFileError on the key it names.

    The key is the first of `keys` the message names (else `path` itself); bounds are
    written as a run file writes numbers (``[0.0, 1.0)`` becomes ``[0, 1)``, ``in [0.0,
    inf]`` becomes ``>= 0``).

    Example:
        >>> e = ValueError("momentum must be in [0.0, 1.0], got 1.5")
        >>> str(from_exception("training.optimizer", e, ["learning_rate", "momentum"]))
        'training.optimizer.momentum: momentum must be in [0, 1], got 1.5'
    """
    msg = str(exc).strip("'\"")
    msg = _BOUNDS.sub(_bounds, msg)
    hits = [(m.start(), k) for k in keys for m in [re.search(rf"\b{re.escape(k)}\b", msg)] if m]
    if hits:
        return RunFileError(f"{path}.{min(hits)[1]}" if path else min(hits)[1], msg)
    return RunFileError(path, msg)
