"""Keras 3's focal crossentropies (Lin et al., "Focal Loss for Dense Object Detection", 2017):
the crossentropy scaled by ``(1 - p_t) ** gamma``, so well-classified samples weigh less (a
loss for imbalanced classes).

They are written with ``lamina.ops``, so fit differentiates them on the tape like any Python
loss (``lamina.custom_loss``); the core has no fused kernel for them. The formulas are
Keras's, line for line, including where it clips.

Example:
    >>> round(float(binary_focal_crossentropy([[1.0]], [[0.9]])[0]), 6)
    0.001054
"""

from __future__ import annotations

from . import ops
from .loss_functions import EPSILON

__all__ = ["binary_focal_crossentropy", "categorical_focal_crossentropy"]


def _check_axis(axis):
    if isinstance(axis, bool) or axis not in (-1, 1):
        raise ValueError(f"axis={axis!r} is not supported: the loss acts on the outputs "
                         "(axis -1)")


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25,
                              gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1):
    """Per-sample binary focal crossentropy, averaged over the last axis.

    Args:
        y_true: 0/1 targets, shape ``(n, d)``.
        y_pred: Probabilities (or logits with ``from_logits``), same shape.
        apply_class_balancing: Weigh positives by ``alpha`` and negatives by
            ``1 - alpha``. Defaults to `False`.
        alpha: The balancing weight. Defaults to `0.25`.
        gamma: The focusing exponent (0: plain crossentropy). Defaults to `2.0`.
        from_logits: Whether ``y_pred`` holds logits. Defaults to `False`.
        label_smoothing: Squeezes the targets towards 0.5. Defaults to `0.0`.
        axis: Must be -1. Defaults to `-1`.
    """
    _check_axis(axis)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        y_pred = ops.sigmoid(y_pred)
    bce = ops.binary_crossentropy(y_true, y_pred, from_logits=False)
    p_t = y_true * y_pred + (1.0 - y_true) * (1.0 - y_pred)
    focal = ops.power(1.0 - p_t, gamma) * bce
    if apply_class_balancing:
        focal = (y_true * alpha + (1.0 - y_true) * (1.0 - alpha)) * focal
    return ops.mean(focal, axis=-1)


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False,
                                   label_smoothing=0.0, axis=-1):
    """Per-sample categorical focal crossentropy: ``sum(alpha * (1 - p) ** gamma * -y log p)``
    over the classes, ``p`` the predictions renormalised to sum to 1 and clipped.

    Args:
        y_true: One-hot (or soft) targets, shape ``(n, classes)``.
        y_pred: Probabilities (or logits with ``from_logits``), same shape.
        alpha: The weight of every class. Defaults to `0.25`.
        gamma: The focusing exponent. Defaults to `2.0`.
        from_logits: Whether ``y_pred`` holds logits. Defaults to `False`.
        label_smoothing: Mixes the targets with the uniform distribution. Defaults to `0.0`.
        axis: Must be -1. Defaults to `-1`.
    """
    _check_axis(axis)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[-1]
    if from_logits:
        y_pred = ops.softmax(y_pred, axis=-1)
    p = ops.clip(y_pred / ops.sum(y_pred, axis=-1, keepdims=True), EPSILON, 1.0 - EPSILON)
    focal = alpha * ops.power(1.0 - p, gamma) * (-y_true * ops.log(p))
    return ops.sum(focal, axis=-1)
