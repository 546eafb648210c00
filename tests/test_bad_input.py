"""Bad input across the public API: each case names the exception and what its message quotes.

One row per case: (id, callable, exception type, regex the message must match). The regex
always contains the offending value (or the name of the offending argument and its value).
"""

import numpy as np
import pytest

import lamina
from lamina import layers, ops


def _model(compiled=True, out=3, loss="sparse_categorical_crossentropy"):
    model = lamina.Sequential([lamina.Input(shape=(4,)), layers.Dense(5, activation="relu"),
                               layers.Dense(out, activation="softmax")], seed=0)
    if compiled:
        model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    return model


X = np.random.default_rng(0).standard_normal((10, 4)).astype(np.float32)
Y = np.arange(10) % 3


def _nan_x():
    x = X.copy()
    x[3, 2] = np.nan
    return x


def _inf_x():
    x = X.copy()
    x[7, 1] = np.inf
    return x


CASES = [
    # model construction
    ("dense-zero-units", lambda: layers.Dense(0), ValueError, r"units.*0"),
    ("dense-negative-units", lambda: layers.Dense(-3), ValueError, r"-3"),
    ("dense-bad-activation", lambda: layers.Dense(3, activation="rleu"), ValueError, r"rleu"),
    ("dropout-rate-1", lambda: layers.Dropout(1.0), ValueError, r"1\.0"),
    ("dropout-rate-negative", lambda: layers.Dropout(-0.1), ValueError, r"-0\.1"),
    ("unknown-optimizer", lambda: _model(False).compile(optimizer="adamm", loss="mse"), ValueError, r"adamm"),
    ("unknown-loss", lambda: _model(False).compile(optimizer="adam", loss="msee"), ValueError, r"msee"),
    ("negative-learning-rate", lambda: lamina.optimizers.Adam(learning_rate=-1.0), ValueError, r"-1\.0"),
    # fit arguments
    ("uncompiled-fit", lambda: _model(False).fit(X, Y, verbose=0), RuntimeError, r"compile"),
    ("batch-size-zero", lambda: _model().fit(X, Y, batch_size=0, verbose=0), ValueError, r"batch_size.*0"),
    ("epochs-negative", lambda: _model().fit(X, Y, epochs=-1, verbose=0), ValueError, r"epochs.*-1"),
    ("validation-split-1", lambda: _model().fit(X, Y, validation_split=1.0, verbose=0), ValueError, r"validation_split.*1\.0"),
    ("validation-split-negative", lambda: _model().fit(X, Y, validation_split=-0.2, verbose=0), ValueError, r"-0\.2"),
    ("length-mismatch", lambda: _model().fit(X, Y[:7], verbose=0), ValueError, r"10.*7|7.*10"),
    ("empty-data", lambda: _model().fit(X[:0], Y[:0], verbose=0), ValueError, r"empty|0 samples"),
    ("nan-in-x", lambda: _model().fit(_nan_x(), Y, verbose=0), ValueError, r"(?i)nan.*row 3.*col(umn)? 2"),
    ("inf-in-x", lambda: _model().fit(_inf_x(), Y, verbose=0), ValueError, r"(?i)inf.*row 7.*col(umn)? 1"),
    ("label-out-of-range", lambda: _model().fit(X, np.array([0, 1, 2, 3, 0, 1, 2, 0, 1, 2]), verbose=0), ValueError, r"label 3"),
    ("negative-label", lambda: _model().fit(X, -np.ones(10, int), verbose=0), ValueError, r"-1"),
    ("float-labels-sparse", lambda: _model().fit(X, Y + 0.5, verbose=0), ValueError, r"0\.5|integer"),
    ("wrong-feature-count", lambda: _model().fit(X[:, :3], Y, verbose=0), ValueError, r"\(10, 3\)|3.*4"),
    ("x-3d", lambda: _model().fit(X[:, :, None], Y, verbose=0), ValueError, r"\(10, 4, 1\)"),
    ("sample-weight-length", lambda: _model().fit(X, Y, sample_weight=np.ones(4), verbose=0), ValueError, r"sample_weight.*4"),
    ("sample-weight-negative", lambda: _model().fit(X, Y, sample_weight=-np.ones(10), verbose=0), ValueError, r"sample_weight.*-1"),
    ("string-x", lambda: _model().fit(np.array([["a"] * 4] * 10), Y, verbose=0), (TypeError, ValueError), r"'<U1'|str|numeric"),
    # predict / evaluate / weights
    ("predict-wrong-features", lambda: _model().predict(X[:, :2], verbose=0), ValueError, r"\(10, 2\)|2.*4"),
    ("predict-batch-size-zero", lambda: _model().predict(X, batch_size=0, verbose=0), ValueError, r"batch_size.*0"),
    ("set-weights-count", lambda: _model().set_weights([np.zeros((4, 5))]), ValueError, r"1.*4|4.*1"),
    ("set-weights-shape", lambda: _model().set_weights([np.zeros((4, 6)), np.zeros(5), np.zeros((5, 3)), np.zeros(3)]), ValueError, r"\(4, 6\)"),
    ("load-missing-file", lambda: lamina.load_model("/nonexistent/dir/m.lamina"), (FileNotFoundError, ValueError, OSError), r"/nonexistent/dir/m\.lamina"),
    # low-level ops
    ("matmul-shape", lambda: ops.matmul(np.ones((2, 3), np.float32), np.ones((4, 5), np.float32)), ValueError, r"\(2, 3\).*\(4, 5\)"),
    ("matmul-dtype", lambda: ops.matmul(np.ones((2, 3), np.float32), np.ones((3, 5), np.float64)), ValueError, r"float32.*float64|float64.*float32"),
    ("matmul-3d", lambda: ops.matmul(np.ones((2, 3, 1), np.float32), np.ones((3, 5), np.float32)), ValueError, r"\(2, 3, 1\)|3-D|ndim"),
    ("matmul-int", lambda: ops.matmul(np.ones((2, 3), np.int64), np.ones((3, 5), np.int64)), (TypeError, ValueError), r"int64"),
    ("activation-name", lambda: ops.activation(np.ones(3), "rleu"), ValueError, r"rleu"),
    ("threads-zero", lambda: lamina.set_num_threads(0), ValueError, r"0"),
    # plots (the history is read before matplotlib is needed)
    ("plot-not-a-history", lambda: __import__("lamina.plot").plot.learning_curves(5), TypeError, r"History.*int"),
]


