"""History: what fit recorded, one value per epoch and key."""
from fastlin.training.callbacks.base import Callback


class History(Callback):
    """What ``fit`` recorded: ``history`` maps "loss", "val_loss", "accuracy", "val_accuracy"
    and "learning_rate" to one value per epoch; ``epoch`` lists the epoch numbers, 0-based as
    Keras's. ``fit`` returns it and keeps it
    as ``model.history_``; it is the first callback of every fit."""

    def __init__(self):
        self.history = {}
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        # 0-based as Keras's; "lr" is the logs' alias of "learning_rate", recorded once
        self._record(epoch, {k: v for k, v in (logs or {}).items() if k != "lr"})

    def _record(self, epoch, values):
        self.epoch.append(epoch)
        for k, v in values.items():
            self.history.setdefault(k, []).append(float(v))

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={sorted(self.history)})"

    def plot(self, keys=None, ax=None):
        """Draw the recorded curves against the epoch with matplotlib (the optional extra
        ``fastlin[plot]``) and return the Axes.

        Parameters
        ----------
        keys : str or list of str, optional; default every key except the learning rate
        ax : matplotlib Axes, optional; default a new figure's
        """
        from fastlin._summary import plot_history
        return plot_history(self, keys, ax)
