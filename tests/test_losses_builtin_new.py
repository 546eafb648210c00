"""The losses added for Keras 3's vocabulary (LogCosh, KLDivergence, Poisson, Hinge,
SquaredHinge, CategoricalHinge, CosineSimilarity, MeanSquaredLogarithmicError,
MeanAbsolutePercentageError, label smoothing, reductions), fused in the
core: value and gradient against a float64 numpy reference, in a network against the same
loss written with lamina.ops, and against keras.losses where Keras is installed."""

import os

import numpy as np
import pytest

import lamina
from lamina import kernels, layers, loss_functions as lf, losses, ops

RNG = np.random.default_rng(7)
M, N = 9, 4
P = RNG.normal(size=(M, N))
PROB = RNG.uniform(0.05, 1.0, size=(M, N))
PROB_ROWS = PROB / PROB.sum(axis=1, keepdims=True)
ONEHOT = np.eye(N)[RNG.integers(0, N, size=M)]
SIGNS = np.where(RNG.random((M, N)) > 0.5, 1.0, -1.0)
COUNTS = RNG.poisson(2.0, size=(M, N)).astype(float)
SW = RNG.uniform(0.0, 2.0, size=M)

# name, y_true, y_pred, numpy per-sample reference, kwargs of kernels.loss
CASES = [
    ("log_cosh", RNG.normal(size=(M, N)), P, lf.log_cosh, {}),
    ("kl_divergence", PROB_ROWS[::-1].copy(), PROB_ROWS, lf.kl_divergence, {}),
    ("poisson", COUNTS, PROB * 3, lf.poisson, {}),
    ("hinge", SIGNS, P, lf.hinge, {}),
    ("hinge", (SIGNS > 0).astype(float), P, lf.hinge, {}),  # 0/1 labels become -1/1
    ("squared_hinge", SIGNS, P, lf.squared_hinge, {}),
    ("squared_hinge", (SIGNS > 0).astype(float), P, lf.squared_hinge, {}),
    ("categorical_hinge", ONEHOT, P, lf.categorical_hinge, {}),
    ("cosine_similarity", RNG.normal(size=(M, N)), P, lf.cosine_similarity, {}),
    # msle: predictions on both sides of the eps floor; targets >= 0 and a few at 0
    ("mean_squared_logarithmic_error", np.abs(P[::-1]) * (RNG.random((M, N)) > 0.2), P,
     lf.mean_squared_logarithmic_error, {}),
    ("mape", P[::-1] + np.sign(P[::-1]) * 0.5, P, lf.mean_absolute_percentage_error, {}),
    ("categorical_crossentropy", ONEHOT, PROB_ROWS,
     lambda t, p: lf.categorical_crossentropy(t, p, label_smoothing=0.2),
     {"label_smoothing": 0.2}),
    ("categorical_crossentropy", ONEHOT, P,
     lambda t, p: lf.categorical_crossentropy(t, p, True, label_smoothing=0.1),
     {"label_smoothing": 0.1, "from_logits": True}),
    ("binary_crossentropy", (SIGNS > 0).astype(float), PROB * 0.9,
     lambda t, p: lf.binary_crossentropy(t, p, label_smoothing=0.3), {"label_smoothing": 0.3}),
    ("binary_crossentropy", (SIGNS > 0).astype(float), P,
     lambda t, p: lf.binary_crossentropy(t, p, True, label_smoothing=0.3),
     {"label_smoothing": 0.3, "from_logits": True}),
]
IDS = [f"{c[0]}-{i}" for i, c in enumerate(CASES)]


def _fd_grad(fn, y, p, sw, h=1e-6):
    g = np.zeros_like(p)
    for i in np.ndindex(p.shape):
        pp, pm = p.copy(), p.copy()
        pp[i] += h
        pm[i] -= h
        g[i] = (np.sum(sw * fn(y, pp)) - np.sum(sw * fn(y, pm))) / (2 * h)
    return g / len(p)


