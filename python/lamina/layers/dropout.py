"""``Dropout``: zeroes a random fraction of the activations during training."""

from __future__ import annotations

from .._validation import check_float, check_int
from ._noise_shape import check_noise_shape, shared_flags
from .layer import Layer


class Dropout(Layer):
    """Zeroes a fraction ``rate`` of its inputs during training (scaling the rest by
    ``1 / (1 - rate)``); the identity at inference.

    Masks come from the core's counter-based generator keyed by the model's seed, the step
    and the layer, so they are reproducible and independent of the thread count.

    Args:
        rate: Fraction to drop, in [0, 1).
        noise_shape: ``(batch, features)`` shape of the keep mask, 1 where one bit is shared
            (``(None, 1)``: a sample is kept or dropped whole; ``(1, features)``: one mask
            for the whole batch). Defaults to `None` (one bit per element).
        seed: Accepted for Keras compatibility; the model's seed drives the masks. Defaults
            to `None`.
        name: Name. Defaults to `None` ("dropout", "dropout_1" …).

    Example:
        >>> import lamina
        >>> lamina.layers.Dropout(0.5).rate
        0.5
    """

    def __init__(self, rate, noise_shape=None, seed=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.rate = check_float("Dropout rate", rate, 0.0, 1.0, max_open=True)
        self.noise_shape = check_noise_shape("Dropout", noise_shape)
        self.seed = check_int("Dropout seed", seed, minimum=0, allow_none=True)

    def build(self, input_shape):
        super().build(input_shape)
        shared_flags("Dropout", self.noise_shape, self.input_shape)

    def core_spec(self):
        if self.rate == 0.0:
            return []
        rows, cols = shared_flags("Dropout", self.noise_shape, self.input_shape)
        if rows or cols:
            return [{"type": "shared_dropout", "rate": self.rate, "row_shared": rows,
                     "col_shared": cols}]
        return [{"type": "dropout", "rate": self.rate}]

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed})
        if self.noise_shape is not None:
            config["noise_shape"] = list(self.noise_shape)
        return config
