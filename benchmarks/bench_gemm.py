"""pytest-benchmark micro-benchmarks of lamina's GEMM (group "gemm"), beside numpy and torch.

Run: python -m pytest benchmarks/bench_gemm.py --benchmark-group-by=param:shape
Each benchmark checks the result it timed against a float64 reference. For the side-by-side
table with ratios at 1 and 2 threads, use benchmarks/compare_gemm.py.
"""

import numpy as np
import pytest

from lamina import ops

# name: (m, n, k, trans_a, trans_b)
SHAPES = {
    "sq256": (256, 256, 256, False, False),
    "sq512": (512, 512, 512, False, False),
    "sq1024": (1024, 1024, 1024, False, False),
    "fwd_128x784x512": (128, 512, 784, False, False),
    "dW_XT.dY": (784, 512, 128, True, False),
    "dX_dY.WT": (128, 784, 512, False, True),
    "out_128x256x10": (128, 10, 256, False, False),
    "small_32x64x32": (32, 32, 64, False, False),
}


def _operands(shape):
    m, n, k, ta, tb = SHAPES[shape]
    rng = np.random.default_rng(0)
    a = rng.uniform(-1, 1, (k, m) if ta else (m, k)).astype(np.float32)
    b = rng.uniform(-1, 1, (n, k) if tb else (k, n)).astype(np.float32)
    opa, opb = (a.T if ta else a), (b.T if tb else b)
    ref = opa.astype(np.float64) @ opb.astype(np.float64)
    scale = np.abs(opa).astype(np.float64) @ np.abs(opb).astype(np.float64)
    return a, b, ta, tb, opa, opb, ref, scale


def _check(out, ref, scale):
    assert (np.abs(out - ref) / scale).max() < 1e-5


@pytest.mark.benchmark(group="gemm")
@pytest.mark.parametrize("framework", ["lamina", "numpy", "torch"])
@pytest.mark.parametrize("shape", list(SHAPES))
def test_gemm_f32(benchmark, shape, framework):
    a, b, ta, tb, opa, opb, ref, scale = _operands(shape)
    out = np.empty(ref.shape, np.float32)
    if framework == "lamina":
        benchmark(lambda: ops.matmul(a, b, trans_a=ta, trans_b=tb, out=out))
    elif framework == "numpy":
        benchmark(lambda: np.matmul(opa, opb, out=out))
    else:
        torch = pytest.importorskip("torch")
        ta_, tb_ = torch.from_numpy(a), torch.from_numpy(b)
        x, y = (ta_.t() if ta else ta_), (tb_.t() if tb else tb_)
        out_t = torch.from_numpy(out)
        benchmark(lambda: torch.matmul(x, y, out=out_t))
    _check(out, ref, scale)


@pytest.mark.benchmark(group="gemm")
def test_dense_forward_fused_bias_relu(benchmark):
    """(128x784)(784x512) + bias, relu in the store: one pass over the output."""
    a, b, ta, tb, opa, opb, ref, scale = _operands("fwd_128x784x512")
    bias = np.linspace(-5, 5, b.shape[1]).astype(np.float32)
    out = np.empty(ref.shape, np.float32)
    benchmark(lambda: ops.matmul(a, b, out=out, bias=bias, activation="relu"))
    _check(out, np.maximum(ref + bias, 0), scale + np.abs(bias))


@pytest.mark.benchmark(group="gemm")
def test_bias_grad_128x512(benchmark):
    dy = np.random.default_rng(1).uniform(-1, 1, (128, 512)).astype(np.float32)
    out = np.empty(512, np.float32)
    benchmark(lambda: ops.bias_grad(dy, out=out))
    np.testing.assert_allclose(out, dy.astype(np.float64).sum(0), rtol=1e-4, atol=1e-4)
