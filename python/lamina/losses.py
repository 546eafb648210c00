"""Losses with Keras 3 names, arguments and reductions.

The built-in losses train fused in the C++ core; these classes say which loss and with which
arguments, and calling one computes the same value in numpy (float64), e.g. to check a
model. The per-sample functions (``mean_squared_error(y_true, y_pred)`` …, in
``lamina.loss_functions``) return one loss per sample like Keras's.

A custom loss is any ``fn(y_true, y_pred)`` or a ``Loss`` subclass with
``call(y_true, y_pred)``, written with ``lamina.ops`` (or operators on its arguments): fit
runs the network in the core, the loss and its gradient in Python (``lamina.custom_loss``),
then backward and the update in the core.

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
import re

import numpy as np

from . import focal_losses
from . import object_registration
from ._validation import config_repr, from_class_config
from .loss_functions import (EPSILON, binary_crossentropy, categorical_crossentropy,  # noqa: F401
                             categorical_hinge, cosine_similarity, hinge, huber, kl_divergence,
                             log_cosh, mean_absolute_error, mean_absolute_percentage_error,
                             mean_squared_error, mean_squared_logarithmic_error, poisson,
                             sparse_categorical_crossentropy, squared_hinge)
from .custom_loss import reduce_values
from .focal_losses import binary_focal_crossentropy, categorical_focal_crossentropy

__all__ = [
    "Loss", "LossFunctionWrapper", "MeanSquaredError", "MeanAbsoluteError", "Huber",
    "BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy",
    "LogCosh", "KLDivergence", "Poisson", "Hinge", "SquaredHinge", "CategoricalHinge",
    "CosineSimilarity", "MeanSquaredLogarithmicError", "MeanAbsolutePercentageError",
    "BinaryFocalCrossentropy", "CategoricalFocalCrossentropy", "binary_focal_crossentropy",
    "categorical_focal_crossentropy", "mean_squared_error", "mean_absolute_error", "huber",
    "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
    "log_cosh", "kl_divergence", "poisson", "hinge", "squared_hinge", "categorical_hinge",
    "cosine_similarity", "mean_squared_logarithmic_error", "mean_absolute_percentage_error",
    "mse", "mae", "msle", "mape", "get", "serialize", "deserialize",
    "register_keras_serializable", "is_fused", "ALL_LOSSES", "REDUCTIONS",
]

# Names the core understands (cpp/ops/losses.cpp's name table).
ALL_LOSSES = ("mean_squared_error", "mean_absolute_error", "huber", "binary_crossentropy",
              "categorical_crossentropy", "sparse_categorical_crossentropy", "log_cosh",
              "kl_divergence", "poisson", "hinge", "squared_hinge", "categorical_hinge",
              "cosine_similarity", "mean_squared_logarithmic_error",
              "mean_absolute_percentage_error")
#: Keras 3's reductions ("mean" is "sum_over_batch_size"; "auto" is accepted as it).
REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


def _reduction(reduction):
    if reduction == "auto":
        return "sum_over_batch_size"
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction {reduction!r} is not one of Keras's: "
                         f"{', '.join(repr(r) for r in REDUCTIONS)}")
    return reduction


class Loss:
    """Base class: a named loss; subclasses implement ``call(y_true, y_pred)``.

    ``loss(y_true, y_pred, sample_weight)`` returns ``call``'s per-sample values weighted and
    reduced: "sum_over_batch_size" (Keras's default, also "mean") is ``sum_i w_i l_i / n``.

    Args:
        name: Name. Defaults to `None` (the class's).
        reduction: "sum_over_batch_size", "mean", "sum", "mean_with_sample_weight" or
            None. Defaults to `"sum_over_batch_size"`.
        dtype: Accepted for Keras compatibility (lamina computes losses in float64).
            Defaults to `None`.

    Example:
        >>> loss = get("mae"); isinstance(loss, Loss), loss([[0.0], [0.0]], [[1.0], [3.0]], [1, 0])
        (True, 0.5)
        >>> from lamina import ops
        >>> class MyMSE(Loss):
        ...     def call(self, y_true, y_pred):
        ...         return ops.mean(ops.square(y_pred - y_true), axis=-1)
        >>> MyMSE()([[0.0], [0.0]], [[1.0], [3.0]]), MyMSE().name
        (5.0, 'my_mse')
    """

    name = "loss"
    core_name = ""

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        self.reduction = _reduction(reduction)
        if name is not None:
            self.name = str(name)
        elif "name" not in type(self).__dict__ and not type(self).core_name:
            snake = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", type(self).__name__)
            self.name = re.sub(r"([a-z])([A-Z])", r"\1_\2", snake).lower()  # Keras's
        self.dtype = dtype
        self.from_logits = False
        self.delta = 1.0
        self.label_smoothing = 0.0

    def call(self, y_true, y_pred):
        """The per-sample losses (subclasses implement it)."""
        raise NotImplementedError(f"{type(self).__name__} must implement call(y_true, y_pred)")

    def __call__(self, y_true, y_pred, sample_weight=None) -> float:
        """Returns the weighted, reduced loss as a Python float (float64 arithmetic)."""
        if is_fused(self):
            values = np.asarray(self.call(y_true, y_pred), dtype=np.float64)
        else:
            values = self.call(np.asarray(y_true, dtype=np.float64),
                               np.asarray(y_pred, dtype=np.float64))
        out = reduce_values(values, sample_weight, self.reduction)
        return float(np.asarray(out)) if np.ndim(out) == 0 else np.asarray(out)

    def core_spec(self) -> dict:
        """Returns the loss entry of the core's network spec."""
        spec = {"name": self.core_name, "from_logits": bool(self.from_logits),
                "delta": float(self.delta)}
        if self.label_smoothing:
            spec["label_smoothing"] = float(self.label_smoothing)
        # None / "none": fit averages the unreduced values (Keras 3's compile does the same)
        if self.reduction not in ("sum_over_batch_size", "mean", None, "none"):
            spec["reduction"] = self.reduction
        return spec

    def get_config(self) -> dict:
        """Returns the constructor arguments as a dict."""
        config = {"name": self.name}
        if self.reduction != "sum_over_batch_size":
            config["reduction"] = self.reduction
        return config

    @classmethod
    def from_config(cls, config: dict):
        """Creates a loss from ``get_config()``'s output."""
        return cls(**config)

    __repr__ = config_repr


class LossFunctionWrapper(Loss):
    """A loss from a function ``fn(y_true, y_pred, **kwargs)`` (Keras's wrapper).

    Args:
        fn: The per-sample function, written with ``lamina.ops`` to be trainable.
        reduction: As ``Loss``. Defaults to `"sum_over_batch_size"`.
        name: Name. Defaults to `None` (fn's ``__name__``).
        dtype: As ``Loss``. Defaults to `None`.
        **kwargs: Passed to ``fn``.

    Example:
        >>> LossFunctionWrapper(lambda t, p: (p - t) ** 2)([[1.0], [2.0]], [[1.0], [4.0]])
        2.0
    """

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        if not callable(fn):
            raise TypeError(f"LossFunctionWrapper needs a callable, got {fn!r}")
        super().__init__(name or getattr(fn, "__name__", "loss"), reduction, dtype)
        self.fn = fn
        self.fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        from .custom_loss import same_rank
        y_true, y_pred = same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self.fn_kwargs)

    def get_config(self):
        config = super().get_config()
        config.update(self.fn_kwargs)
        return config


class MeanSquaredError(Loss):
    """Mean of squared errors.

    Args:
        name: Name. Defaults to `"mean_squared_error"`.
        reduction: As ``Loss``. Defaults to `"sum_over_batch_size"`.

    Example:
        >>> MeanSquaredError()([[0.0], [0.0]], [[1.0], [3.0]])
        5.0
    """

    name = core_name = "mean_squared_error"

    def call(self, y_true, y_pred):
        return mean_squared_error(y_true, y_pred)


class MeanAbsoluteError(Loss):
    """Mean of absolute errors.

    Args:
        name: Name. Defaults to `"mean_absolute_error"`.
        reduction: As ``Loss``. Defaults to `"sum_over_batch_size"`.

    Example:
        >>> MeanAbsoluteError()([[0.0]], [[-2.0]])
        2.0
    """

    name = core_name = "mean_absolute_error"

    def call(self, y_true, y_pred):
        return mean_absolute_error(y_true, y_pred)


class Huber(Loss):
    """Huber loss: ``0.5 * e ** 2`` for ``|e| <= delta``, ``delta * (|e| - 0.5 * delta)`` beyond.

    Args:
        delta: Where the loss turns linear, > 0. Defaults to `1.0`.
        name: Name. Defaults to `"huber_loss"`.
        reduction: As ``Loss``. Defaults to `"sum_over_batch_size"`.

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

    def call(self, y_true, y_pred):
        return huber(y_true, y_pred, self.delta)

    def get_config(self):
        return {"delta": self.delta, **super().get_config()}


class _CrossentropyBase(Loss):
    smoothable = True

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, name=None,
                 reduction="sum_over_batch_size", dtype=None, ignore_class=None):
        super().__init__(name, reduction, dtype)
        if not isinstance(from_logits, (bool, np.bool_)):
            raise TypeError(f"from_logits must be a bool, got {from_logits!r}")
        if axis not in (-1, 1):
            raise ValueError(f"axis={axis!r} is not supported by lamina's "
                             f"{type(self).__name__}: the class axis is the last (-1)")
        if ignore_class is not None:
            raise ValueError(f"ignore_class={ignore_class!r} is not supported by lamina's "
                             f"{type(self).__name__}")
        ls = float(label_smoothing)
        if ls and not self.smoothable:
            raise ValueError(f"label_smoothing={label_smoothing!r} is not an argument of "
                             f"{type(self).__name__} (Keras 3 smooths only the binary and "
                             "categorical crossentropies)")
        if not 0.0 <= ls <= 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing!r}")
        self.from_logits = bool(from_logits)
        self.label_smoothing = ls

    def get_config(self):
        config = {"from_logits": self.from_logits}
        if self.label_smoothing:
            config["label_smoothing"] = self.label_smoothing
        return {**config, **super().get_config()}


class BinaryCrossentropy(_CrossentropyBase):
    """Binary crossentropy for 0/1 targets (one or more independent outputs).

    Args:
        from_logits: Whether predictions are logits (no sigmoid applied). Defaults to `False`.
        label_smoothing: In [0, 1]: targets become ``y * (1 - ls) + 0.5 * ls``. Defaults to
            `0.0`.
        axis: The class axis; -1 only. Defaults to `-1`.
        name: Name. Defaults to `"binary_crossentropy"`.
        reduction: As ``Loss``. Defaults to `"sum_over_batch_size"`.

    Example:
        >>> round(BinaryCrossentropy(from_logits=True)([[1.0]], [[0.0]]), 4)
        0.6931
    """

    name = core_name = "binary_crossentropy"

    def call(self, y_true, y_pred):
        return binary_crossentropy(y_true, y_pred, self.from_logits, self.label_smoothing)


class CategoricalCrossentropy(_CrossentropyBase):
    """Crossentropy for one-hot targets.

    Args:
        from_logits: Whether predictions are logits (no softmax applied). Defaults to `False`.
        label_smoothing: In [0, 1]: targets become ``y * (1 - ls) + ls / classes``. Defaults
            to `0.0`.
        axis: The class axis; -1 only. Defaults to `-1`.
        name: Name. Defaults to `"categorical_crossentropy"`.
        reduction: As ``Loss``. Defaults to `"sum_over_batch_size"`.

    Example:
        >>> round(CategoricalCrossentropy()([[0.0, 1.0]], [[0.5, 0.5]]), 4)
        0.6931
    """

    name = core_name = "categorical_crossentropy"

    def call(self, y_true, y_pred):
        return categorical_crossentropy(y_true, y_pred, self.from_logits, self.label_smoothing)


class SparseCategoricalCrossentropy(_CrossentropyBase):
    """Crossentropy for integer class labels (Keras 3: no label smoothing).

    Args:
        from_logits: Whether predictions are logits (no softmax applied). Defaults to `False`.
        name: Name. Defaults to `"sparse_categorical_crossentropy"`.
        reduction: As ``Loss``. Defaults to `"sum_over_batch_size"`.

    Example:
        >>> round(SparseCategoricalCrossentropy()([1], [[0.5, 0.5]]), 4)
        0.6931
    """

    name = core_name = "sparse_categorical_crossentropy"
    smoothable = False

    def call(self, y_true, y_pred):
        return sparse_categorical_crossentropy(y_true, y_pred, self.from_logits)


def _simple(cls_name, loss_name, fn, doc):
    def call(self, y_true, y_pred):
        return fn(y_true, y_pred)
    cls = type(cls_name, (Loss,), {"name": loss_name, "core_name": loss_name, "call": call,
                                   "__doc__": doc, "__module__": __name__})
    return cls


LogCosh = _simple("LogCosh", "log_cosh", log_cosh, """log(cosh(y_pred - y_true)), averaged.

    Args:
        name: Name. Defaults to `"log_cosh"`.
        reduction: As ``Loss``. Defaults to `"sum_over_batch_size"`.

    Example:
        >>> round(LogCosh()([[0.0]], [[1.0]]), 4)
        0.4338
    """)
KLDivergence = _simple("KLDivergence", "kl_divergence", kl_divergence, """Kullback-Leibler
    divergence ``sum(y_true * log(y_true / y_pred))`` (both clipped to ``[1e-7, 1]``).

    Args:
        name: Name. Defaults to `"kl_divergence"`.
        reduction: As ``Loss``. Defaults to `"sum_over_batch_size"`.

    Example:
        >>> round(KLDivergence()([[0.5, 0.5]], [[0.25, 0.75]]), 4)
        0.1438
    """)
Poisson = _simple("Poisson", "poisson", poisson, """Poisson: ``y_pred - y_true *
    log(y_pred + 1e-7)``, averaged.

    Args:
        name: Name. Defaults to `"poisson"`.
        reduction: As ``Loss``. Defaults to `"sum_over_batch_size"`.

    Example:
        >>> round(Poisson()([[1.0]], [[1.0]]), 4)
        1.0
    """)
Hinge = _simple("Hinge", "hinge", hinge, """Hinge: ``max(1 - y_true * y_pred, 0)``,
    averaged; labels that are all 0/1 become -1/1.

    Args:
        name: Name. Defaults to `"hinge"`.
        reduction: As ``Loss``. Defaults to `"sum_over_batch_size"`.

    Example:
        >>> Hinge()([[1.0]], [[0.25]])
        0.75
    """)
SquaredHinge = _simple("SquaredHinge", "squared_hinge", squared_hinge, """Squared hinge:
    ``max(1 - y_true * y_pred, 0) ** 2``, averaged; 0/1 labels become -1/1.

    Args:
        name: Name. Defaults to `"squared_hinge"`.
        reduction: As ``Loss``. Defaults to `"sum_over_batch_size"`.

    Example:
        >>> SquaredHinge()([[1.0]], [[0.5]])
        0.25
    """)
CategoricalHinge = _simple("CategoricalHinge", "categorical_hinge", categorical_hinge,
                           """Categorical hinge: ``max(neg - pos + 1, 0)`` with
    ``pos = sum(y_true * y_pred)``, ``neg = max((1 - y_true) * y_pred)``.

    Args:
        name: Name. Defaults to `"categorical_hinge"`.
        reduction: As ``Loss``. Defaults to `"sum_over_batch_size"`.

    Example:
        >>> CategoricalHinge()([[0.0, 1.0]], [[0.5, 0.25]])
        1.25
    """)

MeanSquaredLogarithmicError = _simple(
    "MeanSquaredLogarithmicError", "mean_squared_logarithmic_error",
    mean_squared_logarithmic_error, """Mean squared logarithmic error:
    ``(log1p(max(y_pred, 1e-7)) - log1p(max(y_true, 1e-7))) ** 2``, averaged.

    Args:
        name: Name. Defaults to `"mean_squared_logarithmic_error"`.
        reduction: As ``Loss``. Defaults to `"sum_over_batch_size"`.

    Example:
        >>> round(MeanSquaredLogarithmicError()([[0.0]], [[2.718281828 - 1]]), 4)
        1.0
    """)
MeanAbsolutePercentageError = _simple(
    "MeanAbsolutePercentageError", "mean_absolute_percentage_error",
    mean_absolute_percentage_error, """Mean absolute percentage error:
    ``100 * |y_true - y_pred| / max(|y_true|, 1e-7)``, averaged.

    Args:
        name: Name. Defaults to `"mean_absolute_percentage_error"`.
        reduction: As ``Loss``. Defaults to `"sum_over_batch_size"`.

    Example:
        >>> MeanAbsolutePercentageError()([[4.0]], [[3.0]])
        25.0
    """)


class CosineSimilarity(Loss):
    """Negative cosine similarity of each sample's target and prediction (-1: aligned).

    Args:
        axis: The vector axis; -1 only. Defaults to `-1`.
        name: Name. Defaults to `"cosine_similarity"`.
        reduction: As ``Loss``. Defaults to `"sum_over_batch_size"`.

    Example:
        >>> CosineSimilarity()([[1.0, 0.0]], [[2.0, 0.0]])
        -1.0
    """

    name = core_name = "cosine_similarity"

    def __init__(self, axis=-1, reduction="sum_over_batch_size", name=None, dtype=None):
        super().__init__(name, reduction, dtype)
        if axis not in (-1, 1):
            raise ValueError(f"CosineSimilarity axis={axis!r} is not supported: the vectors "
                             "are the outputs (axis -1)")
        self.axis = -1

    def call(self, y_true, y_pred):
        return cosine_similarity(y_true, y_pred)

    def get_config(self):
        return {"axis": self.axis, **super().get_config()}


class _FocalBase(Loss):
    """The focal crossentropies' shared argument handling (on the tape: not fused)."""

    _function = None
    _options = ()

    def __init__(self, reduction, name, dtype, **options):
        super().__init__(name, reduction, dtype)
        for key in ("alpha", "gamma", "label_smoothing"):
            value = options[key]
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
                    or not math.isfinite(value) or value < 0:
                raise ValueError(f"{type(self).__name__} {key} must be a finite number >= 0, "
                                 f"got {value!r}")
            options[key] = float(value)
        if options["label_smoothing"] > 1:
            raise ValueError(f"{type(self).__name__} label_smoothing must be in [0, 1], got "
                             f"{options['label_smoothing']!r}")
        focal_losses._check_axis(options["axis"])
        self._opts = options
        for key, value in options.items():
            setattr(self, key, value)

    def call(self, y_true, y_pred):
        return type(self)._function(y_true, y_pred, **self._opts)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction, **self._opts}


