"""Keras 3's files: ``.keras`` models, ``.weights.h5`` weights, legacy Keras 2 ``.h5`` models.

A ``.keras`` file is a zip of ``metadata.json`` (versions, date), ``config.json`` (the
model in Keras's serialization schema, ``lamina.keras_config``) and ``model.weights.h5``
(Keras's HDF5 layout, ``lamina.keras_weights``), so Keras 3 loads what lamina writes and
lamina loads what Keras writes: Sequential models and functional chains of layer kinds
both know, with compile settings and optimizer state. Writes are atomic (``lamina.io``);
reads check every member, size and shape and never run code from the file. lamina's own
format stays ``.lamina``.

Needs h5py (``pip install 'lamina[hdf5]'``).

Example:
    >>> import os, tempfile
    >>> import lamina
    >>> model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)], seed=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "m.keras")
    >>> model.save(path)
    >>> lamina.load_model(path).count_params()
    8
"""

from __future__ import annotations

import datetime
import json
import os
import warnings
import zipfile

from . import hdf5, initializers, io, keras_config, keras_weights
from ._version import __version__
from .atomic_write import atomic_write as _atomic_write
from .io import (ModelFileError, _check_target, _content_bound, _open_zip, _read_member,
                 _require_built)

__all__ = ["save_keras", "load_keras", "save_weights_h5", "load_weights_h5", "load_legacy_h5",
           "load_weights_keras"]

KERAS_VERSION = "3.5.0"        # the Keras version whose format lamina writes
_JSON_LIMIT = 16 << 20
_MEMBERS = ("metadata.json", "config.json", "model.weights.h5")


def _weights_limit(model):
    """Bytes a weights file of this model may take: its arrays, up to three optimizer slots
    each (AMSGrad), and slack for HDF5 metadata."""
    n = sum(w.nbytes for w in model.weights)
    return 5 * n + (8 << 20)


def save_keras(model, filepath, overwrite=True):
    """Writes a Keras 3 ``.keras`` zip (config, metadata, weights and optimizer state).

    Args:
        model: A built lamina model.
        filepath: Path ending in ``.keras``.
        overwrite: Replace an existing file. Defaults to `True`.
    """
    path = _check_target(filepath, overwrite, (".keras",), "model")
    _require_built(model, "save")
    hdf5.require_h5py("saving .keras files")
    config = keras_config.model_to_keras(model)
    metadata = {"keras_version": KERAS_VERSION, "lamina_version": __version__,
                "lamina_seed": model.seed,  # dropout masks and shuffling resume the same
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}
    weights = hdf5.to_bytes(lambda f: keras_weights.fill_h5(model, f))
    members = {"metadata.json": json.dumps(metadata).encode(),
               "config.json": json.dumps(config, allow_nan=False).encode(),
               "model.weights.h5": weights}

    def write(f):
        with zipfile.ZipFile(f, "w") as zf:
            for name, data in members.items():
                zf.writestr(name, data, compress_type=zipfile.ZIP_STORED
                            if name.endswith(".h5") else zipfile.ZIP_DEFLATED)

    _atomic_write(path, write)


def save_legacy_h5(model, filepath, overwrite=True):
    """Writes a whole model in the legacy HDF5 layout Keras 3 writes for ``model.save(
    "model.h5")`` (and ``ModelCheckpoint("best_model.h5")``): the ``model_config`` and
    ``training_config`` attributes, ``model_weights`` (a group per layer with its
    ``weight_names``) and ``optimizer_weights`` (Keras's optimizer variables in order). Keras 2
    and 3 load it with the optimizer state; lamina reads it back with a fresh optimizer, as
    for any legacy file. Like Keras, it warns that the format is legacy.

    Args:
        model: A built lamina model; nested models are not written in this format.
        filepath: Path ending in ``.h5`` or ``.hdf5``.
        overwrite: Replace an existing file. Defaults to `True`.
    """
    path = _check_target(filepath, overwrite, (".h5", ".hdf5"), "model")
    _require_built(model, "save")
    hdf5.require_h5py("saving .h5 files")
    warnings.warn("saving as a legacy HDF5 (.h5) file, as Keras does for this extension; "
                  "the .keras format (or lamina's .lamina) keeps everything and is the "
                  "recommended one", UserWarning, stacklevel=3)
    layers = [lay for lay in model.layers if lay.weights or
              not isinstance(lay, keras_config.layers_mod.InputLayer)]
    if any(isinstance(getattr(lay, "layers", None), list) for lay in layers):
        raise ValueError(f"{path!r}: a model with a nested model cannot be saved as a "
                         "legacy .h5 file; use .keras")
    entry = keras_config.model_to_keras(model, compile=False)
    attrs = {"backend": "lamina", "keras_version": KERAS_VERSION,
             "lamina_version": __version__,
             "model_config": json.dumps({"class_name": entry["class_name"],
                                         "config": entry["config"]}, allow_nan=False)}
    opt = None
    cc = keras_config.compile_to_keras(model) if model.compiled else None
    if cc is not None:
        attrs["training_config"] = json.dumps(
            {**{k: cc[k] for k in ("loss", "loss_weights", "metrics", "weighted_metrics",
                                   "run_eagerly", "steps_per_execution", "jit_compile")},
             "optimizer_config": {"class_name": cc["optimizer"]["class_name"],
                                  "config": cc["optimizer"]["config"]}}, allow_nan=False)
        if model._loss is not None:
            opt = io.saved_optimizer(model)

    def fill(f):
        for key, value in attrs.items():
            f.attrs[key] = value
        weights = f.create_group("model_weights")
        weights.attrs["backend"], weights.attrs["keras_version"] = "lamina", KERAS_VERSION
        weights.attrs["layer_names"] = [lay.name.encode() for lay in layers]
        for lay in layers:
            group = weights.create_group(lay.name)
            names = [getattr(w, "path", f"{model.name}/{lay.name}/{i}")
                     for i, w in enumerate(lay.weights)]
            group.attrs["weight_names"] = [n.encode() for n in names]
            for name, w in zip(names, lay.get_weights()):
                group.create_dataset(name, data=w)
        weights.create_group("top_level_model_weights").attrs["weight_names"] = []
        if opt is not None:
            values = keras_weights._optimizer_arrays(opt, model.trainable_weights)
            group = f.create_group("optimizer_weights")
            names = [f"{opt.name}/var_{i}" for i in range(len(values))]
            group.attrs["weight_names"] = [n.encode() for n in names]
            for name, value in zip(names, values):
                group.create_dataset(name, data=value)

    hdf5.write_atomic(path, fill)


