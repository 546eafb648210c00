"""Callbacks: Keras 3 semantics of EarlyStopping, ModelCheckpoint, ReduceLROnPlateau, …"""

import csv

import numpy as np
import pytest

import lamina
from lamina import callbacks as cb_mod
from test_fit import make_data, make_model, same_weights


class WeightsPerEpoch(lamina.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.weights = {}

    def on_epoch_end(self, epoch, logs=None):
        self.weights[epoch] = self.model.get_weights()


def test_history_records_every_key():
    h = cb_mod.History()
    h.on_train_begin()
    h.on_epoch_end(0, {"loss": 1.0, "val_loss": 2.0})
    h.on_epoch_end(1, {"loss": 0.5, "val_loss": 2.5})
    assert h.history == {"loss": [1.0, 0.5], "val_loss": [2.0, 2.5]} and h.epoch == [0, 1]


def test_early_stopping_restores_the_best_epoch_exactly():
    x, y = make_data()
    model = make_model(optimizer=lamina.optimizers.SGD(0.05))
    rec = WeightsPerEpoch()
    # Training loss falls every epoch, so in "max" mode epoch 0 stays the best.
    es = lamina.callbacks.EarlyStopping(monitor="loss", mode="max", patience=2,
                                        restore_best_weights=True)
    h = model.fit(x, y, epochs=10, verbose=0, callbacks=[rec, es])
    assert h.epoch == [0, 1, 2]
    assert es.stopped_epoch == 2 and es.best_epoch == 0
    for got, want in zip(model.get_weights(), rec.weights[0]):
        np.testing.assert_array_equal(got, want)


def test_early_stopping_on_val_loss_restores_min_epoch():
    x, y = make_data(n=60)
    model = make_model(optimizer=lamina.optimizers.SGD(0.5, momentum=0.9))
    rec = WeightsPerEpoch()
    es = lamina.callbacks.EarlyStopping(patience=3, restore_best_weights=True)
    h = model.fit(x, y, epochs=40, validation_split=0.5, verbose=0, callbacks=[rec, es])
    best = int(np.argmin(h.history["val_loss"]))
    assert es.best_epoch == h.epoch[best]
    for got, want in zip(model.get_weights(), rec.weights[h.epoch[best]]):
        np.testing.assert_array_equal(got, want)


def test_early_stopping_patience_min_delta_baseline_start_from_epoch():
    es = lamina.callbacks.EarlyStopping(monitor="loss", patience=1, min_delta=0.5)
    model = make_model()
    es.set_model(model)
    es.on_train_begin()
    for epoch, loss in enumerate([1.0, 0.8]):  # an improvement smaller than min_delta
        es.on_epoch_end(epoch, {"loss": loss})
    assert model.stop_training and es.stopped_epoch == 1
    model.stop_training = False
    es = lamina.callbacks.EarlyStopping(monitor="loss", patience=2, baseline=0.1)
    es.set_model(model)
    es.on_train_begin()
    es.on_epoch_end(0, {"loss": 1.0})  # best so far, but it does not beat the baseline,
    es.on_epoch_end(1, {"loss": 1.0})  # so the patience was already running at epoch 0
    assert model.stop_training and es.stopped_epoch == 1
    model.stop_training = False
    es = lamina.callbacks.EarlyStopping(monitor="loss", start_from_epoch=3)
    es.set_model(model)
    es.on_train_begin()
    for epoch, loss in enumerate([1.0, 2.0, 3.0]):
        es.on_epoch_end(epoch, {"loss": loss})
    assert not model.stop_training


def test_early_stopping_auto_mode():
    assert lamina.callbacks.EarlyStopping(monitor="val_accuracy").mode == "max"
    assert lamina.callbacks.EarlyStopping(monitor="acc").mode == "max"
    assert lamina.callbacks.EarlyStopping(monitor="val_loss").mode == "min"
    assert lamina.callbacks.EarlyStopping(monitor="mae").mode == "min"


def test_early_stopping_warns_on_missing_monitor():
    x, y = make_data()
    with pytest.warns(RuntimeWarning, match="val_loss"):
        make_model().fit(x, y, epochs=1, verbose=0,
                         callbacks=[lamina.callbacks.EarlyStopping()])


def test_model_checkpoint_save_best_only(tmp_path):
    x, y = make_data()
    model = make_model(optimizer=lamina.optimizers.SGD(0.05))
    rec = WeightsPerEpoch()
    ck = lamina.callbacks.ModelCheckpoint(str(tmp_path / "m-{epoch:02d}.lamina"),
                                          monitor="loss", mode="max", save_best_only=True)
    model.fit(x, y, epochs=3, verbose=0, callbacks=[rec, ck])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m-01.lamina"]
    best = tmp_path / "best.lamina"
    ck = lamina.callbacks.ModelCheckpoint(best, monitor="loss", save_best_only=True)
    model.fit(x, y, epochs=3, verbose=0, callbacks=[rec, ck])
    loaded = lamina.load_model(best)
    for got, want in zip(loaded.get_weights(), rec.weights[2]):  # loss fell every epoch
        np.testing.assert_array_equal(got, want)


def test_model_checkpoint_every_epoch_weights_only(tmp_path):
    x, y = make_data()
    model = make_model()
    ck = lamina.callbacks.ModelCheckpoint(str(tmp_path / "w{epoch}-{loss:.2f}.weights.npz"),
                                          save_weights_only=True)
    model.fit(x, y, epochs=2, verbose=0, callbacks=[ck])
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 2 and files[0].startswith("w1-") and files[1].endswith(".weights.npz")
    other = make_model(seed=99)
    other.load_weights(ck.last_saved)
    assert same_weights(model, other)


def test_model_checkpoint_bad_paths():
    with pytest.raises(ValueError, match=r"\.weights\.npz"):
        lamina.callbacks.ModelCheckpoint("x.lamina", save_weights_only=True)
    with pytest.raises(ValueError, match=r"\.lamina"):
        lamina.callbacks.ModelCheckpoint("x.txt")
    with pytest.raises(ValueError, match=r"\.lamina"):
        lamina.callbacks.ModelCheckpoint("x.weights.h5")  # weights only: save_weights_only


def test_model_checkpoint_save_freq_counts_batches_across_epochs(tmp_path):
    x, y = make_data(n=80)  # 10 batches of 8 per epoch
    model = make_model()
    ck = lamina.callbacks.ModelCheckpoint(str(tmp_path / "w-{epoch}-{batch}.weights.npz"),
                                          save_weights_only=True, save_freq=3)
    model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0, callbacks=[ck])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"w-{e}-{b}.weights.npz" for e, b in [(1, 3), (1, 6), (1, 9), (2, 2), (2, 5), (2, 8)])
    ref = make_model()  # the weights after 18 steps: a pass and 8 more batches
    ref.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    ref.fit(x[:64], y[:64], batch_size=8, epochs=1, shuffle=False, verbose=0)
    saved = make_model(seed=99)
    saved.load_weights(ck.last_saved)
    assert same_weights(ref, saved)


