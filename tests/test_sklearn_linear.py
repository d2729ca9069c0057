"""fastlin.sklearn's linear models against the installed scikit-learn's: every penalty and solver
combination (the optimum reached, or the same refusal), the warnings, dtypes, sparsify and
densify, LinearRegression(positive=True), single-class MLPClassifier, zero-weighted classes;
and the coordinate-descent kernel against its NumPy twin."""
import inspect
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
import scipy.sparse as sp  # noqa: E402
import sklearn.linear_model as skl  # noqa: E402
import sklearn.neural_network as skn  # noqa: E402
from scipy.special import log_expit, logsumexp  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402

import fastlin  # noqa: E402
import fastlin.sklearn as fls  # noqa: E402
from fastlin import backend as B  # noqa: E402

NEW_API = inspect.signature(skl.LogisticRegression).parameters["penalty"].default == "deprecated"
SOLVERS = ["lbfgs", "liblinear", "newton-cg", "newton-cholesky", "sag", "saga"]
# how a user of scikit-learn 1.8+ asks for each penalty (C, l1_ratio)
PENALTIES = {"l2": dict(C=0.7, l1_ratio=0.0), "l1": dict(C=0.7, l1_ratio=1.0),
             "elasticnet": dict(C=0.7, l1_ratio=0.5), "none": dict(C=np.inf)}
pytestmark = pytest.mark.skipif(not NEW_API, reason="scikit-learn 1.8+'s l1_ratio API")


def _data(n_classes, seed=0, n=240, d=6):
    """Standardised Gaussian features and labels drawn from a softmax model (not separable:
    every problem, the unpenalised one too, has a finite optimum)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    W = rng.standard_normal((d, n_classes))
    W[2:4] = 0.0  # features without signal, for the L1 penalty to zero out
    logits = X @ W
    p = np.exp(logits - logsumexp(logits, axis=1, keepdims=True))
    y = np.array([rng.choice(n_classes, p=row) for row in p])
    return X, y


def _objective(est, X, y, sw, C, ratio, liblinear):
    """scikit-learn's objective times Σ sw: Σ sw·log-loss + penalty / C (liblinear also
    penalises the intercept, the weight of a constant feature intercept_scaling)."""
    coef = est.coef_.toarray() if sp.issparse(est.coef_) else np.asarray(est.coef_, float)
    icpt = np.asarray(est.intercept_, float).reshape(-1)
    Z = X @ coef.T + icpt
    idx = np.searchsorted(est.classes_, y)
    if coef.shape[0] == 1:
        loss = -log_expit((2 * idx - 1) * Z[:, 0])
    else:
        loss = logsumexp(Z, axis=1) - Z[np.arange(len(y)), idx]
    W = np.hstack([coef, icpt[:, None] / est.intercept_scaling]) if liblinear else coef
    pen = 0.0 if np.isinf(C) else (ratio * np.abs(W).sum() + (1 - ratio) / 2 * (W ** 2).sum()) / C
    return float(sw @ loss) + pen


def _fit_quiet(est, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y, **kw)


# ------------------------------------------------------------------- every combination
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("penalty", list(PENALTIES))
@pytest.mark.parametrize("solver", SOLVERS)
def test_combination_reaches_sklearn_optimum_or_is_refused_alike(solver, penalty, n_classes):
    X, y = _data(n_classes, seed=n_classes)
    sw = np.random.default_rng(1).uniform(0.5, 2.0, len(y))
    kw = dict(solver=solver, tol=1e-10, **PENALTIES[penalty])
    theirs = skl.LogisticRegression(max_iter=20000, **kw)
    ours = fls.LogisticRegression(max_iter=500, **kw)
    try:
        _fit_quiet(theirs, X, y, sample_weight=sw)
    except Exception as exc:  # refused: ours refuses with the same type and message
        with pytest.raises(type(exc)) as info:
            _fit_quiet(ours, X, y, sample_weight=sw)
        assert str(info.value) == str(exc)
        assert not hasattr(ours, "coef_")
        return
    ratio = kw.get("l1_ratio", 0.0)
    liblinear = solver == "liblinear"
    f_theirs = _objective(theirs, X, y, sw, kw["C"], ratio, liblinear)
    for Xin in (X, sp.csr_matrix(X)):
        _fit_quiet(ours, Xin, y, sample_weight=sw)
        f_ours = _objective(ours, X, y, sw, kw["C"], ratio, liblinear)
        assert f_ours == pytest.approx(f_theirs, rel=1e-6)
        assert f_ours <= f_theirs * (1 + 1e-9)  # never a worse optimum than scikit-learn's
        np.testing.assert_array_equal(ours.predict(Xin), theirs.predict(X))
        np.testing.assert_allclose(ours.predict_proba(Xin), theirs.predict_proba(X),
                                   atol=2e-4)
        assert ours.coef_.shape == theirs.coef_.shape
        assert np.shape(ours.intercept_) == np.shape(theirs.intercept_)
        assert ours.n_iter_.shape == (1,) and ours.n_iter_.dtype == np.int32
        if ratio == 1.0:  # the L1 optimum's zeros are exact, as scikit-learn's
            np.testing.assert_array_equal(ours.coef_ == 0, np.abs(theirs.coef_) < 1e-6)


@pytest.mark.parametrize("kw", [dict(penalty="l1", solver="saga"),
                                dict(penalty="elasticnet", l1_ratio=0.3, solver="saga"),
                                dict(penalty="l1", solver="liblinear", intercept_scaling=3.0),
                                dict(penalty="l2", solver="liblinear", dual=True),
                                dict(penalty=None, solver="newton-cg")])
def test_explicit_penalty_spelling(kw):
    """The deprecated `penalty=` spelling, with scikit-learn's FutureWarning."""
    X, y = _data(2, seed=5)
    theirs = _fit_quiet(skl.LogisticRegression(tol=1e-10, max_iter=20000, **kw), X, y)
    with pytest.warns(FutureWarning, match="'penalty' was deprecated"):
        ours = fls.LogisticRegression(tol=1e-10, max_iter=500, **kw).fit(X, y)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=2e-4)


