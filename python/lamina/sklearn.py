"""scikit-learn estimators backed by lamina: ``LaminaClassifier`` and ``LaminaRegressor``.

They are ordinary scikit-learn estimators (constructor arguments are the hyperparameters,
``fit`` / ``predict`` / ``score``, clone-able, usable in ``Pipeline``, ``GridSearchCV``,
``cross_val_score``) whose network is a :class:`lamina.Sequential` trained by lamina's core.
They add what scikit-learn's own MLP lacks: dropout, L1 and L2 on the kernels, every lamina
optimizer (SGD, RMSprop, Adam, AdamW, Adagrad, Adamax, Nadam), the per-epoch training and
validation loss curves, and the lamina model itself (``model_``) for saving or inspection.

Pickling goes through lamina's own safe ``.lamina`` format: the fitted network is stored as
the bytes of that file (a zip of JSON + npz) and never as pickled core objects.

Requires the ``sklearn`` extra: ``pip install 'lamina[sklearn]'``.

Example:
    >>> from lamina.sklearn import LaminaClassifier
    >>> from lamina.datasets import load_digits
    >>> (x, y), _ = load_digits()
    >>> clf = LaminaClassifier(hidden_layer_sizes=(32,), epochs=5, random_state=0).fit(x, y)
    >>> clf.predict(x[:3]).shape
    (3,)
"""

from __future__ import annotations

import numbers
import os
import tempfile

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "lamina.sklearn needs scikit-learn: `pip install 'lamina[sklearn]'` "
        f"(original error: {exc})"
    ) from exc

from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _sk_validate_data
except ImportError:  # pragma: no cover - scikit-learn 1.3 - 1.5
    _sk_validate_data = None

__all__ = ["LaminaClassifier", "LaminaRegressor"]

_OPTIMIZERS = {
    "sgd": "SGD",
    "rmsprop": "RMSprop",
    "adam": "Adam",
    "adamw": "AdamW",
    "adagrad": "Adagrad",
    "adamax": "Adamax",
    "nadam": "Nadam",
}


def _validate_data(est, *args, **kwargs):
    if _sk_validate_data is not None:
        return _sk_validate_data(est, *args, **kwargs)
    return est._validate_data(*args, **kwargs)  # pragma: no cover - old scikit-learn


def _check_sample_weight(sample_weight, n_samples):
    """Returns float64 weights of shape (n_samples,), rescaled to average 1.

    The rescaling makes a full-batch weighted loss equal the mean over the repeated
    samples (scikit-learn's convention), while lamina's core divides by the batch size
    (Keras's convention).
    """
    sw = check_array(sample_weight, ensure_2d=False, dtype=np.float64, input_name="sample_weight")
    if sw.ndim != 1 or sw.shape[0] != n_samples:
        raise ValueError(f"sample_weight.shape == {sw.shape}, expected {(n_samples,)}!")
    if np.any(sw < 0):
        raise ValueError(f"Negative values in sample_weight: min is {sw.min()!r}")
    total = float(sw.sum())
    if total <= 0.0:
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return sw * (n_samples / total)


class _ThreadShare:
    """Sets lamina's thread count for the duration of a block, then restores it."""

    def __init__(self, n_threads):
        self.n_threads = n_threads
        self._old = None

    def __enter__(self):
        if self.n_threads is not None:
            import lamina

            self._old = lamina.get_num_threads()
            lamina.set_num_threads(int(self.n_threads))
        return self

    def __exit__(self, *exc):
        if self._old is not None:
            import lamina

            lamina.set_num_threads(self._old)
        return False


