"""DataFrames by name: the columns a model was fitted on are checked when it meets a DataFrame.

A model fitted on a pandas DataFrame whose column names are all strings keeps them in
``model.feature_names_in_`` (scikit-learn's attribute name; an object array), and saves them
in its ``.lamina`` file. Later, whenever ``fit``, ``evaluate``, ``predict`` (or the
``*_on_batch`` calls) get a DataFrame:

- the same columns in the same order pass unchanged;
- the same columns in another order are put back in the fitted order, with a
  ``UserWarning`` that names both orders (a Keras-style model has no other way to know which
  column feeds which input; scikit-learn's estimators refuse instead, and lamina's
  ``LaminaClassifier`` / ``LaminaRegressor`` follow scikit-learn);
- missing or unexpected columns raise ``ValueError`` naming them.

Plain arrays, and DataFrames whose column names are not all strings (e.g. the default
``0, 1, 2``), carry no names and are never checked, as in scikit-learn.

Example:
    >>> import numpy as np
    >>> column_names(np.zeros((2, 3))) is None  # arrays carry no names
    True
"""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["column_names", "align", "to_config", "from_config"]


def column_names(x):
    """The column names of a DataFrame-like ``x`` when they are all strings and distinct,
    else None (arrays, lists, default integer columns)."""
    columns = getattr(x, "columns", None)
    if columns is None or isinstance(x, np.ndarray) or not hasattr(x, "to_numpy"):
        return None
    names = list(columns)
    if not names or not all(isinstance(c, str) for c in names) or len(set(names)) != len(names):
        return None
    return tuple(names)


def align(model, x, name="x", fit=False):
    """``x`` with its columns in the order ``model`` was fitted on (see the module doc).

    Args:
        model: The model (its ``feature_names_in_``, when set, are the fitted columns).
        x: The inputs, as given to fit / evaluate / predict.
        name: What ``x`` is called in messages. Defaults to `"x"`.
        fit: Whether this is training data: a model without names learns them from it.
            Defaults to `False`.

    Returns:
        ``x``, or a reordered copy of it.

    Raises:
        ValueError: ``x`` lacks columns the model was fitted on, or has others.
    """
    names = column_names(x)
    if names is None:
        return x
    known = getattr(model, "feature_names_in_", None)
    if known is None:
        if fit:
            model.feature_names_in_ = np.asarray(names, dtype=object)
        return x
    known = tuple(known)
    if names == known:
        return x
    missing = [c for c in known if c not in names]
    extra = [c for c in names if c not in known]
    if missing or extra:
        parts = ([f"missing {missing}"] if missing else []) + (
            [f"not seen at fit {extra}"] if extra else [])
        raise ValueError(f"{name} has other columns than the model was fitted on: "
                         f"{'; '.join(parts)} (fitted on {list(known)})")
    warnings.warn(f"{name}'s columns {list(names)} are in another order than at fit: "
                  f"reordered to {list(known)}", UserWarning, stacklevel=4)
    return x[list(known)]


def to_config(model):
    """The fitted column names as a JSON list (for the model file), or None."""
    known = getattr(model, "feature_names_in_", None)
    return None if known is None else [str(c) for c in known]


def from_config(model, names, path="the model file", error=ValueError):
    """Sets ``model.feature_names_in_`` from a model file's list (None: nothing).

    Args:
        model: The model read from the file.
        names: The file's ``feature_names_in`` entry.
        path: The file, for the message. Defaults to `"the model file"`.
        error: The exception class raised for a bad entry. Defaults to `ValueError`.

    Raises:
        ValueError: (``error``) ``names`` is not a list of distinct strings.
    """
    if names is None:
        return
    if (not isinstance(names, list) or not all(isinstance(c, str) for c in names)
            or len(set(names)) != len(names)):
        raise error(f"{path!r}: feature_names_in must be a list of distinct strings, "
                         f"got {names!r}")
    model.feature_names_in_ = np.asarray(names, dtype=object)
