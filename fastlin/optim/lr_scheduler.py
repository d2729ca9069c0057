"""Learning-rate schedulers with PyTorch's names, arguments and arithmetic.

Each scheduler drives one fastlin optimizer (``SGD``, ``Adam``, ``AdamW``: one parameter group,
one ``lr``) exactly as ``torch.optim.lr_scheduler`` drives a torch optimizer's single group:

- constructing a scheduler performs its initial step, which may set ``optimizer.lr`` (LinearLR,
  OneCycleLR) and records ``optimizer.initial_lr`` (torch's ``group["initial_lr"]``: set once,
  kept by later schedulers on the same optimizer);
- ``step()`` advances ``last_epoch`` by one and sets ``optimizer.lr`` with torch's recursive
  (chainable) formulas, so the values equal torch's in float64 to the last bit or to rounding;
- ``get_last_lr()`` returns ``[optimizer.lr]`` as of the last step, like torch's one-group list;
- ``state_dict()`` holds plain JSON-friendly values (ints, floats, lists, strings) so a
  checkpoint can store it; ``load_state_dict`` restores it and checks the class.

``fit(..., scheduler=s)`` steps a scheduler after every epoch, or after every batch when its
class has ``per_batch = True`` (OneCycleLR). ``ReduceLROnPlateau`` is stepped with the metric
named by its ``monitor`` attribute (a fastlin addition, default "val_loss"):
``s.step(logs[s.monitor])``.

What differs from torch, on purpose: ``step(epoch)`` (deprecated in torch) is not accepted;
bad arguments raise ValueError/TypeError before anything changes, including the step past
OneCycleLR's ``total_steps`` (torch raises after advancing its counter).
"""
import math
import numbers
from collections import Counter

from fastlin.backend._validation import integer, number
from fastlin.optim._plateau import Plateau

__all__ = ["LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR",
           "LinearLR", "OneCycleLR", "ReduceLROnPlateau"]


def _check_optimizer(optimizer):
    from fastlin.optim import Optimizer
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{type(optimizer).__name__} is not a fastlin Optimizer")
    return optimizer


def _one_value(name, value, low=0.0):
    """A scalar, or a one-element list (torch's per-group list for our single group)."""
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            raise ValueError(f"expected 1 {name} (fastlin optimizers have one parameter "
                             f"group), got {len(value)}")
        value = value[0]
    return number(name, value, low)


class LRScheduler:
    """Base class: subclasses define ``get_lr()`` (torch's chainable form).

    Parameters
    ----------
    optimizer : fastlin Optimizer
    last_epoch : int, default -1
        Index of the last step taken; -1 starts the schedule. A value >= 0 resumes and needs
        ``optimizer.initial_lr`` (set by an earlier scheduler or a restored checkpoint).

    Attributes
    ----------
    base_lrs : list of one float, the learning rate the schedule starts from
    last_epoch : int, the number of steps taken (0 after construction)
    per_batch : bool (class attribute), True when ``fit`` should step after every batch
    """

    per_batch = False
    # attributes of the schedule's state beyond the base ones (subclasses extend)
    _state_keys = ()
    _base_keys = ("base_lrs", "last_epoch", "_step_count", "_last_lr")

    def __init__(self, optimizer, last_epoch=-1):
        _check_optimizer(optimizer)
        last_epoch = integer("last_epoch", last_epoch, -1)
        initial = getattr(optimizer, "initial_lr", None)
        if last_epoch == -1:
            if initial is None:
                optimizer.initial_lr = float(optimizer.lr)
        elif initial is None:
            raise ValueError("optimizer.initial_lr is not set; resuming a schedule with "
                             "last_epoch >= 0 needs it (load the optimizer's checkpoint first, "
                             "or start with last_epoch=-1)")
        self.optimizer = optimizer
        self.base_lrs = [float(optimizer.initial_lr)]
        self.last_epoch = last_epoch
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self):
        """The learning rates for the current ``last_epoch``, one per parameter group (fastlin
        optimizers have one), as torch's ``get_lr``; ``step`` applies them.

        Returns
        -------
        list of float
        """
        raise NotImplementedError

    def _check_can_step(self):
        """Raise before any state changes when the next step is not allowed."""

    def step(self):
        """Advance the schedule by one step (an epoch, or a batch for per-batch schedules)
        and set ``optimizer.lr``."""
        self._check_can_step()
        self._step_count += 1
        self.last_epoch += 1
        values = self.get_lr()
        self.optimizer.lr = values[0]
        self._last_lr = [self.optimizer.lr]

    def get_last_lr(self):
        """The learning rate set by the last step, as a one-element list (torch's shape)."""
        return list(self._last_lr)

    # ------------------------------------------------------------------ state
    def _encode(self, key, value):
        return list(value) if isinstance(value, (list, tuple)) else value

    def _decode(self, key, value):
        return value

    def state_dict(self):
        """The schedule's state as plain values: {"class": name, attribute: value, ...}."""
        state = {"class": type(self).__name__}
        for key in self._base_keys + self._state_keys:
            state[key] = self._encode(key, getattr(self, key))
        return state

    def load_state_dict(self, state):
        """Restore a state from ``state_dict()`` of the same class; ValueError otherwise.
        The optimizer's lr is not touched (restore the optimizer's own state for that)."""
        if not isinstance(state, dict) or state.get("class") != type(self).__name__:
            raise ValueError(f"state is not a {type(self).__name__} state_dict")
        keys = self._base_keys + self._state_keys
        missing = [k for k in keys if k not in state]
        unknown = [k for k in state if k != "class" and k not in keys]
        if missing or unknown:
            raise ValueError(f"{type(self).__name__} state_dict: missing {missing}, "
                             f"unknown {unknown}")
        for key in keys:
            setattr(self, key, self._decode(key, state[key]))

    def __repr__(self):
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._state_keys
                         if not k.startswith("_"))
        return f"{type(self).__name__}({args}, last_epoch={self.last_epoch})"


