"""Sequential.fit: every Keras 3 argument and its semantics, checked against explicit loops."""

import os
import signal

import numpy as np
import pytest

import lamina
from lamina import _core
from ref_network import RefNetwork


def make_data(n=40, d=5, k=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype(np.float32)
    y = rng.integers(0, k, size=n)
    return x, y


def make_model(d=5, k=3, seed=0, optimizer="sgd", metrics=("accuracy",), dropout=0.0,
               loss="sparse_categorical_crossentropy", dtype=None, **compile_kw):
    layers = [lamina.Input(shape=(d,)), lamina.layers.Dense(7, activation="tanh")]
    if dropout:
        layers.append(lamina.layers.Dropout(dropout))
    layers.append(lamina.layers.Dense(k, activation="softmax"))
    model = lamina.Sequential(layers, seed=seed, dtype=dtype)
    model.compile(optimizer=optimizer, loss=loss, metrics=list(metrics), **compile_kw)
    return model


def same_weights(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    return len(wa) == len(wb) and all(np.array_equal(p, q) for p, q in zip(wa, wb))


class BatchLog(lamina.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.sizes = []
        self.events = []

    def on_train_batch_begin(self, batch, logs=None):
        self.sizes.append(logs["size"])

    def on_epoch_begin(self, epoch, logs=None):
        self.events.append(("epoch_begin", epoch))

    def on_epoch_end(self, epoch, logs=None):
        self.events.append(("epoch_end", epoch))


def manual_epoch(model, x, y, batch_size, order=None, sw=None):
    """train_on_batch over the batches of one epoch in `order` (the reference loop)."""
    order = np.arange(len(x)) if order is None else order
    for s in range(0, len(x), batch_size):
        idx = order[s:s + batch_size]
        model.train_on_batch(x[idx], y[idx], sample_weight=None if sw is None else sw[idx])


@pytest.mark.parametrize("batch_size,expected", [(4, [4] * 10), (7, [7] * 5 + [5]),
                                                 (40, [40]), (64, [40]), (1, [1] * 40)])
def test_batch_size_steps_and_last_partial_batch(batch_size, expected):
    x, y = make_data()
    model = make_model()
    log = BatchLog()
    model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0, callbacks=[log])
    assert log.sizes == expected
    assert model.optimizer.iterations == len(expected)


def test_default_batch_size_is_32():
    x, y = make_data(n=70)
    log = BatchLog()
    make_model().fit(x, y, epochs=1, verbose=0, callbacks=[log])
    assert log.sizes == [32, 32, 6]


@pytest.mark.parametrize("batch_size", [1, 6, 40])
def test_unshuffled_fit_equals_train_on_batch_loop(batch_size):
    x, y = make_data()
    a, b = make_model(seed=3), make_model(seed=3)
    a.fit(x, y, batch_size=batch_size, epochs=2, shuffle=False, verbose=0)
    for _ in range(2):
        manual_epoch(b, x, y, batch_size)
    assert same_weights(a, b)


def test_full_batch_is_gradient_descent_on_all_samples():
    x, y = make_data()
    a, b = make_model(seed=1), make_model(seed=1)
    c = make_model(seed=1)
    a.fit(x, y, batch_size=len(x), epochs=3, shuffle=False, verbose=0)
    c.fit(x, y, batch_size=len(x), epochs=3, verbose=0)  # same samples, summed in another order
    for _ in range(3):
        b.train_on_batch(x, y)
    assert same_weights(a, b)
    for p, q in zip(a.get_weights(), c.get_weights()):
        np.testing.assert_allclose(p, q, rtol=1e-5, atol=1e-6)


def test_shuffle_uses_seeded_permutation_per_epoch_keyed_by_step():
    x, y = make_data()
    a, b = make_model(seed=5), make_model(seed=5)
    a.fit(x, y, batch_size=8, epochs=2, shuffle=True, verbose=0)
    for _ in range(2):
        order = _core.permutation(len(x), b._shuffle_seed, b.optimizer.iterations)
        manual_epoch(b, x, y, 8, order=order)
    assert same_weights(a, b)
    c = make_model(seed=5)
    c.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    assert not same_weights(a, c)


def test_matches_independent_float64_reference():
    x, y = make_data()
    model = make_model(seed=2, optimizer=lamina.optimizers.SGD(0.1, momentum=0.9),
                       dtype="float64", metrics=["accuracy"])
    model.build()
    model._network_for("train")
    ref = RefNetwork(model._spec)
    sw = np.linspace(0.5, 1.5, len(x))
    h = model.fit(x, y, batch_size=16, epochs=1, shuffle=False, sample_weight=sw, verbose=0)
    losses, sizes = [], []
    for t, s in enumerate(range(0, len(x), 16), start=1):
        r = ref.step(x[s:s + 16], y[s:s + 16], sw[s:s + 16], 0.1, t)
        losses.append(r[0])
        sizes.append(len(x[s:s + 16]))
    expected = [p for p, *_ in ref.params()]
    for got, want in zip(model.get_weights(), expected):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(h.history["loss"][0], np.dot(losses, sizes) / len(x),
                               rtol=1e-10)


def test_epochs_and_initial_epoch():
    x, y = make_data()
    model = make_model()
    log = BatchLog()
    h = model.fit(x, y, epochs=5, initial_epoch=2, verbose=0, callbacks=[log])
    assert h.epoch == [2, 3, 4]
    assert len(h.history["loss"]) == 3
    assert ("epoch_begin", 2) in log.events
    assert model.fit(x, y, epochs=0, verbose=0).history == {}


def test_history_keys_and_learning_rate():
    x, y = make_data()
    model = make_model(optimizer=lamina.optimizers.Adam(0.005))
    h = model.fit(x, y, epochs=2, validation_split=0.25, verbose=0)
    # Keras 3: no learning_rate unless a callback logs it
    assert list(h.history) == sorted(["loss", "accuracy", "val_loss", "val_accuracy"])
    assert model.history is h
    assert all(isinstance(v, float) for vs in h.history.values() for v in vs)
    plateau = lamina.callbacks.ReduceLROnPlateau(monitor="loss", patience=100)
    h = model.fit(x, y, epochs=2, validation_split=0.25, verbose=0, callbacks=[plateau])
    # sorted, then the key the callback added (Keras 3's History sees it last too)
    assert list(h.history) == ["accuracy", "loss", "val_accuracy", "val_loss",
                               "learning_rate"]
    assert h.history["learning_rate"] == [0.005, 0.005]


def test_validation_split_takes_the_last_samples_before_shuffling():
    x, y = make_data(n=40)
    a, b = make_model(seed=4), make_model(seed=4)
    h = a.fit(x, y, batch_size=8, epochs=2, validation_split=0.25, verbose=0)
    # Training only ever saw the first 30 samples, shuffled the same way.
    b.fit(x[:30], y[:30], batch_size=8, epochs=2, verbose=0)
    assert same_weights(a, b)
    val = a.evaluate(x[30:], y[30:], verbose=0, return_dict=True)
    assert h.history["val_loss"][-1] == pytest.approx(val["loss"], rel=1e-6)
    assert h.history["val_accuracy"][-1] == pytest.approx(val["accuracy"])


def test_validation_split_floor_like_keras():
    x, y = make_data(n=10)
    log = BatchLog()
    make_model().fit(x, y, batch_size=100, validation_split=0.35, verbose=0, callbacks=[log])
    assert log.sizes == [6]  # floor(10 * 0.65) = 6 training samples


def test_validation_data_overrides_split_and_takes_weights():
    x, y = make_data()
    xv, yv = make_data(n=9, seed=1)
    model = make_model()
    h = model.fit(x, y, epochs=1, validation_data=(xv, yv), validation_split=0.5, verbose=0)
    assert h.history["val_loss"][0] == pytest.approx(model.evaluate(xv, yv, verbose=0)[0],
                                                     rel=1e-6)
    w = np.zeros(9)
    w[0] = 1.0
    h = model.fit(x, y, epochs=1, validation_data=(xv, yv, w), verbose=0)
    assert h.history["val_loss"][0] == pytest.approx(
        model.evaluate(xv, yv, sample_weight=w, verbose=0)[0], rel=1e-6)


def test_validation_freq_and_batch_size():
    x, y = make_data()
    h = make_model().fit(x, y, epochs=4, validation_split=0.2, validation_freq=2,
                         validation_batch_size=3, verbose=0)
    assert len(h.history["loss"]) == 4
    assert len(h.history["val_loss"]) == 2


def test_class_weight_equals_sample_weight_of_the_class():
    x, y = make_data()
    cw = {0: 0.5, 1: 2.0, 2: 1.0}
    a, b = make_model(seed=7), make_model(seed=7)
    ha = a.fit(x, y, epochs=2, batch_size=8, class_weight=cw, verbose=0)
    hb = b.fit(x, y, epochs=2, batch_size=8, sample_weight=np.array([cw[c] for c in y]),
               verbose=0)
    assert same_weights(a, b)
    assert ha.history == hb.history


def test_class_weight_leaves_the_validation_split_unweighted():
    """Keras 3 applies class_weight to the training batches only: with validation_split the
    held-out samples keep their plain sample_weight (none here), so val_loss is the
    unweighted loss of the split, while training is that of the class-weighted samples."""
    x, y = make_data()
    cw = {0: 0.2, 1: 5.0, 2: 1.0}
    split = int(len(x) * 0.75)
    a, b = make_model(seed=7), make_model(seed=7)
    ha = a.fit(x, y, epochs=2, batch_size=8, class_weight=cw, validation_split=0.25,
               shuffle=False, verbose=0)
    hb = b.fit(x[:split], y[:split], epochs=2, batch_size=8, shuffle=False, verbose=0,
               sample_weight=np.array([cw[c] for c in y[:split]]),
               validation_data=(x[split:], y[split:]))
    assert same_weights(a, b)
    assert ha.history == hb.history
    assert ha.history["val_loss"][-1] == pytest.approx(
        a.evaluate(x[split:], y[split:], verbose=0)[0], rel=1e-6)


def test_class_weight_missing_class_weighs_one_and_onehot_targets():
    x, y = make_data()
    onehot = lamina.utils.to_categorical(y, 3)
    a = make_model(seed=7, loss="categorical_crossentropy")
    b = make_model(seed=7, loss="categorical_crossentropy")
    a.fit(x, onehot, epochs=1, class_weight={1: 3.0}, verbose=0)
    b.fit(x, onehot, epochs=1, sample_weight=np.where(y == 1, 3.0, 1.0), verbose=0)
    assert same_weights(a, b)


def test_class_weight_times_sample_weight():
    x, y = make_data()
    sw = np.linspace(0.1, 1, len(x))
    a, b = make_model(seed=8), make_model(seed=8)
    a.fit(x, y, epochs=1, class_weight={0: 2.0}, sample_weight=sw, verbose=0)
    b.fit(x, y, epochs=1, sample_weight=sw * np.where(y == 0, 2.0, 1.0), verbose=0)
    np.testing.assert_allclose(a.get_weights()[0], b.get_weights()[0], rtol=1e-6)


def test_sample_weight_scales_loss_like_keras():
    # Keras's sum_over_batch_size: sum(w * l) / batch size, so w = 2 doubles the loss and,
    # with plain SGD, doubles the step.
    x, y = make_data()
    model = make_model(seed=9, dtype="float64")
    base = model.evaluate(x, y, verbose=0)[0]
    assert model.evaluate(x, y, sample_weight=np.full(len(x), 2.0), verbose=0)[0] == \
        pytest.approx(2 * base, rel=1e-12)
    a = make_model(seed=9, dtype="float64", optimizer=lamina.optimizers.SGD(0.02))
    b = make_model(seed=9, dtype="float64", optimizer=lamina.optimizers.SGD(0.04))
    a.fit(x, y, epochs=2, sample_weight=np.full(len(x), 2.0), verbose=0)
    b.fit(x, y, epochs=2, verbose=0)
    for p, q in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-14)


def test_zero_sample_weights_do_not_train_those_samples():
    x, y = make_data()
    sw = np.ones(len(x))
    sw[::2] = 0.0
    a = make_model(seed=10, dtype="float64")
    a.fit(x, y, batch_size=len(x), epochs=1, sample_weight=sw, verbose=0)
    b = make_model(seed=10, dtype="float64")
    # Same gradient: only odd samples, but the sum is still divided by the full batch.
    b.fit(x[1::2], y[1::2], batch_size=len(x), epochs=1, sample_weight=np.full(20, 0.5),
          verbose=0)
    for p, q in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-14)


