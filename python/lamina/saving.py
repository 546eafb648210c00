"""Keras 3's ``keras.saving``: ``save_model`` / ``load_model`` of whole models.

The file format (the ``.lamina`` zip, atomic writes, safe reads) is ``lamina.io``; this
module builds the model a file describes and lets ``io`` fill it in.

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

from . import io
from .functional import Model

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
    io.save_model(model, filepath, overwrite=overwrite)


def _build(model_config, compile_config):
    """The model a file's config describes: built, and compiled when it was."""
    model = Model.from_config(model_config)  # Sequential or Functional, by the config
    if not model.built:
        raise ValueError("the saved model has no input shape")
    if compile_config is not None:
        model.compile_from_config(compile_config)
    return model


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Loads a model saved by ``model.save`` (architecture, weights, optimizer state).

    Args:
        filepath: A ``.lamina`` (or ``.keras``) file written by lamina.
        custom_objects: Must be None (lamina files hold built-in objects only). Defaults to
            `None`.
        compile: Restore the compile settings and optimizer state. Defaults to `True`.
        safe_mode: Always on: nothing in the file is executed. Defaults to `True`.

    Returns:
        The ``Sequential`` model; predictions are bit-identical to the saved model's and
        ``fit`` continues exactly where it stopped.

    Raises:
        ModelFileError: The file is truncated, corrupted, tampered with or inconsistent.

    Example:
        >>> import os, tempfile
        >>> import lamina
        >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)], seed=0)
        >>> model.compile(optimizer="adam", loss="mse")
        >>> path = os.path.join(tempfile.mkdtemp(), "m.lamina")
        >>> model.save(path); load_model(path).optimizer.name
        'adam'
    """
    if custom_objects:
        raise ValueError("custom_objects are not supported: lamina files hold only built-in "
                         "layers, losses and optimizers")
    return io.read_model(filepath, _build, compile=compile)
