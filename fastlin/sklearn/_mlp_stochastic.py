"""The MLPs' stochastic solvers (sgd, adam) as scikit-learn runs them: its shuffles, batches,
early-stopping split, learning-rate rules and stopping rule, each a small step of
_StochasticSolver, with every update made by a fastlin optimizer."""
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.base import ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state

from fastlin.optim import SGD, Adam
from fastlin.training import run_epochs
from fastlin.training.callbacks.base import Callback, CallbackList
from fastlin.training.data import FitData
from fastlin.training.snapshot import restore_parameters


class _WeightsAndBiases:
    """scikit-learn's update as two fastlin optimizers of one kind: the weights' with L2 weight
    decay alpha / (the batch's total sample weight), fused into the update kernel (PyTorch's
    g + wd·p is scikit-learn's (Xᵀδ + alpha·W) / n), and the intercepts' without."""

    def __init__(self, weights, biases):
        self.weights, self.biases = weights, biases

    @property
    def lr(self):
        return self.weights.lr

    @lr.setter
    def lr(self, value):
        self.weights.lr = self.biases.lr = value

    @property
    def eps(self):
        return self.weights.eps

    @eps.setter
    def eps(self, value):
        self.weights.eps = self.biases.eps = value

    @property
    def step_count(self):
        return self.weights.step_count

    @property
    def velocity(self):
        return list(self.weights.velocity) + list(self.biases.velocity)

    def step(self, weight_decay):
        self.weights.weight_decay = weight_decay
        self.weights.step()
        self.biases.step()


class _Minibatches:
    """The training rows, targets and sample weights, and the buffers one minibatch of them is
    gathered into: scikit-learn's X[batch_slice] without a new array for every batch."""

    def __init__(self, X, target, sw, batch_size, n_outputs, dtype):
        self.batch_size = batch_size
        self.dense = not sp.issparse(X)
        if self.dense:
            X = np.ascontiguousarray(X)
            self._xbuf = np.empty((batch_size, X.shape[1]), dtype)
        self.X, self.target, self.sw = X, target, sw
        self._tbuf = np.empty((batch_size,) + target.shape[1:], target.dtype)
        self._swbuf = None if sw is None else np.empty(batch_size, dtype)
        self._n_outputs, self._dtype = n_outputs, dtype
        self._grads = {}

    def take(self, idx):
        """(X, target, sample_weight) of the rows idx; the dense ones are views of buffers
        that the next call overwrites."""
        m = len(idx)
        if self.dense:
            xb = np.take(self.X, idx, axis=0, out=self._xbuf[:m])
        else:
            xb = self.X[idx]
        tb = np.take(self.target, idx, axis=0, out=self._tbuf[:m])
        swb = None if self.sw is None else np.take(self.sw, idx, out=self._swbuf[:m])
        return xb, tb, swb

    def output_grad(self, m):
        """A buffer for d loss / d output of m rows, kept per m (only the last batch differs)."""
        grad = self._grads.get(m)
        if grad is None:
            grad = self._grads[m] = np.empty((m, self._n_outputs), self._dtype)
        return grad


