"""bf16 GEMM: lamina gemm_bf16 vs lamina float32 vs torch bf16 / float32 matmul, and the peaks.

Each (library, threads) pair runs in a fresh subprocess (LAMINA/OMP/MKL_NUM_THREADS and
torch.set_num_threads set), the pairs alternating round by round (A B C D A B C D ...), so
no library's idle threads or cache state leak into another's timing. Every subprocess times
each shape in batches of about --min-time seconds and reports the best of --reps batches
(GFLOP/s = 2*m*n*k / t); the table shows the median over --rounds of those.

What is timed:
- lamina-bf16: _core.matmul_bf16 on float32 arrays (rounding to bf16 happens while packing,
  inside the timed call);
- lamina-f32:  _core.matmul (the float32 GEMM);
- torch-bf16:  torch.mm on bfloat16 tensors converted beforehand (oneDNN / mkldnn bf16 GEMM,
  output bf16; the conversion of the inputs is not timed, which favours torch);
- torch-f32:   torch.mm on float32 tensors.
The header reports the measured one-core peaks: float32 FMA (fma_peak_gflops) and vdpbf16ps
(bf16_dot_peak_gflops: 2 flop per bf16 product), and the target of issue 20 (bf16 GEMM >= 80%
of twice the FMA peak at 1024^3).

    python benchmarks/bench_gemm_bf16.py                       # 1 and 2 threads
    python benchmarks/bench_gemm_bf16.py --threads 1 --shapes sq1024 --rounds 3
    python benchmarks/bench_gemm_bf16.py --threads 1 --clock cpu  # on a busy machine

--clock cpu times with the calling thread's CPU time (time.thread_time): at 1 thread every
library computes on the calling thread, so time lost to other processes sharing the cores is
left out (their cache pollution is not). 2 threads need the wall clock.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

# name: (m, n, k, trans_a, trans_b, description)
SHAPES = {
    "sq1024": (1024, 1024, 1024, False, False, "1024^3"),
    "sq512": (512, 512, 512, False, False, "512^3"),
    "fwd": (128, 512, 784, False, False, "X.W (128x784).(784x512)"),
    "dW": (784, 512, 128, True, False, "X^T.dY (784x128)^T.(128x512)"),
    "dX": (128, 784, 512, False, True, "dY.W^T (128x512).(784x512)^T"),
    "fwd2": (128, 256, 512, False, False, "H.W2 (128x512).(512x256)"),
}
LIBS = ("lamina-bf16", "lamina-f32", "torch-bf16", "torch-f32")


def _worker(args) -> None:
    import numpy as np

    import lamina
    from lamina import _core

    threads = args.threads[0]
    lib = args.libs[0]
    clock = time.thread_time if args.clock == "cpu" else time.perf_counter
    lamina.set_num_threads(threads)
    rng = np.random.default_rng(0)
    out = {"lib": lib, "threads": threads, "results": {}}
    if lib.startswith("torch"):
        try:
            import torch
        except ImportError:
            print(json.dumps({**out, "missing": True}))
            return
        torch.set_num_threads(threads)
    else:
        out["kernel"] = _core.gemm_kernel_name("bfloat16" if lib == "lamina-bf16" else "float32")
    for name in args.shapes:
        m, n, k, ta, tb, _ = SHAPES[name]
        a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
        b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
        if lib == "lamina-bf16":
            c = np.empty((m, n), np.float32)

            def call():
                _core.matmul_bf16(a, b, trans_a=ta, trans_b=tb, out=c)

            call()
            # The timed result is right: the float64 product of the rounded operands.
            ra = _core.round_to_bf16(a).astype(np.float64)
            rb = _core.round_to_bf16(b).astype(np.float64)
            exact = (ra.T if ta else ra) @ (rb.T if tb else rb)
            assert np.max(np.abs(c - exact)) <= 1e-5 * k * np.max(np.abs(exact))
        elif lib == "lamina-f32":
            c = np.empty((m, n), np.float32)

            def call():
                _core.matmul(a, b, trans_a=ta, trans_b=tb, out=c)
        else:
            dt = torch.bfloat16 if lib == "torch-bf16" else torch.float32
            ta_t = torch.from_numpy(a).to(dt)
            tb_t = torch.from_numpy(b).to(dt)
            opa = ta_t.t() if ta else ta_t
            opb = tb_t.t() if tb else tb_t

            def call():
                torch.mm(opa, opb)

        call()
        # Batch size: about min_time seconds per batch.
        t0 = clock()
        call()
        one = max(clock() - t0, 1e-6)
        batch = max(1, int(args.min_time / one))
        best = 0.0
        for _ in range(args.reps):
            t0 = clock()
            for _ in range(batch):
                call()
            dt_ = (clock() - t0) / batch
            best = max(best, 2.0 * m * n * k / dt_ * 1e-9)
        out["results"][name] = best
    print(json.dumps(out))


def _peaks(tries: int = 5) -> dict:
    """The probes time with the wall clock: on a busy machine take the best of a few runs."""
    code = ("import json; from lamina import _core; "
            "print(json.dumps({'fma': _core.fma_peak_gflops(0.3), "
            "'dot': _core.bf16_dot_peak_gflops(0.3), 'isa': _core.active_isa()}))")
    best: dict = {}
    for _ in range(tries):
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True)
        got = json.loads(r.stdout)
        best = {k: max(best.get(k, 0.0), got[k]) if k != "isa" else got[k] for k in got}
    return best


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--shapes", nargs="+", default=list(SHAPES), choices=list(SHAPES))
    p.add_argument("--libs", nargs="+", default=list(LIBS), choices=list(LIBS))
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--min-time", type=float, default=0.1)
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        _worker(args)
        return

    peaks = _peaks()
    results: dict = {}
    kernels: dict = {}
    for _ in range(args.rounds):
        for t in args.threads:
            for lib in args.libs:
                env = dict(os.environ)
                for var in ("LAMINA_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                            "OPENBLAS_NUM_THREADS"):
                    env[var] = str(t)
                cmd = [sys.executable, __file__, "--worker", "--threads", str(t), "--libs", lib,
                       "--reps", str(args.reps), "--min-time", str(args.min_time),
                       "--clock", args.clock,
                       "--shapes", *args.shapes]
                r = subprocess.run(cmd, env=env, capture_output=True, text=True)
                if r.returncode != 0:
                    raise SystemExit(f"worker {lib} t={t} failed:\n{r.stderr}")
                res = json.loads(r.stdout.strip().splitlines()[-1])
                if res.get("missing"):
                    continue
                kernels[lib] = res.get("kernel", "")
                for shape, g in res["results"].items():
                    results.setdefault((shape, t, lib), []).append(g)

    fma, dot = peaks["fma"], peaks["dot"]
    print(f"isa {peaks['isa']}; one-core peaks: float32 FMA {fma:.1f} GFLOP/s, "
          f"vdpbf16ps {dot:.1f} GFLOP/s ({dot / fma if fma else 0:.2f}x FMA); target "
          f"bf16 1024^3 >= 0.8 * 2 * FMA = {1.6 * fma:.1f} GFLOP/s")
    print("kernels: " + ", ".join(f"{k} {v}" for k, v in kernels.items() if v))
    print(f"GFLOP/s, median of {args.rounds} rounds (each the best of {args.reps} batches, "
          f"{args.clock} clock), each library and thread count in its own process")
    libs = [lib for lib in args.libs if any(key[2] == lib for key in results)]
    print("| shape | threads | " + " | ".join(libs) + " | bf16/f32 | bf16/torch-bf16 |")
    print("|---|---|" + "---|" * len(libs) + "---|---|")
    for shape in args.shapes:
        for t in args.threads:
            med = {lib: statistics.median(results[(shape, t, lib)]) for lib in libs
                   if (shape, t, lib) in results}
            cells = [f"{med[lib]:.1f}" if lib in med else "-" for lib in libs]
            r1 = (f"{med['lamina-bf16'] / med['lamina-f32']:.2f}"
                  if "lamina-bf16" in med and "lamina-f32" in med else "-")
            r2 = (f"{med['lamina-bf16'] / med['torch-bf16']:.2f}"
                  if "lamina-bf16" in med and "torch-bf16" in med else "-")
            print(f"| {SHAPES[shape][5]} | {t} | " + " | ".join(cells) + f" | {r1} | {r2} |")


if __name__ == "__main__":
    main()
