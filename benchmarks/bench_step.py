"""Whole training step (lamina._core.Network.train_step) vs the sum of its GEMMs.

Group "step". Two networks, float32, Adam, softmax + sparse crossentropy:
- main: 784-512-256-10 ReLU at batch 128 (the README's main workload), 1 and 2 threads;
  the same step's 7 GEMMs (3 forward with the bias + ReLU epilogue, 3 dW, 2 dX minus the
  first layer's, which the executor skips) timed alone with the same kernels
  (lamina._core.matmul, the binding of the same gemm), so overhead = step / GEMMs - 1.
- tiny: 64-32-10 ReLU at batch 32 (load_digits-sized; torch eager ≈ 280 µs per batch here).

Run:  python -m pytest benchmarks/bench_step.py --benchmark-group-by=group -q
Side-by-side table (for benchmarks/RESULTS.md):  python benchmarks/bench_step.py
"""

from __future__ import annotations

import os

# numpy's OpenBLAS threads (woken by the correctness checks) would otherwise spin in the
# background and count in the process CPU time the table reports.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import statistics
import sys
import time

import numpy as np
import pytest

import lamina
from lamina import _core

MAIN = (784, [512, 256, 10], 128)
TINY = (64, [32, 10], 32)


def make_net(input_dim, units, dtype="float32", seed=0):
    """A ReLU MLP with a softmax head, Adam, sparse crossentropy; Glorot-uniform weights."""
    rng = np.random.default_rng(seed)
    layers, width = [], input_dim
    for i, u in enumerate(units):
        lim = np.sqrt(6.0 / (width + u))
        k = rng.uniform(-lim, lim, (width, u)).astype(dtype)
        b = np.zeros(u, dtype)
        params = [dict(name=name, value=v, trainable=True, l1=0.0, l2=0.0,
                       slots=[np.zeros_like(v), np.zeros_like(v)])
                  for name, v in (("kernel", k), ("bias", b))]
        layers.append(dict(type="dense", units=u,
                           activation="softmax" if i == len(units) - 1 else "relu", alpha=0.0,
                           params=params))
        width = u
    spec = dict(dtype=dtype, input_dim=input_dim, layers=layers,
                loss=dict(name="sparse_categorical_crossentropy", from_logits=False, delta=1.0),
                optimizer=dict(name="adam", momentum=0.0, nesterov=False, rho=0.9,
                               centered=False, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                               amsgrad=False, weight_decay=0.0, clipnorm=0.0, clipvalue=0.0,
                               global_clipnorm=0.0),
                optimizer_state=np.ones(1), seed=1,
                metrics=[dict(name="sparse_categorical_accuracy", threshold=0.5, k=5)])
    return _core.Network(spec), spec


