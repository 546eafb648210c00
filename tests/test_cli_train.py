"""`lamina train / evaluate / predict / compare`: errors, outputs, and what training shows."""

import csv
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import lamina
from lamina import examples as lamina_examples
from lamina import cli
from lamina import plot as lplot
from lamina.runfile import load_run

EXAMPLES = lamina_examples.HERE  # the run files bundled in the installed package
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.toml"))

needs_fit = pytest.mark.skipif(not hasattr(lamina, "Sequential"),
                               reason="lamina.Sequential (the Keras-style API) is not built yet")


def run_cli(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def write(path, text):
    path.write_text(text)
    return str(path)


# ---- bad input: one line naming the key, exit code 2, no traceback ----

BAD_RUNS = {
    "wrong_type": ("[training]\nepochs = \"ten\"\n", "training.epochs"),
    "unknown_key": ("[training]\nepoch = 3\n", "training.epoch"),
    "unknown_section": ("[modle]\n", "modle"),
    "negative_rate": ("[training]\nlearning_rate = -0.01\n", "training.learning_rate"),
    "negative_l2": ("[[model.layers]]\nunits = 10\nactivation = \"softmax\"\nl2 = -1e-4\n",
                    "model.layers[0].l2"),
    "dropout_one": ("[[model.layers]]\nunits = 8\ndropout = 1.0\n[[model.layers]]\nunits = 10\n",
                    "model.layers[0].dropout"),
    "dropout_layer_rate": ("[[model.layers]]\ntype = \"dropout\"\nrate = 1.2\n"
                           "[[model.layers]]\nunits = 10\n", "model.layers[0].rate"),
    "empty_layers": ("[model]\nlayers = []\n", "model.layers"),
    "bad_activation": ("[[model.layers]]\nunits = 8\nactivation = \"rleu\"\n", "model.layers[0]"
                       ".activation"),
    "missing_data": ("[data]\nsource = \"no_such_file.csv\"\n", "data.source"),
    "bad_toml": ("[training\nepochs = 3\n", "invalid TOML"),
}


@pytest.mark.parametrize("name", list(BAD_RUNS))
def test_bad_run_file_is_one_line_and_exit_2(tmp_path, capsys, name):
    text, key = BAD_RUNS[name]
    path = write(tmp_path / f"{name}.toml", text)
    code, out, err = run_cli(capsys, "train", path, "--out", str(tmp_path / "out"))
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"lamina train: error: {path}: ")
    assert key in lines[0]
    assert "Traceback" not in err and out == ""
    assert not (tmp_path / "out").exists()


def test_csv_with_a_non_numeric_column(tmp_path, capsys):
    data = write(tmp_path / "d.csv", "a,color,label\n1,2,0\n3,red,1\n")
    path = write(tmp_path / "r.toml", f"[data]\nsource = \"{Path(data).name}\"\n"
                 "[[model.layers]]\nunits = 2\nactivation = \"softmax\"\n")
    code, out, err = run_cli(capsys, "train", path, "--out", str(tmp_path / "out"))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert err.startswith(f"lamina train: error: {path}: data.source: ")
    assert "column 'color' is not numeric" in err
    assert "line 3" in err and "Traceback" not in err


def test_bad_override_is_one_line_and_exit_2(capsys, tmp_path):
    code, _, err = run_cli(capsys, "train", "--set", "training.epochs=0", "--out", str(tmp_path))
    assert code == 2 and "training.epochs: must be >= 1, got 0" in err
    code, _, err = run_cli(capsys, "train", "--set", "model.layers[7].units=3")
    assert code == 2 and "model.layers[7]" in err and "has 2 entries" in err
    code, _, err = run_cli(capsys, "train", "--set", "nonsense")
    assert code == 2 and "key=value" in err


def test_missing_run_file_and_model(capsys, tmp_path):
    code, _, err = run_cli(capsys, "train", str(tmp_path / "nope.toml"))
    assert code == 2 and "run file not found" in err
    code, _, err = run_cli(capsys, "evaluate", str(tmp_path / "m.lamina"), "digits")
    assert code == 2 and "MODEL: file not found" in err
    code, _, err = run_cli(capsys, "predict", str(tmp_path / "m.lamina"), "digits", "--out",
                           str(tmp_path / "p.csv"))
    assert code == 2 and "MODEL" in err


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["predict", "model.lamina", "digits"])  # --out is required
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        cli.main(["compare"])
    assert info.value.code == 2
    capsys.readouterr()


