"""Real Keras 3 parity for what tutorials do outside fit: calling a layer on data, reading
``model.losses``, CSVLogger's columns, ``bias_initializer=None`` and array constants. Skips
without keras (the `interop` extra, run on Keras's torch backend)."""

import csv

import numpy as np
import pytest

from conftest import import_keras3

keras = import_keras3(module_level=True)

import lamina  # noqa: E402 - after the skip

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

RNG = np.random.default_rng(3)
X = (RNG.normal(size=(40, 6)) * 2 + 1).astype("float32")


def _np(t):
    return keras.ops.convert_to_numpy(t)


def test_adapted_normalization_called_on_data():
    mine, theirs = lamina.layers.Normalization(), keras.layers.Normalization()
    mine.adapt(X)
    theirs.adapt(X)
    np.testing.assert_allclose(mine(X[:3]).numpy(), _np(theirs(X[:3])), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("activation", ["relu", "tanh", "softmax"])
def test_dense_called_on_data_with_the_same_weights(activation):
    mine = lamina.layers.Dense(4, activation=activation)
    theirs = keras.layers.Dense(4, activation=activation)
    mine(X[:2])
    theirs(X[:2])
    mine.set_weights([_np(w) for w in theirs.weights])
    np.testing.assert_allclose(mine(X).numpy(), _np(theirs(X)), rtol=1e-5, atol=1e-6)


def _regularized(api):
    R = api.regularizers
    return api.Sequential([api.Input((6,)),
                           api.layers.Dense(5, kernel_regularizer=R.L2(0.01)),
                           api.layers.Dense(3, kernel_regularizer=R.L1(0.1),
                                            bias_regularizer=R.L1L2(0.1, 0.2)),
                           api.layers.Dense(1)])


def test_model_losses_with_the_same_weights():
    mine, theirs = _regularized(lamina), _regularized(keras)
    mine.set_weights([w + 0.5 for w in mine.get_weights()])  # a non-zero bias too
    theirs.set_weights(mine.get_weights())
    got = [float(v) for v in mine.losses]
    want = [float(_np(v)) for v in theirs.losses]
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert len(got) == 3


def test_csv_logger_columns_without_validation(tmp_path):
    y = (X[:, :1] > 1).astype("float32")
    header = {}
    for name, api in (("lamina", lamina), ("keras", keras)):
        model = api.Sequential([api.Input((6,)), api.layers.Dense(1, activation="sigmoid")])
        model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
        path = tmp_path / f"{name}.csv"
        model.fit(X, y, epochs=2, verbose=0, callbacks=[api.callbacks.CSVLogger(str(path))])
        with open(path) as f:
            rows = list(csv.DictReader(f))
        header[name] = (list(rows[0]), rows[-1]["val_loss"])
    assert header["lamina"] == header["keras"]


def test_keras_loads_none_and_array_initializers(tmp_path):
    model = lamina.Sequential([
        lamina.Input((6,)), lamina.layers.Dense(3, bias_initializer=None),
        lamina.layers.Dense(1, bias_initializer=lamina.initializers.Constant(np.log([0.2])))])
    model.save(tmp_path / "m.keras")
    back = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(_np(back.predict(X, verbose=0)), model.predict(X, verbose=0),
                               rtol=1e-5, atol=1e-6)
    assert back.layers[0].bias_initializer is None


@pytest.mark.parametrize("shape, axis", [((40, 6), -1), ((40, 1), None), ((20, 3, 4), -1),
                                         ((20, 3, 4), (1, 2))])
def test_normalization_statistics_have_keras_shapes(shape, axis):
    data = RNG.normal(size=shape).astype("float32") * 3 + 2
    mine = lamina.layers.Normalization(axis=axis)
    theirs = keras.layers.Normalization(axis=axis)
    mine.adapt(data)
    theirs.adapt(data)
    for got, want in ((mine.mean, theirs.mean), (mine.variance, theirs.variance)):
        want = _np(want)
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert not mine.mean.flags.writeable  # a view of what the core reads: read-only


def _chain(api, functional):
    layers = [api.layers.Dense(5, activation="relu", kernel_regularizer=api.regularizers.L2(0.1)),
              api.layers.Dropout(0.25), api.layers.BatchNormalization(), api.layers.Dense(2)]
    if not functional:
        return api.Sequential([api.Input((6,))] + layers)
    x = inputs = api.Input((6,))
    for layer in layers:
        x = layer(x)
    return api.Model(inputs, x)


@pytest.mark.parametrize("functional", [False, True])
def test_to_json_crosses_both_ways(functional):
    def summary(model):
        return [(type(layer).__name__, layer.get_config().get("units"),
                 layer.get_config().get("rate")) for layer in model.layers
                if type(layer).__name__ != "InputLayer"]

    mine, theirs = _chain(lamina, functional), _chain(keras, functional)
    in_keras = keras.models.model_from_json(mine.to_json())
    in_lamina = lamina.models.model_from_json(theirs.to_json())
    assert summary(in_keras) == summary(theirs) and summary(in_lamina) == summary(mine)
    assert in_keras.input_shape == (None, 6) and in_lamina.input_shape == (None, 6)
    assert float(in_lamina.layers[-4].kernel_regularizer.l2) == pytest.approx(0.1)
    # and Keras's layer configs (newer initializer keys included) read directly
    assert lamina.Sequential.from_config(_chain(keras, False).get_config()).count_params() == \
        _chain(lamina, False).count_params()


def test_evaluate_sum_reduction_and_batch_first_shapes():
    y = RNG.normal(size=(40, 2)).astype("float32")
    values = []
    for api in (lamina, keras):
        model = api.Sequential([api.Input((6,)), api.layers.Dense(2)])
        values.append(model)
    mine, theirs = values
    theirs.set_weights(mine.get_weights())
    for model, api in ((mine, lamina), (theirs, keras)):
        model.compile("sgd", api.losses.MeanSquaredError(reduction="sum"))
    assert mine.evaluate(X, y, verbose=0) == pytest.approx(
        float(theirs.evaluate(X, y, verbose=0)), rel=1e-5)
    assert mine.compute_output_shape((None, 6)) == tuple(theirs.compute_output_shape((None, 6)))
    assert lamina.layers.Dense(3).compute_output_shape((None, 6)) == \
        tuple(keras.layers.Dense(3).compute_output_shape((None, 6)))
