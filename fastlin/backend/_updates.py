"""The kernel contract's in-place updates: the optimizers' steps and the coordinate-descent
sweeps of the penalised linear models. Their public methods validate arguments, then hand
checked buffers to the backend's private ``_impl_*`` methods, as fastlin/backend/_base.py's do
(KernelSet inherits these)."""
import numpy as np

from fastlin.parallel import threads
from fastlin.backend import _validation as v


class UpdateKernels:
    # ------------------------------------------------------------ optimizers
    @staticmethod
    def _flat(name, a, dtype=None, writeable=False):
        if not isinstance(a, np.ndarray):
            raise TypeError(f"{name} must be a numpy.ndarray, got {type(a).__name__}")
        if a.dtype not in v.FLOAT_DTYPES:
            raise TypeError(f"{name} must have dtype float32 or float64, got {a.dtype}")
        if dtype is not None and a.dtype != dtype:
            raise TypeError(f"{name} has dtype {a.dtype} but param is {dtype}")
        if not a.flags.c_contiguous:
            raise ValueError(f"{name} must be C-contiguous")
        if writeable and not a.flags.writeable:
            raise ValueError(f"{name} is read-only")
        v.aligned(name, a)
        return a.reshape(-1)

    def sgd_update(self, param, grad, velocity=None, lr=0.01, momentum=0.0, nesterov=False,
                   weight_decay=0.0, n_threads=None):
        """One torch.optim.SGD step in place on param (any shape) and velocity (its shape).

        velocity (zeros before the first step) is required when momentum != 0. param, grad
        and velocity must not share memory (ValueError): the update reads each once."""
        p = self._flat("param", param, writeable=True)
        g = self._flat("grad", grad, p.dtype)
        if g.shape != p.shape:
            raise ValueError(f"grad has {g.size} elements but param has {p.size}")
        lr = v.number("lr", lr, 0.0)
        momentum = v.number("momentum", momentum, 0.0)
        weight_decay = v.number("weight_decay", weight_decay, 0.0)
        if nesterov and momentum == 0:
            raise ValueError("nesterov momentum requires momentum > 0")
        if momentum != 0:
            if velocity is None:
                raise ValueError("velocity buffer is required when momentum != 0")
            buf = self._flat("velocity", velocity, p.dtype, writeable=True)
            if buf.shape != p.shape:
                raise ValueError(f"velocity has {buf.size} elements but param has {p.size}")
        else:
            buf = None
        # the C update declares param, grad and velocity restrict: no overlap at all
        v.apart("grad", g, param=p)
        v.apart("velocity", buf, param=p, grad=g)
        self._impl_sgd(p, g, buf, lr, momentum, weight_decay, bool(nesterov),
                       threads.for_size(p.size, n_threads, cheap=True))
        return param

    def adam_update(self, param, grad, exp_avg, exp_avg_sq, step, lr=1e-3, betas=(0.9, 0.999),
                    eps=1e-8, weight_decay=0.0, decoupled=False, n_threads=None):
        """One torch.optim.Adam step (or AdamW when decoupled) in place.

        exp_avg and exp_avg_sq (the shape of param, zeros before the first step) are updated;
        step is the 1-based number of this step, for the bias corrections. param, grad,
        exp_avg and exp_avg_sq must not share memory (ValueError)."""
        p = self._flat("param", param, writeable=True)
        g = self._flat("grad", grad, p.dtype)
        m = self._flat("exp_avg", exp_avg, p.dtype, writeable=True)
        s = self._flat("exp_avg_sq", exp_avg_sq, p.dtype, writeable=True)
        for name, a in (("grad", g), ("exp_avg", m), ("exp_avg_sq", s)):
            if a.shape != p.shape:
                raise ValueError(f"{name} has {a.size} elements but param has {p.size}")
        # the C update declares all four buffers restrict: no overlap at all
        v.apart("grad", g, param=p)
        v.apart("exp_avg", m, param=p, grad=g)
        v.apart("exp_avg_sq", s, param=p, grad=g, exp_avg=m)
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 1:
            raise ValueError(f"step must be an int >= 1, got {step!r}")
        lr = v.number("lr", lr, 0.0)
        try:
            beta1, beta2 = betas
        except (TypeError, ValueError):
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}") from None
        beta1 = v.number("beta1", beta1, 0.0, 1.0, high_open=True)
        beta2 = v.number("beta2", beta2, 0.0, 1.0, high_open=True)
        eps = v.number("eps", eps, 0.0)
        weight_decay = v.number("weight_decay", weight_decay, 0.0)
        self._impl_adam(p, g, m, s, lr, beta1, beta2, eps, weight_decay, int(step),
                        bool(decoupled),
                        threads.for_size(p.size, n_threads,
                                          min_elements=threads.PARALLEL_MIN_ELEMENTS_ADAM))
        return param

    def rmsprop_update(self, param, grad, square_avg, momentum_buffer=None, grad_avg=None,
                       lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                       n_threads=None):
        """One torch.optim.RMSprop step in place on param (any shape) and its state.

        square_avg (the shape of param, zeros before the first step) is always updated;
        momentum_buffer is required when momentum != 0, grad_avg (given: centered) is the
        running mean of the gradient. No two of these buffers may share memory (ValueError)."""
        p = self._flat("param", param, writeable=True)
        g = self._flat("grad", grad, p.dtype)
        sq = self._flat("square_avg", square_avg, p.dtype, writeable=True)
        lr = v.number("lr", lr, 0.0)
        alpha = v.number("alpha", alpha, 0.0)
        eps = v.number("eps", eps, 0.0)
        weight_decay = v.number("weight_decay", weight_decay, 0.0)
        momentum = v.number("momentum", momentum, 0.0)
        if momentum != 0 and momentum_buffer is None:
            raise ValueError("momentum_buffer is required when momentum != 0")
        buf = None if momentum == 0 else self._flat("momentum_buffer", momentum_buffer, p.dtype,
                                                     writeable=True)
        gavg = None if grad_avg is None else self._flat("grad_avg", grad_avg, p.dtype,
                                                         writeable=True)
        named = (("grad", g), ("square_avg", sq), ("momentum_buffer", buf), ("grad_avg", gavg))
        for name, a in named:
            if a is not None and a.shape != p.shape:
                raise ValueError(f"{name} has {a.size} elements but param has {p.size}")
        # the C update declares every buffer restrict: no overlap at all
        for i, (name, a) in enumerate(named):
            v.apart(name, a, param=p, **{k: b for k, b in named[:i]})
        self._impl_rmsprop(p, g, sq, buf, gavg, lr, alpha, eps, weight_decay, momentum,
                           threads.for_size(p.size, n_threads,
                                            min_elements=threads.PARALLEL_MIN_ELEMENTS_ADAM))
        return param

    def adagrad_update(self, param, grad, state_sum, step, lr=0.01, lr_decay=0.0, eps=1e-10,
                       weight_decay=0.0, n_threads=None):
        """One torch.optim.Adagrad step in place on param and state_sum (the shape of param,
        initial_accumulator_value before the first step); step is the 1-based number of this
        step (the rate is lr / (1 + (step - 1) lr_decay)). param, grad and state_sum must not
        share memory (ValueError)."""
        p = self._flat("param", param, writeable=True)
        g = self._flat("grad", grad, p.dtype)
        s = self._flat("state_sum", state_sum, p.dtype, writeable=True)
        for name, a in (("grad", g), ("state_sum", s)):
            if a.shape != p.shape:
                raise ValueError(f"{name} has {a.size} elements but param has {p.size}")
        v.apart("grad", g, param=p)
        v.apart("state_sum", s, param=p, grad=g)
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 1:
            raise ValueError(f"step must be an int >= 1, got {step!r}")
        lr = v.number("lr", lr, 0.0)
        lr_decay = v.number("lr_decay", lr_decay, 0.0)
        eps = v.number("eps", eps, 0.0)
        weight_decay = v.number("weight_decay", weight_decay, 0.0)
        self._impl_adagrad(p, g, s, lr, lr_decay, eps, weight_decay, int(step),
                           threads.for_size(p.size, n_threads,
                                            min_elements=threads.PARALLEL_MIN_ELEMENTS_ADAM))
        return param

    # ---------------------------------------------------------------- linear models
    def enet_cd(self, X, g, h, beta, q, b, l1, l2, fit_intercept=True, max_sweeps=1000,
                tol=1e-12, H=None):
        """Coordinate descent on the elastic-net penalised quadratic model of a loss (the
        inner solver of fastlin's L1 / elastic-net logistic regression), in place.

        Minimises over beta (and the intercept b) the model
        sum_i g_i q_i + h_i q_i² / 2 + l1 ||beta||_1 + l2 / 2 ||beta||², where
        q = X (beta - beta0) + (b - b0) is the change of the linear predictor since the
        expansion point (beta0, b0), one coordinate at a time.

        Parameters
        ----------
        X : array of shape (n_features, n_samples) (X transposed, so each feature's column is
            contiguous), or a scipy.sparse CSC matrix of shape (n_samples, n_features) with
            int32 indices; float32 or float64
        g, h : float64 arrays of shape (n_samples,), the loss's first and second derivatives
            in the linear predictor at the expansion point (sample weights included), h >= 0
        beta : float64 array of shape (n_features,), updated in place
        q : float64 array of shape (n_samples,), zeros at the expansion point; updated
        b : float64 array of shape (1,), the intercept; updated when fit_intercept
        l1, l2 : float >= 0, the penalty strengths
        max_sweeps : int >= 1; tol : float >= 0, the largest squared step ((H_j + l2)·Δβ_j)²
            (the model's squared gradient in that coordinate) of the last full sweep
        H : float64 array of shape (n_features,), optional; receives Σ_i h_i x_ij²

        Returns
        -------
        sweeps : int, the sweeps over the coordinates run
        """
        sparse = not isinstance(X, np.ndarray)
        if sparse:
            X = v.csc_matrix("X", X)
            n, d = X.shape
        else:
            X = v.float_array("X", X, 2)
            d, n = X.shape
        for name, arr, size in (("g", g, n), ("h", h, n), ("q", q, n), ("beta", beta, d),
                                ("b", b, 1)):
            v.same_shape(name, v.float_array(name, arr, 1, np.dtype(np.float64)), (size,))
        H = np.empty(d) if H is None else v.same_shape(
            "H", v.float_array("H", H, 1, np.dtype(np.float64)), (d,))
        v.apart("beta", beta, q=q, b=b, H=H, g=g, h=h)
        v.apart("q", q, b=b, H=H, g=g, h=h)
        l1, l2, tol = float(l1), float(l2), float(tol)
        if not (l1 >= 0 and l2 >= 0 and tol >= 0) or not np.isfinite(l1 + l2 + tol):
            raise ValueError(f"l1, l2 and tol must be finite numbers >= 0, got {l1}, {l2}, {tol}")
        if isinstance(max_sweeps, bool) or int(max_sweeps) != max_sweeps or max_sweeps < 1:
            raise ValueError(f"max_sweeps must be an integer >= 1, got {max_sweeps!r}")
        return self._impl_enet_cd(X, sparse, g, h, beta, q, b, H, l1, l2, bool(fit_intercept),
                                  int(max_sweeps), tol)

