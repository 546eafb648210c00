"""Losses with Keras 3 names, arguments and reduction ("sum_over_batch_size").

Training computes the loss in the C++ core; these classes say which loss and with which
arguments, and calling one computes the same value in numpy (float64), e.g. to check a
model. The per-sample functions (``mean_squared_error(y_true, y_pred)`` …) return one loss per
sample like Keras's.

Example:
    >>> import numpy as np
    >>> import lamina
    >>> loss = lamina.losses.SparseCategoricalCrossentropy(from_logits=True)
    >>> round(loss([0], np.array([[0.0, 0.0]])), 4)
    0.6931
    >>> lamina.losses.get("mse").name
    'mean_squared_error'
"""

from __future__ import annotations

import math

import numpy as np

from ._validation import config_repr, from_class_config

__all__ = [
    "Loss", "MeanSquaredError", "MeanAbsoluteError", "Huber", "BinaryCrossentropy",
    "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "mean_squared_error",
    "mean_absolute_error", "huber", "binary_crossentropy", "categorical_crossentropy",
    "sparse_categorical_crossentropy", "mse", "mae", "get", "serialize", "deserialize",
    "ALL_LOSSES",
]

EPSILON = 1e-7
# Names the core understands (cpp/include/lamina/losses.hpp).
ALL_LOSSES = ("mean_squared_error", "mean_absolute_error", "huber", "binary_crossentropy",
              "categorical_crossentropy", "sparse_categorical_crossentropy")


def _arrays(y_true, y_pred):
    y_pred = np.asarray(y_pred, dtype=np.float64)
    y_true = np.asarray(y_true, dtype=np.float64)
    if y_true.shape != y_pred.shape and y_true.size == y_pred.size:
        y_true = y_true.reshape(y_pred.shape)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true shape {y_true.shape} does not match y_pred shape "
                         f"{y_pred.shape}")
    return y_true, y_pred


def mean_squared_error(y_true, y_pred):
    """Per-sample ``mean((y_true - y_pred) ** 2)`` over the last axis.

    Args:
        y_true: Targets, shape ``(n, d)``.
        y_pred: Predictions, same shape.

    Example:
        >>> mean_squared_error([[0.0, 0.0]], [[1.0, 3.0]]).tolist()
        [5.0]
    """
    y_true, y_pred = _arrays(y_true, y_pred)
    return np.mean(np.square(y_pred - y_true), axis=-1)


def mean_absolute_error(y_true, y_pred):
    """Per-sample ``mean(|y_true - y_pred|)`` over the last axis.

    Args:
        y_true: Targets, shape ``(n, d)``.
        y_pred: Predictions, same shape.

    Example:
        >>> mean_absolute_error([[0.0, 0.0]], [[1.0, -3.0]]).tolist()
        [2.0]
    """
    y_true, y_pred = _arrays(y_true, y_pred)
    return np.mean(np.abs(y_pred - y_true), axis=-1)


def huber(y_true, y_pred, delta=1.0):
    """Per-sample Huber loss: quadratic for errors up to ``delta``, linear beyond.

    Args:
        y_true: Targets, shape ``(n, d)``.
        y_pred: Predictions, same shape.
        delta: Where the loss turns linear. Defaults to `1.0`.

    Example:
        >>> huber([[0.0]], [[3.0]]).tolist()
        [2.5]
    """
    y_true, y_pred = _arrays(y_true, y_pred)
    err = np.abs(y_pred - y_true)
    quad = np.minimum(err, delta)
    return np.mean(0.5 * quad ** 2 + delta * (err - quad), axis=-1)


