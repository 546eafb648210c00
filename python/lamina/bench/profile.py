"""Where a framework's training time goes: ``python -m lamina.bench.profile``.

Two views of the same workload (mnist-mlp by default):

1. ``--split`` (lamina only): wall time of an epoch split into time inside the core's
   ``Network.train_step`` (forward, loss, backward, optimizer: one call per batch), the
   batch gather (``_data.gather_rows`` and the shuffle permutation) and the rest, which is
   Python overhead in ``fit``'s loop.
2. ``--perf`` (any framework, needs Linux ``perf``): samples the training epochs only
   (perf attaches after the data is built) and sums the self time of every symbol into
   phases (GEMM, activations, loss/softmax, optimizer, dropout, bias gradient,
   gather/copy, thread pool/sync, Python interpreter, kernel) by name patterns, plus the top
   symbols so the patterns can be checked.

Example:
    python -m lamina.bench.profile --framework lamina --threads 1 --split --perf
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

# (phase, regex on "dso symbol"), first match wins; order matters.
PHASES = (
    ("kernel (page faults, zeroing, scheduling)", r"\[kernel|\[k\]"),
    ("optimizer", r"optim|adam|_fused_sgd|sgd_|momentum|foreach_add|foreach_mul|"
                  r"foreach_div|foreach_sqrt|addcdiv|addcmul|lerp"),
    ("dropout", r"dropout|bernoulli|philox|mt19937|uniform_real|random_|_rand"),
    ("loss / softmax", r"loss|softmax|nll|cross_entropy|log_sum|logsumexp"),
    ("bias gradient / reductions", r"bias_grad|reduce_kernel|sum_kernel|column_sum|"
                                   r"binary_kernel_reduce|_sum"),
    ("activations", r"activation|relu|threshold|clamp|maximum_kernel"),
    ("GEMM", r"gemm|ukernel|pack_[ab]|packa|packb|mkl_blas|sgemm|dgemm|brgemm|jit|"
             r"\[unknown\]|inner_thread|kernel_HASWELL|kernel_SKYLAKEX|_copy_[ab]|oncopy|itcopy"),
    ("gather / copy", r"gather|take|index_select|index_put|memcpy|memmove|copy_|_copy|"
                      r"fancy|mapiter|npy_fasttake"),
    ("memory (malloc/free/memset)", r"malloc|free|memset|calloc|realloc|mmap|munmap|"
                                    r"operator new|operator delete|tcache|_int_"),
    ("thread pool / sync", r"thread_pool|parallel_for|Pool::|std::thread|futex|sched_yield|"
                           r"pthread|gomp|kmp|"
                           r"blas_thread_server|exec_blas|spin|wait|condition_variable"),
    ("scalar libm (exp/log/pow)", r"^libm\.so|__ieee754|\b(exp|log|pow|expf|logf)@"),
    ("Python interpreter", r"^libpython|^python3|_PyEval|_Py[A-Z]|\bPy[A-Z]"),
    ("numpy (other)", r"_multiarray_umath|numpy"),
    ("torch (other)", r"libtorch|libc10|at::|c10::|torch::"),
)


def classify(dso: str, symbol: str) -> str:
    text = f"{os.path.basename(dso)} {symbol}"
    for phase, pattern in PHASES:
        if re.search(pattern, text, flags=re.IGNORECASE):
            return phase
    return "other"


class Symbolizer:
    """Names raw addresses in stripped shared objects (pip installs lamina's ``_core`` and
    ``_data`` stripped) from the unstripped copies in a build directory (``nm -n``)."""

    def __init__(self, search_dirs):
        import bisect
        import glob

        self._bisect = bisect.bisect_right
        self.tables = {}
        for d in search_dirs:
            for path in glob.glob(os.path.join(d, "**", "*.so"), recursive=True):
                name = os.path.basename(path)
                if name in self.tables:
                    continue
                try:
                    out = subprocess.run(["nm", "-C", "--defined-only", "-n", path],
                                         capture_output=True, text=True, timeout=60).stdout
                except (OSError, subprocess.SubprocessError):
                    continue
                addrs, names = [], []
                for line in out.splitlines():
                    parts = line.split(" ", 2)
                    if len(parts) == 3 and parts[1].lower() in "tw":
                        addrs.append(int(parts[0], 16))
                        names.append(parts[2])
                if addrs:
                    self.tables[name] = (addrs, names)

    def name(self, dso: str, symbol: str) -> str:
        table = self.tables.get(os.path.basename(dso.split(" ")[0]))
        if table is None or not symbol.startswith("0x"):
            return symbol
        i = self._bisect(table[0], int(symbol, 16)) - 1
        return table[1][i] if i >= 0 else symbol


def parse_perf_report(text: str) -> list[tuple[float, str, str]]:
    """(percent, dso, symbol) rows of ``perf report --no-children --sort dso,sym --stdio``."""
    rows = []
    for line in text.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+\[(.)\]\s+(.*)$", line)
        if m:
            dso = m.group(2) + (" [k]" if m.group(3) == "k" else "")
            rows.append((float(m.group(1)), dso, m.group(4).strip()))
    return rows


# ---- the child: build the trainer, wait for perf, train ------------------------------------

def _child(args) -> int:
    from . import frameworks
    from .workloads import WORKLOADS, make_teacher_data, load_digits_data

    fw = frameworks.get(args.framework)
    fw.set_threads(args.threads)
    workload = WORKLOADS[args.workload]
    size = workload.size(args.scale)
    if args.workload == "digits-small":
        x, y, _ = load_digits_data()
    else:
        x, y, _, _ = make_teacher_data(size["n_train"], 10)
    trainer = fw.mlp_trainer(workload.spec, x, y)
    trainer.train(1)  # warm-up epoch, not sampled
    split = _install_split(trainer) if args.split else None
    print("READY", flush=True)
    time.sleep(1.5)  # let perf attach
    t0 = time.perf_counter()
    times = trainer.train(args.epochs)
    wall = time.perf_counter() - t0
    cpu = getattr(trainer, "cpu_times", [])[-len(times):]
    out = {"epoch_times": times, "cpu_times": cpu, "wall_s": wall, "n": len(x),
           "batch_size": workload.spec.batch_size}
    if split:
        out["split"] = {k: v for k, v in split.items()}
    print("RESULT " + json.dumps(out), flush=True)
    return 0


def _install_split(trainer) -> dict:
    """Wraps the lamina model's train_step and the data path in timers (private API)."""
    import lamina.batches as batches_mod

    acc = {"train_step_s": 0.0, "train_steps": 0, "gather_s": 0.0, "permutation_s": 0.0}
    model = trainer.model
    net = model._network

    class TimedNet:
        def __init__(self, inner):
            self._inner = inner

        def __getattr__(self, name):
            return getattr(self._inner, name)

        def train_step(self, *a):
            t0 = time.perf_counter()
            r = self._inner.train_step(*a)
            acc["train_step_s"] += time.perf_counter() - t0
            acc["train_steps"] += 1
            return r

    model._network = TimedNet(net)
    core = batches_mod._core

    class TimedCore:  # the batches view of lamina._core, with the epoch shuffle timed
        def __getattr__(self, name):
            return getattr(core, name)

        def permutation(self, *a, **k):
            t0 = time.perf_counter()
            r = core.permutation(*a, **k)
            acc["permutation_s"] += time.perf_counter() - t0
            return r

    batches_mod._core = TimedCore()
    return acc


