"""lamina's float32 GEMM side by side with numpy (OpenBLAS) and torch (MKL), in one run.

Every thread count runs in a fresh subprocess with OPENBLAS/OMP/MKL/LAMINA_NUM_THREADS set
(and torch.set_num_threads), so each library really uses that many threads. Within a
subprocess the frameworks are interleaved shape by shape and repeat by repeat, with a short
sleep (--gap) before each timed batch: OpenBLAS's idle threads keep spinning (yielding) for
tens of ms after a call and would otherwise steal the 2 cores from whichever library runs
next (measured: lamina's 2-thread (128x784)(784x512) fell from ~390 to ~60 GFLOP/s). The table
shows the median GFLOP/s (2*m*n*k / t) of several repeats, each the mean of a batch of calls
that lasts about --min-time seconds. Results go to stdout as a markdown table, headed by the
CPU (model, family/model, caches as lamina reads them, the GEMM blocks in use) and what each
library runs (lamina ISA, OpenBLAS core type, torch CPU capability).

--separate runs each library in its own fresh process (per thread count and round, the
libraries alternating: A B C A B C ...), as issue 23 measured; --rounds N repeats that and
reports the median over rounds of each round's median. --isa avx2 holds all three libraries to
AVX2 (LAMINA_ISA=avx2, OPENBLAS_CORETYPE=Haswell, ATEN_CPU_CAPABILITY=avx2,
MKL_ENABLE_INSTRUCTIONS=AVX2); --isa native (the default) removes OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE from the workers' environment, which some machines set, so OpenBLAS picks its
own kernel. --caches passes LAMINA_CACHES (lamina's blocking for another CPU's caches).

    python benchmarks/compare_gemm.py                 # 1 and 2 threads, all shapes
    python benchmarks/compare_gemm.py --threads 1 --shapes sq1024 --reps 9
    python benchmarks/compare_gemm.py --threads 1 --clock cpu   # on a busy machine
    # issue 23's table, native and held to AVX2:
    python benchmarks/compare_gemm.py --separate --rounds 3 --shapes fwd dW dX sq1024
    python benchmarks/compare_gemm.py --separate --rounds 3 --shapes fwd dW dX sq1024 --isa avx2

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
    libs = args.libs
    have_torch = False
    if "torch" in libs:  # only where asked: its OpenMP/MKL threads would share the cores
        try:
            import torch

            torch.set_num_threads(threads)
            have_torch = True
        except ImportError:
            pass
    results = {"threads": threads, "shapes": {}, "kernel": _core.gemm_kernel_name("float32"),
               "isa": _core.active_isa(), "torch": have_torch, "libs": libs,
               "cpu_info": {k: v for k, v in lamina.cpu_info().items() if k != "build"},
               "runtime": _runtime_info(have_torch)}
    if threads == 1 and "lamina" in libs:
        results["peak"] = max(_core.fma_peak_gflops(0.25) for _ in range(3))
    checks = []
    for name in args.shapes:
        m, n, k, ta, tb, _ = SHAPES[name]
        a = rng.uniform(-1, 1, (k, m) if ta else (m, k)).astype(np.float32)
        b = rng.uniform(-1, 1, (n, k) if tb else (k, n)).astype(np.float32)
        opa = a.T if ta else a
        opb = b.T if tb else b
        outs = {f: np.empty((m, n), np.float32) for f in FRAMEWORKS}
        fws = {}
        if "lamina" in libs:
            fws["lamina"] = lambda: ops.matmul(a, b, trans_a=ta, trans_b=tb, out=outs["lamina"])
        if "numpy" in libs:
            fws["numpy"] = lambda: np.matmul(opa, opb, out=outs["numpy"])
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
        # Checked after every shape is timed: the float64 reference runs on numpy's OpenBLAS,
        # whose worker threads then spin for a while (~0.1 s), sharing the cores with the next
        # shape's first batches in a lamina-only process.
        checks.append((name, opa, opb, {f: outs[f] for f in fws}))
        flop = 2.0 * m * n * k
        res = {f: flop / statistics.median(t) * 1e-9 for f, t in times.items()}
        res.update({f + "_best": flop / min(t) * 1e-9 for f, t in times.items()})
        # Ratios per repeat (frameworks timed back to back), then the median: robust to load
        # that drifts over the run.
        for f in fws:
            if f != "lamina" and "lamina" in fws:
                res["ratio_" + f] = statistics.median(
                    tf / tl for tf, tl in zip(times[f], times["lamina"]))
        if peak_at:
            res["efficiency"] = statistics.median(
                flop / t * 1e-9 / pk for t, pk in zip(times["lamina"], peak_at))
            res["peak_at"] = statistics.median(peak_at)
        results["shapes"][name] = res
    for name, opa, opb, outs in checks:
        ref = opa.astype(np.float64) @ opb.astype(np.float64)
        scale = np.abs(opa).astype(np.float64) @ np.abs(opb).astype(np.float64)
        for f, out in outs.items():
            err = float((np.abs(out - ref) / scale).max())
            assert err < 1e-5, f"{f} {name}: relative error {err}"
    print("RESULT " + json.dumps(results))


def _runtime_info(have_torch):
    """What each library runs: OpenBLAS's core type (threadpoolctl), torch's capability."""
    out = {}
    try:
        import threadpoolctl

        for pool in threadpoolctl.threadpool_info():
            if pool.get("internal_api") == "openblas":
                out["openblas"] = pool.get("architecture")
    except ImportError:
        pass
    if have_torch:
        import torch

        try:
            out["torch"] = torch.backends.cpu.get_cpu_capability()
        except AttributeError:
            pass
    return out


# Environment of the workers per --isa: native lets every library pick its best kernel;
# avx2 holds all three to AVX2 + FMA.
ISA_ENV = {
    "native": {"set": {}, "unset": ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "LAMINA_ISA",
                                    "ATEN_CPU_CAPABILITY", "MKL_ENABLE_INSTRUCTIONS")},
    "avx2": {"set": {"LAMINA_ISA": "avx2", "OPENBLAS_CORETYPE": "Haswell",
                     "ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"},
             "unset": ("OPENBLAS_L2_SIZE",)},
}


def _run_threads(t, args, libs=None):
    env = dict(os.environ)
    for var in ISA_ENV[args.isa]["unset"]:
        env.pop(var, None)
    env.update(ISA_ENV[args.isa]["set"])
    if args.caches:
        env["LAMINA_CACHES"] = args.caches
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                "LAMINA_NUM_THREADS"):
        env[var] = str(t)
    cmd = [sys.executable, __file__, "--worker", "--threads", str(t), "--reps", str(args.reps),
           "--clock", args.clock, "--gap", str(args.gap),
           "--min-time", str(args.min_time), "--shapes", *args.shapes,
           "--libs", *(libs or args.libs)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        sys.exit(f"worker for {t} thread(s) failed:\n{proc.stdout}\n{proc.stderr}")
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def _run_separate(t, args):
    """Each library in its own fresh process, --rounds times (libraries alternating); per
    shape the median over rounds of each library's median, and ratios of those medians."""
    per_lib = {lib: [] for lib in args.libs}
    for _ in range(args.rounds):
        for lib in args.libs:
            if lib == "torch":
                try:
                    import importlib.util

                    if importlib.util.find_spec("torch") is None:
                        continue
                except ImportError:
                    continue
            per_lib[lib].append(_run_threads(t, args, [lib]))
    base = next(r[0] for r in per_lib.values() if r)
    merged = {k: base[k] for k in ("threads", "kernel", "isa", "cpu_info")}
    merged["torch"] = bool(per_lib.get("torch"))
    merged["runtime"] = {}
    for runs in per_lib.values():
        for r in runs:
            merged["runtime"].update(r.get("runtime", {}))
    if per_lib.get("lamina") and "peak" in per_lib["lamina"][0]:
        merged["peak"] = max(r["peak"] for r in per_lib["lamina"])
    merged["shapes"] = {}
    for name in args.shapes:
        res = {}
        for lib, runs in per_lib.items():
            if not runs:
                continue
            res[lib] = statistics.median(r["shapes"][name][lib] for r in runs)
            res[lib + "_best"] = max(r["shapes"][name][lib + "_best"] for r in runs)
            if lib == "lamina":
                effs = [r["shapes"][name]["efficiency"] for r in runs
                        if "efficiency" in r["shapes"][name]]
                if effs:
                    res["efficiency"] = statistics.median(effs)
                    res["peak_at"] = statistics.median(r["shapes"][name]["peak_at"] for r in runs)
        if "lamina" in res:
            for lib in per_lib:
                if lib != "lamina" and lib in res:
                    res["ratio_" + lib] = res["lamina"] / res[lib]
        merged["shapes"][name] = res
    return merged


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _cpu_id():
    fields = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
    except OSError:
        return "?"
    return f"family {fields.get('cpu family', '?')} model {fields.get('model', '?')}"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--shapes", nargs="+", default=list(SHAPES), choices=list(SHAPES))
    p.add_argument("--reps", type=int, default=7)
    p.add_argument("--min-time", type=float, default=0.02)
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    p.add_argument("--gap", type=float, default=0.1,
                   help="seconds of sleep before each timed batch (default 0.1)")
    p.add_argument("--libs", nargs="+", default=list(FRAMEWORKS), choices=list(FRAMEWORKS))
    p.add_argument("--separate", action="store_true",
                   help="each library in its own fresh process (default: interleaved in one)")
    p.add_argument("--rounds", type=int, default=1,
                   help="with --separate: fresh-process rounds per library (default 1)")
    p.add_argument("--isa", choices=tuple(ISA_ENV), default="native",
                   help="native (default) or avx2: hold all three libraries to AVX2")
    p.add_argument("--caches", default=None,
                   help="LAMINA_CACHES for lamina's workers, e.g. l1d=32K,l2=512K,l3=32M")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.clock == "cpu" and any(t != 1 for t in args.threads):
        p.error("--clock cpu measures one thread only: use --threads 1")
    if args.worker:
        _worker(args)
        return

    if "lamina" not in args.libs:
        p.error("--libs must include lamina (the table's ratios are against it)")
    print(f"# GEMM float32, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"CPU: {_cpu_name()} ({_cpu_id()}), {os.cpu_count()} cores")
    print(f"# command: python benchmarks/compare_gemm.py {' '.join(sys.argv[1:])}".rstrip())
    env_set = " ".join(f"{k}={v}" for k, v in ISA_ENV[args.isa]["set"].items())
    print(f"# isa mode: {args.isa}" + (f" ({env_set})" if env_set else
                                       " (OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset)"))
    if args.separate:
        runs = [_run_separate(t, args) for t in args.threads]
    else:
        runs = [_run_threads(t, args) for t in args.threads]
    r0 = runs[0]
    ci = r0["cpu_info"]
    caches = ", ".join(f"{k} {v // 1024} KiB" for k, v in ci["caches"].items())
    b32 = ci["gemm_blocks"]["float32"]
    print(f"# lamina: model '{ci['model']}', caches per core {caches}"
          + (f" (LAMINA_CACHES={args.caches})" if args.caches else "")
          + f"; float32 blocks MR {b32['MR']} NR {b32['NR']} MC {b32['MC']} KC {b32['KC']} "
          f"NC {b32['NC']}")
    rt = r0.get("runtime", {})
    print(f"# lamina kernel {r0['kernel']} (isa {r0['isa']}); OpenBLAS core "
          f"{rt.get('openblas', '?')}; torch "
          f"{('capability ' + rt.get('torch', '?')) if r0['torch'] else 'not installed'}; "
          + (f"each library in its own process, median of {args.rounds} round(s) of "
             if args.separate else "libraries interleaved in one process, ")
          + f"median of {args.reps} repeats; {args.clock} clock")
    peak = next((r["peak"] for r in runs if "peak" in r), None)
    if peak:
        print(f"# FMA peak (1 core, float32, measured): {peak:.1f} GFLOP/s")
    print()
    if args.separate:
        print("GFLOP/s are medians over the rounds of each process's median; ratios are "
              "lamina's GFLOP/s / the other library's.\n")
    else:
        print("GFLOP/s are medians over the repeats; ratios are medians of per-repeat ratios "
              "(time of the other library / time of lamina, measured back to back).\n")
    print("| shape | thr | lamina GFLOP/s | numpy GFLOP/s | torch GFLOP/s | lamina/numpy "
          "| lamina/torch |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name in args.shapes:
        for r in runs:
            s = r["shapes"][name]
            cell = {f: (f"{s[f]:.0f}" if f in s else "-") for f in FRAMEWORKS}
            ratio = {f: (f"{s['ratio_' + f]:.2f}" if "ratio_" + f in s else "-")
                     for f in ("numpy", "torch")}
            print(f"| {SHAPES[name][5]} | {r['threads']} | {cell['lamina']} | {cell['numpy']} "
                  f"| {cell['torch']} | {ratio['numpy']} | {ratio['torch']} |")
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
