"""Independent float64 numpy references of the optimizer update rules (Keras 3 semantics).

Written from the published rules as Keras 3 states them (keras/src/optimizers/*.py
`update_step`, and base_optimizer.py `apply`: clip, then weight decay, then the update), not
from lamina. Every function is pure: it takes float64 copies and returns new arrays, so the
step-executor tests can reuse them:

    w, slots, state = step("adam", w, g, slots, learning_rate=1e-3, iteration=t)

Order of one step (penalty and grad_scale are part of the gradient Keras clips):
    g' = (g + l1*sign(w) + 2*l2*w) * grad_scale
    g' = g' * clipnorm / max(||g'||, clipnorm)          if clipnorm
    g' = clip(g', -clipvalue, clipvalue)                if clipvalue
    w  = w - w * weight_decay * lr                      if weight_decay
    w, slots = rule(w, g', slots)
"""

from __future__ import annotations

import numpy as np

DEFAULTS = {
    "sgd": {"momentum": 0.0, "nesterov": False},
    "rmsprop": {"rho": 0.9, "momentum": 0.0, "epsilon": 1e-7, "centered": False},
    "adam": {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False},
    "adamw": {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False},
    "adagrad": {"epsilon": 1e-7},
    "adamax": {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
    "nadam": {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
    "adadelta": {"rho": 0.95, "epsilon": 1e-7},
    "lion": {"beta_1": 0.9, "beta_2": 0.99},
}
WEIGHT_DECAY = {"adamw": 0.004}


def num_slots(name, momentum=0.0, centered=False, amsgrad=False, **_):
    """How many slot arrays the rule keeps (same order as the functions below)."""
    return {
        "sgd": 1 if momentum != 0 else 0,
        "rmsprop": 1 + (momentum > 0) + bool(centered),
        "adam": 3 if amsgrad else 2,
        "adamw": 3 if amsgrad else 2,
        "adagrad": 1,
        "adamax": 2,
        "nadam": 2,
        "adadelta": 2,
        "lion": 1,
    }[name]


def init_slots(name, w, initial_accumulator_value=0.1, **hp):
    """Keras' initial slots: zeros, except Adagrad's accumulator."""
    fill = initial_accumulator_value if name == "adagrad" else 0.0
    return [np.full(np.shape(w), fill, np.float64) for _ in range(num_slots(name, **hp))]


def penalised_gradient(g, w, l1=0.0, l2=0.0):
    """d/dw of loss + l1*sum|w| + l2*sum w^2."""
    return np.asarray(g, np.float64) + l1 * np.sign(w) + 2.0 * l2 * np.asarray(w, np.float64)


def transform_gradient(g, w, *, grad_scale=1.0, l1=0.0, l2=0.0, clipnorm=None, clipvalue=None):
    """Penalty, global scale, then Keras' clipnorm and clipvalue."""
    x = penalised_gradient(g, w, l1, l2) * grad_scale
    if clipnorm:
        norm = np.sqrt(np.sum(x * x))
        x = x * clipnorm / max(norm, clipnorm)
    if clipvalue:
        x = np.clip(x, -clipvalue, clipvalue)
    return x


def global_clipnorm_scale(grads, clipnorm):
    """Keras clip_by_global_norm factor over a list of (penalised) gradients."""
    norm = np.sqrt(sum(float(np.sum(np.asarray(g, np.float64) ** 2)) for g in grads))
    return clipnorm / max(norm, clipnorm)


def sgd(w, g, slots, lr, t, momentum=0.0, nesterov=False):
    """SGD: velocity m <- momentum*m - lr*g; w <- w + m (nesterov: w + momentum*m - lr*g)."""
    if momentum == 0:
        return w - lr * g, []
    (m,) = slots
    m = momentum * m - lr * g
    step = momentum * m - lr * g if nesterov else m
    return w + step, [m]


def rmsprop(w, g, slots, lr, t, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False):
    """RMSprop (Hinton): mean square v, optional mean gradient a, optional momentum."""
    slots = list(slots)
    v = slots.pop(0)
    mom = slots.pop(0) if momentum > 0 else None
    a = slots.pop(0) if centered else None
    v = rho * v + (1 - rho) * g**2
    if centered:
        a = rho * a + (1 - rho) * g
        denom = np.sqrt(v - a**2 + epsilon)
    else:
        denom = np.sqrt(v + epsilon)
    inc = lr * g / denom
    out = [v]
    if momentum > 0:
        mom = momentum * mom + inc
        w = w - mom
        out.append(mom)
    else:
        w = w - inc
    if centered:
        out.append(a)
    return w, out


def adam(w, g, slots, lr, t, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False):
    """Adam (Kingma & Ba, Alg. 1) in Keras' form: eps is added to sqrt(v) before the
    bias correction of the step size, lr_t = lr*sqrt(1-b2^t)/(1-b1^t)."""
    m, v = slots[0], slots[1]
    m = beta_1 * m + (1 - beta_1) * g
    v = beta_2 * v + (1 - beta_2) * g * g
    out = [m, v]
    v_used = v
    if amsgrad:
        v_used = np.maximum(slots[2], v)
        out.append(v_used)
    lr_t = lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
    return w - lr_t * m / (np.sqrt(v_used) + epsilon), out


def adagrad(w, g, slots, lr, t, epsilon=1e-7):
    """Adagrad (Duchi et al.): accumulate g^2, step lr*g/sqrt(acc + eps)."""
    acc = slots[0] + g * g
    return w - lr * g / np.sqrt(acc + epsilon), [acc]


def adamax(w, g, slots, lr, t, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    """Adamax (Kingma & Ba, Alg. 2): infinity-norm second moment u = max(b2*u, |g|)."""
    m, u = slots
    m = beta_1 * m + (1 - beta_1) * g
    u = np.maximum(beta_2 * u, np.abs(g))
    return w - (lr / (1 - beta_1**t)) * m / (u + epsilon), [m, u]


def nadam_schedule(beta_1, t):
    """Dozat's momentum schedule mu_t = beta_1 * (1 - 0.5 * 0.96^t)."""
    return beta_1 * (1.0 - 0.5 * 0.96**t)


def nadam(w, g, slots, lr, t, beta_1=0.9, beta_2=0.999, epsilon=1e-7, u_product=None):
    """Nadam (Dozat 2016) as in Keras: u_product is prod_{i<=t} mu_i (computed here from
    scratch when None). Returns (w, slots, u_product)."""
    if u_product is None:
        u_product = float(np.prod([nadam_schedule(beta_1, i) for i in range(1, t + 1)]))
    mu_t = nadam_schedule(beta_1, t)
    mu_next = nadam_schedule(beta_1, t + 1)
    m, v = slots
    m = beta_1 * m + (1 - beta_1) * g
    v = beta_2 * v + (1 - beta_2) * g * g
    m_hat = mu_next * m / (1 - u_product * mu_next) + (1 - mu_t) * g / (1 - u_product)
    v_hat = v / (1 - beta_2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + epsilon), [m, v], u_product


def adadelta(w, g, slots, lr, t, rho=0.95, epsilon=1e-7):
    """Adadelta (Zeiler 2012, Alg. 1) with Keras's learning rate on the step."""
    acc_g, acc_d = slots
    acc_g = rho * acc_g + (1 - rho) * g * g
    d = -np.sqrt(acc_d + epsilon) / np.sqrt(acc_g + epsilon) * g
    acc_d = rho * acc_d + (1 - rho) * d * d
    return w + lr * d, [acc_g, acc_d]


def lion(w, g, slots, lr, t, beta_1=0.9, beta_2=0.99):
    """Lion (Chen et al. 2023, Alg. 2 without weight decay)."""
    (m,) = slots
    c = beta_1 * m + (1 - beta_1) * g
    return w - lr * np.sign(c), [beta_2 * m + (1 - beta_2) * g]


RULES = {"sgd": sgd, "rmsprop": rmsprop, "adam": adam, "adamw": adam, "adagrad": adagrad,
         "adamax": adamax, "nadam": nadam, "adadelta": adadelta, "lion": lion}


def step(name, w, g, slots, *, learning_rate, iteration, grad_scale=1.0, l1=0.0, l2=0.0,
         clipnorm=None, clipvalue=None, weight_decay=None, u_product=None, **hp):
    """One full Keras 3 step for one parameter, in float64.

    `u_product` (nadam): prod_{i<iteration} mu_i carried by the caller (1.0 before step 1),
    or None to compute it from scratch. Returns (w, slots, u_product after the step; None for
    the other optimizers).
    """
    w = np.asarray(w, np.float64)
    slots = [np.asarray(s, np.float64) for s in slots]
    if weight_decay is None:
        weight_decay = WEIGHT_DECAY.get(name)
    args = dict(DEFAULTS[name])
    args.update(hp)
    gp = transform_gradient(g, w, grad_scale=grad_scale, l1=l1, l2=l2, clipnorm=clipnorm,
                            clipvalue=clipvalue)
    if weight_decay:
        w = w - w * weight_decay * learning_rate
    if name == "nadam":
        after = None
        if u_product is not None:
            after = u_product * nadam_schedule(args["beta_1"], iteration)
        w, slots, after = nadam(w, gp, slots, learning_rate, iteration, u_product=after, **args)
        return w, slots, after
    w, slots = RULES[name](w, gp, slots, learning_rate, iteration, **args)
    return w, slots, None
