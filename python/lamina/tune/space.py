"""The search space: key paths of a run -> lists of values or distributions.

Example:
    >>> sample_space({"a": [1, 2], "b": loguniform(0.1, 1.0)}, "random", n_trials=2)[0]["a"]
    2
"""

from __future__ import annotations

import copy
import itertools
import json
import math
from pathlib import Path
from typing import Mapping

import numpy as np

__all__ = ["Distribution", "uniform", "loguniform", "choice", "randint", "normalize_space",
           "parse_path", "sample_space", "load_space"]


# ---------------------------------------------------------------------- distributions
class Distribution:
    """A distribution of values that random search samples from."""

    def sample(self, rng: np.random.Generator):  # pragma: no cover - abstract
        raise NotImplementedError

    def __eq__(self, other):
        return type(self) is type(other) and vars(self) == vars(other)

    def __repr__(self):
        args = ", ".join(repr(v) for v in vars(self).values())
        return f"{type(self).__name__.lstrip('_').lower()}({args})"


class _Uniform(Distribution):
    def __init__(self, low, high):
        low, high = float(low), float(high)
        if not (math.isfinite(low) and math.isfinite(high)) or not low < high:
            raise ValueError(f"uniform needs finite low < high, got low={low!r}, high={high!r}")
        self.low, self.high = low, high

    def sample(self, rng):
        return float(rng.uniform(self.low, self.high))


class _LogUniform(Distribution):
    def __init__(self, low, high):
        low, high = float(low), float(high)
        if not (0 < low < high) or not math.isfinite(high):
            raise ValueError(f"loguniform needs 0 < low < high, got low={low!r}, high={high!r}")
        self.low, self.high = low, high

    def sample(self, rng):
        return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))


class _Choice(Distribution):
    def __init__(self, options):
        options = list(options)
        if not options:
            raise ValueError("choice needs at least one option, got []")
        self.options = options

    def sample(self, rng):
        return copy.deepcopy(self.options[int(rng.integers(len(self.options)))])


class _RandInt(Distribution):
    def __init__(self, low, high):
        if int(low) != low or int(high) != high or not int(low) < int(high):
            raise ValueError(f"randint needs ints low < high, got low={low!r}, high={high!r}")
        self.low, self.high = int(low), int(high)

    def sample(self, rng):
        return int(rng.integers(self.low, self.high))


def uniform(low: float, high: float) -> Distribution:
    """A float drawn uniformly from [low, high).

    Example:
        >>> uniform(0.0, 0.5)
        uniform(0.0, 0.5)
    """
    return _Uniform(low, high)


def loguniform(low: float, high: float) -> Distribution:
    """A float whose logarithm is uniform on [log(low), log(high)) (learning rates, penalties).

    Example:
        >>> loguniform(1e-4, 1e-2)
        loguniform(0.0001, 0.01)
    """
    return _LogUniform(low, high)


def choice(options) -> Distribution:
    """One of ``options``, each equally likely.

    Example:
        >>> choice(["relu", "tanh"])
        choice(['relu', 'tanh'])
    """
    return _Choice(options)


def randint(low: int, high: int) -> Distribution:
    """An int drawn uniformly from [low, high) (``high`` excluded, like numpy).

    Example:
        >>> randint(16, 129)
        randint(16, 129)
    """
    return _RandInt(low, high)


def _distribution_from_spec(key: str, spec: Mapping) -> Distribution:
    """``{"loguniform": [1e-4, 1e-2]}`` (the form SPACE.toml files use) to a distribution."""
    makers = {"uniform": uniform, "loguniform": loguniform, "randint": randint, "choice": choice}
    if len(spec) != 1 or next(iter(spec)) not in makers:
        raise ValueError(
            f"{key}: a distribution is one of {{uniform|loguniform|randint = [low, high]}} "
            f"or {{choice = [...]}}, got {dict(spec)!r}"
        )
    ((name, args),) = spec.items()
    if name == "choice":
        return choice(args)
    if not isinstance(args, (list, tuple)) or len(args) != 2:
        raise ValueError(f"{key}: {name} needs [low, high], got {args!r}")
    return makers[name](*args)


