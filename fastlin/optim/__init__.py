"""Optimizers that follow torch.optim, their updates run by the backend kernels.

Built over ``model.parameters()`` (plain arrays whose gradients the layers registered) or over
(param, grad) pairs. State buffers are allocated once, at construction.
"""
import numpy as np

from fastlin import _params
from fastlin.backend import get as get_backend
from fastlin.parallel import threads
from fastlin.parallel.threads import for_size
from fastlin.backend._validation import FLOAT_DTYPES, aligned, number


def _param_grad_pairs(params):
    if isinstance(params, np.ndarray):
        raise TypeError("params must be an iterable of arrays (model.parameters()), not one array")
    pairs = []
    for item in params:
        if isinstance(item, tuple):
            p, g = item
        else:
            p, g = item, _params.gradient_of(item)
        if not isinstance(p, np.ndarray) or not isinstance(g, np.ndarray) or p.shape != g.shape:
            raise TypeError("each parameter must be an ndarray with a gradient of its shape")
        if p.dtype not in FLOAT_DTYPES or g.dtype != p.dtype:
            raise TypeError(f"parameters and gradients must share a float32/float64 dtype, got "
                            f"{p.dtype} and {g.dtype}")
        if not (p.flags.c_contiguous and g.flags.c_contiguous) or not p.flags.writeable:
            raise ValueError("parameters must be writeable and C-contiguous, gradients C-contiguous")
        # checked once here, as step() goes straight to the update kernels
        aligned("parameter", p)
        aligned("gradient", g)
        if np.may_share_memory(p, g):
            raise ValueError("a parameter must not overlap its gradient")
        pairs.append((p, g))
    if not pairs:
        raise ValueError("optimizer got an empty parameter list")
    return pairs


