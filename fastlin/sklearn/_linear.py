"""LinearRegression and LogisticRegression with scikit-learn's parameters and attributes,
solved by fastlin.linear's closed form and L-BFGS-B on fastlin's kernels."""
import inspect
import warnings
from numbers import Real

import numpy as np
import scipy.sparse as sp
from sklearn import linear_model as _sk_linear
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.optimize import _check_optimize_result
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

import fastlin.linear as _linear
from fastlin.sklearn._common import (_FLOATS, _make_init, _Parity, _sklearn_at_least, _spec,
                                     _validate)

# scikit-learn 1.9 passes LinearRegression's tol to scipy.linalg.lstsq as cond on dense X
_DENSE_TOL_IS_COND = _sklearn_at_least(1, 9)


class LinearRegression(_Parity, RegressorMixin, BaseEstimator):
    """scikit-learn's LinearRegression, solved by fastlin's closed form (LAPACK least squares,
    the pseudo-inverse; or the normal equations with ``solver="normal"``); sparse X through
    LSQR on the centred operator (never densified), as scikit-learn does. Extras: ``alpha``
    (L2 on the coefficients, not the intercept), ``solver``, and ``noise_variance_`` (the
    Gaussian MLE σ̂²)."""

    _spec = _spec(_sk_linear.LinearRegression, [("tol", 1e-6), ("alpha", 0.0),
                                                 ("solver", "lstsq")])
    _known = frozenset("fit_intercept copy_X tol n_jobs positive alpha solver".split())
    _parameter_constraints = {**_sk_linear.LinearRegression._parameter_constraints,
                              "tol": [Interval(Real, 0, None, closed="left")],
                              "alpha": "no_validation", "solver": [StrOptions({"lstsq", "normal"})]}
    __init__ = _make_init("LinearRegression.__init__", _spec)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.input_tags.sparse = True
        return tags

    def _more_tags(self):  # the same, for scikit-learn 1.5
        return {"multioutput": True}

    def fit(self, X, y, sample_weight=None):
        self._check_parameters()
        if self.positive:
            raise ValueError("positive=True is not supported by fastlin's LinearRegression "
                             "(use scikit-learn's, which solves it by NNLS)")
        X, y = _validate(self, X, y, accept_sparse=["csr", "csc", "coo"], multi_output=True,
                         y_numeric=True, dtype=[np.float64])
        sw = None if sample_weight is None else _check_sample_weight(sample_weight, X)
        if self.fit_intercept and not sp.issparse(X):
            # scikit-learn centres X and y (weighted) and solves for the coefficients alone,
            # the intercept then being ȳ - x̄·w. Appending a column of ones instead gives the
            # same predictions, but where X is rank deficient (a constant column, one-hot
            # groups that sum to one) the minimum-norm solution then spreads the intercept
            # over the coefficients: other coef_ and intercept_ than scikit-learn's.
            core = _linear.LinearRegression(fit_intercept=False, alpha=self.alpha,
                                            solver=self.solver, tol=self.tol)
            # centring makes X exactly rank deficient (its weighted rows sum to zero): the
            # singular value that rounding leaves there is cut off as scikit-learn cuts it,
            # with cond = tol from 1.9 (its documented use of tol on dense data)
            core._cond = self.tol if _DENSE_TOL_IS_COND else None
            x_mean = np.average(X, axis=0, weights=sw)
            y_mean = np.average(y, axis=0, weights=sw)
            core.fit(X - x_mean, y - y_mean, sample_weight=sw)
            core.intercept_ = y_mean - x_mean @ np.asarray(core.coef_).T
            if y.ndim == 1:
                core.intercept_ = float(core.intercept_)
        else:
            core = _linear.LinearRegression(fit_intercept=self.fit_intercept, alpha=self.alpha,
                                            solver=self.solver, tol=self.tol)
            core._cond = self.tol if _DENSE_TOL_IS_COND else None  # (unused for sparse X)
            core.fit(X, y, sample_weight=sw)
        self.coef_ = core.coef_
        self.intercept_ = core.intercept_ if self.fit_intercept else (
            0.0 if y.ndim == 1 else np.zeros(y.shape[1]))
        self.noise_variance_ = core.noise_variance_
        self.rank_ = getattr(core, "rank_", None)
        self.singular_ = getattr(core, "singular_", None)
        self._core = core
        return self

    def predict(self, X):
        check_is_fitted(self, "coef_")
        X = _validate(self, X, accept_sparse=["csr", "csc", "coo"], reset=False,
                      dtype=[np.float64])
        return np.asarray(X @ np.asarray(self.coef_).T) + self.intercept_

    def log_likelihood(self, X, y):
        check_is_fitted(self, "coef_")
        return self._core.log_likelihood(X, y)

_LOGISTIC_KNOWN = frozenset(
    "penalty dual tol C fit_intercept intercept_scaling class_weight random_state solver "
    "max_iter multi_class verbose warm_start n_jobs l1_ratio dtype backend".split())
