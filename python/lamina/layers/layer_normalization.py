"""``LayerNormalization``: normalises each sample over its features (Keras 3's layer)."""

from __future__ import annotations

import numpy as np

from .. import config
from .. import constraints as constraints_mod
from .. import initializers as initializers_mod
from .. import regularizers as regularizers_mod
from .._validation import check_float
from .batch_normalization import _param, check_samples, norm_axis
from .layer import Layer, check_shape


class LayerNormalization(Layer):
    """Normalises each sample over its features: ``gamma * (x - mean) / sqrt(var + epsilon)
    + beta`` with the sample's own mean and biased variance, in training and inference alike.

    Args:
        axis: The axis to normalise; only -1 (the features of ``(batch, features)`` inputs)
            is supported. Defaults to `-1`.
        epsilon: Added to the variance, > 0. Defaults to `0.001`.
        center: Whether to add the learned offset ``beta``. Defaults to `True`.
        scale: Whether to multiply by the learned ``gamma``. Defaults to `True`.
        rms_scaling: Must be False (not supported). Defaults to `False`.
        beta_initializer: Initializer of ``beta``. Defaults to `"zeros"`.
        gamma_initializer: Initializer of ``gamma``. Defaults to `"ones"`.
        beta_regularizer: Penalty on ``beta``. Defaults to `None`.
        gamma_regularizer: Penalty on ``gamma``. Defaults to `None`.
        beta_constraint: Projection of beta after each optimizer step
            (``lamina.constraints``). Defaults to `None`.
        gamma_constraint: Projection of gamma after each step. Defaults to `None`.
        name: Name. Defaults to `None` ("layer_normalization", …).

    Example:
        >>> import lamina
        >>> ln = lamina.layers.LayerNormalization()
        >>> ln.build((4,)); [w.shape for w in ln.weights]
        [(4,), (4,)]
    """

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, rms_scaling=False,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        if rms_scaling:
            raise ValueError(f"LayerNormalization rms_scaling={rms_scaling!r} is not "
                             "supported by lamina")
        self.axis = norm_axis("LayerNormalization", axis)
        self.epsilon = check_float("LayerNormalization epsilon", epsilon, 0.0, min_open=True)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers_mod.get(beta_initializer)
        self.gamma_initializer = initializers_mod.get(gamma_initializer)
        self.beta_regularizer = regularizers_mod.get(beta_regularizer)
        self.gamma_regularizer = regularizers_mod.get(gamma_regularizer)
        self.beta_constraint = constraints_mod.get(beta_constraint)
        self.gamma_constraint = constraints_mod.get(gamma_constraint)
        self.gamma = self.beta = None

    def build(self, input_shape):
        input_shape = check_shape("input_shape", input_shape)
        check_samples("LayerNormalization", self.name, input_shape)
        n = (input_shape[0],)
        # Keras's order: gamma, then beta (absent ones left out).
        self.gamma = (self.add_weight(n, self.gamma_initializer,
                                      constraint=self.gamma_constraint, name="gamma")
                      if self.scale else None)
        self.beta = (self.add_weight(n, self.beta_initializer,
                                     constraint=self.beta_constraint, name="beta")
                     if self.center else None)
        super().build(input_shape)

    def core_spec(self):
        params = []
        if self.gamma is not None:
            params.append(_param("gamma", self.gamma, self.gamma_regularizer))
        if self.beta is not None:
            params.append(_param("beta", self.beta, self.beta_regularizer))
        return [{"type": "layer_normalization", "epsilon": self.epsilon, "scale": self.scale,
                 "center": self.center, "params": params}]

    def get_config(self):
        config = super().get_config()
        config.update({
            "axis": self.axis, "epsilon": self.epsilon, "center": self.center,
            "scale": self.scale, "rms_scaling": False,
            "beta_initializer": initializers_mod.serialize(self.beta_initializer),
            "gamma_initializer": initializers_mod.serialize(self.gamma_initializer),
            "beta_regularizer": regularizers_mod.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers_mod.serialize(self.gamma_regularizer),
            "beta_constraint": constraints_mod.serialize(self.beta_constraint),
            "gamma_constraint": constraints_mod.serialize(self.gamma_constraint),
        })
        return config
