"""Dtype policies (Keras 3's ``keras.DTypePolicy`` and ``keras.dtype_policies``).

A policy names a layer's two dtypes: the one its weights are stored in (``variable_dtype``)
and the one its computations run in (``compute_dtype``). lamina runs three:

- ``"float32"`` (the default) and ``"float64"``: both dtypes the same;
- ``"mixed_bfloat16"``: weights in float32, the layer's matrix products (Dense's forward,
  input-gradient and weight-gradient GEMMs) on bfloat16-rounded inputs with float32
  accumulation. Everything else stays float32: activations, the loss and softmax,
  normalization statistics, the optimizer update and the master weights, as Keras's mixed
  precision guide prescribes. Activations are also stored in float32 (Keras stores them in
  bfloat16), so lamina's mixed policy rounds strictly less than Keras's.

``"float16"``, ``"mixed_float16"`` and ``"bfloat16"`` (bfloat16 weights) are refused: lamina
has no float16 path, and it keeps float32 master weights.

A layer takes its policy when it is created: its ``dtype=`` argument (a name, a
``DTypePolicy`` or its Keras config), else the global policy (``set_dtype_policy``; the
``lamina.mixed_precision`` module has Keras's legacy names for these functions).

Example:
    >>> import lamina
    >>> lamina.mixed_precision.set_global_policy("mixed_bfloat16")
    >>> dense = lamina.layers.Dense(4)
    >>> dense.dtype_policy, dense.compute_dtype, dense.variable_dtype
    (<DTypePolicy "mixed_bfloat16">, 'bfloat16', 'float32')
    >>> lamina.mixed_precision.set_global_policy("float32")
"""

from __future__ import annotations

from . import config as config_mod

__all__ = ["DTypePolicy", "POLICY_NAMES", "get", "serialize", "deserialize",
           "dtype_policy", "set_dtype_policy"]

# Policy name -> (compute dtype, variable dtype), the ones lamina runs.
_POLICIES = {"float32": ("float32", "float32"), "float64": ("float64", "float64"),
             "mixed_bfloat16": ("bfloat16", "float32")}
POLICY_NAMES = tuple(_POLICIES)
_REFUSED = {
    "mixed_float16": "lamina has no float16 compute path; use 'mixed_bfloat16' (bfloat16 "
                     "GEMM inputs, float32 accumulation and weights) instead",
    "float16": "lamina has no float16 compute path; use 'mixed_bfloat16' instead",
    "bfloat16": "lamina keeps float32 master weights; use 'mixed_bfloat16' (bfloat16 GEMM "
                "inputs, float32 weights) instead",
}
_ALIASES = {"float": "float32", "double": "float64", "half": "float16"}

_GLOBAL = [None]  # the policy set by set_dtype_policy; None: floatx's


class DTypePolicy:
    """A layer's dtype policy: the dtype of its weights and the dtype it computes in.

    Args:
        name: "float32", "float64" or "mixed_bfloat16" (module docstring). Defaults to
            `None` (the global policy's name).

    Example:
        >>> policy = DTypePolicy("mixed_bfloat16")
        >>> policy.name, policy.compute_dtype, policy.variable_dtype
        ('mixed_bfloat16', 'bfloat16', 'float32')
    """

    def __init__(self, name=None):
        if name is None:
            name = dtype_policy().name
        if not isinstance(name, str):
            raise TypeError(f"'name' must be a string, such as 'mixed_bfloat16', got "
                            f"{name!r} (of type {type(name).__name__})")
        name = _ALIASES.get(name, name)
        if name in _REFUSED:
            raise ValueError(f"dtype policy {name!r} is not supported: {_REFUSED[name]}")
        if name not in _POLICIES:
            raise ValueError(f"cannot convert {name!r} to a dtype policy: lamina's policies "
                             f"are {', '.join(repr(n) for n in POLICY_NAMES)}")
        self._name = name
        self._compute_dtype, self._variable_dtype = _POLICIES[name]

    @property
    def name(self) -> str:
        """The policy's name."""
        return self._name

    @property
    def compute_dtype(self) -> str:
        """The dtype the layer computes in ("bfloat16" for the GEMM inputs of a mixed policy)."""
        return self._compute_dtype

    @property
    def variable_dtype(self) -> str:
        """The dtype of the layer's weights."""
        return self._variable_dtype

    @property
    def quantization_mode(self):
        """Always None: lamina does not quantize (Keras's attribute)."""
        return None

    @property
    def is_mixed(self) -> bool:
        """Whether the compute dtype differs from the variable dtype."""
        return self._compute_dtype != self._variable_dtype

    def get_config(self) -> dict:
        """``{"name": name}``, as Keras writes it."""
        return {"name": self._name}

    @classmethod
    def from_config(cls, config):
        """The policy of ``get_config()``'s output."""
        return cls(**config)

    def __eq__(self, other):
        return isinstance(other, DTypePolicy) and other._name == self._name

    def __hash__(self):
        return hash(self._name)

    def __repr__(self):
        return f'<DTypePolicy "{self._name}">'


