"""The compiled epoch loop: fit's minibatches as one call of fastlin/_kernels/train.pyx per
chunk of batches, over the model's own parameter, gradient and optimizer-state arrays."""
import numpy as np

from fastlin.parallel import threads
from fastlin.backend._validation import ACTIVATIONS
from fastlin.layers import Dense, Dropout, Identity, LeakyReLU, ReLU, Sigmoid, Tanh
from fastlin.losses import BCEWithLogitsLoss, MSELoss, SoftmaxCrossEntropyLoss
from fastlin.optim import SGD, Adam, AdamW

# TrainPlan.run's status when every loss was finite but the last update left a weight that is not
WEIGHTS_NOT_FINITE = -4


class CompiledLoop:
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
            opt.decoupled_weight_decay if adam else False, threads.DEFAULT_THREADS,
            threads.PARALLEL_MIN_ELEMENTS, threads.PARALLEL_MIN_ELEMENTS_CHEAP,
            threads.PARALLEL_MIN_ELEMENTS_ADAM, self.xb, self.lb, self.tb, self.swb)
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
        """Batches [b0, b1) of an epoch: (status, [loss*weight, weight, correct, steps]).
        status >= 0 is the batch whose loss was not finite, WEIGHTS_NOT_FINITE that the last
        update left a non-finite weight, anything else below 0 success."""
        opt = self.opt
        # a schedule may move SGD's momentum or Adam's beta1 (-1: leave as built)
        momentum = (opt.momentum or -1.0) if isinstance(opt, SGD) else -1.0
        beta1 = -1.0 if isinstance(opt, SGD) else opt.betas[0]
        status, out = self.plan.run(self.no_order if order is None else order, b0, b1,
                                    opt.step_count, opt.lr, drop_seed, momentum, beta1)
        self.opt.step_count += out[3]
        return status, out
