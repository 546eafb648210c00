"""The benchmark workloads, written once and run by every framework.

A workload owns its data (generated from a fixed seed, so every framework's subprocess sees
the same arrays), its network and training hyperparameters (an :class:`MLPSpec`), its
sizes per scale ("full" is the real benchmark, "quick" takes about a minute in all,
"tiny" is for tests), and the measurement: it drives a framework's trainer, times it the
same way for everyone and returns a flat dict of metrics.

Frameworks only translate an :class:`MLPSpec` into their own idiom (see
``lamina/bench/frameworks/``); nothing here knows which framework it is timing.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

SCALES = ("full", "quick", "tiny")


@dataclass(frozen=True)
class MLPSpec:
    """A dense ReLU classifier and how to train it: the same for every framework.

    Attributes:
        input_dim: Features per sample.
        hidden: Units of each hidden ReLU layer.
        n_classes: Output units (softmax cross-entropy over integer labels).
        batch_size: Mini-batch size; the last, partial batch of an epoch is trained too.
        optimizer: "adam" or "sgd".
        learning_rate: Step size.
        momentum: SGD momentum (heavy ball, not Nesterov).
        dropout: Dropout rate after each hidden layer (0 = no dropout layers).
        l2: Keras-style L2 factor on the kernels: the loss gains ``l2 * sum(W**2)``, so the
            gradient gains ``2 * l2 * W`` (biases are not regularized).
        seed: Seed for initialization, shuffling and dropout masks.
        batch_norm: Whether each hidden layer is Dense -> BatchNormalization -> ReLU (Keras
            defaults: momentum 0.99, epsilon 1e-3; torch: ``nn.BatchNorm1d(eps=1e-3,
            momentum=0.01)``, the same rule) instead of Dense(ReLU).
    """

    input_dim: int
    hidden: tuple[int, ...]
    n_classes: int
    batch_size: int
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.0
    dropout: float = 0.0
    l2: float = 0.0
    seed: int = 0
    batch_norm: bool = False

    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.input_dim, *self.hidden, self.n_classes)

    def describe(self) -> str:
        opt = (f"Adam {self.learning_rate:g}" if self.optimizer == "adam"
               else f"SGD {self.learning_rate:g} momentum {self.momentum:g}")
        extra = ""
        if self.dropout:
            extra += f", dropout {self.dropout:g} after each hidden layer"
        if self.l2:
            extra += f", L2 {self.l2:g}"
        if self.batch_norm:
            extra += ", BatchNormalization before each hidden ReLU"
        return f"{'-'.join(map(str, self.sizes))} ReLU, softmax CE, {opt}, batch {self.batch_size}{extra}"


@dataclass(frozen=True)
class Metric:
    """One reported number.

    Attributes:
        key: Key in the measurement dict.
        label: Column/row label in the tables.
        lower_is_better: Direction; the lamina speedup is ``other/lamina`` when lower is
            better and ``lamina/other`` otherwise.
        compare: Whether a lamina-speedup ratio is meaningful for it.
        plot: Whether the PNG chart shows it.
        unit: Metrics of one workload with the same unit share a chart panel.
    """

    key: str
    label: str
    lower_is_better: bool = True
    compare: bool = True
    plot: bool = False
    unit: str = ""


@dataclass(frozen=True)
class Target:
    """A target from the benchmark issue, checked against one run's ratios."""

    workload: str
    metric: str
    framework: str | None  # None: an absolute bound on lamina's own value
    minimum: float | None = None  # lamina speedup must be >= this
    maximum: float | None = None  # lamina's value must be <= this (framework None)
    text: str = ""
    cpu_metric: str | None = None  # the same quantity in CPU time (checked beside wall time)
    base: str = "lamina"  # the lamina column the speedup is of ("lamina-bf16": mixed precision)


# ---- data ---------------------------------------------------------------------------------

