"""Softmax and the fused losses: mean loss and its gradient in one pass over each row.

Design: rows are cut into fixed blocks of ROWS_PER_BLOCK; each block's summed loss lands in
its own slot and the slots are added in order afterwards, so the loss is bitwise the same for
any thread count. Labels are checked in a first O(n) pass (which also totals the weights the
mean divides by) before any row kernel trusts them as indices.
"""
cimport numpy as cnp
from cython cimport floating
from cython.parallel cimport prange
from libc.stdint cimport int64_t
from libc.stdlib cimport malloc, free

from fastlin._kernels._arrays cimport data, float_type, overlaps, plain_array
from fastlin._kernels._contracts cimport (aligned, apart, bytes1, bytes2, fl_threads,
                                         same_or_apart, smoothing_in_range, start1, start2)

from fastlin._kernels._csrc cimport (
    fl_index, fl_softmax_rows_f32, fl_softmax_rows_f64, fl_label_weight_total_f32,
    fl_label_weight_total_f64, fl_softmax_xent_labels_f32, fl_softmax_xent_labels_f64,
    fl_softmax_xent_probs_f32, fl_softmax_xent_probs_f64, fl_sigmoid_bce_f32, fl_sigmoid_bce_f64,
    fl_mse_f32, fl_mse_f64, fl_robust_f32, fl_robust_f64,
)

cnp.import_array()

cdef fl_index ROWS_PER_BLOCK = 64

# Which fused loss a block runs.
cdef enum LossKind:
    XENT_LABELS
    XENT_PROBS
    SIGMOID_BCE
    MSE
    SMOOTH_L1   # smoothing carries beta (0: L1)
    HUBER       # smoothing carries delta


cdef inline const floating *_opt(const floating[::1] a) noexcept nogil:
    return &a[0] if a.shape[0] > 0 else NULL


cdef double _block(LossKind kind, fl_index r0, fl_index r1, fl_index m, const floating *z,
                   const floating *t, const int64_t *labels, const floating *sw,
                   const floating *cw, double smoothing, double scale,
                   floating *g) noexcept nogil:
    cdef fl_index n = r1 - r0
    cdef const floating *swr = sw + r0 if sw != NULL else NULL
    cdef floating *gr = g + r0 * m if g != NULL else NULL
    if kind == XENT_LABELS:
        if floating is float:
            return fl_softmax_xent_labels_f32(n, m, z + r0 * m, labels + r0, swr, cw, smoothing, scale, gr)
        else:
            return fl_softmax_xent_labels_f64(n, m, z + r0 * m, labels + r0, swr, cw, smoothing, scale, gr)
    elif kind == XENT_PROBS:
        if floating is float:
            return fl_softmax_xent_probs_f32(n, m, z + r0 * m, t + r0 * m, swr, cw, smoothing, scale, gr)
        else:
            return fl_softmax_xent_probs_f64(n, m, z + r0 * m, t + r0 * m, swr, cw, smoothing, scale, gr)
    elif kind == SIGMOID_BCE:
        if floating is float:
            return fl_sigmoid_bce_f32(n, m, z + r0 * m, t + r0 * m, swr, cw, scale, gr)
        else:
            return fl_sigmoid_bce_f64(n, m, z + r0 * m, t + r0 * m, swr, cw, scale, gr)
    elif kind == MSE:
        if floating is float:
            return fl_mse_f32(n, m, z + r0 * m, t + r0 * m, swr, scale, gr)
        else:
            return fl_mse_f64(n, m, z + r0 * m, t + r0 * m, swr, scale, gr)
    else:
        if floating is float:
            return fl_robust_f32(n, m, z + r0 * m, t + r0 * m, swr, kind == HUBER, smoothing,
                                 scale, gr)
        else:
            return fl_robust_f64(n, m, z + r0 * m, t + r0 * m, swr, kind == HUBER, smoothing,
                                 scale, gr)


cdef double _run_blocks(LossKind kind, fl_index n, fl_index m, const floating *z,
                        const floating *t, const int64_t *labels, const floating *sw,
                        const floating *cw, double smoothing, double scale, floating *g,
                        int n_threads) except? -1.0:
    cdef fl_index nblocks = (n + ROWS_PER_BLOCK - 1) // ROWS_PER_BLOCK, blk, r0
    cdef double total = 0.0
    cdef double *partial
    if nblocks <= 1:
        return _block(kind, 0, n, m, z, t, labels, sw, cw, smoothing, scale, g)
    n_threads = fl_threads(n_threads)
    partial = <double *>malloc(nblocks * sizeof(double))
    if partial == NULL:
        raise MemoryError()
    with nogil:
        if n_threads > 1:
            for blk in prange(nblocks, schedule="static", num_threads=n_threads):
                r0 = blk * ROWS_PER_BLOCK
                partial[blk] = _block(kind, r0, min(r0 + ROWS_PER_BLOCK, n), m, z, t, labels, sw,
                                      cw, smoothing, scale, g)
        else:
            for blk in range(nblocks):
                r0 = blk * ROWS_PER_BLOCK
                partial[blk] = _block(kind, r0, min(r0 + ROWS_PER_BLOCK, n), m, z, t, labels, sw,
                                      cw, smoothing, scale, g)
        for blk in range(nblocks):
            total += partial[blk]
    free(partial)
    return total


