"""LogisticRegression with scikit-learn's parameters, penalties, solvers, warnings and
attributes, solved by fastlin: L-BFGS-B on fastlin's fused kernels for the L2 penalty (or
none), proximal Newton with compiled coordinate descent (fastlin._penalized) for L1 and
elastic net."""
import functools
import inspect
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn import linear_model as _sk_linear
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.optimize import _check_optimize_result
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

import fastlin.linear as _linear
from fastlin._penalized import fit_penalized_logistic
from fastlin.sklearn import _callbacks
from fastlin.sklearn._common import _FLOATS, _make_init, _Parity, _spec, _validate

_LOGISTIC_KNOWN = frozenset(
    "penalty dual tol C fit_intercept intercept_scaling class_weight random_state solver "
    "max_iter multi_class verbose warm_start n_jobs l1_ratio dtype backend".split())
_PENALTY_DEPRECATED = (inspect.signature(_sk_linear.LogisticRegression).parameters["penalty"]
                       .default == "deprecated")
_SMOOTH_SOLVERS = ("lbfgs", "newton-cg", "newton-cholesky", "sag")
_CW_TAKES_SW = "sample_weight" in inspect.signature(compute_class_weight).parameters


class _SparseCoef:
    """scikit-learn's sparsify/densify (SparseCoefMixin): coef_ as a CSR matrix and back."""

    def densify(self):
        """Convert coef_ (back) to a dense ndarray; a no-op unless sparsify was called."""
        check_is_fitted(self, msg="Estimator, %(name)s, must be fitted before densifying.")
        if sp.issparse(self.coef_):
            self.coef_ = self.coef_.toarray()
        return self

    def sparsify(self):
        """Convert coef_ to a scipy.sparse CSR matrix (worth it when most entries are 0, as
        after an L1 fit); predictions are unchanged. intercept_ stays dense."""
        check_is_fitted(self, msg="Estimator, %(name)s, must be fitted before sparsifying.")
        self.coef_ = sp.csr_array(self.coef_) if hasattr(sp, "csr_array") else \
            sp.csr_matrix(self.coef_)
        return self


def _warn_penalty_deprecated():
    warnings.warn(
        "'penalty' was deprecated in version 1.8 and will be removed in 1.10. To avoid this "
        "warning, leave 'penalty' set to its default value and use 'l1_ratio' or 'C' "
        "instead. Use l1_ratio=0 instead of penalty='l2', l1_ratio=1 instead of "
        "penalty='l1', l1_ratio set to a float between 0 and 1 instead of "
        "penalty='elasticnet', and C=np.inf instead of penalty=None.", FutureWarning)


def _check_solver(solver, penalty, dual):
    """scikit-learn's rules (sklearn.linear_model._logistic._check_solver), same messages."""
    if solver not in ("liblinear", "saga") and penalty not in ("l2", None):
        raise ValueError(f"Solver {solver} supports only 'l2' or None penalties, got "
                         f"{penalty} penalty.")
    if solver != "liblinear" and dual:
        raise ValueError(f"Solver {solver} supports only dual=False, got dual={dual}")
    if penalty == "elasticnet" and solver != "saga":
        raise ValueError(f"Only 'saga' solver supports elasticnet penalty, got "
                         f"solver={solver}.")
    if solver == "liblinear" and penalty is None:
        raise ValueError("C=np.inf as well as penalty=None is not supported for the "
                         "liblinear solver")


def _weights(coef, intercept, dtype, fit_intercept):
    """coef_ and intercept_ from a solver's weights: in X's dtype, the intercepts 0 without
    fit_intercept."""
    intercept = intercept if fit_intercept else np.zeros(len(intercept))
    return np.asarray(coef).astype(dtype), np.asarray(intercept, dtype)


def _liblinear_weights(coef, intercept, scaling, fit_intercept):
    """coef_ and intercept_ (float64, as scikit-learn's liblinear) from the weights of
    liblinear's problem: with fit_intercept, the last is the intercept / intercept_scaling."""
    coef = np.asarray(coef, np.float64)
    if fit_intercept:
        return coef[:, :-1].copy(), scaling * coef[:, -1]
    return coef, 0.0


