"""The ``lamina`` command line: info, train, evaluate, predict, compare."""

from __future__ import annotations

import argparse
import platform
import sys


def _cmd_info(args: argparse.Namespace) -> int:
    import lamina

    info = lamina.cpu_info()
    build = info["build"]
    lines = [
        f"lamina {lamina.__version__}",
        f"python {platform.python_version()} ({sys.executable})",
        f"machine {platform.machine()}",
        f"isa {info['isa']} (supported: {', '.join(info['supported'])}; max: {info['max_isa']})",
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lamina", description="lamina: dense networks on the CPU")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p_info = sub.add_parser("info", help="version, CPU dispatch level, threads and build flags")
    p_info.set_defaults(func=_cmd_info)
    from .experiment import add_commands  # train / evaluate / predict / compare

    add_commands(sub)
    from .bench import add_arguments as _bench_arguments

    p_bench = sub.add_parser("bench", help="lamina against torch, scikit-learn and numpy, "
                             "side by side (see `lamina bench --help`)")
    _bench_arguments(p_bench)
    p_bench.set_defaults(func=_cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from .run import RunFileError

    try:
        return int(args.func(args) or 0)
    except RunFileError as exc:  # bad run file, override, data or model file: one line, exit 2
        where = f"{exc.source}: " if exc.source else ""
        print(f"lamina {args.command}: error: {where}{exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
