"""Data that is not one array: generators, iterables and PyDatasets of batches in fit /
evaluate / predict, steps_per_epoch and validation_steps (Keras 3 semantics), and the
prefetch thread (never left behind, errors propagate unchanged)."""

import os
import signal
import threading

import numpy as np
import pytest

import lamina
from lamina import data_adapters, prefetch
from test_fit import make_data, make_model, same_weights

X, Y = make_data(n=50)
SW = np.linspace(0.2, 2.0, 50)
BS = 8


def batches(x=X, y=Y, sw=None, bs=BS, epochs=1):
    for _ in range(epochs):
        for s in range(0, len(x), bs):
            if sw is None:
                yield x[s:s + bs], y[s:s + bs]
            else:
                yield x[s:s + bs], y[s:s + bs], sw[s:s + bs]


class Batches(lamina.utils.PyDataset):
    def __init__(self, x=X, y=Y, bs=BS, **kw):
        super().__init__(**kw)
        self.x, self.y, self.bs = x, y, bs
        self.calls = []
        self.ends = 0

    def __len__(self):
        return -(-len(self.x) // self.bs)

    def __getitem__(self, i):
        self.calls.append(i)
        return self.x[i * self.bs:(i + 1) * self.bs], self.y[i * self.bs:(i + 1) * self.bs]

    def on_epoch_end(self):
        self.ends += 1


def no_prefetch_thread():
    return not any(t.name.startswith(prefetch.THREAD_NAME) for t in threading.enumerate())


def fit_pair(source_kw, array_kw=None, epochs=3, sw=None):
    """fit on arrays (shuffle=False) and on a batch source; returns both models/histories."""
    a, b = make_model(seed=3, optimizer="adam"), make_model(seed=3, optimizer="adam")
    ha = a.fit(X, Y, batch_size=BS, epochs=epochs, shuffle=False, verbose=0,
               sample_weight=sw, validation_data=(X[:20], Y[:20]), **(array_kw or {}))
    hb = b.fit(epochs=epochs, verbose=0, **source_kw)
    return a, b, ha, hb


@pytest.mark.parametrize("make_source", [
    lambda: dict(x=batches(epochs=3), steps_per_epoch=7),
    lambda: dict(x=list(batches())),
    lambda: dict(x=Batches(), shuffle=False),
    lambda: dict(x=Batches(workers=4, max_queue_size=3), shuffle=False),
], ids=["generator", "list", "pydataset", "pydataset-4-workers"])
def test_batch_source_trains_bit_identical_to_arrays(make_source):
    kw = make_source()
    kw["validation_data"] = list(batches(X[:20], Y[:20]))
    a, b, ha, hb = fit_pair(kw)
    assert same_weights(a, b)
    assert ha.history == hb.history
    assert a.optimizer.iterations == b.optimizer.iterations == 21
    assert no_prefetch_thread()


def test_sample_weight_batches_equal_sample_weight_arrays():
    kw = dict(x=batches(sw=SW, epochs=2), steps_per_epoch=7, validation_data=batches(
        X[:20], Y[:20], epochs=2), validation_steps=3)
    a, b, ha, hb = fit_pair(kw, epochs=2, sw=SW)
    assert same_weights(a, b) and ha.history == hb.history


def test_evaluate_and_predict_on_batch_sources_equal_arrays():
    m = make_model(seed=1)
    m.fit(X, Y, epochs=2, verbose=0)
    want = m.evaluate(X, Y, batch_size=BS, verbose=0)
    assert m.evaluate(batches(), verbose=0) == want
    assert m.evaluate(Batches(workers=2), verbose=0) == want
    assert m.evaluate(X, Y, batch_size=BS, steps=2, verbose=0) == m.evaluate(
        X[:16], Y[:16], batch_size=BS, verbose=0)
    assert m.evaluate(batches(), steps=2, verbose=0) == m.evaluate(X[:16], Y[:16], batch_size=BS,
                                                                   verbose=0)
    pred = m.predict(X, verbose=0)
    np.testing.assert_array_equal(m.predict((x for x, _ in batches()), verbose=0), pred)
    np.testing.assert_array_equal(m.predict(Batches(), verbose=0), pred)  # (x, y): y ignored
    np.testing.assert_array_equal(m.predict([(x,) for x, _ in batches()], steps=2, verbose=0),
                                  pred[:16])
    np.testing.assert_array_equal(m.predict(X, batch_size=BS, steps=2, verbose=0), pred[:16])


def test_unbuilt_model_is_built_from_the_first_batch():
    model = lamina.Sequential([lamina.layers.Dense(3, activation="softmax")], seed=0)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(batches(), verbose=0)
    assert model.input_shape == (None, 5)


# ---------------------------------------------------------------- steps_per_epoch -----
def test_steps_per_epoch_with_arrays_continues_the_pass_across_epochs():
    # 7 batches of 8; 3 batches an epoch: epochs take batches 0-2, 3-5, then 6 alone (the
    # pass ran out: Keras warns and ends the epoch), then a new pass.
    a, b = make_model(seed=2), make_model(seed=2)
    seen = []
    log = lamina.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: seen.append(batch))
    with pytest.warns(UserWarning, match="ran out of data"):
        h = a.fit(X, Y, batch_size=BS, steps_per_epoch=3, epochs=4, shuffle=False, verbose=0,
                  callbacks=[log])
    assert seen == [0, 1, 2, 0, 1, 2, 0, 0, 1, 2]
    assert a.optimizer.iterations == 10
    b.fit(X, Y, batch_size=BS, epochs=1, shuffle=False, verbose=0)
    b.fit(X[:24], Y[:24], batch_size=BS, epochs=1, shuffle=False, verbose=0)
    assert same_weights(a, b)
    assert len(h.history["loss"]) == 4


