"""Row-major matrix products through the BLAS that SciPy ships, NumPy's, or the ``blis`` package.

Which one is chosen in Python (fastlin/parallel/gemm_choice.py) and handed here as function
pointers: NumPy's ILP64 OpenBLAS (64-bit integer arguments), without which the calls go to
``scipy.linalg.cython_blas``; and, per size class of product (``product_class``), the row-major
GEMM of the ``blis`` package where it measured faster. GEMV always stays with OpenBLAS.

Design: BLAS is column-major. A row-major C = op(A) op(B) of shape (m, n) is, read column-major,
Cᵀ = op(B)ᵀ op(A)ᵀ, so the call swaps the operands and their transpose flags instead of copying
anything. SciPy's pxd has no ``const``, hence the casts at the call.

A product with one output column or one output row (a linear model's forward pass, its weight
gradient, a batch of one) goes to GEMV: OpenBLAS's GEMM packs both operands even then, which
made such a product ~3x slower than the matrix-vector product it is.

A small product never reaches BLAS: its call overhead alone would exceed the arithmetic
(csrc/fl_gemm_small.h says which products, and why the rule for X @ W ignores the batch size).
Both the compiled training loop and the layer-by-layer path come through here, so they stay
bitwise equal.
"""
from cython.parallel cimport prange
from libc.stdint cimport int64_t
from scipy.linalg.cython_blas cimport sgemm, dgemm, sgemv, dgemv

from fastlin._kernels._contracts cimport fl_threads
from fastlin._kernels._csrc cimport (
    FL_GEMM_SMALL_MACS, FL_GEMM_SMALL_PACK, FL_GEMM_SMALL_ROW_MACS, fl_gemm_small_f32,
    fl_gemm_small_f64, fl_transpose_f32,
)

ctypedef void (*sgemm64_t)(const char *, const char *, const int64_t *, const int64_t *,
                           const int64_t *, const float *, const float *, const int64_t *,
                           const float *, const int64_t *, const float *, float *,
                           const int64_t *) noexcept nogil
ctypedef void (*dgemm64_t)(const char *, const char *, const int64_t *, const int64_t *,
                           const int64_t *, const double *, const double *, const int64_t *,
                           const double *, const int64_t *, const double *, double *,
                           const int64_t *) noexcept nogil
ctypedef void (*sgemv64_t)(const char *, const int64_t *, const int64_t *, const float *,
                           const float *, const int64_t *, const float *, const int64_t *,
                           const float *, float *, const int64_t *) noexcept nogil
ctypedef void (*dgemv64_t)(const char *, const int64_t *, const int64_t *, const double *,
                           const double *, const int64_t *, const double *, const int64_t *,
                           const double *, double *, const int64_t *) noexcept nogil

# the blis package's row-major GEMM (blis.cy.sgemm / dgemm, exported as Cython capsules)
ctypedef void (*blis_sgemm_t)(bint, bint, int, int, int, float, const float *, int,
                              const float *, int, float, float *, int) noexcept nogil
ctypedef void (*blis_dgemm_t)(bint, bint, int, int, int, double, const double *, int,
                              const double *, int, double, double *, int) noexcept nogil

cdef sgemm64_t _sgemm64 = NULL
cdef dgemm64_t _dgemm64 = NULL
cdef sgemv64_t _sgemv64 = NULL
cdef dgemv64_t _dgemv64 = NULL
cdef bint _ilp64 = False
cdef blis_sgemm_t _blis_sgemm = NULL
cdef blis_dgemm_t _blis_dgemm = NULL
# size classes of a product by its multiply-adds m*n*k: small below 2**20 (W1's last layer),
# medium below 2**26 (W1's first two), large from there (W2's); True sends the class to blis
cdef bint _class_blis[3]
cdef int64_t SMALL_CLASS_MACS = 1 << 20, MEDIUM_CLASS_MACS = 1 << 26
cdef bint _small_enabled = True
# rows per thread's share of a large small-product (predict on many rows): every row is
# computed alone, so the split never changes a result
cdef int SMALL_ROW_BLOCK = 512


def use_ilp64(size_t sgemm_addr, size_t dgemm_addr, size_t sgemv_addr, size_t dgemv_addr):
    """Send every product to the ILP64 BLAS whose ?gemm_/?gemv_ entry points are at these
    addresses (NumPy's OpenBLAS). Called once, at import, before any kernel runs."""
    global _sgemm64, _dgemm64, _sgemv64, _dgemv64, _ilp64
    if not (sgemm_addr and dgemm_addr and sgemv_addr and dgemv_addr):
        raise ValueError("use_ilp64: every BLAS entry point must be a non-null address")
    _sgemm64, _dgemm64 = <sgemm64_t>sgemm_addr, <dgemm64_t>dgemm_addr
    _sgemv64, _dgemv64 = <sgemv64_t>sgemv_addr, <dgemv64_t>dgemv_addr
    _ilp64 = True


