"""`history.diagnose()` on a table of real runs: small lamina models trained on the bundled
digits (standardized, seeded), each built to show one thing a hyperparameter does.

Each row asserts the findings (exactly), words of their evidence, the advice that must be
there and the advice that must not (never something the run already has). The whole table
trains in a few seconds.
"""

import math

import numpy as np
import pytest

import lamina
from lamina import callbacks
from lamina.datasets import load_digits
from lamina.diagnose import RunInfo, diagnose, run_info


@pytest.fixture(scope="module")
def digits():
    (x, y), _ = load_digits(test_split=0.2, seed=0)
    x = x.astype("float64")
    mean, std = x.mean(axis=0), x.std(axis=0)
    x = ((x - mean) / np.where(std > 0, std, 1.0)).astype("float32")
    return x, y.astype("int64")


def noisy_labels(data, fraction=0.25, seed=0):
    """The digits with a fraction of the labels redrawn at random: an oversized network
    memorizes the wrong labels, so its validation loss turns up within a few epochs."""
    x, y = data
    rng = np.random.default_rng(seed)
    y = y.copy()
    flip = rng.random(len(y)) < fraction
    y[flip] = rng.integers(0, 10, int(flip.sum()))
    return x, y


def dense(units, activation="relu", **kw):
    return lamina.layers.Dense(units, activation=activation, **kw)


def stack(k, units, activation="relu", **kw):
    return [dense(units, activation, **kw) for _ in range(k)]


def train(data, hidden, optimizer, epochs=20, batch_size=32, n=None, es=False, seed=0,
          terminate=True):
    """Trains [Input, *hidden, Dense(10, softmax)] with a 20% validation split."""
    x, y = data
    if n is not None:
        x, y = x[:n], y[:n]
    model = lamina.Sequential([lamina.Input((64,)), *hidden, dense(10, "softmax")], seed=seed)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    cbs = []
    if es:
        cbs.append(callbacks.EarlyStopping(patience=5, restore_best_weights=True))
    if terminate:
        cbs.append(callbacks.TerminateOnNaN())
    return model.fit(x, y, epochs=epochs, batch_size=batch_size, validation_split=0.2,
                     callbacks=cbs, verbose=0)


def sgd(lr, **kw):
    return lamina.optimizers.SGD(learning_rate=lr, **kw)


def adam(lr=0.001):
    return lamina.optimizers.Adam(learning_rate=lr)


def big(**kw):  # 2 x 256 units for 160 training digits: memorizes them
    return [dense(256, **kw), dense(256, **kw)]


def big_dropout():
    return [dense(256), lamina.layers.Dropout(0.5), dense(256), lamina.layers.Dropout(0.5)]