def test_liblinear_multiclass_and_huge_values_refused_as_sklearn():
    X, y = _data(3)
    for Xin, yin in ((X, y), (np.where(X > 2, 1e31, X), y % 2)):
        est = fls.LogisticRegression(solver="liblinear")
        with pytest.raises(ValueError) as ours:
            est.fit(Xin, yin)
        with pytest.raises(ValueError) as theirs:
            skl.LogisticRegression(solver="liblinear").fit(Xin, yin)
        assert str(ours.value) == str(theirs.value) and not hasattr(est, "coef_")


@pytest.mark.parametrize("kw", [dict(l1_ratio=1.5), dict(C=0), dict(solver="newton"),
                                dict(intercept_scaling=0)])
def test_invalid_values_raise_sklearn_errors(kw):
    X, y = _data(2)
    with pytest.raises(ValueError) as theirs:
        skl.LogisticRegression(**kw).fit(X, y)
    est = fls.LogisticRegression(**kw)
    with pytest.raises(type(theirs.value)):
        est.fit(X, y)
    assert not hasattr(est, "coef_")


def test_warm_start_and_convergence_warning():
    X, y = _data(3)
    est = fls.LogisticRegression(l1_ratio=1.0, solver="saga", max_iter=1)
    with pytest.warns(ConvergenceWarning, match="max_iter was reached"):
        est.fit(X, y)
    est.set_params(warm_start=True, max_iter=100, tol=1e-10)
    est.fit(X, y)
    cold = fls.LogisticRegression(l1_ratio=1.0, solver="saga", tol=1e-10).fit(X, y)
    np.testing.assert_allclose(est.coef_, cold.coef_, atol=1e-7)
    assert est.n_iter_[0] < cold.n_iter_[0]


# -------------------------------------------------------------------------- warnings
WARNING_CASES = [dict(l1_ratio=None), dict(penalty="l2", l1_ratio=0.5), dict(penalty="l1",
                 solver="saga"), dict(penalty=None, C=2.0), dict(n_jobs=2),
                 dict(penalty="elasticnet", l1_ratio=0.4, solver="saga"),
                 dict(l1_ratio=0.5, C=np.inf)]


def _recorded(est, X, y):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y)
    return [(w.category, str(w.message)) for w in caught
            if not issubclass(w.category, (ConvergenceWarning, RuntimeWarning))]


@pytest.mark.parametrize("kw", WARNING_CASES)
def test_warnings_as_sklearn(kw):
    X, y = _data(2)
    kw = dict(kw, **({"solver": "saga"} if kw.get("l1_ratio") not in (None, 0) else {}))
    theirs = _recorded(skl.LogisticRegression(**kw), X, y)
    assert theirs, kw
    assert _recorded(fls.LogisticRegression(**kw), X, y) == theirs


