"""Utilities: global seeding and label encoding (Keras's ``keras.utils``).

Example:
    >>> import lamina
    >>> lamina.utils.set_random_seed(0)
    >>> lamina.utils.to_categorical([0, 2], num_classes=3).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
"""

from __future__ import annotations

import random

import numpy as np

from .py_dataset import PyDataset, Sequence

__all__ = ["set_random_seed", "to_categorical", "PyDataset", "Sequence"]

# Models created without a seed draw one from here; set_random_seed makes the draws
# reproducible, otherwise they come from OS entropy.
_seed_generator: np.random.Generator | None = None


def set_random_seed(seed: int) -> None:
    """Fixes every source of randomness lamina uses: initialization, shuffling and dropout.

    Models created afterwards without an explicit ``seed=`` draw their seed from a generator
    seeded here, so a script that calls this once gives bit-identical weights every run
    (with 1 or 2 threads). Python's ``random`` and numpy's legacy global generator are seeded
    too, like Keras does.

    Args:
        seed: A non-negative int.

    Example:
        >>> import lamina
        >>> lamina.utils.set_random_seed(42)
        >>> a = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)]).get_weights()
        >>> lamina.utils.set_random_seed(42)
        >>> b = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)]).get_weights()
        >>> all((x == y).all() for x, y in zip(a, b))
        True
    """
    global _seed_generator
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    seed = int(seed)
    _seed_generator = np.random.default_rng(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)


def draw_seed() -> int:
    """Returns a fresh seed for a new model (reproducible after ``set_random_seed``)."""
    if _seed_generator is not None:
        return int(_seed_generator.integers(0, 2**63 - 1))
    return int(np.random.SeedSequence().generate_state(2, np.uint64)[0] >> np.uint64(1))


def to_categorical(x, num_classes: int | None = None) -> np.ndarray:
    """Converts integer class labels to a one-hot float32 matrix.

    Args:
        x: Integer labels, shape ``(n,)`` (or ``(n, 1)``), each in ``[0, num_classes)``.
        num_classes: Number of classes. Defaults to `None` (``max(x) + 1``).

    Returns:
        A float32 array of shape ``(n, num_classes)``.

    Example:
        >>> to_categorical([1, 0], 2).tolist()
        [[0.0, 1.0], [1.0, 0.0]]
    """
    y = np.asarray(x)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"to_categorical expects 1-D labels, got shape {y.shape}")
    if y.size and not np.issubdtype(y.dtype, np.integer):
        if not np.issubdtype(y.dtype, np.floating) or not np.all(np.floor(y) == y):
            raise ValueError(f"to_categorical expects integer labels, got dtype {y.dtype}")
    y = y.astype(np.int64)
    if num_classes is None:
        num_classes = int(y.max()) + 1 if y.size else 0
    bad = np.flatnonzero((y < 0) | (y >= num_classes))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"label {y[i]} at position {i} is outside [0, {num_classes})")
    out = np.zeros((y.shape[0], num_classes), dtype=np.float32)
    out[np.arange(y.shape[0]), y] = 1.0
    return out
