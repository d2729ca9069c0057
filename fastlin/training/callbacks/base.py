"""The Callback hooks and CallbackList, the one dispatcher fit calls them through."""


def optimizer_of(model, who):
    opt = getattr(model, "optimizer", None)
    if opt is None:
        raise RuntimeError(f"{who} needs model.optimizer (fit sets it); the model has none")
    return opt


class Callback:
    """Base class: override any of the hooks. ``self.model`` is the model being trained.

    Examples
    --------
    >>> class StopAtLoss(Callback):
    ...     def on_epoch_end(self, epoch, logs=None):
    ...         if logs["loss"] < 0.1:
    ...             self.model.stop_training = True
    """

    model = None
    params = None

    def set_model(self, model):
        """Called by ``fit`` before training with the model being trained (``self.model``)."""
        self.model = model

    def set_params(self, params):
        """Called by ``fit`` before training with Keras's ``params``: {"verbose": 0 or 1,
        "epochs": the epochs asked for, "steps": batches per epoch} (``self.params``)."""
        self.params = params

    def on_train_begin(self, logs=None):
        """Called once when ``fit`` starts; `logs` is a dict (empty today)."""

    def on_train_end(self, logs=None):
        """Called once when ``fit`` ends, also after an early stop; `logs` holds the last
        epoch's values."""

    def on_epoch_begin(self, epoch, logs=None):
        """Called before each epoch; `epoch` counts from 0, as in Keras."""

    def on_epoch_end(self, epoch, logs=None):
        """Called after each epoch with its `logs`: ``"loss"``, ``"learning_rate"`` and, when
        computed, ``"accuracy"``, ``"val_loss"``, ``"val_accuracy"``. Setting
        ``self.model.stop_training = True`` here ends training after this epoch.

        Parameters
        ----------
        epoch : int, 0-based
        logs : dict of str to float

        Examples
        --------
        >>> import fastlin, numpy as np
        >>> class Record(Callback):
        ...     def on_epoch_end(self, epoch, logs=None):
        ...         print(epoch, sorted(logs))
        >>> model = fastlin.Sequential(fastlin.Dense(2, 1), seed=0)
        >>> _ = model.fit(np.ones((4, 2)), np.ones(4), epochs=1, callbacks=[Record()])
        0 ['learning_rate', 'loss', 'lr']
        """

    def on_train_batch_begin(self, batch, logs=None):
        """Called before each batch (Keras's hook); `batch` counts from 0 within the epoch.
        Overriding it (or ``on_train_batch_end``) makes ``fit`` report every batch, so the
        compiled loop runs one batch per call."""

    def on_train_batch_end(self, batch, logs=None):
        """Called after each batch with `logs`: ``"loss"``, the epoch's mean loss so far, and
        ``"accuracy"`` so far for a classification loss (as Keras's running values). Setting
        ``self.model.stop_training = True`` here ends training after this batch."""


HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end")


def _has_own(callback, hook):
    """True when `callback` has a callable `hook` other than Callback's empty one (a class
    attribute compared first: every fit call asks this of every callback)."""
    if isinstance(callback, Callback) and getattr(type(callback), hook) is getattr(Callback, hook) \
            and hook not in getattr(callback, "__dict__", ()):
        return False
    return callable(getattr(callback, hook, None))


def _admit(i, callback):
    """A Callback, or any object with the four hooks (fit has always taken those)."""
    missing = [h for h in HOOKS if not callable(getattr(callback, h, None))]
    if missing:
        raise TypeError(f"callbacks[{i}] is a {type(callback).__name__}, not a "
                        f"fastlin.callbacks.Callback: it lacks the Callback hooks "
                        f"({', '.join(missing)}); subclass fastlin.callbacks.Callback")
    return callback


