"""Metrics with Keras 3 names and protocol; "accuracy" picks binary / categorical / sparse.

Every metric is a stateful object: ``update_state(y_true, y_pred, sample_weight=None)``,
``result()``, ``reset_state()``, ``get_config()`` / ``from_config()``. In ``fit`` /
``evaluate`` the common ones (the accuracies, top-k, mse, mae) are summed inside the C++
core's step; the others (AUC, Precision, Recall, F1Score, R2Score, RootMeanSquaredError, …,
any loss, any Python function ``fn(y_true, y_pred)`` and any ``Metric`` subclass) are
updated in numpy with the outputs of that same step's forward pass. The functions return
one value per sample.

Example:
    >>> import numpy as np
    >>> import lamina
    >>> m = lamina.metrics.SparseCategoricalAccuracy()
    >>> m.update_state([1, 0], np.array([[0.2, 0.8], [0.3, 0.7]]))
    >>> m.result()
    0.5
    >>> lamina.metrics.get("accuracy", loss="sparse_categorical_crossentropy").core_name
    'sparse_categorical_accuracy'
    >>> auc = lamina.metrics.get("auc"); type(auc).__name__, auc.name
    ('AUC', 'auc')
"""

from __future__ import annotations

import inspect

from .. import losses as _losses
from .. import object_registration
from .._validation import from_class_config
from . import functions as _functions
from .accuracy import (Accuracy, BinaryAccuracy, CategoricalAccuracy,
                       SparseCategoricalAccuracy, SparseTopKCategoricalAccuracy,
                       TopKCategoricalAccuracy)
from .base import Mean, MeanMetricWrapper, Metric, Sum, _snake
from .confusion import (AUC, FalseNegatives, FalsePositives, Precision, Recall,
                        TrueNegatives, TruePositives)
from .f_score import F1Score, FBetaScore
from .functions import (binary_accuracy, categorical_accuracy, categorical_hinge,
                        cosine_similarity, hinge, kl_divergence, log_cosh, mae, mape,
                        mean_absolute_error, mean_absolute_percentage_error,
                        mean_squared_error, mean_squared_logarithmic_error, mse, msle,
                        poisson, sparse_categorical_accuracy,
                        sparse_top_k_categorical_accuracy, squared_hinge,
                        top_k_categorical_accuracy)
from .probabilistic import (BinaryCrossentropy, CategoricalCrossentropy, CategoricalHinge,
                            Hinge, KLDivergence, Poisson, SparseCategoricalCrossentropy,
                            SquaredHinge)
from .regression import (CosineSimilarity, LogCoshError, MeanAbsoluteError,
                         MeanAbsolutePercentageError, MeanSquaredError,
                         MeanSquaredLogarithmicError, R2Score, RootMeanSquaredError)

__all__ = [
    "Metric", "Mean", "Sum", "MeanMetricWrapper", "Accuracy", "BinaryAccuracy",
    "CategoricalAccuracy", "SparseCategoricalAccuracy", "TopKCategoricalAccuracy",
    "SparseTopKCategoricalAccuracy", "MeanSquaredError", "RootMeanSquaredError",
    "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError",
    "LogCoshError", "CosineSimilarity", "R2Score", "AUC", "Precision", "Recall",
    "TruePositives", "TrueNegatives", "FalsePositives", "FalseNegatives", "F1Score",
    "FBetaScore", "BinaryCrossentropy", "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy", "KLDivergence", "Poisson", "Hinge", "SquaredHinge",
    "CategoricalHinge",
    "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
    "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "mean_squared_error",
    "mean_absolute_error", "mean_absolute_percentage_error", "mean_squared_logarithmic_error",
    "log_cosh", "cosine_similarity", "kl_divergence", "poisson", "hinge", "squared_hinge",
    "categorical_hinge", "mse", "mae", "mape", "msle", "binary_crossentropy",
    "categorical_crossentropy", "sparse_categorical_crossentropy", "huber",
    "get", "serialize", "deserialize", "get_function", "canonical_name", "SPARSE_METRICS",
]

SPARSE_METRICS = ("sparse_categorical_accuracy", "sparse_top_k_categorical_accuracy")

# Keras 3's keras.metrics also spells these loss functions (the same functions).
binary_crossentropy = _losses.binary_crossentropy
categorical_crossentropy = _losses.categorical_crossentropy
sparse_categorical_crossentropy = _losses.sparse_categorical_crossentropy
huber = _losses.huber

