"""Losses with PyTorch's mean reduction: ``forward(output, target) -> float`` computes the loss
and its gradient in one fused kernel call; ``backward()`` returns that gradient (d loss /
d output, a buffer the loss owns and reuses, valid until the next forward).

MSE, L1, smooth L1, Huber and BCE average over all elements, softmax cross-entropy over
samples. Targets are cast
to the output's dtype when needed; a 1-D regression target is read as a column.
"""
import copy

import numpy as np

from fastlin import _checks
from fastlin.backend import get as get_backend
from fastlin.parallel.threads import for_size
from fastlin.backend._validation import number, optional_vector


def _ready_pair(output, target):
    """Output and target can go straight to a loss kernel (the common case inside a training
    loop); anything else takes the validating public kernel, which names the problem."""
    return (type(output) is np.ndarray and output.ndim == 2 and output.dtype.kind == "f"
            and output.dtype.itemsize in (4, 8) and output.flags.c_contiguous and output.size
            and output.flags.aligned and type(target) is np.ndarray
            and target.dtype == output.dtype and target.shape == output.shape
            and target.flags.c_contiguous and target.flags.aligned)


class Loss:
    """Base class for the losses."""

    def __init__(self, backend=None):
        self.backend = get_backend(backend)
        self._grad_buffers = {}
        self._grad = None

    def __call__(self, output, target, sample_weight=None):
        return self.forward(output, target, sample_weight=sample_weight)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_grad_buffers"], state["_grad"] = {}, None
        return state

    def _private_copy(self):
        """A copy sharing the settings but not the gradient buffers, for evaluating while
        another thread may be training with this loss."""
        twin = copy.copy(self)
        twin._grad_buffers, twin._grad = {}, None
        return twin

    def _grad_buffer(self, output):
        buf = self._grad_buffers.get(output.shape)
        if buf is None or buf.dtype != output.dtype:
            if len(self._grad_buffers) >= 2:
                self._grad_buffers.clear()
            buf = self._grad_buffers[output.shape] = np.empty_like(output)
        return buf

    def backward(self):
        """d loss / d output of the last forward."""
        if self._grad is None:
            raise RuntimeError("backward called before forward")
        return self._grad

    @staticmethod
    def _output(output):
        """The output as the kernels read it: a strided view (a slice of columns, say) is
        copied to C order, as torch's losses take any layout; the kernels check the rest."""
        if isinstance(output, np.ndarray) and not output.flags.c_contiguous \
                and output.dtype.kind == "f":
            return np.ascontiguousarray(output)
        return output

    @staticmethod
    def _float_target(output, target, name="target"):
        if not isinstance(output, np.ndarray):
            raise TypeError(f"output must be a numpy.ndarray, got {type(output).__name__}")
        target = np.asarray(target)
        if target.dtype.kind not in "fiub":
            raise TypeError(f"{name} must be numeric, got dtype {target.dtype}")
        if target.ndim == 1 and output.ndim == 2 and output.shape[1] == 1:
            target = target.reshape(-1, 1)
        if target.shape != output.shape:
            raise ValueError(f"{name} has shape {target.shape} but output has shape {output.shape}")
        if target.dtype != output.dtype or not target.flags.c_contiguous:
            target = np.ascontiguousarray(target, dtype=output.dtype)
        return target

    def forward(self, output, target, sample_weight=None):
        """The mean loss of ``output`` against ``target``; keeps d loss / d output for
        ``backward``.

        Parameters
        ----------
        output : ndarray of shape (n_samples, n_outputs), float32 or float64
            The model's output (logits for the cross-entropy losses).
        target : array
            Targets of the output's shape, or class labels (see each loss).
        sample_weight : array of shape (n_samples,), optional
            Each sample's weight in the mean.

        Returns
        -------
        float

        Raises
        ------
        ValueError, TypeError
            A target or weight of the wrong shape or kind, named.

        Examples
        --------
        >>> import numpy as np, fastlin
        >>> loss = fastlin.MSELoss()
        >>> float(loss.forward(np.array([[1.0], [3.0]]), np.array([[0.0], [1.0]])))
        2.5
        >>> loss.backward().ravel().tolist()
        [1.0, 2.0]
        """
        raise NotImplementedError

    def get_config(self):
        """The loss's settings as a dict of plain values (``type(loss)(**config)`` builds an
        equal loss; saved files store it).

        Examples
        --------
        >>> import fastlin
        >>> fastlin.HuberLoss(delta=2.0).get_config()
        {'delta': 2.0}
        """
        return {}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class MSELoss(Loss):
    """Mean squared error over all elements: mean((output - target)²)."""

    def forward(self, output, target, sample_weight=None):
        output = self._output(output)
        target = self._float_target(output, target)
        if sample_weight is None and _ready_pair(output, target):
            self._grad = self._grad_buffer(output)
            return self.backend._impl_mse(output, target, self._grad, None,
                                          for_size(output.size, cheap=True))
        loss, self._grad = self.backend.mse(output, target, grad=self._grad_buffer(output),
                                            sample_weight=sample_weight)
        return loss


