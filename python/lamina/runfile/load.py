"""Loading a run: read, merge onto the defaults, apply overrides, check every section.

Example:
    >>> run = load_run({"training": {"epochs": 3}})
    >>> isinstance(run, Run), run.source, run["training"]["epochs"]
    (True, None, 3)
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Iterable, Mapping

from .errors import RunFileError, check_str, check_table
from .model import check_model
from .overrides import apply_override, parse_override
from .schema import (DEFAULT_LAYERS, RAW_DEFAULTS, TOP_KEYS, check_data, check_diagnosis,
                     check_outputs, check_preprocessing, check_training)
from .toml import read_file, to_toml

__all__ = ["Run", "load_run", "default_run"]


class Run(dict):
    """A resolved run: a plain nested dict (JSON-able) with a few helpers.

    `source` is the file it was read from (None for dicts).

    Example:
        >>> run = load_run({"training": {"epochs": 3}})
        >>> isinstance(run, Run), run.source, run["training"]["epochs"]
        (True, None, 3)
    """

    source: str | None = None

    def to_toml(self) -> str:
        """The run as TOML text; `load_run` of that text gives this run back."""
        return to_toml(dict(self))

    def save(self, path: str | os.PathLike) -> None:
        """Writes the run as TOML (``.toml``) or JSON (``.json``)."""
        path = Path(path)
        text = (json.dumps(dict(self), indent=2) + "\n" if path.suffix.lower() == ".json"
                else self.to_toml())
        path.write_text(text, encoding="utf-8")


def default_run() -> Run:
    """The run `lamina train` uses without a file: a 128-unit ReLU MLP on the digits.

    Example:
        >>> run = default_run()
        >>> run["data"]["source"], run["model"]["layers"][0]["units"]
        ('digits', 128)
    """
    return load_run({})


def load_run(run: str | os.PathLike | Mapping | None = None,
             overrides: Iterable[str] | None = None) -> Run:
    """Reads, checks and resolves a run.

    Args:
        run: a path to a ``.toml`` or ``.json`` run file, or a dict with the same content.
            None means the default run. Defaults to `None`.
        overrides: ``key.path=value`` strings (as ``lamina train --set``) applied on top,
            before defaults are resolved; ``model.layers[i]`` counts the layers as written
            (a ``dropout = ...`` shorthand is part of its dense layer). Defaults to `None`.

    Returns:
        A `Run`: every default filled in, every shorthand expanded, data paths absolute.

    Raises:
        RunFileError: naming the key path and the accepted values.

    Example:
        >>> load_run({"model": {"layers": [{"units": 10, "activation": "softmax"}]}})[
        ...     "model"]["layers"][0]["kernel_initializer"]
        'glorot_uniform'
    """
    source: str | None = None
    base_dir: Path | None = None
    name = "default"
    if run is None:
        raw: dict = {}
    elif isinstance(run, Mapping):
        raw = copy.deepcopy(dict(run))
    else:
        path = Path(run)
        source = str(path)
        base_dir = path.resolve().parent
        name = path.stem
        raw = read_file(path)
    try:
        raw = _merge_defaults(raw)
        for text in overrides or ():
            parts, value = parse_override(text)
            apply_override(raw, parts, value)
        return _resolve(raw, base_dir, name, source)
    except RunFileError as exc:
        raise exc.with_source(source) from None


def _merge_defaults(raw: dict) -> dict:
    check_table("", raw, TOP_KEYS)
    out = copy.deepcopy(raw)
    for section, defaults in RAW_DEFAULTS.items():
        given = out.get(section, {})
        if isinstance(given, Mapping):
            out[section] = {**copy.deepcopy(defaults), **given}
    return out


def _resolve(raw: dict, base_dir: Path | None, name: str, source: str | None) -> Run:
    check_table("", raw, TOP_KEYS)
    pre = check_preprocessing(raw.get("preprocessing", {}))
    run = Run(
        name=check_str("name", raw.get("name", name)),
        description=check_str("description", raw.get("description", "")),
        data=check_data(raw.get("data", {}), base_dir),
        preprocessing=pre,
        model=check_model(raw.get("model", {}), DEFAULT_LAYERS),
        training=check_training(raw.get("training", {}), pre["seed"]),
        diagnosis=check_diagnosis(raw.get("diagnosis", {})),
        outputs=check_outputs(raw.get("outputs", {})),
    )
    run.source = source
    return run
