"""Independent float64 numpy reference of a whole dense network step (the oracle of
tests/test_network.py): forward, loss, backward, L1/L2 penalties and the optimizer update,
written from the Keras 3 formulas, sharing no code with lamina.

A network here is the same `spec` dict lamina._core.Network takes; `make_spec` builds one with
random parameters, and `RefNetwork` copies its arrays to float64 and runs the maths.
"""

from __future__ import annotations

import math

import numpy as np

ACTIVATIONS = ["linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu",
               "gelu_tanh", "softplus", "softsign", "silu", "hard_sigmoid", "softmax",
               "log_softmax"]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_GELU_C = math.sqrt(2.0 / math.pi)
_ERF = np.vectorize(math.erf, otypes=[np.float64])


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def act_forward(name, alpha, x):
    """f(x) for an activation name; softmax / log_softmax per row."""
    if name == "linear":
        return x.copy()
    if name == "sigmoid":
        return _sigmoid(x)
    if name == "tanh":
        return np.tanh(x)
    if name == "relu":
        return np.maximum(x, 0.0)
    if name == "leaky_relu":
        return np.where(x > 0, x, alpha * x)
    if name == "elu":
        return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))
    if name == "selu":
        return _SELU_SCALE * np.where(x > 0, x, _SELU_ALPHA * np.expm1(np.minimum(x, 0.0)))
    if name == "gelu":
        return 0.5 * x * (1.0 + _ERF(x / math.sqrt(2.0)))
    if name == "gelu_tanh":
        return 0.5 * x * (1.0 + np.tanh(_GELU_C * (x + 0.044715 * x**3)))
    if name == "softplus":
        return np.logaddexp(0.0, x)
    if name == "softsign":
        return x / (1.0 + np.abs(x))
    if name in ("silu", "swish"):
        return x * _sigmoid(x)
    if name == "hard_sigmoid":
        return np.clip(x + 3.0, 0.0, 6.0) / 6.0
    if name == "softmax":
        e = np.exp(x - x.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    if name == "log_softmax":
        z = x - x.max(axis=1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    raise ValueError(name)


def act_backward(name, alpha, x, dy):
    """dL/dx given dL/dy, from the analytic derivative (Jacobian-vector product for softmax)."""
    if name == "linear":
        return dy.copy()
    if name == "sigmoid":
        s = _sigmoid(x)
        return dy * s * (1 - s)
    if name == "tanh":
        return dy * (1 - np.tanh(x) ** 2)
    if name == "relu":
        return dy * (x > 0)
    if name == "leaky_relu":
        return dy * np.where(x > 0, 1.0, alpha)
    if name == "elu":
        return dy * np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0)))
    if name == "selu":
        return dy * _SELU_SCALE * np.where(x > 0, 1.0, _SELU_ALPHA * np.exp(np.minimum(x, 0.0)))
    if name == "gelu":
        return dy * (0.5 * (1 + _ERF(x / math.sqrt(2.0)))
                     + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi))
    if name == "gelu_tanh":
        t = np.tanh(_GELU_C * (x + 0.044715 * x**3))
        return dy * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _GELU_C * (1 + 3 * 0.044715 * x * x))
    if name == "softplus":
        return dy * _sigmoid(x)
    if name == "softsign":
        return dy / (1 + np.abs(x)) ** 2
    if name in ("silu", "swish"):
        s = _sigmoid(x)
        return dy * (s + x * s * (1 - s))
    if name == "hard_sigmoid":
        return dy * ((x > -3) & (x < 3)) / 6.0
    if name == "softmax":
        y = act_forward("softmax", alpha, x)
        return y * (dy - (dy * y).sum(axis=1, keepdims=True))
    if name == "log_softmax":
        y = act_forward("softmax", alpha, x)
        return dy - y * dy.sum(axis=1, keepdims=True)
    raise ValueError(name)


EPS = 1e-7


