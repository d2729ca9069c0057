"""Dense layer kernels: one BLAS GEMM, then bias and activation fused into a single pass.

Design: ``dense_forward`` lets sgemm/dgemm write X @ W straight into ``out`` and then walks
``out`` once, adding the bias and applying the activation in place (optionally storing the
pre-activation for abs/prelu backward). ``dense_backward`` is two GEMMs and a column sum.
The epilogue is split over threads in fixed blocks of rows; BLAS threads itself.
Arguments are validated by ``fastlin.backend``; these functions check again, in C, what
keeps memory safe and results right (shapes agree, the activation's slope is there, outputs
apart from inputs, aligned buffers, BLAS-sized dimensions: _contracts.pxd), and trust the flags.
"""
from cython cimport floating
from cython.parallel cimport prange

from fastlin._kernels._blas cimport gemm_rm
from fastlin._kernels._contracts cimport (activation_code, aligned, apart, blas_dim, bytes1,
                                         bytes2, fl_threads, start1, start2)
from fastlin._kernels._codes cimport LEAKY_RELU, PRELU
from fastlin._kernels._csrc cimport (
    fl_index, fl_act_forward_f32, fl_act_forward_f64, fl_column_sum_f32, fl_column_sum_f64,
)

cdef fl_index ROWS_PER_BLOCK = 64


cdef inline void _epilogue(fl_index r0, fl_index r1, fl_index m, floating *y, const floating *bias,
                           int act, const floating *alpha, int per_unit,
                           floating *z) noexcept nogil:
    cdef floating *zr = z + r0 * m if z != NULL else NULL
    if floating is float:
        fl_act_forward_f32(r1 - r0, m, y + r0 * m, bias, act, alpha, per_unit, zr, y + r0 * m)
    else:
        fl_act_forward_f64(r1 - r0, m, y + r0 * m, bias, act, alpha, per_unit, zr, y + r0 * m)


def dense_forward(const floating[:, ::1] X not None, const floating[:, ::1] W not None,
                  const floating[::1] b not None, floating[:, ::1] out not None,
                  int activation, const floating[::1] alpha not None,
                  floating[:, ::1] preact not None, bint has_bias, bint has_preact,
                  int n_threads):
    """out = act(X @ W + b); preact = X @ W + b when has_preact. Shapes (n, k) @ (k, m) -> (n, m)."""
    cdef fl_index n = X.shape[0], k = X.shape[1], m = W.shape[1]
    cdef fl_index blk, r0, nblocks = (n + ROWS_PER_BLOCK - 1) // ROWS_PER_BLOCK
    cdef const floating *bias = NULL
    cdef floating *z = NULL
    cdef const floating *a = NULL
    cdef int per_unit = alpha.shape[0] > 1
    cdef size_t sz = sizeof(floating), out_bytes = bytes2(out)
    if W.shape[0] != k or out.shape[0] != n or out.shape[1] != m:
        raise ValueError("dense_forward: shapes of X, W and out do not agree")
    activation_code(activation)
    blas_dim(n, "n_samples")
    blas_dim(k, "in_features")
    blas_dim(m, "out_features")
    if has_bias:
        if b.shape[0] != m:
            raise ValueError("dense_forward: b must have out_features entries")
        bias = &b[0] if m > 0 else NULL
    if has_preact:
        if preact.shape[0] != n or preact.shape[1] != m:
            raise ValueError("dense_forward: preact must have the shape of out")
        z = &preact[0, 0] if n > 0 and m > 0 else NULL
    if activation == LEAKY_RELU or activation == PRELU:
        if alpha.shape[0] != 1 and (activation == LEAKY_RELU or alpha.shape[0] != m):
            raise ValueError("dense_forward: alpha must have 1 entry (leaky_relu) or 1 or "
                             "out_features entries (prelu)")
    if alpha.shape[0] > 0:
        if per_unit and alpha.shape[0] != m:
            raise ValueError("dense_forward: alpha must have 1 or out_features entries")
        a = &alpha[0]
    aligned(start2(X), sz, "X")
    aligned(start2(W), sz, "W")
    aligned(start2(out), sz, "out")
    aligned(bias, sz, "b")
    aligned(a, sz, "alpha")
    aligned(z, sz, "preact")
    apart(start2(out), out_bytes, "out", start2(X), bytes2(X), "X")
    apart(start2(out), out_bytes, "out", start2(W), bytes2(W), "W")
    if has_bias:
        apart(bias, bytes1(b), "b", start2(out), out_bytes, "out")
    apart(a, bytes1(alpha), "alpha", start2(out), out_bytes, "out")
    if has_preact:
        apart(z, out_bytes, "preact", start2(X), bytes2(X), "X")
        apart(z, out_bytes, "preact", start2(W), bytes2(W), "W")
        apart(z, out_bytes, "preact", start2(out), out_bytes, "out")
        if has_bias:
            apart(z, out_bytes, "preact", bias, bytes1(b), "b")
        apart(z, out_bytes, "preact", a, bytes1(alpha), "alpha")
    if n == 0 or m == 0:
        return
    n_threads = fl_threads(n_threads)
    with nogil:
        if k == 0:
            for r0 in range(n * m):
                (&out[0, 0])[r0] = 0
        else:
            gemm_rm(False, False, <int>n, <int>m, <int>k, 1.0, &X[0, 0], <int>k, &W[0, 0],
                    <int>m, 0.0, &out[0, 0], <int>m, n_threads)
        if activation == 0 and bias == NULL and z == NULL:
            pass
        elif n_threads > 1 and nblocks > 1:
            for blk in prange(nblocks, schedule="static", num_threads=n_threads):
                r0 = blk * ROWS_PER_BLOCK
                _epilogue(r0, min(r0 + ROWS_PER_BLOCK, n), m, &out[0, 0], bias, activation, a,
                          per_unit, z)
        else:
            _epilogue(0, n, m, &out[0, 0], bias, activation, a, per_unit, z)


