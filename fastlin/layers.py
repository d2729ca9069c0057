"""Layers: Dense and the activations, each a thin object over the backend kernels.

Parameters and their gradients are plain NumPy arrays (``layer.W`` of shape (in, out),
``layer.b``, ``layer.dW``, ``layer.db``; ``PReLU.alpha``, ``PReLU.dalpha``). Assigning to a
parameter copies the values into the existing array, so optimizers that hold it stay valid.
Each layer keeps its output and input-gradient buffers per batch size, so once warmed up a
forward/backward pass allocates nothing. ``backward`` overwrites gradients (no accumulation).
"""
import numpy as np

from fastlin import _checks, _params
from fastlin.backend import get as get_backend
from fastlin.parallel.threads import for_activation, for_size
from fastlin.backend._validation import ACTIVATIONS, NEEDS_INPUT, USES_OUTPUT
from fastlin.init import initial_weights


def _as_dtype(dtype):
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64, got {dt}")
    return dt


class _Buffers:
    """Arrays reused across calls, one per (name, shape); at most two batch sizes are kept
    (the full batch and an epoch's last, shorter one)."""

    def __init__(self):
        self._store = {}

    def get(self, name, shape, dtype):
        key = (name, shape)
        buf = self._store.get(key)
        if buf is None or buf.dtype != dtype:
            if sum(1 for k in self._store if k[0] == name) >= 2:
                for k in [k for k in self._store if k[0] == name]:
                    del self._store[k]
            buf = self._store[key] = np.empty(shape, dtype)
        return buf

    def clear(self):
        self._store.clear()


def _ready(a, dtype, shape):
    """True when `a` can go straight to a kernel: an ndarray of `dtype`, C-contiguous, of
    `shape` (None entries match anything)."""
    return (type(a) is np.ndarray and a.dtype == dtype and a.flags.c_contiguous
            and a.flags.aligned and a.ndim == len(shape)
            and all(want is None or got == want for got, want in zip(a.shape, shape)))


def _as_ready(a, dtype, shape, name):
    """`a` as a C-contiguous array of `dtype` and `shape` (None entries match anything), copied
    only when needed; TypeError/ValueError naming `name` when it cannot be one."""
    if _ready(a, dtype, shape):
        return a
    if a is None or isinstance(a, (str, bytes)):
        raise TypeError(f"{name} must be an array of numbers, got {type(a).__name__}")
    arr = np.asarray(a)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{name} must hold numbers, got dtype {arr.dtype}")
    if arr.ndim != len(shape) or any(w is not None and g != w for g, w in zip(arr.shape, shape)):
        want = "(" + ", ".join("n" if w is None else str(w) for w in shape) + ")"
        raise ValueError(f"{name} must have shape {want}, got {arr.shape}")
    # "A": a misaligned buffer (a float view into bytes at an odd offset) is copied too
    return np.require(arr, dtype=dtype, requirements=["C", "A"])