# --------------------------------------------------------------- dtype, sparsify, densify
@pytest.mark.parametrize("kw", [dict(), dict(l1_ratio=1.0, solver="saga"),
                                dict(solver="liblinear"), dict(l1_ratio=1.0, solver="liblinear")])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_float32_kept_as_sklearn(kw, n_classes):
    if n_classes == 3 and kw.get("solver") == "liblinear":
        return
    X, y = _data(n_classes)
    X32 = X.astype(np.float32)
    ours, theirs = _fit_quiet(fls.LogisticRegression(**kw), X32, y), \
        _fit_quiet(skl.LogisticRegression(**kw), X32, y)
    for attr in ("coef_", "intercept_"):
        assert getattr(ours, attr).dtype == getattr(theirs, attr).dtype, attr
    for method in ("decision_function", "predict_proba"):
        assert getattr(ours, method)(X32).dtype == getattr(theirs, method)(X32).dtype, method


def test_linear_regression_float32_kept():
    X, y = _data(2)
    X32, t = X.astype(np.float32), X @ np.arange(6.0)
    ours, theirs = fls.LinearRegression().fit(X32, t), skl.LinearRegression().fit(X32, t)
    assert ours.coef_.dtype == theirs.coef_.dtype == np.float32
    assert type(ours.intercept_) is type(theirs.intercept_)
    assert ours.predict(X32).dtype == theirs.predict(X32).dtype
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-4, atol=1e-4)


def test_sparsify_densify():
    X, y = _data(3)
    est = fls.LogisticRegression(l1_ratio=1.0, C=0.05, solver="saga").fit(X, y)
    proba = est.predict_proba(X)
    assert est.sparsify() is est and sp.issparse(est.coef_)
    assert est.coef_.nnz == np.count_nonzero(est.coef_.toarray()) < est.coef_.shape[1] * 3
    np.testing.assert_allclose(est.predict_proba(X), proba)
    np.testing.assert_allclose(est.predict_proba(sp.csr_matrix(X)), proba)
    assert isinstance(est.densify().coef_, np.ndarray)
    np.testing.assert_allclose(est.predict_proba(X), proba)
    for method in ("sparsify", "densify"):
        with pytest.raises(NotFittedError):
            getattr(fls.LogisticRegression(), method)()


# ------------------------------------------------------------ LinearRegression(positive)
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("multi", [False, True])
def test_positive_least_squares_as_sklearn(fit_intercept, multi):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((80, 7))
    T = X @ rng.standard_normal((7, 2)) + rng.standard_normal((80, 2)) + 3.0
    t = T if multi else T[:, 0]
    sw = rng.uniform(0.5, 2, 80)
    kw = dict(positive=True, fit_intercept=fit_intercept)
    theirs = skl.LinearRegression(**kw).fit(X, t, sample_weight=sw)
    ours = fls.LinearRegression(**kw).fit(X, t, sample_weight=sw)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=1e-10)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, atol=1e-10)
    assert (ours.coef_ == 0).any()  # some constraints are active
    sparse = fls.LinearRegression(**kw).fit(sp.csr_matrix(X), t, sample_weight=sw)
    np.testing.assert_allclose(sparse.coef_, theirs.coef_, atol=1e-6)
    np.testing.assert_array_equal(sparse.coef_ == 0, theirs.coef_ == 0)
    np.testing.assert_allclose(sparse.predict(sp.csr_matrix(X)), theirs.predict(X), atol=1e-5)


def test_native_positive_and_penalties():
    X, y = _data(2)
    t = X @ np.array([1.0, -2.0, 0.5, 0.0, 3.0, -1.0]) + 0.1
    native = fastlin.LinearRegression(positive=True).fit(X, t)
    assert (native.coef_ >= 0).all() and native.coef_[1] == 0 and native.coef_[5] == 0
    ref = fls.LogisticRegression(l1_ratio=0.5, C=0.3, solver="saga", tol=1e-10).fit(X, y)
    mine = fastlin.LogisticRegression(penalty="elasticnet", l1_ratio=0.5, C=0.3,
                                      tol=1e-10).fit(X, y)
    np.testing.assert_allclose(mine.coef_, ref.coef_, atol=1e-8)
    X3, y3 = _data(3)
    ref = fls.LogisticRegression(l1_ratio=1.0, C=0.3, solver="saga", tol=1e-10).fit(X3, y3)
    mine = fastlin.SoftmaxRegression(penalty="l1", C=0.3, tol=1e-10).fit(X3, y3)
    np.testing.assert_allclose(mine.coef_, ref.coef_, atol=1e-8)
    assert mine.result_.success and mine.n_iter_ >= 1
    free = fastlin.LogisticRegression(penalty=None, C=0.01).fit(X, y)
    np.testing.assert_allclose(free.coef_, fastlin.LogisticRegression(C=np.inf).fit(X, y).coef_)
    for bad in (dict(penalty="l3"), dict(penalty="elasticnet", l1_ratio=2)):
        est = fastlin.LogisticRegression(**bad)
        with pytest.raises(ValueError):
            est.fit(X, y)
        assert not hasattr(est, "coef_")


