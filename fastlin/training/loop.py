"""The epoch loop of fit: each epoch's order from the model's shuffle stream, the batches in
chunks sized so that Ctrl-C is seen every ~CHECK_SECONDS, the stop on a non-finite loss, and
the callbacks between epochs (between chunks for fit's own, around every batch for Keras's
batch hooks)."""
import time

import numpy as np

from fastlin._kernels import train
from fastlin.layers import Dense
from fastlin.training import metrics as fit_metrics
from fastlin.training import runners, targets
from fastlin.training.snapshot import EpochStart

# longest stretch of compiled training between two checks for Ctrl-C (SPEC: stop within 1 s)
CHECK_SECONDS = 0.05


class NonFiniteLossError(FloatingPointError, RuntimeError, ValueError):
    """Training produced a NaN or infinite loss; the weights were left at a finite state."""


class ShuffleStream:
    """Each epoch's row order and dropout seed, drawn from the model's shuffle stream: a
    compiled Fisher-Yates permutation (None: the rows in place), then the dropout seed."""

    def __init__(self, rng, n, shuffle, has_dropout):
        self.rng, self.has_dropout = rng, has_dropout
        self.order = np.empty(n, np.int64) if shuffle else None

    def next_epoch(self):
        if self.order is not None:
            train.permutation(self.order, int(self.rng.bit_generator.random_raw()))
        drop_seed = int(self.rng.bit_generator.random_raw()) if self.has_dropout else 0
        return self.order, drop_seed