def binary_crossentropy(y_true, y_pred, from_logits=False):
    """Per-sample binary crossentropy, averaged over the last axis.

    Args:
        y_true: Targets in [0, 1], shape ``(n, d)``.
        y_pred: Probabilities (clipped to ``[1e-7, 1 - 1e-7]``) or logits.
        from_logits: Whether ``y_pred`` holds logits. Defaults to `False`.

    Example:
        >>> round(float(binary_crossentropy([[1.0]], [[0.5]])[0]), 4)
        0.6931
    """
    y_true, y_pred = _arrays(y_true, y_pred)
    if from_logits:
        z = y_pred
        per = np.maximum(z, 0) - z * y_true + np.log1p(np.exp(-np.abs(z)))
    else:
        p = np.clip(y_pred, EPSILON, 1 - EPSILON)
        per = -(y_true * np.log(p) + (1 - y_true) * np.log(1 - p))
    return np.mean(per, axis=-1)


def categorical_crossentropy(y_true, y_pred, from_logits=False):
    """Per-sample categorical crossentropy with one-hot (or soft) targets.

    Args:
        y_true: Targets, shape ``(n, k)``, rows summing to 1.
        y_pred: Probabilities (normalized, then clipped to ``[1e-7, 1 - 1e-7]``) or logits.
        from_logits: Whether ``y_pred`` holds logits. Defaults to `False`.

    Example:
        >>> round(float(categorical_crossentropy([[0.0, 1.0]], [[0.5, 0.5]])[0]), 4)
        0.6931
    """
    y_true, y_pred = _arrays(y_true, y_pred)
    if from_logits:
        s = y_pred - y_pred.max(axis=-1, keepdims=True)
        logp = s - np.log(np.exp(s).sum(axis=-1, keepdims=True))
    else:
        p = y_pred / y_pred.sum(axis=-1, keepdims=True)
        logp = np.log(np.clip(p, EPSILON, 1 - EPSILON))
    return -np.sum(y_true * logp, axis=-1)


def _labels(y_true, n_classes):
    y = np.asarray(y_true)
    if y.ndim >= 1 and y.shape[-1] == 1 and y.ndim > 1:
        y = y[..., 0]
    frac = np.flatnonzero(np.floor(y) != y)
    if frac.size:
        raise ValueError(f"sparse_categorical_crossentropy needs integer labels, got "
                         f"{y.flat[frac[0]]} at position {frac[0]}")
    y = y.astype(np.int64)
    bad = np.flatnonzero((y < 0) | (y >= n_classes))
    if bad.size:
        raise ValueError(f"label {y.flat[bad[0]]} at position {bad[0]} is outside "
                         f"[0, {n_classes})")
    return y


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    """Per-sample crossentropy with integer class labels.

    Args:
        y_true: Labels in ``[0, k)``, shape ``(n,)`` or ``(n, 1)``.
        y_pred: Probabilities or logits, shape ``(n, k)``.
        from_logits: Whether ``y_pred`` holds logits. Defaults to `False`.

    Example:
        >>> round(float(sparse_categorical_crossentropy([1], [[0.5, 0.5]])[0]), 4)
        0.6931
    """
    y_pred = np.asarray(y_pred, dtype=np.float64)
    y = _labels(y_true, y_pred.shape[-1])
    onehot = np.zeros_like(y_pred)
    onehot[np.arange(y.shape[0]), y] = 1.0
    return categorical_crossentropy(onehot, y_pred, from_logits=from_logits)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error


class Loss:
    """Base class: a named loss with arguments; ``loss(y_true, y_pred, sample_weight)``.

    The value is Keras's "sum_over_batch_size" reduction: ``sum_i w_i * l_i / n``.

    Example:
        >>> loss = get("mae"); isinstance(loss, Loss), loss([[0.0], [0.0]], [[1.0], [3.0]], [1, 0])
        (True, 0.5)
    """

    name = "loss"
    core_name = ""

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        if reduction not in ("sum_over_batch_size", "auto", None):
            raise ValueError(f"reduction {reduction!r} is not supported: lamina reduces losses "
                             "with 'sum_over_batch_size' (Keras's default)")
        if name is not None:
            self.name = str(name)
        self.from_logits = False
        self.delta = 1.0

    def per_sample(self, y_true, y_pred):  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, y_true, y_pred, sample_weight=None) -> float:
        """Returns ``sum_i w_i * l_i / n`` as a Python float (float64 arithmetic)."""
        per = np.asarray(self.per_sample(y_true, y_pred), dtype=np.float64).reshape(-1)
        if sample_weight is not None:
            per = per * np.asarray(sample_weight, dtype=np.float64).reshape(-1)
        return float(per.sum() / max(per.shape[0], 1))

    def core_spec(self) -> dict:
        """Returns the loss entry of the core's network spec."""
        return {"name": self.core_name, "from_logits": bool(self.from_logits),
                "delta": float(self.delta)}

    def get_config(self) -> dict:
        """Returns the constructor arguments as a dict."""
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict):
        """Creates a loss from ``get_config()``'s output."""
        return cls(**config)

    __repr__ = config_repr


