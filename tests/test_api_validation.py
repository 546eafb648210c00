"""Bad input across the Keras-style API: a clear exception naming the value, never a crash."""

import numpy as np
import pytest

import lamina
from test_fit import make_data, make_model

X, Y = make_data()


def fit(**kw):
    args = dict(x=X, y=Y, epochs=1, verbose=0)
    args.update(kw)
    return make_model().fit(**args)


def nan_at(i, j):
    x = X.copy()
    x[i, j] = np.nan
    return x


CASES = [
    # (call, exception, regex the message must match)
    (lambda: fit(batch_size=0), ValueError, "batch_size must be >= 1, got 0"),
    (lambda: fit(batch_size=-3), ValueError, "-3"),
    (lambda: fit(batch_size=2.5), TypeError, "2.5"),
    (lambda: fit(epochs=-1), ValueError, "epochs must be >= 0, got -1"),
    (lambda: fit(validation_split=1.0), ValueError, r"validation_split.*1.0"),
    (lambda: fit(validation_split=-0.1), ValueError, "-0.1"),
    (lambda: fit(validation_split=0.99), ValueError, "validation_split=0.99 leaves 0 training"),
    (lambda: fit(validation_freq=0), ValueError, "validation_freq"),
    (lambda: fit(verbose=3), ValueError, "verbose must be 0, 1, 2 or 'auto', got 3"),
    (lambda: fit(x=nan_at(3, 2)), ValueError, r"x contains nan at row 3, column 2"),
    (lambda: fit(x=np.where(np.arange(5) == 4, np.inf, X)), ValueError, r"inf at row 0, column 4"),
    (lambda: fit(y=np.where(np.arange(40) == 7, 3, Y)), ValueError,
     r"label 3 at position 7 is outside \[0, 3\)"),
    (lambda: fit(y=-Y - 1), ValueError, r"label -\d at position 0"),
    (lambda: fit(y=Y + 0.5), ValueError, "integer class labels, got 0.5|got 1.5|got 2.5"),
    (lambda: fit(y=np.eye(3)[Y]), ValueError, r"shape \(40, 3\).*categorical_crossentropy"),
    (lambda: fit(x=X[:0], y=Y[:0]), ValueError, r"x is empty.*\(0, 5\)"),
    (lambda: fit(x=X[:30]), ValueError, "x has 30, y has 40"),
    (lambda: fit(sample_weight=np.ones(39)), ValueError, r"sample_weight must have shape \(40,\)"),
    (lambda: fit(sample_weight=-np.ones(40)), ValueError, "-1.0 at position 0"),
    (lambda: fit(class_weight=[1, 2]), TypeError, r"class_weight must be a dict"),
    (lambda: fit(class_weight={0: -1.0}), ValueError, r"class_weight\[0\].*-1.0"),
    (lambda: fit(x=X[:, :4]), ValueError, r"samples of shape \(4,\).*expects \(5,\)"),
    (lambda: fit(x=X[:, 0]), ValueError, r"must be 2-D.*\(40,\)"),
    (lambda: fit(x=np.array([["a"] * 5] * 40)), TypeError, "must hold numbers"),
    (lambda: fit(x=None), ValueError, "x is None"),
    (lambda: fit(y=None), ValueError, "y is None"),
    (lambda: fit(validation_data=(X,)), ValueError, "validation_data must be"),
    (lambda: fit(validation_data=(nan_at(0, 0), Y)), ValueError,
     "validation x contains nan at row 0"),
    (lambda: fit(steps_per_epoch=0), ValueError, "steps_per_epoch must be >= 1, got 0"),
    (lambda: fit(callbacks=["x"]), TypeError, "'x'"),
    (lambda: lamina.layers.Dense(0), ValueError, "Dense units must be >= 1, got 0"),
    (lambda: lamina.layers.Dense(-2), ValueError, "-2"),
    (lambda: lamina.layers.Dense(3.5), TypeError, "3.5"),
    (lambda: lamina.layers.Dense(3, activation="rleu"), ValueError, "'rleu'"),
    (lambda: lamina.layers.Dense(3, kernel_initializer="glorot"), ValueError, "'glorot'"),
    (lambda: lamina.layers.Dense(3, kernel_regularizer="l3"), ValueError, "'l3'"),
    (lambda: lamina.layers.Dropout(1.0), ValueError,
     r"Dropout rate must be in \[0.0, 1.0\), got 1.0"),
    (lambda: lamina.layers.Dropout(-0.1), ValueError, "-0.1"),
    (lambda: lamina.Input(shape=(0,)), ValueError, "got 0"),
    (lambda: lamina.Input(shape=None), ValueError, "needs a shape"),
    (lambda: lamina.Sequential(seed=-1), ValueError, "seed must be >= 0, got -1"),
    (lambda: lamina.Sequential(dtype="float16"), ValueError, "'float16'"),
    (lambda: lamina.Sequential([lamina.layers.Dense(2)]).fit(X, Y), RuntimeError,
     "must be compiled"),
    (lambda: lamina.Sequential([lamina.layers.Dense(2)]).count_params(), ValueError,
     "not built"),
    (lambda: lamina.Sequential([lamina.layers.Dense(2)]).set_weights([]), ValueError,
     "not built"),
    (lambda: make_model().compile(optimizer="adamm", loss="mse"), ValueError, "'adamm'"),
    (lambda: make_model().compile(optimizer="adam", loss="msee"), ValueError, "'msee'"),
    (lambda: make_model().compile(optimizer="adam", loss="mse", metrics=["f1"]), ValueError,
     "'f1'"),
    (lambda: make_model(loss="mse").fit(X, np.ones((40, 2)), verbose=0), ValueError,
     r"shape \(40, 2\).*3 outputs"),
    (lambda: make_model().predict(nan_at(5, 1), verbose=0), ValueError, "row 5, column 1"),
    (lambda: make_model().predict(X, batch_size=0, verbose=0), ValueError, "batch_size"),
    (lambda: make_model().evaluate(X, Y, batch_size=-1, verbose=0), ValueError, "-1"),
    (lambda: make_model().set_weights([np.zeros((5, 7))]), ValueError,
     "has 4 weight arrays, got 1"),
    (lambda: lamina.Sequential([lamina.Input((3,))]).predict(
        np.ones((2, 3)), verbose=0), ValueError, "has no layers"),
    (lambda: lamina.Sequential([lamina.Input((2, 3)), lamina.layers.Dense(2)]), ValueError,
     "Flatten"),
    (lambda: lamina.optimizers.SGD(learning_rate=float("nan")), ValueError, "nan"),
    (lambda: lamina.utils.to_categorical([0, 5], 3), ValueError, "label 5 at position 1"),
    (lambda: lamina.utils.set_random_seed("x"), TypeError, "'x'"),
]