def test_loss_weights_scale_the_loss():
    x, y = make_data()
    a = make_model(seed=11, dtype="float64", loss_weights=3.0)
    b = make_model(seed=11, dtype="float64")
    assert a.evaluate(x, y, verbose=0)[0] == pytest.approx(3 * b.evaluate(x, y, verbose=0)[0])


@pytest.mark.parametrize("verbose,expect", [(0, None), (2, "Epoch 2/2"), (1, "Epoch 1/2"),
                                            ("auto", "Epoch 1/2")])
def test_verbose_modes(capsys, verbose, expect):
    x, y = make_data()
    make_model().fit(x, y, epochs=2, verbose=verbose)
    out = capsys.readouterr()
    text = out.out + out.err
    if expect is None:
        assert text == ""
    else:
        assert expect in text and "loss" in text


def test_verbose_zero_dispatches_no_batch_hooks():
    x, y = make_data()
    model = make_model()
    cbl = lamina.callbacks.CallbackList([lamina.callbacks.History(),
                                         lamina.callbacks.EarlyStopping(monitor="loss")],
                                        model, {"verbose": 0})
    assert not cbl.has_train_batch_hooks
    prog = lamina.callbacks.ProgbarLogger()
    assert not lamina.callbacks.CallbackList([prog], model, {"verbose": 2}).has_train_batch_hooks
    assert lamina.callbacks.CallbackList([lamina.callbacks.ProgbarLogger()], model,
                                         {"verbose": 1}).has_train_batch_hooks