def loss_and_grad(loss, pred, y, sw):
    """Per-sample losses l (m,) and dl_i/dpred (m, n), Keras 3 definitions.

    Probability inputs are clipped to [1e-7, 1 - 1e-7] like Keras (gradient 0 where clipped);
    `y` holds int labels for sparse_categorical_crossentropy.
    """
    name, logits, delta = loss["name"], loss["from_logits"], loss["delta"]
    m, n = pred.shape
    if name == "sparse_categorical_crossentropy":
        onehot = np.zeros((m, n))
        onehot[np.arange(m), y] = 1.0
        y = onehot
        name = "categorical_crossentropy"
    if name == "mean_squared_error":
        d = pred - y
        return (d * d).mean(axis=1), 2 * d / n
    if name == "mean_absolute_error":
        d = pred - y
        return np.abs(d).mean(axis=1), np.sign(d) / n
    if name == "huber":
        d = pred - y
        a = np.abs(d)
        small = a <= delta
        l = np.where(small, 0.5 * d * d, delta * a - 0.5 * delta * delta)
        return l.mean(axis=1), np.where(small, d, delta * np.sign(d)) / n
    if name == "binary_crossentropy":
        if logits:
            l = np.maximum(pred, 0) - pred * y + np.log1p(np.exp(-np.abs(pred)))
            return l.mean(axis=1), (_sigmoid(pred) - y) / n
        p = np.clip(pred, EPS, 1 - EPS)
        l = -(y * np.log(p) + (1 - y) * np.log(1 - p))
        g = (-(y / p) + (1 - y) / (1 - p)) * ((pred > EPS) & (pred < 1 - EPS))
        return l.mean(axis=1), g / n
    if name == "categorical_crossentropy":
        if logits:
            lsm = act_forward("log_softmax", 0, pred)
            l = -(y * lsm).sum(axis=1)
            return l, np.exp(lsm) * y.sum(axis=1, keepdims=True) - y
        s = pred.sum(axis=1, keepdims=True)
        q = pred / s
        qc = np.clip(q, EPS, 1 - EPS)
        l = -(y * np.log(qc)).sum(axis=1)
        dq = -(y / qc) * ((q > EPS) & (q < 1 - EPS))
        # through the normalisation q = p / sum(p)
        g = dq / s - (dq * pred).sum(axis=1, keepdims=True) / s**2
        return l, g
    raise ValueError(name)


def metric_values(metric, pred, y):
    """Per-sample metric values (m,)."""
    name = metric["name"]
    if name == "binary_accuracy":
        return ((pred > metric["threshold"]) == (y > 0.5)).mean(axis=1)
    if name == "categorical_accuracy":
        return (pred.argmax(axis=1) == y.argmax(axis=1)).astype(float)
    if name == "sparse_categorical_accuracy":
        return (pred.argmax(axis=1) == y).astype(float)
    if name in ("top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy"):
        lab = y if name.startswith("sparse") else y.argmax(axis=1)
        target = pred[np.arange(len(lab)), lab]
        rank = (pred > target[:, None]).sum(axis=1)
        return (rank < metric["k"]).astype(float)
    if name == "mean_squared_error":
        return ((pred - y) ** 2).mean(axis=1)
    if name == "mean_absolute_error":
        return np.abs(pred - y).mean(axis=1)
    raise ValueError(name)


