"""One CSV row per epoch."""
import csv
import os

import numpy as np

from fastlin.training.callbacks.base import Callback


class CSVLogger(Callback):
    """Write one CSV row per epoch: "epoch" (0-based, as Keras writes it) then the logs keys
    in sorted order, floats at full precision (``repr``), "NA" for a key an epoch lacks.

    Parameters
    ----------
    filename : str or path-like
    separator : one character, default ","
    append : bool, default False; True appends to an existing file, writing the header only
        when the file is empty (and refusing a file whose header has other columns)

    Each row is flushed as it is written, so the file is complete up to the last epoch even
    when training is interrupted.
    """

    def __init__(self, filename, separator=",", append=False):
        try:
            filename = os.fspath(filename)
        except TypeError:
            raise TypeError(f"filename must be a str or path-like, got "
                            f"{type(filename).__name__}") from None
        if not filename:
            raise ValueError("filename is empty")
        if not isinstance(separator, str) or len(separator) != 1 or separator in "\r\n\"":
            raise ValueError(f"separator must be one character (not a quote or newline), got "
                             f"{separator!r}")
        self.filename, self.sep, self.append = filename, separator, bool(append)
        self.keys = None
        self._file = self._writer = None
        self._existing_header = None

    def on_train_begin(self, logs=None):
        self._open()

    def _open(self):
        self.close()
        self.keys = None
        self._existing_header = None
        if self.append and os.path.exists(self.filename):
            with open(self.filename, newline="") as f:
                first = f.readline()
            if first:
                self._existing_header = next(csv.reader([first], delimiter=self.sep))
        self._file = open(self.filename, "a" if self.append else "w", newline="")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._file is None:
            self._open()
        if "learning_rate" in logs:
            # fit's logs carry the rate twice ("lr", the older name, for callbacks that read
            # it): one column of it
            logs = {k: v for k, v in logs.items() if k != "lr"}
        if self.keys is None:
            self.keys = sorted(logs)
            fieldnames = ["epoch"] + self.keys
            if self._existing_header is not None and self._existing_header != fieldnames:
                raise ValueError(f"CSVLogger: {self.filename} has the columns "
                                 f"{self._existing_header}, these logs {fieldnames}; append "
                                 "to a file with the same columns or use append=False")
            self._writer = csv.writer(self._file, delimiter=self.sep, lineterminator="\n")
            if self._existing_header is None:
                self._writer.writerow(fieldnames)
        row = [epoch] + [self._cell(logs.get(k, "NA")) for k in self.keys]
        self._writer.writerow(row)
        self._file.flush()

    @staticmethod
    def _cell(value):
        if isinstance(value, (float, np.floating)):
            return repr(float(value))
        return value

    def on_train_end(self, logs=None):
        self.close()

    def close(self):
        """Close the log file (``on_train_end`` does); calling it again does nothing."""
        if self._file is not None:
            self._file.close()
        self._file = self._writer = None
