"""The ``lamina`` command line: every subcommand is one row of `COMMANDS`.

A row names the subcommand, its one-line help, the function that adds its arguments to
its parser and the handler that runs it (``handler(args) -> exit status``).

Example:
    >>> [c.name for c in COMMANDS]
    ['info', 'tune', 'train', 'evaluate', 'predict', 'compare', 'export', 'bench', 'examples']
"""

from __future__ import annotations

import argparse
import errno
import os
import platform
import sys
from pathlib import Path
from typing import Any, Callable, NamedTuple

__all__ = ["Command", "COMMANDS", "build_parser", "main"]


# ---------------------------------------------------------------------------------------------
# info


def _info_arguments(p: argparse.ArgumentParser) -> None:
    pass


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


# ---------------------------------------------------------------------------------------------
# tune


def _tune_arguments(p: argparse.ArgumentParser) -> None:
    from .tune import BACKENDS

    p.add_argument("run", help="the base run file (TOML or JSON), as `lamina train` reads")
    p.add_argument(
        "space", help='TOML/JSON: "key.path" = [values] or {loguniform = [low, high]} ...'
    )
    p.add_argument("--strategy", choices=["grid", "random", "tpe"], default="grid",
                   help="tpe: Optuna's TPE sampler (pip install 'lamina[optuna]')")
    p.add_argument("--pruner", choices=["none", "median", "hyperband"], default="none",
                   help="Optuna pruner told the metric every epoch (stops trials behind)")
    p.add_argument("--storage", default=None,
                   help="Optuna storage shared by processes: sqlite:///study.db, an RDB "
                        "URL or journal:FILE; running again resumes the study")
    p.add_argument("--study-name", default=None, help="the study's name in --storage")
    p.add_argument("--n-trials", type=int, default=None,
                   help="random: draws (10); grid: cap; with --storage: trials the study "
                        "should hold")
    p.add_argument("--metric", default="val_loss", help="history key to rank by")
    p.add_argument("--backend", default="loky", choices=BACKENDS)
    p.add_argument("--scheduler", default=None, help="Dask scheduler / Ray cluster address")
    p.add_argument("--n-jobs", type=int, default=-1, help="trials at once (-1: all slots)")
    p.add_argument("--threads-per-trial", type=int, default=None)
    p.add_argument("--seed", type=int, default=0, help="seed of the random draws")
    p.add_argument("--out", default=None,
                   help="folder for results.csv, curves.json and best_run.toml")
    p.add_argument("--tensorboard", metavar="LOGDIR", default=None,
                   help="also write every trial's hyperparameters and curves for TensorBoard's "
                        "HParams dashboard (`tensorboard --logdir LOGDIR`; needs tensorboardX)")


def _cmd_tune(args: argparse.Namespace) -> int:
    from . import tune

    try:
        if args.tensorboard:  # before the sweep, not after it
            from .callbacks.tensorboard import require_tensorboardx

            require_tensorboardx("lamina tune --tensorboard")
        space = tune.load_space(_space_arg(args.space))
        result = tune.search(
            _run_arg(args.run),
            space,
            n_trials=args.n_trials,
            strategy=args.strategy,
            metric=args.metric,
            backend=args.backend,
            n_jobs=args.n_jobs,
            seed=args.seed,
            threads_per_trial=args.threads_per_trial,
            scheduler=args.scheduler,
            pruner=args.pruner,
            storage=args.storage,
            study_name=args.study_name,
        )
    except (OSError, ValueError, KeyError, TypeError, ImportError, RuntimeError) as exc:
        print(f"lamina tune: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        again = (" (run the same command again to resume: the storage keeps the finished "
                 "trials)" if args.storage else "")
        print(f"lamina tune: interrupted{again}", file=sys.stderr)
        return 130
    print(tune.format_table(result))
    if args.out:
        written = tune.write_outputs(result, args.out)
        for path in written:
            print(f"wrote {path}")
    if args.tensorboard:
        trials = tune.write_tensorboard(result, args.tensorboard)
        print(f"wrote {len(trials)} trials for TensorBoard to {args.tensorboard} "
              f"(tensorboard --logdir {args.tensorboard}: the HParams tab)")
    return 0 if result.best is not None else 1


# ---------------------------------------------------------------------------------------------
# train / evaluate / predict / compare (lamina.experiment runs them)

TRAIN_EPILOG = """\
a run file (every key optional; the format is in lamina/runfile/, `lamina examples` lists
the bundled examples, in lamina/examples/):

  [data]
  source = "digits"            # or "data.csv" (label = "label") / "data.npz"
  [[model.layers]]
  units = 128
  activation = "relu"
  dropout = 0.2
  [[model.layers]]
  units = 10
  activation = "softmax"
  [training]
  optimizer = {name = "sgd", learning_rate = 0.05, momentum = 0.9}
  epochs = 30
  batch_size = 32
  early_stopping = {patience = 5}

exit status: 0 done, 2 bad run file / override / data (one line naming the key)
"""


def _set_argument(p: argparse.ArgumentParser, help: str) -> None:
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=help)