def test_callbacks_hook_order_and_params():
    x, y = make_data(n=10)
    seen = []

    class Rec(lamina.callbacks.Callback):
        def on_train_begin(self, logs=None):
            seen.append(("train_begin", self.params["epochs"], self.params["steps"]))

        def on_epoch_begin(self, epoch, logs=None):
            seen.append(("epoch_begin", epoch))

        def on_train_batch_begin(self, batch, logs=None):
            seen.append(("batch_begin", batch))

        def on_train_batch_end(self, batch, logs=None):
            seen.append(("batch_end", batch, sorted(logs)))

        def on_epoch_end(self, epoch, logs=None):
            seen.append(("epoch_end", epoch, sorted(logs)))

        def on_train_end(self, logs=None):
            seen.append(("train_end",))

    make_model().fit(x, y, epochs=1, batch_size=5, verbose=0, callbacks=[Rec()])
    assert seen == [
        ("train_begin", 1, 2), ("epoch_begin", 0),
        ("batch_begin", 0), ("batch_end", 0, ["accuracy", "batch_loss", "loss"]),
        ("batch_begin", 1), ("batch_end", 1, ["accuracy", "batch_loss", "loss"]),
        ("epoch_end", 0, ["accuracy", "loss"]), ("train_end",)]


def test_batch_hooks_path_equals_fast_path():
    x, y = make_data()
    a, b = make_model(seed=12), make_model(seed=12)
    a.fit(x, y, epochs=2, batch_size=8, verbose=0)
    hb = b.fit(x, y, epochs=2, batch_size=8, verbose=0,
               callbacks=[lamina.callbacks.LambdaCallback(on_train_batch_end=lambda b, l: None)])
    assert same_weights(a, b)
    assert hb.history["loss"] == a.history.history["loss"]


