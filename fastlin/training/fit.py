"""fit, assembled: the arguments checked, the callbacks of this fit put in one CallbackList,
and the epoch loop run with the model in training mode, Ctrl-C deferred to batch boundaries
and the fit's thread policy in force."""
from fastlin import _checks, _interrupt
from fastlin.layers import Dropout
from fastlin.optim import OPTIMIZERS, Optimizer
from fastlin.training import data as fit_data
from fastlin.training import labels, runners, targets
from fastlin.training import metrics as fit_metrics
from fastlin.training.callbacks.base import CallbackList
from fastlin.training.callbacks.early_stopping import EarlyStopping
from fastlin.training.callbacks.history import History
from fastlin.training.callbacks.progress import ProgressBar
from fastlin.training.callbacks.schedules import SchedulerStep
from fastlin.training.loop import EpochLoop, ShuffleStream
from fastlin.training.threads import FitThreads


NAMED_DEFAULT_LR = {"sgd": 0.01}


def make_optimizer(model, optimizer, lr):
    """The optimizer a fit uses: the one given (over this model's parameters), or one by name,
    continuing ``model.optimizer`` when it is of that kind over the same arrays."""
    if isinstance(optimizer, Optimizer):
        # (a subset of the model's parameters is fine: the others stay frozen)
        mine = {id(p) for p in model.parameters()}
        if any(id(p) not in mine for p, _ in optimizer.param_groups):
            raise ValueError("the optimizer updates arrays that are not this model's "
                             "parameters (it would train nothing here): build it over "
                             "model.parameters()")
        if lr is not None:
            optimizer.lr = lr
        return optimizer
    if isinstance(optimizer, str) and optimizer.lower() in OPTIMIZERS:
        cls = OPTIMIZERS[optimizer.lower()]
        kept = getattr(model, "optimizer", None)
        params = model.parameters()
        if type(kept) is cls and kept.backend.name == model.backend_name \
                and len(kept.param_groups) == len(params) \
                and all(p is q for p, (q, _) in zip(params, kept.param_groups)):
            if lr is not None:
                kept.lr = lr
            return kept
        # by name, "sgd" keeps the 0.01 it always had (Keras's too), above the class's
        # torch default
        lr = NAMED_DEFAULT_LR.get(optimizer.lower()) if lr is None else lr
        kwargs = {} if lr is None else {"lr": lr}
        return cls(params, backend=model.backend_name, **kwargs)
    raise ValueError(f"unknown optimizer {optimizer!r}; pass an Optimizer or one of "
                     f"{', '.join(OPTIMIZERS)}")


def _logged_keys(loss, validation, metrics=()):
    keys = ["loss"] + (["accuracy"] if targets.is_classification(loss) else [])
    keys += [name for name in metrics if name not in keys]
    return keys + ([f"val_{k}" for k in keys] if validation is not None else [])