def dense_backward(const floating[:, ::1] X not None, const floating[:, ::1] W not None,
                   const floating[:, ::1] dZ not None, floating[:, ::1] dW not None,
                   floating[::1] db not None, floating[:, ::1] dX not None,
                   bint has_db, bint has_dX):
    """dW = Xᵀ dZ, db = Σ_rows dZ (when has_db), dX = dZ Wᵀ (when has_dX)."""
    cdef fl_index n = X.shape[0], k = X.shape[1], m = W.shape[1], r
    cdef size_t sz = sizeof(floating)
    cdef const void *ins[3]
    cdef size_t in_bytes[3]
    cdef int i
    if (W.shape[0] != k or dZ.shape[0] != n or dZ.shape[1] != m or dW.shape[0] != k
            or dW.shape[1] != m):
        raise ValueError("dense_backward: shapes of X, W, dZ and dW do not agree")
    if has_db and db.shape[0] != m:
        raise ValueError("dense_backward: db must have out_features entries")
    if has_dX and (dX.shape[0] != n or dX.shape[1] != k):
        raise ValueError("dense_backward: dX must have the shape of X")
    blas_dim(n, "n_samples")
    blas_dim(k, "in_features")
    blas_dim(m, "out_features")
    aligned(start2(X), sz, "X")
    aligned(start2(W), sz, "W")
    aligned(start2(dZ), sz, "grad_output")
    aligned(start2(dW), sz, "dW")
    aligned(start1(db), sz, "db")
    aligned(start2(dX), sz, "dX")
    # every output apart from every input and from the other outputs
    ins[0], ins[1], ins[2] = start2(X), start2(W), start2(dZ)
    in_bytes[0], in_bytes[1], in_bytes[2] = bytes2(X), bytes2(W), bytes2(dZ)
    names = ("X", "W", "grad_output")
    for i in range(3):
        apart(start2(dW), bytes2(dW), "dW", ins[i], in_bytes[i], names[i])
        if has_db:
            apart(start1(db), bytes1(db), "db", ins[i], in_bytes[i], names[i])
        if has_dX:
            apart(start2(dX), bytes2(dX), "dX", ins[i], in_bytes[i], names[i])
    if has_db:
        apart(start1(db), bytes1(db), "db", start2(dW), bytes2(dW), "dW")
    if has_dX:
        apart(start2(dX), bytes2(dX), "dX", start2(dW), bytes2(dW), "dW")
        if has_db:
            apart(start2(dX), bytes2(dX), "dX", start1(db), bytes1(db), "db")
    with nogil:
        if n == 0:
            for r in range(k * m):
                (&dW[0, 0])[r] = 0
        elif k > 0 and m > 0:
            gemm_rm(True, False, <int>k, <int>m, <int>n, 1.0, &X[0, 0], <int>k, &dZ[0, 0],
                    <int>m, 0.0, &dW[0, 0], <int>m, 1)
        if has_db and m > 0:
            if floating is float:
                fl_column_sum_f32(n, m, &dZ[0, 0] if n > 0 else NULL, &db[0])
            else:
                fl_column_sum_f64(n, m, &dZ[0, 0] if n > 0 else NULL, &db[0])
        if has_dX and n > 0 and k > 0:
            if m == 0:
                for r in range(n * k):
                    (&dX[0, 0])[r] = 0
            else:
                gemm_rm(False, True, <int>n, <int>k, <int>m, 1.0, &dZ[0, 0], <int>m, &W[0, 0],
                        <int>m, 0.0, &dX[0, 0], <int>k, 1)
