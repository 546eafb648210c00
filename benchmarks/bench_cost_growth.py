"""How the cost of a training step grows: width, depth, batch size and threads (issue 20).

One training step of a ReLU MLP with a softmax head (forward, softmax cross-entropy,
backward, Adam update; a fixed synthetic batch: standard-normal inputs, uniform labels),
per step after warm-up, in three sweeps:

- width: 784-W-W-10, W in 256, 512, 1024, 2048, 4096, batch 128;
- depth: 1, 2, 4, 8 hidden layers of 512 units (784-512-...-512-10), batch 128;
- batch: 784-512-256-10 at batch 1, 8, 32, 128, 512, 1024, 4096;

each at 1 and 2 threads, for four columns:

- lamina-f32:  ``lamina.Sequential`` of ``Dense`` layers, ``Adam``,
  ``"sparse_categorical_crossentropy"``, one ``model.train_on_batch(x, y)`` per step;
- lamina-bf16: the same model built under
  ``lamina.mixed_precision.set_global_policy("mixed_bfloat16")`` (only where the CPU has
  AVX512_BF16: ``lamina.cpu_info()["isa"] == "avx512_bf16"``);
- torch-f32:   ``nn.Sequential`` of ``nn.Linear``/``nn.ReLU``, ``nn.CrossEntropyLoss`` on
  logits, ``torch.optim.Adam(fused=True)``, ``torch.set_num_threads``;
- torch-bf16:  the same under ``torch.autocast("cpu", dtype=torch.bfloat16)`` (forward and
  loss; float32 master weights), the one flag a torch user flips.

torch is optional: without it its columns and the ratios are left out.

Every (sweep, threads, library) runs in its own fresh process (LAMINA/OMP/MKL/OPENBLAS
_NUM_THREADS set), the libraries alternating (A B C D A B C D ...) and the whole sweep repeated
--rounds times, so no library's thread pool or cache state leaks into another's timing. In a
process each configuration is built, warmed up (2 steps), then timed in --reps batches, each
running steps until it has lasted --min-time / --reps seconds (so the number of steps follows
the cost of the step, at least one per batch); a process reports the best batch's time per
step, the table the median over rounds of those.

Reported per configuration: ms per step; GFLOP/s = the GEMM flops of one step / its time,
counted exactly (2*b*n_in*n_out for the forward, for dW and for dX of every Dense layer, less
the first layer's dX, which neither library computes); element-wise work (bias, ReLU, softmax,
loss, Adam) is not counted, so the fraction shrinks where it weighs; the fraction of the peak:
GFLOP/s / (threads * one-core peak), the float32 FMA peak for the float32 columns and the
vdpbf16ps peak (2 flop per bf16 product: twice the FMA peak on Zen 4) for the bf16 columns,
both measured by lamina's probes (``_core.fma_peak_gflops``, ``_core.bf16_dot_peak_gflops``)
at the start and the end of the run (best of the tries); and lamina/torch = torch's ms /
lamina's ms at the same precision (> 1: lamina is faster).

    python benchmarks/bench_cost_growth.py                          # ~10 min on an idle 2-core box
    python benchmarks/bench_cost_growth.py --out benchmarks/cost_growth   # + results.md/.json/.png
    python benchmarks/bench_cost_growth.py --quick                  # ~1 min smoke run
    python benchmarks/bench_cost_growth.py --sweeps batch --threads 1 --libs lamina-f32 torch-f32
    python benchmarks/bench_cost_growth.py --clock cpu              # on a busy machine
    python benchmarks/bench_cost_growth.py --from-json benchmarks/cost_growth/results.json

--clock cpu times the 1-thread processes with the process CPU time (time.process_time), which
leaves out the time other processes took from the core (not their cache pollution); the
2-thread processes always use the wall clock (CPU time would add up both threads).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_gemm_bf16 import _peaks  # noqa: E402  (the peak probes, best of a few processes)
from compare_gemm import _cpu_id, _cpu_name  # noqa: E402

from lamina.bench.runner import write_outputs  # noqa: E402

INPUT_DIM = 784
CLASSES = 10
LIBS = ("lamina-f32", "lamina-bf16", "torch-f32", "torch-bf16")
BF16 = {"lamina-bf16", "torch-bf16"}
LABEL = {"lamina-f32": "lamina float32", "lamina-bf16": "lamina mixed_bfloat16",
         "torch-f32": "torch float32 (fused Adam)", "torch-bf16": "torch autocast bf16"}

# name: (swept variable, default values, --quick values, value -> (hidden units, batch))
SWEEPS = {
    "width": ("W (784-W-W-10, batch 128)", (256, 512, 1024, 2048, 4096), (256, 512, 1024),
              lambda w: ([w, w], 128)),
    "depth": ("hidden layers of 512 (batch 128)", (1, 2, 4, 8), (1, 2, 4),
              lambda d: ([512] * d, 128)),
    "batch": ("batch (784-512-256-10)", (1, 8, 32, 128, 512, 1024, 4096), (1, 32, 128, 512),
              lambda b: ([512, 256], b)),
}


def gemm_flops(input_dim: int, hidden: list[int], classes: int, batch: int) -> int:
    """GEMM flops of one training step of a Dense MLP: forward, dW and dX of every layer
    (2*batch*n_in*n_out each), less the first layer's dX (nobody needs the input's gradient).
    Bias, activations, the loss and the optimizer update are not counted."""
    sizes = [input_dim, *hidden, classes]
    total = 0
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        total += 2 * batch * n_in * n_out * (3 if i > 0 else 2)
    return total


def _data(batch: int, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, INPUT_DIM)).astype(np.float32)
    y = rng.integers(0, CLASSES, batch).astype(np.int64)
    return x, y


def _lamina_step(hidden, batch, bf16):
    """One train_on_batch of a compiled lamina model (built under mixed_bfloat16 for bf16)."""
    import lamina
    from lamina import layers, optimizers

    lamina.utils.set_random_seed(0)
    before = lamina.mixed_precision.global_policy()
    if bf16:
        lamina.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        stack = [lamina.Input(shape=(INPUT_DIM,))]
        stack += [layers.Dense(u, activation="relu") for u in hidden]
        stack.append(layers.Dense(CLASSES, activation="softmax"))
        model = lamina.Sequential(stack)
    finally:  # the test calls this in its own process: leave the policy as it was
        lamina.mixed_precision.set_global_policy(before)
    model.compile(optimizer=optimizers.Adam(learning_rate=1e-3),
                  loss="sparse_categorical_crossentropy")
    x, y = _data(batch)
    return lambda: model.train_on_batch(x, y)


def _torch_step(hidden, batch, bf16):
    """One step of the loop a torch user writes: zero_grad, forward + loss (under autocast for
    bf16), backward, fused Adam."""
    import contextlib

    import torch
    from torch import nn

    torch.manual_seed(0)
    sizes = [INPUT_DIM, *hidden, CLASSES]
    mods = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        mods.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            mods.append(nn.ReLU())
    model = nn.Sequential(*mods)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    loss_fn = nn.CrossEntropyLoss()
    x, y = (torch.from_numpy(a) for a in _data(batch))
    ctx = ((lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if bf16
           else contextlib.nullcontext)

    def step():
        opt.zero_grad()
        with ctx():
            loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def time_step(step, min_time: float, reps: int, clock) -> dict:
    """Two warm-up steps, then ``reps`` batches of steps, each running until it has lasted
    ``min_time / reps`` seconds (at least one step), so cheap steps get many and dear ones few.

    Returns:
        ``{"s": seconds per step in the best batch, "s_median": the median batch's, "steps":
        timed steps, "loss": [first, last]}``.
    """
    first = float(step())
    step()
    per, steps = [], 0
    for _ in range(reps):
        n = 0
        t0 = clock()
        while True:
            last = step()
            n += 1
            dt = clock() - t0
            if dt >= min_time / reps:
                break
        per.append(dt / n)
        steps += n
    last = float(last)
    if not (first == first and last == last):  # NaN: the step is broken, not slow
        raise RuntimeError(f"the training loss is NaN (first {first}, last {last})")
    return {"s": min(per), "s_median": statistics.median(per), "steps": steps,
            "loss": [first, last]}


def run_worker(lib: str, threads: int, sweep: str, values, min_time: float, reps: int,
               clock: str) -> dict:
    """Times every configuration of one sweep for one library in this process."""
    use_cpu = clock == "cpu" and threads == 1
    clk = time.process_time if use_cpu else time.perf_counter
    if lib.startswith("torch"):
        import torch

        torch.set_num_threads(threads)
        make = _torch_step
        info = {"version": torch.__version__,
                "capability": torch.backends.cpu.get_cpu_capability()}
    else:
        import lamina

        lamina.set_num_threads(threads)
        make = _lamina_step
        info = {"version": lamina.__version__, "isa": lamina.cpu_info()["isa"]}
    hidden_of = SWEEPS[sweep][3]
    out = {"lib": lib, "threads": threads, "sweep": sweep, "clock": "cpu" if use_cpu else "wall",
           "info": info, "results": {}}
    for v in values:
        hidden, batch = hidden_of(v)
        step = make(hidden, batch, lib in BF16)
        out["results"][str(v)] = time_step(step, min_time, reps, clk)
        del step
    return out


def _spawn(lib, threads, sweep, values, args) -> dict:
    env = dict(os.environ)
    for var in ("LAMINA_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                "OPENBLAS_NUM_THREADS"):
        env[var] = str(threads)
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", "--libs", lib,
           "--threads", str(threads), "--sweeps", sweep, "--values", *map(str, values),
           "--min-time", str(args.min_time), "--reps", str(args.reps), "--clock", args.clock]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"worker {lib} {sweep} threads={threads} failed:\n{r.stderr}")
    line = [ln for ln in r.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def _have_torch() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def collect(args) -> dict:
    """Runs the sweeps (fresh processes) and returns the results document."""
    t_start = time.time()
    peaks = _peaks(args.peak_tries)
    libs, skipped = [], {}
    for lib in args.libs:
        if lib.startswith("torch") and not _have_torch():
            skipped[lib] = "torch is not installed"
        elif lib == "lamina-bf16" and peaks["isa"] != "avx512_bf16":
            skipped[lib] = f"no AVX512_BF16 (lamina's active level is {peaks['isa']})"
        else:
            libs.append(lib)
    values = {s: args.values or (SWEEPS[s][2] if args.quick else SWEEPS[s][1])
              for s in args.sweeps}
    runs: dict = {}
    info: dict = {}
    for _ in range(args.rounds):
        for sweep in args.sweeps:
            for t in args.threads:
                for lib in libs:
                    res = _spawn(lib, t, sweep, values[sweep], args)
                    info[lib] = res["info"]
                    for v, r in res["results"].items():
                        runs.setdefault((sweep, int(v), t, lib), []).append(
                            dict(r, clock=res["clock"]))
    end = _peaks(args.peak_tries)
    fma = max(peaks["fma"], end["fma"])
    dot = max(peaks["dot"], end["dot"])
    rows = []
    for (sweep, v, t, lib), rs in runs.items():
        hidden, batch = SWEEPS[sweep][3](v)
        flop = gemm_flops(INPUT_DIM, hidden, CLASSES, batch)
        s = statistics.median(r["s"] for r in rs)
        peak1 = (dot or 2 * fma) if lib in BF16 else fma
        gflops = flop / s * 1e-9
        rows.append({"sweep": sweep, "value": v, "hidden": hidden, "batch": batch,
                     "threads": t, "lib": lib, "gflop_per_step": flop * 1e-9,
                     "ms": s * 1e3, "ms_rounds": [r["s"] * 1e3 for r in rs],
                     "ms_median_in_process": [r["s_median"] * 1e3 for r in rs],
                     "steps": [r["steps"] for r in rs], "clock": rs[0]["clock"],
                     "loss_first_last": rs[0]["loss"], "gflops": gflops,
                     "peak_gflops": t * peak1,
                     "frac_peak": gflops / (t * peak1) if peak1 else None})
    return {"meta": {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t_start)),
                     "minutes": (time.time() - t_start) / 60,
                     "command": "python benchmarks/bench_cost_growth.py "
                                + " ".join(sys.argv[1:]),
                     "cpu": f"{_cpu_name()} ({_cpu_id()})", "cores": os.cpu_count(),
                     "isa": peaks["isa"], "fma_peak_gflops": fma, "bf16_peak_gflops": dot,
                     "peaks_start": peaks, "peaks_end": end, "libs": libs, "skipped": skipped,
                     "rounds": args.rounds, "reps": args.reps, "min_time": args.min_time,
                     "clock": args.clock, "threads": args.threads, "info": info,
                     "load_avg": _loadavg()},
            "sweeps": {s: {"label": SWEEPS[s][0], "values": list(values[s])}
                       for s in args.sweeps},
            "rows": rows}


def _loadavg():
    try:
        return list(os.getloadavg())
    except OSError:
        return None


def ratios(doc: dict) -> dict:
    """lamina/torch per (sweep, value, threads, precision): torch ms / lamina ms."""
    ms = {(r["sweep"], r["value"], r["threads"], r["lib"]): r["ms"] for r in doc["rows"]}
    out = {}
    for (sweep, v, t, lib), m in ms.items():
        if lib.startswith("lamina"):
            other = ("torch-" + lib.split("-")[1])
            if (sweep, v, t, other) in ms:
                out[(sweep, v, t, lib.split("-")[1])] = ms[(sweep, v, t, other)] / m
    return out


def markdown(doc: dict) -> str:
    """The tables, one per sweep, and a header naming the machine, peaks and command."""
    m = doc["meta"]
    lines = [f"# Cost growth of a training step, {m['date']}",
             "",
             f"- CPU: {m['cpu']}, {m['cores']} cores, lamina level {m['isa']}; load average "
             f"at the end {', '.join(f'{x:.1f}' for x in m['load_avg'] or [])}",
             f"- one-core peaks (best of the probes at start and end): float32 FMA "
             f"{m['fma_peak_gflops']:.1f} GFLOP/s, vdpbf16ps {m['bf16_peak_gflops']:.1f} GFLOP/s",
             f"- command: `{m['command'].rstrip()}` ({m['minutes']:.1f} min)",
             f"- clock: {m['clock']} (2-thread rows: wall); per cell the median over "
             f"{m['rounds']} round(s) of each fresh process's best of {m['reps']} batches",
             "- cell: ms per step / GFLOP/s (GEMM flops only) / % of the peak "
             "(threads x one-core peak: FMA for float32, vdpbf16ps for bf16); "
             "lamina/torch = torch ms / lamina ms, same precision",
             ]
    versions = ", ".join(f"{lib} {i.get('version', '')}" for lib, i in m["info"].items())
    lines.append(f"- versions: {versions}")
    if m["skipped"]:
        lines.append("- skipped: " + "; ".join(f"{k}: {v}" for k, v in m["skipped"].items()))
    libs = m["libs"]
    rat = ratios(doc)
    cells = {(r["sweep"], r["value"], r["threads"], r["lib"]): r for r in doc["rows"]}
    precisions = [p for p in ("f32", "bf16")
                  if f"lamina-{p}" in libs and f"torch-{p}" in libs]
    for sweep, sw in doc["sweeps"].items():
        lines += ["", f"## {sweep}: {sw['label']}", ""]
        head = ["value", "threads", "GFLOP/step"] + [LABEL[lib] for lib in libs] + [
            f"lamina/torch {p}" for p in precisions]
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "---|" * len(head))
        for v in sw["values"]:
            for t in m["threads"]:
                row = [str(v), str(t)]
                any_cell = next((cells[(sweep, v, t, lib)] for lib in libs
                                 if (sweep, v, t, lib) in cells), None)
                if any_cell is None:
                    continue
                row.append(f"{any_cell['gflop_per_step']:.3g}")
                for lib in libs:
                    c = cells.get((sweep, v, t, lib))
                    if c is None:
                        row.append("-")
                        continue
                    pct = f"{100 * c['frac_peak']:.0f}%" if c["frac_peak"] is not None else "-"
                    row.append(f"{c['ms']:.3g} / {c['gflops']:.0f} / {pct}")
                for p in precisions:
                    r = rat.get((sweep, v, t, p))
                    row.append(f"{r:.2f}" if r is not None else "-")
                lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def plot(doc: dict, path: str) -> bool:
    """Fraction of the peak (top row) and lamina/torch (bottom row, log scale) per sweep;
    False when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except ImportError:
        return False
    sweeps = list(doc["sweeps"])
    fig, axes = plt.subplots(2, len(sweeps), figsize=(4.2 * len(sweeps), 6.4), squeeze=False)
    colors = {"lamina-f32": "tab:blue", "lamina-bf16": "tab:green", "torch-f32": "tab:red",
              "torch-bf16": "tab:orange", "f32": "tab:blue", "bf16": "tab:green"}
    style = {1: "-", 2: "--"}
    rat = ratios(doc)
    for j, sweep in enumerate(sweeps):
        xs = doc["sweeps"][sweep]["values"]
        top, bottom = axes[0][j], axes[1][j]
        for lib in doc["meta"]["libs"]:
            for t in doc["meta"]["threads"]:
                pts = sorted((r["value"], r["frac_peak"]) for r in doc["rows"]
                             if r["sweep"] == sweep and r["lib"] == lib and r["threads"] == t
                             and r["frac_peak"] is not None)
                if pts:
                    top.plot([p[0] for p in pts], [100 * p[1] for p in pts], style.get(t, ":"),
                             marker="o", ms=3, color=colors[lib],
                             label=f"{LABEL[lib]}, {t} thread{'s' if t > 1 else ''}")
        for p in ("f32", "bf16"):
            for t in doc["meta"]["threads"]:
                pts = sorted((v, r) for (s, v, tt, pp), r in rat.items()
                             if s == sweep and tt == t and pp == p)
                if pts:
                    bottom.plot([q[0] for q in pts], [q[1] for q in pts], style.get(t, ":"),
                                marker="o", ms=3, color=colors[p])
        bottom.axhline(1.0, color="gray", lw=0.8)
        if rat:
            bottom.set_yscale("log", base=2)
            bottom.yaxis.set_major_formatter(
                matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        for ax in (top, bottom):
            ax.set_xscale("log", base=2)
            ax.set_xticks(xs)
            ax.set_xticklabels([str(x) for x in xs])
            ax.minorticks_off()
            ax.grid(alpha=0.3)
            ax.set_xlabel(doc["sweeps"][sweep]["label"], fontsize=8)
        top.set_ylim(bottom=0)
        top.set_title(sweep)
        if j == 0:
            top.set_ylabel("% of peak (GEMM flops)")
            bottom.set_ylabel("lamina / torch speed\n(same precision; f32 blue, bf16 green)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=7, frameon=False)
    m = doc["meta"]
    fig.suptitle(f"Training step (fwd + bwd + Adam), {m['cpu']}, {m['date']}; one-core peaks "
                 f"FMA {m['fma_peak_gflops']:.0f} / vdpbf16ps {m['bf16_peak_gflops']:.0f} "
                 "GFLOP/s", fontsize=9)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(path, dpi=72)
    plt.close(fig)
    return True


def write_out(doc: dict, out_dir: str) -> list[str]:
    """results.md, results.json and (with matplotlib) results.png in ``out_dir``."""
    written = write_outputs(doc, out_dir, markdown=markdown,
                            as_json=lambda d: json.dumps(d, indent=1) + "\n", chart=plot)
    if not any(p.endswith(".png") for p in written):
        print("matplotlib is not installed: no plot", file=sys.stderr)
    return written


def _positive(kind):
    def parse(s):
        v = kind(s)
        if v <= 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {s}")
        return v
    return parse


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sweeps", nargs="+", default=list(SWEEPS), choices=list(SWEEPS))
    p.add_argument("--threads", type=_positive(int), nargs="+", default=[1, 2])
    p.add_argument("--libs", nargs="+", default=list(LIBS), choices=list(LIBS))
    p.add_argument("--values", type=_positive(int), nargs="+", default=None,
                   help="the swept values (one sweep only); default: the sweep's own")
    p.add_argument("--rounds", type=_positive(int), default=None,
                   help="fresh-process rounds per library (default 2, --quick 1)")
    p.add_argument("--reps", type=_positive(int), default=3,
                   help="timed batches per configuration (default 3)")
    p.add_argument("--min-time", type=_positive(float), default=None,
                   help="seconds of timed steps per configuration, all batches "
                        "(default 0.6, --quick 0.1)")
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    p.add_argument("--peak-tries", type=_positive(int), default=None,
                   help="peak probe processes at the start and at the end (default 3, "
                        "--quick 1)")
    p.add_argument("--quick", action="store_true",
                   help="smoke run (~1 min): fewer values, 1 round, shorter timing")
    p.add_argument("--out", default=None, help="write results.md/.json/.png into this folder")
    p.add_argument("--from-json", default=None, metavar="PATH",
                   help="measure nothing: print (and with --out write) the tables and plot "
                        "of an earlier run's results.json")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.values is not None and len(args.sweeps) != 1:
        p.error(f"--values needs exactly one sweep, got --sweeps {' '.join(args.sweeps)}")
    for name, default, quick in (("rounds", 2, 1), ("min_time", 0.6, 0.1),
                                 ("peak_tries", 3, 1)):
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else default)
    if args.worker:
        res = run_worker(args.libs[0], args.threads[0], args.sweeps[0], args.values,
                         args.min_time, args.reps, args.clock)
        print("RESULT " + json.dumps(res))
        return
    if args.from_json:
        with open(args.from_json) as f:
            doc = json.load(f)
    else:
        doc = collect(args)
    print(markdown(doc))
    if args.out:
        for path in write_out(doc, args.out):
            print("wrote", path)


if __name__ == "__main__":
    main()
