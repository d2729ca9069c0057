"""Callbacks for ``fit``, with Keras's names, arguments and rules.

``fit(..., callbacks=[...])`` calls ``set_model(model)`` on each callback, then
``on_train_begin(logs)``; per epoch (0-based ``epoch``, as in Keras) ``on_epoch_begin(epoch,
logs)``, the epoch (the compiled loop, untouched), ``on_epoch_end(epoch, logs)`` with logs
``{"loss", "accuracy"?, "val_loss"?, "val_accuracy"?, "lr"}``; and ``on_train_end(logs)``.
Setting ``model.stop_training = True`` in a hook stops training after that epoch's hooks.

Monitored quantities (EarlyStopping, ModelCheckpoint with save_best_only, ReduceLROnPlateau):

- ``mode="auto"`` maximises a key containing "acc" (accuracy, val_accuracy) and minimises any
  other (loss, val_loss), as Keras's ReduceLROnPlateau and ModelCheckpoint decide;
- a ``val_`` key that is missing from the logs (fit without validation data) falls back to the
  training key of the same name with one UserWarning (Keras warns and does nothing, which
  leaves a run silently unmonitored); a key missing altogether raises ValueError naming the
  keys that exist, at the end of the first epoch.
"""
import csv
import inspect
import math
import numbers
import os
import string
import warnings

import numpy as np

__all__ = ["Callback", "CallbackList", "EarlyStopping", "ModelCheckpoint",
           "LearningRateScheduler", "ReduceLROnPlateau", "CSVLogger"]


def _int(name, value, low=0):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return int(value)


def _real(name, value, low=None, high=None, high_open=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    if high is not None and (value > high or (high_open and value == high)):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {high}, got {value}")
    return value


def _optimizer_of(model, who):
    opt = getattr(model, "optimizer", None)
    if opt is None:
        raise RuntimeError(f"{who} needs model.optimizer (fit sets it); the model has none")
    return opt


class Callback:
    """Base class: override any of the hooks. ``self.model`` is the model being trained.

    Examples
    --------
    >>> class StopAtLoss(Callback):
    ...     def on_epoch_end(self, epoch, logs=None):
    ...         if logs["loss"] < 0.1:
    ...             self.model.stop_training = True
    """

    model = None

    def set_model(self, model):
        self.model = model

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass


class CallbackList:
    """Several callbacks called in order, as one.

    Parameters
    ----------
    callbacks : iterable of Callback, or None
    model : the model to attach (``set_model``), optional
    """

    def __init__(self, callbacks=None, model=None):
        if callbacks is None:
            callbacks = []
        elif isinstance(callbacks, Callback):
            callbacks = [callbacks]
        elif isinstance(callbacks, (str, bytes)) or not hasattr(callbacks, "__iter__"):
            raise TypeError(f"callbacks must be a list of Callback objects, got "
                            f"{type(callbacks).__name__}")
        callbacks = list(callbacks)
        for i, cb in enumerate(callbacks):
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks[{i}] is a {type(cb).__name__}, not a "
                                "fastlin.callbacks.Callback")
        self.callbacks = callbacks
        self.model = None
        if model is not None:
            self.set_model(model)

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self):
        return len(self.callbacks)

    def append(self, callback):
        if not isinstance(callback, Callback):
            raise TypeError(f"{type(callback).__name__} is not a fastlin.callbacks.Callback")
        self.callbacks.append(callback)
        if self.model is not None:
            callback.set_model(self.model)

    def set_model(self, model):
        self.model = model
        for cb in self.callbacks:
            cb.set_model(model)

    def on_train_begin(self, logs=None):
        for cb in self.callbacks:
            cb.on_train_begin(logs)

    def on_train_end(self, logs=None):
        for cb in self.callbacks:
            cb.on_train_end(logs)

    def on_epoch_begin(self, epoch, logs=None):
        for cb in self.callbacks:
            cb.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        for cb in self.callbacks:
            cb.on_epoch_end(epoch, logs)


