"""Sequential models, MLP, and the training loop.

A Dense layer followed by an activation layer runs as one fused kernel call (GEMM, then bias
and activation in a single pass over the output). ``fit`` draws each epoch's order with a
compiled Fisher-Yates shuffle and gathers each minibatch into a reused buffer with
``np.take(..., out=)``; together with the layers', the loss's and the optimizer's preallocated
buffers, a warmed-up training step allocates no arrays.
"""
import threading
import time

import numpy as np

from fastlin import _checks, _interrupt, _sparse
from fastlin._kernels import train
from fastlin.backend import _blas_threads, _contention, _threads
from fastlin.backend._contention import ContentionGuard
from fastlin.backend import get as get_backend
from fastlin.backend._validation import ACTIVATIONS, number
from fastlin.layers import (ACTIVATION_LAYERS, Activation, Dense, Dropout, Identity, Layer,
                            LeakyReLU, PReLU, ReLU, Sigmoid, Tanh, _as_dtype)
from fastlin.losses import BCEWithLogitsLoss, MSELoss, SoftmaxCrossEntropyLoss, get_loss
from fastlin.optim import OPTIMIZERS, SGD, Adam, AdamW, Optimizer

PREDICT_BATCH = 4096
# longest stretch of compiled training between two checks for Ctrl-C (SPEC: stop within 1 s)
CHECK_SECONDS = 0.05


class NonFiniteLossError(FloatingPointError, RuntimeError, ValueError):
    """Training produced a NaN or infinite loss; the weights were left at a finite state."""


class History:
    """What ``fit`` recorded: ``history`` maps "loss", "val_loss", "accuracy", "val_accuracy"
    to one value per epoch; ``epoch`` lists the epoch numbers."""

    def __init__(self):
        self.history = {}
        self.epoch = []

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


class _CompiledLoop:
    """fit's minibatch loop as one compiled call per epoch (fastlin/_kernels/train.pyx).

    Used when the model is a stack of Dense layers, each optionally followed by an activation
    whose backward reads its output (identity, relu, sigmoid, tanh, leaky_relu with alpha > 0),
    trained with MSE, BCE-with-logits or softmax cross-entropy by SGD/Adam/AdamW over exactly
    model.parameters(), all on the cython backend. It runs the same kernels in the same order as
    the Python loop, so the weights come out bitwise the same, except for a single Dense(d, 1)
    under MSE or BCE (linear and logistic regression), which trains through a one-pass kernel
    whose sums run in another order (equal to rounding). ``build`` returns None for any other
    combination and fit falls back to the Python loop.
    """

    _ACTS = {Identity, ReLU, Sigmoid, Tanh, LeakyReLU}

    def __init__(self, model, loss, opt, batch, X, target, sw):
        self.model, self.loss, self.opt, self.batch = model, loss, opt, batch
        dt = model.dtype
        empty = np.empty(0, dt)
        self.kernels = model.backend
        self.labels = target if target.ndim == 1 else np.empty(0, np.int64)
        self.T = target if target.ndim == 2 else np.empty((0, 0), dt)
        self.SW = sw if sw is not None else empty
        if isinstance(loss, SoftmaxCrossEntropyLoss):
            self.kind = 0 if target.ndim == 1 else 1
            cw = loss._class_weight(dt)
            self.smoothing = float(loss.label_smoothing)
        elif isinstance(loss, BCEWithLogitsLoss):
            self.kind, self.smoothing = 2, 0.0
            cw = None if loss.pos_weight is None else np.ascontiguousarray(
                np.broadcast_to(np.asarray(loss.pos_weight, dt).reshape(-1), (model.n_outputs,)))
        else:
            self.kind, self.smoothing, cw = 3, 0.0, None
        self.cw = empty if cw is None else cw
        self.layers = []
        state1 = opt.velocity if isinstance(opt, SGD) else opt.exp_avg
        state2 = None if isinstance(opt, SGD) else opt.exp_avg_sq
        def flat(a):
            return empty if a is None else a.reshape(-1)

        k = 0
        for dense, act, drop in self._pairs(model.layers):
            n_out = dense.out_features
            has_b = dense.use_bias
            s1W, s1b = state1[k], state1[k + 1] if has_b else None
            s2W, s2b = (state2[k], state2[k + 1] if has_b else None) if state2 else (None, None)
            k += 2 if has_b else 1
            alpha = act._alpha_arg() if isinstance(act, LeakyReLU) else None
            code = ACTIVATIONS[act.activation] if act is not None else 0
            dropping = drop is not None and drop.p > 0
            D, M = (np.empty(batch * n_out, dt), np.empty(batch * n_out, dt)) if dropping \
                else (empty, empty)
            self.layers.append((flat(dense.W), flat(dense.b), flat(dense.dW), flat(dense.db),
                                np.empty(batch * n_out, dt), np.empty(batch * n_out, dt),
                                flat(alpha), flat(s1W), flat(s1b), flat(s2W), flat(s2b), code,
                                n_out, D, M, drop.p if dropping else 0.0,
                                model.layers.index(drop) if dropping else 0))
        self.xb = np.empty((batch, model.n_features_in), dt)
        self.lb = np.empty(batch, np.int64)
        self.tb = np.empty((batch, self.T.shape[1]), dt) if self.T.size else np.empty((0, 0), dt)
        self.swb = np.empty(batch, dt)
        adam = not isinstance(opt, SGD)
        self.plan = self.kernels.TrainPlan(
            X, self.labels, self.T, self.SW, batch, self.layers, self.kind, self.cw,
            self.smoothing, 1 if adam else 0, opt.lr, 0.0 if adam else opt.momentum,
            opt.weight_decay, False if adam else opt.nesterov, opt.betas[0] if adam else 0.0,
            opt.betas[1] if adam else 0.0, opt.eps if adam else 0.0,
            opt.decoupled_weight_decay if adam else False, _threads.DEFAULT_THREADS,
            _threads.PARALLEL_MIN_ELEMENTS, _threads.PARALLEL_MIN_ELEMENTS_CHEAP,
            _threads.PARALLEL_MIN_ELEMENTS_ADAM, self.xb, self.lb, self.tb, self.swb)
        self.no_order = np.empty(0, np.int64)
        self.settings = self._settings()

    def _settings(self):
        """The optimizer's and the loss's settings the plan was built with (lr, SGD's momentum
        and Adam's beta1 go to every run instead). A callback may change them between
        epochs; fit then builds a new plan, as the Python loop reads them at every step."""
        opt, loss = self.opt, self.loss
        if isinstance(opt, SGD):
            settings = (opt.weight_decay, opt.nesterov, opt.momentum == 0)
        else:
            settings = (opt.weight_decay, opt.betas[1], opt.eps, opt.decoupled_weight_decay)
        if isinstance(loss, SoftmaxCrossEntropyLoss):
            cw = loss._class_weight(self.model.dtype)
            settings += (loss.label_smoothing, None if cw is None else cw.tobytes())
        elif isinstance(loss, BCEWithLogitsLoss):
            pw = loss.pos_weight
            settings += (None if pw is None else np.asarray(pw, np.float64).tobytes(),)
        # and the layers' fixed slopes and dropout rates
        return settings + tuple((type(layer).__name__, layer.alpha if isinstance(
            layer, LeakyReLU) else layer.p) for layer in self.model.layers
            if isinstance(layer, (LeakyReLU, Dropout)))

    def stale(self):
        """True when a setting the plan holds has changed since it was built."""
        return self._settings() != self.settings

    @classmethod
    def _pairs(cls, layers):
        """[(Dense, activation or None, Dropout or None)], or None when the stack has another
        shape (a Dropout after the last Dense, say: the Python loop trains those)."""
        pairs, i = [], 0
        while i < len(layers):
            if type(layers[i]) is not Dense:
                return None
            dense, act, drop = layers[i], None, None
            i += 1
            if i < len(layers) and type(layers[i]) in cls._ACTS:
                act = layers[i]
                if isinstance(act, LeakyReLU) and act.alpha <= 0:
                    return None
                i += 1
            if i < len(layers) and type(layers[i]) is Dropout:
                drop = layers[i]
                i += 1
            pairs.append((dense, act, drop))
        if pairs[-1][2] is not None:
            return None
        return pairs

    @classmethod
    def build(cls, model, loss, opt, batch, X, target, sw):
        if model.backend_name != "cython" or cls._pairs(model.layers) is None:
            return None
        if type(loss) not in (SoftmaxCrossEntropyLoss, BCEWithLogitsLoss, MSELoss) \
                or loss.backend.name != "cython":
            return None
        if type(opt) not in (SGD, Adam, AdamW) or opt.backend.name != "cython":
            return None
        params = model.parameters()
        if len(params) != len(opt.param_groups) or any(
                p is not q for p, (q, _) in zip(params, opt.param_groups)):
            return None
        return cls(model, loss, opt, batch, X, target, sw)

    def run(self, order, b0, b1, drop_seed):
        """Batches [b0, b1) of an epoch: (status, [loss*weight, weight, correct, steps])."""
        opt = self.opt
        # a schedule may move SGD's momentum or Adam's beta1 (-1: leave as built)
        momentum = (opt.momentum or -1.0) if isinstance(opt, SGD) else -1.0
        beta1 = -1.0 if isinstance(opt, SGD) else opt.betas[0]
        status, out = self.plan.run(self.no_order if order is None else order, b0, b1,
                                    opt.step_count, opt.lr, drop_seed, momentum, beta1)
        self.opt.step_count += out[3]
        return status, out


