"""Run files: one TOML (or JSON) file describes a whole experiment.

A run file has six sections, every key optional (the defaults train a small MLP on the
bundled digits)::

    name = "dropout"                      # label in `lamina compare` (default: file stem)
    description = "oversized net + dropout"

    [data]
    source = "digits"                     # bundled digits, or a .npz / .csv path
                                          # (relative to the run file)
    label = "label"                       # CSV: label column; NPZ: label array key ("y")
    features = "x"                        # NPZ only: features array key
    max_samples = 0                       # 0: all; n: a seeded random subset of n samples

    [preprocessing]
    standardize = true                    # zero mean, unit variance (fit on the train part;
                                          # a Normalization layer first in the model)
    test_split = 0.2                      # held-out test fraction
    seed = 0                              # split, subset, and the default training seed

    [model]
    dtype = "float32"
    [[model.layers]]                      # a Keras layer config: type = "dense" (default),
    type = "dense"                        # "dropout", "activation", "leaky_relu", ...
    units = 128
    activation = "relu"
    kernel_initializer = "he_normal"      # or {name = "random_normal", stddev = 0.05}
    kernel_regularizer = {l2 = 1e-4}      # shorthand: l1 = ..., l2 = ...
    dropout = 0.5                         # shorthand: a Dropout layer after this one
    [[model.layers]]
    units = 10
    activation = "softmax"

    [training]
    optimizer = "adam"                    # or {name = "sgd", learning_rate = 0.1, momentum = 0.9}
    learning_rate = 0.001                 # shorthand for optimizer.learning_rate
    schedule = {name = "exponential_decay", decay_steps = 100, decay_rate = 0.9}
    loss = "sparse_categorical_crossentropy"
    metrics = ["accuracy"]
    epochs = 30
    batch_size = 32                       # or "full"
    validation_split = 0.2                # the last part of the train split, as Keras
    shuffle = true
    early_stopping = {patience = 5}       # or true / false
    terminate_on_nan = true               # stop at the first NaN/inf batch loss (TerminateOnNaN)
    seed = 0
    precision = "float32"                 # or "bf16": Keras's mixed_bfloat16 (bfloat16 GEMM
                                          # inputs, float32 accumulation and weights)

    [diagnosis]                           # thresholds of the rules in lamina.diagnose
    patience = 3                          # e.g. epochs of rising val_loss that mean overfitting

    [outputs]
    dir = ""                              # default runs/<timestamp>/; `--out` overrides
    model = true                          # model.lamina
    history = true                        # history.csv
    plot = true                           # learning_curves.png (needs matplotlib)

`load_run(path_or_dict, overrides=[...])` returns a fully resolved `Run` (a dict with every
default filled in and every shorthand expanded). Every mistake raises `RunFileError` naming
the key path and the accepted values. `Run.to_toml()` writes the resolved run back, and
loading that text gives the same run.

The model section is ``Sequential.get_config()`` in run-file spelling (one schema; the
layer types, their arguments and defaults, the optimizers, schedules, initializers and
activations are those of lamina's registries): `model_config(run, input_dim)` and
`model_section(config)` convert between the two, `build_model(run, input_dim)` builds the
model, `build_optimizer` / `build_callbacks` the rest of what training needs, and
`run_from_model(model)` writes a model made in Python as a run. `load_data(run)` reads,
subsets, splits and standardizes the data; ``lamina.experiment.train_run(run)`` does what
``lamina train`` does.

The package: `errors` (RunFileError and the checkers), `registry` (names and defaults read
from lamina's registries), `model` (the model section), `schema` (the other sections),
`overrides` (``--set``), `load` (`load_run`, `Run`), `toml` (reading and writing run
files), `data` (the data) and `build` (the objects a run describes).

Example:
    >>> from lamina.runfile import load_run
    >>> run = load_run({"training": {"epochs": 5}}, overrides=["model.layers[0].units=32"])
    >>> run["training"]["epochs"], run["model"]["layers"][0]["units"]
    (5, 32)
"""

from .build import (build_callbacks, build_model, build_optimizer, build_schedule,
                    fit_batch_size, run_from_model)
from .data import Dataset, encode_labels, fit_size, load_data, read_arrays
from .errors import RunFileError
from .load import Run, default_run, load_run
from .model import model_config, model_section
from .overrides import parse_override
from .toml import read_file, to_toml, toml_value

__all__ = [
    "RunFileError",
    "Run",
    "load_run",
    "default_run",
    "parse_override",
    "read_file",
    "to_toml",
    "toml_value",
    "load_data",
    "Dataset",
    "read_arrays",
    "encode_labels",
    "fit_size",
    "model_config",
    "model_section",
    "build_model",
    "build_optimizer",
    "build_schedule",
    "build_callbacks",
    "fit_batch_size",
    "run_from_model",
]
