"""lamina: Keras-style dense networks on the CPU, with the hot paths in a C++ core.

``import lamina as keras`` runs a Keras 3 MLP script: ``Sequential``, ``Input``, ``layers``,
``optimizers``, ``losses``, ``metrics``, ``callbacks``, ``utils``, ``models``, ``datasets``,
``backend``.

Example:
    >>> import lamina
    >>> lamina.cpu_info()["isa"] in lamina.cpu_info()["supported"]
    True
    >>> model = lamina.Sequential([lamina.Input(shape=(64,)),
    ...                            lamina.layers.Dense(10, activation="softmax")])
    >>> model.output_shape
    (None, 10)
"""

from ._version import __version__

try:
    from . import _core  # noqa: F401
except ImportError as exc:  # pragma: no cover - only when the build is missing or broken
    raise ImportError(
        "lamina's compiled core is missing or failed to load: reinstall with `pip install .` "
        f"from the source tree (original error: {exc})"
    ) from exc

from . import (activations, callbacks, config, constraints, datasets, initializers, layers,
               losses, metrics, models, optimizers, regularizers, saving, utils)
from . import backend
from . import dtype_policies, mixed_precision
from .dtype_policies import DTypePolicy
from .io import ModelFileError
from .variables import Variable
from .layers import Input
from .functional import Model
from .model import Sequential
from .models import load_model, model_from_json
from .runtime import cpu_info, get_num_threads, set_num_threads

__all__ = [
    "__version__",
    "DTypePolicy",
    "dtype_policies",
    "mixed_precision",
    "Input",
    "Model",
    "ModelFileError",
    "Sequential",
    "Variable",
    "activations",
    "backend",
    "callbacks",
    "config",
    "constraints",
    "cpu_info",
    "datasets",
    "get_num_threads",
    "initializers",
    "layers",
    "load_model",
    "losses",
    "metrics",
    "model_from_json",
    "models",
    "optimizers",
    "regularizers",
    "saving",
    "set_num_threads",
    "utils",
]

# Submodules with optional dependencies (scikit-learn, joblib/dask/ray, matplotlib) or a
# heavier import load only when first used: `lamina.tune.search(...)` works without an import.
_LAZY_SUBMODULES = ("bench", "diagnose", "experiment", "ops", "plot", "runfile", "sklearn", "tune")


def __getattr__(name):
    if name in _LAZY_SUBMODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
