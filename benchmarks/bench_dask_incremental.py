"""Data beyond memory: dask-ml's ``Incremental(LaminaClassifier)`` on a Dask array of 2
million rows against an in-memory fit on the same rows (issue 19).

The data: a 4-class problem in 10 features labelled by a fixed random tanh network with
label noise, generated block by block (block ``i`` from seed ``(seed, i)``), so the Dask
array is never materialized by the incremental fit: each ``partial_fit`` task computes its
block on the worker. The cluster is a ``distributed.LocalCluster`` on the loopback
(``processes=False``, one worker with 2 threads, the dashboard on a free port).

Compared, with the same hyperparameters and the same number of passes over the data:

1. ``in-memory``: ``LaminaClassifier(epochs=PASSES).fit(x, y)`` on the computed arrays;
2. ``Incremental``: ``Incremental(LaminaClassifier(...)).partial_fit(x, y, classes=...)``
   called PASSES times on the Dask array (blocks shuffled, one epoch per block per pass);
3. ``model.fit(dask)``: the Keras API's ``model.fit`` on the Dask arrays themselves
   (partitions streamed, shuffled within and between partitions).

Each is scored on a held-out test set of 200,000 rows. Target: the accuracy of (2) within
1 percentage point of (1).

Run: ``python benchmarks/bench_dask_incremental.py`` (``--rows``, ``--chunk``, ``--passes``).
Needs ``lamina[dask]`` (dask[distributed], dask-ml).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np

N_FEATURES, N_CLASSES = 10, 4


def teacher_block(i, rows, seed):
    """Block ``i``: ``(x float32 (rows, 10), y int64 (rows,))``, the same for (seed, i)."""
    t = np.random.default_rng(1234)
    w1, w2 = t.normal(size=(N_FEATURES, 16)), t.normal(size=(16, N_CLASSES))
    rng = np.random.default_rng((seed, i))
    x = rng.normal(size=(rows, N_FEATURES)).astype(np.float32)
    logits = np.tanh(x @ w1) @ w2 + 0.5 * rng.normal(size=(rows, N_CLASSES))
    return x, np.argmax(logits, axis=1).astype(np.int64)


def dask_classification(n, chunk, seed):
    import dask
    import dask.array as da

    xs, ys = [], []
    for i, start in enumerate(range(0, n, chunk)):
        rows = min(chunk, n - start)
        block = dask.delayed(teacher_block, nout=2)(i, rows, seed)
        xs.append(da.from_delayed(block[0], shape=(rows, N_FEATURES), dtype=np.float32))
        ys.append(da.from_delayed(block[1], shape=(rows,), dtype=np.int64))
    return da.concatenate(xs), da.concatenate(ys)


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--chunk", type=int, default=200_000)
    ap.add_argument("--passes", type=int, default=2)
    ap.add_argument("--test-rows", type=int, default=200_000)
    args = ap.parse_args(argv)

    import distributed
    from dask_ml.wrappers import Incremental

    import lamina
    from lamina.sklearn import LaminaClassifier

    kw = dict(hidden_layer_sizes=(32,), learning_rate=0.003, batch_size=200, random_state=0)
    x, y = dask_classification(args.rows, args.chunk, seed=0)
    xte, yte = teacher_block(0, args.test_rows, 1)
    out = {"rows": args.rows, "chunk": args.chunk, "blocks": len(x.chunks[0]),
           "passes": args.passes, "cpu": cpu_name(),
           "cores": os.cpu_count(), "lamina_threads": lamina.get_num_threads()}

    def cluster():
        return distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                        dashboard_address=":0")  # no fixed port

    with cluster() as c, distributed.Client(c):
        t0 = time.perf_counter()
        inc = Incremental(LaminaClassifier(**kw), shuffle_blocks=True, random_state=0)
        for _ in range(args.passes):
            inc.partial_fit(x, y, classes=np.arange(N_CLASSES))
        t_inc = time.perf_counter() - t0

    # A cluster of its own: dask-ml submits the array's unoptimized graph and dask.compute
    # an optimized one, and one scheduler given both for the same keys may fail
    # (dask/dask#9888, "Detected different run_spec").
    with cluster() as c, distributed.Client(c):
        t0 = time.perf_counter()
        model = lamina.Sequential([lamina.Input((N_FEATURES,)),
                                   lamina.layers.Dense(32, activation="relu"),
                                   lamina.layers.Dense(N_CLASSES, activation="softmax")],
                                  seed=0)
        model.compile(optimizer=lamina.optimizers.Adam(0.003),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(x, y, batch_size=200, epochs=args.passes, verbose=0)
        t_stream = time.perf_counter() - t0
        acc_stream = float(np.mean(model.predict(xte, verbose=0).argmax(axis=1) == yte))

    # The same rows in memory, generated block by block as the Dask array is.
    t0 = time.perf_counter()
    starts = range(0, args.rows, args.chunk)
    blocks = [teacher_block(i, min(args.chunk, args.rows - s), 0) for i, s in enumerate(starts)]
    xm, ym = np.concatenate([b[0] for b in blocks]), np.concatenate([b[1] for b in blocks])
    del blocks
    t_compute = time.perf_counter() - t0
    t0 = time.perf_counter()
    mem = LaminaClassifier(epochs=args.passes, tol=None, **kw).fit(xm, ym)
    t_mem = time.perf_counter() - t0

    acc_mem, acc_inc = mem.score(xte, yte), inc.estimator_.score(xte, yte)
    out["results"] = {
        "in-memory": {"seconds": round(t_mem, 2), "accuracy": round(acc_mem, 4),
                      "generate_seconds": round(t_compute, 2)},
        "Incremental": {"seconds": round(t_inc, 2), "accuracy": round(acc_inc, 4),
                        "epochs_run": inc.estimator_.n_iter_},
        "model.fit(dask)": {"seconds": round(t_stream, 2), "accuracy": round(acc_stream, 4)},
    }
    out["accuracy_gap_points"] = round(100 * abs(acc_inc - acc_mem), 3)
    out["within_1_point"] = bool(abs(acc_inc - acc_mem) <= 0.01)
    print(json.dumps(out, indent=2))
    return 0 if out["within_1_point"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
