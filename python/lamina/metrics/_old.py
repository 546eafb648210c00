"""Metrics with Keras 3 names; "accuracy" picks binary / categorical / sparse like Keras.

During ``fit``/``evaluate`` the core computes each metric's weighted sum per batch and lamina
averages over the epoch. The classes here name a metric (and its ``threshold`` / ``k``) and
also work on their own in numpy with Keras's ``update_state`` / ``result`` / ``reset_state``;
the functions return one value per sample.

Example:
    >>> import numpy as np
    >>> import lamina
    >>> m = lamina.metrics.SparseCategoricalAccuracy()
    >>> m.update_state([1, 0], np.array([[0.2, 0.8], [0.3, 0.7]]))
    >>> m.result()
    0.5
    >>> lamina.metrics.get("accuracy", loss="sparse_categorical_crossentropy").core_name
    'sparse_categorical_accuracy'
"""

from __future__ import annotations

import numpy as np

from ._validation import config_repr, from_class_config

__all__ = [
    "Metric", "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy",
    "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy", "MeanSquaredError",
    "MeanAbsoluteError", "binary_accuracy", "categorical_accuracy",
    "sparse_categorical_accuracy", "top_k_categorical_accuracy",
    "sparse_top_k_categorical_accuracy", "mean_squared_error", "mean_absolute_error", "mse",
    "mae", "get", "serialize", "deserialize", "SPARSE_METRICS",
]

SPARSE_METRICS = ("sparse_categorical_accuracy", "sparse_top_k_categorical_accuracy")


def _pred(y_pred):
    y_pred = np.asarray(y_pred, dtype=np.float64)
    return y_pred.reshape(-1, 1) if y_pred.ndim == 1 else y_pred


def _dense(y_true, y_pred):
    """(y_true, y_pred) as float64 arrays of y_pred's 2-D shape (dense targets)."""
    y_pred = _pred(y_pred)
    return np.asarray(y_true, dtype=np.float64).reshape(y_pred.shape), y_pred


def _sparse_labels(y_true):
    y = np.asarray(y_true)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    return y.astype(np.int64)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """Per-sample fraction of outputs where ``(y_pred > threshold) == (y_true > 0.5)``.

    Args:
        y_true: 0/1 targets, shape ``(n, d)`` or ``(n,)``.
        y_pred: Predictions, same shape.
        threshold: Decision threshold. Defaults to `0.5`.

    Example:
        >>> binary_accuracy([[1.0], [0.0]], [[0.7], [0.6]]).tolist()
        [1.0, 0.0]
    """
    y_true, y_pred = _dense(y_true, y_pred)
    return np.mean((y_pred > threshold) == (y_true > 0.5), axis=-1)


def categorical_accuracy(y_true, y_pred):
    """Per-sample ``argmax(y_pred) == argmax(y_true)``.

    Args:
        y_true: One-hot targets, shape ``(n, k)``.
        y_pred: Predictions, shape ``(n, k)``.

    Example:
        >>> categorical_accuracy([[0, 1]], [[0.2, 0.8]]).tolist()
        [1.0]
    """
    y_true, y_pred = _dense(y_true, y_pred)
    return (np.argmax(y_pred, -1) == np.argmax(y_true, -1)).astype(np.float64)


def sparse_categorical_accuracy(y_true, y_pred):
    """Per-sample ``argmax(y_pred) == label``.

    Args:
        y_true: Integer labels, shape ``(n,)`` or ``(n, 1)``.
        y_pred: Predictions, shape ``(n, k)``.

    Example:
        >>> sparse_categorical_accuracy([1], [[0.2, 0.8]]).tolist()
        [1.0]
    """
    return (np.argmax(_pred(y_pred), -1) == _sparse_labels(y_true)).astype(np.float64)


