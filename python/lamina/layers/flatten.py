"""``Flatten``: each sample to 1-D."""

from __future__ import annotations

import math

from .layer import Layer


class Flatten(Layer):
    """Flattens each sample to 1-D (e.g. ``(8, 8)`` → ``(64,)``); free (no copy).

    Args:
        data_format: Ignored (only channels-last data). Defaults to `None`.
        name: Name. Defaults to `None` ("flatten", …).

    Example:
        >>> f = Flatten(); f.build((8, 8)); f.output_shape
        (64,)
    """

    def __init__(self, data_format=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)

    def compute_output_shape(self, input_shape):
        return (math.prod(input_shape),)
