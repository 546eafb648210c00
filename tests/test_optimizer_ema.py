"""use_ema / ema_momentum / ema_overwrite_frequency (Keras 3): the weights' moving average,
checked against a numpy reference of the same steps."""

import numpy as np
import pytest

import lamina

rng = np.random.default_rng(0)
X, Y = rng.normal(size=(64, 4)), rng.normal(size=(64, 2))


def model(opt):
    m = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(3, activation="tanh"),
                           lamina.layers.Dense(2)], seed=0, dtype="float64")
    m.compile(optimizer=opt, loss="mse")
    return m


def reference(opt_factory, momentum, overwrite=None, steps=8, bs=16):
    """Plain optimizer steps (train_on_batch) with the average kept in numpy."""
    m = model(opt_factory())
    avg = None
    for t in range(steps):
        s = (t * bs) % len(X)
        m.train_on_batch(X[s:s + bs], Y[s:s + bs])
        w = m.get_weights()
        avg = [x.copy() for x in w] if avg is None else [
            momentum * a + (1 - momentum) * x for a, x in zip(avg, w)]
        if overwrite and (t + 1) % overwrite == 0:
            m.set_weights(avg)
    return avg


@pytest.mark.parametrize("make_opt", [
    lambda **kw: lamina.optimizers.SGD(0.1, **kw),
    lambda **kw: lamina.optimizers.Adam(0.01, **kw),
], ids=["sgd", "adam"])
def test_fit_ends_with_the_average_and_trains_as_without_ema(make_opt):
    ema = model(make_opt(use_ema=True, ema_momentum=0.9))
    plain = model(make_opt())
    h_ema = ema.fit(X, Y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    h_plain = plain.fit(X, Y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    assert h_ema.history == h_plain.history  # the steps themselves are unchanged
    want = reference(lambda: make_opt(), 0.9)
    for got, exp in zip(ema.get_weights(), want):
        np.testing.assert_allclose(got, exp, rtol=0, atol=1e-13)


def test_overwrite_frequency_sets_the_weights_to_the_average():
    opt = lambda **kw: lamina.optimizers.SGD(0.1, **kw)  # noqa: E731
    m = model(opt(use_ema=True, ema_momentum=0.8, ema_overwrite_frequency=3))
    m.fit(X, Y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    want = reference(lambda: opt(), 0.8, overwrite=3)
    for got, exp in zip(m.get_weights(), want):
        np.testing.assert_allclose(got, exp, rtol=0, atol=1e-13)


def test_train_on_batch_keeps_the_average_and_fit_with_no_epoch_leaves_weights():
    m = model(lamina.optimizers.SGD(0.1, use_ema=True))
    m.train_on_batch(X[:16], Y[:16])
    np.testing.assert_array_equal(m.optimizer.ema_averages[0], m.get_weights()[0])
    before = m.get_weights()
    m.fit(X, Y, epochs=0, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, m.get_weights()))


def test_ema_config_round_trip_and_bad_values():
    opt = lamina.optimizers.Adam(use_ema=True, ema_momentum=0.95, ema_overwrite_frequency=5)
    cfg = opt.get_config()
    assert (cfg["use_ema"], cfg["ema_momentum"], cfg["ema_overwrite_frequency"]) == (
        True, 0.95, 5)
    back = lamina.optimizers.Adam.from_config(cfg)
    assert (back.use_ema, back.ema_momentum, back.ema_overwrite_frequency) == (True, 0.95, 5)
    # Keras 3's base keys, in its order, whether or not use_ema is set
    base = list(lamina.optimizers.Adam().get_config())[:11]
    assert base == ["name", "learning_rate", "weight_decay", "clipnorm", "global_clipnorm",
                    "clipvalue", "use_ema", "ema_momentum", "ema_overwrite_frequency",
                    "loss_scale_factor", "gradient_accumulation_steps"]
    assert lamina.optimizers.Adam().get_config()["use_ema"] is False
    with pytest.raises(ValueError, match=r"ema_momentum must be in \[0.0, 1.0\], got 1.5"):
        lamina.optimizers.SGD(use_ema=True, ema_momentum=1.5)
    with pytest.raises(ValueError, match="ema_overwrite_frequency .* got 0"):
        lamina.optimizers.SGD(use_ema=True, ema_overwrite_frequency=0)