class _RobustLoss(Loss):
    """The piecewise losses of torch.nn (L1, smooth L1, Huber) over all elements, weighted per
    row by sample_weight as MSELoss is; one fused kernel computes loss and gradient."""

    _huber = False
    _param = "beta"

    def _beta(self):
        return 0.0

    def forward(self, output, target, sample_weight=None):
        output = self._output(output)
        target = self._float_target(output, target)
        beta = self._beta()
        if sample_weight is None and _ready_pair(output, target):
            self._grad = self._grad_buffer(output)
            return self.backend._impl_robust(output, target, self._grad, None, self._huber, beta,
                                             for_size(output.size, cheap=True))
        kernel = self.backend.huber_loss if self._huber else self.backend.smooth_l1_loss
        loss, self._grad = kernel(output, target, self._grad_buffer(output),
                                  sample_weight, beta)
        return loss


class L1Loss(_RobustLoss):
    """torch.nn.L1Loss: mean(abs(output − target)) over all elements; its gradient is
    sign(output − target) / N, 0 where they are equal. Keras's "mae"."""


class SmoothL1Loss(_RobustLoss):
    """torch.nn.SmoothL1Loss: with d = output − target, the mean over all elements of
    0.5·d²/beta where abs(d) < beta and abs(d) − 0.5·beta elsewhere; beta = 0 is L1Loss.

    Parameters
    ----------
    beta : float >= 0, default 1.0
    """

    def __init__(self, beta=1.0, backend=None):
        super().__init__(backend)
        self.beta = number("beta", beta, 0.0)

    def _beta(self):
        return number("beta", self.beta, 0.0)

    def get_config(self):
        return {"beta": self.beta}


class HuberLoss(_RobustLoss):
    """torch.nn.HuberLoss: with d = output − target, the mean over all elements of 0.5·d²
    where abs(d) < delta and delta·(abs(d) − 0.5·delta) elsewhere. Keras's Huber loss is the same
    formula with the same default delta = 1.0, so the name "huber" means this loss.

    Parameters
    ----------
    delta : float > 0, default 1.0
    """

    _huber = True

    def __init__(self, delta=1.0, backend=None):
        super().__init__(backend)
        self.delta = number("delta", delta, 0.0, low_open=True)

    def _beta(self):
        return number("delta", self.delta, 0.0, low_open=True)

    def get_config(self):
        return {"delta": self.delta}


class BCEWithLogitsLoss(Loss):
    """Sigmoid + binary cross-entropy on logits, stable for any logit; mean over elements.

    pos_weight : float or array of shape (n_outputs,), weight of the positive class."""

    def __init__(self, pos_weight=None, backend=None):
        super().__init__(backend)
        self.pos_weight = pos_weight

    def forward(self, output, target, sample_weight=None):
        output = self._output(output)
        target = self._float_target(output, target)
        if sample_weight is None and self.pos_weight is None and _ready_pair(output, target):
            self._grad = self._grad_buffer(output)
            return self.backend._impl_sigmoid_bce(output, target, self._grad, None, None,
                                                  for_size(output.size))
        loss, self._grad = self.backend.sigmoid_binary_cross_entropy(
            output, target, grad=self._grad_buffer(output), sample_weight=sample_weight,
            pos_weight=self.pos_weight)
        return loss

    def get_config(self):
        return {"pos_weight": self.pos_weight}