class MeanSquaredError(Loss):
    """Mean of squared errors.

    Args:
        name: Name. Defaults to `"mean_squared_error"`.
        reduction: Only "sum_over_batch_size" (Keras's default). Defaults to
            `"sum_over_batch_size"`.

    Example:
        >>> MeanSquaredError()([[0.0], [0.0]], [[1.0], [3.0]])
        5.0
    """

    name = core_name = "mean_squared_error"

    def per_sample(self, y_true, y_pred):
        return mean_squared_error(y_true, y_pred)


class MeanAbsoluteError(Loss):
    """Mean of absolute errors.

    Args:
        name: Name. Defaults to `"mean_absolute_error"`.
        reduction: Only "sum_over_batch_size". Defaults to `"sum_over_batch_size"`.

    Example:
        >>> MeanAbsoluteError()([[0.0]], [[-2.0]])
        2.0
    """

    name = core_name = "mean_absolute_error"

    def per_sample(self, y_true, y_pred):
        return mean_absolute_error(y_true, y_pred)


class Huber(Loss):
    """Huber loss: ``0.5 * e ** 2`` for ``|e| <= delta``, ``delta * (|e| - 0.5 * delta)`` beyond.

    Args:
        delta: Where the loss turns linear, > 0. Defaults to `1.0`.
        name: Name. Defaults to `"huber_loss"`.
        reduction: Only "sum_over_batch_size". Defaults to `"sum_over_batch_size"`.

    Example:
        >>> Huber(delta=1.0)([[0.0]], [[3.0]])
        2.5
    """

    name = "huber_loss"
    core_name = "huber"

    def __init__(self, delta=1.0, name=None, reduction="sum_over_batch_size", dtype=None):
        super().__init__(name, reduction, dtype)
        delta = float(delta)
        if not (math.isfinite(delta) and delta > 0):
            raise ValueError(f"Huber delta must be a finite number > 0, got {delta!r}")
        self.delta = delta

    def per_sample(self, y_true, y_pred):
        return huber(y_true, y_pred, self.delta)

    def get_config(self):
        return {"delta": self.delta, "name": self.name}


class _CrossentropyBase(Loss):
    def __init__(self, from_logits=False, name=None, reduction="sum_over_batch_size",
                 dtype=None, **kwargs):
        super().__init__(name, reduction, dtype)
        if not isinstance(from_logits, (bool, np.bool_)):
            raise TypeError(f"from_logits must be a bool, got {from_logits!r}")
        for key in ("label_smoothing", "axis", "ignore_class"):
            value = kwargs.pop(key, None)
            if value not in (None, 0, 0.0, -1):
                raise ValueError(f"{key}={value!r} is not supported by lamina's "
                                 f"{type(self).__name__}")
        if kwargs:
            raise TypeError(f"unexpected arguments for {type(self).__name__}: "
                            f"{', '.join(sorted(kwargs))}")
        self.from_logits = bool(from_logits)

    def get_config(self):
        return {"from_logits": self.from_logits, "name": self.name}


