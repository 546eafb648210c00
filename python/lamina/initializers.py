"""Weight initializers with Keras 3's formulas, defaults and names.

An initializer is called with a shape and returns a new numpy array. Randomness comes from a
numpy ``Generator``: a model passes its own (seeded from ``Sequential(seed=...)`` or
``lamina.utils.set_random_seed``), so initialization is reproducible; an initializer built
with ``seed=`` uses that seed instead and returns the same values on every call (as Keras 3).

Example:
    >>> import numpy as np
    >>> import lamina
    >>> init = lamina.initializers.get("he_normal")
    >>> w = init((64, 32), dtype="float32", rng=np.random.default_rng(0))
    >>> w.shape, w.dtype.name
    ((64, 32), 'float32')
"""

from __future__ import annotations

import contextlib
import contextvars
import math

import numpy as np

from ._validation import config_repr, from_class_config

__all__ = [
    "Initializer", "Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "Identity",
    "LecunNormal", "LecunUniform", "Ones", "Orthogonal", "RandomNormal", "RandomUniform",
    "TruncatedNormal", "VarianceScaling", "Zeros", "get", "serialize", "deserialize",
    "IdentityInitializer", "OrthogonalInitializer", "constant", "glorot_normal",
    "glorot_uniform", "he_normal", "he_uniform", "identity", "lecun_normal", "lecun_uniform",
    "ones", "orthogonal", "random_normal", "random_uniform", "truncated_normal",
    "variance_scaling", "zeros",
]


def _compute_fans(shape):
    shape = tuple(int(s) for s in shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def _truncated_normal(rng, shape, mean, stddev):
    # Normal samples re-drawn until they lie within two standard deviations (like Keras).
    out = rng.standard_normal(shape)
    bad = np.abs(out) > 2.0
    while bad.any():
        out[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2.0
    return mean + stddev * out


# Bytes that weight initialization may still allocate in this context (None: no limit). A
# model file sets it from the size of the weights it really holds (lamina.io), so a small
# config that declares huge layers fails here, before the memory is allocated.
_budget = contextvars.ContextVar("lamina_weight_budget", default=None)


@contextlib.contextmanager
def _weight_budget(nbytes):
    """Limits the bytes of weights initialized inside the ``with`` block to ``nbytes``."""
    token = _budget.set([int(nbytes)])
    try:
        yield
    finally:
        _budget.reset(token)


def _charge(shape, dtype):
    left = _budget.get()
    if left is None:
        return
    nbytes = math.prod(int(s) for s in shape) * np.dtype(dtype).itemsize
    if nbytes > left[0]:
        raise ValueError(f"a weight of shape {tuple(shape)} needs {nbytes} bytes, more than "
                         f"the {left[0]} bytes of weights left in the file")
    left[0] -= nbytes


class Initializer:
    """Base class: ``init(shape, dtype=None, rng=None)`` returns a new array.

    Subclasses implement ``_sample(shape, rng)`` in float64; the result is cast to ``dtype``.

    Example:
        >>> init = get("ones"); isinstance(init, Initializer), init((2,), "float32").tolist()
        (True, [1.0, 1.0])
    """

    seed = None

    def __call__(self, shape, dtype=None, rng=None):
        """Returns a new array of ``shape`` and ``dtype``.

        Args:
            shape: Tuple of ints.
            dtype: "float32" or "float64". Defaults to `None` (``lamina.config.floatx()``).
            rng: ``numpy.random.Generator`` to draw from when this initializer has no seed
                of its own. Defaults to `None` (a fresh, unseeded generator).
        """
        from . import config

        shape = tuple(int(s) for s in shape)
        if any(s < 0 for s in shape):
            raise ValueError(f"initializer shape must be non-negative, got {shape}")
        dtype = np.dtype(dtype or config.floatx())
        _charge(shape, dtype)
        if self.seed is not None:
            rng = np.random.default_rng(self.seed)
        elif rng is None:
            rng = np.random.default_rng()
        return np.ascontiguousarray(self._sample(shape, rng), dtype=dtype)

    def _sample(self, shape, rng):  # pragma: no cover - abstract
        raise NotImplementedError

    def get_config(self) -> dict:
        """Returns the constructor arguments as a dict."""
        return {}

    @classmethod
    def from_config(cls, config: dict):
        """Creates an initializer from ``get_config()``'s output (lamina's or Keras's: the
        fan axes newer Keras versions write, ``input_axes`` / ``output_axes``, are accepted
        when None, their "as before")."""
        config = {k: v for k, v in config.items()
                  if not (k in ("input_axes", "output_axes") and v is None)}
        return cls(**config)

    __repr__ = config_repr


def _check_seed(seed):
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"initializer seed must be a non-negative int or None, got {seed!r}")
    return int(seed)


class Zeros(Initializer):
    """Initializes to 0.

    Example:
        >>> Zeros()((2,)).tolist()
        [0.0, 0.0]
    """

    def _sample(self, shape, rng):
        return np.zeros(shape)


class Ones(Initializer):
    """Initializes to 1.

    Example:
        >>> Ones()((2,)).tolist()
        [1.0, 1.0]
    """

    def _sample(self, shape, rng):
        return np.ones(shape)


class Constant(Initializer):
    """Initializes to a constant, or to an array broadcast to the weight's shape (as Keras's
    ``Constant``, e.g. an output bias ``Constant(np.log([pos / neg]))``).

    Args:
        value: A number, or an array-like that broadcasts to the weight's shape (one
            element counts as a number). Defaults to `0.0`.

    Example:
        >>> Constant(3.0)((2,)).tolist(), Constant([1.0, 2.0])((2, 2)).tolist()
        ([3.0, 3.0], [[1.0, 2.0], [1.0, 2.0]])
    """

    def __init__(self, value=0.0):
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"Constant value must be a number or an array of numbers, got "
                            f"{value!r}") from None
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"Constant value must be finite, got {value!r}")
        self.value = float(arr.reshape(())) if arr.size == 1 else arr

    def _sample(self, shape, rng):
        if isinstance(self.value, float):
            return np.full(shape, self.value)
        try:
            return np.array(np.broadcast_to(self.value, tuple(shape)))
        except ValueError:
            raise ValueError(f"Constant value of shape {self.value.shape} does not broadcast "
                             f"to the weight's shape {tuple(shape)}") from None

    def get_config(self):
        return {"value": self.value if isinstance(self.value, float) else self.value.tolist()}


