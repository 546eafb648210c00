"""Run files: schema, defaults, shorthands, overrides, errors, the TOML round trip, data."""

import json
import math
import sys

import numpy as np
import pytest

import lamina
from lamina import examples as lamina_examples
from lamina.runfile import (Run, RunFileError, default_run, load_data, load_run, model_config,
                            model_section, parse_override, read_arrays, to_toml)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")

EXAMPLES = lamina_examples.HERE  # the run files bundled in the installed package
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.toml"))


def error(run, overrides=()):
    with pytest.raises(RunFileError) as info:
        load_run(run, overrides)
    return info.value


# ---- defaults and resolution ----

def test_default_run_is_fully_resolved():
    run = default_run()
    assert isinstance(run, Run)
    assert run["data"] == {"source": "digits", "label": "y", "max_samples": 0}
    assert run["preprocessing"] == {"standardize": True, "test_split": 0.2, "seed": 0}
    assert [ly["units"] for ly in run["model"]["layers"]] == [128, 10]
    assert run["model"]["layers"][-1]["activation"] == "softmax"
    opt = run["training"]["optimizer"]
    assert opt == {"name": "adam", "learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999,
                   "epsilon": 1e-7, "amsgrad": False}
    assert run["training"]["early_stopping"] is False
    assert run["training"]["seed"] == 0
    assert load_run(None) == load_run({}) == run


def test_shorthands_expand():
    run = load_run({
        "model": {"layers": [
            {"units": 32, "activation": "tanh", "l2": 1e-4, "dropout": 0.25},
            {"units": 10, "activation": "softmax"}]},
        "training": {"optimizer": "sgd", "learning_rate": 0.1, "early_stopping": True,
                     "metrics": "acc", "loss": "mse"},
    })
    layers = run["model"]["layers"]
    assert [ly["type"] for ly in layers] == ["dense", "dropout", "dense"]
    assert layers[0]["kernel_regularizer"] == {"l2": 1e-4}
    assert layers[1] == {"type": "dropout", "rate": 0.25}
    tr = run["training"]
    assert tr["optimizer"] == {"name": "sgd", "learning_rate": 0.1, "momentum": 0.0,
                               "nesterov": False}
    assert tr["early_stopping"]["patience"] == 5 and tr["early_stopping"]["monitor"] == "val_loss"
    assert tr["metrics"] == ["accuracy"] and tr["loss"] == "mean_squared_error"


def test_optimizer_table_and_keras_defaults():
    tr = load_run({"training": {"optimizer": {"name": "adamw", "clipnorm": 1.0}}})["training"]
    assert tr["optimizer"]["weight_decay"] == 0.004 and tr["optimizer"]["clipnorm"] == 1.0
    tr = load_run({"training": {"optimizer": {"name": "RMSprop"}}})["training"]
    assert tr["optimizer"]["name"] == "rmsprop" and tr["optimizer"]["rho"] == 0.9


def test_schedule_and_initializer_params():
    run = load_run({
        "model": {"layers": [{"units": 10, "kernel_initializer": {"name": "random_normal",
                                                                   "stddev": 0.1}}]},
        "training": {"schedule": {"name": "cosine_decay", "decay_steps": 50}}})
    assert run["model"]["layers"][0]["kernel_initializer"] == {
        "name": "random_normal", "mean": 0.0, "stddev": 0.1}
    # every parameter of the schedule class is written out with its default (CosineDecay's
    # warmup_target defaults to None, so it is left out)
    assert run["training"]["schedule"] == {"name": "cosine_decay", "decay_steps": 50,
                                           "alpha": 0.0, "warmup_steps": 0}
    # an initializer table at its defaults collapses to the bare name
    run = load_run({"model": {"layers": [{"units": 3, "kernel_initializer": {
        "name": "random_uniform", "minval": -0.05}}]}})
    assert run["model"]["layers"][0]["kernel_initializer"] == "random_uniform"


def test_diagnosis_thresholds_are_part_of_the_run():
    run = load_run(None, ["diagnosis.patience=10", "diagnosis.baseline=2.0"])
    assert run["diagnosis"]["patience"] == 10 and run["diagnosis"]["baseline"] == 2.0
    assert run["diagnosis"]["noise_tol"] == 0.08  # the rule's default, written out
    assert "baseline" not in default_run()["diagnosis"]
    assert error(None, ["diagnosis.patiense=3"]).key == "diagnosis.patiense"
    assert "did you mean 'patience'" in str(error(None, ["diagnosis.patiense=3"]))
    assert error(None, ["diagnosis.noise_tol=-1"]).key == "diagnosis.noise_tol"
    assert error(None, ["diagnosis.patience=0.5"]).key == "diagnosis.patience"


