"""Fused optimizer updates against independent float64 references (tests/ref_optim.py)."""

import numpy as np
import pytest

import ref_optim as ref
from lamina import _core, ops

pytestmark = pytest.mark.kernel

STEPS = 6

# (optimizer, hyperparameters, step options): one line per case.
CASES = [
    ("sgd", {}, {}),
    ("sgd", {"momentum": 0.9}, {}),
    ("sgd", {"momentum": 0.8, "nesterov": True}, {}),
    ("rmsprop", {}, {}),
    ("rmsprop", {"rho": 0.7}, {}),
    ("rmsprop", {"momentum": 0.5}, {}),
    ("rmsprop", {"centered": True}, {}),
    ("rmsprop", {"centered": True, "momentum": 0.9, "epsilon": 1e-4}, {}),
    ("adam", {}, {}),
    ("adam", {"amsgrad": True}, {}),
    ("adam", {"beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-3}, {}),
    ("adamw", {}, {}),
    ("adamw", {"amsgrad": True, "weight_decay": 0.05}, {}),
    ("adagrad", {}, {}),
    ("adagrad", {"epsilon": 1e-3}, {}),
    ("adamax", {}, {}),
    ("adamax", {"beta_1": 0.8, "beta_2": 0.95}, {}),
    ("nadam", {}, {}),
    ("nadam", {"beta_1": 0.95, "beta_2": 0.9}, {}),
    ("adadelta", {}, {}),
    ("adadelta", {"rho": 0.5, "epsilon": 1e-3}, {}),
    ("lion", {}, {}),
    ("lion", {"beta_1": 0.5, "beta_2": 0.9}, {}),
    # options folded into the pass
    ("sgd", {}, {"l1": 0.01}),
    ("sgd", {"momentum": 0.9}, {"l2": 0.05}),
    ("adam", {}, {"l1": 0.003, "l2": 0.02}),
    ("adam", {}, {"clipnorm": "half"}),
    ("rmsprop", {"centered": True}, {"clipvalue": 0.3}),
    ("adam", {}, {"grad_scale": 0.37}),
    ("sgd", {"weight_decay": 0.1}, {}),
    ("adam", {"weight_decay": 0.02, "amsgrad": True}, {"l2": 0.01, "grad_scale": 1.7,
                                                        "clipnorm": "half"}),
    ("nadam", {"weight_decay": 0.01}, {"l1": 0.01, "clipvalue": 0.4}),
    ("adamax", {}, {"l2": 0.03, "clipnorm": "half"}),
    ("adagrad", {"weight_decay": 0.01}, {"l1": 0.02, "grad_scale": 0.5}),
    ("adadelta", {"weight_decay": 0.02}, {"l2": 0.03, "clipnorm": "half"}),
    ("lion", {"weight_decay": 0.1}, {"l1": 0.01, "clipvalue": 0.4, "grad_scale": 0.8}),
]


def _ids(case):
    name, hp, opts = case
    parts = [name] + [f"{k}={v}" for k, v in {**hp, **opts}.items()]
    return ",".join(parts)


def _data(n, dtype, seed):
    """Random, never-zero parameters and gradients for STEPS steps."""
    rng = np.random.default_rng(seed)
    sign = lambda shape: np.where(rng.random(shape) < 0.5, -1.0, 1.0)  # noqa: E731
    w = (sign(n) * rng.uniform(0.1, 1.0, n)).astype(dtype)
    gs = [(sign(n) * rng.uniform(0.05, 1.0, n)).astype(dtype) for _ in range(STEPS)]
    return w, gs


def _clipnorm(o, g, w):
    """Resolves clipnorm="half": a norm that binds, half the scaled penalised gradient's."""
    o = dict(o)
    if o.get("clipnorm") == "half":
        pg = ref.penalised_gradient(g, w, o.get("l1", 0.0), o.get("l2", 0.0))
        o["clipnorm"] = 0.5 * o.get("grad_scale", 1.0) * float(np.sqrt(np.sum(pg**2)))
    return o


def _run_float64(name, hp, opts, n):
    """STEPS chained float64 steps in lamina and in the reference, compared after each."""
    w, gs = _data(n, np.float64, 0)
    slots = ops.optimizer_slots(name, w, **hp)
    ref_w, ref_slots, ref_u = w.copy(), ref.init_slots(name, w, **hp), 1.0
    state = np.ones(1)
    for t in range(1, STEPS + 1):
        lr = 0.02 / t**0.5  # a schedule: the rate changes every step
        g = gs[t - 1]
        o = _clipnorm(opts, g, w)
        g_before = g.copy()
        ops.optimizer_update(name, w, g, slots, learning_rate=lr, iteration=t, state=state,
                             **o, **hp)
        assert np.array_equal(g, g_before), "g was modified"
        ref_w, ref_slots, ref_u = ref.step(name, ref_w, g, ref_slots, learning_rate=lr,
                                           iteration=t, u_product=ref_u, **o, **hp)
        if name == "nadam":
            assert state[0] == pytest.approx(ref_u, rel=1e-14)
        _compare(w, slots, ref_w, ref_slots, np.float64)


def _compare(w, slots, ref_w, ref_slots, dtype):
    rtol = 1e-12 if dtype == np.float64 else 1e-6
    assert len(slots) == len(ref_slots)
    for got, want, what in [(w, ref_w, "w")] + [
            (s, r, f"slots[{i}]") for i, (s, r) in enumerate(zip(slots, ref_slots))]:
        atol = rtol * float(np.max(np.abs(want)))
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=what)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n", [1, 7, 97])
@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_matches_reference(case, n, dtype, isa):
    name, hp, opts = case
    if dtype == np.float64:
        _run_float64(name, hp, opts, n)
        return
    # float32: each step from lamina's own previous state, against one float64 reference step.
    w, gs = _data(n, dtype, 1)
    slots = ops.optimizer_slots(name, w, **hp)
    state = np.ones(1)
    for t in range(1, STEPS + 1):
        lr = 0.02 / t**0.5
        o = _clipnorm(opts, gs[t - 1], w)
        ref_w, ref_slots, _ = ref.step(name, w, gs[t - 1], slots, learning_rate=lr,
                                       iteration=t, u_product=float(state[0]), **o, **hp)
        ops.optimizer_update(name, w, gs[t - 1], slots, learning_rate=lr, iteration=t,
                             state=state, **o, **hp)
        _compare(w, slots, ref_w, ref_slots, dtype)


def test_float32_several_steps_stay_close():
    # Six chained float32 steps against six chained float64 ones (drift stays at rounding).
    w, gs = _data(1001, np.float32, 3)
    slots = ops.optimizer_slots("adam", w, amsgrad=True)
    rw, rs = w.astype(np.float64), ref.init_slots("adam", w, amsgrad=True)
    for t in range(1, STEPS + 1):
        ops.optimizer_update("adam", w, gs[t - 1], slots, learning_rate=0.01, iteration=t,
                             amsgrad=True, l2=0.01)
        rw, rs, _ = ref.step("adam", rw, gs[t - 1], rs, learning_rate=0.01, iteration=t,
                             amsgrad=True, l2=0.01)
    _compare(w, slots, rw, rs, np.float32)


def test_large_buffer_once():
    n = 1_000_003
    rng = np.random.default_rng(7)
    w = rng.uniform(-1, 1, n).astype(np.float32)
    g = rng.uniform(-1, 1, n).astype(np.float32)
    slots = ops.optimizer_slots("adam", w)
    slots[0][:] = rng.uniform(-0.1, 0.1, n)
    slots[1][:] = rng.uniform(0.01, 0.1, n)
    want_w, want_s, _ = ref.step("adam", w, g, slots, learning_rate=1e-3, iteration=3,
                                 clipnorm=100.0, l2=1e-3)
    ops.optimizer_update("adam", w, g, slots, learning_rate=1e-3, iteration=3, clipnorm=100.0,
                         l2=1e-3)
    _compare(w, slots, want_w, want_s, np.float32)


@pytest.mark.parametrize("case", [
    ("adam", {"amsgrad": True}, {"clipnorm": 3.0, "l1": 1e-3}),
    ("sgd", {"momentum": 0.9, "nesterov": True}, {"clipvalue": 0.5}),
    ("rmsprop", {"centered": True, "momentum": 0.5}, {"l2": 1e-2}),
    ("nadam", {}, {"clipnorm": 10.0}),
    ("adamw", {}, {}),
    ("adagrad", {}, {"grad_scale": 0.3}),
    ("adamax", {}, {"clipnorm": 5.0}),
], ids=_ids)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_and_two_threads_bit_identical(case, dtype, threads, isa):
    name, hp, opts = case
    n = 300_007  # above the parallel threshold, not a multiple of the block alignment
    results = []
    for k in (1, 2):
        threads(k)
        w, gs = _data(n, dtype, 11)
        slots = ops.optimizer_slots(name, w, **hp)
        state = np.ones(1)
        for t in range(1, 4):
            ops.optimizer_update(name, w, gs[t - 1], slots, learning_rate=0.01, iteration=t,
                                 state=state, **opts, **hp)
        results.append([w] + slots + [state])
    for a, b in zip(*results):
        assert np.array_equal(a, b)


def test_every_isa_level_runs_adam(isa):
    # The same loops compiled per ISA: each level agrees with the reference.
    w, gs = _data(97, np.float32, 5)
    slots = ops.optimizer_slots("adam", w)
    ops.optimizer_update("adam", w, gs[0], slots, learning_rate=0.01, iteration=1)
    w2, _ = _data(97, np.float32, 5)
    want, _, _ = ref.step("adam", w2, gs[0], [np.zeros(97), np.zeros(97)], learning_rate=0.01,
                          iteration=1)
    np.testing.assert_allclose(w, want, rtol=1e-6)


def test_nadam_without_state_matches_carried_state():
    w1, gs = _data(31, np.float64, 2)
    w2 = w1.copy()
    s1, s2 = ops.optimizer_slots("nadam", w1), ops.optimizer_slots("nadam", w2)
    state = np.ones(1)
    for t in range(1, STEPS + 1):
        ops.optimizer_update("nadam", w1, gs[t - 1], s1, learning_rate=0.01, iteration=t,
                             state=state)
        ops.optimizer_update("nadam", w2, gs[t - 1], s2, learning_rate=0.01, iteration=t)
        assert state[0] == _core.nadam_u_product(0.9, t + 1)
    assert np.array_equal(w1, w2)
    assert _core.nadam_u_product(0.9, 1) == 1.0
    assert _core.nadam_u_product(0.9, 10**15) == 0.0  # underflows; returns at once
    assert 0 < _core.nadam_u_product(0.999999, 10**7) < 1e-4  # pow past 2^20 steps


def test_global_clipnorm_over_two_parameters():
    # The executor's flow: the norm over every parameter's penalised gradient, then grad_scale.
    rng = np.random.default_rng(4)
    ws = [rng.uniform(-1, 1, 13), rng.uniform(-1, 1, 7)]
    gs = [rng.uniform(-1, 1, 13), rng.uniform(-1, 1, 7)]
    l2 = 0.1
    sq = sum(ops.grad_sq_sum(g, w, l2=l2) for g, w in zip(gs, ws))
    scale = _core.global_clipnorm_scale(sq, 0.5)
    pg = [ref.penalised_gradient(g, w, l2=l2) for g, w in zip(gs, ws)]
    assert scale == pytest.approx(ref.global_clipnorm_scale(pg, 0.5), rel=1e-14)
    assert scale < 1
    for w, g in zip(ws, gs):
        want, _, _ = ref.step("sgd", w, g, [], learning_rate=0.1, iteration=1, l2=l2,
                              grad_scale=scale)
        ops.optimizer_update("sgd", w, g, [], learning_rate=0.1, iteration=1, l2=l2,
                             grad_scale=scale)
        np.testing.assert_allclose(w, want, rtol=1e-14)
    assert _core.global_clipnorm_scale(0.01, 0.5) == 1.0
    assert np.isnan(_core.global_clipnorm_scale(float("inf"), 0.5))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [0, 1, 7, 97, 16385, 300_007])
