"""fastlin.sklearn against the installed scikit-learn (issue 9, SPEC §11): signatures, the
training rules (float64 runs equal scikit-learn's to rounding, since initial weights, shuffles
and updates are the same), sample weights, multilabel, poisson, lbfgs, counters, warnings,
LinearRegression's rank-deficient and near-singular solutions, and sparse input equal to dense
input (malformed sparse input refused)."""
import inspect
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
import scipy.optimize  # noqa: E402
import scipy.sparse as sp  # noqa: E402
import sklearn.linear_model as skl  # noqa: E402
import sklearn.neural_network as skn  # noqa: E402
from sklearn.datasets import (load_breast_cancer, load_diabetes, load_digits,  # noqa: E402
                              load_iris, make_multilabel_classification)
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.metrics import mean_poisson_deviance  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import fastlin.linear as fl_linear  # noqa: E402
import fastlin.sklearn as fls  # noqa: E402

# scikit-learn 1.8 deprecated `penalty` for `l1_ratio`; before, l1_ratio is read only with
# penalty="elasticnet"
ELASTIC_NET = (dict(l1_ratio=0.5) if inspect.signature(skl.LogisticRegression)
               .parameters["penalty"].default == "deprecated"
               else dict(penalty="elasticnet", l1_ratio=0.5))
PAIRS = [(fls.MLPClassifier, skn.MLPClassifier), (fls.MLPRegressor, skn.MLPRegressor),
         (fls.LogisticRegression, skl.LogisticRegression),
         (fls.LinearRegression, skl.LinearRegression)]


def _scaled(load):
    X, y = load(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def iris():
    return _scaled(load_iris)


@pytest.fixture(scope="module")
def diabetes():
    X, y = _scaled(load_diabetes)
    return X, y / 100.0


# ---------------------------------------------------------------------------- signatures
@pytest.mark.parametrize("ours, theirs", PAIRS, ids=lambda c: c.__module__.split(".")[0])
def test_signature_follows_installed_sklearn(ours, theirs):
    mine = list(inspect.signature(ours).parameters.values())
    ref = list(inspect.signature(theirs).parameters.values())
    # scikit-learn's parameters first, same names, order, kinds and defaults ...
    assert [p.name for p in mine[:len(ref)]] == [p.name for p in ref]
    for a, b in zip(mine, ref):
        assert a.kind == b.kind, a.name
        assert a.default == b.default or (a.default is b.default), a.name
    # ... then the extras, keyword-only
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in mine[len(ref):])
    assert set(ours().get_params()) == {p.name for p in mine}


def test_regressor_takes_loss_first_as_sklearn_does():
    if "loss" in inspect.signature(skn.MLPRegressor).parameters:
        assert fls.MLPRegressor("poisson").loss == "poisson"
        assert fls.MLPRegressor("squared_error", (7,)).hidden_layer_sizes == (7,)
    assert fls.MLPClassifier((7,)).hidden_layer_sizes == (7,)


@pytest.mark.parametrize("est, match", [
    # scikit-learn's own refusals (the combinations it accepts: tests/test_sklearn_linear.py)
    (fls.LogisticRegression(**ELASTIC_NET), "supports only 'l2' or None|elasticnet"),
    (fls.LogisticRegression(dual=True, solver="lbfgs"), "dual"),
    (fls.MLPClassifier(activation="softplus"), "activation"),
    (fls.MLPClassifier(solver="newton"), "solver"),
    (fls.MLPRegressor(loss="huber"), "loss"),
    (fls.MLPClassifier(learning_rate="cosine"), "learning_rate"),
])
def test_unsupported_values_raise_valueerror_at_fit(est, match, iris):
    X, y = iris
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        with pytest.raises(ValueError, match=match):
            est.fit(X, y)
    assert not hasattr(est, "coef_") and not hasattr(est, "model_")


def test_penalty_none_and_l2_as_sklearn(iris):
    X, y = iris
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for kw in (dict(penalty=None), dict(penalty="l2", C=0.3), dict(C=np.inf)):
            ours = fls.LogisticRegression(max_iter=500, **kw).fit(X, y)
            theirs = skl.LogisticRegression(max_iter=500, **kw).fit(X, y)
            np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=2e-3)


