"""The per-sample metric functions a loss shares are the loss's own maths (one
implementation): same values bit for bit, 1-D predictions read as one output per sample."""

import numpy as np
import pytest

from lamina import loss_functions as lf
from lamina.metrics import functions as mf
from lamina.metrics import (BinaryAccuracy, CategoricalAccuracy, MeanSquaredError,
                            TopKCategoricalAccuracy)

rng = np.random.default_rng(5)
T = rng.uniform(0.0, 1.0, size=(16, 3))
P = rng.uniform(0.05, 1.0, size=(16, 3))


@pytest.mark.parametrize("name", ["mean_squared_error", "mean_absolute_error", "log_cosh",
                                  "kl_divergence", "poisson", "hinge", "squared_hinge",
                                  "categorical_hinge"])
def test_metric_function_is_the_loss_function(name):
    np.testing.assert_array_equal(getattr(mf, name)(T, P), getattr(lf, name)(T, P))
    labels = (T > 0.5).astype(float)  # 0/1 targets: the hinges map them to -1/1
    np.testing.assert_array_equal(getattr(mf, name)(labels, P), getattr(lf, name)(labels, P))
    # A 1-D prediction is one output per sample for the metric (the loss keeps 1-D as is).
    assert getattr(mf, name)(T[:, 0], P[:, 0]).shape == (16,)


def test_cosine_similarity_metric_is_minus_the_loss():
    np.testing.assert_array_equal(mf.cosine_similarity(T, P), -lf.cosine_similarity(T, P))


def test_function_metric_classes_keep_signature_and_config():
    import inspect
    assert inspect.signature(MeanSquaredError).parameters["name"].default == "mean_squared_error"
    assert MeanSquaredError.core_name == "mean_squared_error"
    assert CategoricalAccuracy().get_config() == {"name": "categorical_accuracy", "dtype": None}
    assert BinaryAccuracy(threshold=0.3).get_config() == {
        "name": "binary_accuracy", "dtype": None, "threshold": 0.3}
    m = TopKCategoricalAccuracy.from_config(TopKCategoricalAccuracy(k=2).get_config())
    assert (m.k, m.get_config()) == (2, {"name": "top_k_categorical_accuracy", "dtype": None,
                                         "k": 2})
