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
from .saving import load_model, save_model
from .utils import draw_seed

__all__ = ["Model", "Sequential", "load_model", "save_model", "model_from_json",
           "model_from_config", "clone_model"]


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
    """Creates an (uncompiled, freshly initialized) model from ``model.to_json()``: lamina's
    or Keras 3's (a Sequential or a functional chain).

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
    if custom_objects:
        raise ValueError("custom_objects are not supported")
    if isinstance(config, dict) and "lamina_version" not in config:
        # Keras's to_json (and lamina's for a built model): the .keras config.json schema
        from .keras_config import model_from_keras
        seed = config.pop("lamina_seed", None)
        return model_from_keras(config, where="model JSON",
                                seed=seed if isinstance(seed, int) and seed >= 0 else None)
    return model_from_config(config, custom_objects)


def clone_model(model, input_tensors=None, clone_function=None, call_function=None,
                recursive=False, **kwargs):
    """Returns a new model with the same architecture and fresh weights (as Keras 3).

    The clone is built from ``model.get_config()`` with a new seed for the model and every
    nested model (drawn like an unseeded model's, so reproducible after
    ``lamina.utils.set_random_seed``): its weights are newly initialized, not copied. It
    is not compiled. Layer seeds set explicitly (e.g. ``Dropout(seed=...)``) are kept.

    Args:
        model: A ``Sequential`` or functional ``Model``.
        input_tensors: Must be None (lamina models keep their own inputs). Defaults to
            `None`.
        clone_function: Must be None. Defaults to `None`.
        call_function: Must be None. Defaults to `None`.
        recursive: Accepted for Keras scripts; nested models are always cloned. Defaults
            to `False`.
        **kwargs: No other argument is accepted.

    Example:
        >>> import lamina
        >>> m = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)], seed=0)
        >>> c = clone_model(m)
        >>> c.count_params(), bool((c.get_weights()[0] == m.get_weights()[0]).all())
        (3, False)
    """
    for arg, value in (("input_tensors", input_tensors), ("clone_function", clone_function),
                       ("call_function", call_function)):
        if value is not None:
            raise ValueError(f"clone_model({arg}={value!r}) is not supported: lamina clones "
                             "the whole model from its config")
    if kwargs:
        raise TypeError(f"clone_model got unexpected arguments: {', '.join(sorted(kwargs))}")
    return type(model).from_config(_fresh_seeds(model.get_config()))


def _fresh_seeds(config):
    """``config`` with a newly drawn seed for the model and each nested model."""
    config = dict(config)
    if "seed" in config:
        config["seed"] = draw_seed()
    layers = config.get("layers")
    if isinstance(layers, list):
        config["layers"] = [
            {**entry, "config": _fresh_seeds(entry["config"])}
            if isinstance(entry, dict) and entry.get("class_name") in ("Sequential", "Functional")
            and isinstance(entry.get("config"), dict) else entry
            for entry in layers]
    return config