# ---- the parent ---------------------------------------------------------------------------

def print_perf(data: str, build_dirs, top: int, us_step: float | None = None) -> None:
    """Prints the phase table and the top symbols of a perf.data file."""
    rep = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", "dso,sym",
                          "--stdio", "--percent-limit", "0.02"], capture_output=True, text=True)
    symbolizer = Symbolizer(build_dirs)
    merged: dict[tuple[str, str], float] = {}
    for pct, dso, sym in parse_perf_report(rep.stdout):
        key = (dso, symbolizer.name(dso, sym))
        merged[key] = merged.get(key, 0.0) + pct
    rows = sorted(((pct, dso, sym) for (dso, sym), pct in merged.items()), reverse=True)
    phases: dict[str, float] = {}
    for pct, dso, sym in rows:
        ph = classify(dso, sym)
        phases[ph] = phases.get(ph, 0.0) + pct
    print("\n| phase (perf self time) | share |" + (" ≈ CPU µs per step |" if us_step else "")
          + "\n| --- | ---: |" + (" ---: |" if us_step else ""))
    for ph, pct in sorted(phases.items(), key=lambda kv: -kv[1]):
        print(f"| {ph} | {pct:.1f}% |" + (f" {pct / 100 * us_step:.0f} |" if us_step else ""))
    print(f"\ntop {top} symbols:\n")
    print("| self % | phase | dso | symbol |\n| ---: | --- | --- | --- |")
    for pct, dso, sym in rows[:top]:
        print(f"| {pct:.2f} | {classify(dso, sym)} | {os.path.basename(dso)} | `{sym[:100]}` |")
    print(f"\n(perf data: {data})")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m lamina.bench.profile", description=__doc__)
    p.add_argument("--framework", default="lamina")
    p.add_argument("--workload", default="mnist-mlp",
                   choices=("mnist-mlp", "digits-small", "mnist-dropout", "mnist-bn"))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--epochs", type=int, default=2, help="sampled epochs (after a warm-up)")
    p.add_argument("--scale", default="full", choices=("full", "quick", "tiny"))
    p.add_argument("--split", action="store_true", help="lamina: train_step / gather / Python")
    p.add_argument("--perf", action="store_true", help="sample with perf, sum by phase")
    p.add_argument("--top", type=int, default=25, help="top symbols to list")
    p.add_argument("--build-dir", action="append", default=None,
                   help="where unstripped copies of lamina's extension modules are, to name "
                        "addresses in the installed (stripped) ones; default: ./build")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--from-data", metavar="PERF_DATA", default=None,
                   help="only analyse an existing perf.data file")
    args = p.parse_args(argv)
    if args.child:
        return _child(args)
    if args.from_data:
        print_perf(args.from_data, args.build_dir or ["build"], args.top)
        return 0

    env = dict(os.environ)
    for var in ("LAMINA_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                "OPENBLAS_NUM_THREADS"):
        env[var] = str(args.threads)
    cmd = [sys.executable, "-m", "lamina.bench.profile", "--child",
           "--framework", args.framework, "--workload", args.workload,
           "--threads", str(args.threads), "--epochs", str(args.epochs), "--scale", args.scale]
    if args.split:
        cmd.append("--split")
    tmp = tempfile.mkdtemp(prefix="lamina-profile-")
    data = os.path.join(tmp, "perf.data")
    child = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True, cwd=tmp)
    perf = None
    result = None
    for line in child.stdout:
        if line.startswith("READY") and args.perf:
            perf = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F", "1999", "-o",
                                     data, "-p", str(child.pid)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        elif line.startswith("RESULT "):
            result = json.loads(line[7:])
            if perf is not None:
                perf.send_signal(signal.SIGINT)
    child.wait()
    if perf is not None:
        perf.wait(timeout=60)
    if result is None:
        print("the profiled run failed", file=sys.stderr)
        return 1
    steps = -(-result["n"] // result["batch_size"])
    med = sorted(result["epoch_times"])[len(result["epoch_times"]) // 2]
    print(f"## {args.framework} {args.workload} threads={args.threads} "
          f"({args.scale}, {args.epochs} sampled epochs)")
    cpu = result.get("cpu_times") or []
    cpu_med = sorted(cpu)[len(cpu) // 2] if cpu else None
    if len(result["epoch_times"]) <= 10:
        print(f"epoch times: {', '.join(f'{t:.3f}' for t in result['epoch_times'])} s")
    print(f"median epoch: {med / steps * 1e6:.1f} µs per step over {steps} steps (wall)"
          + (f", {cpu_med / steps * 1e6:.1f} µs per step in CPU time (all threads)"
             if cpu_med else ""))
    if "split" in result:
        s = result["split"]
        wall = sum(result["epoch_times"])
        rest = wall - s["train_step_s"] - s["gather_s"] - s["permutation_s"]
        print("\n| part | s per epoch | µs per step | share |\n| --- | ---: | ---: | ---: |")
        for name, v in (("core train_step (fwd+loss+bwd+update)", s["train_step_s"]),
                        ("gather rows", s["gather_s"]), ("shuffle permutation",
                                                         s["permutation_s"]),
                        ("Python loop + callbacks (rest)", rest)):
            print(f"| {name} | {v / args.epochs:.4f} | {v / args.epochs / steps * 1e6:.1f} "
                  f"| {v / wall * 100:.1f}% |")
    if perf is not None:
        print_perf(data, args.build_dir or ["build"], args.top,
                   (cpu_med or med) / steps * 1e6)
    return 0


if __name__ == "__main__":
    sys.exit(main())
