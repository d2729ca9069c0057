"""Elementwise activation kernels (forward and backward) over C-contiguous 2-D buffers.

Design: the per-element math lives in csrc/fl_activation.c (one vectorizable loop per
activation). Here the rows are cut into fixed blocks that OpenMP threads take statically; the
prelu slope gradient is a reduction over rows and runs serially so its summation order, and so
its bits, never depend on the thread count.
"""
cimport numpy as cnp
from cython cimport floating
from cython.parallel cimport prange

from fastlin._kernels._contracts cimport (activation_code, aligned, apart, bytes1, bytes2,
                                         fl_threads, same_or_apart, start1, start2)
from fastlin._kernels._codes cimport ABS, IDENTITY, LEAKY_RELU, PRELU, SIGMOID, TANH
from fastlin._kernels._csrc cimport (
    fl_index, fl_act_forward_f32, fl_act_forward_f64, fl_act_backward_f32, fl_act_backward_f64,
)

from fastlin._kernels._arrays cimport (data, float_type, plain_array, plain_output,
                                      same_or_disjoint)

cnp.import_array()

cdef fl_index ROWS_PER_BLOCK = 64


cdef inline void _forward(fl_index r0, fl_index r1, fl_index m, const floating *x, int act,
                          const floating *alpha, int per_unit, floating *y) noexcept nogil:
    if floating is float:
        fl_act_forward_f32(r1 - r0, m, x + r0 * m, NULL, act, alpha, per_unit, NULL, y + r0 * m)
    else:
        fl_act_forward_f64(r1 - r0, m, x + r0 * m, NULL, act, alpha, per_unit, NULL, y + r0 * m)


cdef inline void _backward(fl_index r0, fl_index r1, fl_index m, const floating *gy,
                           const floating *x, const floating *y, int act, const floating *alpha,
                           int per_unit, floating *gx, floating *dalpha) noexcept nogil:
    cdef const floating *xr = x + r0 * m if x != NULL else NULL
    cdef const floating *yr = y + r0 * m if y != NULL else NULL
    if floating is float:
        fl_act_backward_f32(r1 - r0, m, gy + r0 * m, xr, yr, act, alpha, per_unit, gx + r0 * m,
                            dalpha)
    else:
        fl_act_backward_f64(r1 - r0, m, gy + r0 * m, xr, yr, act, alpha, per_unit, gx + r0 * m,
                            dalpha)


cdef void _forward_blocks(fl_index n, fl_index m, const floating *x, int act,
                          const floating *alpha, int per_unit, floating *y,
                          int n_threads) noexcept nogil:
    """y = act(x) over all rows, in fixed blocks of rows shared by n_threads."""
    cdef fl_index nblocks = (n + ROWS_PER_BLOCK - 1) // ROWS_PER_BLOCK, blk, r0
    if n_threads > 1 and nblocks > 1:
        n_threads = fl_threads(n_threads)
    if n_threads > 1 and nblocks > 1:
        for blk in prange(nblocks, schedule="static", num_threads=n_threads):
            r0 = blk * ROWS_PER_BLOCK
            _forward(r0, min(r0 + ROWS_PER_BLOCK, n), m, x, act, alpha, per_unit, y)
    else:
        _forward(0, n, m, x, act, alpha, per_unit, y)


cdef void _backward_blocks(fl_index n, fl_index m, const floating *gy, const floating *x,
                           const floating *y, int act, const floating *alpha, int per_unit,
                           floating *gx, floating *dalpha, int n_threads) noexcept nogil:
    """gx = gy * act'(x or y) over all rows, in blocks shared by n_threads; serial when the
    prelu slope gradient (a sum over rows) is wanted, so its bits never depend on threads."""
    cdef fl_index nblocks = (n + ROWS_PER_BLOCK - 1) // ROWS_PER_BLOCK, blk, r0
    if n_threads > 1 and nblocks > 1:
        n_threads = fl_threads(n_threads)
    if n_threads > 1 and nblocks > 1 and dalpha == NULL:
        for blk in prange(nblocks, schedule="static", num_threads=n_threads):
            r0 = blk * ROWS_PER_BLOCK
            _backward(r0, min(r0 + ROWS_PER_BLOCK, n), m, gy, x, y, act, alpha, per_unit, gx,
                      NULL)
    else:
        _backward(0, n, m, gy, x, y, act, alpha, per_unit, gx, dalpha)


