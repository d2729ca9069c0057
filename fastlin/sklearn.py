"""A drop-in for scikit-learn: MLPClassifier, MLPRegressor, LinearRegression and
LogisticRegression with scikit-learn's parameters, fitted attributes and methods, trained by
fastlin's kernels. Swapping ``from sklearn.neural_network import MLPClassifier`` for
``from fastlin.sklearn import MLPClassifier`` must just work.

Parameters: each ``__init__`` is built from the installed scikit-learn's (1.5 through 1.9):
the same names, order and defaults (``MLPRegressor(loss="squared_error", ...)`` first on 1.7+,
``LogisticRegression(penalty="deprecated", *, C, l1_ratio, ...)`` on 1.8+), then fastlin's
extras as keyword-only parameters. Values are checked in ``fit`` against scikit-learn's own
constraints; the few values fastlin does not compute (L1 penalties, other logistic solvers,
``LinearRegression(positive=True)``) raise a ValueError that says so.

The MLPs follow scikit-learn's training exactly: the same initial weights for the same
``random_state`` (Glorot uniform), the same shuffles, batches and early-stopping split, the
same objective (mean loss + alpha/2 ||W||² / Σ sample_weight, the intercepts unpenalised), the
same update rules (sgd with constant/invscaling/adaptive rates, adam, lbfgs on the whole data
set with ``max_fun``), ``n_iter_`` per call and ``t_`` in samples seen. Each step runs on
fastlin's kernels; sparse X (CSR/CSC) goes through :mod:`fastlin._sparse`.

Extras: ``dtype`` (None follows the input: float32 stays float32, anything else becomes
float64), ``backend`` ("cython" or "numpy"), more activations ("leaky_relu", "abs", "sigmoid"
as an alias of "logistic").
"""
import inspect
import warnings
from numbers import Real

import numpy as np
import scipy.linalg.blas
import scipy.sparse as sp
from scipy.special import expit, logsumexp, xlogy
from sklearn import linear_model as _sk_linear
from sklearn import neural_network as _sk_nn
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils._param_validation import Interval, StrOptions, validate_parameter_constraints
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import (_check_partial_fit_first_call, check_classification_targets,
                                      type_of_target, unique_labels)
from sklearn.utils.optimize import _check_optimize_result
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

try:
    from sklearn.utils.validation import validate_data
except ImportError:  # scikit-learn 1.5: the method, not yet the function
    def validate_data(estimator, *args, **kwargs):
        return estimator._validate_data(*args, **kwargs)

import fastlin.linear as _linear
from fastlin import _checks, _sparse
from fastlin.optim import SGD, Adam
from fastlin.sequential import MLP

_ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "sigmoid": "sigmoid",
                "tanh": "tanh", "relu": "relu", "leaky_relu": "leaky_relu", "abs": "abs"}
_FLOATS = (np.float64, np.float32)


# ------------------------------------------------------------------------------ signatures
def _spec(sk_cls, extras):
    """[(name, default, keyword_only)]: the installed scikit-learn class's parameters in order,
    then the extras (keyword-only) that scikit-learn does not have."""
    params = list(inspect.signature(sk_cls.__init__).parameters.values())[1:]
    names = {p.name for p in params}
    spec = [(p.name, p.default, p.kind is inspect.Parameter.KEYWORD_ONLY) for p in params]
    return spec + [(name, default, True) for name, default in extras if name not in names]


def _make_init(qualname, spec):
    """An ``__init__`` with exactly the parameters of `spec` that stores each one (scikit-learn
    reads the parameters from the signature, so it must be a real function, not **kwargs)."""
    parts, star = [], False
    for name, _, kw_only in spec:
        if kw_only and not star:
            parts.append("*")
            star = True
        parts.append(f"{name}=_defaults[{name!r}]")
    body = "".join(f"    self.{name} = {name}\n" for name, _, _ in spec) or "    pass\n"
    namespace = {"_defaults": {name: default for name, default, _ in spec}}
    exec(f"def __init__(self, {', '.join(parts)}):\n{body}", namespace)  # noqa: S102
    init = namespace["__init__"]
    init.__qualname__ = qualname
    return init


def _immutable(value):
    """A parameter value that cannot change without being replaced (so identity means same)."""
    if isinstance(value, tuple):
        return all(_immutable(v) for v in value)
    return value is None or type(value) in (bool, int, float, str, np.float64, np.int64)


