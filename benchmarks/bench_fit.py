"""fit() per-batch cost on the overhead-bound workload: digits, 64-32-10 ReLU, Adam, batch 32.

Side by side in one run (group "fit"), all on one thread:
- ``fit``: ``model.fit`` for a few epochs (shuffling, batching, loss/metric bookkeeping, the
  core's train_step), per batch;
- ``executor``: a bare Python loop calling ``Network.train_step`` on pre-sliced contiguous
  batches, per batch: the core's own time plus one binding crossing;
- ``fit_noop_core``: ``model.fit`` with the core replaced by a function returning a constant
  tuple: lamina's Python overhead per batch alone;
- ``torch_eager``: the same epochs in PyTorch eager (randperm + X[idx]), when installed.

fit - executor is what the Python layer adds; the target is <= 15 us per batch.
Run: python -m pytest benchmarks/bench_fit.py --benchmark-group-by=group
     python benchmarks/bench_fit.py   (interleaved repeats, robust to a noisy box)
"""

import time

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
    """Best time per batch in us (None under --benchmark-disable, which keeps no stats)."""
    stats = getattr(benchmark, "stats", None)
    return None if stats is None else stats.stats.min / BATCHES * 1e6


@pytest.mark.benchmark(group="fit")
def test_fit_per_batch(benchmark):
    model = make_model()
    model.fit(X, Y, epochs=1, batch_size=BATCH, verbose=0)  # warm: network and buffers built
    history = benchmark.pedantic(lambda: model.fit(X, Y, epochs=EPOCHS, batch_size=BATCH,
                                                   verbose=0), rounds=20, iterations=1)
    assert history.history["accuracy"][-1] > 0.8  # >= 6 epochs trained by now
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
    assert np.isfinite(mean_loss) and mean_loss < 2.0  # below ln(10): it learns
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


def interleaved(repeats=40):
    """Runs fit, fit(shuffle=False), the bare executor loop and the no-op-core fit in turn,
    ``repeats`` times, and prints min / p25 / median us per batch of each (interleaving keeps
    a noisy shared box from favouring one of them)."""
    lamina.set_num_threads(1)
    model = make_model()
    model.fit(X, Y, epochs=1, batch_size=BATCH, verbose=0)
    net = model._network
    batches = [(np.ascontiguousarray(X[s:s + BATCH]), np.ascontiguousarray(Y[s:s + BATCH]))
               for s in range(0, len(X), BATCH)]
    noop = make_model()
    noop.fit(X, Y, epochs=1, batch_size=BATCH, verbose=0)
    noop._network = _NoopNetwork((0.25, float(BATCH), float(BATCH)))
    state = {"it": 10**6}

    def executor():
        it, step = state["it"], net.train_step
        for _ in range(EPOCHS):
            for xb, yb in batches:
                it += 1
                step(xb, yb, None, 0.001, it)
        state["it"] = it

    runs = {
        "fit": lambda: model.fit(X, Y, epochs=EPOCHS, batch_size=BATCH, verbose=0),
        "fit(shuffle=False)": lambda: model.fit(X, Y, epochs=EPOCHS, batch_size=BATCH,
                                                shuffle=False, verbose=0),
        "executor only": executor,
        "fit, no-op core": lambda: noop.fit(X, Y, epochs=EPOCHS, batch_size=BATCH, verbose=0),
    }
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        torch.set_num_threads(1)
        torch.manual_seed(0)
        xt, yt = torch.from_numpy(X), torch.from_numpy(Y)
        tnet = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(),
                                   torch.nn.Linear(32, 10))
        topt = torch.optim.Adam(tnet.parameters(), lr=1e-3, eps=1e-7)
        loss_fn = torch.nn.CrossEntropyLoss()

        def torch_epochs():
            for _ in range(EPOCHS):
                perm = torch.randperm(len(xt))
                for s in range(0, len(xt), BATCH):
                    idx = perm[s:s + BATCH]
                    topt.zero_grad()
                    loss = loss_fn(tnet(xt[idx]), yt[idx])
                    loss.backward()
                    topt.step()

        torch_epochs()
    times = {k: [] for k in runs}
    cpu = {k: [] for k in runs}

    def timed(name, fn):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        times[name].append((time.perf_counter() - w0) / BATCHES * 1e6)
        cpu[name].append((time.process_time() - c0) / BATCHES * 1e6)

    for _ in range(repeats):
        for name, fn in runs.items():
            timed(name, fn)
    if torch is not None:
        # Measured after lamina's runs: torch's idle OpenMP workers spin for a while after
        # each op and would slow whatever runs right after them.
        name = f"torch {torch.__version__} eager"
        times[name], cpu[name] = [], []
        for _ in range(max(3, repeats // 4)):
            timed(name, torch_epochs)
    print(f"digits 64-32-10 ReLU, Adam, batch {BATCH}, {EPOCHS} epochs x {STEPS} batches, "
          f"1 thread, {repeats} interleaved repeats (us per batch; CPU = process time)")
    print(f"{'':24s} {'wall min':>9s} {'wall p25':>9s} {'wall med':>9s} {'CPU min':>9s} "
          f"{'CPU med':>9s}")
    for name, v in times.items():
        v, c = np.array(v), np.array(cpu[name])
        print(f"{name:24s} {v.min():9.2f} {np.percentile(v, 25):9.2f} {np.median(v):9.2f} "
              f"{c.min():9.2f} {np.median(c):9.2f}")
    for kind, table in (("wall", times), ("CPU", cpu)):
        fit, ex = np.array(table["fit"]), np.array(table["executor only"])
        print(f"fit - executor ({kind}, min): {fit.min() - ex.min():.2f} us per batch; "
              f"(median): {np.median(fit) - np.median(ex):.2f}")


if __name__ == "__main__":
    interleaved()