class StepLR(LRScheduler):
    """Multiply lr by ``gamma`` every ``step_size`` steps: lr = base_lr * gamma**(t // step_size).

    Parameters
    ----------
    optimizer : fastlin Optimizer
    step_size : int >= 1
    gamma : float >= 0, default 0.1
    last_epoch : int, default -1
    """

    _state_keys = ("step_size", "gamma")

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        self.step_size = integer("step_size", step_size, 1)
        self.gamma = number("gamma", gamma, 0.0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [self.optimizer.lr]
        return [self.optimizer.lr * self.gamma]


class MultiStepLR(LRScheduler):
    """Multiply lr by ``gamma`` at each milestone step (by gamma**k when a milestone is listed
    k times).

    Parameters
    ----------
    optimizer : fastlin Optimizer
    milestones : iterable of int >= 0
    gamma : float >= 0, default 0.1
    last_epoch : int, default -1
    """

    _state_keys = ("milestones", "gamma")

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        if isinstance(milestones, (str, bytes)) or not hasattr(milestones, "__iter__"):
            raise TypeError(f"milestones must be an iterable of ints, got "
                            f"{type(milestones).__name__}")
        self.milestones = Counter(integer("milestone", m, 0) for m in milestones)
        self.gamma = number("gamma", gamma, 0.0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch not in self.milestones:
            return [self.optimizer.lr]
        return [self.optimizer.lr * self.gamma ** self.milestones[self.last_epoch]]

    def _encode(self, key, value):
        if key == "milestones":
            return sorted(value.elements())
        return super()._encode(key, value)

    def _decode(self, key, value):
        if key == "milestones":
            return Counter(integer("milestone", m, 0) for m in value)
        return super()._decode(key, value)


class ExponentialLR(LRScheduler):
    """Multiply lr by ``gamma`` every step: lr = base_lr * gamma**t.

    Parameters
    ----------
    optimizer : fastlin Optimizer
    gamma : float >= 0
    last_epoch : int, default -1
    """

    _state_keys = ("gamma",)

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = number("gamma", gamma, 0.0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return [self.optimizer.lr]
        return [self.optimizer.lr * self.gamma]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from base_lr to ``eta_min`` over T = ``T_max`` steps (then back up, the
    cosine continuing), by torch's recursion

        lr_t = eta_min + (lr_{t-1} - eta_min) * (1 + cos(pi t / T)) / (1 + cos(pi (t-1) / T))

    which equals eta_min + (base_lr - eta_min) (1 + cos(pi t / T)) / 2 up to rounding.

    Parameters
    ----------
    optimizer : fastlin Optimizer
    T_max : int >= 1
    eta_min : float >= 0, default 0
    last_epoch : int, default -1
    """

    _state_keys = ("T_max", "eta_min")

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        self.T_max = integer("T_max", T_max, 1)
        self.eta_min = number("eta_min", eta_min, 0.0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        lr, base, T, t = self.optimizer.lr, self.base_lrs[0], self.T_max, self.last_epoch
        if self._is_initial:
            return [lr]
        if self._step_count == 1 and t > 0:
            return [self.eta_min + (base - self.eta_min) * (1 + math.cos(t * math.pi / T)) / 2]
        if (t - 1 - T) % (2 * T) == 0:
            return [lr + (base - self.eta_min) * (1 - math.cos(math.pi / T)) / 2]
        return [(1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
                * (lr - self.eta_min) + self.eta_min]


class LinearLR(LRScheduler):
    """Scale lr by a factor moving linearly from ``start_factor`` to ``end_factor`` over
    ``total_iters`` steps (torch's multiplicative recursion).

    Parameters
    ----------
    optimizer : fastlin Optimizer
    start_factor : float in (0, 1], default 1/3
    end_factor : float in [0, 1], default 1
    total_iters : int >= 1, default 5
    last_epoch : int, default -1
    """

    _state_keys = ("start_factor", "end_factor", "total_iters")

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5,
                 last_epoch=-1):
        self.start_factor = number("start_factor", start_factor, 0.0, 1.0, low_open=True)
        self.end_factor = number("end_factor", end_factor, 0.0, 1.0)
        self.total_iters = integer("total_iters", total_iters, 1)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        lr = self.optimizer.lr
        if self.last_epoch == 0:
            return [lr * self.start_factor]
        if self._is_initial or self.last_epoch > self.total_iters:
            return [lr]
        d = self.end_factor - self.start_factor
        return [lr * (1.0 + d / (self.total_iters * self.start_factor
                                 + (self.last_epoch - 1) * d))]


class OneCycleLR(LRScheduler):
    """The 1cycle policy, stepped after every batch: lr rises from max_lr/div_factor to
    ``max_lr`` over the first ``pct_start`` of the steps, then falls to
    max_lr/(div_factor*final_div_factor) (torch's OneCycleLR, same defaults).

    Parameters
    ----------
    optimizer : fastlin Optimizer
    max_lr : float > 0 (or a one-element list)
    total_steps : int >= 1, or None with ``epochs`` and ``steps_per_epoch``
    epochs, steps_per_epoch : int >= 1, used when total_steps is None
    pct_start : float in [0, 1], default 0.3
    anneal_strategy : "cos" (default) or "linear"
    cycle_momentum : bool, default True
        Cycle the momentum inversely to lr between ``max_momentum`` and ``base_momentum``, as
        torch does: SGD's ``momentum`` (an SGD built without momentum gets its velocity
        buffers here, and momentum from then on, as torch's does) or Adam/AdamW's beta1.
    base_momentum, max_momentum : float in [0, 1), defaults 0.85 and 0.95
    div_factor : float > 0, default 25
    final_div_factor : float > 0, default 1e4
    three_phase : bool, default False
    last_epoch : int, default -1 (counts batches)

    As in torch, ``total_steps`` steps may follow construction; the last one sets the lr
    for a batch that does not exist. With ``anneal_strategy="linear"`` torch makes that lr
    slightly negative; fastlin clamps it at 0 (the only value that differs from torch).
    """

    per_batch = True
    _state_keys = ("total_steps", "_schedule_phases", "anneal_strategy", "cycle_momentum",
                   "use_beta1", "initial_lr", "max_lr", "min_lr", "max_momentum",
                   "base_momentum")

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
                 pct_start=0.3, anneal_strategy="cos", cycle_momentum=True,
                 base_momentum=0.85, max_momentum=0.95, div_factor=25.0,
                 final_div_factor=1e4, three_phase=False, last_epoch=-1):
        from fastlin.optim import SGD, Adam
        _check_optimizer(optimizer)
        if total_steps is not None:
            self.total_steps = integer("total_steps", total_steps, 1)
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = (integer("epochs", epochs, 1)
                                * integer("steps_per_epoch", steps_per_epoch, 1))
        else:
            raise ValueError("OneCycleLR needs total_steps, or epochs and steps_per_epoch")
        pct_start = number("pct_start", pct_start, 0.0, 1.0)
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must be 'cos' or 'linear', got "
                             f"{anneal_strategy!r}")
        self.anneal_strategy = anneal_strategy
        max_lr = _one_value("max_lr", max_lr, 0.0)
        div_factor = number("div_factor", div_factor, 0.0, low_open=True)
        final_div_factor = number("final_div_factor", final_div_factor, 0.0, low_open=True)
        self.cycle_momentum = bool(cycle_momentum)
        self.use_beta1 = isinstance(optimizer, Adam)
        if self.cycle_momentum:
            if not isinstance(optimizer, SGD) and not self.use_beta1:
                raise ValueError(f"OneCycleLR(cycle_momentum=True) needs an optimizer with "
                                 f"momentum or beta1, not {type(optimizer).__name__}")
            self.max_momentum = _one_value("max_momentum", max_momentum)
            self.base_momentum = _one_value("base_momentum", base_momentum)
            for name, value in (("max_momentum", self.max_momentum),
                                ("base_momentum", self.base_momentum)):
                if value >= 1.0:
                    raise ValueError(f"{name} must be < 1, got {value}")
        else:
            self.max_momentum = self.base_momentum = None
        last_epoch = integer("last_epoch", last_epoch, -1)

        n = self.total_steps
        if three_phase:
            self._schedule_phases = [
                {"end_step": float(pct_start * n) - 1, "start_lr": "initial_lr",
                 "end_lr": "max_lr", "start_momentum": "max_momentum",
                 "end_momentum": "base_momentum"},
                {"end_step": float(2 * pct_start * n) - 2, "start_lr": "max_lr",
                 "end_lr": "initial_lr", "start_momentum": "base_momentum",
                 "end_momentum": "max_momentum"},
                {"end_step": n - 1, "start_lr": "initial_lr", "end_lr": "min_lr",
                 "start_momentum": "max_momentum", "end_momentum": "max_momentum"},
            ]
        else:
            self._schedule_phases = [
                {"end_step": float(pct_start * n) - 1, "start_lr": "initial_lr",
                 "end_lr": "max_lr", "start_momentum": "max_momentum",
                 "end_momentum": "base_momentum"},
                {"end_step": n - 1, "start_lr": "max_lr", "end_lr": "min_lr",
                 "start_momentum": "base_momentum", "end_momentum": "max_momentum"},
            ]
        self.initial_lr = max_lr / div_factor
        self.max_lr = max_lr
        self.min_lr = self.initial_lr / final_div_factor
        if self.cycle_momentum and isinstance(optimizer, SGD) and optimizer.momentum == 0 and (
                last_epoch == -1 or getattr(optimizer, "initial_lr", None) is not None):
            # torch gives an SGD built without momentum the cycled momentum too; here it needs
            # the velocity buffers first (zeros: torch's first step starts the buffer at the
            # gradient, as momentum * 0 + gradient does)
            optimizer._add_velocity()
        if last_epoch == -1:
            optimizer.initial_lr = self.initial_lr
            if self.cycle_momentum:
                self._set_momentum(optimizer, self.max_momentum)
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, optimizer, value):
        if self.use_beta1:
            optimizer.betas = (value,) + tuple(optimizer.betas[1:])
        else:
            optimizer.momentum = value

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def _check_can_step(self):
        if self.last_epoch + 1 > self.total_steps:
            raise ValueError(f"Tried to step {self.last_epoch + 1} times. The specified number "
                             f"of total steps is {self.total_steps}")

    def get_lr(self):
        step_num = self.last_epoch
        start_step = 0.0
        phases = self._schedule_phases
        for i, phase in enumerate(phases):
            end_step = phase["end_step"]
            if step_num <= end_step or i == len(phases) - 1:
                pct = (step_num - start_step) / (end_step - start_step)
                lr = self._anneal(getattr(self, phase["start_lr"]),
                                  getattr(self, phase["end_lr"]), pct)
                # torch allows one step past the end (step total_steps, after the last
                # batch); there linear annealing overshoots below zero, which no optimizer
                # accepts: that lr, never used for a batch, is clamped at 0
                lr = max(lr, 0.0)
                if self.cycle_momentum:
                    self._set_momentum(self.optimizer, self._anneal(
                        getattr(self, phase["start_momentum"]),
                        getattr(self, phase["end_momentum"]), pct))
                return [lr]
            start_step = phase["end_step"]

    def _encode(self, key, value):
        if key == "_schedule_phases":
            return [dict(p) for p in value]
        return super()._encode(key, value)


def _on_plateau(name, to_plateau=None, from_plateau=None):
    """An attribute kept on the scheduler's Plateau, converted to and from torch's terms."""
    def get(self):
        value = getattr(self._plateau, name)
        return value if from_plateau is None else from_plateau(value)

    def set(self, value):
        setattr(self._plateau, name, value if to_plateau is None else to_plateau(value))
    return property(get, set)


class ReduceLROnPlateau(LRScheduler):
    """Multiply lr by ``factor`` when a metric has not improved for ``patience`` steps
    (torch's ReduceLROnPlateau: same arguments, same counters, same float arithmetic).

    Parameters
    ----------
    optimizer : fastlin Optimizer
    mode : "min" (default) or "max"
    factor : float in [0, 1), default 0.1
    patience : int >= 0, default 10
    threshold : float >= 0, default 1e-4
    threshold_mode : "rel" (default: better than best*(1 -/+ threshold)) or "abs"
        (best -/+ threshold)
    cooldown : int >= 0, default 0; steps after a reduction during which bad epochs are ignored
    min_lr : float >= 0 (or a one-element list), default 0
    eps : float >= 0, default 1e-8; a reduction smaller than eps is skipped
    monitor : str, default "val_loss" (fastlin addition): the logs key ``fit`` passes to
        ``step``

    ``step(metrics)`` takes the metric's value for this epoch.
    """

    _state_keys = ("mode", "factor", "patience", "threshold", "threshold_mode", "cooldown",
                   "min_lrs", "eps", "best", "num_bad_epochs", "cooldown_counter", "monitor")
    _base_keys = ("last_epoch", "_last_lr")

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0.0, eps=1e-8, monitor="val_loss"):
        _check_optimizer(optimizer)
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        if not isinstance(monitor, str) or not monitor:
            raise TypeError(f"monitor must be a logs key (a non-empty str), got {monitor!r}")
        self._plateau = Plateau(mode == "max", 0.0, threshold_mode == "rel", 1, 0,
                                count_cooldown_end=False)
        self.factor = number("factor", factor, 0.0, 1.0, high_open=True)
        self.patience = integer("patience", patience, 0)
        self.threshold = number("threshold", threshold, 0.0)
        self.cooldown = integer("cooldown", cooldown, 0)
        self.min_lrs = [_one_value("min_lr", min_lr)]
        self.eps = number("eps", eps, 0.0)
        self.mode, self.threshold_mode, self.monitor = mode, threshold_mode, monitor
        self.optimizer = optimizer
        self.last_epoch = 0
        self._last_lr = [float(optimizer.lr)]
        self._reset()

    def _reset(self):
        self._plateau.reset()

    # the counters and the rule live in the shared plateau arithmetic; these names are torch's
    best = _on_plateau("best")
    num_bad_epochs = _on_plateau("bad_steps")
    cooldown_counter = _on_plateau("cooldown_counter")
    threshold = _on_plateau("threshold")
    cooldown = _on_plateau("cooldown")
    mode = _on_plateau("maximize", lambda mode: mode == "max", lambda up: "max" if up else "min")
    threshold_mode = _on_plateau("relative", lambda tm: tm == "rel",
                                 lambda rel: "rel" if rel else "abs")
    # torch reduces after patience + 1 bad epochs, the plateau at its patience-th
    patience = _on_plateau("patience", lambda n: n + 1, lambda n: n - 1)

    @property
    def in_cooldown(self):
        return self._plateau.in_cooldown

    def _is_better(self, a, best):
        return self._plateau.is_better(a, best)

    def step(self, metrics):
        """Record this step's metric value and reduce lr when it has plateaued."""
        try:
            current = float(metrics)
        except (TypeError, ValueError):
            raise TypeError(f"metrics must be a real number, got {metrics!r}") from None
        self.last_epoch += 1
        if self._plateau.update(current):
            old_lr = float(self.optimizer.lr)
            new_lr = max(old_lr * self.factor, self.min_lrs[0])
            if old_lr - new_lr > self.eps:
                self.optimizer.lr = new_lr
            self._plateau.start_cooldown()
        self._last_lr = [float(self.optimizer.lr)]
