"""Sequential models and MLP: layers in order, their forward, backward and inference (fit
hands over to fastlin/training).

A Dense layer followed by an activation layer runs as one fused kernel call (GEMM, then bias
and activation in a single pass over the output). ``fit`` draws each epoch's order with a
compiled Fisher-Yates shuffle and gathers each minibatch into a reused buffer with
``np.take(..., out=)``; together with the layers', the loss's and the optimizer's preallocated
buffers, a warmed-up training step allocates no arrays.
"""
import threading

import numpy as np

from fastlin import _checks, _interrupt, _sparse, training
from fastlin._model_habits import ModelHabits
from fastlin.backend import get as get_backend
from fastlin.layers import ACTIVATION_LAYERS, Activation, Dense, Layer, PReLU, _as_dtype
from fastlin.training import labels, targets
from fastlin.training import metrics as fit_metrics
from fastlin.training.callbacks.history import History  # noqa: F401  (public here too)
from fastlin.training.loop import NonFiniteLossError  # noqa: F401  (public here too)

PREDICT_BATCH = 4096
# inference buffers a thread keeps between calls (larger ones are freed after the call)
SCRATCH_KEEP_BYTES = 1 << 20
# longest stretch of compiled training between two checks for Ctrl-C (SPEC: stop within 1 s)
CHECK_SECONDS = 0.05


def _block_rows(batch_size):
    """Rows per block of predict and evaluate: Keras's batch_size, PREDICT_BATCH by default."""
    return PREDICT_BATCH if batch_size is None else _checks.positive_int("batch_size", batch_size)