def get(identifier) -> DTypePolicy:
    """The policy for a name, a ``DTypePolicy``, a Keras config or None (the global policy).

    Args:
        identifier: "mixed_bfloat16", a ``DTypePolicy``, ``{"class_name": "DTypePolicy",
            "config": {"name": ...}}`` (Keras's serialized form; also with its "module"),
            a numpy float dtype, or None.

    Returns:
        A ``DTypePolicy``.

    Example:
        >>> get({"class_name": "DTypePolicy", "config": {"name": "float64"}})
        <DTypePolicy "float64">
    """
    if identifier is None:
        return dtype_policy()
    if isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        return DTypePolicy(identifier)
    name = getattr(identifier, "name", None)  # np.dtype
    if name is None and isinstance(identifier, type):
        import numpy as np

        try:
            name = np.dtype(identifier).name
        except TypeError:
            name = None
    if isinstance(name, str):
        return DTypePolicy(name)
    raise TypeError(f"cannot interpret {identifier!r} as a dtype policy: give a policy name "
                    "such as 'mixed_bfloat16' or a DTypePolicy")


def serialize(policy) -> dict:
    """Keras's serialized form: ``{"module", "class_name", "config", "registered_name"}``.

    Example:
        >>> serialize(DTypePolicy("float32"))["config"]
        {'name': 'float32'}
    """
    policy = get(policy)
    return {"module": "keras", "class_name": "DTypePolicy", "config": policy.get_config(),
            "registered_name": None}


def deserialize(config) -> DTypePolicy:
    """The policy of ``serialize``'s output (Keras's ``FloatDTypePolicy`` too).

    Example:
        >>> deserialize({"class_name": "DTypePolicy", "config": {"name": "float32"}})
        <DTypePolicy "float32">
    """
    if isinstance(config, str):
        return DTypePolicy(config)
    if not isinstance(config, dict):
        raise TypeError(f"a dtype policy config must be a dict, got {config!r}")
    cls = config.get("class_name", "DTypePolicy")
    if cls not in ("DTypePolicy", "FloatDTypePolicy", "Policy"):
        raise ValueError(f"dtype policy class {cls!r} is not supported (lamina does not "
                         "quantize): expected 'DTypePolicy'")
    inner = config.get("config", {})
    if not isinstance(inner, dict) or not isinstance(inner.get("name"), str):
        raise ValueError(f"a DTypePolicy config needs {{'name': str}}, got {inner!r}")
    return DTypePolicy(inner["name"])


def dtype_policy() -> DTypePolicy:
    """The global policy new layers take: the one set, else ``lamina.config.floatx()``'s.

    Example:
        >>> dtype_policy()
        <DTypePolicy "float32">
    """
    if _GLOBAL[0] is not None:
        return _GLOBAL[0]
    return DTypePolicy(config_mod.floatx())


def set_dtype_policy(policy) -> None:
    """Sets the global policy that layers created afterwards take (models too: their dtype
    becomes its variable dtype).

    A plain float policy ("float32", "float64") is ``lamina.config.set_floatx`` of that
    type: lamina keeps one global default float type, where Keras keeps floatx and the
    policy apart.

    Args:
        policy: A policy name ("float32", "float64", "mixed_bfloat16") or a
            ``DTypePolicy``; None returns to ``lamina.config.floatx()``'s policy.

    Example:
        >>> set_dtype_policy("mixed_bfloat16"); dtype_policy().compute_dtype
        'bfloat16'
        >>> set_dtype_policy(None)
    """
    if policy is not None and not isinstance(policy, (str, DTypePolicy)):
        raise ValueError(f"Invalid `policy` argument: expected the name of a policy (such as "
                         f"'mixed_bfloat16') or a DTypePolicy, got {policy!r}")
    policy = None if policy is None else get(policy)
    if policy is not None and not policy.is_mixed:
        # A plain float policy is floatx: one global default float type, not two.
        config_mod.set_floatx(policy.name)
        policy = None
    _GLOBAL[0] = policy
