"""A drop-in for scikit-learn: MLPClassifier, MLPRegressor, LinearRegression and
LogisticRegression with scikit-learn's parameter names, defaults, fitted attributes and
methods, trained by fastlin's kernels. Swapping ``from sklearn.neural_network import
MLPClassifier`` for ``from fastlin.sklearn import MLPClassifier`` must just work.

Input checking is scikit-learn's own (``validate_data``), so errors read exactly as users
expect. Extras beyond scikit-learn: ``dtype`` (None follows the input: float32 stays float32,
anything else becomes float64), ``backend`` ("cython" or "numpy"), more activations
("leaky_relu", "abs", "sigmoid" as an alias of "logistic"). Not supported: the MLP solver
"lbfgs" and learning-rate schedules other than "constant" (ValueError); ``alpha`` acts as L2
weight decay alpha / batch_size on every parameter, intercepts included.
"""
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

import fastlin.linear as _linear
from fastlin.layers import ACTIVATION_LAYERS
from fastlin.losses import BCEWithLogitsLoss, MSELoss, SoftmaxCrossEntropyLoss
from fastlin.optim import SGD, Adam
from fastlin.sequential import MLP

_ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "sigmoid": "sigmoid",
                "tanh": "tanh", "relu": "relu", "leaky_relu": "leaky_relu", "abs": "abs"}


def _model_dtype(dtype, X):
    if dtype is not None:
        return np.dtype(dtype)
    return np.dtype(np.float32) if np.asarray(X).dtype == np.float32 else np.dtype(np.float64)


