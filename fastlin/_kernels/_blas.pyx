"""Row-major matrix products through the BLAS that SciPy ships.

Design: BLAS is column-major. A row-major C = op(A) op(B) of shape (m, n) is, read column-major,
Cᵀ = op(B)ᵀ op(A)ᵀ, so the call swaps the operands and their transpose flags instead of copying
anything. SciPy's pxd has no ``const``, hence the casts at the call.
"""
from scipy.linalg.cython_blas cimport sgemm, dgemm


cdef void gemm_rm(bint trans_a, bint trans_b, int m, int n, int k, double alpha,
                  const floating *a, int lda, const floating *b, int ldb, double beta,
                  floating *c, int ldc) noexcept nogil:
    """c[m, n] = alpha * op(a) @ op(b) + beta * c, all row-major with leading dimensions."""
    cdef char ta = b'T' if trans_b else b'N'
    cdef char tb = b'T' if trans_a else b'N'
    cdef float alpha_f = <float>alpha, beta_f = <float>beta
    if m == 0 or n == 0:
        return
    if floating is float:
        sgemm(&ta, &tb, &n, &m, &k, &alpha_f, <float *>b, &ldb, <float *>a, &lda,
              &beta_f, c, &ldc)
    else:
        dgemm(&ta, &tb, &n, &m, &k, &alpha, <double *>b, &ldb, <double *>a, &lda,
              &beta, c, &ldc)