class Layer:
    """Base class: forward(x) -> y, backward(grad_output) -> grad_input.

    Layers own their parameters and buffers, so their shapes and dtypes are known: a layer
    converts or rejects only its input (``_as_ready``) and then calls the backend's private
    ``_impl_*`` kernels, skipping the per-call validation of the public kernel functions (a few
    microseconds each)."""

    # Dropout and the like: the identity outside training
    passes_through_in_inference = False

    def __init__(self):
        self.dtype = np.dtype(np.float32)
        self.backend = get_backend()
        self._buffers = _Buffers()
        self._input = None

    def __call__(self, x):
        return self.forward(x)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_buffers"] = _Buffers()  # scratch, rebuilt on the next forward
        state["_input"] = None
        if "_output" in state:
            state["_output"] = None
        return state

    def __setstate__(self, state):
        # Arrays may come back read-only (joblib memmaps): take writeable copies, the same ones
        # an optimizer unpickled alongside takes (_params.writeable). They are new objects, so
        # register each parameter's gradient again for the optimizers.
        for key, value in state.items():
            if isinstance(value, np.ndarray):
                state[key] = _params.writeable(value)
        self.__dict__.update(state)
        for p, g in zip(self.parameters(), self.gradients()):
            _params.register(p, g)

    def parameters(self):
        """The layer's parameter arrays."""
        return []

    def infer(self, x, out):
        """Inference: this layer applied to `x` (ready for its kernel), written into `out`.
        Reads the parameters only, never the training buffers, so any number of threads may
        call it at once. Returns the result (`out`, or `x` for a layer that passes it through)."""
        raise NotImplementedError(f"{type(self).__name__} has no inference path")

    def gradients(self):
        """The gradient arrays, in the order of parameters()."""
        return []

    def reset_parameters(self, rng):
        """Draw fresh parameters from the Generator `rng` (no-op for parameter-free layers)."""

    def _set_backend(self, backend):
        self.backend = get_backend(backend)

    def _set_dtype(self, dtype):
        self.dtype = _as_dtype(dtype)
        self._buffers.clear()

    def get_config(self):
        """The constructor arguments that rebuild this layer: a dict of keyword arguments (what
        ``model.save`` stores; empty for parameter-free layers).

        Examples
        --------
        >>> import fastlin
        >>> fastlin.Dense(3, 2, bias=False).get_config()
        {'in_features': 3, 'out_features': 2, 'bias': False, 'init': 'he'}
        """
        return {}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class _ParamDescriptor:
    """A parameter attribute: reads return the array, assignments copy into it in place."""

    def __set_name__(self, owner, name):
        self.name = "_" + name
        self.public = name

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        return getattr(obj, self.name)

    def __set__(self, obj, value):
        current = getattr(obj, self.name, None)
        if current is None:
            # only a Dense built with bias=False has no b: predict would add one that fit
            # never trains and save never writes
            if value is None:
                return
            raise ValueError(f"this {type(obj).__name__} has no {self.public} to assign "
                             "(it was built with bias=False)")
        value = np.asarray(value)
        if value.shape != current.shape:
            raise ValueError(f"{self.public} must have shape {current.shape}, got {value.shape}")
        if value.dtype.kind not in "fiu":
            raise TypeError(f"{self.public} must be numeric, got dtype {value.dtype}")
        np.copyto(current, value, casting="unsafe")


