"""The kernel contract: one class whose public methods validate arguments and allocate missing
outputs, then hand checked buffers to the backend's private ``_impl_*`` methods.

Both backends subclass it, so their signatures, defaults, output semantics and error messages
are the same by construction. Every kernel writes into a caller-provided ``out``/``grad``
buffer when one is given (so a warmed-up training step allocates nothing) and returns it.
"""
import numpy as np

from fastlin.parallel import threads
from fastlin.backend import _validation as v
from fastlin.backend._updates import UpdateKernels

def _in_place_or_apart(out, a):
    """out is absent, is a itself, or shares no memory with it (else: the general path)."""
    return out is None or out is a or not v.overlaps_partly(out, a)


KERNELS = (
    "dense_forward",
    "dense_backward",
    "activation_forward",
    "activation_backward",
    "softmax",
    "log_softmax",
    "softmax_cross_entropy",
    "sigmoid_binary_cross_entropy",
    "mse",
    "l1_loss",
    "smooth_l1_loss",
    "huber_loss",
    "sgd_update",
    "adam_update",
    "rmsprop_update",
    "adagrad_update",
    "enet_cd",
)


class KernelSet(UpdateKernels):
    """The kernels of SPEC §2. Arrays are C-contiguous float32 or float64, all of one dtype.
    The kernels that update parameters in place (the optimizers' steps, coordinate descent)
    are in fastlin/backend/_updates.py."""

    name = None
    KERNELS = KERNELS

    def __repr__(self):
        return f"<fastlin backend {self.name!r}>"

    # ------------------------------------------------------------------ dense
    def dense_forward(self, X, W, b=None, activation="identity", alpha=None, out=None,
                      preact=None, n_threads=None):
        """Dense layer forward pass with the activation fused in: out = act(X @ W + b).

        Parameters
        ----------
        X : array of shape (n_samples, in_features)
        W : array of shape (in_features, out_features)
        b : array of shape (out_features,) or None
        activation : str, one of identity, sigmoid, tanh, relu, leaky_relu, prelu, abs
        alpha : float or array of shape (1,) or (out_features,), the leaky_relu/prelu slope(s)
        out : array of shape (n_samples, out_features), optional; written and returned
        preact : array of shape (n_samples, out_features), optional; receives X @ W + b
        n_threads : int, optional

        out and preact must not share memory with X, W, b, alpha or each other (ValueError),
        and no dimension may exceed 2**31 - 1 (the BLAS's int).

        Returns
        -------
        out : array of shape (n_samples, out_features)
        """
        X = v.float_array("X", X, 2)
        dt = X.dtype
        W = v.float_array("W", W, 2, dt)
        if W.shape[0] != X.shape[1]:
            raise ValueError(f"X has {X.shape[1]} features but W expects {W.shape[0]} (W.shape[0])")
        n, m = X.shape[0], W.shape[1]
        v.blas_dims(n_samples=n, in_features=X.shape[1], out_features=m)
        if b is not None:
            v.same_shape("b", v.float_array("b", b, 1, dt), (m,))
        code = v.activation_code(activation)
        alpha = v.alpha_vector(alpha, activation, m, dt)
        out = v.out_array("out", out, (n, m), dt, X=X, W=W)
        v.apart("b", b, out=out)
        v.apart("alpha", alpha, out=out)
        if preact is not None:
            preact = v.out_array("preact", preact, (n, m), dt, X=X, W=W, out=out, b=b,
                                 alpha=alpha)
        self._impl_dense_forward(X, W, b, code, alpha, out, preact,
                                 threads.for_activation(code, n * m, n_threads))
        return out

    def dense_backward(self, X, W, grad_output, dW=None, db=None, dX=None, compute_db=True,
                       compute_dX=True):
        """Dense layer backward pass: dW = Xᵀ·dZ, db = Σ_rows dZ, dX = dZ·Wᵀ.

        Parameters
        ----------
        X : array of shape (n_samples, in_features), the layer's input
        W : array of shape (in_features, out_features)
        grad_output : array of shape (n_samples, out_features), dZ = d loss / d (X @ W + b)
        dW, db, dX : optional output buffers of the shapes of W, b and X
        compute_db, compute_dX : bool; when False the gradient is skipped and None returned

        Every gradient buffer must be apart from X, W, grad_output and the other gradients
        (ValueError otherwise), and no dimension may exceed 2**31 - 1 (the BLAS's int).

        Returns
        -------
        (dW, db, dX), with db and dX None when not computed.
        """
        X = v.float_array("X", X, 2)
        dt = X.dtype
        W = v.float_array("W", W, 2, dt)
        dZ = v.float_array("grad_output", grad_output, 2, dt)
        n, k = X.shape
        m = W.shape[1]
        if W.shape[0] != k:
            raise ValueError(f"X has {k} features but W expects {W.shape[0]} (W.shape[0])")
        v.same_shape("grad_output", dZ, (n, m))
        v.blas_dims(n_samples=n, in_features=k, out_features=m)
        # every gradient apart from every input and from the other gradients
        dW = v.out_array("dW", dW, (k, m), dt, X=X, W=W, grad_output=dZ)
        db = (v.out_array("db", db, (m,), dt, X=X, W=W, grad_output=dZ, dW=dW)
              if compute_db else None)
        dX = (v.out_array("dX", dX, (n, k), dt, X=X, W=W, grad_output=dZ, dW=dW, db=db)
              if compute_dX else None)
        self._impl_dense_backward(X, W, dZ, dW, db, dX)
        return dW, db, dX

    # ------------------------------------------------------------ plain calls
    # The common call whose arguments are already right (C-contiguous float arrays of matching
    # shape and dtype, writeable separate outputs, default options and threads) skips the
    # general checks and conversions. Each hook returns None when the call is not plain, and
    # the public method then takes the general path. The compiled backend overrides these with
    # checks written in C; these versions, in Python, serve the NumPy twin.
    def _plain_activation_forward(self, x, code, out):
        if not v.plain_elementwise_call(x, out) or not _in_place_or_apart(out, x):
            return None
        if out is None:
            out = np.empty_like(x)
        self._impl_activation_forward(x, code, None, out, threads.for_activation(code, x.size))
        return out

    def _plain_activation_backward(self, grad_output, code, src, src_is_output, out):
        if not (v.plain_elementwise_call(grad_output, out)
                and v.plain_elementwise_call(src, None, grad_output)
                and _in_place_or_apart(out, grad_output) and _in_place_or_apart(out, src)):
            return None
        if out is None:
            out = np.empty_like(grad_output)
        self._impl_activation_backward(grad_output, code, None if src_is_output else src,
                                       src if src_is_output else None, None, out, None,
                                       threads.for_activation(code, out.size))
        return out

    def _plain_softmax_cross_entropy(self, logits, labels, grad):
        if not v.plain_labels_call(logits, labels, grad):
            return None
        return self._impl_softmax_cross_entropy(logits, labels, grad, None, None, 0.0,
                                                threads.for_size(logits.size))

    def _plain_elementwise_loss(self, bce, z, target, grad):
        if not (v.plain_elementwise_call(z, grad) and v.plain_elementwise_call(target, None, z)
                and not np.may_share_memory(grad, z) and not np.may_share_memory(grad, target)):
            return None
        if bce:
            return self._impl_sigmoid_bce(z, target, grad, None, None, threads.for_size(z.size))
        return self._impl_mse(z, target, grad, None, threads.for_size(z.size, cheap=True))

    # ------------------------------------------------------------ activations
    def activation_forward(self, x, activation="relu", alpha=None, out=None, n_threads=None):
        """Elementwise activation: out = act(x). out may be x itself (in place).

        Parameters
        ----------
        x : array of shape (n_samples, n_units)
        activation : str, one of identity, sigmoid, tanh, relu, leaky_relu, prelu, abs
        alpha : float (leaky_relu, default 0.01) or array of shape (1,) or (n_units,) (prelu)
        out : array of shape (n_samples, n_units), optional

        Returns
        -------
        out : array of shape (n_samples, n_units)
        """
        code = v.SLOPE_FREE.get(activation) if alpha is None else None
        if code is not None and n_threads is None:
            # the common call, every argument already right: no conversion or copy needed
            done = self._plain_activation_forward(x, code, out)
            if done is not None:
                return done
        x = v.float_array("x", x, 2)
        code = v.activation_code(activation)
        alpha = v.alpha_vector(alpha, activation, x.shape[1], x.dtype)
        out = v.same_or_disjoint("out", v.out_array("out", out, x.shape, x.dtype, alpha=alpha),
                                 x=x)
        self._impl_activation_forward(x, code, alpha, out,
                                      threads.for_activation(code, x.size, n_threads))
        return out

    def activation_backward(self, grad_output, activation="relu", x=None, y=None, alpha=None,
                            out=None, dalpha=None, n_threads=None):
        """Backward of an activation: out = grad_output * act'(x).

        sigmoid and tanh read the forward output ``y`` (computed from ``x`` if only x is given);
        prelu and abs need the input ``x``; relu and leaky_relu take either. For prelu,
        ``dalpha`` (shape of alpha), when given, receives d loss / d alpha.

        Returns
        -------
        out : array of shape (n_samples, n_units), d loss / d x. out may be grad_output.
        """
        code = v.SLOPE_FREE.get(activation) if alpha is None and dalpha is None else None
        if code is not None and n_threads is None:
            if activation in v.USES_OUTPUT:
                src = y
            elif activation in v.NEEDS_INPUT:
                src = x
            else:
                src = x if x is not None else y
            if src is not None:
                done = self._plain_activation_backward(grad_output, code, src, src is y, out)
                if done is not None:
                    return done
        g = v.float_array("grad_output", grad_output, 2)
        dt, shape = g.dtype, g.shape
        code = v.activation_code(activation)
        alpha = v.alpha_vector(alpha, activation, shape[1], dt)
        if x is not None:
            v.same_shape("x", v.float_array("x", x, 2, dt), shape)
        if y is not None:
            v.same_shape("y", v.float_array("y", y, 2, dt), shape)
        if activation in v.NEEDS_INPUT and x is None:
            raise ValueError(f"{activation} backward needs the input x")
        if activation in v.USES_OUTPUT and y is None:
            if x is None:
                raise ValueError(f"{activation} backward needs the output y or the input x")
            y = self.activation_forward(x, activation)
        if activation in ("relu", "leaky_relu") and x is None:
            if y is None:
                raise ValueError(f"{activation} backward needs the input x or the output y")
            if activation == "leaky_relu" and alpha[0] <= 0:
                raise ValueError("leaky_relu with alpha <= 0 needs the input x for its backward")
        if dalpha is not None:
            if activation != "prelu":
                raise ValueError("dalpha is only defined for prelu")
            dalpha = v.out_array("dalpha", dalpha, alpha.shape, dt, grad_output=g, x=x, y=y,
                                 alpha=alpha)
        out = v.out_array("out", out, shape, dt, alpha=alpha, dalpha=dalpha)
        out = v.same_or_disjoint("out", out, grad_output=g, x=x, y=y)
        self._impl_activation_backward(g, code, x, y, alpha, out, dalpha,
                                       threads.for_activation(code, g.size, n_threads))
        return out

    # ------------------------------------------------------------- softmaxes
    def softmax(self, x, out=None, n_threads=None):
        """Row-wise softmax with max subtraction. out (shape of x) may be x itself.

        A row whose max is +inf is its limit (the +inf entries share the mass equally, the
        rest get 0), a row of only -inf is uniform, a row holding NaN is NaN: the rule of the
        fused cross-entropy too."""
        x = v.float_array("x", x, 2)
        out = v.same_or_disjoint("out", v.out_array("out", out, x.shape, x.dtype), x=x)
        self._impl_softmax(x, out, False, threads.for_size(x.size, n_threads))
        return out

    def log_softmax(self, x, out=None, n_threads=None):
        """Row-wise log-softmax, x - logsumexp(x). out (shape of x) may be x itself.

        Rows with infinities are their limit, as in softmax: where the max is +inf, the +inf
        entries share the mass (log 1/count) and the rest get -inf; a row of only -inf is
        uniform; a row holding NaN is NaN."""
        x = v.float_array("x", x, 2)
        out = v.same_or_disjoint("out", v.out_array("out", out, x.shape, x.dtype), x=x)
        self._impl_softmax(x, out, True, threads.for_size(x.size, n_threads))
        return out

    # ---------------------------------------------------------------- losses
    def softmax_cross_entropy(self, logits, target, grad=None, sample_weight=None,
                              class_weight=None, label_smoothing=0.0, n_threads=None):
        """Fused softmax cross-entropy: the mean loss and its gradient in one pass.

        Parameters
        ----------
        logits : array of shape (n_samples, n_classes)
        target : int array of shape (n_samples,) (labels in [0, n_classes)) or float array of
            shape (n_samples, n_classes) (probabilities)
        grad : array of shape (n_samples, n_classes), optional; receives d loss / d logits
            (softmax - onehot, weighted and divided by the mean's denominator)
        sample_weight : array of shape (n_samples,), optional
        class_weight : array of shape (n_classes,), optional (PyTorch's ``weight=``)
        label_smoothing : float in [0, 1]

        The mean follows PyTorch: with labels it divides by Σ sample_weight·class_weight[label]
        (the number of samples when unweighted); with probabilities by Σ sample_weight.

        Returns
        -------
        (loss, grad) : float, array of shape (n_samples, n_classes)
        """
        if (sample_weight is None and class_weight is None and label_smoothing == 0.0
                and n_threads is None):
            # the common training-loop call, every argument already right: skip the general
            # checks (the kernel still range-checks the labels)
            loss = self._plain_softmax_cross_entropy(logits, target, grad)
            if loss is not None:
                return loss, grad
        z = v.float_array("logits", logits, 2)
        v.nonempty("logits", z)
        n, k = z.shape
        dt = z.dtype
        if not isinstance(target, np.ndarray):
            raise TypeError(f"target must be a numpy.ndarray, got {type(target).__name__}")
        if target.ndim == 1:
            target = v.labels_array("target", target, n)
        elif target.ndim == 2:
            v.same_shape("target", v.float_array("target", target, 2, dt), (n, k))
        else:
            raise ValueError(f"target must be 1-D labels or 2-D probabilities, got shape {target.shape}")
        sw = v.optional_vector("sample_weight", sample_weight, n, dt)
        cw = v.optional_vector("class_weight", class_weight, k, dt)
        smoothing = v.number("label_smoothing", label_smoothing, 0.0, 1.0)
        grad = v.out_array("grad", grad, (n, k), dt, logits=z,
                           target=target if target.ndim == 2 else None,
                           sample_weight=sw, class_weight=cw)
        loss = self._impl_softmax_cross_entropy(z, target, grad, sw, cw, smoothing,
                                                threads.for_size(z.size, n_threads))
        return loss, grad

    def sigmoid_binary_cross_entropy(self, logits, target, grad=None, sample_weight=None,
                                     pos_weight=None, compute_grad=True, n_threads=None):
        """Fused sigmoid + binary cross-entropy with logits, stable for any logit.

        Parameters
        ----------
        logits, target : arrays of shape (n_samples, n_outputs); target in [0, 1]
        grad : array of shape (n_samples, n_outputs), optional
        sample_weight : array of shape (n_samples,), optional
        pos_weight : array of shape (n_outputs,) or scalar, optional (PyTorch's ``pos_weight``)

        The mean runs over all elements (weighted by sample_weight when given).

        Returns
        -------
        (loss, grad) : float, array (None when compute_grad is False)
        """
        if (sample_weight is None and pos_weight is None and compute_grad and grad is not None
                and n_threads is None):
            loss = self._plain_elementwise_loss(True, logits, target, grad)
            if loss is not None:
                return loss, grad
        z = v.float_array("logits", logits, 2)
        v.nonempty("logits", z)
        t = v.same_shape("target", v.float_array("target", target, 2, z.dtype), z.shape)
        sw = v.optional_vector("sample_weight", sample_weight, z.shape[0], z.dtype)
        pw = v.optional_vector("pos_weight", pos_weight, None, z.dtype)
        if pw is not None and pw.shape[0] != z.shape[1]:
            if pw.shape[0] != 1:
                raise ValueError(f"pos_weight must have 1 or {z.shape[1]} entries, got {pw.shape[0]}")
            pw = np.full(z.shape[1], pw[0], dtype=z.dtype)
        grad = (v.out_array("grad", grad, z.shape, z.dtype, logits=z, target=t,
                            sample_weight=sw, pos_weight=pw) if compute_grad else None)
        loss = self._impl_sigmoid_bce(z, t, grad, sw, pw, threads.for_size(z.size, n_threads))
        return loss, grad

    def mse(self, pred, target, grad=None, sample_weight=None, compute_grad=True, n_threads=None):
        """Mean squared error over all elements and its gradient 2 (pred - target) / N.

        Returns
        -------
        (loss, grad) : float, array of the shape of pred (None when compute_grad is False)
        """
        if sample_weight is None and compute_grad and grad is not None and n_threads is None:
            loss = self._plain_elementwise_loss(False, pred, target, grad)
            if loss is not None:
                return loss, grad
        p, t, sw, grad = self._elementwise_args(pred, target, grad, sample_weight, compute_grad)
        loss = self._impl_mse(p, t, grad, sw, threads.for_size(p.size, n_threads, cheap=True))
        return loss, grad

    def l1_loss(self, pred, target, grad=None, sample_weight=None, compute_grad=True,
                n_threads=None):
        """Mean absolute error over all elements (torch.nn.L1Loss) and its gradient
        sign(pred - target) / N (0 where they are equal).

        Returns
        -------
        (loss, grad) : float, array of the shape of pred (None when compute_grad is False)
        """
        return self._robust(pred, target, grad, sample_weight, compute_grad, n_threads,
                            False, 0.0)

    def smooth_l1_loss(self, pred, target, grad=None, sample_weight=None, beta=1.0,
                       compute_grad=True, n_threads=None):
        """torch.nn.SmoothL1Loss, the mean over all elements of 0.5 d² / beta where abs(d) < beta
        and abs(d) - 0.5 beta elsewhere (d = pred - target; beta = 0 is L1), and its gradient.

        Returns
        -------
        (loss, grad) : float, array of the shape of pred (None when compute_grad is False)
        """
        beta = v.number("beta", beta, 0.0)
        return self._robust(pred, target, grad, sample_weight, compute_grad, n_threads,
                            False, beta)

    def huber_loss(self, pred, target, grad=None, sample_weight=None, delta=1.0,
                   compute_grad=True, n_threads=None):
        """torch.nn.HuberLoss, the mean over all elements of 0.5 d² where abs(d) < delta and
        delta (abs(d) - 0.5 delta) elsewhere (d = pred - target; delta > 0), and its gradient.

        Returns
        -------
        (loss, grad) : float, array of the shape of pred (None when compute_grad is False)
        """
        delta = v.number("delta", delta, 0.0, low_open=True)
        return self._robust(pred, target, grad, sample_weight, compute_grad, n_threads,
                            True, delta)

    @staticmethod
    def _elementwise_args(pred, target, grad, sample_weight, compute_grad):
        """The checked (pred, target, sample_weight, grad) of an elementwise regression loss."""
        p = v.float_array("pred", pred, 2)
        v.nonempty("pred", p)
        t = v.same_shape("target", v.float_array("target", target, 2, p.dtype), p.shape)
        sw = v.optional_vector("sample_weight", sample_weight, p.shape[0], p.dtype)
        grad = (v.out_array("grad", grad, p.shape, p.dtype, pred=p, target=t,
                            sample_weight=sw) if compute_grad else None)
        return p, t, sw, grad

    def _robust(self, pred, target, grad, sample_weight, compute_grad, n_threads, huber, beta):
        p, t, sw, grad = self._elementwise_args(pred, target, grad, sample_weight, compute_grad)
        loss = self._impl_robust(p, t, grad, sw, huber, beta,
                                 threads.for_size(p.size, n_threads, cheap=True))
        return loss, grad