def test_reductions(n, dtype, threads, isa):
    rng = np.random.default_rng(n)
    g = rng.uniform(-1, 1, n).astype(dtype)
    w = rng.uniform(-1, 1, n).astype(dtype)
    g64, w64 = g.astype(np.float64), w.astype(np.float64)
    assert ops.grad_sq_sum(g) == pytest.approx(np.sum(g64**2), rel=1e-12, abs=1e-300)
    want = np.sum((g64 + 0.1 * np.sign(w64) + 2 * 0.2 * w64) ** 2)
    assert ops.grad_sq_sum(g, w, 0.1, 0.2) == pytest.approx(want, rel=1e-12, abs=1e-300)
    want = 0.1 * np.sum(np.abs(w64)) + 0.2 * np.sum(w64**2)
    assert ops.penalty(w, 0.1, 0.2) == pytest.approx(want, rel=1e-12, abs=1e-300)
    got = []
    for k in (1, 2):
        threads(k)
        got.append((ops.grad_sq_sum(g), ops.grad_sq_sum(g, w, 0.1, 0.2), ops.penalty(w, 0.1, 0.2)))
    assert got[0] == got[1]


def test_reductions_accept_any_shape():
    g = np.arange(12, dtype=np.float64).reshape(3, 4)
    assert ops.grad_sq_sum(g) == float(np.sum(g**2))
    assert ops.penalty(g, 0.0, 1.0) == float(np.sum(g**2))