class BinaryFocalCrossentropy(_FocalBase):
    """Binary focal crossentropy (Keras 3's): the crossentropy times ``(1 - p_t) ** gamma``,
    optionally weighted by ``alpha`` / ``1 - alpha`` per class; a loss for imbalanced
    binary labels. It trains as a Python loss on the tape (``lamina.focal_losses``).

    Args:
        apply_class_balancing: Weigh positives by ``alpha``, negatives by ``1 - alpha``.
            Defaults to `False`.
        alpha: The balancing weight. Defaults to `0.25`.
        gamma: The focusing exponent (0: plain crossentropy). Defaults to `2.0`.
        from_logits: Whether the outputs are logits. Defaults to `False`.
        label_smoothing: Squeezes the targets towards 0.5. Defaults to `0.0`.
        axis: Must be -1. Defaults to `-1`.
        reduction: As ``Loss``. Defaults to `"sum_over_batch_size"`.
        name: Name. Defaults to `"binary_focal_crossentropy"`.
        dtype: As ``Loss``. Defaults to `None`.

    Example:
        >>> round(BinaryFocalCrossentropy(gamma=0.0)([[1.0]], [[0.5]]), 4)
        0.6931
    """

    name = "binary_focal_crossentropy"
    _function = staticmethod(binary_focal_crossentropy)

    def __init__(self, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
                 label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="binary_focal_crossentropy", dtype=None):
        super().__init__(reduction, name, dtype,
                         apply_class_balancing=bool(apply_class_balancing), alpha=alpha,
                         gamma=gamma, from_logits=bool(from_logits),
                         label_smoothing=label_smoothing, axis=axis)