def test_real_process_prints_no_traceback(tmp_path):
    path = write(tmp_path / "r.toml", "[training]\noptimizer = \"adamm\"\n")
    p = subprocess.run([sys.executable, "-m", "lamina", "train", path], capture_output=True,
                       text=True, timeout=120, cwd=tmp_path)
    assert p.returncode == 2
    assert p.stderr.strip() == (f"lamina train: error: {path}: training.optimizer: 'adamm' is "
                                "not one of sgd, rmsprop, adam, adamw, adagrad, adamax, nadam, "
                                "adadelta, lion (did you mean 'adam'?)")


def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    for cmd in ("train", "evaluate", "predict", "compare"):
        assert cmd in out


# ---- training (needs the Keras-style API) ----

@needs_fit
@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_every_example_trains_for_two_epochs(path):
    from lamina.experiment import train_run

    run = load_run(path, ["training.epochs=2"])
    res = train_run(run, out_dir=None, verbose=False)
    assert len(res.history.history["loss"]) == 2
    assert np.isfinite(res.history.history["loss"]).all() or path.stem == "lr_diverging"
    assert 0.0 <= res.test["accuracy"] <= 1.0


@needs_fit
def test_train_writes_its_outputs_and_prints_the_diagnosis(tmp_path, capsys):
    out_dir = tmp_path / "out"
    code, out, err = run_cli(capsys, "train", str(EXAMPLES / "adam.toml"), "--set",
                             "training.epochs=3", "--out", str(out_dir))
    assert code == 0, err
    assert "Epoch 1/3" in out and "Epoch 3/3" in out
    assert re.search(r"^train: +loss \S+ +accuracy \S+", out, re.M)
    assert re.search(r"^val: +loss", out, re.M) and re.search(r"^test: +loss", out, re.M)
    assert "diagnosis" in out
    names = {p.name for p in out_dir.iterdir()}
    assert {"model.lamina", "history.csv", "run.toml", "preprocessing.npz"} <= names
    assert ("learning_curves.png" in names) == lplot.available()
    # the resolved run reloads to the same run
    reloaded = load_run(out_dir / "run.toml")
    assert reloaded["training"]["epochs"] == 3
    assert reloaded == load_run(EXAMPLES / "adam.toml", ["training.epochs=3"])
    # history.csv: one row per epoch
    rows = read_csv(out_dir / "history.csv")
    assert [r["epoch"] for r in rows] == ["1", "2", "3"] and "val_loss" in rows[0]