def batch(input_dim, n_out, m, dtype="float32", seed=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((m, input_dim)).astype(dtype)
    y = rng.integers(0, n_out, m).astype(np.int64)
    return x, y


class StepRunner:
    """Calls train_step with an advancing iteration (the Adam bias correction moves)."""

    def __init__(self, cfg):
        d, units, m = cfg
        self.net, self.spec = make_net(d, units)
        self.x, self.y = batch(d, units[-1], m)
        self.t = 0

    def __call__(self):
        self.t += 1
        return self.net.train_step(self.x, self.y, None, 1e-3, self.t)


class GemmRunner:
    """The GEMMs of one train_step of a ReLU MLP, alone, into preallocated outputs."""

    def __init__(self, cfg):
        d, units, m = cfg
        rng = np.random.default_rng(0)
        widths = [d] + units
        self.W = [rng.standard_normal((a, b)).astype(np.float32) * 0.05
                  for a, b in zip(widths[:-1], widths[1:])]
        self.b = [np.zeros(b, np.float32) for b in units]
        self.H = [rng.standard_normal((m, w)).astype(np.float32) for w in widths]
        self.dZ = [rng.standard_normal((m, w)).astype(np.float32) for w in units]
        self.dW = [np.empty_like(w) for w in self.W]
        self.dX = [np.empty((m, w), np.float32) for w in widths[:-1]]
        self.n = len(units)

    def __call__(self):
        mm = _core.matmul  # (a, b, trans_a, trans_b, alpha, beta, out, bias, activation)
        for i in range(self.n):  # forward: bias + relu fused (the head's softmax is not a GEMM)
            mm(self.H[i], self.W[i], False, False, 1.0, 0.0, self.H[i + 1], self.b[i],
               "relu" if i < self.n - 1 else None)
        for i in reversed(range(self.n)):
            if i > 0:  # dX = dZ W^T
                mm(self.dZ[i], self.W[i], False, True, 1.0, 0.0, self.dX[i], None, None)
            mm(self.H[i], self.dZ[i], True, False, 1.0, 0.0, self.dW[i], None, None)  # X^T dZ

    def check(self):
        self()
        want = self.H[0] @ self.W[0] + self.b[0]
        np.testing.assert_allclose(self.H[1], np.maximum(want, 0), rtol=1e-3, atol=1e-3)
        np.testing.assert_allclose(self.dW[0], self.H[0].T @ self.dZ[0], rtol=1e-3, atol=1e-2)


class TorchStepRunner:
    """The same step in torch eager (Adam default, CrossEntropyLoss on logits), for a side by
    side comparison; fixed batch, no data loading."""

    def __init__(self, cfg):
        import torch

        d, units, m = cfg
        torch.manual_seed(0)
        mods, width = [], d
        for i, u in enumerate(units):
            mods.append(torch.nn.Linear(width, u))
            if i < len(units) - 1:
                mods.append(torch.nn.ReLU())
            width = u
        self.model = torch.nn.Sequential(*mods)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.loss = torch.nn.CrossEntropyLoss()
        x, y = batch(d, units[-1], m)
        self.x, self.y = torch.from_numpy(x), torch.from_numpy(y)

    def __call__(self):
        self.opt.zero_grad()
        out = self.loss(self.model(self.x), self.y)
        out.backward()
        self.opt.step()
        return (out.item(),)


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


@pytest.fixture(params=[1, 2], ids=["1t", "2t"])
def nthreads(request):
    before = lamina.get_num_threads()
    lamina.set_num_threads(request.param)
    yield request.param
    lamina.set_num_threads(before)


def _check_training(runner, steps=30):
    first = runner()[0]
    for _ in range(steps):
        last = runner()[0]
    assert np.isfinite(last) and last < first, (first, last)


@pytest.mark.benchmark(group="step")
def test_step_main(benchmark, nthreads):
    run = StepRunner(MAIN)
    benchmark.pedantic(run, rounds=30, iterations=5, warmup_rounds=2)
    _check_training(run)


@pytest.mark.benchmark(group="step")
def test_step_main_gemms_alone(benchmark, nthreads):
    run = GemmRunner(MAIN)
    run.check()
    benchmark.pedantic(run, rounds=30, iterations=5, warmup_rounds=2)


@pytest.mark.benchmark(group="step")
def test_step_tiny(benchmark, nthreads):
    run = StepRunner(TINY)
    benchmark.pedantic(run, rounds=50, iterations=200, warmup_rounds=2)
    _check_training(run, 200)


@pytest.mark.benchmark(group="step")
def test_step_tiny_gemms_alone(benchmark, nthreads):
    run = GemmRunner(TINY)
    run.check()
    benchmark.pedantic(run, rounds=50, iterations=200, warmup_rounds=2)


@pytest.mark.benchmark(group="step")
@pytest.mark.parametrize("cfg", [MAIN, TINY], ids=["main", "tiny"])
def test_step_torch_eager(benchmark, cfg, nthreads):
    torch = _torch()
    if torch is None:
        pytest.skip("torch is not installed")
    torch.set_num_threads(nthreads)
    run = TorchStepRunner(cfg)
    benchmark.pedantic(run, rounds=20, iterations=5 if cfg is MAIN else 50, warmup_rounds=2)
    _check_training(run)


def _time_us(fn, inner):
    """(wall µs, process CPU µs) per call over `inner` calls."""
    w0, c0 = time.perf_counter(), time.process_time()
    for _ in range(inner):
        fn()
    return ((time.perf_counter() - w0) / inner * 1e6, (time.process_time() - c0) / inner * 1e6)


def main(repeats=7):
    """Prints the side-by-side table: step vs its GEMMs, interleaved over `repeats` rounds.

    The box is shared, so each cell is the best of the rounds (the least disturbed one) with
    the median in brackets; at 1 thread the process CPU time is shown too (it does not count
    time the OS gave to other processes).
    """
    print(f"lamina {lamina.__version__}, isa {_core.active_isa()}, "
          f"gemm kernel {_core.gemm_kernel_name('float32')}")
    print("| network | batch | threads | train_step µs: best [median] (CPU) "
          "| its GEMMs alone µs: best [median] (CPU) | overhead (best / CPU) |"
          + (" torch eager µs: best (CPU) |" if _torch() else ""))
    print("| --- | --- | --- | --- | --- | --- |" + (" --- |" if _torch() else ""))
    for name, cfg, inner in (("784-512-256-10", MAIN, 20), ("64-32-10", TINY, 2000)):
        for th in (1, 2):
            lamina.set_num_threads(th)
            step, gem = StepRunner(cfg), GemmRunner(cfg)
            gem.check()
            step(), gem()
            torch = _torch()
            tor = None
            if torch is not None:
                torch.set_num_threads(th)
                tor = TorchStepRunner(cfg)
                tor()
            s_all, g_all, t_all = [], [], []
            for _ in range(repeats):  # interleaved so drift hits every row alike
                s_all.append(_time_us(step, inner))
                g_all.append(_time_us(gem, inner))
                if tor is not None:
                    t_all.append(_time_us(tor, max(inner // 20, 5)))
                    # torch's OpenMP threads spin for up to KMP_BLOCKTIME (200 ms) after its
                    # last parallel region and would steal the core from the next row
                    time.sleep(0.3)
            if tor is not None:
                tw = min(t[0] for t in t_all)
                tc = min(t[1] for t in t_all)
            sw, gw = min(t[0] for t in s_all), min(t[0] for t in g_all)
            sc, gc = min(t[1] for t in s_all), min(t[1] for t in g_all)
            smed = statistics.median(t[0] for t in s_all)
            gmed = statistics.median(t[0] for t in g_all)
            cpu = th == 1
            print(f"| {name} | {cfg[2]} | {th} | {sw:.1f} [{smed:.1f}]"
                  + (f" ({sc:.1f})" if cpu else "")
                  + f" | {gw:.1f} [{gmed:.1f}]" + (f" ({gc:.1f})" if cpu else "")
                  + f" | {100 * (sw / gw - 1):+.1f}%"
                  + (f" / {100 * (sc / gc - 1):+.1f}%" if cpu else "") + " |"
                  + (f" torch eager {tw:.1f}" + (f" ({tc:.1f})" if cpu else "")
                     + f": lamina is {tw / sw:.1f}x faster"
                     + (f" ({tc / sc:.1f}x CPU)" if cpu else "") + " |"
                     if torch is not None else ""))
            sys.stdout.flush()


if __name__ == "__main__":
    main()