class _Parity:
    """Shared parameter handling: scikit-learn's constraints, checked in fit; parameters of a
    newer scikit-learn that fastlin does not know are refused unless left at their default."""

    _spec = ()
    _known = frozenset()

    def _check_parameters(self):
        # scikit-learn's _validate_params, without its signature inspection on every call, and
        # skipped when every parameter is the very same immutable object it was at the last
        # successful check (~0.1 ms of each partial_fit); set_params or an assignment rechecks
        values = tuple(getattr(self, name) for name, _, _ in self._spec)
        if self.__dict__.get("_checked_parameters") is not None and all(
                a is b for a, b in zip(values, self._checked_parameters)):
            return
        params = dict(zip((name for name, _, _ in self._spec), values))
        validate_parameter_constraints(self._parameter_constraints, params,
                                       caller_name=type(self).__name__)
        for name, default, _ in self._spec:
            if name in self._known:
                continue
            value = getattr(self, name)
            if value is not default and not (isinstance(value, str) and value == default):
                raise ValueError(f"{type(self).__name__}: fastlin does not support scikit-learn's "
                                 f"parameter {name}={value!r}; leave it at its default {default!r}")
        if all(_immutable(v) for v in values):
            self._checked_parameters = values

    def _model_dtype(self, X):
        if self.dtype is not None:
            dt = np.dtype(self.dtype)
            if dt not in _FLOATS:
                raise ValueError(f"dtype must be float32, float64 or None, got {self.dtype!r}")
            return dt
        return np.dtype(np.float32) if X.dtype == np.float32 else np.dtype(np.float64)


_NO_Y = "no_validation"  # scikit-learn's marker for "validate X only"


def _validate(estimator, X, y=_NO_Y, *, reset=True, dtype=_FLOATS, multi_output=False,
              **kwargs):
    """scikit-learn's validate_data, with a fast path for what fastlin is mostly given: a
    finite, C-contiguous float ndarray (and a plain numeric y). It records n_features_in_ and
    forgets feature names exactly as validate_data does for such arrays; anything else (lists,
    DataFrames, sparse, NaN, a wrong width, other dtypes) goes to validate_data itself, so the
    errors and warnings are scikit-learn's."""
    dtypes = [np.dtype(d) for d in (dtype if isinstance(dtype, (list, tuple)) else [dtype])]
    fast = (type(X) is np.ndarray and X.ndim == 2 and X.dtype in dtypes
            and X.flags.c_contiguous and X.shape[0] >= 1 and X.shape[1] >= 1)
    if fast and not reset:
        fast = (getattr(estimator, "feature_names_in_", None) is None
                and X.shape[1] == getattr(estimator, "n_features_in_", None))
    if fast and y is not _NO_Y:
        fast = (type(y) is np.ndarray and y.dtype.kind in "biuf" and len(y) == len(X)
                and (y.ndim == 1 or (multi_output and y.ndim == 2 and y.shape[1] >= 1))
                and (y.dtype.kind != "f" or _checks.all_finite(y)))
    if fast and _checks.all_finite(X):
        if reset:
            estimator.n_features_in_ = X.shape[1]
            if hasattr(estimator, "feature_names_in_"):
                del estimator.feature_names_in_
        return X if y is _NO_Y else (X, y)
    if sp.issparse(X):
        # scikit-learn's checks trust the index arrays; a malformed matrix would make SciPy's
        # compiled conversions and products read or write outside them
        _sparse.check_structure(X)
    if multi_output:
        kwargs["multi_output"] = True
    if y is _NO_Y:
        return validate_data(estimator, X, reset=reset, dtype=dtype, **kwargs)
    return validate_data(estimator, X, y, reset=reset, dtype=dtype, **kwargs)


# eps of each float dtype and -log(eps): what scikit-learn's log-loss charges at most
_CLIP = {np.dtype(t): (float(np.finfo(t).eps), -float(np.log(np.finfo(t).eps)))
         for t in (np.float32, np.float64)}


def _log_loss_clip(z, target, sw, softmax):
    """What scikit-learn's log-loss value adds to the exact one: it clips probabilities to
    [eps, 1 - eps] (eps of the dtype) before the log, so no prediction costs more than
    -log(eps) (36 in float64, 16 in float32). Its gradient is the unclipped one, as fastlin's.
    Only the value differs, and only for predictions that confident. But lbfgs's line search
    reads the value, and on a saturating probe the two had taken different steps (weights
    0.28 apart after 15 iterations). Found from the logits, so the common case costs one pass
    that finds nothing. The clip at 1 - eps changes a term by < 2e-16 and is left out."""
    eps, cap = _CLIP[z.dtype]
    hi, lo = float(z.max()), float(z.min())
    if (hi - lo if softmax else max(hi, -lo)) <= cap - 1.0:
        return 0.0  # no logit is far enough from the others (or from 0) to be clipped
    w = None if sw is None else np.asarray(sw, np.float64)
    total = len(z) if w is None else float(w.sum())
    if softmax:
        rows = np.arange(len(z))
        margin = z.max(axis=1).astype(np.float64) - z[rows, target]
        hit = np.flatnonzero(margin > cap - 1.0)
        if not hit.size:
            return 0.0
        zc = z[hit].astype(np.float64)
        exact = logsumexp(zc, axis=1) - zc[np.arange(len(hit)), target[hit]]
        weights = 1.0 if w is None else w[hit]
    else:
        hit_r, hit_c = np.nonzero(np.abs(z) > cap - 1.0)
        if not hit_r.size:
            return 0.0
        zc = z[hit_r, hit_c].astype(np.float64)
        t = np.asarray(target[hit_r, hit_c], np.float64)
        exact = np.logaddexp(0.0, zc) - t * zc          # the element's exact BCE
        weights = 1.0 if w is None else w[hit_r]
    clipped = np.minimum(exact, cap) if softmax else _clipped_bce(zc, t, eps)
    return float(np.sum(weights * (clipped - exact)) / total)


