"""use_ema state saved with the model: a loaded model resumes its weights' moving average
(and so its training) exactly where the saved one stopped."""

import numpy as np
import pytest

import lamina

rng = np.random.default_rng(1)
X, Y = rng.normal(size=(48, 4)), rng.normal(size=(48, 2))


def _model(momentum=0.9, overwrite=None):
    m = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(3, activation="tanh"),
                           lamina.layers.Dense(2)], seed=0, dtype="float64")
    m.compile(optimizer=lamina.optimizers.Adam(0.01, use_ema=True, ema_momentum=momentum,
                                               ema_overwrite_frequency=overwrite), loss="mse")
    return m


def _fit(m, epochs):
    return m.fit(X, Y, batch_size=16, epochs=epochs, verbose=0).history


@pytest.mark.parametrize("ext,overwrite", [("lamina", None), ("lamina", 4), ("keras", None)])
def test_save_load_resumes_the_average_bit_for_bit(tmp_path, ext, overwrite):
    # fit(N) + fit(M) is not fit(N + M) with use_ema (each fit ends by giving the model the
    # average, as Keras's finalize_variable_values); the loaded copy must continue exactly
    # as the saved model itself continues.
    if ext == "keras":
        pytest.importorskip("h5py")
    saved = _model(overwrite=overwrite)
    _fit(saved, 2)
    path = tmp_path / f"m.{ext}"
    saved.save(path)
    loaded = lamina.load_model(path)
    assert loaded.optimizer.use_ema and loaded.optimizer.iterations == 6
    for a, b in zip(loaded.optimizer.ema_averages, saved.optimizer.ema_averages):
        np.testing.assert_array_equal(a, b)
    h_saved, h_loaded = _fit(saved, 3), _fit(loaded, 3)
    assert h_saved == h_loaded
    for a, b in zip(saved.get_weights() + saved.optimizer.ema_averages,
                    loaded.get_weights() + loaded.optimizer.ema_averages):
        np.testing.assert_array_equal(a, b)


def test_the_average_is_what_a_fresh_start_would_lose(tmp_path):
    saved = _model()
    _fit(saved, 2)
    saved.save(tmp_path / "m.lamina")
    loaded = lamina.load_model(tmp_path / "m.lamina")
    restarted = lamina.load_model(tmp_path / "m.lamina")
    restarted.optimizer.ema_averages = None  # what loading did before the averages were saved
    _fit(loaded, 1), _fit(restarted, 1), _fit(saved, 1)
    assert all(np.array_equal(a, b) for a, b in zip(saved.get_weights(), loaded.get_weights()))
    assert not all(np.array_equal(a, b)
                   for a, b in zip(saved.get_weights(), restarted.get_weights()))


def test_unbuilt_average_and_mismatched_files(tmp_path):
    fresh = _model()  # compiled, never trained: no averages yet, none saved
    fresh.save(tmp_path / "fresh.lamina")
    assert lamina.load_model(tmp_path / "fresh.lamina").optimizer.ema_averages is None
    trained = _model()
    _fit(trained, 1)
    trained.save(tmp_path / "t.lamina")
    # A file with averages loaded into a model whose optimizer keeps none is refused.
    import json
    import zipfile
    with zipfile.ZipFile(tmp_path / "t.lamina") as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    config = json.loads(members["config.json"])
    config["compile_config"]["optimizer"]["config"].pop("use_ema")
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(tmp_path / "bad.lamina", "w") as zf:
        for n, data in members.items():
            zf.writestr(n, data)
    with pytest.raises(lamina.io.ModelFileError, match="unexpected.*e0000"):
        lamina.load_model(tmp_path / "bad.lamina")


# Keras 3 on numpy 2 warns inside its own code (Variable.__array__); not lamina's concern.
@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
def test_keras_files_carry_the_average_in_keras_layout(tmp_path, keras3):
    keras = keras3
    km = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="tanh"),
                           keras.layers.Dense(2)])
    km.compile(optimizer=keras.optimizers.Adam(0.01, use_ema=True, ema_momentum=0.9),
               loss="mse")
    km.fit(X.astype("float32"), Y.astype("float32"), batch_size=16, epochs=2, verbose=0)
    km.save(tmp_path / "k.keras")
    loaded = lamina.load_model(tmp_path / "k.keras")
    want = [np.asarray(v) for v in km.optimizer._model_variables_moving_average]
    assert len(loaded.optimizer.ema_averages) == len(want) == 4
    for got, exp in zip(loaded.optimizer.ema_averages, want):
        np.testing.assert_array_equal(got, exp)
    # And back: Keras reads lamina's file with the averages where it keeps them.
    loaded.save(tmp_path / "l.keras")
    back = keras.saving.load_model(tmp_path / "l.keras")
    for got, exp in zip(back.optimizer._model_variables_moving_average, want):
        np.testing.assert_array_equal(np.asarray(got), exp)
