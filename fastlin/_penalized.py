"""L1 / elastic-net penalised logistic regression by proximal Newton with a coordinate-descent
inner solver (the scheme of glmnet and of liblinear's newGLMNET).

The problem, for labels y and sample weights s:
    min_{W, b}  Σ_i s_i ℓ(y_i, x_i Wᵀ + b) + l1 ‖W‖₁ + l2/2 ‖W‖²
with ℓ the binary log-loss (one coefficient vector) or the multinomial cross-entropy (one per
class). scikit-learn's LogisticRegression minimises the same function divided by Σ s (C is
1 / strength: l1 = l1_ratio / C, l2 = (1 - l1_ratio) / C).

Each outer iteration replaces the loss by its second-order model in the linear predictor
(exact for one class's logits: h = s p (1 - p)), minimises that model plus the penalty by
coordinate descent (the compiled ``enet_cd`` kernel, dense columns or CSC), and takes the
largest step 2^-k along the result that decreases the true objective by Armijo's rule on the
model decrease (Tseng and Yun's rule for non-smooth terms). The multinomial case does that one
class after another (block coordinate descent: each block's model is exact, and the objective
decreases at every block). It stops when the largest violation of the optimality conditions
(the distance of −∇smooth from the subdifferential of l1 ‖·‖₁) is at most tol · Σ s, i.e. tol
on scikit-learn's scale, and the last step moved no coefficient by more than tol times the
largest (scikit-learn's saga rule), or when no step decreases the objective any more
(rounding).
"""
import numpy as np
import scipy.sparse as sp
from scipy.special import expit, log_expit

from fastlin.backend import get as get_backend

_ARMIJO = 0.01
_MAX_HALVINGS = 40
_MAX_SWEEPS = 1000


def _columns(X):
    """X by columns for the kernel (C-contiguous Xᵀ, or CSC with int32 indices) and the
    operator whose products X @ v and Xᵀ @ u the outer loop takes (one copy of X in all)."""
    if sp.issparse(X):
        Xc = sp.csc_matrix(X)
        Xc.sort_indices()
        if Xc.indices.dtype != np.int32 or Xc.indptr.dtype != np.int32:
            if Xc.nnz >= 2 ** 31:
                raise ValueError("X has too many stored entries for the coordinate-descent "
                                 "solver (2**31 or more)")
            Xc.indices = Xc.indices.astype(np.int32)
            Xc.indptr = Xc.indptr.astype(np.int32)
        return Xc, sp.csr_matrix(X)
    XT = np.ascontiguousarray(X.T)
    return XT, XT.T


def _times(A, v, dtype):
    """A @ v in float64, with v rounded to X's dtype first: a float32 X is never copied to
    float64 for the product."""
    return np.asarray(A @ v.astype(dtype, copy=False), dtype=np.float64)


def _violation(grad, w, l1):
    """Per coefficient, the distance of -grad from l1 · ∂|w| (0 at an optimum)."""
    return np.where(w != 0, np.abs(grad + l1 * np.sign(w)), np.maximum(np.abs(grad) - l1, 0.0))


class _Problem:
    """The data and penalty shared by the binary and multinomial loops."""

    def __init__(self, X, sw, l1, l2, fit_intercept, tol, backend):
        self.Xc, self.A = _columns(X)
        self.dtype = X.dtype
        self.n, self.d = X.shape
        self.sw = np.ones(self.n) if sw is None else np.asarray(sw, np.float64)
        self.l1, self.l2 = float(l1), float(l2)
        self.fit_intercept = fit_intercept
        self.tol = float(tol)
        self.stop = self.tol * float(self.sw.sum())
        self.K = get_backend(backend)

    def done(self, worst, step, coef):
        """Both stopping rules: the optimality conditions hold to tol on scikit-learn's scale,
        and the last step moved no coefficient by more than tol times the largest one (saga's
        rule). The first alone stops early on large sparse problems, where a violation of
        tol per feature leaves the objective 0.4% above its optimum; Newton steps shrink
        with the distance to the optimum, so the second makes tol mean what it does to
        scikit-learn's saga."""
        return worst <= self.stop and step <= self.tol * max(float(np.abs(coef).max(initial=0)),
                                                             1e-300)

    def penalty_rows(self, W):
        """The penalty of each column of W (one per feature), summed over the rows."""
        return self.l1 * np.abs(W).sum(axis=0) + 0.5 * self.l2 * (W * W).sum(axis=0)

    def penalty(self, w):
        return self.l1 * float(np.abs(w).sum()) + 0.5 * self.l2 * float(w.ravel() @ w.ravel())

    def newton_direction(self, g, h, w, b, inner_tol):
        """Coordinate descent on the model at (w, b): the new point and q = X Δw + Δb."""
        beta, q, bb = w.astype(np.float64).copy(), np.zeros(self.n), np.array([b], np.float64)
        self.K.enet_cd(self.Xc, g, h, beta, q, bb, self.l1, self.l2, self.fit_intercept,
                       _MAX_SWEEPS, inner_tol)
        return beta, float(bb[0]), q

    def line_search(self, loss_at, F, z, q, w, b, beta, b_new, model_decrease):
        """The largest t = 2^-k with F(w + tΔ) <= F(w) + σ t Δ_model; None when none is.

        A model decrease below the rounding of F itself cannot be checked on F: the step
        is then so small that the quadratic model is exact to that rounding, and it is taken
        whole (else the solve would stall short of tol on the gradient)."""
        t = 1.0
        if -model_decrease <= 64 * np.finfo(float).eps * (abs(F) + 1.0):
            w_t = w + (beta - w)
            return t, w_t, b_new, loss_at(z + q) + self.penalty(w_t)
        for _ in range(_MAX_HALVINGS):
            w_t = w + t * (beta - w)
            F_t = loss_at(z + t * q) + self.penalty(w_t)
            if F_t <= F + _ARMIJO * t * model_decrease:
                return t, w_t, b + t * (b_new - b), F_t
            t *= 0.5
        return None

    def model_decrease(self, grad_w, grad_b, w, b, beta, b_new):
        """Δ of Tseng and Yun: ∇smooth · step + l1 (‖new‖₁ − ‖old‖₁), with grad_w including
        the l2 term, so that the Armijo test reads the penalty exactly."""
        return (float(grad_w @ (beta - w)) + grad_b * (b_new - b)
                + self.l1 * float(np.abs(beta).sum() - np.abs(w).sum()))


