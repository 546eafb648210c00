"""``AlphaDropout``: dropout that keeps SELU's self-normalization (Keras 3's formulas)."""

from __future__ import annotations

from .._validation import check_float, check_int
from ._noise_shape import check_noise_shape, shared_flags
from .layer import Layer


class AlphaDropout(Layer):
    """Sets a fraction ``rate`` of its inputs to SELU's negative saturation value and applies
    the affine map that keeps the mean and variance, during training; the identity at
    inference (pair it with ``selu`` and ``lecun_normal``).

    Masks come from the core's counter-based generator keyed by the model's seed, the step and
    the layer, so they are reproducible and independent of the thread count.

    Args:
        rate: Fraction to drop, in [0, 1).
        noise_shape: ``(batch, features)`` shape of the keep mask, 1 where one bit is shared
            (``(None, 1)``: one bit per sample). Defaults to `None` (one bit per element).
        seed: Accepted for Keras compatibility; the model's seed drives the masks. Defaults
            to `None`.
        name: Name. Defaults to `None` ("alpha_dropout", …).

    Example:
        >>> import lamina
        >>> lamina.layers.AlphaDropout(0.1).get_config()["rate"]
        0.1
    """

    def __init__(self, rate, noise_shape=None, seed=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.rate = check_float("AlphaDropout rate", rate, 0.0, 1.0, max_open=True)
        self.noise_shape = check_noise_shape("AlphaDropout", noise_shape)
        self.seed = check_int("AlphaDropout seed", seed, minimum=0, allow_none=True)

    def build(self, input_shape):
        super().build(input_shape)
        shared_flags("AlphaDropout", self.noise_shape, self.input_shape)

    def core_spec(self):
        if self.rate == 0.0:
            return []
        rows, cols = shared_flags("AlphaDropout", self.noise_shape, self.input_shape)
        return [{"type": "alpha_dropout", "rate": self.rate, "row_shared": rows,
                 "col_shared": cols}]

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "noise_shape": (None if self.noise_shape is None
                                                          else list(self.noise_shape)),
                       "seed": self.seed})
        return config
