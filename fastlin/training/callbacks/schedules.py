"""Callbacks that set the learning rate between epochs (and the step of a fastlin.optim
scheduler that fit(scheduler=...) turns into one)."""
import inspect
import math
import numbers

import numpy as np

from fastlin.backend._validation import integer, number
from fastlin.training.callbacks._monitor import MonitorCallback
from fastlin.optim._plateau import Plateau
from fastlin.training.callbacks.base import Callback, optimizer_of


def _on_plateau(name):
    """An attribute kept on the callback's Plateau."""
    return property(lambda self: getattr(self._plateau, name),
                    lambda self, value: setattr(self._plateau, name, value))


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
    >>> decay = LearningRateScheduler(lambda epoch, lr: lr if epoch < 10 else lr * 0.9)
    """

    def __init__(self, schedule, verbose=0):
        if not callable(schedule):
            raise TypeError(f"schedule must be callable, got {type(schedule).__name__}")
        self.schedule = schedule
        self.verbose = verbose
        self._with_lr = _takes_lr(schedule)

    def on_epoch_begin(self, epoch, logs=None):
        opt = optimizer_of(self.model, "LearningRateScheduler")
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


class ReduceLROnPlateau(MonitorCallback):
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
        self.factor = number("factor", factor, 0.0, 1.0, high_open=True)
        self.min_lr = number("min_lr", min_lr, 0.0)
        self.verbose = verbose
        self._plateau = Plateau(self._maximize, number("min_delta", min_delta, 0.0),
                                relative=False, patience=integer("patience", patience, 0),
                                cooldown=integer("cooldown", cooldown, 0),
                                count_cooldown_end=True)

    # Keras's names for the shared plateau arithmetic's settings and counters
    patience = _on_plateau("patience")
    min_delta = _on_plateau("threshold")
    cooldown = _on_plateau("cooldown")
    best = _on_plateau("best")
    wait = _on_plateau("bad_steps")
    cooldown_counter = _on_plateau("cooldown_counter")

    def _reset(self):
        self._plateau.maximize = self._maximize
        self._plateau.reset()

    def on_train_begin(self, logs=None):
        self._reset()

    def in_cooldown(self):
        """True during the ``cooldown`` epochs after a reduction."""
        return self._plateau.in_cooldown

    def on_epoch_end(self, epoch, logs=None):
        current = self._monitor_value(logs)
        opt = optimizer_of(self.model, "ReduceLROnPlateau")
        if not self._plateau.update(current):
            return
        old_lr = float(opt.lr)
        if old_lr > self.min_lr:
            new_lr = max(old_lr * self.factor, self.min_lr)
            opt.lr = new_lr
            if self.verbose:
                print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to "
                      f"{new_lr}.")
            self._plateau.start_cooldown()


class SchedulerStep(Callback):
    """``fit(scheduler=s)``: steps a fastlin.optim.lr_scheduler scheduler after every epoch,
    or after every batch for one that is ``per_batch`` (OneCycleLR); a ReduceLROnPlateau gets
    its monitored value from the epoch's logs (the training key when there is no validation)."""

    def __init__(self, scheduler):
        self.scheduler = scheduler
        self.every_batch = bool(getattr(scheduler, "per_batch", False))
        from fastlin.optim.lr_scheduler import ReduceLROnPlateau
        self.plateau = isinstance(scheduler, ReduceLROnPlateau)

    def check_monitor(self, keys):
        """Refuse, before training starts, a monitored key the epochs will not record."""
        if not self.plateau:
            return
        key = self.scheduler.monitor
        if key not in keys and not (key.startswith("val_") and key[4:] in keys):
            raise ValueError(f"ReduceLROnPlateau monitors {key!r}, which fit does not record "
                             f"(it has {sorted(keys)})")

    def on_batches_end(self, b0, b1, running):
        if self.every_batch:
            for _ in range(b1 - b0):
                self.scheduler.step()

    def on_epoch_end(self, epoch, logs=None):
        if self.every_batch:
            return
        if not self.plateau:
            self.scheduler.step()
            return
        record = {k: v for k, v in logs.items() if k not in ("lr", "learning_rate")}
        key = self.scheduler.monitor
        if key not in record and key.startswith("val_"):
            key = key[4:]  # no validation data: the training metric, as callbacks do
        if key not in record:
            raise ValueError(f"ReduceLROnPlateau monitors {self.scheduler.monitor!r}, "
                             f"which fit does not record (it has {sorted(record)})")
        self.scheduler.step(record[key])
