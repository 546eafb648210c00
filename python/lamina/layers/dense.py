"""``Dense``: the fully connected layer."""

from __future__ import annotations

from .. import constraints as constraints_mod
from .. import initializers as initializers_mod
from .. import regularizers as regularizers_mod
from .._validation import check_int
from .layer import (_MAX_DIM, _MAX_KERNEL, Layer, _activation_and_alpha, _activation_config,
                    check_shape)


class Dense(Layer):
    """Fully connected layer: ``activation(inputs @ kernel + bias)``.

    Args:
        units: Output size, a positive int.
        activation: Name, ``lamina.activations`` function, or an activation layer
            (``LeakyReLU(0.1)``, ``ELU``, ``Softmax``, a plain ``ReLU``). Defaults to `None`
            (linear).
        use_bias: Whether to add a bias. Defaults to `True`.
        kernel_initializer: Initializer of the ``(inputs, units)`` kernel. Defaults to
            `"glorot_uniform"`.
        bias_initializer: Initializer of the bias. Defaults to `"zeros"`.
        kernel_regularizer: Penalty on the kernel (``lamina.regularizers``). Defaults to
            `None`.
        bias_regularizer: Penalty on the bias. Defaults to `None`.
        activity_regularizer: Penalty on the output, added to the loss divided by the batch
            size (Keras 3). Defaults to `None`.
        kernel_constraint: Projection of the kernel after each optimizer step
            (``lamina.constraints``, e.g. ``MaxNorm(3)`` with Dropout). Defaults to `None`.
        bias_constraint: Projection of the bias after each step. Defaults to `None`.
        name: Name. Defaults to `None` ("dense", "dense_1" …).
        **kwargs: The base ``Layer``'s arguments: ``dtype`` (a dtype policy;
            "mixed_bfloat16" runs the forward, input-gradient and weight-gradient GEMMs on
            bfloat16-rounded inputs with float32 accumulation), ``trainable``,
            ``input_shape``.

    Example:
        >>> import lamina
        >>> d = lamina.layers.Dense(3, activation="relu", kernel_regularizer="l2")
        >>> d.build((5,)); d.count_params()
        18
    """

    def __init__(self, units, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, name=None, **kwargs):
        super().__init__(name=name, activity_regularizer=activity_regularizer, **kwargs)
        self.units = check_int("Dense units", units, minimum=1, maximum=_MAX_DIM)
        self.activation, self.alpha = _activation_and_alpha(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers_mod.get(kernel_initializer)
        self.bias_initializer = initializers_mod.get(bias_initializer)
        self.kernel_regularizer = regularizers_mod.get(kernel_regularizer)
        self.bias_regularizer = regularizers_mod.get(bias_regularizer)
        self.kernel_constraint = constraints_mod.get(kernel_constraint)
        self.bias_constraint = constraints_mod.get(bias_constraint)
        self.kernel = None
        self.bias = None

    def compute_output_shape(self, input_shape):
        return (self.units,)

    def build(self, input_shape):
        input_shape = check_shape("input_shape", input_shape)
        if len(input_shape) != 1:
            raise ValueError(f"Dense layer {self.name!r} expects 1-D samples, got input shape "
                             f"{input_shape}: add lamina.layers.Flatten() before it")
        dtype = self._dtype or self.variable_dtype
        if input_shape[0] > _MAX_DIM or input_shape[0] * self.units > _MAX_KERNEL:
            raise ValueError(
                f"Dense layer {self.name!r}: a ({input_shape[0]}, {self.units}) kernel has "
                f"{input_shape[0] * self.units} elements, more than lamina allows "
                f"({_MAX_KERNEL}, each side at most {_MAX_DIM})")
        self.kernel = self.add_weight((input_shape[0], self.units), self.kernel_initializer,
                                      dtype, constraint=self.kernel_constraint, name="kernel")
        self.bias = (self.add_weight((self.units,), self.bias_initializer, dtype,
                                     constraint=self.bias_constraint, name="bias")
                     if self.use_bias else None)
        super().build(input_shape)

    def core_spec(self):
        # "trainable": whether the tensor can train at all; the model ANDs its compiled flag.
        def param(name, value, reg):
            return {"name": name, "value": value, "trainable": value.trainable,
                    "l1": reg.l1 if reg else 0.0, "l2": reg.l2 if reg else 0.0, "slots": []}

        params = [param("kernel", self.kernel, self.kernel_regularizer)]
        if self.bias is not None:
            params.append(param("bias", self.bias, self.bias_regularizer))
        entry = {"type": "dense", "units": self.units, "activation": self.activation,
                 "alpha": self.alpha, "params": params}
        if self.compute_dtype == "bfloat16":  # mixed_bfloat16: the gemms in bfloat16
            entry["compute_dtype"] = "bfloat16"
        return [entry]

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units, "activation": _activation_config(self.activation, self.alpha),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers_mod.serialize(self.kernel_initializer),
            "bias_initializer": initializers_mod.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers_mod.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers_mod.serialize(self.bias_regularizer),
            "kernel_constraint": constraints_mod.serialize(self.kernel_constraint),
            "bias_constraint": constraints_mod.serialize(self.bias_constraint),
        })
        return config
