"""``Variable``: a layer's weight (Keras 3's ``keras.Variable``), backed by a live numpy array.

A layer creates its weights with ``Layer.add_weight``, which returns a ``Variable``. The
variable wraps ONE numpy array for its whole life; the core's step executor reads and
updates that very array in place (the network spec passes ``variable.value``, the array
itself), so no step copies a weight and every view of the weight is current:
``layer.kernel.numpy()`` after a ``fit`` step shows the new values, and ``assign`` changes
what the next ``predict`` computes.

The variable behaves like its array where numpy code expects one: ``np.asarray(v)`` is the
live array (no copy), numpy functions and ufuncs accept it (``np.copyto(v, x)`` writes into
the weight), arithmetic returns plain numpy results, indexing reads and writes the array, and
array attributes (``shape``, ``dtype``, ``size``, ``copy()``, ``sum()`` …) are the array's.

Example:
    >>> import numpy as np
    >>> v = Variable(np.zeros((2, 3), "float32"), name="kernel", path="dense/kernel")
    >>> _ = v.assign_add(np.ones((2, 3))); float(v.numpy().sum())
    6.0
    >>> np.asarray(v) is v.value, (v * 2).dtype.name, v.trainable
    (True, 'float32', True)
"""

from __future__ import annotations

import copy as _copy

import numpy as np

__all__ = ["Variable"]


def _unwrap(obj):
    """``obj`` with every Variable inside (tuples, lists, dicts) replaced by its array."""
    if isinstance(obj, Variable):
        return obj._value
    if isinstance(obj, tuple):
        return tuple(_unwrap(o) for o in obj)
    if isinstance(obj, list):
        return [_unwrap(o) for o in obj]
    if isinstance(obj, dict):
        return {k: _unwrap(v) for k, v in obj.items()}
    return obj


