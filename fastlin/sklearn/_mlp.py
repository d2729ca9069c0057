"""MLPClassifier and MLPRegressor: scikit-learn's networks, initial weights and training on
fastlin's MLP. The lbfgs solver is here; sgd and adam are in _mlp_stochastic, the output
losses in _mlp_loss."""
import threading

import numpy as np
import scipy.linalg.blas
import scipy.sparse as sp
from sklearn import neural_network as _sk_nn
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import NotFittedError
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import (_check_partial_fit_first_call, check_classification_targets,
                                      type_of_target, unique_labels)
from sklearn.utils.optimize import _check_optimize_result
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

import fastlin.linear as _linear
from fastlin import _checks, _sparse
from fastlin.sequential import MLP
from fastlin.sklearn._common import _FLOATS, _make_init, _Parity, _spec, _validate
from fastlin.sklearn._labels import _binarize, _plain_labels, _unbinarize
from fastlin.sklearn._mlp_loss import output_loss
from fastlin.sklearn._mlp_stochastic import _StochasticSolver

_ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "sigmoid": "sigmoid",
                "tanh": "tanh", "relu": "relu", "leaky_relu": "leaky_relu", "abs": "abs"}


def _as_model_input(X, dtype):
    """X (validated by scikit-learn) as the model reads it: a C-contiguous array or a CSR
    matrix of `dtype`."""
    if sp.issparse(X):
        X = X.tocsr()
        if X.dtype == dtype:
            return X
        return sp.csr_matrix((_checks.converted(X.data, dtype, "X"), X.indices, X.indptr),
                             shape=X.shape)
    return _checks.converted(X, dtype, "X")


_MLP_KNOWN = frozenset(
    "loss hidden_layer_sizes activation solver alpha batch_size learning_rate learning_rate_init "
    "power_t max_iter shuffle random_state tol verbose warm_start momentum nesterovs_momentum "
    "early_stopping validation_fraction beta_1 beta_2 epsilon n_iter_no_change max_fun dtype "
    "backend".split())
_MLP_EXTRAS = [("dtype", None), ("backend", "cython")]
_MLP_EXTRA_CONSTRAINTS = {"activation": [StrOptions(set(_ACTIVATIONS))],
                          "dtype": "no_validation",
                          "backend": [StrOptions({"cython", "numpy"})]}


class _BaseMLP(_StochasticSolver, _Parity, BaseEstimator):
    _stochastic = ("sgd", "adam")

    def __getstate__(self):
        # The optimizer holds references into the model's arrays, which a pickler (joblib's,
        # Dask's) may not keep shared: it travels as its state_dict and is rebuilt over the
        # unpickled model's parameters, so partial_fit continues bitwise on another worker.
        state = self.__dict__.copy()
        opt = state.pop("_optimizer", None)
        state.pop("_l2_pairs", None)
        state.pop("_serving", None)  # (a fit in progress in another thread)
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
        return output_loss(self.model_.backend, self.out_activation_, z, target, sw, grad)

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
            # other threads keep predicting with the fitted network until the new one is
            # trained (the fresh one starts from zeros); this thread sees the new one
            self._serving = (threading.get_ident(), self.__dict__.get("model_"))
            try:
                self._initialize(X.shape[1], y.shape[1], self._model_dtype(X), hidden)
                return self._train(X, y, sample_weight, incremental)
            finally:
                self._serving = None
        if y.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {y.shape[1]} outputs but the fitted network has "
                             f"{self.n_outputs_}; fit again without warm_start")
        if [layer.out_features for layer in self._dense_layers()[:-1]] != hidden:
            raise ValueError("hidden_layer_sizes changed since the last fit; fit again without "
                             "warm_start")
        return self._train(X, y, sample_weight, incremental)

    def _train(self, X, y, sample_weight, incremental):
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

    # -------------------------------------------------------------- inference
    def _answering_model(self):
        """The network that answers this thread: while another thread fits anew, the one
        fitted before (never the fresh network in training)."""
        model = self.model_
        serving = self.__dict__.get("_serving")
        if serving is not None and serving[0] != threading.get_ident():
            if serving[1] is None:
                raise NotFittedError(f"This {type(self).__name__} instance is being fitted for "
                                     "the first time; call predict after fit returns")
            return serving[1]
        return model

    def _output(self, X):
        """The network's output (after the output activation) for validated X."""
        model = self._answering_model()
        X = _as_model_input(X, model.dtype)
        out = _sparse.predict(model, X) if sp.issparse(X) else model.predict(X)
        K = model.backend
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
    multilabel indicator targets.

    Parameters
    ----------
    hidden_layer_sizes, activation, solver, alpha, batch_size, learning_rate, \
