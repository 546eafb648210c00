"""lamina's float32 GEMM side by side with numpy (OpenBLAS) and torch (MKL), in one run.

Every thread count runs in a fresh subprocess with OPENBLAS/OMP/MKL/LAMINA_NUM_THREADS set
(and torch.set_num_threads), so each library really uses that many threads. Within a
subprocess the frameworks are interleaved shape by shape and repeat by repeat, with a short
sleep (--gap) before each timed batch: OpenBLAS's idle threads keep spinning (yielding) for
tens of ms after a call and would otherwise steal the 2 cores from whichever library runs
next (measured: lamina's 2-thread (128x784)(784x512) fell from ~390 to ~60 GFLOP/s). The table
shows the median GFLOP/s (2*m*n*k / t) of several repeats, each the mean of a batch of calls
that lasts about --min-time seconds. Results go to stdout as a markdown table.

    python benchmarks/compare_gemm.py                 # 1 and 2 threads, all shapes
    python benchmarks/compare_gemm.py --threads 1 --shapes sq1024 --reps 9
    python benchmarks/compare_gemm.py --threads 1 --clock cpu   # on a busy machine

--clock cpu times with the calling thread's CPU time (time.thread_time) instead of the wall
clock: at 1 thread every library computes on the calling thread, so time lost to other
processes sharing the cores is left out (their cache pollution is not). 2 threads need wall.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

# name: (m, n, k, trans_a, trans_b, description)
SHAPES = {
    "sq128": (128, 128, 128, False, False, "128^3"),
    "sq256": (256, 256, 256, False, False, "256^3"),
    "sq512": (512, 512, 512, False, False, "512^3"),
    "sq1024": (1024, 1024, 1024, False, False, "1024^3"),
    "sq2048": (2048, 2048, 2048, False, False, "2048^3"),
    "fwd": (128, 512, 784, False, False, "X.W (128x784).(784x512)"),
    "dW": (784, 512, 128, True, False, "X^T.dY (784x128).(128x512)"),
    "dX": (128, 784, 512, False, True, "dY.W^T (128x512).(512x784)^T"),
    "out10": (128, 10, 256, False, False, "(128x256).(256x10)"),
    "small": (32, 32, 64, False, False, "(32x64).(64x32)"),
}
FRAMEWORKS = ("lamina", "numpy", "torch")


def _worker(args):
    import numpy as np

    import lamina
    from lamina import _core, ops

    threads = args.threads[0]
    clock = time.thread_time if args.clock == "cpu" else time.perf_counter
    lamina.set_num_threads(threads)
    fws = {}
    rng = np.random.default_rng(0)
    try:
        import torch

        torch.set_num_threads(threads)
        have_torch = True
    except ImportError:
        have_torch = False

    results = {"threads": threads, "shapes": {}, "kernel": _core.gemm_kernel_name("float32"),
               "isa": _core.active_isa(), "torch": have_torch}
    if threads == 1:
        results["peak"] = max(_core.fma_peak_gflops(0.25) for _ in range(3))
    for name in args.shapes:
        m, n, k, ta, tb, _ = SHAPES[name]
        a = rng.uniform(-1, 1, (k, m) if ta else (m, k)).astype(np.float32)
        b = rng.uniform(-1, 1, (n, k) if tb else (k, n)).astype(np.float32)
        opa = a.T if ta else a
        opb = b.T if tb else b
        outs = {f: np.empty((m, n), np.float32) for f in FRAMEWORKS}
        fws = {
            "lamina": lambda: ops.matmul(a, b, trans_a=ta, trans_b=tb, out=outs["lamina"]),
            "numpy": lambda: np.matmul(opa, opb, out=outs["numpy"]),
        }
        if have_torch:
            ta_t = torch.from_numpy(a)
            tb_t = torch.from_numpy(b)
            opa_t = ta_t.t() if ta else ta_t
            opb_t = tb_t.t() if tb else tb_t
            out_t = torch.from_numpy(outs["torch"])
            fws["torch"] = lambda: torch.matmul(opa_t, opb_t, out=out_t)
        # Calibrate a batch size per framework (and warm up).
        batch = {}
        for f, fn in fws.items():
            fn()
            t0 = time.perf_counter()
            fn()
            dt = max(time.perf_counter() - t0, 1e-7)
            batch[f] = max(1, int(args.min_time / dt))
        times = {f: [] for f in fws}
        # 1024^3 at 1 thread: the FMA peak is measured right before and after each lamina
        # batch, so the efficiency compares the two at the same clock frequency (the boost
        # clock of this shared machine drifts by ~10% over a run).
        track_peak = threads == 1 and name == "sq1024"
        peak_at = []
        for _ in range(args.reps):
            for f, fn in fws.items():
                time.sleep(args.gap)  # let the previous library's spinning threads go idle
                if track_peak and f == "lamina":
                    p_before = _core.fma_peak_gflops(args.min_time)
                # The calibrated batch, cut short (in chunks of 1/8) once it has run 5x longer
                # than planned: a busy machine must not turn one batch into minutes.
                nb, chunk = batch[f], max(1, batch[f] // 8)
                done = 0
                t0 = clock()
                while done < nb:
                    for _ in range(chunk):
                        fn()
                    done += chunk
                    if clock() - t0 > 5 * args.min_time:
                        break
                times[f].append((clock() - t0) / done)
                if track_peak and f == "lamina":
                    peak_at.append((p_before + _core.fma_peak_gflops(args.min_time)) / 2)
        ref = opa.astype(np.float64) @ opb.astype(np.float64)
        scale = np.abs(opa).astype(np.float64) @ np.abs(opb).astype(np.float64)
        for f in fws:
            err = float((np.abs(outs[f] - ref) / scale).max())
            assert err < 1e-5, f"{f} {name}: relative error {err}"
        flop = 2.0 * m * n * k
        res = {f: flop / statistics.median(t) * 1e-9 for f, t in times.items()}
        res.update({f + "_best": flop / min(t) * 1e-9 for f, t in times.items()})
        # Ratios per repeat (frameworks timed back to back), then the median: robust to load
        # that drifts over the run.
        for f in fws:
            if f != "lamina":
                res["ratio_" + f] = statistics.median(
                    tf / tl for tf, tl in zip(times[f], times["lamina"]))
        if peak_at:
            res["efficiency"] = statistics.median(
                flop / t * 1e-9 / pk for t, pk in zip(times["lamina"], peak_at))
            res["peak_at"] = statistics.median(peak_at)
        results["shapes"][name] = res
    print("RESULT " + json.dumps(results))


def _run_threads(t, args):
    env = dict(os.environ)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                "LAMINA_NUM_THREADS"):
        env[var] = str(t)
    cmd = [sys.executable, __file__, "--worker", "--threads", str(t), "--reps", str(args.reps),
           "--clock", args.clock, "--gap", str(args.gap),
           "--min-time", str(args.min_time), "--shapes", *args.shapes]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        sys.exit(f"worker for {t} thread(s) failed:\n{proc.stdout}\n{proc.stderr}")
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--shapes", nargs="+", default=list(SHAPES), choices=list(SHAPES))
    p.add_argument("--reps", type=int, default=7)
    p.add_argument("--min-time", type=float, default=0.02)
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    p.add_argument("--gap", type=float, default=0.1,
                   help="seconds of sleep before each timed batch (default 0.1)")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.clock == "cpu" and any(t != 1 for t in args.threads):
        p.error("--clock cpu measures one thread only: use --threads 1")
    if args.worker:
        _worker(args)
        return

    print(f"# GEMM float32, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"CPU: {_cpu_name()}, {os.cpu_count()} cores")
    print(f"# command: python benchmarks/compare_gemm.py {' '.join(sys.argv[1:])}".rstrip())
    runs = [_run_threads(t, args) for t in args.threads]
    r0 = runs[0]
    print(f"# lamina kernel {r0['kernel']} (isa {r0['isa']}); torch "
          f"{'present' if r0['torch'] else 'not installed'}; median of {args.reps} repeats; "
          f"{args.clock} clock")
    peak = next((r["peak"] for r in runs if "peak" in r), None)
    if peak:
        print(f"# FMA peak (1 core, float32, measured): {peak:.1f} GFLOP/s")
    print()
    print("GFLOP/s are medians over the repeats; ratios are medians of per-repeat ratios "
          "(time of the other library / time of lamina, measured back to back).\n")
    print("| shape | thr | lamina GFLOP/s | numpy GFLOP/s | torch GFLOP/s | lamina/numpy "
          "| lamina/torch |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name in args.shapes:
        for r in runs:
            s = r["shapes"][name]
            tor = f"{s['torch']:.0f}" if "torch" in s else "-"
            rt = f"{s['ratio_torch']:.2f}" if "ratio_torch" in s else "-"
            print(f"| {SHAPES[name][5]} | {r['threads']} | {s['lamina']:.0f} | {s['numpy']:.0f} "
                  f"| {tor} | {s['ratio_numpy']:.2f} | {rt} |")
    if peak and "sq1024" in args.shapes:
        for r in runs:
            if r["threads"] == 1:
                g = r["shapes"]["sq1024"]["lamina"]
                gb = r["shapes"]["sq1024"]["lamina_best"]
                print(f"\n1024^3 at 1 thread: {g:.0f} GFLOP/s median ({gb:.0f} best) = "
                      f"{100 * g / peak:.0f}% ({100 * gb / peak:.0f}%) of the best FMA peak "
                      f"of the run ({peak:.0f} GFLOP/s)")
                s = r["shapes"]["sq1024"]
                if "efficiency" in s:
                    print(f"1024^3 at 1 thread against the peak measured around each batch "
                          f"(median {s['peak_at']:.0f} GFLOP/s): {100 * s['efficiency']:.0f}% "
                          f"(median of per-repeat ratios)")


if __name__ == "__main__":
    main()