def test_relative_data_path_resolves_against_the_run_file(tmp_path):
    (tmp_path / "d").mkdir()
    np.savez(tmp_path / "d" / "set.npz", x=np.ones((4, 2)), y=np.array([0, 1, 0, 1]))
    (tmp_path / "r.toml").write_text('[data]\nsource = "d/set.npz"\n')
    run = load_run(tmp_path / "r.toml")
    assert run["data"]["source"] == str((tmp_path / "d" / "set.npz").resolve())
    assert run["data"]["features"] == "x" and run["data"]["label"] == "y"
    assert run["name"] == "r" and run.source == str(tmp_path / "r.toml")


def test_json_run_file(tmp_path):
    p = tmp_path / "r.json"
    p.write_text(json.dumps({"training": {"epochs": 7}}))
    assert load_run(p)["training"]["epochs"] == 7


# ---- TOML round trip ----

@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_every_example_validates_and_round_trips(path):
    run = load_run(path)
    text = run.to_toml()
    assert load_run(tomllib.loads(text)) == run


def test_round_trip_of_every_feature(tmp_path):
    run = load_run({
        "name": "all \"quoted\" ü", "description": "x\ny",
        "model": {"dtype": "float64", "layers": [
            {"units": 5, "activation": "elu", "use_bias": False,
             "kernel_initializer": {"name": "truncated_normal", "stddev": 0.2, "seed": 3},
             "kernel_regularizer": {"l1": 1e-5, "l2": 1e-4}, "bias_regularizer": {"l2": 0.1}},
            {"type": "dropout", "rate": 0.1, "seed": 4},
            {"type": "activation", "activation": "relu"},
            {"units": 3, "activation": "softmax", "bias_initializer": {"name": "constant",
                                                                        "value": 0.5}}]},
        "training": {"optimizer": {"name": "sgd", "momentum": 0.9, "nesterov": True,
                                   "global_clipnorm": 2.0},
                     "schedule": {"name": "piecewise_constant_decay", "boundaries": [10, 20],
                                  "values": [0.1, 0.01, 0.001]},
                     "early_stopping": {"monitor": "val_accuracy", "mode": "max"},
                     "batch_size": "full",
                     "metrics": ["accuracy", "sparse_top_k_categorical_accuracy"]},
        "outputs": {"dir": "out dir", "plot": False},
    })
    p = tmp_path / "run.toml"
    run.save(p)
    assert load_run(p) == run
    pj = tmp_path / "run.json"
    run.save(pj)
    assert load_run(pj) == run


def test_to_toml_writes_tables_arrays_and_special_floats():
    text = to_toml({"a": 1, "b": [1.5, float("inf")], "c": {"d": True, "e": None},
                    "f": [{"g": {"h": 1e-05}}, {"g": "x"}], "weird key": "v"})
    back = tomllib.loads(text)
    assert back == {"a": 1, "b": [1.5, math.inf], "c": {"d": True},
                    "f": [{"g": {"h": 1e-05}}, {"g": "x"}], "weird key": "v"}


# ---- overrides ----

def test_overrides_set_nested_values():
    run = load_run(None, ["training.epochs=2", "model.layers[0].units=16",
                          "training.optimizer.learning_rate=0.01", "training.optimizer.name=sgd",
                          'preprocessing.standardize=false', "model.layers[-1].activation=softmax",
                          "training.early_stopping.patience=2", "data.max_samples=100",
                          "training.batch_size=full"])
    assert run["training"]["epochs"] == 2
    assert run["model"]["layers"][0]["units"] == 16
    assert run["training"]["optimizer"]["name"] == "sgd"
    assert run["training"]["optimizer"]["learning_rate"] == 0.01
    assert run["preprocessing"]["standardize"] is False
    assert run["training"]["early_stopping"]["patience"] == 2
    assert run["training"]["batch_size"] == "full"


def test_override_values_are_toml_or_bare_strings():
    assert parse_override("a.b=0.5") == (["a", "b"], 0.5)
    assert parse_override("a=[1, 2]") == (["a"], [1, 2])
    assert parse_override("a = adam") == (["a"], "adam")
    assert parse_override('a="x=y"') == (["a"], "x=y")
    assert parse_override("m.layers[2].kernel_regularizer={l2 = 1e-4}") == (
        ["m", "layers", 2, "kernel_regularizer"], {"l2": 1e-4})


