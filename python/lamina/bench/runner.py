"""The comparison runner behind ``lamina bench``.

Every (framework, threads) pair runs in a fresh subprocess (so no framework inherits another's
thread pools, allocator state or imports), the pairs interleaved A B C A B C … over the
repeats so slow drifts of a shared machine hit every framework alike. Each metric is reported
as the median over repeats with its [min–max] spread, and the lamina speedup is computed pair
by pair: repeat r of a framework against repeat r of lamina (the runs adjacent in time), then
the median of those ratios.
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field

from . import frameworks as _frameworks
from .workloads import SPEEDUP_KEYS, TARGETS, WORKLOADS

THREAD_ENV = ("LAMINA_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


@dataclass
class Options:
    """What to run. ``scale`` is "full", "quick" or "tiny" (tests)."""

    frameworks: list[str] = field(default_factory=lambda: list(_frameworks.FRAMEWORKS))
    workloads: list[str] = field(default_factory=lambda: list(WORKLOADS))
    threads: list[int] = field(default_factory=lambda: [1, 2])
    repeats: int = 3
    scale: str = "full"
    epochs: int | None = None
    timeout_s: float = 3600.0
    wait_idle_s: float = 0.0
    command: str = ""


# ---- running ------------------------------------------------------------------------------

def _versions() -> dict:
    out = {"python": platform.python_version()}
    for dist in ("lamina", "numpy", "torch", "scikit-learn", "threadpoolctl", "matplotlib"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            pass
    return out


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _cpu_id() -> str | None:
    """ "family 25 model 17" from /proc/cpuinfo (x86): names the core generation where the
    brand string does not ("AMD EPYC" in a guest)."""
    fields = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
    except OSError:
        return None
    parts = [f"{k} {fields[k]}" for k in ("cpu family", "model", "stepping") if k in fields]
    return ", ".join(p.replace("cpu family", "family") for p in parts) or None


def _size(n: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return f"{n} B"


def _loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _cpu_busy_s() -> float | None:
    """CPU-seconds all processes on the machine have spent busy since boot (/proc/stat)."""
    try:
        with open("/proc/stat", encoding="utf-8") as fh:
            fields = [int(v) for v in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _children_cpu_s() -> float:
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def wait_until_idle(max_wait_s: float, threshold: float = 0.3, window_s: float = 1.0) -> float:
    """Waits (up to ``max_wait_s``) until the other processes on the machine use less than
    ``threshold`` cores over a ``window_s`` window; returns the last measured load."""
    deadline = time.monotonic() + max_wait_s
    load = float("nan")
    while True:
        b0, t0 = _cpu_busy_s(), time.monotonic()
        time.sleep(window_s)
        b1 = _cpu_busy_s()
        if b0 is None or b1 is None:
            return load
        load = (b1 - b0) / (time.monotonic() - t0)
        if load < threshold or time.monotonic() >= deadline:
            return load


def collect_meta(options: Options) -> dict:
    import lamina

    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count()
    info = lamina.cpu_info()
    return {
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": info.get("model") or _cpu_model(),
        "cpu_id": _cpu_id(),
        "usable_cores": cores,
        "platform": platform.platform(),
        "lamina_isa": info["isa"],
        "LAMINA_ISA": os.environ.get("LAMINA_ISA"),
        "caches": info["caches"],
        "LAMINA_CACHES": os.environ.get("LAMINA_CACHES"),
        "gemm_blocks": info["gemm_blocks"],
        "versions": _versions(),
        "loadavg_start": _loadavg(),
        "command": options.command,
    }


def plan(options: Options, notes: list[str]) -> list[dict]:
    """The subprocess jobs in run order: repeats outermost, then threads, then frameworks,
    so the frameworks alternate (A B C A B C …). Frameworks that are missing or support
    none of the workloads are left out with a note."""
    columns = []
    for name in options.frameworks:
        fw = _frameworks.get(name)
        reason = fw.available()
        if reason:
            notes.append(f"{name}: skipped ({reason})")
            continue
        runnable = []
        for wname in options.workloads:
            why = fw.supports(WORKLOADS[wname])
            if why:
                notes.append(f"{name} / {wname}: skipped ({why})")
            else:
                runnable.append(wname)
        if runnable:
            columns.append((name, runnable))
    jobs = []
    for repeat in range(options.repeats):
        for threads in options.threads:
            for name, wl in columns:
                jobs.append({"framework": name, "threads": threads, "repeat": repeat,
                             "workloads": wl, "scale": options.scale, "epochs": options.epochs})
    return jobs


def run_job(job: dict, timeout_s: float) -> dict:
    """Runs one job in a fresh interpreter with the thread variables set; returns its result
    (with ``error`` when the subprocess failed)."""
    env = dict(os.environ)
    for var in THREAD_ENV:
        env[var] = str(job["threads"])
    with tempfile.TemporaryDirectory(prefix="lamina-bench-") as tmp:
        path = os.path.join(tmp, "result.json")
        config = {k: job[k] for k in ("framework", "threads", "workloads", "scale", "epochs")}
        t0 = time.perf_counter()
        busy0, child0 = _cpu_busy_s(), _children_cpu_s()
        proc = subprocess.Popen([sys.executable, "-m", "lamina.bench.worker", json.dumps(config),
                                 path], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, cwd=tmp)
        try:
            stdout, stderr = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            return {**job, "seconds": time.perf_counter() - t0,
                    "error": f"timed out after {timeout_s:.0f} s", "results": {}}
        except BaseException:  # Ctrl-C / SIGTERM: never leave the worker running
            proc.kill()
            proc.communicate()
            raise
        seconds = time.perf_counter() - t0
        busy1, child1 = _cpu_busy_s(), _children_cpu_s()
        # cores that OTHER processes kept busy while this job ran (its own CPU time removed)
        if busy0 is not None and busy1 is not None and seconds > 0:
            job = {**job, "foreign_cores": round(max(0.0, (busy1 - busy0) - (child1 - child0))
                                                 / seconds, 2)}
        if proc.returncode != 0 or not os.path.exists(path):
            tail = (stderr or stdout or "").strip().splitlines()[-8:]
            return {**job, "seconds": seconds, "results": {},
                    "error": f"exit code {proc.returncode}: " + " | ".join(tail)}
        with open(path, encoding="utf-8") as fh:
            result = json.load(fh)
    return {**job, "seconds": seconds, **result}


def run(options: Options, progress=None) -> dict:
    """Runs the comparison and returns the report (see :func:`summarize`)."""
    progress = progress or (lambda msg: print(msg, file=sys.stderr, flush=True))
    notes: list[str] = []
    meta = collect_meta(options)
    jobs = plan(options, notes)
    runs = []
    t_start = time.perf_counter()
    try:
        _run_jobs(options, jobs, runs, progress)
    except KeyboardInterrupt:
        notes.append(f"interrupted: {len(runs)} of {len(jobs)} runs finished; the tables "
                     "show those")
    meta["loadavg_end"] = _loadavg()
    meta["wall_s"] = round(time.perf_counter() - t_start, 1)
    return summarize(options, meta, runs, notes)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def _run_jobs(options: Options, jobs: list[dict], runs: list[dict], progress) -> None:
    """Runs the jobs in order, appending each result to ``runs``; SIGTERM acts like Ctrl-C
    (the running worker is killed and the finished runs are still reported)."""
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        for i, job in enumerate(jobs, 1):
            _run_one(options, job, i, len(jobs), runs, progress)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _run_one(options: Options, job: dict, i: int, n: int, runs: list[dict], progress) -> None:
    """Runs job ``i`` of ``n`` (after waiting for idle CPUs if asked) and reports it."""
    if options.wait_idle_s > 0:
        load = wait_until_idle(options.wait_idle_s)
        if load >= 0.3:
            progress(f"    machine still busy ({load:.2f} cores used by others)")
    progress(f"[{i}/{n}] {job['framework']} threads={job['threads']} "
             f"repeat={job['repeat'] + 1}: {', '.join(job['workloads'])} …")
    res = run_job(job, options.timeout_s)
    runs.append(res)
    busy = res.get("foreign_cores")
    progress(f"    {_headline(res)} ({res['seconds']:.1f} s"
             + (f", other processes used {busy:.2f} cores)" if busy is not None else ")"))


def _headline(res: dict) -> str:
    if res.get("error"):
        return "FAILED: " + res["error"][:200]
    parts = []
    for wname, r in res.get("results", {}).items():
        if "error" in r:
            parts.append(f"{wname} error")
        elif "skipped" in r:
            parts.append(f"{wname} skipped")
        else:
            m = WORKLOADS[wname].metrics[0]
            if m.key in r:
                parts.append(f"{wname} {m.label} {_fmt(r[m.key])}")
    return "; ".join(parts)


# ---- summarizing --------------------------------------------------------------------------

def _stats(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "n": len(values), "values": values}


def speedup(lamina_value: float, other_value: float, lower_is_better: bool) -> float:
    """How many times faster lamina is than the other framework on one metric."""
    if lower_is_better:
        return other_value / lamina_value
    return lamina_value / other_value


def summarize(options: Options, meta: dict, runs: list[dict], notes: list[str]) -> dict:
    """Turns the raw runs into the report: per (workload, metric, threads, framework) the
    median [min–max] over repeats and the pair-by-pair lamina speedup; the issue's targets
    checked against those speedups; and notes for everything skipped or failed."""
    notes = list(notes)
    # values[(workload, metric, threads, framework)][repeat] = value
    values: dict[tuple, dict[int, float]] = {}
    runtime: dict[str, dict] = {}
    columns: list[str] = []
    for run_ in runs:
        fw, thr, rep = run_["framework"], run_["threads"], run_["repeat"]
        if fw not in columns:
            columns.append(fw)
        if run_.get("error"):
            notes.append(f"{fw} threads={thr} repeat={rep + 1}: failed ({run_['error']})")
            continue
        if run_.get("runtime"):
            runtime.setdefault(fw, run_["runtime"])
        for wname, res in run_.get("results", {}).items():
            if "error" in res:
                notes.append(f"{fw} / {wname} threads={thr} repeat={rep + 1}: error: "
                             f"{res['error'].strip().splitlines()[-1]}")
                continue
            if "skipped" in res:
                msg = f"{fw} / {wname}: skipped ({res['skipped']})"
                if msg not in notes:
                    notes.append(msg)
                continue
            if res.get("note"):
                msg = f"{fw} / {wname}: {res['note']}"
                if msg not in notes:
                    notes.append(msg)
            for metric in WORKLOADS[wname].metrics:
                if metric.key in res and res[metric.key] is not None:
                    values.setdefault((wname, metric.key, thr, fw), {})[rep] = float(res[metric.key])
    columns = [c for c in _frameworks.FRAMEWORKS if c in columns]
    foreign = [r["foreign_cores"] for r in runs if r.get("foreign_cores") is not None]
    if foreign:
        meta = {**meta, "foreign_cores": {"median": statistics.median(foreign),
                                          "max": max(foreign)}}
        if max(foreign) > 0.3:
            busiest = max(runs, key=lambda r: r.get("foreign_cores") or 0)
            notes.append(
                f"the machine was shared: other processes kept up to {max(foreign):.2f} cores "
                f"busy during a job (median {statistics.median(foreign):.2f}; busiest: "
                f"{busiest['framework']} threads={busiest['threads']} repeat="
                f"{busiest['repeat'] + 1}); timings of those jobs, above all at 2 threads, "
                "are unreliable (see each run's foreign_cores in the JSON)")

    rows = []
    for wname in options.workloads:
        for metric in WORKLOADS[wname].metrics:
            for thr in options.threads:
                for fw in columns:
                    vals = values.get((wname, metric.key, thr, fw))
                    if not vals:
                        continue
                    row = {"workload": wname, "metric": metric.key, "threads": thr,
                           "framework": fw, **_stats([vals[r] for r in sorted(vals)])}
                    for base, key in SPEEDUP_KEYS.items():
                        lam = values.get((wname, metric.key, thr, base), {})
                        pairs = [speedup(lam[r], vals[r], metric.lower_is_better)
                                 for r in sorted(vals) if r in lam and lam[r] > 0 and vals[r] > 0]
                        if base == "lamina" or lam:  # speedup_bf16 only with that column
                            row[key] = (_stats(pairs) if metric.compare and pairs and fw != base
                                        else None)
                    rows.append(row)

    targets = []
    index = {(r["workload"], r["metric"], r["threads"], r["framework"]): r for r in rows}

    def check(tgt, metric, thr):
        """(measured median/min/max or None, status) of one target on one metric."""
        if tgt.framework is None:
            row = index.get((tgt.workload, metric, thr, "lamina"))
            if row is None:
                return None, "not measured"
            return ({k: row[k] for k in ("median", "min", "max")},
                    "met" if row["median"] <= tgt.maximum else "MISSED")
        row = index.get((tgt.workload, metric, thr, tgt.framework))
        sp = row and row.get(SPEEDUP_KEYS[tgt.base])
        if not sp:
            return None, "not measured"
        return ({k: sp[k] for k in ("median", "min", "max")},
                "met" if sp["median"] >= tgt.minimum else "MISSED")

    for tgt in TARGETS:
        if tgt.workload not in options.workloads:
            continue
        for thr in options.threads:
            measured, status = check(tgt, tgt.metric, thr)
            entry = {**asdict(tgt), "threads": thr, "measured": measured, "status": status}
            if tgt.cpu_metric:
                entry["cpu_measured"], entry["cpu_status"] = check(tgt, tgt.cpu_metric, thr)
            targets.append(entry)

    workloads = {w: {"description": WORKLOADS[w].describe(options.scale, options.epochs),
                     "metrics": [asdict(m) for m in WORKLOADS[w].metrics]}
                 for w in options.workloads}
    meta = {**meta, "runtime": runtime}
    return {"meta": meta, "options": asdict(options), "columns": columns,
            "workloads": workloads, "summary": rows, "targets": targets, "notes": notes,
            "runs": runs}


# ---- output -------------------------------------------------------------------------------

def _fmt(v: float | None) -> str:
    if v is None:
        return "–"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def _cell(stats: dict | None, suffix: str = "") -> str:
    if not stats:
        return "–"
    if stats.get("n", 2) == 1 or stats["min"] == stats["max"]:
        return f"{_fmt(stats['median'])}{suffix}"
    return f"{_fmt(stats['median'])}{suffix} [{_fmt(stats['min'])}–{_fmt(stats['max'])}]"


def to_markdown(report: dict) -> str:
    """The report as Markdown: a header with machine and versions, one table per workload
    (each metric's row followed by a "lamina speedup" row), the targets, and the notes."""
    meta, opts = report["meta"], report["options"]
    cols = report["columns"]
    ver = meta.get("versions", {})
    out = ["## lamina bench", ""]
    out.append(f"- date: {meta.get('date')}; CPU: {meta.get('cpu')} "
               f"({meta.get('usable_cores')} usable cores); lamina ISA: {meta.get('lamina_isa')}"
               + (f" (LAMINA_ISA={meta['LAMINA_ISA']})" if meta.get("LAMINA_ISA") else ""))
    caches = meta.get("caches")
    if caches:
        blocks = meta.get("gemm_blocks", {}).get("float32")
        line = (f"- CPU id: {meta.get('cpu_id') or 'unknown'}; caches per core: "
                + ", ".join(f"{k.upper()} {_size(v)}" for k, v in caches.items())
                + (f" (LAMINA_CACHES={meta['LAMINA_CACHES']})" if meta.get("LAMINA_CACHES")
                   else ""))
        if blocks:
            line += (f"; float32 GEMM tile {blocks['MR']}x{blocks['NR']}, blocks "
                     f"MC {blocks['MC']} KC {blocks['KC']} NC {blocks['NC']}")
        out.append(line)
    out.append("- versions: " + ", ".join(f"{k} {v}" for k, v in ver.items()))
    for fw, info in meta.get("runtime", {}).items():
        if info:
            out.append(f"- {fw} runtime: " + "; ".join(
                f"{k}={', '.join(v) if isinstance(v, list) else v}" for k, v in info.items()))
    if meta.get("command"):
        out.append(f"- command: `{meta['command']}`")
    out.append(f"- scale: {opts['scale']}, repeats: {opts['repeats']}, threads: "
               f"{', '.join(map(str, opts['threads']))}; load average at start "
               f"{meta.get('loadavg_start')}, at end {meta.get('loadavg_end')}; "
               f"wall {meta.get('wall_s')} s")
    if meta.get("foreign_cores"):
        fc = meta["foreign_cores"]
        out.append(f"- cores used by other processes during the jobs: median {fc['median']:.2f}, "
                   f"max {fc['max']:.2f}")
    out.append("- each cell: median over repeats [min–max]; **lamina ×** rows: how many "
               "times faster lamina is, computed repeat by repeat against the lamina run "
               "beside it (median [min–max]); > 1 means lamina is faster")
    by_key = {(r["workload"], r["metric"], r["threads"], r["framework"]): r
              for r in report["summary"]}
    for wname, winfo in report["workloads"].items():
        out += ["", f"### {wname}", "", winfo["description"], ""]
        present = [c for c in cols if any(k[0] == wname and k[3] == c for k in by_key)]
        if not present:
            out.append("(nothing measured)")
            continue
        out.append("| metric | threads | " + " | ".join(present) + " |")
        out.append("| --- | ---: | " + " | ".join("---:" for _ in present) + " |")
        for m in winfo["metrics"]:
            arrow = "" if not m["compare"] else (" ↓" if m["lower_is_better"] else " ↑")
            for thr in opts["threads"]:
                cells = [by_key.get((wname, m["key"], thr, c)) for c in present]
                if not any(cells):
                    continue
                out.append(f"| {m['label']}{arrow} | {thr} | "
                           + " | ".join(_cell(c) for c in cells) + " |")
                for base, key in SPEEDUP_KEYS.items():
                    if m["compare"] and base in present and len(present) > 1:
                        sp = ["1×" if c == base else _cell(cell and cell.get(key), "×")
                              for c, cell in zip(present, cells)]
                        out.append(f"| ↳ {base} × | {thr} | " + " | ".join(sp) + " |")
    if report["targets"]:
        out += ["", "### targets (benchmark issue)", "",
                "Wall time is what the issue asks for; the same ratio in CPU time (all threads "
                "of the process) hardly moves when other processes share the CPUs, so on a "
                "busy machine it is the steadier figure at 1 thread (at 2 threads it measures "
                "efficiency, not speed).", "",
                "| target | threads | wall time | status | CPU time | status |",
                "| --- | ---: | ---: | --- | ---: | --- |"]
        for t in report["targets"]:
            unit = "%" if t["framework"] is None else "×"
            cpu = (f"{_cell(t.get('cpu_measured'), unit)} | {t.get('cpu_status', '–')}"
                   if t.get("cpu_metric") else "– | –")
            out.append(f"| {t['text']} | {t['threads']} | {_cell(t['measured'], unit)} "
                       f"| {t['status']} | {cpu} |")
    if report["notes"]:
        out += ["", "### notes", ""] + [f"- {n}" for n in report["notes"]]
    return "\n".join(out) + "\n"


def to_json(report: dict) -> str:
    return json.dumps(report, indent=1, ensure_ascii=False)


def write_chart(report: dict, path: str) -> bool:
    """A PNG bar chart of the plotted metrics (one panel per workload); False without
    matplotlib or with nothing to plot."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    panels = {}  # (workload, unit) -> [(group label, lower_is_better, {framework: value})]
    for wname, winfo in report["workloads"].items():
        for m in winfo["metrics"]:
            if not m["plot"]:
                continue
            for thr in report["options"]["threads"]:
                vals = {r["framework"]: r["median"] for r in report["summary"]
                        if r["workload"] == wname and r["metric"] == m["key"]
                        and r["threads"] == thr}
                if vals:
                    key = (wname, m.get("unit") or m["key"])
                    panels.setdefault(key, []).append(
                        (f"{m['label']}\n{thr} thread{'s' if thr > 1 else ''}",
                         m["lower_is_better"], vals))
    if not panels:
        return False
    cols = report["columns"]
    ncol = 2 if len(panels) > 1 else 1
    nrow = -(-len(panels) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(7.5 * ncol, 3.8 * nrow), squeeze=False)
    width = 0.8 / max(1, len(cols))
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for ax, ((wname, _unit), groups) in zip(axes.flat, panels.items()):
        for j, fw in enumerate(cols):
            xs = [i + j * width for i, g in enumerate(groups) if fw in g[2]]
            ys = [g[2][fw] for g in groups if fw in g[2]]
            if xs:
                bars = ax.bar(xs, ys, width, label=fw)
                ax.bar_label(bars, labels=[_fmt(y) for y in ys], fontsize=7)
        ax.set_xticks([i + width * (len(cols) - 1) / 2 for i in range(len(groups))])
        ax.set_xticklabels([g[0].replace(" (", "\n(") for g in groups], fontsize=7)
        better = "lower" if groups[0][1] else "higher"
        ax.set_title(f"{wname} ({better} is better)", fontsize=10)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write_outputs(report: dict, out_dir: str, markdown=None, as_json=None,
                  chart=None) -> list[str]:
    """Writes results.md, results.json and (with matplotlib) results.png into out_dir.

    Args:
        report: What the renderers take.
        out_dir: The folder (created if missing).
        markdown: ``report -> str`` for results.md. Defaults to `None` (``to_markdown``).
        as_json: ``report -> str`` for results.json. Defaults to `None` (``to_json``).
        chart: ``(report, path) -> bool`` (False: no plot, e.g. without matplotlib) for
            results.png. Defaults to `None` (``write_chart``).

    Returns:
        The paths written.
    """
    markdown, as_json, chart = (markdown or to_markdown, as_json or to_json,
                                chart or write_chart)
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for name, text in (("results.md", markdown(report)), ("results.json", as_json(report))):
        p = os.path.join(out_dir, name)
        with open(p, "w", encoding="utf-8") as fh:
            fh.write(text)
        written.append(p)
    png = os.path.join(out_dir, "results.png")
    if chart(report, png):
        written.append(png)
    return written
