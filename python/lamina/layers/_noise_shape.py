"""Keras's ``noise_shape`` of Dropout / AlphaDropout on a batch of flat samples."""

from __future__ import annotations


def check_noise_shape(what, noise_shape):
    """``noise_shape`` as a ``(rows, cols)`` pair of None / 1 / ints, or None; raises naming
    the value when it is not a 2-D shape."""
    if noise_shape is None:
        return None
    try:
        shape = tuple(noise_shape)
    except TypeError:
        raise TypeError(f"{what} noise_shape must be a tuple, got {noise_shape!r}") from None
    if len(shape) != 2 or any(
            d is not None and (isinstance(d, bool) or not isinstance(d, int) or d < 1)
            for d in shape):
        raise ValueError(f"{what} noise_shape must be (batch, features) with entries None or "
                         f"positive ints (1 broadcasts), got {noise_shape!r}")
    return shape


def shared_flags(what, noise_shape, input_shape):
    """``(row_shared, col_shared)`` for the core: a 1 where the data's size is not 1 shares
    one keep bit along that axis; any other entry must be None or the data's size."""
    if noise_shape is None:
        return False, False
    if len(input_shape) != 1:
        raise ValueError(f"{what} noise_shape={noise_shape!r} needs flat samples, got inputs of "
                         f"shape {(None, *input_shape)}")
    rows, cols = noise_shape
    if cols not in (None, 1, input_shape[0]):
        raise ValueError(f"{what} noise_shape={noise_shape!r} does not broadcast to inputs of "
                         f"shape {(None, *input_shape)}")
    return rows == 1, cols == 1 and input_shape[0] != 1
