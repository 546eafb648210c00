"""``InputLayer`` and ``Input``: the shape of one input sample."""

from __future__ import annotations

from .layer import Layer, _drop_keras_defaults, check_shape


class InputLayer(Layer):
    """Declares the shape of one input sample; ``lamina.Input(shape=...)`` returns one.

    Args:
        shape: Shape of one sample, e.g. ``(64,)`` or ``(8, 8)``.
        batch_size: Accepted for Keras compatibility and ignored. Defaults to `None`.
        dtype: Ignored (the model's dtype applies). Defaults to `None`.
        batch_shape: ``(None, *shape)``, instead of ``shape``. Defaults to `None`.
        name: Name. Defaults to `None` ("input_layer").

    The layer is also the symbolic tensor of the model input: ``model.input``,
    ``model.inputs[0]`` and the first layer's ``input`` are this object.

    Example:
        >>> InputLayer(shape=(64,)).output_shape, InputLayer(shape=(64,)).shape
        ((64,), (None, 64))
    """

    _is_input = True

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None,
                 input_tensor=None, name=None, **kwargs):
        if "input_shape" in kwargs and shape is None:
            shape = kwargs.pop("input_shape")
        if sparse:
            raise ValueError("sparse inputs are not supported by lamina")
        if input_tensor is not None:
            raise ValueError("input_tensor is not supported by lamina")
        if shape is None and batch_shape is not None:
            shape = tuple(batch_shape)[1:]
        if shape is None:
            raise ValueError("InputLayer needs a shape, e.g. InputLayer(shape=(64,))")
        super().__init__(name=name, **kwargs)
        shape = check_shape("shape", shape)
        self.batch_size = batch_size
        self.input_shape = self.output_shape = shape
        self.built = True
        self._node = self  # an input is its own symbolic tensor

    @property
    def shape(self):
        """``(None, *shape of one sample)``, like a Keras input tensor."""
        return (None, *self.output_shape)

    def get_config(self):
        return {"name": self.name, "shape": list(self.output_shape)}

    @classmethod
    def from_config(cls, config):
        config = _drop_keras_defaults(config)
        if "batch_shape" in config and "shape" not in config:
            config["shape"] = tuple(config.pop("batch_shape"))[1:]
        config.pop("trainable", None)
        return cls(**config)


def Input(shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, name=None,
          tensor=None):
    """Declares a model input (Keras's ``keras.Input``); put it first in a Sequential.

    Args:
        shape: Shape of one sample, e.g. ``(64,)``. Defaults to `None` (then
            ``batch_shape`` gives it).
        batch_size: Accepted for Keras compatibility and ignored. Defaults to `None`.
        dtype: Ignored (the model's dtype applies). Defaults to `None`.
        sparse: Must be falsy. Defaults to `None`.
        batch_shape: ``(None, *shape)``, instead of ``shape``. Defaults to `None`.
        name: Name. Defaults to `None`.
        tensor: Must be None. Defaults to `None`.

    Returns:
        An ``InputLayer``.

    Example:
        >>> import lamina
        >>> model = lamina.Sequential([lamina.Input(shape=(4,)), lamina.layers.Dense(2)])
        >>> model.built
        True
    """
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse,
                      batch_shape=batch_shape, input_tensor=tensor, name=name)