def make_teacher_data(n_train: int, n_test: int, n_features: int = 784, n_classes: int = 10,
                      seed: int = 1234):
    """Synthetic MNIST-sized data: uniform [0, 1) float32 pixels, labels from a fixed random
    linear teacher (so the task is learnable but not trivial).

    Returns:
        (x_train, y_train, x_test, y_test) with x float32 C-contiguous and y int64.
    """
    rng = np.random.default_rng(seed)
    teacher = rng.standard_normal((n_features, n_classes)).astype(np.float32)
    x = rng.random((n_train + n_test, n_features), dtype=np.float32)
    y = np.argmax((x - np.float32(0.5)) @ teacher, axis=1).astype(np.int64)
    return (np.ascontiguousarray(x[:n_train]), y[:n_train],
            np.ascontiguousarray(x[n_train:]), y[n_train:])


def load_digits_data():
    """The handwritten digits (1797 × 64, scaled to [0, 1]) and where they came from.

    Prefers the copy bundled with lamina, then scikit-learn's; without either it falls back
    to synthetic data of the same shape (the timing is what matters here).
    """
    try:
        from lamina import datasets  # type: ignore[attr-defined]

        x, y = datasets.load_digits(return_X_y=True)
        source = "lamina.datasets.load_digits"
    except Exception:  # noqa: BLE001 - any failure just means "not bundled (yet)"
        try:
            from sklearn.datasets import load_digits

            d = load_digits()
            x, y = d.data, d.target
            source = "sklearn.datasets.load_digits"
        except Exception:  # noqa: BLE001
            x, y, _, _ = make_teacher_data(1797, 0, n_features=64, seed=77)
            source = "synthetic 1797x64 (no digits data installed)"
    x = np.asarray(x, dtype=np.float32)
    if x.max() > 1.0:
        x = x / np.float32(16.0)
    return np.ascontiguousarray(x, dtype=np.float32), np.asarray(y, dtype=np.int64), source


# ---- timing helpers ---------------------------------------------------------------------------

def median_after_first(times: list[float]) -> float:
    """Median of epochs 2..N (epoch 1 pays warm-up); the only epoch if there is one."""
    return statistics.median(times[1:] if len(times) > 1 else times)


def time_calls(fn: Callable[[], object], budget_s: float, chunks: int = 5) -> float:
    """Seconds per call of ``fn``: the median over ``chunks`` timed chunks that together
    take about ``budget_s``, after a warm-up call."""
    fn()
    t0 = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t0, 1e-7)
    per_chunk = max(1, int(budget_s / chunks / once))
    samples = []
    for _ in range(chunks):
        t0 = time.perf_counter()
        for _ in range(per_chunk):
            fn()
        samples.append((time.perf_counter() - t0) / per_chunk)
    return statistics.median(samples)


def _cpu(trainer) -> dict:
    """``train_cpu_s``: median CPU seconds (all threads) of epochs 2..N, when the trainer
    recorded them. Unlike wall time it hardly grows when other processes share the CPUs,
    so on a busy machine it is the steadier number for 1-thread runs."""
    cpu = getattr(trainer, "cpu_times", None)
    return {"train_cpu_s": median_after_first(cpu)} if cpu else {}


def _accuracy(pred, y) -> float:
    pred = np.asarray(pred)
    if pred.ndim == 2:
        pred = pred.argmax(axis=1)
    return float(np.mean(pred == y))


# ---- workloads ------------------------------------------------------------------------------

@dataclass
class Workload:
    """A named benchmark: what it measures and at which sizes."""

    name: str
    kind: str  # "mlp" or "gemm": which framework capability it needs
    title: str
    metrics: tuple[Metric, ...]
    sizes: dict = field(default_factory=dict)  # scale -> dict of size parameters

    def size(self, scale: str, epochs: int | None = None) -> dict:
        s = dict(self.sizes[scale])
        if epochs is not None and "epochs" in s:
            s["epochs"] = epochs
        return s

    def describe(self, scale: str, epochs: int | None = None) -> str:
        return self.title.format(**self.size(scale, epochs))

    def measure(self, fw, scale: str, epochs: int | None = None) -> dict:  # pragma: no cover
        raise NotImplementedError


