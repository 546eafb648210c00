"""Confusion-matrix metrics: TruePositives & co., Precision, Recall and AUC.

They count, at one or more thresholds, the (weighted) entries where ``y_pred > threshold``
and ``y_true`` is 1 (true positives) and so on, as Keras 3 does; ``AUC`` integrates the ROC
or precision-recall curve of those counts at ``num_thresholds`` thresholds with Keras's
interpolation. They run in numpy on the step's outputs.

Example:
    >>> m = Precision(); m.update_state([0, 1, 1, 1], [1.0, 1.0, 0.0, 1.0]); m.result()
    0.6666666666666666
    >>> m = AUC(num_thresholds=3); m.update_state([0, 0, 1, 1], [0.0, 0.5, 0.3, 0.9])
    >>> m.result()
    0.75
"""

from __future__ import annotations

import numpy as np

from .base import Metric, to_result

__all__ = ["TruePositives", "TrueNegatives", "FalsePositives", "FalseNegatives",
           "Precision", "Recall", "AUC", "confusion_counts"]

NEG_INF = -1e10  # Keras's value for predictions outside the top k
EPSILON = 1e-7


def _thresholds(thresholds, default):
    """The thresholds as a list of floats in [0, 1] (a scalar is one threshold)."""
    if thresholds is None:
        return [float(default)]
    values = [thresholds] if np.ndim(thresholds) == 0 else list(np.ravel(thresholds))
    out = []
    for t in values:
        try:
            f = float(t)
        except (TypeError, ValueError):
            raise ValueError(f"thresholds must be numbers in [0, 1], got {thresholds!r}") from None
        if not 0.0 <= f <= 1.0:
            raise ValueError(f"thresholds must be in [0, 1], got {thresholds!r}")
        out.append(f)
    if not out:
        raise ValueError("thresholds must not be empty")
    return out


def _optional_int(name, value, minimum):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be None or an int >= {minimum}, got {value!r}")
    return int(value)


def prepare(y_true, y_pred, sample_weight=None, top_k=None, class_id=None,
            label_weights=None):
    """``(scores (n, columns), positive mask, weights or None)`` as the counts see them."""
    y_pred = np.asarray(y_pred)
    if y_pred.dtype.kind != "f":
        y_pred = y_pred.astype(np.float64)
    if y_pred.ndim == 1:
        y_pred = y_pred[:, None]
    y_true = np.asarray(y_true)
    if y_true.size != y_pred.size:
        raise ValueError(f"y_true of shape {y_true.shape} does not match y_pred of shape "
                         f"{y_pred.shape}")
    n = y_pred.shape[0]
    y_pred = y_pred.reshape(n, -1)
    pos = y_true.reshape(n, -1) != 0
    w = None  # per-entry weights, broadcastable to y_pred
    if sample_weight is not None:
        sw = np.asarray(sample_weight, dtype=np.float64)
        w = sw.reshape(n, -1) if sw.ndim and sw.shape[0] == n else sw
    if top_k is not None:
        order = np.argsort(-y_pred, axis=1, kind="stable")[:, :top_k]
        keep = np.zeros(y_pred.shape, dtype=bool)
        np.put_along_axis(keep, order, True, axis=1)
        y_pred = np.where(keep, y_pred, NEG_INF)
    if class_id is not None:
        if class_id >= y_pred.shape[1]:
            raise ValueError(f"class_id={class_id} is not a column of y_pred with "
                             f"{y_pred.shape[1]} columns")
        cols = slice(class_id, class_id + 1)
        y_pred, pos = y_pred[:, cols], pos[:, cols]
        if w is not None and w.ndim == 2 and w.shape[1] > 1:
            w = w[:, cols]
    if label_weights is not None:
        lw = np.asarray(label_weights, dtype=np.float64)
        w = lw if w is None else w * lw
    if w is not None:
        w = np.broadcast_to(w, y_pred.shape)
    return y_pred, pos, w


