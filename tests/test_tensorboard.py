"""TensorBoard: the callback's event files and a sweep's HParams runs, read back with
TensorBoard's own reader (EventAccumulator)."""

import os
import sys

import numpy as np
import pytest

import lamina
from lamina import cli, tune
from lamina.callbacks import CallbackList, TensorBoard


def reader(path):
    ea_mod = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    acc = ea_mod.EventAccumulator(str(path), size_guidance={"scalars": 0, "histograms": 0,
                                                            "tensors": 0})
    acc.Reload()
    return acc


def scalars(acc, tag):
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def small_model():
    model = lamina.Sequential([lamina.Input((4,)),
                               lamina.layers.Dense(8, activation="relu", name="hidden"),
                               lamina.layers.Dense(3, activation="softmax", name="out")],
                              seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64") + (x[:, 1] > 1).astype("int64")
    return model, x, y


def test_epoch_scalars_train_and_validation_as_keras_writes_them(tmp_path):
    pytest.importorskip("tensorboardX")
    model, x, y = small_model()
    tb = TensorBoard(tmp_path, histogram_freq=2)
    h = model.fit(x, y, epochs=3, validation_split=0.25, callbacks=[tb], verbose=0).history
    assert sorted(os.listdir(tmp_path)) == ["train", "validation"]
    train, val = reader(tmp_path / "train"), reader(tmp_path / "validation")
    assert set(train.Tags()["scalars"]) == {"epoch_loss", "epoch_accuracy",
                                            "epoch_learning_rate"}
    assert set(val.Tags()["scalars"]) == {"epoch_loss", "epoch_accuracy"}
    for key in ("loss", "accuracy", "learning_rate"):
        steps, values = zip(*scalars(train, f"epoch_{key}"))
        assert steps == (0, 1, 2) and values == pytest.approx(h[key], rel=1e-6)
    for key in ("loss", "accuracy"):
        assert [v for _, v in scalars(val, f"epoch_{key}")] == pytest.approx(h[f"val_{key}"],
                                                                             rel=1e-6)
    # histograms every 2 epochs (0 and 2), one per weight; the model config as text
    assert set(train.Tags()["histograms"]) == {"hidden/kernel", "hidden/bias", "out/kernel",
                                               "out/bias"}
    assert [e.step for e in train.Histograms("hidden/kernel")] == [0, 2]
    last = train.Histograms("out/bias")[-1].histogram_value
    assert last.num == 3 and last.sum == pytest.approx(float(model.layers[1].bias.sum()),
                                                       abs=1e-5)
    text = train.Tensors("model/text_summary")[0].tensor_proto.string_val[0].decode()
    assert '"class_name": "Dense"' in text


def test_update_freq_batch_logs_the_running_values_and_epoch_keeps_the_fast_loop(tmp_path):
    pytest.importorskip("tensorboardX")
    model, x, y = small_model()
    quiet = TensorBoard(tmp_path / "a")
    assert not CallbackList([quiet], model, {}).has_train_batch_hooks  # no per-batch cost
    tb = TensorBoard(tmp_path / "b", update_freq=2, write_graph=False,
                     write_steps_per_second=True)
    assert isinstance(tb, TensorBoard) and CallbackList([tb], model, {}).has_train_batch_hooks
    model.fit(x, y, epochs=2, batch_size=16, callbacks=[tb], verbose=0)  # 4 steps per epoch
    train = reader(tmp_path / "b" / "train")
    assert [s for s, _ in scalars(train, "batch_loss")] == [2, 4, 6, 8]
    assert "batch_accuracy" in train.Tags()["scalars"]
    assert "batch_batch_loss" not in train.Tags()["scalars"]
    assert [s for s, _ in scalars(train, "epoch_steps_per_second")] == [0, 1]
    assert all(v > 0 for _, v in scalars(train, "epoch_steps_per_second"))
    assert train.Tags()["tensors"] == []  # write_graph=False


@pytest.mark.parametrize("kwargs, name", [
    ({"write_images": True}, "write_images"),
    ({"profile_batch": 5}, "profile_batch"),
    ({"embeddings_freq": 1}, "embeddings_freq"),
    ({"embeddings_metadata": {"e": "m.tsv"}}, "embeddings_metadata"),
    ({"update_freq": "step"}, "update_freq"),
    ({"update_freq": 0}, "update_freq"),
    ({"histogram_freq": -1}, "histogram_freq"),
    ({"log_dir": ""}, "log_dir"),
])
def test_unsupported_or_bad_arguments_are_refused_by_name(kwargs, name):
    pytest.importorskip("tensorboardX")
    with pytest.raises(ValueError, match=name):
        TensorBoard(**kwargs)


def test_without_tensorboardx_one_line_names_the_package(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # import fails as if not installed
    with pytest.raises(ImportError, match=r"tensorboardX.*lamina\[tensorboard\]"):
        TensorBoard(tmp_path)
    res = tune.search(lambda p: {"val_loss": [p["x"]]}, {"x": [1.0]}, backend="sequential")
    with pytest.raises(ImportError, match=r"tensorboardX.*lamina\[tensorboard\]"):
        tune.write_tensorboard(res, tmp_path)

def test_cli_tune_without_tensorboardx_stops_before_the_sweep(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    code = cli.main(["tune", "lr_good", "lr_space", "--tensorboard", str(tmp_path / "tb")])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""  # no trial ran
    assert err.strip() == ("lamina tune: error: lamina tune --tensorboard needs the "
                           "tensorboardX package: pip install 'lamina[tensorboard]' (or: pip "
                           "install tensorboardX)")


def hparams_data(acc):
    pd = pytest.importorskip("tensorboard.plugins.hparams.plugin_data_pb2")
    return {tag: pd.HParamsPluginData.FromString(content)
            for tag, content in acc.PluginTagToContent("hparams").items()}


def test_a_sweep_becomes_hparams_sessions_with_their_curves(tmp_path):
    pytest.importorskip("tensorboardX")

    def trial(p):
        if p["act"] == "sigmoid" and p["lr"] > 0.5:
            raise ValueError("diverged")
        return {"loss": [1.0, p["lr"]], "val_loss": [1.1, p["lr"] + 0.1],
                "val_accuracy": [0.5, 0.9 - p["lr"]]}

    res = tune.search(trial, {"lr": [0.1, 0.7], "act": ["relu", "sigmoid"]},
                      backend="sequential")
    written = tune.write_tensorboard(res, tmp_path)
    assert [p.name for p in written] == ["trial_000", "trial_001", "trial_002"]  # 3 failed
    root = hparams_data(reader(tmp_path))
    exp = root["_hparams_/experiment"].experiment
    assert [h.name for h in exp.hparam_infos] == ["lr", "act"]
    assert [m.name.tag for m in exp.metric_infos] == ["best_val_loss", "val_loss",
                                                      "val_accuracy", "loss"]
    by_trial = {r["trial"]: r for r in res}
    for folder in written:
        acc = reader(folder)
        row = by_trial[int(folder.name.split("_")[1])]
        start = hparams_data(acc)["_hparams_/session_start_info"].session_start_info
        assert start.hparams["lr"].number_value == row["lr"]
        assert start.hparams["act"].string_value == row["act"]
        for key, values in row["curves"].items():
            assert [v for _, v in scalars(acc, key)] == pytest.approx(values)
        assert scalars(acc, "best_val_loss")[0][1] == pytest.approx(row["val_loss"])


def test_cli_tune_writes_the_sweep_for_tensorboard(tmp_path, capsys):
    pytest.importorskip("tensorboardX")
    space = tmp_path / "space.toml"
    space.write_text('"training.optimizer.learning_rate" = [0.0003, 0.03]\n'
                     '"training.epochs" = [2]\n"data.max_samples" = [600]\n')
    logdir = tmp_path / "tb"
    code = cli.main(["tune", "lr_good", str(space), "--backend", "sequential",
                     "--tensorboard", str(logdir)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"wrote 2 trials for TensorBoard to {logdir}" in out
    start = hparams_data(reader(logdir / "trial_001"))["_hparams_/session_start_info"]
    assert start.session_start_info.hparams["training.optimizer.learning_rate"] \
        .number_value == 0.03
    assert len(scalars(reader(logdir / "trial_001"), "val_loss")) == 2