class Optimizer:
    """Base class. Parameters, gradients and state buffers are checked once, here; ``step()``
    hands flat views of them straight to the backend's update kernel (no per-step checks)."""

    def __init__(self, params, lr, backend=None):
        self.lr = lr
        self.backend = get_backend(backend)
        self.param_groups = _param_grad_pairs(params)
        self.step_count = 0
        Optimizer._make_views(self)  # subclasses rebuild all views once their state exists

    def _make_views(self):
        # flat views of parameters, gradients and state handed to the update kernels, with the
        # thread count each update uses
        self._flat = [(p.reshape(-1), g.reshape(-1), for_size(p.size, cheap=True))
                      for p, g in self.param_groups]

    def __getstate__(self):
        # Pickle would turn the flat views into copies detached from the arrays they view; they
        # are rebuilt on load. Parameters are pickled as the arrays they are, so an optimizer
        # pickled together with its model (one pickle.dumps, a Dask task, a joblib job) comes
        # back updating that model's parameters and training continues bitwise.
        state = self.__dict__.copy()
        for key in ("_flat", "_moments_flat", "_velocity_flat", "_rms_flat", "_sum_flat"):
            state.pop(key, None)
        return state

    def __setstate__(self, state):
        # read-only arrays (joblib memmaps) become the writeable copies the layers take too
        def writeable(a):
            return None if a is None else _params.writeable(a)

        state["param_groups"] = [(writeable(p), writeable(g)) for p, g in state["param_groups"]]
        for key in ("velocity", "exp_avg", "exp_avg_sq", "square_avg", "momentum_buffer",
                    "grad_avg", "state_sum"):
            if key in state:
                state[key] = [writeable(a) for a in state[key]]
        self.__dict__.update(state)
        self._make_views()

    @property
    def lr(self):
        return self._lr

    @lr.setter
    def lr(self, value):
        # a schedule may change lr between steps; it is checked when set
        self._lr = number("lr", value, 0.0)

    def state_arrays(self):
        """The state buffers, in a fixed order (for checkpoints): a list of arrays."""
        return []

    def state_dict(self):
        """What a checkpoint needs to resume this optimizer bitwise: its class, settings, step
        count and copies of its state buffers (a dict of plain values and arrays)."""
        state = {"class": type(self).__name__, "config": self.get_config(),
                 "step_count": int(self.step_count),
                 "state": [a.copy() for a in self.state_arrays()]}
        if getattr(self, "initial_lr", None) is not None:
            # the lr a schedule started from (torch keeps it in param_groups): a schedule
            # resumed with last_epoch >= 0 after load_state_dict needs it
            state["initial_lr"] = float(self.initial_lr)
        return state

    def load_state_dict(self, state):
        """Restore settings, step count and state buffers saved by ``state_dict`` (in place, so
        compiled training plans that hold the buffers stay valid); ValueError on a mismatch."""
        if not isinstance(state, dict) or state.get("class") != type(self).__name__:
            raise ValueError(f"state is not a {type(self).__name__} state_dict")
        mine = self.state_arrays()
        arrays = state.get("state")
        if not isinstance(arrays, (list, tuple)) or len(arrays) != len(mine) or any(
                np.shape(a) != m.shape for a, m in zip(arrays, mine)):
            raise ValueError("optimizer state does not match this optimizer's parameters")
        config = state.get("config", {})
        for key, value in config.items():
            if key not in self.get_config():
                raise ValueError(f"unknown optimizer setting {key!r} in state")
        step = state.get("step_count", 0)  # checked before anything is set
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 0:
            raise ValueError(f"invalid step_count {step!r} in state")
        initial_lr = state.get("initial_lr")
        if initial_lr is not None:
            initial_lr = number("initial_lr", initial_lr, 0.0)
        for key, value in config.items():
            setattr(self, key, tuple(value) if key == "betas" else value)
        for m, a in zip(mine, arrays):
            np.copyto(m, a, casting="same_kind")
        self.step_count = int(step)
        if initial_lr is not None:
            self.initial_lr = initial_lr

    def step(self):
        """Update every parameter in place from its gradient (one compiled kernel call per
        parameter array, with this optimizer's rule), and count the step.

        Examples
        --------
        >>> import numpy as np, fastlin
        >>> layer = fastlin.Dense(2, 1, init="zeros", dtype="float64")
        >>> opt = fastlin.SGD(layer.parameters(), lr=0.5)
        >>> layer.dW[:] = 1.0
        >>> opt.step()
        >>> layer.W.ravel().tolist()
        [-0.5, -0.5]
        """
        raise NotImplementedError

    def get_config(self):
        """The optimizer's settings as a dict of plain values (checkpoints store it).

        Examples
        --------
        >>> import fastlin
        >>> fastlin.SGD(fastlin.Dense(2, 1).parameters(), lr=0.1).get_config()["lr"]
        0.1
        """
        return {"lr": self.lr}

    def zero_grad(self):
        """Set all gradients to zero (not needed: backward overwrites them)."""
        for _, g in self.param_groups:
            g.fill(0)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _torch_default_only(name, value, default):
    """torch.optim keywords fastlin takes at their default value only."""
    if value != default:
        raise ValueError(f"{name}={value!r} is not supported (accepted, as torch.optim's keyword, "
                         f"with its default {default!r} only)")