def test_steps_per_epoch_alone_sets_one_pass_per_epoch():
    a, b = make_model(seed=2), make_model(seed=2)
    ha = a.fit(X, Y, steps_per_epoch=5, epochs=2, verbose=0)  # batch_size ceil(50 / 5) = 10
    hb = b.fit(X, Y, batch_size=10, epochs=2, verbose=0)
    assert same_weights(a, b) and ha.history == hb.history
    assert ha.params["steps"] == 5


def test_list_of_batches_with_steps_per_epoch_of_its_length_repeats_without_warning():
    a, b = make_model(seed=2), make_model(seed=2)
    ha = a.fit(list(batches()), steps_per_epoch=7, epochs=3, verbose=0)
    hb = b.fit(X, Y, batch_size=BS, epochs=3, shuffle=False, verbose=0)
    assert same_weights(a, b) and ha.history == hb.history


def test_pydataset_steps_per_epoch_and_epoch_hooks():
    ds = Batches()
    model = make_model()
    with pytest.warns(UserWarning, match="ran out of data"):
        model.fit(ds, steps_per_epoch=4, epochs=2, shuffle=False, verbose=0)
    assert ds.calls == [0] + [0, 1, 2, 3, 4, 5, 6]  # the first batch is read once more to build
    assert ds.ends == 2


def test_pydataset_shuffle_is_seeded_and_keeps_every_batch():
    orders = []
    for _ in range(2):
        ds = Batches()
        make_model(seed=5).fit(ds, epochs=2, verbose=0)
        orders.append(ds.calls[1:])
    assert orders[0] == orders[1]
    assert sorted(orders[0][:7]) == list(range(7)) and orders[0][:7] != list(range(7))


def test_endless_pydataset_needs_steps_per_epoch():
    class Endless(lamina.utils.PyDataset):
        num_batches = None

        def __getitem__(self, i):
            return X[:4] + i, Y[:4]

    with pytest.raises(ValueError, match="endless.*steps_per_epoch"):
        make_model().fit(Endless(), verbose=0)
    with pytest.raises(ValueError, match="endless.*validation_steps"):
        make_model().fit(X, Y, validation_data=Endless(), verbose=0)
    with pytest.raises(ValueError, match=r"endless.*pass steps$"):
        make_model().evaluate(Endless(), verbose=0)
    h = make_model().fit(Endless(), steps_per_epoch=3, epochs=2, verbose=0,
                         validation_data=Endless(), validation_steps=2)
    assert len(h.history["val_loss"]) == 2
    assert make_model().evaluate(Endless(), steps=2, verbose=0)[1] >= 0.0


