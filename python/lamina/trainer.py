"""The training loop (Keras 3's ``Trainer``): fit, evaluate, predict and the batch calls.

A model class mixes ``Trainer`` in (``class Sequential(Trainer)``) and provides what the
loops need from it: ``build``, ``built``, ``dtype``, ``_input_shape``, ``optimizer``,
``loss``, ``loss_weights``, ``_metrics`` (resolved by ``_network_for``), ``_shuffle_seed``,
``_out_dim()``, ``_require_compiled(what)`` and ``_network_for("train" | "infer")``, which
returns the core ``Network`` that runs one step per call. Python orchestrates epochs,
batches, shuffling, validation, callbacks and Ctrl-C here; each training batch crosses into
the C++ core once (``lamina._core.Network.train_step``), which runs forward, loss, backward,
regularization and the optimizer update for the whole network in place on the layers'
arrays.

Example:
    >>> import numpy as np
    >>> import lamina
    >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)], seed=0)
    >>> isinstance(model, Trainer)
    True
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> x, y = np.ones((4, 2), "float32"), np.zeros((4, 1), "float32")
    >>> model.train_on_batch(x, y) > model.test_on_batch(x, y)  # one step lowered the loss
    True
"""

from __future__ import annotations

import functools
import math
import os
import sys
import threading
import time

import numpy as np

from . import _validation
from . import callbacks as callbacks_mod
from .batches import Batches
from .dask_data import evaluate_dask, fit_dask, is_dask_collection, predict_dask
from .callbacks.progbar_logger import format_time
from .fit_info import fit_info, stop_info
from .fit_info import has_penalty as _has_penalty
from .sigint import SigintGuard
from ._validation import check_float, check_int
from .optimizers.schedules import _learning_rate_at as learning_rate_at

__all__ = ["Trainer"]

# predict / evaluate default batch: results do not depend on it (fixed-order reductions),
# only speed does, so it is larger than Keras's 32.
_INFER_BATCH = 1024

# ---- threads and fork ---------------------------------------------------------------------
# One model runs one call at a time: fit, evaluate, predict, the batch calls and saving take
# the model's lock (re-entrant, so callbacks may call them), so two threads fitting one model
# run one after the other instead of losing each other's steps. A process forked while
# another thread was inside such a call (os.fork, multiprocessing's "fork" start method,
# gunicorn, DataLoader workers) inherits that lock held, and the core Network's mutex with it,
# by a thread that does not exist in the child: every fork starts a new generation, and a
# model whose lock or Network is from an older one gets fresh ones.
_fork_generation = 0
_lock_guard = threading.Lock()


def _after_fork_in_child():
    global _fork_generation, _lock_guard
    _fork_generation += 1
    _lock_guard = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def fork_generation() -> int:
    """How many forks separate this process from the one that imported lamina."""
    return _fork_generation


def _model_lock(model):
    with _lock_guard:
        entry = model.__dict__.get("_call_lock")
        if entry is None or entry[0] != _fork_generation:
            entry = (_fork_generation, threading.RLock())
            model.__dict__["_call_lock"] = entry
    return entry[1]


def serialized(method):
    """Runs ``method`` holding the model's lock (one call per model at a time)."""
    @functools.wraps(method)
    def call(self, *args, **kwargs):
        with _model_lock(self):
            return method(self, *args, **kwargs)
    return call




def _verbose(verbose):
    if verbose == "auto":
        return 1
    if isinstance(verbose, (bool, np.bool_)):  # Keras scripts pass verbose=False/True
        return int(verbose)
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 0, 1, 2 or 'auto', got {verbose!r}")
    return int(verbose)


def _inference_args(what, verbose, batch_size, steps):
    """evaluate's and predict's checked ``(verbose, batch_size)``; ``steps`` must be None."""
    verbose = _verbose(verbose)
    batch_size = _INFER_BATCH if batch_size is None else check_int("batch_size", batch_size, 1)
    if steps is not None:
        raise ValueError(f"steps={steps!r} is not supported: {what} uses all the data")
    return verbose, batch_size


