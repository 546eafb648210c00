"""What a model keeps and hands on: its weights, its files and its configs.

``ModelState`` is mixed into ``Sequential`` (model.py): ``get_weights`` / ``set_weights``,
``save`` / ``save_weights`` / ``load_weights`` / ``export`` (their formats live above the model
classes, in lamina.saving and lamina.onnx_export, which install the functions these methods
call: see ``install_file_functions``), and Keras's ``get_config`` / ``from_config`` /
``get_compile_config`` / ``compile_from_config`` / ``to_json``.
"""

from __future__ import annotations

import json

import numpy as np

from . import layers as layers_mod
from . import losses as losses_mod
from . import metrics as metrics_mod
from . import optimizers as optimizers_mod
from ._version import __version__
from .layers.layer import checked_weight
from .trainer import serialized

__all__ = ["ModelState", "install_file_functions"]

# The file formats (lamina.saving, lamina.onnx_export) sit above the model classes: they read
# and build Sequential / Functional models. So that this module does not import them back,
# lamina.saving installs the functions `save`, `save_weights`, `load_weights` and `export`
# delegate to when it is imported (lamina's __init__ imports it).
_FILE_FUNCTIONS: dict = {}


def install_file_functions(**functions) -> None:
    """Sets the functions the models' file methods call (``save_model``, ``save_weights``,
    ``load_weights``, ``export``); lamina.saving calls this when it is imported.

    Example:
        >>> import lamina
        >>> sorted(lamina.model_state._FILE_FUNCTIONS)
        ['export', 'load_weights', 'save_model', 'save_weights']
    """
    _FILE_FUNCTIONS.update(functions)


def _file_function(name):
    try:
        return _FILE_FUNCTIONS[name]
    except KeyError:
        raise RuntimeError(f"lamina.saving is not loaded, so {name} is not available: "
                           "import lamina") from None