class MnistMLP(Workload):
    spec = MLPSpec(784, (512, 256), 10, batch_size=128, optimizer="adam", learning_rate=1e-3)

    def __init__(self):
        super().__init__(
            name="mnist-mlp", kind="mlp",
            title=(f"{self.spec.describe()}; {{n_train}} synthetic samples (linear teacher), "
                   f"{{epochs}} epochs, s/epoch = median of epochs 2..N; "
                   f"predict on {{n_test}} samples in batches of 1024"),
            metrics=(
                Metric("train_s", "train s/epoch", plot=True),
                Metric("samples_per_s", "train samples/s", lower_is_better=False),
                Metric("first_epoch_s", "first epoch s"),
                Metric("train_cpu_s", "train CPU s/epoch (all threads)"),
                Metric("predict_ms", "predict ms per 10k samples", plot=True),
                Metric("predict_cpu_ms", "predict CPU ms per 10k samples (all threads)"),
                Metric("test_acc", "test accuracy", lower_is_better=False, compare=False),
            ),
            sizes={"full": dict(n_train=60000, n_test=10000, epochs=5, predict_reps=5),
                   "quick": dict(n_train=4096, n_test=1024, epochs=3, predict_reps=3),
                   "tiny": dict(n_train=300, n_test=100, epochs=2, predict_reps=1)},
        )

    def measure(self, fw, scale, epochs=None):
        s = self.size(scale, epochs)
        x, y, xt, yt = make_teacher_data(s["n_train"], s["n_test"])
        trainer = fw.mlp_trainer(self.spec, x, y)
        times = trainer.train(s["epochs"])
        pred = trainer.predict(xt)  # warm-up and accuracy
        pt, pc = [], []
        for _ in range(s["predict_reps"]):
            c0, t0 = time.process_time(), time.perf_counter()
            trainer.predict(xt)
            pt.append(time.perf_counter() - t0)
            pc.append(time.process_time() - c0)
        train_s = median_after_first(times)
        return {"train_s": train_s, "samples_per_s": s["n_train"] / train_s,
                "first_epoch_s": times[0], **_cpu(trainer),
                "predict_ms": statistics.median(pt) * 1e3 * 10000 / s["n_test"],
                "predict_cpu_ms": statistics.median(pc) * 1e3 * 10000 / s["n_test"],
                "test_acc": _accuracy(pred, yt), "epoch_times": times}


