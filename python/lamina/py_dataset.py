"""PyDataset: a dataset of batches read by index (Keras 3's ``keras.utils.PyDataset``).

A subclass defines ``__getitem__(index)`` returning one batch, ``(x, y)`` or ``(x, y,
sample_weight)`` (``x`` alone for ``predict``), and ``__len__`` (the number of batches) or
the ``num_batches`` property (``None`` for an endless dataset, which then needs
``steps_per_epoch``). ``fit`` calls ``on_epoch_begin`` / ``on_epoch_end`` around every
epoch. Keras's own ``keras.utils.PyDataset`` subclasses are read the same way.

``workers`` threads call ``__getitem__`` ahead of the training step, at most
``max_queue_size`` batches in flight; batches reach the model in index order whatever the
number of workers, so a fit gives the same weights with 1 worker or 8.

Example:
    >>> import numpy as np
    >>> class Squares(PyDataset):
    ...     def __len__(self):
    ...         return 3
    ...     def __getitem__(self, i):
    ...         x = np.full((2, 1), float(i))
    ...         return x, x ** 2
    >>> ds = Squares(workers=2)
    >>> ds.num_batches, ds.workers, ds[2][1].ravel().tolist()
    (3, 2, [4.0, 4.0])
"""

from __future__ import annotations

from ._validation import check_int

__all__ = ["PyDataset", "Sequence", "is_py_dataset"]


class PyDataset:
    """Base class of datasets whose batches are read by index (Keras 3's PyDataset).

    Args:
        workers: Threads that read batches (``__getitem__``) ahead of the training step.
            Defaults to `1`.
        use_multiprocessing: Accepted for Keras scripts; lamina reads batches with
            ``workers`` threads in either case (numpy, file reads and lamina's training
            step release the GIL, and a dataset need not be picklable). Defaults to `False`.
        max_queue_size: Batches read ahead at most. Defaults to `10`.
    """

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self._workers = check_int("workers", workers, minimum=1)
        self._use_multiprocessing = bool(use_multiprocessing)
        self._max_queue_size = check_int("max_queue_size", max_queue_size, minimum=1)

    @property
    def workers(self) -> int:
        """Threads reading batches ahead."""
        return self._workers

    @workers.setter
    def workers(self, value):
        self._workers = check_int("workers", value, minimum=1)

    @property
    def use_multiprocessing(self) -> bool:
        """Kept for Keras scripts; batches are read by threads (see the class docstring)."""
        return self._use_multiprocessing

    @use_multiprocessing.setter
    def use_multiprocessing(self, value):
        self._use_multiprocessing = bool(value)

    @property
    def max_queue_size(self) -> int:
        """Batches read ahead at most."""
        return self._max_queue_size

    @max_queue_size.setter
    def max_queue_size(self, value):
        self._max_queue_size = check_int("max_queue_size", value, minimum=1)

    def __getitem__(self, index):
        """Returns batch ``index``: ``(x, y)``, ``(x, y, sample_weight)`` or ``x``."""
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index)")

    @property
    def num_batches(self):
        """Batches per epoch: ``len(self)``, or ``None`` for an endless dataset."""
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError(
            f"{type(self).__name__} must define __len__ or the num_batches property (None "
            "for an endless dataset)")

    def on_epoch_begin(self):
        """Called before every epoch."""

    def on_epoch_end(self):
        """Called after every epoch (e.g. to reshuffle the samples)."""


# Keras 3 keeps ``keras.utils.Sequence`` as another name of PyDataset.
Sequence = PyDataset


def is_py_dataset(x) -> bool:
    """True for lamina's and Keras's PyDataset (and Keras 2 Sequence) objects."""
    if isinstance(x, PyDataset):
        return True
    return any(cls.__name__ in ("PyDataset", "Sequence") and cls.__module__.startswith("keras")
               for cls in type(x).__mro__)
