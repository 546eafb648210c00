"""Keras's functional ``Model(inputs, outputs)`` for a chain of layer calls.

Example:
    >>> import lamina
    >>> inputs = lamina.Input(shape=(3,))
    >>> outputs = lamina.layers.Dense(1)(inputs)
    >>> isinstance(lamina.Model(inputs, outputs, seed=0), lamina.Sequential)
    True
"""

from __future__ import annotations

from . import layers as layers_mod
from .model import Sequential

__all__ = ["Model"]


class _ModelType(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, Sequential)


class Model(metaclass=_ModelType):
    """Keras's functional ``Model(inputs, outputs)`` for a chain of layer calls.

    ``lamina.Input`` followed by layer calls, each on the previous output, describes the same
    network as a Sequential; this returns that ``Sequential`` (and ``isinstance(model,
    lamina.Model)`` holds for every lamina model). Branches, several inputs or outputs and
    subclassing ``Model`` are not supported.

    Args:
        inputs: The ``lamina.Input(...)`` the chain starts from (or a one-element list).
        outputs: The last layer call's output (or a one-element list).
        name: Model name. Defaults to `None`.
        seed: As for ``Sequential``. Defaults to `None`.
        dtype: As for ``Sequential``. Defaults to `None`.

    Example:
        >>> import lamina
        >>> inputs = lamina.Input(shape=(4,))
        >>> x = lamina.layers.Dense(8, activation="relu")(inputs)
        >>> outputs = lamina.layers.Dense(2, activation="softmax")(x)
        >>> model = lamina.Model(inputs=inputs, outputs=outputs, seed=0)
        >>> model.output_shape, isinstance(model, lamina.Model)
        ((None, 2), True)
    """

    def __new__(cls, inputs=None, outputs=None, name=None, *, seed=None, dtype=None,
                trainable=True):
        if cls is not Model:
            raise TypeError("subclassing lamina.Model is not supported: lamina runs whole "
                            "networks in its C++ core; use Sequential or Model(inputs, outputs)")
        if isinstance(inputs, (list, tuple)):
            if len(inputs) != 1:
                raise ValueError(f"lamina models take one input, got {len(inputs)}")
            inputs = inputs[0]
        if isinstance(outputs, (list, tuple)):
            if len(outputs) != 1:
                raise ValueError(f"lamina models have one output, got {len(outputs)}")
            outputs = outputs[0]
        if not isinstance(inputs, layers_mod.InputLayer):
            raise TypeError(f"inputs must be a lamina.Input(...), got {inputs!r}")
        chain = []
        node = outputs
        while isinstance(node, layers_mod.SymbolicOutput):
            chain.append(node.layer)
            node = node.parent
        if node is not inputs:
            raise ValueError("outputs must come from layer calls chained on `inputs`, got "
                             f"{outputs!r}")
        if not chain:
            raise ValueError("the model has no layers between inputs and outputs")
        return Sequential([inputs, *reversed(chain)], trainable=trainable, name=name,
                          seed=seed, dtype=dtype)
