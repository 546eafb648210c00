"""``ActivityRegularization``: an L1/L2 penalty on the activations, added to the loss."""

from __future__ import annotations

from .._validation import check_float
from .layer import Layer


class ActivityRegularization(Layer):
    """Passes its inputs through and adds ``(l1 * sum|x| + l2 * sum x**2) / batch_size`` to
    the loss (Keras 3 divides an activity penalty by the batch size), in fit and evaluate.

    Args:
        l1: L1 factor (>= 0). Defaults to `0.0`.
        l2: L2 factor (>= 0). Defaults to `0.0`.
        name: Name. Defaults to `None` ("activity_regularization", …).

    Example:
        >>> import lamina
        >>> lamina.layers.ActivityRegularization(l2=0.01).get_config()["l2"]
        0.01
    """

    def __init__(self, l1=0.0, l2=0.0, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.l1 = check_float("ActivityRegularization l1", l1, minimum=0.0)
        self.l2 = check_float("ActivityRegularization l2", l2, minimum=0.0)

    def core_spec(self):
        if self.l1 == 0.0 and self.l2 == 0.0:
            return []
        return [{"type": "activity_regularization", "l1": self.l1, "l2": self.l2}]

    def get_config(self):
        config = super().get_config()
        config.update({"l1": self.l1, "l2": self.l2})
        return config