def test_stop_training_mid_epoch():
    x, y = make_data()

    class StopAt(lamina.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:
                self.model.stop_training = True

    model = make_model()
    h = model.fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[StopAt()])
    assert model.optimizer.iterations == 2
    assert len(h.history["loss"]) == 1


@pytest.mark.skipif(signal.getsignal(signal.SIGINT) is not signal.default_int_handler,
                    reason="the test runner owns SIGINT")
def test_ctrl_c_stops_cleanly_after_the_current_step(capsys):
    x, y = make_data()

    class CtrlC(lamina.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if self.params and batch == 2 and len(self.model.history.epoch) == 1:
                os.kill(os.getpid(), signal.SIGINT)

    model = make_model()
    h = model.fit(x, y, epochs=5, batch_size=8, verbose=0, callbacks=[CtrlC()])
    assert h.interrupted
    assert h.epoch == [0]
    assert model.optimizer.iterations == 5 + 3
    assert "interrupted" in capsys.readouterr().err
    assert np.isfinite(model.predict(x, verbose=0)).all()
    h2 = model.fit(x, y, epochs=1, verbose=0)  # still usable, handler restored
    assert not h2.interrupted
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_learning_rate_schedule_is_evaluated_per_step():
    x, y = make_data()
    sched = lamina.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    a = make_model(seed=13, optimizer=lamina.optimizers.SGD(sched), dtype="float64")
    a.fit(x, y, batch_size=10, epochs=1, shuffle=False, verbose=0)
    b = make_model(seed=13, optimizer=lamina.optimizers.SGD(0.1), dtype="float64")
    for t, s in enumerate(range(0, 40, 10)):
        b.optimizer.learning_rate = 0.1 * 0.5 ** t
        b.train_on_batch(x[s:s + 10], y[s:s + 10])
    assert same_weights(a, b)
    assert float(a.optimizer.learning_rate) == 0.1 * 0.5 ** 4
    assert "learning_rate" not in a.history.history  # Keras logs no schedule's rate


@pytest.mark.parametrize("make_x", [
    lambda x: x.astype(np.float64),
    lambda x: np.asfortranarray(x),
    lambda x: x.astype(">f4"),
    lambda x: np.repeat(x, 2, axis=1)[:, ::2],
    lambda x: x.tolist(),
])
def test_input_layouts_and_dtypes_give_identical_training(make_x):
    x, y = make_data()
    a, b = make_model(seed=14), make_model(seed=14)
    a.fit(x, y, epochs=2, batch_size=8, verbose=0)
    b.fit(make_x(x), y.tolist(), epochs=2, batch_size=8, verbose=0)
    assert same_weights(a, b)


def test_integer_inputs_and_float_labels():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 17, size=(30, 5)).astype(np.uint8)
    y = rng.integers(0, 3, size=30).astype(np.float32)
    a, b = make_model(seed=15), make_model(seed=15)
    a.fit(x, y, epochs=1, verbose=0)
    b.fit(x.astype(np.float32), y.astype(np.int64), epochs=1, verbose=0)
    assert same_weights(a, b)


