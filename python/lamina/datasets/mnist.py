"""MNIST handwritten digits (Keras's ``keras.datasets.mnist``): downloaded once into Keras's
cache (a file Keras already fetched is reused).

License: Yann LeCun and Corinna Cortes hold the copyright of MNIST, a derivative of NIST's
data, available under CC BY-SA 3.0.
"""

from __future__ import annotations

import numpy as np

from ._keras_files import fetch

__all__ = ["load_data"]


def load_data(path="mnist.npz"):
    """Loads MNIST: 60,000 training and 10,000 test images of 28x28 uint8 pixels, labels 0-9.

    Args:
        path: The file's name in the cache (``~/.keras/datasets``). Defaults to
            `"mnist.npz"`.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 ``(n, 28, 28)`` images, uint8 labels.
    """
    path = fetch(path, "mnist.npz")
    with np.load(path, allow_pickle=False) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