class _EpochStart:
    """The weights at the start of fit's current epoch, retaken every epoch and restored when a
    loss turns non-finite. With the compiled loop one plan call copies them all (a NumPy copy
    per array cost a small model ~4 us per epoch, ~0.06 us of each W4 step)."""

    def __init__(self, model, plan):
        self.model, self.plan = model, plan
        if plan is None:
            self.saved = model._snapshot()
        else:
            self.saved = np.empty(plan.weight_bytes, np.uint8)
            plan.copy_weights(self.saved, False)

    def take(self):
        if self.plan is None:
            self.model._snapshot(self.saved)
        else:
            self.plan.copy_weights(self.saved, False)

    def restore(self):
        if self.plan is None:
            self.model._restore(self.saved)
        else:
            self.plan.copy_weights(self.saved, True)


class _FitThreads:
    """The thread counts of one fit call: a count fixed with ``set_num_threads`` applied to
    fit's BLAS calls, or else the contention guard's count (fastlin/backend/_contention.py)
    applied to them and to the compiled loop's OpenMP kernels. ``restore`` puts the BLAS count
    back (with the wheels' OpenBLAS it is the process's count; see _blas_threads)."""

    def __init__(self):
        self.plan = None
        self._blas_before = None
        self.guard = None
        self._guard_from = None  # when to start a guard (a fit shorter than that needs none)
        if getattr(_threads, "_num_threads", None) is not None:
            self._blas_before = _blas_threads.set_for_fit(self._wanted())
        elif _blas_threads.available():
            # the guard's setup (two /proc reads, ~30 us) is paid only by fits that run longer
            # than one reading interval, or right away when the last fit found the machine busy
            self._guard_from = time.perf_counter() + (
                0.0 if _contention.last_fit_was_reduced() else _contention.CHECK_EVERY)
            self.poll()

    @staticmethod
    def _wanted():
        """BLAS threads for fit on a quiet machine: the pool's, capped at fastlin's count."""
        return min(_blas_threads.get_num_threads(), _threads.resolve(None))

    def _start_guard(self):
        self._guard_from = None
        self.guard = ContentionGuard(self._wanted())
        self.count = self.guard.full

    def attach(self, plan):
        """The compiled loop whose OpenMP kernels follow the guard's count (None: none)."""
        self.plan = plan
        if plan is not None and self.guard is not None:
            plan.n_threads = max(1, min(self.count, _threads.DEFAULT_THREADS))

    def poll(self):
        """Apply the guard's count; True when it just put one thread more on trial."""
        if self.guard is None:
            if self._guard_from is None or time.perf_counter() < self._guard_from:
                return False
            self._start_guard()
        n, before_count = self.guard.poll(), self.count
        if n != self.count:
            self.count = n
            if self._blas_before is None:
                self._blas_before = _blas_threads.set_for_fit(n)
            else:
                _blas_threads.set_local(n)
            if self.plan is not None:
                self.plan.n_threads = max(1, min(n, _threads.DEFAULT_THREADS))
        return n > before_count

    def restore(self):
        if self.guard is not None:
            self.guard.close()
        if self._blas_before is not None:
            _blas_threads.restore_after_fit(self._blas_before)
            self._blas_before = None