def _fit_callbacks(user, history, scheduler, verbose, early_stopping, patience, min_delta,
                   data, loss, epochs, batch_size, metrics=()):
    """fit's callbacks in the order they run: History, the progress bar, early stopping (so
    the best weights are back before the user's on_train_end), the user's, the scheduler."""
    own = [history]
    if verbose:
        n_batches = (data.n + batch_size - 1) // batch_size
        own.append(ProgressBar(epochs, n_batches, targets.is_classification(loss)))
    if early_stopping:
        stopper = EarlyStopping("val_loss" if data.validation is not None else "loss",
                                restore_best_weights=True)
        # fit's own arguments, taken as they always were (not the callback's checks)
        stopper.patience, stopper.min_delta = patience, min_delta
        own.append(stopper)
    step = []
    if scheduler is not None:
        step = [SchedulerStep(scheduler)]
        step[0].check_monitor(_logged_keys(loss, data.validation, metrics))
    callbacks = CallbackList(own + list(user) + step)
    callbacks.set_params({"verbose": int(bool(verbose)), "epochs": epochs,
                          "steps": (data.n + batch_size - 1) // batch_size})
    return callbacks


def run_epochs(model, data, opt, batch_size, orders, callbacks, make_runner, epochs, loss=None,
               user_callbacks=False, metrics=()):
    """The epochs of a fit whose arguments are checked: Ctrl-C deferred to batch boundaries and
    the fit's thread policy in force (a count set with set_num_threads governs its matrix
    products too, restored after; otherwise BLAS keeps its own count, which the guard lowers
    while another process competes for the cores). The scikit-learn MLPs train through this
    too, with their own runner, row order and callbacks (fastlin/sklearn/_mlp_stochastic.py)."""
    callbacks.set_model(model)
    threads = FitThreads()
    loop = None
    try:
        with _interrupt.deferred_interrupt() as interrupts:
            loop = EpochLoop(model, data, opt, batch_size, orders, callbacks, threads,
                             interrupts, make_runner, loss=loss, user_callbacks=user_callbacks,
                             metrics=metrics)
            loop.run(epochs)
    finally:
        if loop is not None:
            loop.runner.release()  # the model keeps a compiled plan, never the caller's data
        threads.restore()


def fit(model, X, y, loss=None, optimizer="adam", epochs=10, batch_size=32, shuffle=True,
        seed=None, validation_data=None, validation_split=0.0, verbose=False,
        early_stopping=False, patience=5, min_delta=0.0, sample_weight=None,
        class_weight=None, lr=None, callbacks=None, scheduler=None, metrics=None):
    """Sequential.fit (its docstring holds the parameters)."""
    if all(not layer.parameters() for layer in model.layers):
        raise ValueError("the model has no parameters to train: it has no Dense or PReLU layer "
                         "(add one with model.add)")
    y, validation_data, classes = labels.encode_fit(model, y, validation_data, loss)
    loss = targets.resolve_loss(model, loss, y)
    if metrics is None:
        metrics = getattr(model, "compiled_metrics", None)
    metrics = fit_metrics.resolve(metrics, loss)
    epochs = _checks.positive_int("epochs", epochs)
    # None is Keras's default batch, 32
    batch_size = 32 if batch_size is None else _checks.positive_int("batch_size", batch_size)
    data = fit_data.prepare(model, loss, X, y, sample_weight, class_weight, validation_data,
                            validation_split)
    user = CallbackList(callbacks)
    opt = make_optimizer(model, optimizer, lr)
    if scheduler is not None and getattr(scheduler, "optimizer", None) is not opt:
        raise ValueError("scheduler must be built over the optimizer this fit uses "
                         "(pass that optimizer as optimizer=)")
    history = History()
    cbs = _fit_callbacks(user, history, scheduler, verbose, early_stopping, patience,
                         min_delta, data, loss, epochs, batch_size, metrics)
    # every argument is checked: from here on the model changes
    model.optimizer, model.loss_, model.history_ = opt, loss, history
    labels.keep(model, classes)
    model.stop_training = False
    rng = model._shuffle_stream(seed)
    modes = [getattr(layer, "training", None) for layer in model.layers]
    model_mode = model.training
    model.train()
    batch_size = min(batch_size, data.n)
    has_dropout = any(isinstance(layer, Dropout) and layer.p > 0 for layer in model.layers)
    try:
        run_epochs(model, data, opt, batch_size, ShuffleStream(rng, data.n, shuffle, has_dropout),
                   cbs, lambda: runners.choose(model, data, loss, opt, batch_size,
                                               fit_metrics.wants_errors(metrics)), epochs,
                   loss=loss, user_callbacks=len(user) > 0, metrics=metrics)
    finally:
        model._training = model_mode
        for layer, mode in zip(model.layers, modes):
            if mode is not None:
                layer.training = mode
            if isinstance(layer, Dropout):
                layer._fit_seed = None
    return history