def confusion_counts(y_true, y_pred, thresholds, sample_weight=None, top_k=None,
                     class_id=None, multi_label=False, label_weights=None):
    """Weighted ``(tp, fp, tn, fn)`` at each threshold (Keras's confusion-matrix update).

    An entry counts as predicted positive at threshold ``t`` when ``y_pred > t`` and as
    positive when ``y_true`` is nonzero. ``top_k`` keeps only each row's k largest
    predictions (the rest count as negative); ``class_id`` looks at one column.

    Args:
        y_true: Targets, y_pred's shape (or ``(n,)`` for one column).
        y_pred: Scores, shape ``(n,)`` or ``(n, labels)``.
        thresholds: Sequence of thresholds.
        sample_weight: Weights ``(n,)`` or broadcastable to y_pred. Defaults to `None`.
        top_k: Keep the top k scores of each row. Defaults to `None`.
        class_id: Only this column. Defaults to `None`.
        multi_label: Counts per column (shape ``(thresholds, labels)``) instead of over
            every entry (shape ``(thresholds,)``). Defaults to `False`.
        label_weights: Per-column weights ``(labels,)``. Defaults to `None`.

    Returns:
        Four float64 arrays.

    Example:
        >>> [c.tolist() for c in confusion_counts([1, 0, 1], [0.9, 0.8, 0.2], [0.5])]
        [[1.0], [1.0], [0.0], [1.0]]
    """
    y_pred, pos, w = prepare(y_true, y_pred, sample_weight, top_k, class_id, label_weights)
    thr = np.asarray(thresholds, dtype=np.float64)
    nt = thr.size
    if nt == 1 and not multi_label:  # Precision / Recall / counts at one threshold
        above = y_pred > thr[0]
        if w is None:
            tp, fp = np.count_nonzero(above & pos), np.count_nonzero(above & ~pos)
            p_all = np.count_nonzero(pos)
            n_all = pos.size - p_all
        else:
            tp, fp = np.sum(w[above & pos]), np.sum(w[above & ~pos])
            p_all = np.sum(w[pos])
            n_all = np.sum(w) - p_all
        return tuple(np.array([float(v)]) for v in (tp, fp, n_all - fp, p_all - tp))
    order = np.argsort(thr, kind="stable")
    hp, hn = histograms(y_pred, pos, w, thr[order], multi_label)
    tp, fp, tn, fn = cumulative(hp, hn)
    if np.any(order != np.arange(nt)):
        inverse = np.empty_like(order)
        inverse[order] = np.arange(nt)
        tp, fp, tn, fn = (a[:, inverse] for a in (tp, fp, tn, fn))
    if multi_label:
        return tp.T, fp.T, tn.T, fn.T
    return tp[0], fp[0], tn[0], fn[0]


def histograms(y_pred, pos, w, thresholds, multi_label):
    """Weight of the positive and of the negative entries per score bucket.

    Bucket ``b`` of a column holds the entries with exactly ``b`` of the (sorted)
    ``thresholds`` strictly below their score, i.e. predicted positive at thresholds
    ``0 .. b-1``. Returns two ``(columns, len(thresholds) + 1)`` arrays (one column unless
    ``multi_label``); summing them over batches and taking ``cumulative`` gives the counts.
    """
    nt = thresholds.size
    labels = y_pred.shape[1] if multi_label else 1
    key = np.searchsorted(thresholds, y_pred, side="left")
    if multi_label:
        key = key + np.arange(labels) * (nt + 1)
    key, posr = key.ravel(), pos.ravel()
    wr = None if w is None else w.ravel()
    size = labels * (nt + 1)
    both = np.bincount(key, weights=wr, minlength=size)
    hp = np.bincount(key[posr], weights=None if wr is None else wr[posr], minlength=size)
    return hp.reshape(labels, nt + 1).astype(np.float64), (both - hp).reshape(labels, nt + 1)


def cumulative(hp, hn):
    """``(tp, fp, tn, fn)``, each ``(columns, thresholds)``, from ``histograms``' output."""
    cp, cn = np.cumsum(hp, axis=1), np.cumsum(hn, axis=1)
    fn, tn = cp[:, :-1], cn[:, :-1]
    return cp[:, -1:] - fn, cn[:, -1:] - tn, tn, fn


