"""TensorBoard: the learning curves as TensorBoard event files, watched live in the browser.

Written through tensorboardX (``pip install 'lamina[tensorboard]'``), a small maintained
writer of TensorBoard's file format; view them with ``tensorboard --logdir LOG_DIR``
(``pip install tensorboard``).
"""

from __future__ import annotations

import json
import os
import time

import numpy as np

from .callback import Callback

__all__ = ["TensorBoard", "require_tensorboardx", "summary_writer", "weight_names"]

INSTALL_HINT = "pip install 'lamina[tensorboard]' (or: pip install tensorboardX)"


def require_tensorboardx(what: str = "TensorBoard logging"):
    """Imports tensorboardX, or raises a one-line ImportError naming the package.

    Args:
        what: What needs it, for the message. Defaults to `"TensorBoard logging"`.

    Returns:
        The ``tensorboardX`` module.
    """
    try:
        import tensorboardX
    except ImportError:
        raise ImportError(f"{what} needs the tensorboardX package: {INSTALL_HINT}") from None
    return tensorboardX


def summary_writer(log_dir: str | os.PathLike):
    """A tensorboardX ``SummaryWriter`` writing event files into `log_dir`.

    Args:
        log_dir: The folder of one TensorBoard run.

    Raises:
        ImportError: tensorboardX is not installed (one line naming the package).
    """
    return require_tensorboardx().SummaryWriter(logdir=os.fspath(log_dir))