def normalize_space(space: Mapping) -> dict:
    """Checks a space; lists stay lists, ``{"loguniform": [a, b]}`` become distributions.

    Example:
        >>> normalize_space({"training.epochs": range(2, 4)})
        {'training.epochs': [2, 3]}
    """
    if not isinstance(space, Mapping) or not space:
        raise ValueError(f"space must be a non-empty dict of key path -> values, got {space!r}")
    out = {}
    for key, values in space.items():
        if not isinstance(key, str) or not key or "=" in key:
            raise ValueError(f"space keys must be run-file key paths (str), got {key!r}")
        try:
            parse_path(key)
        except ValueError as exc:
            raise ValueError(f"bad key path {key!r}: {exc}") from None
        if isinstance(values, Mapping):
            values = _distribution_from_spec(key, values)
        elif isinstance(values, (str, bytes)) or not isinstance(
            values, (Distribution, list, tuple, range, np.ndarray)
        ):
            raise ValueError(f"{key}: give a list of values or a distribution, got {values!r}")
        elif not isinstance(values, Distribution):
            values = list(values)
            if not values:
                raise ValueError(f"{key}: the list of values is empty")
        out[key] = values
    return out


# ---------------------------------------------------------------------- key paths
def parse_path(path: str) -> list:
    """``"model.layers[0].units"`` -> ``["model", "layers", 0, "units"]`` (as ``--set``)."""
    from ..runfile import parse_override

    parts, _ = parse_override(f"{path}=0")
    return parts


# ---------------------------------------------------------------------- sampling
def sample_space(
    space: Mapping, strategy: str = "grid", n_trials: int | None = None, seed: int = 0
) -> list[dict]:
    """The points a search visits, in order.

    Args:
        space: Key path -> list of values or distribution.
        strategy: "grid" (every combination of the lists, in order; distributions are not
            allowed) or "random" (``n_trials`` independent draws; a list is drawn uniformly).
            Defaults to `"grid"`.
        n_trials: Grid: keep the first ``n_trials`` points; random: the number of draws
            (10 when None). Defaults to `None`.
        seed: Seed of the random draws. Defaults to `0`.

    Returns:
        A list of dicts key path -> value.

    Example:
        >>> sample_space({"a": [1, 2], "b": ["x", "y"]})
        [{'a': 1, 'b': 'x'}, {'a': 1, 'b': 'y'}, {'a': 2, 'b': 'x'}, {'a': 2, 'b': 'y'}]
    """
    space = normalize_space(space)
    if n_trials is not None and (
        isinstance(n_trials, bool) or int(n_trials) != n_trials or n_trials < 1
    ):
        raise ValueError(f"n_trials must be a positive int or None, got {n_trials!r}")
    if strategy == "grid":
        dists = [k for k, v in space.items() if isinstance(v, Distribution)]
        if dists:
            raise ValueError(
                f"grid search needs lists of values, but {', '.join(dists)} "
                "is a distribution: use strategy='random' or give a list"
            )
        keys = list(space)
        # Lazily: a large space with n_trials never builds the whole product.
        combos = itertools.product(*space.values())
        if n_trials is not None:
            combos = itertools.islice(combos, int(n_trials))
        return [dict(zip(keys, combo)) for combo in combos]
    if strategy == "random":
        rng = np.random.default_rng(seed)
        points = []
        for _ in range(10 if n_trials is None else int(n_trials)):
            point = {}
            for key, values in space.items():
                if isinstance(values, Distribution):
                    point[key] = values.sample(rng)
                else:
                    v = values[int(rng.integers(len(values)))]
                    point[key] = v.item() if isinstance(v, np.generic) else copy.deepcopy(v)
            points.append(point)
        return points
    raise ValueError(f"strategy must be 'grid' or 'random', got {strategy!r}")



# ---------------------------------------------------------------------- space files
_DIST_NAMES = ("uniform", "loguniform", "randint", "choice")


def load_space(path) -> dict:
    """Reads a space file (TOML or JSON) into key path -> values.

    Keys may be quoted key paths (``"model.layers[0].units" = [32, 64]``) or nested tables
    (``[training.optimizer]`` then ``learning_rate = {loguniform = [1e-4, 1e-2]}``); a leaf
    is a list of values or a one-key table naming a distribution (uniform, loguniform,
    randint, choice).

    Args:
        path: The space file.

    Returns:
        A dict for :func:`search`.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"space file not found: {str(path)!r}")
    if path.suffix.lower() == ".json":
        raw = json.loads(path.read_text())
    else:
        try:
            import tomllib
        except ImportError:  # Python < 3.11
            import tomli as tomllib
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    if not isinstance(raw, dict):
        raise ValueError(f"space file {str(path)!r} must hold a table of key path -> values, "
                         f"got {type(raw).__name__}")
    out: dict = {}

    def walk(prefix, node):
        for key, value in node.items():
            full = f"{prefix}.{key}" if prefix else key
            if isinstance(value, dict) and not (
                len(value) == 1 and next(iter(value)) in _DIST_NAMES
            ):
                walk(full, value)
            else:
                out[full] = value

    walk("", raw)
    return normalize_space(out)

