"""Utilities: global seeding, label encoding, normalization and datasets of batches
(Keras's ``keras.utils``).

Example:
    >>> import lamina
    >>> lamina.utils.set_random_seed(0)
    >>> lamina.utils.to_categorical([0, 2], num_classes=3).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
"""

from __future__ import annotations

import random

import numpy as np

from .file_download import get_file
from .object_registration import (CustomObjectScope, custom_object_scope, get_custom_objects,
                                  get_registered_name, get_registered_object,
                                  register_keras_serializable)
from .py_dataset import PyDataset, Sequence

__all__ = ["set_random_seed", "to_categorical", "normalize", "PyDataset", "Sequence", "get_file",
           # Keras 3 spells these in keras.utils as well as keras.saving:
           "register_keras_serializable", "custom_object_scope", "CustomObjectScope",
           "get_custom_objects", "get_registered_name", "get_registered_object"]

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
    """Converts integer class labels to one-hot float64 arrays (as Keras 3 does).

    Args:
        x: Integer labels of any shape (a trailing axis of 1 is dropped), each in
            ``[0, num_classes)``.
        num_classes: Number of classes. Defaults to `None` (``max(x) + 1``).

    Returns:
        A float64 array of shape ``x.shape + (num_classes,)``.

    Example:
        >>> to_categorical([1, 0], 2).tolist()
        [[0.0, 1.0], [1.0, 0.0]]
    """
    y = np.asarray(x)
    if y.ndim > 1 and y.shape[-1] == 1:
        y = y[..., 0]
    if y.size and not np.issubdtype(y.dtype, np.integer):
        if not np.issubdtype(y.dtype, np.floating) or not np.all(np.floor(y) == y):
            raise ValueError(f"to_categorical expects integer labels, got dtype {y.dtype}")
    shape = y.shape
    y = y.astype(np.int64).reshape(-1)
    if num_classes is None:
        num_classes = int(y.max()) + 1 if y.size else 0
    bad = np.flatnonzero((y < 0) | (y >= num_classes))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"label {y[i]} at position {i} is outside [0, {num_classes})")
    out = np.zeros((y.shape[0], num_classes), dtype=np.float64)
    out[np.arange(y.shape[0]), y] = 1.0
    return out.reshape(shape + (num_classes,))


def normalize(x, axis: int = -1, order: int = 2) -> np.ndarray:
    """Scales ``x`` to unit norm along ``axis`` (Keras's ``keras.utils.normalize``).

    Slices whose norm is 0 are left as they are.

    Args:
        x: A numeric array (or anything ``np.asarray`` takes).
        axis: The axis along which to normalize. Defaults to `-1`.
        order: The norm's order (``np.linalg.norm``'s ``ord``: 2 is Euclidean, 1 the sum
            of absolute values). Defaults to `2`.

    Returns:
        ``x / norm`` (float64 for integer input, else ``x``'s dtype).

    Example:
        >>> normalize([[3.0, 4.0], [0.0, 0.0]]).tolist()
        [[0.6, 0.8], [0.0, 0.0]]
    """
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"normalize needs numbers, got dtype {arr.dtype}")
    if arr.ndim == 0:
        raise ValueError(f"normalize needs an array with at least one axis, got {arr!r}")
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not (
            -arr.ndim <= axis < arr.ndim):
        raise ValueError(f"axis={axis!r} is out of range for an array of shape {arr.shape}")
    norm = np.atleast_1d(np.linalg.norm(arr, order, axis))
    norm[norm == 0] = 1
    return arr / np.expand_dims(norm, axis)