class CategoricalFocalCrossentropy(_FocalBase):
    """Categorical focal crossentropy (Keras 3's): ``sum(alpha * (1 - p) ** gamma *
    -y log p)`` over one-hot targets; a loss for imbalanced classes. It trains as a Python
    loss on the tape (``lamina.focal_losses``).

    Args:
        alpha: The weight of every class. Defaults to `0.25`.
        gamma: The focusing exponent. Defaults to `2.0`.
        from_logits: Whether the outputs are logits. Defaults to `False`.
        label_smoothing: Mixes the targets with the uniform distribution. Defaults to `0.0`.
        axis: Must be -1. Defaults to `-1`.
        reduction: As ``Loss``. Defaults to `"sum_over_batch_size"`.
        name: Name. Defaults to `"categorical_focal_crossentropy"`.
        dtype: As ``Loss``. Defaults to `None`.

    Example:
        >>> round(CategoricalFocalCrossentropy(alpha=1.0, gamma=0.0)([[0.0, 1.0]],
        ...                                                          [[0.5, 0.5]]), 4)
        0.6931
    """

    name = "categorical_focal_crossentropy"
    _function = staticmethod(categorical_focal_crossentropy)

    def __init__(self, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="categorical_focal_crossentropy",
                 dtype=None):
        super().__init__(reduction, name, dtype, alpha=alpha, gamma=gamma,
                         from_logits=bool(from_logits), label_smoothing=label_smoothing,
                         axis=axis)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
