"""``BatchNormalization``: normalises each feature with batch statistics (Keras 3's layer)."""

from __future__ import annotations

import numpy as np

from .. import config
from .. import constraints as constraints_mod
from .. import initializers as initializers_mod
from .. import regularizers as regularizers_mod
from .._validation import check_float
from .layer import Layer, check_shape

# Keras 3 arguments lamina accepts only at their defaults (their feature is not supported).
_UNSUPPORTED = {"synchronized": False, "renorm": False, "renorm_clipping": None,
                "renorm_momentum": 0.99}


def norm_axis(kind, axis):
    """Checks a normalisation ``axis``: only the last one of (batch, features) is supported:
    -1 (or 1, or ``[-1]`` as Keras configs may spell it)."""
    given = axis
    if isinstance(axis, (list, tuple)) and len(axis) == 1:
        axis = axis[0]
    if isinstance(axis, bool) or not isinstance(axis, int) or axis not in (-1, 1):
        raise ValueError(f"{kind} axis={given!r} is not supported by lamina: only axis=-1 (the "
                         "features of (batch, features) inputs)")
    return axis


def check_samples(kind, name, input_shape):
    """Raises unless the samples are 1-D (the executor normalises (batch, features))."""
    if len(input_shape) != 1:
        raise ValueError(f"{kind} layer {name!r} expects 1-D samples (batch, features), got "
                         f"input shape {input_shape}: add lamina.layers.Flatten() before it")


def _check_unsupported(kind, given):
    for arg, default in _UNSUPPORTED.items():
        if arg in given and given[arg] != default:
            raise ValueError(f"{kind} {arg}={given[arg]!r} is not supported by lamina")


def _param(name, value, reg):
    # "trainable": whether the tensor can train at all; the model ANDs its compiled flag.
    return {"name": name, "value": value, "trainable": True,
            "l1": reg.l1 if reg else 0.0, "l2": reg.l2 if reg else 0.0, "slots": []}