class Variable(np.lib.mixins.NDArrayOperatorsMixin):
    """A weight: a named, live numpy array that the core updates in place.

    Args:
        initializer: The initial value: an array (used as is when it is a C-contiguous
            float array of the right dtype, so its memory becomes the weight), anything
            ``np.asarray`` takes, or an initializer (name or ``lamina.initializers``
            instance; ``shape`` is then required).
        shape: Expected shape; checked against the value. Defaults to `None` (the value's).
        dtype: "float32" or "float64". Defaults to `None` (the value's dtype).
        trainable: Whether fit may update it (BatchNormalization's moving statistics are
            not trainable). Defaults to `True`.
        name: Short name ("kernel"). Defaults to `None` ("variable").
        path: Full path ("sequential/dense/kernel"). Defaults to `None` (the name).

    Example:
        >>> v = Variable([1.0, 2.0], name="bias")
        >>> v.name, v.shape, v.dtype.name, (v + 1).tolist()
        ('bias', (2,), 'float64', [2.0, 3.0])
    """

    __array_priority__ = 20  # numpy defers binary operators to Variable's (then unwraps)
    #: Keras's ``Variable.constraint``: a projection ``fit`` applies after each step (set
    #: by ``Layer.add_weight(constraint=...)``; see ``lamina.constraints``).
    constraint = None

    def __init__(self, initializer, shape=None, dtype=None, trainable=True, name=None,
                 path=None):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"variable name must be a string, got {name!r}")
        if isinstance(initializer, str) or (callable(initializer) and not hasattr(
                initializer, "__array__")):
            if shape is None:
                raise ValueError(f"variable {name!r}: an initializer ({initializer!r}) needs "
                                 "a shape")
            from . import config, initializers

            initializer = initializers.get(initializer)(tuple(shape), dtype or config.floatx())
        copy = isinstance(initializer, Variable)  # a new variable never shares another's array
        value = _unwrap(initializer)
        arr = np.asarray(value) if dtype is None else np.asarray(value, dtype=dtype)
        if arr.dtype.kind != "f":
            arr = arr.astype(np.float64 if dtype is None else dtype)
        if copy or not arr.flags.c_contiguous or not arr.flags.writeable:
            arr = np.array(arr, order="C")
        if shape is not None and tuple(shape) != arr.shape:
            raise ValueError(f"variable {name!r}: the initial value has shape {arr.shape}, "
                             f"expected {tuple(shape)}")
        self._value = arr
        self.name = name or "variable"
        self.path = path or self.name
        self.trainable = bool(trainable)

    # -- Keras's Variable API ------------------------------------------------------------
    @property
    def value(self) -> np.ndarray:
        """The live array itself (the memory the core reads and writes)."""
        return self._value

    def numpy(self) -> np.ndarray:
        """A copy of the current value."""
        return self._value.copy()

    @property
    def shape(self) -> tuple:
        """The shape."""
        return self._value.shape

    @property
    def dtype(self):
        """The numpy dtype."""
        return self._value.dtype

    @property
    def ndim(self) -> int:
        """The number of dimensions."""
        return self._value.ndim

    def _checked(self, value, what):
        arr = np.asarray(_unwrap(value))
        if arr.shape != self._value.shape and not (what != "assign" and arr.ndim == 0):
            raise ValueError(f"{what} on variable {self.path!r} of shape {self._value.shape} "
                             f"got a value of shape {arr.shape}")
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{what} on variable {self.path!r} needs numbers, got dtype "
                            f"{arr.dtype}")
        return arr

    def assign(self, value):
        """Writes ``value`` (same shape) into the live array, in place; returns the variable."""
        np.copyto(self._value, self._checked(value, "assign"), casting="unsafe")
        return self

    def assign_add(self, delta):
        """Adds ``delta`` (same shape, or a scalar) in place; returns the variable."""
        np.add(self._value, self._checked(delta, "assign_add"), out=self._value,
               casting="unsafe")
        return self

    def assign_sub(self, delta):
        """Subtracts ``delta`` (same shape, or a scalar) in place; returns the variable."""
        np.subtract(self._value, self._checked(delta, "assign_sub"), out=self._value,
                    casting="unsafe")
        return self

    # -- numpy interop -------------------------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        if copy:
            return np.array(self._value, dtype=dtype, copy=True)
        if dtype is not None and np.dtype(dtype) != self._value.dtype:
            if copy is False:
                raise ValueError(f"variable {self.path!r} is {self._value.dtype}: a "
                                 f"{np.dtype(dtype)} array needs a copy")
            return self._value.astype(dtype)
        return self._value

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = _unwrap(out)
        result = getattr(ufunc, method)(*_unwrap(inputs), **kwargs)
        if out is not None and len(out) == 1 and isinstance(out[0], Variable):
            return out[0]  # `v += x` keeps the name bound to the variable
        return result

    def __array_function__(self, func, types, args, kwargs):
        return func(*_unwrap(args), **_unwrap(kwargs))

    def __getattr__(self, name):
        # Array attributes and methods (size, nbytes, copy, sum, astype …) are the array's.
        if name.startswith("__") or name == "_value":
            raise AttributeError(name)
        return getattr(self._value, name)

    def __getitem__(self, key):
        return self._value[_unwrap(key)]

    def __setitem__(self, key, value):
        self._value[_unwrap(key)] = _unwrap(value)

    def __len__(self):
        return len(self._value)

    def __iter__(self):
        return iter(self._value)

    def __bool__(self):
        return bool(self._value)

    def __float__(self):
        return float(self._value)

    def __int__(self):
        return int(self._value)

    __hash__ = object.__hash__  # by identity, like a Keras variable (== is elementwise)

    def __deepcopy__(self, memo):
        new = _copy.copy(self)
        new._value = self._value.copy()
        memo[id(self)] = new
        return new

    def __repr__(self):
        return (f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype.name}, "
                f"value={np.array2string(self._value, threshold=6, edgeitems=2)}>")


def live_array(x):
    """The numpy array behind a ``Variable`` (no copy: kernels then work on the live weight);
    anything else as it is.

    Example:
        >>> import numpy as np
        >>> a = np.zeros(2)
        >>> live_array(Variable(a, shape=(2,), dtype="float64", name="w")) is a
        True
    """
    value = getattr(x, "value", None)
    return value if isinstance(value, np.ndarray) and not isinstance(x, np.ndarray) else x
