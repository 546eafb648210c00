"""The ``Metric`` base class and the reducing metrics ``Mean``, ``Sum``, ``MeanMetricWrapper``.

A metric is a small stateful object (Keras 3's protocol): ``update_state(y_true, y_pred,
sample_weight=None)`` adds a batch, ``result()`` reads the value so far, ``reset_state()``
forgets. Its state is numpy arrays (``add_variable`` returns a ``lamina.Variable`` with
``assign`` / ``assign_add``), so a Keras-style ``Metric`` subclass written against
``keras.ops`` or numpy runs unchanged.

Example:
    >>> m = Mean()
    >>> m.update_state([1.0, 3.0]); m.update_state([5.0], sample_weight=[2.0])
    >>> m.result()
    3.5
"""

from __future__ import annotations

import re

import numpy as np

from .._validation import config_repr
from ..object_registration import registered_key

__all__ = ["Metric", "Mean", "Sum", "MeanMetricWrapper", "samplewise", "to_result",
           "function_metric"]


def _snake(name: str) -> str:
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


def to_result(value):
    """A result as Keras users read it: a Python float for a scalar, else a float array."""
    arr = np.asarray(value, dtype=np.float64)
    return float(arr) if arr.ndim == 0 else arr


def samplewise(values, sample_weight=None):
    """``(values, weights)`` reduced to one entry per sample (Keras's reduce_to_samplewise).

    ``values`` times the broadcast ``sample_weight``, then both averaged over every axis but
    the first; a 0-D value stays 0-D. ``weights`` is None without ``sample_weight``.
    """
    values = np.asarray(values, dtype=np.float64)
    if sample_weight is None:
        if values.ndim > 1:
            values = values.mean(axis=tuple(range(1, values.ndim)))
        return values, None
    sw = np.asarray(sample_weight, dtype=np.float64)
    while sw.ndim > values.ndim and sw.shape[-1] == 1:
        sw = sw[..., 0]
    while sw.ndim < values.ndim:
        sw = sw[..., None]
    try:
        sw = np.broadcast_to(sw, np.broadcast_shapes(sw.shape, values.shape))
    except ValueError:
        raise ValueError(f"sample_weight of shape {np.shape(sample_weight)} does not fit "
                         f"values of shape {values.shape}") from None
    values = values * sw
    if values.ndim > 1:
        axes = tuple(range(1, values.ndim))
        values, sw = values.mean(axis=axes), sw.mean(axis=axes)
    return values, sw