class Dense(Layer):
    """Fully connected layer y = x @ W + b with W of shape (in_features, out_features).

    Parameters
    ----------
    in_features, out_features : int
    bias : bool, default True
    init : {"he", "glorot", "lecun", "uniform", "zeros"}, default "he"
    seed : int or None; None draws from a fresh generator
    dtype : float32 (default) or float64
    """

    W = _ParamDescriptor()
    b = _ParamDescriptor()

    def __init__(self, in_features, out_features, bias=True, init="he", seed=None,
                 dtype="float32"):
        super().__init__()
        self.in_features = _checks.positive_int("in_features", in_features)
        self.out_features = _checks.positive_int("out_features", out_features)
        self.use_bias = bool(bias)
        self.init = init
        self.dtype = _as_dtype(dtype)
        self._W = self._b = None
        self.reset_parameters(np.random.default_rng(seed))

    def reset_parameters(self, rng):
        W, b = initial_weights(self.init, self.in_features, self.out_features, rng)
        self._allocate(W, b)

    def _allocate(self, W, b):
        self._W = np.ascontiguousarray(W, dtype=self.dtype)
        self.dW = np.zeros_like(self._W)
        _params.register(self._W, self.dW)
        if self.use_bias:
            self._b = np.ascontiguousarray(b, dtype=self.dtype)
            self.db = np.zeros_like(self._b)
            _params.register(self._b, self.db)
        else:
            self._b = self.db = None

    def _set_dtype(self, dtype):
        dt = _as_dtype(dtype)
        if dt != self.dtype:
            self.dtype = dt
            self._allocate(self._W, self._b)
        super()._set_dtype(dt)

    def parameters(self):
        return [self._W, self._b] if self.use_bias else [self._W]

    def gradients(self):
        return [self.dW, self.db] if self.use_bias else [self.dW]

    def forward(self, x):
        """Compute ``x @ W + b`` for a batch, keeping `x` for :meth:`backward`.

        Parameters
        ----------
        x : array_like of shape (n_samples, in_features), converted to the layer's dtype

        Returns
        -------
        ndarray of shape (n_samples, out_features), the layer's buffer (the next call reuses it)

        Raises
        ------
        ValueError : if `x` does not have ``in_features`` columns.

        Examples
        --------
        >>> import fastlin
        >>> layer = fastlin.Dense(2, 1, dtype="float64")
        >>> layer.W, layer.b = [[1.0], [2.0]], [0.5]
        >>> layer.forward([[1.0, 1.0]])
        array([[3.5]])
        >>> layer.backward([[1.0]]), layer.db  # dW, db are stored on the layer
        (array([[1., 2.]]), array([1.]))
        """
        x = _as_ready(x, self.dtype, (None, self.in_features), "x")
        self._input = x
        out = self._buffers.get("out", (x.shape[0], self.out_features), self.dtype)
        self.backend._impl_dense_forward(x, self._W, self._b, 0, None, out, None,
                                         for_size(out.size, cheap=True))
        return out

    def forward_fused(self, x, act):
        """Forward through this layer and the activation layer `act` in one kernel call."""
        x = _as_ready(x, self.dtype, (None, self.in_features), "x")
        self._input = x
        n = x.shape[0]
        out = act._buffers.get("out", (n, self.out_features), self.dtype)
        preact = None
        if act.activation in NEEDS_INPUT or (act.activation == "leaky_relu" and act.alpha <= 0):
            preact = self._buffers.get("out", (n, self.out_features), self.dtype)
        self.backend._impl_dense_forward(x, self._W, self._b, act.code, act._alpha_arg(), out,
                                         preact, for_activation(act.code, out.size))
        act._input = preact
        act._output = out
        return out

    def infer(self, x, out):
        self.backend._impl_dense_forward(x, self._W, self._b, 0, None, out, None,
                                         for_size(out.size, cheap=True))
        return out

    def infer_fused(self, x, act, out):
        """Inference through this layer and the activation layer `act` in one kernel call."""
        self.backend._impl_dense_forward(x, self._W, self._b, act.code, act._alpha_arg(), out,
                                         None, for_activation(act.code, out.size))
        return out

    def backward(self, grad_output, need_input_grad=True):
        """Store the gradients of ``W`` and ``b`` in ``dW`` and ``db``; return the input's.

        Parameters
        ----------
        grad_output : array_like of shape (n_samples, out_features), d loss / d output
        need_input_grad : bool, default True; False skips the input's gradient (a first layer)

        Returns
        -------
        ndarray of shape (n_samples, in_features), or None without `need_input_grad`

        Raises
        ------
        RuntimeError : if no :meth:`forward` came first.
        """
        x = self._input
        if x is None:
            raise RuntimeError("backward called before forward")
        grad_output = _as_ready(grad_output, self.dtype, (x.shape[0], self.out_features),
                                "grad_output")
        dX = self._buffers.get("dx", x.shape, self.dtype) if need_input_grad else None
        self.backend._impl_dense_backward(x, self._W, grad_output, self.dW, self.db, dX)
        return dX

    def get_config(self):
        """See :meth:`Layer.get_config`."""
        return {"in_features": self.in_features, "out_features": self.out_features,
                "bias": self.use_bias, "init": self.init}


class Activation(Layer):
    """Elementwise activation layer; subclasses fix ``activation``."""

    activation = "identity"

    def __init__(self):
        super().__init__()
        self._output = None

    @property
    def code(self):
        return ACTIVATIONS[self.activation]

    def _alpha_arg(self):
        return None

    def forward(self, x):
        """Apply the activation elementwise to `x` (array_like, n_samples x n_features); return
        the result, of `x`'s shape, in the layer's buffer (the next call reuses it).

        Examples
        --------
        >>> import fastlin
        >>> relu = fastlin.ReLU()
        >>> relu.forward([[-1.0, 2.0]])
        array([[0., 2.]], dtype=float32)
        >>> relu.backward([[1.0, 1.0]])
        array([[0., 1.]], dtype=float32)
        """
        x = _as_ready(x, self.dtype, (None, None), "x")
        self._input = x
        out = self._buffers.get("out", x.shape, x.dtype)
        self.backend._impl_activation_forward(x, self.code, self._alpha_arg(), out,
                                              for_activation(self.code, out.size))
        self._output = out
        return out

    def infer(self, x, out):
        self.backend._impl_activation_forward(x, self.code, self._alpha_arg(), out,
                                              for_activation(self.code, out.size))
        return out

    def backward(self, grad_output, need_input_grad=True):
        """The gradient with respect to the input of the last :meth:`forward`: an array of
        `grad_output`'s shape (`need_input_grad` is accepted for a uniform signature).

        Raises
        ------
        RuntimeError : if no :meth:`forward` came first.
        """
        if self._output is None:
            raise RuntimeError("backward called before forward")
        x = self._input if self.activation not in USES_OUTPUT else None
        y = self._output if (x is None or self.activation in USES_OUTPUT) else None
        grad_output = _as_ready(grad_output, self.dtype, self._output.shape, "grad_output")
        gx = self._buffers.get("dx", grad_output.shape, grad_output.dtype)
        self.backend._impl_activation_backward(grad_output, self.code, x, y, self._alpha_arg(),
                                               gx, self._dalpha_arg(),
                                               for_activation(self.code, gx.size))
        return gx

    def _dalpha_arg(self):
        return None


