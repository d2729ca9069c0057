"""Coordinate descent on the elastic-net penalised quadratic model of a smooth loss: the inner
solver of fastlin's proximal Newton method for L1 / elastic-net logistic regression.

At an expansion point (beta0, b0) the loss is replaced by its second-order model in the linear
predictor, sum_i g_i q_i + h_i q_i^2 / 2 with q = X (beta - beta0) + (b - b0), and
    l1 ||beta||_1 + l2 / 2 ||beta||^2
is added exactly. Each coordinate step minimises that model in one coefficient: with
G_i = g_i + h_i q_i and H_j = sum_i h_i x_ij^2,
    beta_j <- soft(H_j beta_j - sum_i x_ij G_i, l1) / (H_j + l2),
then q moves by the change times column j. The intercept (unpenalised) takes a Newton step
after every sweep.

Design: X is read by columns (a dense X transposed to C order, or CSC arrays), so a coordinate
touches only its column; all running sums are double whatever the dtype of X (float32 X gives
float32 storage, not float32 rounding of the sums that decide the soft threshold). Sweeps after
a full one visit only the non-zero coefficients (glmnet's active set); the solver ends on a
full sweep whose largest squared step ((H_j + l2) d_j)^2, the squared model gradient
the coordinate met, is at most tol, so a zero coefficient is only left
at zero after a full check. The whole solve runs without the GIL.
"""
from cython cimport floating
from libc.math cimport fabs, sqrt


cdef inline double _soft(double z, double t) noexcept nogil:
    if z > t:
        return z - t
    if z < -t:
        return z + t
    return 0.0


cdef double _sweep_dense(const floating[:, ::1] XT, const double[::1] g, const double[::1] h,
                         double[::1] beta, double[::1] q, const double[::1] H, double l1,
                         double l2, bint full) noexcept nogil:
    cdef Py_ssize_t n = XT.shape[1], d = XT.shape[0], i, j
    cdef double grad, old, new, delta, step, change = 0.0
    for j in range(d):
        if (not full and beta[j] == 0.0) or H[j] + l2 <= 0.0:
            continue
        grad = 0.0
        for i in range(n):
            grad += XT[j, i] * (g[i] + h[i] * q[i])
        old = beta[j]
        new = _soft(H[j] * old - grad, l1) / (H[j] + l2)
        if new != old:
            delta = new - old
            beta[j] = new
            for i in range(n):
                q[i] += delta * XT[j, i]
            step = (H[j] + l2) * delta
            change = max(change, step * step)
    return change


cdef double _sweep_csc(const floating[::1] data, const int[::1] indices, const int[::1] indptr,
                       const double[::1] g, const double[::1] h, double[::1] beta,
                       double[::1] q, const double[::1] H, double l1, double l2,
                       bint full) noexcept nogil:
    cdef Py_ssize_t d = indptr.shape[0] - 1, j, k, i
    cdef double grad, old, new, delta, step, change = 0.0
    for j in range(d):
        if (not full and beta[j] == 0.0) or H[j] + l2 <= 0.0:
            continue
        grad = 0.0
        for k in range(indptr[j], indptr[j + 1]):
            i = indices[k]
            grad += data[k] * (g[i] + h[i] * q[i])
        old = beta[j]
        new = _soft(H[j] * old - grad, l1) / (H[j] + l2)
        if new != old:
            delta = new - old
            beta[j] = new
            for k in range(indptr[j], indptr[j + 1]):
                q[indices[k]] += delta * data[k]
            step = (H[j] + l2) * delta
            change = max(change, step * step)
    return change


cdef double _intercept_step(const double[::1] g, const double[::1] h, double[::1] q,
                            double[::1] b) noexcept nogil:
    cdef Py_ssize_t n = g.shape[0], i
    cdef double grad = 0.0, curv = 0.0, delta
    for i in range(n):
        grad += g[i] + h[i] * q[i]
        curv += h[i]
    if curv <= 0.0:
        return 0.0
    delta = -grad / curv
    b[0] += delta
    for i in range(n):
        q[i] += delta
    return grad * grad


cdef int _solve_dense(const floating[:, ::1] XT, const double[::1] g, const double[::1] h,
                      double[::1] beta, double[::1] q, double[::1] b, double[::1] H, double l1,
                      double l2, bint fit_intercept, int max_sweeps, double tol) noexcept nogil:
    cdef Py_ssize_t n = XT.shape[1], d = XT.shape[0], i, j
    cdef int sweeps = 0
    cdef bint full = True
    cdef double change, s
    for j in range(d):
        s = 0.0
        for i in range(n):
            s += h[i] * XT[j, i] * XT[j, i]
        H[j] = s
    while sweeps < max_sweeps:
        change = _sweep_dense(XT, g, h, beta, q, H, l1, l2, full)
        if fit_intercept:
            change = max(change, _intercept_step(g, h, q, b))
        sweeps += 1
        if change <= tol:
            if full:
                break
            full = True
        else:
            full = False
    return sweeps