def _in_top_k(pred, labels, k):
    # Label counted when fewer than k classes score strictly higher (ties favour the label).
    target = pred[np.arange(pred.shape[0]), labels]
    return (np.sum(pred > target[:, None], axis=-1) < k).astype(np.float64)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """Per-sample: is ``argmax(y_true)`` among the ``k`` highest predictions.

    Args:
        y_true: One-hot targets, shape ``(n, c)``.
        y_pred: Predictions, shape ``(n, c)``.
        k: How many top predictions count. Defaults to `5`.

    Example:
        >>> top_k_categorical_accuracy([[0, 0, 1]], [[0.5, 0.3, 0.2]], k=2).tolist()
        [0.0]
    """
    y_true, y_pred = _dense(y_true, y_pred)
    return _in_top_k(y_pred, np.argmax(y_true, -1), k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    """Per-sample: is the label among the ``k`` highest predictions.

    Args:
        y_true: Integer labels, shape ``(n,)``.
        y_pred: Predictions, shape ``(n, c)``.
        k: How many top predictions count. Defaults to `5`.

    Example:
        >>> sparse_top_k_categorical_accuracy([2], [[0.5, 0.3, 0.2]], k=3).tolist()
        [1.0]
    """
    return _in_top_k(_pred(y_pred), _sparse_labels(y_true), k)


def mean_squared_error(y_true, y_pred):
    """Per-sample mean squared error over the last axis.

    Example:
        >>> mean_squared_error([[0.0]], [[2.0]]).tolist()
        [4.0]
    """
    y_true, y_pred = _dense(y_true, y_pred)
    return np.mean(np.square(y_pred - y_true), axis=-1)


def mean_absolute_error(y_true, y_pred):
    """Per-sample mean absolute error over the last axis.

    Example:
        >>> mean_absolute_error([[0.0]], [[-2.0]]).tolist()
        [2.0]
    """
    y_true, y_pred = _dense(y_true, y_pred)
    return np.mean(np.abs(y_pred - y_true), axis=-1)


mse = mean_squared_error
mae = mean_absolute_error


class Metric:
    """A named metric averaged over samples (weighted by ``sample_weight`` when given).

    ``name`` is the key in logs and History; ``core_name`` the core's metric.

    Example:
        >>> m = get("mae"); isinstance(m, Metric), (m.name, m.core_name)
        (True, ('mae', 'mean_absolute_error'))
    """

    core_name = ""
    default_name = ""

    def __init__(self, name=None, dtype=None):
        self.name = str(name) if name is not None else self.default_name
        self.threshold = 0.5
        self.k = 5
        self.reset_state()

    def _per_sample(self, y_true, y_pred):  # pragma: no cover - abstract
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        """Adds a batch to the running weighted mean."""
        values = np.asarray(self._per_sample(y_true, y_pred), dtype=np.float64).reshape(-1)
        w = (np.ones_like(values) if sample_weight is None
             else np.asarray(sample_weight, dtype=np.float64).reshape(-1))
        self._total += float(np.sum(values * w))
        self._count += float(np.sum(w))

    def result(self) -> float:
        """Returns the weighted mean so far (0.0 before any update)."""
        return self._total / self._count if self._count else 0.0

    def reset_state(self) -> None:
        """Forgets every update."""
        self._total = 0.0
        self._count = 0.0

    def core_spec(self) -> dict:
        """Returns this metric's entry of the core's network spec."""
        return {"name": self.core_name, "threshold": float(self.threshold), "k": int(self.k)}

    def get_config(self) -> dict:
        """Returns the constructor arguments as a dict."""
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict):
        """Creates a metric from ``get_config()``'s output."""
        return cls(**config)

    __repr__ = config_repr


class BinaryAccuracy(Metric):
    """How often ``(y_pred > threshold)`` matches the 0/1 target.

    Args:
        name: Key in logs. Defaults to `"binary_accuracy"`.
        threshold: Decision threshold. Defaults to `0.5`.

    Example:
        >>> m = BinaryAccuracy(); m.update_state([[1.0]], [[0.9]]); m.result()
        1.0
    """

    core_name = default_name = "binary_accuracy"

    def __init__(self, name=None, dtype=None, threshold=0.5):
        super().__init__(name, dtype)
        self.threshold = float(threshold)

    def _per_sample(self, y_true, y_pred):
        return binary_accuracy(y_true, y_pred, self.threshold)

    def get_config(self):
        return {"name": self.name, "threshold": self.threshold}


class CategoricalAccuracy(Metric):
    """How often ``argmax(y_pred)`` matches the one-hot target's argmax.

    Args:
        name: Key in logs. Defaults to `"categorical_accuracy"`.

    Example:
        >>> m = CategoricalAccuracy(); m.update_state([[0, 1]], [[0.1, 0.9]]); m.result()
        1.0
    """

    core_name = default_name = "categorical_accuracy"

    def _per_sample(self, y_true, y_pred):
        return categorical_accuracy(y_true, y_pred)


class SparseCategoricalAccuracy(Metric):
    """How often ``argmax(y_pred)`` matches the integer label.

    Args:
        name: Key in logs. Defaults to `"sparse_categorical_accuracy"`.

    Example:
        >>> m = SparseCategoricalAccuracy(); m.update_state([1], [[0.1, 0.9]]); m.result()
        1.0
    """

    core_name = default_name = "sparse_categorical_accuracy"

    def _per_sample(self, y_true, y_pred):
        return sparse_categorical_accuracy(y_true, y_pred)


class TopKCategoricalAccuracy(Metric):
    """How often the one-hot target is among the ``k`` highest predictions.

    Args:
        k: How many top predictions count. Defaults to `5`.
        name: Key in logs. Defaults to `"top_k_categorical_accuracy"`.

    Example:
        >>> m = TopKCategoricalAccuracy(k=1); m.update_state([[0, 1]], [[0.1, 0.9]]); m.result()
        1.0
    """

    core_name = default_name = "top_k_categorical_accuracy"

    def __init__(self, k=5, name=None, dtype=None):
        super().__init__(name, dtype)
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"k must be an int >= 1, got {k!r}")
        self.k = int(k)

    def _per_sample(self, y_true, y_pred):
        return top_k_categorical_accuracy(y_true, y_pred, self.k)

    def get_config(self):
        return {"k": self.k, "name": self.name}


