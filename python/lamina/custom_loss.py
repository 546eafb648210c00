"""Training with a loss written in Python: the core's network, the loss on the tape.

A custom loss (``compile(loss=fn)`` or a ``lamina.losses.Loss`` subclass with ``call``)
cannot run in the C++ core, so its step is split in three:

1. ``Network.forward_train`` (C++): the training-mode forward of the fused step (the same
   dropout masks, batch statistics and state updates), keeping the activations;
2. the loss and dL/dy_pred in Python: ``y_pred`` becomes a tape ``Tensor``, the loss runs
   on it with ``lamina.ops``, Keras's weighting and reduction apply, and the tape gives the
   gradient (float64 throughout, cast to the network's dtype at the end);
3. ``Network.backward_update`` (C++): metrics, penalties, backward, clipping and the
   optimizer update, exactly as the fused step does them after its loss.

``CustomLossNetwork`` wraps the core network with the interface the trainer uses
(``train_step``, ``evaluate``, ``gradients``, ``predict`` ...), so fit / evaluate /
train_on_batch need no other path.

Example:
    >>> import numpy as np
    >>> from lamina import ops
    >>> value, grad = loss_and_gradient(
    ...     lambda t, p: ops.mean(ops.square(p - t), axis=-1),
    ...     np.zeros((2, 1)), np.array([[1.0], [3.0]]), None, "sum_over_batch_size")
    >>> value, grad.ravel().tolist()
    (5.0, [1.0, 3.0])
"""

from __future__ import annotations

import numpy as np

from .ops import array_ops, tape
from .ops import numpy_ops as npo

__all__ = ["CustomLossNetwork", "loss_and_gradient", "reduce_values", "same_rank"]


def same_rank(y_true, y_pred):
    """Keras's ``squeeze_or_expand_to_same_rank``: a trailing axis of size 1 is dropped from
    the higher-rank argument, or one is added to the lower-rank one."""
    t, p = np.ndim(y_true), np.ndim(y_pred)
    if t == p + 1 and np.shape(y_true)[-1] == 1:
        return array_ops.squeeze(y_true, -1), y_pred
    if p == t + 1 and np.shape(y_pred)[-1] == 1:
        return y_true, array_ops.squeeze(y_pred, -1)
    if t == p + 1:
        return y_true, array_ops.expand_dims(y_pred, -1)
    if p == t + 1:
        return array_ops.expand_dims(y_true, -1), y_pred
    return y_true, y_pred


def reduce_values(values, sample_weight, reduction):
    """Keras 3's ``reduce_weighted_values``: weight the per-sample values, then reduce.

    Args:
        values: The loss's output (array or tape Tensor; any shape, first axis the samples).
        sample_weight: Per-sample weights (n,) or None.
        reduction: "sum_over_batch_size" / "mean" (sum / number of values), "sum",
            "mean_with_sample_weight" (sum / sum of the weights) or None / "none".
    """
    if sample_weight is not None:
        sw = np.asarray(sample_weight, dtype=np.float64)
        if np.ndim(values) == 0:
            values = npo.multiply(values, sw)
        else:
            vshape = np.shape(values)
            if sw.ndim == len(vshape) + 1 and sw.shape[-1] == 1:
                sw = sw[..., 0]
            while sw.ndim < len(vshape):
                sw = sw[..., None]
            values = npo.multiply(values, sw)
    if reduction in (None, "none"):
        return values
    total = npo.sum(values)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        denom = float(np.sum(np.broadcast_to(sw, np.shape(values))))
    else:
        denom = float(max(int(np.size(values)), 1))
    return npo.divide(total, denom) if denom else npo.multiply(total, 0.0)


