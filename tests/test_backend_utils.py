"""lamina.backend (Keras's keras.backend) and the keras.utils helpers: clear_session,
floatx / epsilon / image_data_format, normalize, to_categorical, PyDataset."""

import numpy as np
import pytest

import lamina
from lamina import backend


def test_clear_session_restarts_layer_and_model_names():
    lamina.layers.Dense(1)
    lamina.Sequential([lamina.layers.Dense(1)])
    backend.clear_session()
    names = [lamina.layers.Dense(1).name, lamina.layers.Dense(1).name,
             lamina.layers.Dropout(0.1).name, lamina.Sequential().name, lamina.Sequential().name]
    assert names == ["dense", "dense_1", "dropout", "sequential", "sequential_1"]
    inp = lamina.Input((2,))
    assert lamina.Model(inp, lamina.layers.Dense(1)(inp)).name == "functional"
    backend.clear_session(free_memory=False)
    assert lamina.layers.Dense(1).name == "dense"


def test_floatx_epsilon_and_data_format():
    assert backend.floatx() == "float32" and backend.epsilon() == 1e-7
    backend.set_floatx("float64")
    try:
        assert lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)]).dtype == "float64"
    finally:
        backend.set_floatx("float32")
    with pytest.raises(ValueError, match="'float16'"):
        backend.set_floatx("float16")
    backend.set_epsilon(1e-7)
    with pytest.raises(ValueError, match=r"set_epsilon\(1e-05\) is not supported"):
        backend.set_epsilon(1e-5)
    with pytest.raises(TypeError, match="'x'"):
        backend.set_epsilon("x")
    assert backend.image_data_format() == "channels_last"
    backend.set_image_data_format("channels_last")
    with pytest.raises(ValueError, match="data_format='channels_first' is not supported"):
        backend.set_image_data_format("channels_first")


def reference_normalize(x, axis, order):  # Keras's numpy formula, written out
    norm = np.sum(np.abs(x) ** order, axis=axis, keepdims=True) ** (1.0 / order)
    return x / np.where(norm == 0, 1, norm)


@pytest.mark.parametrize("axis,order", [(-1, 2), (0, 2), (1, 1), (-1, 3), (2, 2)])
def test_normalize_matches_the_formula(axis, order):
    x = np.random.default_rng(0).normal(size=(4, 3, 5))
    x[1, 2] = 0.0  # a zero slice stays zero
    got = lamina.utils.normalize(x, axis=axis, order=order)
    np.testing.assert_allclose(got, reference_normalize(x, axis, order), rtol=1e-12)
    assert got.dtype == np.float64
    assert lamina.utils.normalize(x.astype(np.float32)).dtype == np.float32
    assert lamina.utils.normalize([[3, 4]]).tolist() == [[0.6, 0.8]]


def test_normalize_rejects_bad_input():
    with pytest.raises(ValueError, match="axis=2 is out of range"):
        lamina.utils.normalize(np.ones((2, 2)), axis=2)
    with pytest.raises(TypeError, match="dtype <U1"):
        lamina.utils.normalize(np.array(["a"]))


def test_to_categorical_is_float64_like_keras():
    out = lamina.utils.to_categorical([0, 2, 1])
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, np.eye(3)[[0, 2, 1]])
    assert lamina.utils.to_categorical(np.array([[1], [0]]), 3).shape == (2, 3)
    assert lamina.utils.to_categorical(np.array([[1, 0], [2, 2]])).shape == (2, 2, 3)
    with pytest.raises(ValueError, match="integer labels"):
        lamina.utils.to_categorical([0.5])


def test_pydataset_api():
    class Data(lamina.utils.PyDataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return np.ones((2, 1)) * i, np.zeros((2, 1))

    ds = Data(workers=3, use_multiprocessing=True, max_queue_size=4)
    assert (ds.workers, ds.use_multiprocessing, ds.max_queue_size, ds.num_batches) == (
        3, True, 4, 2)
    assert lamina.utils.Sequence is lamina.utils.PyDataset
    with pytest.raises(ValueError, match="workers must be >= 1, got 0"):
        Data(workers=0)
    with pytest.raises(NotImplementedError, match="__getitem__"):
        lamina.utils.PyDataset()[0]
    with pytest.raises(NotImplementedError, match="num_batches"):
        lamina.utils.PyDataset().num_batches
    model = lamina.Sequential([lamina.Input((1,)), lamina.layers.Dense(1)], seed=0)
    model.compile(optimizer="sgd", loss="mse")
    assert len(model.fit(ds, epochs=2, verbose=0).history["loss"]) == 2