class RefNetwork:
    """float64 copy of a spec's network; `step` mirrors Network.train_step."""

    def __init__(self, spec):
        self.spec = spec
        self.layers = []
        for layer in spec["layers"]:
            r = dict(layer)
            if layer["type"] == "dense":
                r["kernel"] = np.array(layer["kernel"], dtype=np.float64)
                r["bias"] = None if layer["bias"] is None else np.array(layer["bias"], np.float64)
                r["kernel_slots"] = [np.array(s, np.float64) for s in layer["kernel_slots"]]
                r["bias_slots"] = [np.array(s, np.float64) for s in layer["bias_slots"]]
            self.layers.append(r)
        self.state = float(spec["optimizer_state"][0])

    def params(self):
        """[(w, slots, l1, l2)] in the order kernel0, bias0, kernel1, ..."""
        out = []
        for r in self.layers:
            if r["type"] == "dense":
                out.append((r["kernel"], r["kernel_slots"], r["kernel_l1"], r["kernel_l2"]))
                if r["bias"] is not None:
                    out.append((r["bias"], r["bias_slots"], r["bias_l1"], r["bias_l2"]))
        return out

    def forward(self, x, masks=None):
        """Returns the output and the per-layer cache; masks: {layer index: keep bool (m, w)}."""
        cache = []
        h = np.asarray(x, np.float64)
        for i, r in enumerate(self.layers):
            if r["type"] == "dense":
                z = h @ r["kernel"] + (0 if r["bias"] is None else r["bias"])
                y = act_forward(r["activation"], r["alpha"], z)
                cache.append((h, z))
                h = y
            elif r["type"] == "dropout":
                keep = None if masks is None or r["rate"] == 0 else masks[i]
                cache.append((h, keep))
                if keep is not None:
                    h = np.where(keep, h / (1 - r["rate"]), 0.0)
            else:
                cache.append((h, h))
                h = act_forward(r["activation"], r["alpha"], h)
        return h, cache

    def loss_grads(self, x, y, sw=None, masks=None):
        """(loss as train_step defines it, [grads incl. penalties], output, per-sample loss)."""
        out, cache = self.forward(x, masks)
        m = out.shape[0]
        w = np.ones(m) if sw is None else np.asarray(sw, np.float64)
        l, g = loss_and_grad(self.spec["loss"], out, y, w)
        loss = float((w * l).sum() / m)
        dh = g * w[:, None] / m
        grads = []
        for r, (h_in, z) in zip(reversed(self.layers), reversed(cache)):
            if r["type"] == "dense":
                dz = act_backward(r["activation"], r["alpha"], z, dh)
                gb = [dz.sum(axis=0)] if r["bias"] is not None else []
                grads = [h_in.T @ dz] + gb + grads
                dh = dz @ r["kernel"].T
            elif r["type"] == "dropout":
                if z is not None:
                    dh = np.where(z, dh / (1 - r["rate"]), 0.0)
            else:
                dh = act_backward(r["activation"], r["alpha"], h_in, dh)
        for k, (p, _, l1, l2) in enumerate(self.params()):
            loss += l1 * np.abs(p).sum() + l2 * (p * p).sum()
            grads[k] = grads[k] + l1 * np.sign(p) + 2 * l2 * p
        return loss, grads, out, w * l

    def results(self, x, y, sw=None, masks=None):
        """(loss, weight_sum, metric sums...) like train_step / evaluate return."""
        loss, _, out, _ = self.loss_grads(x, y, sw, masks)
        w = np.ones(len(out)) if sw is None else np.asarray(sw, np.float64)
        ms = [float((w * metric_values(mt, out, y)).sum()) for mt in self.spec["metrics"]]
        return (loss, float(w.sum()), *ms)

    def step(self, x, y, sw, lr, t, masks=None):
        """One optimizer step in place with tests/ref_optim.py's Keras 3 rules (every
        optimizer); returns the results of the forward pass before the update."""
        import ref_optim

        res = self.results(x, y, sw, masks)
        # gradients without the penalties: ref_optim adds them (before global_clipnorm)
        _, grads, _, _ = self.loss_grads(x, y, sw, masks)
        o = dict(self.spec["optimizer"])
        name = o["name"]
        params = self.params()
        raw = [g - l1 * np.sign(p) - 2 * l2 * p for (p, _, l1, l2), g in zip(params, grads)]
        scale = 1.0
        if o["global_clipnorm"] > 0:
            scale = ref_optim.global_clipnorm_scale(grads, o["global_clipnorm"])
        hyper = {k: o[k] for k in ref_optim.DEFAULTS[name]}
        u_before = self.state
        for (p, slots, l1, l2), g in zip(params, raw):
            w, new_slots, u_after = ref_optim.step(
                name, p, g, slots, learning_rate=lr, iteration=t, grad_scale=scale, l1=l1,
                l2=l2, clipnorm=o["clipnorm"] or None, clipvalue=o["clipvalue"] or None,
                weight_decay=o["weight_decay"], u_product=u_before, **hyper)
            p[...] = w
            for s_old, s_new in zip(slots, new_slots):
                s_old[...] = s_new
            if u_after is not None:
                self.state = u_after
        return res