class Metric:
    """Base class of stateful metrics (Keras 3's ``keras.metrics.Metric``).

    A subclass creates its state in ``__init__`` (``self.add_variable(shape, "zeros")`` or
    plain attributes) and defines ``update_state``, ``result`` and, when its state is not
    only variables, ``reset_state``.

    Args:
        dtype: Accepted for Keras compatibility; lamina accumulates in float64. Defaults
            to `None`.
        name: Key in logs and History. Defaults to `None` (the class name in snake case).

    Example:
        >>> class CountPositives(Metric):
        ...     def __init__(self, name="count_positives", **kwargs):
        ...         super().__init__(name=name, **kwargs)
        ...         self.count = self.add_variable((), "zeros", name="count")
        ...     def update_state(self, y_true, y_pred, sample_weight=None):
        ...         self.count.assign_add(np.sum(np.asarray(y_pred) > 0.5))
        ...     def result(self):
        ...         return float(self.count)
        >>> m = CountPositives(); m.update_state(None, [0.2, 0.7, 0.9]); m.result()
        2.0
        >>> m.reset_state(); m.result()
        0.0
    """

    # Set on the built-in classes the C++ core computes inside its step (see core_spec).
    core_name = ""

    def __init__(self, dtype=None, name=None):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"metric name must be a string, got {name!r}")
        self.name = name or _snake(type(self).__name__)
        self.dtype = dtype
        self._variables = []

    # -- state ---------------------------------------------------------------------------
    def add_variable(self, shape=(), initializer="zeros", dtype=None, aggregation="sum",
                     name=None):
        """Creates a state array (a ``lamina.Variable``) that ``reset_state`` zeroes."""
        from ..variables import Variable

        shape, dtype = tuple(shape), dtype or "float64"
        if isinstance(initializer, str) and initializer.lower() in ("zeros", "ones"):
            fill = np.zeros if initializer.lower() == "zeros" else np.ones
            initializer = fill(shape, dtype=dtype)
        var = Variable(initializer, shape=shape, dtype=dtype, trainable=False, name=name)
        self._variables.append(var)
        return var

    add_weight = add_variable

    @property
    def variables(self) -> list:
        """The state variables made by ``add_variable``."""
        return list(self._variables)

    def reset_state(self) -> None:
        """Forgets every update (zeroes the variables)."""
        for v in self._variables:
            v.assign(np.zeros(v.shape, dtype=v.dtype))

    def update_state(self, y_true, y_pred, sample_weight=None):  # pragma: no cover - abstract
        """Adds a batch."""
        raise NotImplementedError(f"{type(self).__name__} must define update_state")

    def result(self):  # pragma: no cover - abstract
        """Returns the value over the batches seen so far."""
        raise NotImplementedError(f"{type(self).__name__} must define result")

    def __call__(self, y_true, y_pred, sample_weight=None):
        """Adds one batch and returns the result so far."""
        self.update_state(y_true, y_pred, sample_weight=sample_weight)
        return to_result(self.result())

    # -- the core ------------------------------------------------------------------------
    def core_spec(self):
        """This metric's entry of the core's network spec, or None when numpy computes it.

        Only the built-in classes that set ``core_name`` (accuracies, top-k, mse, mae) run
        inside the core's step; a subclass that changes ``update_state`` runs in numpy.
        """
        cls = type(self)
        if not cls.core_name or cls.update_state is not _core_update(cls):
            return None
        return {"name": cls.core_name, "threshold": float(getattr(self, "threshold", 0.5)),
                "k": int(getattr(self, "k", 5))}

    # -- config --------------------------------------------------------------------------
    def get_config(self) -> dict:
        """Returns the constructor arguments as a dict."""
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict):
        """Creates a metric from ``get_config()``'s output."""
        return cls(**config)

    __repr__ = config_repr


def _core_update(cls):
    """The ``update_state`` of the nearest class in ``cls``'s MRO that sets core_name."""
    for base in cls.__mro__:
        if "core_name" in base.__dict__:
            return base.update_state
    return None


class Mean(Metric):
    """The (weighted) mean of the values given.

    Args:
        name: Key in logs. Defaults to `"mean"`.
        dtype: Ignored (float64). Defaults to `None`.

    Example:
        >>> m = Mean(); m.update_state([1.0, 2.0, 3.0]); m.result()
        2.0
    """

    def __init__(self, name="mean", dtype=None):
        super().__init__(dtype=dtype, name=name)
        self.total = 0.0
        self.count = 0.0

    def update_state(self, values, sample_weight=None):
        """Adds values (any shape; averaged per sample first), weighted by sample_weight."""
        values, sw = samplewise(values, sample_weight)
        self.total += float(np.sum(values))
        if sw is not None:
            self.count += float(np.sum(sw))
        else:
            self.count += float(values.shape[0]) if values.ndim else 1.0

    def result(self):
        """The weighted mean so far (0.0 before any update)."""
        return self.total / self.count if self.count else 0.0

    def reset_state(self):
        super().reset_state()
        self.total = 0.0
        self.count = 0.0


class Sum(Metric):
    """The (weighted) sum of the values given.

    Args:
        name: Key in logs. Defaults to `"sum"`.
        dtype: Ignored (float64). Defaults to `None`.

    Example:
        >>> m = Sum(); m.update_state([1.0, 2.0], sample_weight=[1.0, 0.5]); m.result()
        2.0
    """

    def __init__(self, name="sum", dtype=None):
        super().__init__(dtype=dtype, name=name)
        self.total = 0.0

    def update_state(self, values, sample_weight=None):
        """Adds ``sum(values * sample_weight)``."""
        values, _ = samplewise(values, sample_weight)
        self.total += float(np.sum(values))

    def result(self):
        """The sum so far."""
        return self.total

    def reset_state(self):
        super().reset_state()
        self.total = 0.0


def _as_values(out):
    """A metric function's output as a float64 array (numpy, lamina.ops or a tensor)."""
    if hasattr(out, "numpy") and not isinstance(out, np.ndarray):
        out = out.numpy()
    return np.asarray(out, dtype=np.float64)