cdef int _loss_buffers(const floating[:, ::1] z, str z_name, const void *t, size_t tb,
                       const void *g, size_t gb, const floating[::1] sw,
                       const floating[::1] cw, str cw_name) except -1:
    """The buffers of a general loss call aligned, and the gradient g (gb bytes; NULL when not
    computed) apart from every input (t: the float target, tb bytes, or NULL)."""
    cdef size_t sz = sizeof(floating)
    aligned(start2(z), sz, z_name)
    aligned(t, sz, "target")
    aligned(g, sz, "grad")
    aligned(start1(sw), sz, "sample_weight")
    aligned(start1(cw), sz, cw_name)
    apart(g, gb, "grad", start2(z), bytes2(z), z_name)
    apart(g, gb, "grad", t, tb, "target")
    apart(g, gb, "grad", start1(sw), bytes1(sw), "sample_weight")
    apart(g, gb, "grad", start1(cw), bytes1(cw), cw_name)
    return 0


cdef double _weight_sum(const floating[::1] sw, fl_index n, fl_index per_row) noexcept nogil:
    cdef double total = 0.0
    cdef fl_index i
    if sw.shape[0] == 0:
        return <double>n * per_row
    for i in range(n):
        total += sw[i]
    return total * per_row


def softmax(const floating[:, ::1] x not None, floating[:, ::1] out not None, bint log,
            int n_threads):
    """out = softmax(x) (or log_softmax when log) row by row; out may be x."""
    cdef fl_index n = x.shape[0], m = x.shape[1], blk, r0
    cdef fl_index nblocks = (n + ROWS_PER_BLOCK - 1) // ROWS_PER_BLOCK
    if out.shape[0] != n or out.shape[1] != m:
        raise ValueError("softmax: out must have the shape of x")
    aligned(start2(x), sizeof(floating), "x")
    aligned(start2(out), sizeof(floating), "out")
    same_or_apart(start2(out), bytes2(out), "out", start2(x), bytes2(x), "x")
    if n == 0 or m == 0:
        return
    if n_threads > 1 and nblocks > 1:
        n_threads = fl_threads(n_threads)
    with nogil:
        if n_threads > 1 and nblocks > 1:
            for blk in prange(nblocks, schedule="static", num_threads=n_threads):
                r0 = blk * ROWS_PER_BLOCK
                if floating is float:
                    fl_softmax_rows_f32(min(r0 + ROWS_PER_BLOCK, n) - r0, m, &x[r0, 0], &out[r0, 0], log)
                else:
                    fl_softmax_rows_f64(min(r0 + ROWS_PER_BLOCK, n) - r0, m, &x[r0, 0], &out[r0, 0], log)
        else:
            if floating is float:
                fl_softmax_rows_f32(n, m, &x[0, 0], &out[0, 0], log)
            else:
                fl_softmax_rows_f64(n, m, &x[0, 0], &out[0, 0], log)


cdef double _xent_labels(fl_index n, fl_index m, const floating *z, const int64_t *labels,
                        const floating *sw, const floating *cw, double smoothing, floating *g,
                        int n_threads) except? -1.0:
    cdef fl_index bad
    cdef double total_weight = 0.0
    if n == 0 or m == 0:
        raise ValueError("softmax_cross_entropy: empty logits")
    with nogil:
        if floating is float:
            bad = fl_label_weight_total_f32(n, m, labels, sw, cw, &total_weight)
        else:
            bad = fl_label_weight_total_f64(n, m, labels, sw, cw, &total_weight)
    if bad >= 0:
        raise ValueError(f"label {labels[bad]} at index {bad} is outside [0, {m}) for {m} classes")
    if not total_weight > 0:
        raise ValueError("softmax_cross_entropy: the targets' total weight is not positive")
    return _run_blocks(XENT_LABELS, n, m, z, <const floating *>NULL, labels, sw, cw,
                       smoothing, 1.0 / total_weight, g, n_threads) / total_weight


