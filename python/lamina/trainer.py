"""The training loop (Keras 3's ``Trainer``): fit, evaluate, predict and the batch calls.

A model class mixes ``Trainer`` in (``class Sequential(Trainer)``) and provides what the
loops need from it: ``build``, ``built``, ``dtype``, ``_input_shape``, ``optimizer``,
``_loss`` (the resolved ``Loss``), ``loss_weights``, ``_compiled_metrics`` (a
``metric_logs.CompiledMetrics``, set by ``_network_for``), ``_shuffle_seed``, ``_out_dim()``,
``_require_compiled(what)`` and ``_network_for("train" | "infer")``, which returns the
core ``Network`` that runs one step per call. Python orchestrates epochs, batches,
shuffling, validation, callbacks and Ctrl-C here; each training batch crosses into the C++
core once (``lamina._core.Network.train_step``), which runs forward, loss, backward,
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

from . import _validation, feature_names
from . import callbacks as callbacks_mod
from . import constraints, data_adapters
from .dask_data import is_dask_collection, predict_dask
from .callbacks.progbar_logger import format_time
from .fit_info import fit_info, stop_info
from .fit_info import has_penalty as _has_penalty
from .sigint import SigintGuard
from ._validation import check_float, check_int
from .optimizers import ema
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


def _inference_args(x, y, verbose, batch_size):
    """evaluate's and predict's checked ``(verbose, batch_size)`` (None for a batch source)."""
    verbose = _verbose(verbose)
    if batch_size is not None:
        batch_size = check_int("batch_size", batch_size, 1)
    elif not data_adapters.is_batch_source(x, y):
        batch_size = _INFER_BATCH
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

    def _one_io(self, value, name, kind):
        """Keras's forms of one model input or output: ``{layer name: array}`` (the
        InputLayer's name, or the output layer's) or a one-element list or tuple of a 2-D
        (or higher) array. Anything else is returned as it is (a plain nested list, or a
        list holding one vector, is data: one sample)."""
        from .keras_config import input_name

        if isinstance(value, dict):
            want = input_name(self) if kind == "input" else self.layers[-1].name
            if list(value) != [want]:
                raise ValueError(f"{name} as a dict maps the model's {kind} name to its "
                                 f"data: this model has one {kind}, {want!r}; got keys "
                                 f"{sorted(map(str, value))}")
            return value[want]
        if (isinstance(value, (list, tuple)) and len(value) == 1
                and not isinstance(value[0], (list, tuple)) and hasattr(value[0], "__array__")
                and getattr(value[0], "ndim", 2) >= 2):  # [vector] stays one sample
            return value[0]
        return value

    def _prepare_x(self, x, name="x", fit=False):
        x = self._one_io(x, name, "input")
        x = feature_names.align(self, x, name, fit)  # DataFrame columns, by name
        arr = _validation.features(name, x, self._input_shape)
        if not self.built:
            self.build(arr.shape[1:])
        return _validation.cast_finite(name, arr.reshape(arr.shape[0], -1), self.dtype)

    def _prepare_xy(self, x, y, sample_weight, class_weight=None, prefix="", fit=False):
        if y is None:
            raise ValueError(f"{prefix}y is None: fit/evaluate need targets")
        y = self._one_io(y, f"{prefix}y", "output")
        xt = self._prepare_x(x, f"{prefix}x", fit)
        yt = _validation.targets(f"{prefix}y", y, self._targets_name(y), self._out_dim(),
                                 self.dtype)
        sw = None
        if sample_weight is not None:
            sw = _validation.sample_weights(f"{prefix}sample_weight", sample_weight,
                                            yt.shape[0], self.dtype)
        _validation.same_length([(f"{prefix}x", xt), (f"{prefix}y", yt),
                                 (f"{prefix}sample_weight", sw)])
        if class_weight is not None:
            sw = self._class_weighted(yt, sw, class_weight, prefix)
        if self.loss_weights is not None and self.loss_weights != 1.0:
            sw = _validation.cast_finite(
                f"{prefix}sample_weight * loss_weights",
                np.full(yt.shape[0], float(self.loss_weights)) if sw is None
                else sw.astype(np.float64) * self.loss_weights, self.dtype)
        return xt, yt, sw

    def _class_weighted(self, yt, sw, class_weight, prefix=""):
        """``sw`` (None: ones) times each sample's ``class_weight`` entry, by its class in
        the prepared targets ``yt``."""
        if yt.ndim == 1:
            classes = yt
        elif yt.shape[1] == 1:
            classes = (yt[:, 0] > 0.5).astype(np.int64)
        else:
            classes = np.argmax(yt, axis=1)
        cw = _validation.class_weights(class_weight, classes, self.dtype)
        return cw if sw is None else _validation.cast_finite(
            f"{prefix}sample_weight * class_weight", sw.astype(np.float64) * cw, self.dtype)

    # ------------------------------------------------------------------ fit -----------
    @serialized
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1):
        """Trains for ``epochs - initial_epoch`` epochs (Keras 3 semantics).

        Args:
            x: Inputs, shape ``(n, *input_shape)``, any int/float dtype (cast once); or a
                source of ``(x, y)`` / ``(x, y, sample_weight)`` batches: a generator or
                iterator, a list of batches, any iterable (a torch DataLoader) or a
                ``lamina.utils.PyDataset`` (Keras's too), prefetched on a background thread
                (see `lamina.data_adapters`); or a Dask array / DataFrame (then y and
                sample_weight are Dask collections with the same partitions, streamed a
                partition at a time: see ``lamina.dask_data``). Defaults to `None`
                (required).
            y: Targets: integer labels for sparse_categorical_crossentropy, else
                ``(n, outputs)`` (or ``(n,)`` for one output). Defaults to `None` (required).
            batch_size: Samples per step (``len(x)`` is full-batch gradient descent, 1 is
                pure SGD); the last batch may be smaller. Not with a batch source.
                Defaults to `None` (32, or one pass in ``steps_per_epoch`` batches).
            epochs: Index of the last epoch (counting from ``initial_epoch``). Defaults to `1`.
            verbose: 0 silent, 1 progress bar, 2 one line per epoch, "auto" is 1.
                Defaults to `"auto"`.
            callbacks: Callbacks: lamina's, Keras's (``keras.callbacks.Callback``
                subclasses) or any object with some of Keras's ``Callback`` methods; each
                gets only the hooks it has. Defaults to `None`.
            validation_split: Fraction in [0, 1) of the data held out for validation: the
                LAST samples, taken before shuffling. Defaults to `0.0`.
            validation_data: ``(x_val, y_val)`` or ``(x_val, y_val, sample_weight_val)``,
                or a source of such batches; overrides validation_split. Defaults to
                `None`.
            shuffle: Reshuffle the training samples every epoch (a PyDataset's batch
                order; other batch sources keep their order). Defaults to `True`.
            class_weight: ``{class index: weight}`` multiplying each sample's loss (not
                with a generator, as in Keras). Defaults to `None`.
            sample_weight: Per-sample loss weights, shape ``(n,)``. Defaults to `None`.
            initial_epoch: Epoch to start at (for resuming). Defaults to `0`.
            steps_per_epoch: Batches per epoch; the next epoch continues where the last
                one stopped (Keras 3 semantics, see `lamina.data_adapters`). Defaults to
                `None` (one pass over the data).
            validation_steps: Batches per validation. Defaults to `None` (one pass).
            validation_batch_size: Batch size for validation. Defaults to `None`
                (batch_size).
            validation_freq: Validate every this many epochs. Defaults to `1`.

        Returns:
            The ``History``; ``history.history`` holds ``loss``, each metric and ``val_*``
            per epoch (and ``learning_rate`` when a callback such as LearningRateScheduler
            or ReduceLROnPlateau logs it, as in Keras). Ctrl-C stops after the current step
            and returns it (``history.interrupted`` is then True) with the model usable.
        """
        self._require_compiled("fit")
        epochs = check_int("epochs", epochs, minimum=0)
        initial_epoch = check_int("initial_epoch", initial_epoch, minimum=0)
        if batch_size is not None:
            batch_size = check_int("batch_size", batch_size, 1)
        verbose = _verbose(verbose)
        validation_split = check_float("validation_split", validation_split, 0.0, 1.0,
                                       max_open=True)
        validation_freq = check_int("validation_freq", validation_freq, minimum=1)
        if validation_batch_size is not None:
            validation_batch_size = check_int("validation_batch_size", validation_batch_size,
                                              1)
        if shuffle not in (True, False) and not isinstance(shuffle, (bool, np.bool_)):
            raise ValueError(f"shuffle must be True or False, got {shuffle!r}")
        callbacks = list(callbacks or [])

        batches, (xt, yt, sw), batch_size, val = data_adapters.train_data(
            self, x, y, sample_weight, class_weight, batch_size, shuffle, steps_per_epoch,
            validation_split if validation_data is None else 0.0, epochs - initial_epoch)
        val = data_adapters.validation_data_source(
            self, validation_data, validation_steps, validation_batch_size) or val
        net = self._network_for("train")
        # A model with L1/L2 penalties also logs its data loss without them (data_loss,
        # val_data_loss; `loss` keeps Keras's penalty-included value). Each step's result
        # gets the penalty the core added to it (of the weights before the update) appended,
        # so the epoch's data loss is averaged over the same steps as its loss.
        penalized = _has_penalty(self._spec)
        history = callbacks_mod.History()
        # Keras's order: the progress bar last, so it shows what callbacks add to the logs
        cbs = callbacks + [history] + ([callbacks_mod.ProgbarLogger()] if verbose else [])
        params = {"epochs": epochs, "steps": batches.steps, "verbose": verbose}
        cbl = callbacks_mod.CallbackList(cbs, self, params)
        hooks = cbl.has_train_batch_hooks
        opt = self.optimizer
        compiled = self._compiled_metrics
        sizes = batches.sizes
        # metrics the core does not compute are updated with each step's outputs
        train_step = compiled.wrap(net.train_step, self._out_dim(), self.dtype)
        if penalized:
            def train_step(*args, _step=train_step, _net=net):
                return (*_step(*args), _net.last_penalty)
        if opt.use_ema:  # the weights' moving average after each step (Keras's use_ema)
            train_step = ema.wrap_step(train_step, opt, ema.trained_arrays(self._spec))
        constrained = constraints.weight_constraints(self)
        if constrained:  # after the update and the average, as Keras's optimizer.apply
            train_step = constraints.wrap_step(train_step, constrained)
        history.interrupted = False
        history.fit_info = fit_info(self, net, xt, yt, sw, batch_size, val)
        self.stop_training = False
        self.history = history

        logs = None
        # compile() from a callback would swap the optimizer and metrics under this loop
        self.__dict__["_fitting"] = True
        try:
            with _Interrupt(self) as interrupt:
                cbl.on_train_begin()
                for epoch in range(initial_epoch, epochs):
                    if self.stop_training:
                        history.interrupted = interrupt.hit
                        break
                    cbl.on_epoch_begin(epoch)
                    compiled.reset()
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
                        running = compiled.running()
                        for b, xb, yb, swb in batches.epoch(self._shuffle_seed, it):
                            cbl.on_train_batch_begin(b, {"size": sizes[b]})
                            lr = float(opt.learning_rate)
                            r = train_step(xb, yb, swb, lr, it + 1)
                            it += 1
                            opt.iterations = it
                            append(r)
                            blogs = running.add(r, sizes[b])
                            blogs["batch_loss"] = r[0]
                            cbl.on_train_batch_end(b, blogs)
                            if self.stop_training:
                                break
                    if interrupt.hit:
                        history.interrupted = True
                        break
                    logs = self._epoch_logs(results, sizes, penalized)
                    if val is not None and (epoch + 1) % validation_freq == 0:
                        cbl.on_test_begin()
                        vlogs = self._evaluate_prepared(val, validation_batch_size or batch_size,
                                                        cbl)
                        if penalized:  # the weights' penalty, constant over the evaluation
                            vlogs["data_loss"] = vlogs["loss"] - net.last_penalty
                        cbl.on_test_end(vlogs)
                        logs.update({f"val_{k}": v for k, v in vlogs.items()})
                    cbl.on_epoch_end(epoch, logs)
                if opt.use_ema and epochs > initial_epoch:  # Keras's finalize_variable_values
                    ema.finalize(opt, ema.trained_arrays(self._spec))
                cbl.on_train_end(logs)  # Keras passes the last epoch's logs
        finally:
            self.__dict__["_fitting"] = False
        if hasattr(batches, "samples"):  # a batch source's rows (unknown) or Dask data's
            history.fit_info["samples"] = batches.samples  # (known after a whole pass)
        history.fit_info.update(stop_info(callbacks))
        if history.interrupted:
            done = len(history.epoch)
            print(f"lamina: training interrupted (Ctrl-C) after {done} complete epoch(s); the "
                  "model keeps the weights of the last step", file=sys.stderr)
        return history

    def _epoch_logs(self, results, sizes, penalized=False):
        logs = self._compiled_metrics.logs(results, sizes)
        if penalized:  # results end with each step's penalty (see fit)
            if not results:
                logs["data_loss"] = float("nan")
            else:
                w = np.asarray(sizes[:len(results)], dtype=np.float64)
                penalty = np.asarray([r[-1] for r in results], dtype=np.float64)
                logs["data_loss"] = logs["loss"] - float(np.dot(penalty, w) / w.sum())
        return logs

    # ------------------------------------------------------------------ evaluate ------
    def _evaluate_prepared(self, data, batch_size, cbl=None):
        net = self._network_for("train")
        compiled = self._compiled_metrics
        compiled.reset()
        n = 0
        loss_sum = 0.0
        results, sizes = [], []
        evaluate = compiled.wrap(net.evaluate, self._out_dim(), self.dtype)
        hooks = cbl is not None and cbl.has_test_batch_hooks
        for b, (xb, yb, swb) in enumerate(data.batches(batch_size)):
            s, e = n, n + xb.shape[0]
            n = e
            if hooks:
                cbl.on_test_batch_begin(b, {"size": e - s})
            r = evaluate(xb, yb, swb)
            results.append(r)
            sizes.append(e - s)
            if hooks:
                loss_sum += r[0] * (e - s)
                cbl.on_test_batch_end(b, {"loss": loss_sum / e})
        return compiled.logs(results, sizes, in_order=True)

    @serialized
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False):
        """Returns the loss and metrics on data (no dropout, no update).

        Args:
            x: Inputs, or a source of ``(x, y)`` / ``(x, y, sample_weight)`` batches (as
                in `fit`), or a Dask array / DataFrame. Defaults to `None` (required).
            y: Targets. Defaults to `None` (required).
            batch_size: Rows per core call; results do not depend on it, except for a
                Python loss or metric function that returns one value per batch.
                Defaults to `None` (1024, or Keras's 32 when a Python loss or metric
                function is compiled, so such per-batch values average as in Keras).
            verbose: 0 silent, 1 or 2 print one line. Defaults to `"auto"`.
            sample_weight: Per-sample loss weights. Defaults to `None`.
            steps: Batches to evaluate. Defaults to `None` (all).
            callbacks: Callbacks with test hooks. Defaults to `None`.
            return_dict: Return ``{"loss": ..., metric: ...}``. Defaults to `False`.

        Returns:
            The loss (no metrics), ``[loss, *metrics]``, or a dict.
        """
        self._require_compiled("evaluate")
        keras_batch = batch_size is None and self._batch_dependent()
        verbose, batch_size = _inference_args(x, y, verbose, batch_size)
        if keras_batch and batch_size is not None:
            batch_size = 32  # Keras's default: a per-batch value averages over such batches
        data = data_adapters.eval_data(self, x, y, sample_weight, batch_size, steps)
        params = {"verbose": verbose, "epochs": 1, "steps": data.num_steps(batch_size)}
        cbl = callbacks_mod.CallbackList(callbacks or [], self, params)
        cbl.on_test_begin()
        t0 = time.perf_counter()
        logs = self._evaluate_prepared(data, batch_size, cbl)
        cbl.on_test_end(logs)
        if verbose:
            print(f"{data.seen} samples - {format_time(time.perf_counter() - t0)}"
                  " - " + " - ".join(f"{k}: {v:.4f}" for k, v in logs.items()))
        return self._as_result(logs, return_dict)

    def _batch_dependent(self) -> bool:
        """Whether evaluate's result may depend on the batch size: a Python loss, a loss
        with reduction="sum" (Keras averages the per-batch sums), or a metric that is a
        user's function (either may return one value per batch, like the popular f1 /
        recall snippets). lamina's own losses and metrics never do otherwise."""
        from . import losses as losses_mod

        if self._loss is not None and (not losses_mod.is_fused(self._loss)
                                       or getattr(self._loss, "reduction", None) == "sum"):
            return True
        return any(callable(m) and not isinstance(m, type) and not hasattr(m, "update_state")
                   and not getattr(m, "__module__", "").startswith("lamina.")
                   for m in (*self._metric_ids, *self._weighted_metric_ids))

    # ------------------------------------------------------------------ predict -------
    @serialized
    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Returns the network's outputs for ``x`` (no dropout), shape ``(n, outputs)``.

        Args:
            x: Inputs, shape ``(n, *input_shape)``, or a source of ``x`` (or ``(x,)``,
                ``(x, y)``) batches (as in `fit`),
                or a Dask array / DataFrame (a numpy array comes back).
            batch_size: Rows per core call; results do not depend on it, except for a
                Python loss or metric function that returns one value per batch.
                Defaults to `None` (1024, or Keras's 32 when a Python loss or metric
                function is compiled, so such per-batch values average as in Keras).
            verbose: 0 silent, 1 or 2 print one line. Defaults to `"auto"`.
            steps: Batches to predict. Defaults to `None` (all).
            callbacks: Callbacks with predict hooks. Defaults to `None`.
        """
        verbose, batch_size = _inference_args(x, None, verbose, batch_size)
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
        if data_adapters.is_batch_source(x, None):  # builds the model from its first batch
            xs, n, steps = data_adapters.predict_batches(self, x, steps), None, steps
        else:
            xt = self._prepare_x(x)
            n = xt.shape[0]
            if steps is not None:  # Keras: the first `steps` batches
                n = min(n, check_int("steps", steps, 1) * batch_size)
            xs = (xt[s:s + batch_size] for s in range(0, n, batch_size))
            steps = -(-n // batch_size)
        net = self._network_for("infer")
        outs = []
        predict = net.predict
        params = {"verbose": verbose, "epochs": 1, "steps": steps}
        cbl = callbacks_mod.CallbackList(callbacks or [], self, params)
        hooks = cbl.has_predict_batch_hooks
        cbl.on_predict_begin()
        for b, xb in enumerate(xs):
            if hooks:
                cbl.on_predict_batch_begin(b, {"size": xb.shape[0]})
            out = np.empty((xb.shape[0], self._out_dim()), dtype=self.dtype)
            predict(xb, out)
            outs.append(out)
            if hooks:
                cbl.on_predict_batch_end(b, {"outputs": out})
        cbl.on_predict_end()
        out = outs[0] if len(outs) == 1 else np.concatenate(outs)
        if verbose:
            print(f"{out.shape[0]} samples - {format_time(time.perf_counter() - t0)}")
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
        xt, yt, sw = self._prepare_xy(x, y, sample_weight, class_weight, fit=True)
        net = self._network_for("train")
        opt = self.optimizer
        self._compiled_metrics.reset()
        step = self._compiled_metrics.wrap(net.train_step, self._out_dim(), self.dtype)
        r = step(xt, yt, sw, float(opt.learning_rate), opt.iterations + 1)
        if opt.use_ema:
            ema.update(opt, ema.trained_arrays(self._spec), opt.iterations)
        constraints.apply(constraints.weight_constraints(self))
        opt.iterations += 1
        return self._batch_result(r, xt.shape[0], return_dict)

    @serialized
    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Returns the loss and metrics on one batch (no update)."""
        self._require_compiled("test_on_batch")
        xt, yt, sw = self._prepare_xy(x, y, sample_weight)
        net = self._network_for("train")
        self._compiled_metrics.reset()
        r = self._compiled_metrics.wrap(net.evaluate, self._out_dim(), self.dtype)(xt, yt, sw)
        return self._batch_result(r, xt.shape[0], return_dict)

    def _batch_result(self, r, n, return_dict):
        logs = self._compiled_metrics.logs([r], [n], in_order=True)
        logs["loss"] = float(r[0])
        return self._as_result(logs, return_dict)

    @staticmethod
    def _as_result(logs, return_dict):
        """Keras's return value: the logs dict (its keys sorted, as Keras's), the loss alone
        (no metrics) or a list (the loss, then the metrics in compile order)."""
        if return_dict:
            return dict(sorted(logs.items()))
        values = list(logs.values())
        return values[0] if len(values) == 1 else values