@needs_fit
def test_without_matplotlib_it_says_how_to_get_the_plot(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(lplot, "available", lambda: False)
    code, out, _ = run_cli(capsys, "train", "--set", "training.epochs=1", "--out",
                           str(tmp_path))
    assert code == 0
    assert "pip install 'lamina[plot]'" in out
    assert not (tmp_path / "learning_curves.png").exists()
    assert (tmp_path / "model.lamina").exists()


@needs_fit
def test_quiet_prints_only_the_test_metrics(tmp_path, capsys):
    code, out, _ = run_cli(capsys, "train", "--quiet", "--set", "training.epochs=1", "--out",
                           str(tmp_path))
    assert code == 0 and out.strip().startswith("loss ") and len(out.strip().splitlines()) == 1


@needs_fit
def test_evaluate_and_predict_a_saved_model(tmp_path, capsys):
    out_dir = tmp_path / "out"
    assert cli.main(["train", "--quiet", "--set", "training.epochs=2", "--out",
                     str(out_dir)]) == 0
    printed = capsys.readouterr().out
    code, out, _ = run_cli(capsys, "evaluate", str(out_dir / "model.lamina"))
    assert code == 0 and "the run's test split: 359 samples" in out
    assert out.strip().splitlines()[-1] == printed.strip()
    code, out, _ = run_cli(capsys, "evaluate", str(out_dir / "model.lamina"), "digits")
    assert code == 0 and "digits: 1797 samples" in out and "training samples included" in out
    code, out, _ = run_cli(capsys, "predict", str(out_dir / "model.lamina"), "digits", "--out",
                           str(tmp_path / "p.csv"))
    assert code == 0 and "1797 predictions" in out
    rows = read_csv(tmp_path / "p.csv")
    assert len(rows) == 1797 and set(rows[0]) >= {"index", "prediction", "label", "p_0", "p_9"}
    acc = np.mean([r["prediction"] == r["label"] for r in rows])
    assert acc > 0.8


@needs_fit
def test_compare_trains_each_run_and_plots_them(tmp_path, capsys):
    code, out, err = run_cli(capsys, "compare", str(EXAMPLES / "sgd.toml"),
                             str(EXAMPLES / "adam.toml"), "--set", "training.epochs=2",
                             "--out", str(tmp_path))
    assert code == 0, err
    assert out.startswith("sgd ") and "\nadam " in out
    rows = read_csv(tmp_path / "compare.csv")
    assert [r["run"] for r in rows] == ["sgd", "adam"]
    assert (tmp_path / "sgd" / "history.csv").exists()
    assert (tmp_path / "compare.png").exists() == lplot.available()


@needs_fit
def test_history_diagnose_delegates():
    from lamina.experiment import train_run

    res = train_run(load_run(None, ["training.epochs=2"]), out_dir=None, verbose=False)
    assert res.history.diagnose() == lamina.diagnose.diagnose(res.history)


@needs_fit
@pytest.mark.slow
def test_default_train_reaches_95_percent_and_the_model_reproduces_it(tmp_path, capsys,
                                                                       monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, "train")
    assert code == 0, err
    acc = float(re.search(r"^test: +loss \S+ +accuracy (\S+)", out, re.M).group(1))
    assert acc >= 0.95, out
    (run_dir,) = (tmp_path / "runs").iterdir()
    model = lamina.load_model(run_dir / "model.lamina")
    from lamina.runfile import load_data

    ds = load_data(load_run(run_dir / "run.toml"), in_model=True)  # raw: the model standardizes
    got = model.evaluate(ds.x_test, ds.y_test, verbose=0, return_dict=True)["accuracy"]
    assert f"{got:.4f}" == f"{acc:.4f}"


@needs_fit
@pytest.mark.slow
def test_oversized_net_on_200_digits_overfits_unless_regularized():
    from lamina.experiment import train_run

    # 2 x 256 units (~85k weights) for 160 training digits: it memorizes them.
    big = {"data": {"max_samples": 200},
           "model": {"layers": [{"units": 256, "activation": "relu"},
                                {"units": 256, "activation": "relu"},
                                {"units": 10, "activation": "softmax"}]},
           "training": {"epochs": 30}}
    res = train_run(load_run(big), out_dir=None, verbose=False)
    assert "overfitting" in [f.name for f in res.findings], res.history.history
    reg = load_run(big, ["model.layers[0].dropout=0.5", "model.layers[0].l2=1e-3",
                         "model.layers[1].dropout=0.5", "model.layers[1].l2=1e-3"])
    res = train_run(reg, out_dir=None, verbose=False)
    assert "overfitting" not in [f.name for f in res.findings], res.findings
    # the run file's [diagnosis] thresholds reach the rules
    lax = load_run(big, ["diagnosis.patience=1000", "diagnosis.gap_ratio=1e9"])
    res = train_run(lax, out_dir=None, verbose=False)
    assert "overfitting" not in [f.name for f in res.findings], res.findings


def test_readme_starts_with_the_main_job():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    first = readme.split("```bash", 1)[1].split("```", 1)[0].strip().splitlines()[0]
    assert first == "pip install '.[plot]' && lamina train"


@needs_fit
def test_csv_run_evaluate_and_predict(tmp_path, capsys):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(120, 3)) * [1.0, 10.0, 100.0] + [0.0, 50.0, -20.0]
    y = (x[:, 0] + x[:, 1] / 10 > 0).astype(int)
    lines = ["f1,f2,f3,label"] + [f"{a},{b},{c},{t}" for (a, b, c), t in zip(x, y)]
    write(tmp_path / "train.csv", "\n".join(lines) + "\n")
    write(tmp_path / "new.csv", "f1,f2,f3\n" + "\n".join(f"{a},{b},{c}" for a, b, c in x[:5]))
    write(tmp_path / "wide.csv", "a,b,c,d,label\n1,2,3,4,0\n")
    path = write(tmp_path / "r.toml", '[data]\nsource = "train.csv"\n'
                 '[[model.layers]]\nunits = 8\nactivation = "relu"\n'
                 '[[model.layers]]\nunits = 2\nactivation = "softmax"\n'
                 '[training]\nepochs = 20\nbatch_size = 16\n')
    out = tmp_path / "out"
    code, printed, err = run_cli(capsys, "train", path, "--quiet", "--out", str(out))
    assert code == 0, err
    code, text, _ = run_cli(capsys, "evaluate", str(out / "model.lamina"),
                            str(tmp_path / "train.csv"))
    assert code == 0 and "120 samples" in text
    assert float(re.search(r"accuracy (\S+)", text).group(1)) > 0.8  # standardized like fit
    code, text, _ = run_cli(capsys, "predict", str(out / "model.lamina"),
                            str(tmp_path / "new.csv"), "--out", str(tmp_path / "p.csv"))
    assert code == 0 and "5 predictions" in text
    rows = read_csv(tmp_path / "p.csv")
    assert [int(r["prediction"]) for r in rows] == list(y[:5])
    code, _, err = run_cli(capsys, "evaluate", str(out / "model.lamina"),
                           str(tmp_path / "wide.csv"))
    assert code == 2 and "has 4 feature columns, the model expects 3" in err
    code, _, err = run_cli(capsys, "evaluate", str(out / "model.lamina"),
                           str(tmp_path / "new.csv"))
    assert code == 2 and "--label: column 'label' is not one of f1, f2, f3" in err


