"""Independent float64 numpy reference of the layer kinds of issue 14 part B (normalization,
prelu, relu with max_value / threshold, gaussian_noise, gaussian_dropout, alpha_dropout,
shared_dropout, activity_regularization): their forward, backward and random draws, written
from Keras 3's formulas; it shares no code with lamina. tests/ref_network.py calls it for
these kinds."""

from __future__ import annotations

import math

import numpy as np

import ref_ops
from ref_ops import _GAMMA, _M64, _mix_int, _mix_u64

KINDS = ("normalization", "prelu", "relu", "gaussian_noise", "gaussian_dropout",
         "alpha_dropout", "shared_dropout", "activity_regularization")
SELU_ALPHA_P = -1.6732632423543772848170429916717 * 1.0507009873554804934193349852946


def normals(n, seed, step, layer):
    """lamina's counter-based normals: Box-Muller (cosine) on the two halves of the SplitMix64
    word of each element (the dropout generator's stream, counter = element index)."""
    key = _mix_int((seed + _GAMMA) & _M64)
    key = _mix_int(key ^ ((step + 2 * _GAMMA) & _M64))
    key = _mix_int(key ^ ((layer + 3 * _GAMMA) & _M64))
    c = np.arange(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        w = _mix_u64(np.uint64(key) + (c + np.uint64(1)) * np.uint64(_GAMMA))
    u1 = ((w >> np.uint64(32)).astype(np.float64) + 0.5) / 2.0**32
    u2 = ((w & np.uint64(0xFFFFFFFF)).astype(np.float64) + 0.5) / 2.0**32
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2 * math.pi * u2)


def shared_keep(layer, m, n, seed, step, index):
    """Keep mask (m, n) of shared_dropout / alpha_dropout: one bit per mask element."""
    rows = 1 if layer.get("row_shared") else m
    cols = 1 if layer.get("col_shared") else n
    keep = ref_ops.dropout_keep(rows * cols, layer["rate"], seed, step, index)
    return np.broadcast_to(keep.reshape(rows, cols), (m, n))


def draws(spec, m, step):
    """{layer index: the random draw of a training forward} for the kinds here."""
    out, width = {}, spec["input_dim"]
    for i, layer in enumerate(spec["layers"]):
        if layer["type"] == "dense":
            width = layer["units"]
        elif layer["type"] in ("gaussian_noise", "gaussian_dropout"):
            out[i] = normals(m * width, spec["seed"], step, i).reshape(m, width)
        elif layer["type"] in ("alpha_dropout", "shared_dropout") and layer["rate"] > 0:
            out[i] = shared_keep(layer, m, width, spec["seed"], step, i)
    return out


def _stat_index(n, inner, k):
    return (np.arange(n) // inner) % k


def forward(r, h, draw):
    """(output, cache, activity sum) of kind r on h (m, n); draw: this layer's random draw in
    training, None at inference."""
    n = h.shape[1]
    t = r["type"]
    if t == "normalization":
        mean = np.asarray(r["state"][0]["value"], np.float64).ravel()
        var = np.asarray(r["state"][1]["value"], np.float64).ravel()
        c = _stat_index(n, r["inner"], mean.size)
        d = np.maximum(np.sqrt(var), r["epsilon"])[c]
        y = mean[c] + h * d if r["invert"] else (h - mean[c]) / d
        return y, d, 0.0
    if t == "prelu":
        a = r["params"][0]["value"].ravel()
        ac = a[_stat_index(n, r["inner"], a.size)]
        return np.where(h > 0, h, ac * h), ac, 0.0
    if t == "relu":
        th, s = r["threshold"], r["negative_slope"]
        p = np.where(h > th, h, 0.0)
        if r["has_max"]:
            p = np.clip(p, 0.0, r["max_value"])
        return p - s * np.maximum(th - h, 0.0), None, 0.0
    if t == "gaussian_noise":
        return (h if draw is None else h + r["stddev"] * draw), None, 0.0
    if t == "gaussian_dropout":
        if draw is None:
            return h, None, 0.0
        f = 1.0 + math.sqrt(r["rate"] / (1 - r["rate"])) * draw
        return h * f, f, 0.0
    if t == "alpha_dropout":
        if draw is None:
            return h, None, 0.0
        rate = r["rate"]
        a = ((1 - rate) * (1 + rate * SELU_ALPHA_P ** 2)) ** -0.5
        b = -a * SELU_ALPHA_P * rate
        return a * np.where(draw, h, SELU_ALPHA_P) + b, a * draw, 0.0
    if t == "shared_dropout":
        if draw is None:
            return h, None, 0.0
        f = np.where(draw, 1.0 / (1 - r["rate"]), 0.0)
        return h * f, f, 0.0
    if t == "activity_regularization":
        return h, None, r["l1"] * np.abs(h).sum() + r["l2"] * (h * h).sum()
    raise ValueError(t)


def backward(r, h, cache, dy):
    """(dL/dh, [parameter gradients]) of kind r given its input h and dL/dy."""
    t = r["type"]
    if t == "normalization":
        return (dy * cache if r["invert"] else dy / cache), []
    if t == "prelu":
        n = h.shape[1]
        a = r["params"][0]["value"]
        c = _stat_index(n, r["inner"], a.size)
        contrib = (dy * np.minimum(h, 0.0)).sum(axis=0)
        ga = np.zeros(a.size)
        np.add.at(ga, c, contrib)
        return np.where(h > 0, dy, np.where(h < 0, cache * dy, 0.0)), [ga.reshape(a.shape)]
    if t == "relu":
        th, s = r["threshold"], r["negative_slope"]
        on = h > th
        if r["has_max"]:
            on &= (h >= 0) & (h < r["max_value"])
        return dy * np.where(on, 1.0, np.where(h < th, s, 0.0)), []
    if t in ("gaussian_dropout", "alpha_dropout", "shared_dropout"):
        return (dy if cache is None else dy * cache), []
    if t == "gaussian_noise":
        return dy, []
    if t == "activity_regularization":
        m = h.shape[0]
        return dy + (r["l1"] * np.sign(h) + 2 * r["l2"] * h) / m, []
    raise ValueError(t)
