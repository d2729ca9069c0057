"""The classical linear models of the lecture.

LinearRegression: least squares in closed form. The bias is a column of ones appended to X;
the weights solve min ||Xa w - y||² (+ alpha ||w_features||², the intercept unpenalised) either
through LAPACK's least squares (the pseudo-inverse, robust to rank deficiency) or the normal
equations XaᵀXa w = Xaᵀy. Under Gaussian noise, y = Xw + ε with ε ~ N(0, σ²), the negative
log-likelihood is n/2 log(2πσ²) + ||y - Xw||² / (2σ²): for any fixed σ² it is the squared loss
scaled and shifted, so the maximum-likelihood w is the least-squares w, and the MLE noise
variance is σ̂² = mean squared residual.

LogisticRegression (sigmoid + BCE) and SoftmaxRegression (softmax + cross-entropy): a single
Dense layer trained by the same fused kernels as the MLPs, with L-BFGS on the full batch (the
loss is convex) and an L2 penalty on the weights; or, with penalty="l1"/"elasticnet", by
proximal Newton with coordinate descent.
"""
import numpy as np
import scipy.linalg
import scipy.optimize
import scipy.sparse as sp
import scipy.sparse.linalg

from fastlin import _checks, _sparse
from fastlin._estimator import ParamsMixin
from fastlin._lbfgs import TWO_PASS_FROM, minimize_lbfgs
from fastlin._lbfgsb import minimize_lbfgsb
from fastlin._least_squares import times, well_conditioned_solve
from fastlin._nnls import nonnegative_least_squares
from fastlin._penalized import fit_penalized_logistic
from fastlin.backend import get as get_backend
from fastlin.parallel.threads import for_size


# a block of X that stays in a core's L2 while its products and loss are computed
_BLOCK_BYTES = 400 << 10


def _block_rows(X, n_out):
    """Rows per block for the dense loss and gradient, or None to take X whole.

    Whole, the forward product reads X and the weight gradient reads it again, and OpenBLAS
    packs all of X for each of the two thin products. In blocks of ~400 KB, the gradient's
    product finds its block still in L2. Per evaluation, 5 classes of 100 float64 features,
    one thread: 200,000 rows 54 -> 23 ms, 20,000 rows 4.9 -> 2.1 ms, 5,000 rows (3.8 MB)
    0.80 -> 0.44 ms; at 2,000 rows (1.5 MB, within the caches) blocks cost 8% more in calls,
    so X under 2 MB stays whole, as does an X whose rows are so wide that a block holds fewer
    than 64, or whose weights would not stay in cache beside a block."""
    row = X.shape[1] * X.itemsize
    rows = _BLOCK_BYTES // max(row, 1)
    if X.nbytes < (2 << 20) or rows < 64 or X.shape[1] * n_out * X.itemsize > (64 << 10):
        return None
    return int(rows)


def _target_like(y, pred):
    """The target y checked (finite, numeric, one row per sample) as float64 of the shape of
    the predictions `pred`: a column (n, 1) and a vector (n,) stand for each other, so they
    never broadcast into an (n, n) difference."""
    y = _checks.check_y(y, pred.shape[0]).astype(np.float64, copy=False)
    if y.shape != pred.shape and y.size == pred.size and 1 in (y.ndim, pred.ndim):
        y = y.reshape(pred.shape)
    if y.shape != pred.shape:
        raise ValueError(f"y has shape {y.shape} but the model predicts shape {pred.shape}")
    return y