class SGD(Optimizer):
    """torch.optim.SGD: weight decay is L2 added to the gradient, optional (Nesterov) momentum.
    lr defaults to torch's 1e-3 (``fit(optimizer="sgd")`` keeps Keras's 0.01); torch's
    ``dampening`` and ``maximize`` are accepted at their defaults (0, False)."""

    def __init__(self, params, lr=1e-3, momentum=0.0, nesterov=False, weight_decay=0.0,
                 backend=None, *, dampening=0.0, maximize=False):
        _torch_default_only("dampening", dampening, 0.0)
        _torch_default_only("maximize", maximize, False)
        super().__init__(params, lr, backend)
        self.momentum = number("momentum", momentum, 0.0)
        self.weight_decay = number("weight_decay", weight_decay, 0.0)
        self.nesterov = bool(nesterov)
        if self.nesterov and self.momentum == 0:
            raise ValueError("nesterov momentum requires momentum > 0")
        self.velocity = [np.zeros_like(p) if self.momentum else None for p, _ in self.param_groups]
        self._make_views()

    def _make_views(self):
        super()._make_views()
        self._velocity_flat = [None if v is None else v.reshape(-1) for v in self.velocity]

    def _add_velocity(self):
        """Zero velocity buffers for an SGD built without momentum, which a one-cycle schedule
        is about to give momentum."""
        if all(v is None for v in self.velocity):
            self.velocity = [np.zeros_like(p) for p, _ in self.param_groups]
            self._make_views()

    def load_state_dict(self, state):
        # a state with velocity buffers (a one-cycle schedule gave the SGD momentum, which may
        # be 0 again when it was saved) loads into an SGD built without them
        arrays = state.get("state") if isinstance(state, dict) else None
        if all(v is None for v in self.velocity) and isinstance(arrays, (list, tuple)) \
                and len(arrays) == len(self.param_groups) > 0:
            self._add_velocity()
            try:
                super().load_state_dict(state)
            except BaseException:
                self.velocity = [None] * len(self.param_groups)
                self._make_views()
                raise
            return
        super().load_state_dict(state)

    def state_arrays(self):
        return [v for v in self.velocity if v is not None]

    def step(self):
        self.step_count += 1
        upd = self.backend._impl_sgd
        for (p, g, nt), buf in zip(self._flat, self._velocity_flat):
            upd(p, g, buf, self._lr, self.momentum, self.weight_decay, self.nesterov, nt)

    def get_config(self):
        return {"lr": self.lr, "momentum": self.momentum, "nesterov": self.nesterov,
                "weight_decay": self.weight_decay}


class Adam(Optimizer):
    """torch.optim.Adam; weight_decay is L2 added to the gradient unless
    decoupled_weight_decay=True (AdamW). torch's ``amsgrad`` and ``maximize`` are accepted at
    their defaults (False)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 decoupled_weight_decay=False, backend=None, *, amsgrad=False, maximize=False):
        _torch_default_only("amsgrad", amsgrad, False)
        _torch_default_only("maximize", maximize, False)
        super().__init__(params, lr, backend)
        try:
            b1, b2 = betas
        except (TypeError, ValueError):
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}") from None
        self.betas = (number("beta1", b1, 0.0, 1.0, high_open=True),
                      number("beta2", b2, 0.0, 1.0, high_open=True))
        self.eps = number("eps", eps, 0.0)
        self.weight_decay = number("weight_decay", weight_decay, 0.0)
        self.decoupled_weight_decay = bool(decoupled_weight_decay)
        self.exp_avg = [np.zeros_like(p) for p, _ in self.param_groups]
        self.exp_avg_sq = [np.zeros_like(p) for p, _ in self.param_groups]
        self._make_views()

    def _make_views(self):
        super()._make_views()
        self._moments_flat = [(m.reshape(-1), v.reshape(-1))
                              for m, v in zip(self.exp_avg, self.exp_avg_sq)]
        self._flat = [(p, g, for_size(p.size, min_elements=threads.PARALLEL_MIN_ELEMENTS_ADAM))
                      for p, g, _ in self._flat]

    def state_arrays(self):
        return list(self.exp_avg) + list(self.exp_avg_sq)

    def step(self):
        self.step_count += 1
        upd = self.backend._impl_adam
        b1, b2 = self.betas
        for (p, g, nt), (m, v) in zip(self._flat, self._moments_flat):
            upd(p, g, m, v, self._lr, b1, b2, self.eps, self.weight_decay, self.step_count,
                self.decoupled_weight_decay, nt)

    def get_config(self):
        return {"lr": self.lr, "betas": self.betas, "eps": self.eps,
                "weight_decay": self.weight_decay,
                "decoupled_weight_decay": self.decoupled_weight_decay}


class AdamW(Adam):
    """torch.optim.AdamW: Adam with decoupled weight decay (default 0.01)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01,
                 backend=None, *, amsgrad=False, maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, decoupled_weight_decay=True,
                         backend=backend, amsgrad=amsgrad, maximize=maximize)