class _Interrupt(SigintGuard):
    """Turns Ctrl-C during fit into a flag checked after each step (a second Ctrl-C aborts)."""

    def __init__(self, model):
        self.model = model
        self.hit = False

    def _handler(self, signum, frame):
        if self.hit:
            raise KeyboardInterrupt
        self.hit = True
        self.model.stop_training = True


class Trainer:
    """fit / evaluate / predict / train_on_batch / test_on_batch / predict_on_batch.

    Mixed into the model classes (see the module docstring for what a model provides).
    """

    def _prepare_x(self, x, name="x"):
        arr = _validation.features(name, x, self._input_shape)
        if not self.built:
            self.build(arr.shape[1:])
        return _validation.cast_finite(name, arr.reshape(arr.shape[0], -1), self.dtype)

    def _prepare_xy(self, x, y, sample_weight, class_weight=None, prefix=""):
        if y is None:
            raise ValueError(f"{prefix}y is None: fit/evaluate need targets")
        xt = self._prepare_x(x, f"{prefix}x")
        self._network_for("train")
        yt = _validation.targets(f"{prefix}y", y, self.loss.core_name, self._out_dim(),
                                 self.dtype)
        sw = None
        if sample_weight is not None:
            sw = _validation.sample_weights(f"{prefix}sample_weight", sample_weight,
                                            yt.shape[0], self.dtype)
        _validation.same_length([(f"{prefix}x", xt), (f"{prefix}y", yt),
                                 (f"{prefix}sample_weight", sw)])
        if class_weight is not None:
            if yt.ndim == 1:
                classes = yt
            elif yt.shape[1] == 1:
                classes = (yt[:, 0] > 0.5).astype(np.int64)
            else:
                classes = np.argmax(yt, axis=1)
            cw = _validation.class_weights(class_weight, classes, self.dtype)
            sw = cw if sw is None else _validation.cast_finite(
                f"{prefix}sample_weight * class_weight", sw.astype(np.float64) * cw,
                self.dtype)
        if self.loss_weights is not None and self.loss_weights != 1.0:
            sw = _validation.cast_finite(
                f"{prefix}sample_weight * loss_weights",
                np.full(yt.shape[0], float(self.loss_weights)) if sw is None
                else sw.astype(np.float64) * self.loss_weights, self.dtype)
        return xt, yt, sw

    # ------------------------------------------------------------------ fit -----------
    @serialized
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1):
        """Trains for ``epochs - initial_epoch`` epochs (Keras 3 semantics).

        Args:
            x: Inputs, shape ``(n, *input_shape)``, any int/float dtype (cast once), or a
                Dask array / DataFrame (then y and sample_weight are Dask collections with
                the same partitions, streamed a partition at a time: see
                ``lamina.dask_data``). Defaults to `None` (required).
            y: Targets: integer labels for sparse_categorical_crossentropy, else
                ``(n, outputs)`` (or ``(n,)`` for one output). Defaults to `None` (required).
            batch_size: Samples per step (``len(x)`` is full-batch gradient descent, 1 is
                pure SGD); the last batch may be smaller. Defaults to `None` (32).
            epochs: Index of the last epoch (counting from ``initial_epoch``). Defaults to `1`.
            verbose: 0 silent, 1 progress bar, 2 one line per epoch, "auto" is 1.
                Defaults to `"auto"`.
            callbacks: Callbacks: lamina's, Keras's (``keras.callbacks.Callback``
                subclasses) or any object with some of Keras's ``Callback`` methods; each
                gets only the hooks it has. Defaults to `None`.
            validation_split: Fraction in [0, 1) of the data held out for validation: the
                LAST samples, taken before shuffling. Defaults to `0.0`.
            validation_data: ``(x_val, y_val)`` or ``(x_val, y_val, sample_weight_val)``;
                overrides validation_split. Defaults to `None`.
            shuffle: Reshuffle the training samples every epoch. Defaults to `True`.
            class_weight: ``{class index: weight}`` multiplying each sample's loss.
                Defaults to `None`.
            sample_weight: Per-sample loss weights, shape ``(n,)``. Defaults to `None`.
            initial_epoch: Epoch to start at (for resuming). Defaults to `0`.
            steps_per_epoch: Must be None (a whole pass per epoch). Defaults to `None`.
            validation_steps: Must be None. Defaults to `None`.
            validation_batch_size: Batch size for validation. Defaults to `None`
                (batch_size).
            validation_freq: Validate every this many epochs. Defaults to `1`.

        Returns:
            The ``History``; ``history.history`` holds ``loss``, each metric, ``val_*`` and
            ``learning_rate`` per epoch. Ctrl-C stops after the current step and returns it
            (``history.interrupted`` is then True) with the model usable.
        """
        self._require_compiled("fit")
        epochs = check_int("epochs", epochs, minimum=0)
        initial_epoch = check_int("initial_epoch", initial_epoch, minimum=0)
        batch_size = 32 if batch_size is None else check_int("batch_size", batch_size, 1)
        verbose = _verbose(verbose)
        validation_split = check_float("validation_split", validation_split, 0.0, 1.0,
                                       max_open=True)
        validation_freq = check_int("validation_freq", validation_freq, minimum=1)
        if validation_batch_size is not None:
            validation_batch_size = check_int("validation_batch_size", validation_batch_size,
                                              1)
        for arg, value in (("steps_per_epoch", steps_per_epoch),
                           ("validation_steps", validation_steps)):
            if value is not None:
                raise ValueError(f"{arg}={value!r} is not supported: lamina trains on in-memory"
                                 " arrays, one full pass per epoch")
        if shuffle not in (True, False) and not isinstance(shuffle, (bool, np.bool_)):
            raise ValueError(f"shuffle must be True or False, got {shuffle!r}")
        callbacks = list(callbacks or [])
        if is_dask_collection(x) or is_dask_collection(y):  # streamed a partition at a time
            return fit_dask(self, x, y, sample_weight, batch_size=batch_size, epochs=epochs,
                            verbose=verbose, callbacks=callbacks,
                            validation_split=validation_split, validation_data=validation_data,
                            shuffle=bool(shuffle), class_weight=class_weight,
                            initial_epoch=initial_epoch,
                            validation_batch_size=validation_batch_size,
                            validation_freq=validation_freq)

        xt, yt, sw = self._prepare_xy(x, y, sample_weight, class_weight)
        val = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (
                    2, 3):
                what = type(validation_data).__name__
                if isinstance(validation_data, (tuple, list)):
                    what += f" of length {len(validation_data)}"
                raise ValueError("validation_data must be (x_val, y_val) or (x_val, y_val, "
                                 f"sample_weight_val), got a {what}")
            vx, vy = validation_data[0], validation_data[1]
            vsw = validation_data[2] if len(validation_data) == 3 else None
            val = self._prepare_xy(vx, vy, vsw, prefix="validation ")
        elif validation_split > 0.0:
            n = xt.shape[0]
            split_at = int(math.floor(n * (1.0 - validation_split)))
            if split_at < 1 or split_at >= n:
                raise ValueError(f"validation_split={validation_split} leaves {split_at} "
                                 f"training and {n - split_at} validation samples out of {n}: "
                                 "both need at least one")
            val = (xt[split_at:], yt[split_at:], None if sw is None else sw[split_at:])
            xt, yt = xt[:split_at], yt[:split_at]
            sw = None if sw is None else sw[:split_at]

        net = self._network_for("train")
        batches = Batches(xt, yt, sw, batch_size, bool(shuffle))
        # A model with L1/L2 penalties also logs its data loss without them (data_loss,
        # val_data_loss; `loss` keeps Keras's penalty-included value). Each step's result
        # gets the penalty the core added to it (of the weights before the update) appended,
        # so the epoch's data loss is averaged over the same steps as its loss.
        penalized = _has_penalty(self._spec)
        history = callbacks_mod.History()
        cbs = ([callbacks_mod.ProgbarLogger()] if verbose else []) + callbacks + [history]
        params = {"epochs": epochs, "steps": batches.steps, "verbose": verbose}
        cbl = callbacks_mod.CallbackList(cbs, self, params)
        hooks = cbl.has_train_batch_hooks
        opt = self.optimizer
        metric_names = [m.name for m in self._metrics]
        nm = len(metric_names)
        sizes = batches.sizes
        train_step = net.train_step
        if penalized:
            def train_step(*args, _step=net.train_step, _net=net):
                return (*_step(*args), _net.last_penalty)
        history.interrupted = False
        history.fit_info = fit_info(self, net, xt, yt, sw, batch_size, val)
        self.stop_training = False
        self.history = history

        logs = None
        with _Interrupt(self) as interrupt:
            cbl.on_train_begin()
            for epoch in range(initial_epoch, epochs):
                if self.stop_training:
                    history.interrupted = interrupt.hit
                    break
                cbl.on_epoch_begin(epoch)
                schedule = opt.schedule
                lr = float(opt.learning_rate)
                it = opt.iterations
                results = []
                append = results.append
                if not hooks:
                    # The hot loop: one core call per batch, no allocation, no dispatch.
                    try:
                        if schedule is None:
                            for b, xb, yb, swb in batches.epoch(self._shuffle_seed, it):
                                append(train_step(xb, yb, swb, lr, it + 1))
                                it += 1
                                if self.stop_training:
                                    break
                        else:
                            for b, xb, yb, swb in batches.epoch(self._shuffle_seed, it):
                                lr = learning_rate_at(schedule, it)
                                append(train_step(xb, yb, swb, lr, it + 1))
                                it += 1
                                if self.stop_training:
                                    break
                    finally:  # steps done so far count even if a step raised
                        opt.iterations = it
                else:
                    run_loss = run_w = 0.0
                    run_m = [0.0] * nm
                    seen = 0
                    for b, xb, yb, swb in batches.epoch(self._shuffle_seed, it):
                        cbl.on_train_batch_begin(b, {"size": sizes[b]})
                        lr = float(opt.learning_rate)
                        r = train_step(xb, yb, swb, lr, it + 1)
                        it += 1
                        opt.iterations = it
                        append(r)
                        seen += sizes[b]
                        run_loss += r[0] * sizes[b]
                        run_w += r[1]
                        blogs = {"loss": run_loss / seen}
                        for j in range(nm):
                            run_m[j] += r[2 + j]
                            blogs[metric_names[j]] = run_m[j] / run_w if run_w else 0.0
                        blogs["batch_loss"] = r[0]
                        cbl.on_train_batch_end(b, blogs)
                        if self.stop_training:
                            break
                if interrupt.hit:
                    history.interrupted = True
                    break
                logs = self._epoch_logs(results, sizes, metric_names, penalized)
                if val is not None and (epoch + 1) % validation_freq == 0:
                    cbl.on_test_begin()
                    vlogs = self._evaluate_prepared(*val, validation_batch_size or batch_size,
                                                    cbl)
                    if penalized:  # the weights' penalty, constant over the evaluation
                        vlogs["data_loss"] = vlogs["loss"] - net.last_penalty
                    cbl.on_test_end(vlogs)
                    logs.update({f"val_{k}": v for k, v in vlogs.items()})
                logs["learning_rate"] = float(opt.learning_rate)
                cbl.on_epoch_end(epoch, logs)
            cbl.on_train_end(logs)  # Keras passes the last epoch's logs
        history.fit_info.update(stop_info(callbacks))
        if history.interrupted:
            done = len(history.epoch)
            print(f"lamina: training interrupted (Ctrl-C) after {done} complete epoch(s); the "
                  "model keeps the weights of the last step", file=sys.stderr)
        return history

    @staticmethod
    def _epoch_logs(results, sizes, metric_names, penalized=False):
        if not results:
            logs = {"loss": float("nan"), **{m: float("nan") for m in metric_names}}
            if penalized:
                logs["data_loss"] = float("nan")
            return logs
        arr = np.asarray(results, dtype=np.float64)
        k = arr.shape[0]
        w = np.asarray(sizes[:k], dtype=np.float64)
        logs = {"loss": float(np.dot(arr[:, 0], w) / w.sum())}
        wsum = float(arr[:, 1].sum())
        for j, name in enumerate(metric_names):
            logs[name] = float(arr[:, 2 + j].sum() / wsum) if wsum else 0.0
        if penalized:  # results end with each step's penalty (see fit)
            logs["data_loss"] = logs["loss"] - float(np.dot(arr[:, -1], w) / w.sum())
        return logs

    # ------------------------------------------------------------------ evaluate ------
    def _evaluate_prepared(self, xt, yt, sw, batch_size, cbl=None):
        net = self._network_for("train")
        n = xt.shape[0]
        loss_sum = w_sum = 0.0
        msums = [0.0] * len(self._metrics)
        evaluate = net.evaluate
        hooks = cbl is not None and cbl.has_test_batch_hooks
        for b, s in enumerate(range(0, n, batch_size)):
            e = min(n, s + batch_size)
            if hooks:
                cbl.on_test_batch_begin(b, {"size": e - s})
            r = evaluate(xt[s:e], yt[s:e], None if sw is None else sw[s:e])
            loss_sum += r[0] * (e - s)
            w_sum += r[1]
            for j in range(len(msums)):
                msums[j] += r[2 + j]
            if hooks:
                cbl.on_test_batch_end(b, {"loss": loss_sum / e})
        logs = {"loss": loss_sum / n}
        for m, s in zip(self._metrics, msums):
            logs[m.name] = s / w_sum if w_sum else 0.0
        return logs

    @serialized
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False):
        """Returns the loss and metrics on data (no dropout, no update).

        Args:
            x: Inputs, or a Dask array / DataFrame (with y and sample_weight partitioned
                alike, computed a partition at a time). Defaults to `None` (required).
            y: Targets. Defaults to `None` (required).
            batch_size: Rows per core call; results do not depend on it. Defaults to
                `None` (1024).
            verbose: 0 silent, 1 or 2 print one line. Defaults to `"auto"`.
            sample_weight: Per-sample loss weights. Defaults to `None`.
            steps: Must be None. Defaults to `None`.
            callbacks: Callbacks with test hooks. Defaults to `None`.
            return_dict: Return ``{"loss": ..., metric: ...}``. Defaults to `False`.

        Returns:
            The loss (no metrics), ``[loss, *metrics]``, or a dict.
        """
        self._require_compiled("evaluate")
        verbose, batch_size = _inference_args("evaluate", verbose, batch_size, steps)
        if is_dask_collection(x) or is_dask_collection(y):  # a partition at a time
            cbl = callbacks_mod.CallbackList(callbacks or [], self,
                                             {"verbose": verbose, "epochs": 1, "steps": None})
            cbl.on_test_begin()
            t0 = time.perf_counter()
            logs, n = evaluate_dask(self, x, y, sample_weight, batch_size, cbl)
        else:
            xt, yt, sw = self._prepare_xy(x, y, sample_weight)
            n = xt.shape[0]
            params = {"verbose": verbose, "epochs": 1, "steps": -(-n // batch_size)}
            cbl = callbacks_mod.CallbackList(callbacks or [], self, params)
            cbl.on_test_begin()
            t0 = time.perf_counter()
            logs = self._evaluate_prepared(xt, yt, sw, batch_size, cbl)
        cbl.on_test_end(logs)
        if verbose:
            print(f"{n} samples - {format_time(time.perf_counter() - t0)}"
                  " - " + " - ".join(f"{k}: {v:.4f}" for k, v in logs.items()))
        return self._as_result(logs, return_dict)

    # ------------------------------------------------------------------ predict -------
    @serialized
    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Returns the network's outputs for ``x`` (no dropout), shape ``(n, outputs)``.

        Args:
            x: Inputs, shape ``(n, *input_shape)``, or a Dask array / DataFrame (computed a
                partition at a time; the result is a numpy array).
            batch_size: Rows per core call; results do not depend on it. Defaults to
                `None` (1024).
            verbose: 0 silent, 1 or 2 print one line. Defaults to `"auto"`.
            steps: Must be None. Defaults to `None`.
            callbacks: Callbacks with predict hooks. Defaults to `None`.
        """
        verbose, batch_size = _inference_args("predict", verbose, batch_size, steps)
        t0 = time.perf_counter()
        if is_dask_collection(x):  # a numpy array, computed a partition at a time
            cbl = callbacks_mod.CallbackList(callbacks or [], self,
                                             {"verbose": verbose, "epochs": 1, "steps": None})
            cbl.on_predict_begin()
            out = predict_dask(self, x, batch_size, cbl)
            cbl.on_predict_end()
            if verbose:
                print(f"{out.shape[0]} samples - {format_time(time.perf_counter() - t0)}")
            return out
        xt = self._prepare_x(x)
        net = self._network_for("infer")
        n = xt.shape[0]
        out = np.empty((n, self._out_dim()), dtype=self.dtype)
        predict = net.predict
        params = {"verbose": verbose, "epochs": 1, "steps": -(-n // batch_size)}
        cbl = callbacks_mod.CallbackList(callbacks or [], self, params)
        hooks = cbl.has_predict_batch_hooks
        cbl.on_predict_begin()
        for b, s in enumerate(range(0, n, batch_size)):
            if hooks:
                cbl.on_predict_batch_begin(b, {"size": min(batch_size, n - s)})
            predict(xt[s:s + batch_size], out[s:s + batch_size])
            if hooks:
                cbl.on_predict_batch_end(b, {"outputs": out[s:s + batch_size]})
        cbl.on_predict_end()
        if verbose:
            print(f"{n} samples - {format_time(time.perf_counter() - t0)}")
        return out

    @serialized
    def predict_on_batch(self, x):
        """Returns the outputs for one batch (all of ``x`` in one core call)."""
        xt = self._prepare_x(x)
        out = np.empty((xt.shape[0], self._out_dim()), dtype=self.dtype)
        self._network_for("infer").predict(xt, out)
        return out

    __call__ = predict_on_batch

    @serialized
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict=False):
        """Runs one training step on exactly this batch.

        Args:
            x: Inputs.
            y: Targets. Defaults to `None` (required).
            sample_weight: Per-sample loss weights. Defaults to `None`.
            class_weight: ``{class: weight}``. Defaults to `None`.
            return_dict: Return a dict. Defaults to `False`.

        Returns:
            The batch's loss (computed before the update), ``[loss, *metrics]`` or a dict.
        """
        self._require_compiled("train_on_batch")
        xt, yt, sw = self._prepare_xy(x, y, sample_weight, class_weight)
        net = self._network_for("train")
        opt = self.optimizer
        r = net.train_step(xt, yt, sw, float(opt.learning_rate), opt.iterations + 1)
        opt.iterations += 1
        return self._batch_result(r, xt.shape[0], return_dict)

    @serialized
    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Returns the loss and metrics on one batch (no update)."""
        self._require_compiled("test_on_batch")
        xt, yt, sw = self._prepare_xy(x, y, sample_weight)
        r = self._network_for("train").evaluate(xt, yt, sw)
        return self._batch_result(r, xt.shape[0], return_dict)

    def _batch_result(self, r, n, return_dict):
        logs = {"loss": float(r[0])}
        for j, m in enumerate(self._metrics):
            logs[m.name] = float(r[2 + j] / r[1]) if r[1] else 0.0
        return self._as_result(logs, return_dict)

    @staticmethod
    def _as_result(logs, return_dict):
        """Keras's return value: the logs dict, the loss alone (no metrics) or a list."""
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values