def _clipped_bce(z, t, eps):
    """scikit-learn's binary log-loss of logits z against targets t, probabilities clipped."""
    p = np.clip(expit(z), eps, 1.0 - eps)
    return -(xlogy(t, p) + xlogy(1.0 - t, 1.0 - p))


def _plain_labels(binarizer, y):
    """True when y may skip scikit-learn's target inspection (type_of_target, ~0.5 ms a call,
    which made a 64-row partial_fit cost 2 ms): a 1-D integer or bool ndarray, for a binarizer
    fitted on integer classes of a binary or multiclass target. type_of_target calls such y
    binary or multiclass whatever its values, so only the classes are left to check."""
    return (type(y) is np.ndarray and y.ndim == 1 and y.dtype.kind in "iub"
            and getattr(binarizer, "y_type_", None) in ("binary", "multiclass")
            and binarizer.classes_.dtype.kind in "iub" and not binarizer.sparse_output
            and binarizer.neg_label == 0 and binarizer.pos_label == 1)


def _binarize(binarizer, y):
    """LabelBinarizer.transform(y).astype(bool) for _plain_labels y whose values are all in
    classes_: one indicator column for two classes, one per class otherwise."""
    classes = binarizer.classes_
    idx = np.searchsorted(classes, y)
    if len(classes) == 2:
        return (idx == 1).reshape(-1, 1)
    Y = np.zeros((len(y), len(classes)), bool)
    Y[np.arange(len(y)), idx] = True
    return Y


def _unbinarize(binarizer, p):
    """LabelBinarizer.inverse_transform(p) for a dense binary or multiclass output (the most
    probable class; p > 0.5 for one column), without its target inspection; anything else
    goes to scikit-learn."""
    kind = getattr(binarizer, "y_type_", None)
    if isinstance(p, np.ndarray) and not getattr(binarizer, "sparse_input_", False):
        if kind == "multiclass" and p.ndim == 2 and p.shape[1] == len(binarizer.classes_):
            return binarizer.classes_.take(p.argmax(axis=1), mode="clip")
        if (kind == "binary" and p.ndim == 1 and len(binarizer.classes_) == 2
                and binarizer.neg_label == 0 and binarizer.pos_label == 1):
            return binarizer.classes_[(p > 0.5).astype(int)]
    return binarizer.inverse_transform(p)


def _as_model_input(X, dtype):
    """X (validated by scikit-learn) as the model reads it: a C-contiguous array or a CSR
    matrix of `dtype`."""
    if sp.issparse(X):
        X = X.tocsr()
        return X if X.dtype == dtype else X.astype(dtype)
    return np.ascontiguousarray(X, dtype=dtype)


# ------------------------------------------------------------------------------------ MLP
_MLP_KNOWN = frozenset(
    "loss hidden_layer_sizes activation solver alpha batch_size learning_rate learning_rate_init "
    "power_t max_iter shuffle random_state tol verbose warm_start momentum nesterovs_momentum "
    "early_stopping validation_fraction beta_1 beta_2 epsilon n_iter_no_change max_fun dtype "
    "backend".split())
_MLP_EXTRAS = [("dtype", None), ("backend", "cython")]
_MLP_EXTRA_CONSTRAINTS = {"activation": [StrOptions(set(_ACTIVATIONS))],
                          "dtype": "no_validation",
                          "backend": [StrOptions({"cython", "numpy"})]}


class _WeightsAndBiases:
    """scikit-learn's update as two fastlin optimizers of one kind: the weights' with L2 weight
    decay alpha / (the batch's total sample weight), fused into the update kernel (PyTorch's
    g + wd·p is scikit-learn's (Xᵀδ + alpha·W) / n), and the intercepts' without."""

    def __init__(self, weights, biases):
        self.weights, self.biases = weights, biases

    @property
    def lr(self):
        return self.weights.lr

    @lr.setter
    def lr(self, value):
        self.weights.lr = self.biases.lr = value

    @property
    def eps(self):
        return self.weights.eps

    @eps.setter
    def eps(self, value):
        self.weights.eps = self.biases.eps = value

    @property
    def step_count(self):
        return self.weights.step_count

    @property
    def velocity(self):
        return list(self.weights.velocity) + list(self.biases.velocity)

    def step(self, weight_decay):
        self.weights.weight_decay = weight_decay
        self.weights.step()
        self.biases.step()