class DigitsSmall(Workload):
    spec = MLPSpec(64, (32,), 10, batch_size=32, optimizer="adam", learning_rate=1e-3)

    def __init__(self):
        super().__init__(
            name="digits-small", kind="mlp",
            title=(f"{self.spec.describe()}; the 1797 handwritten digits, {{epochs}} epochs, "
                   "µs per batch = median epoch (2..N) / batches per epoch"),
            metrics=(
                Metric("us_per_batch", "µs per batch", plot=True),
                Metric("cpu_us_per_batch", "CPU µs per batch (all threads)"),
                Metric("train_acc", "train accuracy", lower_is_better=False, compare=False),
            ),
            sizes={"full": dict(epochs=30), "quick": dict(epochs=5), "tiny": dict(epochs=2)},
        )

    def measure(self, fw, scale, epochs=None):
        s = self.size(scale, epochs)
        x, y, source = load_digits_data()
        trainer = fw.mlp_trainer(self.spec, x, y)
        times = trainer.train(s["epochs"])
        batches = -(-len(x) // self.spec.batch_size)
        cpu = _cpu(trainer).get("train_cpu_s")
        return {"us_per_batch": median_after_first(times) / batches * 1e6,
                "cpu_us_per_batch": None if cpu is None else cpu / batches * 1e6,
                "train_acc": _accuracy(trainer.predict(x), y), "epoch_times": times,
                "data_source": source}


class MnistDropout(Workload):
    spec = MLPSpec(784, (512, 256), 10, batch_size=128, optimizer="sgd", learning_rate=0.01,
                   momentum=0.9, dropout=0.5, l2=1e-4)

    def __init__(self):
        super().__init__(
            name="mnist-dropout", kind="mlp",
            title=(f"{self.spec.describe()}; {{n_train}} synthetic samples, {{epochs}} epochs "
                   "with and without the dropout layers, their epochs alternating in one "
                   "process; dropout cost = with / without - 1"),
            metrics=(
                Metric("sgd_s", "SGD+L2, no dropout, s/epoch", plot=True, unit="s/epoch"),
                Metric("dropout_s", "SGD+L2 + dropout, s/epoch", plot=True, unit="s/epoch"),
                Metric("dropout_cost_pct", "dropout cost %", compare=False),
                Metric("dropout_cpu_cost_pct", "dropout cost % in CPU time", compare=False),
                Metric("test_acc", "test accuracy (dropout)", lower_is_better=False,
                       compare=False),
            ),
            sizes={"full": dict(n_train=60000, n_test=10000, epochs=5),
                   "quick": dict(n_train=4096, n_test=1024, epochs=3),
                   "tiny": dict(n_train=300, n_test=100, epochs=2)},
        )

    def measure(self, fw, scale, epochs=None):
        s = self.size(scale, epochs)
        x, y, xt, yt = make_teacher_data(s["n_train"], s["n_test"])
        plain = fw.mlp_trainer(replace(self.spec, dropout=0.0), x, y)
        try:
            dropped = fw.mlp_trainer(self.spec, x, y)
        except NotImplementedError as exc:  # e.g. scikit-learn has no dropout
            dropped, note = None, str(exc)
        t_plain, t_drop = [], []
        for _ in range(s["epochs"]):  # alternate so both see the same machine state
            t_plain += plain.train(1)
            if dropped is not None:
                t_drop += dropped.train(1)
        out = {"sgd_s": median_after_first(t_plain), "epoch_times_sgd": t_plain}
        if dropped is None:
            out["note"] = note
            return out
        out.update(dropout_s=median_after_first(t_drop), epoch_times_dropout=t_drop,
                   test_acc=_accuracy(dropped.predict(xt), yt))
        out["dropout_cost_pct"] = (out["dropout_s"] / out["sgd_s"] - 1.0) * 100.0
        cpu_plain, cpu_drop = _cpu(plain).get("train_cpu_s"), _cpu(dropped).get("train_cpu_s")
        if cpu_plain and cpu_drop:
            out["dropout_cpu_cost_pct"] = (cpu_drop / cpu_plain - 1.0) * 100.0
        return out


class MnistBN(Workload):
    spec = MLPSpec(784, (512, 256), 10, batch_size=128, optimizer="adam", learning_rate=1e-3,
                   batch_norm=True)

    def __init__(self):
        super().__init__(
            name="mnist-bn", kind="mlp",
            title=(f"{self.spec.describe()}; {{n_train}} synthetic samples, {{epochs}} epochs "
                   "with and without the BatchNormalization layers (mnist-mlp), their epochs "
                   "alternating in one process; BN cost = with / without - 1"),
            metrics=(
                Metric("adam_s", "Adam, no BN (mnist-mlp), s/epoch", plot=True,
                       unit="s/epoch"),
                Metric("bn_s", "Adam + BatchNormalization, s/epoch", plot=True,
                       unit="s/epoch"),
                Metric("bn_cpu_s", "Adam + BN CPU s/epoch (all threads)"),
                Metric("bn_cost_pct", "BatchNormalization cost %", compare=False),
                Metric("bn_cpu_cost_pct", "BatchNormalization cost % in CPU time",
                       compare=False),
                Metric("test_acc", "test accuracy (BN)", lower_is_better=False, compare=False),
            ),
            sizes={"full": dict(n_train=60000, n_test=10000, epochs=5),
                   "quick": dict(n_train=4096, n_test=1024, epochs=3),
                   "tiny": dict(n_train=300, n_test=100, epochs=2)},
        )

    def measure(self, fw, scale, epochs=None):
        s = self.size(scale, epochs)
        x, y, xt, yt = make_teacher_data(s["n_train"], s["n_test"])
        plain = fw.mlp_trainer(replace(self.spec, batch_norm=False), x, y)
        try:
            normed = fw.mlp_trainer(self.spec, x, y)
        except NotImplementedError as exc:  # e.g. scikit-learn has no BatchNormalization
            normed, note = None, str(exc)
        t_plain, t_bn = [], []
        for _ in range(s["epochs"]):  # alternate so both see the same machine state
            t_plain += plain.train(1)
            if normed is not None:
                t_bn += normed.train(1)
        out = {"adam_s": median_after_first(t_plain), "epoch_times_adam": t_plain}
        if normed is None:
            out["note"] = note
            return out
        out.update(bn_s=median_after_first(t_bn), epoch_times_bn=t_bn,
                   test_acc=_accuracy(normed.predict(xt), yt))
        out["bn_cost_pct"] = (out["bn_s"] / out["adam_s"] - 1.0) * 100.0
        cpu_plain, cpu_bn = _cpu(plain).get("train_cpu_s"), _cpu(normed).get("train_cpu_s")
        if cpu_bn:
            out["bn_cpu_s"] = cpu_bn
        if cpu_plain and cpu_bn:
            out["bn_cpu_cost_pct"] = (cpu_bn / cpu_plain - 1.0) * 100.0
        return out


@dataclass(frozen=True)
class GemmCase:
    """C (m×n) = op(A) @ op(B) with op(A) m×k, op(B) k×n; a transposed operand is stored
    the other way round (as a network stores X for Xᵀ·dY or W for dY·Wᵀ)."""

    name: str
    m: int
    n: int
    k: int
    trans_a: bool = False
    trans_b: bool = False

    def operands(self, seed: int = 5):
        rng = np.random.default_rng(seed)
        a_shape = (self.k, self.m) if self.trans_a else (self.m, self.k)
        b_shape = (self.n, self.k) if self.trans_b else (self.k, self.n)
        a = rng.uniform(0.5, 1.5, a_shape).astype(np.float32)
        b = rng.uniform(-1.0, 1.0, b_shape).astype(np.float32)
        return a, b


GEMM_CASES = (
    GemmCase("128³", 128, 128, 128),
    GemmCase("256³", 256, 256, 256),
    GemmCase("512³", 512, 512, 512),
    GemmCase("1024³", 1024, 1024, 1024),
    GemmCase("2048³", 2048, 2048, 2048),
    GemmCase("fwd1 (128×784)·(784×512)", 128, 512, 784),
    GemmCase("dW1 Xᵀ·dY (784×128)·(128×512)", 784, 512, 128, trans_a=True),
    GemmCase("dX dY·Wᵀ (128×512)·(512×784)", 128, 784, 512, trans_b=True),
    GemmCase("fwd3 (128×256)·(256×10)", 128, 10, 256),
    GemmCase("digits (32×64)·(64×32)", 32, 32, 64),
)


class Gemm(Workload):
    def __init__(self):
        super().__init__(
            name="gemm", kind="gemm",
            title=("float32 C = op(A)·op(B) into a preallocated C (`out=`), GFLOP/s = "
                   "2·m·n·k / median time per call; transposed operands are passed as a "
                   "network stores them ({cases})"),
            metrics=tuple(Metric(f"gflops:{c.name}", f"{c.name} GFLOP/s", lower_is_better=False,
                                 plot=c.name.startswith(("1024", "fwd1", "dW1", "dX")),
                                 unit="GFLOP/s")
                          for c in GEMM_CASES),
            sizes={"full": dict(cases="all shapes", budget_s=0.4, max_dim=2048),
                   "quick": dict(cases="squares ≤ 512 and the MLP shapes", budget_s=0.03,
                                 max_dim=512),
                   "tiny": dict(cases="squares ≤ 128 and the MLP shapes", budget_s=0.002,
                                max_dim=128)},
        )

    def measure(self, fw, scale, epochs=None):
        s = self.size(scale)
        out = {}
        for case in GEMM_CASES:
            if max(case.m, case.n, case.k) > s["max_dim"] and case.name.endswith("³"):
                continue
            a, b = case.operands()
            call, result = fw.matmul_case(a, b, case.trans_a, case.trans_b)
            call()
            ref = (a.T if case.trans_a else a).astype(np.float64) @ \
                (b.T if case.trans_b else b).astype(np.float64)
            err = float(np.max(np.abs(np.asarray(result()) - ref)) / np.max(np.abs(ref)))
            if not err < 1e-4 * max(1.0, case.k / 64):
                raise AssertionError(f"{case.name}: result wrong (max rel error {err:.2e})")
            sec = time_calls(call, s["budget_s"])
            out[f"gflops:{case.name}"] = 2.0 * case.m * case.n * case.k / sec / 1e9
        return out


WORKLOADS: dict[str, Workload] = {w.name: w for w in (MnistMLP(), DigitsSmall(), MnistDropout(),
                                                      MnistBN(), Gemm())}

# The benchmark issue's targets (lamina speedup = how many times faster lamina is).
TARGETS = (
    Target("mnist-mlp", "train_s", "torch", minimum=2.5, cpu_metric="train_cpu_s",
           text="mnist-mlp training ≥ 2.5× torch eager (default Adam)"),
    Target("mnist-mlp", "train_s", "torch-fused", minimum=1.3, cpu_metric="train_cpu_s",
           text="mnist-mlp training ≥ 1.3× torch with fused Adam"),
    Target("mnist-mlp", "train_s", "sklearn", minimum=3.0, cpu_metric="train_cpu_s",
           text="mnist-mlp training ≥ 3× scikit-learn"),
    Target("mnist-mlp", "predict_ms", "torch", minimum=1.2, cpu_metric="predict_cpu_ms",
           text="mnist-mlp predict ≥ 1.2× torch"),
    Target("digits-small", "us_per_batch", "torch", minimum=15.0,
           cpu_metric="cpu_us_per_batch",
           text="digits-small per batch ≥ 15× torch"),
    Target("digits-small", "us_per_batch", "numpy", minimum=4.0,
           cpu_metric="cpu_us_per_batch",
           text="digits-small per batch ≥ 4× numpy by hand"),
    Target("mnist-dropout", "dropout_cost_pct", None, maximum=5.0,
           cpu_metric="dropout_cpu_cost_pct",
           text="dropout costs lamina ≤ 5% of an epoch"),
    Target("mnist-bn", "bn_s", "torch", minimum=2.5, cpu_metric="bn_cpu_s",
           text="mnist-bn training ≥ 2.5× torch eager (nn.BatchNorm1d)"),
    Target("mnist-bn", "bn_cost_pct", None, maximum=15.0, cpu_metric="bn_cpu_cost_pct",
           text="BatchNormalization costs lamina ≤ 15% of an epoch"),
    Target("mnist-mlp", "train_s", "lamina", minimum=1.6, cpu_metric="train_cpu_s",
           base="lamina-bf16", text="mnist-mlp mixed_bfloat16 ≥ 1.6× lamina float32"),
    Target("mnist-mlp", "train_s", "torch-bf16", minimum=2.0, cpu_metric="train_cpu_s",
           base="lamina-bf16", text="mnist-mlp mixed_bfloat16 ≥ 2× torch autocast bf16"),
)

# Row key of the speedup of each lamina column ("lamina": the float32 one).
SPEEDUP_KEYS = {"lamina": "speedup", "lamina-bf16": "speedup_bf16"}