OPTIMIZER_DEFAULTS = dict(name="adam", momentum=0.0, nesterov=False, rho=0.9, centered=False,
                          beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                          weight_decay=0.0, clipnorm=0.0, clipvalue=0.0, global_clipnorm=0.0)


def num_slots(opt):
    name = opt["name"]
    if name == "sgd":
        return 1 if opt["momentum"] != 0 else 0
    if name == "rmsprop":
        return 1 + (opt["momentum"] != 0) + bool(opt["centered"])
    if name in ("adam", "adamw"):
        return 2 + bool(opt["amsgrad"])
    return 1 if name == "adagrad" else 2


def make_spec(input_dim, layers, *, dtype="float64", loss=None, optimizer=None, metrics=(),
              seed=0, rng=None, scale=0.5):
    """A Network spec with random parameters.

    layers: ("dense", units, activation[, alpha][, dict(kernel_l2=...)]) / ("dropout", rate)
    / ("activation", name[, alpha]) / ("dense_nobias", units, activation).
    """
    rng = np.random.default_rng(0) if rng is None else rng
    opt = dict(OPTIMIZER_DEFAULTS, **(optimizer or {}))
    ns = num_slots(opt)
    fill = 0.1 if opt["name"] == "adagrad" else 0.0  # Keras' initial_accumulator_value
    out = []
    width = input_dim
    for desc in layers:
        kind = desc[0]
        if kind in ("dense", "dense_nobias"):
            units, act = desc[1], desc[2]
            alpha = next((d for d in desc[3:] if isinstance(d, float)), 0.2)
            regs = next((d for d in desc[3:] if isinstance(d, dict)), {})
            kernel = (rng.standard_normal((width, units)) * scale / math.sqrt(width) * 2)
            kernel = kernel.astype(dtype)
            bias = None if kind == "dense_nobias" else (rng.standard_normal(units) * 0.1).astype(dtype)
            out.append(dict(type="dense", units=units, activation=act, alpha=alpha,
                            kernel=kernel, bias=bias,
                            kernel_l1=regs.get("kernel_l1", 0.0),
                            kernel_l2=regs.get("kernel_l2", 0.0),
                            bias_l1=regs.get("bias_l1", 0.0), bias_l2=regs.get("bias_l2", 0.0),
                            kernel_slots=[np.full_like(kernel, fill) for _ in range(ns)],
                            bias_slots=[] if bias is None else [np.full_like(bias, fill)
                                                                for _ in range(ns)]))
            width = units
        elif kind == "dropout":
            out.append(dict(type="dropout", rate=desc[1]))
        else:
            out.append(dict(type="activation", activation=desc[1],
                            alpha=desc[2] if len(desc) > 2 else 0.2))
    return dict(dtype=dtype, input_dim=input_dim, layers=out,
                loss=dict(dict(name="mean_squared_error", from_logits=False, delta=1.0),
                          **(loss or {})),
                optimizer=opt, optimizer_state=np.ones(1), seed=seed,
                metrics=[dict(dict(threshold=0.5, k=5), **mt) for mt in metrics])


def param_arrays(spec):
    """The live parameter arrays of a spec in Network order (kernel0, bias0, kernel1, ...)."""
    out = []
    for r in spec["layers"]:
        if r["type"] == "dense":
            out.append(r["kernel"])
            if r["bias"] is not None:
                out.append(r["bias"])
    return out
