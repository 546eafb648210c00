"""LaminaRegressor: a linear-output MLP regressor as a scikit-learn estimator."""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin

from ._base import _PARAMS_DOC, _LaminaBase, validate_data


class LaminaRegressor(RegressorMixin, _LaminaBase):
    __doc__ = (
        "A multi-layer perceptron regressor trained by lamina (linear output, squared error).\n"
        + _PARAMS_DOC
        + """
    Example:
        >>> from lamina.sklearn import LaminaRegressor
        >>> reg = LaminaRegressor((8,), epochs=3, random_state=0)
        >>> reg.fit([[0.0], [1.0], [2.0]], [0.0, 1.0, 2.0]).predict([[1.5]]).shape
        (1,)
"""
    )

    _loss = "mean_squared_error"
    _stratify = False

    def _prepare(self, X, y, first_call):
        X, y = validate_data(
            self,
            X,
            y,
            reset=first_call,
            dtype=self.dtype,
            order="C",
            multi_output=True,
            y_numeric=True,
        )
        y = np.asarray(y, dtype=self.dtype)
        if first_call:
            self._y_1d = y.ndim == 1
        elif (y.ndim == 1) != self._y_1d and not (y.ndim == 2 and y.shape[1] == 1):
            first = "1-D targets, shape (n,)" if self._y_1d else "2-D targets, shape (n, k)"
            raise ValueError(f"y has shape {y.shape}, but the first fit had {first}")
        y2 = y.reshape(-1, 1) if y.ndim == 1 else y
        if first_call:
            self._n_targets = y2.shape[1]
        elif y2.shape[1] != self._n_targets:
            raise ValueError(f"y has {y2.shape[1]} targets, expected {self._n_targets}")
        return X, np.ascontiguousarray(y2)

    def _n_outputs(self):
        return self._n_targets

    def _out_activation(self):
        return "linear"

    def fit(self, X, y, sample_weight=None):
        """Trains a fresh network on (X, y) for up to ``epochs`` epochs.

        Args:
            X: Array-like of shape (n_samples, n_features).
            y: Targets, shape (n_samples,) or (n_samples, n_targets).
            sample_weight: Per-sample weights, rescaled to mean 1 so that integer weights act
                like repeated samples. Defaults to `None`.

        Returns:
            self.
        """
        self._check_params()
        return self._fit(X, y, sample_weight, epochs=self.epochs, first_call=True)

    def partial_fit(self, X, y, sample_weight=None):
        """Trains one epoch over all of (X, y); the first call builds the network.

        scikit-learn's incremental protocol (as ``MLPClassifier.partial_fit``): each call is
        one pass over the data it is given, in batches of ``batch_size`` (shuffled when
        ``shuffle``), with no hold-out and no early stopping, continuing from the previous
        call's weights and optimizer state (moments, step count, schedule position), also
        after pickling. So dask-ml's ``Incremental`` trains block by block on a Dask array.
        Later calls must have the first call's features (and targets).

        Args:
            X: Array-like of shape (n_samples, n_features).
            y: Targets, shape (n_samples,) or (n_samples, n_targets).
            sample_weight: Per-sample weights, rescaled to mean 1 so that integer weights act
                like repeated samples. Defaults to `None`.

        Returns:
            self.
        """
        first_call = not hasattr(self, "model_")
        if first_call:
            self._check_params()
        return self._fit(X, y, sample_weight, epochs=1, first_call=first_call, partial=True)

    def predict(self, X):
        """Predicted targets, shape (n_samples,) or (n_samples, n_targets) like y in fit."""
        out = self._predict_raw(X)
        return out[:, 0] if self._y_1d else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