def _div(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return np.divide(a, b, out=np.zeros(np.broadcast_shapes(a.shape, b.shape)), where=b != 0)


class _Counts(Metric):
    """Accumulates the confusion counts at ``self.thresholds``."""

    def __init__(self, thresholds, default, name, dtype, top_k=None, class_id=None):
        super().__init__(dtype=dtype, name=name)
        self.init_thresholds = thresholds
        self.thresholds = _thresholds(thresholds, default)
        self.top_k = _optional_int("top_k", top_k, 1)
        self.class_id = _optional_int("class_id", class_id, 0)
        self.reset_state()

    def reset_state(self):
        super().reset_state()
        z = np.zeros(len(self.thresholds))
        self.true_positives, self.false_positives = z.copy(), z.copy()
        self.true_negatives, self.false_negatives = z.copy(), z.copy()

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Adds the batch's weighted counts at every threshold."""
        tp, fp, tn, fn = confusion_counts(y_true, y_pred, self.thresholds, sample_weight,
                                          self.top_k, self.class_id)
        self.true_positives += tp
        self.false_positives += fp
        self.true_negatives += tn
        self.false_negatives += fn

    def _one(self, values):
        return to_result(values[0] if len(self.thresholds) == 1 else values)


def _count_class(cls_name, attr, what):
    def __init__(self, thresholds=None, name=None, dtype=None):
        _Counts.__init__(self, thresholds, 0.5, name, dtype)

    def result(self):
        return self._one(getattr(self, attr))

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "thresholds": self.init_thresholds}

    result.__doc__ = f"The weighted number of {what} (an array for several thresholds)."
    default = cls_name[0].lower() + "".join(
        f"_{c.lower()}" if c.isupper() else c for c in cls_name[1:])
    doc = (f"Weighted count of {what}: entries where {_RULES[attr]}.\n\n    Args:\n"
           "        thresholds: A float or list of floats in [0, 1]; a score above it is "
           "positive.\n            Defaults to `None` (0.5).\n"
           f"        name: Key in logs. Defaults to `None` (\"{default}\").\n"
           "        dtype: Ignored (float64). Defaults to `None`.\n\n    Example:\n"
           f"        >>> m = {cls_name}(); m.update_state([0, 1, 1, 0], [0.9, 0.8, 0.1, 0.2])\n"
           f"        >>> m.result()\n        1.0\n    ")
    return type(cls_name, (_Counts,), {"__init__": __init__, "result": result,
                                       "get_config": get_config, "__doc__": doc,
                                       "__module__": __name__})


_RULES = {"true_positives": "y_true is 1 and y_pred > threshold",
          "false_positives": "y_true is 0 and y_pred > threshold",
          "true_negatives": "y_true is 0 and y_pred <= threshold",
          "false_negatives": "y_true is 1 and y_pred <= threshold"}
TruePositives = _count_class("TruePositives", "true_positives", "true positives")
FalsePositives = _count_class("FalsePositives", "false_positives", "false positives")
TrueNegatives = _count_class("TrueNegatives", "true_negatives", "true negatives")
FalseNegatives = _count_class("FalseNegatives", "false_negatives", "false negatives")


class Precision(_Counts):
    """``tp / (tp + fp)``: how many predicted positives are positive.

    Args:
        thresholds: A float or list of floats in [0, 1]. Defaults to `None` (0.5, or no
            threshold with ``top_k``).
        top_k: Only each row's k highest scores count as predicted positive. Defaults to
            `None`.
        class_id: Only this column (class) counts. Defaults to `None`.
        name: Key in logs. Defaults to `"precision"`.
        dtype: Ignored (float64). Defaults to `None`.

    Example:
        >>> m = Precision(top_k=1); m.update_state([[0, 1], [1, 0]], [[0.2, 0.8], [0.3, 0.7]])
        >>> m.result()
        0.5
    """

    def __init__(self, thresholds=None, top_k=None, class_id=None, name="precision",
                 dtype=None):
        super().__init__(thresholds, 0.5 if top_k is None else NEG_INF, name, dtype, top_k,
                         class_id)

    def result(self):
        """The precision (an array for several thresholds; 0 before any positive)."""
        return self._one(_div(self.true_positives, self.true_positives + self.false_positives))

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "thresholds": self.init_thresholds,
                "top_k": self.top_k, "class_id": self.class_id}