class _StochasticSolver:
    """_BaseMLP's sgd and adam training. It reads the estimator's network through
    _forward, _output_loss, _backward and _l2, its targets through _loss_target and
    _validation_target, and its validation score through _predict_validated and
    _score_function."""

    def _make_optimizer(self):
        weights = [layer.W for layer in self._dense_layers()]
        biases = [layer.b for layer in self._dense_layers()]
        if self.solver == "sgd":
            def make(params):
                return SGD(params, lr=self.learning_rate_init, momentum=self.momentum,
                           nesterov=bool(self.nesterovs_momentum and self.momentum > 0),
                           backend=self.backend)
        else:
            def make(params):
                return Adam(params, lr=self.learning_rate_init, betas=(self.beta_1, self.beta_2),
                            eps=self.epsilon, backend=self.backend)
        return _WeightsAndBiases(make(weights), make(biases))

    def _fit_stochastic(self, X, Y, sw, incremental):
        """Epochs of shuffled minibatches until max_iter or the stopping rule ends them; one
        epoch when incremental (partial_fit), continuing the optimizer's state. They run in
        fastlin's training room (fastlin.training.run_epochs: its thread policy and Ctrl-C
        handling) with scikit-learn's rows order, update and end-of-epoch rules."""
        if not incremental or not hasattr(self, "_optimizer"):
            self._optimizer = self._make_optimizer()
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        X_train, Y_train, sw_train, validation = self._validation_split(X, Y, sw)
        n_samples = X_train.shape[0]
        target = self._loss_target(Y_train)
        batches = _Minibatches(X_train, target, sw_train, self._batch_size(n_samples),
                               self.n_outputs_, self.model_.dtype)
        data = FitData(X_train, target, sw_train, None)
        self.n_iter_ = 0
        model = self.model_
        model.stop_training = False
        epochs = _SklearnEpochs(self, n_samples, validation, incremental)
        try:
            run_epochs(model, data, self._optimizer, batches.batch_size,
                       _SklearnOrder(self, n_samples, incremental), CallbackList([epochs]),
                       lambda: _SklearnBatches(self, batches), 1 if incremental else self.max_iter)
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.")
        finally:
            model.stop_training = False
        if self.early_stopping:
            restore_parameters(model, self._best_params)

    # ------------------------------------------------------------- before the epochs
    def _validation_split(self, X, Y, sw):
        """(X, Y, sw) to train on and, with early_stopping, (X, y, sw) held out to score each
        epoch (else None): scikit-learn's train_test_split, stratified for one output of a
        classifier, drawn from the fit's random state at the point scikit-learn draws it."""
        if not self.early_stopping:
            return X, Y, sw, None
        stratify = Y if (isinstance(self, ClassifierMixin) and self.n_outputs_ == 1) else None
        parts = train_test_split(X, Y, *([] if sw is None else [sw]),
                                 random_state=self._random_state,
                                 test_size=self.validation_fraction, stratify=stratify)
        X_train, X_val, Y_train, Y_val = parts[:4]
        sw_train, sw_val = (None, None) if sw is None else parts[4:]
        if X_val.shape[0] < 2:
            raise ValueError("The validation set is too small. Increase 'validation_fraction' "
                             "or the size of your dataset.")
        return X_train, Y_train, sw_train, (X_val, self._validation_target(Y_val), sw_val)

    def _batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is "
                          "going to be clipped")
        return int(np.clip(self.batch_size, 1, n_samples))

    def _first_shuffle(self, n):
        """np.arange(n) shuffled by a fresh check_random_state(random_state) for an integer
        random_state, computed once per (seed, n): every partial_fit call shuffles its rows by
        exactly this permutation, as scikit-learn's does."""
        seed = self.random_state
        if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
            return None
        cached = self.__dict__.get("_first_shuffle_cache")
        if cached is None or cached[0] != (int(seed), n):
            perm = np.arange(n)
            check_random_state(seed).shuffle(perm)
            cached = self._first_shuffle_cache = ((int(seed), n), perm)
        return cached[1]

    # ------------------------------------------------------------------- one epoch
    def _epoch_order(self, sample_idx, incremental):
        """The rows' order for the next epoch: sklearn.utils.shuffle(sample_idx,
        random_state=...), without its per-call parameter validation."""
        if not self.shuffle:
            return sample_idx
        # the cache holds a fresh generator's first shuffle: only when this call has not
        # drawn from its generator yet, as a first call's init does
        perm = (self._first_shuffle(len(sample_idx)) if incremental
                and "_random_state_" not in self.__dict__ else None)
        if perm is None:
            perm = np.arange(len(sample_idx))
            self._random_state.shuffle(perm)
        return sample_idx[perm]

    def _train_batch(self, batches, idx):
        """One update on the rows idx; returns their loss times their count (what the epoch's
        mean loss sums), or None for a batch of zero weight, which carries no gradient."""
        xb, tb, swb = batches.take(idx)
        z = self._forward(xb)
        m = len(idx)
        sw_sum = m if swb is None else float(swb.sum(dtype=np.float64))
        if not sw_sum > 0:
            return None
        grad = batches.output_grad(m)
        batch_loss = self._output_loss(z, tb, swb, grad)
        self._backward(xb, grad)
        batch_loss += self._l2(sw_sum, gradient=False)
        self._optimizer_step(sw_sum)
        return batch_loss * m

    def _optimizer_step(self, sw_sum):
        """The optimizer's step with scikit-learn's L2 term alpha · W / sw_sum as the weights'
        decay."""
        opt = self._optimizer
        if self.solver == "adam":
            # scikit-learn's Adam adds epsilon to sqrt(v) before the bias correction,
            # PyTorch's after: this epsilon makes them equal
            opt.eps = self.epsilon / np.sqrt(1.0 - self.beta_2 ** (opt.step_count + 1))
        opt.step(float(self.alpha) / sw_sum)

    # -------------------------------------------------------------- end of an epoch
    def _end_epoch(self, mean_loss, n_samples, validation):
        """scikit-learn's bookkeeping after an epoch, in its order: counters, loss curve,
        verbose line, improvement count, invscaling rate; True when the stopping rule says
        stop. ``mean_loss`` is the epoch's summed batch loss (times rows) over its rows."""
        self.n_iter_ += 1
        self.loss_ = mean_loss
        self.t_ += n_samples
        self.loss_curve_.append(self.loss_)
        if self.verbose:
            print("Iteration %d, loss = %.8f" % (self.n_iter_, self.loss_))
        self._update_no_improvement_count(validation)
        self._update_invscaling_rate()
        return self._stopping_rule()

    def _update_no_improvement_count(self, validation):
        if validation is not None:
            score = self._validation_score(*validation)
            self.validation_scores_.append(score)
            if self.verbose:
                print("Validation score: %f" % score)
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_params = [p.copy() for p in self.model_.parameters()]
        else:
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if self.loss_curve_[-1] < self.best_loss_:
                self.best_loss_ = self.loss_curve_[-1]

    def _validation_score(self, X, y, sample_weight):
        pred = self._predict_validated(X)
        if pred.dtype.kind == "f" and not np.isfinite(pred).all():
            return np.nan
        return self._score_function(y, pred, sample_weight=sample_weight)

    def _update_invscaling_rate(self):
        """learning_rate="invscaling": lr = learning_rate_init / (t_ + 1) ** power_t."""
        if self.solver == "sgd" and self.learning_rate == "invscaling":
            self._set_sgd_rate(float(self.learning_rate_init) / (self.t_ + 1) ** self.power_t)

    def _stopping_rule(self):
        """True once n_iter_no_change epochs have passed without improvement by tol; with
        sgd and learning_rate="adaptive" the rate is divided by 5 instead, until it is at most
        1e-6."""
        if self._no_improvement_count <= self.n_iter_no_change:
            return False
        if self.early_stopping:
            msg = ("Validation score did not improve more than tol=%f for %d "
                   "consecutive epochs." % (self.tol, self.n_iter_no_change))
        else:
            msg = ("Training loss did not improve more than tol=%f for %d "
                   "consecutive epochs." % (self.tol, self.n_iter_no_change))
        opt = self._optimizer
        if self.solver == "adam" or self.learning_rate != "adaptive" or opt.lr <= 1e-6:
            if self.verbose:
                print(msg + " Stopping.")
            return True
        self._set_sgd_rate(opt.lr / 5.0)
        if self.verbose:
            print(msg + " Setting learning rate to %f" % opt.lr)
        self._no_improvement_count = 0
        return False

    def _set_sgd_rate(self, lr):
        """Change the sgd learning rate as scikit-learn does: its velocity holds lr-scaled
        gradients and fastlin's (PyTorch's) raw ones, so rescale ours to keep the two equal."""
        opt = self._optimizer
        if lr != opt.lr:
            for v in opt.velocity:
                if v is not None:
                    v *= v.dtype.type(opt.lr / lr)
            opt.lr = lr