class LinearRegression(ParamsMixin):
    """Ordinary least squares / ridge in closed form.

    Parameters
    ----------
    fit_intercept : bool, default True (appends a column of ones to X)
    alpha : float >= 0, L2 strength on the coefficients (not the intercept), default 0
    solver : "lstsq" (LAPACK gelsd, the pseudo-inverse) or "normal" (normal equations)
    tol : float, the stopping tolerance of LSQR, which solves sparse X under "lstsq"
    positive : bool, default False; True constrains the coefficients (not the intercept) to be
        >= 0: non-negative least squares on the (weighted) centred data, by
        scipy.optimize.nnls for dense X (scikit-learn's solver) and by
        scipy.optimize.lsq_linear on the centred sparse operator (X never densified)

    X may be a scipy.sparse matrix: "lstsq" then runs LSQR on the centred operator (X is
    never densified; the intercept is the weighted mean residual, alpha the damping) and
    "normal" solves the normal equations built from the sparse XᵀX.

    Attributes
    ----------
    coef_ : array of shape (n_features,) or (n_targets, n_features)
    intercept_ : float or array of shape (n_targets,)
    noise_variance_ : float or array, the Gaussian MLE σ̂² = mean squared training residual
    """

    _estimator_type = "regressor"

    def __init__(self, fit_intercept=True, alpha=0.0, solver="lstsq", tol=1e-6, positive=False):
        self.fit_intercept = fit_intercept
        self.alpha = alpha
        self.solver = solver
        self.tol = tol
        self.positive = positive

    def _design(self, X):
        if self.fit_intercept:
            return np.hstack([X, np.ones((X.shape[0], 1))])
        return X

    def fit(self, X, y, sample_weight=None):
        """Fit least squares: the bias as a column of ones, solved by ``solver="lstsq"`` (the
        pseudo-inverse's solution: LAPACK's SVD-based gelsd, or for tall float64 data with
        σmin/σmax > 1e-3 the Gram matrix's eigen-decomposition, equal to ~1e-10 and ~3-6×
        faster) or the normal equations (``"normal"``).

        Parameters
        ----------
        X : array (n_samples, n_features) or scipy.sparse matrix
        y : array (n_samples,) or (n_samples, n_targets)
        sample_weight : array (n_samples,), optional

        Returns
        -------
        self

        Raises
        ------
        ValueError
            Bad arguments or data, named.

        Examples
        --------
        >>> import numpy as np, fastlin
        >>> X = np.array([[0.0], [1.0], [2.0]])
        >>> model = fastlin.LinearRegression().fit(X, 2 * X[:, 0] + 1)
        >>> np.round([model.coef_[0], model.intercept_], 6).tolist()
        [2.0, 1.0]"""
        if self.solver not in ("lstsq", "normal"):
            raise ValueError(f"solver must be 'lstsq' or 'normal', got {self.solver!r}")
        alpha = float(self.alpha)
        if not np.isfinite(alpha) or alpha < 0:
            raise ValueError(f"alpha must be a finite number >= 0, got {self.alpha}")
        tol = float(self.tol)
        if not tol >= 0:
            raise ValueError(f"tol must be a number >= 0, got {self.tol}")
        X = _sparse.check_X(X) if sp.issparse(X) else _checks.check_X(X)
        y = _checks.check_y(y, X.shape[0]).astype(np.float64)
        sw = _checks.check_sample_weight(sample_weight, X.shape[0], np.float64)
        if sw is not None and not sw.sum() > 0:
            raise ValueError("sample_weight sums to zero; at least one sample needs weight")
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        if not isinstance(self.positive, (bool, np.bool_)):
            raise ValueError(f"positive must be True or False, got {self.positive!r}")
        if self.positive:
            W, b = nonnegative_least_squares(X, Y, sw, alpha, self.fit_intercept, tol)
            self.rank_ = self.singular_ = None
        elif sp.issparse(X):
            W, b = self._solve_sparse(X, Y, sw, alpha, tol)
        else:
            W, b = self._solve_dense(X, Y, sw, alpha)
        residual = Y - ((np.asarray(X @ W) if sp.issparse(X) else times(X, W)) + b)
        if sw is None:
            var = np.mean(residual ** 2, axis=0)
        else:
            var = (sw[:, None] * residual ** 2).sum(axis=0) / sw.sum()
        single = y.ndim == 1
        self.coef_ = W[:, 0] if single else W.T
        self.intercept_ = float(b[0]) if single else b
        self.noise_variance_ = float(var[0]) if single else var
        self.n_features_in_ = X.shape[1]
        return self

    def _solve_dense(self, X, Y, sw, alpha):
        A = self._design(X)
        if sw is not None:
            root = np.sqrt(sw)[:, None]
            A, Yw = A * root, Y * root
        else:
            Yw = Y
        d = A.shape[1]
        penalty = np.full(d, alpha)
        if self.fit_intercept:
            penalty[-1] = 0.0
        if self.solver == "lstsq":
            if alpha > 0:
                A = np.vstack([A, np.diag(np.sqrt(penalty))])
                Yw = np.vstack([Yw, np.zeros((d, Y.shape[1]))])
            solved = well_conditioned_solve(A, Yw)
            if solved is not None:
                w, self.rank_, self.singular_ = solved
            else:
                # (_cond: the relative cut-off of small singular values; None is LAPACK's
                # default. fastlin.sklearn sets it to tol where scikit-learn does, from 1.9 on)
                w, _, self.rank_, self.singular_ = scipy.linalg.lstsq(
                    A, Yw, cond=getattr(self, "_cond", None), lapack_driver="gelsd")
        else:
            w = self._solve_normal(A.T @ A + np.diag(penalty), A.T @ Yw)
        W = w[:-1] if self.fit_intercept else w
        b = w[-1] if self.fit_intercept else np.zeros(Y.shape[1])
        return W, b

    def _solve_sparse(self, X, Y, sw, alpha, tol):
        """Centre implicitly (weighted column means x̄, ȳ), solve for the coefficients, then
        b = ȳ - x̄·W: the unpenalised intercept without densifying X."""
        n, d = X.shape
        w = np.ones(n) if sw is None else sw
        total = float(w.sum())
        if self.fit_intercept:
            x_off = np.asarray(X.T @ w).ravel() / total
            y_off = (w @ Y) / total
        else:
            x_off, y_off = np.zeros(d), np.zeros(Y.shape[1])
        root = np.sqrt(w)
        if self.solver == "lstsq":
            op = scipy.sparse.linalg.LinearOperator(
                (n, d), dtype=np.float64,
                matvec=lambda v: root * (X @ np.ravel(v) - x_off @ np.ravel(v)),
                rmatvec=lambda u: X.T @ (root * np.ravel(u)) - x_off * (root @ np.ravel(u)))
            W = np.empty((d, Y.shape[1]))
            for j in range(Y.shape[1]):
                W[:, j] = scipy.sparse.linalg.lsqr(op, root * (Y[:, j] - y_off[j]),
                                                   damp=np.sqrt(alpha), atol=tol, btol=tol)[0]
        else:
            Xw = X.multiply(root[:, None]).tocsr()
            gram = np.asarray((Xw.T @ Xw).todense()) - total * np.outer(x_off, x_off)
            rhs = np.asarray(X.T @ (w[:, None] * Y)) - total * np.outer(x_off, y_off)
            W = self._solve_normal(gram + alpha * np.eye(d), rhs)
        self.rank_ = self.singular_ = None
        return W, y_off - x_off @ W

    @staticmethod
    def _solve_normal(gram, rhs):
        try:
            return scipy.linalg.solve(gram, rhs, assume_a="pos")
        except (scipy.linalg.LinAlgError, np.linalg.LinAlgError):
            raise ValueError("XᵀX is singular: the normal equations have no unique solution; "
                             "use solver='lstsq' or alpha > 0") from None

    def predict(self, X):
        """X @ coef_ + intercept_, of shape (n_samples,) or (n_samples, n_targets) as y was.

        Examples
        --------
        >>> import numpy as np, fastlin
        >>> X = np.array([[0.0], [1.0], [2.0]])
        >>> fastlin.LinearRegression().fit(X, 3 * X[:, 0]).predict([[4.0]]).round(6).tolist()
        [12.0]"""
        self._check_fitted()
        if sp.issparse(X):
            X = _sparse.check_X(X, self.n_features_in_)
        else:
            X = _checks.check_X(X, self.n_features_in_)
        return np.asarray(X @ self.coef_.T) + self.intercept_

    def score(self, X, y, sample_weight=None):
        """Coefficient of determination R² (the mean over the targets of several)."""
        pred = self.predict(X)
        y = _target_like(y, pred)
        w = _checks.check_sample_weight(sample_weight, len(y), np.float64)
        w = (np.ones(len(y)) if w is None else w).reshape(-1, *([1] * (y.ndim - 1)))
        ss_res = (w * (y - pred) ** 2).sum(axis=0)
        ss_tot = (w * (y - np.average(y, axis=0, weights=w.ravel())) ** 2).sum(axis=0)
        # a constant target (ss_tot = 0) scores 1 when predicted exactly, else 0, as
        # scikit-learn's r2_score does (not 1 - ss_res, a number in the target's units)
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.where(ss_tot == 0, np.where(ss_res == 0, 1.0, 0.0), 1 - ss_res / ss_tot)
        return float(np.mean(r2))

    def log_likelihood(self, X, y, noise_variance=None):
        """Gaussian log-likelihood Σ log N(y | Xw + b, σ²) with σ² = noise_variance_ unless given."""
        self._check_fitted()
        var = self.noise_variance_ if noise_variance is None else noise_variance
        var = np.maximum(np.asarray(var, np.float64), np.finfo(np.float64).tiny)
        pred = self.predict(X)
        r = _target_like(y, pred) - pred
        return float(np.sum(-0.5 * np.log(2 * np.pi * var) - r ** 2 / (2 * var)))

    def negative_log_likelihood(self, X, y, noise_variance=None):
        """The negative of ``log_likelihood``: with a fixed noise variance, the squared loss up to
        a scale and a constant (Gaussian maximum likelihood gives the squared loss)."""
        return -self.log_likelihood(X, y, noise_variance)

    def _check_fitted(self):
        if not hasattr(self, "coef_"):
            raise RuntimeError("this LinearRegression is not fitted yet; call fit first")


