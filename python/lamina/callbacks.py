"""Callbacks: code that runs at Keras's hooks during ``fit`` / ``evaluate`` / ``predict``.

The hooks and their arguments are Keras 3's: ``on_train_begin(logs)``,
``on_epoch_begin(epoch, logs)``, ``on_train_batch_begin(batch, logs)``,
``on_train_batch_end(batch, logs)``, ``on_epoch_end(epoch, logs)``, ``on_train_end(logs)``
(and the ``test`` / ``predict`` variants). A callback that defines no batch hook costs
nothing per batch: ``fit`` only dispatches batch hooks when some callback overrides one.

Example:
    >>> import numpy as np
    >>> import lamina
    >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)], seed=0)
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> stop = lamina.callbacks.EarlyStopping(monitor="loss", patience=0)
    >>> h = model.fit(np.ones((8, 2)), np.ones(8), epochs=3, callbacks=[stop], verbose=0)
    >>> len(h.history["loss"]) <= 3
    True
"""

from __future__ import annotations

import csv
import math
import os
import sys
import time
import warnings

import numpy as np

from ._validation import check_float, check_int

__all__ = ["Callback", "CallbackList", "History", "EarlyStopping", "ModelCheckpoint",
           "ReduceLROnPlateau", "LearningRateScheduler", "CSVLogger", "TerminateOnNaN",
           "LambdaCallback", "ProgbarLogger"]

_BATCH_HOOKS = ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin",
                "on_batch_end")
_TEST_BATCH_HOOKS = ("on_test_batch_begin", "on_test_batch_end")
_PREDICT_BATCH_HOOKS = ("on_predict_batch_begin", "on_predict_batch_end")


class Callback:
    """Base class: override the hooks you need; ``self.model`` and ``self.params`` are set.

    ``params`` holds ``epochs``, ``steps`` (batches per epoch) and ``verbose``.

    Example:
        >>> class Epochs(Callback):
        ...     def on_epoch_end(self, epoch, logs=None):
        ...         print("epoch", epoch, "loss" in logs)
        >>> Epochs().on_epoch_end(0, {"loss": 0.5})
        epoch 0 True
    """

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_batch_begin(self, batch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass


def _overrides(cb, names) -> bool:
    return any(getattr(type(cb), n, None) is not getattr(Callback, n) for n in names)


class CallbackList:
    """Dispatches hooks to callbacks; records which kinds of batch hooks anyone defines.

    Args:
        callbacks: ``Callback`` instances, called in this order.
        model: The model each callback gets as ``self.model``.
        params: ``{"epochs", "steps", "verbose"}``, each callback's ``self.params``.

    Example:
        >>> cbl = CallbackList([History()], model=None, params={})
        >>> cbl.has_train_batch_hooks
        False
    """

    def __init__(self, callbacks, model, params):
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be lamina.callbacks.Callback instances, got "
                                f"{cb!r}")
            cb.set_model(model)
            cb.set_params(params)
        self.has_train_batch_hooks = any(_overrides(cb, _BATCH_HOOKS) for cb in self.callbacks)
        self.has_test_batch_hooks = any(_overrides(cb, _TEST_BATCH_HOOKS)
                                        for cb in self.callbacks)
        self.has_predict_batch_hooks = any(_overrides(cb, _PREDICT_BATCH_HOOKS)
                                           for cb in self.callbacks)

    def _call(self, hook, *args):
        for cb in self.callbacks:
            getattr(cb, hook)(*args)

    def on_train_begin(self, logs=None): self._call("on_train_begin", logs)
    def on_train_end(self, logs=None): self._call("on_train_end", logs)
    def on_epoch_begin(self, epoch, logs=None): self._call("on_epoch_begin", epoch, logs)
    def on_epoch_end(self, epoch, logs=None): self._call("on_epoch_end", epoch, logs)
    def on_train_batch_begin(self, batch, logs=None):
        self._call("on_train_batch_begin", batch, logs)
    def on_train_batch_end(self, batch, logs=None):
        self._call("on_train_batch_end", batch, logs)
    def on_test_begin(self, logs=None): self._call("on_test_begin", logs)
    def on_test_end(self, logs=None): self._call("on_test_end", logs)
    def on_test_batch_begin(self, batch, logs=None):
        self._call("on_test_batch_begin", batch, logs)
    def on_test_batch_end(self, batch, logs=None):
        self._call("on_test_batch_end", batch, logs)
    def on_predict_begin(self, logs=None): self._call("on_predict_begin", logs)
    def on_predict_end(self, logs=None): self._call("on_predict_end", logs)
    def on_predict_batch_begin(self, batch, logs=None):
        self._call("on_predict_batch_begin", batch, logs)
    def on_predict_batch_end(self, batch, logs=None):
        self._call("on_predict_batch_end", batch, logs)


