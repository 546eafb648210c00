"""Shared checks at the API boundary: every bad input becomes an exception naming the value.

Used by the model, layers, callbacks and io so that messages are uniform. The helpers convert
what Keras accepts (lists, pandas objects, any int/float dtype) into numpy arrays once.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

_NUMERIC_KINDS = "biuf"


def check_int(name, value, minimum=None, maximum=None, allow_none=False):
    """Returns ``value`` as an int, or raises naming it (bools and non-integral floats fail)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise TypeError(f"{name} must be an int, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_float(name, value, minimum=-math.inf, maximum=math.inf, min_open=False,
                max_open=False):
    """Returns ``value`` as a finite float within the bounds, or raises naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    low_ok = v > minimum if min_open else v >= minimum
    high_ok = v < maximum if max_open else v <= maximum
    if not (low_ok and high_ok):
        lo, hi = "(" if min_open else "[", ")" if max_open else "]"
        raise ValueError(f"{name} must be in {lo}{minimum}, {maximum}{hi}, got {value!r}")
    return v


def as_array(name, value):
    """``np.asarray`` with a clear error for None, ragged lists and non-numeric data."""
    if value is None:
        raise ValueError(f"{name} is None: pass a numpy array (or anything np.asarray takes)")
    if hasattr(value, "to_numpy") and not isinstance(value, np.ndarray):  # pandas
        value = value.to_numpy()
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name} could not be converted to a numeric array: {exc}") from None
    if arr.dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(f"{name} must hold numbers (bool, int or float), got dtype "
                        f"{arr.dtype} (e.g. {arr.flat[0]!r})" if arr.size else
                        f"{name} must hold numbers, got dtype {arr.dtype}")
    return arr


def first_nonfinite(arr):
    """Returns the index tuple of the first NaN/inf of a float array, or None."""
    if arr.dtype.kind != "f":
        return None
    # A NaN or an infinity makes the sum non-finite, so a finite sum clears the array in one
    # pass without the full-size boolean temporary of isfinite (a fit's or predict's whole X,
    # every call); only a non-finite sum (or an overflow of huge finite values) pays for the
    # exact check. The sum stays in the array's dtype: a float64 accumulator would cast every
    # element (float32 10000x784: 3.2 ms in float32, 6.7 ms in float64, isfinite 4.3 ms).
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.add.reduce(arr, axis=None)
    if np.isfinite(total) or np.isfinite(arr).all():
        return None
    return tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])


def _position(where):
    if len(where) == 1:
        return f"row {where[0]}"
    if len(where) == 2:
        return f"row {where[0]}, column {where[1]}"
    return f"index {where}"


def check_finite(name, arr):
    """Raises naming the first row/column holding NaN or inf."""
    where = first_nonfinite(arr)
    if where is not None:
        raise ValueError(f"{name} contains {arr[where]} at {_position(where)}: lamina rejects "
                         "NaN and inf (impute or drop those rows first)")


def cast_finite(name, arr, dtype):
    """``arr`` as a C-contiguous ``dtype`` array, raising when the cast overflows to inf.

    The finiteness checks run on the caller's data; a finite float64 value beyond the range
    of the model's dtype (float32 tops out near 3.4e38) only becomes inf in the cast, so the
    result is checked again here, naming the original value.
    """
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported just below
        out = np.ascontiguousarray(arr, dtype=dtype)
    where = first_nonfinite(out)
    if where is not None:
        value = np.asarray(arr)[where]
        raise ValueError(f"{name} holds {value!r} at {_position(where)}, beyond the range of "
                         f"{np.dtype(dtype).name} (largest magnitude "
                         f"{float(np.finfo(dtype).max):.4g}): rescale it")
    return out


def features(name, x, feature_shape=None):
    """Validates inputs: an (n, ...) numeric array, n >= 1, finite; returns the array.

    Args:
        name: "x", "validation x" … for messages.
        x: The data.
        feature_shape: Expected per-sample shape, or None when the model is not built.
    """
    arr = as_array(name, x)
    if arr.ndim == 1 and feature_shape is not None and tuple(feature_shape) == (1,):
        # One feature per sample given as a vector: Keras 3 adds the missing last axis of
        # size 1 (Functional._adjust_input_rank).
        arr = arr.reshape(-1, 1)
    if arr.ndim < 2:
        raise ValueError(f"{name} must be 2-D (samples, features), got shape {arr.shape}: "
                         "reshape a single feature to (-1, 1) and a single sample to (1, -1)")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty: got shape {arr.shape}, need at least one sample")
    if feature_shape is not None:
        expected = tuple(feature_shape)
        got = tuple(arr.shape[1:])
        if got != expected:
            raise ValueError(f"{name} has samples of shape {got}, but the model expects "
                             f"{expected} (x.shape {arr.shape})")
    if math.prod(arr.shape[1:]) == 0:
        raise ValueError(f"{name} has no features: shape {arr.shape}")
    check_finite(name, arr.reshape(arr.shape[0], -1))
    return arr


def same_length(pairs):
    """Raises when the arrays of ``[(name, array), ...]`` have different first dimensions."""
    pairs = [(n, a) for n, a in pairs if a is not None]
    lengths = {n: a.shape[0] for n, a in pairs}
    if len(set(lengths.values())) > 1:
        desc = ", ".join(f"{n} has {k}" for n, k in lengths.items())
        raise ValueError(f"data lengths differ: {desc} samples")


def targets(name, y, loss_name, out_dim, dtype):
    """Validates targets for the loss; returns int64 labels (sparse) or an (n, out_dim) array.

    Sparse crossentropy takes integer labels (ints, or floats holding integers) of shape
    (n,) or (n, 1) in ``[0, out_dim)``; the other losses take (n, out_dim) (or (n,) when
    out_dim is 1) finite values.
    """
    arr = as_array(name, y)
    if arr.ndim == 0:
        raise ValueError(f"{name} must have one entry per sample, got a scalar {arr!r}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty: got shape {arr.shape}")
    if loss_name == "sparse_categorical_crossentropy":
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim != 1:
            raise ValueError(
                f"{name} must be integer class labels of shape (n,) for "
                f"sparse_categorical_crossentropy, got shape {arr.shape}; for one-hot targets "
                "use loss='categorical_crossentropy'")
        if arr.dtype.kind == "f":
            check_finite(name, arr)
            frac = np.flatnonzero(arr != np.floor(arr))
            if frac.size:
                i = int(frac[0])
                raise ValueError(f"{name} must hold integer class labels, got {arr[i]} at "
                                 f"position {i}")
        labels = arr.astype(np.int64)
        bad = np.flatnonzero((labels < 0) | (labels >= out_dim))
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"{name} label {arr[i]} at position {i} is outside [0, {out_dim})"
                             f": the model has {out_dim} output units")
        return np.ascontiguousarray(labels)
    if arr.ndim == 1:
        if out_dim != 1:
            hint = (" (integer labels need loss='sparse_categorical_crossentropy' or "
                    "lamina.utils.to_categorical)" if loss_name == "categorical_crossentropy"
                    else "")
            raise ValueError(f"{name} has shape {arr.shape} but the model has {out_dim} "
                             f"outputs: need shape ({arr.shape[0]}, {out_dim}){hint}")
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2 or arr.shape[1] != out_dim:
        raise ValueError(f"{name} has shape {arr.shape} but the model has {out_dim} outputs: "
                         f"need shape ({arr.shape[0]}, {out_dim})")
    check_finite(name, arr)
    return cast_finite(name, arr, dtype)


def sample_weights(name, sw, n, dtype):
    """Validates per-sample weights: shape (n,) (or (n, 1)), finite, >= 0."""
    arr = as_array(name, sw)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n},), one weight per sample, got shape "
                         f"{arr.shape}")
    check_finite(name, arr)
    neg = np.flatnonzero(arr < 0)
    if neg.size:
        i = int(neg[0])
        raise ValueError(f"{name} must be >= 0, got {arr[i]} at position {i}")
    return cast_finite(name, arr, dtype)


def class_weights(class_weight, classes, dtype):
    """Per-sample weights from ``{class: weight}`` (missing classes weigh 1, like Keras)."""
    if not isinstance(class_weight, dict):
        raise TypeError(f"class_weight must be a dict {{class index: weight}}, got "
                        f"{class_weight!r}")
    if not class_weight:
        raise ValueError("class_weight is an empty dict")
    table = {}
    for k, v in class_weight.items():
        key = check_int("class_weight key", k, minimum=0)
        table[key] = check_float(f"class_weight[{key}]", v, minimum=0.0)
    size = max(max(table) + 1, int(classes.max()) + 1 if classes.size else 0)
    lut = np.ones(size, dtype=np.float64)
    for k, v in table.items():
        lut[k] = v
    cast_finite("class_weight", lut, dtype)  # a weight beyond the dtype's range names itself
    return lut[classes].astype(dtype)


def from_class_config(what, identifier, classes, names=None, accepted=None):
    """Builds ``{"class_name": ..., "config": {...}}`` from a module's registry of classes.

    ``class_name`` is looked up in ``classes`` (class names), then lower-cased in ``names``
    (snake-case names); an unknown one raises ``ValueError("unknown <what> <name>: accepted
    are <accepted>")`` (``accepted`` defaults to the sorted class names).
    """
    name = identifier.get("class_name")
    cls = classes.get(name)
    if cls is None and names is not None:
        cls = names.get(str(name).lower())
    if cls is None:
        raise ValueError(f"unknown {what} {name!r}: accepted are "
                         f"{accepted or ', '.join(sorted(classes))}")
    return cls.from_config(dict(identifier.get("config") or {}))


def config_repr(obj):
    """``ClassName(key=value, ...)`` from ``obj.get_config()``: the repr of config objects."""
    args = ", ".join(f"{k}={v!r}" for k, v in obj.get_config().items())
    return f"{type(obj).__name__}({args})"