def test_model_checkpoint_bad_save_freq_names_the_value():
    for bad in ("batch", 0, 2.5, True):
        with pytest.raises(ValueError, match=f"save_freq={bad!r}"):
            lamina.callbacks.ModelCheckpoint("x.lamina", save_freq=bad)
    epoch_ck = lamina.callbacks.ModelCheckpoint("x.lamina")
    assert cb_mod.CallbackList([epoch_ck], None, {}).has_train_batch_hooks is False


def test_reduce_lr_on_plateau_changes_the_rate_the_core_sees():
    x, y = make_data()
    rl = lamina.callbacks.ReduceLROnPlateau(monitor="loss", mode="max", factor=0.5, patience=1,
                                            min_delta=0.0)
    a = make_model(seed=21, optimizer=lamina.optimizers.SGD(0.1))
    h = a.fit(x, y, epochs=3, verbose=0, callbacks=[rl])
    # The rate used in each epoch: cut after epoch 1 (no gain) and again after epoch 2.
    assert h.history["learning_rate"] == [0.1, 0.1, 0.05]
    assert a.optimizer.learning_rate == 0.025
    # The same training with the rate changed by hand between epochs.
    b = make_model(seed=21, optimizer=lamina.optimizers.SGD(0.1))
    for epoch, lr in enumerate([0.1, 0.1, 0.05]):
        b.optimizer.learning_rate = lr
        b.fit(x, y, epochs=epoch + 1, initial_epoch=epoch, verbose=0)
    assert same_weights(a, b)
    c = make_model(seed=21, optimizer=lamina.optimizers.SGD(0.1))
    c.fit(x, y, epochs=3, verbose=0)
    assert not same_weights(a, c)