class History(Callback):
    """Records every key of the epoch logs; ``fit`` returns it (also ``model.history``).

    Attributes:
        history: ``{"loss": [...], "accuracy": [...], "val_loss": [...], ...}`` per epoch.
        epoch: The epoch indices recorded.

    Example:
        >>> h = History(); h.on_train_begin(); h.on_epoch_end(0, {"loss": 1.0})
        >>> h.history
        {'loss': [1.0]}
    """

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []
        self.interrupted = False  # set by fit when Ctrl-C ended training early

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)
        if self.model is not None:
            self.model.history = self

    def diagnose(self, **thresholds):
        """What the curves say (overfitting, underfitting, ...): `lamina.diagnose.diagnose`."""
        from .diagnose import diagnose

        return diagnose(self, **thresholds)


def _monitor_op(monitor, mode, name):
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{name} mode {mode!r} is not one of auto, min, max")
    if mode == "auto":
        m = monitor[4:] if monitor.startswith("val_") else monitor
        mode = "max" if (m in ("acc", "accuracy", "auc") or m.endswith("accuracy")
                         or m.endswith("_acc") or m.endswith("auc")) else "min"
    return mode


def _monitored(owner, monitor, logs):
    """Returns ``logs[monitor]``; when it is missing, warns naming ``owner`` and returns None."""
    current = logs.get(monitor)
    if current is None:
        warnings.warn(f"{owner} monitors {monitor!r}, which is not in the logs (available: "
                      f"{', '.join(sorted(logs))})", RuntimeWarning, stacklevel=3)
    return current