class EpochLoop:
    """Runs the epochs of one fit.

    Parameters
    ----------
    model : the model trained (its parameters, layers, ``stop_training``, ``evaluate``)
    data : training.data.FitData
    opt : the optimizer (its ``lr`` goes into every epoch's logs)
    batch_size : int
    orders : ShuffleStream or an object with the same ``next_epoch()``
    callbacks : CallbackList, every hook of the fit (fit's own callbacks included)
    threads, interrupts : the fit's FitThreads and deferred_interrupt
    make_runner : () -> runner (runners.py); called once, and again only when the runner
        reports ``stale()`` after a user's callback ran (``user_callbacks``); a replaced runner
        and the last one are ``release()``d
    loss : the loss validation is evaluated with; its kind decides whether accuracy is logged
    metrics : the checked metric names (training/metrics.py) logged besides loss and accuracy
    """

    def __init__(self, model, data, opt, batch_size, orders, callbacks, threads, interrupts,
                 make_runner, loss=None, user_callbacks=False, metrics=()):
        self.model, self.data, self.loss, self.opt = model, data, loss, opt
        self.metrics = metrics
        self.wants_errors = fit_metrics.wants_errors(metrics)
        self.n_values = data.n * model._output_width(data.X)
        self.batch_size, self.orders, self.make_runner = batch_size, orders, make_runner
        self.callbacks, self.threads, self.interrupts = callbacks, threads, interrupts
        self.user_callbacks = user_callbacks
        n = self.n_rows = data.n
        self.n_batches = (n + batch_size - 1) // batch_size
        self.classification = targets.is_classification(loss)
        self.followers = callbacks.batch_followers()
        self.batch_begin, self.batch_end = callbacks.batch_hooks()
        self.batch_hooks = bool(self.batch_begin or self.batch_end)
        self.every_batch = callbacks.needs_every_batch()
        caps = [cb.max_chunk() for cb in self.followers if hasattr(cb, "max_chunk")]
        self.chunk_cap = min(caps) if caps else self.n_batches
        self._choose_runner()
        # compiled batches per call: sized from the measured time per batch so that a call
        # lasts at most ~CHECK_SECONDS; the first chunk is the whole epoch when even a slow
        # machine (1 GFLOP/s) runs it within CHECK_SECONDS, else what the kept plan settled on
        # in its last fit, else one batch, timed to size the next
        epoch_flops = 6.0 * n * sum(layer.in_features * layer.out_features
                                    for layer in model.layers if isinstance(layer, Dense))
        settled = getattr(self.runner, "batches_per_call", None) or 1
        self.chunk = self.n_batches if epoch_flops < 1e9 * CHECK_SECONDS else settled

    def _choose_runner(self):
        if getattr(self, "runner", None) is not None:
            self.runner.release()
        self.runner = self.make_runner()
        try:
            self.threads.attach(self.runner.plan)
            self.epoch_start = EpochStart(self.model, self.runner.plan)
        except BaseException:  # (a second Ctrl-C, say) the fit never starts: let its data go
            self.runner.release()
            raise

    def run(self, epochs):
        self.callbacks.on_train_begin({})
        logs = {}
        for epoch in range(epochs):
            self.callbacks.on_epoch_begin(epoch, {})
            if self.user_callbacks and self.runner.stale():
                # a callback changed a setting the compiled plan holds (weight decay, label
                # smoothing, ...): a new plan takes it, as the Python loop would (only a
                # user's callback can have changed one; batch hooks are checked per batch)
                self._choose_runner()
            logs = self._epoch(epoch)
            # "learning_rate" as Keras logs it; "lr" stays for callbacks written against it
            rate = float(self.opt.lr)
            self.callbacks.on_epoch_end(epoch, dict(logs, learning_rate=rate, lr=rate))
            self.interrupts.check()
            if self.model.stop_training:
                break
        if self.runner.chunked:  # the next fit on this plan starts from it
            self.runner.batches_per_call = self.chunk
        self.callbacks.on_train_end(logs)

    def _epoch(self, epoch):
        self.epoch_start.take()
        order, drop_seed = self.orders.next_epoch()
        running = runners.Running()
        runner, b, n_batches = self.runner, 0, self.n_batches
        chunked, followers, interrupts = runner.chunked, self.followers, self.interrupts
        perf_counter = time.perf_counter
        while b < n_batches:
            stop_b = self._chunk_end(b) if chunked else b + 1
            if self.batch_hooks:  # (then one batch a call)
                for cb in self.batch_begin:
                    cb.on_train_batch_begin(b, {})
                if self.runner.stale():
                    # a batch hook changed a setting the plan holds: a new plan from this
                    # batch on, as the Python loop takes it (its snapshot for a non-finite
                    # loss is of these weights, not the epoch's first)
                    self._choose_runner()
                    runner, chunked = self.runner, self.runner.chunked
            asked = self.chunk
            started = perf_counter()
            failure = runner.run(order, b, stop_b, drop_seed, running)
            if chunked:
                elapsed = perf_counter() - started
                # at most twice the stretch asked for: a chunk sized on a quiet moment must not
                # run for seconds once the machine gets busy, before Ctrl-C is seen. (Twice the
                # stretch run, the epoch's short last one shrank the next epoch's first chunk:
                # W3 ran six calls an epoch in every epoch instead of one.)
                ran = stop_b - b
                self.chunk = max(1, min(self.n_batches, 2 * (asked if asked > ran else ran),
                                        int(CHECK_SECONDS * ran / max(elapsed, 1e-9))))
            if failure is not None:
                self._stop_non_finite(epoch, *failure)
            for cb in followers:
                cb.on_batches_end(b, stop_b, running)
            if self.batch_end:
                self._batch_end_hooks(b, running)
                if self.model.stop_training:
                    break
            if self.threads.poll() and chunked:
                self.chunk = max(1, self.chunk // 4)  # a short stretch to judge a thread more on
            if interrupts.pending:
                interrupts.check()
            b = stop_b
        return self._record(epoch, running)

    def _batch_end_hooks(self, b, running):
        logs = {"loss": running.mean_loss()}
        if self.classification:
            logs["accuracy"] = running.correct / max(running.seen, 1)
        if self.metrics:  # the epoch's metrics so far, under the epoch logs' names
            logs.update(fit_metrics.values(self.metrics, running.abs_error, running.sq_error,
                                           self.n_values // self.n_rows * running.seen,
                                           logs.get("accuracy")))
        for cb in self.batch_end:
            cb.on_train_batch_end(b, dict(logs))

    def _chunk_end(self, b):
        if self.every_batch:
            self.chunk = 1
        else:
            self.chunk = min(self.chunk, self.chunk_cap)
        return min(b + self.chunk, self.n_batches)

    def _record(self, epoch, running):
        record = {"loss": running.mean_loss()}
        # over the rows seen: a batch hook may end an epoch early
        n = self.n_rows
        seen = running.seen if 0 < running.seen < n else n
        if self.classification:
            record["accuracy"] = running.correct / seen
        if self.metrics:
            record.update(fit_metrics.values(self.metrics, running.abs_error, running.sq_error,
                                             self.n_values // n * seen,
                                             record.get("accuracy")))
        if self.data.validation is not None:
            X_val, y_val, sw_val = self.data.validation
            val = self.model.evaluate(X_val, y_val, loss=self.loss, sample_weight=sw_val,
                                      metrics=self.metrics)
            for key in val:
                record["val_" + key] = val[key]
        if not self.runner.weights_finite():
            self._stop_non_finite(epoch, self.n_batches - 1, float("nan"))
        return record

    def _stop_non_finite(self, epoch, batch, value):
        if not all(np.isfinite(p).all() for p in self.model.parameters()):
            self.epoch_start.restore()
        raise NonFiniteLossError(
            f"loss became {value} at epoch {epoch + 1}, batch {batch}; training stopped and "
            "the weights were left at their last finite values (try a smaller learning rate)")