def use_blis(size_t sgemm_addr, size_t dgemm_addr):
    """Make the blis package's row-major sgemm/dgemm at these addresses available to the size
    classes that ``route_classes`` sends to it."""
    global _blis_sgemm, _blis_dgemm
    if not (sgemm_addr and dgemm_addr):
        raise ValueError("use_blis: both blis entry points must be non-null addresses")
    _blis_sgemm, _blis_dgemm = <blis_sgemm_t>sgemm_addr, <blis_dgemm_t>dgemm_addr


def route_classes(small, medium, large):
    """Send each size class of GEMM (see ``product_class``) to blis (True) or to the OpenBLAS
    chosen by use_ilp64/use_scipy (False). blis must have been given first."""
    if (small or medium or large) and _blis_sgemm == NULL:
        raise ValueError("route_classes: call use_blis first")
    _class_blis[0], _class_blis[1], _class_blis[2] = bool(small), bool(medium), bool(large)


def routed_classes():
    """(small, medium, large): True where that size class of GEMM goes to blis."""
    return bool(_class_blis[0]), bool(_class_blis[1]), bool(_class_blis[2])


cdef inline int _product_class(int64_t m, int64_t n, int64_t k) noexcept nogil:
    cdef int64_t macs = m * n * k
    return 0 if macs < SMALL_CLASS_MACS else (1 if macs < MEDIUM_CLASS_MACS else 2)


def product_class(int m, int n, int k):
    """0 (small), 1 (medium) or 2 (large): the size class of an (m x k) @ (k x n) product."""
    return _product_class(m, n, k)


def use_scipy():
    """Send every product to scipy.linalg.cython_blas (the default)."""
    global _ilp64
    _ilp64 = False


def set_small_gemm(bint enabled):
    """Let small products run in csrc/fl_gemm_small.h, and dZ @ Wᵀ for a small W through W
    transposed (True, the default), or send every product to BLAS as it is (False); returns the
    previous setting. For tests and benchmarks that compare the two
    paths: switching changes float rounding, so it is not for use during training."""
    global _small_enabled
    previous = _small_enabled
    _small_enabled = enabled
    return bool(previous)


def small_gemm_limits():
    """(multiply-adds per output row for X @ W and dZ @ Wᵀ, multiply-adds in all for Xᵀ dZ):
    products within them skip BLAS."""
    return int(FL_GEMM_SMALL_ROW_MACS), int(FL_GEMM_SMALL_MACS)


def time_product(bint trans_a, bint trans_b, int m, int n, int k, bint small, int calls):
    """Seconds per call of one float32 row-major product of this shape, made ``calls`` times
    without the GIL through the small loops (small=True, when the shape qualifies) or BLAS. For
    ``python -m fastlin bench``, which shows what the small-product path saves here."""
    if m <= 0 or n <= 0 or k <= 0 or calls <= 0:
        raise ValueError("time_product: m, n, k and calls must be positive")
    if <int64_t>m * k > (1 << 24) or <int64_t>k * n > (1 << 24) or <int64_t>m * n > (1 << 24):
        raise ValueError("time_product: at most 2**24 elements per operand")
    import time
    import numpy as np
    cdef float[::1] a = np.full(m * k, 0.5, np.float32)
    cdef float[::1] b = np.full(k * n, 0.25, np.float32)
    cdef float[::1] c = np.empty(m * n, np.float32)
    cdef int lda = m if trans_a else k, ldb = k if trans_b else n, i
    global _small_enabled
    previous = _small_enabled
    _small_enabled = small
    try:
        start = time.perf_counter()
        with nogil:
            for i in range(calls):
                gemm_rm(trans_a, trans_b, m, n, k, 1.0, &a[0], lda, &b[0], ldb, 0.0, &c[0], n, 1)
        return (time.perf_counter() - start) / calls
    finally:
        _small_enabled = previous


def using_ilp64():
    """True when the products go to the ILP64 BLAS given to use_ilp64."""
    return bool(_ilp64)


cdef inline void _gemv(char trans, int rows, int cols, double alpha, const floating *a, int lda,
                       const floating *x, int incx, double beta, floating *y,
                       int incy) noexcept nogil:
    """y = alpha * op(M) x + beta * y for the column-major (rows x cols) M stored at a."""
    cdef float alpha_f = <float>alpha, beta_f = <float>beta
    cdef int64_t r64 = rows, c64 = cols, lda64 = lda, incx64 = incx, incy64 = incy
    if _ilp64:
        if floating is float:
            _sgemv64(&trans, &r64, &c64, &alpha_f, a, &lda64, x, &incx64, &beta_f, y, &incy64)
        else:
            _dgemv64(&trans, &r64, &c64, &alpha, a, &lda64, x, &incx64, &beta, y, &incy64)
        return
    if floating is float:
        sgemv(&trans, &rows, &cols, &alpha_f, <float *>a, &lda, <float *>x, &incx, &beta_f,
              y, &incy)
    else:
        dgemv(&trans, &rows, &cols, &alpha, <double *>a, &lda, <double *>x, &incx, &beta,
              y, &incy)


