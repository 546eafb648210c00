"""Optimizer step cost on the main workload's parameters (784-512-256-10: 535,818 float32).

Side by side in one run (group "optimizers"), one *step* = the update of all six parameter
arrays (W1, b1, W2, b2, W3, b3), i.e. six calls:
- ``lamina_adam[isa-threads]``: lamina.ops.optimizer_update at each ISA level the CPU supports,
  1 and 2 threads (AVX-512 only for 2 threads);
- ``lamina_adam_flat``: the same 535,818 parameters as one buffer (one call: no per-call cost);
- ``lamina_sgd_momentum``: SGD momentum 0.9 (the dropout workload's optimizer);
- ``numpy_adam_inplace``: Adam in numpy with ``out=`` and no temporaries (the anchors'
  "numpy, Adam in-place" row);
- ``torch_adam_fused``: torch.optim.Adam(fused=True), skipped when torch is not installed.

Memory-traffic floor of an Adam step: read w, g, m, v and write w, m, v: 7 x 4 B x 535,818 =
15.0 MB (about 1.07 ms at the 14 GB/s one-core DRAM figure of ANCHORS.md; the working set
stays in this CPU's L3 between steps, so it runs far faster than that).

Every benchmark first checks one step against a float64 numpy Adam (Keras formula).
Run: python -m pytest benchmarks/bench_optim.py --benchmark-group-by=group
"""

import numpy as np
import pytest

import lamina
from lamina import _core, ops

SHAPES = [(784, 512), (512,), (512, 256), (256,), (256, 10), (10,)]
N_PARAMS = sum(int(np.prod(s)) for s in SHAPES)
assert N_PARAMS == 535_818
LR = 1e-3
ROUNDS = 300


def network(seed=0):
    rng = np.random.default_rng(seed)
    ws = [rng.standard_normal(s).astype(np.float32) * 0.05 for s in SHAPES]
    gs = [rng.standard_normal(s).astype(np.float32) * 0.01 for s in SHAPES]
    return ws, gs


def reference_adam(w, g, m, v, t, b1=0.9, b2=0.999, eps=1e-7):
    """Keras 3 Adam, float64."""
    w, g, m, v = (np.asarray(a, np.float64) for a in (w, g, m, v))
    m = m + (g - m) * (1 - b1)
    v = v + (g * g - v) * (1 - b2)
    return w - m * (LR * np.sqrt(1 - b2**t) / (1 - b1**t)) / (np.sqrt(v) + eps)


def check_adam_step(step):
    """Runs `step(ws, gs, slots, t)` once on fresh arrays at t=3 and checks every parameter."""
    ws, gs = network(1)
    rng = np.random.default_rng(2)
    slots = [[rng.uniform(-1e-3, 1e-3, w.shape).astype(np.float32),
              rng.uniform(1e-6, 1e-4, w.shape).astype(np.float32)] for w in ws]
    want = [reference_adam(w, g, m, v, 3) for w, g, (m, v) in zip(ws, gs, slots)]
    step(ws, gs, slots, 3)
    for got, exp in zip(ws, want):
        np.testing.assert_allclose(got, exp, rtol=1e-5, atol=1e-7)


def lamina_adam_step(ws, gs, slots, t):
    for w, g, s in zip(ws, gs, slots):
        ops.optimizer_update("adam", w, g, s, learning_rate=LR, iteration=t)


def timed_steps(benchmark, step, ws, gs, slots):
    state = {"t": 0}

    def one():
        state["t"] += 1
        step(ws, gs, slots, state["t"])

    benchmark.pedantic(one, rounds=ROUNDS, iterations=1, warmup_rounds=20)
    assert all(np.isfinite(w).all() for w in ws)
    benchmark.extra_info["us_per_step_min"] = benchmark.stats.stats.min * 1e6
    benchmark.extra_info["us_per_step_median"] = benchmark.stats.stats.median * 1e6


def _configs():
    out = []
    for isa in _core.supported_isas():
        out.append((isa, 1))
    out.append((_core.max_isa(), 2))
    return out


@pytest.fixture
def restore_runtime():
    isa, threads = _core.active_isa(), lamina.get_num_threads()
    yield
    _core.set_isa(isa)
    lamina.set_num_threads(threads)


