"""Data: read, check, subset, split and standardize what a run trains on.

Every problem is a `RunFileError` on a ``data.*`` key (or on the key that conflicts with
the data, such as ``model.layers[-1].units``).

Example:
    >>> from lamina.runfile import default_run
    >>> ds = load_data(default_run())
    >>> ds.x_train.shape, ds.x_test.shape
    ((1438, 64), (359, 64))
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Mapping

from .chunks import parse_row, read_chunks
from .errors import RunFileError, one_of

__all__ = ["Dataset", "read_arrays", "load_data", "fit_size", "encode_labels"]


class Dataset:
    """The arrays a run trains and tests on.

    Attributes:
        x_train, y_train: the training part (fit's validation_split is taken from its end).
        x_test, y_test: the held-out test part (may be empty when test_split is 0).
        n_classes: number of classes (labels are 0..n_classes-1) for classification losses,
            else None.
        mean, scale: the standardization fitted on x_train (None when not standardizing).
        in_model: True when the standardization is left to the model (``load_data(run,
            in_model=True)``): the arrays are raw and `build_model` puts a Normalization
            layer with ``mean`` / ``scale`` first, so the saved model carries it.
        feature_names: column names for CSV data, else None.

    Example:
        >>> from lamina.runfile import default_run
        >>> ds = load_data(default_run())
        >>> ds.input_dim, ds.n_classes
        (64, 10)
    """

    def __init__(self, x_train, y_train, x_test, y_test, n_classes, mean=None, scale=None,
                 feature_names=None, in_model=False):
        self.x_train, self.y_train = x_train, y_train
        self.x_test, self.y_test = x_test, y_test
        self.n_classes = n_classes
        self.mean, self.scale = mean, scale
        self.feature_names = feature_names
        self.in_model = in_model

    @property
    def input_dim(self) -> int:
        return int(self.x_train.shape[1])


def read_arrays(source: str, label: str | None = "y", features: str = "x",
                key: str = "data.source", require_label: bool = True):
    """Reads features and labels from ``"digits"``, a ``.npz``, a ``.csv`` or a ``.parquet``
    file.

    Args:
        source: ``"digits"`` or a path.
        label: the label column (CSV) or array key (NPZ); None for unlabeled data.
            Defaults to `"y"`.
        features: the NPZ features key. Defaults to `"x"`.
        key: the name errors use for the source. Defaults to `"data.source"`.
        require_label: a missing label column is an error (else y is None). Defaults to `True`.

    Returns:
        (x float64 (n, d), y float64 (n,) or None, feature names or None).

    Example:
        >>> x, y, names = read_arrays("digits")
        >>> x.shape, y.shape, names
        ((1797, 64), (1797,), None)
    """
    import numpy as np

    from .._validation import first_nonfinite

    if source == "digits":
        x, y = _load_digits()
        return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64), None
    p = Path(source)
    if not p.is_file():
        raise RunFileError(key, f"file not found: {source!r}")
    suffix = p.suffix.lower()
    lkey = "data.label" if key == "data.source" else "--label"
    if suffix == ".npz":
        try:
            with np.load(p, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except Exception as exc:
            raise RunFileError(key, f"cannot read {source!r} as .npz: {exc}") from None
        fkey = "data.features" if key == "data.source" else "--features"
        if features not in arrays:
            raise one_of(fkey, features, arrays, "array")
        x = arrays[features]
        if x.ndim == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[0] == 0:
            raise RunFileError(fkey, f"expected a non-empty 2-D array, got shape {x.shape}")
        if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
            raise RunFileError(fkey, f"expected numbers, got dtype {x.dtype}")
        y = None
        if label is not None and label in arrays:
            y = arrays[label]
            if y.ndim == 2 and y.shape[1] == 1:
                y = y[:, 0]
            if y.ndim != 1 or y.shape[0] != x.shape[0]:
                raise RunFileError(lkey, f"expected {x.shape[0]} labels (one per row of "
                                   f"{features!r}), got shape {y.shape}")
            if not np.issubdtype(y.dtype, np.number):
                raise RunFileError(lkey, f"expected numeric labels, got dtype {y.dtype}")
        elif require_label:
            raise one_of(lkey, label, arrays, "array")
        x = x.astype(np.float64)
        bad = first_nonfinite(x)
        if bad is not None:
            raise RunFileError(fkey, f"contains NaN or infinite values ({x[bad]} at row "
                                     f"{bad[0]}, column {bad[1]})")
        if y is not None:
            y = y.astype(np.float64)
            bad = first_nonfinite(y)
            if bad is not None:
                raise RunFileError(lkey, f"contains NaN or infinite labels ({y[bad]} at row "
                                         f"{bad[0]})")
        return x, y, None
    if suffix == ".csv":
        return _read_csv(p, label, key, lkey, require_label)
    if suffix in (".parquet", ".pq"):  # read whole here; `lamina predict` reads it in chunks
        names, chunks = read_chunks(source, label, key, lkey, require_label)
        parts = list(chunks)
        y = None if parts[0][1] is None else np.concatenate([c[1] for c in parts])
        return np.concatenate([c[0] for c in parts]), y, names
    raise RunFileError(key, f"{source!r} is not 'digits' or a path ending in .npz, .csv or "
                       ".parquet")


def _read_csv(p: Path, label: str | None, key: str, lkey: str, require_label: bool):
    import numpy as np

    try:
        with open(p, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise RunFileError(key, f"cannot read {str(p)!r} as CSV: {exc}") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise RunFileError(key, f"{str(p)!r} needs a header row and at least one data row")
    header = [h.strip() for h in rows[0]]
    if label is not None and label in header:
        li = header.index(label)
    elif require_label:
        raise one_of(lkey, label, header, "column")
    else:
        li = None
    data = np.empty((len(rows) - 1, len(header)), dtype=np.float64)
    for r, row in enumerate(rows[1:], start=2):
        parse_row(key, p.name, header, row, r, data[r - 2])
    feat_cols = [c for c in range(len(header)) if c != li]
    if not feat_cols:
        raise RunFileError(key, f"{p.name} has no feature columns besides {label!r}")
    x = data[:, feat_cols]
    y = data[:, li] if li is not None else None
    return x, y, [header[c] for c in feat_cols]


def _load_digits():
    """The bundled 8x8 digits in their original order: x (1797, 64) in 0..16, y (1797,)."""
    from ..datasets import load_digits

    return load_digits(return_X_y=True)


_CLASSIFICATION = ("sparse_categorical_crossentropy", "categorical_crossentropy",
                   "binary_crossentropy")


def load_data(run: Mapping, in_model: bool = False) -> Dataset:
    """Reads a run's data and applies its preprocessing (subset, split, standardize).

    Args:
        run: a resolved run (`load_run`).
        in_model: Leave the standardization to the model: the arrays stay raw and the
            Dataset's ``mean`` / ``scale`` become a Normalization layer (what ``lamina train``
            does, so a saved model standardizes its own inputs). Defaults to `False`.

    Returns:
        A `Dataset` with float arrays in the model's dtype and labels shaped for the loss
        (int64 class indices for sparse_categorical_crossentropy, one-hot for
        categorical_crossentropy, (n, 1) floats for the others).

    Example:
        >>> from lamina.runfile import default_run
        >>> ds = load_data(default_run())
        >>> ds.x_train.shape[1], ds.y_train.dtype
        (64, dtype('int64'))
    """
    import numpy as np

    d, pre, tr = run["data"], run["preprocessing"], run["training"]
    x, y, names = read_arrays(d["source"], d["label"], d.get("features", "x"))
    rng = np.random.default_rng(pre["seed"])
    n = x.shape[0]
    if d["max_samples"] and d["max_samples"] < n:
        keep = np.sort(rng.choice(n, size=d["max_samples"], replace=False))
        x, y, n = x[keep], y[keep], d["max_samples"]
    loss = tr["loss"]
    last = [ly for ly in run["model"]["layers"] if ly["type"] == "dense"][-1]
    units = last["units"]
    n_classes = None
    if loss in _CLASSIFICATION or units > 1:
        if not np.all(y == np.round(y)) or y.min() < 0:
            bad = y[(y != np.round(y)) | (y < 0)][0]
            raise RunFileError("data.label", f"classification labels must be integers 0, 1, "
                               f"..., got {bad:g} (loss {loss})")
        n_classes = int(y.max()) + 1
        want = 1 if loss == "binary_crossentropy" else n_classes
        if loss == "binary_crossentropy" and n_classes > 2:
            raise RunFileError("training.loss", f"binary_crossentropy needs labels 0/1, the "
                               f"data has {n_classes} classes: use "
                               f"sparse_categorical_crossentropy")
        if units != want:
            raise RunFileError("model.layers[-1].units", f"the output layer has {units} units "
                               f"but the data has {n_classes} classes (needs {want})")
    n_test = int(round(pre["test_split"] * n))
    n_train = n - n_test
    if n_train < 2:
        raise RunFileError("preprocessing.test_split", f"leaves {n_train} training samples "
                           f"of {n}")
    n_fit = fit_size(n_train, tr["validation_split"])
    if n_fit < 1 or (tr["validation_split"] > 0 and n_fit >= n_train):
        raise RunFileError("training.validation_split", f"leaves {n_fit} of {n_train} training "
                           f"samples for fitting and {n_train - n_fit} for validation")
    perm = rng.permutation(n)
    tr_idx, te_idx = perm[:n_train], perm[n_train:]
    x_train, x_test = x[tr_idx], x[te_idx]
    mean = scale = None
    if pre["standardize"]:
        mean = x_train.mean(axis=0)
        scale = x_train.std(axis=0)
        scale[scale == 0] = 1.0
        if not in_model:
            x_train = (x_train - mean) / scale
            x_test = (x_test - mean) / scale
    dtype = np.dtype(run["model"]["dtype"])
    ys = [encode_labels(y[idx], loss, n_classes, dtype) for idx in (tr_idx, te_idx)]
    return Dataset(np.ascontiguousarray(x_train, dtype), ys[0],
                   np.ascontiguousarray(x_test, dtype), ys[1], n_classes, mean, scale, names,
                   in_model=in_model and mean is not None)


def fit_size(n_train: int, validation_split: float) -> int:
    """Samples fit trains on; the rest (the last ones) validate, as Keras's validation_split.

    Args:
        n_train: Samples in the training part.
        validation_split: The fraction held out for validation.

    Example:
        >>> fit_size(100, 0.2)
        80
    """
    return int(math.floor(n_train * (1.0 - validation_split)))


def encode_labels(y, loss: str, n_classes: int | None, dtype):
    """Labels as the loss wants them: int64 indices, one-hot rows, or an (n, 1) column.

    Args:
        y: Labels, shape ``(n,)``.
        loss: The loss name.
        n_classes: Number of classes, or None for regression.
        dtype: The float dtype of one-hot rows and columns.

    Example:
        >>> import numpy as np
        >>> encode_labels(np.array([0.0, 2.0]), "categorical_crossentropy", 3, "float32")
        array([[1., 0., 0.],
               [0., 0., 1.]], dtype=float32)
    """
    import numpy as np

    if loss == "sparse_categorical_crossentropy":
        return y.astype(np.int64)
    if loss == "categorical_crossentropy" or (n_classes and n_classes > 1
                                              and loss != "binary_crossentropy"):
        out = np.zeros((y.shape[0], n_classes), dtype=dtype)
        out[np.arange(y.shape[0]), y.astype(np.int64)] = 1
        return out
    return np.ascontiguousarray(y.reshape(-1, 1), dtype=dtype)
