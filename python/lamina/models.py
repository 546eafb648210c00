"""Model-level functions (Keras's ``keras.models``): loading and JSON architectures.

Example:
    >>> import lamina
    >>> model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)], seed=0)
    >>> clone = lamina.models.model_from_json(model.to_json())
    >>> clone.count_params()
    8
"""

from __future__ import annotations

import json

from .functional import Model
from .model import Sequential
from .saving import load_model

__all__ = ["Model", "Sequential", "load_model", "model_from_json", "model_from_config", "clone_model"]


def model_from_config(config: dict, custom_objects=None):
    """Creates a model from ``{"class_name": "Sequential", "config": ...}`` or a bare config.

    Args:
        config: ``model.get_config()``, bare or wrapped with its class name.
        custom_objects: Must be None. Defaults to `None`.

    Example:
        >>> import lamina
        >>> m = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)], seed=0)
        >>> model_from_config(m.get_config()).count_params()
        3
    """
    if custom_objects:
        raise ValueError("custom_objects are not supported")
    if isinstance(config, dict) and "class_name" in config:
        if config["class_name"] not in ("Sequential", "Functional"):
            raise ValueError(f"only Sequential and Functional models are supported, got "
                             f"{config['class_name']!r}")
        config = config.get("config")
    return Model.from_config(config)


def model_from_json(json_string: str, custom_objects=None):
    """Creates an (uncompiled, freshly initialized) model from ``model.to_json()``.

    Args:
        json_string: The JSON text.
        custom_objects: Must be None. Defaults to `None`.

    Example:
        >>> import lamina
        >>> m = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)], seed=0)
        >>> model_from_json(m.to_json()).output_shape
        (None, 1)
    """
    try:
        config = json.loads(json_string)
    except (TypeError, json.JSONDecodeError) as exc:
        raise ValueError(f"model_from_json needs the JSON from model.to_json(): {exc}") from None
    return model_from_config(config, custom_objects)


def clone_model(model):
    """Returns a new model with the same architecture and fresh weights (same seed).

    Example:
        >>> import lamina
        >>> m = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)], seed=0)
        >>> clone_model(m).count_params()
        3
    """
    return type(model).from_config(model.get_config())