msle = MSLE = mean_squared_logarithmic_error
mape = MAPE = mean_absolute_percentage_error

_CLASSES = {c.__name__: c for c in (
    MeanSquaredError, MeanAbsoluteError, Huber, BinaryCrossentropy, CategoricalCrossentropy,
    SparseCategoricalCrossentropy, LogCosh, KLDivergence, Poisson, Hinge, SquaredHinge,
    CategoricalHinge, CosineSimilarity, MeanSquaredLogarithmicError,
    MeanAbsolutePercentageError, BinaryFocalCrossentropy, CategoricalFocalCrossentropy)}
_NAMES = {
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "huber": Huber, "huber_loss": Huber,
    "binary_crossentropy": BinaryCrossentropy, "bce": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "log_cosh": LogCosh, "logcosh": LogCosh, "kl_divergence": KLDivergence, "kld": KLDivergence,
    "kullback_leibler_divergence": KLDivergence, "poisson": Poisson, "hinge": Hinge,
    "squared_hinge": SquaredHinge, "categorical_hinge": CategoricalHinge,
    "cosine_similarity": CosineSimilarity,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
    "msle": MeanSquaredLogarithmicError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "mape": MeanAbsolutePercentageError,
    "binary_focal_crossentropy": BinaryFocalCrossentropy,
    "categorical_focal_crossentropy": CategoricalFocalCrossentropy,
}
_FUNCTIONS = {mean_squared_error: MeanSquaredError, mean_absolute_error: MeanAbsoluteError,
              huber: Huber, binary_crossentropy: BinaryCrossentropy,
              categorical_crossentropy: CategoricalCrossentropy,
              sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
              log_cosh: LogCosh, kl_divergence: KLDivergence, poisson: Poisson, hinge: Hinge,
              squared_hinge: SquaredHinge, categorical_hinge: CategoricalHinge,
              cosine_similarity: CosineSimilarity,
              mean_squared_logarithmic_error: MeanSquaredLogarithmicError,
              mean_absolute_percentage_error: MeanAbsolutePercentageError,
              binary_focal_crossentropy: BinaryFocalCrossentropy,
              categorical_focal_crossentropy: CategoricalFocalCrossentropy}
