"""The CLI under bad input: one line on stderr and exit 2 (never a traceback), predictions
that never overwrite their inputs, Ctrl-C exits 130, grid sweeps that do not build the whole
product."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from lamina.cli import main
from lamina.tune import sample_space


def _err(capsys, argv):
    rc = main(argv)
    err = capsys.readouterr().err
    return rc, err


def _one_line_error(rc, err, *words):
    assert rc == 2, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    for w in words:
        assert w in lines[0], lines[0]


def _npz(path, label_value=None, n=80):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4))
    y = (x[:, 0] > 0).astype(float)
    if label_value is not None:
        y[3] = label_value
    np.savez(path, x=x, y=y)
    return path


def _run_file(tmp_path, source, **training):
    lines = ["[data]", f'source = "{source}"', "[training]", "epochs = 1"]
    lines += [f"{k} = {v}" for k, v in training.items()]
    lines += ["[[model.layers]]", "units = 4", 'activation = "relu"',
              "[[model.layers]]", "units = 2", 'activation = "softmax"', "[outputs]",
              "plot = false"]
    p = tmp_path / "run.toml"
    p.write_text("\n".join(lines) + "\n")
    return p


@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan])
def test_nonfinite_label_in_npz(tmp_path, capsys, value):
    run = _run_file(tmp_path, _npz(tmp_path / "d.npz", value).name)
    rc, err = _err(capsys, ["train", str(run), "--out", str(tmp_path / "o"), "--quiet"])
    _one_line_error(rc, err, "data.label", "row 3")


@pytest.mark.parametrize("key,value", [("training.seed", 2**64), ("training.seed", -1),
                                       ("preprocessing.seed", 2**70)])
def test_out_of_range_seed(tmp_path, capsys, key, value):
    rc, err = _err(capsys, ["train", "--set", f"{key}={value}", "--set", "training.epochs=1",
                            "--out", str(tmp_path), "--quiet"])
    _one_line_error(rc, err, key)


@pytest.mark.parametrize("schedule", [
    '{name="exponential_decay", decay_steps=1, decay_rate=1e300}',
    '{name="exponential_decay", decay_steps=1e-300, decay_rate=10}',
])
def test_schedule_that_overflows(tmp_path, capsys, schedule):
    rc, err = _err(capsys, ["train", "--set", f"training.schedule={schedule}", "--set",
                            "training.epochs=1", "--out", str(tmp_path), "--quiet"])
    _one_line_error(rc, err, "schedule")


@pytest.mark.parametrize("text", ["[1, 2]", '"x"', "3", "{"])
def test_space_file_that_is_not_a_table(tmp_path, capsys, text):
    run = _run_file(tmp_path, _npz(tmp_path / "d.npz").name)
    space = tmp_path / "space.json"
    space.write_text(text)
    rc, err = _err(capsys, ["tune", str(run), str(space), "--backend", "sequential"])
    _one_line_error(rc, err)


@pytest.mark.parametrize("dist", ["lognormal", "normal", "uniformm"])
def test_unknown_distribution_name_fails_before_the_trials(tmp_path, capsys, dist):
    run = _run_file(tmp_path, _npz(tmp_path / "d.npz").name)
    space = tmp_path / "space.toml"
    space.write_text(f"[training.optimizer]\nlearning_rate = {{{dist} = [0.001, 0.1]}}\n")
    rc, err = _err(capsys, ["tune", str(run), str(space), "--backend", "sequential",
                            "--strategy", "random", "--n-trials", "2"])
    _one_line_error(rc, err, f"learning_rate.{dist}", "distribution")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp("trained")
    _npz(d / "d.npz")
    run = _run_file(d, "d.npz")
    assert main(["train", str(run), "--out", str(d / "out"), "--quiet"]) == 0
    return d


@pytest.mark.parametrize("damage", ["garbage", "empty", "wrong_shape", "nan", "zero_scale",
                                    "missing_key"])
def test_damaged_preprocessing_file(tmp_path, capsys, trained, damage):
    import shutil

    out = tmp_path / "out"
    shutil.copytree(trained / "out", out)
    prep = out / "preprocessing.npz"
    if damage == "garbage":
        prep.write_bytes(b"PK\x03\x04 this is not a zip")
    elif damage == "empty":
        prep.write_bytes(b"")
    elif damage == "wrong_shape":
        np.savez(prep, mean=np.zeros(7), scale=np.ones(7))
    elif damage == "nan":
        np.savez(prep, mean=np.full(4, np.nan), scale=np.ones(4))
    elif damage == "zero_scale":
        np.savez(prep, mean=np.zeros(4), scale=np.zeros(4))
    else:
        np.savez(prep, mean=np.zeros(4))
    # A model lamina train writes now standardizes its inputs itself (its first layer is a
    # Normalization), so preprocessing.npz is only a record: damage to it changes nothing.
    for cmd in (["evaluate", str(out / "model.lamina"), str(trained / "d.npz")],
                ["predict", str(out / "model.lamina"), str(trained / "d.npz"), "--out",
                 str(tmp_path / "p.csv")]):
        rc, err = _err(capsys, cmd)
        assert rc == 0, err
    # Models from before that layer read the file; a damaged one is named, in one line.
    from lamina import experiment
    from lamina.runfile import RunFileError

    with pytest.raises(RunFileError, match="preprocessing") as exc:
        experiment._read_preprocessing(prep, 4)
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize("target", ["model", "data", "model_link", "data_relative"])
def test_predict_never_overwrites_its_inputs(tmp_path, capsys, trained, target, monkeypatch):
    model = trained / "out" / "model.lamina"
    data = trained / "d.npz"
    before = {p: p.read_bytes() for p in (model, data)}
    if target == "model":
        out = str(model)
    elif target == "data":
        out = str(data)
    elif target == "model_link":
        link = tmp_path / "alias.lamina"
        link.symlink_to(model)
        out = str(link)
    else:
        monkeypatch.chdir(trained / "out")
        out = "../d.npz"
    rc, err = _err(capsys, ["predict", str(model), str(data), "--out", out])
    _one_line_error(rc, err, "--out")
    assert {p: p.read_bytes() for p in before} == before


def test_predict_with_a_named_label_that_is_missing(tmp_path, capsys, trained):
    """A --label the user names must exist (it was dropped silently and exit was 0); the
    default label ("y" here) is still optional, and a CSV is held to the same rule."""
    model = trained / "out" / "model.lamina"
    out = tmp_path / "p.csv"
    rc, err = _err(capsys, ["predict", str(model), str(trained / "d.npz"), "--out", str(out),
                            "--label", "nosuch"])
    _one_line_error(rc, err, "--label", "nosuch")
    assert not out.exists()
    rc, err = _err(capsys, ["predict", str(model), str(trained / "d.npz"), "--out", str(out)])
    assert rc == 0, err
    assert out.read_text().splitlines()[0].startswith("index,prediction,label")
    csv_data = tmp_path / "d.csv"
    x = np.load(trained / "d.npz")["x"]
    csv_data.write_text("a,b,c,d\n" + "\n".join(",".join(map(str, r)) for r in x) + "\n")
    rc, err = _err(capsys, ["predict", str(model), str(csv_data), "--out", str(out),
                            "--label", "nosuch"])
    _one_line_error(rc, err, "--label", "nosuch")
    rc, err = _err(capsys, ["predict", str(model), str(csv_data), "--out", str(out)])
    assert rc == 0, err


def test_unusable_output_path_is_bad_input(tmp_path, capsys, trained):
    """An --out the CLI cannot write (under a file, a directory in place of a file) is the
    user's bad input: one line and exit 2 (it was 1)."""
    blocker = tmp_path / "plain_file"
    blocker.write_text("x")
    run = _run_file(tmp_path, str(trained / "d.npz"))
    rc, err = _err(capsys, ["train", str(run), "--out", str(blocker / "sub"), "--quiet"])
    _one_line_error(rc, err)
    rc, err = _err(capsys, ["predict", str(trained / "out" / "model.lamina"),
                            str(trained / "d.npz"), "--out", str(tmp_path)])
    _one_line_error(rc, err)