# name: (build, findings, evidence words, advice that must be there, advice that must not)
TABLE = {
    "sgd_lr10": (lambda d: train(d, [dense(64)], sgd(10.0)),
                 ["divergence"], ["became", "learning rate 10 is 1e+03x sgd's default 0.01",
                                  "TerminateOnNaN"],
                 ["lower the learning rate 10x: learning_rate = 1 "], ["dropout", "epochs"]),
    "sgd_lr1": (lambda d: train(d, stack(3, 64), sgd(1.0)),
                ["divergence"], ["became", "learning rate 1 is 100x"],
                ["learning_rate = 0.1 "], ["dropout"]),
    "adam_lr10": (lambda d: train(d, [dense(64)], adam(10.0)),
                  ["unstable"], ["x the untrained loss 2.3", "1e+04x adam's default"],
                  ["learning_rate = 1 ", "clip"], ["dropout", "L2"]),
    "adam_lr1": (lambda d: train(d, [dense(64)], adam(1.0)),
                 ["unstable"], ["extreme confidence", "chance 0.1053", "1e+03x adam's"],
                 ["learning_rate = 0.1 "], ["dropout", "L2", "batch"]),
    "adam_lr1_deep": (lambda d: train(d, stack(2, 64), adam(1.0)),
                      ["divergence"], ["sits at the untrained loss", "overshot"],
                      ["learning_rate = 0.1 "], ["dropout", "units"]),
    "sgd_lr_low": (lambda d: train(d, [dense(64)], sgd(1e-4)),
                   ["learning_rate_too_low"], ["fell only from", "1/100 of sgd's default"],
                   ["learning_rate = 0.001 (now 0.0001"], ["lower the learning", "dropout"]),
    "adam_lr_low": (lambda d: train(d, [dense(64)], adam(1e-5)),
                    ["learning_rate_too_low"], ["still falling"],
                    ["learning_rate = 0.0001 (now 1e-05"], ["dropout", "units"]),
    "zeros_init": (lambda d: train(d, stack(3, 64, "tanh", kernel_initializer="zeros"),
                                   sgd(0.01, momentum=0.9)),
                   ["bad_initialization"], ["constant kernels", "Zeros", "symmetry",
                                            "for all 20 epochs"],
                   ["glorot_uniform"], ["dropout", "learning rate", "epochs"]),
    "large_normal_init": (
        lambda d: train(d, stack(3, 64, "tanh", kernel_initializer=lamina.initializers.
                                 RandomNormal(stddev=1.0)), sgd(0.01, momentum=0.9)),
        ["bad_initialization"], ["far larger than fan-in", "RandomNormal", "var(W) x fan_in"],
        ["glorot_uniform"], ["dropout", "L2", "learning rate"]),
    "sigmoid_vanishing": (lambda d: train(d, stack(5, 64, "sigmoid"), sgd(0.05)),
                          ["vanishing_gradients"], ["5 hidden layers use sigmoid",
                                                    "untrained loss 2.3", "for all 20 epochs",
                                                    "before training, the first layer's "
                                                    "gradient"],
                          ["relu", "adam"], ["dropout", "L2"]),
    "one_unit": (lambda d: train(d, [dense(1)], adam(), epochs=30),
                 ["underfitting"], ["stays above 50% of the untrained loss"],
                 ["narrowest hidden layer has 1 unit"],
                 ["dropout", "regularization", "learning rate", "epochs"]),
    "overfit": (lambda d: train(noisy_labels(d), big(), adam(), epochs=25, n=300),
                ["overfitting"], ["val_loss rose", "at epoch 6"],
                ["add dropout", "L2", "stop early", "about 6 epochs", "smaller network"],
                ["more epochs"]),
    "overfit_dropout": (lambda d: train(noisy_labels(d), big_dropout(), adam(), epochs=25,
                                        n=300),
                        ["overfitting"], ["the model has dropout 0.5"],
                        ["add L2", "stop early"], ["add dropout", "Dropout layer"]),
    "overfit_l2": (lambda d: train(noisy_labels(d), big(kernel_regularizer=lamina.regularizers.
                                                         L2(1e-3)), adam(), epochs=25, n=300),
                   ["overfitting"], ["val_data_loss rose", "the model has L2 0.001"],
                   ["stronger L2: l2 = 0.01", "add dropout"], ["add L2"]),
    "overfit_early_stopping": (lambda d: train(noisy_labels(d), big(), adam(), epochs=25,
                                               n=300, es=True),
                               ["overfitting"], ["early stopping ended the run at epoch 11",
                                                 "restored the weights of epoch 6"],
                               ["add dropout", "L2"], ["stop early", "more epochs", "fewer"]),
    "batch_1": (lambda d: train(d, [dense(64)], sgd(0.05), batch_size=1, n=600, epochs=12),
                ["overfitting", "noisy"], ["batch size 1", "480 noisy steps per epoch"],
                ["larger batch size"], ["dropout layer, rate"]),
    "batch_1_diverges": (lambda d: train(d, [dense(64)], sgd(0.05), batch_size=1, epochs=8),
                         ["divergence"], ["rose from", "batch size 1"],
                         ["learning_rate = 0.005", "larger batch size"], ["dropout"]),
    "still_improving": (lambda d: train(d, [dense(64)], sgd(0.01), epochs=5),
                        ["still_improving"], ["at its best at the last epoch"],
                        ["epochs = 10 (now 5)"], ["dropout", "lower"]),
    "healthy": (lambda d: train(d, [dense(64)], sgd(0.5), epochs=40, es=True),
                [], [], [], []),
    "healthy_without_early_stopping": (lambda d: train(d, [dense(64)], sgd(1.0), epochs=20),
                                       [], [], [], []),
}


@pytest.mark.parametrize("name", list(TABLE))
def test_diagnosis_of_a_real_run(digits, name):
    build, want, evidence, advice, never = TABLE[name]
    history = build(digits)
    found = history.diagnose()
    h = history.history
    report = "\n".join(str(f) for f in found) + "\n" + "\n".join(
        f"{k}: {[round(v, 4) for v in h[k]]}" for k in h if "loss" in k or "acc" in k)
    assert [f.name for f in found] == want, report
    text = " ".join(f.evidence for f in found)
    for word in evidence:
        assert word in text, report
    tips = " | ".join(s for f in found for s in f.suggestions)
    for word in advice:
        assert word in tips, report
    for word in never:
        assert word not in tips, report
    for f in found:  # every finding names its evidence in numbers
        assert any(ch.isdigit() for ch in f.evidence), f


