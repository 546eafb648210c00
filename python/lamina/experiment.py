"""Running a run file: train it, report, write the outputs; evaluate, predict, compare.

This is what ``lamina train`` / ``evaluate`` / ``predict`` / ``compare`` do (``lamina.cli``
parses their arguments); the same functions work from Python. What a run describes is
built by ``lamina.runfile`` (``build_model``, ``build_optimizer``, ``build_callbacks``).

Example:
    >>> from lamina.runfile import load_run
    >>> from lamina.experiment import train_run
    >>> result = train_run(load_run(overrides=["training.epochs=2"]), out_dir=None,
    ...                    verbose=False)
    >>> sorted(result.test)
    ['accuracy', 'loss']
"""

from __future__ import annotations

import contextlib
import csv
import datetime as _dt
import os
import sys
import time
from pathlib import Path
from typing import Any, Mapping, Sequence, TextIO

from . import plot as _plot
from .callbacks import EarlyStopping, TerminateOnNaN
from .diagnose import Finding, diagnose, reference
from .runfile import (Dataset, Run, RunFileError, build_callbacks, build_model,
                      build_optimizer, encode_labels, fit_batch_size, fit_size, load_data,
                      load_run, read_arrays)
from .runfile.build import STANDARDIZE_LAYER
from .runfile.chunks import CHUNKED_SUFFIXES, read_chunks
from .prediction_csv import write_prediction_rows

__all__ = ["RunResult", "train_run", "write_history_csv", "read_history_csv",
           "untrained_loss", "default_out_dir", "format_findings", "format_metrics",
           "model_inputs", "evaluate_arrays", "evaluate_model", "predict_model",
           "compare_runs"]

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
    """The loss of a model that learned nothing (uniform predictions), without the data.

    `fit` measures it on the training targets (the best constant prediction,
    `lamina.diagnose.reference`), and the diagnosis uses that.

    Args:
        loss: The loss name.
        n_classes: Number of classes, or None for regression.

    Example:
        >>> round(untrained_loss("sparse_categorical_crossentropy", 10), 4)
        2.3026
    """
    return reference(loss, None, n_classes)["untrained_loss"]


def _load_data(run: Run) -> Dataset:
    try:
        return load_data(run, in_model=True)  # the model standardizes (a Normalization layer)
    except RunFileError as exc:  # name the run file the data came from
        raise exc.with_source(run.source) from None


def evaluate_arrays(model, x, y) -> dict[str, float]:
    """``{"loss": ..., metric: ...}`` of `model` on ``(x, y)``; ``{}`` when x is empty.

    A model with L1/L2 penalties also gets ``data_loss``: the loss without them.

    Args:
        model: A compiled model.
        x: Inputs.
        y: Targets.

    Example:
        >>> import numpy as np
        >>> evaluate_arrays(None, np.zeros((0, 3)), np.zeros(0))
        {}
    """
    if x.shape[0] == 0:
        return {}
    out = {k: float(v) for k, v in model.evaluate(x, y, verbose=0, return_dict=True).items()}
    net = getattr(model, "_network", None)
    if getattr(net, "last_penalty", 0.0):  # a regularized model: also the loss without it
        out["data_loss"] = out["loss"] - float(net.last_penalty)
    return out


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


def format_metrics(d: Mapping[str, float]) -> str:
    """Metrics as ``lamina train`` prints them: the loss first, then the rest in order.

    Example:
        >>> format_metrics({"accuracy": 0.9, "loss": 0.25})
        'loss 0.2500  accuracy 0.9000'
    """
    return "  ".join(f"{k} {d[k]:.4f}" for k in sorted(d, key=lambda k: k != "loss"))


