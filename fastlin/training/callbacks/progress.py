"""fit(verbose=True): a tqdm bar per epoch with the running loss and accuracy, and one line
per epoch with its record. Without a terminal (output to a file, a pipe, a CI log) there is no
bar, only the line per epoch, as Keras's verbose=2: a redrawn bar would fill a log with
carriage-return frames."""
import sys

from fastlin.training.callbacks.base import Callback


def _is_terminal(stream):
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _in_notebook():
    """Jupyter's streams are not terminals, yet it draws tqdm.auto's widget bar."""
    ipython = sys.modules.get("IPython")
    try:
        shell = ipython.get_ipython() if ipython is not None else None
    except Exception:  # noqa: BLE001  (an IPython half set up; no bar then)
        return False
    return type(shell).__name__ == "ZMQInteractiveShell"


def interactive():
    """Whether fit draws a progress bar: the bar's stream (stderr) and stdout are terminals,
    or a notebook shows them."""
    return (_is_terminal(sys.stderr) and _is_terminal(sys.stdout)) or _in_notebook()


class ProgressBar(Callback):
    """The progress of one fit. ``on_batches_end`` follows the batches (the compiled loop
    reports chunks of them, at most a twentieth of an epoch each, so the bar moves)."""

    def __init__(self, epochs, n_batches, classification):
        self.epochs, self.n_batches, self.classification = epochs, n_batches, classification
        self.bar = None
        self.draw_bar = interactive()

    def max_chunk(self):
        # a bar moves at least 20 times an epoch; without one, the loop sizes its chunks freely
        return max(1, self.n_batches // 20) if self.draw_bar else self.n_batches

    def on_epoch_begin(self, epoch, logs=None):
        if not self.draw_bar:
            return
        from tqdm.auto import tqdm
        self.bar = tqdm(total=self.n_batches, desc=f"epoch {epoch + 1}/{self.epochs}",
                        leave=False, unit="batch")

    def on_batches_end(self, b0, b1, running):
        if self.bar is None:
            return
        self.bar.update(b1 - b0)
        if b1 - b0 > 1 or b0 % 10 == 0 or b1 == self.n_batches:
            post = {"loss": f"{running.mean_loss():.4f}"}
            if self.classification:
                post["acc"] = f"{running.correct / running.seen:.3f}"
            self.bar.set_postfix(post)

    def on_epoch_end(self, epoch, logs=None):
        self.close()
        record = {k: v for k, v in (logs or {}).items() if k not in ("lr", "learning_rate")}
        print(f"epoch {epoch + 1}/{self.epochs} "
              + " ".join(f"{k}={v:.4g}" for k, v in record.items()))

    def on_train_end(self, logs=None):
        self.close()

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
