"""``Reshape``: gives each sample a new shape (no copy)."""

from __future__ import annotations

import math

from .layer import Layer


class Reshape(Layer):
    """Reshapes each sample to ``target_shape`` (one entry may be -1: inferred); free, since
    a batch stays a row-major ``(batch, size)`` block. Layers after it see the new shape, so
    a Dense needs it to end flat (``Reshape((-1,))`` flattens).

    Args:
        target_shape: The per-sample shape, a tuple of positive ints and at most one -1.
        name: Name. Defaults to `None` ("reshape", …).

    Example:
        >>> r = Reshape((4, 2)); r.build((8,)); r.output_shape
        (4, 2)
    """

    def __init__(self, target_shape, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        try:
            shape = tuple(target_shape)
        except TypeError:
            raise TypeError(f"Reshape target_shape must be a tuple, got {target_shape!r}") \
                from None
        bad = [d for d in shape
               if isinstance(d, bool) or not isinstance(d, int) or (d < 1 and d != -1)]
        if not shape or bad or shape.count(-1) > 1:
            raise ValueError(f"Reshape target_shape must be positive ints with at most one -1, "
                             f"got {target_shape!r}")
        self.target_shape = shape

    def compute_output_shape(self, input_shape):
        size = math.prod(input_shape)
        known = math.prod(d for d in self.target_shape if d != -1)
        if -1 in self.target_shape:
            if size % known:
                raise ValueError(f"Reshape {self.name!r}: cannot reshape inputs of shape "
                                 f"{(None, *input_shape)} to {self.target_shape}")
            return tuple(size // known if d == -1 else d for d in self.target_shape)
        if known != size:
            raise ValueError(f"Reshape {self.name!r}: inputs of shape {(None, *input_shape)} "
                             f"have {size} values per sample, target_shape "
                             f"{self.target_shape} has {known}")
        return self.target_shape

    def get_config(self):
        config = super().get_config()
        config["target_shape"] = list(self.target_shape)
        return config