# ---------------------------------------------------- single class, zero-weighted class
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_single_class_mlp_as_sklearn(solver):
    X, _ = _data(2)
    y = np.full(len(X), 7)
    kw = dict(hidden_layer_sizes=(5,), solver=solver, max_iter=20, random_state=0)
    ours, theirs = _fit_quiet(fls.MLPClassifier(**kw), X, y), \
        _fit_quiet(skn.MLPClassifier(**kw), X, y)
    np.testing.assert_array_equal(ours.classes_, [7])
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-8)


def test_balanced_class_weight_with_a_zero_weighted_class():
    """scikit-learn's 'balanced' weight of a class whose samples all weigh 0 is inf (0/0 of
    its formula); its samples keep weight 0 here and the others are balanced."""
    X, y = _data(3)
    sw = np.where(y == 2, 0.0, 1.0)
    ours = fls.LogisticRegression(class_weight="balanced", tol=1e-10).fit(X, y, sample_weight=sw)
    counts = np.bincount(y, weights=sw)
    manual = sw * np.where(y == 2, 0.0, sw.sum() / (3 * np.maximum(counts[y], 1)))
    ref = fls.LogisticRegression(tol=1e-10).fit(X, y, sample_weight=manual)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-6)
    np.testing.assert_array_equal(ours.classes_, [0, 1, 2])
    assert (ours.predict(X) != 2).all()


# ------------------------------------------------------ the kernel and its NumPy twin
def _cd_problem(rng, n, d, dtype):
    X = rng.standard_normal((n, d))
    X[rng.random((n, d)) < 0.6] = 0.0
    X[:, 1] = 0.0  # an empty column
    return X.astype(dtype), rng.standard_normal(n), rng.uniform(0.0, 0.25, n)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("l1, l2", [(3.0, 0.0), (1.0, 0.5), (0.0, 0.2)])
def test_enet_cd_compiled_equals_numpy_twin(dtype, sparse, fit_intercept, l1, l2):
    """Same sweeps in the same coordinate order: the results differ only by the rounding of
    the column sums (a sequential sum in C, NumPy's pairwise dot), ~n·eps relative per sum,
    which the soft threshold passes on without amplifying (it is 1-Lipschitz and divides by
    H_j + l2 >= the column's own curvature); 1e-9 relative covers float64 with margin, and
    float32 X is read as the same float32 values by both."""
    rng = np.random.default_rng(4)
    X, g, h = _cd_problem(rng, 150, 12, dtype)
    Xc = sp.csc_matrix(X) if sparse else np.ascontiguousarray(X.T)
    out = {}
    for name in ("cython", "numpy"):
        beta, q, b, H = rng.standard_normal(12) * 0, np.zeros(150), np.zeros(1), np.empty(12)
        sweeps = B.get(name).enet_cd(Xc, g, h, beta, q, b, l1, l2, fit_intercept, 500, 1e-20, H)
        out[name] = (sweeps, beta, q, b, H)
    (s1, *a), (s2, *b_) = out["cython"], out["numpy"]
    assert s1 == s2
    for x, z in zip(a, b_):
        np.testing.assert_allclose(x, z, rtol=1e-9, atol=1e-12)
    beta, q, b, H = a
    np.testing.assert_allclose(q, X.astype(float) @ beta + b[0], atol=1e-10)
    # the model's optimality: soft-thresholded stationarity in every coordinate
    grad = X.astype(float).T @ (g + h * q) + l2 * beta
    viol = np.where(beta != 0, np.abs(grad + l1 * np.sign(beta)), np.maximum(np.abs(grad) - l1, 0))
    assert viol.max() < 1e-8
    if fit_intercept:
        assert abs((g + h * q).sum()) < 1e-8