class Recall(Precision):
    """``tp / (tp + fn)``: how many positives are predicted positive.

    Args:
        thresholds: A float or list of floats in [0, 1]. Defaults to `None` (0.5, or no
            threshold with ``top_k``).
        top_k: Only each row's k highest scores count as predicted positive. Defaults to
            `None`.
        class_id: Only this column (class) counts. Defaults to `None`.
        name: Key in logs. Defaults to `"recall"`.
        dtype: Ignored (float64). Defaults to `None`.

    Example:
        >>> m = Recall(); m.update_state([0, 1, 1, 1], [1.0, 0.0, 1.0, 1.0]); m.result()
        0.6666666666666666
    """

    def __init__(self, thresholds=None, top_k=None, class_id=None, name="recall", dtype=None):
        super().__init__(thresholds, top_k, class_id, name, dtype)

    def result(self):
        """The recall (an array for several thresholds; 0 before any positive)."""
        return self._one(_div(self.true_positives, self.true_positives + self.false_negatives))


_CURVES = ("ROC", "PR")
_SUMMATIONS = ("interpolation", "minoring", "majoring")


class AUC(Metric):
    """Area under the ROC or precision-recall curve (Keras's ``AUC``, same discretization).

    The curve is measured at ``num_thresholds`` thresholds (evenly spaced in [0, 1], plus
    one just below 0 and one just above 1) and integrated by the Riemann sum that
    ``summation_method`` names; PR with "interpolation" uses Davis & Goadrich's
    interpolation, as Keras does.

    Args:
        num_thresholds: Thresholds of the discretization (> 1). Defaults to `200`.
        curve: "ROC" or "PR". Defaults to `"ROC"`.
        summation_method: "interpolation", "minoring" or "majoring". Defaults to
            `"interpolation"`.
        name: Key in logs. Defaults to `"auc"`.
        dtype: Ignored (float64). Defaults to `None`.
        thresholds: Explicit thresholds in [0, 1] (then num_thresholds is their number
            + 2). Defaults to `None`.
        multi_label: One curve per column, averaged (weighted by ``label_weights``),
            instead of one curve over every entry. Defaults to `False`.
        num_labels: Columns, for multi_label (else taken from the first batch). Defaults
            to `None`.
        label_weights: Per-column weights. Defaults to `None`.
        from_logits: Apply a sigmoid to ``y_pred`` first. Defaults to `False`.

    Example:
        >>> m = AUC(); m.update_state([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]); m.result()
        0.75
    """

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation",
                 name="auc", dtype=None, thresholds=None, multi_label=False, num_labels=None,
                 label_weights=None, from_logits=False):
        super().__init__(dtype=dtype, name=name)
        curve_u = str(curve).upper()
        if curve_u not in _CURVES:
            raise ValueError(f"curve must be one of {_CURVES}, got {curve!r}")
        summation = str(summation_method).lower()
        if summation not in _SUMMATIONS:
            raise ValueError(f"summation_method must be one of {_SUMMATIONS}, got "
                             f"{summation_method!r}")
        if thresholds is not None:
            inner = sorted(_thresholds(thresholds, 0.5))
            num_thresholds = len(inner) + 2
        else:
            if isinstance(num_thresholds, bool) or not isinstance(
                    num_thresholds, (int, np.integer)) or num_thresholds <= 1:
                raise ValueError(f"num_thresholds must be an int > 1, got {num_thresholds!r}")
            num_thresholds = int(num_thresholds)
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        self.num_thresholds = num_thresholds
        self._init_from_thresholds = thresholds is not None
        self.thresholds = [0.0 - EPSILON] + inner + [1.0 + EPSILON]
        self.curve, self.summation_method = curve_u, summation
        self.multi_label = bool(multi_label)
        self.num_labels = _optional_int("num_labels", num_labels, 1)
        self.label_weights = None if label_weights is None else np.asarray(
            label_weights, dtype=np.float64)
        if self.label_weights is not None and np.any(self.label_weights < 0):
            raise ValueError(f"label_weights must be >= 0, got {label_weights!r}")
        self.from_logits = bool(from_logits)
        self.reset_state()

    def reset_state(self):
        super().reset_state()
        self._built = not self.multi_label or self.num_labels is not None
        columns = self.num_labels if self.multi_label and self.num_labels else 1
        # weight of positive / negative entries per score bucket (see histograms); the
        # counts at each threshold are their cumulative sums, taken when read
        self._hist_pos = np.zeros((columns, self.num_thresholds + 1))
        self._hist_neg = np.zeros((columns, self.num_thresholds + 1))
        self._sorted_thresholds = np.asarray(self.thresholds, dtype=np.float64)

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Adds the batch's counts at every threshold."""
        y_pred = np.asarray(y_pred)
        if self.from_logits:
            y_pred = 0.5 * (1.0 + np.tanh(0.5 * y_pred.astype(np.float64)))  # sigmoid
        scores, pos, w = prepare(y_true, y_pred, sample_weight,
                                 label_weights=None if self.multi_label else self.label_weights)
        hp, hn = histograms(scores, pos, w, self._sorted_thresholds, self.multi_label)
        if self.multi_label and not self._built:
            self.num_labels = hp.shape[0]
            self.reset_state()
        if hp.shape != self._hist_pos.shape:
            raise ValueError(f"AUC was built for {self.num_labels} labels, got y_pred of "
                             f"shape {np.shape(y_pred)}")
        self._hist_pos += hp
        self._hist_neg += hn

    def _counts(self):
        """(tp, fp, tn, fn): (thresholds,) each, or (thresholds, labels) for multi_label."""
        counts = cumulative(self._hist_pos, self._hist_neg)
        return tuple(c.T if self.multi_label else c[0] for c in counts)

    @property
    def true_positives(self):
        """Weighted true positives at each threshold."""
        return self._counts()[0]

    @property
    def false_positives(self):
        """Weighted false positives at each threshold."""
        return self._counts()[1]

    @property
    def true_negatives(self):
        """Weighted true negatives at each threshold."""
        return self._counts()[2]

    @property
    def false_negatives(self):
        """Weighted false negatives at each threshold."""
        return self._counts()[3]

    def _by_label(self, terms):
        if not self.multi_label:
            return float(np.sum(terms))
        by_label = np.sum(terms, axis=0)
        if self.label_weights is None:
            return float(np.mean(by_label))
        return float(_div(np.sum(by_label * self.label_weights), np.sum(self.label_weights)))

    def _interpolated_pr(self):
        tp, fp, _, fn = self._counts()
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = _div(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        ratio = np.where((p[:-1] > 0) & (p[1:] > 0), _div(p[:-1], np.maximum(p[1:], 0)), 1.0)
        increments = _div(slope * (dtp + intercept * np.log(ratio)),
                          np.maximum(tp[1:] + fn[1:], 0))
        return self._by_label(increments)

    def result(self):
        """The area under the curve (0.0 before any update)."""
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolated_pr()
        tp, fp, tn, fn = self._counts()
        recall = _div(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _div(fp, fp + tn), recall
        else:
            x, y = recall, _div(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return self._by_label((x[:-1] - x[1:]) * heights)

    def get_config(self):
        lw = None if self.label_weights is None else self.label_weights.tolist()
        config = {"name": self.name, "dtype": self.dtype,
                  "num_thresholds": self.num_thresholds, "curve": self.curve,
                  "summation_method": self.summation_method, "multi_label": self.multi_label,
                  "num_labels": self.num_labels, "label_weights": lw,
                  "from_logits": self.from_logits}
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config
