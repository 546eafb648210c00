"""Global state, as Keras 3's ``keras.backend`` exposes it: the session's layer names, the
default float type, the fuzz factor and the image data format.

Example:
    >>> import lamina
    >>> lamina.backend.clear_session()
    >>> lamina.layers.Dense(2).name, lamina.layers.Dense(2).name
    ('dense', 'dense_1')
    >>> lamina.backend.clear_session()
    >>> lamina.layers.Dense(2).name
    'dense'
    >>> lamina.backend.floatx(), lamina.backend.epsilon(), lamina.backend.image_data_format()
    ('float32', 1e-07, 'channels_last')
"""

from __future__ import annotations

import gc

from . import functional as _functional
from . import model as _model
from .config import backend, epsilon, floatx, set_floatx
from . import naming

__all__ = ["backend", "clear_session", "epsilon", "set_epsilon", "floatx", "set_floatx",
           "image_data_format", "set_image_data_format"]

def clear_session(free_memory=True):
    """Starts a new naming session: automatic layer, optimizer and model names restart at
    ``dense``, ``dense_1``, …, ``adam``, ``sequential`` and ``functional`` (as in Keras 3).

    lamina keeps no global graph: a model's core network belongs to the model and is freed
    with it, so this only resets the name counters (and collects garbage).

    Args:
        free_memory: Run Python's garbage collector, so the core networks of models no
            longer referenced are freed now. Defaults to `True`.

    Example:
        >>> import lamina
        >>> clear_session()
        >>> lamina.Sequential([lamina.layers.Dense(1)]).name
        'sequential'
    """
    naming.reset()
    _model._MODEL_COUNT[0] = 0
    _functional._FUNCTIONAL_COUNT[0] = 0
    if free_memory:
        gc.collect()


def set_epsilon(value):
    """Sets the fuzz factor: lamina's fused losses clip probabilities at 1e-7 (Keras's
    default) in the C++ core, so that is the one value accepted.

    Args:
        value: The fuzz factor; must be 1e-7.

    Example:
        >>> set_epsilon(1e-7)
    """
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"epsilon must be a number, got {value!r}") from None
    if v != epsilon():
        raise ValueError(f"set_epsilon({value!r}) is not supported: lamina's core clips "
                         f"probabilities at epsilon={epsilon()} (Keras's default) in its "
                         "fused losses")


def image_data_format() -> str:
    """Returns the image data format: "channels_last", the one lamina's layers read
    (``Flatten`` flattens in that order).

    Example:
        >>> image_data_format()
        'channels_last'
    """
    return "channels_last"


def set_image_data_format(data_format):
    """Sets the image data format; lamina's layers read channels-last data, so
    "channels_last" is the one value accepted.

    Args:
        data_format: Must be "channels_last".

    Example:
        >>> set_image_data_format("channels_last")
    """
    if data_format != "channels_last":
        raise ValueError(f"data_format={data_format!r} is not supported: lamina's layers "
                         "read channels_last data (the default)")