_CLASSES = {c.__name__: c for c in (
    Mean, Sum, MeanMetricWrapper, Accuracy, BinaryAccuracy, CategoricalAccuracy,
    SparseCategoricalAccuracy, TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy,
    MeanSquaredError, RootMeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, LogCoshError, CosineSimilarity, R2Score, AUC, Precision,
    Recall, TruePositives, TrueNegatives, FalsePositives, FalseNegatives, F1Score,
    FBetaScore, BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy,
    KLDivergence, Poisson, Hinge, SquaredHinge, CategoricalHinge)}
# Keras 3's string names: each class name in snake case, plus its aliases.
_NAMES = {_snake(n): c for n, c in _CLASSES.items() if c not in (Mean, Sum, MeanMetricWrapper)}
_NAMES.update({"mse": MeanSquaredError, "mae": MeanAbsoluteError,
               "mape": MeanAbsolutePercentageError, "msle": MeanSquaredLogarithmicError,
               "bce": BinaryCrossentropy, "fbeta_score": FBetaScore, "logcosh": LogCoshError})
_NAMES.pop("accuracy")  # "accuracy" / "acc" pick the accuracy that fits the loss (get)
# A metric function passed to compile runs as its class (the core computes the common ones).
_FUNCTIONS = {
    binary_accuracy: BinaryAccuracy, categorical_accuracy: CategoricalAccuracy,
    sparse_categorical_accuracy: SparseCategoricalAccuracy,
    top_k_categorical_accuracy: TopKCategoricalAccuracy,
    sparse_top_k_categorical_accuracy: SparseTopKCategoricalAccuracy,
    mean_squared_error: MeanSquaredError, mean_absolute_error: MeanAbsoluteError,
    mean_absolute_percentage_error: MeanAbsolutePercentageError,
    mean_squared_logarithmic_error: MeanSquaredLogarithmicError, log_cosh: LogCoshError,
    cosine_similarity: CosineSimilarity, kl_divergence: KLDivergence, poisson: Poisson,
    hinge: Hinge, squared_hinge: SquaredHinge, categorical_hinge: CategoricalHinge,
    binary_crossentropy: BinaryCrossentropy, categorical_crossentropy: CategoricalCrossentropy,
    sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
}


def _accuracy_for(loss_name, output_dim):
    if loss_name == "sparse_categorical_crossentropy":
        return SparseCategoricalAccuracy
    if loss_name == "binary_crossentropy" or output_dim == 1:
        return BinaryAccuracy
    return CategoricalAccuracy


def _loss_metric(identifier, name=None):
    """A loss (name, class or instance) as a metric, or None when it is not a loss."""
    try:
        loss = _losses.get(identifier)
    except (ValueError, TypeError):
        return None
    return MeanMetricWrapper(loss, name=name or loss.name)