_PENALTY_DEPRECATED = (inspect.signature(_sk_linear.LogisticRegression).parameters["penalty"]
                       .default == "deprecated")


class LogisticRegression(_Parity, ClassifierMixin, BaseEstimator):
    """scikit-learn's LogisticRegression with the L2 penalty (or none) and the lbfgs solver:
    the same objective (mean log-loss + ||w||² / (2 C Σ sample_weight), multinomial for more
    than two classes) minimised by the same L-BFGS-B settings, on fastlin's fused
    sigmoid-BCE / softmax-CE kernels (dense) or SciPy's sparse products (CSR)."""

    _spec = _spec(_sk_linear.LogisticRegression, [("dtype", "float64"), ("backend", "cython")])
    _known = _LOGISTIC_KNOWN
    _parameter_constraints = {**_sk_linear.LogisticRegression._parameter_constraints,
                              "dtype": [StrOptions({"float32", "float64"}), type],
                              "backend": [StrOptions({"cython", "numpy"})]}
    __init__ = _make_init("LogisticRegression.__init__", _spec)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def _resolve_penalty(self):
        """C for the L2 problem (inf without penalty); ValueError for what fastlin lacks."""
        penalty, l1_ratio = self.penalty, self.l1_ratio
        if penalty == "deprecated":
            if l1_ratio not in (None, 0, 0.0):
                raise ValueError(f"fastlin's LogisticRegression has no L1 term: l1_ratio must be "
                                 f"0, got {l1_ratio!r}")
            return float(self.C)
        if _PENALTY_DEPRECATED:
            warnings.warn("'penalty' was deprecated in version 1.8 and will be removed in 1.10. "
                          "To avoid this warning, leave 'penalty' set to its default value and "
                          "use 'l1_ratio' or 'C' instead.", FutureWarning)
        if penalty is None:
            return np.inf
        if penalty != "l2":
            raise ValueError(f"fastlin's LogisticRegression supports the L2 penalty only (or "
                             f"none), got penalty={penalty!r}")
        return float(self.C)

    def fit(self, X, y, sample_weight=None):
        self._check_parameters()
        C = self._resolve_penalty()
        if self.solver != "lbfgs":
            raise ValueError(f"fastlin's LogisticRegression solves with lbfgs only, got "
                             f"solver={self.solver!r} (lbfgs reaches the same L2 optimum)")
        if self.dual:
            raise ValueError("dual=True is only for liblinear; fastlin solves the primal problem")
        if getattr(self, "multi_class", "deprecated") == "ovr":
            raise ValueError("multi_class='ovr' is not supported; fastlin fits the multinomial "
                             "model")
        dtype = np.dtype(self.dtype)
        X, y = _validate(self, X, y, accept_sparse="csr", dtype=_FLOATS, order="C")
        check_classification_targets(y)
        classes = np.unique(y)
        if len(classes) < 2:
            raise ValueError(f"This solver needs samples of at least 2 classes in the data, "
                             f"but the data contains only one class: {classes[0]!r}")
        sw = _check_sample_weight(sample_weight, X, dtype=np.float64)
        if self.class_weight is not None:
            extra = ({"sample_weight": sw} if "sample_weight" in
                     inspect.signature(compute_class_weight).parameters else {})
            cw = compute_class_weight(self.class_weight, classes=classes, y=y, **extra)
            sw = sw * cw[np.searchsorted(classes, y)]
        cls = _linear.LogisticRegression if len(classes) == 2 else _linear.SoftmaxRegression
        core = cls(C=C, fit_intercept=self.fit_intercept, max_iter=self.max_iter, tol=self.tol,
                   dtype=dtype, backend=self.backend)
        init = None
        if self.warm_start and hasattr(self, "coef_") and self.coef_.shape[1] == X.shape[1] \
                and self.coef_.shape[0] == (1 if len(classes) == 2 else len(classes)):
            init = (self.coef_, self.intercept_)
        core.fit(X, np.searchsorted(classes, y), sample_weight=sw, init=init)
        self.n_iter_ = np.array([_check_optimize_result("lbfgs", core.result_, self.max_iter)],
                                dtype=np.int32)
        self.classes_ = classes
        self.coef_ = core.coef_
        self.intercept_ = core.intercept_ if self.fit_intercept else np.zeros(len(core.intercept_))
        self._core = core
        return self

    def decision_function(self, X):
        check_is_fitted(self, "coef_")
        X = _validate(self, X, accept_sparse="csr", reset=False, dtype=_FLOATS)
        scores = np.asarray(X @ self.coef_.T, dtype=np.float64) + self.intercept_
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def predict_proba(self, X):
        z = self.decision_function(X)
        if z.ndim == 1:
            p = 0.5 * (1 + np.tanh(0.5 * z))
            return np.column_stack([1 - p, p])
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X):
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        z = self.decision_function(X)
        idx = (z > 0).astype(np.int64) if z.ndim == 1 else z.argmax(axis=1)
        return self.classes_[idx]
