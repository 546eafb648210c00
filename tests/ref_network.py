"""Independent float64 numpy reference of a whole dense network step (the oracle of
tests/test_network.py): forward, loss, backward, L1/L2 penalties and the optimizer update,
built from tests/ref_ops.py (activations, losses, metrics, the dropout generator) and
tests/ref_optim.py (the Keras 3 update rules); it shares no code with lamina.

A network here is the same `spec` dict lamina._core.Network takes; `make_spec` builds one with
random parameters, and `RefNetwork` copies its arrays to float64 and runs the maths. Frozen
parameters (trainable False) get a zero gradient, no penalty (Keras 3 counts the regularizers of
trainable weights only) and no update.
"""

from __future__ import annotations

import math

import numpy as np

import ref_layers
import ref_ops
import ref_optim

ACTIVATIONS = list(ref_ops.ACTIVATIONS)


def act_forward(name, alpha, x):
    """f(x) for an activation name (ref_ops); softmax / log_softmax per row."""
    return ref_ops.activation(x, name, alpha)


def act_backward(name, alpha, x, dy):
    """dL/dx given dL/dy, from the analytic derivative at x (ref_ops)."""
    return ref_ops.activation_grad(x, dy, name, alpha)


def dropout_masks(spec, m, step):
    """Keep masks {layer index: bool (m, width)} of every dropout layer for a batch of m rows at
    `step`, from ref_ops' independent SplitMix64 model of lamina's generator."""
    masks, width = {}, spec["input_dim"]
    for i, layer in enumerate(spec["layers"]):
        if layer["type"] == "dense":
            width = layer["units"]
        elif layer["type"] == "dropout" and layer["rate"] > 0:
            keep = ref_ops.dropout_keep(m * width, layer["rate"], spec["seed"], step, i)
            masks[i] = keep.reshape(m, width)
    return masks


