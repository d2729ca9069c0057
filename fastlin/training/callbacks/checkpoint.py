"""Save the model and its optimizer after epochs, atomically."""
import os
import string

from fastlin.training.callbacks._monitor import MonitorCallback


class ModelCheckpoint(MonitorCallback):
    """Save the model (with its optimizer's state) after every epoch, or only when the
    monitored quantity improves.

    The file is written by ``model.save(path, optimizer=model.optimizer)``: atomically (a
    temporary file, fsynced, then renamed), so a run killed while saving keeps the previous
    checkpoint. ``fastlin.load_checkpoint(path)`` resumes from it.

    Parameters
    ----------
    filepath : str or path-like; may hold Keras's format fields, filled with the 1-based
        ``epoch`` and the logs: "ckpt-{epoch:02d}-{val_loss:.3f}.npz". Missing directories
        are created.
    monitor : str, default "val_loss"
    save_best_only : bool, default False; save only when the monitored value is strictly
        better than the best so far (with a fixed filepath, the file holds the best model)
    mode : "auto" (default), "min" or "max"
    verbose : int, default 0; 1 prints a line per save

    Attributes
    ----------
    best : the best monitored value so far (with save_best_only)
    last_saved : the path written last, or None
    """

    def __init__(self, filepath, monitor="val_loss", save_best_only=False, mode="auto",
                 verbose=0):
        super().__init__(monitor, mode)
        try:
            filepath = os.fspath(filepath)
        except TypeError:
            raise TypeError(f"filepath must be a str or path-like, got "
                            f"{type(filepath).__name__}") from None
        if isinstance(filepath, bytes):
            filepath = os.fsdecode(filepath)
        if not filepath:
            raise ValueError("filepath is empty")
        try:
            self._fields = {f for _, f, _, _ in string.Formatter().parse(filepath)
                            if f is not None}
        except ValueError as exc:
            raise ValueError(f"filepath {filepath!r} is not a valid format string: {exc}") \
                from None
        if "" in self._fields or any(f.isdigit() for f in self._fields):
            raise ValueError(f"filepath {filepath!r} has a positional field; name the fields, "
                             "e.g. {epoch:02d} or {val_loss:.3f}")
        self.filepath = filepath
        self.save_best_only = bool(save_best_only)
        self.verbose = verbose
        self.best = self._worst()
        self.last_saved = None

    def on_train_begin(self, logs=None):
        self.best = self._worst()

    def _path(self, epoch, logs):
        values = dict(logs or {})
        values["epoch"] = epoch + 1
        try:
            return self.filepath.format(**values)
        except KeyError as exc:
            raise ValueError(f"ModelCheckpoint: filepath {self.filepath!r} names "
                             f"{exc.args[0]!r}, which is not in the logs; available: "
                             f"epoch, {', '.join(sorted(logs or {}))}") from None
        except (ValueError, TypeError) as exc:
            raise ValueError(f"ModelCheckpoint: cannot format filepath {self.filepath!r}: "
                             f"{exc}") from None

    def on_epoch_end(self, epoch, logs=None):
        path = self._path(epoch, logs)
        if self.save_best_only:
            current = self._monitor_value(logs)
            better = current > self.best if self._maximize else current < self.best
            if not better:
                if self.verbose:
                    print(f"Epoch {epoch + 1}: {self.monitor} did not improve from "
                          f"{self.best:.5f}")
                return
            if self.verbose:
                print(f"Epoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to "
                      f"{current:.5f}, saving model to {path}")
            self.best = current
        elif self.verbose:
            print(f"Epoch {epoch + 1}: saving model to {path}")
        self._save(path)

    def _save(self, path):
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        if os.path.isdir(path):
            raise ValueError(f"ModelCheckpoint: {path!r} is a directory; give a file path")
        opt = getattr(self.model, "optimizer", None)
        if opt is None:
            self.model.save(path)
        else:
            self.model.save(path, optimizer=opt)
        self.last_saved = path
