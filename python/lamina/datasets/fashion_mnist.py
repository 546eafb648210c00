"""Fashion-MNIST (Keras's ``keras.datasets.fashion_mnist``): Zalando's 28x28 grayscale
article images in 10 classes, downloaded once into Keras's cache.

License: Copyright (c) 2017 Zalando SE, MIT license.
"""

from __future__ import annotations

import gzip
import os

import numpy as np

from ._keras_files import fetch

__all__ = ["load_data"]

_FILES = ("train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
          "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz")


def _idx(path, header):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=header)


def load_data():
    """Loads Fashion-MNIST: 60,000 training and 10,000 test images, labels 0-9 (T-shirt/top,
    trouser, pullover, dress, coat, sandal, shirt, sneaker, bag, ankle boot).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 ``(n, 28, 28)`` images, uint8 labels.
    """
    paths = [fetch(name, name, cache_subdir=os.path.join("datasets", "fashion-mnist"))
             for name in _FILES]
    y_train, y_test = _idx(paths[0], 8), _idx(paths[2], 8)
    x_train = _idx(paths[1], 16).reshape(len(y_train), 28, 28)
    x_test = _idx(paths[3], 16).reshape(len(y_test), 28, 28)
    return (x_train, y_train), (x_test, y_test)