class BinaryCrossentropy(_CrossentropyBase):
    """Binary crossentropy for 0/1 targets (one or more independent outputs).

    Args:
        from_logits: Whether predictions are logits (no sigmoid applied). Defaults to `False`.
        name: Name. Defaults to `"binary_crossentropy"`.
        reduction: Only "sum_over_batch_size". Defaults to `"sum_over_batch_size"`.

    Example:
        >>> round(BinaryCrossentropy(from_logits=True)([[1.0]], [[0.0]]), 4)
        0.6931
    """

    name = core_name = "binary_crossentropy"

    def per_sample(self, y_true, y_pred):
        return binary_crossentropy(y_true, y_pred, self.from_logits)


class CategoricalCrossentropy(_CrossentropyBase):
    """Crossentropy for one-hot targets.

    Args:
        from_logits: Whether predictions are logits (no softmax applied). Defaults to `False`.
        name: Name. Defaults to `"categorical_crossentropy"`.
        reduction: Only "sum_over_batch_size". Defaults to `"sum_over_batch_size"`.

    Example:
        >>> round(CategoricalCrossentropy()([[0.0, 1.0]], [[0.5, 0.5]]), 4)
        0.6931
    """

    name = core_name = "categorical_crossentropy"

    def per_sample(self, y_true, y_pred):
        return categorical_crossentropy(y_true, y_pred, self.from_logits)


class SparseCategoricalCrossentropy(_CrossentropyBase):
    """Crossentropy for integer class labels.

    Args:
        from_logits: Whether predictions are logits (no softmax applied). Defaults to `False`.
        name: Name. Defaults to `"sparse_categorical_crossentropy"`.
        reduction: Only "sum_over_batch_size". Defaults to `"sum_over_batch_size"`.

    Example:
        >>> round(SparseCategoricalCrossentropy()([1], [[0.5, 0.5]]), 4)
        0.6931
    """

    name = core_name = "sparse_categorical_crossentropy"

    def per_sample(self, y_true, y_pred):
        return sparse_categorical_crossentropy(y_true, y_pred, self.from_logits)


_CLASSES = {c.__name__: c for c in (MeanSquaredError, MeanAbsoluteError, Huber,
                                     BinaryCrossentropy, CategoricalCrossentropy,
                                     SparseCategoricalCrossentropy)}
_NAMES = {
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "huber": Huber, "huber_loss": Huber,
    "binary_crossentropy": BinaryCrossentropy, "bce": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
}
_FUNCTIONS = {mean_squared_error: MeanSquaredError, mean_absolute_error: MeanAbsoluteError,
              huber: Huber, binary_crossentropy: BinaryCrossentropy,
              categorical_crossentropy: CategoricalCrossentropy,
              sparse_categorical_crossentropy: SparseCategoricalCrossentropy}


def get(identifier) -> Loss:
    """Resolves a loss from a name, a function of this module, a config dict or an instance.

    Args:
        identifier: "mse", "sparse_categorical_crossentropy", ``lamina.losses.huber``,
            ``{"class_name": "Huber", "config": {"delta": 2.0}}`` or a ``Loss``.

    Example:
        >>> get("categorical_crossentropy")
        CategoricalCrossentropy(from_logits=False, name='categorical_crossentropy')
    """
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if isinstance(identifier, str):
        cls = _NAMES.get(identifier.strip().lower()) or _CLASSES.get(identifier.strip())
        if cls is None:
            raise ValueError(f"unknown loss {identifier!r}: accepted names are "
                             f"{', '.join(sorted(_NAMES))}")
        return cls()
    if isinstance(identifier, dict):
        return from_class_config("loss class", identifier, _CLASSES, _NAMES)
    if callable(identifier) and identifier in _FUNCTIONS:
        return _FUNCTIONS[identifier]()
    raise ValueError(f"loss {identifier!r} is not supported: lamina computes the loss in its "
                     f"C++ core, so pass one of {', '.join(sorted(_NAMES))} or a "
                     "lamina.losses class")


def serialize(loss):
    """Returns ``{"class_name": ..., "config": ...}`` for a loss.

    Example:
        >>> serialize("mse")
        {'class_name': 'MeanSquaredError', 'config': {'name': 'mean_squared_error'}}
    """
    loss = get(loss)
    return {"class_name": type(loss).__name__, "config": loss.get_config()}


deserialize = get
