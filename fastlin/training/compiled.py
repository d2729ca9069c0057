"""The compiled epoch loop: fit's minibatches as one call of fastlin/_kernels/train.pyx per
chunk of batches, over the model's own parameter, gradient and optimizer-state arrays."""
import numpy as np

from fastlin._kernels._codes import Activation, LossKind, OptimizerKind, PlanStatus
from fastlin.parallel import threads
from fastlin.backend._validation import ACTIVATIONS
from fastlin.layers import Dense, Dropout, Identity, LeakyReLU, ReLU, Sigmoid, Tanh
from fastlin.losses import (BCEWithLogitsLoss, HuberLoss, L1Loss, MSELoss, SmoothL1Loss,
                            SoftmaxCrossEntropyLoss)
from fastlin.optim import SGD, Adagrad, Adam, AdamW, RMSprop

# TrainPlan.run's status when every loss was finite but the last update left a weight that is not
WEIGHTS_NOT_FINITE = PlanStatus.NONFINITE_PARAMS


class CompiledLoop:
    """fit's minibatch loop as one compiled call per epoch (fastlin/_kernels/train.pyx).

    Used when the model is a stack of Dense layers, each optionally followed by an activation
    whose backward reads its output (identity, relu, sigmoid, tanh, leaky_relu with alpha > 0),
    trained with MSE, L1, smooth L1, Huber, BCE-with-logits or softmax cross-entropy by
    SGD/Adam/AdamW/RMSprop/Adagrad over exactly model.parameters(), all on the cython backend. It runs the same kernels in the same order as
    the Python loop, so the weights come out bitwise the same, except for a single Dense(d, 1)
    under MSE or BCE (linear and logistic regression), which trains through a one-pass kernel
    whose sums run in another order (equal to rounding). ``build`` returns None for any other
    combination and fit falls back to the Python loop.

    A model keeps its last loop from one fit call to the next (building one cost ~50 us, half
    of a one-epoch fit of a small network): ``build`` reuses it when every object and setting
    the plan was built from is still the same (the model's layers and their arrays, the loss,
    the optimizer and its state arrays, the batch size, the settings ``stale`` compares, the
    thread settings) and binds the new call's data to it. Between fits it holds no data.
    """

    _ACTS = {Identity, ReLU, Sigmoid, Tanh, LeakyReLU}

    _ROBUST = {L1Loss: LossKind.SMOOTH_L1, SmoothL1Loss: LossKind.SMOOTH_L1,
               HuberLoss: LossKind.HUBER}

    def __init__(self, model, loss, opt, batch, X, target, sw, metrics=False):
        self.model, self.loss, self.opt, self.batch = model, loss, opt, batch
        dt = model.dtype
        self.kernels = model.backend
        self.labels = target if target.ndim == 1 else None
        self.T = target if target.ndim == 2 else None
        self.SW = sw
        if isinstance(loss, SoftmaxCrossEntropyLoss):
            self.kind = LossKind.XENT_LABELS if target.ndim == 1 else LossKind.XENT_PROBS
            cw = loss._class_weight(dt)
            self.smoothing = float(loss.label_smoothing)
        elif isinstance(loss, BCEWithLogitsLoss):
            self.kind, self.smoothing = LossKind.BCE, 0.0
            cw = None if loss.pos_weight is None else np.broadcast_to(
                np.asarray(loss.pos_weight, dt).reshape(-1), (model.n_outputs,))
        else:
            self.kind = self._ROBUST.get(type(loss), LossKind.MSE)
            self.smoothing, cw = 0.0, None
        # the plan's own copy: a kept plan must not read a caller's array changed since (its
        # reuse compares the loss's values now with those it was built with)
        self.cw = None if cw is None else np.array(cw, dt, copy=True, order="C")
        self.layers = []
        state1, state2, state3 = self._states(opt)

        def flat(a):
            return None if a is None else a.reshape(-1)

        k = 0
        for dense, act, drop in self._pairs(model.layers):
            n_out = dense.out_features
            has_b = dense.use_bias
            s1W, s1b = state1[k], state1[k + 1] if has_b else None
            s2W, s2b = (state2[k], state2[k + 1] if has_b else None) if state2 else (None, None)
            s3W, s3b = (state3[k], state3[k + 1] if has_b else None) if state3 else (None, None)
            k += 2 if has_b else 1
            dropping = drop is not None and drop.p > 0
            self.layers.append(self.kernels.LayerPlan(
                W=flat(dense.W), dW=flat(dense.dW), b=flat(dense.b), db=flat(dense.db),
                A=np.empty(batch * n_out, dt), G=np.empty(batch * n_out, dt), n_out=n_out,
                activation=Activation.IDENTITY if act is None else ACTIVATIONS[act.activation],
                alpha=flat(act._alpha_arg()) if isinstance(act, LeakyReLU) else None,
                state1_W=flat(s1W), state1_b=flat(s1b), state2_W=flat(s2W), state2_b=flat(s2b),
                state3_W=flat(s3W), state3_b=flat(s3b),
                dropout_out=np.empty(batch * n_out, dt) if dropping else None,
                dropout_mask=np.empty(batch * n_out, dt) if dropping else None,
                dropout_p=drop.p if dropping else 0.0,
                dropout_id=model.layers.index(drop) if dropping else 0))
        self.xb = np.empty((batch, model.n_features_in), dt)
        self.lb = np.empty(batch, np.int64)
        self.tb = np.empty((batch, self.T.shape[1]) if self.T is not None and self.T.size
                           else (0, 0), dt)
        self.swb = np.empty(batch, dt)
        self.plan = self.kernels.TrainPlan(
            X, self.layers, batch=batch, loss_kind=self.kind, labels=self.labels, target=self.T,
            sample_weight=self.SW, class_weight=self.cw, smoothing=self.smoothing, lr=opt.lr,
            weight_decay=opt.weight_decay, **self._optimizer_settings(opt),
            loss_param=self._loss_param(loss), metrics=bool(metrics),
            n_threads=threads.DEFAULT_THREADS,
            parallel_min=threads.PARALLEL_MIN_ELEMENTS,
            parallel_min_cheap=threads.PARALLEL_MIN_ELEMENTS_CHEAP,
            parallel_min_adam=threads.PARALLEL_MIN_ELEMENTS_ADAM, batch_X=self.xb,
            batch_labels=self.lb, batch_target=self.tb, batch_weight=self.swb)
        self.no_order = np.empty(0, np.int64)
        self.settings = self._settings()
        self.key = None  # set by build
        self.in_use = True  # bound to a fit's data until release()
        # batches per run() call that the epoch loop last settled on (None: not yet timed);
        # the next fit starts from it instead of growing from one batch again
        self.batches_per_call = None

    @staticmethod
    def _states(opt):
        """The optimizer's state lists as the plan's state1, state2, state3 (None: absent)."""
        if isinstance(opt, SGD):
            return opt.velocity, None, None
        if isinstance(opt, RMSprop):
            return (opt.square_avg, opt.momentum_buffer if opt.momentum_buffer[0] is not None
                    else None, opt.grad_avg if opt.centered else None)
        if isinstance(opt, Adagrad):
            return opt.state_sum, None, None
        return opt.exp_avg, opt.exp_avg_sq, None

    @staticmethod
    def _optimizer_settings(opt):
        if isinstance(opt, SGD):
            return dict(opt_kind=OptimizerKind.SGD, momentum=opt.momentum, nesterov=opt.nesterov)
        if isinstance(opt, RMSprop):
            return dict(opt_kind=OptimizerKind.RMSPROP, alpha=opt.alpha, eps=opt.eps,
                        momentum=opt.momentum)
        if isinstance(opt, Adagrad):
            return dict(opt_kind=OptimizerKind.ADAGRAD, lr_decay=opt.lr_decay, eps=opt.eps)
        return dict(opt_kind=OptimizerKind.ADAM, beta1=opt.betas[0], beta2=opt.betas[1],
                    eps=opt.eps, decoupled=opt.decoupled_weight_decay)

    @staticmethod
    def _loss_param(loss):
        if isinstance(loss, SmoothL1Loss):
            return float(loss.beta)
        return float(loss.delta) if isinstance(loss, HuberLoss) else 0.0

    def _settings(self):
        """The optimizer's and the loss's settings the plan was built with (lr, SGD's momentum
        and Adam's beta1 go to every run instead). A callback may change them between
        epochs; fit then builds a new plan, as the Python loop reads them at every step."""
        return self._settings_of(self.model, self.loss, self.opt)

    @classmethod
    def _settings_of(cls, model, loss, opt):
        if isinstance(opt, SGD):
            settings = (opt.weight_decay, opt.nesterov, opt.momentum == 0)
        elif isinstance(opt, (RMSprop, Adagrad)):
            settings = tuple(v for k, v in sorted(opt.get_config().items()) if k != "lr")
        else:
            settings = (opt.weight_decay, opt.betas[1], opt.eps, opt.decoupled_weight_decay)
        if isinstance(loss, SoftmaxCrossEntropyLoss):
            cw = loss._class_weight(model.dtype)
            settings += (loss.label_smoothing, None if cw is None else cw.tobytes())
        elif isinstance(loss, BCEWithLogitsLoss):
            pw = loss.pos_weight
            settings += (None if pw is None else np.asarray(pw, np.float64).tobytes(),)
        else:
            settings += (cls._loss_param(loss),)
        # and the layers' fixed slopes and dropout rates
        return settings + tuple((type(layer).__name__, layer.alpha if isinstance(
            layer, LeakyReLU) else layer.p) for layer in model.layers
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
    def build(cls, model, loss, opt, batch, X, target, sw, metrics=False):
        if model.backend_name != "cython" or cls._pairs(model.layers) is None:
            return None
        if type(loss) not in (SoftmaxCrossEntropyLoss, BCEWithLogitsLoss, MSELoss, L1Loss,
                              SmoothL1Loss, HuberLoss) \
                or loss.backend.name != "cython":
            return None
        if type(opt) not in (SGD, Adam, AdamW, RMSprop, Adagrad) or opt.backend.name != "cython":
            return None
        params = model.parameters()
        if len(params) != len(opt.param_groups) or any(
                p is not q for p, (q, _) in zip(params, opt.param_groups)):
            return None
        if isinstance(opt, RMSprop) and opt.momentum and opt.momentum_buffer[0] is None:
            return None  # the Python loop's step names the problem
        key = cls._key(model, loss, opt, batch, target, metrics)
        kept = model.__dict__.get("_compiled_loop")
        # (a fit started inside another fit's callback builds its own)
        if kept is not None and not kept.in_use and kept._same(key):
            kept.loss, kept.opt = loss, opt  # equal settings; stale() and run() read these
            kept.bind(X, target, sw)
            return kept
        model.__dict__.pop("_compiled_loop", None)
        loop = cls(model, loss, opt, batch, X, target, sw, metrics)
        loop.key = key
        model._compiled_loop = loop
        return loop

    @classmethod
    def _key(cls, model, loss, opt, batch, target, metrics):
        """(objects, values): every object the plan points into or whose arrays it points into,
        compared by identity (the loop holds them all, so no id is reused while it lives), and
        every value it was built with, compared by equality. The loss and the optimizer count
        by kind and settings: another object with equal ones (a loss named by a string, made
        anew each call) trains the same."""
        objects = [*model.layers]
        for layer in model.layers:
            if type(layer) is Dense:
                objects += (layer.W, layer.dW, layer.b, layer.db)
            elif isinstance(layer, LeakyReLU):
                objects.append(layer._alpha_arg())
        for states in cls._states(opt):
            if states is not None:
                objects += states
        values = (type(loss), type(opt), batch, bool(metrics), target.ndim, target.shape[1:],
                  model.dtype,
                  model.backend_name, cls._settings_of(model, loss, opt),
                  threads.DEFAULT_THREADS, threads.PARALLEL_MIN_ELEMENTS,
                  threads.PARALLEL_MIN_ELEMENTS_CHEAP, threads.PARALLEL_MIN_ELEMENTS_ADAM)
        return objects, values

    def _same(self, key):
        objects, values = self.key
        return (len(objects) == len(key[0]) and all(a is b for a, b in zip(objects, key[0]))
                and values == key[1])

    def bind(self, X, target, sw):
        """This fit call's data, on the plan built by an earlier one."""
        labels = target if target.ndim == 1 else None
        T = target if target.ndim == 2 else None
        self.plan.bind_data(X, labels=labels, target=T, sample_weight=sw)
        self.labels, self.T, self.SW = labels, T, sw
        self.plan.n_threads = threads.DEFAULT_THREADS
        self.in_use = True

    def release(self):
        """Let go of the fit's data (the model keeps the loop for its next fit)."""
        self.plan.release_data()
        self.labels = self.T = self.SW = None
        self.in_use = False

    def run(self, order, b0, b1, drop_seed):
        """Batches [b0, b1) of an epoch: (status, [loss*weight, weight, correct, steps,
        sum |error|, sum error^2]).
        status >= 0 is the batch whose loss was not finite, WEIGHTS_NOT_FINITE that the last
        update left a non-finite weight, anything else below 0 success."""
        opt = self.opt
        # a schedule may move SGD's momentum or Adam's beta1 (-1: leave as built)
        momentum = (opt.momentum or -1.0) if isinstance(opt, SGD) else -1.0
        beta1 = opt.betas[0] if isinstance(opt, Adam) else -1.0
        status, out = self.plan.run(self.no_order if order is None else order, b0, b1,
                                    opt.step_count, opt.lr, drop_seed, momentum, beta1)
        self.opt.step_count += out[3]
        return status, out
