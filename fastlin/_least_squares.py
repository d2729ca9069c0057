"""Least squares on tall, well-conditioned dense data from the Gram matrix: one GEMM over the
data (AᵀA) and an eigen-decomposition of a d × d matrix, where LAPACK's SVD-based solve walks
the data several times. The linear models fall back to that solve (as scikit-learn's) whenever
this one could lose digits."""
import numpy as np
import scipy.linalg
import scipy.linalg.blas

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
    lam, V = scipy.linalg.eigh(_gram(A), lower=False)
    if not lam[0] > lam[-1] * _GRAM_MIN_RATIO ** 2:
        return None
    w = V @ ((V.T @ transposed_times(A, Y)) / lam[:, None])
    return w, d, np.sqrt(lam[::-1])


# The products over A go through SciPy's BLAS, the library whose LAPACK then runs eigh: with
# NumPy's OpenBLAS for them, its two threads still spun when SciPy's started, and on two cores
# each library's solve ran beside the other's idle-spinning pool (16,000 x 200 at two threads:
# 120 against 52 ms a fit, eigh alone 50 against 9 ms). scikit-learn's lstsq is SciPy's too.

def _gram(A):
    """The upper triangle of AᵀA (what eigh(lower=False) reads), by SciPy's dsyrk."""
    if A.flags.c_contiguous:
        return scipy.linalg.blas.dsyrk(1.0, A.T, trans=0, lower=0)
    if A.flags.f_contiguous:
        return scipy.linalg.blas.dsyrk(1.0, A, trans=1, lower=0)
    return A.T @ A


def transposed_times(A, Y):
    """Aᵀ Y for float64 A (n, d) and Y (n, k) or (n,), by SciPy's dgemm where A is contiguous."""
    Y2 = Y.reshape(len(Y), -1)
    if A.flags.c_contiguous:
        out = scipy.linalg.blas.dgemm(1.0, A.T, Y2)
    elif A.flags.f_contiguous:
        out = scipy.linalg.blas.dgemm(1.0, A, Y2, trans_a=1)
    else:
        out = A.T @ Y2
    return out if Y.ndim == 2 else out[:, 0]


def times(A, W):
    """A W for float64 A (n, d) and W (d, k), by SciPy's dgemm where A is contiguous (the
    residuals after a solve: the same pool as the solve's)."""
    if A.dtype != np.float64 or W.dtype != np.float64 or W.ndim != 2:
        return A @ W
    if A.flags.c_contiguous:
        return scipy.linalg.blas.dgemm(1.0, A.T, W, trans_a=1)
    if A.flags.f_contiguous:
        return scipy.linalg.blas.dgemm(1.0, A, W)
    return A @ W