class ModelState:
    """Weights, files and configs of a model (mixed into ``Sequential``)."""

    # ------------------------------------------------------------------ weights -------
    def get_weights(self) -> list:
        """Copies of every parameter array, layer by layer (kernel, then bias)."""
        return [w.copy() for w in self.weights]

    @serialized
    def set_weights(self, weights) -> None:
        """Copies ``weights`` (as from ``get_weights``) into the live arrays, in place.

        All arrays are checked (count, shapes, finite values) before anything is copied.
        """
        self._require_built("set_weights")
        own = self.weights
        weights = list(weights)
        if len(weights) != len(own):
            raise ValueError(f"model {self.name!r} has {len(own)} weight arrays, got "
                             f"{len(weights)}")
        checked = []
        for layer, _ in self._leaves():
            for w in layer.weights:
                i = len(checked)
                what = f"weight {i} ({layer.name} {w.name})"
                checked.append(checked_weight(what, weights[i], w))
        for w, new in zip(own, checked):
            np.copyto(w, new, casting="unsafe")

    @serialized
    def save(self, filepath, overwrite=True, **kwargs) -> None:
        """Saves architecture, compile settings, weights and optimizer state to one file.

        ``.lamina`` is lamina's zip (``config.json``, ``weights.npz``, ``optimizer.npz``);
        ``.keras`` is Keras 3's format (Keras 3 loads it; needs h5py). Both are written
        atomically; ``lamina.load_model`` restores them so that predictions match and
        training resumes where it stopped.

        Args:
            filepath: Path ending in ``.lamina``, ``.keras`` or (legacy, with a warning as
                in Keras) ``.h5``.
            overwrite: Replace an existing file. Defaults to `True`.
        """
        _file_function("save_model")(self, filepath, overwrite=overwrite)

    @serialized
    def save_weights(self, filepath, overwrite=True) -> None:
        """Saves the weights alone (atomically): ``.weights.npz`` or Keras's ``.weights.h5``.

        Args:
            filepath: Path ending in ``.weights.npz`` or ``.weights.h5``.
            overwrite: Replace an existing file. Defaults to `True`.
        """
        _file_function("save_weights")(self, filepath, overwrite=overwrite)

    @serialized
    def load_weights(self, filepath, skip_mismatch=False) -> None:
        """Loads weights in place from ``.weights.npz``/``.weights.h5``/``.lamina``/``.keras``
        (or a legacy ``.h5``) file."""
        if skip_mismatch:
            raise ValueError("skip_mismatch=True is not supported")
        _file_function("load_weights")(self, filepath)

    def export(self, filepath, format="onnx", verbose=True, **kwargs) -> None:
        """Exports the model for serving (Keras 3's ``model.export``): an ONNX graph.

        Args:
            filepath: Target path, e.g. ``"model.onnx"``.
            format: Only ``"onnx"`` (opset 17; needs the onnx package). Defaults to
                `"onnx"`.
            verbose: Print where the file went. Defaults to `True`.
        """
        if format != "onnx":
            raise ValueError(f"export format {format!r} is not supported: only 'onnx'")
        if kwargs:
            raise TypeError(f"unexpected export arguments: {', '.join(sorted(kwargs))}")
        _file_function("export")(self, filepath)
        if verbose:
            print(f"Saved the ONNX graph of {self.name!r} to {filepath}")

    # ------------------------------------------------------------------ config --------
    def get_config(self) -> dict:
        """Returns the architecture and its hyperparameters (JSON-able)."""
        layers = []
        if self._input_layer is not None:
            layers.append(layers_mod.serialize(self._input_layer))
        elif self._input_shape is not None and not (
                self._layers and getattr(self._layers[0], "_batch_input_shape", None)):
            layers.append({"class_name": "InputLayer",
                           "config": {"shape": list(self._input_shape), "name": "input_layer"}})
        layers += [layers_mod.serialize(lay) for lay in self._layers]
        config = {"name": self.name, "dtype": self.dtype, "seed": self.seed, "layers": layers}
        if not self._trainable:
            config["trainable"] = False
        return config

    @classmethod
    def from_config(cls, config: dict):
        """Creates an (uncompiled) model from ``get_config()``'s output."""
        if not isinstance(config, dict):
            raise TypeError(f"config must be a dict, got {type(config).__name__}")
        unknown = set(config) - {"name", "dtype", "seed", "layers", "trainable",
                                 "build_input_shape"}
        if unknown:
            raise ValueError(f"unknown Sequential config keys: {', '.join(sorted(unknown))}")
        layer_configs = config.get("layers")
        if not isinstance(layer_configs, list):
            raise ValueError(f"config['layers'] must be a list, got {layer_configs!r}")
        model = cls(name=config.get("name"), seed=config.get("seed"),
                    dtype=config.get("dtype"), trainable=config.get("trainable", True))
        for lc in layer_configs:
            model.add(layers_mod.deserialize(lc))
        bis = config.get("build_input_shape")
        if bis is not None and not model.built:
            model.build(bis)
        return model

    def get_compile_config(self):
        """Returns the compile arguments (optimizer, loss, metrics, loss_weights, and
        weighted_metrics when there are some), or None."""
        if not self.compiled:
            return None
        metrics, weighted = ([m if isinstance(m, str) else metrics_mod.serialize(m)
                              for m in ids]
                             for ids in (self._metric_ids, self._weighted_metric_ids))
        config = {"optimizer": optimizers_mod.serialize(self.optimizer),
                  "loss": None if self._loss is None else losses_mod.serialize(self._loss),
                  "metrics": metrics, "loss_weights": self.loss_weights}
        if weighted:
            config["weighted_metrics"] = weighted
        return config

    def compile_from_config(self, config):
        """Compiles from ``get_compile_config()``'s output."""
        if not isinstance(config, dict):
            raise TypeError(f"compile config must be a dict, got {config!r}")
        unknown = set(config) - {"optimizer", "loss", "metrics", "loss_weights",
                                 "weighted_metrics"}
        if unknown:
            raise ValueError(f"unknown compile config keys: {', '.join(sorted(unknown))}")
        self.compile(optimizer=optimizers_mod.get(config.get("optimizer", "rmsprop")),
                     loss=None if config.get("loss") is None else losses_mod.get(config["loss"]),
                     metrics=_custom_metrics(config.get("metrics")),
                     weighted_metrics=_custom_metrics(config.get("weighted_metrics")),
                     loss_weights=config.get("loss_weights"))

    def to_json(self, **kwargs) -> str:
        """Returns the architecture as JSON: Keras 3's (the ``config.json`` of a ``.keras``
        file, without compile settings) for a built model, so ``keras.models.model_from_json``
        reads it as ``lamina.models.model_from_json`` does; an unbuilt model, which Keras's
        schema cannot describe without its input, as lamina's own config.

        Args:
            **kwargs: Passed to ``json.dumps``.
        """
        if self.built:
            from .keras_config import model_to_keras
            entry = model_to_keras(self, compile=False)
            entry["lamina_seed"] = self.seed  # Keras ignores it; lamina's clone repeats
            return json.dumps(entry, **kwargs)
        return json.dumps({"class_name": type(self).__name__, "config": self.get_config(),
                           "lamina_version": __version__}, **kwargs)


def _custom_metrics(ids):
    """``ids`` with the saved metric objects rebuilt now, while the loader's
    ``custom_objects`` are in scope (an id is otherwise resolved at its first use)."""
    if not isinstance(ids, list):
        return ids
    return [metrics_mod.get(m) if isinstance(m, dict) and m.get("class_name") not in (
        "accuracy", "acc") else m for m in ids]