def softmax_cross_entropy_labels(const floating[:, ::1] logits not None,
                                 const int64_t[::1] labels not None,
                                 floating[:, ::1] grad not None,
                                 const floating[::1] sample_weight not None,
                                 const floating[::1] class_weight not None,
                                 double label_smoothing, int n_threads):
    """Mean softmax cross-entropy over integer labels; grad = d mean / d logits."""
    cdef fl_index n = logits.shape[0], m = logits.shape[1]
    cdef const floating *sw = _opt(sample_weight)
    cdef const floating *cw = _opt(class_weight)
    if labels.shape[0] != n or grad.shape[0] != n or grad.shape[1] != m:
        raise ValueError("softmax_cross_entropy: logits, labels and grad disagree in shape")
    if (sw != NULL and sample_weight.shape[0] != n) or (cw != NULL and class_weight.shape[0] != m):
        raise ValueError("softmax_cross_entropy: weights have the wrong length")
    if n == 0 or m == 0:
        raise ValueError("softmax_cross_entropy: empty logits")
    smoothing_in_range(label_smoothing)
    _loss_buffers(logits, "logits", NULL, 0, start2(grad), bytes2(grad), sample_weight,
                  class_weight, "class_weight")
    aligned(&labels[0], sizeof(int64_t), "labels")
    apart(&grad[0, 0], bytes2(grad), "grad", &labels[0], labels.shape[0] * sizeof(int64_t),
          "labels")
    return _xent_labels(n, m, &logits[0, 0], &labels[0], sw, cw, label_smoothing, &grad[0, 0],
                        n_threads)


def softmax_cross_entropy_labels_plain(logits, labels, grad, int n_threads,
                                       Py_ssize_t min_elements):
    """The unweighted, unsmoothed call whose arguments are already right (_arrays.pxd): float
    logits, int64 labels, a separate writeable grad. Returns the mean loss, or None to send the
    call down the general path. Uses n_threads from min_elements logits on."""
    cdef int t = float_type(logits)
    cdef cnp.npy_intp n, m
    if t < 0 or not plain_array(logits, t, 2, -1, -1, False):
        return None
    n = cnp.PyArray_DIM(<cnp.ndarray>logits, 0)
    m = cnp.PyArray_DIM(<cnp.ndarray>logits, 1)
    if (not plain_array(labels, cnp.NPY_INT64, 1, n, -1, False)
            or not plain_array(grad, t, 2, n, m, True)
            or overlaps(grad, logits) or overlaps(grad, labels)):
        return None
    if n * m < min_elements:
        n_threads = 1
    if t == cnp.NPY_FLOAT:
        return _xent_labels(n, m, <const float *>data(logits), <const int64_t *>data(labels),
                            <const float *>NULL, <const float *>NULL, 0.0, <float *>data(grad),
                            n_threads)
    return _xent_labels(n, m, <const double *>data(logits), <const int64_t *>data(labels),
                        <const double *>NULL, <const double *>NULL, 0.0, <double *>data(grad),
                        n_threads)


def softmax_cross_entropy_probs(const floating[:, ::1] logits not None,
                                const floating[:, ::1] target not None,
                                floating[:, ::1] grad not None,
                                const floating[::1] sample_weight not None,
                                const floating[::1] class_weight not None,
                                double label_smoothing, int n_threads):
    """Mean softmax cross-entropy against probability rows; grad = d mean / d logits."""
    cdef fl_index n = logits.shape[0], m = logits.shape[1]
    cdef const floating *sw = _opt(sample_weight)
    cdef const floating *cw = _opt(class_weight)
    cdef double total_weight
    if (target.shape[0] != n or target.shape[1] != m or grad.shape[0] != n
            or grad.shape[1] != m):
        raise ValueError("softmax_cross_entropy: logits, target and grad disagree in shape")
    if (sw != NULL and sample_weight.shape[0] != n) or (cw != NULL and class_weight.shape[0] != m):
        raise ValueError("softmax_cross_entropy: weights have the wrong length")
    if n == 0 or m == 0:
        raise ValueError("softmax_cross_entropy: empty logits")
    smoothing_in_range(label_smoothing)
    _loss_buffers(logits, "logits", start2(target), bytes2(target), start2(grad), bytes2(grad),
                  sample_weight, class_weight, "class_weight")
    total_weight = _weight_sum(sample_weight, n, 1)
    if not total_weight > 0:
        raise ValueError("softmax_cross_entropy: the total sample weight is not positive")
    return _run_blocks(XENT_PROBS, n, m, &logits[0, 0], &target[0, 0], <const int64_t *>NULL, sw,
                       cw, label_smoothing, 1.0 / total_weight, &grad[0, 0],
                       n_threads) / total_weight


cdef double _elementwise(LossKind kind, fl_index n, fl_index m, const floating *z,
                        const floating *t, const floating *sw, const floating *cw, floating *g,
                        int n_threads, double beta=0.0) except? -1.0:
    cdef double total_weight = 0.0
    cdef fl_index i
    if n == 0 or m == 0:
        raise ValueError("loss: empty prediction")
    if sw == NULL:
        total_weight = <double>n * m
    else:
        for i in range(n):
            total_weight += sw[i]
        total_weight *= m
    if not total_weight > 0:
        raise ValueError("loss: the total sample weight is not positive")
    return _run_blocks(kind, n, m, z, t, <const int64_t *>NULL, sw, cw, beta, 1.0 / total_weight,
                       g, n_threads) / total_weight