# ------------------------------------------------------------- training equals sklearn's
@pytest.mark.parametrize("solver, schedule", [("sgd", "constant"), ("sgd", "invscaling"),
                                              ("sgd", "adaptive"), ("adam", "constant"),
                                              ("lbfgs", "constant")])
def test_classifier_training_matches_sklearn(solver, schedule, iris):
    X, y = iris
    kw = dict(hidden_layer_sizes=(16,), solver=solver, learning_rate=schedule, max_iter=40,
              random_state=0, batch_size=32, alpha=1e-3,
              learning_rate_init=0.05 if solver == "sgd" else 1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours, theirs = fls.MLPClassifier(**kw).fit(X, y), skn.MLPClassifier(**kw).fit(X, y)
    assert ours.n_iter_ == theirs.n_iter_ and ours.t_ == theirs.t_
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-8)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, atol=1e-8)
    if solver != "lbfgs":
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-10)
    if solver == "sgd":
        assert ours._optimizer.lr == pytest.approx(theirs._optimizer.learning_rate, rel=1e-12)


def test_learning_rate_sequences(iris):
    X, y = iris
    base = dict(hidden_layer_sizes=(4,), solver="sgd", random_state=0, learning_rate_init=0.1,
                momentum=0.5)
    # invscaling: lr = lr_init / (t_ + 1) ** power_t after each epoch
    clf = fls.MLPClassifier(learning_rate="invscaling", power_t=0.25, **base)
    for epoch in range(1, 4):
        clf.partial_fit(X, y, classes=[0, 1, 2])
        assert clf.t_ == epoch * len(X)
        assert clf._optimizer.lr == pytest.approx(0.1 / (epoch * len(X) + 1) ** 0.25, rel=1e-12)
    # adaptive: divided by 5 each time the loss fails to improve by tol for more than
    # n_iter_no_change epochs; with an unreachable tol that is every n_iter_no_change + 1
    # epochs after the first (which improves on an infinite best loss): epochs 4, 7 and 10
    kw = dict(learning_rate="adaptive", tol=1e3, n_iter_no_change=2, max_iter=10, **base)
    ours = fls.MLPClassifier(**kw).fit(X, y)
    theirs = skn.MLPClassifier(**kw).fit(X, y)
    assert ours._optimizer.lr == pytest.approx(0.1 / 5 ** 3, rel=1e-12)
    assert ours._optimizer.lr == pytest.approx(theirs._optimizer.learning_rate, rel=1e-12)
    assert ours.n_iter_ == theirs.n_iter_ == 10


def test_regressor_poisson_matches_sklearn_and_fits_counts_better(diabetes):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 5))
    y = rng.poisson(np.exp(0.3 + X @ np.array([0.6, -0.4, 0.3, 0.0, 0.2])))
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, random_state=0)
    kw = dict(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=200, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        poisson = fls.MLPRegressor(loss="poisson", **kw).fit(X_tr, y_tr)
        squared = fls.MLPRegressor(loss="squared_error", **kw).fit(X_tr, y_tr)
    assert poisson.out_activation_ == "exp" and (poisson.predict(X_te) > 0).all()
    dev_p = mean_poisson_deviance(y_te, poisson.predict(X_te))
    dev_s = mean_poisson_deviance(y_te, np.maximum(squared.predict(X_te), 1e-3))
    assert dev_p < dev_s
    if "loss" in inspect.signature(skn.MLPRegressor).parameters:
        sk_kw = dict(kw, solver="sgd", max_iter=20, learning_rate_init=1e-3)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            ours = fls.MLPRegressor(loss="poisson", **sk_kw).fit(X_tr, y_tr)
            theirs = skn.MLPRegressor(loss="poisson", **sk_kw).fit(X_tr, y_tr)
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-10)
        np.testing.assert_allclose(ours.predict(X_te), theirs.predict(X_te), rtol=1e-8)
    with pytest.raises(ValueError, match="non-negative"):
        fls.MLPRegressor(loss="poisson").fit(X_tr, -np.abs(y_tr) - 1)


