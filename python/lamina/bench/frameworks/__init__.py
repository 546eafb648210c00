"""One module per compared framework, each written the way that framework's users write it.

A framework object (see :class:`~lamina.bench.frameworks.base.Framework`) answers
``available()`` without importing anything heavy, so the runner can skip missing frameworks
with a note; everything else runs inside the framework's own benchmark subprocess.
"""

from __future__ import annotations

import importlib

from .base import Framework

# column name -> (module, factory attribute, keyword arguments)
_REGISTRY = {
    "lamina": ("lamina_fw", "LaminaFramework", {}),
    "lamina-bf16": ("lamina_fw", "LaminaFramework", {"policy": "mixed_bfloat16"}),
    "torch": ("torch_fw", "TorchFramework", {"fused": False}),
    "torch-fused": ("torch_fw", "TorchFramework", {"fused": True}),
    "torch-bf16": ("torch_fw", "TorchFramework", {"fused": True, "autocast": True}),
    "sklearn": ("sklearn_fw", "SklearnFramework", {}),
    "numpy": ("numpy_fw", "NumpyFramework", {}),
}

FRAMEWORKS = tuple(_REGISTRY)

# What a name on the command line selects: "torch" is both of its float32 columns; "bf16"
# the two mixed-precision ones (lamina's mixed_bfloat16 policy, torch's bf16 autocast).
ALIASES = {"torch": ("torch", "torch-fused"), "torch-eager": ("torch",),
           "scikit-learn": ("sklearn",), "bf16": ("lamina-bf16", "torch-bf16")}


def expand(names) -> list[str]:
    """Column names for a list of command-line names, in the registry's order.

    Raises:
        ValueError: for a name that is neither a column nor an alias.
    """
    chosen = set()
    for name in names:
        name = name.strip()
        if not name:
            continue
        if name in ALIASES:
            chosen.update(ALIASES[name])
        elif name in _REGISTRY:
            chosen.add(name)
        else:
            raise ValueError(f"unknown framework {name!r}: choose from "
                             f"{', '.join(sorted(set(_REGISTRY) | set(ALIASES)))}")
    return [n for n in FRAMEWORKS if n in chosen]


def get(name: str) -> Framework:
    """The framework object for a column name (imports only its small wrapper module)."""
    module, attr, kwargs = _REGISTRY[name]
    mod = importlib.import_module(f"{__name__}.{module}")
    return getattr(mod, attr)(**kwargs)
