"""Keras 3's ``keras.saving``: ``save_model`` / ``load_model`` of whole models and weights.

This module picks the format from the file name: ``.lamina`` is lamina's own zip
(``lamina.io``: this module builds the model a file describes and lets ``io`` fill it in),
``.keras`` and ``.weights.h5`` are Keras 3's formats and ``.h5`` a legacy Keras 2 model
(``lamina.keras_format``, needs h5py), ``.weights.npz`` lamina's weights file.

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

import os
import zipfile

from . import io
from . import model_state
from .functional import Model
from .object_registration import (CustomObjectScope, custom_object_scope, get_custom_objects,
                                  get_registered_name, get_registered_object,
                                  register_keras_serializable)

__all__ = ["load_model", "save_model", "save_weights", "load_weights",
           "register_keras_serializable", "custom_object_scope", "CustomObjectScope",
           "get_custom_objects", "get_registered_name", "get_registered_object"]


def _keras_format():
    from . import keras_format  # imports h5py lazily, only for Keras files

    return keras_format


def save_model(model, filepath, overwrite=True, **kwargs):
    """Same as ``model.save(filepath, overwrite)``: one atomic ``.lamina``, ``.keras`` or
    legacy ``.h5`` file.

    Args:
        model: A built model.
        filepath: Path ending in ``.lamina`` (lamina's format), ``.keras`` (Keras 3's) or
            ``.h5`` (the legacy HDF5 layout Keras 3 still writes, with a warning).
        overwrite: Replace an existing file. Defaults to `True`.

    Example:
        >>> import os, tempfile
        >>> import lamina
        >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)], seed=0)
        >>> save_model(model, os.path.join(tempfile.mkdtemp(), "m.lamina"))
    """
    path = os.fspath(filepath)
    if path.endswith(".keras"):
        _keras_format().save_keras(model, path, overwrite=overwrite)
    elif path.endswith(".lamina"):
        io.save_model(model, path, overwrite=overwrite)
    elif path.endswith((".h5", ".hdf5")) and not path.endswith(".weights.h5"):
        _keras_format().save_legacy_h5(model, path, overwrite=overwrite)
    else:
        raise ValueError(f"model path must end in .lamina, .keras or (legacy) .h5, got "
                         f"{path!r}")


def save_weights(model, filepath, overwrite=True):
    """Same as ``model.save_weights``: ``.weights.npz`` (lamina) or ``.weights.h5`` (Keras 3).

    Args:
        model: A built model.
        filepath: Path ending in ``.weights.npz`` or ``.weights.h5``.
        overwrite: Replace an existing file. Defaults to `True`.

    Example:
        >>> import os, tempfile
        >>> import lamina
        >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)], seed=0)
        >>> save_weights(model, os.path.join(tempfile.mkdtemp(), "m.weights.npz"))
    """
    path = os.fspath(filepath)
    if path.endswith(".weights.h5"):
        _keras_format().save_weights_h5(model, path, overwrite=overwrite)
    elif path.endswith(".weights.npz"):
        io.save_weights(model, path, overwrite=overwrite)
    else:
        raise ValueError(f"weights path must end in .weights.npz or .weights.h5, got {path!r}")


def _is_lamina_zip(path):
    """Whether a ``.keras`` file is lamina's own zip (written under .keras by lamina 0.1)."""
    try:
        with zipfile.ZipFile(path) as zf:
            return "weights.npz" in zf.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


def load_weights(model, filepath):
    """Same as ``model.load_weights``: copies a file's weights into ``model`` in place.

    Args:
        model: A built model with the saved architecture.
        filepath: A ``.weights.npz``, ``.weights.h5``, ``.lamina``, ``.keras`` or legacy
            ``.h5`` file.

    Example:
        >>> import os, tempfile
        >>> import lamina
        >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)], seed=0)
        >>> path = os.path.join(tempfile.mkdtemp(), "m.weights.npz")
        >>> save_weights(model, path); load_weights(model, path)
    """
    path = os.fspath(filepath)
    if path.endswith((".h5", ".hdf5")):
        _keras_format().load_weights_h5(model, path)
    elif path.endswith(".keras") and not _is_lamina_zip(path):
        _keras_format().load_weights_keras(model, path)
    else:
        io.load_weights(model, path)


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
        filepath: A ``.lamina`` file, a Keras 3 ``.keras`` file (written by lamina or
            Keras) or a legacy Keras 2 ``.h5`` model.
        custom_objects: ``{saved name: function or class}``: the user's own losses and
            metrics the compile settings name (a name is the object's ``__name__``, or its
            ``"package>name"`` when registered with ``register_keras_serializable``).
            Defaults to `None`.
        compile: Restore the compile settings and optimizer state. Defaults to `True`.
        safe_mode: Always on: nothing in the file is executed (no lambdas, no classes
            lamina does not ship). Defaults to `True`.

    Returns:
        The ``Sequential`` model; predictions are bit-identical to the saved model's and
        ``fit`` continues exactly where it stopped.

    Raises:
        ModelFileError: The file is truncated, corrupted, tampered with or inconsistent,
            or its compile settings name a custom loss or metric that is neither
            registered nor in ``custom_objects`` (the message names it; ``compile=False``
            loads the model uncompiled).

    Example:
        >>> import os, tempfile
        >>> import lamina
        >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)], seed=0)
        >>> model.compile(optimizer="adam", loss="mse")
        >>> path = os.path.join(tempfile.mkdtemp(), "m.lamina")
        >>> model.save(path); type(load_model(path).optimizer).__name__
        'Adam'
    """
    path = os.fspath(filepath)
    with custom_object_scope(custom_objects):
        if path.endswith((".h5", ".hdf5")) and not path.endswith(".weights.h5"):
            return _keras_format().load_legacy_h5(path, compile=compile)
        if path.endswith(".keras") and os.path.exists(path) and not _is_lamina_zip(path):
            return _keras_format().load_keras(path, compile=compile)
        return io.read_model(path, _build, compile=compile)


def _export_onnx(model, filepath):
    from .onnx_export import export_onnx  # needs the onnx package: imported on use

    export_onnx(model, filepath)


# The models' save / save_weights / load_weights / export methods call these (model.py does
# not import this module, which imports the model classes).
model_state.install_file_functions(save_model=save_model, save_weights=save_weights,
                                 load_weights=load_weights, export=_export_onnx)