@pytest.mark.parametrize("load", [load_iris, load_breast_cancer])
def test_lbfgs_reaches_sklearn_score_and_loss(load):
    X, y = _scaled(load)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, random_state=0)
    kw = dict(hidden_layer_sizes=(32,), solver="lbfgs", max_iter=300, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = fls.MLPClassifier(**kw).fit(X_tr, y_tr)
        theirs = skn.MLPClassifier(**kw).fit(X_tr, y_tr)
    assert abs(ours.score(X_te, y_te) - theirs.score(X_te, y_te)) <= 0.02
    assert ours.loss_ <= theirs.loss_ * 1.01 + 1e-6
    assert not hasattr(ours, "loss_curve_") and ours.t_ == 0  # as scikit-learn's lbfgs
    assert not hasattr(ours, "partial_fit") and not hasattr(theirs, "partial_fit")


def test_lbfgs_respects_max_fun(iris):
    X, y = iris
    with pytest.warns(ConvergenceWarning):
        clf = fls.MLPClassifier(hidden_layer_sizes=(8,), solver="lbfgs", max_fun=5,
                                random_state=0).fit(X, y)
    assert clf.n_iter_ <= 5


# ------------------------------------------------------------------------ sample weights
def test_sample_weight_equals_repeated_rows_lbfgs(iris):
    X, y = iris
    rng = np.random.default_rng(1)
    w = rng.integers(0, 4, len(X))
    kw = dict(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=25, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted = fls.MLPClassifier(**kw).fit(X, y, sample_weight=w)
        repeated = fls.MLPClassifier(**kw).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
        rw = fls.MLPRegressor(**kw).fit(X, X[:, 0] ** 2, sample_weight=w)
        rr = fls.MLPRegressor(**kw).fit(np.repeat(X, w, axis=0), np.repeat(X[:, 0] ** 2, w))
    np.testing.assert_allclose(weighted.predict_proba(X), repeated.predict_proba(X), atol=1e-6)
    np.testing.assert_allclose(rw.predict(X), rr.predict(X), atol=1e-6)


def test_sample_weight_equals_repeated_rows_sgd_full_batch(diabetes):
    X, y = diabetes
    w = np.random.default_rng(2).integers(0, 3, len(X))
    kw = dict(hidden_layer_sizes=(8,), solver="sgd", batch_size=2000, max_iter=15,
              shuffle=False, random_state=0, learning_rate_init=0.01, alpha=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted = fls.MLPRegressor(**kw).fit(X, y, sample_weight=w)
        repeated = fls.MLPRegressor(**kw).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(weighted.predict(X), repeated.predict(X), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(weighted.loss_curve_, repeated.loss_curve_, rtol=1e-9)


@pytest.mark.skipif("sample_weight" not in inspect.signature(skn.MLPClassifier.fit).parameters,
                    reason="scikit-learn's MLP takes sample_weight from 1.7")
def test_sample_weight_matches_sklearn(iris):
    X, y = iris
    w = np.random.default_rng(3).uniform(0, 2, len(X))
    kw = dict(hidden_layer_sizes=(8,), solver="adam", max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = fls.MLPClassifier(**kw).fit(X, y, sample_weight=w)
        theirs = skn.MLPClassifier(**kw).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-8)


# ----------------------------------------------------------------------------- multilabel
def test_multilabel_indicator_targets():
    X, Y = make_multilabel_classification(n_samples=300, n_features=10, n_classes=4,
                                          random_state=0)
    X = StandardScaler().fit_transform(X)
    kw = dict(hidden_layer_sizes=(32,), max_iter=150, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = fls.MLPClassifier(**kw).fit(X, Y)
        theirs = skn.MLPClassifier(**kw).fit(X, Y)
    assert ours.out_activation_ == "logistic" and ours.n_outputs_ == 4
    proba = ours.predict_proba(X)
    assert proba.shape == (300, 4) and ((proba > 0) & (proba < 1)).all()
    pred = ours.predict(X)
    assert pred.shape == Y.shape and set(np.unique(pred)) <= {0, 1}
    np.testing.assert_array_equal(pred, (proba > 0.5).astype(pred.dtype))
    assert ours.score(X, Y) > 0.3  # subset accuracy; chance is about 1/16
    np.testing.assert_allclose(proba, theirs.predict_proba(X), atol=1e-8)
    clf = fls.MLPClassifier(hidden_layer_sizes=(8,), random_state=0)
    clf.partial_fit(X, Y, classes=np.arange(4))
    assert clf.predict(X).shape == Y.shape


# ---------------------------------------------------------- counters, warnings, L2 alpha
def test_n_iter_and_t_per_fit_as_sklearn(iris):
    X, y = iris
    kw = dict(hidden_layer_sizes=(4,), max_iter=5, warm_start=True, random_state=0,
              n_iter_no_change=100)
    for cls in (fls.MLPClassifier, skn.MLPClassifier):
        clf = cls(**kw)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            for k in range(1, 4):
                clf.fit(X, y)
                assert clf.n_iter_ == 5, cls.__module__
                assert clf.t_ == 5 * k * len(X), cls.__module__
                assert len(clf.loss_curve_) == 5 * k
    for cls in (fls.MLPClassifier, skn.MLPClassifier):
        clf = cls(hidden_layer_sizes=(4,), random_state=0)
        for _ in range(50):
            clf.partial_fit(X, y, classes=[0, 1, 2])
        assert clf.n_iter_ == 1 and clf.t_ == 50 * len(X), cls.__module__


def test_convergence_warning_only_when_max_iter_stops(iris):
    X, y = iris
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        fls.MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(X, y)
    with pytest.warns(ConvergenceWarning, match="lbfgs"):
        fls.MLPClassifier(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=2,
                          random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = fls.MLPClassifier(hidden_layer_sizes=(4,), max_iter=100, tol=10.0,
                                random_state=0).fit(X, y)  # stops on tol long before
        assert clf.n_iter_ < 100
        clf.partial_fit(X, y)  # partial_fit never warns


def test_alpha_on_weights_not_biases(diabetes):
    X, y = diabetes
    n = len(X)
    kw = dict(hidden_layer_sizes=(6,), solver="sgd", momentum=0.0, batch_size=n,
              shuffle=False, random_state=0, learning_rate_init=0.1)
    plain = fls.MLPRegressor(alpha=0.0, **kw).partial_fit(X, y)
    decay = fls.MLPRegressor(alpha=50.0, **kw).partial_fit(X, y)
    start = fls.MLPRegressor(alpha=0.0, max_iter=1, **kw)
    start._random_state = np.random.RandomState(0)
    start._initialize(X.shape[1], 1, np.dtype(np.float64), [6])
    for b0, b1 in zip(plain.intercepts_, decay.intercepts_):
        np.testing.assert_array_equal(b0, b1)  # the bias gradient does not see alpha
    for W_init, W0, W1 in zip(start.coefs_, plain.coefs_, decay.coefs_):
        # one full-batch step: the decay term is lr * alpha * W / n
        np.testing.assert_allclose(W0 - W1, 0.1 * 50.0 * W_init / n, rtol=1e-9, atol=1e-14)


def test_early_stopping_matches_sklearn(iris):
    X, y = iris
    kw = dict(hidden_layer_sizes=(8,), early_stopping=True, max_iter=200, random_state=0,
              n_iter_no_change=5, learning_rate_init=0.01)
    ours, theirs = fls.MLPClassifier(**kw).fit(X, y), skn.MLPClassifier(**kw).fit(X, y)
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-8)
    with pytest.raises(ValueError, match="early_stopping"):
        fls.MLPClassifier(early_stopping=True).partial_fit(X, y, classes=[0, 1, 2])


# ------------------------------------------------------------------------- sparse input
WIDTH = 37  # the sparse test data's width, which nothing else in these fits has


def _sparse_data(seed=0, n=120, d=WIDTH):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * (rng.random((n, d)) < 0.15)
    X[:, 0] += 0.1  # no empty rows
    return X


@pytest.fixture
def no_densify(monkeypatch):
    """Fail on any conversion of the sparse data (or rows of it) to a dense array; other
    sparse matrices (scikit-learn's label binarizer uses some) convert as usual."""
    for cls in (sp.csr_matrix, sp.csc_matrix, sp.csr_array, sp.csc_array):
        for name in ("toarray", "todense"):
            def guarded(self, *args, _original=getattr(cls, name), **kwargs):
                if self.shape[1] == WIDTH:
                    raise AssertionError("the sparse data was densified")
                return _original(self, *args, **kwargs)
            monkeypatch.setattr(cls, name, guarded)


@pytest.mark.parametrize("backend", ["cython", "numpy"])
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize("fmt", [sp.csr_matrix, sp.csc_matrix, sp.csr_array])
def test_mlp_sparse_equals_dense(backend, solver, fmt, no_densify):
    X = _sparse_data()
    y = (X[:, 1] + X[:, 2] > 0).astype(int) + (X[:, 3] > 0.5)
    kw = dict(hidden_layer_sizes=(8,), solver=solver, max_iter=15, random_state=0,
              batch_size=25, backend=backend)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dense = fls.MLPClassifier(**kw).fit(X, y)
        sparse = fls.MLPClassifier(**kw).fit(fmt(X), y)
        rd = fls.MLPRegressor(**kw).fit(X, X[:, 1])
        rs = fls.MLPRegressor(**kw).fit(fmt(X), X[:, 1])
    np.testing.assert_allclose(sparse.predict_proba(fmt(X)), dense.predict_proba(X), atol=1e-10)
    np.testing.assert_array_equal(sparse.predict(fmt(X)), dense.predict(X))
    np.testing.assert_allclose(rs.predict(fmt(X)), rd.predict(X), atol=1e-10)
    if solver != "lbfgs":
        dense.partial_fit(X, y)
        sparse.partial_fit(fmt(X), y)
        np.testing.assert_allclose(sparse.predict_proba(fmt(X)), dense.predict_proba(X),
                                   atol=1e-10)


def test_mlp_sparse_float32_and_large_predict():
    X = _sparse_data(n=5000, d=40)
    y = (X[:, 1] > 0).astype(int)
    kw = dict(hidden_layer_sizes=(8,), max_iter=2, random_state=0, dtype="float32")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dense = fls.MLPClassifier(**kw).fit(X, y)
        sparse = fls.MLPClassifier(**kw).fit(sp.csr_matrix(X), y)
    assert sparse.coefs_[0].dtype == np.float32
    np.testing.assert_allclose(sparse.predict_proba(sp.csr_matrix(X)), dense.predict_proba(X),
                               atol=1e-4)
    with pytest.raises(ValueError, match="features"):
        sparse.predict(sp.csr_matrix(X[:, :5]))


@pytest.mark.parametrize("fmt", [sp.csr_matrix, sp.csc_matrix])
def test_linear_models_sparse_equal_dense(fmt, no_densify):
    X = _sparse_data(seed=1, n=200)
    y = X @ np.arange(WIDTH) / WIDTH + 0.3
    w = np.random.default_rng(0).uniform(0.5, 2, len(X))
    for kw in (dict(), dict(alpha=2.0), dict(fit_intercept=False)):
        dense = fls.LinearRegression(**kw).fit(X, y, sample_weight=w)
        sparse = fls.LinearRegression(tol=1e-12, **kw).fit(fmt(X), y, sample_weight=w)
        np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(sparse.intercept_, dense.intercept_, atol=1e-8)
        np.testing.assert_allclose(sparse.predict(fmt(X)), dense.predict(X), atol=1e-8)
    labels = np.digitize(X[:, 1] - X[:, 2], [-0.3, 0.3])
    for target in (labels, labels > 0):
        dense = fls.LogisticRegression().fit(X, target, sample_weight=w)
        sparse = fls.LogisticRegression().fit(fmt(X), target, sample_weight=w)
        assert sparse.n_iter_[0] == dense.n_iter_[0]
        np.testing.assert_allclose(sparse.predict_proba(fmt(X)), dense.predict_proba(X),
                                   atol=1e-8)


def test_linear_regression_sparse_normal_equations():
    X = _sparse_data(seed=2, n=150, d=10)
    y = X @ np.linspace(-1, 1, 10) + 2.0
    dense = fls.LinearRegression(solver="normal", alpha=0.5).fit(X, y)
    sparse = fls.LinearRegression(solver="normal", alpha=0.5).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-10)
    np.testing.assert_allclose(sparse.intercept_, dense.intercept_, rtol=1e-10)


def test_sparse_bad_input_is_refused():
    X = sp.csr_matrix(_sparse_data())
    X.data[3] = np.nan
    with pytest.raises(ValueError, match="NaN|infinity"):
        fls.MLPClassifier().fit(X, np.arange(X.shape[0]) % 2)
    with pytest.raises(ValueError, match="NaN|infinity"):
        fl_linear.LinearRegression().fit(X, np.zeros(X.shape[0]))


# ------------------------------------------------------------------- LogisticRegression
@pytest.mark.parametrize("load", [load_digits, load_breast_cancer, load_iris])
def test_logistic_iterations_at_most_sklearns(load):
    X, y = _scaled(load)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = fls.LogisticRegression(C=1.0).fit(X, y)
        theirs = skl.LogisticRegression(C=1.0).fit(X, y)
    assert ours.n_iter_[0] <= theirs.n_iter_[0]
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-3)


def test_logistic_warm_start_continues(iris):
    X, y = iris
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = fls.LogisticRegression(warm_start=True, max_iter=5).fit(X, y)
        clf.set_params(max_iter=200).fit(X, y)
        cold = fls.LogisticRegression(max_iter=200).fit(X, y)
    np.testing.assert_allclose(clf.predict_proba(X), cold.predict_proba(X), atol=5e-3)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("sparse", [False, True])
def test_logistic_gradient_is_exact(n_classes, sparse):
    rng = np.random.default_rng(4)
    X = _sparse_data(seed=4, n=80, d=6)
    y = rng.integers(0, n_classes, len(X))
    w = rng.uniform(0.2, 3.0, len(X))
    cls = fl_linear.LogisticRegression if n_classes == 2 else fl_linear.SoftmaxRegression
    f, size = cls(C=0.7)._objective(sp.csr_matrix(X) if sparse else X, y, sample_weight=w)
    for theta in (np.zeros(size), rng.normal(size=size)):
        err = scipy.optimize.check_grad(lambda t: f(t)[0], lambda t: f(t)[1], theta)
        assert err < 1e-6 * max(1.0, np.linalg.norm(f(theta)[1]))


@pytest.mark.parametrize("load", [load_iris, load_digits])
@pytest.mark.parametrize("maxiter, maxfun", [(100, 15000), (7, 15000), (100, 5)])
def test_direct_lbfgsb_driver_equals_scipy_minimize(load, maxiter, maxfun):
    X, y = _scaled(load)
    f, size = fl_linear.SoftmaxRegression(C=1.0)._objective(X, y)
    opts = dict(maxiter=maxiter, gtol=1e-4, maxls=50, ftol=64 * np.finfo(float).eps,
                maxfun=maxfun)
    ref = scipy.optimize.minimize(f, np.zeros(size), jac=True, method="L-BFGS-B", options=opts)
    got = fl_linear.minimize_lbfgsb(f, np.zeros(size), **opts)
    assert (got.nit, got.nfev, got.status) == (ref.nit, ref.nfev, ref.status)
    np.testing.assert_array_equal(got.x, ref.x)
    assert got.fun == ref.fun and got.message == ref.message


@pytest.mark.parametrize("backend", ["cython", "numpy"])
@pytest.mark.parametrize("dtype, tol", [("float64", 1e-12), ("float32", 1e-5)])
def test_sparse_module_matches_dense_forward_backward(backend, dtype, tol):
    """fastlin._sparse, the entry point for the native fit/predict: the same output and the
    same gradients of every layer as the dense path, and predict equal to model.predict."""
    from fastlin import MLP, _sparse
    X = _sparse_data(seed=5, n=64)
    Xs = _sparse.check_X(sp.csc_matrix(X), WIDTH, np.dtype(dtype))
    model = MLP([WIDTH, 16, 8, 3], activation="tanh", dtype=dtype, seed=0, backend=backend)
    G = np.random.default_rng(0).normal(size=(64, 3)).astype(dtype)
    dense_out = model.forward(X.astype(dtype)).copy()
    model.backward(G, need_input_grad=False)
    dense_grads = [g.copy() for g in model.gradients()]
    sparse_out = _sparse.forward(model, Xs)
    _sparse.backward(model, Xs, G)
    np.testing.assert_allclose(sparse_out, dense_out, rtol=tol, atol=tol)
    for got, want in zip(model.gradients(), dense_grads):
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    np.testing.assert_allclose(_sparse.predict(model, Xs), model.predict(X.astype(dtype)),
                               rtol=tol, atol=tol)


@pytest.mark.parametrize("width", [40, 5000])  # most columns touched, and few
def test_sparse_first_layer_weight_gradient(width):
    from fastlin import _sparse
    X = sp.random(32, width, density=0.3 if width == 40 else 0.002, format="csr",
                  random_state=0)
    G = np.random.default_rng(1).normal(size=(32, 7))
    dW = np.full((width, 7), np.nan)
    _sparse._first_weight_gradient(X, G, dW)
    np.testing.assert_allclose(dW, X.toarray().T @ G, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("n_targets", [None, 1, 2])
def test_sklearn_linear_regression_rank_deficient_coefficients_are_scikit_learns(weighted,
                                                                                 n_targets):
    # with a constant column (or columns summing to one, as one-hot groups do) the appended
    # column of ones made the minimum-norm solution spread the intercept over coef_:
    # coef 2.0 and intercept 1.0 where scikit-learn gives 0 and 5.0 (same predictions)
    sk_linear = pytest.importorskip("sklearn.linear_model")
    from fastlin.sklearn import LinearRegression
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    X = np.column_stack([X, np.full(30, 2.0), X[:, 0] + X[:, 1]])
    y = X[:, :3] @ [1.0, 2.0, 3.0] + 5 + 0.1 * rng.normal(size=30)
    if n_targets == 1:
        y = y[:, None]
    elif n_targets == 2:
        y = np.column_stack([y, -2 * y])
    sw = rng.uniform(0.1, 2.0, 30) if weighted else None
    ours = LinearRegression().fit(X, y, sample_weight=sw)
    ref = sk_linear.LinearRegression().fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-10, atol=1e-10)
    assert np.shape(ours.intercept_) == np.shape(ref.intercept_)
    assert ours.rank_ == ref.rank_
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-12, atol=1e-12)
    residual = y - ref.predict(X)
    np.testing.assert_allclose(ours.noise_variance_,
                               np.average(residual ** 2, axis=0, weights=sw), rtol=1e-10)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_sklearn_linear_regression_cuts_tiny_singular_values_as_scikit_learn_does(fit_intercept):
    # scikit-learn 1.9 gives lstsq cond=tol on dense X; two columns 1e-9 apart then count as
    # one (rank 3 of 4) and the coefficients stay small, where LAPACK's default cut-off kept
    # the tiny singular value and returned huge opposite coefficients
    sklearn = pytest.importorskip("sklearn")
    from fastlin.sklearn import LinearRegression
    from fastlin.sklearn._common import _sklearn_at_least
    if not _sklearn_at_least(1, 9):
        pytest.skip("scikit-learn before 1.9 uses LAPACK's default cut-off")
    from sklearn.linear_model import LinearRegression as SkLinearRegression
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 4))
    X[:, 3] = X[:, 2] + 1e-9 * rng.normal(size=20)
    y = rng.normal(size=20)
    ours = LinearRegression(fit_intercept=fit_intercept).fit(X, y)
    ref = SkLinearRegression(fit_intercept=fit_intercept).fit(X, y)
    assert ours.rank_ == ref.rank_ == 3
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-9, atol=1e-12)