class Identity(Initializer):
    """``gain`` times the identity matrix (ones on the main diagonal of a 2-D kernel, which
    need not be square), as Keras's ``Identity``.

    Args:
        gain: The diagonal's value. Defaults to `1.0`.

    Example:
        >>> Identity(2.0)((2, 3)).tolist()
        [[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]]
    """

    def __init__(self, gain=1.0):
        gain = float(gain)
        if not math.isfinite(gain):
            raise ValueError(f"Identity gain must be finite, got {gain!r}")
        self.gain = gain

    def _sample(self, shape, rng):
        if len(shape) != 2:
            raise ValueError(f"Identity initializes 2-D kernels only, got shape {shape}")
        return self.gain * np.eye(shape[0], shape[1])

    def get_config(self):
        return {"gain": self.gain}


class RandomNormal(Initializer):
    """Normal distribution.

    Args:
        mean: Mean. Defaults to `0.0`.
        stddev: Standard deviation. Defaults to `0.05`.
        seed: Seed of this initializer's own generator. Defaults to `None` (the model's).

    Example:
        >>> RandomNormal(seed=1)((3, 2)).shape
        (3, 2)
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = float(mean), float(stddev), _check_seed(seed)
        if not self.stddev >= 0:
            raise ValueError(f"stddev must be >= 0, got {stddev!r}")

    def _sample(self, shape, rng):
        return rng.normal(self.mean, self.stddev, shape)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(Initializer):
    """Uniform distribution on ``[minval, maxval)``.

    Args:
        minval: Lower bound. Defaults to `-0.05`.
        maxval: Upper bound. Defaults to `0.05`.
        seed: Seed of this initializer's own generator. Defaults to `None` (the model's).

    Example:
        >>> float(RandomUniform(0.0, 1.0, seed=1)((100,)).max()) < 1.0
        True
    """

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval, self.seed = float(minval), float(maxval), _check_seed(seed)
        if not self.maxval >= self.minval:
            raise ValueError(f"maxval must be >= minval, got minval={minval!r}, maxval={maxval!r}")

    def _sample(self, shape, rng):
        return rng.uniform(self.minval, self.maxval, shape)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class TruncatedNormal(Initializer):
    """Normal distribution truncated to two standard deviations around the mean.

    Args:
        mean: Mean. Defaults to `0.0`.
        stddev: Standard deviation before truncation. Defaults to `0.05`.
        seed: Seed of this initializer's own generator. Defaults to `None` (the model's).

    Example:
        >>> float(abs(TruncatedNormal(seed=0)((1000,))).max()) <= 0.1
        True
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = float(mean), float(stddev), _check_seed(seed)
        if not self.stddev >= 0:
            raise ValueError(f"stddev must be >= 0, got {stddev!r}")

    def _sample(self, shape, rng):
        return _truncated_normal(rng, shape, self.mean, self.stddev)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class VarianceScaling(Initializer):
    """Scales the distribution to the layer's fan (the family behind Glorot/He/LeCun).

    With ``n`` = fan_in, fan_out or their average (``mode``): "truncated_normal" draws a
    normal with stddev ``sqrt(scale / n) / 0.87962566103423978`` truncated at 2 stddev,
    "untruncated_normal" a normal with stddev ``sqrt(scale / n)``, "uniform" a uniform on
    ``[-sqrt(3 * scale / n), sqrt(3 * scale / n)]``.

    Args:
        scale: Positive scale. Defaults to `1.0`.
        mode: "fan_in", "fan_out" or "fan_avg". Defaults to `"fan_in"`.
        distribution: "truncated_normal", "untruncated_normal" or "uniform". Defaults to
            `"truncated_normal"`.
        seed: Seed of this initializer's own generator. Defaults to `None` (the model's).

    Example:
        >>> VarianceScaling(2.0, "fan_in", "uniform", seed=0)((4, 3)).shape
        (4, 3)
    """

    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        if not float(scale) > 0:
            raise ValueError(f"scale must be > 0, got {scale!r}")
        if mode not in self._MODES:
            raise ValueError(f"mode {mode!r} is not one of {', '.join(self._MODES)}")
        if distribution == "normal":  # Keras accepts this spelling
            distribution = "truncated_normal"
        if distribution not in self._DISTRIBUTIONS:
            raise ValueError(f"distribution {distribution!r} is not one of "
                             f"{', '.join(self._DISTRIBUTIONS)}")
        self.scale, self.mode, self.distribution = float(scale), mode, distribution
        self.seed = _check_seed(seed)

    def _sample(self, shape, rng):
        fan_in, fan_out = _compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        scale = self.scale / max(1.0, n)
        if self.distribution == "truncated_normal":
            return _truncated_normal(rng, shape, 0.0, math.sqrt(scale) / 0.87962566103423978)
        if self.distribution == "untruncated_normal":
            return rng.normal(0.0, math.sqrt(scale), shape)
        limit = math.sqrt(3.0 * scale)
        return rng.uniform(-limit, limit, shape)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed}