@pytest.mark.benchmark(group="optimizers")
@pytest.mark.parametrize("isa, threads", _configs(), ids=lambda x: str(x))
def test_lamina_adam(benchmark, isa, threads, restore_runtime):
    _core.set_isa(isa)
    lamina.set_num_threads(threads)
    check_adam_step(lamina_adam_step)
    ws, gs = network()
    slots = [ops.optimizer_slots("adam", w) for w in ws]
    timed_steps(benchmark, lamina_adam_step, ws, gs, slots)


@pytest.mark.benchmark(group="optimizers")
def test_lamina_adam_flat(benchmark, restore_runtime):
    lamina.set_num_threads(1)

    def flat_step(ws, gs, slots, t):
        lamina_adam_step(ws, gs, slots, t)

    check_adam_step(flat_step)
    rng = np.random.default_rng(0)
    w = rng.standard_normal(N_PARAMS).astype(np.float32) * 0.05
    g = rng.standard_normal(N_PARAMS).astype(np.float32) * 0.01
    timed_steps(benchmark, flat_step, [w], [g], [ops.optimizer_slots("adam", w)])


@pytest.mark.benchmark(group="optimizers")
def test_lamina_sgd_momentum(benchmark, restore_runtime):
    lamina.set_num_threads(1)
    ws, gs = network()
    w0, g0 = ws[2].copy(), gs[2]
    m0 = np.zeros_like(w0)
    ops.optimizer_update("sgd", w0, g0, [m0], learning_rate=0.01, iteration=1, momentum=0.9,
                         nesterov=True)
    np.testing.assert_allclose(w0, ws[2] - 0.01 * g0 * 1.9, rtol=1e-6, atol=1e-9)

    def step(ws, gs, slots, t):
        for w, g, s in zip(ws, gs, slots):
            ops.optimizer_update("sgd", w, g, s, learning_rate=0.01, iteration=t, momentum=0.9)

    timed_steps(benchmark, step, ws, gs, [ops.optimizer_slots("sgd", w, momentum=0.9)
                                          for w in ws])


def numpy_adam_step(ws, gs, slots, t, b1=0.9, b2=0.999, eps=1e-7):
    """In-place numpy Adam: one scratch buffer per parameter, no temporaries per step."""
    alpha = LR * np.sqrt(1 - b2**t) / (1 - b1**t)
    for w, g, (m, v) in zip(ws, gs, slots):
        tmp = numpy_adam_step.scratch.setdefault(w.shape, np.empty_like(w))
        np.subtract(g, m, out=tmp)
        tmp *= 1 - b1
        m += tmp                         # m += (g - m)(1 - b1)
        np.multiply(g, g, out=tmp)
        tmp -= v
        tmp *= 1 - b2
        v += tmp                         # v += (g^2 - v)(1 - b2)
        np.sqrt(v, out=tmp)
        tmp += eps
        np.divide(m, tmp, out=tmp)
        tmp *= alpha
        w -= tmp                         # w -= alpha m / (sqrt(v) + eps)


numpy_adam_step.scratch = {}


@pytest.mark.benchmark(group="optimizers")
def test_numpy_adam_inplace(benchmark):
    check_adam_step(numpy_adam_step)
    ws, gs = network()
    timed_steps(benchmark, numpy_adam_step, ws, gs,
                [[np.zeros_like(w), np.zeros_like(w)] for w in ws])


@pytest.mark.benchmark(group="optimizers")
def test_torch_adam_fused(benchmark):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    ws, gs = network()
    params = [torch.nn.Parameter(torch.from_numpy(w)) for w in ws]
    for p, g in zip(params, gs):
        p.grad = torch.from_numpy(g)
    opt = torch.optim.Adam(params, lr=LR, eps=1e-7, fused=True)
    before = [p.detach().clone().numpy() for p in params]
    opt.step()  # first step: m_hat = g, sqrt(v_hat) = |g|, so w -= lr * g / (|g| + eps)
    for p, w0, g in zip(params, before, gs):
        g = g.astype(np.float64)
        np.testing.assert_allclose(p.detach().numpy(), w0 - LR * g / (np.abs(g) + 1e-7),
                                   rtol=1e-5, atol=1e-8)
    benchmark.pedantic(opt.step, rounds=ROUNDS, iterations=1, warmup_rounds=20)
    benchmark.extra_info["us_per_step_min"] = benchmark.stats.stats.min * 1e6