def test_float64_model_trains_in_float64():
    x, y = make_data()
    model = make_model(dtype="float64")
    model.fit(x, y, epochs=1, verbose=0)
    assert all(w.dtype == np.float64 for w in model.get_weights())
    assert model.predict(x, verbose=0).dtype == np.float64


def test_regression_and_binary_models():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 3))
    t = x @ np.array([1.0, -2.0, 0.5])
    reg = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)], seed=0)
    reg.compile(optimizer=lamina.optimizers.SGD(0.1), loss="mse", metrics=["mae"])
    h = reg.fit(x, t, epochs=30, batch_size=16, verbose=0)
    assert h.history["loss"][-1] < 1e-3 and "mae" in h.history
    binm = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1, activation="sigmoid")],
                             seed=0)
    binm.compile(optimizer=lamina.optimizers.Adam(0.05), loss="binary_crossentropy",
                 metrics=["accuracy"])
    h = binm.fit(x, (t > 0).astype(int), epochs=20, verbose=0)
    assert h.history["accuracy"][-1] > 0.9
    assert binm._compiled_metrics.metrics[0].core_name == "binary_accuracy"


def test_fit_builds_a_model_without_input():
    x, y = make_data()
    model = lamina.Sequential([lamina.layers.Dense(4, activation="relu"),
                               lamina.layers.Dense(3, activation="softmax")], seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    assert not model.built
    model.fit(x, y, epochs=1, verbose=0)
    assert model.built and model.input_shape == (None, 5)


def test_flatten_takes_multidimensional_samples():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 4, 2))
    y = rng.integers(0, 2, size=20)
    model = lamina.Sequential([lamina.Input((4, 2)), lamina.layers.Flatten(),
                               lamina.layers.Dense(2, activation="softmax")], seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=0)
    flat = lamina.Sequential([lamina.Input((8,)), lamina.layers.Dense(2, activation="softmax")],
                             seed=0)
    flat.set_weights(model.get_weights())
    np.testing.assert_array_equal(model.predict(x, verbose=0),
                                  flat.predict(x.reshape(20, 8), verbose=0))