class LogisticRegression(_callbacks.CallbackSupport, _SparseCoef, _Parity, ClassifierMixin,
                         BaseEstimator):
    """scikit-learn's LogisticRegression: every penalty (L2, L1, elastic net, none) and every
    solver name scikit-learn accepts, refusing the combinations it refuses with its errors.

    The objective is scikit-learn's, Σ s_i log-loss_i + (l1_ratio ‖w‖₁ + (1 − l1_ratio)/2 ‖w‖²)
    / C (binary: one coefficient vector; more classes: multinomial), and each solver name is
    mapped onto a fastlin solver that reaches the same optimum:

    - ``"lbfgs"``, ``"newton-cg"``, ``"newton-cholesky"``, ``"sag"``, and ``"saga"`` with the
      L2 penalty or none: L-BFGS-B with scikit-learn's lbfgs settings (gtol = tol) on fastlin's
      fused sigmoid-BCE / softmax-CE kernels (dense, in row blocks when X is larger than the
      caches) or fastlin's CSR products (sparse, on every core for large X). From 2^14
      coefficients the same L-BFGS-B iterations form their direction in two passes over the
      stored pairs (:mod:`fastlin._lbfgs`; the iterates agree with SciPy's to rounding) instead
      of SciPy's compact-B passes, 3x cheaper an iteration at 10^6 coefficients;
    - ``"saga"`` with L1 or elastic net: proximal Newton with compiled coordinate descent
      (:mod:`fastlin._penalized`), stopped when the optimality conditions hold to tol on
      scikit-learn's scale (the objective divided by Σ s);
    - ``"liblinear"`` (binary only, as in scikit-learn 1.8+): liblinear's problem, in which the
      intercept is the weight of a constant feature ``intercept_scaling`` and is penalised
      with the rest; L2 (``dual`` or not: the same optimum) by L-BFGS-B, L1 by proximal Newton.

    ``n_iter_`` counts the iterations of the fastlin solver that ran. float32 X gives float32
    ``coef_``, ``intercept_`` and outputs (``"liblinear"``: float64, as scikit-learn's).
    Extras: ``dtype`` (the arithmetic of the L-BFGS path; None, the default, follows X:
    float32 stays float32, as scikit-learn) and ``backend``.

    With scikit-learn 1.9 or later, ``set_callbacks`` takes scikit-learn's callbacks
    (``sklearn.callback.ProgressBar``, ``ScoringMonitor``, any ``FitCallback``), and ``fit``
    calls their hooks as scikit-learn's LogisticRegression does with ``solver="lbfgs"``: the
    root task ``"fit"``, then one task per iteration of the fastlin solver, for every solver
    name (see ``set_callbacks``). The number of iteration tasks follows fastlin's
    iterations, not those of the solver named.
    """

    _spec = _spec(_sk_linear.LogisticRegression, [("dtype", None), ("backend", "cython")])
    _known = _LOGISTIC_KNOWN
    _parameter_constraints = {**_sk_linear.LogisticRegression._parameter_constraints,
                              "dtype": [StrOptions({"float32", "float64"}), type, None],
                              "backend": [StrOptions({"cython", "numpy"})]}
    __init__ = _make_init("LogisticRegression.__init__", _spec)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def _resolve_penalty(self):
        """(penalty, C, l1_ratio) of the problem to solve, with scikit-learn's warnings and
        errors in its order; penalty None means C = inf."""
        l1_ratio = self.l1_ratio
        if self.penalty == "deprecated":
            if l1_ratio is None or l1_ratio == 0:
                penalty = "l2"
                if l1_ratio is None:
                    warnings.warn("'l1_ratio=None' was deprecated in version 1.8 and will "
                                  "trigger an error in 1.10. Use 0<=l1_ratio<=1 instead.",
                                  FutureWarning)
            else:
                penalty = "l1" if l1_ratio == 1 else "elasticnet"
            if self.C == np.inf:
                penalty = None
        else:
            penalty = self.penalty
            if _PENALTY_DEPRECATED:
                _warn_penalty_deprecated()
        _check_solver(self.solver, penalty, self.dual)
        self._warn_l1_ratio(penalty)
        if penalty == "elasticnet" and l1_ratio is None:
            raise ValueError("l1_ratio must be specified when penalty is elasticnet.")
        if self.penalty is None:
            if self.C != 1.0:
                warnings.warn("Setting penalty=None will ignore the C and l1_ratio parameters")
            penalty = None
        if self.n_jobs is not None and _PENALTY_DEPRECATED:
            warnings.warn(f"'n_jobs' has no effect since 1.8 and will be removed in 1.10. "
                          f"You provided 'n_jobs={self.n_jobs}', please leave it "
                          f"unspecified.", FutureWarning)
        ratio = {"l1": 1.0, "l2": 0.0, None: 0.0}.get(penalty, l1_ratio)
        return penalty, (np.inf if penalty is None else float(self.C)), float(ratio)

    def _warn_l1_ratio(self, penalty):
        l1_ratio = self.l1_ratio
        if penalty != "elasticnet" and l1_ratio is not None and 0 < l1_ratio < 1:
            warnings.warn(f"l1_ratio parameter is only used when penalty is 'elasticnet'. "
                          f"Got (penalty={penalty})")
        if _PENALTY_DEPRECATED and ((self.penalty == "l2" and l1_ratio != 0)
                                    or (self.penalty == "l1" and l1_ratio != 1)):
            warnings.warn(f"Inconsistent values: penalty={self.penalty} with "
                          f"l1_ratio={l1_ratio}. penalty is deprecated. Please use "
                          f"l1_ratio only.")

    def _sample_weight(self, X, y, classes, sample_weight):
        """sample_weight times the class weights. A class whose samples all weigh 0 gets
        'balanced' weight inf from scikit-learn's formula; its samples keep weight 0 here
        (scikit-learn multiplies to NaN and stops at the zero start)."""
        sw = _check_sample_weight(sample_weight, X, dtype=np.float64)
        if self.class_weight is not None:
            extra = {"sample_weight": sw} if _CW_TAKES_SW else {}
            with np.errstate(divide="ignore"):
                cw = compute_class_weight(self.class_weight, classes=classes, y=y, **extra)
            per_sample = cw[np.searchsorted(classes, y)]
            with np.errstate(invalid="ignore"):  # 0 · inf, replaced by 0
                sw = np.where(sw == 0, 0.0, sw * per_sample)
        if not np.all(np.isfinite(sw)) or not sw.sum() > 0:
            raise ValueError("the sample weights (times class_weight) must be finite with a "
                             "positive sum")
        return sw

    @_callbacks.with_callbacks
    def fit(self, X, y, sample_weight=None):
        """Fit the model to X of shape (n_samples, n_features) (dense or CSR) and labels y."""
        self._check_parameters()
        penalty, C, l1_ratio = self._resolve_penalty()
        if getattr(self, "multi_class", "deprecated") == "ovr":
            raise ValueError("multi_class='ovr' is not supported; fastlin fits the multinomial "
                             "model")
        X, y = _validate(self, X, y, accept_sparse="csr", dtype=_FLOATS, order="C")
        check_classification_targets(y)
        classes = np.unique(y)
        task = _callbacks.begin_fit(self, X, y, sample_weight, classes)
        if self.solver == "liblinear":
            if len(classes) > 2:
                raise ValueError(
                    "The 'liblinear' solver does not support multiclass classification "
                    "(n_classes >= 3). Either use another solver or wrap the estimator in a "
                    "OneVsRestClassifier to keep applying a one-versus-rest scheme.")
            if (X.data if sp.issparse(X) else X).max(initial=-np.inf) > 1e30:
                raise ValueError("Using the 'liblinear' solver while X contains a maximum "
                                 "value > 1e30 results in a frozen fit. Please choose another "
                                 "solver or rescale the input X.")
        if len(classes) < 2:
            raise ValueError(f"This solver needs samples of at least 2 classes in the data, "
                             f"but the data contains only one class: {classes[0]!r}")
        sw = self._sample_weight(X, y, classes, sample_weight)
        labels = np.searchsorted(classes, y)
        if self.solver == "liblinear":
            coef, intercept, n_iter = self._fit_liblinear(X, labels, sw, C, l1_ratio, task)
        elif l1_ratio > 0 and np.isfinite(C):
            coef, intercept, n_iter = self._fit_proximal(X, labels, len(classes), sw, C,
                                                         l1_ratio, task)
        else:
            # unit weights go to the kernels as None: their unweighted path gives the same
            # numbers without the per-row weight algebra (dense 200000 x 100, 5 classes:
            # the loss 7.4 -> 2 ms an evaluation)
            unit = sample_weight is None and self.class_weight is None
            coef, intercept, n_iter = self._fit_lbfgs(X, labels, len(classes),
                                                      None if unit else sw, C, task)
        self.classes_ = classes
        self.coef_, self.intercept_ = coef, intercept
        self.n_iter_ = np.array([n_iter], dtype=np.int32)
        if task is not None:
            task.end()
        return self

    def _warm(self, n_out, n_features):
        coef = getattr(self, "coef_", None)
        if not self.warm_start or coef is None or coef.shape != (n_out, n_features):
            return None
        return np.asarray(coef.toarray() if sp.issparse(coef) else coef), self.intercept_

    @staticmethod
    def _iterations(task, name, attributes, n_out, n_features, init=None):
        """The solver's callback, one callback task per iteration, the first begun at init
        (zeros without); None without callbacks."""
        if task is None:
            return None
        coef, intercept = (np.zeros((n_out, n_features)), np.zeros(n_out)) if init is None \
            else init
        return task.iterations(name, attributes, coef, intercept)

    def _fit_lbfgs(self, X, labels, n_classes, sw, C, task=None):
        cls = _linear.LogisticRegression if n_classes == 2 else _linear.SoftmaxRegression
        # float32 X is solved in float32 arithmetic unless dtype says otherwise, as
        # scikit-learn does: half the bytes per pass and no float64 copy of X (2.1x faster
        # on 160000 x 100, 5 classes, same iterations and score)
        dtype = X.dtype if self.dtype is None else np.dtype(self.dtype)
        core = cls(C=C, fit_intercept=self.fit_intercept, max_iter=self.max_iter, tol=self.tol,
                   dtype=dtype, backend=self.backend)
        n_out = 1 if n_classes == 2 else n_classes
        init = self._warm(n_out, X.shape[1])
        weights = functools.partial(_weights, dtype=X.dtype, fit_intercept=self.fit_intercept)
        step = self._iterations(task, "lbfgs-iter", weights, n_out, X.shape[1], init)
        core.fit(X, labels, sample_weight=sw, init=init, callback=step)
        if step is not None:
            step.close()
        n_iter = _check_optimize_result("lbfgs", core.result_, self.max_iter)
        self._core = core
        return *weights(core.coef_, core.intercept_), n_iter

    def _fit_proximal(self, X, labels, n_classes, sw, C, l1_ratio, task=None):
        n_out = 1 if n_classes == 2 else n_classes
        init = self._warm(n_out, X.shape[1])
        weights = functools.partial(_weights, dtype=X.dtype, fit_intercept=self.fit_intercept)
        step = self._iterations(task, "proximal-newton-iter", weights, n_out, X.shape[1], init)
        coef, intercept, n_iter, ok = fit_penalized_logistic(
            X, labels, n_classes, sw, l1_ratio / C, (1.0 - l1_ratio) / C,
            fit_intercept=self.fit_intercept, max_iter=self.max_iter, tol=self.tol, init=init,
            backend=self.backend, callback=step)
        if step is not None:
            step.close()
        if not ok:
            warnings.warn("The max_iter was reached which means the coef_ did not converge",
                          ConvergenceWarning)
        return *weights(coef, intercept), n_iter

    def _fit_liblinear(self, X, labels, sw, C, l1_ratio, task=None):
        """liblinear's problem: with an intercept, X gains a constant column
        intercept_scaling whose (penalised) weight times intercept_scaling is the
        intercept."""
        scaling = float(self.intercept_scaling)
        if self.fit_intercept:
            ones = np.full((X.shape[0], 1), scaling, X.dtype)
            X = sp.hstack([X, sp.csr_matrix(ones)], format="csr") if sp.issparse(X) \
                else np.hstack([X, ones])
        weights = functools.partial(_liblinear_weights, scaling=scaling,
                                    fit_intercept=self.fit_intercept)
        step = self._iterations(task, "proximal-newton-iter" if l1_ratio > 0 else "lbfgs-iter",
                                weights, 1, X.shape[1])
        if l1_ratio > 0:
            coef, _, n_iter, ok = fit_penalized_logistic(
                X, labels, 2, sw, 1.0 / C, 0.0, fit_intercept=False, max_iter=self.max_iter,
                tol=self.tol, backend=self.backend, callback=step)
        else:
            core = _linear.LogisticRegression(C=C, fit_intercept=False, max_iter=self.max_iter,
                                              tol=self.tol, backend=self.backend)
            core.fit(X, labels, sample_weight=sw, callback=step)
            coef, n_iter, ok = core.coef_, core.n_iter_, core.result_.status == 0
        if step is not None:
            step.close()
        if not ok:
            warnings.warn("Liblinear failed to converge, increase the number of iterations.",
                          ConvergenceWarning)
        return *weights(coef, None), n_iter

    def decision_function(self, X):
        """Scores of shape (n_samples,) for two classes, else (n_samples, n_classes)."""
        check_is_fitted(self, "coef_")
        X = _validate(self, X, accept_sparse="csr", reset=False, dtype=_FLOATS)
        scores = safe_sparse_dot(X, self.coef_.T, dense_output=True) + self.intercept_
        scores = np.asarray(scores)
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), as scikit-learn's: the sigmoid for
        two classes, the softmax of the logits for more (multinomial)."""
        z = self.decision_function(X)
        if z.ndim == 1:
            p = 0.5 * (1 + np.tanh(0.5 * z))
            return np.column_stack([1 - p, p])
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X):
        """The log of ``predict_proba``."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """The class of each row with the highest probability, from ``classes_``."""
        z = self.decision_function(X)
        idx = (z > 0).astype(np.int64) if z.ndim == 1 else z.argmax(axis=1)
        return self.classes_[idx]