class Identity(Activation):
    """y = x."""
    activation = "identity"


class ReLU(Activation):
    """y = max(x, 0)."""
    activation = "relu"


class Sigmoid(Activation):
    """y = 1 / (1 + exp(-x))."""
    activation = "sigmoid"


class Tanh(Activation):
    """y = tanh(x)."""
    activation = "tanh"


class Abs(Activation):
    """y = abs(x), elementwise."""
    activation = "abs"


class LeakyReLU(Activation):
    """max(x, 0) + alpha * min(x, 0) with a fixed slope alpha (default 0.01)."""

    activation = "leaky_relu"

    def __init__(self, alpha=0.01):
        super().__init__()
        alpha = float(alpha)
        if not np.isfinite(alpha):
            raise ValueError(f"alpha must be finite, got {alpha}")
        self.alpha = alpha

    def _alpha_arg(self):
        cached = getattr(self, "_alpha_array", None)
        if cached is None or cached.dtype != self.dtype or cached[0] != self.alpha:
            cached = self._alpha_array = np.array([self.alpha], dtype=self.dtype)
        return cached

    def backward(self, grad_output, need_input_grad=True):
        """See :meth:`Activation.backward`."""
        if self.alpha <= 0 and self._input is None:
            raise RuntimeError("LeakyReLU with alpha <= 0 needs its input for backward")
        return super().backward(grad_output, need_input_grad)

    def get_config(self):
        """See :meth:`Layer.get_config`."""
        return {"alpha": self.alpha}


class PReLU(Activation):
    """Leaky ReLU whose slope is learned: one shared slope or one per unit.

    ``alpha`` (shape (num_parameters,)) holds the slopes, ``dalpha`` their gradient."""

    activation = "prelu"
    alpha = _ParamDescriptor()

    def __init__(self, num_parameters=1, init=0.25, dtype="float32"):
        super().__init__()
        if isinstance(num_parameters, bool) or not isinstance(num_parameters, (int, np.integer)) \
                or num_parameters < 1:
            raise ValueError(f"num_parameters must be a positive int, got {num_parameters!r}")
        self.num_parameters = int(num_parameters)
        self.init = float(init)
        self.dtype = _as_dtype(dtype)
        self._alpha = None
        self._allocate(np.full(self.num_parameters, self.init))

    def _allocate(self, alpha):
        self._alpha = np.ascontiguousarray(alpha, dtype=self.dtype)
        self.dalpha = np.zeros_like(self._alpha)
        _params.register(self._alpha, self.dalpha)

    def reset_parameters(self, rng):
        self._alpha[...] = self.init

    def _set_dtype(self, dtype):
        dt = _as_dtype(dtype)
        if dt != self.dtype:
            self.dtype = dt
            self._allocate(self._alpha)
        super()._set_dtype(dt)

    def parameters(self):
        return [self._alpha]

    def gradients(self):
        return [self.dalpha]

    def _alpha_arg(self):
        return self._alpha

    def _dalpha_arg(self):
        return self.dalpha

    def get_config(self):
        """See :meth:`Layer.get_config`."""
        return {"num_parameters": self.num_parameters, "init": self.init}


_MASK64 = (1 << 64) - 1


