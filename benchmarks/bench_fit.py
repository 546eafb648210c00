"""fit() per-batch cost on the overhead-bound workload: digits, 64-32-10 ReLU, Adam, batch 32.

Three numbers, side by side in one run (group "fit"):
- ``fit``: ``model.fit`` for a few epochs (shuffling, batching, loss/metric bookkeeping, the
  core's train_step), per batch;
- ``executor``: a bare Python loop calling ``Network.train_step`` on pre-sliced contiguous
  batches, per batch: the core's own time plus one binding crossing;
- ``fit_noop_core``: ``model.fit`` with the core replaced by a function returning a constant
  tuple: lamina's Python overhead per batch alone.

- ``torch_eager``: the same epochs in PyTorch eager, when torch is installed.

All on one thread. fit - executor is what the Python layer adds; the target is <= 15 us per
batch.
Run: python -m pytest benchmarks/bench_fit.py --benchmark-group-by=group
"""

import numpy as np
import pytest

import lamina

EPOCHS = 5
BATCH = 32


def digits():
    (xtr, ytr), _ = lamina.datasets.load_digits()
    return (xtr / 16.0).astype(np.float32), ytr.astype(np.int64)


def make_model():
    model = lamina.Sequential([lamina.Input((64,)), lamina.layers.Dense(32, activation="relu"),
                               lamina.layers.Dense(10, activation="softmax")], seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


@pytest.fixture(autouse=True)
def one_thread():
    """Every framework on one thread: this workload is overhead-bound, not compute-bound."""
    before = lamina.get_num_threads()
    lamina.set_num_threads(1)
    try:
        import torch
    except ImportError:
        torch = None
    torch_before = torch.get_num_threads() if torch else None
    if torch:
        torch.set_num_threads(1)
    yield
    lamina.set_num_threads(before)
    if torch:
        torch.set_num_threads(torch_before)


X, Y = digits()
STEPS = -(-len(X) // BATCH)
BATCHES = EPOCHS * STEPS


def per_batch_us(benchmark):
    return benchmark.stats.stats.min / BATCHES * 1e6


@pytest.mark.benchmark(group="fit")
def test_fit_per_batch(benchmark):
    model = make_model()
    model.fit(X, Y, epochs=1, batch_size=BATCH, verbose=0)  # warm: network and buffers built
    history = benchmark.pedantic(lambda: model.fit(X, Y, epochs=EPOCHS, batch_size=BATCH,
                                                   verbose=0), rounds=20, iterations=1)
    assert history.history["accuracy"][-1] > 0.9
    benchmark.extra_info["us_per_batch"] = per_batch_us(benchmark)


@pytest.mark.benchmark(group="fit")
def test_executor_only_per_batch(benchmark):
    model = make_model()
    model.fit(X, Y, epochs=1, batch_size=BATCH, verbose=0)
    net = model._network
    batches = [(np.ascontiguousarray(X[s:s + BATCH]), np.ascontiguousarray(Y[s:s + BATCH]))
               for s in range(0, len(X), BATCH)]
    state = {"it": model.optimizer.iterations}

    def loop():
        it = state["it"]
        step = net.train_step
        total = 0.0
        for _ in range(EPOCHS):
            for xb, yb in batches:
                it += 1
                total += step(xb, yb, None, 0.001, it)[0]
        state["it"] = it
        return total / BATCHES

    mean_loss = benchmark.pedantic(loop, rounds=20, iterations=1)
    assert np.isfinite(mean_loss) and mean_loss < 1.0
    benchmark.extra_info["us_per_batch"] = per_batch_us(benchmark)


class _NoopNetwork:
    def __init__(self, result):
        self.result = result

    def train_step(self, x, y, sw, lr, it):
        return self.result


@pytest.mark.benchmark(group="fit")
def test_fit_python_overhead_with_noop_core(benchmark):
    model = make_model()
    model.fit(X, Y, epochs=1, batch_size=BATCH, verbose=0)
    model._network = _NoopNetwork((0.25, float(BATCH), float(BATCH)))
    history = benchmark.pedantic(lambda: model.fit(X, Y, epochs=EPOCHS, batch_size=BATCH,
                                                   verbose=0), rounds=20, iterations=1)
    assert history.history["loss"][-1] == pytest.approx(0.25)
    assert history.history["accuracy"][-1] == pytest.approx(1.0, rel=0.05)
    benchmark.extra_info["us_per_batch"] = per_batch_us(benchmark)


@pytest.mark.benchmark(group="fit")
def test_torch_eager_per_batch(benchmark):
    """The same epochs in PyTorch eager (randperm + X[idx], like ANCHORS.md), side by side."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    xt, yt = torch.from_numpy(X), torch.from_numpy(Y)
    net = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = torch.nn.CrossEntropyLoss()

    def epochs():
        total = 0.0
        for _ in range(EPOCHS):
            perm = torch.randperm(len(xt))
            for s in range(0, len(xt), BATCH):
                idx = perm[s:s + BATCH]
                opt.zero_grad()
                loss = loss_fn(net(xt[idx]), yt[idx])
                loss.backward()
                opt.step()
                total += loss.item()
        return total / BATCHES

    epochs()
    mean_loss = benchmark.pedantic(epochs, rounds=5, iterations=1)
    assert mean_loss < 1.0
    benchmark.extra_info["us_per_batch"] = per_batch_us(benchmark)
