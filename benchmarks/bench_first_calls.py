"""Per-call GFLOP/s of the first calls of a GEMM in a fresh process, and which threads of
the process were busy (CPU ticks and last CPU, from /proc): tells a slow thread pool from a
thread of another library sharing a core (numpy's OpenBLAS workers spin ~0.1 s after
`import numpy`). Linux only (/proc).

    python benchmarks/bench_first_calls.py lamina dW --threads 2 --calls 300
    for r in 1 2 3; do for lib in lamina numpy; do
        python benchmarks/bench_first_calls.py $lib dW --threads 2; done; done

Prints one line per process: median GFLOP/s of calls 1-10, 11-30 and the last 20, and the
(ticks, cpu) of every thread that used more than 2 ticks.
"""

import argparse
import glob
import os
import time

import numpy as np

SHAPES = {"sq1024": (1024, 1024, 1024), "fwd": (128, 784, 512), "dW": (784, 128, 512),
          "dX": (128, 512, 784)}  # (m, k, n) of op(A) (m x k) . op(B) (k x n)


def busy_threads(min_ticks=2):
    """(utime + stime ticks, last CPU) of each thread of this process above min_ticks."""
    out = []
    for path in sorted(glob.glob(f"/proc/{os.getpid()}/task/*/stat")):
        try:
            fields = open(path).read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks = int(fields[11]) + int(fields[12])
        if ticks > min_ticks:
            out.append((ticks, int(fields[36])))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("lib", choices=["lamina", "numpy"])
    ap.add_argument("shape", choices=sorted(SHAPES))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--calls", type=int, default=300)
    args = ap.parse_args()
    m, k, n = SHAPES[args.shape]
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    if args.shape == "dW":  # op(A) = X^T of a (k x m) X
        a = np.ascontiguousarray(a.T).T
    if args.shape == "dX":  # op(B) = W^T of a (n x k) W
        b = np.ascontiguousarray(b.T).T
    if args.lib == "lamina":
        import lamina

        lamina.set_num_threads(args.threads)

        def f():
            return lamina.kernels.matmul(a, b)
    else:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)

        def f():
            return a @ b
    rates = []
    for _ in range(args.calls):
        t0 = time.perf_counter()
        f()
        rates.append(2.0 * m * n * k / (time.perf_counter() - t0) / 1e9)
    print(f"{args.lib} {args.shape} threads={args.threads} GFLOP/s calls 1-10 "
          f"{np.median(rates[:10]):.0f}, 11-30 {np.median(rates[10:30]):.0f}, last 20 "
          f"{np.median(rates[-20:]):.0f}; busy threads (ticks, cpu) {busy_threads()}")


if __name__ == "__main__":
    main()