class _LaminaBase(BaseEstimator):
    """Shared machinery; see LaminaClassifier / LaminaRegressor for the parameters."""

    _loss = "mean_squared_error"

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        layers=None,
        dropout=0.0,
        alpha=0.0001,
        l1_ratio=0.0,
        kernel_initializer="glorot_uniform",
        optimizer="adam",
        learning_rate=0.001,
        optimizer_kwargs=None,
        batch_size="auto",
        epochs=200,
        shuffle=True,
        validation_split=0.0,
        early_stopping=False,
        patience=10,
        tol=1e-4,
        random_state=None,
        verbose=0,
        n_threads=None,
        dtype="float32",
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.layers = layers
        self.dropout = dropout
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.kernel_initializer = kernel_initializer
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.optimizer_kwargs = optimizer_kwargs
        self.batch_size = batch_size
        self.epochs = epochs
        self.shuffle = shuffle
        self.validation_split = validation_split
        self.early_stopping = early_stopping
        self.patience = patience
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose
        self.n_threads = n_threads
        self.dtype = dtype

    # ------------------------------------------------------------------ validation
    def _check_params(self):
        """Validates the hyperparameters (at fit time, as scikit-learn requires)."""

        def number(name, lo, hi=None, lo_open=False, integer=False):
            v = getattr(self, name)
            kind = numbers.Integral if integer else numbers.Real
            if isinstance(v, bool) or not isinstance(v, kind):
                raise TypeError(f"{name} must be {'an int' if integer else 'a number'}, got {v!r}")
            if (v <= lo if lo_open else v < lo) or (hi is not None and v >= hi) or v != v:
                bound = f"{'>' if lo_open else '>='} {lo}" + (
                    f" and < {hi}" if hi is not None else ""
                )
                raise ValueError(f"{name} must be {bound}, got {v!r}")

        if self.layers is None:
            sizes = self.hidden_layer_sizes
            if isinstance(sizes, numbers.Integral) and not isinstance(sizes, bool):
                sizes = (sizes,)
            try:
                sizes = tuple(sizes)
            except TypeError:
                raise TypeError(
                    f"hidden_layer_sizes must be a tuple of ints, got {self.hidden_layer_sizes!r}"
                ) from None
            for s in sizes:
                if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 1:
                    raise ValueError(
                        "hidden_layer_sizes must hold positive ints, "
                        f"got {self.hidden_layer_sizes!r}"
                    )
        elif not isinstance(self.layers, (list, tuple)) or not all(
            isinstance(spec, dict) for spec in self.layers
        ):
            raise TypeError(
                "layers must be a list of dicts such as "
                "[{'units': 64, 'activation': 'relu'}, {'type': 'dropout', 'rate': 0.2}], "
                f"got {self.layers!r}"
            )
        number("dropout", 0.0, 1.0)
        number("alpha", 0.0)
        number("l1_ratio", 0.0)
        if self.l1_ratio > 1:
            raise ValueError(f"l1_ratio must be in [0, 1], got {self.l1_ratio!r}")
        number("learning_rate", 0.0, lo_open=True)
        number("epochs", 1, integer=True)
        number("validation_split", 0.0, 1.0)
        number("patience", 0, integer=True)
        if self.tol is not None:
            number("tol", 0.0)
        if self.batch_size != "auto":
            number("batch_size", 1, integer=True)
        if not isinstance(self.optimizer, str) or self.optimizer.lower() not in _OPTIMIZERS:
            raise ValueError(
                f"optimizer must be one of {', '.join(_OPTIMIZERS)}, got {self.optimizer!r}"
            )
        if self.optimizer_kwargs is not None and not isinstance(self.optimizer_kwargs, dict):
            raise TypeError(
                f"optimizer_kwargs must be a dict or None, got {self.optimizer_kwargs!r}"
            )
        if self.n_threads is not None:
            number("n_threads", 1, integer=True)
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")

    # ------------------------------------------------------------------ model building
    def _seed(self):
        return int(check_random_state(self.random_state).randint(0, 2**31 - 1))

    def _hidden_layers(self):
        import lamina

        reg = None
        if self.alpha > 0:
            reg = lamina.regularizers.L1L2(
                l1=float(self.alpha * self.l1_ratio), l2=float(self.alpha * (1.0 - self.l1_ratio))
            )
        out = []
        if self.layers is not None:
            for spec in self.layers:
                spec = dict(spec)
                kind = str(spec.pop("type", "dense")).lower()
                if kind == "dense":
                    spec.setdefault("activation", self.activation)
                    spec.setdefault("kernel_initializer", self.kernel_initializer)
                    if reg is not None:
                        spec.setdefault("kernel_regularizer", reg)
                    out.append(lamina.layers.Dense(**spec))
                elif kind == "dropout":
                    out.append(lamina.layers.Dropout(**spec))
                elif kind == "activation":
                    out.append(lamina.layers.Activation(**spec))
                else:
                    raise ValueError(
                        f"layers: unknown layer type {kind!r} "
                        "(accepted: dense, dropout, activation)"
                    )
            return out, reg
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, numbers.Integral):
            sizes = (sizes,)
        for units in sizes:
            out.append(
                lamina.layers.Dense(
                    int(units),
                    activation=self.activation,
                    kernel_initializer=self.kernel_initializer,
                    kernel_regularizer=reg,
                )
            )
            if self.dropout > 0:
                out.append(lamina.layers.Dropout(float(self.dropout)))
        return out, reg

    def _make_optimizer(self):
        import lamina

        cls = getattr(lamina.optimizers, _OPTIMIZERS[self.optimizer.lower()])
        return cls(learning_rate=float(self.learning_rate), **(self.optimizer_kwargs or {}))

    def _build_model(self, n_features, n_outputs, output_activation, seed):
        import lamina

        hidden, reg = self._hidden_layers()
        model = lamina.Sequential(
            [
                lamina.Input((n_features,)),
                *hidden,
                lamina.layers.Dense(
                    n_outputs,
                    activation=output_activation,
                    kernel_initializer=self.kernel_initializer,
                    kernel_regularizer=reg,
                ),
            ],
            seed=seed,
            dtype=self.dtype,
        )
        model.compile(optimizer=self._make_optimizer(), loss=self._loss)
        return model

    def _batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(200, n_samples)
        return min(int(self.batch_size), n_samples)

    # ------------------------------------------------------------------ training
    def _split(self, X, y, sw, seed):
        """Holds out validation_split of the data (stratified for classifiers)."""
        frac = self.validation_split
        if self.early_stopping and frac == 0:
            frac = 0.1  # scikit-learn's validation_fraction default
        if frac == 0:
            return X, y, sw, None
        stratify = y if self._stratify else None
        idx = np.arange(X.shape[0])
        try:
            tr, va = train_test_split(idx, test_size=frac, random_state=seed, stratify=stratify)
        except ValueError:  # too few samples per class to stratify
            tr, va = train_test_split(idx, test_size=frac, random_state=seed)
        if len(tr) == 0 or len(va) == 0:
            raise ValueError(
                f"validation_split={frac!r} leaves no training or validation samples "
                f"out of {X.shape[0]}"
            )
        val = (X[va], y[va]) if sw is None else (X[va], y[va], sw[va])
        return X[tr], y[tr], (None if sw is None else sw[tr]), val

    def _fit_model(self, X, y, sw, *, epochs, validation_data):
        import lamina

        callbacks = []
        if epochs > 1 and (self.early_stopping or self.tol is not None):
            monitor = "val_loss" if validation_data is not None and self.early_stopping else "loss"
            callbacks.append(
                lamina.callbacks.EarlyStopping(
                    monitor=monitor,
                    min_delta=float(self.tol or 0.0),
                    patience=int(self.patience),
                    restore_best_weights=bool(self.early_stopping),
                )
            )
        with _ThreadShare(self.n_threads):
            history = self.model_.fit(
                X,
                y,
                batch_size=self._batch_size(X.shape[0]),
                epochs=int(epochs),
                verbose=int(self.verbose),
                callbacks=callbacks,
                validation_data=validation_data,
                shuffle=bool(self.shuffle),
                sample_weight=sw,
            )
        hist = {k: [float(v) for v in vals] for k, vals in history.history.items()}
        for key, vals in hist.items():
            self.history_.setdefault(key, []).extend(vals)
        self.loss_curve_ = list(self.history_.get("loss", []))
        self.validation_loss_curve_ = list(self.history_.get("val_loss", []))
        self.n_iter_ = len(self.loss_curve_)
        if self.loss_curve_ and not np.isfinite(self.loss_curve_[-1]):
            raise ValueError(
                f"training diverged: loss is {self.loss_curve_[-1]!r} after epoch "
                f"{self.n_iter_}; lower learning_rate (now {self.learning_rate!r})"
            )

    def _fit(self, X, y, sample_weight, *, epochs, first_call, partial=False):
        """Encodes y, (re)builds the model when first_call, then trains for ``epochs``."""
        seed = self._seed() if first_call else self._seed_
        X, y_enc = self._prepare(X, y, first_call)
        sw = None if sample_weight is None else _check_sample_weight(sample_weight, X.shape[0])
        if first_call:
            self._seed_ = seed
            self.model_ = self._build_model(
                X.shape[1], self._n_outputs(), self._out_activation(), seed
            )
            self.history_ = {}
            self.loss_curve_ = []
            self.validation_loss_curve_ = []
        if partial:  # partial_fit: one pass over all the data, no hold-out
            self._fit_model(X, y_enc, sw, epochs=1, validation_data=None)
        else:
            Xt, yt, swt, val = self._split(X, y_enc, sw, seed)
            self._fit_model(Xt, yt, swt, epochs=epochs, validation_data=val)
        return self

    def _predict_raw(self, X):
        check_is_fitted(self, "model_")
        X = _validate_data(self, X, reset=False, dtype=self.dtype, order="C")
        with _ThreadShare(self.n_threads):
            out = self.model_.predict(X, batch_size=max(1, min(X.shape[0], 1024)), verbose=0)
        return np.asarray(out, dtype=np.float64)

    # ------------------------------------------------------------------ pickling
    def __getstate__(self):
        # object.__getstate__ may hand back the live __dict__: copy before removing model_.
        state = dict(super().__getstate__())
        model = state.pop("model_", None)
        if model is not None:
            state["_model_lamina_bytes"] = _model_to_bytes(model)
        return state

    def __setstate__(self, state):
        data = state.pop("_model_lamina_bytes", None)
        super().__setstate__(state)
        if data is not None:
            self.model_ = _model_from_bytes(data)

    # ------------------------------------------------------------------ tags
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = False
        return tags


