"""Every Example in the Keras-style API's docstrings runs and shows what it says."""

import doctest
import importlib

import pytest

MODULES = ["lamina", "lamina.activations", "lamina.callbacks", "lamina.cli", "lamina.config",
           "lamina.datasets", "lamina.diagnose", "lamina.experiment", "lamina.functional",
           "lamina.initializers",
           "lamina.io", "lamina.layers", "lamina.losses", "lamina.metrics", "lamina.model",
           "lamina.models", "lamina.optimizers", "lamina.optimizers.schedules", "lamina.plot",
           "lamina.regularizers", "lamina.saving", "lamina.trainer", "lamina.utils",
           "lamina.runfile", "lamina.runfile.build", "lamina.runfile.data",
           "lamina.runfile.errors", "lamina.runfile.load", "lamina.runfile.model",
           "lamina.runfile.overrides", "lamina.runfile.registry", "lamina.runfile.schema",
           "lamina.runfile.toml", "lamina.tune", "lamina.tune.backends", "lamina.tune.results",
           "lamina.tune.space", "lamina.tune.trials"]
MODULES += [f"lamina.callbacks.{m}" for m in (
    "callback", "callback_list", "csv_logger", "early_stopping", "history", "lambda_callback",
    "learning_rate_scheduler", "model_checkpoint", "progbar_logger", "reduce_lr_on_plateau",
    "terminate_on_nan")]
MODULES += ["lamina.layers.rescaling"]
MODULES += ["lamina.layers.batch_normalization", "lamina.layers.layer_normalization"]
MODULES += ["lamina.variables"]
MODULES += ["lamina.tune.optuna_strategy"]
MODULES += ["lamina.hdf5", "lamina.keras_config", "lamina.keras_weights", "lamina.keras_format",
            "lamina.onnx_export"]

MODULES += ["lamina.optimizer_kernels", "lamina.model_state", "lamina.sigint"]

@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed"
    assert result.attempted > 0


@pytest.mark.parametrize("name", MODULES[1:])
def test_public_callables_have_docstrings(name):
    module = importlib.import_module(name)
    for attr in getattr(module, "__all__", []):
        obj = getattr(module, attr)
        if callable(obj) and not isinstance(obj, type(module)):
            assert (obj.__doc__ or "").strip(), f"{name}.{attr} has no docstring"
MODULES += ["lamina.examples", "lamina.callbacks.tensorboard", "lamina.tune.tensorboard"]
MODULES += [f"lamina.layers.{m}" for m in (
    "activation", "prelu", "preprocessing_normalization", "gaussian_noise", "gaussian_dropout",
    "alpha_dropout", "activity_regularization", "reshape", "dropout")]
MODULES += ["lamina.data_adapters", "lamina.prefetch", "lamina.py_dataset", "lamina.backend"]
MODULES += ["lamina.optimizers.ema"]
MODULES += ["lamina.feature_names", "lamina._threadpoolctl"]
MODULES += ["lamina.ops", "lamina.ops.tape", "lamina.ops.numpy_ops", "lamina.ops.array_ops",
            "lamina.ops.nn", "lamina.kernels", "lamina.custom_loss", "lamina.loss_functions"]
MODULES += [f"lamina.metrics.{m}" for m in (
    "base", "functions", "accuracy", "regression", "probabilistic", "confusion", "f_score")]
MODULES += ["lamina.metric_logs"]
MODULES += ["lamina.dask_data", "lamina.runfile.chunks", "lamina.prediction_csv"]
MODULES += ["lamina.dtype_policies", "lamina.mixed_precision", "lamina.datasets.mnist1d"]
MODULES += ["lamina.object_registration"]
MODULES += ["lamina.atomic_write", "lamina.model_network"]