@pytest.mark.parametrize("name", ["cython", "numpy"])
def test_enet_cd_refuses_bad_arguments(name):
    K = B.get(name)
    rng = np.random.default_rng(0)
    X, g, h = _cd_problem(rng, 20, 3, np.float64)
    XT = np.ascontiguousarray(X.T)
    z3, z20, one = np.zeros(3), np.zeros(20), np.zeros(1)
    with pytest.raises(ValueError, match="q must have shape"):
        K.enet_cd(XT, g, h, z3.copy(), np.zeros(19), one.copy(), 1.0, 0.0)
    with pytest.raises(TypeError, match="float32 or float64"):
        K.enet_cd(XT.astype(int), g, h, z3.copy(), z20.copy(), one.copy(), 1.0, 0.0)
    with pytest.raises(TypeError, match="CSC"):
        K.enet_cd(sp.csr_matrix(X), g, h, z3.copy(), z20.copy(), one.copy(), 1.0, 0.0)
    with pytest.raises(ValueError, match="overlap"):
        K.enet_cd(XT, g, h, z20[:3], z20, one.copy(), 1.0, 0.0)
    with pytest.raises(ValueError, match="l1, l2 and tol"):
        K.enet_cd(XT, g, h, z3.copy(), z20.copy(), one.copy(), -1.0, 0.0)
    with pytest.raises(ValueError, match="max_sweeps"):
        K.enet_cd(XT, g, h, z3.copy(), z20.copy(), one.copy(), 1.0, 0.0, max_sweeps=0)


def test_compiled_enet_cd_checks_csc_structure():
    """The raw compiled entry point never trusts index arrays it is handed."""
    from fastlin._kernels import linear_cd
    g, h = np.ones(4), np.ones(4)
    args = (g, h, np.zeros(2), np.zeros(4), np.zeros(1), np.zeros(2), 1.0, 0.0, True, 5, 0.0)
    data = np.ones(3)
    for indices, indptr in (([0, 1, 4], [0, 2, 3]), ([0, 1, 2], [0, 3, 2]),
                            ([0, -1, 2], [0, 2, 3]), ([0, 1], [0, 2, 3])):
        with pytest.raises(ValueError):
            linear_cd.enet_cd_csc(data, np.array(indices, np.int32), np.array(indptr, np.int32),
                                  4, *args)


def test_bench_rows_run_and_scores_agree():
    """`python -m fastlin bench --sklearn`'s linear rows: the bundled ones, run once here."""
    from fastlin.benchmarks.versus_sklearn_linear import run_linear_comparison
    lines = []
    assert run_linear_comparison(quick=True, repeat=1, only=["breast", "diabetes"],
                                 print_fn=lines.append) == 0
    assert len(lines) == 4 and "SCORES DIFFER" not in "".join(lines)


def test_tall_well_conditioned_least_squares_from_the_gram_matrix_equals_scikit_learns():
    """Tall, well-conditioned dense X is solved from AᵀA's eigen-decomposition (one GEMM over X
    instead of an SVD of it); coefficients, intercept, rank_ and singular_ equal scikit-learn's
    gelsd results to ~1e-12 (the bound (σmax/σmin)² · 2⁻⁵³ with σmin/σmax > 1e-3 is 1e-10)."""
    from fastlin._least_squares import well_conditioned_solve
    from sklearn.linear_model import LinearRegression as SkLinearRegression
    from fastlin.sklearn import LinearRegression
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 40))
    y = X @ rng.normal(size=40) + 0.1 * rng.normal(size=3000) + 3
    A = np.column_stack([X, np.ones(len(X))])
    assert well_conditioned_solve(A, y[:, None]) is not None
    ours, theirs = LinearRegression().fit(X, y), SkLinearRegression().fit(X, y)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, rtol=1e-10)
    assert ours.rank_ == theirs.rank_
    np.testing.assert_allclose(ours.singular_, theirs.singular_, rtol=1e-12)
    # ill-conditioned (σmin/σmax ~ 1e-6), too few rows, or float32: LAPACK's SVD, as before
    Xc = X.copy()
    Xc[:, 0] = Xc[:, 1] + 1e-6 * rng.normal(size=len(X))
    assert well_conditioned_solve(Xc, y[:, None]) is None
    assert well_conditioned_solve(X[:50], y[:50, None]) is None
    assert well_conditioned_solve(X.astype(np.float32), y[:, None]) is None
    ours, theirs = LinearRegression().fit(Xc, y), SkLinearRegression().fit(Xc, y)
    np.testing.assert_allclose(ours.predict(Xc), theirs.predict(Xc), rtol=1e-9, atol=1e-9)