class _BaseMLP(BaseEstimator):
    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 dtype=None, backend="cython"):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dtype = dtype
        self.backend = backend

    def __getstate__(self):
        # The optimizer holds references into the model; it is rebuilt by the next fit.
        state = self.__dict__.copy()
        state.pop("_opt", None)
        return state

    # ---------------------------------------------------------------- checks
    def _check_params(self):
        if self.activation not in _ACTIVATIONS:
            raise ValueError(f"activation {self.activation!r} is not supported; choose one of "
                             f"{sorted(_ACTIVATIONS)}")
        if self.solver not in ("adam", "sgd"):
            raise ValueError(f"solver {self.solver!r} is not supported by fastlin; use 'adam' or 'sgd'")
        if self.learning_rate != "constant":
            raise ValueError("fastlin supports learning_rate='constant' only")
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if np.isscalar(sizes) else list(sizes)
        if any(int(s) != s or s < 1 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be positive ints, got {self.hidden_layer_sizes}")
        if not (isinstance(self.max_iter, (int, np.integer)) and self.max_iter >= 1):
            raise ValueError(f"max_iter must be a positive int, got {self.max_iter}")
        if self.alpha < 0 or self.learning_rate_init <= 0:
            raise ValueError("alpha must be >= 0 and learning_rate_init > 0")
        if not 0 < self.validation_fraction < 1:
            raise ValueError("validation_fraction must be in (0, 1)")
        return [int(s) for s in sizes]

    def _batch(self, n):
        if self.batch_size == "auto":
            return min(200, n)
        if not isinstance(self.batch_size, (int, np.integer)) or self.batch_size < 1:
            raise ValueError(f"batch_size must be 'auto' or a positive int, got {self.batch_size}")
        return min(int(self.batch_size), n)

    # ----------------------------------------------------------------- model
    def _build(self, n_in, n_out, dtype, hidden):
        self.model_ = MLP([n_in, *hidden, n_out], activation=_ACTIVATIONS[self.activation],
                          dtype=dtype, seed=self._seed(), backend=self.backend,
                          init="he" if self.activation in ("relu", "leaky_relu", "abs") else "glorot")
        self.n_layers_ = len(hidden) + 2
        self.n_outputs_ = n_out
        self.loss_curve_ = []
        self.best_loss_ = np.inf
        self.n_iter_ = 0
        self.t_ = 0
        self._no_improve = 0
        self.validation_scores_ = [] if self.early_stopping else None
        self.best_validation_score_ = -np.inf if self.early_stopping else None

    def _seed(self):
        rs = self.random_state
        if isinstance(rs, np.random.RandomState):
            return int(rs.randint(0, 2**31 - 1))
        return rs

    def _optimizer(self, batch):
        params = self.model_.parameters()
        wd = float(self.alpha) / batch
        if self.solver == "sgd":
            return SGD(params, lr=self.learning_rate_init, momentum=self.momentum,
                       nesterov=bool(self.nesterovs_momentum and self.momentum > 0),
                       weight_decay=wd, backend=self.backend)
        return Adam(params, lr=self.learning_rate_init, betas=(self.beta_1, self.beta_2),
                    eps=self.epsilon, weight_decay=wd, backend=self.backend)

    @property
    def coefs_(self):
        check_is_fitted(self, "model_")
        return [layer.W for layer in self.model_.layers[::2]]

    @property
    def intercepts_(self):
        check_is_fitted(self, "model_")
        return [layer.b for layer in self.model_.layers[::2]]

    def _train(self, X, target, epochs, incremental):
        n = X.shape[0]
        batch = self._batch(n)
        if not incremental or not hasattr(self, "_opt"):
            self._opt = self._optimizer(batch)
        X_val = None
        if self.early_stopping and not incremental:
            n_val = max(1, int(round(self.validation_fraction * n)))
            if n - n_val < 1:
                raise ValueError("too few samples for early_stopping's validation split")
            order = np.random.default_rng(self._seed()).permutation(n)
            X_val, y_val = X[order[:n_val]], target[order[:n_val]]
            X, target = X[order[n_val:]], target[order[n_val:]]
        best_params = None
        for _ in range(epochs):
            h = self.model_.fit(X, target, loss=self._loss, optimizer=self._opt, epochs=1,
                                batch_size=batch, shuffle=self.shuffle,
                                seed=None if self._seed() is None else self._seed() + self.n_iter_)
            loss = h.history["loss"][-1]
            self.n_iter_ += 1
            self.t_ += n
            self.loss_curve_.append(loss)
            if self.verbose:
                print(f"Iteration {self.n_iter_}, loss = {loss:.8f}")
            if incremental:
                continue
            if X_val is not None:
                score = self._validation_score(X_val, y_val)
                self.validation_scores_.append(score)
                improved = score > self.best_validation_score_ + self.tol
                if score > self.best_validation_score_:
                    self.best_validation_score_ = score
                    best_params = [p.copy() for p in self.model_.parameters()]
            else:
                improved = loss < self.best_loss_ - self.tol
            self.best_loss_ = min(self.best_loss_, loss)
            self._no_improve = 0 if improved else self._no_improve + 1
            if self._no_improve > self.n_iter_no_change:
                break
        if best_params is not None:
            for p, b in zip(self.model_.parameters(), best_params):
                np.copyto(p, b)
        if X_val is not None:
            self.best_loss_ = None

    def _forward(self, X):
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return self.model_.predict(np.ascontiguousarray(X, dtype=self.model_.dtype))


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """scikit-learn's MLPClassifier on fastlin: a logistic output for two classes (BCE), a
    softmax output otherwise (cross-entropy)."""

    def _prepare(self, X, y, reset):
        X, y = validate_data(self, X, y, reset=reset, dtype=[np.float64, np.float32])
        check_classification_targets(y)
        return X, y

    def _targets(self, y):
        index = np.searchsorted(self.classes_, y)
        if len(self.classes_) == 2:
            return index.astype(self.model_.dtype).reshape(-1, 1)
        return index.astype(np.int64)

    def _setup(self, X, classes, hidden):
        self.classes_ = classes
        self._label_binarizer = LabelBinarizer().fit(classes)
        n_out = 1 if len(classes) == 2 else len(classes)
        self.out_activation_ = "logistic" if n_out == 1 else "softmax"
        self._loss = (BCEWithLogitsLoss(backend=self.backend) if n_out == 1
                      else SoftmaxCrossEntropyLoss(backend=self.backend))
        self._build(X.shape[1], n_out, _model_dtype(self.dtype, X), hidden)

    def fit(self, X, y):
        hidden = self._check_params()
        X, y = self._prepare(X, y, reset=True)
        classes = np.unique(y)
        if len(classes) < 2:
            raise ValueError(f"MLPClassifier needs samples of at least 2 classes; got 1 class ({classes[0]})")
        if not (self.warm_start and hasattr(self, "model_")) or not np.array_equal(
                classes, getattr(self, "classes_", None)):
            self._setup(X, classes, hidden)
        Xd = np.ascontiguousarray(X, dtype=self.model_.dtype)
        self._train(Xd, self._targets(y), self.max_iter, incremental=False)
        return self

    def partial_fit(self, X, y, classes=None):
        hidden = self._check_params()
        first = not hasattr(self, "model_")
        X, y = self._prepare(X, y, reset=first)
        if first:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit")
            classes = np.unique(classes)
            if len(classes) < 2:
                raise ValueError("MLPClassifier needs at least 2 classes")
            self._setup(X, classes, hidden)
        unseen = np.setdiff1d(np.unique(y), self.classes_)
        if unseen.size:
            raise ValueError(f"y holds labels {unseen.tolist()} not in classes {self.classes_.tolist()}")
        Xd = np.ascontiguousarray(X, dtype=self.model_.dtype)
        self._train(Xd, self._targets(y), 1, incremental=True)
        return self

    def _validation_score(self, X, y):
        return float(np.mean(self.classes_[self._index(X, validated=True)] == self.classes_[
            y.astype(np.int64).ravel()]))

    def _index(self, X, validated=False):
        out = self.model_.predict(X) if validated else self._forward(X)
        return (out[:, 0] > 0).astype(np.int64) if out.shape[1] == 1 else out.argmax(axis=1)

    def predict(self, X):
        check_is_fitted(self, "model_")
        return self.classes_[self._index(X)]

    def predict_proba(self, X):
        out = self._forward(X).astype(np.float64)
        if out.shape[1] == 1:
            p = 0.5 * (1 + np.tanh(0.5 * out[:, 0]))
            return np.column_stack([1 - p, p])
        out -= out.max(axis=1, keepdims=True)
        np.exp(out, out=out)
        out /= out.sum(axis=1, keepdims=True)
        return out

    def predict_log_proba(self, X):
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))