def test_num_slots_and_slot_init():
    for name, hp, _ in CASES:
        assert ops.optimizer_num_slots(name, **hp) == ref.num_slots(name, **hp), (name, hp)
    acc = ops.optimizer_slots("adagrad", np.zeros(3, np.float32))
    assert acc[0].dtype == np.float32 and acc[0].tolist() == pytest.approx([0.1] * 3)
    assert ops.optimizer_num_slots("Adam") == 2  # Keras class names work too


def test_keras_defaults():
    # Adam, default everything: one step equals Keras' first step.
    w = np.array([1.0, -2.0]); g = np.array([0.5, -0.25])
    ops.optimizer_update("adam", w, g, ops.optimizer_slots("adam", w), iteration=1)
    np.testing.assert_allclose(w, [1.0 - 0.001 * 0.5 / (0.5 + 1e-7 / np.sqrt(0.001)),
                                   -2.0 + 0.001 * 0.25 / (0.25 + 1e-7 / np.sqrt(0.001))],
                               rtol=1e-12)
    # SGD default rate 0.01; AdamW default weight decay 0.004.
    w = np.array([1.0]); ops.optimizer_update("sgd", w, np.array([1.0]), [], iteration=1)
    assert w[0] == pytest.approx(0.99, rel=1e-15)
    w = np.array([1.0]); g = np.array([1.0])
    want, _, _ = ref.step("adamw", w, g, ref.init_slots("adamw", w), learning_rate=0.001,
                          iteration=1)
    ops.optimizer_update("adamw", w, g, ops.optimizer_slots("adamw", w), iteration=1)
    np.testing.assert_allclose(w, want, rtol=1e-14)
    assert want[0] != pytest.approx(1.0 - 0.001, rel=1e-9)  # decay applied on top of Adam


