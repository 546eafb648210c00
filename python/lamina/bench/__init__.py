"""``lamina bench``: lamina against PyTorch, scikit-learn and numpy, side by side.

The workloads are defined once (:mod:`lamina.bench.workloads`), each framework translates
them into its own idiom (:mod:`lamina.bench.frameworks`), and the runner
(:mod:`lamina.bench.runner`) measures every (framework, threads) pair in its own subprocess,
interleaved over repeats, and reports medians, spreads and lamina's speedup pair by pair.

Example:
    >>> from lamina.bench import main
    >>> main(["--quick", "--frameworks", "lamina,numpy", "--out", "bench-out"])  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import shlex
import sys

from ..runtime import MAX_THREADS

__all__ = ["add_arguments", "main", "run_from_args"]


def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _threads(text: str) -> list[int]:
    try:
        values = [int(t) for t in _csv(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--threads wants integers like 1,2, got {text!r}")
    if not values or min(values) < 1 or max(values) > MAX_THREADS:
        raise argparse.ArgumentTypeError(
            f"--threads wants integers in [1, {MAX_THREADS}], got {text!r}")
    return values


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _at_least_two(text: str) -> int:
    value = _positive(text)
    if value < 2:  # the first epoch is the warm-up the bench leaves out
        raise argparse.ArgumentTypeError(f"at least 2 (the first is the warm-up), got {text!r}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}")
    if not 0.0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected finite seconds >= 0, got {text!r}")
    return value


def _names(text: str) -> list[str]:
    names = _csv(text)
    if not names:
        raise argparse.ArgumentTypeError(f"expected comma-separated names, got {text!r}")
    return names


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds the ``lamina bench`` options to ``parser``."""
    from .frameworks import ALIASES, FRAMEWORKS
    from .workloads import WORKLOADS

    parser.add_argument("--quick", action="store_true",
                        help="small sizes and one repeat: about a minute in all")
    aliases = ", ".join(k + "=" + "+".join(v) for k, v in ALIASES.items())
    parser.add_argument("--frameworks", type=_names, default=None,
                        help=f"comma-separated, from {','.join(FRAMEWORKS)} (aliases: "
                             f"{aliases}); default: all")
    parser.add_argument("--workloads", type=_names, default=None,
                        help=f"comma-separated, from {','.join(WORKLOADS)}; default: all")
    parser.add_argument("--threads", type=_threads, default=[1, 2],
                        help="thread counts to measure, e.g. 1,2 (default)")
    parser.add_argument("--repeats", type=_positive, default=None,
                        help="subprocess runs per (framework, threads); default 3, --quick 1")
    parser.add_argument("--epochs", type=_at_least_two, default=None,
                        help="override the epochs of the training workloads (at least 2 "
                             "to leave out the warm-up epoch)")
    parser.add_argument("--wait-idle", type=_seconds, default=0.0, metavar="SECONDS",
                        help="before each job, wait up to SECONDS for other processes to "
                             "leave the CPUs idle (on a shared machine); default 0")
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="also write results.md, results.json and results.png there")
    parser.add_argument("--json", action="store_true",
                        help="print the report as JSON instead of Markdown")
    parser.add_argument("--scale", choices=("full", "quick", "tiny"), default=None,
                        help=argparse.SUPPRESS)  # "tiny" is for the tests


def run_from_args(args: argparse.Namespace) -> int:
    """Runs the benchmark as the parsed ``args`` say and prints the report."""
    from . import frameworks, runner
    from .workloads import WORKLOADS

    try:
        fws = frameworks.expand(args.frameworks or ["lamina", "torch", "sklearn", "numpy"])
        wls = args.workloads or list(WORKLOADS)
        unknown = [w for w in wls if w not in WORKLOADS]
        if unknown:
            raise ValueError(f"unknown workload {unknown[0]!r}: choose from {', '.join(WORKLOADS)}")
    except ValueError as exc:
        print(f"lamina bench: error: {exc}", file=sys.stderr)
        return 2
    scale = args.scale or ("quick" if args.quick else "full")
    repeats = args.repeats or (1 if scale != "full" else 3)
    command = shlex.join(
        ["lamina", "bench"] + (["--quick"] if args.quick else [])
        + ([f"--scale={args.scale}"] if args.scale else [])
        + ["--frameworks", ",".join(args.frameworks or ["lamina", "torch", "sklearn", "numpy"]),
           "--workloads", ",".join(wls), "--threads", ",".join(map(str, args.threads)),
           "--repeats", str(repeats)]
        + (["--epochs", str(args.epochs)] if args.epochs else []))
    options = runner.Options(frameworks=fws, workloads=wls, threads=args.threads,
                             repeats=repeats, scale=scale, epochs=args.epochs,
                             timeout_s=3600.0 if scale == "full" else 600.0,
                             wait_idle_s=args.wait_idle, command=command)
    report = runner.run(options)
    print(runner.to_json(report) if args.json else runner.to_markdown(report))
    if args.out:
        for path in runner.write_outputs(report, args.out):
            print(f"wrote {path}", file=sys.stderr)
    failed = [r for r in report["runs"] if r.get("error")]
    return 1 if failed and len(failed) == len(report["runs"]) else 0


def main(argv: list[str] | None = None) -> int:
    """``lamina bench`` as a function: parses ``argv`` and runs."""
    parser = argparse.ArgumentParser(prog="lamina bench", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run_from_args(parser.parse_args(argv))