def loss_and_gradient(call, y_true, y_pred, sample_weight, reduction):
    """The reduced loss and d loss / d y_pred of a Python loss on one batch.

    Args:
        call: ``call(y_true, y_pred)`` -> per-sample values (or a scalar).
        y_true: The batch's targets (cast to float64 as Keras casts them to the loss dtype).
        y_pred: The network outputs (m, n).
        sample_weight: (m,) or None.
        reduction: As ``reduce_values``; None averages (fit needs a scalar, as Keras).

    Returns:
        ``(value, grad)``: a float and a float64 array shaped like ``y_pred``.

    Raises:
        lamina.ops.NotDifferentiableError: The loss's gradient needs an op that has none (the
            message names it), or the loss does not depend on y_pred through lamina.ops.
    """
    yp = tape.Tensor(np.asarray(y_pred, dtype=np.float64))
    yt = np.asarray(y_true)
    if yt.dtype.kind != "f" or yt.dtype != np.float64:
        yt = yt.astype(np.float64)
    total = reduce_values(call(yt, yp), sample_weight, reduction)
    if np.ndim(total) != 0:  # reduction None: Keras's fit averages what is left
        total = npo.mean(total)
    if isinstance(total, tape.Tensor):
        value = float(total.value)
    else:
        value = float(np.asarray(total))
    if not np.isfinite(value):  # the fused step carries NaN on; so does this one
        return value, np.full(yp.shape, np.nan)
    return value, tape.gradient(total, yp)


class CustomLossNetwork:
    """A core ``Network`` built with ``external_loss`` plus the Python loss that trains it.

    Args:
        net: The ``lamina._core.Network`` (``spec["external_loss"] = True``).
        loss: The ``lamina.losses.Loss`` (its ``call`` and ``reduction``).
    """

    def __init__(self, net, loss):
        self.net = net
        self.loss = loss
        self.dtype = np.dtype(net.dtype)
        self._out = None

    def __getattr__(self, name):  # predict, forward, last_penalty, capacity, ...
        return getattr(self.net, name)

    def __repr__(self):
        return f"<CustomLossNetwork {self.loss.name!r} over {self.net!r}>"

    def _outputs(self, m):
        out = self._out
        if out is None or out.shape[0] != m:
            out = self._out = np.empty((m, self.net.output_dim), dtype=self.dtype)
        return out

    def _loss(self, y, out, sw):
        return loss_and_gradient(self.loss.call, y, out, sw, self.loss.reduction)

    def train_step(self, x, y, sample_weight, learning_rate, iteration, outputs=None):
        """One training step; returns ``(loss, weight_sum, metric_sum_0, ...)`` as the core's
        (``outputs``, when given, receives the step's network outputs)."""
        out = self._outputs(x.shape[0]) if outputs is None else outputs
        self.net.forward_train(x, out, iteration)
        value, grad = self._loss(y, out, sample_weight)
        dy = np.ascontiguousarray(grad, dtype=self.dtype)
        r = self.net.backward_update(y, sample_weight, dy, learning_rate, iteration)
        return (value + r[0], *r[1:])

    def evaluate(self, x, y, sample_weight=None, outputs=None):
        """Loss and metric sums without dropout and without update (``outputs``, when given,
        receives the network outputs)."""
        out = (np.empty((x.shape[0], self.net.output_dim), dtype=self.dtype) if outputs is None
               else outputs)
        r = self.net.evaluate(x, y, sample_weight, out)
        yp = np.asarray(out, dtype=np.float64)
        total = reduce_values(self.loss.call(np.asarray(y, dtype=np.float64), yp),
                              sample_weight, self.loss.reduction)
        return (float(np.mean(np.asarray(total))) + r[0], *r[1:])

    def gradients(self, x, y, sample_weight, step):
        """``(loss, [gradient of each parameter tensor])`` with the masks of ``step``."""
        out = np.empty((x.shape[0], self.net.output_dim), dtype=self.dtype)
        self.net.forward_train(x, out, step, False)
        value, grad = self._loss(y, out, sample_weight)
        penalty, grads = self.net.backward_gradients(
            y, sample_weight, np.ascontiguousarray(grad, dtype=self.dtype))
        return value + penalty, grads
