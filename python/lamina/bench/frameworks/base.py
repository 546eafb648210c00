"""What a compared framework provides to the workloads."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import time


class Trainer:
    """A built, compiled model plus its training data.

    Subclasses implement :meth:`train_epoch` (one shuffled pass over the data) and
    :meth:`predict`; frameworks whose own ``fit`` runs many epochs at once override
    :meth:`train` instead and time the epochs from inside.
    """

    def train_epoch(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def train(self, epochs: int) -> list[float]:
        """Trains ``epochs`` epochs; returns the wall seconds each one took and appends
        the CPU seconds (all threads of the process) of each to ``self.cpu_times``."""
        times = []
        cpu = self.__dict__.setdefault("cpu_times", [])
        for _ in range(epochs):
            c0, t0 = time.process_time(), time.perf_counter()
            self.train_epoch()
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        return times

    def predict(self, x):  # pragma: no cover - abstract
        """Class scores (n, classes) or labels (n,) for x, in batches of 1024."""
        raise NotImplementedError


class Framework:
    """A column of the comparison.

    Attributes:
        name: Column name ("torch-fused").
        package: The importable module the framework needs (checked by ``available``).
    """

    name = ""
    package = ""
    dist = ""  # distribution name for the version, when it differs from ``package``

    def available(self) -> str | None:
        """None when the framework can run here, else why not. Imports nothing heavy."""
        if importlib.util.find_spec(self.package) is None:
            return f"{self.package} is not installed"
        return None

    def supports(self, workload) -> str | None:
        """None when this framework runs ``workload``, else why not (shown as a note)."""
        return None

    def versions(self) -> dict:
        """Versions worth recording, read without importing the framework."""
        try:
            return {self.dist or self.package:
                    importlib.metadata.version(self.dist or self.package)}
        except importlib.metadata.PackageNotFoundError:
            return {}

    def set_threads(self, n: int) -> None:
        """Limits the framework to ``n`` threads (environment variables are set too)."""

    def runtime_info(self) -> dict:
        """Details only known after import (BLAS, CPU capability), from the subprocess."""
        return {}

    def mlp_trainer(self, spec, x, y) -> Trainer:  # pragma: no cover - abstract
        raise NotImplementedError

    def matmul_case(self, a, b, trans_a: bool, trans_b: bool):  # pragma: no cover
        """Returns ``(call, result)``: ``call()`` computes op(a)·op(b) into a preallocated
        output, ``result()`` returns that output as a numpy array."""
        raise NotImplementedError