def _binary(P, y, w, b, max_iter, callback=None):
    """The binary log-loss problem; y in {0, 1}. Returns (w, b, n_iter, converged)."""
    s = P.sw
    sign = 2.0 * y - 1.0

    def loss_at(z):
        return -float(s @ log_expit(sign * z))

    z = _times(P.A, w, P.dtype) + b
    F = loss_at(z) + P.penalty(w)
    step = np.inf
    for it in range(1, max_iter + 1):
        p = expit(z)
        g, h = s * (p - y), s * p * (1.0 - p)
        grad_w = _times(P.Xc.T if sp.issparse(P.Xc) else P.Xc, g, P.dtype) + P.l2 * w
        grad_b = float(g.sum()) if P.fit_intercept else 0.0
        worst = max(float(_violation(grad_w, w, P.l1).max(initial=0.0)), abs(grad_b))
        if P.done(worst, step, w):
            return w, b, it - 1, True
        beta, b_new, q = P.newton_direction(g, h, w, b, (0.1 * worst) ** 2)
        delta = P.model_decrease(grad_w, grad_b, w, b, beta, b_new)
        found = P.line_search(loss_at, F, z, q, w, b, beta, b_new, delta) if delta < 0 else None
        if found is None:  # no decrease left to find at this precision
            if callback is not None:
                callback(w[None, :].copy(), np.array([b]))
            return w, b, it, True
        t, w_new, b, F = found
        step = t * float(np.abs(beta - w).max(initial=0.0))
        w = w_new
        z = z + t * q
        if callback is not None:
            callback(w[None, :].copy(), np.array([b]))
    return w, b, max_iter, False


def _logsumexp_rows(Z):
    """log Σ_k exp(Z_ik) per row, with the row max taken out (-inf rows stay -inf); NumPy
    directly, without scipy.special.logsumexp's per-call overhead (half the solve time on
    20 classes)."""
    m = Z.max(axis=1)
    safe = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return safe + np.log(np.exp(Z - safe[:, None]).sum(axis=1))


def _class_block(P, k, Z, labels, W, B, worst):
    """One proximal Newton step in class k's coefficients, the other classes held. Only
    column k of the logits moves, so the log-normaliser is log(e^{rest} + e^{z_k}) with
    the other classes' part computed once: each line-search trial costs O(n), not O(n K)."""
    s = P.sw
    Z_rest = Z.copy()
    Z_rest[:, k] = -np.inf
    lse_rest = _logsumexp_rows(Z_rest)
    del Z_rest
    is_k = labels == k
    z_label = Z[np.arange(P.n), labels]
    p = np.exp(Z[:, k] - np.logaddexp(lse_rest, Z[:, k]))
    g, h = s * (p - is_k), s * p * (1.0 - p)
    grad_w = _times(P.Xc.T if sp.issparse(P.Xc) else P.Xc, g, P.dtype) + P.l2 * W[k]
    grad_b = float(g.sum()) if P.fit_intercept else 0.0
    beta, b_new, q = P.newton_direction(g, h, W[k], B[k], (0.1 * worst) ** 2)
    delta = P.model_decrease(grad_w, grad_b, W[k], B[k], beta, b_new)
    if not delta < 0:
        return False

    def loss_at(zk):
        return float(s @ (np.logaddexp(lse_rest, zk) - np.where(is_k, zk, z_label)))

    F = loss_at(Z[:, k]) + P.penalty(W[k])
    found = P.line_search(loss_at, F, Z[:, k], q, W[k], B[k], beta, b_new, delta)
    if found is None:
        return False
    t, W[k], B[k], _ = found
    Z[:, k] += t * q
    return True