def get(identifier, loss=None, output_dim=None) -> Metric:
    """Resolves a metric like Keras's ``compile`` does.

    "accuracy" / "acc" become sparse_categorical_accuracy with
    sparse_categorical_crossentropy, binary_accuracy with binary_crossentropy or a single
    output, else categorical_accuracy. A string keeps its spelling as the metric's name
    (the key in History). A loss (name, class or instance) and any other Python function
    ``fn(y_true, y_pred)`` become a ``MeanMetricWrapper``.

    Args:
        identifier: A name, a function, a config dict, a ``Metric`` class or instance, or a
            loss.
        loss: The compiled loss (name or ``Loss``), for "accuracy". Defaults to `None`.
        output_dim: The model's number of outputs, for "accuracy". Defaults to `None`.

    Example:
        >>> m = get("acc", loss="binary_crossentropy"); (m.name, m.core_name)
        ('acc', 'binary_accuracy')
        >>> get("huber").name, get(lambda t, p: abs(t - p)).name
        ('huber', 'metric')
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if isinstance(identifier, str):
        key = identifier.strip()
        if key.lower() in ("accuracy", "acc"):
            loss_name = None
            if loss is not None:
                try:
                    loss_name = _losses.get(loss).core_name
                except (ValueError, TypeError):
                    loss_name = None
            return _accuracy_for(loss_name, output_dim)(name=key)
        cls = _CLASSES.get(key) or _NAMES.get(key.lower())
        if cls is not None and cls not in (Mean, Sum, MeanMetricWrapper):
            return cls(name=key)
        wrapped = _loss_metric(key, name=key)
        if wrapped is not None:
            return wrapped
        raise ValueError(f"unknown metric {identifier!r}: accepted names are accuracy, "
                         f"acc, {', '.join(sorted(_NAMES))} and the loss names")
    if isinstance(identifier, dict):
        if identifier.get("class_name") in ("accuracy", "acc"):
            config = dict(identifier.get("config") or {})
            return get(config.get("name", "accuracy"), loss, output_dim)
        custom = _custom_from_dict(identifier)
        if custom is not None:
            return custom
        try:
            return from_class_config("metric class", identifier, _CLASSES, _NAMES)
        except ValueError:
            wrapped = _loss_metric(identifier)
            if wrapped is None:
                raise
            return wrapped
    if callable(identifier):
        if identifier in _FUNCTIONS:
            return _FUNCTIONS[identifier](name=identifier.__name__)
        if isinstance(identifier, _losses.Loss) or (
                isinstance(identifier, type) and issubclass(identifier, _losses.Loss)):
            return _loss_metric(identifier)
        if isinstance(identifier, type):
            raise ValueError(f"metric class {identifier.__name__} is not a "
                             "lamina.metrics.Metric subclass")
        return MeanMetricWrapper(identifier)
    raise ValueError(f"metric {identifier!r} is not supported: pass a name, a function "
                     "fn(y_true, y_pred), a loss or a lamina.metrics.Metric")


def _custom_from_dict(identifier):
    """A saved custom metric (a class or function the registry names), or None when the
    dict names a built-in class."""
    class_name = identifier.get("class_name")
    key = identifier.get("registered_name") or class_name
    if class_name in _CLASSES or str(class_name).lower() in _NAMES or (
            class_name in _losses._CLASSES):
        return None
    obj = object_registration.lookup(key)
    if obj is None:
        raise ValueError(object_registration.not_found("metric", key) + " (built-in metric "
                         f"classes: {', '.join(sorted(_CLASSES))})")
    config = dict(identifier.get("config") or {})
    if isinstance(obj, type) and issubclass(obj, Metric):
        return obj.from_config(config)
    if isinstance(obj, type) and issubclass(obj, _losses.Loss):
        return _loss_metric(obj.from_config(config))
    if callable(obj) and not isinstance(obj, type):
        return MeanMetricWrapper(obj, **config)
    raise ValueError(f"custom metric {key!r} is {obj!r}: a Metric subclass, a Loss subclass "
                     "or a function fn(y_true, y_pred) is needed")


def get_function(name):
    """The per-sample metric or loss function called ``name`` (for MeanMetricWrapper).

    Example:
        >>> get_function("mae") is mean_absolute_error
        True
    """
    fn = getattr(_functions, str(name), None) if name in _functions.__all__ else None
    if fn is None and name in getattr(_losses, "__all__", ()):
        fn = getattr(_losses, name)
    if fn is None and isinstance(name, str):
        fn = object_registration.lookup(name)
        if fn is None:
            raise ValueError(object_registration.not_found("metric function", name))
    if fn is None or not callable(fn) or isinstance(fn, type):
        raise ValueError(f"unknown metric function {name!r}: a function fn(y_true, y_pred) "
                         "is needed")
    return fn


def serialize(metric):
    """Returns ``{"class_name": ..., "config": ...}`` for a resolved metric.

    Example:
        >>> serialize(get("accuracy", loss="mse", output_dim=3))
        {'class_name': 'CategoricalAccuracy', 'config': {'name': 'accuracy', 'dtype': None}}
    """
    metric = get(metric)
    config = {"class_name": type(metric).__name__, "config": metric.get_config()}
    if not type(metric).__module__.startswith("lamina."):  # the user's own Metric subclass
        config["registered_name"] = object_registration.saved_name(type(metric), "metric")
    return config


def deserialize(config, custom_objects=None):
    """Builds a metric from ``serialize()``'s output (or any identifier ``get`` takes).

    Args:
        config: The ``{"class_name", "config"}`` dict, a name or a metric.
        custom_objects: ``{saved name: Metric subclass or function}`` for the user's own
            metrics (see ``lamina.saving.custom_object_scope``).
            Defaults to `None`.

    Example:
        >>> deserialize({"class_name": "AUC", "config": {"curve": "PR"}}).curve
        'PR'
    """
    with object_registration.custom_object_scope(custom_objects):
        return get(config)


def canonical_name(identifier) -> str:
    """The metric's default name: ``"mse"`` -> ``"mean_squared_error"``.

    Example:
        >>> canonical_name("mae"), canonical_name("auc"), canonical_name("acc")
        ('mean_absolute_error', 'auc', 'accuracy')
    """
    if isinstance(identifier, str) and identifier.strip().lower() in ("accuracy", "acc"):
        return "accuracy"
    metric = get(identifier)
    if metric.core_name:
        return metric.core_name
    default = inspect.signature(type(metric)).parameters.get("name")
    if default is not None and isinstance(default.default, str):
        return default.default
    return metric.name
