"""Activation layers: ``Activation``, ``ReLU``, ``LeakyReLU``, ``Softmax``."""

from __future__ import annotations

from .._validation import check_float
from .layer import Layer, _activation_and_alpha


class Activation(Layer):
    """Applies an activation function.

    Args:
        activation: Name or ``lamina.activations`` function.
        name: Name. Defaults to `None` ("activation", …).

    Example:
        >>> import lamina
        >>> lamina.layers.Activation("softmax").activation
        'softmax'
    """

    def __init__(self, activation, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.activation, self.alpha = _activation_and_alpha(activation)

    def core_spec(self):
        if self.activation == "linear":
            return []
        return [{"type": "activation", "activation": self.activation, "alpha": self.alpha}]

    def get_config(self):
        config = super().get_config()
        config["activation"] = self.activation
        return config


class ReLU(Activation):
    """ReLU as a layer (no ``max_value`` / ``threshold`` support).

    Args:
        negative_slope: Slope below zero (0 is ReLU, > 0 is leaky). Defaults to `0.0`.
        name: Name. Defaults to `None`.

    Example:
        >>> ReLU().activation
        'relu'
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, name=None, **kwargs):
        if max_value is not None or threshold != 0.0:
            raise ValueError(f"ReLU max_value/threshold are not supported by lamina, got "
                             f"max_value={max_value!r}, threshold={threshold!r}")
        slope = check_float("negative_slope", negative_slope, minimum=0.0)
        super().__init__("relu" if slope == 0 else "leaky_relu", name=name, **kwargs)
        self.negative_slope = slope
        self.alpha = slope

    def get_config(self):
        config = Layer.get_config(self)
        config["negative_slope"] = self.negative_slope
        return config


class LeakyReLU(Activation):
    """Leaky ReLU layer: ``x`` if ``x > 0`` else ``negative_slope * x``.

    Args:
        negative_slope: Slope below zero. Defaults to `0.3` (Keras's layer default).
        name: Name. Defaults to `None`.

    Example:
        >>> LeakyReLU().alpha
        0.3
    """

    def __init__(self, negative_slope=0.3, name=None, **kwargs):
        super().__init__("leaky_relu", name=name, **kwargs)
        self.negative_slope = check_float("negative_slope", negative_slope, minimum=0.0)
        self.alpha = self.negative_slope

    def get_config(self):
        config = Layer.get_config(self)
        config["negative_slope"] = self.negative_slope
        return config


class Softmax(Activation):
    """Softmax over the last axis, as a layer.

    Args:
        axis: Must be -1. Defaults to `-1`.
        name: Name. Defaults to `None`.

    Example:
        >>> Softmax().activation
        'softmax'
    """

    def __init__(self, axis=-1, name=None, **kwargs):
        if axis not in (-1, 1):
            raise ValueError(f"Softmax axis={axis!r} is not supported: only the last axis")
        super().__init__("softmax", name=name, **kwargs)

    def get_config(self):
        return Layer.get_config(self)