class MLPRegressor(RegressorMixin, _BaseMLP):
    """scikit-learn's MLPRegressor on fastlin: identity output, squared loss. ``loss_curve_``
    holds the mean squared error (scikit-learn reports half of it)."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _fit_common(self, X, y, reset, epochs, incremental):
        hidden = self._check_params()
        X, y = validate_data(self, X, y, reset=reset, multi_output=True, y_numeric=True,
                             dtype=[np.float64, np.float32])
        y2 = y.reshape(-1, 1) if y.ndim == 1 else y
        if reset and not (self.warm_start and hasattr(self, "model_")
                          and self.n_outputs_ == y2.shape[1]):
            self._loss = MSELoss(backend=self.backend)
            self.out_activation_ = "identity"
            self._build(X.shape[1], y2.shape[1], _model_dtype(self.dtype, X), hidden)
        self._y_ndim = y.ndim
        dt = self.model_.dtype
        self._train(np.ascontiguousarray(X, dtype=dt), np.ascontiguousarray(y2, dtype=dt),
                    epochs, incremental)
        return self

    def fit(self, X, y):
        return self._fit_common(X, y, reset=True, epochs=self.max_iter, incremental=False)

    def partial_fit(self, X, y):
        return self._fit_common(X, y, reset=not hasattr(self, "model_"), epochs=1,
                                incremental=True)

    def _validation_score(self, X, y):
        from sklearn.metrics import r2_score
        return float(r2_score(y, self.model_.predict(X)))

    def predict(self, X):
        out = self._forward(X).astype(np.float64)
        return out[:, 0] if getattr(self, "_y_ndim", 1) == 1 else out


class LinearRegression(RegressorMixin, BaseEstimator):
    """scikit-learn's LinearRegression, solved by fastlin's closed form (LAPACK least squares,
    the pseudo-inverse; or the normal equations with ``solver="normal"``). Extras: ``alpha``
    (L2 on the coefficients, not the intercept), ``solver``, and ``noise_variance_`` (the
    Gaussian MLE σ̂²)."""

    def __init__(self, *, fit_intercept=True, copy_X=True, tol=1e-6, n_jobs=None,
                 positive=False, alpha=0.0, solver="lstsq"):
        self.fit_intercept = fit_intercept
        self.copy_X = copy_X
        self.tol = tol
        self.n_jobs = n_jobs
        self.positive = positive
        self.alpha = alpha
        self.solver = solver

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X, y, sample_weight=None):
        if self.positive:
            raise ValueError("positive=True is not supported by fastlin's LinearRegression")
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True, dtype=[np.float64])
        sw = None if sample_weight is None else _check_sample_weight(sample_weight, X)
        core = _linear.LinearRegression(fit_intercept=self.fit_intercept, alpha=self.alpha,
                                        solver=self.solver).fit(X, y, sample_weight=sw)
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
        X = validate_data(self, X, reset=False, dtype=[np.float64])
        return X @ np.asarray(self.coef_).T + self.intercept_

    def log_likelihood(self, X, y):
        check_is_fitted(self, "coef_")
        return self._core.log_likelihood(X, y)


class LogisticRegression(ClassifierMixin, BaseEstimator):
    """scikit-learn's LogisticRegression (L2, lbfgs, multinomial for more than two classes),
    minimising C·Σ loss + ½‖w‖² with L-BFGS on fastlin's fused sigmoid-BCE / softmax-CE
    kernels. Supported: penalty "l2" (or None), solver "lbfgs"."""

    def __init__(self, penalty="l2", *, dual=False, tol=1e-4, C=1.0, fit_intercept=True,
                 intercept_scaling=1, class_weight=None, random_state=None, solver="lbfgs",
                 max_iter=100, verbose=0, warm_start=False, n_jobs=None, l1_ratio=None,
                 dtype="float64", backend="cython"):
        self.penalty = penalty
        self.dual = dual
        self.tol = tol
        self.C = C
        self.fit_intercept = fit_intercept
        self.intercept_scaling = intercept_scaling
        self.class_weight = class_weight
        self.random_state = random_state
        self.solver = solver
        self.max_iter = max_iter
        self.verbose = verbose
        self.warm_start = warm_start
        self.n_jobs = n_jobs
        self.l1_ratio = l1_ratio
        self.dtype = dtype
        self.backend = backend

    def fit(self, X, y, sample_weight=None):
        if self.penalty not in ("l2", None) or self.dual or self.solver != "lbfgs":
            raise ValueError("fastlin's LogisticRegression supports penalty='l2' or None, "
                             "dual=False and solver='lbfgs'")
        if self.l1_ratio not in (None, 0, 0.0):
            raise ValueError("fastlin's LogisticRegression has no L1 term (l1_ratio must be None or 0)")
        if not (np.isscalar(self.C) and self.C > 0):
            raise ValueError(f"C must be a positive float, got {self.C!r}")
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32])
        check_classification_targets(y)
        classes = np.unique(y)
        if len(classes) < 2:
            raise ValueError(f"This solver needs samples of at least 2 classes in the data, "
                             f"but the data contains only one class: {classes[0]}")
        sw = _check_sample_weight(sample_weight, X, dtype=np.float64)
        if self.class_weight is not None:
            sw = sw * compute_sample_weight(self.class_weight, y)
        C = np.inf if self.penalty is None else float(self.C)
        cls = _linear.LogisticRegression if len(classes) == 2 else _linear.SoftmaxRegression
        core = cls(C=C if np.isfinite(C) else 1e300, fit_intercept=self.fit_intercept,
                   max_iter=self.max_iter, tol=self.tol * 1e-2, dtype=self.dtype,
                   backend=self.backend)
        core.fit(X, np.searchsorted(classes, y), sample_weight=sw)
        self.classes_ = classes
        self.coef_ = core.coef_
        self.intercept_ = core.intercept_ if self.fit_intercept else np.zeros(len(core.intercept_))
        self.n_iter_ = np.array([core.n_iter_])
        self._core = core
        return self

    def decision_function(self, X):
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        scores = np.asarray(X, np.float64) @ self.coef_.T + self.intercept_
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


__all__ = ["MLPClassifier", "MLPRegressor", "LinearRegression", "LogisticRegression"]