def _train_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", nargs="?", metavar="RUN", help="run file (.toml or .json), or the "
                   "name of a bundled example (`lamina examples` lists them)")
    _set_argument(p, "override a run-file value, e.g. training.epochs=5 or "
                  "model.layers[0].units=64 (repeatable)")
    p.add_argument("--out", metavar="DIR", help="output folder (default: outputs.dir or "
                   "runs/<timestamp>/)")
    p.add_argument("--quiet", action="store_true", help="print only the final test metrics")


def _cmd_train(args: argparse.Namespace) -> int:
    from .experiment import format_metrics, train_run
    from .runfile import load_run

    run = load_run(_run_arg(args.run), args.set)
    out_dir: Any = args.out if args.out is not None else "auto"
    res = train_run(run, out_dir=out_dir, verbose=not args.quiet)
    if args.quiet:
        print(format_metrics(res.test) if res.test else format_metrics(res.train))
    if getattr(res.history, "interrupted", False):
        return EXIT_INTERRUPTED  # the outputs are written, but the run did not finish
    return 0


def _evaluate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", metavar="MODEL", help="a .lamina file")
    p.add_argument("data", metavar="DATA", nargs="?", help="'digits', a .npz or a .csv file "
                   "(default: the test split of the run.toml beside MODEL)")
    p.add_argument("--label", help="label column (CSV) or array (NPZ)")


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from .experiment import evaluate_arrays, format_metrics, model_inputs

    model, x, y, run, what = model_inputs(args.model, args.data, args.label, True)
    note = ""
    if run is not None and args.data is not None and (
            args.data == run["data"]["source"] or (args.data != "digits" and Path(
                args.data).resolve() == Path(run["data"]["source"]).resolve())):
        note = (" (the model's training data, its training samples included; without DATA, "
                "`lamina evaluate MODEL` uses the run's held-out test split)")
    print(f"{what}: {x.shape[0]} samples{note}")
    print(format_metrics(evaluate_arrays(model, x, y)))
    return 0


def _predict_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", metavar="MODEL", help="a .lamina file")
    p.add_argument("data", metavar="DATA", help="'digits', a .npz, a .csv or a .parquet file "
                   "(CSV and Parquet are read and predicted a chunk of rows at a time)")
    p.add_argument("--out", required=True, metavar="FILE", help="predictions CSV to write")
    p.add_argument("--label", help="label column (CSV, Parquet) or array (NPZ), kept in the "
                   "output")
    p.add_argument("--chunk-rows", type=_chunk_rows, default=65536, metavar="N",
                   help="rows read, predicted and written at a time (CSV, Parquet)")


def _cmd_predict(args: argparse.Namespace) -> int:
    from .experiment import predict_model

    n = predict_model(args.model, args.data, args.out, args.label, args.chunk_rows)
    print(f"wrote {n} predictions to {args.out}")
    return 0


