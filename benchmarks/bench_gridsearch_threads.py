"""GridSearchCV(LaminaClassifier) with n_jobs=2 against n_jobs=1, on 2 cores.

With n_jobs=1 the fits run one after another in this process, each on both cores. With
n_jobs=2, joblib's loky workers fit two at once; each worker gets ``OMP_NUM_THREADS`` = cores
// 2, which lamina's core honours (and threadpoolctl limits reach it too), so the two workers
share the cores instead of running 2 x 2 threads. The third row forces every worker to use
every core (``n_threads=cores``: what happened before lamina cooperated) to show the cost of
oversubscription.

Run: ``python benchmarks/bench_gridsearch_threads.py [--repeats 3] [--epochs 30]``. Needs
``lamina[sklearn]`` and joblib. The process pins itself (and so its workers) to 2 cores
when it may run on more. Quote the ratios from one run, with the CPU it ran on.
"""

from __future__ import annotations

import argparse
import os
import platform
import time


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timings per setting (min kept)")
    parser.add_argument("--epochs", type=int, default=30, help="epochs of each fit")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) > 2:
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:2])

    import joblib
    import numpy as np
    from sklearn.model_selection import GridSearchCV

    import lamina
    from lamina.sklearn import LaminaClassifier

    (x, y), _ = lamina.datasets.load_digits()
    x = np.asarray(x, np.float32) / 16.0
    cores = lamina.cpu_info()["usable_cores"]
    grid = {"learning_rate": [1e-3, 3e-3], "alpha": [1e-4, 1e-3]}  # 4 points x 3 folds

    def search(n_jobs, n_threads=None):
        est = LaminaClassifier((256, 128), epochs=args.epochs, tol=None, batch_size=64,
                               random_state=0, n_threads=n_threads)
        gs = GridSearchCV(est, grid, cv=3, n_jobs=n_jobs, refit=False)
        t0 = time.perf_counter()
        gs.fit(x, y)
        return time.perf_counter() - t0, float(gs.best_score_)

    # start the loky workers (and their imports) once, outside the timings
    joblib.Parallel(n_jobs=2)(joblib.delayed(lamina.get_num_threads)() for _ in range(2))
    rows = []
    for label, n_jobs, n_threads in (("n_jobs=1 (2 threads per fit)", 1, None),
                                     ("n_jobs=2 (cooperating: cores // 2 per worker)", 2, None),
                                     ("n_jobs=2, n_threads=cores (oversubscribed)", 2, cores)):
        times, score = [], None
        for _ in range(args.repeats):
            seconds, score = search(n_jobs, n_threads)
            times.append(seconds)
        rows.append((label, min(times), score))
    base = rows[0][1]
    print(f"\n## GridSearchCV(LaminaClassifier), 12 fits of {args.epochs} epochs on the digits, "
          f"{cores} cores ({platform.processor() or platform.machine()}; "
          f"{lamina.cpu_info()['model']})\n")
    print("| setting | seconds (min of %d) | vs n_jobs=1 | best score |" % args.repeats)
    print("|---|---|---|---|")
    for label, seconds, score in rows:
        print(f"| {label} | {seconds:.2f} | {base / seconds:.2f}x | {score:.4f} |")


if __name__ == "__main__":
    main()