class SoftmaxCrossEntropyLoss(Loss):
    """Softmax + cross-entropy on logits, gradient softmax − onehot; mean over samples.

    A 1-D integer target holds class labels, a 2-D float target class probabilities.

    Parameters
    ----------
    label_smoothing : float in [0, 1], default 0
    class_weight : array of shape (n_classes,), optional; PyTorch's ``weight=`` (the mean
        divides by the summed weights of the targets)
    """

    def __init__(self, label_smoothing=0.0, class_weight=None, backend=None):
        super().__init__(backend)
        # refused here, so no path (the compiled fit loop included) trains with it
        self.label_smoothing = number("label_smoothing", label_smoothing, 0.0, 1.0)
        self.class_weight = None if class_weight is None else np.asarray(class_weight, np.float64)
        self._cw_cache = None

    def _class_weight(self, dtype):
        if self.class_weight is None:
            return None
        # class_weight may be reassigned or changed in place between calls (as label_smoothing
        # may): the cached kernel copy is rebuilt whenever it no longer equals it (k values)
        cache = self._cw_cache
        if cache is None or cache[0].dtype != dtype \
                or not np.array_equal(cache[1], self.class_weight):
            cache = self._cw_cache = (
                optional_vector("class_weight", self.class_weight, None, dtype).copy(),
                np.array(self.class_weight, copy=True))
        return cache[0]

    def forward(self, output, target, sample_weight=None):
        output = self._output(output)
        if not isinstance(output, np.ndarray):
            raise TypeError(f"output must be a numpy.ndarray, got {type(output).__name__}")
        target = np.asarray(target)
        if target.ndim == 2 and target.dtype != output.dtype:
            target = np.ascontiguousarray(target, dtype=output.dtype)
        if (sample_weight is None and target.dtype == np.int64 and target.ndim == 1
                and target.flags.c_contiguous and target.flags.aligned and output.ndim == 2
                and target.shape[0] == output.shape[0] and _ready_pair(output, output)
                and 0.0 <= self.label_smoothing <= 1.0):
            # labels are range-checked inside the kernel, before the gradient is written
            self._grad = self._grad_buffer(output)
            return self.backend._impl_softmax_cross_entropy(
                output, target, self._grad, None, self._class_weight(output.dtype),
                float(self.label_smoothing), for_size(output.size))
        loss, self._grad = self.backend.softmax_cross_entropy(
            output, target, grad=self._grad_buffer(output), sample_weight=sample_weight,
            class_weight=self._class_weight(output.dtype), label_smoothing=self.label_smoothing)
        return loss

    def get_config(self):
        return {"label_smoothing": self.label_smoothing}


class GaussianNLLLoss(Loss):
    """Negative log-likelihood of targets under N(output, var), mean over elements, including
    the constant: mean(½ log(2π var) + (target − output)² / (2 var)).

    With a fixed variance this is MSE / (2 var) plus a constant: the Gaussian maximum-likelihood
    view of least squares. ``var`` is a positive scalar or an array shaped as PyTorch's ``var``
    argument allows (the output's shape, one value per sample, or one dimension of size 1 shared
    along it); values below ``eps`` are clamped. After forward, ``grad_var``
    holds d loss / d var when var is an array.
    """

    def __init__(self, var=1.0, eps=1e-6, backend=None):
        super().__init__(backend)
        if np.ndim(var) == 0:
            _check_var(var)
        self.var = var
        self.eps = number("eps", eps, 0.0)
        self.grad_var = None

    def forward(self, output, target, var=None, sample_weight=None):
        output = self._output(output)
        target = self._float_target(output, target)
        var = self.var if var is None else var
        _check_var(var)
        var_shape = _var_shape(np.shape(var), output.shape)
        grad = self._grad_buffer(output)
        if np.ndim(var) == 0:
            v = max(float(var), self.eps)
            mse, _ = self.backend.mse(output, target, grad=grad, sample_weight=sample_weight)
            grad *= output.dtype.type(0.5 / v)
            self._grad = grad
            self.grad_var = None
            return 0.5 * np.log(2 * np.pi * v) + mse / (2 * v)
        v = np.maximum(np.broadcast_to(np.asarray(var, np.float64).reshape(var_shape),
                                       output.shape), self.eps)
        d = output.astype(np.float64) - target
        # the mean over elements, each row weighted by its sample weight (as MSE weighs them)
        if sample_weight is None:
            w, total = 1.0, float(output.size)
        else:
            sw = _checks.check_sample_weight(sample_weight, output.shape[0], np.float64)
            if not sw.sum() > 0:
                raise ValueError("sample_weight must not be all zero")
            w, total = sw[:, None], float(sw.sum()) * output.shape[1]
        loss = float(np.sum(w * (0.5 * np.log(2 * np.pi * v) + d * d / (2 * v))) / total)
        np.copyto(grad, w * d / (v * total), casting="same_kind")
        self._grad = grad
        grad_var = w * (0.5 / v - d * d / (2 * v * v)) / total
        # a variance shared along a dimension gets the sum of its elements' gradients
        shared = tuple(a for a, (n_var, n_out) in enumerate(zip(var_shape, output.shape))
                       if n_var == 1 and n_out != 1)
        self.grad_var = grad_var.sum(axis=shared, keepdims=True).reshape(np.shape(var))
        return loss

    def get_config(self):
        return {"var": self.var}