def _compare_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="+", metavar="RUN", help="run files or bundled examples' names")
    _set_argument(p, "override applied to every run (repeatable)")
    p.add_argument("--out", metavar="DIR", help="output folder (default: runs/<timestamp>/)")


def _cmd_compare(args: argparse.Namespace) -> int:
    from .experiment import compare_runs

    compare_runs([_run_arg(r) for r in args.runs], args.set, args.out)
    return 0


# ---------------------------------------------------------------------------------------------
# examples (the run files bundled in lamina.examples)


def _run_arg(arg: str | None) -> str | None:
    """A run file's path: `arg` itself, or the bundled example named `arg`."""
    if arg is None or Path(arg).exists():
        return arg
    from . import examples

    try:
        return str(examples.find(arg))
    except KeyError:
        if Path(arg).suffix.lower() in (".toml", ".json"):
            return arg  # load_run says: file not found
        from .runfile import RunFileError

        raise RunFileError("RUN", f"{arg!r} is neither a run file nor a bundled example "
                           f"(`lamina examples` lists them)") from None


def _space_arg(arg: str) -> str:
    """A sweep space's path: `arg` itself, or the bundled space named `arg`."""
    if Path(arg).exists():
        return arg
    from . import examples

    try:
        return str(examples.find_space(arg))
    except KeyError:
        return arg  # load_space says: space file not found


def _examples_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", nargs="?", choices=["list", "copy"], default="list",
                   help="list (default): the lessons and their run files; copy: write them "
                        "to DIR")
    p.add_argument("dir", nargs="?", metavar="DIR", help="copy: the folder to write to")
    p.add_argument("--force", action="store_true", help="copy: replace existing files")


def _cmd_examples(args: argparse.Namespace) -> int:
    from . import examples

    if args.action == "copy":
        if not args.dir:
            print("lamina examples: error: copy needs a folder: lamina examples copy DIR",
                  file=sys.stderr)
            return 2
        try:
            written = examples.copy_to(args.dir, overwrite=args.force)
        except FileExistsError as exc:  # the library says "overwrite": the flag is --force
            print(f"lamina examples: error: {str(exc).split('; pass overwrite')[0]}; pass "
                  f"--force to replace them", file=sys.stderr)
            return 2
        except OSError as exc:
            print(f"lamina examples: error: {exc}", file=sys.stderr)
            return 2
        print(f"wrote {len(written)} files to {args.dir}: "
              f"{', '.join(sorted(p.name for p in written))}")
        return 0
    if args.dir:
        print("lamina examples: error: DIR is for `lamina examples copy DIR`", file=sys.stderr)
        return 2
    print(f"bundled examples ({examples.HERE}): each lesson changes one hyperparameter.")
    print("train one with `lamina train NAME`, a lesson with `lamina compare NAME NAME ...`,")
    print("or write them out to edit with `lamina examples copy DIR`.\n")
    grouped = set()
    for g in examples.GROUPS:
        print(f"{g.name}: {' '.join(g.files)}")
        print(f"    {g.claim}")
        grouped.update(g.files)
    others = [n for n in examples.names() if n not in grouped]
    if others:
        print(f"more: {' '.join(others)}")
    print(f"sweep spaces (lamina tune RUN SPACE): "
          f"{' '.join(sorted(p.stem for p in (examples.HERE / 'sweeps').glob('*.toml')))}")
    return 0


# ---------------------------------------------------------------------------------------------
# bench (lamina.bench owns its options)


def _bench_arguments(p: argparse.ArgumentParser) -> None:
    from .bench import add_arguments

    add_arguments(p)


def _cmd_bench(args: argparse.Namespace) -> int:
    from .bench import run_from_args

    return run_from_args(args)


# ---------------------------------------------------------------------------------------------
# The table


def _export_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", metavar="MODEL", help="a .lamina, .keras or .h5 model file")
    p.add_argument("--format", default="onnx", choices=["onnx"], help="export format")
    p.add_argument("--out", metavar="FILE", help="file to write (default: MODEL with the "
                   "format's extension)")


