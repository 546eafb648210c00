"""CSVLogger: writes one CSV row of logs per epoch."""

from __future__ import annotations

import csv
import os

from .callback import Callback


class CSVLogger(Callback):
    """Writes one CSV row per epoch: ``epoch`` and every log key (sorted), as Keras's: the
    ``val_`` columns are there even before (or without) validation, holding "NA".

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
            # Keras's columns: without validation logs in the first epoch (none, or a
            # validation_freq > 1) every key gets its val_ column, "NA" until it is logged
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys += [f"val_{k}" for k in self.keys]
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
