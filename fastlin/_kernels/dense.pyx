"""Dense layer kernels: one BLAS GEMM, then bias and activation fused into a single pass.

Design: ``dense_forward`` lets sgemm/dgemm write X @ W straight into ``out`` and then walks
``out`` once, adding the bias and applying the activation in place (optionally storing the
pre-activation for abs/prelu backward). ``dense_backward`` is two GEMMs and a column sum.
The epilogue is split over threads in fixed blocks of rows; BLAS threads itself.
Arguments are validated by ``fastlin.backend.compiled``; these functions check only what
keeps memory safe (shapes agree) and trust the flags.
"""
from cython cimport floating
from cython.parallel cimport prange

from fastlin._kernels._blas cimport gemm_rm
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
    if W.shape[0] != k or out.shape[0] != n or out.shape[1] != m:
        raise ValueError("dense_forward: shapes of X, W and out do not agree")
    if has_bias:
        if b.shape[0] != m:
            raise ValueError("dense_forward: b must have out_features entries")
        bias = &b[0]
    if has_preact:
        if preact.shape[0] != n or preact.shape[1] != m:
            raise ValueError("dense_forward: preact must have the shape of out")
        z = &preact[0, 0]
    if alpha.shape[0] > 0:
        if per_unit and alpha.shape[0] != m:
            raise ValueError("dense_forward: alpha must have 1 or out_features entries")
        a = &alpha[0]
    if n == 0 or m == 0:
        return
    with nogil:
        if k == 0:
            for r0 in range(n * m):
                (&out[0, 0])[r0] = 0
        else:
            gemm_rm(False, False, <int>n, <int>m, <int>k, 1.0, &X[0, 0], <int>k, &W[0, 0],
                    <int>m, 0.0, &out[0, 0], <int>m)
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
    if (W.shape[0] != k or dZ.shape[0] != n or dZ.shape[1] != m or dW.shape[0] != k
            or dW.shape[1] != m):
        raise ValueError("dense_backward: shapes of X, W, dZ and dW do not agree")
    if has_db and db.shape[0] != m:
        raise ValueError("dense_backward: db must have out_features entries")
    if has_dX and (dX.shape[0] != n or dX.shape[1] != k):
        raise ValueError("dense_backward: dX must have the shape of X")
    with nogil:
        if n == 0:
            for r in range(k * m):
                (&dW[0, 0])[r] = 0
        elif k > 0 and m > 0:
            gemm_rm(True, False, <int>k, <int>m, <int>n, 1.0, &X[0, 0], <int>k, &dZ[0, 0],
                    <int>m, 0.0, &dW[0, 0], <int>m)
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
                        <int>m, 0.0, &dX[0, 0], <int>k)