class _KernelLinearClassifier(ParamsMixin):
    """Shared training of a single Dense layer with a fused classification loss.

    Parameters
    ----------
    C : float > 0, the inverse penalty strength (inf: no penalty)
    fit_intercept, max_iter, tol, dtype, backend : as before
    penalty : "l2" (default), "l1", "elasticnet" or None (no penalty, C ignored)
    l1_ratio : float in [0, 1], the L1 share of the elastic-net penalty (only read with
        penalty="elasticnet")

    The objective is scikit-learn's: mean loss + (l1_ratio ‖W‖₁ + (1 − l1_ratio)/2 ‖W‖²)
    / (C Σ sample_weight), the intercept unpenalised. The L2 penalty (or none) is minimised by
    L-BFGS on the fused kernels; L1 and elastic net, which L-BFGS cannot reach (the optimum
    has exact zeros), by proximal Newton with compiled coordinate descent
    (fastlin._penalized).
    """

    _estimator_type = "classifier"

    def __init__(self, C=1.0, fit_intercept=True, max_iter=200, tol=1e-6, dtype="float64",
                 backend="cython", penalty="l2", l1_ratio=0.5):
        self.penalty = penalty
        self.l1_ratio = l1_ratio
        self.C = C
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.dtype = dtype
        self.backend = backend

    def _loss_and_grad(self, K, X, target, sw, n_out):
        """scikit-learn's objective as a function of theta = [W.ravel(), b] (float64):
        Σ sw·loss / Σ sw + ||W||² / (2 C Σ sw), and its exact gradient. Dense X runs on the
        fused kernels (in row blocks when X exceeds the caches, see _block_rows), sparse X on
        fastlin/_sparse.py's CSR products."""
        d = X.shape[1]
        dt = X.dtype
        n_eff = X.shape[0] if sw is None else float(sw.sum())
        C = np.inf if getattr(self, "penalty", "l2") is None else float(self.C)
        reg = 0.0 if np.isinf(C) else 1.0 / (C * n_eff)
        sparse = sp.issparse(X)
        logits = np.empty((X.shape[0], n_out), dt)
        grad_logits = np.empty_like(logits)
        dW = np.empty((d, n_out), dt)
        db = np.empty(n_out, dt)
        fit_intercept = self.fit_intercept
        # every buffer here is ours and X, target and sw were checked once: call the kernels'
        # unchecked entry points (labels are still range-checked inside the kernel)
        nt_cheap = for_size(logits.size, cheap=True)
        nt = for_size(logits.size)
        rows = None if sparse else _block_rows(X, n_out)
        products = _sparse.CSRProducts(X, n_out) if sparse else None

        def f(theta):
            W = np.ascontiguousarray(theta[: d * n_out].reshape(d, n_out), dtype=dt)
            b = np.ascontiguousarray(theta[d * n_out:], dtype=dt) if fit_intercept else None
            if sparse:
                products.forward(W, logits)
                if fit_intercept:
                    np.add(logits, b, out=logits)
                loss = self._loss(K, logits, target, grad_logits, sw, nt)
                products.gradient(grad_logits, dW)
                if fit_intercept:
                    np.sum(grad_logits, axis=0, out=db)
            elif rows is None:
                K._impl_dense_forward(X, W, b, 0, None, logits, None, nt_cheap)
                loss = self._loss(K, logits, target, grad_logits, sw, nt)
                K._impl_dense_backward(X, W, grad_logits, dW, db if fit_intercept else None, None)
            else:
                loss = self._blocked(K, X, W, b, target, sw, n_eff, rows, logits, grad_logits,
                                     dW, db if fit_intercept else None)
            w64 = theta[: d * n_out]
            value = loss + 0.5 * reg * float(w64 @ w64)
            grad = np.empty_like(theta)
            grad[: d * n_out] = dW.ravel()
            if reg:
                grad[: d * n_out] += reg * w64
            if fit_intercept:
                grad[d * n_out:] = db
            return value, grad

        return f

    def _blocked(self, K, X, W, b, target, sw, n_eff, rows, logits, grad_logits, dW, db):
        """The dense loss and gradient over blocks of `rows` rows: each block's logits, loss
        gradient and weight gradient while the block is still in cache, so X is read from
        memory once instead of twice (see _block_rows). Returns the loss; fills dW and db."""
        n = X.shape[0]
        dWb, dbb = np.empty_like(dW), None if db is None else np.empty_like(db)
        dW[...] = 0
        if db is not None:
            db[...] = 0
        loss = 0.0
        for start in range(0, n, rows):
            stop = min(start + rows, n)
            swb = None if sw is None else sw[start:stop]
            weight = float(stop - start) if swb is None else float(swb.sum())
            if weight <= 0:
                continue  # rows of weight zero add nothing to the loss or the gradient
            xb, zb, gb = X[start:stop], logits[start:stop], grad_logits[start:stop]
            K._impl_dense_forward(xb, W, b, 0, None, zb, None, 1)
            share = weight / n_eff  # the block's mean, as a part of the whole's
            loss += share * self._loss(K, zb, target[start:stop], gb, swb, 1)
            np.multiply(gb, share, out=gb)
            K._impl_dense_backward(xb, W, gb, dWb, dbb, None)
            dW += dWb
            if db is not None:
                db += dbb
        return loss

    def _l1_ratio(self):
        """The share of L1 in the penalty: 0 for "l2" (and None, where C is ignored)."""
        penalty, ratio = self.penalty, self.l1_ratio
        if penalty not in ("l2", "l1", "elasticnet", None):
            raise ValueError(f"penalty must be 'l2', 'l1', 'elasticnet' or None, got {penalty!r}")
        if penalty == "elasticnet":
            if isinstance(ratio, bool) or not isinstance(ratio, (int, float, np.number)) \
                    or not 0 <= ratio <= 1:
                raise ValueError(f"l1_ratio must be a number in [0, 1], got {ratio!r}")
            return float(ratio)
        return 1.0 if penalty == "l1" else 0.0

    def _fit_weights(self, X, target, sw, n_out, init=None, callback=None):
        C = self.C
        if isinstance(C, bool) or not isinstance(C, (int, float, np.number)) or not C > 0:
            raise ValueError(f"C must be a positive number (inf for no penalty), got {C!r}")
        ratio = self._l1_ratio()
        if ratio > 0 and self.penalty is not None and np.isfinite(C):
            return self._fit_proximal(X, target, sw, n_out, float(C), ratio, init, callback)
        K = get_backend(self.backend)
        f = self._loss_and_grad(K, X, target, sw, n_out)
        d = X.shape[1]
        theta0 = np.zeros(d * n_out + (n_out if self.fit_intercept else 0))
        if init is not None:
            W0, b0 = init
            theta0[: d * n_out] = np.asarray(W0, np.float64).T.ravel()
            if self.fit_intercept:
                theta0[d * n_out:] = b0
        step = None
        if callback is not None:
            def step(x):
                callback(x[: d * n_out].reshape(d, n_out).T.copy(),
                         x[d * n_out:].copy() if self.fit_intercept else np.zeros(n_out))
        # scikit-learn's settings: gtol = tol, up to 50 line-search steps, ftol = 64 eps.
        # L-BFGS-B's own iterations for small problems (SciPy's, so the iterates are
        # scikit-learn's bit for bit); from TWO_PASS_FROM parameters the same iterations with
        # a cheaper direction (fastlin._lbfgs: 1e6 parameters, 52 -> 16 ms an iteration)
        solver = minimize_lbfgs if theta0.size >= TWO_PASS_FROM else minimize_lbfgsb
        res = solver(f, theta0, maxiter=int(self.max_iter), gtol=self.tol, maxls=50,
                              ftol=64 * np.finfo(float).eps, callback=step)
        self.result_ = res
        self.n_iter_ = int(min(res.nit, self.max_iter))
        W = res.x[: d * n_out].reshape(d, n_out)
        b = res.x[d * n_out:] if self.fit_intercept else np.zeros(n_out)
        return W, b

    def _fit_proximal(self, X, target, sw, n_out, C, ratio, init, callback=None):
        """The L1 / elastic-net problem by proximal Newton (fastlin._penalized)."""
        labels = (target[:, 0] > 0.5).astype(np.int64) if n_out == 1 else target
        n_classes = 2 if n_out == 1 else n_out
        if init is not None:
            init = (np.asarray(init[0], np.float64).reshape(n_out, -1), init[1])
        coef, b, nit, ok = fit_penalized_logistic(
            X, labels, n_classes, sw, ratio / C, (1.0 - ratio) / C,
            fit_intercept=self.fit_intercept, max_iter=int(self.max_iter), tol=self.tol,
            init=init, backend=self.backend, callback=callback)
        self.result_ = scipy.optimize.OptimizeResult(
            x=np.concatenate([coef.T.ravel(), b if self.fit_intercept else []]), nit=nit,
            status=0 if ok else 1, success=ok,
            message="converged" if ok else "STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT")
        self.n_iter_ = int(nit)
        return coef.T, (b if self.fit_intercept else np.zeros(n_out))

    def _objective(self, X, y, sample_weight=None):
        """(f, n_parameters): the objective fit minimises, theta -> (value, gradient), for
        the labels y; for checking the gradient (scipy.optimize.check_grad)."""
        X, target, sw, n_out = self._prepare(X, y, sample_weight)
        f = self._loss_and_grad(get_backend(self.backend), X, target, sw, n_out)
        return f, X.shape[1] * n_out + (n_out if self.fit_intercept else 0)

    def _prepare(self, X, y, sample_weight):
        dtype = np.dtype(self.dtype)
        X = _sparse.check_X(X, dtype=dtype) if sp.issparse(X) else _checks.check_X(X, dtype=dtype)
        y = _checks.check_y(y, X.shape[0])
        self.classes_, index = np.unique(y, return_inverse=True)
        self._check_classes(len(self.classes_))
        target, n_out = self._target(index, X.dtype)
        sw = _checks.check_sample_weight(sample_weight, X.shape[0], X.dtype)
        return X, target, sw, n_out or len(self.classes_)

    def fit(self, X, y, sample_weight=None, init=None, callback=None):
        """Fit on X of shape (n_samples, n_features) (dense or scipy.sparse) and class labels y
        of shape (n_samples,); init = (coef, intercept) starts from those weights; after each
        solver iteration, callback(coef, intercept) gets copies of them (float64)."""
        X, target, sw, n_out = self._prepare(X, y, sample_weight)
        W, b = self._fit_weights(X, target, sw, n_out, init, callback)
        self.coef_ = W.T
        self.intercept_ = b
        self.n_features_in_ = X.shape[1]
        return self

    def _check_fitted(self):
        if not hasattr(self, "coef_"):
            raise RuntimeError(f"this {type(self).__name__} is not fitted yet; call fit first")

    def decision_function(self, X):
        """The logits X @ coef_.T + intercept_: shape (n_samples,) for two classes (the positive
        class's), else (n_samples, n_classes)."""
        self._check_fitted()
        if sp.issparse(X):
            X = _sparse.check_X(X, self.n_features_in_)
        else:
            X = _checks.check_X(X, self.n_features_in_)
        scores = np.asarray(X @ self.coef_.T) + self.intercept_
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def predict(self, X):
        """The predicted class of each row (from ``classes_``, the sorted labels fit saw).

        Examples
        --------
        >>> import numpy as np, fastlin
        >>> X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
        >>> fastlin.LogisticRegression().fit(X, [0, 0, 1, 1]).predict([[3.0], [-3.0]]).tolist()
        [1, 0]"""
        return self.classes_[self._predict_index(X)]

    def score(self, X, y):
        """Mean accuracy of predict(X) against the labels y."""
        pred = self.predict(X)
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]  # a column of labels, as fit takes it
        if y.shape != pred.shape:
            raise ValueError(f"y must hold one label per sample, shape {pred.shape}; got "
                             f"shape {y.shape}")
        return float(np.mean(pred == y))


