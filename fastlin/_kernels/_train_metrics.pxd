# The error sums behind fit's "mae" and "mse" metrics, for fastlin/_kernels/train.pyx: the
# batch's outputs are already in the last layer's buffer, so one pass over them (m x k values,
# a few microseconds against the step's matrix products) adds their errors to the run's sums.
# fastlin/training/metrics.py computes the same sums for the Python loop and evaluate.
from cython cimport floating
from libc.math cimport exp, fabs
from libc.stdint cimport int64_t

from fastlin._kernels._codes cimport BCE, XENT_LABELS, XENT_PROBS
from fastlin._kernels._csrc cimport fl_index
from fastlin._kernels._train_step cimport LayerState


cdef inline void _add_error(double p, double t, double *out) noexcept nogil:
    out[4] += fabs(p - t)
    out[5] += (p - t) * (p - t)


cdef inline void _metric_sums(int kind, fl_index m, fl_index k, const floating *z,
                              const int64_t *lab, const floating *tgt,
                              double *out) noexcept nogil:
    """Add sum |p - t| to out[4] and sum (p - t)^2 to out[5] over the batch's outputs, where p
    is what the model predicts in Keras's terms: the output itself under a regression loss, its
    sigmoid under BCE, its row's softmax under cross-entropy (t one-hot for labels)."""
    cdef fl_index i, j
    cdef const floating *row
    cdef double mx, total
    for i in range(m):
        row = z + i * k
        if kind == XENT_LABELS or kind == XENT_PROBS:
            mx = row[0]
            for j in range(1, k):
                mx = row[j] if row[j] > mx else mx
            total = 0.0
            for j in range(k):
                total += exp(row[j] - mx)
            for j in range(k):
                _add_error(exp(row[j] - mx) / total,
                           (j == lab[i]) if kind == XENT_LABELS else tgt[i * k + j], out)
        elif kind == BCE:
            for j in range(k):
                _add_error(1.0 / (1.0 + exp(-row[j])), tgt[i * k + j], out)
        else:
            for j in range(k):
                _add_error(row[j], tgt[i * k + j], out)


cdef inline void _linear1_metrics(int kind, LayerState *L, const floating *X, fl_index d,
                                  const floating *T, const int64_t *rows, fl_index start,
                                  fl_index m, double *out) noexcept nogil:
    """_metric_sums for a lone Dense(d, 1), whose one-pass step keeps no outputs: each row's
    output x.w + b is formed again, before the step changes w."""
    cdef const floating *W = <const floating *>L.W
    cdef fl_index r, j, row
    cdef double zr
    for r in range(m):
        row = rows[r] if rows != NULL else start + r
        zr = (<const floating *>L.b)[0] if L.has_bias else 0.0
        for j in range(d):
            zr += X[row * d + j] * W[j]
        _add_error(1.0 / (1.0 + exp(-zr)) if kind == BCE else zr, T[row], out)
