"""The "numpy" backend: every kernel written as a careful NumPy user would write it.

It is the reference the tests check the compiled kernels against and the baseline the
benchmarks beat, so it favours in-place ufuncs with ``out=`` and preallocated buffers, but
stays plain NumPy: no loops over elements, no tricks a reader would have to decode.
"""
import numpy as np

from fastlin.backend._base import KernelSet
from fastlin.backend._validation import ACTIVATIONS

_NAMES = {code: name for name, code in ACTIVATIONS.items()}


def _activate(name, z, alpha, out):
    """out = act(z); out may be z."""
    if name == "identity":
        if out is not z:
            np.copyto(out, z)
    elif name == "sigmoid":
        with np.errstate(over="ignore"):
            np.negative(z, out=out)
            np.exp(out, out=out)
        out += 1
        np.reciprocal(out, out=out)
    elif name == "tanh":
        np.tanh(z, out=out)
    elif name == "relu":
        np.maximum(z, 0, out=out)
    elif name in ("leaky_relu", "prelu"):
        slope = alpha[0] if alpha.shape[0] == 1 else alpha
        np.copyto(out, np.where(z > 0, z, z * slope))
    elif name == "abs":
        np.abs(z, out=out)


def _limit_rows(z):
    """Rows whose max is ±inf replaced by their limit: 0 at the max, -inf elsewhere."""
    mx = z.max(axis=1, keepdims=True)
    bad = ~np.isfinite(mx[:, 0]) & ~np.isnan(mx[:, 0])
    if bad.any():
        z = z.copy()
        z[bad] = np.where(z[bad] == mx[bad], 0, -np.inf)
        mx = z.max(axis=1, keepdims=True)
    return z, mx


