"""KerasTuner's tuners, driving lamina models: ``from lamina import keras_tuner``.

``RandomSearch``, ``GridSearch``, ``Hyperband`` and ``BayesianOptimization`` here *are*
KerasTuner's tuners (subclasses), so hyperparameters (``hp.Int``, ``hp.Choice`` …), oracles,
``search_space_summary``, ``results_summary``, ``get_best_hyperparameters`` and the
directory layout (``directory/project_name/trial_*/``) are KerasTuner's own. A mixin
overrides the few methods where KerasTuner touches a model:

- ``_try_build``: accepts a lamina model (KerasTuner checks ``isinstance(model,
  keras.Model)``); still enforces ``max_model_size``;
- ``_build_and_fit_model``: fits through ``HyperModel.fit`` (lamina's ``fit``), saves the
  build config and hands KerasTuner a ``keras.callbacks.History`` with lamina's curves;
- ``_get_checkpoint_fname``: the best epoch's weights go to
  ``trial_*/checkpoint.weights.npz`` (lamina's weights file) instead of ``.weights.h5``.

KerasTuner's own callbacks (``TunerCallback``, ``SaveBestEpoch``) run inside lamina's
``fit`` unchanged, through Keras's callback protocol, and reload models through lamina's
``get_build_config`` / ``build_from_config`` / ``save_weights`` / ``load_weights``. The
names KerasTuner users import besides the tuners (``HyperParameters``, ``HyperModel``,
``Objective``, ``oracles`` …) are re-exported. Install with ``pip install 'lamina[tuner]'``.

KerasTuner imports Keras, and Keras needs a backend: when none is usable
(``KERAS_BACKEND`` unset, ``~/.keras/keras.json`` absent or naming a backend that is not
installed) this module sets ``KERAS_BACKEND`` to the first of
tensorflow, jax and torch that is installed (``lamina[tuner]`` brings jax); lamina trains
the models whichever it is.

Example:
    >>> from lamina import keras_tuner  # doctest: +SKIP
    >>> tuner = keras_tuner.RandomSearch(build_model, objective="val_accuracy",
    ...                                  max_trials=3)  # doctest: +SKIP
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys


def _choose_keras_backend():
    if "keras" in sys.modules or os.environ.get("KERAS_BACKEND"):
        return
    home = os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))
    try:  # Keras writes keras.json (backend "tensorflow") on its first import
        with open(os.path.join(home, "keras.json")) as f:
            configured = json.load(f).get("backend")
    except (OSError, ValueError, AttributeError):
        configured = None
    if configured and importlib.util.find_spec(configured) is not None:
        return
    for name in ("tensorflow", "jax", "torch"):
        if importlib.util.find_spec(name) is not None:
            os.environ["KERAS_BACKEND"] = name
            return
    # (Keras's numpy backend imports jax too, so there is no lighter fallback.)
    raise ImportError("lamina.keras_tuner: KerasTuner imports Keras, which needs a backend: "
                      "`pip install 'lamina[tuner]'` (brings jax), or install torch or "
                      "tensorflow")


_choose_keras_backend()
try:
    import keras
    import keras_tuner as _kt
except ImportError as exc:
    raise ImportError(f"lamina.keras_tuner needs KerasTuner: `pip install 'lamina[tuner]'` "
                      f"({exc})") from None

from keras_tuner import (  # noqa: E402  (re-exported for scripts that import them from here)
    HyperModel, HyperParameters, Objective, Oracle, Tuner, errors, oracles)
from keras_tuner.src.engine import tuner_utils  # noqa: E402
from keras_tuner.src.engine.tuner import maybe_compute_model_size  # noqa: E402
from keras_tuner.src import utils as _kt_utils  # noqa: E402

from .trainer import Trainer  # noqa: E402

__all__ = ["RandomSearch", "GridSearch", "Hyperband", "BayesianOptimization", "HyperModel",
           "HyperParameters", "Objective", "Oracle", "Tuner", "errors", "oracles",
           "LaminaTunerMixin"]


def _as_keras_results(results):
    """lamina's History -> keras.callbacks.History (what KerasTuner reads), recursively."""
    if isinstance(results, list):
        return [_as_keras_results(r) for r in results]
    if isinstance(results, Trainer) or results is None:
        return results
    if hasattr(results, "history") and hasattr(results, "epoch") and not isinstance(
            results, keras.callbacks.History):
        h = keras.callbacks.History()
        h.history = {k: list(v) for k, v in results.history.items()}
        h.epoch = list(results.epoch)
        return h
    return results


class LaminaTunerMixin:
    """The methods of KerasTuner's ``Tuner`` where it meets a model, for lamina models.

    Put it first in the bases of a KerasTuner tuner:
    ``class MyTuner(LaminaTunerMixin, keras_tuner.Tuner)``.
    """

    def _try_build(self, hp):
        model = self._build_hypermodel(hp)
        if not isinstance(model, (Trainer, keras.Model)):
            raise errors.FatalTypeError(
                "Expected the model-building function, or HyperModel.build() to return a "
                f"lamina (or Keras) model. Received: {model} of type {type(model)}.")
        size = maybe_compute_model_size(model)
        if self.max_model_size and size > self.max_model_size:
            raise errors.FailedTrialError(f"Oversized model: {size} parameters. Skip model.")
        return model

    def _build_and_fit_model(self, trial, *args, **kwargs):
        hp = trial.hyperparameters
        model = self._try_build(hp)
        results = _as_keras_results(self.hypermodel.fit(hp, model, *args, **kwargs))
        _kt_utils.save_json(self._get_build_config_fname(trial.trial_id),
                            model.get_build_config())
        tuner_utils.validate_trial_results(results, self.oracle.objective, "HyperModel.fit()")
        return results

    def _get_checkpoint_fname(self, trial_id):
        return os.path.join(self.get_trial_dir(trial_id), "checkpoint.weights.npz")


class RandomSearch(LaminaTunerMixin, _kt.RandomSearch):
    """KerasTuner's ``RandomSearch`` on lamina models (same arguments)."""


class GridSearch(LaminaTunerMixin, _kt.GridSearch):
    """KerasTuner's ``GridSearch`` on lamina models (same arguments)."""


class Hyperband(LaminaTunerMixin, _kt.Hyperband):
    """KerasTuner's ``Hyperband`` on lamina models (same arguments)."""


class BayesianOptimization(LaminaTunerMixin, _kt.BayesianOptimization):
    """KerasTuner's ``BayesianOptimization`` on lamina models (same arguments)."""