def test_empty_arrays():
    w = np.zeros(0, np.float32)
    ops.optimizer_update("adam", w, w.copy(), ops.optimizer_slots("adam", w), iteration=1,
                         clipnorm=1.0)
    state = np.ones(1)
    ops.optimizer_update("nadam", w, w.copy(), ops.optimizer_slots("nadam", w), iteration=1,
                         state=state)
    assert state[0] == pytest.approx(0.9 * (1 - 0.5 * 0.96))


def _adam_args(dtype=np.float32, n=5):
    w = np.ones(n, dtype)
    return w, np.full(n, 0.5, dtype), [np.zeros(n, dtype), np.zeros(n, dtype)]


@pytest.mark.parametrize("mutate, exc, match", [
    (lambda a: a.update(name="adamz"), ValueError, "unknown optimizer 'adamz'"),
    (lambda a: a.update(w=a["w"].astype(np.int32)), TypeError, "w must have dtype .*int32"),
    (lambda a: a.update(w=a["w"].astype(np.float16), g=a["g"].astype(np.float16)), TypeError,
     "float16"),
    (lambda a: a.update(g=a["g"].astype(np.float64)), TypeError, "g has dtype float64"),
    (lambda a: a.update(g=np.ones(6, np.float32)), ValueError, r"g has shape \(6,\)"),
    (lambda a: a.update(w=np.ones(10, np.float32)[::2]), ValueError, "w must be C-contiguous"),
    (lambda a: a.update(w=[1.0] * 5), TypeError, "w must be a numpy.ndarray, got list"),
    (lambda a: a["w"].setflags(write=False), ValueError, "w must be writeable"),
    (lambda a: a["slots"][1].setflags(write=False), ValueError, r"slots\[1\] must be writeable"),
    (lambda a: a.update(slots=a["slots"][:1]), ValueError, "needs 2 slot array"),
    (lambda a: a.update(slots=[a["slots"][0], a["slots"][0]]), ValueError,
     r"slots\[0\] and slots\[1\] share memory"),
    (lambda a: a.update(slots=[a["w"], a["slots"][1]]), ValueError, "w and slots.0. share"),
    (lambda a: a.update(slots=[a["slots"][0], np.zeros((5, 1), np.float32)]), ValueError,
     r"slots\[1\] has shape \(5, 1\)"),
    (lambda a: a.update(learning_rate=float("nan")), ValueError, "learning_rate must be finite"),
    (lambda a: a.update(iteration=0), ValueError, "iteration must be >= 1.*got 0"),
    (lambda a: a.update(grad_scale=float("inf")), ValueError, "grad_scale must be finite"),
    (lambda a: a.update(l1=-0.5), ValueError, "l1 must be .*-0.5"),
    (lambda a: a.update(clipnorm=-1.0), ValueError, "clipnorm must be .*-1.0"),
    (lambda a: a.update(clipnorm=1.0, clipvalue=1.0), ValueError, "only one of clipnorm"),
    (lambda a: a.update(clipvalue="big"), TypeError, "clipvalue must be a number or None, got 'big'"),
    (lambda a: a.update(beta_1=1.0), ValueError, r"beta_1 must be in \[0.0, 1.0\), got 1.0"),
    (lambda a: a.update(epsilon=-1e-7), ValueError, "epsilon must be >= 0"),
    (lambda a: a.update(weight_decay=-0.1), ValueError, "weight_decay must be >= 0, got -0.1"),
    (lambda a: a.update(nesterov=True), TypeError, r"unexpected hyperparameter.*nesterov"),
    (lambda a: a.update(state=np.ones(2)), ValueError, r"state must have shape \(1,\)"),
    (lambda a: a.update(state=np.ones(1, np.float32)), TypeError, "state must be a float64"),
])
def test_bad_input(mutate, exc, match):
    w, g, slots = _adam_args()
    args = {"name": "adam", "w": w, "g": g, "slots": slots, "learning_rate": 0.1,
            "iteration": 1}
    mutate(args)
    name, w, g, slots = args.pop("name"), args.pop("w"), args.pop("g"), args.pop("slots")
    with pytest.raises(exc, match=match):
        ops.optimizer_update(name, w, g, slots, **args)