def _mix64(z):
    """The splitmix64 finaliser over uint64 arrays (wrapping arithmetic, as in C)."""
    z = z ^ (z >> np.uint64(30))
    z = z * np.uint64(0xbf58476d1ce4e5b9)
    z = z ^ (z >> np.uint64(27))
    z = z * np.uint64(0x94d049bb133111eb)
    return z ^ (z >> np.uint64(31))


def dropout_mask_reference(n, seed, p, dtype):
    """NumPy twin of csrc's fl_dropout mask: element i is kept when
    (mix64(seed + i) >> 11) >= ceil(p * 2**53), and then holds 1 / (1 - p)."""
    counters = np.arange(n, dtype=np.uint64) + np.uint64(seed & _MASK64)
    threshold = np.uint64(int(np.ceil(p * 9007199254740992.0)))
    keep = (_mix64(counters) >> np.uint64(11)) >= threshold
    return np.where(keep, dtype.type(1.0 / (1.0 - p)), dtype.type(0))


class Dropout(Layer):
    """Inverted dropout: while training, each element is zeroed with probability ``p`` and the
    others are scaled by 1 / (1 - p); the identity in ``predict``/``evaluate`` and in eval mode.

    ``fit`` draws the masks from its shuffle stream (a seeded fit is bitwise reproducible, on
    the compiled loop too); a manual loop in train mode draws them from the layer's own stream,
    seeded by ``Sequential(seed=...)``. ``model.train()`` / ``model.eval()`` switch the mode.
    """

    passes_through_in_inference = True

    def __init__(self, p=0.5):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)):
            raise TypeError(f"p must be a number, got {type(p).__name__}")
        p = float(p)
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability p must be in [0, 1), got {p}")
        self.p = p
        self.training = True
        self._mask = None
        self._fit_seed = None    # set by fit for each batch
        self._stream = None      # (base seed, calls) for manual loops
        self.reset_parameters(np.random.default_rng())

    def reset_parameters(self, rng):
        self._stream = [int(rng.bit_generator.random_raw()), 0]

    def _next_seed(self):
        if self._fit_seed is not None:
            return self._fit_seed
        base, calls = self._stream
        self._stream[1] += 1
        from fastlin._kernels.train import dropout_seed
        return dropout_seed(base, calls, 0)

    def forward(self, x):
        """Zero each element with probability ``p`` and scale the rest by 1 / (1 - p) in training
        mode; return `x` itself in eval mode (``model.eval()``)."""
        x = _as_ready(x, self.dtype, (None, None), "x")
        self._input = x
        if not self.training or self.p == 0.0:
            self._mask = None
            return x
        out = self._buffers.get("out", x.shape, self.dtype)
        mask = self._buffers.get("mask", x.shape, self.dtype)
        seed = self._next_seed()
        if self.backend.name == "cython":
            from fastlin._kernels.train import dropout
            dropout(x.reshape(-1), mask.reshape(-1), out.reshape(-1), seed, self.p)
        else:
            np.copyto(mask, dropout_mask_reference(x.size, seed, self.p, self.dtype).reshape(x.shape))
            np.multiply(x, mask, out=out)
        self._mask = mask
        return out

    def backward(self, grad_output, need_input_grad=True):
        """`grad_output` times the last forward's mask (unchanged in eval mode); RuntimeError
        if no :meth:`forward` came first."""
        if self._input is None:
            raise RuntimeError("backward called before forward")
        grad_output = _as_ready(grad_output, self.dtype, self._input.shape, "grad_output")
        if self._mask is None:
            return grad_output
        gx = self._buffers.get("dx", grad_output.shape, self.dtype)
        np.multiply(grad_output, self._mask, out=gx)
        return gx

    def infer(self, x, out):
        return x

    def get_config(self):
        """See :meth:`Layer.get_config`."""
        return {"p": self.p}


LAYER_TYPES = {cls.__name__: cls for cls in (Dense, Identity, ReLU, Sigmoid, Tanh, Abs,
                                             LeakyReLU, PReLU, Dropout)}
ACTIVATION_LAYERS = {"identity": Identity, "relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh,
                     "abs": Abs, "leaky_relu": LeakyReLU, "prelu": PReLU}