def _cmd_export(args: argparse.Namespace) -> int:
    from .io import ModelFileError
    from .saving import load_model

    out = args.out or str(Path(args.model).with_suffix("." + args.format))
    try:
        model = load_model(args.model, compile=False)
        model.export(out, format=args.format, verbose=False)
    except (ModelFileError, ImportError, ValueError, OSError) as exc:
        print(f"lamina export: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {out} ({args.format}, input {model.input_shape}, output "
          f"{model.output_shape})")
    return 0


class Command(NamedTuple):
    """One ``lamina`` subcommand: its name, help, argument builder and handler."""

    name: str
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    handler: Callable[[argparse.Namespace], int]
    parser_options: dict = {}


COMMANDS = (
    Command("info", "version, CPU dispatch level, threads and build flags", _info_arguments,
            _cmd_info),
    Command("tune", "sweep hyperparameters of a run file (grid/random/TPE with pruning; "
            "loky, Dask, Ray, Optuna storage)",
            _tune_arguments, _cmd_tune),
    Command("train", "train a run file (default: an MLP on the bundled digits)",
            _train_arguments, _cmd_train,
            {"description": "Train the run described by RUN (TOML or JSON; none: a default "
             "MLP on the bundled digits), print the metrics and the diagnosis, and write "
             "model.lamina, history.csv, run.toml and learning_curves.png to --out.",
             "epilog": TRAIN_EPILOG, "formatter_class": argparse.RawDescriptionHelpFormatter}),
    Command("evaluate", "evaluate a saved model on data", _evaluate_arguments, _cmd_evaluate),
    Command("predict", "write a saved model's predictions as CSV", _predict_arguments,
            _cmd_predict),
    Command("compare", "train several run files, plot their validation curves",
            _compare_arguments, _cmd_compare),
    Command("export", "export a saved model for serving (ONNX)", _export_arguments,
            _cmd_export),
    Command("bench", "lamina against torch, scikit-learn and numpy, side by side (see "
            "`lamina bench --help`)", _bench_arguments, _cmd_bench),
    Command("examples", "list the bundled lessons (one hyperparameter each), or copy them out",
            _examples_arguments, _cmd_examples),
)


def build_parser() -> argparse.ArgumentParser:
    """The ``lamina`` argument parser, one subparser per row of `COMMANDS`.

    Example:
        >>> build_parser().parse_args(["info"]).command
        'info'
    """
    parser = argparse.ArgumentParser(prog="lamina", description="lamina: dense networks on the CPU")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for cmd in COMMANDS:
        p = sub.add_parser(cmd.name, help=cmd.help, **cmd.parser_options)
        cmd.arguments(p)
        p.set_defaults(func=cmd.handler)
    return parser


EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for a Ctrl-C


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if isinstance(exc, (ValueError, OSError)) else f"{type(exc).__name__}: {text}"


def _chunk_rows(text: str) -> int:
    """--chunk-rows: a whole number of rows in [1, 2**31 - 1]."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of rows, got {text!r}")
    if not 1 <= value <= 2**31 - 1:
        raise argparse.ArgumentTypeError(f"must be in [1, 2147483647], got {text!r}")
    return value


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
    from .runfile import RunFileError

    try:
        status = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler below
        return status
    except RunFileError as exc:  # bad run file, override, data or model file: one line, exit 2
        where = f"{exc.source}: " if exc.source else ""
        print(f"lamina {args.command}: error: {where}{exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"lamina {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        # Bad input that reached the library (a value the run-file checks let through, a
        # damaged file): the library's message, on one line, never a traceback.
        print(f"lamina {args.command}: error: {_one_line(exc)}", file=sys.stderr)
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
    except OSError as exc:  # a file that cannot be read or written (after BrokenPipeError)
        print(f"lamina {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        # A path the user gave that cannot be used (missing folder, a directory, no
        # permission) is bad input: 2. The machine failing (disk full, I/O error): 1.
        return 1 if exc.errno in (errno.ENOSPC, errno.EIO, errno.EDQUOT) else 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