@pytest.mark.parametrize("text, key, words", [
    ("training.epochs", "--set", "key=value"),
    ("model.layers[5].units=3", "model.layers[5]", "has 2 entries"),
    ("training..epochs=3", "--set", "bad key path"),
    ("training.epochs=-1", "training.epochs", ">= 1"),
    ("training.epoch=3", "training.epoch", "did you mean 'epochs'"),
])
def test_bad_overrides(text, key, words):
    e = error(None, [text])
    assert e.key == key and words in str(e)


# ---- errors: one exception naming the key and the accepted values ----

@pytest.mark.parametrize("run, key, words", [
    ({"model": {"layers": [{"units": 8, "activation": "relu"},
                           {"units": 10, "activation": "rleu"}]}},
     "model.layers[1].activation", ["'rleu' is not one of", "relu, sigmoid, tanh",
                                    "did you mean 'relu'"]),
    ({"trainig": {}}, "trainig", ["unknown key", "did you mean 'training'", "accepted keys"]),
    ({"training": {"optimzer": "adam"}}, "training.optimzer", ["did you mean 'optimizer'"]),
    ({"training": {"epochs": "30"}}, "training.epochs", ["expected an integer", "'30'"]),
    ({"training": {"epochs": 2.5}}, "training.epochs", ["expected an integer"]),
    ({"training": {"shuffle": 1}}, "training.shuffle", ["true or false"]),
    ({"training": {"batch_size": 0}}, "training.batch_size", [">= 1"]),
    ({"training": {"batch_size": "half"}}, "training.batch_size", ['"full"']),
    ({"training": {"learning_rate": -0.1}}, "training.learning_rate", ["> 0", "-0.1"]),
    ({"training": {"optimizer": {"name": "sgd", "momentum": -0.5}}},
     "training.optimizer.momentum", ["in [0, 1]"]),
    ({"training": {"optimizer": {"name": "rmsprop", "rho": 1.5}}},
     "training.optimizer.rho", ["in [0, 1]", "1.5"]),
    ({"training": {"optimizer": {"name": "adam", "beta_2": 1.0}}},
     "training.optimizer.beta_2", ["in [0, 1)"]),
    ({"training": {"optimizer": {"name": "sgd", "beta_1": 0.9}}},
     "training.optimizer.beta_1", ["unknown key", "momentum"]),
    ({"training": {"optimizer": "adamm"}}, "training.optimizer", ["did you mean 'adam'"]),
    ({"training": {"optimizer": {"learning_rate": 0.1}}}, "training.optimizer", ["'name'"]),
    ({"training": {"optimizer": {"name": "adam", "learning_rate": 0.1}, "learning_rate": 0.2}},
     "training.learning_rate", ["keep one"]),
    ({"training": {"validation_split": 1.0}}, "training.validation_split", ["in [0, 1)"]),
    ({"training": {"validation_split": 0, "early_stopping": True}},
     "training.early_stopping.monitor", ["validation_split"]),
    ({"training": {"loss": "focal"}}, "training.loss", ["sparse_categorical_crossentropy"]),
    ({"training": {"metrics": ["accuracy", "f1"]}}, "training.metrics[1]", ["not one of"]),
    ({"training": {"metrics": ["categorical_accuracy"]}}, "training.metrics[0]",
     ["needs one-hot targets", "sparse_categorical_accuracy"]),
    ({"training": {"loss": "mse", "metrics": ["sparse_categorical_accuracy"]}},
     "training.metrics[0]", ["needs integer labels", "mean_squared_error"]),
    ({"training": {"schedule": {"name": "exponential_decay", "decay_steps": 10}}},
     "training.schedule.decay_rate", ["missing"]),
    ({"training": {"optimizer": {"name": "sgd", "clipnorm": 1.0, "clipvalue": 1.0}}},
     "training.optimizer.clipvalue", ["only one of"]),
    ({"preprocessing": {"test_split": -0.1}}, "preprocessing.test_split", ["in [0, 1)"]),
    ({"model": {"layers": []}}, "model.layers", ["empty"]),
    ({"model": {"layers": {"units": 3}}}, "model.layers", ["a list"]),
    ({"model": {"layers": [{"activation": "relu"}]}}, "model.layers[0].units", ["missing"]),
    ({"model": {"layers": [{"units": 0}]}}, "model.layers[0].units", [">= 1"]),
    ({"model": {"layers": [{"units": 4, "dropout": 1.0}, {"units": 2}]}},
     "model.layers[0].dropout", ["in [0, 1)", "1.0"]),
    ({"model": {"layers": [{"type": "dropout", "rate": 1.5}, {"units": 2}]}},
     "model.layers[0].rate", ["in [0, 1)"]),
    ({"model": {"layers": [{"type": "dropout", "rate": -0.5}, {"units": 2}]}},
     "model.layers[0].rate", ["in [0, 1)"]),
    ({"model": {"layers": [{"units": 4}, {"type": "dropout", "rate": 0.5}]}},
     "model.layers[1]", ["last layer"]),
    ({"model": {"layers": [{"type": "conv2d"}]}}, "model.layers[0].type", ["dense, dropout"]),
    ({"model": {"layers": [{"units": 4, "l2": -1e-4}]}}, "model.layers[0].l2", [">= 0"]),
    ({"model": {"layers": [{"units": 4, "kernel_regularizer": {"l3": 1}}]}},
     "model.layers[0].kernel_regularizer.l3", ["unknown key"]),
    ({"model": {"layers": [{"units": 4, "kernel_initializer": "xavier"}]}},
     "model.layers[0].kernel_initializer", ["glorot_uniform"]),
    ({"model": {"layers": [{"units": 4, "kernel_initializer": {"name": "random_normal",
                                                                "stddev": 0}}]}},
     "model.layers[0].kernel_initializer.stddev", ["> 0"]),
    ({"model": {"dtype": "float16"}}, "model.dtype", ["float32, float64"]),
    ({"data": {"source": "nope.csv"}}, "data.source", ["file not found", "nope.csv"]),
    ({"data": {"source": "data.parquet"}}, "data.source", [".npz or .csv"]),
    ({"data": {"max_samples": -5}}, "data.max_samples", [">= 0"]),
    ({"name": 3}, "name", ["a string"]),
])
def test_bad_values_name_the_key(run, key, words):
    e = error(run)
    assert e.key == key, str(e)
    for w in words:
        assert w in str(e), str(e)
    assert str(e).startswith(key + ": ")