cdef int _alpha_layout(fl_index n_alpha, fl_index m, int activation) except -1:
    if n_alpha == 0:
        if activation == LEAKY_RELU or activation == PRELU:
            raise ValueError("leaky_relu and prelu need alpha")
        return 0
    if n_alpha != 1 and n_alpha != m:
        raise ValueError("alpha must have 1 entry or one per column")
    return n_alpha > 1


def activation_forward(const floating[:, ::1] x not None, floating[:, ::1] out not None,
                       int activation, const floating[::1] alpha not None, int n_threads):
    """out = act(x); out may be x itself."""
    cdef fl_index n = x.shape[0], m = x.shape[1]
    cdef int per_unit = _alpha_layout(alpha.shape[0], m, activation)
    cdef const floating *a = &alpha[0] if alpha.shape[0] > 0 else NULL
    cdef size_t sz = sizeof(floating)
    activation_code(activation)
    if out.shape[0] != n or out.shape[1] != m:
        raise ValueError("activation_forward: out must have the shape of x")
    aligned(start2(x), sz, "x")
    aligned(start2(out), sz, "out")
    aligned(a, sz, "alpha")
    same_or_apart(start2(out), bytes2(out), "out", start2(x), bytes2(x), "x")
    apart(start2(out), bytes2(out), "out", a, bytes1(alpha), "alpha")
    if n == 0 or m == 0:
        return
    with nogil:
        _forward_blocks(n, m, &x[0, 0], activation, a, per_unit, &out[0, 0], n_threads)


def activation_backward(const floating[:, ::1] grad_output not None,
                        const floating[:, ::1] x not None, const floating[:, ::1] y not None,
                        floating[:, ::1] out not None, int activation,
                        const floating[::1] alpha not None, floating[::1] dalpha not None,
                        bint has_x, bint has_y, bint has_dalpha, int n_threads):
    """out = grad_output * act'(x or y); for prelu, dalpha = Σ grad_output * x over x < 0."""
    cdef fl_index n = grad_output.shape[0], m = grad_output.shape[1], j
    cdef int per_unit = _alpha_layout(alpha.shape[0], m, activation)
    cdef const floating *a = &alpha[0] if alpha.shape[0] > 0 else NULL
    cdef const floating *xp = NULL
    cdef const floating *yp = NULL
    cdef floating *da = NULL
    cdef size_t sz = sizeof(floating), out_bytes = bytes2(out)
    activation_code(activation)
    if out.shape[0] != n or out.shape[1] != m:
        raise ValueError("activation_backward: out must have the shape of grad_output")
    if has_x:
        if x.shape[0] != n or x.shape[1] != m:
            raise ValueError("activation_backward: x must have the shape of grad_output")
        xp = &x[0, 0] if n * m > 0 else NULL
    if has_y:
        if y.shape[0] != n or y.shape[1] != m:
            raise ValueError("activation_backward: y must have the shape of grad_output")
        yp = &y[0, 0] if n * m > 0 else NULL
    if n * m > 0:
        # what each activation's backward reads (csrc/fl_activation_tmpl.h)
        if xp == NULL and yp == NULL and activation != 0:
            raise ValueError("activation_backward needs x or y")
        if (activation == SIGMOID or activation == TANH) and yp == NULL:
            raise ValueError("sigmoid and tanh backward need the output y")
        if activation == ABS and xp == NULL:
            raise ValueError("abs backward needs the input x")
        if activation == PRELU and (xp == NULL or a == NULL):
            raise ValueError("prelu backward needs x and alpha")
        if activation == LEAKY_RELU and xp == NULL and not a[0] > 0:
            raise ValueError("leaky_relu with alpha <= 0 needs the input x for its backward")
    if has_dalpha:
        if dalpha.shape[0] != alpha.shape[0]:
            raise ValueError("dalpha must have the shape of alpha")
        da = &dalpha[0] if dalpha.shape[0] > 0 else NULL
    aligned(start2(grad_output), sz, "grad_output")
    aligned(xp, sz, "x")
    aligned(yp, sz, "y")
    aligned(start2(out), sz, "out")
    aligned(a, sz, "alpha")
    aligned(da, sz, "dalpha")
    same_or_apart(start2(out), out_bytes, "out", start2(grad_output), bytes2(grad_output),
                  "grad_output")
    same_or_apart(start2(out), out_bytes, "out", xp, bytes2(x) if has_x else 0, "x")
    same_or_apart(start2(out), out_bytes, "out", yp, bytes2(y) if has_y else 0, "y")
    apart(start2(out), out_bytes, "out", a, bytes1(alpha), "alpha")
    if da != NULL:
        apart(da, bytes1(dalpha), "dalpha", start2(out), out_bytes, "out")
        apart(da, bytes1(dalpha), "dalpha", start2(grad_output), bytes2(grad_output),
              "grad_output")
        apart(da, bytes1(dalpha), "dalpha", xp, bytes2(x) if has_x else 0, "x")
        apart(da, bytes1(dalpha), "dalpha", yp, bytes2(y) if has_y else 0, "y")
        apart(da, bytes1(dalpha), "dalpha", a, bytes1(alpha), "alpha")
        for j in range(dalpha.shape[0]):
            dalpha[j] = 0
    if n == 0 or m == 0:
        return
    with nogil:
        _backward_blocks(n, m, &grad_output[0, 0], xp, yp, activation, a, per_unit, &out[0, 0],
                         da if activation == PRELU else NULL, n_threads)