def _json_member(zf, path, name):
    try:
        value = json.loads(_read_member(zf, path, name, _JSON_LIMIT))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise ModelFileError(f"{path!r}: {name} is not valid JSON (or nested too deeply): "
                             f"{type(exc).__name__}") from None
    if not isinstance(value, dict):
        raise ModelFileError(f"{path!r}: {name} must hold a JSON object")
    return value


def _compile(model, cc, path):
    try:
        model.compile_from_config(cc)
    except (ValueError, TypeError, KeyError) as exc:
        raise ModelFileError(f"{path!r}: invalid compile_config: {exc}") from None


def load_keras(filepath, compile=True):
    """Reads a Keras 3 ``.keras`` zip (written by Keras or lamina) into a lamina model.

    Args:
        filepath: Path of the ``.keras`` file.
        compile: Restore the compile settings and optimizer state. Defaults to `True`.

    Raises:
        ModelFileError: A truncated, tampered or unsupported file (the message names an
            unsupported layer class).
    """
    path = os.fspath(filepath)
    with _open_zip(path, "Keras model") as zf:
        names = set()
        for info in zf.infolist():
            if info.filename in names:
                raise ModelFileError(f"{path!r} contains {info.filename!r} twice")
            names.add(info.filename)
        if "config.json" not in names:
            if "weights.npz" in names:
                raise ModelFileError(f"{path!r} is a lamina-format file under the .keras "
                                     "extension (written by lamina < 0.2): rename it to "
                                     ".lamina and load that")
            raise ModelFileError(f"{path!r} has no config.json: not a Keras model file")
        entry = _json_member(zf, path, "config.json")
        seed = None
        if "metadata.json" in names:
            seed = _json_member(zf, path, "metadata.json").get("lamina_seed")
            if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)
                                     or not 0 <= seed < 2**63):
                raise ModelFileError(f"{path!r}: metadata.json lamina_seed {seed!r} is not "
                                     "a seed")
        # The weights the config declares are charged against what model.weights.h5 can
        # hold (float32 in the file, float64 in a model: twice), so a config declaring huge
        # layers fails before the memory is taken (as .lamina files do).
        budget = 4096 + (2 * _content_bound(zf.getinfo("model.weights.h5"))
                         if "model.weights.h5" in names else 0)
        try:
            with initializers._weight_budget(budget):
                model = keras_config.model_from_keras(entry, where=f"{path!r}: config.json",
                                                      seed=seed)
        except RecursionError:
            raise ModelFileError(f"{path!r}: config.json is nested too deeply") from None
        cc = keras_config.compile_from_keras(entry.get("compile_config"),
                                             where=f"{path!r}: config.json") if compile else None
        if cc is not None:
            _compile(model, cc, path)
        if "model.weights.h5" not in names:
            if model.weights:
                raise ModelFileError(f"{path!r} has no model.weights.h5")
            return model
        info = zf.getinfo("model.weights.h5")
        limit = _weights_limit(model)
        if info.file_size > limit:
            raise ModelFileError(f"{path!r}: model.weights.h5 claims {info.file_size} bytes, "
                                 f"more than this model's weights can take ({limit})")
        data = _read_member(zf, path, "model.weights.h5", limit)
    with hdf5.open_checked(data, f"{path}/model.weights.h5", "Keras") as checked:
        functional = entry.get("class_name") != "Sequential"
        keras_weights.read_h5(model, checked, optimizer=cc is not None,
                              functional=functional)
    return model