#: Custom objects saved files may name: "package>name" -> function or class (one registry
#: for losses, metrics and the rest: ``lamina.saving.get_custom_objects()``).
_REGISTERED: dict = object_registration.get_custom_objects()


def is_fused(loss) -> bool:
    """Whether the core computes ``loss`` itself (a built-in class whose ``call`` is not
    overridden), rather than Python with the tape.

    Example:
        >>> is_fused(get("mse")), is_fused(get(lambda y_true, y_pred: y_pred - y_true))
        (True, False)
    """
    cls = _CLASSES.get(type(loss).__name__)
    return (bool(loss.core_name) and cls is not None and issubclass(type(loss), cls)
            and type(loss).call is cls.call)


#: ``lamina.saving.register_keras_serializable``, also spelled here for custom losses.
register_keras_serializable = object_registration.register_keras_serializable


def _unknown(identifier):
    return (f"loss {identifier!r} is not supported: pass a name "
            f"({', '.join(sorted(_NAMES))}), a lamina.losses class, or a custom loss "
            "(a function fn(y_true, y_pred) or a Loss subclass written with lamina.ops)")


def get(identifier) -> Loss:
    """Resolves a loss from a name, a function, a config dict, a class or an instance.

    Args:
        identifier: "mse", "sparse_categorical_crossentropy", ``lamina.losses.huber``,
            ``{"class_name": "Huber", "config": {"delta": 2.0}}``, a ``Loss``, or any
            ``fn(y_true, y_pred)`` (a custom loss).

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
        return _from_dict(identifier)
    if callable(identifier) and not isinstance(identifier, type):
        if identifier in _FUNCTIONS:
            return _FUNCTIONS[identifier]()
        return LossFunctionWrapper(identifier)
    raise ValueError(_unknown(identifier))


def _from_dict(identifier):
    key = identifier.get("registered_name")
    if key is not None and identifier.get("class_name") not in _CLASSES:
        obj = object_registration.lookup(key)
        if obj is None:
            raise ValueError(object_registration.not_found("loss", key))
        config = dict(identifier.get("config") or {})
        if isinstance(obj, type):
            return obj.from_config(config)
        return LossFunctionWrapper(obj, **config)
    return from_class_config("loss class", identifier, _CLASSES, _NAMES)


def serialize(loss):
    """Returns ``{"class_name": ..., "config": ...}`` for a loss; a custom loss adds the
    ``registered_name`` that loading looks up (``lamina.saving``; a lambda cannot be saved).

    Example:
        >>> serialize("mse")
        {'class_name': 'MeanSquaredError', 'config': {'name': 'mean_squared_error'}}
    """
    loss = get(loss)
    if is_fused(loss) or type(loss).__name__ in _CLASSES and type(loss) is _CLASSES[
            type(loss).__name__]:
        return {"class_name": type(loss).__name__, "config": loss.get_config()}
    obj = loss.fn if isinstance(loss, LossFunctionWrapper) else type(loss)
    key = object_registration.saved_name(obj, "loss")
    config = loss.get_config()
    if isinstance(loss, LossFunctionWrapper):
        config = {k: v for k, v in config.items() if k != "name" or v != obj.__name__}
    return {"class_name": type(loss).__name__, "config": config, "registered_name": key}


deserialize = get
