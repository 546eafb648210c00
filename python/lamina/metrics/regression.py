"""Regression metrics: MSE, RMSE, MAE, MAPE, MSLE, LogCoshError, CosineSimilarity, R2Score.

``MeanSquaredError`` and ``MeanAbsoluteError`` run inside the core's step during ``fit``;
the others run in numpy on the step's outputs.

Example:
    >>> m = RootMeanSquaredError(); m.update_state([[0.0], [0.0]], [[3.0], [4.0]])
    >>> round(m.result(), 4)
    3.5355
"""

from __future__ import annotations

import warnings

import numpy as np

from . import functions as F
from .base import Mean, MeanMetricWrapper, Metric, function_metric, to_result

__all__ = ["MeanSquaredError", "RootMeanSquaredError", "MeanAbsoluteError",
           "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError", "LogCoshError",
           "CosineSimilarity", "R2Score"]


MeanSquaredError = function_metric(
    "MeanSquaredError", F.mean_squared_error, "mean_squared_error",
    "Mean squared error as a metric.",
    ">>> m = MeanSquaredError(); m.update_state([[0.0]], [[2.0]]); m.result()\n        4.0",
    __name__, core_name="mean_squared_error")
MeanAbsoluteError = function_metric(
    "MeanAbsoluteError", F.mean_absolute_error, "mean_absolute_error",
    "Mean absolute error as a metric.",
    ">>> m = MeanAbsoluteError(); m.update_state([[0.0]], [[-2.0]]); m.result()\n        2.0",
    __name__, core_name="mean_absolute_error")


class RootMeanSquaredError(Mean):
    """Square root of the (weighted) mean squared error over every sample seen.

    Args:
        name: Key in logs. Defaults to `"root_mean_squared_error"`.
        dtype: Ignored (float64). Defaults to `None`.

    Example:
        >>> m = RootMeanSquaredError(); m.update_state([[0.0]], [[2.0]]); m.result()
        2.0
    """

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Adds the batch's squared errors."""
        super().update_state(F.mean_squared_error(y_true, y_pred), sample_weight)

    def result(self):
        return float(np.sqrt(super().result()))


MeanAbsolutePercentageError = function_metric(
    "MeanAbsolutePercentageError", F.mean_absolute_percentage_error,
    "mean_absolute_percentage_error",
    "Mean absolute percentage error (``100 * |y - p| / max(|y|, 1e-7)``).",
    ">>> m = MeanAbsolutePercentageError(); m.update_state([[4.0]], [[3.0]]); m.result()\n"
    "        25.0", __name__)
MeanSquaredLogarithmicError = function_metric(
    "MeanSquaredLogarithmicError", F.mean_squared_logarithmic_error,
    "mean_squared_logarithmic_error", "Mean squared logarithmic error.",
    ">>> m = MeanSquaredLogarithmicError(); m.update_state([[0.0]], [[0.0]]); m.result()\n"
    "        0.0", __name__)
LogCoshError = function_metric(
    "LogCoshError", F.log_cosh, "logcosh", "Mean of ``log(cosh(y_pred - y_true))``.",
    ">>> m = LogCoshError(); m.update_state([[0.0]], [[0.0]]); m.result()\n        0.0",
    __name__)


class CosineSimilarity(MeanMetricWrapper):
    """Mean cosine similarity between ``y_true`` and ``y_pred`` rows.

    Args:
        name: Key in logs. Defaults to `"cosine_similarity"`.
        dtype: Ignored (float64). Defaults to `None`.
        axis: Must be -1 (the feature axis). Defaults to `-1`.

    Example:
        >>> m = CosineSimilarity(); m.update_state([[1.0, 0.0]], [[2.0, 0.0]]); m.result()
        1.0
    """

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        if axis != -1:
            raise ValueError(f"CosineSimilarity(axis={axis!r}) is not supported: only -1")
        super().__init__(F.cosine_similarity, name=name, dtype=dtype)


_AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")


class R2Score(Metric):
    """Coefficient of determination, per output and aggregated (Keras's ``R2Score``).

    Args:
        class_aggregation: None (one score per output), "uniform_average" or
            "variance_weighted_average". Defaults to `"uniform_average"`.
        num_regressors: Independent variables, for the adjusted R2 (0: plain R2).
            Defaults to `0`.
        name: Key in logs. Defaults to `"r2_score"`.
        dtype: Ignored (float64). Defaults to `None`.

    Example:
        >>> m = R2Score(); m.update_state([[1.0], [2.0], [3.0]], [[1.0], [2.0], [4.0]])
        >>> m.result()
        0.5
    """

    def __init__(self, class_aggregation="uniform_average", num_regressors=0,
                 name="r2_score", dtype=None):
        super().__init__(dtype=dtype, name=name)
        if class_aggregation not in _AGGREGATIONS:
            raise ValueError(f"class_aggregation must be one of {_AGGREGATIONS}, got "
                             f"{class_aggregation!r}")
        if isinstance(num_regressors, bool) or not isinstance(num_regressors, (int, np.integer)) \
                or num_regressors < 0:
            raise ValueError(f"num_regressors must be an int >= 0, got {num_regressors!r}")
        self.class_aggregation = class_aggregation
        self.num_regressors = int(num_regressors)
        self.reset_state()

    def reset_state(self):
        super().reset_state()
        self._sums = None  # (sum, squared_sum, residual, count) per output
        self.num_samples = 0

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Adds the batch's weighted sums per output."""
        y_pred = np.asarray(y_pred, dtype=np.float64)
        y_true = np.asarray(y_true, dtype=np.float64)
        if y_pred.ndim == 1:
            y_pred = y_pred[:, None]
        if y_true.ndim == 1:
            y_true = y_true[:, None]
        if y_pred.ndim != 2 or y_true.shape != y_pred.shape:
            raise ValueError("R2Score expects 2-D y_true and y_pred of one shape, got "
                             f"{y_true.shape} and {y_pred.shape}")
        sw = np.ones(y_true.shape[0]) if sample_weight is None else np.asarray(
            sample_weight, dtype=np.float64).reshape(y_true.shape[0], -1)
        sw = np.broadcast_to(sw.reshape(y_true.shape[0], -1), y_true.shape)
        wy = y_true * sw
        batch = np.stack([wy.sum(0), (y_true * wy).sum(0),
                          ((y_true - y_pred) ** 2 * sw).sum(0), sw.sum(0)])
        if self._sums is None:
            self._sums = np.zeros_like(batch)
        elif self._sums.shape != batch.shape:
            raise ValueError(f"R2Score was built for {self._sums.shape[1]} outputs, got "
                             f"{batch.shape[1]}")
        self._sums += batch
        self.num_samples += y_true.size

    def result(self):
        """The R2 score (0.0 before any update; an output with zero variance scores 0)."""
        if self._sums is None:
            return 0.0
        s, sq, res, count = self._sums
        with np.errstate(divide="ignore", invalid="ignore"):
            total = sq - s * (s / count)
            raw = 1.0 - res / total
        raw = np.where(np.isinf(raw), 0.0, raw)
        if self.class_aggregation == "uniform_average":
            r2 = np.mean(raw)
        elif self.class_aggregation == "variance_weighted_average":
            r2 = np.sum(total * raw) / np.sum(total)
        else:
            r2 = raw
        n, p = self.num_samples, self.num_regressors
        if p:
            if p >= n - 1:
                warnings.warn(f"adjusted R2 needs num_regressors ({p}) < samples - 1 "
                              f"({n - 1}): returning the plain R2 score", stacklevel=2)
            else:
                r2 = 1.0 - (1.0 - r2) * (n - 1) / (n - p - 1)
        return to_result(r2)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype,
                "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}