def train_run(run: Run | Mapping | str | None = None, out_dir: str | os.PathLike | None = "auto",
              verbose: bool = True, stream: TextIO | None = None,
              data: Dataset | None = None, callbacks: Sequence | None = None) -> RunResult:
    """Trains a run, diagnoses it and writes its outputs.

    Args:
        run: a resolved `Run`, or anything `load_run` takes. Defaults to `None` (the default
            run).
        out_dir: output folder; ``"auto"`` uses the run's ``outputs.dir`` or
            ``runs/<timestamp>/``; None writes nothing. Defaults to `"auto"`.
        verbose: print progress bars, metrics and the diagnosis. Defaults to `True`.
        stream: where to print. Defaults to `None` (sys.stdout).
        data: an already loaded `Dataset` (skips reading the data). Defaults to `None`.
        callbacks: more callbacks for ``fit`` (after the run's own), e.g. a tuner's pruning
            callback; an exception one raises propagates. Defaults to `None`.

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
    # Seeded by training.seed (init, shuffle, dropout); standardization as its first layer.
    model = build_model(run, ds.input_dim, ds)
    model.compile(optimizer=build_optimizer(tr), loss=tr["loss"], metrics=list(tr["metrics"]))
    n_fit = fit_size(ds.x_train.shape[0], tr["validation_split"])
    _adapt_input_normalization(model, ds.x_train[:n_fit])
    batch_size = fit_batch_size(tr, n_fit)
    extra = list(callbacks or [])
    callbacks = build_callbacks(run, progress=verbose, stream=out) + extra
    stopper = next((cb for cb in callbacks if isinstance(cb, EarlyStopping)), None)
    nan_stop = next((cb for cb in callbacks if isinstance(cb, TerminateOnNaN)), None)
    if verbose:
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
        "train": evaluate_arrays(model, ds.x_train[:n_fit], ds.y_train[:n_fit]),
        "val": evaluate_arrays(model, ds.x_train[n_fit:], ds.y_train[n_fit:]) if n_val else {},
        "test": evaluate_arrays(model, ds.x_test, ds.y_test),
    }
    # The diagnosis reads the run from the history (model, fit_info: the untrained loss of
    # these targets, batch size, early stopping, TerminateOnNaN); the run file's
    # [diagnosis] gives thresholds, and `baseline` only when it sets one.
    findings = diagnose(history, **run["diagnosis"])
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
            if ds.mean is not None:  # a record: the model's "standardize" layer holds it
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
        for line in _stop_lines(history, stopper, nan_stop):
            say(line)
        for part in ("train", "val", "test"):
            if results[part]:
                say(f"{part + ':':<6} {format_metrics(results[part])}")
        say(format_findings(findings))
        if target is not None:
            say(f"wrote {', '.join(p.name for p in files.values())} to {target}")
    return RunResult(run=run, model=model, history=history, findings=findings,
                     out_dir=target, files=files, seconds=seconds, **results)


def _stop_lines(history, stopper, nan_stop) -> list[str]:
    """What ended the run early, for the summary (TerminateOnNaN, early stopping)."""
    lines = []
    n = len(history.history.get("loss", []))
    if nan_stop is not None and nan_stop.stopped_batch is not None:
        text = (f"TerminateOnNaN: the loss became NaN/inf at batch {nan_stop.stopped_batch + 1}"
                f" of epoch {n}; training stopped")
        if nan_stop.restored_step is not None:
            text += (f" and the model keeps the last finite weights (before optimizer step "
                     f"{nan_stop.restored_step + 1})")
        lines.append(text + " (training.terminate_on_nan = false trains on)")
    if stopper is not None and getattr(stopper, "stopped_epoch", 0):
        text = f"early stopping ended the run at epoch {stopper.stopped_epoch + 1}"
        if stopper.restore_best_weights and stopper.best_weights is not None:
            text += f" and restored the weights of epoch {stopper.best_epoch + 1}"
        lines.append(text)
    return lines


def _adapt_input_normalization(model, x) -> None:
    """A run file's ``type = "normalization"`` layer without mean / variance, reading the
    model's inputs (the first layers), is adapted on the fitted part of the training data:
    a run file has no other way to call ``adapt``."""
    from .layers import Normalization

    import numpy as np

    h = np.asarray(x, np.float64)
    for layer in model.layers:  # the leading Normalization layers, in order
        if not isinstance(layer, Normalization):
            break
        if layer.input_mean is None and int(layer.count) == 0:
            layer.adapt(h)
        d = np.maximum(np.sqrt(layer.variance.astype(np.float64)), 1e-7)
        mean = layer.mean.astype(np.float64)
        if len(layer.input_shape) == 1 and layer.mean.shape in ((), layer.input_shape):
            h = mean + h * d if layer.invert else (h - mean) / d
        else:
            break


def format_findings(findings: Sequence[Finding]) -> str:
    """The diagnosis as printed by ``lamina train``.

    Example:
        >>> format_findings([])
        'diagnosis: healthy (no overfitting, underfitting, divergence or noise found)'
    """
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


def _read_preprocessing(path: Path, n_features: int):
    """``(mean, scale)`` from a preprocessing file, or a `RunFileError` naming the damage."""
    import zipfile

    import numpy as np

    try:
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as z:
            mean, scale = np.asarray(z["mean"], np.float64), np.asarray(z["scale"], np.float64)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise RunFileError("MODEL", f"the preprocessing file {str(path)!r} beside the model is "
                           f"damaged: {exc}") from None
    for name, arr in (("mean", mean), ("scale", scale)):
        if arr.shape not in ((n_features,), (1, n_features)) or not np.isfinite(arr).all() or (
                name == "scale" and (arr == 0).any()):
            raise RunFileError("MODEL", f"the preprocessing file {str(path)!r} beside the "
                               f"model is damaged: {name} has shape {arr.shape} or holds NaN, "
                               f"inf or a zero scale (the data has {n_features} features)")
    return mean, scale


def model_inputs(model_path: str | os.PathLike, data: str | None, label: str | None,
                  require_label: bool):
    """What evaluate and predict work on: the model and its data, standardized like training.

    A model trained from a run file standardizes its raw inputs itself (its first layer is a
    Normalization named "standardize"), so it works anywhere; a ``preprocessing.npz`` beside
    an older model without that layer is applied here.

    Args:
        model_path: A ``.lamina`` file (a ``run.toml`` beside it gives the labels and test
            split).
        data: ``"digits"``, a ``.npz`` or a ``.csv`` file, or None (the run's test split).
        label: The label array or column, or None (the run's, else ``y`` / ``label``).
        require_label: A missing label is an error (else y is None).

    Returns:
        ``(model, x, y or None, run or None, what)``: ``what`` names the data in messages.
    """
    model, run, standardizes, mdir = _model_context(model_path)
    if data is None:
        if run is None:
            raise RunFileError("DATA", f"give a data file: there is no run.toml beside "
                               f"{str(model_path)!r} to take the test split from")
        # A model from before the model carried its standardization gets its test split
        # standardized here, as it was then.
        ds = load_data(run, in_model=standardizes or not (mdir / PREPROCESSING_FILE).is_file())
        return model, ds.x_test, ds.y_test, run, "the run's test split"
    x, y, _ = read_arrays(data, _label_name(run, data, label),
                          run["data"].get("features", "x") if run else "x",
                          key="DATA", require_label=require_label)
    x, y = _as_model_inputs(model, run, standardizes, mdir, data, x, y)
    return model, x, y, run, data


def _model_context(model_path):
    """``(model, run or None, whether the model standardizes its inputs, its folder)``."""
    model = _load_model(model_path)
    mdir = Path(model_path).resolve().parent
    # Trained from a run file, the model standardizes raw inputs itself (its first layer);
    # preprocessing.npz beside it is then only a record of the statistics.
    first = (getattr(model, "layers", None) or [None])[0]
    standardizes = getattr(first, "name", None) == STANDARDIZE_LAYER
    run = None
    if (mdir / "run.toml").is_file():
        try:
            run = load_run(mdir / "run.toml")
        except RunFileError:
            run = None
    return model, run, standardizes, mdir


def _label_name(run, data: str, label: str | None) -> str:
    default_label = run["data"]["label"] if run and run["data"]["source"] != "digits" else None
    return label or default_label or ("y" if data == "digits" or data.endswith(".npz")
                                      else "label")


def _as_model_inputs(model, run, standardizes, mdir, data, x, y):
    """Raw ``(x, y)`` rows (a whole file or a chunk of it) as the model takes them."""
    import numpy as np

    want = (getattr(model, "input_shape", None) or (None, None))[-1]
    if want is not None and x.shape[1] != want:
        raise RunFileError("DATA", f"{data!r} has {x.shape[1]} feature columns, the model "
                           f"expects {want}")
    prep = mdir / PREPROCESSING_FILE
    if prep.is_file() and not standardizes:
        mean, scale = _read_preprocessing(prep, x.shape[1])
        x = (x - mean) / scale
    if y is not None:
        loss = run["training"]["loss"] if run else "sparse_categorical_crossentropy"
        n_classes = int(getattr(model, "output_shape", (None, 0))[-1] or 0) or int(y.max()) + 1
        y = encode_labels(y, loss, n_classes, np.dtype(model.dtype))
    return np.ascontiguousarray(x, model.dtype), y


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
        >>> from lamina.runfile import load_run
        >>> res = train_run(load_run(overrides=["training.epochs=1"]),
        ...                 out_dir=tempfile.mkdtemp(), verbose=False)
        >>> sorted(evaluate_model(res.files["model"]))
        ['accuracy', 'loss']
    """
    model, x, y, _, _ = model_inputs(model_path, data, label, require_label=True)
    return evaluate_arrays(model, x, y)


def _same_file(a, b) -> bool:
    """Whether paths ``a`` and ``b`` name one file (through links, ``..`` and the like)."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return os.path.realpath(a) == os.path.realpath(b)


def predict_model(model_path: str | os.PathLike, data: str | None, out: str | os.PathLike,
                  label: str | None = None, chunk_rows: int = 65536) -> int:
    """Writes ``index,prediction[,label],p_0,...`` rows to `out`; returns the row count.

    Args:
        model_path: A ``.lamina`` file, as for `evaluate_model`.
        data: ``"digits"``, a ``.npz``, a ``.csv`` or a ``.parquet`` file, or None for the
            run's test split. CSV and Parquet files are read, predicted and written
            ``chunk_rows`` rows at a time.
        out: The CSV file to write.
        label: The label array or column, written beside the predictions when present.
            Defaults to `None` (the run's, else ``y`` / ``label``).
        chunk_rows: Rows per chunk of a CSV or Parquet file. Defaults to `65536`.

    Example:
        >>> import os, tempfile
        >>> from lamina.runfile import load_run
        >>> out = tempfile.mkdtemp()
        >>> res = train_run(load_run(overrides=["training.epochs=1"]), out_dir=out,
        ...                 verbose=False)
        >>> predict_model(res.files["model"], None, os.path.join(out, "p.csv")) > 0
        True
    """
    import numpy as np

    for name, path in (("MODEL", model_path), ("DATA", data)):
        if path is not None and path != "digits" and _same_file(out, path):
            raise RunFileError("--out", f"{str(out)!r} is the {name} file: predictions would "
                               "overwrite it; write them to another file")
    if data is not None and Path(data).suffix.lower() in CHUNKED_SUFFIXES:
        # Read, predicted and written a chunk at a time: files larger than memory work.
        model, run, standardizes, mdir = _model_context(model_path)
        # A label the user names must be there; the default one ("y", "label", the run's)
        # is kept when the file has it.
        _, raw = read_chunks(data, _label_name(run, data, label), chunk_rows=chunk_rows,
                             require_label=label is not None)
        chunks = (_as_model_inputs(model, run, standardizes, mdir, data, x, y) for x, y in raw)
    else:
        model, x, y, _, _ = model_inputs(model_path, data, label,
                                         require_label=label is not None)
        chunks = [(x, y)]
    n = 0
    try:
        with open(out, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            for x, y in chunks:
                n = write_prediction_rows(w, np.asarray(model.predict(x, verbose=0)), y, n)
    except BaseException:
        with contextlib.suppress(OSError):  # no half-written predictions left behind
            os.remove(out)
        raise
    return n


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
            test = format_metrics(res.test) or "(no test split)"
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
