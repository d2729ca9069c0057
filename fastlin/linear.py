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
loss is convex) and an L2 penalty on the weights.
"""
import numpy as np
import scipy.linalg
import scipy.optimize

from fastlin import _checks
from fastlin.backend import get as get_backend


class LinearRegression:
    """Ordinary least squares / ridge in closed form.

    Parameters
    ----------
    fit_intercept : bool, default True (appends a column of ones to X)
    alpha : float >= 0, L2 strength on the coefficients (not the intercept), default 0
    solver : "lstsq" (LAPACK gelsd, the pseudo-inverse) or "normal" (normal equations)

    Attributes
    ----------
    coef_ : array of shape (n_features,) or (n_targets, n_features)
    intercept_ : float or array of shape (n_targets,)
    noise_variance_ : float or array, the Gaussian MLE σ̂² = mean squared training residual
    """

    def __init__(self, fit_intercept=True, alpha=0.0, solver="lstsq"):
        self.fit_intercept = fit_intercept
        self.alpha = alpha
        self.solver = solver

    def _design(self, X):
        if self.fit_intercept:
            return np.hstack([X, np.ones((X.shape[0], 1))])
        return X

    def fit(self, X, y, sample_weight=None):
        if self.solver not in ("lstsq", "normal"):
            raise ValueError(f"solver must be 'lstsq' or 'normal', got {self.solver!r}")
        alpha = float(self.alpha)
        if not np.isfinite(alpha) or alpha < 0:
            raise ValueError(f"alpha must be a finite number >= 0, got {self.alpha}")
        X = _checks.check_X(X)
        y = _checks.check_y(y, X.shape[0]).astype(np.float64)
        sw = _checks.check_sample_weight(sample_weight, X.shape[0], np.float64)
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
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
            w, _, self.rank_, self.singular_ = scipy.linalg.lstsq(A, Yw, lapack_driver="gelsd")
        else:
            gram = A.T @ A + np.diag(penalty)
            try:
                w = scipy.linalg.solve(gram, A.T @ Yw, assume_a="pos")
            except (scipy.linalg.LinAlgError, np.linalg.LinAlgError):
                raise ValueError("XᵀX is singular: the normal equations have no unique solution; "
                                 "use solver='lstsq' or alpha > 0") from None
        W = w[:-1] if self.fit_intercept else w
        b = w[-1] if self.fit_intercept else np.zeros(Y.shape[1])
        residual = Y - (X @ W + b)
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

    def predict(self, X):
        self._check_fitted()
        X = _checks.check_X(X, self.n_features_in_)
        return X @ self.coef_.T + self.intercept_

    def score(self, X, y, sample_weight=None):
        """Coefficient of determination R²."""
        y = np.asarray(y, dtype=np.float64)
        pred = self.predict(X)
        w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, np.float64)
        w = w.reshape(-1, *([1] * (y.ndim - 1)))
        ss_res = (w * (y - pred) ** 2).sum(axis=0)
        ss_tot = (w * (y - np.average(y, axis=0, weights=w.ravel())) ** 2).sum(axis=0)
        r2 = 1 - ss_res / np.where(ss_tot == 0, 1, ss_tot)
        return float(np.mean(r2))

    def log_likelihood(self, X, y, noise_variance=None):
        """Gaussian log-likelihood Σ log N(y | Xw + b, σ²) with σ² = noise_variance_ unless given."""
        self._check_fitted()
        var = self.noise_variance_ if noise_variance is None else noise_variance
        var = np.maximum(np.asarray(var, np.float64), np.finfo(np.float64).tiny)
        y = np.asarray(y, dtype=np.float64)
        r = y - self.predict(X)
        return float(np.sum(-0.5 * np.log(2 * np.pi * var) - r ** 2 / (2 * var)))

    def negative_log_likelihood(self, X, y, noise_variance=None):
        return -self.log_likelihood(X, y, noise_variance)

    def _check_fitted(self):
        if not hasattr(self, "coef_"):
            raise RuntimeError("this LinearRegression is not fitted yet; call fit first")


class _KernelLinearClassifier:
    """Shared L-BFGS training of a single Dense layer with a fused classification loss."""

    def __init__(self, C=1.0, fit_intercept=True, max_iter=200, tol=1e-6, dtype="float64",
                 backend="cython"):
        self.C = C
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.dtype = dtype
        self.backend = backend

    def _loss_and_grad(self, K, X, target, sw, n_out):
        """The objective of scikit-learn: mean loss + ||W||² / (2 C n_effective)."""
        d = X.shape[1]
        dt = X.dtype
        n_eff = X.shape[0] if sw is None else float(sw.sum())
        reg = 1.0 / (float(self.C) * n_eff)
        logits = np.empty((X.shape[0], n_out), dt)
        grad_logits = np.empty_like(logits)
        dW = np.empty((d, n_out), dt)
        db = np.empty(n_out, dt)

        def f(theta):
            W = np.ascontiguousarray(theta[: d * n_out].reshape(d, n_out), dtype=dt)
            b = np.ascontiguousarray(theta[d * n_out:], dtype=dt) if self.fit_intercept else None
            K.dense_forward(X, W, b, out=logits)
            loss = self._loss(K, logits, target, grad_logits, sw)
            K.dense_backward(X, W, grad_logits, dW=dW, db=db, compute_db=self.fit_intercept,
                             compute_dX=False)
            W64 = W.astype(np.float64)
            value = loss + 0.5 * reg * float((W64 * W64).sum())
            grad = dW.astype(np.float64).ravel() + reg * W64.ravel()
            if self.fit_intercept:
                grad = np.concatenate([grad, db.astype(np.float64)])
            return value, grad

        return f

    def _fit_weights(self, X, target, sw, n_out):
        if not (isinstance(self.C, (int, float, np.number)) and self.C > 0):
            raise ValueError(f"C must be a positive number, got {self.C!r}")
        K = get_backend(self.backend)
        f = self._loss_and_grad(K, X, target, sw, n_out)
        theta0 = np.zeros(X.shape[1] * n_out + (n_out if self.fit_intercept else 0))
        res = scipy.optimize.minimize(f, theta0, jac=True, method="L-BFGS-B",
                                      options={"maxiter": int(self.max_iter), "gtol": self.tol})
        d = X.shape[1]
        self.n_iter_ = int(res.nit)
        W = res.x[: d * n_out].reshape(d, n_out)
        b = res.x[d * n_out:] if self.fit_intercept else np.zeros(n_out)
        return W, b

    def fit(self, X, y, sample_weight=None):
        """Fit on X of shape (n_samples, n_features) and class labels y of shape (n_samples,)."""
        X = _checks.check_X(X, dtype=np.dtype(self.dtype))
        y = _checks.check_y(y, X.shape[0])
        self.classes_, index = np.unique(y, return_inverse=True)
        self._check_classes(len(self.classes_))
        target, n_out = self._target(index, X.dtype)
        sw = _checks.check_sample_weight(sample_weight, X.shape[0], X.dtype)
        W, b = self._fit_weights(X, target, sw, n_out or len(self.classes_))
        self.coef_ = W.T
        self.intercept_ = b
        self.n_features_in_ = X.shape[1]
        return self

    def _check_fitted(self):
        if not hasattr(self, "coef_"):
            raise RuntimeError(f"this {type(self).__name__} is not fitted yet; call fit first")

    def decision_function(self, X):
        self._check_fitted()
        X = _checks.check_X(X, self.n_features_in_)
        scores = X @ self.coef_.T + self.intercept_
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def predict(self, X):
        return self.classes_[self._predict_index(X)]

    def score(self, X, y):
        return float(np.mean(self.predict(X) == np.asarray(y)))


class LogisticRegression(_KernelLinearClassifier):
    """Binary logistic regression: p(y=1|x) = sigmoid(x·w + b), fitted by minimising the mean
    binary cross-entropy + ||w||² / (2 C n) (scikit-learn's objective) with L-BFGS."""

    @staticmethod
    def _loss(K, logits, target, grad, sw):
        return K.sigmoid_binary_cross_entropy(logits, target, grad=grad, sample_weight=sw)[0]

    def _check_classes(self, n_classes):
        if n_classes != 2:
            raise ValueError(f"LogisticRegression needs exactly 2 classes, got {n_classes}; "
                             "use SoftmaxRegression for more")

    @staticmethod
    def _target(index, dtype):
        return index.reshape(-1, 1).astype(dtype), 1

    def predict_proba(self, X):
        z = self.decision_function(X)
        p = 0.5 * (1 + np.tanh(0.5 * z))  # the sigmoid, without overflow
        return np.column_stack([1 - p, p])

    def _predict_index(self, X):
        return (self.decision_function(X) > 0).astype(np.int64)


class SoftmaxRegression(_KernelLinearClassifier):
    """Multinomial logistic regression: p(y|x) = softmax(x W + b); the cross-entropy gradient
    with respect to the logits is softmax − onehot. Fitted like LogisticRegression."""

    @staticmethod
    def _loss(K, logits, target, grad, sw):
        return K.softmax_cross_entropy(logits, target, grad=grad, sample_weight=sw)[0]

    def _check_classes(self, n_classes):
        if n_classes < 2:
            raise ValueError("SoftmaxRegression needs at least 2 classes")

    @staticmethod
    def _target(index, dtype):
        return index.astype(np.int64), None

    def predict_proba(self, X):
        z = self.decision_function(X)
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def _predict_index(self, X):
        return np.argmax(self.decision_function(X), axis=1)