class BatchNormalization(Layer):
    """Normalises each feature over the batch: ``gamma * (x - mean) / sqrt(var + epsilon) +
    beta``.

    In training (``fit``) it uses the batch's mean and biased variance and updates the moving
    statistics as Keras does: ``moving = moving * momentum + batch_stat * (1 - momentum)``;
    in ``predict`` / ``evaluate`` it uses the moving statistics. A frozen layer
    (``trainable=False``) uses its moving statistics in ``fit`` too and leaves them as they
    are, as in Keras 3. ``moving_mean`` / ``moving_variance`` are non-trainable weights: saved,
    loaded and counted as non-trainable parameters.

    Args:
        axis: The feature axis; only -1 (features of ``(batch, features)`` inputs) is
            supported. Defaults to `-1`.
        momentum: Momentum of the moving statistics, in [0, 1]. Defaults to `0.99`.
        epsilon: Added to the variance, > 0. Defaults to `0.001`.
        center: Whether to add the learned offset ``beta``. Defaults to `True`.
        scale: Whether to multiply by the learned ``gamma``. Defaults to `True`.
        beta_initializer: Initializer of ``beta``. Defaults to `"zeros"`.
        gamma_initializer: Initializer of ``gamma``. Defaults to `"ones"`.
        moving_mean_initializer: Initializer of the moving mean. Defaults to `"zeros"`.
        moving_variance_initializer: Initializer of the moving variance. Defaults to `"ones"`.
        beta_regularizer: Penalty on ``beta``. Defaults to `None`.
        gamma_regularizer: Penalty on ``gamma``. Defaults to `None`.
        beta_constraint: Projection of beta after each optimizer step
            (``lamina.constraints``). Defaults to `None`.
        gamma_constraint: Projection of gamma after each step. Defaults to `None`.
        synchronized: Must be False (one process trains). Defaults to `False`.
        name: Name. Defaults to `None` ("batch_normalization", …).

    Example:
        >>> import lamina
        >>> bn = lamina.layers.BatchNormalization()
        >>> bn.build((4,)); [w.shape for w in bn.weights], bn.count_params()
        ([(4,), (4,), (4,), (4,)], 16)
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, synchronized=False, name=None, **kwargs):
        extra = {k: kwargs.pop(k) for k in ("renorm", "renorm_clipping", "renorm_momentum")
                 if k in kwargs}
        super().__init__(name=name, **kwargs)
        _check_unsupported("BatchNormalization", dict(extra, synchronized=synchronized))
        self.axis = norm_axis("BatchNormalization", axis)
        self.momentum = check_float("BatchNormalization momentum", momentum, 0.0, 1.0)
        self.epsilon = check_float("BatchNormalization epsilon", epsilon, 0.0, min_open=True)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers_mod.get(beta_initializer)
        self.gamma_initializer = initializers_mod.get(gamma_initializer)
        self.moving_mean_initializer = initializers_mod.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers_mod.get(moving_variance_initializer)
        self.beta_regularizer = regularizers_mod.get(beta_regularizer)
        self.gamma_regularizer = regularizers_mod.get(gamma_regularizer)
        self.beta_constraint = constraints_mod.get(beta_constraint)
        self.gamma_constraint = constraints_mod.get(gamma_constraint)
        self.gamma = self.beta = self.moving_mean = self.moving_variance = None

    def build(self, input_shape):
        input_shape = check_shape("input_shape", input_shape)
        check_samples("BatchNormalization", self.name, input_shape)
        n = (input_shape[0],)
        # Keras's order: gamma, beta, moving_mean, moving_variance (absent ones left out);
        # the moving statistics are non-trainable state the core updates in place.
        self.gamma = (self.add_weight(n, self.gamma_initializer,
                                      constraint=self.gamma_constraint, name="gamma")
                      if self.scale else None)
        self.beta = (self.add_weight(n, self.beta_initializer,
                                     constraint=self.beta_constraint, name="beta")
                     if self.center else None)
        self.moving_mean = self.add_weight(n, self.moving_mean_initializer, trainable=False,
                                           name="moving_mean")
        self.moving_variance = self.add_weight(n, self.moving_variance_initializer,
                                               trainable=False, name="moving_variance")
        super().build(input_shape)

    def core_spec(self):
        params = []
        if self.gamma is not None:
            params.append(_param("gamma", self.gamma, self.gamma_regularizer))
        if self.beta is not None:
            params.append(_param("beta", self.beta, self.beta_regularizer))
        # "training": batch statistics in fit; the model ANDs the layer's compiled trainable
        # flag (a frozen layer normalises with its moving statistics, as in Keras 3).
        return [{"type": "batch_normalization", "epsilon": self.epsilon,
                 "momentum": self.momentum, "training": True, "scale": self.scale,
                 "center": self.center, "params": params,
                 "state": [{"name": "moving_mean", "value": self.moving_mean},
                           {"name": "moving_variance", "value": self.moving_variance}]}]

    def get_config(self):
        config = super().get_config()
        config.update({
            "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
            "center": self.center, "scale": self.scale,
            "beta_initializer": initializers_mod.serialize(self.beta_initializer),
            "gamma_initializer": initializers_mod.serialize(self.gamma_initializer),
            "moving_mean_initializer": initializers_mod.serialize(
                self.moving_mean_initializer),
            "moving_variance_initializer": initializers_mod.serialize(
                self.moving_variance_initializer),
            "beta_regularizer": regularizers_mod.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers_mod.serialize(self.gamma_regularizer),
            "beta_constraint": constraints_mod.serialize(self.beta_constraint),
            "gamma_constraint": constraints_mod.serialize(self.gamma_constraint),
            "synchronized": False,
            "renorm": False, "renorm_clipping": None, "renorm_momentum": 0.99,
        })
        return config