def _model_to_bytes(model) -> bytes:
    """The model's .lamina file as bytes (lamina's safe zip format, no pickle)."""
    with tempfile.TemporaryDirectory(prefix="lamina-sk-") as tmp:
        path = os.path.join(tmp, "model.lamina")
        model.save(path)
        with open(path, "rb") as f:
            return f.read()


def _model_from_bytes(data: bytes):
    import lamina

    with tempfile.TemporaryDirectory(prefix="lamina-sk-") as tmp:
        path = os.path.join(tmp, "model.lamina")
        with open(path, "wb") as f:
            f.write(data)
        return lamina.load_model(path)


_PARAMS_DOC = """
    Args:
        hidden_layer_sizes: Units of each hidden Dense layer. Defaults to `(100,)`.
        activation: Activation of the hidden layers (any lamina activation name).
            Defaults to `"relu"`.
        layers: Instead of ``hidden_layer_sizes``: a list of layer dicts, e.g.
            ``[{"units": 64}, {"type": "dropout", "rate": 0.2}, {"units": 32, "activation":
            "tanh"}]`` (``type`` is dense, dropout or activation; other keys are the layer's
            Keras arguments; dense layers default to ``activation``, ``kernel_initializer``
            and the ``alpha`` regularizer). Defaults to `None`.
        dropout: Dropout rate after each hidden layer of ``hidden_layer_sizes``.
            Defaults to `0.0`.
        alpha: Strength of the kernel penalty, in Keras units (added to each batch's mean
            loss): L2 with weight ``alpha * (1 - l1_ratio)`` and L1 with ``alpha * l1_ratio``.
            Defaults to `0.0001`.
        l1_ratio: Share of L1 in the penalty (0 is pure L2, 1 pure L1). Defaults to `0.0`.
        kernel_initializer: Initializer of every kernel. Defaults to `"glorot_uniform"`.
        optimizer: sgd, rmsprop, adam, adamw, adagrad, adamax or nadam. Defaults to `"adam"`.
        learning_rate: The optimizer's learning rate. Defaults to `0.001`.
        optimizer_kwargs: Further optimizer arguments in Keras names, e.g.
            ``{"momentum": 0.9, "nesterov": True}``. Defaults to `None`.
        batch_size: Samples per step; "auto" is ``min(200, n_samples)``. Defaults to `"auto"`.
        epochs: Maximum number of passes over the data. Defaults to `200`.
        shuffle: Reshuffle the samples every epoch. Defaults to `True`.
        validation_split: Share of the samples held out (stratified for classifiers) to
            record ``validation_loss_curve_``. Defaults to `0.0`.
        early_stopping: Stop when the validation loss has not improved by ``tol`` for
            ``patience`` epochs and restore the best weights (holds out 10% when
            ``validation_split`` is 0). Without it, training still stops when the
            *training* loss stalls the same way, like scikit-learn's MLP. Defaults to `False`.
        patience: Epochs without improvement before stopping. Defaults to `10`.
        tol: Minimum improvement of the monitored loss; None trains all ``epochs``.
            Defaults to `0.0001`.
        random_state: Seed (int), RandomState or None for initialization, shuffling,
            dropout and the hold-out split. Defaults to `None`.
        verbose: 0 silent, 1 progress bar, 2 one line per epoch. Defaults to `0`.
        n_threads: Threads of lamina's core while fitting and predicting (restored after);
            None leaves the process setting. Defaults to `None`.
        dtype: "float32" or "float64" network. Defaults to `"float32"`.

    Attributes:
        model_: The fitted :class:`lamina.Sequential`.
        history_: Dict of per-epoch values (``loss``, ``val_loss``, ``learning_rate``, ...).
        loss_curve_: Training loss per epoch.
        validation_loss_curve_: Validation loss per epoch (empty without a hold-out).
        n_iter_: Epochs run so far.
        n_features_in_: Number of features seen in ``fit``.
        feature_names_in_: Column names seen in ``fit`` (only when X had string column names).
"""


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
        X, y = _validate_data(self, X, y, reset=first_call, dtype=self.dtype, order="C")
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
        """Trains one epoch over all of (X, y) (no hold-out); the first call builds the network.

        Args:
            X: Array-like of shape (n_samples, n_features).
            y: Class labels, shape (n_samples,).
            classes: Every class label that will ever appear; required on the first call.
                Defaults to `None`.
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
        X, y = _validate_data(
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
            raise ValueError(f"y has shape {y.shape} but the first fit had 1-D={self._y_1d}")
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
        """Trains one epoch over all of (X, y) (no hold-out); the first call builds the network.

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
