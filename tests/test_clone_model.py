"""clone_model: the same architecture with freshly drawn weights (Keras 3 re-initializes)."""

import numpy as np
import pytest

import lamina


def nested_model():
    inner = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(5, activation="relu")],
                              seed=1)
    return lamina.Sequential([lamina.Input((4,)), inner, lamina.layers.Dense(2)], seed=0)


def kernels(model):
    return [w for w in model.get_weights() if w.ndim == 2]


def test_clone_has_the_architecture_and_fresh_weights():
    model = nested_model()
    clone = lamina.models.clone_model(model)
    strip = lambda c: {k: v for k, v in c.items() if k != "seed"}  # noqa: E731
    assert strip(clone.get_config())["layers"][0] == strip(model.get_config())["layers"][0]
    assert [w.shape for w in clone.get_weights()] == [w.shape for w in model.get_weights()]
    assert all(not np.array_equal(a, b) for a, b in zip(kernels(model), kernels(clone)))
    assert not clone.compiled


def test_clone_is_reproducible_after_set_random_seed():
    model = nested_model()
    lamina.utils.set_random_seed(7)
    a = lamina.models.clone_model(model)
    lamina.utils.set_random_seed(7)
    b = lamina.models.clone_model(model)
    assert all(np.array_equal(p, q) for p, q in zip(a.get_weights(), b.get_weights()))


def test_functional_clone_and_refused_arguments():
    inp = lamina.Input((3,))
    model = lamina.Model(inp, lamina.layers.Dense(2)(inp), seed=0)
    clone = lamina.models.clone_model(model)
    assert clone.output_shape == (None, 2)
    assert not np.array_equal(kernels(clone)[0], kernels(model)[0])
    with pytest.raises(ValueError, match="clone_function=.* is not supported"):
        lamina.models.clone_model(model, clone_function=lambda layer: layer)
    with pytest.raises(TypeError, match="unexpected arguments: foo"):
        lamina.models.clone_model(model, foo=1)