def test_sklearn_estimators_refuse_malformed_sparse_input():
    """fastlin.sklearn's fit on such a matrix aborted the interpreter ("corrupted size vs.
    prev_size"): run in a subprocess so the failure before the fix is a failed test."""
    pytest.importorskip("sklearn")
    import os
    import subprocess
    import sys
    code = (
        "import numpy as np, scipy.sparse as sp, warnings\n"
        "warnings.simplefilter('ignore')\n"
        "from fastlin.sklearn import MLPClassifier, MLPRegressor, LinearRegression, "
        "LogisticRegression\n"
        "D = np.array([[1., 0, 0, 2], [0, 0, 0, 0], [0, 3, 0, 0], [0, 0, 1, 0]])\n"
        "y = np.array([0, 1, 0, 1])\n"
        "for fmt in ('csr', 'csc'):\n"
        "    for est in (MLPClassifier(hidden_layer_sizes=(3,), max_iter=5), "
        "MLPRegressor(hidden_layer_sizes=(3,), max_iter=5), LinearRegression(), "
        "LogisticRegression()):\n"
        "        for step in ('fit', 'predict'):\n"
        "            S = sp.csr_matrix(D) if fmt == 'csr' else sp.csc_matrix(D)\n"
        "            S.indices = S.indices.copy(); S.indices[0] = 1000\n"
        "            try:\n"
        "                if step == 'fit': est.fit(S, y)\n"
        "                else: est.fit(D, y).predict(S)\n"
        "            except ValueError as e:\n"
        "                assert 'malformed' in str(e), e\n"
        "            else:\n"
        "                raise SystemExit(f'{fmt} {type(est).__name__} {step} accepted it')\n"
        "print('refused')\n")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 0 and "refused" in proc.stdout, proc.stdout + proc.stderr
