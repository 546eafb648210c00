"""Keras 3's callback protocol: any object with Callback methods, only the ones it has."""

import numpy as np
import pytest

import lamina
from lamina.callbacks import CallbackList
from test_fit import make_data, make_model, same_weights


class OnlyEpochEnd:  # no base class, no set_model / set_params
    def __init__(self):
        self.seen = []

    def on_epoch_end(self, epoch, logs=None):
        self.seen.append((epoch, dict(logs)))


class Recorder:
    """A plain object with the whole protocol, recording every call."""

    def __init__(self):
        self.calls = []
        self.model = self.params = None

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def __getattr__(self, name):
        if name.startswith("on_"):
            return lambda *args: self.calls.append((name, *args))
        raise AttributeError(name)


class Boom(Exception):
    pass


def test_a_plain_object_with_only_on_epoch_end_works():
    x, y = make_data()
    cb = OnlyEpochEnd()
    model = make_model()
    h = model.fit(x, y, epochs=3, validation_split=0.25, verbose=0, callbacks=[cb])
    assert [e for e, _ in cb.seen] == [0, 1, 2]
    logs = cb.seen[-1][1]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(logs)
    assert all(type(v) is float for v in logs.values())  # Python floats, as Keras's logs
    assert logs["val_loss"] == h.history["val_loss"][-1]
    assert not CallbackList([cb], model, {}).has_train_batch_hooks  # costs nothing per batch


def test_set_model_set_params_and_hooks_in_keras_order():
    x, y = make_data(n=10)
    rec = Recorder()
    model = make_model()
    model.fit(x, y, epochs=2, batch_size=5, verbose=0, callbacks=[rec],
              validation_data=(x, y), validation_batch_size=10)
    assert rec.model is model
    assert rec.params == {"epochs": 2, "steps": 2, "verbose": 0}
    names = [c[0] for c in rec.calls]
    assert names[:4] == ["on_train_begin", "on_epoch_begin", "on_train_batch_begin",
                         "on_train_batch_end"]
    assert names[-1] == "on_train_end" and names.count("on_epoch_end") == 2
    assert names.count("on_test_begin") == 2 and names.count("on_test_batch_end") == 2
    assert rec.calls[-1][1] == rec.calls[-2][2]  # on_train_end gets the last epoch's logs
    rec.calls.clear()
    model.evaluate(x, y, batch_size=4, verbose=0, callbacks=[rec])
    assert rec.params == {"verbose": 0, "epochs": 1, "steps": 3}
    assert [c[0] for c in rec.calls].count("on_test_batch_end") == 3
    rec.calls.clear()
    model.predict(x, batch_size=5, verbose=0, callbacks=[rec])
    assert [c[0] for c in rec.calls] == ["on_predict_begin", "on_predict_batch_begin",
                                         "on_predict_batch_end", "on_predict_batch_begin",
                                         "on_predict_batch_end", "on_predict_end"]


def test_only_overridden_hooks_are_called_and_old_batch_names_count():
    calls = []

    class OldName(lamina.callbacks.Callback):
        def on_batch_end(self, batch, logs=None):
            calls.append(batch)

    model = make_model()
    cbl = CallbackList([OldName()], model, {})
    assert cbl.has_train_batch_hooks and not cbl.has_test_batch_hooks
    x, y = make_data(n=10)
    model.fit(x, y, epochs=1, batch_size=5, verbose=0, callbacks=[OldName()])
    assert calls == [0, 1]


def test_not_a_callback_is_refused_naming_it():
    with pytest.raises(TypeError, match="on_epoch_end.*got 42"):
        CallbackList([42], None, {})
    with pytest.raises(TypeError, match="got <class"):
        CallbackList([lamina.callbacks.History], None, {})  # the class, not an instance


def test_stop_training_set_by_a_plain_callback_is_honoured():
    class StopAt1:
        def set_model(self, model):
            self.model = model

        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                self.model.stop_training = True

    x, y = make_data()
    h = make_model().fit(x, y, epochs=10, verbose=0, callbacks=[StopAt1()])
    assert h.epoch == [0, 1]


@pytest.mark.parametrize("hook", ["on_epoch_end", "on_train_batch_end", "on_train_begin"])
@pytest.mark.parametrize("exc", [Boom, KeyboardInterrupt])
def test_an_exception_in_a_callback_propagates_and_the_model_fits_again(hook, exc):
    x, y = make_data()

    class Raise:
        def __init__(self):
            self.n = 0

    def raise_(self, *args):
        self.n += 1
        if self.n == 2 or hook == "on_train_begin":
            raise exc("from the callback")

    setattr(Raise, hook, raise_)
    model = make_model()
    with pytest.raises(exc, match="from the callback"):
        model.fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[Raise()])
    assert not model.stop_training or hook == "on_train_begin"
    h = model.fit(x, y, epochs=2, batch_size=8, verbose=0)  # usable: fit again
    assert len(h.history["loss"]) == 2 and np.isfinite(h.history["loss"]).all()
    # and it trains as a fresh fit continues: the optimizer counted every step it took
    assert model.optimizer.iterations >= 2 * 5


def test_a_learning_rate_set_by_a_callback_is_used_from_the_next_batch():
    class Halve:
        def set_model(self, model):
            self.model = model
            self.lrs = []

        def on_train_batch_begin(self, batch, logs=None):
            self.lrs.append(float(self.model.optimizer.learning_rate))

        def on_train_batch_end(self, batch, logs=None):
            lr = self.model.optimizer.learning_rate
            lr.assign(float(lr) / 2)  # Keras's variable spelling

    x, y = make_data(n=32)
    a, b = make_model(optimizer=lamina.optimizers.SGD(0.4)), make_model()
    cb = Halve()
    a.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0, callbacks=[cb])
    assert cb.lrs == [0.4, 0.2, 0.1, 0.05]
    b.compile(optimizer=lamina.optimizers.SGD(0.4), loss="sparse_categorical_crossentropy")
    for i in range(4):  # the same four steps by hand
        b.optimizer.learning_rate = 0.4 / 2 ** i
        b.train_on_batch(x[8 * i:8 * i + 8], y[8 * i:8 * i + 8])
    assert same_weights(a, b)


def test_a_learning_rate_set_at_epoch_end_is_used_by_the_next_epoch():
    class Tenth:
        used = []

        def set_model(self, model):
            self.model = model

        def on_epoch_end(self, epoch, logs=None):
            lr = float(self.model.optimizer.learning_rate)  # the rate this epoch used
            self.used.append(lr)
            self.model.optimizer.learning_rate = lr / 10

    x, y = make_data()
    a = make_model(optimizer=lamina.optimizers.SGD(0.5))
    a.fit(x, y, epochs=3, batch_size=40, shuffle=False, verbose=0, callbacks=[Tenth()])
    np.testing.assert_allclose(Tenth.used, [0.5, 0.05, 0.005])
    b = make_model(optimizer=lamina.optimizers.SGD(0.5))
    for lr in (0.5, 0.05, 0.005):  # the same three full-batch steps by hand
        b.optimizer.learning_rate = lr
        b.train_on_batch(x, y)
    assert same_weights(a, b)


def test_verbose_false_is_keras_verbose_0(capsys):
    x, y = make_data()
    model = make_model()
    model.fit(x, y, epochs=1, verbose=False)  # as Optuna's Keras example writes it
    model.evaluate(x, y, verbose=False)
    assert capsys.readouterr().out == ""