def _elementwise_loss(LossKind kind, const floating[:, ::1] z, const floating[:, ::1] target,
                      floating[:, ::1] grad, const floating[::1] sample_weight,
                      const floating[::1] column_weight, bint has_grad, int n_threads,
                      double beta=0.0):
    cdef fl_index n = z.shape[0], m = z.shape[1]
    cdef const floating *sw = _opt(sample_weight)
    cdef const floating *pw = _opt(column_weight)
    if target.shape[0] != n or target.shape[1] != m:
        raise ValueError("loss: prediction and target disagree in shape")
    if has_grad and (grad.shape[0] != n or grad.shape[1] != m):
        raise ValueError("loss: grad must have the shape of the prediction")
    if (sw != NULL and sample_weight.shape[0] != n) or (pw != NULL and column_weight.shape[0] != m):
        raise ValueError("loss: weights have the wrong length")
    if n == 0 or m == 0:
        raise ValueError("loss: empty prediction")
    _loss_buffers(z, "logits" if kind == SIGMOID_BCE else "pred", start2(target),
                  bytes2(target), start2(grad) if has_grad else NULL,
                  bytes2(grad) if has_grad else 0, sample_weight, column_weight, "pos_weight")
    return _elementwise(kind, n, m, &z[0, 0], &target[0, 0], sw, pw,
                        &grad[0, 0] if has_grad else NULL, n_threads, beta)


def elementwise_loss_plain(bint bce, z, target, grad, int n_threads, Py_ssize_t min_elements):
    """Unweighted BCE-with-logits (bce) or MSE whose arguments are already right (_arrays.pxd):
    float z, target of its shape and dtype, a separate writeable grad. Returns the mean loss,
    or None to send the call down the general path."""
    cdef int t = float_type(z)
    cdef cnp.npy_intp n, m
    cdef LossKind kind = SIGMOID_BCE if bce else MSE
    if t < 0 or not plain_array(z, t, 2, -1, -1, False):
        return None
    n = cnp.PyArray_DIM(<cnp.ndarray>z, 0)
    m = cnp.PyArray_DIM(<cnp.ndarray>z, 1)
    if (not plain_array(target, t, 2, n, m, False) or not plain_array(grad, t, 2, n, m, True)
            or overlaps(grad, z) or overlaps(grad, target)):
        return None
    if n * m < min_elements:
        n_threads = 1
    if t == cnp.NPY_FLOAT:
        return _elementwise(kind, n, m, <const float *>data(z), <const float *>data(target),
                            <const float *>NULL, <const float *>NULL, <float *>data(grad),
                            n_threads)
    return _elementwise(kind, n, m, <const double *>data(z), <const double *>data(target),
                        <const double *>NULL, <const double *>NULL, <double *>data(grad),
                        n_threads)


def sigmoid_binary_cross_entropy(const floating[:, ::1] logits not None,
                                 const floating[:, ::1] target not None,
                                 floating[:, ::1] grad not None,
                                 const floating[::1] sample_weight not None,
                                 const floating[::1] pos_weight not None,
                                 bint has_grad, int n_threads):
    """Mean binary cross-entropy with logits over all elements; grad = d mean / d logits."""
    return _elementwise_loss(SIGMOID_BCE, logits, target, grad, sample_weight, pos_weight,
                             has_grad, n_threads)


def mse(const floating[:, ::1] pred not None, const floating[:, ::1] target not None,
        floating[:, ::1] grad not None, const floating[::1] sample_weight not None,
        bint has_grad, int n_threads):
    """Mean squared error over all elements; grad = d mean / d pred."""
    return _elementwise_loss(MSE, pred, target, grad, sample_weight, sample_weight[:0],
                             has_grad, n_threads)


def robust_loss(const floating[:, ::1] pred not None, const floating[:, ::1] target not None,
                floating[:, ::1] grad not None, const floating[::1] sample_weight not None,
                bint huber, double beta, bint has_grad, int n_threads):
    """Mean L1 (beta 0), smooth L1 (beta > 0) or, with huber, Huber loss (beta: delta) over all
    elements, as torch.nn defines them; grad = d mean / d pred."""
    if not (beta >= 0.0 and beta - beta == 0) or (huber and beta == 0.0):
        raise ValueError(f"{'delta' if huber else 'beta'} must be finite and "
                         f"{'> 0' if huber else '>= 0'}, got {beta}")
    return _elementwise_loss(HUBER if huber else SMOOTH_L1, pred, target, grad, sample_weight,
                             sample_weight[:0], has_grad, n_threads, beta)
