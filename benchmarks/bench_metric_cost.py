"""Epoch cost of the metrics that run in numpy (AUC, Precision, Recall, F1Score, ...) on
mnist-mlp, against the core-only metrics (issue 15: a metric must not make an epoch more
than 10% slower).

mnist-mlp is the benchmark suite's workload (784-512-256-10 ReLU, softmax, Adam 1e-3,
batch 128, synthetic MNIST-sized data). Each configuration trains its own model; their
epochs are interleaved in one process (config A, config B, ..., then the next epoch), so a
noisy machine slows all alike. Reported: the median epoch time after the first, and the cost
relative to ``metrics=["accuracy"]`` (computed inside the core's step).

Run: python benchmarks/bench_metric_cost.py [--n-train 60000] [--epochs 4] [--threads N]
"""

import argparse
import statistics
import time

import lamina
from lamina.bench.workloads import make_teacher_data

CONFIGS = {
    "accuracy (core)": lambda: ["accuracy"],
    "+ AUC": lambda: ["accuracy", lamina.metrics.AUC(name="auc")],
    "+ Precision, Recall": lambda: ["accuracy", lamina.metrics.Precision(name="precision"),
                                    lamina.metrics.Recall(name="recall")],
    "+ F1Score(macro)": lambda: ["accuracy", lamina.metrics.F1Score(average="macro")],
}


def make_model(metrics):
    model = lamina.Sequential([lamina.Input((784,)),
                               lamina.layers.Dense(512, activation="relu"),
                               lamina.layers.Dense(256, activation="relu"),
                               lamina.layers.Dense(10, activation="softmax")], seed=0)
    model.compile(optimizer=lamina.optimizers.Adam(1e-3), loss="categorical_crossentropy",
                  metrics=metrics)
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=60000)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        lamina.set_num_threads(args.threads)
    x, y, _, _ = make_teacher_data(args.n_train, 1000)
    y = lamina.utils.to_categorical(y, 10).astype("float32")
    models = {name: make_model(make()) for name, make in CONFIGS.items()}
    times = {name: [] for name in CONFIGS}
    for _ in range(args.epochs):
        for name, model in models.items():
            t0 = time.perf_counter()
            model.fit(x, y, batch_size=128, epochs=1, verbose=0)
            times[name].append(time.perf_counter() - t0)
    base = statistics.median(times["accuracy (core)"][1:])
    print(f"mnist-mlp, {args.n_train} samples, batch 128, {lamina.get_num_threads()} "
          f"thread(s), {args.epochs} interleaved epochs each")
    for name, ts in times.items():
        med = statistics.median(ts[1:])
        print(f"  {name:<22} median s/epoch {med:.3f}  cost {100 * (med / base - 1):+.1f}%")


if __name__ == "__main__":
    main()