class Sequential(ModelHabits):
    """A stack of layers applied in order (Keras's and torch's conveniences, such as
    ``model[i]``, ``get_weights``, ``compile`` and ``state_dict``, come from ModelHabits).

    Parameters
    ----------
    *layers : Layer
    dtype : "float32" (default) or "float64"
    seed : int or None. With a seed every layer is re-initialised, in order, from one generator
        seeded with it (and so is every layer ``add`` appends later, from the same generator);
        with None the layers keep the weights they have.
    backend : "cython" (default) or "numpy"
    """

    def __init__(self, *layers, dtype="float32", seed=None, backend="cython"):
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layer {i} is a {type(layer).__name__}, not a fastlin Layer")
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
        # the generator of a seeded model's weights, continued by add()
        self._init_rng = None if seed is None else np.random.default_rng(seed)
        if seed is not None:
            for layer in self.layers:
                layer.reset_parameters(self._init_rng)
        self._training = True       # torch's Module.training; train()/eval() set it
        self.loss_ = None
        self.optimizer = None       # the optimizer of the last fit, continued by the next
        self.stop_training = False  # a callback sets it to end fit after this epoch (batch)
        self._fit_rng = None        # the shuffle stream, continued across fits
        self.history_ = None
        self.metadata = None

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_local", None)  # per-thread inference buffers
        state.pop("_compiled_loop", None)  # fit's kept plan: C pointers, rebuilt on demand
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
    @staticmethod
    def _stack_class():
        return Sequential

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
        """The number of trainable scalars, as Keras's ``count_params``.

        Examples
        --------
        >>> import fastlin
        >>> fastlin.MLP([4, 8, 2]).count_params()   # 4*8 + 8 + 8*2 + 2
        58
        """
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
        # (exactly ndarray: a subclass such as a masked array goes through the full check)
        if type(X) is np.ndarray and X.dtype == self.dtype and X.ndim == 2 \
                and X.flags.c_contiguous and X.flags.aligned and X.shape[1] == n_in:
            if X.shape[0] == 0:
                raise ValueError("X is empty (shape (0, ...)); need at least one sample")
            if not _checks.all_finite(X):
                raise ValueError("X contains NaN or infinity")
            return X
        if _sparse.issparse(X):
            if n_in is None:
                raise TypeError("a model without a Dense layer takes dense X only (its first "
                                "layer has no sparse product); convert with X.toarray()")
            return _sparse.check_X(X, n_in, self.dtype)
        # (n_in None: no Dense layer, so the model takes any width, as torch's does)
        return _checks.check_X(X, n_in, self.dtype)

    def _output_width(self, X):
        """The width of the output for the checked X: the last Dense layer's, or X's own
        when no layer changes it (a model of activation layers only)."""
        n_outputs = self.n_outputs
        return X.shape[1] if n_outputs is None else n_outputs

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
        self._training = bool(mode)
        return self

    def eval(self):
        """Evaluation mode: Dropout is the identity in ``forward`` too. (``predict`` and
        ``evaluate`` never drop, in either mode.)"""
        return self.train(False)

    @property
    def training(self):
        """True in training mode (the default, as torch's), False after ``eval()``; assigning
        it is ``train(value)``."""
        mode = self.__dict__.get("_training")
        if mode is None:  # a model pickled before the flag: False when a Dropout is in eval
            return all(getattr(layer, "training", True) for layer in self.layers)
        return mode

    @training.setter
    def training(self, mode):
        self.train(mode)

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
        """This thread's inference buffers: {layer index: array of at least the rows needed}.
        Threads never share them, so concurrent predicts cannot see each other's intermediate
        results."""
        local = self.__dict__.get("_local")
        if local is None:
            local = self.__dict__.setdefault("_local", threading.local())
        pool = getattr(local, "pool", None)
        if pool is None or pool[0] is not self.dtype:
            pool = local.pool = (self.dtype, {})
        return pool[1]

    def _trim_scratch(self):
        """After a call: a thread keeps its buffers only while they are small (the one-row
        predicts of a service reuse them), so many long-lived threads predicting large blocks
        do not each hold a model's worth of activations."""
        pool = self._scratch()
        if sum(a.nbytes for a in pool.values()) > SCRATCH_KEEP_BYTES:
            pool.clear()

    def _infer(self, X, out, first=0):
        """The network from layer `first` on applied to the checked X, its output written into
        `out` (C-contiguous, (len(X), n_outputs)). Reads the parameters and nothing else of the
        layers' state."""
        pool = self._scratch()
        n = X.shape[0]
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
                dest = pool.get(end)
                if dest is None or dest.shape[1] != width or dest.shape[0] < n:
                    dest = pool[end] = np.empty((n, width), self.dtype)
                dest = dest[:n]
            h = layer.infer_fused(h, layers[i + 1], dest) if fused else layer.infer(h, dest)
            i = end + 1
        return out

    def predict(self, X, *, batch_size=None, verbose=0):
        """Network output for X, as a new array the caller owns.

        Thread-safe: each call works in its own buffers and reads only the parameters, so
        many threads may predict with one model at once, and beside ``fit``. Rows are taken
        ``batch_size`` (default PREDICT_BATCH) at a time, so Ctrl-C is honoured between blocks
        of a huge input. ``batch_size`` and ``verbose`` are Keras's keywords: the first sets
        the block, the second is accepted and prints nothing (predict never prints)."""
        block = _block_rows(batch_size)
        X = self._check_input(X)
        if _sparse.issparse(X):
            return _sparse.predict(self, X)
        out = np.empty((X.shape[0], self._output_width(X)), self.dtype)
        for start in range(0, X.shape[0], block):
            stop = min(start + block, X.shape[0])
            self._infer(X[start:stop], out[start:stop])
        self._trim_scratch()
        return out

    def predict_proba(self, X, *, batch_size=None, verbose=0):
        """Class probabilities: softmax of the outputs, or sigmoid for a single output (the
        keywords as ``predict``'s)."""
        logits = self.predict(X, batch_size=batch_size)
        if logits.shape[1] == 1:
            return self.backend.activation_forward(logits, "sigmoid", out=logits)
        return self.backend.softmax(logits, out=logits)

    def predict_classes(self, X, *, batch_size=None, verbose=0):
        """Predicted class index per sample (argmax, or logit > 0 for a single output); the
        labels themselves, from ``classes_``, after a fit on non-numeric labels (the keywords
        as ``predict``'s)."""
        logits = self.predict(X, batch_size=batch_size)
        if logits.shape[1] == 1:
            index = (logits[:, 0] > 0).astype(np.int64)
        else:
            index = np.argmax(logits, axis=1)
        classes = getattr(self, "classes_", None)
        return index if classes is None else classes[index]

    def evaluate(self, X, y, loss=None, sample_weight=None, metrics=None, *, batch_size=None,
                 verbose=0):
        """Mean loss on (X, y) and, for classification losses, accuracy. ``loss`` None takes
        the loss given to ``compile``, else the last fit's, else one inferred as fit does.

        metrics : names among "accuracy", "mae", "mse" (or Keras's "acc",
            "mean_absolute_error", "mean_squared_error"; fastlin/training/metrics.py), each
            reported under its name; None takes ``model.compiled_metrics`` when set
        batch_size, verbose : Keras's keywords, as ``predict``'s (rows per block; nothing is
            printed)

        Returns
        -------
        dict with "loss" (and "accuracy", and each metric asked for)
        """
        block = _block_rows(batch_size)
        X = self._check_input(X)
        y = labels.encode_known(self, y)
        loss = targets.resolve_loss(self, self._compiled_arguments(loss, None)[0], y)
        metrics = fit_metrics.resolve(
            getattr(self, "compiled_metrics", None) if metrics is None else metrics, loss)
        n_outputs = self._output_width(X)
        target = targets.prepare_target(self, loss, y, X.shape[0], n_outputs)
        sw = _checks.check_sample_weight(sample_weight, X.shape[0], self.dtype)
        loss = loss._private_copy()  # its gradient buffer may be in use by a fit
        # each block's mean is weighted by its denominator (with a class-weighted loss that is
        # Σ sample_weight·class_weight[label], not the sample count), so blocks of rows add up
        # to the mean over all rows
        row_weight = targets.row_weights(loss, target, sw, n_outputs, refuse_none_as="samples'")
        total, weight, correct, errors = 0.0, 0.0, 0.0, np.zeros(2)
        out_buffer = np.empty((min(block, X.shape[0]), n_outputs), self.dtype)
        for start in range(0, X.shape[0], block):
            stop = min(start + block, X.shape[0])
            if _sparse.issparse(X):
                out = _sparse.predict(self, X[start:stop])
            else:
                out = self._infer(X[start:stop], out_buffer[:stop - start])
            swb = None if sw is None else sw[start:stop]
            w = (stop - start) if row_weight is None else float(row_weight[start:stop].sum())
            if w > 0:  # (a block of zero weight adds nothing to the mean)
                total += loss.forward(out, target[start:stop], sample_weight=swb) * w
                weight += w
            if targets.is_classification(loss):
                correct += targets.count_correct(out, target[start:stop], loss)
            if fit_metrics.wants_errors(metrics):
                errors += fit_metrics.error_sums(out, target[start:stop], loss)
            _interrupt.check_pending()  # a validation pass inside fit stops at Ctrl-C too
        self._trim_scratch()
        result = {"loss": total / weight}
        if targets.is_classification(loss):
            result["accuracy"] = correct / X.shape[0]
        result.update(fit_metrics.values(metrics, *errors, X.shape[0] * n_outputs,
                                         result.get("accuracy")))
        return result

    def fit(self, X, y, loss=None, optimizer=None, epochs=10, batch_size=32, shuffle=True,
            seed=None, validation_data=None, validation_split=0.0, verbose=False,
            early_stopping=False, patience=5, min_delta=0.0, sample_weight=None,
            class_weight=None, lr=None, callbacks=None, scheduler=None, metrics=None):
        """Train with minibatches; returns a History (also kept as ``model.history_``).

        Parameters
        ----------
        X : array of shape (n_samples, n_features)
        y : labels of shape (n_samples,) for softmax cross-entropy, else targets of shape
            (n_samples,) or (n_samples, n_outputs). Non-numeric labels (strings, objects)
            are classes: their sorted unique values become ``model.classes_``, cross-entropy
            (binary cross-entropy for 2 classes on one output) is inferred, and
            ``predict_classes`` returns labels.
        loss : Loss or name in fastlin.losses.LOSSES ("mse", "bce", "cross_entropy", "l1",
            "huber", Keras's "mae", "sparse_categorical_crossentropy", ...). None takes the
            loss given to ``compile``, else keeps the loss of the previous fit, else infers
            one: cross-entropy for whole-number labels with several outputs, binary
            cross-entropy for integer 0/1 labels with one output, MSE otherwise.
        optimizer : Optimizer or name ("sgd", "adam", "adamw", "rmsprop", "adagrad"); None
            takes the one given to ``compile``, else "adam". A name builds the optimizer
            once and keeps it as ``model.optimizer``: a later fit with the same name continues
            it (its moments and step count), setting ``lr`` when given.
        epochs, batch_size : int (batch_size None: 32, as Keras)
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
            epoch loop stays in use), and around every batch when they have Keras's batch
            hooks; a callback may set ``model.stop_training = True``
        scheduler : a fastlin.optim.lr_scheduler scheduler of this fit's optimizer, stepped
            after every epoch (after every batch for OneCycleLR; ReduceLROnPlateau gets
            val_loss, or loss without validation data)
        metrics : list of names among "accuracy", "mae", "mse" (Keras's, or its "acc",
            "mean_absolute_error", "mean_squared_error"), each logged under
            its name (and ``val_`` + name); computed from each batch's outputs during the
            epoch, in the compiled loop too. None takes ``model.compiled_metrics`` when set.

        Ctrl-C stops training at the next batch boundary (within ~50 ms of compiled work) with
        KeyboardInterrupt; the weights are those after the last whole batch and
        ``model.history_`` holds the epochs that finished.

        Raises
        ------
        NonFiniteLossError (a FloatingPointError) when a batch loss is NaN or infinite; it names
        the epoch and batch, and the weights are left at their last finite values.
        """
        loss, optimizer = self._compiled_arguments(loss, optimizer)
        return training.fit(self, X, y, loss, optimizer, epochs, batch_size, shuffle, seed,
                            validation_data, validation_split, verbose, early_stopping,
                            patience, min_delta, sample_weight, class_weight, lr, callbacks,
                            scheduler, metrics)

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