@pytest.mark.parametrize("name,y,p,ref,kw", CASES, ids=IDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kernel_value_and_gradient(name, y, p, ref, kw, dtype):
    total, grad = kernels.loss(y.astype(dtype), p.astype(dtype), name, sample_weight=SW,
                               scale=1.0 / M, **kw)
    expected = float(np.sum(SW * ref(y, p)))
    tol = 1e-9 if dtype == np.float64 else 2e-5
    assert total == pytest.approx(expected, rel=tol, abs=tol)
    np.testing.assert_allclose(grad, _fd_grad(ref, y, p, SW), rtol=max(tol, 1e-6),
                               atol=max(tol, 1e-7))


LOSS_CLASSES = [
    (losses.LogCosh(), lf.log_cosh, RNG.normal(size=(40, 3)), None),
    (losses.KLDivergence(), lf.kl_divergence, np.eye(3)[RNG.integers(0, 3, 40)] * 0.8 + 0.2 / 3,
     "softmax"),
    (losses.Poisson(), lf.poisson, RNG.poisson(1.5, size=(40, 3)).astype(float), "softplus"),
    (losses.Hinge(), lf.hinge, np.where(RNG.random((40, 3)) > 0.5, 1.0, 0.0), None),
    (losses.SquaredHinge(), lf.squared_hinge, np.where(RNG.random((40, 3)) > 0.5, 1.0, -1.0),
     None),
    (losses.CategoricalHinge(), lf.categorical_hinge, np.eye(3)[RNG.integers(0, 3, 40)], None),
    (losses.CosineSimilarity(), lf.cosine_similarity, RNG.normal(size=(40, 3)), None),
    (losses.MeanSquaredLogarithmicError(), lf.mean_squared_logarithmic_error,
     RNG.uniform(0.0, 3.0, size=(40, 3)), "softplus"),
    (losses.MeanAbsolutePercentageError(), lf.mean_absolute_percentage_error,
     RNG.uniform(0.5, 3.0, size=(40, 3)) * np.where(RNG.random((40, 3)) > 0.3, 1, -1), None),
    (losses.CategoricalCrossentropy(label_smoothing=0.1),
     lambda t, p: ops.categorical_crossentropy(t * 0.9 + 0.1 / 3, p),
     np.eye(3)[RNG.integers(0, 3, 40)], "softmax"),
    (losses.BinaryCrossentropy(label_smoothing=0.2, from_logits=True),
     lambda t, p: ops.mean(ops.binary_crossentropy(t * 0.8 + 0.1, p, from_logits=True), axis=-1),
     np.where(RNG.random((40, 3)) > 0.5, 1.0, 0.0), None),
]


def _tape_version(fn):
    """The numpy reference re-written on the tape (lamina.ops) for the functions of lf."""
    table = {
        lf.log_cosh: lambda t, p: ops.mean((p - t) + ops.softplus(-2.0 * (p - t))
                                           - np.log(2.0), axis=-1),
        lf.kl_divergence: lambda t, p: ops.sum(ops.clip(t, 1e-7, 1) * ops.log(
            ops.clip(t, 1e-7, 1) / ops.clip(p, 1e-7, 1)), axis=-1),
        lf.poisson: lambda t, p: ops.mean(p - t * ops.log(p + 1e-7), axis=-1),
        lf.hinge: lambda t, p: ops.mean(ops.maximum(1.0 - lf._hinge_labels(t) * p, 0.0),
                                        axis=-1),
        lf.squared_hinge: lambda t, p: ops.mean(ops.square(ops.maximum(
            1.0 - lf._hinge_labels(t) * p, 0.0)), axis=-1),
        lf.categorical_hinge: lambda t, p: ops.maximum(
            ops.max((1.0 - t) * p, axis=-1) - ops.sum(t * p, axis=-1) + 1.0, 0.0),
        lf.mean_squared_logarithmic_error: lambda t, p: ops.mean(ops.square(
            ops.log(ops.maximum(p, 1e-7) + 1.0) - ops.log(ops.maximum(t, 1e-7) + 1.0)),
            axis=-1),
        lf.mean_absolute_percentage_error: lambda t, p: 100.0 * ops.mean(
            ops.abs(t - p) / ops.maximum(ops.abs(t), 1e-7), axis=-1),
        lf.cosine_similarity: lambda t, p: -ops.sum(
            t / ops.sqrt(ops.maximum(ops.sum(t * t, axis=-1, keepdims=True), 1e-12))
            * p / ops.sqrt(ops.maximum(ops.sum(p * p, axis=-1, keepdims=True), 1e-12)),
            axis=-1),
    }
    return table.get(fn, fn)


@pytest.mark.parametrize("loss,ref,y,act", LOSS_CLASSES, ids=[type(c[0]).__name__ for c in
                                                               LOSS_CLASSES])
def test_fused_loss_trains_like_its_tape_version(loss, ref, y, act):
    x = RNG.normal(size=(40, 5))

    def train(loss_arg):
        model = lamina.Sequential([lamina.Input((5,)), layers.Dense(8, activation="tanh"),
                                   layers.Dense(3, activation=act)], seed=1, dtype="float64")
        model.compile(optimizer="adam", loss=loss_arg)
        hist = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
        return model, hist
    fused, h1 = train(loss)
    tape, h2 = train(_tape_version(ref))
    assert losses.is_fused(loss) and not isinstance(fused._network, type(tape._network))
    for a, b in zip(fused.get_weights(), tape.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=1e-9)
    # the numpy value of the class equals the evaluated loss
    assert fused.evaluate(x, y, verbose=0) == pytest.approx(
        loss(y, fused.predict(x, verbose=0)), rel=1e-9)


@pytest.mark.parametrize("reduction", ["sum", "mean", "mean_with_sample_weight",
                                       "sum_over_batch_size", None])
def test_reduction_in_the_core(reduction):
    x, y = RNG.normal(size=(30, 5)), RNG.normal(size=(30, 3))
    sw = RNG.uniform(0.5, 1.5, size=30)
    model = lamina.Sequential([lamina.Input((5,)), layers.Dense(3)], seed=0, dtype="float64")
    model.compile(optimizer="sgd", loss=losses.MeanSquaredError(reduction=reduction))
    per = np.mean((model.predict(x, verbose=0) - y) ** 2, axis=-1) * sw
    expected = {"sum": per.sum(), "mean_with_sample_weight": per.sum() / sw.sum()}.get(
        reduction, per.mean())
    got = model.evaluate(x, y, sample_weight=sw, batch_size=30, verbose=0)
    assert got == pytest.approx(expected, rel=1e-12)
    value = losses.MeanSquaredError(reduction=reduction)(y, model.predict(x, verbose=0), sw)
    if reduction is None:  # per-sample values; fit and evaluate average them, as Keras
        np.testing.assert_allclose(value, per, rtol=1e-12)
    else:
        assert value == pytest.approx(expected, rel=1e-12)


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="label_smoothing"):
        losses.SparseCategoricalCrossentropy(label_smoothing=0.1)
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\]"):
        losses.CategoricalCrossentropy(label_smoothing=1.5)
    with pytest.raises(ValueError, match="reduction 'average'"):
        losses.MeanSquaredError(reduction="average")
    with pytest.raises(ValueError, match="axis=0"):
        losses.CosineSimilarity(axis=0)
    cfg = losses.serialize(losses.CategoricalCrossentropy(label_smoothing=0.1,
                                                          reduction="sum"))
    back = losses.get(cfg)
    assert (back.label_smoothing, back.reduction) == (0.1, "sum")
    for name in ("log_cosh", "kld", "poisson", "hinge", "squared_hinge", "categorical_hinge",
                 "cosine_similarity", "msle", "mape", "mean_squared_logarithmic_error",
                 "mean_absolute_percentage_error"):
        assert losses.is_fused(losses.get(name))