learning_rate_init, power_t, max_iter, shuffle, random_state, tol, verbose, warm_start, \
momentum, nesterovs_momentum, early_stopping, validation_fraction, beta_1, beta_2, epsilon, \
n_iter_no_change, max_fun
        scikit-learn's parameters, in its order, with its defaults and meaning: see
        ``sklearn.neural_network.MLPClassifier``. `activation` also takes ``"leaky_relu"``,
        ``"abs"`` and ``"sigmoid"`` (another name for ``"logistic"``).
    dtype : {None, "float32", "float64"}, keyword-only, default None
        The precision the network is trained and evaluated in. None follows the input:
        float32 ``X`` stays float32 (half the memory traffic, usually faster), any other input
        is converted to float64, in which the predictions equal scikit-learn's to 1e-8.
    backend : {"cython", "numpy"}, keyword-only, default "cython"
        The kernels every step runs on: the compiled ones, or their pure-NumPy twins (the
        reference the tests check against; slower).

    Attributes
    ----------
    classes_, coefs_, intercepts_, loss_, loss_curve_, best_loss_, n_iter_, t_, n_layers_, \
n_outputs_, out_activation_, n_features_in_
        As scikit-learn's. ``coefs_`` and ``intercepts_`` are views of the network's weights.
    model_ : fastlin.MLP
        The trained network.

    Raises
    ------
    ValueError
        From ``fit``, for a parameter value scikit-learn refuses.

    Examples
    --------
    >>> import numpy as np
    >>> from fastlin.sklearn import MLPClassifier
    >>> X = np.array([[0., 0.], [0., 1.], [1., 0.], [1., 1.]] * 10)
    >>> y = np.array([0, 1, 1, 0] * 10)
    >>> clf = MLPClassifier((16,), activation="tanh", solver="lbfgs", random_state=0)
    >>> clf.fit(X, y).predict([[0., 1.], [1., 1.]])
    array([1, 0])
    """

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
        """The logarithm of :meth:`predict_proba` (-inf where a probability is 0).

        Parameters
        ----------
        X : array_like or sparse matrix of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes), columns in the order of ``classes_``
        """
        p = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(p, out=p)


class MLPRegressor(RegressorMixin, _BaseMLP):
    """scikit-learn's MLPRegressor on fastlin's kernels: identity outputs and half the squared
    error, or (``loss="poisson"``) exponential outputs and half the Poisson deviance.

    Parameters
    ----------
    loss, hidden_layer_sizes, activation, solver, alpha, batch_size, learning_rate, \
learning_rate_init, power_t, max_iter, shuffle, random_state, tol, verbose, warm_start, \
momentum, nesterovs_momentum, early_stopping, validation_fraction, beta_1, beta_2, epsilon, \
n_iter_no_change, max_fun
        scikit-learn's parameters, in its order, with its defaults and meaning: see
        ``sklearn.neural_network.MLPRegressor`` (`loss` first from scikit-learn 1.7; earlier
        versions take it too, as a keyword). `activation` also takes ``"leaky_relu"``,
        ``"abs"`` and ``"sigmoid"``.
    dtype : {None, "float32", "float64"}, keyword-only, default None
        The precision the network is trained and evaluated in. None follows the input:
        float32 ``X`` stays float32 (half the memory traffic, usually faster), any other input
        is converted to float64, in which the predictions equal scikit-learn's to 1e-8.
    backend : {"cython", "numpy"}, keyword-only, default "cython"
        The kernels every step runs on: the compiled ones, or their pure-NumPy twins (the
        reference the tests check against; slower).

    Attributes
    ----------
    coefs_, intercepts_, loss_, loss_curve_, best_loss_, n_iter_, t_, n_layers_, n_outputs_, \
out_activation_, n_features_in_
        As scikit-learn's.
    model_ : fastlin.MLP
        The trained network.

    Examples
    --------
    >>> import numpy as np
    >>> from fastlin.sklearn import MLPRegressor
    >>> X = np.linspace(0, 1, 50).reshape(-1, 1)
    >>> reg = MLPRegressor(hidden_layer_sizes=(8,), solver="lbfgs", random_state=0)
    >>> reg.fit(X, 2 * X.ravel() + 1).predict([[0.5]]).round(1)
    array([2.])
    """

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