def load_weights_keras(model, filepath):
    """Copies the weights of a Keras 3 ``.keras`` file into ``model`` in place."""
    path = os.fspath(filepath)
    _require_built(model, "load_weights")
    with _open_zip(path, "Keras model") as zf:
        if "model.weights.h5" not in zf.namelist():
            raise ModelFileError(f"{path!r} has no model.weights.h5")
        info = zf.getinfo("model.weights.h5")
        limit = _weights_limit(model)
        if info.file_size > limit:
            raise ModelFileError(f"{path!r}: model.weights.h5 claims {info.file_size} bytes, "
                                 f"more than this model's weights can take ({limit})")
        data = _read_member(zf, path, "model.weights.h5", limit)
    with hdf5.open_checked(data, f"{path}/model.weights.h5", "Keras") as checked:
        keras_weights.read_h5(model, checked, optimizer=False)


def save_weights_h5(model, filepath, overwrite=True):
    """Writes the weights (and optimizer variables) in Keras 3's ``.weights.h5`` layout."""
    path = _check_target(filepath, overwrite, (".weights.h5",), "weights")
    _require_built(model, "save_weights")
    hdf5.write_atomic(path, lambda f: keras_weights.fill_h5(model, f))


def load_weights_h5(model, filepath):
    """Copies weights from a Keras 3 ``.weights.h5`` file into ``model`` in place (and the
    optimizer state when the file has it and the model is compiled)."""
    path = os.fspath(filepath)
    _require_built(model, "load_weights")
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such weights file: {path!r}")
    size = os.path.getsize(path)
    if size > _weights_limit(model):
        raise ModelFileError(f"{path!r} has {size} bytes, more than this model's weights can "
                             f"take ({_weights_limit(model)})")
    with hdf5.open_checked(path, path, "Keras weights") as checked:
        if checked.has("model_weights"):  # a legacy whole-model .h5
            _legacy_weights(model, checked)
        else:
            keras_weights.read_h5(model, checked)


# ---------------------------------------------------------------- legacy Keras 2 .h5 ----
def _legacy_weights(model, checked):
    path = checked.path
    layers = [layer for _, layer in keras_weights.layer_paths(model)]
    staged = []
    for layer in layers:
        live = layer.weights
        group = f"model_weights/{layer.name}"
        if not live:
            continue
        if not checked.has(group):
            raise ModelFileError(f"{path!r} has no weights for layer {layer.name!r}")
        names = checked.attr(group, "weight_names")
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in (names if names is
                                                                         not None else [])]
        if len(names) != len(live):
            raise ModelFileError(f"{path!r}: layer {layer.name!r} has {len(names)} weights in "
                                 f"the file, the model needs {len(live)}")
        for name, w in zip(names, live):
            staged.append((w, checked.read(f"{group}/{name}", w.shape, w.dtype)))
    for w, arr in staged:
        keras_weights._check_finite(arr, "a weight", path)
        w[...] = arr


def load_legacy_h5(filepath, compile=True):
    """Reads a Keras 2 whole-model ``.h5`` (the ``model_config`` attribute and the
    ``model_weights`` group): architecture and weights; the compile settings when
    ``compile`` (the optimizer starts fresh: Keras 2's optimizer weights are not read).

    Raises:
        ModelFileError: Not a Keras 2 model file, or an unsupported / tampered one.
    """
    path = os.fspath(filepath)
    with hdf5.open_checked(path, path, "legacy Keras .h5") as checked:
        raw = checked.attr("", "model_config")
        if raw is None or not checked.has("model_weights"):
            raise ModelFileError(f"{path!r} is not a Keras whole-model .h5 file (no "
                                 "model_config attribute / model_weights group); for "
                                 "weights use model.load_weights")
        try:
            entry = json.loads(raw)
            # the declared weights must fit in the file (as for .keras and .lamina files)
            with initializers._weight_budget(2 * os.path.getsize(path) + 4096):
                model = keras_config.model_from_keras(entry, where=f"{path!r}: model_config")
        except (json.JSONDecodeError, TypeError, RecursionError) as exc:
            raise ModelFileError(f"{path!r}: model_config is not valid JSON (or nested too "
                                 f"deeply): {type(exc).__name__}") from None
        if compile:
            training = checked.attr("", "training_config")
            if training:
                try:
                    tc = json.loads(training)
                    if not isinstance(tc, dict):
                        raise TypeError("not an object")
                except (json.JSONDecodeError, TypeError, RecursionError) as exc:
                    raise ModelFileError(f"{path!r}: training_config is not valid JSON: "
                                         f"{exc}") from None
                cc = {"optimizer": (tc.get("optimizer_config") or "rmsprop"),
                      "loss": tc.get("loss"), "metrics": tc.get("metrics")}
                _compile(model, keras_config.compile_from_keras(cc, path), path)
        _legacy_weights(model, checked)
    return model