class RMSprop(Optimizer):
    """torch.optim.RMSprop.

    With d = grad + weight_decay·param: square_avg = alpha·square_avg + (1 − alpha)·d²;
    centered: grad_avg = grad_avg + (1 − alpha)·(d − grad_avg) and
    avg = sqrt(square_avg − grad_avg²) + eps, else avg = sqrt(square_avg) + eps; with momentum
    buf = momentum·buf + d / avg and param −= lr·buf, else param −= lr·d / avg. The state
    (square_avg; momentum_buffer when momentum > 0; grad_avg when centered) starts at zero,
    so momentum must be chosen here: an RMSprop built without it keeps no buffer for it.
    """

    def __init__(self, params, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, backend=None):
        super().__init__(params, lr, backend)
        self.alpha = number("alpha", alpha, 0.0)
        self.eps = number("eps", eps, 0.0)
        self.weight_decay = number("weight_decay", weight_decay, 0.0)
        self.momentum = number("momentum", momentum, 0.0)
        self.centered = bool(centered)
        self.square_avg = [np.zeros_like(p) for p, _ in self.param_groups]
        self.momentum_buffer = [np.zeros_like(p) if self.momentum else None
                                for p, _ in self.param_groups]
        self.grad_avg = [np.zeros_like(p) if self.centered else None
                         for p, _ in self.param_groups]
        self._make_views()

    def _make_views(self):
        super()._make_views()

        def flat(a):
            return None if a is None else a.reshape(-1)

        self._rms_flat = [(flat(s), flat(b), flat(a)) for s, b, a in
                          zip(self.square_avg, self.momentum_buffer, self.grad_avg)]
        self._flat = [(p, g, for_size(p.size, min_elements=threads.PARALLEL_MIN_ELEMENTS_ADAM))
                      for p, g, _ in self._flat]

    def state_arrays(self):
        return (list(self.square_avg) + [b for b in self.momentum_buffer if b is not None]
                + [a for a in self.grad_avg if a is not None])

    def step(self):
        if self.momentum and self.momentum_buffer[0] is None:
            raise ValueError("this RMSprop was built with momentum=0 and keeps no momentum "
                             "buffer; build a new one with momentum > 0")
        self.step_count += 1
        upd = self.backend._impl_rmsprop
        for (p, g, nt), (sq, buf, gavg) in zip(self._flat, self._rms_flat):
            upd(p, g, sq, buf, gavg, self._lr, self.alpha, self.eps, self.weight_decay,
                self.momentum, nt)

    def get_config(self):
        return {"lr": self.lr, "alpha": self.alpha, "eps": self.eps,
                "weight_decay": self.weight_decay, "momentum": self.momentum,
                "centered": self.centered}


class Adagrad(Optimizer):
    """torch.optim.Adagrad.

    At step t (from 1), with d = grad + weight_decay·param: state_sum += d² and
    param −= lr / (1 + (t − 1)·lr_decay) · d / (sqrt(state_sum) + eps); state_sum starts at
    initial_accumulator_value.
    """

    def __init__(self, params, lr=0.01, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10, backend=None):
        super().__init__(params, lr, backend)
        self.lr_decay = number("lr_decay", lr_decay, 0.0)
        self.weight_decay = number("weight_decay", weight_decay, 0.0)
        self.initial_accumulator_value = number("initial_accumulator_value",
                                                initial_accumulator_value, 0.0)
        self.eps = number("eps", eps, 0.0)
        self.state_sum = [np.full_like(p, self.initial_accumulator_value)
                          for p, _ in self.param_groups]
        self._make_views()

    def _make_views(self):
        super()._make_views()
        self._sum_flat = [s.reshape(-1) for s in self.state_sum]
        self._flat = [(p, g, for_size(p.size, min_elements=threads.PARALLEL_MIN_ELEMENTS_ADAM))
                      for p, g, _ in self._flat]

    def state_arrays(self):
        return list(self.state_sum)

    def step(self):
        self.step_count += 1
        upd = self.backend._impl_adagrad
        for (p, g, nt), s in zip(self._flat, self._sum_flat):
            upd(p, g, s, self._lr, self.lr_decay, self.eps, self.weight_decay, self.step_count,
                nt)

    def get_config(self):
        return {"lr": self.lr, "lr_decay": self.lr_decay, "weight_decay": self.weight_decay,
                "initial_accumulator_value": self.initial_accumulator_value, "eps": self.eps}


OPTIMIZERS = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop, "adagrad": Adagrad}

from fastlin.optim import lr_scheduler  # noqa: E402,F401  (torch.optim's layout)