class SparseTopKCategoricalAccuracy(TopKCategoricalAccuracy):
    """How often the integer label is among the ``k`` highest predictions.

    Args:
        k: How many top predictions count. Defaults to `5`.
        name: Key in logs. Defaults to `"sparse_top_k_categorical_accuracy"`.

    Example:
        >>> m = SparseTopKCategoricalAccuracy(k=1); m.update_state([1], [[0.1, 0.9]])
        >>> m.result()
        1.0
    """

    core_name = default_name = "sparse_top_k_categorical_accuracy"

    def _per_sample(self, y_true, y_pred):
        return sparse_top_k_categorical_accuracy(y_true, y_pred, self.k)


class MeanSquaredError(Metric):
    """Mean squared error as a metric.

    Args:
        name: Key in logs. Defaults to `"mean_squared_error"`.

    Example:
        >>> m = MeanSquaredError(); m.update_state([[0.0]], [[2.0]]); m.result()
        4.0
    """

    core_name = default_name = "mean_squared_error"

    def _per_sample(self, y_true, y_pred):
        return mean_squared_error(y_true, y_pred)


class MeanAbsoluteError(Metric):
    """Mean absolute error as a metric.

    Args:
        name: Key in logs. Defaults to `"mean_absolute_error"`.

    Example:
        >>> m = MeanAbsoluteError(); m.update_state([[0.0]], [[-2.0]]); m.result()
        2.0
    """

    core_name = default_name = "mean_absolute_error"

    def _per_sample(self, y_true, y_pred):
        return mean_absolute_error(y_true, y_pred)


_CLASSES = {c.__name__: c for c in (
    BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy, TopKCategoricalAccuracy,
    SparseTopKCategoricalAccuracy, MeanSquaredError, MeanAbsoluteError)}
_NAMES = {
    "binary_accuracy": BinaryAccuracy, "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
}
_FUNCTIONS = {binary_accuracy: BinaryAccuracy, categorical_accuracy: CategoricalAccuracy,
              sparse_categorical_accuracy: SparseCategoricalAccuracy,
              top_k_categorical_accuracy: TopKCategoricalAccuracy,
              sparse_top_k_categorical_accuracy: SparseTopKCategoricalAccuracy,
              mean_squared_error: MeanSquaredError, mean_absolute_error: MeanAbsoluteError}


def _accuracy_for(loss_name, output_dim):
    if loss_name == "sparse_categorical_crossentropy":
        return SparseCategoricalAccuracy
    if loss_name == "binary_crossentropy" or output_dim == 1:
        return BinaryAccuracy
    return CategoricalAccuracy


def get(identifier, loss=None, output_dim=None) -> Metric:
    """Resolves a metric; "accuracy" / "acc" depend on the loss and output size like Keras.

    "accuracy" becomes sparse_categorical_accuracy with sparse_categorical_crossentropy,
    binary_accuracy with binary_crossentropy or a single output, else categorical_accuracy.
    A string keeps its spelling as the metric's name (the key in History).

    Args:
        identifier: A name, a function of this module, a config dict or a ``Metric``.
        loss: The compiled loss (name or ``Loss``), for "accuracy". Defaults to `None`.
        output_dim: The model's number of outputs, for "accuracy". Defaults to `None`.

    Example:
        >>> m = get("acc", loss="binary_crossentropy"); (m.name, m.core_name)
        ('acc', 'binary_accuracy')
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
                from . import losses as losses_mod

                loss_name = losses_mod.get(loss).core_name
            return _accuracy_for(loss_name, output_dim)(name=key)
        cls = _NAMES.get(key.lower()) or _CLASSES.get(key)
        if cls is None:
            raise ValueError(f"unknown metric {identifier!r}: accepted names are accuracy, "
                             f"acc, {', '.join(sorted(_NAMES))}")
        return cls(name=key)
    if isinstance(identifier, dict):
        if identifier.get("class_name") in ("accuracy", "acc", "Accuracy"):
            config = dict(identifier.get("config") or {})
            return get(config.get("name", "accuracy"), loss, output_dim)
        return from_class_config("metric class", identifier, _CLASSES, _NAMES)
    if callable(identifier) and identifier in _FUNCTIONS:
        return _FUNCTIONS[identifier]()
    raise ValueError(f"metric {identifier!r} is not supported: lamina computes metrics in its "
                     f"C++ core, so pass one of accuracy, {', '.join(sorted(_NAMES))} or a "
                     "lamina.metrics class")


def serialize(metric):
    """Returns ``{"class_name": ..., "config": ...}`` for a resolved metric.

    Example:
        >>> serialize(get("accuracy", loss="mse", output_dim=3))
        {'class_name': 'CategoricalAccuracy', 'config': {'name': 'accuracy'}}
    """
    metric = get(metric)
    return {"class_name": type(metric).__name__, "config": metric.get_config()}


deserialize = get
