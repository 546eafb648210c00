"""Activation layers: ``Activation``, ``ReLU``, ``LeakyReLU``, ``ELU``, ``Softmax``."""

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
    """ReLU as a layer with Keras 3's arguments (``keras.activations.relu``): ``x`` above
    ``threshold`` (clipped to ``max_value``), ``negative_slope * (x - threshold)`` below it.

    Args:
        max_value: Upper bound of the output (>= 0), or None for none. Defaults to `None`.
        negative_slope: Slope below the threshold (>= 0). Defaults to `0.0`.
        threshold: Inputs at or below it give 0 (or the sloped part). Defaults to `0.0`.
        name: Name. Defaults to `None`.

    Example:
        >>> import numpy as np
        >>> import lamina
        >>> model = lamina.Sequential([lamina.Input((1,)), lamina.layers.Dense(
        ...     1, use_bias=False, kernel_initializer="ones"),
        ...     lamina.layers.ReLU(max_value=6.0, threshold=1.0)])
        >>> model.predict(np.array([[0.5], [3.0], [9.0]]), verbose=0).ravel().tolist()
        [0.0, 3.0, 6.0]
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, name=None, **kwargs):
        slope = check_float("ReLU negative_slope", negative_slope, minimum=0.0)
        super().__init__("relu" if slope == 0 else "leaky_relu", name=name, **kwargs)
        self.max_value = (None if max_value is None
                          else check_float("ReLU max_value", max_value, minimum=0.0))
        self.threshold = check_float("ReLU threshold", threshold)
        self.negative_slope = slope
        self.alpha = slope

    def core_spec(self):
        if self.max_value is None and self.threshold == 0.0:
            return super().core_spec()  # relu / leaky_relu: the fusable activation kind
        return [{"type": "relu", "has_max": self.max_value is not None,
                 "max_value": 0.0 if self.max_value is None else self.max_value,
                 "negative_slope": self.negative_slope, "threshold": self.threshold}]

    def get_config(self):
        config = Layer.get_config(self)
        config.update({"max_value": self.max_value, "negative_slope": self.negative_slope,
                       "threshold": self.threshold})
        return config


class LeakyReLU(Activation):
    """Leaky ReLU layer: ``x`` if ``x > 0`` else ``negative_slope * x``.

    Args:
        negative_slope: Slope below zero (>= 0). Defaults to `0.3` (Keras's layer default).
        name: Name. Defaults to `None`.

    Example:
        >>> LeakyReLU().alpha
        0.3
    """

    def __init__(self, negative_slope=0.3, name=None, **kwargs):
        if "alpha" in kwargs:  # Keras 2 spelling, still accepted by Keras 3
            negative_slope = kwargs.pop("alpha")
        super().__init__("leaky_relu", name=name, **kwargs)
        self.negative_slope = check_float("LeakyReLU negative_slope", negative_slope,
                                          minimum=0.0)
        self.alpha = self.negative_slope

    def get_config(self):
        config = Layer.get_config(self)
        config["negative_slope"] = self.negative_slope
        return config


class ELU(Activation):
    """Exponential linear unit: ``x`` if ``x > 0`` else ``alpha * (exp(x) - 1)``.

    Args:
        alpha: Scale of the negative part. Defaults to `1.0`.
        name: Name. Defaults to `None` ("elu", …).

    Example:
        >>> ELU(alpha=0.5).get_config()["alpha"]
        0.5
    """

    def __init__(self, alpha=1.0, name=None, **kwargs):
        super().__init__("elu", name=name, **kwargs)
        self.alpha = check_float("ELU alpha", alpha)

    def get_config(self):
        config = Layer.get_config(self)
        config["alpha"] = self.alpha
        return config


class Softmax(Activation):
    """Softmax over the last axis, as a layer.

    Args:
        axis: The axis to normalize over: -1 (or 1 for ``(features,)`` samples), the last
            one. Defaults to `-1`.
        name: Name. Defaults to `None`.

    Example:
        >>> Softmax().activation
        'softmax'
    """

    def __init__(self, axis=-1, name=None, **kwargs):
        if isinstance(axis, (list, tuple)) and len(axis) == 1:
            axis = axis[0]
        if axis not in (-1, 1) or isinstance(axis, bool):
            raise ValueError(f"Softmax axis={axis!r} is not supported: only the last axis (-1)")
        super().__init__("softmax", name=name, **kwargs)
        self.axis = axis

    def build(self, input_shape):
        super().build(input_shape)
        if len(self.input_shape) != 1:  # the core's softmax normalizes whole rows
            raise ValueError(f"Softmax {self.name!r} normalizes 1-D samples only, got inputs "
                             f"of shape {(None, *self.input_shape)}: add a Flatten before it")

    def get_config(self):
        config = Layer.get_config(self)
        config["axis"] = self.axis
        return config