# ---------------------------------------------------------------- Keras parity ----------
def _keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        import keras
    except ImportError as exc:
        pytest.skip(f"needs keras on its torch backend (the interop extra): {exc}")
    if keras.backend.backend() != "torch":  # pragma: no cover
        pytest.skip("these checks run Keras on its torch backend")
    return keras


KERAS_CASES = [
    ("LogCosh", {}, RNG.normal(size=(M, N)), P),
    ("KLDivergence", {}, PROB_ROWS[::-1].copy(), PROB_ROWS),
    ("Poisson", {}, COUNTS, PROB * 3),
    ("Hinge", {}, (SIGNS > 0).astype(float), P),
    ("SquaredHinge", {}, SIGNS, P),
    ("CategoricalHinge", {}, ONEHOT, P),
    ("CosineSimilarity", {}, RNG.normal(size=(M, N)), P),
    ("CategoricalCrossentropy", {"label_smoothing": 0.2}, ONEHOT, PROB_ROWS),
    ("CategoricalCrossentropy", {"label_smoothing": 0.1, "from_logits": True}, ONEHOT, P),
    ("BinaryCrossentropy", {"label_smoothing": 0.3}, (SIGNS > 0).astype(float), PROB * 0.9),
    ("MeanSquaredError", {"reduction": "sum"}, RNG.normal(size=(M, N)), P),
    ("MeanSquaredLogarithmicError", {}, np.abs(P[::-1]), P),
    ("MeanAbsolutePercentageError", {}, P[::-1] + 0.5, P),
]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("cls,kw,y,p", KERAS_CASES, ids=[c[0] for c in KERAS_CASES])
def test_against_keras(cls, kw, y, p):
    keras = _keras()
    ours = getattr(losses, cls)(**kw)(y, p, SW)
    theirs = float(keras.ops.convert_to_numpy(getattr(keras.losses, cls)(**kw)(
        y.astype("float32"), p.astype("float32"), SW.astype("float32"))))
    assert ours == pytest.approx(theirs, rel=2e-5, abs=1e-6)
