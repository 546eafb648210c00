"""``GaussianNoise``: additive zero-mean Gaussian noise during training."""

from __future__ import annotations

from .._validation import check_float, check_int
from .layer import Layer


class GaussianNoise(Layer):
    """Adds ``stddev * N(0, 1)`` noise to its inputs during training; the identity at inference.

    The noise comes from the core's counter-based generator keyed by the model's seed, the
    step, the layer and the element, so it is reproducible and independent of the thread count.

    Args:
        stddev: Standard deviation of the noise, in [0, 1] (Keras's bounds).
        seed: Accepted for Keras compatibility; the model's seed drives the noise. Defaults to
            `None`.
        name: Name. Defaults to `None` ("gaussian_noise", …).

    Example:
        >>> import lamina
        >>> lamina.layers.GaussianNoise(0.1).get_config()["stddev"]
        0.1
    """

    def __init__(self, stddev, seed=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.stddev = check_float("GaussianNoise stddev", stddev, 0.0, 1.0)
        self.seed = check_int("GaussianNoise seed", seed, minimum=0, allow_none=True)

    def core_spec(self):
        return [{"type": "gaussian_noise", "stddev": self.stddev}] if self.stddev > 0 else []

    def get_config(self):
        config = super().get_config()
        config.update({"stddev": self.stddev, "seed": self.seed})
        return config
