"""fastlin._lbfgs (L-BFGS-B's iterations with a two-pass direction) and fastlin._linesearch
(the Moré–Thuente search) against SciPy's L-BFGS-B and SciPy's own dcsrch.

Tolerances: on well-conditioned problems the two solvers take the same iterations (same nit,
nfev, message) and their iterates differ by rounding alone (1e-12 absolute on O(1) values:
the direction is the same -H g formed by another sum). On Rosenbrock, whose iterations amplify
rounding, only the optimum is compared."""
import numpy as np
import pytest
import scipy.optimize
import scipy.sparse as sp
from scipy.special import logsumexp

import fastlin.linear as fl_linear
import fastlin.sklearn as fls
from fastlin._lbfgs import TWO_PASS_FROM, minimize_lbfgs
from fastlin._lbfgsb import minimize_lbfgsb
from fastlin._linesearch import MoreThuente

EPS = np.finfo(float).eps


def _softmax_objective(n=600, d=40, k=4, lam=1e-3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = rng.integers(0, k, n)
    onehot = np.eye(k)[y]

    def fun(theta):
        Z = X @ theta.reshape(d, k)
        lse = logsumexp(Z, axis=1)
        value = np.mean(lse - Z[np.arange(n), y]) + 0.5 * lam * theta @ theta
        grad = X.T @ (np.exp(Z - lse[:, None]) - onehot) / n
        return value, grad.ravel() + lam * theta
    return fun, d * k


def _rosen(x):
    return scipy.optimize.rosen(x), scipy.optimize.rosen_der(x)


@pytest.mark.parametrize("gtol,maxiter,maxcor", [(1e-4, 100, 10), (1e-9, 500, 10),
                                                 (1e-9, 500, 3), (1e-9, 7, 10)])
def test_same_iterations_as_scipy_lbfgsb(gtol, maxiter, maxcor):
    fun, size = _softmax_objective()
    opts = dict(maxiter=maxiter, gtol=gtol, maxls=50, ftol=64 * EPS, maxcor=maxcor)
    want = minimize_lbfgsb(fun, np.zeros(size), **opts)
    got = minimize_lbfgs(fun, np.zeros(size), **opts)
    assert (got.nit, got.nfev, got.status, got.message) == \
        (want.nit, want.nfev, want.status, want.message)
    np.testing.assert_allclose(got.x, want.x, rtol=0, atol=1e-12)
    assert got.fun == pytest.approx(want.fun, rel=1e-14)
    np.testing.assert_allclose(got.jac, want.jac, rtol=0, atol=1e-12)


@pytest.mark.parametrize("x0", [np.zeros(10), np.full(30, -1.2)])
def test_reaches_scipy_optimum_on_rosenbrock(x0):
    want = minimize_lbfgsb(_rosen, x0, maxiter=2000, gtol=1e-10)
    got = minimize_lbfgs(_rosen, x0, maxiter=2000, gtol=1e-10)
    assert got.success and want.success
    np.testing.assert_allclose(got.x, np.ones_like(x0), atol=1e-4)
    assert abs(got.nit - want.nit) <= 0.1 * want.nit


def test_memory_wraps_many_times_and_stays_exact():
    """More iterations than maxcor many times over: the round-robin slots and the small
    matrices updated from products agree with L-BFGS-B's direct inner products."""
    rng = np.random.default_rng(3)
    A = rng.standard_normal((80, 80))
    H = A @ A.T / 80 + 0.05 * np.eye(80)
    c = rng.standard_normal(80)

    def fun(x):
        r = H @ x - c
        return 0.5 * x @ H @ x - c @ x, r
    opts = dict(maxiter=60, gtol=1e-12, ftol=0.0, maxcor=4)
    want = minimize_lbfgsb(fun, np.zeros(80), **opts)
    got = minimize_lbfgs(fun, np.zeros(80), **opts)
    assert got.nit == want.nit >= 30
    np.testing.assert_allclose(got.x, want.x, atol=1e-9)


def test_stops_as_scipy_does():
    fun, size = _softmax_objective()
    # already optimal: no iteration
    x_opt = minimize_lbfgsb(fun, np.zeros(size), maxiter=500, gtol=1e-10).x
    got = minimize_lbfgs(fun, x_opt, maxiter=500, gtol=1e-3)
    assert (got.nit, got.nfev, got.status) == (0, 1, 0)
    # the evaluation limit
    want = minimize_lbfgsb(fun, np.zeros(size), maxiter=500, gtol=1e-12, maxfun=5)
    got = minimize_lbfgs(fun, np.zeros(size), maxiter=500, gtol=1e-12, maxfun=5)
    assert (got.nit, got.nfev, got.status, got.message) == \
        (want.nit, want.nfev, want.status, want.message) and got.status == 1
    # the iteration limit is tested before convergence on the same iteration, as in SciPy
    converged = minimize_lbfgs(fun, np.zeros(size), maxiter=100, gtol=1e-4)
    assert converged.status == 0
    for limit in (converged.nit, converged.nit - 1):
        want = minimize_lbfgsb(fun, np.zeros(size), maxiter=limit, gtol=1e-4)
        got = minimize_lbfgs(fun, np.zeros(size), maxiter=limit, gtol=1e-4)
        assert (got.nit, got.status, got.message) == (want.nit, 1, want.message)


def test_callback_sees_every_iterate():
    fun, size = _softmax_objective()
    seen = []
    res = minimize_lbfgs(fun, np.zeros(size), maxiter=50, gtol=1e-6,
                         callback=lambda x: seen.append(x.copy()))
    assert len(seen) == res.nit
    np.testing.assert_array_equal(seen[-1], res.x)


def test_abnormal_when_no_step_decreases():
    """A function whose value rises along every direction the search can try (its gradient
    lies): L-BFGS-B ends with ABNORMAL, status 2, and so does this solver."""
    def fun(x):
        return float(x @ x), -np.ones_like(x)
    want = minimize_lbfgsb(fun, np.zeros(5), maxiter=50, gtol=1e-6)
    got = minimize_lbfgs(fun, np.zeros(5), maxiter=50, gtol=1e-6)
    assert got.status == want.status == 2
    assert got.message.startswith("ABNORMAL") and got.nit == want.nit


def test_non_finite_start_is_not_an_iteration():
    got = minimize_lbfgs(lambda x: (np.nan, np.full_like(x, np.nan)), np.zeros(3),
                         maxiter=10, gtol=1e-6)
    assert got.status == 2 and not got.success


def _dcsrch_reference():
    dcsrch = pytest.importorskip("scipy.optimize._dcsrch")
    return getattr(dcsrch, "DCSRCH", None) or pytest.skip("SciPy has no DCSRCH class")


@pytest.mark.parametrize("seed", range(12))
def test_line_search_takes_scipys_dcsrch_steps(seed):
    """The same trial steps as SciPy's port of MINPACK-2's dcsrch on random smooth 1-D
    functions (a quartic with random coefficients, started downhill), step for step."""
    DCSRCH = _dcsrch_reference()
    rng = np.random.default_rng(seed)
    c = rng.standard_normal(5)
    c[4] = abs(c[4]) + 0.1
    c[1] = -abs(c[1]) - 0.1  # phi'(0) < 0

    def phi(a):
        return float(np.polyval(c[::-1], a)), float(np.polyval(np.polyder(c[::-1]), a))
    ref = DCSRCH(phi, None, ftol=1e-3, gtol=0.9, xtol=0.1, stpmin=0.0, stpmax=1e10)
    f0, g0 = phi(0.0)
    stp0 = float(rng.uniform(0.01, 20))
    ours = MoreThuente()
    stp_a = ours.start(stp0, f0, g0)
    stp_b, _, _, task_b = ref._iterate(stp0, f0, g0, b"START")
    for _ in range(30):
        assert stp_a == pytest.approx(stp_b, rel=1e-13, abs=1e-300)
        f, g = phi(stp_a)
        task_a, stp_a = ours.step(stp_a, f, g)
        stp_b, _, _, task_b = ref._iterate(stp_b, f, g, task_b)
        assert task_a == task_b.decode()
        if task_a != "FG":
            break
    assert stp_a == pytest.approx(stp_b, rel=1e-13)


def test_line_search_refuses_bad_arguments():
    with pytest.raises(ValueError, match="descent"):
        MoreThuente().start(1.0, 0.0, 0.5)
    with pytest.raises(ValueError, match="outside"):
        MoreThuente(stpmax=2.0).start(3.0, 0.0, -1.0)
    with pytest.raises(ValueError, match="non-negative"):
        MoreThuente(ftol=-1.0)


def test_large_sparse_logistic_regression_uses_it_and_matches_scikit_learn(monkeypatch):
    """A CSR softmax regression with more than TWO_PASS_FROM parameters goes through this
    solver and reaches scikit-learn's optimum: the same objective to 1e-8 relative and the
    same predictions."""
    skl = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(0)
    n, d, k = 3000, 4000, 5
    assert d * k >= TWO_PASS_FROM
    X = sp.random(n, d, density=0.01, format="csr", random_state=1)
    y = np.argmax(X @ rng.standard_normal((d, k)) * 8 + rng.gumbel(size=(n, k)), axis=1)
    used = []
    monkeypatch.setattr(fl_linear, "minimize_lbfgs",
                        lambda *a, **kw: used.append(1) or minimize_lbfgs(*a, **kw))
    ours = fls.LogisticRegression(max_iter=500, tol=1e-8).fit(X, y)
    theirs = skl.LogisticRegression(max_iter=500, tol=1e-8).fit(X, y)
    assert used == [1]

    def objective(est):
        Z = X @ est.coef_.T + est.intercept_
        nll = np.mean(logsumexp(Z, axis=1) - Z[np.arange(n), y])
        return nll + 0.5 * np.sum(est.coef_ ** 2) / n
    assert objective(ours) == pytest.approx(objective(theirs), rel=1e-8)
    assert np.mean(ours.predict(X) == theirs.predict(X)) > 0.999