class MeanMetricWrapper(Mean):
    """The mean of ``fn(y_true, y_pred, **kwargs)`` over every sample seen.

    ``fn`` returns one value per sample (or a scalar per batch, which then counts once,
    as in Keras). Any Python function of numpy arrays works, and so does a loss.

    Args:
        fn: The metric function ``fn(y_true, y_pred, **kwargs)``.
        name: Key in logs. Defaults to `None` (``fn``'s name).
        dtype: Ignored (float64). Defaults to `None`.
        **kwargs: Passed to ``fn``.

    Example:
        >>> def abs_err(y_true, y_pred):
        ...     return np.abs(np.asarray(y_true) - np.asarray(y_pred))
        >>> m = MeanMetricWrapper(abs_err); m.update_state([0.0, 1.0], [1.0, 1.0])
        >>> m.name, m.result()
        ('abs_err', 0.5)
    """

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        if not callable(fn):
            raise TypeError(f"MeanMetricWrapper needs a callable fn, got {fn!r}")
        super().__init__(name=name or _fn_name(fn), dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def _values(self, y_true, y_pred):
        # a lamina Loss: its call() gives the per-sample values (its __call__ reduces them)
        per_sample = getattr(self._fn, "call", None) if hasattr(self._fn, "reduction") else None
        if per_sample is not None and not self._fn_kwargs:
            return _as_values(per_sample(y_true, y_pred))
        return _as_values(self._fn(y_true, y_pred, **self._fn_kwargs))

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Adds ``fn(y_true, y_pred)``'s values, weighted by sample_weight."""
        values = self._values(y_true, y_pred)
        if sample_weight is not None and values.ndim == 0:
            values = np.full(np.shape(sample_weight)[:1], float(values))
        super().update_state(values, sample_weight)

    def get_config(self):
        config = {"name": self.name, "dtype": self.dtype}
        if type(self) is MeanMetricWrapper:
            config["fn"] = registered_key(self._fn) or _fn_name(self._fn)
        return {**config, **self._fn_kwargs}

    @classmethod
    def from_config(cls, config):
        if cls is MeanMetricWrapper:
            config = dict(config)
            fn = config.pop("fn", None)
            from . import get_function

            return cls(get_function(fn), **config)
        return cls(**config)


def function_metric(cls_name, fn, default, summary, example, module, core_name=""):
    """A ``MeanMetricWrapper`` class over the per-sample ``fn`` whose only arguments are
    ``name`` (defaulting to ``default``, in the constructor's signature) and ``dtype``.

    Args:
        cls_name: The class name (Keras's).
        fn: The per-sample function ``fn(y_true, y_pred)``.
        default: The metric's default name.
        summary: The docstring's first line.
        example: The docstring's doctest (``>>>`` lines and the result, indented 8).
        module: The module the class belongs to (``__name__`` there).
        core_name: The core's name for a metric it computes in its step. Defaults to `""`.

    Example:
        >>> Half = function_metric("Half", lambda t, p: 0.5 * np.asarray(p), "half", "Half.",
        ...                        ">>> Half().name", __name__)
        >>> m = Half(); m.update_state([0.0, 0.0], [2.0, 4.0]); (m.name, m.result())
        ('half', 1.5)
    """
    def __init__(self, name=default, dtype=None):
        MeanMetricWrapper.__init__(self, fn, name=name, dtype=dtype)

    doc = (f"{summary}\n\n    Args:\n        name: Key in logs. Defaults to `\"{default}\"`.\n"
           "        dtype: Ignored (float64). Defaults to `None`.\n\n    Example:\n"
           f"        {example}\n    ")
    __init__.__doc__ = None
    return type(cls_name, (MeanMetricWrapper,), {
        "__init__": __init__, "__doc__": doc, "__module__": module, "core_name": core_name})


def _fn_name(fn) -> str:
    name = getattr(fn, "name", None)
    if isinstance(name, str) and name:
        return name
    name = getattr(fn, "__name__", None)
    if isinstance(name, str) and name and name != "<lambda>":
        return name
    return _snake(type(fn).__name__) if not hasattr(fn, "__name__") else "metric"
