"""California housing prices (Keras's ``keras.datasets.california_housing``): 20,640 block
groups of the 1990 census, 8 features, the median house value in dollars; downloaded once
into Keras's cache. Keras's split: a seeded shuffle, the first ``1 - test_split`` for training.

Source: Pace and Barry (1997), StatLib.
"""

from __future__ import annotations

from ._keras_files import load_split

__all__ = ["load_data"]


def load_data(version="large", path="california_housing.npz", test_split=0.2, seed=113):
    """Loads the California housing regression data.

    Args:
        version: "large" (all 20,640 samples) or "small" (the first 600). Defaults to
            `"large"`.
        path: The file's name in the cache. Defaults to `"california_housing.npz"`.
        test_split: Fraction held out for testing, in [0, 1). Defaults to `0.2`.
        seed: Seed of the shuffle before the split. Defaults to `113`.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: float32 ``(n, 8)`` features, float32
        targets.
    """
    if version not in ("large", "small"):
        raise ValueError(f"version must be 'large' or 'small', got {version!r}")
    return load_split(path, "california_housing.npz", test_split, seed,
                      rows=600 if version == "small" else None)