def _best_shift(P, W):
    """The common shift c (one per feature) that minimises the penalty of W + c, found
    exactly: the loss does not see a shift shared by every class, so this step costs it
    nothing, and it is the direction in which one class at a time moves slowest (only the
    penalty curves it). Per feature the penalty is convex and piecewise quadratic in c with
    kinks at −W_kj; the minimum is a stationary point of one piece or a kink."""
    K = W.shape[0]
    kinks = np.sort(-W, axis=0)
    total = W.sum(axis=0)
    best_c, best_f = np.zeros(W.shape[1]), P.penalty_rows(W)
    for m in range(K + 1):  # the piece where m of the K kinks lie below c
        lo = kinks[m - 1] if m > 0 else np.full(W.shape[1], -np.inf)
        hi = kinks[m] if m < K else np.full(W.shape[1], np.inf)
        slope = P.l1 * (2 * m - K)
        if P.l2 > 0:
            c = np.clip(-(slope + P.l2 * total) / (P.l2 * K), lo, hi)
        else:
            c = np.where(np.isfinite(lo), lo, hi)
        c = np.where(np.isfinite(c), c, 0.0)
        f = P.penalty_rows(W + c)
        better = f < best_f
        best_c[better], best_f[better] = c[better], f[better]
    return best_c


def _multinomial(P, labels, n_classes, W, B, max_iter, callback=None):
    """The multinomial problem, one class block after another. Returns (W, B, n_iter,
    converged); the intercepts are shifted to sum to zero (the loss does not see a common
    shift; scikit-learn's solvers keep that sum at zero too)."""
    Z = _times(P.A, W.T, P.dtype) + B
    XT_op = P.Xc.T if sp.issparse(P.Xc) else P.Xc
    converged, it, step = False, 0, np.inf
    for it in range(1, max_iter + 1):
        G = np.exp(Z - _logsumexp_rows(Z)[:, None])
        G[np.arange(P.n), labels] -= 1.0
        G *= P.sw[:, None]
        grad_W = _times(XT_op, G, P.dtype).T + P.l2 * W
        worst = float(_violation(grad_W, W, P.l1).max(initial=0.0))
        if P.fit_intercept:
            worst = max(worst, float(np.abs(G.sum(axis=0)).max()))
        if P.done(worst, step, W):
            converged, it = True, it - 1
            break
        before = W.copy()
        moved = [_class_block(P, k, Z, labels, W, B, worst) for k in range(n_classes)]
        if P.l1 or P.l2:
            # Z is left as it was: a shift shared by all classes moves every logit of a row
            # by the same amount, which the softmax and the loss do not see
            W += _best_shift(P, W)
        step = float(np.abs(W - before).max(initial=0.0))
        if callback is not None:
            callback(W.copy(), B - B.mean() if P.fit_intercept else B.copy())
        if not any(moved):
            converged = True
            break
    if P.fit_intercept:
        B -= B.mean()
    return W, B, it, converged


def fit_penalized_logistic(X, labels, n_classes, sample_weight, l1, l2, *, fit_intercept=True,
                           max_iter=100, tol=1e-4, init=None, backend="cython", callback=None):
    """Minimise Σ s_i ℓ_i + l1 ‖W‖₁ + l2/2 ‖W‖² (binary log-loss for 2 classes, else the
    multinomial cross-entropy) over the coefficients and the unpenalised intercepts.

    Parameters
    ----------
    X : array or scipy.sparse matrix of shape (n_samples, n_features), float32 or float64
    labels : int array of shape (n_samples,), class indices in [0, n_classes)
    n_classes : int >= 2
    sample_weight : array of shape (n_samples,) or None
    l1, l2 : float >= 0
    init : (coef, intercept) of shapes (n_out, n_features), (n_out,), optional
    callback : callable, optional; after each outer iteration, ``callback(coef, intercept)``
        with copies of the current weights (the shapes returned)

    Returns
    -------
    coef : float64 array of shape (1, n_features) for 2 classes, else (n_classes, n_features)
    intercept : float64 array of shape (1,) or (n_classes,)
    n_iter : int, outer iterations; converged : bool
    """
    P = _Problem(X, sample_weight, l1, l2, fit_intercept, tol, backend)
    n_out = 1 if n_classes == 2 else n_classes
    W, B = np.zeros((n_out, P.d)), np.zeros(n_out)
    if init is not None:
        W[:] = np.asarray(init[0], np.float64).reshape(n_out, P.d)
        if fit_intercept:
            B[:] = np.asarray(init[1], np.float64).reshape(n_out)
    if n_out == 1:
        w, b, n_iter, ok = _binary(P, (labels == 1).astype(np.float64), W[0], float(B[0]),
                                   max_iter, callback)
        return w[None, :], np.array([b]), n_iter, ok
    return _multinomial(P, labels, n_classes, W, B, max_iter, callback)
