"""Keras's and third-party Keras callbacks run unchanged on lamina models.

Needs the ``interop`` extra (Keras 3 on the torch backend); tqdm, livelossplot and
optuna-integration tests need those packages too. Each skips cleanly without its package.
"""

import csv
import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
try:
    import keras
except ImportError as exc:  # no Keras, or no backend for it (lamina[interop])
    pytest.skip(f"Keras 3 with a backend is needed: {exc}", allow_module_level=True)

import lamina  # noqa: E402
from test_fit import make_data, make_model, same_weights  # noqa: E402


class WeightsPerEpoch:
    def set_model(self, model):
        self.model = model
        self.weights = {}

    def on_epoch_end(self, epoch, logs=None):
        self.weights[epoch] = self.model.get_weights()


@pytest.mark.parametrize("kw", [
    dict(monitor="val_loss", patience=2),
    dict(monitor="val_accuracy", mode="max", patience=1, min_delta=0.01),
    dict(monitor="loss", mode="max", patience=2),  # stops at once: epoch 0 stays the best
    dict(monitor="val_loss", patience=1, baseline=0.5, start_from_epoch=2),
])
def test_keras_early_stopping_matches_laminas(kw):
    x, y = make_data(n=60)
    runs = []
    for stopper in (keras.callbacks.EarlyStopping(restore_best_weights=True, **kw),
                    lamina.callbacks.EarlyStopping(restore_best_weights=True, **kw)):
        model = make_model(optimizer=lamina.optimizers.SGD(0.5, momentum=0.9))
        rec = WeightsPerEpoch()
        h = model.fit(x, y, epochs=30, validation_split=0.5, verbose=0,
                      callbacks=[rec, stopper])
        runs.append((model, h, stopper, rec))
    (mk, hk, sk, rk), (ml, hl, sl, rl) = runs
    assert hk.epoch == hl.epoch and (len(hk.epoch) < 30 or "baseline" in kw)
    assert sk.stopped_epoch == sl.stopped_epoch and sk.best_epoch == sl.best_epoch
    assert same_weights(mk, ml)  # both restored the same epoch's weights
    for got, want in zip(mk.get_weights(), rk.weights[sk.best_epoch]):
        np.testing.assert_array_equal(got, want)


def test_csv_logger_writes_keras_columns(tmp_path):
    x, y = make_data()
    path = tmp_path / "log.csv"
    h = make_model().fit(x, y, epochs=3, validation_split=0.25, verbose=0,
                         callbacks=[keras.callbacks.CSVLogger(str(path))])
    with open(path) as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["epoch", "accuracy", "loss", "val_accuracy",
                             "val_loss"]  # Keras: "epoch", then the log keys sorted
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    np.testing.assert_allclose([float(r["val_loss"]) for r in rows], h.history["val_loss"],
                               rtol=1e-6)


def test_reduce_lr_on_plateau_lowers_laminas_learning_rate():
    x, y = make_data()
    model = make_model(optimizer=lamina.optimizers.SGD(0.1))
    # mode="max" on a falling loss: no epoch improves, so every epoch after the first
    # (patience=1) multiplies the rate by 0.5.
    cb = keras.callbacks.ReduceLROnPlateau(monitor="loss", mode="max", factor=0.5,
                                           patience=1, min_lr=0.02)
    h = model.fit(x, y, epochs=4, verbose=0, callbacks=[cb])
    # Keras's callback reduces at the end of epochs 1, 2 and 3 (0.1 -> 0.05 -> 0.025 ->
    # min_lr); lamina's fit picks each new rate up for the next epoch's steps.
    np.testing.assert_allclose(h.history["learning_rate"], [0.1, 0.1, 0.05, 0.025])
    assert float(model.optimizer.learning_rate) == pytest.approx(0.02)


