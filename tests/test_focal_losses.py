"""BinaryFocalCrossentropy and CategoricalFocalCrossentropy: value against an independent
float64 reference, the gradient fit takes (on the tape) against finite differences, and
Keras 3 where it is installed (values, config, a training curve on the same weights)."""


import numpy as np
import pytest

import lamina
from lamina import losses

RNG = np.random.default_rng(11)
M, N = 13, 3
LOGITS = RNG.normal(size=(M, N)) * 2
PROB = 1 / (1 + np.exp(-LOGITS))
BIN = (RNG.random((M, N)) > 0.6).astype(float)
ONEHOT = np.eye(N)[RNG.integers(0, N, size=M)]
ROWS = np.exp(LOGITS) / np.exp(LOGITS).sum(1, keepdims=True)
EPS = 1e-7


def ref_binary(y, p, balance=False, alpha=0.25, gamma=2.0, logits=False, smooth=0.0):
    y = y * (1 - smooth) + 0.5 * smooth
    p = 1 / (1 + np.exp(-p)) if logits else p
    q = np.clip(p, EPS, 1 - EPS)
    bce = -(y * np.log(q) + (1 - y) * np.log(1 - q))
    pt = y * p + (1 - y) * (1 - p)
    f = (1 - pt) ** gamma * bce
    if balance:
        f = (y * alpha + (1 - y) * (1 - alpha)) * f
    return f.mean(-1)


def ref_categorical(y, p, alpha=0.25, gamma=2.0, logits=False, smooth=0.0):
    y = y * (1 - smooth) + smooth / y.shape[-1]
    if logits:
        p = np.exp(p - p.max(-1, keepdims=True))
    p = np.clip(p / p.sum(-1, keepdims=True), EPS, 1 - EPS)
    return (alpha * (1 - p) ** gamma * -y * np.log(p)).sum(-1)


BINARY = [({}, BIN, PROB, {}), ({"apply_class_balancing": True, "alpha": 0.4}, BIN, PROB,
                                 {"balance": True, "alpha": 0.4}),
          ({"from_logits": True, "gamma": 1.5}, BIN, LOGITS, {"logits": True, "gamma": 1.5}),
          ({"label_smoothing": 0.1, "gamma": 0.0}, BIN, PROB, {"smooth": 0.1, "gamma": 0.0})]
CATEGORICAL = [({}, ONEHOT, ROWS, {}), ({"alpha": 1.0, "gamma": 3.0}, ONEHOT, ROWS,
                                        {"alpha": 1.0, "gamma": 3.0}),
               ({"from_logits": True}, ONEHOT, LOGITS, {"logits": True}),
               ({"label_smoothing": 0.2}, ONEHOT, ROWS, {"smooth": 0.2})]


@pytest.mark.parametrize("kw, y, p, ref_kw", BINARY)
def test_binary_value(kw, y, p, ref_kw):
    want = ref_binary(y, p, **ref_kw)
    np.testing.assert_allclose(losses.binary_focal_crossentropy(y, p, **kw), want, rtol=1e-12)
    sw = RNG.uniform(0, 2, M)
    got = losses.BinaryFocalCrossentropy(**kw)(y, p, sample_weight=sw)
    assert got == pytest.approx((want * sw).sum() / M, rel=1e-12)


@pytest.mark.parametrize("kw, y, p, ref_kw", CATEGORICAL)
def test_categorical_value(kw, y, p, ref_kw):
    want = ref_categorical(y, p, **ref_kw)
    np.testing.assert_allclose(losses.categorical_focal_crossentropy(y, p, **kw), want,
                               rtol=1e-12)
    assert losses.CategoricalFocalCrossentropy(**kw)(y, p) == pytest.approx(want.mean(),
                                                                           rel=1e-12)


def _model(units, activation):
    model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(units,
                                                                       activation=activation)],
                              seed=2, dtype="float64")
    return model


