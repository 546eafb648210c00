"""Keras's ``keras.mixed_precision`` names: ``set_global_policy("mixed_bfloat16")``.

``Policy`` is ``DTypePolicy``; ``global_policy`` / ``set_global_policy`` are
``lamina.dtype_policies.dtype_policy`` / ``set_dtype_policy`` (see that module for what
each policy computes in).

Example:
    >>> import lamina
    >>> lamina.mixed_precision.set_global_policy("mixed_bfloat16")
    >>> lamina.mixed_precision.global_policy()
    <DTypePolicy "mixed_bfloat16">
    >>> lamina.mixed_precision.set_global_policy("float32")
"""

from __future__ import annotations

from .dtype_policies import DTypePolicy, dtype_policy, set_dtype_policy

__all__ = ["DTypePolicy", "Policy", "dtype_policy", "global_policy", "set_dtype_policy",
           "set_global_policy"]

Policy = DTypePolicy
global_policy = dtype_policy
set_global_policy = set_dtype_policy
