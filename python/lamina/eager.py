"""Calling a layer or a model on data, as Keras's eager calls do: ``layer(x)``, ``model(x)``.

Keras runs ``Dense(3)(x)`` or ``normalizer(x)`` on the spot (building the layer for
``x``'s shape first) and returns a tensor whose ``.numpy()`` tutorials print. lamina runs
the layer as the one layer of a throwaway ``Sequential`` in the C++ core, so the result is
the layer's own kernel's, bit for bit what the same layer computes inside a model; its
weights are the layer's (shared, never copied), and the call leaves no trace on the layer
(``layer.output`` still names the first model or functional chain it joins).

The result is an ``EagerArray``: a numpy array that also answers ``.numpy()``.

Example:
    >>> import numpy as np
    >>> import lamina
    >>> relu = lamina.layers.ReLU()
    >>> relu(np.array([[-1.0, 2.0]], dtype="float32")).numpy().tolist()
    [[0.0, 2.0]]
"""

from __future__ import annotations

import numpy as np

__all__ = ["EagerArray", "call_layer"]


class EagerArray(np.ndarray):
    """A numpy array returned by an eager layer or model call; ``.numpy()`` gives the
    plain array (the spelling of TensorFlow's eager tensors, which Keras scripts use).

    Example:
        >>> a = np.arange(3.0).view(EagerArray); type(a.numpy()).__name__
        'ndarray'
        >>> float(np.ones((1, 1)).view(EagerArray))
        1.0
    """

    def numpy(self) -> np.ndarray:
        """The values as a plain numpy array (a view, no copy)."""
        return self.view(np.ndarray)

    # One element of any shape converts, as a backend tensor does (``float(norm.mean)`` on
    # Keras's (1, 1) mean); numpy 2 refuses it for arrays of more than 0 dimensions.
    def __float__(self):
        return float(self._one("float"))

    def __int__(self):
        return int(self._one("int"))

    def _one(self, what):
        if self.size != 1:
            raise TypeError(f"only an array of one element converts to {what}, got shape "
                            f"{self.shape}")
        return self.view(np.ndarray).reshape(())


def as_eager(array: np.ndarray) -> EagerArray:
    """``array`` viewed as an ``EagerArray`` (no copy)."""
    return np.asarray(array).view(EagerArray)


def call_layer(layer, inputs, training=None) -> EagerArray:
    """Runs ``layer`` on the batch ``inputs`` (building it for their shape first, as Keras
    does) and returns its output.

    Args:
        layer: A lamina layer (not a model: models run their own network).
        inputs: Array-like of shape ``(batch, *sample_shape)``.
        training: Run in training mode (dropout and noise active, BatchNormalization on the
            batch's statistics; nothing is updated). Defaults to `None` (inference).

    Returns:
        An ``EagerArray`` of shape ``(batch, *output_shape)``.

    Raises:
        ValueError: ``inputs`` has fewer than 2 dimensions (no batch axis), or a shape the
            built layer does not take.
    """
    from . import layers as layers_mod
    from .model import Sequential

    x = np.asarray(inputs)
    if x.ndim < 2:
        raise ValueError(f"calling layer {layer.name!r} on data needs a batch axis: inputs "
                         f"of shape (batch, features), got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise TypeError(f"calling layer {layer.name!r} on data needs real numbers, got dtype "
                        f"{x.dtype}")
    node, called = layer._node, layer.__dict__.get("_called", False)
    try:
        model = Sequential([layers_mod.InputLayer(shape=x.shape[1:], name="input_layer"),
                            layer], name=f"{layer.name}_call",
                           seed=0 if layer.built else None)
        out = model(x, training=training)
    finally:  # the throwaway model leaves the layer as it found it
        layer._node = node
        layer.__dict__["_called"] = called
    return as_eager(out)