@pytest.mark.parametrize("loss, y, activation, ref", [
    (losses.BinaryFocalCrossentropy(apply_class_balancing=True), BIN, "sigmoid",
     lambda y, p: ref_binary(y, p, balance=True)),
    (losses.CategoricalFocalCrossentropy(from_logits=True), ONEHOT, "linear",
     lambda y, p: ref_categorical(y, p, logits=True)),
])
def test_fit_gradient_matches_finite_differences(loss, y, activation, ref):
    x = RNG.normal(size=(M, 4))
    model = _model(N, activation)
    model.compile(lamina.optimizers.SGD(1.0), loss)
    w0 = [w.copy() for w in model.get_weights()]

    def objective(ws):
        model.set_weights(ws)
        return ref(y, model.predict(x, verbose=0)).mean()

    grads = []
    for k, w in enumerate(w0):
        g = np.zeros_like(w)
        for idx in np.ndindex(w.shape):
            h = 1e-6
            plus = [v.copy() for v in w0]
            minus = [v.copy() for v in w0]
            plus[k][idx] += h
            minus[k][idx] -= h
            g[idx] = (objective(plus) - objective(minus)) / (2 * h)
        grads.append(g)
    model.set_weights(w0)
    model.train_on_batch(x, y)  # SGD(1.0): the step is minus the gradient
    for before, after, g in zip(w0, model.get_weights(), grads):
        np.testing.assert_allclose(before - after, g, rtol=1e-5, atol=1e-9)


def test_names_configs_and_bad_arguments():
    assert isinstance(losses.get("binary_focal_crossentropy"), losses.BinaryFocalCrossentropy)
    assert not losses.is_fused(losses.CategoricalFocalCrossentropy())
    loss = losses.BinaryFocalCrossentropy(gamma=3, apply_class_balancing=True)
    back = losses.get(losses.serialize(loss))
    assert back.get_config() == loss.get_config() and back.gamma == 3.0
    with pytest.raises(ValueError, match="gamma must be a finite number >= 0, got -1"):
        losses.BinaryFocalCrossentropy(gamma=-1)
    with pytest.raises(ValueError, match="label_smoothing must be in \\[0, 1\\], got 2"):
        losses.CategoricalFocalCrossentropy(label_smoothing=2)
    with pytest.raises(ValueError, match="axis=0 is not supported"):
        losses.CategoricalFocalCrossentropy(axis=0)


def _keras():
    from conftest import import_keras3
    return import_keras3()


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
@pytest.mark.parametrize("kind, kw", [("Binary", {}), ("Binary", {"apply_class_balancing": True,
                                                                   "from_logits": True}),
                                      ("Categorical", {}), ("Categorical", {"gamma": 1.0})])
def test_against_keras(kind, kw, tmp_path):
    keras = _keras()
    name = f"{kind}FocalCrossentropy"
    mine, theirs = getattr(losses, name)(**kw), getattr(keras.losses, name)(**kw)
    y = BIN if kind == "Binary" else ONEHOT
    p = (LOGITS if kw.get("from_logits") else PROB if kind == "Binary" else ROWS)
    assert mine(y, p) == pytest.approx(float(theirs(y, p)), rel=1e-5)
    want = theirs.get_config()
    got = mine.get_config()
    assert {k: got[k] for k in want if k != "dtype"} == {k: v for k, v in want.items()
                                                         if k != "dtype"}
    # ten full-batch steps from the same weights give the same losses
    act = "linear" if kw.get("from_logits") else "sigmoid" if kind == "Binary" else "softmax"
    x = RNG.normal(size=(M, 4)).astype("float32")
    lam = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(N, activation=act)],
                            seed=1)
    ker = keras.Sequential([keras.Input((4,)), keras.layers.Dense(N, activation=act)])
    ker.set_weights(lam.get_weights())
    lam.compile(lamina.optimizers.Adam(0.05), getattr(losses, name)(**kw))
    ker.compile(keras.optimizers.Adam(0.05), getattr(keras.losses, name)(**kw))
    got = [lam.train_on_batch(x, y.astype("float32")) for _ in range(10)]
    want = [float(ker.train_on_batch(x, y.astype("float32"))) for _ in range(10)]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
    lam.save(tmp_path / "m.keras")  # Keras reads the loss back from lamina's file
    back = keras.saving.load_model(tmp_path / "m.keras")
    assert type(back.loss).__name__ == name