class _BaseMLP(_Parity, BaseEstimator):
    _stochastic = ("sgd", "adam")

    def __getstate__(self):
        # The optimizer holds references into the model's arrays, which a pickler (joblib's,
        # Dask's) may not keep shared: it travels as its state_dict and is rebuilt over the
        # unpickled model's parameters, so partial_fit continues bitwise on another worker.
        state = self.__dict__.copy()
        opt = state.pop("_optimizer", None)
        state.pop("_l2_pairs", None)
        state.pop("_first_shuffle_cache", None)  # n int64s of the last partial_fit; rebuilt
        if opt is not None:
            state["_optimizer_state"] = (opt.weights.state_dict(), opt.biases.state_dict())
        return state

    def __setstate__(self, state):
        opt_state = state.pop("_optimizer_state", None)
        self.__dict__.update(state)
        if opt_state is not None and hasattr(self, "model_"):
            self._optimizer = self._make_optimizer()
            self._optimizer.weights.load_state_dict(opt_state[0])
            self._optimizer.biases.load_state_dict(opt_state[1])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # ------------------------------------------------------------- attributes
    @property
    def coefs_(self):
        check_is_fitted(self, "model_")
        return [layer.W for layer in self._dense_layers()]

    @coefs_.setter
    def coefs_(self, values):
        for layer, value in zip(self._dense_layers(), values, strict=True):
            layer.W = value

    @property
    def intercepts_(self):
        check_is_fitted(self, "model_")
        return [layer.b for layer in self._dense_layers()]

    @intercepts_.setter
    def intercepts_(self, values):
        for layer, value in zip(self._dense_layers(), values, strict=True):
            layer.b = value

    def _dense_layers(self):
        return self.model_.layers[::2]

    # ----------------------------------------------------------------- set-up
    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
        if any(isinstance(s, bool) or int(s) != s or s <= 0 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
        return [int(s) for s in sizes]

    def _initialize(self, n_features, n_outputs, dtype, hidden):
        """scikit-learn's _initialize: counters reset and Glorot-uniform weights drawn from
        self._random_state in scikit-learn's order (so a random_state gives its weights)."""
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = n_outputs
        sizes = [n_features, *hidden, n_outputs]
        self.n_layers_ = len(sizes)
        act = _ACTIVATIONS[self.activation]
        # zeros: the weights are drawn below, as scikit-learn draws them
        self.model_ = MLP(sizes, activation=act, dtype=dtype, backend=self.backend, init="zeros")
        factor = 2.0 if act == "sigmoid" else 6.0
        for layer in self._dense_layers():
            bound = np.sqrt(factor / (layer.in_features + layer.out_features))
            shape = (layer.in_features, layer.out_features)
            layer.W = self._random_state.uniform(-bound, bound, shape)
            layer.b = self._random_state.uniform(-bound, bound, layer.out_features)
        self._best_params = [p.copy() for p in self.model_.parameters()]
        if self.solver in self._stochastic:
            self.loss_curve_ = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_ = []
                self.best_validation_score_ = -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.best_validation_score_ = None

    # ------------------------------------------------------------ the network
    def _forward(self, X):
        """Training forward: the output layer's pre-activation for X (dense or CSR)."""
        if sp.issparse(X):
            return _sparse.forward(self.model_, X)
        return self.model_._forward(X)

    def _backward(self, X, grad):
        if sp.issparse(X):
            _sparse.backward(self.model_, X, grad)
        else:
            self.model_.backward(grad, need_input_grad=False)

    def _output_loss(self, z, target, sw, grad):
        """scikit-learn's loss of the output pre-activation z and its gradient d loss / dz
        written into grad, scaled as scikit-learn scales it: (act(z) - y) · sw / Σ sw.

        The value is scikit-learn's too where it is not the exact loss (lbfgs's line search
        reads it): log-loss with probabilities clipped at eps, and for several regression
        outputs the mean over outputs while the gradient is the sum's."""
        K = self.model_.backend
        kind = self.out_activation_
        k = z.shape[1]
        if kind == "softmax":
            loss = K.softmax_cross_entropy(z, target, grad=grad, sample_weight=sw)[0]
            return loss + _log_loss_clip(z, target, sw, softmax=True)
        if kind == "logistic":
            loss = K.sigmoid_binary_cross_entropy(z, target, grad=grad, sample_weight=sw)[0]
            if k > 1:
                grad *= grad.dtype.type(k)
            return loss * k + _log_loss_clip(z, target, sw, softmax=False)
        if kind == "identity":
            loss = K.mse(z, target, grad=grad, sample_weight=sw)[0]
            grad *= grad.dtype.type(0.5 * k)
            return 0.5 * loss
        # "exp": the Poisson deviance with a log link, halved (scikit-learn's poisson_loss)
        z64 = z.astype(np.float64)
        mu = np.exp(z64)
        t = target.astype(np.float64)
        terms = xlogy(t, t) - t * z64 + mu - t
        w = np.ones(len(z)) if sw is None else sw.astype(np.float64)
        total = w.sum()
        loss = float((w @ terms).sum() / total)
        np.copyto(grad, (mu - t) * (w / total)[:, None], casting="same_kind")
        return loss

    def _l2(self, sw_sum, gradient=True):
        """alpha/2 ||W||² / sw_sum (weights only), and alpha · W / sw_sum added to each dW
        (unless gradient=False: the stochastic solvers fold that term into the update)."""
        if not self.alpha:
            return 0.0
        pairs = self.__dict__.get("_l2_pairs")
        if pairs is None or pairs[0][0].base is not self._dense_layers()[0].W:
            pairs = self._l2_pairs = [
                (layer.W.reshape(-1), layer.dW.reshape(-1),
                 scipy.linalg.blas.get_blas_funcs("axpy", dtype=layer.dtype))
                for layer in self._dense_layers()]
        c = float(self.alpha) / sw_sum
        total = 0.0
        for w, dw, axpy in pairs:
            total += float(np.dot(w, w))
            if gradient:
                axpy(w, dw, a=c)  # dw += c * w, in place
        return 0.5 * c * total

    # --------------------------------------------------------------- training
    @property
    def _random_state(self):
        """check_random_state(self.random_state), made anew by every fit/partial_fit call as in
        scikit-learn, but only when the call draws from it (seeding a RandomState costs
        ~0.19 ms, more than a small partial_fit's training)."""
        rs = self.__dict__.get("_random_state_")
        if rs is None:
            rs = self._random_state_ = check_random_state(self.random_state)
        return rs

    @_random_state.setter
    def _random_state(self, rs):
        self._random_state_ = rs

    def _first_shuffle(self, n):
        """np.arange(n) shuffled by a fresh check_random_state(random_state) for an integer
        random_state, computed once per (seed, n): every partial_fit call shuffles its rows by
        exactly this permutation, as scikit-learn's does."""
        seed = self.random_state
        if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
            return None
        cached = self.__dict__.get("_first_shuffle_cache")
        if cached is None or cached[0] != (int(seed), n):
            perm = np.arange(n)
            check_random_state(seed).shuffle(perm)
            cached = self._first_shuffle_cache = ((int(seed), n), perm)
        return cached[1]

    def _fit(self, X, y, sample_weight=None, incremental=False):
        self._check_parameters()
        hidden = self._hidden_sizes()
        first_pass = not hasattr(self, "model_") or (not self.warm_start and not incremental)
        X, y = self._validate_input(X, y, incremental, reset=first_pass)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
            if not sample_weight.sum() > 0:
                raise ValueError("sample_weight sums to zero; at least one sample needs weight")
        if y.ndim == 1:
            y = y.reshape(-1, 1)
        self.__dict__.pop("_random_state_", None)  # a fresh one when first used, as sklearn does
        if first_pass:
            self._initialize(X.shape[1], y.shape[1], self._model_dtype(X), hidden)
        elif y.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {y.shape[1]} outputs but the fitted network has "
                             f"{self.n_outputs_}; fit again without warm_start")
        elif [layer.out_features for layer in self._dense_layers()[:-1]] != hidden:
            raise ValueError("hidden_layer_sizes changed since the last fit; fit again without "
                             "warm_start")
        dt = self.model_.dtype
        X = _as_model_input(X, dt)
        sw = None if sample_weight is None else sample_weight.astype(dt)
        if self.solver in self._stochastic:
            self._fit_stochastic(X, y, sw, incremental)
        else:
            self._fit_lbfgs(X, y, sw)
        if not all(np.isfinite(p).all() for p in self.model_.parameters()):
            raise ValueError("Solver produced non-finite parameter weights. The input data may"
                             " contain large values and need to be preprocessed.")
        return self

    def _loss_target(self, Y):
        """The target as the loss kernel reads it: labels for softmax, floats otherwise."""
        if self.out_activation_ == "softmax":
            return np.ascontiguousarray(np.argmax(Y, axis=1), dtype=np.int64)
        return np.ascontiguousarray(Y, dtype=self.model_.dtype)

    def _fit_lbfgs(self, X, Y, sw):
        params = self.model_.parameters()
        grads = self.model_.gradients()
        sizes = [p.size for p in params]
        target = self._loss_target(Y)
        grad_out = np.empty((X.shape[0], self.n_outputs_), self.model_.dtype)
        sw_sum = X.shape[0] if sw is None else float(sw.sum(dtype=np.float64))
        packed_grad = np.empty(sum(sizes))

        def loss_grad(theta):
            start = 0
            for p, size in zip(params, sizes):
                np.copyto(p.reshape(-1), theta[start:start + size], casting="unsafe")
                start += size
            z = self._forward(X)
            loss = self._output_loss(z, target, sw, grad_out)
            self._backward(X, grad_out)
            loss += self._l2(sw_sum)
            start = 0
            for g, size in zip(grads, sizes):
                packed_grad[start:start + size] = g.reshape(-1)
                start += size
            return loss, packed_grad.copy()

        theta0 = np.concatenate([p.reshape(-1) for p in params]).astype(np.float64)
        result = _linear.minimize_lbfgsb(loss_grad, theta0, maxiter=self.max_iter,
                                         gtol=self.tol, maxfun=self.max_fun)
        self.n_iter_ = _check_optimize_result("lbfgs", result, self.max_iter)
        self.loss_ = float(result.fun)
        start = 0
        for p, size in zip(params, sizes):
            np.copyto(p.reshape(-1), result.x[start:start + size], casting="unsafe")
            start += size

    def _make_optimizer(self):
        weights = [layer.W for layer in self._dense_layers()]
        biases = [layer.b for layer in self._dense_layers()]
        if self.solver == "sgd":
            def make(params):
                return SGD(params, lr=self.learning_rate_init, momentum=self.momentum,
                           nesterov=bool(self.nesterovs_momentum and self.momentum > 0),
                           backend=self.backend)
        else:
            def make(params):
                return Adam(params, lr=self.learning_rate_init, betas=(self.beta_1, self.beta_2),
                            eps=self.epsilon, backend=self.backend)
        return _WeightsAndBiases(make(weights), make(biases))

    def _set_sgd_rate(self, lr):
        """Change the sgd learning rate as scikit-learn does: its velocity holds lr-scaled
        gradients and fastlin's (PyTorch's) raw ones, so rescale ours to keep the two equal."""
        opt = self._optimizer
        if lr != opt.lr:
            for v in opt.velocity:
                if v is not None:
                    v *= v.dtype.type(opt.lr / lr)
            opt.lr = lr

    def _fit_stochastic(self, X, Y, sw, incremental):
        if not incremental or not hasattr(self, "_optimizer"):
            self._optimizer = self._make_optimizer()
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        early_stopping = self.early_stopping
        if early_stopping:
            stratify = Y if (isinstance(self, ClassifierMixin) and self.n_outputs_ == 1) else None
            parts = train_test_split(X, Y, *([] if sw is None else [sw]),
                                     random_state=self._random_state,
                                     test_size=self.validation_fraction, stratify=stratify)
            X_train, X_val, Y_train, Y_val = parts[:4]
            sw_train, sw_val = (None, None) if sw is None else parts[4:]
            if X_val.shape[0] < 2:
                raise ValueError("The validation set is too small. Increase 'validation_fraction' "
                                 "or the size of your dataset.")
            y_val = self._validation_target(Y_val)
        else:
            X_train, Y_train, sw_train = X, Y, sw
            X_val = y_val = sw_val = None
        n_samples = X_train.shape[0]
        target = self._loss_target(Y_train)
        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is "
                              "going to be clipped")
            batch_size = int(np.clip(self.batch_size, 1, n_samples))
        dt = self.model_.dtype
        dense = not sp.issparse(X_train)
        if dense:
            X_train = np.ascontiguousarray(X_train)
            xbuf = np.empty((batch_size, X_train.shape[1]), dt)
        tbuf = np.empty((batch_size,) + target.shape[1:], target.dtype)
        swbuf = None if sw_train is None else np.empty(batch_size, dt)
        grad_bufs = {}
        opt = self._optimizer
        adam = self.solver == "adam"
        sample_idx = np.arange(n_samples)
        try:
            self.n_iter_ = 0
            for _ in range(self.max_iter):
                if self.shuffle:
                    # sklearn.utils.shuffle(sample_idx, random_state=...), without its
                    # per-call parameter validation
                    # (the cache holds a fresh generator's first shuffle: only when this call
                    # has not drawn from its generator yet, as a first call's init does)
                    perm = (self._first_shuffle(n_samples) if incremental
                            and "_random_state_" not in self.__dict__ else None)
                    if perm is None:
                        perm = np.arange(n_samples)
                        self._random_state.shuffle(perm)
                    sample_idx = sample_idx[perm]
                accumulated_loss = 0.0
                for start in range(0, n_samples, batch_size):  # sklearn's gen_batches
                    idx = sample_idx[start:start + batch_size]
                    m = len(idx)
                    if dense:
                        xb = np.take(X_train, idx, axis=0, out=xbuf[:m])
                        z = self.model_._forward(xb)
                    else:
                        xb = X_train[idx]
                        z = _sparse.forward(self.model_, xb)
                    tb = np.take(target, idx, axis=0, out=tbuf[:m])
                    swb = None if sw_train is None else np.take(sw_train, idx, out=swbuf[:m])
                    sw_sum = m if swb is None else float(swb.sum(dtype=np.float64))
                    if not sw_sum > 0:
                        continue  # a batch of zero weight carries no gradient
                    grad = grad_bufs.get(m)
                    if grad is None:
                        grad = grad_bufs[m] = np.empty((m, self.n_outputs_), dt)
                    batch_loss = self._output_loss(z, tb, swb, grad)
                    if dense:
                        self.model_.backward(grad, need_input_grad=False)
                    else:
                        _sparse.backward(self.model_, xb, grad)
                    batch_loss += self._l2(sw_sum, gradient=False)
                    accumulated_loss += batch_loss * m
                    if adam:
                        # scikit-learn's Adam adds epsilon to sqrt(v) before the bias
                        # correction, PyTorch's after: this epsilon makes them equal
                        opt.eps = self.epsilon / np.sqrt(1.0 - self.beta_2 ** (opt.step_count + 1))
                    opt.step(float(self.alpha) / sw_sum)
                self.n_iter_ += 1
                self.loss_ = accumulated_loss / n_samples
                self.t_ += n_samples
                self.loss_curve_.append(self.loss_)
                if self.verbose:
                    print("Iteration %d, loss = %.8f" % (self.n_iter_, self.loss_))
                self._update_no_improvement_count(early_stopping, X_val, y_val, sw_val)
                if not adam and self.learning_rate == "invscaling":
                    self._set_sgd_rate(float(self.learning_rate_init)
                                       / (self.t_ + 1) ** self.power_t)
                if self._no_improvement_count > self.n_iter_no_change:
                    if early_stopping:
                        msg = ("Validation score did not improve more than tol=%f for %d "
                               "consecutive epochs." % (self.tol, self.n_iter_no_change))
                    else:
                        msg = ("Training loss did not improve more than tol=%f for %d "
                               "consecutive epochs." % (self.tol, self.n_iter_no_change))
                    if adam or self.learning_rate != "adaptive" or opt.lr <= 1e-6:
                        if self.verbose:
                            print(msg + " Stopping.")
                        break
                    self._set_sgd_rate(opt.lr / 5.0)
                    if self.verbose:
                        print(msg + " Setting learning rate to %f" % opt.lr)
                    self._no_improvement_count = 0
                if incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn("Stochastic Optimizer: Maximum iterations (%d) reached and the "
                                  "optimization hasn't converged yet." % self.max_iter,
                                  ConvergenceWarning)
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.")
        if early_stopping:
            for p, best in zip(self.model_.parameters(), self._best_params):
                np.copyto(p, best)

    def _update_no_improvement_count(self, early_stopping, X_val, y_val, sw_val):
        if early_stopping:
            score = self._validation_score(X_val, y_val, sw_val)
            self.validation_scores_.append(score)
            if self.verbose:
                print("Validation score: %f" % score)
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_params = [p.copy() for p in self.model_.parameters()]
        else:
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if self.loss_curve_[-1] < self.best_loss_:
                self.best_loss_ = self.loss_curve_[-1]

    def _validation_score(self, X, y, sample_weight):
        pred = self._predict_validated(X)
        if pred.dtype.kind == "f" and not np.isfinite(pred).all():
            return np.nan
        return self._score_function(y, pred, sample_weight=sample_weight)

    # -------------------------------------------------------------- inference
    def _output(self, X):
        """The network's output (after the output activation) for validated X."""
        X = _as_model_input(X, self.model_.dtype)
        out = _sparse.predict(self.model_, X) if sp.issparse(X) else self.model_.predict(X)
        K = self.model_.backend
        if self.out_activation_ == "softmax":
            K.softmax(out, out=out)
        elif self.out_activation_ == "logistic":
            K.activation_forward(out, "sigmoid", out=out)
        elif self.out_activation_ == "exp":
            np.exp(out, out=out)
        return out

    def _forward_pass_fast(self, X):
        check_is_fitted(self, "model_")
        X = _validate(self, X, accept_sparse=["csr", "csc"], reset=False, dtype=_FLOATS)
        return self._output(X)

    def fit(self, X, y, sample_weight=None):
        """Fit the model to data matrix X (dense, or scipy.sparse CSR/CSC) and target(s) y,
        optionally weighting the samples; returns self."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    def _check_solver(self):
        if self.solver not in self._stochastic:
            raise AttributeError("partial_fit is only available for stochastic optimizers. "
                                 f"{self.solver} is not stochastic.")
        return True


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """scikit-learn's MLPClassifier on fastlin's kernels: softmax outputs and cross-entropy
    for several classes; sigmoid outputs and binary cross-entropy for two classes and for
    multilabel indicator targets."""

    _spec = _spec(_sk_nn.MLPClassifier, _MLP_EXTRAS)
    _known = _MLP_KNOWN
    _parameter_constraints = {**_sk_nn.MLPClassifier._parameter_constraints,
                              **_MLP_EXTRA_CONSTRAINTS}
    __init__ = _make_init("MLPClassifier.__init__", _spec)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    def _validate_input(self, X, y, incremental, reset):
        X, y = _validate(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             dtype=_FLOATS, reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        refit = not hasattr(self, "classes_") or (not self.warm_start and not incremental)
        plain = not refit and _plain_labels(self._label_binarizer, y)
        if not plain:
            check_classification_targets(y)
        if refit:
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = np.unique(y) if plain else unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in the "
                        f"previous call to fit. Previously got {self.classes_}, `y` has {classes}")
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has "
                                 f"{self.classes_}. 'y' has {classes}.")
        if len(self.classes_) < 2 and self._label_binarizer.y_type_ != "multilabel-indicator":
            raise ValueError(f"MLPClassifier needs samples of at least 2 classes; got 1 class "
                             f"({self.classes_[0]})")
        Y = (_binarize(self._label_binarizer, y) if plain
             else self._label_binarizer.transform(y).astype(bool))
        if reset or not hasattr(self, "out_activation_"):
            self.out_activation_ = ("softmax" if self._label_binarizer.y_type_ == "multiclass"
                                    else "logistic")
        return X, Y

    def _validation_target(self, Y):
        return self._label_binarizer.inverse_transform(Y)

    _score_function = staticmethod(accuracy_score)

    def _predict_validated(self, X):
        p = self._output(X)
        if self.n_outputs_ == 1:
            p = p.ravel()
        return _unbinarize(self._label_binarizer, p)

    def predict(self, X):
        """Predicted classes (an indicator matrix for multilabel targets)."""
        check_is_fitted(self, "model_")
        X = _validate(self, X, accept_sparse=["csr", "csc"], reset=False, dtype=_FLOATS)
        return self._predict_validated(X)

    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One pass (epoch) of the stochastic solver over (X, y); ``classes`` is required on
        the first call."""
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def predict_proba(self, X):
        """Class probabilities, columns in the order of classes_."""
        p = self._forward_pass_fast(X)
        if self.n_outputs_ == 1:
            p = p.ravel()
            return np.vstack([1 - p, p]).T
        return p

    def predict_log_proba(self, X):
        p = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(p, out=p)


