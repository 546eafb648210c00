"""Boston housing prices (Keras's ``keras.datasets.boston_housing``): 506 samples of 13
features, the median home value in thousands of dollars; downloaded once into Keras's cache.
Keras's split: a seeded shuffle, the first ``1 - test_split`` for training.

Source: Harrison and Rubinfeld (1978), StatLib. The data hold a variable built on racial
segregation (``B``); see scikit-learn's note on why it removed the dataset.
"""

from __future__ import annotations

from ._keras_files import load_split

__all__ = ["load_data"]


def load_data(path="boston_housing.npz", test_split=0.2, seed=113):
    """Loads the Boston housing regression data.

    Args:
        path: The file's name in the cache. Defaults to `"boston_housing.npz"`.
        test_split: Fraction held out for testing, in [0, 1). Defaults to `0.2`.
        seed: Seed of the shuffle before the split. Defaults to `113`.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: float64 ``(n, 13)`` features, float64
        targets.
    """
    return load_split(path, "boston_housing.npz", test_split, seed)