CTRL_C_SCRIPT = """
import signal, sys, numpy as np, lamina
# A child inherits an ignored SIGINT (a runner started in the background, `cmd &`); without
# this it would never see the Ctrl-C and could finish all its epochs instead.
signal.signal(signal.SIGINT, signal.default_int_handler)
x = np.random.default_rng(0).normal(size=(2000, 20)); y = (x[:, 0] > 0).astype(int)
m = lamina.Sequential([lamina.Input((20,)), lamina.layers.Dense(64, activation='relu'),
                       lamina.layers.Dense(2, activation='softmax')], seed=0)
m.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
cb = lamina.callbacks.LambdaCallback(
    on_epoch_end=lambda e, logs: print('epoch', e, flush=True) if e == 0 else None)
h = m.fit(x, y, epochs=100000, batch_size=8, verbose=0, callbacks=[cb])
print('returned', h.interrupted, len(h.epoch) >= 1, m.optimizer.iterations > 0, flush=True)
print('accuracy', m.evaluate(x, y, verbose=0)[1], flush=True)
"""


def test_ctrl_c_from_outside_returns_history_and_usable_model():
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", CTRL_C_SCRIPT], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().startswith("epoch 0")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "returned True True True" in out
    assert float(out.split("accuracy")[1]) > 0.9
    assert "interrupted (Ctrl-C)" in err


def test_frozen_layer_gets_no_slots_and_keeps_its_weights():
    # Sequential._network_for gives optimizer slots to the trainable parameters only.
    x = np.random.default_rng(0).standard_normal((64, 4)).astype("float32")
    y = np.arange(64) % 3
    model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(8, activation="relu"),
                               lamina.layers.Dense(3, activation="softmax")])
    model.layers[0].trainable = False
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    before = [w.copy() for w in model.get_weights()]
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    after = model.get_weights()
    assert [np.array_equal(a, b) for a, b in zip(before, after)] == [True, True, False, False]
    assert [[s.shape for s in per] for per in model.optimizer.slots] == [[(8, 3)] * 2, [(3,)] * 2]