def test_exhausted_generator_warns_and_stops_training():
    model = make_model()
    with pytest.warns(UserWarning, match="ran out of data"):
        h = model.fit(batches(), epochs=3, verbose=0)
    assert len(h.history["loss"]) == 1 and model.optimizer.iterations == 7
    # exactly enough batches for steps_per_epoch * epochs: no warning
    h = make_model().fit(batches(epochs=2), steps_per_epoch=7, epochs=2, verbose=0)
    assert len(h.history["loss"]) == 2


def test_generator_ending_inside_an_epoch_warns_and_ends_it():
    model = make_model()
    with pytest.warns(UserWarning, match="ran out of data"):
        h = model.fit(batches(), steps_per_epoch=5, epochs=2, verbose=0)
    assert len(h.history["loss"]) == 2 and model.optimizer.iterations == 7


def test_validation_steps_continue_and_exhausted_validation_names_the_argument():
    model = make_model()
    h = model.fit(X, Y, epochs=2, verbose=0, validation_data=batches(epochs=1),
                  validation_steps=3)
    assert len(h.history["val_loss"]) == 2
    with pytest.raises(ValueError, match="no batch left.*validation_steps"):
        make_model().fit(X, Y, epochs=2, verbose=0, validation_data=batches())


def test_validation_steps_with_arrays_continue_across_validations():
    # 20 validation rows in batches of 8: validations take batches (0, 1), then 2 alone
    # (the pass ran out: warning), then (0, 1) again, as Keras keeps its validation iterator
    vx, vy = X[:20], Y[:20]

    class Val(lamina.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            rows = [slice(0, 16), slice(16, 20), slice(0, 16)][epoch]
            want = self.model.evaluate(vx[rows], vy[rows], batch_size=BS, verbose=0)
            assert logs["val_loss"] == want[0], epoch

    with pytest.warns(UserWarning, match="ran out of data"):
        h = make_model().fit(X, Y, epochs=3, verbose=0, validation_data=(vx, vy),
                             validation_batch_size=BS, validation_steps=2, callbacks=[Val()])
    assert len(h.history["val_loss"]) == 3


# ---------------------------------------------------------------- bad input -----------
def bad_shape():
    yield X[:8], Y[:8]
    yield X[:8, :4], Y[:8]


def ragged():
    yield X[:8], Y[:8]
    yield X[:8], Y[:8], SW[:8], SW[:8]


def mismatched():
    yield X[:8], Y[:7]


@pytest.mark.parametrize("kw,exc,pattern", [
    (dict(x=bad_shape), ValueError,
     r"batch 1 of x \(a generator\): x has samples of shape \(4,\).*expects \(5,\)"),
    (dict(x=ragged), ValueError, r"batch 1 of x \(a generator\) is a tuple of length 4"),
    (dict(x=mismatched), ValueError, "x has 8.*y has 7"),
    (dict(x=lambda: iter([X[:8]])), ValueError, r"batch 0 .* is a ndarray, not a tuple"),
    (dict(x=lambda: iter([])), ValueError, r"x \(an iterator \(list_iterator\)\) yielded no"),
    (dict(x=batches, batch_size=32), ValueError, "batch_size=32 must not be passed"),
    (dict(x=batches, y=Y), ValueError, "y must not be passed when x is a generator"),
    (dict(x=batches, class_weight={0: 2.0}), ValueError, "class_weight is not supported"),
    (dict(x=batches, validation_split=0.2), ValueError, "validation_split=0.2 needs arrays"),
    (dict(x=batches, steps_per_epoch=0), ValueError, "steps_per_epoch must be >= 1, got 0"),
    (dict(x=lambda: X, y=Y, validation_steps=-1), ValueError, "validation_steps must be >= 1"),
    (dict(x=lambda: X, y=Y, validation_data=batches(), validation_batch_size=4), ValueError,
     "validation_batch_size=4 must not be passed"),
])
def test_bad_batch_sources_raise_clear_errors(kw, exc, pattern):
    kw = dict(kw)
    kw["x"] = kw["x"]()
    with pytest.raises(exc, match=pattern):
        make_model().fit(verbose=0, **kw)
    assert no_prefetch_thread()


# ---------------------------------------------------------------- prefetch thread -----
class Boom(Exception):
    pass


def failing(at):
    for i, b in enumerate(batches(epochs=2)):
        if i == at:
            raise Boom(f"generator failed at {i}")
        yield b


def test_generator_exception_propagates_and_the_thread_is_gone():
    model = make_model()
    with pytest.raises(Boom, match="generator failed at 4"):
        model.fit(failing(4), steps_per_epoch=7, verbose=0)
    assert no_prefetch_thread()
    assert model.optimizer.iterations == 4  # the batches before the failure trained
    with pytest.raises(Boom):
        model.evaluate(failing(2), verbose=0)
    with pytest.raises(Boom):
        model.predict(failing(3), verbose=0)
    assert no_prefetch_thread()


def test_keyboard_interrupt_in_the_generator_propagates_and_the_thread_is_gone():
    def interrupted():
        yield X[:8], Y[:8]
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        make_model().fit(interrupted(), verbose=0)
    assert no_prefetch_thread()


def ctrl_c_at(index):
    """Batches of two epochs; SIGINT is sent (from the prefetch thread) before batch
    ``index``."""
    for i, b in enumerate(batches(epochs=2)):
        if i == index:
            os.kill(os.getpid(), signal.SIGINT)
        yield b


@pytest.mark.skipif(signal.getsignal(signal.SIGINT) is not signal.default_int_handler,
                    reason="the test runner owns SIGINT")
def test_ctrl_c_stops_a_generator_fit_cleanly_and_twice_aborts_it():
    model = make_model()
    h = model.fit(ctrl_c_at(9), steps_per_epoch=7, epochs=2, verbose=0)
    assert h.interrupted and h.epoch == [0]
    # the flag is checked after each step; the generator runs up to 3 batches ahead
    assert 8 <= model.optimizer.iterations <= 10
    assert no_prefetch_thread()


    class CtrlCTwice(lamina.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 3:
                os.kill(os.getpid(), signal.SIGINT)  # the handler sets the stop flag
                os.kill(os.getpid(), signal.SIGINT)  # a second Ctrl-C aborts

    with pytest.raises(KeyboardInterrupt):
        make_model().fit(batches(), verbose=0, callbacks=[CtrlCTwice()])
    assert no_prefetch_thread()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_step_or_callback_failure_and_early_stop_leave_no_thread():
    class Stop(lamina.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 2:
                self.model.stop_training = True

    class Fail(lamina.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            raise Boom("callback")

    model = make_model()
    model.fit(batches(epochs=9), steps_per_epoch=7, epochs=9, verbose=0, callbacks=[Stop()])
    assert model.optimizer.iterations == 3 and no_prefetch_thread()
    with pytest.raises(Boom):
        model.fit(Batches(workers=3), verbose=0, callbacks=[Fail()])
    assert no_prefetch_thread()


def test_reused_generator_buffer_is_copied_before_prefetching():
    def refilled():  # one buffer, refilled for every batch
        bx, by = np.empty((8, 5), np.float32), np.empty(8, np.int64)
        for s in range(0, 48, 8):
            bx[...], by[...] = X[s:s + 8], Y[s:s + 8]
            yield bx, by

    a, b = make_model(seed=4), make_model(seed=4)
    a.fit(refilled(), verbose=0)
    b.fit(X[:48], Y[:48], batch_size=8, shuffle=False, verbose=0)
    assert same_weights(a, b)


def test_prefetch_and_ordered_map():
    assert list(prefetch.prefetch(iter(range(100)), depth=3)) == list(range(100))
    it = prefetch.prefetch(iter(range(100)), depth=3)
    assert next(it) == 0
    it.close()
    assert no_prefetch_thread()
    assert list(prefetch.ordered_map(lambda i: i * i, range(50), workers=4, window=5)) == [
        i * i for i in range(50)]


def test_batch_source_detection():
    assert data_adapters.is_batch_source(batches())
    assert data_adapters.is_batch_source([(X, Y)])
    assert data_adapters.is_batch_source(Batches())
    assert not data_adapters.is_batch_source(X)
    assert not data_adapters.is_batch_source(X.tolist())
    assert not data_adapters.is_batch_source(None)


def test_progress_line_of_a_source_of_unknown_length(capsys):
    make_model().fit(batches(), verbose=2)
    line = capsys.readouterr().out.splitlines()[1]  # after "Epoch 1/1"
    assert "loss:" in line and "/" not in line.split(" - ")[0]
    make_model().fit(list(batches()), verbose=2)  # a list's length is its number of batches
    assert "7/7" in capsys.readouterr().out