def test_reduce_lr_cooldown_and_min_lr():
    model = make_model(optimizer=lamina.optimizers.SGD(1.0))
    rl = lamina.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.1, patience=0,
                                            cooldown=2, min_lr=0.05)
    rl.set_model(model)
    rl.on_train_begin()
    lrs = []
    for epoch in range(5):
        rl.on_epoch_end(epoch, {"loss": 1.0})
        lrs.append(model.optimizer.learning_rate)
    # Keras: cut after epoch 1, one epoch of cooldown, cut again (floored at min_lr).
    assert lrs == [1.0, pytest.approx(0.1), pytest.approx(0.1), 0.05, 0.05]
    with pytest.raises(ValueError, match="factor"):
        lamina.callbacks.ReduceLROnPlateau(factor=1.0)


def test_learning_rate_scheduler():
    x, y = make_data()
    model = make_model(optimizer=lamina.optimizers.SGD(0.1))
    sch = lamina.callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1))
    h = model.fit(x, y, epochs=3, verbose=0, callbacks=[sch])
    assert h.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.1 / 3])
    frozen = make_model(optimizer=lamina.optimizers.SGD(0.1))
    before = frozen.get_weights()
    frozen.fit(x, y, epochs=1, verbose=0,
               callbacks=[lamina.callbacks.LearningRateScheduler(lambda epoch: 0.0)])
    assert all(np.array_equal(p, q) for p, q in zip(before, frozen.get_weights()))
    with pytest.raises(ValueError, match="nan"):
        make_model().fit(x, y, epochs=1, verbose=0, callbacks=[
            lamina.callbacks.LearningRateScheduler(lambda e, lr: float("nan"))])


def test_csv_logger(tmp_path):
    x, y = make_data()
    path = tmp_path / "log.csv"
    make_model().fit(x, y, epochs=2, validation_split=0.2, verbose=0,
                     callbacks=[lamina.callbacks.CSVLogger(path)])
    with open(path) as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["0", "1"]
    assert set(rows[0]) == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy"}
    make_model().fit(x, y, epochs=1, verbose=0,
                     callbacks=[lamina.callbacks.CSVLogger(path, append=True)])
    with open(path) as f:
        assert len(list(csv.DictReader(f))) == 3
    # no validation: Keras's val_ columns anyway, holding "NA"
    make_model().fit(x, y, epochs=1, verbose=0,
                     callbacks=[lamina.callbacks.CSVLogger(tmp_path / "noval.csv")])
    with open(tmp_path / "noval.csv") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert rows[0]["val_loss"] == "NA" and float(rows[0]["loss"]) > 0


def test_terminate_on_nan(capsys):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)) * 1e3
    y = rng.normal(size=(64, 1)) * 1e3
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(16),
                               lamina.layers.Dense(1)], seed=0)
    model.compile(optimizer=lamina.optimizers.SGD(10.0), loss="mse")
    t = lamina.callbacks.TerminateOnNaN()
    h = model.fit(x, y, epochs=50, batch_size=8, verbose=0, callbacks=[t])
    assert t.stopped_batch is not None
    assert len(h.history["loss"]) < 50
    assert "Invalid loss" in capsys.readouterr().out
    # The model keeps its last finite weights.
    assert t.restored_step is not None
    assert all(np.isfinite(w).all() for w in model.get_weights())