@pytest.mark.parametrize("make,exc,pattern", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input(make, exc, pattern):
    with pytest.raises(exc, match=pattern):
        make()


@pytest.mark.parametrize("inputs,units", [(10, 2**40), (2**33, 2**33), (2**20, 2**20)])
def test_huge_dense_is_refused_before_allocation(inputs, units):
    with pytest.raises(ValueError, match=str(units)):
        model = lamina.Sequential([lamina.Input(shape=(inputs,)), layers.Dense(units)])
        model.build()


def test_first_nonfinite_fast_sum_path_and_its_overflow_fallback():
    """The one-pass check (a finite sum clears the array) and its exact fallback agree with
    np.isfinite: NaN, +-inf anywhere, finite values whose sum overflows, float16/32/64."""
    from lamina._validation import first_nonfinite

    for dtype in (np.float16, np.float32, np.float64):
        x = np.ones((7, 5), dtype)
        assert first_nonfinite(x) is None
        for bad, where in ((np.nan, (6, 4)), (np.inf, (0, 0)), (-np.inf, (3, 1))):
            y = x.copy()
            y[where] = bad
            assert first_nonfinite(y) == where
        y = x.copy()
        y[1, 1], y[2, 2] = np.inf, -np.inf  # inf - inf: the sum is NaN, the first is (1, 1)
        assert first_nonfinite(y) == (1, 1)
    huge = np.full((3, 4), np.finfo(np.float64).max, np.float64)  # sum overflows, all finite
    assert first_nonfinite(huge) is None
    huge[2, 3] = np.nan
    assert first_nonfinite(huge) == (2, 3)
    assert first_nonfinite(np.arange(6)) is None  # integers hold no NaN
