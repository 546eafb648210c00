"""Datasets: small ones bundled with lamina (no download, no extra dependency), and Keras's
``keras.datasets`` loaders (``mnist``, ``fashion_mnist``, ``boston_housing``,
``california_housing``, ``imdb``, ``reuters``: ``lamina.datasets.mnist.load_data()``), which
download Keras's files once into Keras's cache (``$KERAS_HOME`` or ``~/.keras/datasets``, so
files Keras already fetched are reused) and return the same arrays as Keras.

``load_digits()``: the UCI "Optical Recognition of Handwritten Digits" test set as shipped by
scikit-learn (``sklearn.datasets.load_digits``): 1,797 images of 8x8 pixels with integer
intensities 0..16, labels 0..9. The data were taken once from scikit-learn 1.9.1 and stored
in ``digits.npz`` (``x``: uint8 (1797, 64); ``y``: uint8 (1797,)), identical values.

Origin and licence: E. Alpaydin and C. Kaynak, UCI Machine Learning Repository,
https://archive.ics.uci.edu/dataset/80 (CC BY 4.0), distributed with scikit-learn under its
BSD-3-Clause licence (Copyright (c) 2007-2024 The scikit-learn developers).

Example:
    >>> import lamina
    >>> (x_train, y_train), (x_test, y_test) = lamina.datasets.load_digits()
    >>> x_train.shape, x_test.shape, int(x_train.max())
    ((1437, 64), (360, 64), 16)
"""

from __future__ import annotations

import math
import os

import numpy as np

from . import boston_housing, california_housing, fashion_mnist, imdb, mnist, reuters
from .mnist1d import make_mnist1d

__all__ = ["load_digits", "make_mnist1d", "mnist", "fashion_mnist", "boston_housing",
           "california_housing", "imdb", "reuters"]

_DIGITS = os.path.join(os.path.dirname(__file__), "digits.npz")


def load_digits(test_split=0.2, seed=0, return_X_y=False):
    """Loads the bundled 8x8 handwritten digits (1,797 samples, 10 classes).

    Args:
        test_split: Fraction of samples held out as the test set, drawn by a seeded
            shuffle (0 gives an empty test set). Defaults to `0.2`.
        seed: Seed of the train/test shuffle. Defaults to `0`.
        return_X_y: Return the whole ``(x, y)`` in the original order instead.
            Defaults to `False`.

    Returns:
        ``(x_train, y_train), (x_test, y_test)`` like ``keras.datasets``: x as uint8
        pixel intensities 0..16 of shape ``(n, 64)``, y as uint8 labels 0..9. Scale x (e.g.
        ``x / 16``) before training.
    """
    with np.load(_DIGITS, allow_pickle=False) as data:
        x, y = data["x"], data["y"]
    if return_X_y:
        return x, y
    if not 0.0 <= float(test_split) < 1.0:
        raise ValueError(f"test_split must be in [0, 1), got {test_split!r}")
    order = np.random.default_rng(seed).permutation(x.shape[0])
    n_test = int(math.ceil(x.shape[0] * float(test_split)))  # as sklearn's train_test_split
    test, train = order[:n_test], order[n_test:]
    return (x[train], y[train]), (x[test], y[test])