def test_history_knows_its_run(digits):
    h = train(digits, [dense(8, kernel_regularizer=lamina.regularizers.L1(1e-3)),
                       lamina.layers.Dropout(0.25)], sgd(0.05), epochs=2, batch_size=16,
              es=True)
    info = run_info(h)
    counts = np.bincount(digits[1][:int(len(digits[1]) * 0.8)], minlength=10) / int(
        len(digits[1]) * 0.8)
    prior = float(-(counts * np.log(counts)).sum())
    assert info.untrained_loss == pytest.approx(prior, rel=1e-6)
    assert info.untrained_loss <= math.log(10)  # ln 10 for perfectly balanced classes
    assert info.chance_accuracy == pytest.approx(counts.max())
    assert (info.optimizer, info.learning_rate, info.default_learning_rate) == ("sgd", 0.05,
                                                                               0.01)
    assert (info.batch_size, info.samples, info.epochs) == (16, 1149, 2)
    assert info.dropout == (0.25,) and info.l1 == 1e-3 and info.l2 == 0.0
    assert info.hidden_activations == ("relu",) and info.hidden_units == (8,)
    assert info.early_stopping is True and info.stopped_epoch is None
    assert info.init_gain[0] == pytest.approx(2 * 64 / (64 + 8), rel=0.15)  # glorot
    # plain values only (a model holding its history still pickles)
    import pickle

    assert pickle.loads(pickle.dumps(h.fit_info)) == h.fit_info
    assert h.fit_info["early_stopping"] == {"stopped_epoch": None, "restored_epoch": None}
    assert h.fit_info["terminate_on_nan"] == {"stopped_batch": None}
    # a dict knows nothing; the loss alone gives ln C
    assert run_info({"loss": [1.0]}) == RunInfo()
    assert run_info({"loss": [1.0]}, loss="binary_crossentropy").loss == "binary_crossentropy"


def test_fit_measures_the_gradients_of_deep_saturating_networks(digits):
    deep = train(digits, stack(5, 64, "sigmoid"), sgd(0.05), epochs=1)
    g = deep.fit_info["grad_rms"]
    assert len(g) == 6 and g[0] < 0.01 * g[-1]  # vanishing: the first layer barely moves
    assert run_info(deep).grad_rms == tuple(g)
    shallow = train(digits, stack(2, 64, "relu"), sgd(0.05), epochs=1)
    assert "grad_rms" not in shallow.fit_info  # measured only where it can explain something
    # the measurement is no training step: a fit of 0 epochs measures and changes nothing
    model = lamina.Sequential([lamina.Input((64,)), *stack(2, 16, "tanh"),
                               dense(10, "softmax")], seed=3)
    model.compile(optimizer=sgd(0.05), loss="sparse_categorical_crossentropy")
    model.build((None, 64))
    before = model.get_weights()
    h = model.fit(*digits, epochs=0, verbose=0)
    assert len(h.fit_info["grad_rms"]) == 3 and model.optimizer.iterations == 0
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_what_the_run_has_changes_the_advice_not_the_curves():
    # one overfitting curve, three runs: advice never repeats what the run has
    curve = {"loss": list(2.0 * np.exp(-np.arange(30) / 4)),
             "val_loss": list(0.3 + 2.0 * np.exp(-np.arange(30) / 4)
                              + 0.02 * np.maximum(np.arange(30) - 8, 0) ** 1.3)}
    bare = RunInfo(dropout=(), l1=0.0, l2=0.0, early_stopping=False, hidden_units=(512,),
                   samples=200)
    tips = lambda info: " | ".join(diagnose(curve, info=info)[0].suggestions)  # noqa: E731
    assert "add dropout" in tips(bare) and "add L2" in tips(bare)
    best = int(np.argmin(curve["val_loss"])) + 1
    assert "stop early" in tips(bare) and f"about {best} epochs" in tips(bare)
    has_all = RunInfo(dropout=(0.5,), l2=1e-4, early_stopping=True, stopped_epoch=14,
                      restored_epoch=9, hidden_units=(512,))
    t = tips(has_all)
    assert "add dropout" not in t and "add L2" not in t and "stop early" not in t
    assert "stronger L2: l2 = 0.001" in t
    ev = diagnose(curve, info=has_all)[0].evidence
    assert "dropout 0.5 and L2 0.0001" in ev and "restored the weights of epoch 9" in ev
    # still improving: no "more epochs" when early stopping ended the run
    rising = {"loss": [2.0, 1.5, 1.1, 0.8, 0.6]}
    assert [f.name for f in diagnose(rising)] == ["still_improving"]
    assert diagnose(rising, info=RunInfo(stopped_epoch=5)) == []


