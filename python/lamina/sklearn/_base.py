"""What LaminaClassifier and LaminaRegressor share: hyperparameters, model building,
the training loop, pickling through ``.lamina`` bytes."""

from __future__ import annotations

import numbers
import os
import tempfile

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _sk_validate_data
except ImportError:  # pragma: no cover - scikit-learn 1.3 - 1.5
    _sk_validate_data = None

import lamina
from lamina.runtime import _pinned_threads

from ._layer_specs import build_layers, check_specs, hidden_specs


def validate_data(est, *args, **kwargs):
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
        self._pin = None

    def __enter__(self):
        # Shared with other blocks pinning the count at once (estimators fitted in threads):
        # the caller's count comes back when the last one leaves.
        self._pin = _pinned_threads(self.n_threads)
        self._pin.__enter__()
        return self

    def __exit__(self, *exc):
        self._pin.__exit__(*exc)
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
        else:
            check_specs(self.layers)
        number("dropout", 0.0, 1.0)
        number("alpha", 0.0)
        number("l1_ratio", 0.0)
        if self.l1_ratio > 1:
            raise ValueError(f"l1_ratio must be in [0, 1], got {self.l1_ratio!r}")
        if isinstance(self.learning_rate, numbers.Real):
            number("learning_rate", 0.0, lo_open=True)
        number("epochs", 1, integer=True)
        number("validation_split", 0.0, 1.0)
        number("patience", 0, integer=True)
        if self.tol is not None:
            number("tol", 0.0)
        if self.batch_size != "auto":
            number("batch_size", 1, integer=True)
        if self.optimizer_kwargs is not None and not isinstance(self.optimizer_kwargs, dict):
            raise TypeError(
                f"optimizer_kwargs must be a dict or None, got {self.optimizer_kwargs!r}"
            )
        self._make_optimizer()  # names a bad optimizer, schedule or argument before the data
        if self.n_threads is not None:
            number("n_threads", 1, integer=True)
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")

    # ------------------------------------------------------------------ model building
    def _seed(self):
        return int(check_random_state(self.random_state).randint(0, 2**31 - 1))

    def _dense_defaults(self):
        """What the estimator sets on every Dense layer whose spec leaves it out."""
        reg = None
        if self.alpha > 0:
            reg = lamina.regularizers.L1L2(
                l1=float(self.alpha * self.l1_ratio), l2=float(self.alpha * (1.0 - self.l1_ratio))
            )
        return {
            "activation": self.activation,
            "kernel_initializer": self.kernel_initializer,
            "kernel_regularizer": reg,
        }

    def _make_optimizer(self):
        """The optimizer through lamina's registries: ``optimizer``'s config with
        ``optimizer_kwargs`` and ``learning_rate`` (a float or a schedule) on top."""
        kwargs = dict(self.optimizer_kwargs or {})
        if "learning_rate" in kwargs:
            raise ValueError(
                f"optimizer_kwargs sets learning_rate={kwargs['learning_rate']!r}: pass it as "
                "the estimator's learning_rate"
            )
        lr = self.learning_rate
        if isinstance(lr, numbers.Real):
            lr = float(lr)
        else:
            schedules = lamina.optimizers.schedules
            if not isinstance(lr, (dict, schedules.LearningRateSchedule)):
                raise TypeError(
                    "learning_rate must be a number, a lamina.optimizers.schedules schedule "
                    f"or its config dict, got {lr!r}"
                )
            lr = schedules.serialize(schedules.get(lr))
        config = lamina.optimizers.serialize(self.optimizer)
        config["config"].update(kwargs, learning_rate=lr)
        return lamina.optimizers.get(config)

    def _build_model(self, n_features, n_outputs, output_activation, seed):
        defaults = self._dense_defaults()
        if self.layers is None:
            hidden = build_layers(hidden_specs(self.hidden_layer_sizes, self.dropout), defaults)
        else:
            hidden = build_layers(self.layers, defaults, source="layers")
        output = build_layers([{"units": n_outputs, "activation": output_activation}], defaults)
        model = lamina.Sequential(
            [lamina.Input((n_features,)), *hidden, *output], seed=seed, dtype=self.dtype
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
        X = validate_data(self, X, reset=False, dtype=self.dtype, order="C")
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
        layers: Instead of ``hidden_layer_sizes``: a list of Keras layer configs
            (``{"class_name": "Dense", "config": {"units": 64}}``) or their short spelling,
            e.g. ``[{"units": 64}, {"type": "dropout", "rate": 0.2}, {"units": 32,
            "activation": "tanh"}]`` (``type`` names a ``lamina.layers`` class, "dense" when
            left out; the other keys are the layer's arguments). A Dense layer takes the
            estimator's ``activation``, ``kernel_initializer`` and ``alpha`` penalty where its
            config leaves them out. Defaults to `None`.
        dropout: Dropout rate after each hidden layer of ``hidden_layer_sizes``.
            Defaults to `0.0`.
        alpha: Strength of the kernel penalty, in Keras units (added to each batch's mean
            loss): L2 with weight ``alpha * (1 - l1_ratio)`` and L1 with ``alpha * l1_ratio``.
            Defaults to `0.0001`.
        l1_ratio: Share of L1 in the penalty (0 is pure L2, 1 pure L1). Defaults to `0.0`.
        kernel_initializer: Initializer of every kernel. Defaults to `"glorot_uniform"`.
        optimizer: What ``lamina.optimizers.get`` accepts: a name ("sgd", "rmsprop",
            "adam", "adamw", "adagrad", "adamax", "nadam", "adadelta", "lion"), a Keras
            optimizer config or an
            optimizer (copied through its config); ``learning_rate`` and
            ``optimizer_kwargs`` replace the values it holds. Defaults to `"adam"`.
        learning_rate: The optimizer's learning rate: a float, or a schedule from
            ``lamina.optimizers.schedules`` (or its Keras config, e.g.
            ``{"class_name": "ExponentialDecay", "config": {...}}``). Defaults to `0.001`.
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
            None leaves the process setting, which in a joblib worker
            (``GridSearchCV(n_jobs=k)``, loky) is the worker's share of the cores
            (``OMP_NUM_THREADS`` = cores // k) and follows ``threadpoolctl`` limits.
            Defaults to `None`.
        dtype: "float32" or "float64" network. Defaults to `"float32"`.

    Attributes:
        model_: The fitted :class:`lamina.Sequential`.
        history_: Dict of per-epoch values (``loss``, ``val_loss``, ``learning_rate``, ...).
        loss_curve_: Training loss per epoch.
        validation_loss_curve_: Validation loss per epoch (empty without a hold-out).
        n_iter_: Epochs run so far.
        n_features_in_: Number of features seen in ``fit``.
        feature_names_in_: Column names seen in ``fit`` (only when X had string column names);
            ``predict`` / ``score`` refuse a DataFrame with other columns or another order
            (scikit-learn's rule).
"""