@pytest.mark.parametrize("argv, words", [
    (["bench", "--epochs", "1"], ["--epochs", "at least 2"]),
    (["bench", "--wait-idle", "-5"], ["--wait-idle", "-5"]),
    (["bench", "--wait-idle", "inf"], ["--wait-idle", "inf"]),
    (["bench", "--frameworks", ","], ["--frameworks"]),
    (["predict", "m.lamina", "d.csv", "--out", "p.csv", "--chunk-rows", "9" * 20],
     ["--chunk-rows"]),
])
def test_bench_and_predict_flags_are_checked(capsys, argv, words):
    """Values the flags' help rules out were accepted (--epochs 1, a negative or infinite
    wait, an empty framework list) or failed deep inside numpy (a huge --chunk-rows)."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert all(w in err for w in words), err


def test_examples_copy_names_the_force_flag(tmp_path, capsys):
    assert main(["examples", "copy", str(tmp_path)]) == 0
    capsys.readouterr()
    rc, err = _err(capsys, ["examples", "copy", str(tmp_path)])
    _one_line_error(rc, err, "--force")


def test_grid_with_n_trials_does_not_build_the_product():
    space = {f"k{i}": list(range(100)) for i in range(12)}  # 10^24 points
    t0 = time.perf_counter()
    points = sample_space(space, "grid", n_trials=3)
    assert time.perf_counter() - t0 < 5
    assert points == [{**{f"k{i}": 0 for i in range(12)}, "k11": j} for j in range(3)]


def test_cli_grid_over_a_large_space(tmp_path, capsys):
    run = _run_file(tmp_path, _npz(tmp_path / "d.npz").name)
    space = tmp_path / "space.json"
    space.write_text(json.dumps({"training.batch_size": list(range(1, 4001)),
                                 "training.epochs": list(range(1, 4001)),
                                 "model.layers[0].units": list(range(1, 4001))}))
    rc = main(["tune", str(run), str(space), "--backend", "sequential", "--n-trials", "2"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert out.out.count("ok") >= 2


def _wait_for(proc, text, timeout=240):
    t0 = time.perf_counter()
    seen = ""
    while time.perf_counter() - t0 < timeout:
        line = proc.stdout.readline()
        if not line:
            break
        seen += line
        if text in line:
            return seen
    raise AssertionError(f"never saw {text!r}: {seen}")


def test_interrupted_train_exits_130(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "lamina", "train", "--set", "training.epochs=100000",
         "--out", str(tmp_path / "o")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,  # a runner started in the background (`cmd &`) passes on an ignored SIGINT
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        _wait_for(proc, "Epoch")
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert os.path.exists(tmp_path / "o" / "model.lamina")  # outputs of the model so far


def test_ctrl_c_outside_fit_exits_130(tmp_path, monkeypatch, capsys):
    import lamina.experiment

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(lamina.experiment, "train_run", interrupted)
    assert main(["train", "--set", "training.epochs=1", "--out", str(tmp_path)]) == 130
    assert "interrupted" in capsys.readouterr().err