class LogisticRegression(_KernelLinearClassifier):
    """Binary logistic regression: p(y=1|x) = sigmoid(x·w + b), fitted by minimising the mean
    binary cross-entropy + ||w||² / (2 C n) (scikit-learn's objective) with L-BFGS."""

    @staticmethod
    def _loss(K, logits, target, grad, sw, n_threads):
        return K._impl_sigmoid_bce(logits, target, grad, sw, None, n_threads)

    def _check_classes(self, n_classes):
        if n_classes != 2:
            raise ValueError(f"LogisticRegression needs exactly 2 classes, got {n_classes}; "
                             "use SoftmaxRegression for more")

    @staticmethod
    def _target(index, dtype):
        return index.reshape(-1, 1).astype(dtype), 1

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, 2): 1 − sigmoid(z) and sigmoid(z) of the
        logits z (computed without overflow)."""
        z = self.decision_function(X)
        p = 0.5 * (1 + np.tanh(0.5 * z))  # the sigmoid, without overflow
        return np.column_stack([1 - p, p])

    def _predict_index(self, X):
        return (self.decision_function(X) > 0).astype(np.int64)


class SoftmaxRegression(_KernelLinearClassifier):
    """Multinomial logistic regression: p(y|x) = softmax(x W + b); the cross-entropy gradient
    with respect to the logits is softmax − onehot. Fitted like LogisticRegression."""

    @staticmethod
    def _loss(K, logits, target, grad, sw, n_threads):
        return K._impl_softmax_cross_entropy(logits, target, grad, sw, None, 0.0, n_threads)

    def _check_classes(self, n_classes):
        if n_classes < 2:
            raise ValueError("SoftmaxRegression needs at least 2 classes")

    @staticmethod
    def _target(index, dtype):
        return np.ascontiguousarray(index, dtype=np.int64), None

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes): the softmax of the logits (the
        largest subtracted first, so no exp overflows)."""
        z = self.decision_function(X)
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def _predict_index(self, X):
        return np.argmax(self.decision_function(X), axis=1)
