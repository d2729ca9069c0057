"""The two ways fit runs a stretch of batches, behind one interface, chosen once per fit:
the compiled loop (fastlin/training/compiled.py) when the model, loss and optimizer allow it,
the Python loop over the layers' kernels otherwise. Both run the same kernels in the same
order, so their weights come out bitwise equal (see CompiledLoop for the one exception).

``run(order, b0, b1, drop_seed, running)`` trains batches [b0, b1) of an epoch whose row order
is ``order`` (None: in place), adds to ``running`` and returns None, or (batch, loss value) of
the batch that made training non-finite. ``release()`` ends the runner's use in a fit: the
compiled one lets go of the fit's data (the model keeps its plan for the next fit).
"""
import numpy as np

from fastlin import _sparse
from fastlin._kernels import train
from fastlin.layers import Dropout
from fastlin.training import metrics as fit_metrics
from fastlin.training import targets
from fastlin.training.compiled import WEIGHTS_NOT_FINITE, CompiledLoop

_WEIGHTS_NOT_FINITE = int(WEIGHTS_NOT_FINITE)  # a plain int: compared once per chunk


class Running:
    """The sums of an epoch so far: loss·weight, weight, correct rows, rows seen, and the
    outputs' absolute and squared errors (when a metric asks for them)."""

    __slots__ = ("total", "weight", "correct", "abs_error", "sq_error", "seen")

    def __init__(self):
        self.total = self.weight = self.correct = 0.0
        self.abs_error = self.sq_error = 0.0
        self.seen = 0

    def mean_loss(self):
        return self.total / max(self.weight, 1e-300)


class CompiledRunner:
    chunked = True  # many batches per call; the loop sizes the chunks

    def __init__(self, loop, n, errors=False):
        self.loop, self.n, self.batch, self.errors = loop, n, loop.batch, errors
        self.plan = loop.plan

    def stale(self):
        return self.loop.stale()

    @property
    def batches_per_call(self):
        """The chunk the loop settled on in this plan's last fit (None: never timed)."""
        return self.loop.batches_per_call

    @batches_per_call.setter
    def batches_per_call(self, chunk):
        self.loop.batches_per_call = chunk

    def run(self, order, b0, b1, drop_seed, running):
        status, out = self.loop.run(order, b0, b1, drop_seed)
        running.total += out[0]
        running.weight += out[1]
        running.correct += out[2]
        if self.errors:
            running.abs_error += out[4]
            running.sq_error += out[5]
        running.seen = min(b1 * self.batch, self.n)
        if status < 0:
            return None if status != _WEIGHTS_NOT_FINITE else (b1 - 1, float("nan"))
        return status, float("nan")

    def weights_finite(self):
        return True  # the plan checks its weights itself (WEIGHTS_NOT_FINITE)

    def release(self):
        self.loop.release()


class PythonRunner:
    """One batch per call through the layers' forward/backward and the optimizer's step; a
    sparse X takes its first layer's products from SciPy (fastlin/_sparse.py)."""

    chunked = False
    plan = None

    def release(self):
        pass  # nothing is kept beyond the fit

    def __init__(self, model, data, loss, opt, batch_size, errors=False):
        self.model, self.loss, self.opt, self.batch = model, loss, opt, batch_size
        self.X, self.target, self.sw = data.X, data.target, data.sw
        self.sparse = _sparse.issparse(self.X)
        # the gather buffers (a sparse batch is gathered by SciPy instead)
        self.xb = None if self.sparse else np.empty((batch_size,) + self.X.shape[1:], model.dtype)
        self.yb = np.empty((batch_size,) + self.target.shape[1:], self.target.dtype)
        self.swb = None if self.sw is None else np.empty(batch_size, model.dtype)
        self.classification = targets.is_classification(loss)
        self.errors = errors  # the error sums of the "mae"/"mse" metrics
        # rows whose weight in the loss's mean is zero: a batch of them alone has no gradient
        # and is skipped (no step, as scikit-learn's MLP does)
        self.row_weight = targets.row_weights(loss, self.target, self.sw,
                                              model._output_width(self.X))
        self.dropouts = [(i, layer) for i, layer in enumerate(model.layers)
                         if isinstance(layer, Dropout) and layer.p > 0]

    def stale(self):
        return False  # it reads every setting at every step

    def _batch(self, order, start, stop):
        if order is None:
            return (self.X[start:stop], self.target[start:stop],
                    None if self.sw is None else self.sw[start:stop])
        m, idx = stop - start, order[start:stop]
        xs = self.X[idx] if self.sparse else np.take(self.X, idx, axis=0, out=self.xb[:m])
        ys = np.take(self.target, idx, axis=0, out=self.yb[:m])
        ws = None if self.sw is None else np.take(self.sw, idx, out=self.swb[:m])
        return xs, ys, ws

    def run(self, order, b, b1, drop_seed, running):
        model, loss = self.model, self.loss
        start, stop = b * self.batch, min((b + 1) * self.batch, self.X.shape[0])
        xs, ys, ws = self._batch(order, start, stop)
        for index, layer in self.dropouts:
            layer._fit_seed = train.dropout_seed(drop_seed, b, index)
        out = _sparse.forward(model, xs) if self.sparse else model._forward(xs)
        running.seen = stop
        if self.errors:
            a, q = fit_metrics.error_sums(out, ys, loss)
            running.abs_error += a
            running.sq_error += q
        if self.row_weight is not None and not self.row_weight[
                slice(start, stop) if order is None else order[start:stop]].any():
            # no weight in the mean: no gradient, no step (its rows still count in the
            # epoch's accuracy, as every row does)
            if self.classification:
                running.correct += targets.count_correct(out, ys, loss)
            return None
        value = loss.forward(out, ys, sample_weight=ws)
        if not np.isfinite(value):
            return b, value
        if self.classification:
            running.correct += targets.count_correct(out, ys, loss)
        if self.sparse:
            _sparse.backward(model, xs, loss.backward())
        else:
            model.backward(loss.backward(), need_input_grad=False)
        self.opt.step()
        w = (stop - start) if ws is None else float(ws.sum())
        running.total += value * w
        running.weight += w
        return None

    def weights_finite(self):
        return all(np.isfinite(p).all() for p in self.model.parameters())


def choose(model, data, loss, opt, batch_size, errors=False):
    """The compiled runner when CompiledLoop takes this model, loss and optimizer (never for
    sparse rows), else the Python one; with errors, both add the outputs' error sums."""
    if not _sparse.issparse(data.X):
        loop = CompiledLoop.build(model, loss, opt, batch_size, data.X, data.target, data.sw,
                                  errors)
        if loop is not None:
            return CompiledRunner(loop, data.n, errors)
    return PythonRunner(model, data, loss, opt, batch_size, errors)