def test_regularized_history_logs_the_data_loss(digits):
    x, y = digits[0][:96], digits[1][:96]
    reg = lamina.regularizers.L1L2(l1=1e-3, l2=1e-2)
    model = lamina.Sequential([lamina.Input((64,)), dense(16, kernel_regularizer=reg,
                                                          bias_regularizer=reg),
                               dense(10, "softmax")], seed=1)
    model.compile(optimizer=sgd(0.0), loss="sparse_categorical_crossentropy")
    h = model.fit(x, y, epochs=2, batch_size=96, validation_split=0.25, shuffle=False,
                  verbose=0).history
    assert list(h) == sorted(["loss", "data_loss", "val_loss", "val_data_loss"])
    # lr 0: the weights never move, so each number is an evaluate() of the same model
    k, b = model.layers[0].kernel, model.layers[0].bias
    penalty = sum(1e-3 * np.abs(w.astype(np.float64)).sum() + 1e-2 * (w.astype(np.float64)
                  ** 2).sum() for w in (k, b))
    full = model.evaluate(x[:72], y[:72], verbose=0)
    assert h["loss"][0] == pytest.approx(full, rel=1e-6)
    assert h["data_loss"][0] == pytest.approx(full - penalty, rel=1e-5)
    vfull = model.evaluate(x[72:], y[72:], verbose=0)
    assert h["val_loss"][1] == pytest.approx(vfull, rel=1e-6)
    assert h["val_data_loss"][1] == pytest.approx(vfull - penalty, rel=1e-5)
    # a model without a penalty logs Keras's keys only
    plain = lamina.Sequential([lamina.Input((64,)), dense(4), dense(10, "softmax")], seed=1)
    plain.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    assert "data_loss" not in plain.fit(x, y, epochs=1, verbose=0).history


def test_data_loss_is_averaged_over_the_steps_like_the_loss(digits):
    # Each step's penalty is of the weights before its update: with a moving model,
    # loss - data_loss is the size-weighted mean penalty over the epoch's steps.
    x, y = digits[0][:100], digits[1][:100]
    model = lamina.Sequential([lamina.Input((64,)), dense(8, kernel_regularizer=lamina.
                                                          regularizers.L2(0.05)),
                               dense(10, "softmax")], seed=2)
    model.compile(optimizer=sgd(0.5), loss="sparse_categorical_crossentropy")
    kernel = model.layers[0].kernel
    pens, sizes = [], []

    class Watch(callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            pens.append(0.05 * float((kernel.astype(np.float64) ** 2).sum()))
            sizes.append(logs["size"])

    h = model.fit(x, y, epochs=1, batch_size=32, shuffle=False, callbacks=[Watch()],
                  verbose=0).history
    mean_pen = float(np.dot(pens, sizes) / np.sum(sizes))
    assert len(pens) == 4 and pens[0] != pens[-1]
    assert h["loss"][0] - h["data_loss"][0] == pytest.approx(mean_pen, rel=1e-5)


def test_network_reports_the_penalty_it_added():
    from lamina import _core, ops

    model = lamina.Sequential([lamina.Input((3,)), dense(4, kernel_regularizer=lamina.
                                                        regularizers.L1L2(0.01, 0.1)),
                               dense(2, "softmax")], seed=0)
    model.compile(optimizer=sgd(0.5), loss="sparse_categorical_crossentropy")
    net = model._network_for("train")
    assert isinstance(net, _core.Network) and net.last_penalty == 0.0
    x = np.ones((5, 3), model.dtype)
    y = np.zeros(5, np.int64)
    before = ops.penalty(model.layers[0].kernel, 0.01, 0.1)
    loss = net.train_step(x, y, None, 0.5, 1)[0]
    assert net.last_penalty == pytest.approx(before, rel=1e-6) and loss > before
    after = ops.penalty(model.layers[0].kernel, 0.01, 0.1)
    assert after != before  # the step moved the weights; the report is of those before it
    net.evaluate(x, y)
    assert net.last_penalty == pytest.approx(after, rel=1e-6)
