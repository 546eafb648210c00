"""Epoch cost of a Python custom loss against the fused built-in loss, on mnist-mlp.

mnist-mlp is the benchmark suite's workload (784-512-256-10 ReLU, softmax, Adam 1e-3,
batch 128, synthetic MNIST-sized data from a linear teacher). Both models train in one
process with their epochs interleaved (built-in, custom, built-in, ...), so a noisy machine
slows both alike:

- ``builtin``: ``loss="sparse_categorical_crossentropy"``, fused with the softmax in the core;
- ``custom``: the same loss written with ``lamina.ops`` (``sparse_categorical_crossentropy``
  from the probabilities): forward in the core, loss and gradient on the tape in Python,
  backward and update in the core (lamina.custom_loss).

Reported: the median epoch time of each after the first epoch, and custom / builtin - 1
(target: <= 25%). Both must learn (test accuracy well above chance; the script checks it):
their accuracies differ a little, since Keras's loss from probabilities clips them where the
fused built-in works on the logits.

Run: python benchmarks/bench_custom_loss.py [--n-train 60000] [--epochs 4] [--threads N]
"""

import argparse
import statistics
import time

import numpy as np

import lamina
from lamina import ops
from lamina.bench.workloads import make_teacher_data


def custom_sparse_cce(y_true, y_pred):
    return ops.sparse_categorical_crossentropy(y_true, y_pred)


def make_model(loss):
    model = lamina.Sequential([lamina.Input((784,)),
                               lamina.layers.Dense(512, activation="relu"),
                               lamina.layers.Dense(256, activation="relu"),
                               lamina.layers.Dense(10, activation="softmax")], seed=0)
    model.compile(optimizer=lamina.optimizers.Adam(1e-3), loss=loss,
                  metrics=["sparse_categorical_accuracy"])
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-train", type=int, default=60000)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        lamina.set_num_threads(args.threads)
    x, y, xt, yt = make_teacher_data(args.n_train, 1000)
    models = {"builtin": make_model("sparse_categorical_crossentropy"),
              "custom": make_model(custom_sparse_cce)}
    times = {k: [] for k in models}
    for _ in range(args.epochs):
        for name, model in models.items():
            t0 = time.perf_counter()
            model.fit(x, y, batch_size=128, epochs=1, verbose=0, shuffle=True)
            times[name].append(time.perf_counter() - t0)
    med = {k: statistics.median(v[1:] if len(v) > 1 else v) for k, v in times.items()}
    acc = {k: float(np.mean(np.argmax(m.predict(xt, verbose=0), axis=1) == yt))
           for k, m in models.items()}
    print(f"mnist-mlp, {args.n_train} samples, batch 128, {lamina.get_num_threads()} "
          f"thread(s), {args.epochs} interleaved epochs each")
    for k in models:
        print(f"  {k:8s} median s/epoch {med[k]:.3f}  (all: "
              f"{', '.join(f'{t:.3f}' for t in times[k])})  test acc {acc[k]:.4f}")
    overhead = med["custom"] / med["builtin"] - 1
    print(f"  custom loss cost: {100 * overhead:+.1f}% per epoch (target <= +25%)")
    assert min(acc.values()) > 0.2, acc  # 10 classes: chance is 0.1
    return overhead


if __name__ == "__main__":
    main()
