"""``PReLU``: leaky ReLU with learnable slopes (Keras 3's ``layers.PReLU``)."""

from __future__ import annotations

import numpy as np

from .. import config
from .. import constraints as constraints_mod
from .. import initializers as initializers_mod
from .. import regularizers as regularizers_mod
from .._validation import check_int
from ._broadcast import broadcast_inner
from .layer import Layer, check_shape


class PReLU(Layer):
    """Parametric ReLU: ``x`` where ``x > 0``, ``alpha * x`` elsewhere, with ``alpha`` learned
    per feature (one slope per element of the sample, except along ``shared_axes``).

    Args:
        alpha_initializer: Initializer of the slopes. Defaults to `"zeros"`.
        alpha_regularizer: Penalty on the slopes (``lamina.regularizers``). Defaults to
            `None`.
        alpha_constraint: Projection of the slopes after each optimizer step
            (``lamina.constraints``, e.g. ``NonNeg()``). Defaults to `None`.
        shared_axes: Axes (1 = the first sample axis) along which one slope is shared, e.g.
            ``[1]`` for a single slope on ``(features,)`` samples. Defaults to `None`.
        name: Name. Defaults to `None` ("p_re_lu", …).

    Example:
        >>> import numpy as np
        >>> import lamina
        >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.PReLU(
        ...     alpha_initializer=lamina.initializers.Constant(0.25))])
        >>> model.predict(np.array([[-4.0, 3.0]]), verbose=0).tolist()
        [[-1.0, 3.0]]
    """

    def __init__(self, alpha_initializer="zeros", alpha_regularizer=None,
                 alpha_constraint=None, shared_axes=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.alpha_initializer = initializers_mod.get(alpha_initializer)
        self.alpha_regularizer = regularizers_mod.get(alpha_regularizer)
        self.alpha_constraint = constraints_mod.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        else:
            axes = [shared_axes] if isinstance(shared_axes, int) else list(shared_axes)
            self.shared_axes = [check_int("PReLU shared_axes entry", a, minimum=1)
                                for a in axes]
        self.alpha = None
        self._inner = 1

    def build(self, input_shape):
        input_shape = check_shape("input_shape", input_shape)
        shape = list(input_shape)
        for a in self.shared_axes or ():
            if a > len(shape):
                raise ValueError(f"PReLU {self.name!r}: shared axis {a} is beyond inputs of "
                                 f"shape {(None, *input_shape)}")
            shape[a - 1] = 1
        kept = [i for i in range(len(shape)) if shape[i] != 1]
        self._inner = broadcast_inner(input_shape, kept, f"PReLU {self.name!r}")
        self.alpha = self.add_weight(tuple(shape), self.alpha_initializer,
                                     constraint=self.alpha_constraint, name="alpha")
        super().build(input_shape)

    def core_spec(self):
        reg = self.alpha_regularizer
        return [{"type": "prelu", "inner": self._inner,
                 "params": [{"name": "alpha", "value": self.alpha, "trainable": True,
                             "l1": reg.l1 if reg else 0.0, "l2": reg.l2 if reg else 0.0,
                             "slots": []}]}]

    def get_config(self):
        config = super().get_config()
        config.update({
            "alpha_initializer": initializers_mod.serialize(self.alpha_initializer),
            "alpha_regularizer": regularizers_mod.serialize(self.alpha_regularizer),
            "alpha_constraint": constraints_mod.serialize(self.alpha_constraint),
            "shared_axes": self.shared_axes,
        })
        return config
