"""The ``lamina`` command line: info, train, evaluate, predict, compare."""

from __future__ import annotations

import argparse
import os
import platform
import sys


def _cmd_info(args: argparse.Namespace) -> int:
    import lamina

    info = lamina.cpu_info()
    build = info["build"]
    lines = [
        f"lamina {lamina.__version__}",
        f"python {platform.python_version()} ({sys.executable})",
        f"machine {platform.machine()}, CPU {info['model']}",
        f"isa {info['isa']} (supported: {', '.join(info['supported'])}; max: {info['max_isa']})",
        "caches per core " + ", ".join(f"{k} {v // 1024} KiB" for k, v in info["caches"].items()),
        "gemm blocks " + "; ".join(
            f"{dt} {b['MR']}x{b['NR']} MC {b['MC']} KC {b['KC']} NC {b['NC']}"
            for dt, b in info["gemm_blocks"].items()),
        f"threads {info['num_threads']} (usable cores: {info['usable_cores']})",
        f"compiler {build['compiler']}",
        f"build {build['build_type']} flags: {build['flags'] or '(none)'}; "
        f"x86 kernels: {'yes' if build['x86_kernels'] else 'no'}",
    ]
    print("\n".join(lines))
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from .bench import run_from_args

    return run_from_args(args)


def _cmd_tune(args: argparse.Namespace) -> int:
    from . import tune

    try:
        space = tune.load_space(args.space)
        result = tune.search(
            args.run,
            space,
            n_trials=args.n_trials,
            strategy=args.strategy,
            metric=args.metric,
            backend=args.backend,
            n_jobs=args.n_jobs,
            seed=args.seed,
            threads_per_trial=args.threads_per_trial,
            scheduler=args.scheduler,
        )
    except (OSError, ValueError, KeyError, TypeError, ImportError, RuntimeError) as exc:
        print(f"lamina tune: error: {exc}", file=sys.stderr)
        return 2
    print(tune.format_table(result))
    if args.out:
        written = tune.write_outputs(result, args.out)
        for path in written:
            print(f"wrote {path}")
    return 0 if result.best is not None else 1


def build_parser() -> argparse.ArgumentParser:
    """The ``lamina`` argument parser: info, tune, train, evaluate, predict, compare, bench.

    Example:
        >>> build_parser().parse_args(["info"]).command
        'info'
    """
    parser = argparse.ArgumentParser(prog="lamina", description="lamina: dense networks on the CPU")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p_info = sub.add_parser("info", help="version, CPU dispatch level, threads and build flags")
    p_info.set_defaults(func=_cmd_info)
    p_tune = sub.add_parser(
        "tune", help="sweep hyperparameters of a run file (grid/random; loky, Dask or Ray)"
    )
    p_tune.add_argument("run", help="the base run file (TOML or JSON), as `lamina train` reads")
    p_tune.add_argument(
        "space", help='TOML/JSON: "key.path" = [values] or {loguniform = [low, high]} ...'
    )
    p_tune.add_argument("--strategy", choices=["grid", "random"], default="grid")
    p_tune.add_argument("--n-trials", type=int, default=None, help="random: draws (10); grid: cap")
    p_tune.add_argument("--metric", default="val_loss", help="history key to rank by")
    p_tune.add_argument(
        "--backend", default="loky",
        choices=["sequential", "loky", "threading", "multiprocessing", "dask", "ray"],
    )
    p_tune.add_argument("--scheduler", default=None, help="Dask scheduler / Ray cluster address")
    p_tune.add_argument("--n-jobs", type=int, default=-1, help="trials at once (-1: all slots)")
    p_tune.add_argument("--threads-per-trial", type=int, default=None)
    p_tune.add_argument("--seed", type=int, default=0, help="seed of the random draws")
    p_tune.add_argument("--out", default=None, help="folder for results.csv, curves.json and best_run.toml")
    p_tune.set_defaults(func=_cmd_tune)

    from .experiment import add_commands  # train / evaluate / predict / compare

    add_commands(sub)
    from .bench import add_arguments as _bench_arguments

    p_bench = sub.add_parser("bench", help="lamina against torch, scikit-learn and numpy, "
                             "side by side (see `lamina bench --help`)")
    _bench_arguments(p_bench)
    p_bench.set_defaults(func=_cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs ``lamina COMMAND ...`` and returns the exit status (2: bad arguments or run file).

    Args:
        argv: The arguments after ``lamina``. Defaults to `None` (``sys.argv[1:]``).

    Example:
        >>> main(["train", "--set", "training.epochs=0"])  # the error goes to stderr
        2
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from .run import RunFileError

    try:
        status = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler below
        return status
    except RunFileError as exc:  # bad run file, override, data or model file: one line, exit 2
        where = f"{exc.source}: " if exc.source else ""
        print(f"lamina {args.command}: error: {where}{exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (`lamina compare ... | head`): stop quietly, like other Unix
        # tools. Point stdout at /dev/null so the flush at interpreter exit cannot fail again.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):  # stdout is not a real file (an embedding caller)
            pass
        return 141  # 128 + SIGPIPE, what a shell reports for a killed writer


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