class RefNetwork:
    """float64 copy of a spec's network; `step` mirrors Network.train_step."""

    def __init__(self, spec):
        self.spec = spec
        self.layers = []
        for layer in spec["layers"]:
            r = dict(layer)
            if "params" in layer:
                r["params"] = [dict(p, value=np.array(p["value"], np.float64),
                                    slots=[np.array(q, np.float64) for q in p["slots"]])
                               for p in layer["params"]]
            if layer["type"] == "dense":
                r["kernel"] = r["params"][0]["value"]
                r["bias"] = r["params"][1]["value"] if len(r["params"]) > 1 else None
            elif layer["type"] in ("batch_normalization", "layer_normalization"):
                named = {p["name"]: p["value"] for p in r["params"]}
                r["gamma"], r["beta"] = named.get("gamma"), named.get("beta")
                r["state"] = [np.array(st["value"], np.float64) for st in layer.get("state", ())]
            self.layers.append(r)
        self.state = float(spec["optimizer_state"][0])

    def entries(self):
        """Every parameter entry (dict with value, slots, l1, l2, trainable) in Network order."""
        return [p for r in self.layers for p in r.get("params", ())]

    def params(self):
        """[(w, slots, l1, l2)] in the order kernel0, bias0, kernel1, ... (frozen included)."""
        return [(p["value"], p["slots"], p["l1"], p["l2"]) for p in self.entries()]

    def forward(self, x, masks=None, training=False):
        """Returns the output and the per-layer cache; masks: {layer index: keep bool (m, w)};
        training: batch statistics in BatchNormalization layers whose "training" is set."""
        cache = []
        self.activity = 0.0  # ActivityRegularization sums of this forward (ref_layers)
        h = np.asarray(x, np.float64)
        for i, r in enumerate(self.layers):
            if r["type"] in ref_layers.KINDS:
                y, c, act = ref_layers.forward(r, h, None if masks is None else masks.get(i))
                self.activity += act
                cache.append((h, c))
                h = y
            elif r["type"] == "dense":
                z = h @ r["kernel"] + (0 if r["bias"] is None else r["bias"])
                y = act_forward(r["activation"], r["alpha"], z)
                cache.append((h, z))
                h = y
            elif r["type"] == "dropout":
                keep = None if masks is None or r["rate"] == 0 else masks[i]
                cache.append((h, keep))
                if keep is not None:
                    h = np.where(keep, h / (1 - r["rate"]), 0.0)
            elif r["type"] == "batch_normalization":
                batch = training and r["training"]
                mean = h.mean(axis=0) if batch else r["state"][0]
                var = ((h - h.mean(axis=0)) ** 2).mean(axis=0) if batch else r["state"][1]
                inv = 1.0 / np.sqrt(var + r["epsilon"])
                xhat = (h - mean) * inv
                cache.append((h, dict(batch=batch, mean=mean, var=var, inv=inv, xhat=xhat)))
                h = xhat * (1.0 if r["gamma"] is None else r["gamma"]) + (
                    0.0 if r["beta"] is None else r["beta"])
            elif r["type"] == "layer_normalization":
                mean = h.mean(axis=1, keepdims=True)
                var = ((h - mean) ** 2).mean(axis=1, keepdims=True)
                inv = 1.0 / np.sqrt(var + r["epsilon"])
                xhat = (h - mean) * inv
                cache.append((h, dict(inv=inv, xhat=xhat)))
                h = xhat * (1.0 if r["gamma"] is None else r["gamma"]) + (
                    0.0 if r["beta"] is None else r["beta"])
            else:
                cache.append((h, h))
                h = act_forward(r["activation"], r["alpha"], h)
        return h, cache

    def loss_grads(self, x, y, sw=None, masks=None, training=False):
        """(loss as train_step defines it, [grads incl. penalties], output, masks used)."""
        out, cache = self.forward(x, masks, training)
        m = out.shape[0]
        L = self.spec["loss"]
        lsum, dh = ref_ops.loss(y, out, L["name"], L["from_logits"], L["delta"], sw,
                                scale=1.0 / m)
        loss = (lsum + self.activity) / m
        grads = []
        for r, (h_in, z) in zip(reversed(self.layers), reversed(cache)):
            if r["type"] in ref_layers.KINDS:
                dh, pg = ref_layers.backward(r, h_in, z, dh)
                grads = pg + grads
            elif r["type"] == "dense":
                dz = act_backward(r["activation"], r["alpha"], z, dh)
                gb = [dz.sum(axis=0)] if r["bias"] is not None else []
                grads = [h_in.T @ dz] + gb + grads
                dh = dz @ r["kernel"].T
            elif r["type"] == "dropout":
                if z is not None:
                    dh = np.where(z, dh / (1 - r["rate"]), 0.0)
            elif r["type"] in ("batch_normalization", "layer_normalization"):
                xhat, inv = z["xhat"], z["inv"]
                g = [] if r["gamma"] is None else [(dh * xhat).sum(axis=0)]
                b = [] if r["beta"] is None else [dh.sum(axis=0)]
                grads = g + b + grads
                d = dh * (1.0 if r["gamma"] is None else r["gamma"])
                if r["type"] == "layer_normalization":
                    dh = inv * (d - d.mean(axis=1, keepdims=True)
                                - xhat * (d * xhat).mean(axis=1, keepdims=True))
                elif z["batch"]:
                    dh = inv * (d - d.mean(axis=0) - xhat * (d * xhat).mean(axis=0))
                else:
                    dh = d * inv
            else:
                dh = act_backward(r["activation"], r["alpha"], h_in, dh)
        for k, e in enumerate(self.entries()):
            p, l1, l2 = e["value"], e["l1"], e["l2"]
            if not e["trainable"]:
                grads[k] = np.zeros_like(p)
                continue
            loss += l1 * np.abs(p).sum() + l2 * (p * p).sum()
            grads[k] = grads[k] + l1 * np.sign(p) + 2 * l2 * p
        return loss, grads, out, masks

    def results(self, x, y, sw=None, masks=None, training=False):
        """(loss, weight_sum, metric sums...) like train_step / evaluate return."""
        loss, _, out, _ = self.loss_grads(x, y, sw, masks, training)
        w = np.ones(len(out)) if sw is None else np.asarray(sw, np.float64)
        ms = [ref_ops.metric(y, out, mt["name"], mt["threshold"], mt["k"], sw)
              for mt in self.spec["metrics"]]
        return (loss, float(w.sum()), *ms)

    def step(self, x, y, sw, lr, t, masks=None):
        """One optimizer step in place with tests/ref_optim.py's Keras 3 rules (every
        optimizer); returns the results of the forward pass before the update."""
        res = self.results(x, y, sw, masks, training=True)
        # gradients without the penalties: ref_optim adds them (before global_clipnorm)
        _, grads, _, _ = self.loss_grads(x, y, sw, masks, training=True)
        # BatchNormalization's moving statistics, as Keras updates them in training
        _, cache = self.forward(x, masks, training=True)
        for r, (_, c) in zip(self.layers, cache):
            if r["type"] == "batch_normalization" and c["batch"]:
                mom = r["momentum"]
                r["state"][0][...] = r["state"][0] * mom + c["mean"] * (1 - mom)
                r["state"][1][...] = r["state"][1] * mom + c["var"] * (1 - mom)
        o = dict(self.spec["optimizer"])
        name = o["name"]
        entries = self.entries()
        live = [k for k, e in enumerate(entries) if e["trainable"]]
        raw = [grads[k] - entries[k]["l1"] * np.sign(entries[k]["value"])
               - 2 * entries[k]["l2"] * entries[k]["value"] for k in live]
        scale = 1.0
        if o["global_clipnorm"] > 0:
            scale = ref_optim.global_clipnorm_scale([grads[k] for k in live],
                                                    o["global_clipnorm"])
        hyper = {k: o[k] for k in ref_optim.DEFAULTS[name]}
        u_before = self.state
        for k, g in zip(live, raw):
            e = entries[k]
            p, slots, l1, l2 = e["value"], e["slots"], e["l1"], e["l2"]
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


