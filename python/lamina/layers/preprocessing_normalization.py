"""``Normalization``: feature-wise standardization inside the model (Keras 3's
``layers.Normalization``), with ``adapt`` to learn the statistics from data.

A model that starts with an adapted ``Normalization`` carries its own preprocessing: its
mean and variance are weights (non-trainable), saved and loaded with the rest, so a saved
model predicts the same on raw data anywhere.
"""

from __future__ import annotations

import numpy as np

from .. import config
from .. import eager
from .._validation import first_nonfinite
from ._broadcast import broadcast_inner
from .layer import Layer, check_shape


def _axes(axis):
    if axis is None:
        return ()
    if isinstance(axis, (int, np.integer)) and not isinstance(axis, bool):
        return (int(axis),)
    try:
        axes = tuple(axis)
    except TypeError:
        raise TypeError(f"Normalization axis must be an int, a tuple of ints or None, got "
                        f"{axis!r}") from None
    if any(isinstance(a, bool) or not isinstance(a, (int, np.integer)) for a in axes):
        raise TypeError(f"Normalization axis must be an int, a tuple of ints or None, got "
                        f"{axis!r}")
    return tuple(int(a) for a in axes)


class Normalization(Layer):
    """Standardizes its inputs: ``(x - mean) / max(sqrt(variance), epsilon)``, per position
    along ``axis`` (per feature by default), or the inverse with ``invert=True``.

    Give ``mean`` and ``variance``, or call ``adapt(data)`` to compute them (a streaming,
    numerically stable merge over batches). Adapted statistics are the layer's weights
    ``mean``, ``variance`` and ``count`` (non-trainable, as Keras 3's).

    Args:
        axis: The axis (or axes) that keep their own statistics; ``-1`` is the last feature
            axis, ``None`` one mean and variance for everything. Defaults to `-1`.
        mean: The mean, a scalar or an array broadcastable along ``axis``. Defaults to
            `None` (from ``adapt``).
        variance: The variance, as ``mean`` (both or neither). Defaults to `None`.
        invert: Map standardized values back (``mean + x * sqrt(variance)``). Defaults to
            `False`.
        name: Name. Defaults to `None` ("normalization", …).

    Example:
        >>> import numpy as np
        >>> import lamina
        >>> x = np.array([[1.0, 10.0], [3.0, 30.0]])
        >>> norm = lamina.layers.Normalization()
        >>> norm.adapt(x)
        >>> norm.mean.tolist(), norm.variance.tolist()  # Keras's broadcast shape (1, 2)
        ([[2.0, 20.0]], [[1.0, 100.0]])
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.axis = _axes(axis)
        self.invert = bool(invert)
        if (mean is None) != (variance is None):
            raise ValueError(f"Normalization needs both mean and variance or neither, got "
                             f"mean={mean!r}, variance={variance!r}")
        if mean is not None:
            m, v = np.asarray(mean, np.float64), np.asarray(variance, np.float64)
            if m.shape != v.shape:
                raise ValueError(f"Normalization mean and variance must have the same shape, "
                                 f"got {m.shape} and {v.shape}")
            if m.ndim > len(self.axis):
                raise ValueError(f"Normalization mean of shape {m.shape} has more dimensions "
                                 f"than axis={axis!r}")
            for what, a in (("mean", m), ("variance", v)):
                bad = first_nonfinite(a)
                if bad is not None:
                    raise ValueError(f"Normalization {what} contains {a[bad]} at index {bad}")
            if (v < 0).any():
                raise ValueError(f"Normalization variance must be >= 0, got {v.min()}")
        self.input_mean = None if mean is None else np.asarray(mean, np.float64)
        self.input_variance = None if variance is None else np.asarray(variance, np.float64)
        self.adapt_mean = None  # Keras's names: the (kept-axes) statistics the core reads
        self.adapt_variance = None
        self.count = None
        self._keep = ()
        self._inner = 1

    # -- shapes ------------------------------------------------------------------------
    def _keep_axes(self, sample_shape):
        ndim = len(sample_shape) + 1
        keep = []
        for a in self.axis:
            if not -ndim <= a < ndim:
                raise ValueError(f"Normalization {self.name!r}: axis {a} is out of range for "
                                 f"inputs of shape {(None, *sample_shape)}")
            d = a + ndim if a < 0 else a
            if d == 0:
                raise ValueError(f"Normalization {self.name!r}: axis {a} is the batch axis; "
                                 "statistics per sample are not supported")
            keep.append(d - 1)  # 0-based sample axis
        return tuple(sorted(set(keep)))

    def build(self, input_shape):
        input_shape = check_shape("input_shape", input_shape)
        keep = self._keep_axes(input_shape)
        self._inner = broadcast_inner(input_shape, keep, f"Normalization {self.name!r}")
        stat_shape = tuple(input_shape[d] for d in keep)
        dtype = self._dtype or self.variable_dtype
        if self.input_mean is None:
            # Keras 3's non-trainable weights: mean, variance, count (what adapt fills in).
            self.adapt_mean = self.add_weight(stat_shape, "zeros", trainable=False,
                                              name="mean")
            self.adapt_variance = self.add_weight(stat_shape, "ones", trainable=False,
                                                  name="variance")
            self.count = self.add_weight((), "zeros", dtype="int64", trainable=False,
                                         name="count")
        else:
            # Keras: a scalar broadcasts to every kept position; an array fills the trailing
            # kept axes.
            def expand(a):
                if a.ndim:
                    a = a.reshape((1,) * (len(stat_shape) - a.ndim) + a.shape)
                try:
                    return np.array(np.broadcast_to(a, stat_shape), dtype)  # a writeable copy
                except ValueError:
                    raise ValueError(f"Normalization {self.name!r}: mean of shape {a.shape} "
                                     f"does not broadcast to {stat_shape}") from None
            self.adapt_mean = expand(self.input_mean)
            self.adapt_variance = expand(self.input_variance)
        self._keep = keep
        super().build(input_shape)

    # -- the statistics as Keras shows them ---------------------------------------------
    def _broadcast(self, stat):
        if stat is None:
            return None
        shape = [1] * (len(self.input_shape) + 1)
        for d in self._keep:
            shape[d + 1] = self.input_shape[d]
        return eager.as_eager(np.asarray(stat).reshape(shape))

    @property
    def mean(self):
        """The mean, shaped to broadcast against a batch (``(1, features)`` for
        ``axis=-1``), as Keras's ``Normalization.mean``; None before ``build``. A read-only
        view of the statistics the core uses (``adapt_mean``)."""
        out = self._broadcast(self.adapt_mean)
        if out is not None:
            out.flags.writeable = False
        return out

    @property
    def variance(self):
        """The variance, shaped like ``mean`` (a read-only view of ``adapt_variance``)."""
        out = self._broadcast(self.adapt_variance)
        if out is not None:
            out.flags.writeable = False
        return out

    # -- adapt -------------------------------------------------------------------------
    def adapt(self, data, batch_size=None, steps=None):
        """Computes the mean and variance of ``data`` along ``axis`` and stores them.

        The statistics are merged batch by batch in float64 (Chan, Golub & LeVeque's
        pairwise update), so an iterable of batches gives the same result as one array.

        Args:
            data: A numpy array ``(samples, *features)`` (a vector ``(samples,)`` is one
                feature, as in Keras), or an iterable of such batches (a list, a generator;
                ``(x, y)`` tuples use ``x``).
            batch_size: Rows per batch when ``data`` is an array. Defaults to `None` (all at
                once).
            steps: Batches to read from an iterable. Defaults to `None` (all of them).
        """
        if self.input_mean is not None:
            raise ValueError(f"Normalization {self.name!r} was given mean and variance; "
                             "adapt() is for a layer built without them")
        if isinstance(data, np.ndarray) or np.isscalar(data) or hasattr(data, "__array__"):
            arr = np.asarray(data)  # also a pandas Series / DataFrame
            if arr.ndim == 1:  # one feature per sample (Keras: a batch dim only -> (n, 1))
                arr = arr.reshape(-1, 1)
            if arr.ndim < 2:
                raise ValueError(f"adapt() needs data of shape (samples, features...), got "
                                 f"shape {arr.shape}")
            bs = arr.shape[0] if batch_size is None else batch_size
            if isinstance(bs, bool) or not isinstance(bs, (int, np.integer)) or bs < 1:
                raise ValueError(f"adapt() batch_size must be a positive int, got "
                                 f"{batch_size!r}")
            batches = (arr[i:i + bs] for i in range(0, arr.shape[0], bs))
        elif hasattr(data, "__iter__"):
            batches = iter(data)
        else:
            raise TypeError(f"adapt() takes a numpy array or an iterable of batches, got "
                            f"{type(data).__name__}")
        if steps is not None and (isinstance(steps, bool) or not isinstance(
                steps, (int, np.integer)) or steps < 1):
            raise ValueError(f"adapt() steps must be a positive int, got {steps!r}")
        total_n, mean, m2 = 0, None, None
        for i, batch in enumerate(batches):
            if steps is not None and i >= steps:
                break
            if isinstance(batch, tuple):
                batch = batch[0]
            b = np.asarray(batch, np.float64)
            if b.ndim < 2:
                raise ValueError(f"adapt() batch {i} must have shape (samples, features...), "
                                 f"got shape {b.shape}")
            if not self.built:
                self._dtype = self._dtype or self.variable_dtype
                self.build(b.shape[1:])
            if b.shape[1:] != self.input_shape:
                raise ValueError(f"adapt() batch {i} has samples of shape {b.shape[1:]}, the "
                                 f"layer was built for {self.input_shape}")
            bad = first_nonfinite(b)
            if bad is not None:
                raise ValueError(f"adapt() batch {i} contains {b[bad]} at index {bad}")
            reduce = (0,) + tuple(d + 1 for d in range(len(self.input_shape))
                                  if d not in self._keep)
            n_b = int(np.prod([b.shape[d] for d in reduce]))
            if n_b == 0:
                continue
            mean_b = b.mean(axis=reduce)
            m2_b = ((b - b.mean(axis=reduce, keepdims=True)) ** 2).sum(axis=reduce)
            if mean is None:
                total_n, mean, m2 = n_b, mean_b, m2_b
                continue
            n = total_n + n_b
            delta = mean_b - mean
            mean = mean + delta * (n_b / n)
            m2 = m2 + m2_b + delta ** 2 * (total_n * n_b / n)
            total_n = n
        if mean is None:
            raise ValueError("adapt() received no data (no batch with samples)")
        np.copyto(self.adapt_mean, mean.reshape(self.adapt_mean.shape), casting="unsafe")
        np.copyto(self.adapt_variance, (m2 / total_n).reshape(self.adapt_variance.shape),
                  casting="unsafe")
        self.count[...] = total_n

    # -- core and config ---------------------------------------------------------------
    def core_spec(self):
        return [{"type": "normalization", "invert": self.invert,
                 "epsilon": float(config.epsilon()), "inner": self._inner,
                 "state": [{"name": "mean", "value": self.adapt_mean},
                           {"name": "variance", "value": self.adapt_variance}]}]

    def get_config(self):
        config_ = super().get_config()
        config_.update({
            "axis": list(self.axis),  # Keras's tuple, as JSON writes it
            "invert": self.invert,
            "mean": None if self.input_mean is None else self.input_mean.tolist(),
            "variance": None if self.input_variance is None else self.input_variance.tolist(),
        })
        return config_
