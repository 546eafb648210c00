"""``GaussianDropout``: multiplicative Gaussian noise of mean 1 during training."""

from __future__ import annotations

from .._validation import check_float, check_int
from .layer import Layer


class GaussianDropout(Layer):
    """Multiplies its inputs by ``N(1, rate / (1 - rate))`` noise during training; the
    identity at inference.

    The noise comes from the core's counter-based generator keyed by the model's seed, the
    step, the layer and the element, so it is reproducible and independent of the thread count.

    Args:
        rate: Drop probability of the equivalent Dropout, in [0, 1).
        seed: Accepted for Keras compatibility; the model's seed drives the noise. Defaults to
            `None`.
        name: Name. Defaults to `None` ("gaussian_dropout", …).

    Example:
        >>> import lamina
        >>> lamina.layers.GaussianDropout(0.2).get_config()["rate"]
        0.2
    """

    def __init__(self, rate, seed=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.rate = check_float("GaussianDropout rate", rate, 0.0, 1.0, max_open=True)
        self.seed = check_int("GaussianDropout seed", seed, minimum=0, allow_none=True)

    def core_spec(self):
        return [{"type": "gaussian_dropout", "rate": self.rate}] if self.rate > 0 else []

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed})
        return config