def _var_shape(shape, out_shape):
    """The shape var takes against an output of out_shape, by PyTorch's GaussianNLLLoss rules:
    the output's shape; the output's shape without its last dimension (one variance per
    sample, shared by its outputs: a dimension of 1 is appended); or the output's shape with
    exactly one dimension of size 1 (shared along it). A scalar is () (shared by all)."""
    shape, out_shape = tuple(shape), tuple(out_shape)
    if shape == () or shape == out_shape:
        return shape
    if shape == out_shape[:-1]:
        return shape + (1,)
    if len(shape) == len(out_shape) and sum(
            n for n, m in zip(shape, out_shape) if n != m) == 1:
        return shape
    raise ValueError(f"var is of incorrect size: for an output of shape {out_shape} it must have "
                     f"that shape, {out_shape[:-1]} (one variance per sample), or that shape with "
                     f"one dimension of size 1; got {shape}")


def _check_var(var):
    """PyTorch's rule: a negative variance is an error (values below eps are clamped); so is a
    NaN or infinite one, which would only make the loss NaN."""
    try:
        v = np.asarray(var, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"var must be a number or an array of numbers, got "
                        f"{type(var).__name__}") from None
    if not np.isfinite(v).all():
        raise ValueError("var must be finite")
    if (v < 0).any():
        raise ValueError("var has negative entry/entries")


LOSSES = {
    "mse": MSELoss,
    "bce": BCEWithLogitsLoss,
    "binary_cross_entropy": BCEWithLogitsLoss,
    "cross_entropy": SoftmaxCrossEntropyLoss,
    "softmax_cross_entropy": SoftmaxCrossEntropyLoss,
    "gaussian_nll": GaussianNLLLoss,
    "l1": L1Loss,
    "smooth_l1": SmoothL1Loss,
    # Keras's names; fastlin's classification losses read logits where Keras's default
    # (from_logits=False) reads probabilities
    "mae": L1Loss,
    "mean_squared_error": MSELoss,
    "mean_absolute_error": L1Loss,
    "huber": HuberLoss,
    "binary_crossentropy": BCEWithLogitsLoss,
    "categorical_crossentropy": SoftmaxCrossEntropyLoss,
    "sparse_categorical_crossentropy": SoftmaxCrossEntropyLoss,
}


def get_loss(loss, backend=None):
    """A Loss object from an instance or a name in LOSSES.

    Keras's names map onto these losses: "mse" (or "mean_squared_error") MSELoss, "mae" (or
    "mean_absolute_error") L1Loss, "huber" HuberLoss(delta=1)
    (Keras's Huber and torch's HuberLoss are one formula, 0.5·d² and delta·(abs(d) − 0.5·delta)),
    "binary_crossentropy" BCEWithLogitsLoss, "categorical_crossentropy" (one-hot or probability
    targets) and "sparse_categorical_crossentropy" (integer labels) SoftmaxCrossEntropyLoss.
    These losses take the model's raw outputs (logits), as Keras's do with from_logits=True.
    PyTorch's names: "l1", "smooth_l1" (beta=1)."""
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, str) and loss in LOSSES:
        return LOSSES[loss](backend=backend)
    raise ValueError(f"unknown loss {loss!r}; pass a Loss object or one of {', '.join(LOSSES)}")
