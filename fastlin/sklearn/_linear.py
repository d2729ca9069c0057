"""LinearRegression with scikit-learn's parameters and attributes, solved by fastlin.linear's
closed form (LogisticRegression lives in fastlin.sklearn._logistic and is re-exported here)."""
from numbers import Real

import numpy as np
import scipy.sparse as sp
from sklearn import linear_model as _sk_linear
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

import fastlin.linear as _linear
from fastlin.sklearn._common import (_FLOATS, _make_init, _Parity, _sklearn_at_least, _spec,
                                     _validate)
from fastlin.sklearn._logistic import LogisticRegression  # noqa: F401 (its former home)

# scikit-learn 1.9 passes LinearRegression's tol to scipy.linalg.lstsq as cond on dense X
_DENSE_TOL_IS_COND = _sklearn_at_least(1, 9)


class LinearRegression(_Parity, RegressorMixin, BaseEstimator):
    """scikit-learn's LinearRegression, solved by fastlin's closed form (LAPACK least squares,
    the pseudo-inverse; or the normal equations with ``solver="normal"``); sparse X through
    LSQR on the centred operator (never densified), as scikit-learn does. ``positive=True``:
    non-negative least squares, scipy.optimize.nnls on the centred data as scikit-learn, and
    for sparse X (which scikit-learn refuses) scipy.optimize.lsq_linear on the centred
    operator. float32 X gives float32 ``coef_``, ``intercept_`` and predictions. Extras: ``alpha``
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
        """Fit as ``sklearn.linear_model.LinearRegression.fit`` does (ordinary least squares, or
        non-negative with ``positive=True``), dense or sparse X.

        Parameters
        ----------
        X : array (n_samples, n_features) or scipy.sparse matrix
        y : array (n_samples,) or (n_samples, n_targets)
        sample_weight : array (n_samples,), optional

        Returns
        -------
        self"""
        self._check_parameters()
        X, y = _validate(self, X, y, accept_sparse=["csr", "csc", "coo"], multi_output=True,
                         y_numeric=True, dtype=_FLOATS)
        sw = None if sample_weight is None else _check_sample_weight(sample_weight, X)
        if self.fit_intercept and not sp.issparse(X):
            # scikit-learn centres X and y (weighted) and solves for the coefficients alone,
            # the intercept then being ȳ - x̄·w. Appending a column of ones instead gives the
            # same predictions, but where X is rank deficient (a constant column, one-hot
            # groups that sum to one) the minimum-norm solution then spreads the intercept
            # over the coefficients: other coef_ and intercept_ than scikit-learn's.
            core = _linear.LinearRegression(fit_intercept=False, alpha=self.alpha,
                                            solver=self.solver, tol=self.tol,
                                            positive=bool(self.positive))
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
                                            solver=self.solver, tol=self.tol,
                                            positive=bool(self.positive))
            core._cond = self.tol if _DENSE_TOL_IS_COND else None  # (unused for sparse X)
            core.fit(X, y, sample_weight=sw)
        # float32 X keeps float32 coefficients, as scikit-learn's (the solve itself is float64)
        dt = X.dtype.type
        self.coef_ = np.asarray(core.coef_).astype(dt)
        self.intercept_ = (dt(core.intercept_) if y.ndim == 1 else np.asarray(core.intercept_,
                                                                           dt)) \
            if self.fit_intercept else (dt(0.0) if y.ndim == 1 else np.zeros(y.shape[1], dt))
        self.noise_variance_ = core.noise_variance_
        self.rank_ = getattr(core, "rank_", None)
        self.singular_ = getattr(core, "singular_", None)
        self._core = core
        return self

    def predict(self, X):
        """The fitted linear function of X, as scikit-learn's ``predict``."""
        check_is_fitted(self, "coef_")
        X = _validate(self, X, accept_sparse=["csr", "csc", "coo"], reset=False,
                      dtype=_FLOATS)
        return np.asarray(X @ np.asarray(self.coef_).T) + self.intercept_

    def log_likelihood(self, X, y):
        """The Gaussian log-likelihood of y given X under the fitted model, with the noise
        variance estimated at fit (fastlin's addition, the lecture's maximum-likelihood view)."""
        check_is_fitted(self, "coef_")
        return self._core.log_likelihood(X, y)
