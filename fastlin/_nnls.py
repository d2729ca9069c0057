"""Non-negative least squares with a free intercept, dense (scipy.optimize.nnls, as
scikit-learn's LinearRegression(positive=True)) or sparse (scipy.optimize.lsq_linear on the
centred operator, X never densified)."""
import numpy as np
import scipy.optimize
import scipy.sparse as sp
import scipy.sparse.linalg


def _centred_operator(X, sw, alpha, fit_intercept):
    """sqrt(sw) (X − x̄) stacked over sqrt(alpha) I, as a LinearOperator (X stays sparse), and
    the weighted column means x̄ (zeros without an intercept)."""
    n, d = X.shape
    w = np.ones(n) if sw is None else sw
    x_off = np.asarray(X.T @ w).ravel() / w.sum() if fit_intercept else np.zeros(d)
    root, damp = np.sqrt(w), np.sqrt(alpha)
    rows = n + (d if alpha > 0 else 0)

    def matvec(v):
        v = np.ravel(v)
        top = root * (X @ v - x_off @ v)
        return np.concatenate([top, damp * v]) if alpha > 0 else top

    def rmatvec(u):
        u = np.ravel(u)
        out = X.T @ (root * u[:n]) - x_off * (root @ u[:n])
        return out + damp * u[n:] if alpha > 0 else out

    op = scipy.sparse.linalg.LinearOperator((rows, d), matvec=matvec, rmatvec=rmatvec,
                                            dtype=np.float64)
    return op, x_off


def nonnegative_least_squares(X, Y, sw, alpha, fit_intercept, tol):
    """min ||sqrt(sw)(Y − X W − b)||² + alpha ||W||² with W >= 0 (b free): the intercept is
    solved out by weighted centring, as scikit-learn does before its NNLS."""
    n, d = X.shape
    w = np.ones(n) if sw is None else sw
    y_off = (w @ Y) / w.sum() if fit_intercept else np.zeros(Y.shape[1])
    root = np.sqrt(w)[:, None]
    Yc = root * (Y - y_off)
    if alpha > 0:
        Yc = np.vstack([Yc, np.zeros((d, Y.shape[1]))])
    W = np.empty((d, Y.shape[1]))
    if sp.issparse(X):
        op, x_off = _centred_operator(X, sw, alpha, fit_intercept)
        for j in range(Y.shape[1]):
            x = scipy.optimize.lsq_linear(op, Yc[:, j], bounds=(0, np.inf),
                                          lsq_solver="lsmr", tol=min(tol, 1e-10)).x
            # the interior-point iterates approach a bound without reaching it: a coefficient
            # within rounding of 0 is the constraint active, and NNLS reports it as 0
            x[x <= 1e-12 * max(1.0, float(x.max(initial=0.0)))] = 0.0
            W[:, j] = x
    else:
        x_off = np.average(X, axis=0, weights=w) if fit_intercept else np.zeros(d)
        A = root * (X - x_off)
        if alpha > 0:
            A = np.vstack([A, np.sqrt(alpha) * np.eye(d)])
        for j in range(Y.shape[1]):
            W[:, j] = scipy.optimize.nnls(A, Yc[:, j])[0]
    return W, y_off - x_off @ W
