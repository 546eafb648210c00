"""Element-wise kernels on the main workload's hidden activation (128 x 512 float32).

Side by side in one run, 1 thread, each benchmark first checking its result:
- group "activations": lamina activation forward / backward at every ISA level the CPU
  supports (``lamina[<name>-<isa>]``) against the numpy expression of the same function.
- group "dropout": lamina dropout (mask + apply, and backward) at every ISA level, numpy's
  float mask (``rng.random >= rate``, the anchors' 0.2 ms row), numpy random bits
  (``rng.integers`` + ``unpackbits``), torch ``F.dropout`` when torch is installed, and the
  yardstick: the forward matmul of the layer that dropout follows, (128x784) @ (784x512).

Run: OPENBLAS_NUM_THREADS=1 python -m pytest benchmarks/bench_ops.py --benchmark-group-by=group \
     --benchmark-max-time=0.5   (numpy matmul on 1 thread without threadpoolctl)
"""

import math

import numpy as np
import pytest

import lamina
from lamina import _core, ops, runtime

pytestmark = pytest.mark.benchmark

SHAPE = (128, 512)
RATE = 0.5
ISAS = list(_core.supported_isas())


@pytest.fixture(autouse=True)
def one_thread():
    before_t, before_isa = lamina.get_num_threads(), _core.active_isa()
    lamina.set_num_threads(1)
    yield
    lamina.set_num_threads(before_t)
    _core.set_isa(before_isa)


def _x(dtype=np.float32, seed=0):
    return np.random.default_rng(seed).normal(size=SHAPE).astype(dtype)


_erfc = np.vectorize(math.erfc, otypes=[np.float64])


def _softmax64(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _sigmoid64(x):
    return 1.0 / (1.0 + np.exp(-x.astype(np.float64)))


# ---- activations ----

NUMPY_FWD = {
    "relu": lambda x, out: np.maximum(x, 0, out=out),
    "sigmoid": lambda x, out: np.divide(1, np.add(1, np.exp(np.negative(x, out=out), out=out),
                                                  out=out), out=out),
    "tanh": lambda x, out: np.tanh(x, out=out),
    "silu": lambda x, out: np.multiply(x, 1 / (1 + np.exp(-x)), out=out),
    "softplus": lambda x, out: np.logaddexp(x, np.float32(0), out=out),
    "gelu_tanh": lambda x, out: np.multiply(
        x, 0.5 * (1 + np.tanh(0.7978845608 * (x + 0.044715 * x**3))), out=out),
}
EXACT = {
    "relu": lambda x: np.maximum(x.astype(np.float64), 0),
    "sigmoid": _sigmoid64,
    "tanh": lambda x: np.tanh(x.astype(np.float64)),
    "silu": lambda x: x * _sigmoid64(x),
    "gelu_tanh": lambda x: x * 0.5 * (1 + np.tanh(0.7978845608028654 * (x + 0.044715 * x**3))),
    "softmax": lambda x: _softmax64(x),
    "softplus": lambda x: np.logaddexp(x.astype(np.float64), 0.0),
    "gelu": lambda x: 0.5 * x * _erfc(-x.astype(np.float64) / np.sqrt(2.0)),
}


@pytest.mark.benchmark(group="activations")
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "silu", "softplus", "gelu",
                                  "gelu_tanh", "softmax"])
def test_lamina_forward(benchmark, name, isa):
    runtime.set_isa(isa)
    x = _x()
    y = np.empty_like(x)
    benchmark(_core.activation_forward, x, y, name, 0.0)
    np.testing.assert_allclose(y, EXACT[name](x.astype(np.float64)), rtol=2e-6, atol=1e-7)


@pytest.mark.benchmark(group="activations")
@pytest.mark.parametrize("name", list(NUMPY_FWD))
def test_numpy_forward(benchmark, name):
    x = _x()
    y = np.empty_like(x)
    benchmark(NUMPY_FWD[name], x, y)
    np.testing.assert_allclose(y, EXACT[name](x.astype(np.float64)), rtol=1e-5, atol=1e-6)


