"""DataFrames by name: the columns seen at fit are checked at predict / evaluate, in the
Keras API (reordered with a warning, missing/extra refused) and in the scikit-learn
estimators (scikit-learn's own rules: any mismatch is refused)."""

from __future__ import annotations

import numpy as np
import pytest

import lamina

pd = pytest.importorskip("pandas")

COLS = ["a", "b", "c"]


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(rng.standard_normal((n, 3)), columns=COLS)
    y = (x["a"] - 2 * x["c"]).to_numpy()
    return x, y


def _model():
    model = lamina.Sequential([lamina.layers.Dense(4, activation="tanh"),
                               lamina.layers.Dense(1)], seed=0)
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_fit_on_a_dataframe_keeps_its_column_names():
    x, y = _data()
    model = _model()
    model.fit(x, y, epochs=1, verbose=0)
    assert list(model.feature_names_in_) == COLS


def test_arrays_and_unnamed_columns_carry_no_names():
    x, y = _data()
    model = _model()
    model.fit(x.to_numpy(), y, epochs=1, verbose=0)
    assert not hasattr(model, "feature_names_in_")
    model.fit(pd.DataFrame(x.to_numpy()), y, epochs=1, verbose=0)  # columns 0, 1, 2
    assert not hasattr(model, "feature_names_in_")
    # a model without names takes any DataFrame as it is
    model.predict(x[["c", "b", "a"]], verbose=0)


def test_reordered_columns_are_put_back_with_a_warning():
    x, y = _data()
    model = _model()
    model.fit(x, y, epochs=2, verbose=0)
    expected = model.predict(x, verbose=0)
    shuffled = x[["c", "a", "b"]]
    with pytest.warns(UserWarning, match=r"\['c', 'a', 'b'\].*reordered to \['a', 'b', 'c'\]"):
        got = model.predict(shuffled, verbose=0)
    np.testing.assert_array_equal(got, expected)
    with pytest.warns(UserWarning, match="reordered"):
        assert model.evaluate(shuffled, y, verbose=0) == pytest.approx(
            model.evaluate(x, y, verbose=0))
    with pytest.warns(UserWarning, match="reordered"):
        np.testing.assert_array_equal(model.predict_on_batch(shuffled), expected)
    # numpy arrays are taken as they are (no names to check)
    np.testing.assert_array_equal(model.predict(x.to_numpy(), verbose=0), expected)


def test_missing_and_extra_columns_are_refused_by_name():
    x, y = _data()
    model = _model()
    model.fit(x, y, epochs=1, verbose=0)
    renamed = x.rename(columns={"b": "B"})
    with pytest.raises(ValueError, match=r"missing \['b'\]; not seen at fit \['B'\]"):
        model.predict(renamed, verbose=0)
    with pytest.raises(ValueError, match=r"validation x .*missing \['c'\]"):
        model.fit(x, y, epochs=1, verbose=0, validation_data=(x[["a", "b"]], y))
    with pytest.raises(ValueError, match=r"not seen at fit \['d'\]"):
        model.evaluate(x.assign(d=1.0), y, verbose=0)
    # training on more data goes by name too
    with pytest.warns(UserWarning, match="reordered"):
        model.fit(x[["b", "c", "a"]], y, epochs=1, verbose=0)


def test_names_are_saved_with_the_model(tmp_path):
    x, y = _data()
    model = _model()
    model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / "m.lamina"
    model.save(path)
    back = lamina.load_model(path)
    assert list(back.feature_names_in_) == COLS
    with pytest.warns(UserWarning, match="reordered"):
        np.testing.assert_array_equal(back.predict(x[["b", "a", "c"]], verbose=0),
                                      model.predict(x, verbose=0))


def test_a_tampered_name_list_is_refused(tmp_path):
    import json
    import zipfile

    x, y = _data()
    model = _model()
    model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / "m.lamina"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    config = json.loads(members["config.json"])
    config["feature_names_in"] = ["a", "a", 3]
    members["config.json"] = json.dumps(config).encode()
    bad = tmp_path / "bad.lamina"
    with zipfile.ZipFile(bad, "w") as zf:
        for n, data in members.items():
            zf.writestr(n, data)
    with pytest.raises(lamina.ModelFileError, match="feature_names_in"):
        lamina.load_model(bad)


# ------------------------------------------------------------------ scikit-learn
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_estimators_follow_scikit_learn(kind):
    pytest.importorskip("sklearn")
    from lamina.sklearn import LaminaClassifier, LaminaRegressor

    x, y = _data()
    if kind == "classifier":
        est, y = LaminaClassifier((4,), epochs=2, random_state=0), (y > 0).astype(int)
    else:
        est = LaminaRegressor((4,), epochs=2, random_state=0)
    est.fit(x, y)
    assert list(est.feature_names_in_) == COLS
    est.predict(x)
    # scikit-learn refuses reordered columns (it does not reorder) ...
    with pytest.raises(ValueError, match="same order"):
        est.predict(x[["c", "b", "a"]])
    # ... and names the unseen and the missing ones
    with pytest.raises(ValueError, match=r"(?s)unseen at fit time:\n- B.*missing:\n- b"):
        est.predict(x.rename(columns={"b": "B"}))
    with pytest.raises(ValueError, match="same order"):
        est.score(x[["b", "a", "c"]], y)
