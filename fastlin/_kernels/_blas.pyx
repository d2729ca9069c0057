"""Row-major matrix products through the BLAS that SciPy ships.

Design: BLAS is column-major. A row-major C = op(A) op(B) of shape (m, n) is, read column-major,
Cᵀ = op(B)ᵀ op(A)ᵀ, so the call swaps the operands and their transpose flags instead of copying
anything. SciPy's pxd has no ``const``, hence the casts at the call.

A product with one output column or one output row (a linear model's forward pass, its weight
gradient, a batch of one) goes to GEMV: OpenBLAS's GEMM packs both operands even then, which
made such a product ~3x slower than the matrix-vector product it is.
"""
from scipy.linalg.cython_blas cimport sgemm, dgemm, sgemv, dgemv


cdef inline void _gemv(char trans, int rows, int cols, double alpha, const floating *a, int lda,
                       const floating *x, int incx, double beta, floating *y,
                       int incy) noexcept nogil:
    """y = alpha * op(M) x + beta * y for the column-major (rows x cols) M stored at a."""
    cdef float alpha_f = <float>alpha, beta_f = <float>beta
    if floating is float:
        sgemv(&trans, &rows, &cols, &alpha_f, <float *>a, &lda, <float *>x, &incx, &beta_f,
              y, &incy)
    else:
        dgemv(&trans, &rows, &cols, &alpha, <double *>a, &lda, <double *>x, &incx, &beta,
              y, &incy)


cdef void gemm_rm(bint trans_a, bint trans_b, int m, int n, int k, double alpha,
                  const floating *a, int lda, const floating *b, int ldb, double beta,
                  floating *c, int ldc) noexcept nogil:
    """c[m, n] = alpha * op(a) @ op(b) + beta * c, all row-major with leading dimensions."""
    cdef char ta = b'T' if trans_b else b'N'
    cdef char tb = b'T' if trans_a else b'N'
    cdef float alpha_f = <float>alpha, beta_f = <float>beta
    cdef char no = b'N', yes = b'T'
    if m == 0 or n == 0:
        return
    # k == 0 stays with GEMM: GEMV returns early without applying beta to y
    if n == 1 and k > 0:
        # c[:, 0] = op(a) @ op(b)[:, 0]; a row-major (m x k) block is a column-major (k x m) one
        if trans_a:
            _gemv(no, m, k, alpha, a, lda, b, 1 if trans_b else ldb, beta, c, ldc)
        else:
            _gemv(yes, k, m, alpha, a, lda, b, 1 if trans_b else ldb, beta, c, ldc)
        return
    if m == 1 and k > 0:
        # c[0, :] = op(b)ᵀ @ op(a)[0, :]
        if trans_b:
            _gemv(yes, k, n, alpha, b, ldb, a, lda if trans_a else 1, beta, c, 1)
        else:
            _gemv(no, n, k, alpha, b, ldb, a, lda if trans_a else 1, beta, c, 1)
        return
    if floating is float:
        sgemm(&ta, &tb, &n, &m, &k, &alpha_f, <float *>b, &ldb, <float *>a, &lda,
              &beta_f, c, &ldc)
    else:
        dgemm(&ta, &tb, &n, &m, &k, &alpha, <double *>b, &ldb, <double *>a, &lda,
              &beta, c, &ldc)
