"""Does mixed_bfloat16 learn as well as float32? Test accuracy over seeds, side by side.

Two workloads, each trained with the same seeds (initialization, shuffling) under the
"float32" and the "mixed_bfloat16" policy (Keras's ``set_global_policy``):
- ``mnist-mlp``: ``lamina bench``'s workload: 784-512-256-10 ReLU, softmax CE, Adam 1e-3,
  batch 128, on its synthetic MNIST-sized data (uniform pixels, labels from a fixed linear
  teacher; ``lamina.bench.workloads.make_teacher_data``), 60,000 train / 10,000 test;
- ``mnist1d``: MNIST-1D generated offline (``lamina.datasets.make_mnist1d``; 40 features),
  40-256-256-10 ReLU, Adam 1e-3, batch 128.

The target (issue 20): over 3 seeds, the mean mixed_bfloat16 test accuracy is within 0.5
percentage points of the mean float32 one. Two readings per run: the test accuracy after
the last epoch, and the mean test accuracy over the last ``--tail`` epochs (the test set is
evaluated after every epoch). The second is the steadier one: with Adam at 1e-3 the
mnist-mlp test accuracy swings by several points from one epoch to the next (both
precisions alike), so one end point per seed says little about a 0.5-point difference. The
verdict uses the tail mean. Accuracy does not depend on the machine's load, only the times
do; the runs are deterministic (same seed: the same numbers on any thread count).

Run: python benchmarks/bench_bf16_accuracy.py [--seeds 3] [--tail 5] [--quick] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import lamina
from lamina.bench.workloads import make_teacher_data

WORKLOADS = {
    # name: (data(quick) -> (x, y, xt, yt), hidden units, epochs (full, quick))
    "mnist-mlp": (lambda quick: make_teacher_data(6000 if quick else 60000,
                                                  2000 if quick else 10000),
                  (512, 256), (10, 4)),
    "mnist1d": (lambda quick: _mnist1d(4000 if quick else 20000), (256, 256), (40, 15)),
}
POLICIES = ("float32", "mixed_bfloat16")


def _mnist1d(n):
    (x, y), (xt, yt) = lamina.datasets.make_mnist1d(n_samples=n, test_split=0.2, seed=42)
    return x, y, xt, yt


def train_once(data, hidden, epochs, policy, seed, tail):
    """(final test accuracy, mean test accuracy of the last `tail` epochs, seconds of fit)."""
    x, y, xt, yt = data
    lamina.mixed_precision.set_global_policy(policy)
    try:
        stack = [lamina.Input((x.shape[1],))]
        stack += [lamina.layers.Dense(u, activation="relu") for u in hidden]
        stack.append(lamina.layers.Dense(10, activation="softmax"))
        model = lamina.Sequential(stack, seed=seed)
    finally:
        lamina.mixed_precision.set_global_policy(None)
    model.compile(optimizer=lamina.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    t0 = time.perf_counter()
    hist = model.fit(x, y, batch_size=128, epochs=epochs, shuffle=True, verbose=0,
                     validation_data=(xt, yt))
    fit_s = time.perf_counter() - t0
    curve = hist.history["val_accuracy"]
    return float(curve[-1]), float(statistics.mean(curve[-tail:])), fit_s


def run(seeds, quick, tail, progress=print):
    rows = []
    for name, (make, hidden, epochs) in WORKLOADS.items():
        data = make(quick)
        ep = epochs[1] if quick else epochs[0]
        acc = {p: [] for p in POLICIES}
        tails = {p: [] for p in POLICIES}
        secs = {p: [] for p in POLICIES}
        for seed in range(seeds):
            for policy in POLICIES:
                a, t, s = train_once(data, hidden, ep, policy, seed, min(tail, ep))
                acc[policy].append(a)
                tails[policy].append(t)
                secs[policy].append(s)
                progress(f"{name} seed {seed} {policy}: test accuracy {a:.4f}, last "
                         f"{min(tail, ep)} epochs {t:.4f} ({s:.1f} s)")

        def diff(d):
            return 100.0 * (statistics.mean(d["mixed_bfloat16"]) - statistics.mean(d["float32"]))

        rows.append({"workload": name, "n_train": len(data[0]), "n_test": len(data[2]),
                     "epochs": ep, "tail": min(tail, ep), "acc": acc, "tail_acc": tails,
                     "fit_s": secs, "diff_pp": diff(acc), "tail_diff_pp": diff(tails),
                     "met": diff(tails) >= -0.5})
    return rows


def to_markdown(rows, threads):
    out = ["| workload | train / test | epochs | reading | float32 test accuracy (per seed) | "
           "mixed_bfloat16 (per seed) | bf16 − fp32 | within 0.5 pp | "
           "fit s, float32 / bf16 (median) |",
           "| --- | ---: | ---: | --- | --- | --- | ---: | --- | ---: |"]
    for r in rows:
        def cell(key, p):
            vals = r[key][p]
            return (f"{100 * statistics.mean(vals):.2f}% ("
                    + ", ".join(f"{100 * v:.2f}" for v in vals) + ")")
        out.append(f"| {r['workload']} | {r['n_train']:,} / {r['n_test']:,} | {r['epochs']} | "
                   f"last epoch | {cell('acc', 'float32')} | {cell('acc', 'mixed_bfloat16')} | "
                   f"{r['diff_pp']:+.2f} pp | (not judged) | – |")
        out.append(f"| | | | mean of the last {r['tail']} epochs | {cell('tail_acc', 'float32')} "
                   f"| {cell('tail_acc', 'mixed_bfloat16')} | {r['tail_diff_pp']:+.2f} pp | "
                   f"{'yes' if r['met'] else 'NO'} | "
                   f"{statistics.median(r['fit_s']['float32']):.1f} / "
                   f"{statistics.median(r['fit_s']['mixed_bfloat16']):.1f} |")
    out.append("")
    out.append(f"lamina {lamina.__version__}, ISA {lamina.cpu_info()['isa']}, {threads} "
               "thread(s); seeds 0..N-1 (initialization and shuffling), the same for both "
               "policies.")
    return "\n".join(out)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--tail", type=int, default=5, help="epochs in the tail mean")
    p.add_argument("--quick", action="store_true", help="smaller data and fewer epochs")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    lamina.set_num_threads(args.threads)
    rows = run(args.seeds, args.quick, args.tail)
    print()
    print(to_markdown(rows, args.threads))
    return 0 if all(r["met"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