def activation_forward_plain(x, out, int activation, int n_threads, Py_ssize_t min_elements):
    """out = act(x) for a slope-free activation whose arguments are already right
    (_arrays.pxd); out None allocates it, out may be x. Returns out, or None to send the call
    down the general path. Uses n_threads from min_elements elements on."""
    cdef int t = float_type(x)
    cdef cnp.npy_intp n, m
    if activation < IDENTITY or activation > ABS or activation == LEAKY_RELU or activation == PRELU:
        return None
    if t < 0 or not plain_array(x, t, 2, -1, -1, False):
        return None
    n = cnp.PyArray_DIM(<cnp.ndarray>x, 0)
    m = cnp.PyArray_DIM(<cnp.ndarray>x, 1)
    out = plain_output(out, x, t)
    if out is None or not same_or_disjoint(out, x):
        return None
    cdef const void *xp = data(x)
    cdef void *yp = data(out)
    if n * m < min_elements:
        n_threads = 1
    with nogil:
        if t == cnp.NPY_FLOAT:
            _forward_blocks(n, m, <const float *>xp, activation, NULL, 0, <float *>yp, n_threads)
        else:
            _forward_blocks(n, m, <const double *>xp, activation, NULL, 0, <double *>yp,
                            n_threads)
    return out


def activation_backward_plain(grad_output, src, bint src_is_output, out, int activation,
                              int n_threads, Py_ssize_t min_elements):
    """out = grad_output * act'(src) for a slope-free activation, src being its input x or (if
    src_is_output) its output y, all already right (_arrays.pxd); out None allocates it, out
    may be grad_output. Returns out, or None to send the call down the general path."""
    cdef int t = float_type(grad_output)
    cdef cnp.npy_intp n, m
    cdef const void *xp = NULL
    cdef const void *yp = NULL
    if activation < IDENTITY or activation > ABS or activation == LEAKY_RELU or activation == PRELU:
        return None
    # sigmoid and tanh read the output, abs the input (csrc/fl_activation_tmpl.h)
    if (activation == SIGMOID or activation == TANH) and not src_is_output:
        return None
    if activation == ABS and src_is_output:
        return None
    if t < 0 or not plain_array(grad_output, t, 2, -1, -1, False):
        return None
    n = cnp.PyArray_DIM(<cnp.ndarray>grad_output, 0)
    m = cnp.PyArray_DIM(<cnp.ndarray>grad_output, 1)
    if not plain_array(src, t, 2, n, m, False):
        return None
    out = plain_output(out, grad_output, t)
    if (out is None or not same_or_disjoint(out, grad_output)
            or not same_or_disjoint(out, src)):
        return None
    cdef const void *gp = data(grad_output)
    cdef void *op = data(out)
    if src_is_output:
        yp = data(src)
    else:
        xp = data(src)
    if n * m < min_elements:
        n_threads = 1
    with nogil:
        if t == cnp.NPY_FLOAT:
            _backward_blocks(n, m, <const float *>gp, <const float *>xp, <const float *>yp,
                             activation, NULL, 0, <float *>op, NULL, n_threads)
        else:
            _backward_blocks(n, m, <const double *>gp, <const double *>xp, <const double *>yp,
                             activation, NULL, 0, <double *>op, NULL, n_threads)
    return out