class TensorBoard(Callback):
    """Writes the curves of ``fit`` as TensorBoard event files, as Keras's TensorBoard does.

    Every key of the epoch logs becomes a scalar at step = epoch (0-based, as Keras):
    training keys as ``epoch_<key>`` in the run ``<log_dir>/train`` (``learning_rate``
    included), validation keys (``val_<key>``) as ``epoch_<key>`` in the run
    ``<log_dir>/validation``, so TensorBoard draws train and validation of one metric in one
    chart. Run ``tensorboard --logdir <log_dir>`` while training to watch them live.

    Args:
        log_dir: The folder of the event files. Defaults to `"logs"`.
        histogram_freq: Every this many epochs, a histogram of each weight (tag
            ``<layer>/<weight>``, e.g. ``dense/kernel``); 0 writes none. Defaults to `0`.
        write_graph: Write the model's architecture. lamina has no computation graph to
            draw: its Keras config is written as JSON to the Text tab (tag ``model``).
            Defaults to `True`.
        write_images: Not supported (weights as images): only False. Defaults to `False`.
        write_steps_per_second: Also log ``epoch_steps_per_second`` (training batches per
            second). Defaults to `False`.
        update_freq: ``"epoch"``; ``"batch"`` or an int N also writes the running
            ``batch_<key>`` values every N batches (step = the training step). Defaults to
            `"epoch"`.
        profile_batch: Not supported (no profiler): only 0. Defaults to `0`.
        embeddings_freq: Not supported (no embedding layers): only 0. Defaults to `0`.
        embeddings_metadata: Not supported: only None. Defaults to `None`.

    Example:
        >>> import os, tempfile
        >>> import numpy as np, lamina
        >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)], seed=0)
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> log_dir = tempfile.mkdtemp()  # then: tensorboard --logdir log_dir
        >>> tb = lamina.callbacks.TensorBoard(log_dir, histogram_freq=1)  # doctest: +SKIP
        >>> h = model.fit(np.ones((8, 2)), np.ones(8), epochs=2, validation_split=0.25,
        ...               callbacks=[tb], verbose=0)  # doctest: +SKIP
        >>> sorted(os.listdir(log_dir))  # doctest: +SKIP
        ['train', 'validation']
    """

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0,
                 embeddings_freq=0, embeddings_metadata=None):
        super().__init__()
        for name, value, ok in (
                ("write_images", write_images, not write_images),
                ("profile_batch", profile_batch, profile_batch in (0, None)),
                ("embeddings_freq", embeddings_freq, not embeddings_freq),
                ("embeddings_metadata", embeddings_metadata, embeddings_metadata is None)):
            if not ok:
                raise ValueError(f"TensorBoard({name}={value!r}) is not supported by lamina; "
                                 f"leave {name} at its default")
        if not isinstance(log_dir, (str, os.PathLike)) or not os.fspath(log_dir):
            raise ValueError(f"log_dir must be a non-empty path, got {log_dir!r}")
        if isinstance(histogram_freq, bool) or not isinstance(histogram_freq, int) \
                or histogram_freq < 0:
            raise ValueError(f"histogram_freq must be an int >= 0, got {histogram_freq!r}")
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and (isinstance(update_freq, bool)
                                       or not isinstance(update_freq, int) or update_freq < 1):
            raise ValueError(f"update_freq must be 'epoch', 'batch' or an int >= 1, got "
                             f"{update_freq!r}")
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = bool(write_graph)
        self.write_steps_per_second = bool(write_steps_per_second)
        self.update_freq = update_freq
        self._writers: dict = {}
        self._train_step = 0
        self._epoch_start = 0.0
        require_tensorboardx()  # a missing writer shows here, before any training
        if update_freq != "epoch":
            # Batch hooks only when batches are logged: fit keeps its hook-free loop
            # (it checks the class for overridden batch hooks) for the default "epoch".
            self.__class__ = _BatchTensorBoard

    def _writer(self, run: str):
        if run not in self._writers:
            self._writers[run] = summary_writer(os.path.join(self.log_dir, run))
        return self._writers[run]

    def on_train_begin(self, logs=None):
        train = self._writer("train")
        self._train_step = int(getattr(getattr(self.model, "optimizer", None), "iterations", 0)
                               or 0)
        if self.write_graph:
            config = json.dumps(self.model.get_config(), indent=2, default=str)
            # Markdown: four spaces make a code block, so the JSON keeps its layout.
            train.add_text("model", "    " + config.replace("\n", "\n    "), 0)
            train.flush()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        opt = getattr(self.model, "optimizer", None)
        if logs is not None and opt is not None:  # Keras's TensorBoard logs it (in place)
            logs["learning_rate"] = float(opt.learning_rate)
        train, val = self._writer("train"), None
        for key, value in (logs or {}).items():
            if key.startswith("val_"):
                val = val or self._writer("validation")
                val.add_scalar(f"epoch_{key[4:]}", float(value), epoch)
            else:
                train.add_scalar(f"epoch_{key}", float(value), epoch)
        if self.write_steps_per_second:
            seconds = time.perf_counter() - self._epoch_start
            steps = (self.params or {}).get("steps")
            if seconds > 0 and steps:
                train.add_scalar("epoch_steps_per_second", steps / seconds, epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            for name, weight in weight_names(self.model):
                train.add_histogram(name, np.asarray(weight), epoch)
        for w in self._writers.values():
            w.flush()

    def on_train_end(self, logs=None):
        for w in self._writers.values():
            w.close()
        self._writers = {}


class _BatchTensorBoard(TensorBoard):
    """TensorBoard with ``update_freq`` "batch" or N: also logs every N-th batch."""

    def on_train_batch_end(self, batch, logs=None):
        self._train_step += 1
        if self._train_step % self.update_freq:
            return
        train = self._writer("train")
        for key, value in (logs or {}).items():
            if not key.startswith("batch_"):  # lamina's own batch_loss: the raw batch loss
                train.add_scalar(f"batch_{key}", float(value), self._train_step)


def weight_names(model) -> list:
    """``[("<layer>/<weight>", array), ...]`` for every weight of `model`.

    Example:
        >>> import lamina
        >>> m = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1, name="d")])
        >>> [name for name, _ in weight_names(m)]
        ['d/kernel', 'd/bias']
    """
    out = []
    for layer in getattr(model, "layers", []):
        weights = list(layer.weights)
        try:
            names = [p["name"] for spec in layer.core_spec() for p in spec["params"]]
        except Exception:  # noqa: BLE001 - a layer without a core spec: number its weights
            names = []
        if len(names) != len(weights):
            names = [f"weight_{i}" for i in range(len(weights))]
        out.extend((f"{layer.name}/{n}", w) for n, w in zip(names, weights))
    return out