class _SklearnOrder:
    """scikit-learn's row order for each epoch: the previous epoch's order shuffled again by
    the fit's random state (sklearn.utils.shuffle), or the rows in place without shuffle."""

    def __init__(self, estimator, n_samples, incremental):
        self.estimator, self.incremental = estimator, incremental
        self.sample_idx = np.arange(n_samples)

    def next_epoch(self):
        self.sample_idx = self.estimator._epoch_order(self.sample_idx, self.incremental)
        return self.sample_idx, 0


class _SklearnBatches:
    """The training room's runner for scikit-learn's update: one minibatch per call through
    _StochasticSolver._train_batch. The epoch's loss is the summed batch loss (with the L2
    term, times the rows) over every row, zero-weight batches' rows included, as scikit-learn
    averages it. It never stops on a non-finite loss: scikit-learn does not."""

    chunked = False
    plan = None

    def __init__(self, estimator, batches):
        self.estimator, self.batches = estimator, batches
        self.n = batches.X.shape[0]

    def stale(self):
        return False

    def release(self):
        pass  # nothing is kept beyond the fit

    def weights_finite(self):
        return True

    def run(self, order, b, b1, drop_seed, running):
        size = self.batches.batch_size
        idx = order[b * size:(b + 1) * size]
        loss = self.estimator._train_batch(self.batches, idx)
        if loss is not None:
            running.total += loss
        running.weight += len(idx)
        running.seen = min((b + 1) * size, self.n)
        return None


class _SklearnEpochs(Callback):
    """scikit-learn's end of an epoch (_StochasticSolver._end_epoch) as the fit's callback:
    it stops the fit when the stopping rule says so (or after partial_fit's one epoch), and
    warns as scikit-learn does when max_iter ends it first."""

    def __init__(self, estimator, n_samples, validation, incremental):
        self.estimator, self.n_samples = estimator, n_samples
        self.validation, self.incremental = validation, incremental

    def on_epoch_end(self, epoch, logs=None):
        est = self.estimator
        stop = est._end_epoch(logs["loss"], self.n_samples, self.validation)
        if stop or self.incremental:
            self.model.stop_training = True
        elif est.n_iter_ == est.max_iter:
            warnings.warn("Stochastic Optimizer: Maximum iterations (%d) reached and the "
                          "optimization hasn't converged yet." % est.max_iter,
                          ConvergenceWarning)