class EarlyStopping(Callback):
    """Stops training when a monitored value has stopped improving (Keras 3 semantics).

    Args:
        monitor: Log key to watch. Defaults to `"val_loss"`.
        min_delta: Smallest change that counts as an improvement. Defaults to `0`.
        patience: Epochs without improvement before stopping. Defaults to `0`.
        verbose: 1 prints when it stops. Defaults to `0`.
        mode: "min", "max" or "auto" (max for accuracies, min otherwise). Defaults to
            `"auto"`.
        baseline: Value the monitor must beat to reset the patience. Defaults to `None`.
        restore_best_weights: At the end of training, copy back the weights of the best
            epoch. Defaults to `False`.
        start_from_epoch: Epochs to wait before monitoring. Defaults to `0`.

    Example:
        >>> es = EarlyStopping(monitor="val_accuracy", patience=3)
        >>> es.mode
        'max'
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        self.monitor = monitor
        self.patience = check_int("patience", patience, minimum=0)
        self.verbose = verbose
        self.baseline = baseline
        self.min_delta = abs(check_float("min_delta", min_delta))
        self.restore_best_weights = bool(restore_best_weights)
        self.start_from_epoch = check_int("start_from_epoch", start_from_epoch, minimum=0)
        self.mode = _monitor_op(monitor, mode, "EarlyStopping")
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def _is_improvement(self, value, reference):
        if reference is None:
            return True
        if self.mode == "min":  # Keras: monitor_op(value - (-min_delta), reference)
            return value + self.min_delta < reference
        return value - self.min_delta > reference

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        current = _monitored("EarlyStopping", self.monitor, logs or {})
        if current is None:
            return
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print("Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class ModelCheckpoint(Callback):
    """Saves the model (or its weights) after each epoch, optionally only when it improved.

    ``filepath`` may hold format fields: ``{epoch}`` (1-based) and any log key, e.g.
    ``"ckpt-{epoch:02d}-{val_loss:.3f}.lamina"``. Whole models go to ``.lamina`` (or
    ``.keras``) files, weights to ``.weights.npz``.

    Args:
        filepath: Where to save.
        monitor: Log key for ``save_best_only``. Defaults to `"val_loss"`.
        verbose: 1 prints each save. Defaults to `0`.
        save_best_only: Save only when ``monitor`` improves. Defaults to `False`.
        save_weights_only: Save only the weights. Defaults to `False`.
        mode: "min", "max" or "auto". Defaults to `"auto"`.
        save_freq: Only "epoch" is supported. Defaults to `"epoch"`.
        initial_value_threshold: Value the monitor must beat for the first save. Defaults
            to `None`.

    Example:
        >>> ModelCheckpoint("best.lamina", save_best_only=True).mode
        'min'
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        super().__init__()
        self.filepath = os.fspath(filepath)
        if save_freq != "epoch":
            raise ValueError(f"ModelCheckpoint save_freq={save_freq!r} is not supported: "
                             "only 'epoch'")
        if save_weights_only and not self.filepath.endswith(".weights.npz"):
            raise ValueError(f"ModelCheckpoint with save_weights_only=True needs a filepath "
                             f"ending in .weights.npz, got {self.filepath!r}")
        if not save_weights_only and not self.filepath.endswith((".lamina", ".keras")):
            raise ValueError(f"ModelCheckpoint needs a filepath ending in .lamina (or .keras), "
                             f"got {self.filepath!r}")
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        self.mode = _monitor_op(monitor, mode, "ModelCheckpoint")
        self.best = initial_value_threshold
        self.last_saved = None

    def _better(self, current):
        if self.best is None:
            return True
        return current < self.best if self.mode == "min" else current > self.best

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.save_best_only:
            current = _monitored("ModelCheckpoint", self.monitor, logs)
            if current is None:
                return
            if not self._better(current):
                return
            self.best = current
        try:
            path = self.filepath.format(epoch=epoch + 1, **logs)
        except (KeyError, IndexError) as exc:
            raise KeyError(f"ModelCheckpoint filepath {self.filepath!r} names {exc}, which is "
                           f"not in the logs (available: epoch, {', '.join(sorted(logs))})"
                           ) from None
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)
        self.last_saved = path
        if self.verbose > 0:
            print(f"Epoch {epoch + 1}: saved model to {path}")


