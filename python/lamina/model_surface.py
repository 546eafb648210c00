"""The surface Keras users reach a model through: symbolic inputs and outputs, ``get_layer``,
``summary`` and calling the model (on a symbolic tensor, or on data with ``training=``).

``KerasSurface`` is mixed into ``Sequential`` (model.py).
"""

from __future__ import annotations

import numpy as np

from . import eager
from . import layers as layers_mod
from .layers.layer import SymbolicOutput

__all__ = ["KerasSurface"]

# model(x, training=True) draws its dropout/noise masks from steps in this range, apart from
# the training steps (1, 2, …): successive calls differ, and a model's calls repeat with its seed.
_CALL_STEP0 = 1 << 62


class KerasSurface:
    """Symbolic tensors, ``get_layer``, ``summary`` and ``__call__`` (mixed into
    ``Sequential``)."""

    # ------------------------------------------------------------------ symbolic ------
    @property
    def inputs(self) -> list:
        """``[input]``: the model's symbolic input (its ``InputLayer``), once built."""
        return [self.input]

    @property
    def input(self):
        """The model's symbolic input: the ``InputLayer`` it starts from, once built."""
        if self._input_layer is not None:
            return self._input_layer
        if self._auto_input is None:
            raise AttributeError(f"model {self.name!r} has no defined input yet: start it "
                                 "with lamina.Input(shape=...) or build it")
        return self._auto_input

    @property
    def outputs(self) -> list:
        """``[output]``: the symbolic output of the model's last layer, once built."""
        return [self.output]

    @property
    def output(self):
        """The symbolic output of the model's last layer (``.shape`` is ``(None, …)``)."""
        if not self.built or not self._nodes:
            raise AttributeError(f"model {self.name!r} has no defined output yet: give it "
                                 "layers and an input shape")
        return self._nodes[-1]

    def get_layer(self, name=None, index=None):
        """Returns a layer of ``layers`` by name or index (Keras's ``get_layer``).

        Args:
            name: The layer's name. Defaults to `None`.
            index: Its index in ``model.layers``. Defaults to `None`.
        """
        layers = self.layers
        if index is not None:
            if name is not None:
                raise ValueError(f"give get_layer a name or an index, not both (got {name!r} "
                                 f"and {index!r})")
            if not isinstance(index, (int, np.integer)) or isinstance(index, bool):
                raise TypeError(f"get_layer index must be an int, got {index!r}")
            if not -len(layers) <= index < len(layers):
                raise ValueError(f"get_layer index {index} is out of range: model "
                                 f"{self.name!r} has {len(layers)} layers")
            return layers[index]
        if name is None:
            raise ValueError("get_layer needs a name or an index")
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f"no layer named {name!r}: layers are "
                         f"{', '.join(lay.name for lay in layers)}")

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None) -> None:
        """Prints each layer's type, output shape and parameter count, and the totals.

        Args:
            line_length: Total width. Defaults to `None` (65).
            print_fn: Function called with the text. Defaults to `None` (print).
        """
        width = line_length or 65
        c1, c2 = int(width * 0.45), int(width * 0.33)
        rows = [("Layer (type)", "Output Shape", "Param #")]
        shape = self._input_shape
        for layer in self.layers:
            if shape is not None and not isinstance(layer, layers_mod.InputLayer):
                shape = layer.compute_output_shape(shape)
            out = "?" if not layer.built or shape is None else str((None, *shape))
            params = str(layer.count_params()) if layer.built else "0 (unbuilt)"
            rows.append((f"{layer.name} ({type(layer).__name__})", out, params))
        lines = [f'Model: "{self.name}"', "_" * width]
        for i, (a, b, c) in enumerate(rows):
            # a long "name (Type)" wraps within its column, as Keras's table does
            parts = [a] if len(a) < c1 else a.replace(" (", "\n(").split("\n")
            wrapped = [p[k:k + c1 - 1] for p in parts for k in range(0, len(p), c1 - 1)]
            lines.append(f"{wrapped[0]:<{c1}}{b:<{c2}}{c:>{width - c1 - c2}}")
            lines += wrapped[1:]
            lines.append(("=" if i == 0 else "_") * width)
        total = sum(lay.count_params() for lay in self._layers if lay.built)
        frozen = sum(int(w.size) for w in self.non_trainable_weights)
        nbytes = sum(w.nbytes for w in self.weights) if self.built else 0
        lines += [f"Total params: {total:,} ({nbytes / 1024:.2f} KB)",
                  f"Trainable params: {total - frozen:,}", f"Non-trainable params: {frozen:,}"]
        mixed = {}  # policy name -> layer names (only mixed policies: float ones are the dtype)
        for leaf, _ in self._leaves():
            policy = getattr(leaf, "dtype_policy", None)
            if policy is not None and policy.is_mixed:
                mixed.setdefault(policy.name, []).append(leaf.name)
        for name, names in mixed.items():
            lines.append(f"Dtype policy {name}: {', '.join(names)}")
        lines.append("_" * width)
        text = "\n".join(lines)
        (print_fn or print)(text)

    # ------------------------------------------------------------------ calling -------
    def __call__(self, inputs, training=None, mask=None, **kwargs):
        """Calls the model: on a symbolic tensor (functional API) or on data.

        On ``lamina.Input(...)`` or a layer call's output it returns the symbolic output of
        this model as a layer of the chain (the weights stay shared). On data it runs the
        network once on all of ``inputs`` and returns a numpy array (an ``EagerArray``, which
        also has Keras's ``.numpy()``): with ``training=True``
        dropout and noise layers are active (and BatchNormalization uses the batch
        statistics) but nothing is updated; each such call draws new masks, and a model's
        sequence of calls repeats with its seed.

        Args:
            inputs: A symbolic tensor, or data of shape ``(n, *input_shape)``.
            training: Run in training mode. Defaults to `None` (inference).
            mask: Must be None. Defaults to `None`.
        """
        if mask is not None or kwargs:
            raise ValueError(f"model {self.name!r}: mask and other call arguments are not "
                             f"supported, got mask={mask!r}, {sorted(kwargs)}")
        if isinstance(inputs, SymbolicOutput) or getattr(inputs, "_is_input", False):
            shape = inputs.shape[1:]
            if not self.built:
                self.build(shape)
            elif tuple(shape) != self._input_shape:
                raise ValueError(f"model {self.name!r} takes inputs of shape "
                                 f"{self.input_shape}, got a tensor of shape {inputs.shape}")
            return SymbolicOutput(self, inputs)
        if training not in (None, True, False) and not isinstance(training, np.bool_):
            raise ValueError(f"training must be True, False or None, got {training!r}")
        if not training:
            return eager.as_eager(self.predict_on_batch(inputs))
        xt = self._prepare_x(inputs)
        out = np.empty((xt.shape[0], self._out_dim()), dtype=self.dtype)
        step = _CALL_STEP0 + self._call_count
        self._call_count += 1
        self._network_for("infer").forward(xt, out, True, step)
        return eager.as_eager(out)
