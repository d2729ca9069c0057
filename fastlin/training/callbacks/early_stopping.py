"""Stop training when a monitored quantity stops improving."""
from fastlin.backend._validation import integer, number
from fastlin.training.callbacks._monitor import MonitorCallback
from fastlin.training.snapshot import copy_parameters, restore_parameters


class EarlyStopping(MonitorCallback):
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
        self.min_delta = number("min_delta", min_delta, 0.0)
        self.patience = integer("patience", patience, 0)
        self.baseline = None if baseline is None else number("baseline", baseline)
        self.start_from_epoch = integer("start_from_epoch", start_from_epoch, 0)
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
        self.best_weights = copy_parameters(self.model, self.best_weights)

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
            restore_parameters(self.model, self.best_weights)