cdef void _gemm_nt_transposed(int m, int n, int k, float alpha, const float *a, int lda,
                              const float *b, int ldb, float beta, float *c, int ldc,
                              int n_threads) noexcept nogil:
    """c = alpha * a @ bᵀ + beta * c for a b of at most FL_GEMM_SMALL_PACK values: b transposed
    into a stack buffer, then the product without a transpose (csrc/fl_gemm_small.h says why).
    Chosen by n and k alone, so the compiled loop and the layer-by-layer path agree bitwise."""
    cdef float bt[FL_GEMM_SMALL_PACK]
    fl_transpose_f32(n, k, b, ldb, bt, n)
    gemm_rm(False, False, m, n, k, alpha, a, lda, <const float *>bt, n, beta, c, ldc, n_threads)


cdef void gemm_rm(bint trans_a, bint trans_b, int m, int n, int k, double alpha,
                  const floating *a, int lda, const floating *b, int ldb, double beta,
                  floating *c, int ldc, int n_threads) noexcept nogil:
    """c[m, n] = alpha * op(a) @ op(b) + beta * c, all row-major with leading dimensions.
    n_threads: threads a small X @ W may split its rows over (BLAS keeps its own count)."""
    cdef int nt, blk, nblocks, r0
    cdef char ta = b'T' if trans_b else b'N'
    cdef char tb = b'T' if trans_a else b'N'
    cdef float alpha_f = <float>alpha, beta_f = <float>beta
    cdef char no = b'N', yes = b'T'
    if m == 0 or n == 0:
        return
    if _small_enabled and beta == 0.0 and k > 0 and (
            <int64_t>m * n * k <= FL_GEMM_SMALL_MACS if trans_a
            else <int64_t>n * k <= FL_GEMM_SMALL_ROW_MACS):
        nt = fl_threads(n_threads) if not trans_a and m >= 2 * SMALL_ROW_BLOCK else 1
        if nt > 1:
            # op(b) always fits the loops' buffer under the per-row rule, so no block fails
            nblocks = (m + SMALL_ROW_BLOCK - 1) // SMALL_ROW_BLOCK
            for blk in prange(nblocks, schedule="static", num_threads=nt):
                r0 = blk * SMALL_ROW_BLOCK
                if floating is float:
                    fl_gemm_small_f32(False, trans_b, min(SMALL_ROW_BLOCK, m - r0), n, k,
                                      alpha_f, a + <int64_t>r0 * lda, lda, b, ldb,
                                      c + <int64_t>r0 * ldc, ldc)
                else:
                    fl_gemm_small_f64(False, trans_b, min(SMALL_ROW_BLOCK, m - r0), n, k,
                                      alpha, a + <int64_t>r0 * lda, lda, b, ldb,
                                      c + <int64_t>r0 * ldc, ldc)
            return
        if floating is float:
            if fl_gemm_small_f32(trans_a, trans_b, m, n, k, alpha_f, a, lda, b, ldb, c, ldc) == 0:
                return
        else:
            if fl_gemm_small_f64(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, c, ldc) == 0:
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
        if _small_enabled and trans_b and not trans_a and k > 1 and \
                <int64_t>k * n <= FL_GEMM_SMALL_PACK:
            _gemm_nt_transposed(m, n, k, alpha_f, a, lda, b, ldb, beta_f, c, ldc, n_threads)
            return
    cdef int64_t m64 = m, n64 = n, k64 = k, lda64 = lda, ldb64 = ldb, ldc64 = ldc
    if k > 0 and _class_blis[_product_class(m, n, k)]:
        if floating is float:
            _blis_sgemm(trans_a, trans_b, m, n, k, alpha_f, a, lda, b, ldb, beta_f, c, ldc)
        else:
            _blis_dgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        return
    if _ilp64:
        if floating is float:
            _sgemm64(&ta, &tb, &n64, &m64, &k64, &alpha_f, b, &ldb64, a, &lda64, &beta_f, c,
                     &ldc64)
        else:
            _dgemm64(&ta, &tb, &n64, &m64, &k64, &alpha, b, &ldb64, a, &lda64, &beta, c,
                     &ldc64)
        return
    if floating is float:
        sgemm(&ta, &tb, &n, &m, &k, &alpha_f, <float *>b, &ldb, <float *>a, &lda,
              &beta_f, c, &ldc)
    else:
        dgemm(&ta, &tb, &n, &m, &k, &alpha, <double *>b, &ldb, <double *>a, &lda,
              &beta, c, &ldc)