def test_file_errors_carry_the_source(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("[training]\nepochs = \n")
    e = error(p)
    assert "invalid TOML" in str(e) and e.source == str(p)
    p.write_text("[model]\n[[model.layers]]\nunits = 3\nactivation = 'rleu'\n")
    e = error(p)
    assert e.key == "model.layers[0].activation" and e.source == str(p)
    assert isinstance(e, ValueError)
    e = error(tmp_path / "missing.toml")
    assert "not found" in str(e)
    pj = tmp_path / "bad.json"
    pj.write_text("[1, 2]")
    assert "top" in str(error(pj))


# ---- the model section is Sequential's config ----

@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_model_section_maps_onto_the_sequential_config(path):
    run = load_run(path)
    cfg = model_config(run, 64)
    assert cfg["layers"][0]["class_name"] == "InputLayer"
    assert model_section(cfg) == run["model"]


# ---- data ----

def write_csv(path, rows):
    path.write_text("\n".join(",".join(str(c) for c in r) for r in rows) + "\n")
    return path


def test_csv_data_split_and_standardize(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(5, 3, size=(50, 3))
    y = rng.integers(0, 3, size=50)
    write_csv(tmp_path / "d.csv", [["a", "b", "target", "c"]] +
              [[x[i, 0], x[i, 1], y[i], x[i, 2]] for i in range(50)])
    run = load_run({"data": {"source": str(tmp_path / "d.csv"), "label": "target"},
                    "model": {"layers": [{"units": 3, "activation": "softmax"}]},
                    "preprocessing": {"test_split": 0.2}})
    ds = load_data(run)
    assert ds.x_train.shape == (40, 3) and ds.x_test.shape == (10, 3)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert ds.feature_names == ["a", "b", "c"] and ds.n_classes == 3
    np.testing.assert_allclose(ds.x_train.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(ds.x_train.std(axis=0), 1, atol=1e-5)
    # same seed, same split
    ds2 = load_data(run)
    np.testing.assert_array_equal(ds.x_test, ds2.x_test)


def test_csv_problems_are_data_errors(tmp_path):
    def data_error(rows, **data):
        write_csv(tmp_path / "d.csv", rows)
        run = load_run({"data": {"source": str(tmp_path / "d.csv"), **data},
                        "model": {"layers": [{"units": 2, "activation": "softmax"}]}})
        with pytest.raises(RunFileError) as info:
            load_data(run)
        return info.value

    e = data_error([["a", "color", "label"], [1, 2, 0], [3, "red", 1]])
    assert e.key == "data.source" and "column 'color' is not numeric" in str(e)
    assert "line 3" in str(e) and "'red'" in str(e)
    e = data_error([["a", "label"], [1, 0]], label="y")
    assert e.key == "data.label" and "'y' is not one of a, label" in str(e)
    e = data_error([["a", "label"], [1, 0], [2]])
    assert "2 fields" in str(e) or "1 fields" in str(e)
    e = data_error([["a", "label"], [1, 0.5], [2, 1]])
    assert e.key == "data.label" and "integers" in str(e)
    e = data_error([["a", "label"], [1, 0], [2, 1], [3, 2]])
    assert e.key == "model.layers[-1].units" and "3 classes" in str(e)
    e = data_error([["a", "label"], [1, 0], [2, "nan"]])
    assert "non-finite" in str(e)


def test_npz_data_errors(tmp_path):
    np.savez(tmp_path / "d.npz", features=np.ones((6, 2)), y=np.arange(6) % 2)
    run = load_run({"data": {"source": str(tmp_path / "d.npz")},
                    "model": {"layers": [{"units": 2, "activation": "softmax"}]}})
    with pytest.raises(RunFileError) as info:
        load_data(run)
    assert info.value.key == "data.features" and "features" in str(info.value)
    run = load_run({"data": {"source": str(tmp_path / "d.npz"), "features": "features"},
                    "model": {"layers": [{"units": 2, "activation": "softmax"}]},
                    "preprocessing": {"test_split": 0.5}})
    ds = load_data(run)
    assert ds.x_train.shape == (3, 2) and ds.n_classes == 2
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(RunFileError, match="cannot read"):
        read_arrays(str(tmp_path / "bad.npz"))


def test_digits_subset_is_seeded():
    run = load_run({"data": {"max_samples": 200}, "preprocessing": {"test_split": 0.25}})
    ds = load_data(run)
    assert ds.x_train.shape == (150, 64) and ds.x_test.shape == (50, 64)
    assert ds.n_classes == 10


# ---- with the real Sequential ----

@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_the_built_model_gives_back_the_run_model_section(path):
    from lamina.runfile import build_model

    run = load_run(path)
    model = build_model(run, 64)
    assert model_section(model.get_config()) == run["model"]
    assert model.seed == run["training"]["seed"] and model.dtype == run["model"]["dtype"]


def test_a_python_model_written_as_a_run_file_reproduces_it(tmp_path):
    import lamina
    from lamina.runfile import build_model, run_from_model

    model = lamina.Sequential([
        lamina.Input((64,)),
        lamina.layers.Dense(32, activation="tanh", kernel_initializer="he_normal",
                            kernel_regularizer=lamina.regularizers.L2(1e-4)),
        lamina.layers.Dropout(0.3),
        lamina.layers.Dense(16, activation="swish", use_bias=False,
                            kernel_initializer=lamina.initializers.RandomNormal(stddev=0.1)),
        lamina.layers.Dense(10, activation="softmax",
                            kernel_regularizer=lamina.regularizers.L1L2(l1=1e-5, l2=1e-4)),
    ], seed=7, dtype="float64")
    run = run_from_model(model, training={"epochs": 3})
    run.save(tmp_path / "model.toml")
    again = build_model(load_run(tmp_path / "model.toml"), 64)
    a, b = model.get_config(), again.get_config()
    strip = lambda cfg: [{k: v for k, v in ly["config"].items() if k != "name"}  # noqa: E731
                         for ly in cfg["layers"]]
    assert strip(a) == strip(b)
    assert (a["seed"], a["dtype"]) == (b["seed"], b["dtype"]) == (7, "float64")
    for w1, w2 in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(w1, w2)  # same seed, same initial weights


@pytest.mark.parametrize("name", ["lamina.runfile", "lamina.diagnose", "lamina.plot",
                                  "lamina.experiment"])
def test_docstring_examples_run(name):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name),
                             optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0


def test_the_module_docstring_example_is_a_valid_run_file():
    import lamina.runfile

    doc = lamina.runfile.__doc__
    text = doc.split("bundled digits)::", 1)[1].split("`load_run(", 1)[0]
    text = "\n".join(line[4:] for line in text.splitlines())
    raw = tomllib.loads(text)
    run = load_run(raw)
    assert run["model"]["layers"][1] == {"type": "dropout", "rate": 0.5}
    assert run["training"]["schedule"]["name"] == "exponential_decay"


def test_optimizer_ranges_match_the_optimizer_classes():
    """A value a run file accepts is one the optimizer class accepts, and the reverse."""
    for name, key, value in [("sgd", "momentum", 1.0), ("rmsprop", "rho", 1.0),
                             ("rmsprop", "momentum", 1.0), ("adam", "beta_1", 0.0)]:
        tr = load_run({"training": {"optimizer": {"name": name, key: value}}})["training"]
        assert tr["optimizer"][key] == value
        lamina.optimizers.get({"class_name": name, "config": {key: value}})
    for name, key in [("adam", "beta_1"), ("adam", "beta_2"), ("nadam", "beta_2")]:
        with pytest.raises(RunFileError):
            load_run({"training": {"optimizer": {"name": name, key: 1.0}}})
        with pytest.raises(ValueError):
            lamina.optimizers.get({"class_name": name, "config": {key: 1.0}})


# ---- names and defaults come from lamina's registries ----

def test_layer_types_are_the_layer_classes_with_their_defaults():
    from lamina import layers

    classes = [c for c in (getattr(layers, n) for n in layers.__all__)
               if isinstance(c, type) and issubclass(c, layers.Layer)
               and c not in (layers.Layer, layers.InputLayer)]
    e = error({"model": {"layers": [{"type": "conv2d"}]}})
    listed = str(e).split("is not one of ", 1)[1].split(" (")[0].split(", ")
    # lamina's kinds first, in lamina.layers' order; after them any kind a user registered
    # (a Layer subclass defined elsewhere in this test session).
    assert len(listed) >= len(classes) >= 7 and "leaky_relu" in listed
    assert [layers.class_for(n) for n in listed[:len(classes)]] == classes
    assert all(layers.class_for(n) not in classes for n in listed[len(classes):])
    run = load_run({"model": {"layers": [
        {"units": 8}, {"type": "LeakyReLU"}, {"type": "dropout", "rate": 0.2},
        {"units": 3, "activation": "softmax"}]}})
    leaky = run["model"]["layers"][1]
    assert leaky == {"type": "leaky_relu", "negative_slope": 0.3}  # LeakyReLU's own default
    assert run["model"]["layers"][0]["activation"] == "linear"  # Dense(activation=None)
    assert model_section(model_config(run, 5)) == run["model"]
    e = error({"model": {"layers": [{"type": "leaky_relu", "negative_slope": -1},
                                    {"units": 3}]}})
    assert e.key == "model.layers[0].negative_slope" and ">= 0" in str(e)


def test_optimizers_schedules_and_initializers_take_their_class_signatures():
    import inspect

    from lamina import initializers, optimizers

    for name in ("sgd", "rmsprop", "adam", "adamw", "adagrad", "adamax", "nadam", "adadelta",
                 "lion"):
        opt = load_run({"training": {"optimizer": name}})["training"]["optimizer"]
        cls = type(optimizers.get(name))
        defaults = {k: p.default for k, p in inspect.signature(cls).parameters.items()
                    if k != "name" and p.default is not None and p.default is not p.empty}
        assert opt == {"name": name, **defaults}
    e = error({"training": {"optimizer": "lbfgs"}})
    assert "sgd, rmsprop, adam, adamw, adagrad, adamax, nadam, adadelta, lion" in str(e)
    sched = load_run({"training": {"schedule": {"name": "cosine_decay", "decay_steps": 10,
                                                "warmup_target": 0.01, "warmup_steps": 5}}})
    assert sched["training"]["schedule"]["warmup_target"] == 0.01
    init = load_run({"model": {"layers": [{"units": 3, "kernel_initializer": {
        "name": "variance_scaling", "scale": 2.0}}]}})["model"]["layers"][0]
    assert init["kernel_initializer"] == {"name": "variance_scaling", "scale": 2.0,
                                          "mode": "fan_in", "distribution": "truncated_normal"}
    assert isinstance(initializers.get("variance_scaling"), initializers.VarianceScaling)
    e = error({"model": {"layers": [{"units": 3, "kernel_initializer": {
        "name": "variance_scaling", "mode": "fan_sideways"}}]}})
    assert e.key == "model.layers[0].kernel_initializer.mode"