def _variance_scaling_preset(name, scale, mode, distribution, doc):
    def __init__(self, seed=None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed)

    def get_config(self):
        return {"seed": self.seed}

    return type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config,
                                            "__doc__": doc, "__module__": __name__})


GlorotUniform = _variance_scaling_preset("GlorotUniform", 1.0, "fan_avg", "uniform", """\
Glorot (Xavier) uniform: uniform on ``[-l, l]`` with ``l = sqrt(6 / (fan_in + fan_out))``.

    Args:
        seed: Seed of this initializer's own generator. Defaults to `None` (the model's).

    Example:
        >>> GlorotUniform(seed=0)((64, 32)).shape
        (64, 32)
    """)
GlorotNormal = _variance_scaling_preset("GlorotNormal", 1.0, "fan_avg", "truncated_normal", """\
Glorot (Xavier) normal: truncated normal, stddev ``sqrt(2 / (fan_in + fan_out))``.

    Args:
        seed: Seed of this initializer's own generator. Defaults to `None` (the model's).

    Example:
        >>> GlorotNormal(seed=0)((64, 32)).shape
        (64, 32)
    """)
HeUniform = _variance_scaling_preset("HeUniform", 2.0, "fan_in", "uniform", """\
He uniform: uniform on ``[-l, l]`` with ``l = sqrt(6 / fan_in)``.

    Args:
        seed: Seed of this initializer's own generator. Defaults to `None` (the model's).

    Example:
        >>> HeUniform(seed=0)((64, 32)).shape
        (64, 32)
    """)
HeNormal = _variance_scaling_preset("HeNormal", 2.0, "fan_in", "truncated_normal", """\
He normal: truncated normal with stddev ``sqrt(2 / fan_in)``.

    Args:
        seed: Seed of this initializer's own generator. Defaults to `None` (the model's).

    Example:
        >>> HeNormal(seed=0)((64, 32)).shape
        (64, 32)
    """)
LecunUniform = _variance_scaling_preset("LecunUniform", 1.0, "fan_in", "uniform", """\
LeCun uniform: uniform on ``[-l, l]`` with ``l = sqrt(3 / fan_in)``.

    Args:
        seed: Seed of this initializer's own generator. Defaults to `None` (the model's).

    Example:
        >>> LecunUniform(seed=0)((64, 32)).shape
        (64, 32)
    """)