def test_bad_input_other_optimizers():
    w = np.ones(3)
    with pytest.raises(ValueError, match=r"momentum must be in \[0.0, 1.0\], got 1.5"):
        ops.optimizer_update("sgd", w, w.copy(), [np.zeros(3)], iteration=1, momentum=1.5)
    with pytest.raises(ValueError, match="rho must be"):
        ops.optimizer_update("rmsprop", w, w.copy(), [np.zeros(3)], iteration=1, rho=-0.1)
    with pytest.raises(ValueError, match="needs 3 slot"):
        ops.optimizer_update("rmsprop", w, w.copy(), [np.zeros(3)] * 2, iteration=1,
                             centered=True, momentum=0.5)
    with pytest.raises(ValueError, match="g must be C-contiguous"):
        ops.optimizer_update("sgd", w, np.ones(6)[::2], [], iteration=1)
    with pytest.raises(ValueError, match="w and g share memory"):
        ops.optimizer_update("sgd", w, w, [], iteration=1)
    with pytest.raises(ValueError, match="l1/l2 need w"):
        ops.grad_sq_sum(w, None, 0.1)
    with pytest.raises(TypeError, match="g must have dtype float32 or float64, got int64"):
        ops.grad_sq_sum(np.ones(3, np.int64))
    with pytest.raises(ValueError, match="l2 must be finite"):
        ops.penalty(w, 0.0, float("nan"))
    with pytest.raises(ValueError, match="clipnorm must be"):
        _core.global_clipnorm_scale(1.0, 0.0)
    # nothing was changed by the refused calls
    assert w.tolist() == [1.0, 1.0, 1.0]
