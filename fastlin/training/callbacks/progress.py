"""fit(verbose=True): a tqdm bar per epoch with the running loss and accuracy, and one line
per epoch with its record."""
from fastlin.training.callbacks.base import Callback


class ProgressBar(Callback):
    """The progress of one fit. ``on_batches_end`` follows the batches (the compiled loop
    reports chunks of them, at most a twentieth of an epoch each, so the bar moves)."""

    def __init__(self, epochs, n_batches, classification):
        self.epochs, self.n_batches, self.classification = epochs, n_batches, classification
        self.bar = None

    def max_chunk(self):
        return max(1, self.n_batches // 20)

    def on_epoch_begin(self, epoch, logs=None):
        from tqdm.auto import tqdm
        self.bar = tqdm(total=self.n_batches, desc=f"epoch {epoch + 1}/{self.epochs}",
                        leave=False, unit="batch")

    def on_batches_end(self, b0, b1, running):
        self.bar.update(b1 - b0)
        if b1 - b0 > 1 or b0 % 10 == 0 or b1 == self.n_batches:
            post = {"loss": f"{running.mean_loss():.4f}"}
            if self.classification:
                post["acc"] = f"{running.correct / running.seen:.3f}"
            self.bar.set_postfix(post)

    def on_epoch_end(self, epoch, logs=None):
        self.close()
        record = {k: v for k, v in (logs or {}).items() if k != "lr"}
        print(f"epoch {epoch + 1}/{self.epochs} "
              + " ".join(f"{k}={v:.4g}" for k, v in record.items()))

    def on_train_end(self, logs=None):
        self.close()

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