class ReduceLROnPlateau(Callback):
    """Multiplies the learning rate by ``factor`` when a monitored value stops improving.

    Args:
        monitor: Log key to watch. Defaults to `"val_loss"`.
        factor: Multiplier in (0, 1). Defaults to `0.1`.
        patience: Epochs without improvement before reducing. Defaults to `10`.
        verbose: 1 prints each reduction. Defaults to `0`.
        mode: "min", "max" or "auto". Defaults to `"auto"`.
        min_delta: Smallest change that counts as an improvement. Defaults to `1e-4`.
        cooldown: Epochs to wait after a reduction. Defaults to `0`.
        min_lr: Lower bound of the learning rate. Defaults to `0.0`.

    Example:
        >>> ReduceLROnPlateau(factor=0.5, patience=2).factor
        0.5
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0, **kwargs):
        super().__init__()
        if kwargs:
            raise TypeError(f"unexpected arguments for ReduceLROnPlateau: "
                            f"{', '.join(sorted(kwargs))}")
        self.factor = check_float("ReduceLROnPlateau factor", factor, 0.0, 1.0, min_open=True,
                                  max_open=True)
        self.monitor = monitor
        self.patience = check_int("patience", patience, minimum=0)
        self.verbose = verbose
        self.mode = _monitor_op(monitor, mode, "ReduceLROnPlateau")
        self.min_delta = check_float("min_delta", min_delta)
        self.cooldown = check_int("cooldown", cooldown, minimum=0)
        self.min_lr = check_float("min_lr", min_lr, minimum=0.0)
        self._reset()

    def _reset(self):
        self.best = math.inf if self.mode == "min" else -math.inf
        self.cooldown_counter = 0
        self.wait = 0

    def _improved(self, current):
        if self.mode == "min":
            return current < self.best - self.min_delta
        return current > self.best + self.min_delta

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        current = _monitored("ReduceLROnPlateau", self.monitor, logs or {})
        if current is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(current):
            self.best = current
            self.wait = 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                opt = self.model.optimizer
                old_lr = float(opt.learning_rate)
                if old_lr > float(np.float32(self.min_lr)):
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    opt.learning_rate = new_lr
                    if self.verbose > 0:
                        print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate "
                              f"to {new_lr}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


class LearningRateScheduler(Callback):
    """Sets the learning rate at the start of each epoch from ``schedule(epoch, lr)``.

    Args:
        schedule: Function ``(epoch, lr) -> new lr`` (or ``(epoch) -> lr``); epochs count
            from 0.
        verbose: 1 prints each change. Defaults to `0`.

    Example:
        >>> LearningRateScheduler(lambda epoch, lr: lr * 0.9).verbose
        0
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"schedule must be callable, got {schedule!r}")
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        opt = self.model.optimizer
        lr = float(opt.learning_rate)
        try:
            new_lr = self.schedule(epoch, lr)
        except TypeError:  # a schedule of the epoch alone (Keras's fallback)
            new_lr = self.schedule(epoch)
        try:
            new_lr = float(new_lr)
        except (TypeError, ValueError):
            raise ValueError(f"the schedule returned {new_lr!r} at epoch {epoch}: it must "
                             "return a float") from None
        if not (math.isfinite(new_lr) and new_lr >= 0):
            raise ValueError(f"the schedule returned learning rate {new_lr!r} at epoch "
                             f"{epoch}: it must be a finite number >= 0")
        opt.learning_rate = new_lr
        if self.verbose > 0:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                  f"{new_lr}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)


