"""The names and defaults a run file accepts, read from lamina's registries.

Nothing here is a table of its own: layer types are the classes of `lamina.layers`,
optimizers those of `lamina.optimizers`, schedules those of
`lamina.optimizers.schedules`, initializers those of `lamina.initializers`, and a class's
parameters and defaults are its constructor signature. A run file spells a class with a
short name: ``dense`` for ``Dense``, ``leaky_relu`` for ``LeakyReLU``, ``adamw`` for
``AdamW``, ``exponential_decay`` for ``ExponentialDecay``.

Example:
    >>> list(layer_types())[:3]
    ['dense', 'dropout', 'activation']
    >>> parameters(optimizer_types()["sgd"])
    {'learning_rate': 0.01, 'momentum': 0.0, 'nesterov': False, 'weight_decay': None, \
'clipnorm': None, 'clipvalue': None, 'global_clipnorm': None}
"""

from __future__ import annotations

import inspect
import re
from typing import Any

__all__ = ["REQUIRED", "short_name", "parameters", "layer_types", "optimizer_types",
           "schedule_types", "initializer_names", "activation_names", "loss_names",
           "metric_names", "canonical_activation", "canonical_loss", "canonical_metric"]

REQUIRED = inspect.Parameter.empty
"""The "default" of a parameter that has none (`parameters` reports it)."""


def short_name(class_name: str) -> str:
    """A class name as a run file spells it: ``LeakyReLU`` -> ``leaky_relu``.

    Example:
        >>> short_name("ExponentialDecay"), short_name("ReLU")
        ('exponential_decay', 'relu')
    """
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z][a-z])", "_", class_name).lower()


def parameters(cls: type, skip: tuple[str, ...] = ("name",)) -> dict[str, Any]:
    """A class's constructor parameters and defaults (`REQUIRED` when there is none).

    Args:
        cls: The class.
        skip: Parameters left out. Defaults to `("name",)`.

    Example:
        >>> from lamina.layers import Dropout
        >>> parameters(Dropout)
        {'rate': <class 'inspect._empty'>, 'noise_shape': None, 'seed': None}
    """
    out = {}
    for name, p in inspect.signature(cls.__init__).parameters.items():
        if name == "self" or name in skip or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        out[name] = p.default
    return out


def _classes(module, base) -> dict[str, type]:
    """The public subclasses of `base` in `module.__all__`, in that order."""
    out = {}
    for name in module.__all__:
        obj = getattr(module, name)
        if isinstance(obj, type) and issubclass(obj, base) and obj is not base:
            out[obj.__name__] = obj
    return out


def layer_types() -> dict[str, type]:
    """``{short name: class}`` of the layers a run file can list (all but InputLayer).

    Example:
        >>> layer_types()["dense"].__name__
        'Dense'
    """
    from .. import layers

    # lamina's own kinds in lamina.layers' order, then any other registered kind (a user's
    # Layer subclass registers itself when defined); models nest, but are not run-file layers.
    out = {short_name(n): c for n, c in _classes(layers, layers.Layer).items()
           if c is not layers.InputLayer}
    known = set(out.values())
    for name, c in layers.registered().items():
        if (c not in known and c is not layers.InputLayer and c is not layers.Layer
                and name not in ("Sequential", "Functional")):
            out.setdefault(short_name(name), c)
    return out


def optimizer_types() -> dict[str, type]:
    """``{name: class}`` of the optimizers (``"adam"``: ``Adam``).

    Example:
        >>> ", ".join(optimizer_types())
        'sgd, rmsprop, adam, adamw, adagrad, adamax, nadam, adadelta, lion'
    """
    from .. import optimizers

    return {n.lower(): c for n, c in _classes(optimizers, optimizers.Optimizer).items()}


def schedule_types() -> dict[str, type]:
    """``{short name: class}`` of the learning-rate schedules.

    Example:
        >>> schedule_types()["cosine_decay"].__name__
        'CosineDecay'
    """
    from ..optimizers import schedules

    return {short_name(n): c
            for n, c in _classes(schedules, schedules.LearningRateSchedule).items()}


def initializer_names() -> list[str]:
    """The initializers' names (``"glorot_uniform"``, ...), as ``initializers.serialize``
    writes them.

    Example:
        >>> "he_normal" in initializer_names()
        True
    """
    from .. import initializers

    return [initializers.serialize(c()) for c in
            _classes(initializers, initializers.Initializer).values()]


def activation_names() -> tuple[str, ...]:
    """The activations' canonical names (``lamina.activations.ALL_ACTIVATIONS``)."""
    from ..activations import ALL_ACTIVATIONS

    return ALL_ACTIVATIONS


def canonical_activation(name: str) -> str | None:
    """The canonical spelling of an activation (``"swish"`` -> ``"silu"``), None if unknown.

    Example:
        >>> canonical_activation("swish"), canonical_activation("rleu")
        ('silu', None)
    """
    from .. import activations

    try:
        return activations.get(name)
    except (ValueError, TypeError):
        return None


def loss_names() -> tuple[str, ...]:
    """The losses' canonical names (``lamina.losses.ALL_LOSSES``)."""
    from ..losses import ALL_LOSSES

    return ALL_LOSSES


def canonical_loss(name: str) -> str | None:
    """The canonical name of a loss (``"mse"`` -> ``"mean_squared_error"``), None if unknown.

    Example:
        >>> canonical_loss("mse")
        'mean_squared_error'
    """
    from .. import losses

    try:
        return losses.get(name).core_name
    except (ValueError, TypeError):
        return None


def metric_names() -> list[str]:
    """``"accuracy"`` and the metrics' canonical names, in ``lamina.metrics.__all__`` order.

    Example:
        >>> metric_names()[:2]
        ['accuracy', 'binary_accuracy']
    """
    from .. import metrics

    names = ["accuracy"]
    for n in metrics.__all__:
        obj = getattr(metrics, n)
        if inspect.isfunction(obj) and n not in ("get", "serialize", "deserialize") \
                and canonical_metric(n) == n:
            names.append(n)
    return names


def canonical_metric(name: str) -> str | None:
    """The canonical name of a metric (``"acc"`` -> ``"accuracy"``), None if unknown.

    Example:
        >>> canonical_metric("acc"), canonical_metric("mae")
        ('accuracy', 'mean_absolute_error')
    """
    from .. import metrics

    if not isinstance(name, str):
        return None
    try:
        return metrics.canonical_name(name)
    except (ValueError, TypeError):
        return None