class NumpyKernels(KernelSet):
    name = "numpy"

    def _impl_dense_forward(self, X, W, b, code, alpha, out, preact, n_threads):
        np.matmul(X, W, out=out)
        if b is not None:
            out += b
        if preact is not None:
            np.copyto(preact, out)
        _activate(_NAMES[code], out, alpha, out)

    def _impl_dense_backward(self, X, W, dZ, dW, db, dX):
        np.matmul(X.T, dZ, out=dW)
        if db is not None:
            np.sum(dZ, axis=0, out=db)
        if dX is not None:
            np.matmul(dZ, W.T, out=dX)

    def _impl_activation_forward(self, x, code, alpha, out, n_threads):
        _activate(_NAMES[code], x, alpha, out)

    def _impl_activation_backward(self, g, code, x, y, alpha, out, dalpha, n_threads):
        name = _NAMES[code]
        src = x if x is not None else y
        if name == "identity":
            np.copyto(out, g)
        elif name == "sigmoid":
            np.copyto(out, g * y * (1 - y))
        elif name == "tanh":
            np.copyto(out, g * (1 - y * y))
        elif name == "relu":
            np.multiply(g, src > 0, out=out)
        elif name in ("leaky_relu", "prelu"):
            if dalpha is not None:
                contrib = np.where(x < 0, g * x, 0)
                dalpha[...] = contrib.sum() if dalpha.shape[0] == 1 else contrib.sum(axis=0)
            slope = alpha[0] if alpha.shape[0] == 1 else alpha
            np.copyto(out, np.where(src > 0, g, g * slope))
        elif name == "abs":
            np.multiply(g, np.sign(x), out=out)

    def _impl_softmax(self, x, out, log, n_threads):
        if x.shape[1] == 0:
            return  # rows of no classes: nothing to normalise (the compiled kernel's answer)
        z, mx = _limit_rows(x)
        np.subtract(z, mx, out=out)
        if log:
            with np.errstate(divide="ignore"):
                out -= np.log(np.exp(out).sum(axis=1, keepdims=True))
        else:
            np.exp(out, out=out)
            out /= out.sum(axis=1, keepdims=True)

    def _impl_softmax_cross_entropy(self, z, target, grad, sw, cw, smoothing, n_threads):
        n, k = z.shape
        if target.ndim == 1 and (target.min() < 0 or target.max() >= k):
            bad = int(np.flatnonzero((target < 0) | (target >= k))[0])
            raise ValueError(f"label {target[bad]} at index {bad} is outside [0, {k}) for {k} classes")
        z, mx = _limit_rows(z)
        np.subtract(z, mx, out=grad)
        np.exp(grad, out=grad)
        sums = grad.sum(axis=1, keepdims=True)
        grad /= sums
        lse = (mx + np.log(sums)).astype(np.float64)
        s = np.ones(n) if sw is None else sw.astype(np.float64)
        c = np.ones(k) if cw is None else cw.astype(np.float64)
        z64 = z.astype(np.float64)
        with np.errstate(invalid="ignore"):
            if target.ndim == 1:
                w = s * c[target]
                total = w.sum()
                if not total > 0:
                    raise ValueError(
                        "softmax_cross_entropy: the targets' total weight is not positive")
                q = np.zeros((n, k))
                q[np.arange(n), target] = 1.0 - smoothing
                # PyTorch: the smoothing term is weighted per class, the label term per target.
                coef = q * w[:, None] + (smoothing / k) * s[:, None] * c[None, :]
            else:
                total = s.sum()
                if not total > 0:
                    raise ValueError(
                        "softmax_cross_entropy: the total sample weight is not positive")
                coef = ((1.0 - smoothing) * target + smoothing / k) * c[None, :] * s[:, None]
            terms = np.where(coef != 0, coef * (lse - z64), 0.0)
        loss = terms.sum() / total
        mass = coef.sum(axis=1, keepdims=True)
        grad *= (mass / total).astype(grad.dtype)
        grad -= (coef / total).astype(grad.dtype)
        return float(loss)

    def _impl_sigmoid_bce(self, z, t, grad, sw, pw, n_threads):
        n, k = z.shape
        s = np.ones((n, 1)) if sw is None else sw.astype(np.float64)[:, None]
        total = s.sum() * k
        if not total > 0:
            raise ValueError("loss: the total sample weight is not positive")
        z64, t64 = z.astype(np.float64), t.astype(np.float64)
        pt = t64 if pw is None else t64 * pw.astype(np.float64)
        nt = 1.0 - t64
        with np.errstate(invalid="ignore"):
            terms = (np.where(pt != 0, pt * np.logaddexp(0, -z64), 0)
                     + np.where(nt != 0, nt * np.logaddexp(0, z64), 0))
        loss = float((terms * s).sum() / total)
        if grad is not None:
            with np.errstate(over="ignore"):
                sig = 1.0 / (1.0 + np.exp(-z64))
            np.copyto(grad, (sig * (pt + nt) - pt) * (s / total), casting="same_kind")
        return loss

    def _impl_mse(self, p, t, grad, sw, n_threads):
        n, k = p.shape
        s = np.ones((n, 1)) if sw is None else sw.astype(np.float64)[:, None]
        total = s.sum() * k
        if not total > 0:
            raise ValueError("loss: the total sample weight is not positive")
        d = p.astype(np.float64) - t
        loss = float((d * d * s).sum() / total)
        if grad is not None:
            np.subtract(p, t, out=grad)
            grad *= (2.0 * s / total).astype(grad.dtype)
        return loss

    def _impl_robust(self, p, t, grad, sw, huber, beta, n_threads):
        n, k = p.shape
        s = np.ones((n, 1)) if sw is None else sw.astype(np.float64)[:, None]
        total = s.sum() * k
        if not total > 0:
            raise ValueError("loss: the total sample weight is not positive")
        d = p.astype(np.float64) - t
        a = np.abs(d)
        slope = beta if huber else 1.0
        quad = 1.0 if huber else (1.0 / beta if beta > 0 else 0.0)
        inside = a < beta
        with np.errstate(invalid="ignore"):
            terms = np.where(inside, 0.5 * d * d * quad, slope * (a - 0.5 * beta))
        loss = float((terms * s).sum() / total)
        if grad is not None:
            g = np.where(inside, d * quad, np.sign(d) * slope)
            np.copyto(grad, g * (s / total), casting="same_kind")
        return loss

    def _impl_sgd(self, p, g, buf, lr, momentum, weight_decay, nesterov, n_threads):
        d = g + weight_decay * p if weight_decay else g
        if momentum:
            buf *= momentum
            buf += d
            d = d + momentum * buf if nesterov else buf
        p -= (lr * d).astype(p.dtype, copy=False)

    def _impl_adam(self, p, g, m, s, lr, beta1, beta2, eps, weight_decay, step, decoupled,
                   n_threads):
        dt = p.dtype.type
        if decoupled:
            p *= dt(1.0 - lr * weight_decay)
        elif weight_decay:
            g = g + dt(weight_decay) * p
        m *= dt(beta1)
        m += dt(1.0 - beta1) * g
        s *= dt(beta2)
        s += dt(1.0 - beta2) * g * g
        bc1 = 1.0 - beta1 ** step
        bc2_sqrt = np.sqrt(1.0 - beta2 ** step)
        denom = np.sqrt(s) / dt(bc2_sqrt) + dt(eps)
        p -= dt(lr / bc1) * m / denom

    def _impl_rmsprop(self, p, g, sq, buf, gavg, lr, alpha, eps, weight_decay, momentum,
                      n_threads):
        dt = p.dtype.type
        if weight_decay:
            g = g + dt(weight_decay) * p
        sq *= dt(alpha)
        sq += dt(1.0 - alpha) * g * g
        if gavg is not None:
            gavg += dt(1.0 - alpha) * (g - gavg)
            avg = np.sqrt(sq - gavg * gavg)
        else:
            avg = np.sqrt(sq)
        avg += dt(eps)
        if buf is not None:
            buf *= dt(momentum)
            buf += g / avg
            p -= dt(lr) * buf
        else:
            p -= dt(lr) * (g / avg)

    def _impl_adagrad(self, p, g, s, lr, lr_decay, eps, weight_decay, step, n_threads):
        dt = p.dtype.type
        if weight_decay:
            g = g + dt(weight_decay) * p
        s += g * g
        p -= dt(lr / (1.0 + (step - 1) * lr_decay)) * (g / (np.sqrt(s) + dt(eps)))


    def _impl_enet_cd(self, X, sparse, g, h, beta, q, b, H, l1, l2, fit_intercept, max_sweeps,
                      tol):
        """The compiled sweeps step for step (same coordinate order, same active-set rule),
        one column at a time in NumPy; sums in float64."""
        if sparse:
            cols = [(X.indices[X.indptr[j]:X.indptr[j + 1]],
                     X.data[X.indptr[j]:X.indptr[j + 1]].astype(np.float64))
                    for j in range(X.shape[1])]
        else:
            cols = [(slice(None), X[j].astype(np.float64)) for j in range(X.shape[0])]
        for j, (rows, x) in enumerate(cols):
            H[j] = h[rows] @ (x * x)
        sweeps, full = 0, True
        while sweeps < max_sweeps:
            change = 0.0
            for j, (rows, x) in enumerate(cols):
                if (not full and beta[j] == 0.0) or H[j] + l2 <= 0.0:
                    continue
                z = H[j] * beta[j] - x @ (g[rows] + h[rows] * q[rows])
                new = np.sign(z) * max(abs(z) - l1, 0.0) / (H[j] + l2)
                if new != beta[j]:
                    delta = new - beta[j]
                    beta[j] = new
                    q[rows] += delta * x
                    change = max(change, ((H[j] + l2) * delta) ** 2)
            if fit_intercept and h.sum() > 0:
                grad = g.sum() + h @ q
                b[0] -= grad / h.sum()
                q -= grad / h.sum()
                change = max(change, grad * grad)
            sweeps += 1
            if change <= tol:
                if full:
                    break
                full = True
            else:
                full = False
        return sweeps


kernels = NumpyKernels()