class CSVLogger(Callback):
    """Writes one CSV row per epoch: ``epoch`` and every log key (sorted).

    Args:
        filename: CSV path.
        separator: Field separator. Defaults to `","`.
        append: Append to an existing file instead of overwriting. Defaults to `False`.

    Example:
        >>> CSVLogger("history.csv").sep
        ','
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = bool(append)
        self.keys = None
        self._file = None
        self._writer = None

    def on_train_begin(self, logs=None):
        exists = self.append and os.path.exists(self.filename) and os.path.getsize(
            self.filename) > 0
        self._file = open(self.filename, "a" if self.append else "w", newline="")
        self._append_header = not exists
        self.keys = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            self._writer = csv.DictWriter(self._file, fieldnames=["epoch"] + self.keys,
                                          delimiter=self.sep, extrasaction="ignore")
            if self._append_header:
                self._writer.writeheader()
        row = {"epoch": epoch}
        row.update({k: logs.get(k, "NA") for k in self.keys})
        self._writer.writerow(row)
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = None
            self._writer = None


class TerminateOnNaN(Callback):
    """Stops training at the first batch whose loss is NaN or inf, and says so.

    The model is left with its last finite weights: before each batch the weights are
    copied into one of two reused buffers (one copy of the parameters per batch, only while
    this callback is used), and when a batch reports a non-finite loss the newest finite
    copy is put back (``restored_step`` records which).

    Args:
        restore_finite_weights: Put back the last finite weights when stopping. Defaults to
            `True`.

    Example:
        >>> TerminateOnNaN().stopped_batch is None
        True
    """

    def __init__(self, restore_finite_weights=True):
        super().__init__()
        self.restore_finite_weights = bool(restore_finite_weights)
        self.stopped_batch = None
        self.restored_step = None
        self._buffers = None
        self._steps = [None, None]
        self._turn = 0

    def on_train_begin(self, logs=None):
        self.stopped_batch = None
        self.restored_step = None
        if self.restore_finite_weights:
            self._buffers = [[np.empty_like(w) for w in self.model.weights] for _ in range(2)]
            self._steps = [None, None]

    def on_train_batch_begin(self, batch, logs=None):
        if self._buffers is not None:
            self._turn ^= 1
            for dst, src in zip(self._buffers[self._turn], self.model.weights):
                np.copyto(dst, src)
            self._steps[self._turn] = self.model.optimizer.iterations

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("batch_loss", (logs or {}).get("loss"))
        if loss is None or math.isfinite(loss):
            return
        self.stopped_batch = batch
        self.model.stop_training = True
        message = f"Batch {batch}: Invalid loss {loss}, terminating training"
        if self._buffers is not None:
            for turn in (self._turn, self._turn ^ 1):
                saved = self._buffers[turn]
                if self._steps[turn] is not None and all(np.isfinite(w).all() for w in saved):
                    for dst, src in zip(self.model.weights, saved):
                        np.copyto(dst, src)
                    self.restored_step = self._steps[turn]
                    message += (f"; restored the finite weights from before optimizer step "
                                f"{self.restored_step + 1}")
                    break
        print(message)

    def on_train_end(self, logs=None):
        self._buffers = None


class LambdaCallback(Callback):
    """A callback from plain functions, one per hook you pass.

    Args:
        on_epoch_begin: ``f(epoch, logs)``. Defaults to `None`.
        on_epoch_end: ``f(epoch, logs)``. Defaults to `None`.
        on_train_begin: ``f(logs)``. Defaults to `None`.
        on_train_end: ``f(logs)``. Defaults to `None`.
        on_train_batch_begin: ``f(batch, logs)``. Defaults to `None`.
        on_train_batch_end: ``f(batch, logs)``. Defaults to `None`.

    Example:
        >>> seen = []
        >>> cb = LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(epoch))
        >>> cb.on_epoch_end(0, {}); seen
        [0]
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, on_train_batch_begin=None, on_train_batch_end=None,
                 **kwargs):
        super().__init__()
        hooks = {"on_epoch_begin": on_epoch_begin, "on_epoch_end": on_epoch_end,
                 "on_train_begin": on_train_begin, "on_train_end": on_train_end,
                 "on_train_batch_begin": on_train_batch_begin,
                 "on_train_batch_end": on_train_batch_end}
        hooks.update(kwargs)
        for name, fn in hooks.items():
            if fn is None:
                continue
            if not hasattr(Callback, name):
                raise TypeError(f"LambdaCallback got an unknown hook {name!r}")
            if not callable(fn):
                raise TypeError(f"LambdaCallback {name} must be callable, got {fn!r}")
            setattr(self, name, fn)
        # The class-level check in CallbackList looks at the type: give this instance its
        # own subclass so only the hooks passed here count as overridden.
        self.__class__ = type("LambdaCallback", (LambdaCallback,),
                              {n: staticmethod(f) for n, f in hooks.items() if f is not None})


def _fmt_time(seconds):
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
        steps = self.params.get("steps") or 0
        if now - self._last < 0.1 and batch + 1 < steps:
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
        self._line = f"\r{batch + 1}/{steps} [{bar}] ETA {eta:.0f}s - {text}"
        print(self._line, end="", file=self._out(), flush=True)

    def on_epoch_end(self, epoch, logs=None):
        elapsed = time.perf_counter() - self._t0
        steps = self.params.get("steps") or 1
        text = " - ".join(f"{k}: {_fmt(v)}" for k, v in (logs or {}).items())
        if self._bar is not None:
            self._bar.update(steps - self._bar.n)
            self._bar.set_postfix_str(text, refresh=True)
            self._bar.close()
            self._bar = None
            return
        line = (f"{steps}/{steps} - {_fmt_time(elapsed)} {_fmt_time(elapsed / steps)}/step - "
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