def test_learning_rate_scheduler_lambda_and_terminate_on_nan():
    x, y = make_data()
    model = make_model(optimizer=lamina.optimizers.SGD(0.1))
    seen = []
    h = model.fit(x, y, epochs=3, verbose=0, callbacks=[
        keras.callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1)),
        keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: seen.append(e)),
        keras.callbacks.TerminateOnNaN()])
    np.testing.assert_allclose(h.history["learning_rate"], [0.1, 0.05, 0.1 / 3])
    assert seen == [0, 1, 2]
    bad = lamina.Sequential([lamina.Input((5,)), lamina.layers.Dense(1)], seed=0)
    bad.compile(optimizer=lamina.optimizers.SGD(1e3), loss="mse")
    h = bad.fit(x * 1e3, np.ones(len(x)) * 1e3, epochs=5, batch_size=8, verbose=0,
                callbacks=[keras.callbacks.TerminateOnNaN()])
    assert h.epoch == [0] and not np.isfinite(h.history["loss"][0])  # stopped in epoch 1


def test_model_checkpoint_saves_the_best_lamina_model(tmp_path):
    x, y = make_data(n=60)
    path = tmp_path / "best.keras"  # Keras's ModelCheckpoint writes .keras (or .weights.h5)
    model = make_model(optimizer=lamina.optimizers.SGD(0.5, momentum=0.9))
    rec = WeightsPerEpoch()
    h = model.fit(x, y, epochs=8, validation_split=0.5, verbose=0, callbacks=[
        rec, keras.callbacks.ModelCheckpoint(str(path), save_best_only=True)])
    best = int(np.argmin(h.history["val_loss"]))
    loaded = lamina.load_model(path)
    for got, want in zip(loaded.get_weights(), rec.weights[best]):
        np.testing.assert_array_equal(got, want)


def test_a_raising_keras_callback_leaves_a_model_that_fits_again():
    class Stop(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:
                raise KeyboardInterrupt

    x, y = make_data()
    model = make_model()
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[Stop()])
    h = model.fit(x, y, epochs=2, verbose=0, callbacks=[keras.callbacks.History()])
    assert len(h.history["loss"]) == 2


def test_tqdm_callback_runs(capsys):
    tqdm_keras = pytest.importorskip("tqdm.keras")
    x, y = make_data()
    cb = tqdm_keras.TqdmCallback(verbose=1)
    h = make_model().fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[cb])
    err = capsys.readouterr().err
    assert len(h.epoch) == 2 and "2/2" in err and "loss=" in err
    assert cb.batch_bar.total == 5 and cb.batch_bar.n == 5  # Keras's params["steps"]


def test_plot_losses_keras_runs(tmp_path):
    pytest.importorskip("livelossplot")
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from livelossplot import PlotLossesKeras
    from livelossplot.outputs import MatplotlibPlot

    path = tmp_path / "curves.png"
    cb = PlotLossesKeras(outputs=[MatplotlibPlot(figpath=str(path))])
    x, y = make_data()
    make_model().fit(x, y, epochs=2, validation_split=0.25, verbose=0, callbacks=[cb])
    logs = cb.liveplot.logger.log_history
    assert len(logs["loss"]) == 2 and len(logs["val_accuracy"]) == 2
    assert path.stat().st_size > 0


def test_optuna_keras_pruning_callback_prunes_a_lamina_trial():
    optuna = pytest.importorskip("optuna")
    integration = pytest.importorskip("optuna_integration")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    x, y = make_data(n=60)
    # A pruner that prunes as soon as the second epoch is reported.
    study = optuna.create_study(pruner=optuna.pruners.ThresholdPruner(upper=-1.0,
                                                                     n_warmup_steps=1))
    trial = study.ask()
    cb = integration.KerasPruningCallback(trial, "val_loss")
    model = make_model()
    with pytest.raises(optuna.TrialPruned):
        model.fit(x, y, epochs=10, validation_split=0.5, verbose=0, callbacks=[cb])
    assert len(trial.storage.get_trial(trial._trial_id).intermediate_values) == 2
    study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    assert len(model.fit(x, y, epochs=1, verbose=0).epoch) == 1  # still usable