@pytest.mark.benchmark(group="activations")
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("name", ["relu", "silu", "gelu", "gelu_tanh"])
def test_lamina_backward(benchmark, name, isa):
    runtime.set_isa(isa)
    x = _x()
    y = ops.activation(x, name)
    dy = _x(seed=1)
    dx = np.empty_like(x)
    benchmark(_core.activation_backward, x, y, dy, dx, name, 0.0)
    if name == "relu":  # no finite differences across the kink
        np.testing.assert_array_equal(dx, np.where(x > 0, dy, 0))
        return
    h = 1e-4
    x64 = x.astype(np.float64)
    fd = (EXACT[name](x64 + h) - EXACT[name](x64 - h)) / (2 * h)
    np.testing.assert_allclose(dx, dy * fd, rtol=1e-4, atol=1e-5)


@pytest.mark.benchmark(group="activations")
def test_numpy_relu_backward(benchmark):
    x, dy = _x(), _x(seed=1)
    dx = np.empty_like(x)
    benchmark(lambda: np.multiply(dy, x > 0, out=dx))
    np.testing.assert_array_equal(dx, np.where(x > 0, dy, 0))


# ---- dropout ----

def _keep(packed, n):
    return np.unpackbits(packed, bitorder="little", count=n).astype(bool)


@pytest.mark.benchmark(group="dropout")
@pytest.mark.parametrize("isa", ISAS)
def test_lamina_dropout_forward(benchmark, isa):
    runtime.set_isa(isa)
    x = _x()
    y = np.empty_like(x)
    mask = np.empty(x.size // 8, np.uint8)
    benchmark(_core.dropout_forward, x, y, RATE, 1234, 7, 0, mask)
    keep = _keep(mask, x.size).reshape(SHAPE)
    np.testing.assert_array_equal(y, np.where(keep, x * np.float32(2.0), 0))
    assert abs(keep.mean() - (1 - RATE)) < 0.01


@pytest.mark.benchmark(group="dropout")
@pytest.mark.parametrize("isa", ISAS)
def test_lamina_dropout_backward(benchmark, isa):
    runtime.set_isa(isa)
    dy = _x()
    _, mask = ops.dropout(dy, RATE, 1234, 7)
    dx = np.empty_like(dy)
    benchmark(_core.dropout_backward, dy, mask, RATE, dx)
    keep = _keep(mask, dy.size).reshape(SHAPE)
    np.testing.assert_array_equal(dx, np.where(keep, dy * np.float32(2.0), 0))


@pytest.mark.benchmark(group="dropout")
def test_numpy_float_mask(benchmark):
    rng = np.random.default_rng(0)
    x = _x()

    def run():
        keep = rng.random(SHAPE, dtype=np.float32) >= RATE
        return x * keep / np.float32(1 - RATE)

    y = benchmark(run)
    assert abs((y != 0).mean() - (1 - RATE)) < 0.01


@pytest.mark.benchmark(group="dropout")
def test_numpy_random_bits(benchmark):
    rng = np.random.default_rng(0)
    x = _x()
    y = np.empty_like(x)

    def run():  # rate 0.5 only: one random bit per element
        keep = np.unpackbits(rng.integers(0, 256, x.size // 8, dtype=np.uint8)).reshape(SHAPE)
        np.multiply(x, keep, out=y)
        np.multiply(y, np.float32(2.0), out=y)

    benchmark(run)
    assert abs((y != 0).mean() - (1 - RATE)) < 0.01


@pytest.mark.benchmark(group="dropout")
def test_torch_dropout(benchmark):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    x = torch.from_numpy(_x())
    y = benchmark(torch.nn.functional.dropout, x, RATE, True)
    assert abs((y != 0).float().mean().item() - (1 - RATE)) < 0.01


@pytest.mark.benchmark(group="dropout")
def test_yardstick_forward_matmul(benchmark):
    """The layer dropout follows: (128 x 784) @ (784 x 512) float32, numpy (OpenBLAS)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - numpy's pool then uses its default threads
        threadpool_limits = None
    rng = np.random.default_rng(0)
    a = rng.normal(size=(128, 784)).astype(np.float32)
    b = rng.normal(size=(784, 512)).astype(np.float32)
    c = np.empty((128, 512), np.float32)
    if threadpool_limits is not None:
        with threadpool_limits(1):
            benchmark(np.matmul, a, b, out=c)
    else:
        benchmark(np.matmul, a, b, out=c)
    np.testing.assert_allclose(c, a.astype(np.float64) @ b, rtol=1e-3, atol=1e-3)
