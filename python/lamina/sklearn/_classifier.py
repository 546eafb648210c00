"""LaminaClassifier: a softmax MLP classifier as a scikit-learn estimator."""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d

from ._base import _PARAMS_DOC, _LaminaBase, validate_data


class LaminaClassifier(ClassifierMixin, _LaminaBase):
    __doc__ = (
        "A multi-layer perceptron classifier trained by lamina (softmax output, cross-entropy).\n"
        + _PARAMS_DOC
        + """        classes_: The class labels.

    Example:
        >>> from lamina.sklearn import LaminaClassifier
        >>> clf = LaminaClassifier((8,), epochs=3, random_state=0)
        >>> x, y = [[0.0, 1.0], [1.0, 0.0], [0.0, 0.9], [0.9, 0.1]], ["a", "b", "a", "b"]
        >>> clf.fit(x, y).classes_.tolist()
        ['a', 'b']
"""
    )

    _loss = "sparse_categorical_crossentropy"
    _stratify = True

    def _prepare(self, X, y, first_call):
        X, y = validate_data(self, X, y, reset=first_call, dtype=self.dtype, order="C")
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if first_call and self._partial_classes is None:
            self._encoder = LabelEncoder().fit(y)
            self.classes_ = self._encoder.classes_
        else:
            unseen = np.setdiff1d(np.unique(y), self.classes_)
            if unseen.size:
                raise ValueError(
                    f"y has labels {unseen.tolist()!r} that are not in classes_ "
                    f"{self.classes_.tolist()!r}"
                )
        if len(self.classes_) < 2:
            raise ValueError(
                "LaminaClassifier needs at least two classes, but the data has only one "
                f"class: {self.classes_.tolist()!r}"
            )
        return X, self._encoder.transform(y).astype(np.int64)

    def _n_outputs(self):
        return len(self.classes_)

    def _out_activation(self):
        return "softmax"

    def fit(self, X, y, sample_weight=None):
        """Trains a fresh network on (X, y) for up to ``epochs`` epochs.

        Args:
            X: Array-like of shape (n_samples, n_features).
            y: Class labels, shape (n_samples,).
            sample_weight: Per-sample weights, rescaled to mean 1 so that integer weights act
                like repeated samples. Defaults to `None`.

        Returns:
            self.
        """
        self._check_params()
        self._partial_classes = None
        return self._fit(X, y, sample_weight, epochs=self.epochs, first_call=True)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Trains one epoch over all of (X, y); the first call builds the network.

        scikit-learn's incremental protocol (as ``MLPClassifier.partial_fit``): each call is
        one pass over the data it is given, in batches of ``batch_size`` (shuffled when
        ``shuffle``), with no hold-out and no early stopping, continuing from the previous
        call's weights and optimizer state (moments, step count, schedule position), also
        after pickling. So dask-ml's ``Incremental`` trains block by block on a Dask array.
        Later calls must have the first call's features (and targets).

        Args:
            X: Array-like of shape (n_samples, n_features).
            y: Class labels, shape (n_samples,).
            classes: Every class label that will ever appear; required on the first call,
                and when passed again it must be the same set. Defaults to `None`.
            sample_weight: Per-sample weights, rescaled to mean 1 so that integer weights act
                like repeated samples. Defaults to `None`.

        Returns:
            self.
        """
        first_call = not hasattr(self, "model_")
        if first_call:
            self._check_params()
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            classes = np.unique(column_or_1d(np.asarray(classes)))
            self._encoder = LabelEncoder().fit(classes)
            self.classes_ = self._encoder.classes_
            self._partial_classes = self.classes_
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(
                f"classes={np.unique(classes).tolist()!r} is not the same as on the first call "
                f"to partial_fit: {self.classes_.tolist()!r}"
            )
        return self._fit(X, y, sample_weight, epochs=1, first_call=first_call, partial=True)

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order."""
        proba = self._predict_raw(X)
        proba /= proba.sum(axis=1, keepdims=True)  # exact float64 normalization of float32 softmax
        return proba

    def predict(self, X):
        """The most probable class of each sample, shape (n_samples,)."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        tags.classifier_tags.multi_label = False
        return tags