@pytest.mark.parametrize("call,exc,pattern", CASES, ids=[c[2][:40] for c in CASES])
def test_bad_input_raises_clear_error(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


def test_failed_fit_leaves_model_untouched():
    model = make_model()
    before = model.get_weights()
    with pytest.raises(ValueError):
        model.fit(nan_at(1, 1), Y, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert model.optimizer.iterations == 0
    model.fit(X, Y, epochs=1, verbose=0)  # still usable


def test_read_only_and_pandas_like_inputs_are_accepted():
    x = X.copy()
    x.setflags(write=False)

    class Frame:  # anything with to_numpy, like a pandas DataFrame / Series
        def __init__(self, a):
            self.a = a

        def to_numpy(self):
            return self.a

    a, b = make_model(seed=3), make_model(seed=3)
    a.fit(x, Y, epochs=1, verbose=0)
    b.fit(Frame(X), Frame(Y), epochs=1, verbose=0)
    assert all(np.array_equal(p, q) for p, q in zip(a.get_weights(), b.get_weights()))


# ---------------------------------------------------------------- property-based ---------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

DTYPES = ["float16", "float32", "float64", ">f8", "int8", "uint8", "int32", "int64", "bool",
          "complex64"]
SPECIALS = [0.0, np.nan, np.inf, -np.inf, 1e-40, -7.0, 65504.0]


@st.composite
def datasets(draw):
    n = draw(st.integers(0, 9))
    d = draw(st.sampled_from([1, 2, 5, 6]))
    dtype = draw(st.sampled_from(DTYPES))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.normal(size=(n, d)) * 3
    if n and draw(st.booleans()):
        x[draw(st.integers(0, n - 1)), draw(st.integers(0, d - 1))] = draw(
            st.sampled_from(SPECIALS))
    with np.errstate(all="ignore"):
        x = x.astype(dtype)
    if draw(st.booleans()) and n:
        x = np.asfortranarray(x)
    y = rng.integers(-1 if draw(st.booleans()) else 0, 4, size=n)
    return x, y, d


@settings(max_examples=60, deadline=None)
@given(datasets(), st.integers(1, 12))
def test_fit_predict_on_random_inputs_succeed_or_fail_cleanly(data, batch_size):
    x, y, d = data
    model = lamina.Sequential([lamina.Input((d,)), lamina.layers.Dense(4, activation="relu"),
                               lamina.layers.Dense(3, activation="softmax")], seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    try:
        h = model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
    except (ValueError, TypeError) as exc:
        assert str(exc)
        return
    assert x.dtype.kind in "biuf" and len(x) > 0 and np.isfinite(x.astype(float)).all()
    assert y.min() >= 0 and y.max() < 3
    assert np.isfinite(h.history["loss"][0])
    out = model.predict(x, batch_size=batch_size, verbose=0)
    assert out.shape == (len(x), 3) and np.isfinite(out).all()
    np.testing.assert_allclose(out.sum(1), 1.0, rtol=1e-5)
