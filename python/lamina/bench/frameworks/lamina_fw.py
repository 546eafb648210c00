"""lamina through its public, Keras-style API, exactly as a user writes it.

``Sequential([Input, Dense(..., activation="relu"), (Dropout), ..., Dense(10, "softmax")])``,
``compile(optimizer, "sparse_categorical_crossentropy")``, ``fit(x, y, batch_size, epochs,
shuffle=True, verbose=0)`` and ``predict(x, batch_size=1024)``. Epochs are timed by a
callback (on_epoch_begin → on_epoch_end), so one ``fit`` call trains all of them. The
"lamina-bf16" column builds the layers under
``lamina.mixed_precision.set_global_policy("mixed_bfloat16")``, as a Keras user switches.
"""

from __future__ import annotations

import importlib
import time

from .base import Framework, Trainer


def _callback_base():
    try:
        from lamina import callbacks

        return callbacks.Callback
    except (ImportError, AttributeError):
        return object


class _LaminaMLP(Trainer):
    def __init__(self, spec, x, y, policy=None):
        import lamina
        from lamina import layers, optimizers, regularizers

        if hasattr(lamina, "utils") and hasattr(lamina.utils, "set_random_seed"):
            lamina.utils.set_random_seed(spec.seed)
        reg = regularizers.L2(spec.l2) if spec.l2 else None
        before = lamina.mixed_precision.global_policy()
        if policy is not None:
            lamina.mixed_precision.set_global_policy(policy)
        try:
            stack = [lamina.Input(shape=(spec.input_dim,))]
            for units in spec.hidden:
                if spec.batch_norm:
                    stack += [layers.Dense(units, kernel_regularizer=reg),
                              layers.BatchNormalization(), layers.Activation("relu")]
                else:
                    stack.append(layers.Dense(units, activation="relu", kernel_regularizer=reg))
                if spec.dropout:
                    stack.append(layers.Dropout(spec.dropout))
            stack.append(layers.Dense(spec.n_classes, activation="softmax",
                                      kernel_regularizer=reg))
            self.model = lamina.Sequential(stack)
        finally:  # a worker may run in a test's process: leave the global policy as it was
            if policy is not None:
                lamina.mixed_precision.set_global_policy(before)
        if spec.optimizer == "adam":
            opt = optimizers.Adam(learning_rate=spec.learning_rate)
        else:
            opt = optimizers.SGD(learning_rate=spec.learning_rate, momentum=spec.momentum)
        self.model.compile(optimizer=opt, loss="sparse_categorical_crossentropy")
        self.x, self.y, self.batch_size = x, y, spec.batch_size

        class EpochTimer(_callback_base()):
            def __init__(self):
                super().__init__()
                self.times, self.cpu_times = [], []

            def on_epoch_begin(self, epoch, logs=None):
                self._c0, self._t0 = time.process_time(), time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                self.times.append(time.perf_counter() - self._t0)
                self.cpu_times.append(time.process_time() - self._c0)

        self._timer_cls = EpochTimer

    def train(self, epochs):
        timer = self._timer_cls()
        self.model.fit(self.x, self.y, batch_size=self.batch_size, epochs=epochs, shuffle=True,
                       verbose=0, callbacks=[timer])
        self.__dict__.setdefault("cpu_times", []).extend(timer.cpu_times)
        return timer.times

    def predict(self, x):
        return self.model.predict(x, batch_size=1024, verbose=0)


class LaminaFramework(Framework):
    package = "lamina"

    def __init__(self, policy: str | None = None):
        self.policy = policy
        self.name = "lamina" if policy is None else "lamina-bf16"

    def available(self):
        return None  # this package

    def supports(self, workload):
        import lamina

        if self.policy is not None:
            if not hasattr(lamina, "mixed_precision"):
                return "lamina.mixed_precision is not in this build yet"
            if workload.kind == "gemm":
                return "the float32 GEMM cases check float32 results (bench_gemm.py times bf16)"
        if workload.kind == "gemm":
            try:
                ops = importlib.import_module("lamina.ops")
            except ImportError:
                ops = None
            if not hasattr(ops, "matmul"):
                return "lamina.ops.matmul is not in this build yet"
            return None
        missing = [n for n in ("Sequential", "Input", "layers", "optimizers", "regularizers")
                   if not hasattr(lamina, n)]
        if missing:
            return f"lamina's Keras-style API is not in this build yet (no {', '.join(missing)})"
        return None

    def set_threads(self, n):
        import lamina

        lamina.set_num_threads(n)

    def runtime_info(self):
        import lamina

        info = lamina.cpu_info()
        return {"lamina_isa": info["isa"], "lamina_threads": info["num_threads"]}

    def mlp_trainer(self, spec, x, y):
        return _LaminaMLP(spec, x, y, self.policy)

    def matmul_case(self, a, b, trans_a, trans_b):
        import numpy as np

        from lamina import ops

        m = a.shape[1] if trans_a else a.shape[0]
        n = b.shape[0] if trans_b else b.shape[1]
        out = np.empty((m, n), a.dtype)
        return ((lambda: ops.matmul(a, b, trans_a=trans_a, trans_b=trans_b, out=out)),
                (lambda: out))