def make_spec(input_dim, layers, *, dtype="float64", loss=None, optimizer=None, metrics=(),
              seed=0, rng=None, scale=0.5):
    """A Network spec with random parameters.

    layers: ("dense", units, activation[, alpha][, dict(kernel_l2=...)]) / ("dropout", rate)
    / ("activation", name[, alpha]) / ("dense_nobias", units, activation) / ("batch_norm"[,
    dict(momentum, epsilon, scale, center, training, trainable, gamma_l2, ...)]) /
    ("layer_norm"[, dict(epsilon, scale, center, trainable, ...)]): random gamma, beta and
    moving statistics. The dict may also
    hold trainable / kernel_trainable / bias_trainable (False: frozen) and frozen_slots (True:
    frozen parameters still get slot arrays; by default they get none).
    """
    rng = np.random.default_rng(0) if rng is None else rng
    opt = dict(OPTIMIZER_DEFAULTS, **(optimizer or {}))
    ns = ref_optim.num_slots(opt["name"], momentum=opt["momentum"], centered=opt["centered"],
                             amsgrad=opt["amsgrad"])
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
            bias = None
            if kind != "dense_nobias":
                bias = (rng.standard_normal(units) * 0.1).astype(dtype)
            def param(name, value):
                trainable = regs.get(name + "_trainable", regs.get("trainable", True))
                with_slots = trainable or regs.get("frozen_slots", False)
                return dict(name=name, value=value, trainable=trainable,
                            l1=regs.get(name + "_l1", 0.0), l2=regs.get(name + "_l2", 0.0),
                            slots=[np.full_like(value, fill) for _ in range(ns)]
                            if with_slots else [])

            params = [param("kernel", kernel)] + ([] if bias is None else [param("bias", bias)])
            out.append(dict(type="dense", units=units, activation=act, alpha=alpha,
                            params=params, state=[]))
            width = units
        elif kind == "dropout":
            out.append(dict(type="dropout", rate=desc[1]))
        elif kind in ("batch_norm", "layer_norm"):
            opts = desc[1] if len(desc) > 1 else {}
            entry = dict(type="batch_normalization" if kind == "batch_norm"
                         else "layer_normalization",
                         epsilon=opts.get("epsilon", 1e-3), scale=opts.get("scale", True),
                         center=opts.get("center", True), params=[])
            for name, on, value in (
                    ("gamma", entry["scale"], 1 + 0.3 * rng.standard_normal(width)),
                    ("beta", entry["center"], 0.2 * rng.standard_normal(width))):
                if not on:
                    continue
                trainable = opts.get(name + "_trainable", opts.get("trainable", True))
                value = value.astype(dtype)
                entry["params"].append(dict(
                    name=name, value=value, trainable=trainable, l1=opts.get(name + "_l1", 0.0),
                    l2=opts.get(name + "_l2", 0.0),
                    slots=[np.full_like(value, fill) for _ in range(ns)] if trainable else []))
            if kind == "batch_norm":
                entry.update(momentum=opts.get("momentum", 0.99),
                             training=opts.get("training", True))
                entry["state"] = [
                    dict(name="moving_mean", value=(0.1 * rng.standard_normal(width))
                         .astype(dtype)),
                    dict(name="moving_variance", value=rng.uniform(0.5, 2.0, width)
                         .astype(dtype))]
            out.append(entry)
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
    return [p["value"] for r in spec["layers"] for p in r.get("params", ())]


def param_entries(spec):
    """The spec's parameter entries (dicts) in Network order."""
    return [p for r in spec["layers"] for p in r.get("params", ())]


def state_arrays(spec):
    """The live state arrays of a spec in order (BatchNormalization's moving statistics)."""
    return [st["value"] for r in spec["layers"] for st in r.get("state", ())]