def test_nan_loss_is_reported_in_history_without_terminate():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)) * 1e3
    y = rng.normal(size=(64, 1)) * 1e3
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(16),
                               lamina.layers.Dense(1)], seed=0)
    model.compile(optimizer=lamina.optimizers.SGD(10.0), loss="mse")
    h = model.fit(x, y, epochs=5, batch_size=8, verbose=0)
    assert not np.isfinite(h.history["loss"][-1])


def test_lambda_callback_only_passed_hooks_count():
    model = make_model()
    seen = []
    lc = lamina.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(epoch))
    assert not cb_mod.CallbackList([lc], model, {}).has_train_batch_hooks
    lb = lamina.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(b))
    assert cb_mod.CallbackList([lb], model, {}).has_train_batch_hooks
    x, y = make_data(n=10)
    model.fit(x, y, epochs=2, batch_size=5, verbose=0, callbacks=[lc, lb])
    assert seen == [0, 1, 0, 0, 1, 1]
    with pytest.raises(TypeError, match="on_epoch_ende"):
        lamina.callbacks.LambdaCallback(on_epoch_ende=print)


@pytest.mark.parametrize("hook", ["on_train_batch_end", "on_epoch_end"])
def test_compile_from_a_callback_is_refused_and_the_model_stays_usable(hook):
    """compile() inside fit swapped the metrics under the running loop (an internal
    AttributeError); it is refused by name, and the model fits and compiles afterwards."""
    model = make_model()
    x, y = make_data(n=20)

    def recompile(*_):
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")

    cb = lamina.callbacks.LambdaCallback(**{hook: recompile})
    with pytest.raises(RuntimeError, match="compile\\(\\) cannot run inside fit"):
        model.fit(x, y, epochs=2, batch_size=5, verbose=0, callbacks=[cb])
    model.fit(x, y, epochs=1, batch_size=5, verbose=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    assert model.fit(x, y, epochs=1, verbose=0).history["loss"]


def test_progbar_builtin_output(capsys, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "tqdm.auto", None)  # force the built-in bar
    x, y = make_data()
    make_model().fit(x, y, epochs=1, batch_size=8, verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 1/1" in out and "5/5" in out and "accuracy" in out


def test_callbacks_must_be_callbacks():
    x, y = make_data()
    with pytest.raises(TypeError, match="Callback"):
        make_model().fit(x, y, verbose=0, callbacks=[print])


def test_progbar_with_tqdm(capsys):
    pytest.importorskip("tqdm")
    x, y = make_data()
    make_model().fit(x, y, epochs=1, batch_size=8, verbose=1)
    out = capsys.readouterr()
    assert "Epoch 1/1" in out.out + out.err and "5/5" in out.out + out.err


def test_test_and_predict_hooks():
    x, y = make_data()
    seen = []

    class Rec(lamina.callbacks.Callback):
        def on_test_begin(self, logs=None):
            seen.append("test_begin")

        def on_test_batch_end(self, batch, logs=None):
            seen.append(("test_batch", batch))

        def on_test_end(self, logs=None):
            seen.append(("test_end", sorted(logs)))

        def on_predict_batch_end(self, batch, logs=None):
            seen.append(("predict_batch", batch, logs["outputs"].shape))

    model = make_model()
    model.fit(x, y, epochs=1, validation_split=0.5, validation_batch_size=10, verbose=0,
              callbacks=[Rec()])
    assert seen == ["test_begin", ("test_batch", 0), ("test_batch", 1),
                    ("test_end", ["accuracy", "loss"])]
    seen.clear()
    model.evaluate(x, y, batch_size=40, verbose=0, callbacks=[Rec()])
    assert seen == ["test_begin", ("test_batch", 0), ("test_end", ["accuracy", "loss"])]
    seen.clear()
    model.predict(x, batch_size=32, verbose=0, callbacks=[Rec()])
    assert seen == [("predict_batch", 0, (32, 3)), ("predict_batch", 1, (8, 3))]
