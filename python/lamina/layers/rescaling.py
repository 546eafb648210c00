"""``Rescaling``: multiplies the inputs by ``scale`` and adds ``offset`` (Keras 3's layer)."""

from __future__ import annotations

from .._validation import check_float
from .layer import Layer


class Rescaling(Layer):
    """Rescales inputs: ``inputs * scale + offset``, e.g. pixel values to [0, 1].

    Args:
        scale: The factor, a finite float (per-channel arrays are not supported).
        offset: Added after scaling, a finite float. Defaults to `0.0`.
        name: Name. Defaults to `None` ("rescaling", …).

    Example:
        >>> import numpy as np
        >>> import lamina
        >>> model = lamina.Sequential([
        ...     lamina.Input((2,)), lamina.layers.Rescaling(1 / 255),
        ...     lamina.layers.Dense(1, use_bias=False, kernel_initializer="ones")])
        >>> [round(float(v), 3) for v in model.predict(np.array([[255.0, 51.0]]), verbose=0)[0]]
        [1.2]
    """

    def __init__(self, scale, offset=0.0, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.scale = check_float("Rescaling scale", scale)
        self.offset = check_float("Rescaling offset", offset)

    def core_spec(self):
        return [{"type": "rescaling", "scale": self.scale, "offset": self.offset}]

    def get_config(self):
        config = super().get_config()
        config.update({"scale": self.scale, "offset": self.offset})
        return config