cdef int _solve_csc(const floating[::1] data, const int[::1] indices, const int[::1] indptr,
                    const double[::1] g, const double[::1] h, double[::1] beta, double[::1] q,
                    double[::1] b, double[::1] H, double l1, double l2, bint fit_intercept,
                    int max_sweeps, double tol) noexcept nogil:
    cdef Py_ssize_t d = indptr.shape[0] - 1, j, k
    cdef int sweeps = 0
    cdef bint full = True
    cdef double change, s
    for j in range(d):
        s = 0.0
        for k in range(indptr[j], indptr[j + 1]):
            s += h[indices[k]] * data[k] * data[k]
        H[j] = s
    while sweeps < max_sweeps:
        change = _sweep_csc(data, indices, indptr, g, h, beta, q, H, l1, l2, full)
        if fit_intercept:
            change = max(change, _intercept_step(g, h, q, b))
        sweeps += 1
        if change <= tol:
            if full:
                break
            full = True
        else:
            full = False
    return sweeps


def _check(Py_ssize_t n, Py_ssize_t d, g, h, beta, q, b, H, int max_sweeps):
    for name, arr, size in (("g", g, n), ("h", h, n), ("q", q, n), ("beta", beta, d),
                            ("H", H, d), ("b", b, 1)):
        if arr.shape[0] != size:
            raise ValueError(f"{name} must have length {size}, got {arr.shape[0]}")
    if max_sweeps < 1:
        raise ValueError(f"max_sweeps must be >= 1, got {max_sweeps}")


_DOC = """Minimise the elastic-net penalised quadratic model by coordinate descent, in place.

    Parameters
    ----------
    XT : array of shape (n_features, n_samples), X transposed (columns contiguous)
    g, h : arrays of shape (n_samples,), the loss's first and second derivative in the
        linear predictor at the expansion point (sample weights included), h >= 0
    beta : array of shape (n_features,), the coefficients, updated in place
    q : array of shape (n_samples,), the change of the linear predictor since the expansion
        point (zeros on entry from it), updated in place
    b : array of shape (1,), the intercept, updated in place when fit_intercept
    H : array of shape (n_features,), written: sum_i h_i x_ij^2
    l1, l2 : float, the penalty strengths
    max_sweeps : int >= 1, the most sweeps over the coordinates
    tol : float, the largest squared step ((H_j + l2) d_j)^2 of the final full sweep (the
        squared gradient of the model in that coordinate at the sweep's start)

    Returns
    -------
    sweeps : int, the sweeps run
    """


def enet_cd_dense(const floating[:, ::1] XT not None, const double[::1] g not None,
                  const double[::1] h not None, double[::1] beta not None,
                  double[::1] q not None, double[::1] b not None, double[::1] H not None,
                  double l1, double l2, bint fit_intercept, int max_sweeps, double tol):
    _check(XT.shape[1], XT.shape[0], g, h, beta, q, b, H, max_sweeps)
    cdef int sweeps
    with nogil:
        sweeps = _solve_dense(XT, g, h, beta, q, b, H, l1, l2, fit_intercept, max_sweeps, tol)
    return sweeps


enet_cd_dense.__doc__ = _DOC


def enet_cd_csc(const floating[::1] data not None, const int[::1] indices not None,
                const int[::1] indptr not None, Py_ssize_t n_samples,
                const double[::1] g not None, const double[::1] h not None,
                double[::1] beta not None, double[::1] q not None, double[::1] b not None,
                double[::1] H not None, double l1, double l2, bint fit_intercept,
                int max_sweeps, double tol):
    """enet_cd_dense for X given as CSC arrays (data, indices, indptr) of n_samples rows.

    The index arrays are checked here (indptr from 0 to len(data) and never decreasing, row
    indices in [0, n_samples)) before any is used: the sweeps trust them."""
    cdef Py_ssize_t d = indptr.shape[0] - 1, k, nnz = data.shape[0]
    cdef int bad = 0, sweeps
    if d < 0:
        raise ValueError("indptr must have length n_features + 1 >= 1")
    _check(n_samples, d, g, h, beta, q, b, H, max_sweeps)
    if indices.shape[0] != nnz or indptr[0] != 0 or indptr[d] != nnz:
        raise ValueError("indices must have the length of data, indptr run from 0 to len(data)")
    with nogil:
        for k in range(d):
            if indptr[k + 1] < indptr[k]:
                bad = 1
        for k in range(nnz):
            if indices[k] < 0 or indices[k] >= n_samples:
                bad = 1
    if bad:
        raise ValueError("indptr must not decrease and indices must lie in [0, n_samples)")
    with nogil:
        sweeps = _solve_csc(data, indices, indptr, g, h, beta, q, b, H, l1, l2, fit_intercept,
                            max_sweeps, tol)
    return sweeps
