"""Running a run file: build the model, train it, report, write the outputs.

This is what ``lamina train`` / ``evaluate`` / ``predict`` / ``compare`` do; the same
functions work from Python.

Example:
    >>> from lamina.run import load_run
    >>> from lamina.experiment import train_run
    >>> result = train_run(load_run(overrides=["training.epochs=2"]), out_dir=None,
    ...                    verbose=False)
    >>> sorted(result.test)
    ['accuracy', 'loss']
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import math
import os
import sys
import time
from pathlib import Path
from typing import Any, Mapping, Sequence, TextIO

from . import plot as _plot
from .callbacks import Callback
from .diagnose import Finding, diagnose
from .run import (Dataset, Run, RunFileError, build_model, encode_labels, fit_size, load_data,
                  load_run, read_arrays)

__all__ = ["RunResult", "train_run", "ProgressBar", "write_history_csv", "untrained_loss",
           "default_out_dir", "evaluate_model", "predict_model", "compare_runs"]

PREPROCESSING_FILE = "preprocessing.npz"


class RunResult:
    """What `train_run` returns.

    Attributes:
        run: the resolved run.
        model: the trained `Sequential`.
        history: the `History` from fit.
        train, val, test: final metrics by name (``loss``, ``accuracy``, ...) on the training
            part (without dropout), the validation part and the test part (empty dicts when a
            part is empty).
        findings: the diagnosis (`lamina.diagnose.Finding` list).
        out_dir: where the outputs were written (None when nothing was written).
        files: the written files by kind (``model``, ``history``, ``run``, ``plot``).
        seconds: training wall time.

    Example:
        >>> RunResult(seconds=1.5).seconds
        1.5
    """

    def __init__(self, **kw: Any):
        self.__dict__.update(kw)


def default_out_dir(root: str | os.PathLike = "runs") -> Path:
    """``runs/<UTC timestamp>/``, made unique with a suffix if it exists.

    Args:
        root: The folder holding the runs. Defaults to `"runs"`.

    Example:
        >>> default_out_dir("runs").parent.name
        'runs'
    """
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    base = Path(root) / stamp
    path, i = base, 1
    while path.exists():
        path = base.with_name(f"{stamp}-{i}")
        i += 1
    return path


def untrained_loss(loss: str, n_classes: int | None) -> float | None:
    """The loss of a model that learned nothing (uniform predictions), for the diagnosis.

    Args:
        loss: The loss name.
        n_classes: Number of classes, or None for regression.

    Example:
        >>> round(untrained_loss("sparse_categorical_crossentropy", 10), 4)
        2.3026
    """
    if loss in ("sparse_categorical_crossentropy", "categorical_crossentropy") and n_classes:
        return math.log(n_classes)
    if loss == "binary_crossentropy":
        return math.log(2)
    return None


class ProgressBar(Callback):
    """Prints one progress bar per epoch with its metrics (redrawn per batch on a terminal).

    Args:
        epochs: total epochs (for ``Epoch i/N``).
        steps: batches per epoch.
        stream: where to write. Defaults to `None` (sys.stdout).
        width: bar width in characters. Defaults to `24`.

    Example:
        >>> import io
        >>> out = io.StringIO()
        >>> bar = ProgressBar(epochs=2, steps=4, stream=out, width=8)
        >>> bar.on_epoch_begin(0); bar.on_epoch_end(0, {"loss": 0.5})
        >>> out.getvalue().split("]")[0]
        '\\rEpoch 1/2 [========'
    """

    def __init__(self, epochs: int, steps: int, stream: TextIO | None = None, width: int = 24):
        super().__init__()
        self.epochs, self.steps, self.width = epochs, max(int(steps), 1), width
        self.stream = stream or sys.stdout
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        self.t0 = 0.0
        self.epoch = 0

    def _bar(self, done: int) -> str:
        fill = int(self.width * done / self.steps)
        head = ">" if fill < self.width else ""
        return "[" + "=" * fill + head + " " * (self.width - fill - len(head)) + "]"

    def _prefix(self, epoch: int) -> str:
        return f"\rEpoch {epoch + 1:>{len(str(self.epochs))}}/{self.epochs} "

    def on_epoch_begin(self, epoch, logs=None):
        self.t0 = time.perf_counter()
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.live and (batch % max(1, self.steps // 20) == 0 or batch + 1 == self.steps):
            self.stream.write(f"{self._prefix(self.epoch)}{self._bar(batch + 1)} "
                              f"{batch + 1}/{self.steps}")
            self.stream.flush()

    def on_epoch_end(self, epoch, logs=None):
        dt = time.perf_counter() - self.t0
        vals = " ".join(f"{k} {v:.4f}" for k, v in (logs or {}).items()
                        if isinstance(v, (int, float)) and k != "learning_rate")
        self.stream.write(f"{self._prefix(epoch)}{self._bar(self.steps)} {dt:5.2f}s  {vals}\n")
        self.stream.flush()


def _early_stopping(cfg: Mapping):
    from .callbacks import EarlyStopping

    return EarlyStopping(monitor=cfg["monitor"], patience=cfg["patience"],
                         min_delta=cfg["min_delta"], mode=cfg["mode"],
                         restore_best_weights=cfg["restore_best_weights"],
                         start_from_epoch=cfg["start_from_epoch"])


def _optimizer(training: Mapping):
    from . import optimizers

    opt = dict(training["optimizer"])
    name = opt.pop("name")
    sched = training.get("schedule")
    if sched:
        s = dict(sched)
        cls = {"exponential_decay": "ExponentialDecay", "inverse_time_decay": "InverseTimeDecay",
               "cosine_decay": "CosineDecay",
               "piecewise_constant_decay": "PiecewiseConstantDecay"}[s.pop("name")]
        klass = getattr(optimizers.schedules, cls)
        if cls == "PiecewiseConstantDecay":
            opt["learning_rate"] = klass(**s)
        else:
            opt["learning_rate"] = klass(initial_learning_rate=opt["learning_rate"], **s)
    return optimizers.get({"class_name": name, "config": opt})


def _load_data(run: Run) -> Dataset:
    try:
        return load_data(run)
    except RunFileError as exc:  # name the run file the data came from
        raise exc.with_source(run.source) from None


def _metrics_dict(model, x, y) -> dict[str, float]:
    if x.shape[0] == 0:
        return {}
    out = model.evaluate(x, y, verbose=0, return_dict=True)
    return {k: float(v) for k, v in out.items()}


def write_history_csv(history: Any, path: str | os.PathLike) -> None:
    """Writes ``epoch,<key>,...`` rows, one per epoch (epochs 1-based).

    Args:
        history: A `History` or its ``{key: per-epoch values}`` dict.
        path: The CSV file to write.

    Example:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "history.csv")
        >>> write_history_csv({"loss": [0.5, 0.25]}, path); read_history_csv(path)
        {'loss': [0.5, 0.25]}
    """
    h = getattr(history, "history", history)
    keys = list(h)
    n = max((len(v) for v in h.values()), default=0)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["epoch", *keys])
        for i in range(n):
            w.writerow([i + 1, *(repr(float(h[k][i])) if i < len(h[k]) else "" for k in keys)])


def read_history_csv(path: str | os.PathLike) -> dict[str, list[float]]:
    """Reads what `write_history_csv` wrote back into ``{key: per-epoch values}``.

    Args:
        path: The CSV file.

    Example:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "h.csv")
        >>> write_history_csv({"loss": [1.0]}, path); read_history_csv(path)["loss"]
        [1.0]
    """
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    keys = rows[0][1:]
    return {k: [float(r[i + 1]) for r in rows[1:] if r[i + 1] != ""] for i, k in enumerate(keys)}


def _fmt_metrics(d: Mapping[str, float]) -> str:
    return "  ".join(f"{k} {v:.4f}" for k, v in d.items())


def train_run(run: Run | Mapping | str | None = None, out_dir: str | os.PathLike | None = "auto",
              verbose: bool = True, stream: TextIO | None = None,
              data: Dataset | None = None) -> RunResult:
    """Trains a run, diagnoses it and writes its outputs.

    Args:
        run: a resolved `Run`, or anything `load_run` takes. Defaults to `None` (the default
            run).
        out_dir: output folder; ``"auto"`` uses the run's ``outputs.dir`` or
            ``runs/<timestamp>/``; None writes nothing. Defaults to `"auto"`.
        verbose: print progress bars, metrics and the diagnosis. Defaults to `True`.
        stream: where to print. Defaults to `None` (sys.stdout).
        data: an already loaded `Dataset` (skips reading the data). Defaults to `None`.

    Returns:
        A `RunResult`.

    Example:
        >>> result = train_run(load_run(overrides=["training.epochs=1"]), out_dir=None,
        ...                    verbose=False)
        >>> len(result.history.history["loss"]), sorted(result.test)
        (1, ['accuracy', 'loss'])
    """
    import numpy as np

    if not isinstance(run, Run):
        run = load_run(run)
    out = stream or sys.stdout
    say = (lambda s: print(s, file=out)) if verbose else (lambda s: None)
    ds = data if data is not None else _load_data(run)
    tr = run["training"]
    model = build_model(run, ds.input_dim)  # seeded by training.seed: init, shuffle, dropout
    model.compile(optimizer=_optimizer(tr), loss=tr["loss"], metrics=list(tr["metrics"]))
    n_fit = fit_size(ds.x_train.shape[0], tr["validation_split"])
    batch_size = n_fit if tr["batch_size"] == "full" else min(tr["batch_size"], n_fit)
    steps = -(-n_fit // batch_size)
    callbacks = []
    if tr["early_stopping"]:
        callbacks.append(_early_stopping(tr["early_stopping"]))
    if verbose:
        callbacks.append(ProgressBar(tr["epochs"], steps, out))
        say(f"run {run['name']}: {ds.x_train.shape[0]} train ({n_fit} fit + "
            f"{ds.x_train.shape[0] - n_fit} validation), {ds.x_test.shape[0]} test samples, "
            f"{ds.input_dim} features; {model.count_params()} parameters; "
            f"{tr['optimizer']['name']} lr {tr['optimizer']['learning_rate']:g}, batch "
            f"{batch_size}, {tr['epochs']} epochs")
    t0 = time.perf_counter()
    history = model.fit(ds.x_train, ds.y_train, epochs=tr["epochs"], batch_size=batch_size,
                        validation_split=tr["validation_split"], shuffle=tr["shuffle"],
                        callbacks=callbacks, verbose=0)
    seconds = time.perf_counter() - t0
    n_val = ds.x_train.shape[0] - n_fit
    results = {
        "train": _metrics_dict(model, ds.x_train[:n_fit], ds.y_train[:n_fit]),
        "val": _metrics_dict(model, ds.x_train[n_fit:], ds.y_train[n_fit:]) if n_val else {},
        "test": _metrics_dict(model, ds.x_test, ds.y_test),
    }
    thresholds = {"baseline": untrained_loss(tr["loss"], ds.n_classes), **run["diagnosis"]}
    findings = diagnose(history, **thresholds)
    stopper = callbacks[0] if tr["early_stopping"] else None
    if stopper is not None and getattr(stopper, "stopped_epoch", 0):
        findings = [_after_early_stop(f, stopper) for f in findings]
    files: dict[str, Path] = {}
    target = None
    if out_dir is not None:
        target = Path(run["outputs"]["dir"] or default_out_dir()) if out_dir == "auto" \
            else Path(out_dir)
        target.mkdir(parents=True, exist_ok=True)
        files["run"] = target / "run.toml"
        run.save(files["run"])
        if run["outputs"]["model"]:
            files["model"] = target / "model.lamina"
            model.save(files["model"])
            if ds.mean is not None:
                files["preprocessing"] = target / PREPROCESSING_FILE
                np.savez(files["preprocessing"], mean=ds.mean, scale=ds.scale)
        if run["outputs"]["history"]:
            files["history"] = target / "history.csv"
            write_history_csv(history, files["history"])
        if run["outputs"]["plot"]:
            if _plot.available():
                files["plot"] = target / "learning_curves.png"
                verdict = ", ".join(f.name.replace("_", " ") for f in findings) or "healthy"
                _plot.learning_curves(history, files["plot"], title=f"{run['name']}: {verdict}",
                                      findings=findings)
            else:
                say(f"learning_curves.png skipped: matplotlib is not installed "
                    f"({_plot.INSTALL_HINT})")
    if verbose:
        if getattr(history, "interrupted", False):
            say(f"interrupted after {len(history.history.get('loss', []))} epochs: the "
                f"metrics and outputs are those of the model at that point")
        say(f"trained in {seconds:.2f}s")
        for part in ("train", "val", "test"):
            if results[part]:
                say(f"{part + ':':<6} {_fmt_metrics(results[part])}")
        say(format_findings(findings))
        if target is not None:
            say(f"wrote {', '.join(p.name for p in files.values())} to {target}")
    return RunResult(run=run, model=model, history=history, findings=findings,
                     out_dir=target, files=files, seconds=seconds, **results)


def _after_early_stop(f: Finding, stopper) -> Finding:
    """Says that early stopping already acted on an overfitting finding."""
    if f.name != "overfitting":
        return f
    kept = (f"; early stopping ended the run at epoch {stopper.stopped_epoch + 1}"
            + (f" and restored the weights of epoch {stopper.best_epoch + 1}"
               if stopper.restore_best_weights else ""))
    return Finding(f.name, f.evidence + kept,
                   tuple(s for s in f.suggestions if "stop early" not in s), f.epoch)


def format_findings(findings: Sequence[Finding]) -> str:
    """The diagnosis as printed by ``lamina train``."""
    if not findings:
        return "diagnosis: healthy (no overfitting, underfitting, divergence or noise found)"
    return "diagnosis:\n" + "\n".join("  " + str(f).replace("\n", "\n  ") for f in findings)


# ---------------------------------------------------------------------------------------------
# evaluate / predict / compare


def _load_model(path: str | os.PathLike):
    p = Path(path)
    if not p.is_file():
        raise RunFileError("MODEL", f"file not found: {str(path)!r}")
    from . import load_model

    try:
        return load_model(p)
    except (ValueError, OSError, KeyError) as exc:
        raise RunFileError("MODEL", f"cannot load {str(path)!r}: {exc}") from None


def _model_inputs(model_path: str | os.PathLike, data: str | None, label: str | None,
                  require_label: bool):
    """(model, x, y or None, run or None) for evaluate/predict, standardized like training."""
    import numpy as np

    model = _load_model(model_path)
    mdir = Path(model_path).resolve().parent
    run = None
    if (mdir / "run.toml").is_file():
        try:
            run = load_run(mdir / "run.toml")
        except RunFileError:
            run = None
    if data is None:
        if run is None:
            raise RunFileError("DATA", f"give a data file: there is no run.toml beside "
                               f"{str(model_path)!r} to take the test split from")
        ds = load_data(run)
        return model, ds.x_test, ds.y_test, run, "the run's test split"
    default_label = run["data"]["label"] if run and run["data"]["source"] != "digits" else None
    lab = label or default_label or ("y" if data == "digits" or data.endswith(".npz")
                                     else "label")
    x, y, _ = read_arrays(data, lab, run["data"].get("features", "x") if run else "x",
                          key="DATA", require_label=require_label)
    want = (getattr(model, "input_shape", None) or (None, None))[-1]
    if want is not None and x.shape[1] != want:
        raise RunFileError("DATA", f"{data!r} has {x.shape[1]} feature columns, the model "
                           f"expects {want}")
    prep = mdir / PREPROCESSING_FILE
    if prep.is_file():
        with np.load(prep, allow_pickle=False) as z:
            x = (x - z["mean"]) / z["scale"]
    if y is not None:
        loss = run["training"]["loss"] if run else "sparse_categorical_crossentropy"
        n_classes = int(getattr(model, "output_shape", (None, 0))[-1] or 0) or int(y.max()) + 1
        y = encode_labels(y, loss, n_classes, np.dtype(model.dtype))
    return model, np.ascontiguousarray(x, model.dtype), y, run, data


def evaluate_model(model_path: str | os.PathLike, data: str | None = None,
                   label: str | None = None) -> dict[str, float]:
    """Evaluates a saved model on data (or on its run's test split when `data` is None).

    Args:
        model_path: A ``.lamina`` file (a ``run.toml`` beside it gives the preprocessing,
            labels and test split).
        data: ``"digits"``, a ``.npz`` or a ``.csv`` file. Defaults to `None` (the run's
            test split).
        label: The label array or column. Defaults to `None` (the run's, else ``y`` /
            ``label``).

    Returns:
        ``{"loss": ..., metric: ...}``.

    Example:
        >>> import tempfile
        >>> from lamina.run import load_run
        >>> res = train_run(load_run(overrides=["training.epochs=1"]),
        ...                 out_dir=tempfile.mkdtemp(), verbose=False)
        >>> sorted(evaluate_model(res.files["model"]))
        ['accuracy', 'loss']
    """
    model, x, y, _, _ = _model_inputs(model_path, data, label, require_label=True)
    return _metrics_dict(model, x, y)


def predict_model(model_path: str | os.PathLike, data: str | None, out: str | os.PathLike,
                  label: str | None = None) -> int:
    """Writes ``index,prediction[,label],p_0,...`` rows to `out`; returns the row count.

    Args:
        model_path: A ``.lamina`` file, as for `evaluate_model`.
        data: ``"digits"``, a ``.npz`` or a ``.csv`` file, or None for the run's test split.
        out: The CSV file to write.
        label: The label array or column, written beside the predictions when present.
            Defaults to `None` (the run's, else ``y`` / ``label``).

    Example:
        >>> import os, tempfile
        >>> from lamina.run import load_run
        >>> out = tempfile.mkdtemp()
        >>> res = train_run(load_run(overrides=["training.epochs=1"]), out_dir=out,
        ...                 verbose=False)
        >>> predict_model(res.files["model"], None, os.path.join(out, "p.csv")) > 0
        True
    """
    import numpy as np

    model, x, y, _, _ = _model_inputs(model_path, data, label, require_label=False)
    probs = np.asarray(model.predict(x, verbose=0))
    with open(out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        k = probs.shape[1]
        labels = None
        if y is not None:
            labels = y if y.ndim == 1 else (y.argmax(axis=1) if y.shape[1] > 1 else y[:, 0])
        w.writerow(["index", "prediction", *(["label"] if labels is not None else []),
                    *(f"p_{j}" for j in range(k))] if k > 1 else
                   ["index", "prediction", *(["label"] if labels is not None else [])])
        for i in range(probs.shape[0]):
            pred = int(probs[i].argmax()) if k > 1 else float(probs[i, 0])
            row = [i, pred]
            if labels is not None:
                row.append(labels[i].item() if hasattr(labels[i], "item") else labels[i])
            if k > 1:
                row.extend(f"{p:.6g}" for p in probs[i])
            w.writerow(row)
    return int(probs.shape[0])


def compare_runs(paths: Sequence[str], overrides: Sequence[str] = (),
                 out_dir: str | os.PathLike | None = None, verbose: bool = True,
                 stream: TextIO | None = None) -> list[RunResult]:
    """Trains several runs and draws their validation curves on one figure.

    Every run is validated before any trains. Each run's outputs go to ``out_dir/<name>/``
    and the figure to ``out_dir/compare.png``, with a ``compare.csv`` summary.

    Args:
        paths: Run files (or anything `load_run` takes), one per run.
        overrides: ``["key.path=value", ...]`` applied to every run. Defaults to `()`.
        out_dir: Where the outputs go. Defaults to `None` (``runs/<timestamp>/``).
        verbose: Print one line per run. Defaults to `True`.
        stream: Where to print. Defaults to `None` (sys.stdout).

    Returns:
        The `RunResult` of each run, in order.

    Example:
        >>> import tempfile
        >>> results = compare_runs([None, None], ["training.epochs=1"],
        ...                        out_dir=tempfile.mkdtemp(), verbose=False)
        >>> [len(r.history.history["loss"]) for r in results]
        [1, 1]
    """
    out = stream or sys.stdout
    runs = [load_run(p, overrides) for p in paths]
    datasets = [_load_data(r) for r in runs]  # every data problem shows before any training
    names: list[str] = []
    for r in runs:
        name, i = r["name"], 2
        while name in names:
            name, i = f"{r['name']}-{i}", i + 1
        names.append(name)
    target = Path(out_dir) if out_dir is not None else default_out_dir()
    target.mkdir(parents=True, exist_ok=True)
    results = []
    for name, r, ds in zip(names, runs, datasets):
        res = train_run(r, out_dir=target / name, verbose=False, data=ds)
        results.append(res)
        if verbose:
            test = _fmt_metrics(res.test) or "(no test split)"
            diag = ", ".join(f.name for f in res.findings) or "healthy"
            print(f"{name:<20} {res.seconds:6.2f}s  test: {test}  [{diag}]", file=out)
    with open(target / "compare.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        keys = sorted({k for res in results for k in res.test})
        w.writerow(["run", "epochs", "seconds", *(f"test_{k}" for k in keys), "diagnosis"])
        for name, res in zip(names, results):
            w.writerow([name, len(res.history.history.get("loss", [])), f"{res.seconds:.2f}",
                        *(repr(res.test.get(k, float("nan"))) for k in keys),
                        ";".join(f.name for f in res.findings)])
    if _plot.available():
        _plot.compare_curves({n: r.history for n, r in zip(names, results)},
                             target / "compare.png")
        if verbose:
            print(f"wrote compare.png and compare.csv to {target}", file=out)
    elif verbose:
        print(f"wrote compare.csv to {target}; compare.png skipped: matplotlib is not "
              f"installed ({_plot.INSTALL_HINT})", file=out)
    return results


# ---------------------------------------------------------------------------------------------
# Command line (hooked into lamina.cli by add_commands)


def _cmd_train(args) -> int:
    run = load_run(args.run, args.set)
    out_dir: Any = args.out if args.out is not None else "auto"
    res = train_run(run, out_dir=out_dir, verbose=not args.quiet)
    if args.quiet:
        print(_fmt_metrics(res.test) if res.test else _fmt_metrics(res.train))
    return 0


def _cmd_evaluate(args) -> int:
    model, x, y, run, what = _model_inputs(args.model, args.data, args.label, True)
    note = ""
    if run is not None and args.data is not None and (
            args.data == run["data"]["source"] or (args.data != "digits" and Path(
                args.data).resolve() == Path(run["data"]["source"]).resolve())):
        note = (" (the model's training data, its training samples included; without DATA, "
                "`lamina evaluate MODEL` uses the run's held-out test split)")
    print(f"{what}: {x.shape[0]} samples{note}")
    print(_fmt_metrics(_metrics_dict(model, x, y)))
    return 0


def _cmd_predict(args) -> int:
    n = predict_model(args.model, args.data, args.out, args.label)
    print(f"wrote {n} predictions to {args.out}")
    return 0


def _cmd_compare(args) -> int:
    compare_runs(args.runs, args.set, args.out)
    return 0


TRAIN_EPILOG = """\
a run file (every key optional; the full format is in lamina/run.py, examples in examples/):

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


def add_commands(sub) -> None:
    """Adds train / evaluate / predict / compare to the ``lamina`` argparse subparsers."""
    p = sub.add_parser("train", help="train a run file (default: an MLP on the bundled digits)",
                       description="Train the run described by RUN (TOML or JSON; none: a "
                       "default MLP on the bundled digits), print the metrics and the "
                       "diagnosis, and write model.lamina, history.csv, run.toml and "
                       "learning_curves.png to --out.",
                       epilog=TRAIN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", nargs="?", metavar="RUN", help="run file (.toml or .json)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a run-file value, e.g. training.epochs=5 or "
                   "model.layers[0].units=64 (repeatable)")
    p.add_argument("--out", metavar="DIR", help="output folder (default: outputs.dir or "
                   "runs/<timestamp>/)")
    p.add_argument("--quiet", action="store_true", help="print only the final test metrics")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("evaluate", help="evaluate a saved model on data")
    p.add_argument("model", metavar="MODEL", help="a .lamina file")
    p.add_argument("data", metavar="DATA", nargs="?", help="'digits', a .npz or a .csv file "
                   "(default: the test split of the run.toml beside MODEL)")
    p.add_argument("--label", help="label column (CSV) or array (NPZ)")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("predict", help="write a saved model's predictions as CSV")
    p.add_argument("model", metavar="MODEL", help="a .lamina file")
    p.add_argument("data", metavar="DATA", help="'digits', a .npz or a .csv file")
    p.add_argument("--out", required=True, metavar="FILE", help="predictions CSV to write")
    p.add_argument("--label", help="label column (CSV) or array (NPZ), kept in the output")
    p.set_defaults(func=_cmd_predict)

    p = sub.add_parser("compare", help="train several run files, plot their validation curves")
    p.add_argument("runs", nargs="+", metavar="RUN", help="run files")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override applied to every run (repeatable)")
    p.add_argument("--out", metavar="DIR", help="output folder (default: runs/<timestamp>/)")
    p.set_defaults(func=_cmd_compare)
