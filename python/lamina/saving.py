"""Keras 3's ``keras.saving`` spelling of model files: ``save_model`` / ``load_model``.

Example:
    >>> import os, tempfile
    >>> import lamina
    >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)], seed=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "m.keras")
    >>> lamina.saving.save_model(model, path)
    >>> lamina.saving.load_model(path).count_params()
    3
"""

from __future__ import annotations

from .io import load_model
from .io import save_model as _save_model

__all__ = ["load_model", "save_model"]


def save_model(model, filepath, overwrite=True, **kwargs):
    """Same as ``model.save(filepath, overwrite)``: one atomic ``.lamina``/``.keras`` zip.

    Args:
        model: A built model.
        filepath: Path ending in ``.lamina`` or ``.keras``.
        overwrite: Replace an existing file. Defaults to `True`.

    Example:
        >>> import os, tempfile
        >>> import lamina
        >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)], seed=0)
        >>> save_model(model, os.path.join(tempfile.mkdtemp(), "m.lamina"))
    """
    _save_model(model, filepath, overwrite=overwrite)