LecunNormal = _variance_scaling_preset("LecunNormal", 1.0, "fan_in", "truncated_normal", """\
LeCun normal: truncated normal with stddev ``sqrt(1 / fan_in)``.

    Args:
        seed: Seed of this initializer's own generator. Defaults to `None` (the model's).

    Example:
        >>> LecunNormal(seed=0)((64, 32)).shape
        (64, 32)
    """)


class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix from the QR decomposition of a normal matrix, times ``gain``.

    Args:
        gain: Multiplier. Defaults to `1.0`.
        seed: Seed of this initializer's own generator. Defaults to `None` (the model's).

    Example:
        >>> import numpy as np
        >>> q = Orthogonal(seed=0)((4, 4))
        >>> bool(np.allclose(q.T @ q, np.eye(4), atol=1e-5))
        True
    """

    def __init__(self, gain=1.0, seed=None):
        self.gain, self.seed = float(gain), _check_seed(seed)

    def _sample(self, shape, rng):
        if len(shape) < 2:
            raise ValueError(f"Orthogonal needs a shape with at least 2 dimensions, got {shape}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = rng.standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        d = np.sign(np.diag(r))
        d[d == 0] = 1.0
        q = q * d
        if rows < cols:
            q = q.T
        return (self.gain * q).reshape(shape)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


# Keras 3 spellings: the lowercase names (``keras.initializers.he_normal(seed=1)``) and the
# long class names are the classes.
constant = Constant
glorot_normal = GlorotNormal
glorot_uniform = GlorotUniform
he_normal = HeNormal
he_uniform = HeUniform
identity = IdentityInitializer = Identity
lecun_normal = LecunNormal
lecun_uniform = LecunUniform
ones = Ones
orthogonal = OrthogonalInitializer = Orthogonal
random_normal = RandomNormal
random_uniform = RandomUniform
truncated_normal = TruncatedNormal
variance_scaling = VarianceScaling
zeros = Zeros

_CLASSES = {c.__name__: c for c in (
    Zeros, Ones, Constant, Identity, RandomNormal, RandomUniform, TruncatedNormal,
    VarianceScaling, GlorotUniform, GlorotNormal, HeUniform, HeNormal, LecunUniform,
    LecunNormal, Orthogonal)}
_NAMES = {
    "zeros": Zeros, "zero": Zeros, "ones": Ones, "one": Ones, "constant": Constant,
    "identity": Identity,
    "random_normal": RandomNormal, "random_uniform": RandomUniform,
    "normal": RandomNormal, "uniform": RandomUniform,  # Keras's aliases (Keras 2 scripts)
    "truncated_normal": TruncatedNormal, "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
    "xavier_uniform": GlorotUniform, "xavier_normal": GlorotNormal,
    "he_uniform": HeUniform, "he_normal": HeNormal,
    "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal, "orthogonal": Orthogonal,
}
_CANONICAL = {cls: name for name, cls in _NAMES.items() if name not in (
    "zero", "one", "xavier_uniform", "xavier_normal", "normal", "uniform")}


def get(identifier) -> Initializer:
    """Resolves an initializer from a name, a class name, a config dict or an instance.

    Args:
        identifier: "he_normal", "GlorotUniform", ``{"class_name": "RandomNormal",
            "config": {"stddev": 0.1}}``, an ``Initializer`` or its class, or None (which
            stays None, as in Keras: ``add_weight`` then uses "glorot_uniform", so
            ``Dense(bias_initializer=None)`` gets a glorot_uniform bias like Keras's).

    Example:
        >>> get("glorot_uniform"), get(None)
        (GlorotUniform(seed=None), None)
    """
    if identifier is None:
        return None
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if isinstance(identifier, str):
        cls = _NAMES.get(identifier.strip().lower()) or _CLASSES.get(identifier.strip())
        if cls is None:
            raise ValueError(f"unknown initializer {identifier!r}: accepted names are "
                             f"{', '.join(sorted(_CANONICAL.values()))}")
        return cls()
    if isinstance(identifier, dict):
        return from_class_config("initializer class", identifier, _CLASSES, _NAMES)
    raise TypeError(f"initializer must be a name, a config dict or an Initializer, "
                    f"got {identifier!r}")


def serialize(initializer):
    """Returns a name (default arguments) or ``{"class_name", "config"}`` (anything else).

    Example:
        >>> serialize(get("he_normal")), serialize(RandomNormal(stddev=0.1))["class_name"]
        ('he_normal', 'RandomNormal')
    """
    init = get(initializer)
    if init is None:
        return None
    cls = type(init)
    if init.get_config() == cls().get_config() and cls in _CANONICAL:
        return _CANONICAL[cls]
    return {"class_name": cls.__name__, "config": init.get_config()}


deserialize = get
