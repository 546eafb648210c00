"""fit() per-batch cost on the overhead-bound workload: digits, 64-32-10 ReLU, Adam, batch 32.

Three numbers, side by side in one run (group "fit"):
- ``fit``: ``model.fit`` for a few epochs (shuffling, batching, loss/metric bookkeeping, the
  core's train_step), per batch;
- ``executor``: a bare Python loop calling ``Network.train_step`` on pre-sliced contiguous
  batches, per batch: the core's own time plus one binding crossing;
- ``fit_noop_core``: ``model.fit`` with the core replaced by a function returning a constant
  tuple: lamina's Python overhead per batch alone.

fit - executor is what the Python layer adds; the target is <= 15 us per batch.
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
                                                   verbose=0), rounds=5, iterations=1)
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

    mean_loss = benchmark.pedantic(loop, rounds=5, iterations=1)
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
                                                   verbose=0), rounds=5, iterations=1)
    assert history.history["loss"][-1] == pytest.approx(0.25)
    assert history.history["accuracy"][-1] == pytest.approx(1.0, rel=0.05)
    benchmark.extra_info["us_per_batch"] = per_batch_us(benchmark)