class CallbackList:
    """Several callbacks called in order, as one. ``fit`` dispatches every hook through one,
    which holds fit's own callbacks (History, the progress bar, early stopping, the
    scheduler's step) beside the user's.

    Parameters
    ----------
    callbacks : a Callback, an iterable of them, or None. Any object with the four hooks
        (``on_train_begin/end``, ``on_epoch_begin/end``) is taken; others raise TypeError.
    model : the model to attach (``set_model``), optional
    """

    def __init__(self, callbacks=None, model=None):
        if callbacks is None:
            callbacks = []
        elif all(hasattr(callbacks, h) for h in HOOKS):
            callbacks = [callbacks]
        elif isinstance(callbacks, (str, bytes)) or not hasattr(callbacks, "__iter__"):
            raise TypeError(f"callbacks must be a list of Callback objects, got "
                            f"{type(callbacks).__name__}")
        self.callbacks = [_admit(i, cb) for i, cb in enumerate(callbacks)]
        self.model = None
        self._dispatch = {}
        if model is not None:
            self.set_model(model)

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self):
        return len(self.callbacks)

    def append(self, callback):
        """Add `callback` after the others (TypeError if it lacks the Callback hooks)."""
        self.callbacks.append(_admit(len(self.callbacks), callback))
        self._dispatch = {}
        if self.model is not None:
            self._attach(callback)

    def _attach(self, callback):
        if callable(getattr(callback, "set_model", None)):
            callback.set_model(self.model)
        else:
            callback.model = self.model

    def set_model(self, model):
        """Give `model` to every callback held."""
        self.model = model
        for cb in self.callbacks:
            self._attach(cb)

    def set_params(self, params):
        """Give Keras's ``params`` dict to every callback held (to those without
        ``set_params`` as their ``params`` attribute)."""
        for cb in self.callbacks:
            if isinstance(cb, (Callback, CallbackList)):
                cb.set_params(params)
            elif not hasattr(cb, "params"):  # (another object's own params are left alone)
                try:
                    cb.params = params
                except (AttributeError, TypeError):
                    pass  # an object fit has always taken, without room for it

    def on_train_begin(self, logs=None):
        """Call each callback's hook of the same name, in order."""
        for cb in self.callbacks:
            cb.on_train_begin(logs)

    def on_train_end(self, logs=None):
        """Call each callback's hook of the same name, in order."""
        for cb in self.callbacks:
            cb.on_train_end(logs)

    def on_epoch_begin(self, epoch, logs=None):
        """Call each callback's hook of the same name, in order."""
        for cb in self._acting("on_epoch_begin"):
            cb.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        """Call each callback's hook of the same name, in order."""
        for cb in self._acting("on_epoch_end"):
            cb.on_epoch_end(epoch, logs)

    def _acting(self, hook):
        """The callbacks whose `hook` is not Callback's empty one, kept until one is added:
        the per-epoch and per-batch hooks are called only on those, so a small model's epochs
        do not pay for hooks that do nothing."""
        acting = self._dispatch.get(hook)
        if acting is None:
            acting = self._dispatch[hook] = [cb for cb in self.callbacks if _has_own(cb, hook)]
        return acting

    # fit's own callbacks also follow the batches: the progress bar, a per-batch rate
    # schedule. The compiled loop reports once per chunk of batches (one batch when a
    # callback needs every one), so users' callbacks, which run between epochs unless they
    # have Keras's batch hooks, do not slow it.
    def batch_followers(self):
        """The callbacks that follow batches (those with an ``on_batches_end`` method)."""
        return [cb for cb in self.callbacks if callable(getattr(cb, "on_batches_end", None))]

    def needs_every_batch(self):
        """True when a callback needs a report after every batch (``every_batch``, or a
        Keras batch hook of its own)."""
        return any(getattr(cb, "every_batch", False) for cb in self.callbacks) or any(
            self.batch_hooks())

    def batch_hooks(self):
        """(callbacks with their own ``on_train_batch_begin``, those with their own
        ``on_train_batch_end``): objects without the hooks, which fit has always taken, count
        as having neither."""
        return self._acting("on_train_batch_begin"), self._acting("on_train_batch_end")