class _MonitorCallback(Callback):
    """Shared by the callbacks that watch one logs key: the direction and the value."""

    def __init__(self, monitor, mode):
        if not isinstance(monitor, str) or not monitor:
            raise TypeError(f"monitor must be a logs key (a non-empty str), got {monitor!r}")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
        self.monitor, self.mode = monitor, mode
        self._warned = False

    @property
    def _maximize(self):
        if self.mode == "auto":
            return "acc" in self.monitor
        return self.mode == "max"

    def _worst(self):
        return -math.inf if self._maximize else math.inf

    def _monitor_value(self, logs):
        logs = logs or {}
        key = self.monitor
        if key not in logs and key.startswith("val_") and key[4:] in logs:
            if not self._warned:
                warnings.warn(f"{type(self).__name__}: {key!r} is not in the logs (no "
                              f"validation data?); monitoring {key[4:]!r} instead",
                              UserWarning, stacklevel=3)
                self._warned = True
            key = key[4:]
        if key not in logs:
            raise ValueError(f"{type(self).__name__}: monitor={self.monitor!r} is not in the "
                             f"logs; available: {', '.join(sorted(logs)) or 'none'}")
        value = logs[key]
        try:
            return float(value)
        except (TypeError, ValueError):
            raise TypeError(f"{type(self).__name__}: logs[{key!r}] must be a number, got "
                            f"{value!r}") from None