class MLPRegressor(RegressorMixin, _BaseMLP):
    """scikit-learn's MLPRegressor on fastlin's kernels: identity outputs and half the squared
    error, or (``loss="poisson"``) exponential outputs and half the Poisson deviance."""

    _spec = _spec(_sk_nn.MLPRegressor, [("loss", "squared_error")] + _MLP_EXTRAS)
    _known = _MLP_KNOWN
    _parameter_constraints = {**_sk_nn.MLPRegressor._parameter_constraints,
                              "loss": [StrOptions({"squared_error", "poisson"})],
                              **_MLP_EXTRA_CONSTRAINTS}
    __init__ = _make_init("MLPRegressor.__init__", _spec)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _more_tags(self):  # the same, for scikit-learn 1.5
        return {"multioutput": True}

    def _validate_input(self, X, y, incremental, reset):
        X, y = _validate(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             y_numeric=True, dtype=_FLOATS, reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and (y < 0).any():
            raise ValueError("loss='poisson' needs non-negative targets y (counts or rates)")
        if reset or not hasattr(self, "out_activation_"):
            self.out_activation_ = "exp" if self.loss == "poisson" else "identity"
        elif self.out_activation_ != ("exp" if self.loss == "poisson" else "identity"):
            raise ValueError("loss changed since the last fit; fit again without warm_start")
        return X, y

    def _validation_target(self, Y):
        return Y

    _score_function = staticmethod(r2_score)

    def _predict_validated(self, X):
        out = self._output(X)
        return out.ravel() if out.shape[1] == 1 else out

    def predict(self, X):
        """Predicted values, shape (n_samples,) for one output."""
        check_is_fitted(self, "model_")
        X = _validate(self, X, accept_sparse=["csr", "csc"], reset=False, dtype=_FLOATS)
        return self._predict_validated(X)

    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X, y, sample_weight=None):
        """One pass (epoch) of the stochastic solver over (X, y)."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)


# ------------------------------------------------------------------------ linear models
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


def _sklearn_at_least(major, minor):
    import sklearn
    try:
        return tuple(int(v) for v in sklearn.__version__.split(".")[:2]) >= (major, minor)
    except ValueError:  # a development version string: take it as recent
        return True


# scikit-learn 1.9 passes LinearRegression's tol to scipy.linalg.lstsq as cond on dense X
_DENSE_TOL_IS_COND = _sklearn_at_least(1, 9)


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


__all__ = ["MLPClassifier", "MLPRegressor", "LinearRegression", "LogisticRegression"]