class Sequential:
    """A stack of layers applied in order.

    Parameters
    ----------
    *layers : Layer
    dtype : "float32" (default) or "float64"
    seed : int or None. With a seed every layer is re-initialised, in order, from one generator
        seeded with it; with None the layers keep the weights they have.
    backend : "cython" (default) or "numpy"
    """

    def __init__(self, *layers, dtype="float32", seed=None, backend="cython"):
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layer {i} is a {type(layer).__name__}, not a fastlin Layer")
        if not layers:
            raise ValueError("Sequential needs at least one layer")
        seen = {}
        for i, layer in enumerate(layers):
            # a layer keeps one input, output buffer and gradient: a second use in the same
            # model would overwrite what backward needs from the first (dW of one use only)
            if id(layer) in seen:
                raise ValueError(f"layer {i} is the same {type(layer).__name__} object as layer "
                                 f"{seen[id(layer)]}; a layer may appear once in a model (build "
                                 "a new one for each use)")
            seen[id(layer)] = i
        self._check_widths(layers)
        self.layers = list(layers)
        self.dtype = _as_dtype(dtype)
        self.backend_name = get_backend(backend).name
        self.seed = seed
        for layer in self.layers:
            layer._set_backend(backend)
            layer._set_dtype(self.dtype)
        if seed is not None:
            rng = np.random.default_rng(seed)
            for layer in self.layers:
                layer.reset_parameters(rng)
        self.loss_ = None
        self.optimizer = None       # the optimizer of the last fit, continued by the next
        self.stop_training = False  # a callback sets it to end fit after the current epoch
        self._fit_rng = None        # the shuffle stream, continued across fits
        self.history_ = None
        self.metadata = None

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_local", None)  # per-thread inference buffers
        return state

    @staticmethod
    def _check_widths(layers):
        """Each Dense reads what the layer before it writes, and a per-unit PReLU has one slope
        per unit: refused here, with the layers named, rather than at the first kernel call."""
        width = None
        for i, layer in enumerate(layers):
            if isinstance(layer, Dense):
                if width is not None and layer.in_features != width:
                    raise ValueError(f"layer {i} (Dense) takes {layer.in_features} features but "
                                     f"the layer before it gives {width}")
                width = layer.out_features
            elif isinstance(layer, PReLU) and layer.num_parameters != 1 and width is not None \
                    and layer.num_parameters != width:
                raise ValueError(f"layer {i} (PReLU) has {layer.num_parameters} slopes for "
                                 f"{width} units (give 1 or {width})")

    # ------------------------------------------------------------ structure
    @property
    def backend(self):
        return get_backend(self.backend_name)

    @property
    def n_features_in(self):
        for layer in self.layers:
            if isinstance(layer, Dense):
                return layer.in_features
        return None

    @property
    def n_outputs(self):
        for layer in reversed(self.layers):
            if isinstance(layer, Dense):
                return layer.out_features
        return None

    def parameters(self):
        """All parameter arrays, layer by layer (W, b of each Dense; alpha of each PReLU)."""
        return [p for layer in self.layers for p in layer.parameters()]

    def gradients(self):
        """The gradient arrays, in the order of parameters()."""
        return [g for layer in self.layers for g in layer.gradients()]

    def count_params(self):
        return int(sum(p.size for p in self.parameters()))

    def __repr__(self):
        lines = [f"Sequential(dtype={self.dtype.name}, backend={self.backend_name!r})"]
        for i, layer in enumerate(self.layers):
            n = sum(p.size for p in layer.parameters())
            lines.append(f"  ({i}) {layer!r}" + (f"  params={n}" if n else ""))
        lines.append(f"  total params: {self.count_params()}")
        return "\n".join(lines)

    def summary(self, print_fn=print):
        """Print a Keras-style table of the layers: name (type), output shape "(None, n)"
        and parameter count, then the totals. ``print_fn`` receives one line at a time."""
        if not callable(print_fn):
            raise TypeError(f"print_fn must be callable, got {type(print_fn).__name__}")
        from fastlin._summary import summary_lines
        for line in summary_lines(self):
            print_fn(line)

    # ------------------------------------------------------- forward/backward
    def _check_layer_dtypes(self):
        """Every layer still has the model's dtype. Another Sequential of another dtype given
        one of these layers converts it; refused here by name rather than deep in a kernel."""
        dtype = self.dtype
        for i, layer in enumerate(self.layers):
            if layer.dtype is not dtype and layer.dtype != dtype:  # `is`: the common case, fast
                raise ValueError(
                    f"layer {i} ({type(layer).__name__}) is {layer.dtype.name} but the model is "
                    f"{self.dtype.name}: a layer shared with a model of another dtype was "
                    f"converted to it; give each model its own layers")

    def _check_input(self, X):
        self._check_layer_dtypes()
        n_in = self.n_features_in
        if n_in is None:
            # no Dense: neither the input width to check X against nor an output width
            raise ValueError("the model has no Dense layer, so its input size is unknown; "
                             "start it with a Dense layer")
        if isinstance(X, np.ndarray) and X.dtype == self.dtype and X.ndim == 2 \
                and X.flags.c_contiguous and X.flags.aligned and X.shape[1] == n_in:
            if X.shape[0] == 0:
                raise ValueError("X is empty (shape (0, ...)); need at least one sample")
            if not _checks.all_finite(X):
                raise ValueError("X contains NaN or infinity")
            return X
        if _sparse.issparse(X):
            return _sparse.check_X(X, n_in, self.dtype)
        return _checks.check_X(X, n_in, self.dtype)

    def _forward(self, X, first=0):
        """Training forward from layer `first` on (the sparse path computes layer 0 itself)."""
        h = X
        layers, i = self.layers, first
        while i < len(layers):
            layer = layers[i]
            nxt = layers[i + 1] if i + 1 < len(layers) else None
            if isinstance(layer, Dense) and isinstance(nxt, Activation):
                h = layer.forward_fused(h, nxt)
                i += 2
            else:
                h = layer.forward(h)
                i += 1
        return h

    def train(self, mode=True):
        """Training mode (Dropout active in ``forward``), as torch's Module.train; returns the
        model. ``fit`` trains in this mode whatever the model's mode, and restores it after."""
        for layer in self.layers:
            if hasattr(layer, "training"):
                layer.training = bool(mode)
        return self

    def eval(self):
        """Evaluation mode: Dropout is the identity in ``forward`` too. (``predict`` and
        ``evaluate`` never drop, in either mode.)"""
        return self.train(False)

    @property
    def training(self):
        return any(getattr(layer, "training", False) for layer in self.layers)

    def forward(self, X):
        """Network output for X of shape (n_samples, n_features). The result is an internal
        buffer, overwritten by the next forward; ``predict`` returns a copy."""
        return self._forward(self._check_input(X))

    __call__ = forward

    def backward(self, grad_output, need_input_grad=True):
        """Backpropagate d loss / d output through every layer, overwriting each layer's
        gradients. Returns d loss / d input (None when need_input_grad is False)."""
        g = grad_output
        if not isinstance(g, np.ndarray) or g.dtype != self.dtype or not g.flags.c_contiguous:
            g = np.ascontiguousarray(g, dtype=self.dtype)
        for i in range(len(self.layers) - 1, -1, -1):
            g = self.layers[i].backward(g, need_input_grad=need_input_grad or i > 0)
        return g

    def _scratch(self):
        """This thread's inference buffers: {(layer index, rows): array}. Threads never share
        them, so concurrent predicts cannot see each other's intermediate results."""
        local = self.__dict__.get("_local")
        if local is None:
            local = self.__dict__.setdefault("_local", threading.local())
        pool = getattr(local, "pool", None)
        if pool is None or pool[0] is not self.dtype:
            pool = local.pool = (self.dtype, {})
        return pool[1]

    def _infer(self, X, out, first=0):
        """The network from layer `first` on applied to the checked X, its output written into
        `out` (C-contiguous, (len(X), n_outputs)). Reads the parameters and nothing else of the
        layers' state."""
        pool = self._scratch()
        n = X.shape[0]
        if len(pool) > 4 * len(self.layers):  # rows change; keep the pool small
            pool.clear()
        h = X
        layers, last, i = self.layers, len(self.layers) - 1, first
        if first > last:
            np.copyto(out, h)
        while i <= last:
            layer = layers[i]
            fused = i < last and isinstance(layer, Dense) and isinstance(layers[i + 1], Activation)
            end = i + 1 if fused else i
            if isinstance(layer, Dense):
                width = layer.out_features
            else:
                width = h.shape[1]
            if layer.passes_through_in_inference:
                i = end + 1
                if i > last:
                    np.copyto(out, h)
                continue
            if end == last:
                dest = out
            else:
                key = (end, n)
                dest = pool.get(key)
                if dest is None or dest.shape[1] != width:
                    dest = pool[key] = np.empty((n, width), self.dtype)
            h = layer.infer_fused(h, layers[i + 1], dest) if fused else layer.infer(h, dest)
            i = end + 1
        return out

    def predict(self, X):
        """Network output for X, as a new array the caller owns.

        Thread-safe: each call works in its own buffers and reads only the parameters, so
        many threads may predict with one model at once, and beside ``fit``. Rows are taken
        PREDICT_BATCH at a time, so Ctrl-C is honoured between blocks of a huge input."""
        X = self._check_input(X)
        if _sparse.issparse(X):
            return _sparse.predict(self, X)
        out = np.empty((X.shape[0], self.n_outputs), self.dtype)
        for start in range(0, X.shape[0], PREDICT_BATCH):
            stop = min(start + PREDICT_BATCH, X.shape[0])
            self._infer(X[start:stop], out[start:stop])
        return out

    def predict_proba(self, X):
        """Class probabilities: softmax of the outputs, or sigmoid for a single output."""
        logits = self.predict(X)
        if logits.shape[1] == 1:
            return self.backend.activation_forward(logits, "sigmoid", out=logits)
        return self.backend.softmax(logits, out=logits)

    def predict_classes(self, X):
        """Predicted class index per sample (argmax, or logit > 0 for a single output)."""
        logits = self.predict(X)
        if logits.shape[1] == 1:
            return (logits[:, 0] > 0).astype(np.int64)
        return np.argmax(logits, axis=1)

    # ----------------------------------------------------------------- losses
    def _resolve_loss(self, loss, y):
        if loss is not None:
            return get_loss(loss, backend=self.backend_name)
        if self.loss_ is not None:
            return self.loss_
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]  # a column of labels or targets is inferred as the vector would be
        if y.ndim == 1 and y.size and y.dtype.kind in "iubf":
            whole = y.dtype.kind in "iub" or bool(np.all(np.isfinite(y)) and np.all(y == np.round(y)))
            if self.n_outputs > 1 and whole:
                # labels, also when they come as whole floats (0.0 ... 9.0)
                return SoftmaxCrossEntropyLoss(backend=self.backend_name)
            if self.n_outputs == 1 and y.dtype.kind in "iub" and np.all((y == 0) | (y == 1)):
                # integer 0/1 labels on one output: logistic regression, with accuracy
                return BCEWithLogitsLoss(backend=self.backend_name)
        return MSELoss(backend=self.backend_name)

    def _prepare_target(self, loss, y, n):
        """The whole target converted once to what the loss kernel reads."""
        y = _checks.check_y(y, n)
        if isinstance(loss, SoftmaxCrossEntropyLoss) and (
                y.ndim == 1 or (y.shape[1] == 1 and self.n_outputs > 1)):
            # labels, also as a column (n, 1): with several outputs it cannot be probabilities
            return _checks.check_labels(y, self.n_outputs)
        if y.ndim == 1:
            y = y.reshape(-1, 1)
        if y.shape[1] != self.n_outputs:
            raise ValueError(f"y has {y.shape[1]} columns but the model has {self.n_outputs} outputs")
        if isinstance(loss, BCEWithLogitsLoss) and ((y < 0) | (y > 1)).any():
            raise ValueError("binary cross-entropy targets must lie in [0, 1]")
        return np.require(y, dtype=self.dtype, requirements=["C", "A"])

    @staticmethod
    def _is_classification(loss):
        return isinstance(loss, (SoftmaxCrossEntropyLoss, BCEWithLogitsLoss))

    @staticmethod
    def _correct(out, yb, loss):
        """How many rows of a batch are classified correctly."""
        if isinstance(loss, SoftmaxCrossEntropyLoss):
            if yb.ndim == 2:
                return int(np.count_nonzero(out.argmax(axis=1) == yb.argmax(axis=1)))
            return int(np.count_nonzero(out.argmax(axis=1) == yb))
        return int(np.count_nonzero((out > 0) == (yb > 0.5))) / out.shape[1]

    def evaluate(self, X, y, loss=None, sample_weight=None):
        """Mean loss on (X, y) and, for classification losses, accuracy.

        Returns
        -------
        dict with "loss" (and "accuracy")
        """
        X = self._check_input(X)
        loss = self._resolve_loss(loss, y)
        target = self._prepare_target(loss, y, X.shape[0])
        sw = _checks.check_sample_weight(sample_weight, X.shape[0], self.dtype)
        loss = loss._private_copy()  # its gradient buffer may be in use by a fit
        # each block's mean is weighted by its denominator (with a class-weighted loss that is
        # Σ sample_weight·class_weight[label], not the sample count), so blocks of rows add up
        # to the mean over all rows
        row_weight = self._row_weights(loss, target, sw, refuse_none_as="samples'")
        total, weight, correct = 0.0, 0.0, 0.0
        out_buffer = np.empty((min(PREDICT_BATCH, X.shape[0]), self.n_outputs), self.dtype)
        for start in range(0, X.shape[0], PREDICT_BATCH):
            stop = min(start + PREDICT_BATCH, X.shape[0])
            if _sparse.issparse(X):
                out = _sparse.predict(self, X[start:stop])
            else:
                out = self._infer(X[start:stop], out_buffer[:stop - start])
            swb = None if sw is None else sw[start:stop]
            w = (stop - start) if row_weight is None else float(row_weight[start:stop].sum())
            if w > 0:  # (a block of zero weight adds nothing to the mean)
                total += loss.forward(out, target[start:stop], sample_weight=swb) * w
                weight += w
            if self._is_classification(loss):
                correct += self._correct(out, target[start:stop], loss)
        result = {"loss": total / weight}
        if self._is_classification(loss):
            result["accuracy"] = correct / X.shape[0]
        return result

    # ---------------------------------------------------------------- training
    def _make_optimizer(self, optimizer, lr):
        if isinstance(optimizer, Optimizer):
            # (a subset of the model's parameters is fine: the others stay frozen)
            mine = {id(p) for p in self.parameters()}
            if any(id(p) not in mine for p, _ in optimizer.param_groups):
                raise ValueError("the optimizer updates arrays that are not this model's "
                                 "parameters (it would train nothing here): build it over "
                                 "model.parameters()")
            if lr is not None:
                optimizer.lr = lr
            return optimizer
        if isinstance(optimizer, str) and optimizer.lower() in OPTIMIZERS:
            cls = OPTIMIZERS[optimizer.lower()]
            kept = getattr(self, "optimizer", None)
            params = self.parameters()
            if type(kept) is cls and kept.backend.name == self.backend_name \
                    and len(kept.param_groups) == len(params) \
                    and all(p is q for p, (q, _) in zip(params, kept.param_groups)):
                if lr is not None:
                    kept.lr = lr
                return kept
            kwargs = {} if lr is None else {"lr": lr}
            return cls(params, backend=self.backend_name, **kwargs)
        raise ValueError(f"unknown optimizer {optimizer!r}; pass an Optimizer or one of "
                         f"{', '.join(OPTIMIZERS)}")

    def _snapshot(self, into=None):
        params = self.parameters()
        if into is None:
            return [p.copy() for p in params]
        for p, s in zip(params, into):
            np.copyto(s, p)
        return into

    def _restore(self, snapshot):
        for p, s in zip(self.parameters(), snapshot):
            np.copyto(p, s)

    def fit(self, X, y, loss=None, optimizer="adam", epochs=10, batch_size=32, shuffle=True,
            seed=None, validation_data=None, validation_split=0.0, verbose=False,
            early_stopping=False, patience=5, min_delta=0.0, sample_weight=None,
            class_weight=None, lr=None, callbacks=None, scheduler=None):
        """Train with minibatches; returns a History (also kept as ``model.history_``).

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        y : labels of shape (n_samples,) for softmax cross-entropy, else targets of shape
            (n_samples,) or (n_samples, n_outputs)
        loss : Loss or name ("mse", "bce", "cross_entropy", "gaussian_nll"). None keeps the
            loss of the previous fit, else infers one: cross-entropy for whole-number labels
            with several outputs, binary cross-entropy for integer 0/1 labels with one output,
            MSE otherwise.
        optimizer : Optimizer or name ("sgd", "adam", "adamw"). A name builds the optimizer
            once and keeps it as ``model.optimizer``: a later fit with the same name continues
            it (its moments and step count), setting ``lr`` when given.
        epochs, batch_size : int
        shuffle : bool; each epoch's order comes from the model's shuffle stream, seeded from
            ``seed`` or the model's seed and continued by the next fit, so k fits of one epoch
            equal one fit of k epochs. A ``seed`` given here restarts the stream.
        validation_data : (X_val, y_val) or (X_val, y_val, sample_weight_val), optional
        validation_split : float in [0, 1); the last fraction of X is held out (before
            shuffling), with its sample weights, which weigh val_loss as in Keras (class_weight
            weighs training only)
        verbose : bool; a tqdm progress bar per epoch with loss and accuracy
        early_stopping : bool; stop when val_loss (or loss) has not improved by min_delta for
            ``patience`` epochs and restore the best weights
        sample_weight : array of shape (n_samples,), optional
        class_weight : dict {class: weight} or array of shape (n_classes,), optional
        callbacks : list of fastlin.callbacks.Callback, run between epochs (the compiled
            epoch loop stays in use); a callback may set ``model.stop_training = True``
        scheduler : a fastlin.optim.lr_scheduler scheduler of this fit's optimizer, stepped
            after every epoch (after every batch for OneCycleLR; ReduceLROnPlateau gets
            val_loss, or loss without validation data)

        Ctrl-C stops training at the next batch boundary (within ~50 ms of compiled work) with
        KeyboardInterrupt; the weights are those after the last whole batch and
        ``model.history_`` holds the epochs that finished.

        Raises
        ------
        NonFiniteLossError (a FloatingPointError) when a batch loss is NaN or infinite; it names
        the epoch and batch, and the weights are left at their last finite values.
        """
        loss = self._resolve_loss(loss, y)
        for name, value in (("epochs", epochs), ("batch_size", batch_size)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if not (0.0 <= float(validation_split) < 1.0):
            raise ValueError(f"validation_split must be in [0, 1), got {validation_split}")
        X = self._check_input(X)
        n = X.shape[0]
        target = self._prepare_target(loss, y, n)
        sw = _checks.check_sample_weight(sample_weight, n, self.dtype)
        sw_given = sw  # before class_weight: validation rows are weighed by sample_weight alone
        if class_weight is not None:
            if not isinstance(loss, SoftmaxCrossEntropyLoss) or target.ndim != 1:
                raise ValueError("class_weight needs integer labels and softmax cross-entropy")
            cw = np.ones(self.n_outputs)
            items = class_weight.items() if isinstance(class_weight, dict) else enumerate(class_weight)
            for k, w in items:
                whole = isinstance(k, (int, np.integer)) or (
                    isinstance(k, (float, np.floating)) and float(k).is_integer())
                if isinstance(k, bool) or not whole or not 0 <= k < self.n_outputs:
                    raise ValueError(f"class_weight names class {k!r}, not an int in "
                                     f"[0, {self.n_outputs})")
                # as sample_weight: a negative or NaN weight would train another objective
                cw[int(k)] = number(f"class_weight[{k}]", w, 0.0)
            per_sample = cw[target].astype(self.dtype)
            sw = per_sample if sw is None else sw * per_sample
        if validation_data is not None and validation_split:
            raise ValueError("pass validation_data or validation_split, not both")
        if validation_split:
            n_val = int(round(n * float(validation_split)))
            if n_val < 1 or n_val >= n:
                raise ValueError("validation_split leaves no training or no validation samples")
            validation_data = (X[n - n_val:], target[n - n_val:],
                               None if sw_given is None else sw_given[n - n_val:])
            X, target, n = X[:n - n_val], target[:n - n_val], n - n_val
            sw = None if sw is None else sw[:n]
        sw_val = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
                raise ValueError("validation_data must be a pair (X_val, y_val) or a triple "
                                 "(X_val, y_val, sample_weight_val)")
            X_val, y_val = validation_data[0], validation_data[1]
            try:  # the checks name X, y and sample_weight: say which ones they mean
                X_val = self._check_input(X_val)
                y_val = self._prepare_target(loss, y_val, X_val.shape[0])
                if len(validation_data) == 3:
                    sw_val = _checks.check_sample_weight(validation_data[2], X_val.shape[0],
                                                         self.dtype)
            except (TypeError, ValueError) as e:
                raise type(e)(f"validation_data: {e}") from None
            self._row_weights(loss, y_val, sw_val, refuse_none_as="validation samples'")
        callbacks = self._check_callbacks(callbacks)
        opt = self._make_optimizer(optimizer, lr)
        if scheduler is not None and getattr(scheduler, "optimizer", None) is not opt:
            raise ValueError("scheduler must be built over the optimizer this fit uses "
                             "(pass that optimizer as optimizer=)")
        from fastlin.optim.lr_scheduler import ReduceLROnPlateau
        if isinstance(scheduler, ReduceLROnPlateau):
            # the epochs' records hold these keys; refused now, not after the first epoch
            keys = ["loss"] + (["accuracy"] if self._is_classification(loss) else [])
            keys += [f"val_{k}" for k in keys] if validation_data is not None else []
            key = scheduler.monitor
            if key not in keys and not (key.startswith("val_") and key[4:] in keys):
                raise ValueError(f"ReduceLROnPlateau monitors {key!r}, which fit does not record "
                                 f"(it has {sorted(keys)})")
        # every argument is checked: from here on the model changes
        self.optimizer = opt
        self.loss_ = loss
        rng = self._shuffle_stream(seed)
        batch_size = min(int(batch_size), n)
        classification = self._is_classification(loss)
        history = History()
        self.history_ = history
        self.stop_training = False
        modes = [getattr(layer, "training", None) for layer in self.layers]
        self.train()
        # a thread count set with set_num_threads governs fit's matrix products too (restored
        # after); otherwise BLAS keeps its own count, which the guard lowers while another
        # process competes for the cores
        threads = _FitThreads()
        try:
            with _interrupt.deferred_interrupt() as interrupts:
                self._train_epochs(X, target, sw, loss, opt, int(epochs), batch_size, shuffle,
                                   rng, classification, history, callbacks, scheduler, verbose,
                                   None if validation_data is None else (X_val, y_val, sw_val),
                                   early_stopping, patience, min_delta, interrupts, threads)
        finally:
            threads.restore()
            for layer, mode in zip(self.layers, modes):
                if mode is not None:
                    layer.training = mode
                if isinstance(layer, Dropout):
                    layer._fit_seed = None
        return history

    def _train_epochs(self, X, target, sw, loss, opt, epochs, batch_size, shuffle, rng,
                      classification, history, callbacks, scheduler, verbose, validation,
                      early_stopping, patience, min_delta, interrupts, threads):
        n = X.shape[0]
        sparse = _sparse.issparse(X)
        # the Python loop's gather buffer (a sparse batch is gathered by SciPy instead)
        xb = None if sparse else np.empty((batch_size,) + X.shape[1:], self.dtype)
        yb = np.empty((batch_size,) + target.shape[1:], target.dtype)
        swb = None if sw is None else np.empty(batch_size, self.dtype)
        best, best_weights, waited = np.inf, None, 0
        progress = None
        if verbose:
            from tqdm.auto import tqdm
            progress = tqdm
        n_batches = (n + batch_size - 1) // batch_size
        # sparse rows train on the Python loop: the first layer's products come from SciPy's
        # compiled sparse kernels (fastlin/_sparse.py), the rest from fastlin's
        def compiled_loop():
            """The compiled epoch loop (None: the Python loop) and the epoch-start snapshot."""
            loop = None if sparse else _CompiledLoop.build(self, loss, opt, batch_size, X,
                                                            target, sw)
            threads.attach(None if loop is None else loop.plan)
            return loop, _EpochStart(self, None if loop is None else loop.plan)

        compiled, epoch_start = compiled_loop()
        # rows whose weight in the loss's mean is zero: a batch of them alone has no gradient
        # and is skipped (no step, as scikit-learn's MLP does); the compiled loop skips such
        # batches itself, the Python loop below with these weights
        row_weight = None if compiled is not None else self._row_weights(loss, target, sw)
        order_buffer = np.empty(n, np.int64) if shuffle else None
        per_batch_schedule = scheduler is not None and getattr(scheduler, "per_batch", False)
        plateau_schedule = False
        if scheduler is not None:
            from fastlin.optim.lr_scheduler import ReduceLROnPlateau
            plateau_schedule = isinstance(scheduler, ReduceLROnPlateau)
        dropouts = [(i, layer) for i, layer in enumerate(self.layers)
                    if isinstance(layer, Dropout) and layer.p > 0]
        # compiled batches per call: sized from the measured time per batch so that a call
        # lasts at most ~CHECK_SECONDS and Ctrl-C is seen that often; the first chunk is the
        # whole epoch when even a slow machine (1 GFLOP/s) runs it within CHECK_SECONDS, else
        # one batch, timed to size the next
        products = [(batch_size, layer.in_features, layer.out_features)
                    for layer in self.layers if isinstance(layer, Dense)]
        epoch_flops = 6.0 * n * sum(k * m for _, k, m in products)
        chunk = n_batches if epoch_flops < 1e9 * CHECK_SECONDS else 1
        for cb in callbacks:
            if callable(getattr(cb, "set_model", None)):
                cb.set_model(self)
            else:
                cb.model = self
            cb.on_train_begin({})

        for epoch in range(1, epochs + 1):
            for cb in callbacks:
                cb.on_epoch_begin(epoch - 1, {})
            if callbacks and compiled is not None and compiled.stale():
                # a callback changed a setting the compiled plan holds (weight decay, label
                # smoothing, ...): a new plan takes it, as the Python loop would (only a
                # callback runs between epochs, so without one nothing can have changed)
                compiled, epoch_start = compiled_loop()
            epoch_start.take()
            order = None
            if shuffle:
                order = order_buffer
                train.permutation(order, int(rng.bit_generator.random_raw()))
            drop_seed = int(rng.bit_generator.random_raw()) if dropouts else 0
            total = weight = correct = 0.0
            bar = None
            if progress is not None:
                bar = progress(total=n_batches, desc=f"epoch {epoch}/{epochs}", leave=False,
                               unit="batch")
            b = 0
            while b < n_batches:
                if compiled is not None:
                    if per_batch_schedule:
                        chunk = 1
                    elif bar is not None:
                        chunk = min(chunk, max(1, n_batches // 20))
                    stop_b = min(b + chunk, n_batches)
                    started = time.perf_counter()
                    status, out = compiled.run(order, b, stop_b, drop_seed)
                    elapsed = time.perf_counter() - started
                    chunk = max(1, min(n_batches, int(CHECK_SECONDS * (stop_b - b)
                                                      / max(elapsed, 1e-9))))
                    total, weight, correct = total + out[0], weight + out[1], correct + out[2]
                    if status >= 0:
                        self._stop_non_finite(epoch, status, float("nan"), epoch_start)
                    if status == -4:  # finite losses, but the last update left a non-finite weight
                        self._stop_non_finite(epoch, stop_b - 1, float("nan"), epoch_start)
                    seen = min(stop_b * batch_size, n)
                else:
                    stop_b = b + 1
                    start, stop = b * batch_size, min((b + 1) * batch_size, n)
                    m = stop - start
                    if order is None:
                        xs, ys = X[start:stop], target[start:stop]
                        ws = None if sw is None else sw[start:stop]
                    else:
                        idx = order[start:stop]
                        xs = X[idx] if sparse else np.take(X, idx, axis=0, out=xb[:m])
                        ys = np.take(target, idx, axis=0, out=yb[:m])
                        ws = None if sw is None else np.take(sw, idx, out=swb[:m])
                    for index, layer in dropouts:
                        layer._fit_seed = train.dropout_seed(drop_seed, b, index)
                    out = _sparse.forward(self, xs) if sparse else self._forward(xs)
                    if row_weight is not None and not row_weight[
                            slice(start, stop) if order is None else order[start:stop]].any():
                        # no weight in the mean: no gradient, no step (its rows still count
                        # in the epoch's accuracy, as every row does)
                        if classification:
                            correct += self._correct(out, ys, loss)
                    else:
                        value = loss.forward(out, ys, sample_weight=ws)
                        if not np.isfinite(value):
                            self._stop_non_finite(epoch, b, value, epoch_start)
                        if classification:
                            correct += self._correct(out, ys, loss)
                        if sparse:
                            _sparse.backward(self, xs, loss.backward())
                        else:
                            self.backward(loss.backward(), need_input_grad=False)
                        opt.step()
                        w = m if ws is None else float(ws.sum())
                        total += value * w
                        weight += w
                    seen = stop
                if per_batch_schedule:
                    scheduler.step()
                if threads.poll() and compiled is not None:
                    chunk = max(1, chunk // 4)  # a short stretch to judge a thread more on
                interrupts.check()
                if bar is not None:
                    bar.update(stop_b - b)
                    if compiled is not None or b % 10 == 0 or stop_b == n_batches:
                        post = {"loss": f"{total / max(weight, 1e-300):.4f}"}
                        if classification:
                            post["acc"] = f"{correct / seen:.3f}"
                        bar.set_postfix(post)
                b = stop_b
            if bar is not None:
                bar.close()
            record = {"loss": total / max(weight, 1e-300)}
            if classification:
                record["accuracy"] = correct / n
            if validation is not None:
                val = self.evaluate(validation[0], validation[1], loss=loss,
                                    sample_weight=validation[2])
                record["val_loss"] = val["loss"]
                if classification:
                    record["val_accuracy"] = val["accuracy"]
            history._record(epoch, record)
            if compiled is None and not all(np.isfinite(p).all() for p in self.parameters()):
                # (the compiled loop checks its weights itself, status -4 above)
                self._stop_non_finite(epoch, n_batches - 1, float("nan"), epoch_start)
            if verbose:
                print(f"epoch {epoch}/{epochs} " + " ".join(f"{k}={v:.4g}" for k, v in record.items()))
            for cb in callbacks:
                cb.on_epoch_end(epoch - 1, dict(record, lr=float(opt.lr)))
            if scheduler is not None and not per_batch_schedule:
                if plateau_schedule:
                    key = scheduler.monitor
                    if key not in record and key.startswith("val_"):
                        key = key[4:]  # no validation data: the training metric, as callbacks do
                    if key not in record:
                        raise ValueError(f"ReduceLROnPlateau monitors {scheduler.monitor!r}, "
                                         f"which fit does not record (it has {sorted(record)})")
                    scheduler.step(record[key])
                else:
                    scheduler.step()
            interrupts.check()
            if early_stopping:
                monitored = record.get("val_loss", record["loss"])
                if monitored < best - min_delta:
                    best, waited = monitored, 0
                    best_weights = self._snapshot(best_weights)
                else:
                    waited += 1
                    if waited >= patience:
                        break
            if self.stop_training:
                break
        if early_stopping and best_weights is not None:
            self._restore(best_weights)
        for cb in callbacks:
            cb.on_train_end({k: v[-1] for k, v in history.history.items()})

    def _row_weights(self, loss, target, sw, refuse_none_as=None):
        """Each row's weight in the loss's mean, the mean's denominator summing them: the
        sample weight times, for labels, the loss's class_weight of the row's class (float64);
        None when every row weighs 1. With refuse_none_as (whose rows, for the message), rows
        that weigh nothing in all are a ValueError: their mean would have nothing to average."""
        weight = sw
        cw = getattr(loss, "class_weight", None)
        if isinstance(loss, SoftmaxCrossEntropyLoss) and target.ndim == 1 and cw is not None \
                and np.shape(cw) == (self.n_outputs,):
            per_row = np.asarray(cw, np.float64)[target]
            weight = per_row if weight is None else weight * per_row
        weight = None if weight is None else np.asarray(weight, np.float64)
        if refuse_none_as is not None and weight is not None and not weight.sum() > 0:
            raise ValueError(f"the {refuse_none_as} total weight in the loss is zero "
                             "(sample_weight, class_weight); nothing to average")
        return weight

    def _shuffle_stream(self, seed):
        """The Generator fit draws epoch orders (and dropout masks) from: continued across fits,
        restarted by an explicit seed."""
        if seed is not None or getattr(self, "_fit_rng", None) is None:
            self._fit_rng = np.random.default_rng(self.seed if seed is None else seed)
        return self._fit_rng

    @property
    def _fit_rng_state(self):
        """The shuffle stream's state as a JSON-serialisable dict (None before any fit); saved
        in checkpoints so a loaded model continues the same stream."""
        rng = getattr(self, "_fit_rng", None)
        return None if rng is None else rng.bit_generator.state

    @_fit_rng_state.setter
    def _fit_rng_state(self, state):
        if state is None:
            self._fit_rng = None
            return
        rng = np.random.default_rng(0)
        try:
            rng.bit_generator.state = state
        except (TypeError, ValueError, KeyError) as exc:
            raise ValueError(f"invalid shuffle-stream state: {exc}") from None
        self._fit_rng = rng

    @staticmethod
    def _check_callbacks(callbacks):
        if callbacks is None:
            return []
        if not isinstance(callbacks, (list, tuple)):
            callbacks = [callbacks]
        hooks = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end")
        for i, cb in enumerate(callbacks):
            if not all(callable(getattr(cb, h, None)) for h in hooks):
                raise TypeError(f"callback {i} ({type(cb).__name__}) lacks the Callback hooks; "
                                "subclass fastlin.callbacks.Callback")
        return list(callbacks)

    def _stop_non_finite(self, epoch, batch, value, epoch_start):
        if not all(np.isfinite(p).all() for p in self.parameters()):
            epoch_start.restore()
        raise NonFiniteLossError(
            f"loss became {value} at epoch {epoch}, batch {batch}; training stopped and the "
            "weights were left at their last finite values (try a smaller learning rate)")

    # --------------------------------------------------------------- save/load
    def save(self, path, metadata=None, optimizer=None):
        """Save architecture and weights to an .npz file atomically (fastlin.load reads it);
        with ``optimizer=`` a checkpoint that fastlin.load_checkpoint resumes from."""
        # imported here: fastlin.io's package imports its loader, which imports this module
        from fastlin.io._writer import save_model
        save_model(self, path, metadata, optimizer=optimizer)

    def get_config(self):
        """The architecture as JSON-serialisable data: ``{"class", "dtype", "backend",
        "layers": [{"type", "config"}, ...]}``, what ``save`` stores and ``fastlin.load``
        rebuilds (the weights and training state are stored beside it). "class" is the class
        ``fastlin.load`` returns."""
        return {"class": "Sequential", "dtype": self.dtype.name, "backend": self.backend_name,
                "layers": [{"type": type(layer).__name__, "config": layer.get_config()}
                           for layer in self.layers]}


def _default_init(activation):
    return "he" if activation in ("relu", "leaky_relu", "prelu", "abs") else "glorot"


class MLP(Sequential):
    """A multilayer perceptron: Dense layers of the given sizes with ``activation`` after every
    hidden one and a linear output layer (the loss owns the output nonlinearity).

    ``MLP([784, 256, 10], activation="relu")`` is Dense(784, 256), ReLU, Dense(256, 10).
    """

    def __init__(self, sizes, activation="relu", dtype="float32", seed=None, backend="cython",
                 init=None, bias=True):
        sizes = list(sizes)
        if len(sizes) < 2:
            raise ValueError("MLP needs at least [n_inputs, n_outputs]")
        if activation not in ACTIVATION_LAYERS:
            raise ValueError(f"unknown activation {activation!r}; choose one of "
                             f"{', '.join(sorted(ACTIVATION_LAYERS))}")
        init = init or _default_init(activation)
        base = np.random.default_rng(seed)
        layers = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(Dense(a, b, bias=bias, init=init, dtype=dtype, seed=base))
            if i < len(sizes) - 2:
                cls = ACTIVATION_LAYERS[activation]
                layers.append(cls(num_parameters=b) if activation == "prelu" else cls())
        super().__init__(*layers, dtype=dtype, seed=seed, backend=backend)
        self.sizes = sizes
        self.activation = activation

    def get_config(self):
        """Sequential's configuration plus ``"mlp"``, the constructor arguments (sizes,
        activation, init, bias), with "class" "MLP". An MLP whose ``layers`` were edited since
        (so that these arguments no longer build them) describes itself as a Sequential and
        loads as one."""
        config = super().get_config()
        mlp = self._constructor_arguments(config["layers"])
        if mlp is not None:
            config["class"], config["mlp"] = "MLP", mlp
        return config

    def _constructor_arguments(self, layers):
        """MLP's arguments when `layers` (configs) are the ones they build, else None; the
        layers are described without allocating any weights."""
        import json
        try:
            act = ACTIVATION_LAYERS[self.activation]
            sizes = [int(s) for s in self.sizes]
            mlp = {"sizes": sizes, "activation": self.activation,
                   "init": layers[0]["config"]["init"], "bias": layers[0]["config"]["bias"]}
            expected = []
            for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
                expected.append({"type": "Dense", "config": {
                    "in_features": a, "out_features": b, "bias": mlp["bias"], "init": mlp["init"]}})
                if i < len(sizes) - 2:
                    layer = act(num_parameters=b) if self.activation == "prelu" else act()
                    expected.append({"type": act.__name__, "config": layer.get_config()})
            same = json.dumps(expected, sort_keys=True) == json.dumps(layers, sort_keys=True)
        except (AttributeError, IndexError, KeyError, TypeError, ValueError):
            return None
        return mlp if same else None
