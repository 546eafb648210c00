"""ProgbarLogger: the progress display that ``fit(verbose=1|2)`` adds."""

from __future__ import annotations

import sys
import time

from .callback import Callback


def format_time(seconds):
    """``seconds`` as a progress line shows it: "1.2s", "12ms", "40us"."""
    if seconds >= 1.0:
        return f"{seconds:.1f}s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms"
    return f"{seconds * 1e6:.0f}us"


def _fmt(v):
    return f"{v:.4f}" if isinstance(v, float) and abs(v) >= 1e-3 or v == 0 else f"{v:.4e}"


class ProgbarLogger(Callback):
    """Prints progress: a bar per epoch (verbose 1; tqdm when installed) or one line per
    epoch (verbose 2). ``fit(verbose=...)`` adds it; you rarely create it yourself.

    Args:
        verbose: 1 (a bar) or 2 (a line per epoch), kept whatever fit's ``verbose`` is (as
            ``lamina train`` uses it). Defaults to `None` (fit's ``verbose``).
        stream: Where to print. Defaults to `None` (sys.stdout).

    Example:
        >>> ProgbarLogger().verbose, ProgbarLogger(verbose=2).verbose
        (1, 2)
    """

    def __init__(self, verbose=None, stream=None):
        super().__init__()
        self._fixed_verbose = verbose is not None
        self.verbose = 1 if verbose is None else verbose
        self.stream = stream
        self._bar = None
        self._t0 = 0.0
        self._last = 0.0
        self._line = ""
        self._seen = 0

    def set_params(self, params):
        super().set_params(params)
        if not self._fixed_verbose:
            self.verbose = params.get("verbose", self.verbose)
        if self.verbose != 1:  # no per-batch work for verbose 0 / 2
            self.__class__ = _EpochOnlyProgbar

    def _out(self):
        return self.stream or sys.stdout

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = self._last = time.perf_counter()
        self._seen = 0  # batches done this epoch
        epochs = self.params.get("epochs")
        out = self._out()
        if self.verbose == 1:
            try:
                from tqdm.auto import tqdm  # noqa: PLC0415
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self._bar = tqdm(total=self.params.get("steps"), file=out, leave=True,
                                 desc=f"Epoch {epoch + 1}/{epochs}", unit="step")
                return
            self._bar = None
        print(f"Epoch {epoch + 1}/{epochs}", file=out)

    def on_train_batch_end(self, batch, logs=None):
        now = time.perf_counter()
        steps = self.params.get("steps") or 0  # 0: not known yet (streamed Dask data)
        self._seen = batch + 1
        if now - self._last < 0.1 and (not steps or batch + 1 < steps):
            return
        self._last = now
        shown = {k: v for k, v in (logs or {}).items() if k != "batch_loss"}
        text = " - ".join(f"{k}: {_fmt(v)}" for k, v in shown.items())
        if self._bar is not None:
            self._bar.update(batch + 1 - self._bar.n)
            self._bar.set_postfix_str(text, refresh=True)
            return
        width = 20
        done = int(width * (batch + 1) / steps) if steps else width
        elapsed = now - self._t0
        eta = elapsed / (batch + 1) * (steps - batch - 1) if steps else 0.0
        bar = "=" * done + "." * (width - done)
        self._line = (f"\r{batch + 1}/{steps} [{bar}] ETA {eta:.0f}s - {text}" if steps else
                      f"\r{batch + 1}/Unknown - {text}")
        print(self._line, end="", file=self._out(), flush=True)

    def on_epoch_end(self, epoch, logs=None):
        elapsed = time.perf_counter() - self._t0
        steps = self.params.get("steps") or self._seen or 1
        text = " - ".join(f"{k}: {_fmt(v)}" for k, v in (logs or {}).items())
        if self._bar is not None:
            self._bar.update(steps - self._bar.n)
            self._bar.set_postfix_str(text, refresh=True)
            self._bar.close()
            self._bar = None
            return
        line = (f"{steps}/{steps} - {format_time(elapsed)} {format_time(elapsed / steps)}/step - "
                f"{text}")
        if self.verbose == 1:  # overwrite the bar, padding over its leftovers
            line = "\r" + line.ljust(len(self._line) - 1)
        print(line, file=self._out(), flush=True)


class _EpochOnlyProgbar(ProgbarLogger):
    """ProgbarLogger for verbose 2 (one line per epoch) or 0 (silent): no batch hooks."""

    on_train_batch_end = Callback.on_train_batch_end

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.perf_counter()
        if self.verbose == 2:
            print(f"Epoch {epoch + 1}/{self.params.get('epochs')}", file=self._out())

    def on_epoch_end(self, epoch, logs=None):
        if self.verbose == 2:
            super().on_epoch_end(epoch, logs)