class EarlyStopping(_MonitorCallback):
    """Stop training when a monitored quantity has stopped improving (Keras's rules).

    Each epoch with a monitored value increments ``wait``; an improvement (better than
    ``best`` by more than ``min_delta``) records it as ``best`` and resets ``wait`` to 0
    (with a ``baseline``: only when it also beats the baseline). Training stops when
    ``wait >= patience`` at an epoch after the first.

    Parameters
    ----------
    monitor : str, default "val_loss"
    min_delta : float >= 0, default 0
    patience : int >= 0, default 0
    mode : "auto" (default), "min" or "max"
    restore_best_weights : bool, default False
        At the end of training (stopped early or not, as Keras 3 does), copy the weights of
        the best epoch back into the model's parameter arrays, in place.
    baseline : float or None
    start_from_epoch : int >= 0, default 0; epochs before it are not monitored

    Attributes
    ----------
    best, best_epoch, wait, stopped_epoch (0 when training was not stopped), best_weights
    """

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, mode="auto",
                 restore_best_weights=False, baseline=None, start_from_epoch=0, verbose=0):
        super().__init__(monitor, mode)
        self.min_delta = _real("min_delta", min_delta, 0.0)
        self.patience = _int("patience", patience)
        self.baseline = None if baseline is None else _real("baseline", baseline)
        self.start_from_epoch = _int("start_from_epoch", start_from_epoch)
        self.restore_best_weights = bool(restore_best_weights)
        self.verbose = verbose
        self.on_train_begin()

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = self._worst()
        self.best_weights = None
        self.best_epoch = 0

    def _improves(self, value, reference):
        if self._maximize:
            return value - self.min_delta > reference
        return value + self.min_delta < reference

    def _snapshot(self):
        params = self.model.parameters()
        if self.best_weights is None:
            self.best_weights = [p.copy() for p in params]
        else:
            for s, p in zip(self.best_weights, params):
                np.copyto(s, p)

    def on_epoch_end(self, epoch, logs=None):
        current = self._monitor_value(logs)
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self._snapshot()
            self.best_epoch = epoch
        self.wait += 1
        if self._improves(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self._snapshot()
            if self.baseline is None or self._improves(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                print(f"Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            for p, s in zip(self.model.parameters(), self.best_weights):
                np.copyto(p, s)


class ModelCheckpoint(_MonitorCallback):
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


def _takes_lr(schedule):
    """True when ``schedule`` accepts two positional arguments (epoch, lr)."""
    try:
        params = inspect.signature(schedule).parameters.values()
    except (TypeError, ValueError):
        return True
    positional = 0
    for p in params:
        if p.kind is p.VAR_POSITIONAL:
            return True
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            positional += 1
    return positional >= 2


class LearningRateScheduler(Callback):
    """Set ``model.optimizer.lr = schedule(epoch, lr)`` at the start of every epoch.

    Parameters
    ----------
    schedule : callable ``schedule(epoch, lr) -> new lr`` (Keras's form; ``epoch`` is
        0-based, ``lr`` the current rate) or ``schedule(epoch) -> new lr``, told apart by
        how many positional arguments it takes
    verbose : int, default 0

    Examples
    --------
    >>> LearningRateScheduler(lambda epoch, lr: lr if epoch < 10 else lr * 0.9)
    """

    def __init__(self, schedule, verbose=0):
        if not callable(schedule):
            raise TypeError(f"schedule must be callable, got {type(schedule).__name__}")
        self.schedule = schedule
        self.verbose = verbose
        self._with_lr = _takes_lr(schedule)

    def on_epoch_begin(self, epoch, logs=None):
        opt = _optimizer_of(self.model, "LearningRateScheduler")
        lr = float(opt.lr)
        new = self.schedule(epoch, lr) if self._with_lr else self.schedule(epoch)
        if isinstance(new, np.ndarray) and new.ndim == 0:
            new = new[()]
        if isinstance(new, bool) or not isinstance(new, numbers.Real) \
                or not math.isfinite(float(new)) or new < 0:
            raise ValueError(f"LearningRateScheduler: schedule returned {new!r} at epoch "
                             f"{epoch}; it must return a finite number >= 0")
        opt.lr = float(new)
        if self.verbose:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                  f"{opt.lr}.")


class ReduceLROnPlateau(_MonitorCallback):
    """Multiply the learning rate by ``factor`` when the monitored quantity has not improved
    for ``patience`` epochs (Keras's rules).

    Per epoch: during a cooldown the counter goes down and ``wait`` is 0; a value better than
    ``best`` by more than ``min_delta`` becomes ``best`` and resets ``wait``; otherwise, out of
    cooldown, ``wait`` grows, and when it reaches ``patience`` the lr becomes
    ``max(lr * factor, min_lr)`` (if lr > min_lr), the cooldown starts and ``wait`` is 0.
    Note that Keras reduces after ``patience`` bad epochs, PyTorch's scheduler of the same
    name after ``patience + 1``.

    Parameters
    ----------
    monitor : str, default "val_loss"
    factor : float in [0, 1), default 0.1
    patience : int >= 0, default 10
    min_delta : float >= 0, default 1e-4
    cooldown : int >= 0, default 0
    min_lr : float >= 0, default 0
    mode : "auto" (default), "min" or "max"
    verbose : int, default 0
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, min_delta=1e-4,
                 cooldown=0, min_lr=0.0, mode="auto", verbose=0):
        super().__init__(monitor, mode)
        self.factor = _real("factor", factor, 0.0, 1.0, high_open=True)
        self.patience = _int("patience", patience)
        self.min_delta = _real("min_delta", min_delta, 0.0)
        self.cooldown = _int("cooldown", cooldown)
        self.min_lr = _real("min_lr", min_lr, 0.0)
        self.verbose = verbose
        self._reset()

    def _reset(self):
        self.best = self._worst()
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def in_cooldown(self):
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        current = self._monitor_value(logs)
        opt = _optimizer_of(self.model, "ReduceLROnPlateau")
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        better = (current > self.best + self.min_delta if self._maximize
                  else current < self.best - self.min_delta)
        if better:
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = float(opt.lr)
                if old_lr > self.min_lr:
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    opt.lr = new_lr
                    if self.verbose:
                        print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate "
                              f"to {new_lr}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


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
        if self._file is not None:
            self._file.close()
        self._file = self._writer = None