@needs_fit
def test_a_corrupt_model_file_is_one_line_and_exit_2(tmp_path, capsys):
    (tmp_path / "m.lamina").write_bytes(b"PK\x03\x04 not really a zip")
    code, _, err = run_cli(capsys, "evaluate", str(tmp_path / "m.lamina"), "digits")
    assert code == 2 and err.startswith("lamina evaluate: error: MODEL: cannot load")
    assert len(err.strip().splitlines()) == 1


@needs_fit
def test_binary_csv_with_a_schedule_and_other_metrics(tmp_path):
    from lamina.experiment import train_run

    rng = np.random.default_rng(2)
    x = rng.normal(size=(80, 2))
    lines = ["a,b,y"] + [f"{a},{b},{int(a + b > 0)}" for a, b in x]
    write(tmp_path / "d.csv", "\n".join(lines) + "\n")
    run = load_run({
        "data": {"source": str(tmp_path / "d.csv"), "label": "y"},
        "model": {"layers": [{"units": 4, "activation": "tanh"},
                             {"units": 1, "activation": "sigmoid"}]},
        "training": {"loss": "binary_crossentropy", "metrics": ["accuracy", "mse"],
                     "optimizer": {"name": "sgd", "learning_rate": 0.5}, "epochs": 4,
                     "batch_size": "full",
                     "schedule": {"name": "piecewise_constant_decay", "boundaries": [2],
                                  "values": [0.5, 0.05]}}})
    res = train_run(run, out_dir=None, verbose=False)
    h = res.history.history
    assert set(res.test) == {"loss", "accuracy", "mean_squared_error"}
    assert h["learning_rate"] == pytest.approx([0.5, 0.5, 0.05, 0.05])  # one step per epoch


def test_train_help_shows_a_valid_run_file(capsys):
    tomllib = pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    out = capsys.readouterr().out
    block = out.split("examples/):", 1)[1].split("exit status", 1)[0]
    text = "\n".join(line.split("#")[0].strip() for line in block.splitlines())
    run = load_run(tomllib.loads(text))
    assert run["training"]["optimizer"]["momentum"] == 0.9


@needs_fit
def test_same_run_same_numbers_and_the_seed_matters():
    from lamina.experiment import train_run

    run = load_run(EXAMPLES / "dropout.toml", ["training.epochs=2", "data.max_samples=200",
                                               "model.layers[0].units=32",
                                               "model.layers[1].units=32"])
    a = train_run(run, out_dir=None, verbose=False).history.history
    b = train_run(run, out_dir=None, verbose=False).history.history
    assert a == b
    c = train_run(load_run(run, ["training.seed=1"]), out_dir=None, verbose=False)
    assert c.history.history["loss"] != a["loss"]


def test_compare_checks_every_run_and_its_data_before_training(tmp_path, capsys):
    data = write(tmp_path / "d.csv", "a,label\n1,0\n2,x\n")
    bad = write(tmp_path / "bad.toml", f'[data]\nsource = "{Path(data).name}"\n')
    code, out, err = run_cli(capsys, "compare", str(EXAMPLES / "sgd.toml"), bad, "--out",
                             str(tmp_path / "out"))
    assert code == 2 and out == "" and f"{bad}: data.source" in err
    assert "column 'label' is not numeric" in err


@needs_fit
def test_progress_is_the_progbar_logger_on_the_given_stream(capsys):
    import io

    from lamina.experiment import train_run

    out = io.StringIO()  # not a terminal: one line per epoch, no per-batch redraws
    train_run(load_run(None, ["training.epochs=2", "data.max_samples=300"]), out_dir=None,
              stream=out)
    lines = out.getvalue().splitlines()
    epochs = [i for i, line in enumerate(lines) if re.fullmatch(r"Epoch [12]/2", line)]
    assert len(epochs) == 2
    for i in epochs:
        # Keras 3's progress line: the logs in sorted order
        assert re.match(r"\d+/\d+ - .* - accuracy: \S+ - loss: \S+ - val_accuracy", lines[i + 1])
    assert "\r" not in out.getvalue()
    assert capsys.readouterr().out == ""  # nothing leaks to stdout
