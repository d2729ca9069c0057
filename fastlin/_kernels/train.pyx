"""The whole minibatch loop of ``fit`` in one call per epoch: gather, forward, fused loss,
backward and the optimizer update for a stack of Dense layers each followed by an optional
activation.

Design: the Python path makes about a dozen kernel calls per step, each paying argument
checks; here the network is described once per fit as an array of LayerState structs
(pointers into the layers' own NumPy buffers) and every step runs without the GIL. Each step
performs the same C/BLAS calls, in the same order and with the same arguments, as
Sequential.forward/backward and the optimizers' step(), so both paths give bitwise the same
weights; the exception is a lone Dense(d, 1) under MSE or BCE, whose forward, loss and
gradient run in one pass over the rows (csrc/fl_linear.h) and agree with the Python path to
rounding. Activations here are those whose backward reads the output (identity, relu,
leaky_relu with alpha > 0, sigmoid, tanh); other stacks use the Python path. The step's
pieces (activation passes, fused loss, optimizer update, the one-pass step) are inline
functions of _train_step.pxd; this module holds the loop over batches and the plan.
"""
from cython cimport floating
from libc.math cimport INFINITY, isfinite
from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

from fastlin._kernels._blas cimport gemm_rm
from fastlin._kernels._codes cimport (
    ABS, ADAGRAD, ADAM, BAD_LABEL, BAD_WEIGHT, BCE, HUBER, IDENTITY, LEAKY_RELU, MSE,
    NONFINITE_PARAMS, NO_WEIGHT, NOT_FINITE, OK, PRELU, RMSPROP, SGD, XENT_LABELS, XENT_PROBS,
)
from fastlin._kernels._contracts cimport aligned, blas_dim, smoothing_in_range
from fastlin._kernels._csrc cimport (
    FL_LINEAR_AHEAD, fl_index, fl_indices_in_range, fl_column_sum_f32, fl_column_sum_f64,
    fl_label_weight_total_f32, fl_label_weight_total_f64, fl_permutation, fl_dropout_f32,
    fl_dropout_f64, fl_prefetch_bytes,
)
from fastlin._kernels._train_step cimport (
    LayerState, ROWS_PER_BLOCK, Settings, _act_backward, _act_forward, _all_finite,
    _count_correct, _layer_output, _linear1_step, _loss_block, _min_elements, _mix64,
    _check_state, _update_all,
)
from fastlin._kernels._train_metrics cimport _linear1_metrics, _metric_sums

import numpy as np

from fastlin._kernels._plan import (LayerPlan, WrittenSpans, check_disjoint,  # noqa: F401
                                    filled, or_empty, plan_buffers)  # (LayerPlan: API)

# Rows requested ahead while gathering a shuffled batch: a random row of a large X is a cache
# miss (~100 ns), so without prefetching the gather, not the math, bounds a small model's step.
cdef fl_index PREFETCH_ROWS = 8
# Largest batch (rows x features) that a one-output linear model trains through the one-pass
# kernel of csrc/fl_linear.h (4 MB of float32); larger ones take the GEMV path.
cdef fl_index LINEAR1_MAX_ELEMENTS = 1 << 20


def dropout_seed(uint64_t epoch_seed, uint64_t batch, uint64_t layer):
    """The seed of one Dropout layer's mask in one batch of an epoch: the compiled loop and the
    Python loop (fastlin.layers.Dropout) derive it the same way, so they drop the same units."""
    return _mix64(epoch_seed + (batch << 8) + layer)


def dropout(const floating[::1] a not None, floating[::1] mask not None,
            floating[::1] out not None, uint64_t seed, double p):
    """Inverted dropout of a into out, the mask into mask (csrc/fl_random.h); 0 <= p < 1."""
    if not (0.0 <= p < 1.0):
        raise ValueError(f"dropout probability must be in [0, 1), got {p}")
    if mask.shape[0] != a.shape[0] or out.shape[0] != a.shape[0]:
        raise ValueError("dropout: a, mask and out must have the same length")
    with nogil:
        if floating is float:
            fl_dropout_f32(a.shape[0], seed, p, &a[0] if a.shape[0] else NULL,
                           &mask[0] if a.shape[0] else NULL, &out[0] if a.shape[0] else NULL)
        else:
            fl_dropout_f64(a.shape[0], seed, p, &a[0] if a.shape[0] else NULL,
                           &mask[0] if a.shape[0] else NULL, &out[0] if a.shape[0] else NULL)


cdef fl_index _run(floating *tag, LayerState *layers, int n_layers, const Settings *s,
                   const floating *X, fl_index d, const int64_t *labels, const floating *T,
                   fl_index t_cols, const floating *SW, const int64_t *order, fl_index n,
                   fl_index batch, fl_index b0, fl_index b1, floating *xb, int64_t *lb,
                   floating *tb, floating *swb, const floating *cw, int64_t step0,
                   double *out) noexcept nogil:
    """Train on batches [b0, b1). out = [sum loss*weight, sum weight, n correct, steps done,
    sum |error|, sum error^2] (the last two when s.metrics)."""
    cdef fl_index bi, start, m, r, idx, l, k, nblocks, blk, r0, i, status
    cdef const floating *xin
    cdef const int64_t *lab
    cdef const floating *tgt
    cdef const floating *sw
    cdef LayerState *L
    cdef floating *z
    cdef double total_weight, value, w, sw_sum
    cdef int nt
    # one pass, one thread: for batches beyond LINEAR1_MAX_ELEMENTS BLAS's threads win instead
    cdef bint linear1 = (n_layers == 1 and layers[0].n_out == 1 and layers[0].act == IDENTITY
                         and (s.loss_kind == BCE or s.loss_kind == MSE)
                         and batch * d <= LINEAR1_MAX_ELEMENTS)
    for bi in range(b0, b1):
        start = bi * batch
        m = min(batch, n - start)
        if linear1:
            # linear or logistic regression: one pass over the rows (csrc/fl_linear.h)
            if s.metrics:
                _linear1_metrics(s.loss_kind, &layers[0], X, d, T,
                                 order + start if order != NULL else NULL, start, m, out)
            status = _linear1_step(layers, s, X, d, T, SW, order, start, m, n, cw, out)
            if status == NO_WEIGHT:
                continue
            if status != OK:
                return bi if status == NOT_FINITE else status
            _update_all(tag, s, layers, n_layers, step0 + <int64_t>out[3] + 1)
            out[3] += 1
            continue
        # gather the batch (views when not shuffled, as the Python path does)
        if order == NULL:
            xin = X + start * d
            lab = labels + start if labels != NULL else NULL
            tgt = T + start * t_cols if T != NULL else NULL
            sw = SW + start if SW != NULL else NULL
        else:
            for r in range(min(PREFETCH_ROWS, m)):
                fl_prefetch_bytes(X + order[start + r] * d, d * sizeof(floating))
            for r in range(m):
                if r + PREFETCH_ROWS < m:
                    fl_prefetch_bytes(X + order[start + r + PREFETCH_ROWS] * d,
                                      d * sizeof(floating))
                idx = order[start + r]
                memcpy(xb + r * d, X + idx * d, d * sizeof(floating))
                if labels != NULL:
                    lb[r] = labels[idx]
                if T != NULL:
                    memcpy(tb + r * t_cols, T + idx * t_cols, t_cols * sizeof(floating))
                if SW != NULL:
                    swb[r] = SW[idx]
            xin = xb
            lab = lb if labels != NULL else NULL
            tgt = tb if T != NULL else NULL
            sw = swb if SW != NULL else NULL
        # forward: GEMM, then bias and activation fused in one pass
        for l in range(n_layers):
            L = &layers[l]
            nt = s.n_threads if m * L.n_out >= _min_elements(s, L.act) else 1
            gemm_rm(False, False, <int>m, <int>L.n_out, <int>L.n_in, 1.0,
                    xin if l == 0 else _layer_output(tag, &layers[l - 1]), <int>L.n_in,
                    <floating *>L.W, <int>L.n_out, 0.0, <floating *>L.A, <int>L.n_out, nt)
            if L.act != IDENTITY or L.has_bias:
                _act_forward(m, L.n_out, <floating *>L.A, <floating *>L.b if L.has_bias else NULL,
                             L.act, <floating *>L.alpha, nt)
            if L.D != NULL:
                if floating is float:
                    fl_dropout_f32(m * L.n_out, _mix64(s.drop_seed + (<uint64_t>bi << 8) + L.drop_id),
                                   L.drop_p, <float *>L.A, <float *>L.M, <float *>L.D)
                else:
                    fl_dropout_f64(m * L.n_out, _mix64(s.drop_seed + (<uint64_t>bi << 8) + L.drop_id),
                                   L.drop_p, <double *>L.A, <double *>L.M, <double *>L.D)
        # fused loss and its gradient into the last layer's G
        L = &layers[n_layers - 1]
        k = L.n_out
        z = <floating *>L.A
        sw_sum = 0.0
        if sw != NULL:
            for r in range(m):
                sw_sum += sw[r]
        if s.loss_kind == XENT_LABELS:
            if floating is float:
                if fl_label_weight_total_f32(m, k, lab, sw, cw, &total_weight) >= 0:
                    return BAD_LABEL
            else:
                if fl_label_weight_total_f64(m, k, lab, sw, cw, &total_weight) >= 0:
                    return BAD_LABEL
        elif s.loss_kind == XENT_PROBS:
            total_weight = sw_sum if sw != NULL else <double>m
        else:
            total_weight = (sw_sum if sw != NULL else <double>m) * k
        if s.metrics:
            _metric_sums(s.loss_kind, m, k, z, lab, tgt, out)
        if total_weight == 0:
            # no weight in the mean: no gradient and no step, as the Python loop does (the
            # rows still count in the epoch's accuracy, as every row does)
            _count_correct(s.loss_kind, m, k, z, lab, tgt, out)
            continue
        if not total_weight > 0:
            return BAD_WEIGHT
        nblocks = (m + ROWS_PER_BLOCK - 1) // ROWS_PER_BLOCK
        if nblocks <= 1:
            value = _loss_block(s.loss_kind, 0, m, k, z, lab, tgt, sw, cw, s.smoothing,
                                1.0 / total_weight, <floating *>L.G, s.loss_param)
        else:
            value = 0.0
            for blk in range(nblocks):
                r0 = blk * ROWS_PER_BLOCK
                value += _loss_block(s.loss_kind, r0, min(r0 + ROWS_PER_BLOCK, m), k, z, lab, tgt,
                                     sw, cw, s.smoothing, 1.0 / total_weight, <floating *>L.G,
                                     s.loss_param)
        value = value / total_weight
        if not isfinite(value):
            return bi
        w = sw_sum if sw != NULL else <double>m
        out[0] += value * w
        out[1] += w
        _count_correct(s.loss_kind, m, k, z, lab, tgt, out)
        # backward, last layer first
        for l in range(n_layers - 1, -1, -1):
            L = &layers[l]
            if L.D != NULL:  # G holds d loss / d D: through the mask to d loss / d A
                z = <floating *>L.G
                for i in range(m * L.n_out):
                    z[i] *= (<floating *>L.M)[i]
            if L.act != IDENTITY:
                nt = s.n_threads if m * L.n_out >= _min_elements(s, L.act) else 1
                _act_backward(m, L.n_out, <floating *>L.G, <floating *>L.A, L.act,
                              <floating *>L.alpha, nt)
            gemm_rm(True, False, <int>L.n_in, <int>L.n_out, <int>m, 1.0,
                    xin if l == 0 else _layer_output(tag, &layers[l - 1]), <int>L.n_in,
                    <floating *>L.G, <int>L.n_out, 0.0, <floating *>L.dW, <int>L.n_out, 1)
            if L.has_bias:
                if floating is float:
                    fl_column_sum_f32(m, L.n_out, <float *>L.G, <float *>L.db)
                else:
                    fl_column_sum_f64(m, L.n_out, <double *>L.G, <double *>L.db)
            if l > 0:
                gemm_rm(False, True, <int>m, <int>L.n_in, <int>L.n_out, 1.0, <floating *>L.G,
                        <int>L.n_out, <floating *>L.W, <int>L.n_out, 0.0,
                        <floating *>layers[l - 1].G, <int>L.n_in, 1)
        _update_all(tag, s, layers, n_layers, step0 + <int64_t>out[3] + 1)
        out[3] += 1
    return OK


cdef inline size_t _copy_to_or_from(void *array, void *saved, size_t nbytes,
                                    bint restore) noexcept nogil:
    """Copy nbytes from array into saved, or back when restore; returns nbytes."""
    if restore:
        memcpy(array, saved, nbytes)
    else:
        memcpy(saved, array, nbytes)
    return nbytes


cdef void *_ptr(floating[::1] a) noexcept:
    return <void *>&a[0] if a.shape[0] > 0 else NULL


cdef class TrainPlan:
    """One fit's network, data and optimizer, described once as C structs; ``run`` then trains
    on a range of batches of an epoch without the GIL.

    Building the description (a dozen buffer acquisitions per layer) cost ~9 us, which a small
    model paid every epoch when it was rebuilt per call. The plan keeps references to every
    array it points into, so the pointers stay valid while it lives. The data (X, labels,
    target, sample_weight) can be let go (``release_data``) and another data set of the same
    width bound (``bind_data``) without describing the layers again: fit keeps a model's plan
    from one call to the next that way, and never keeps the caller's data alive.

    Parameters
    ----------
    X : array of shape (n_samples, n_features), float32 or float64
    layers : list of LayerPlan, first layer first
    batch : rows per batch
    loss_kind : a LossKind; XENT_LABELS reads ``labels`` (int64, n_samples), the others
        ``target`` (n_samples, n_outputs); SMOOTH_L1 and HUBER read ``loss_param`` (beta, delta)
    sample_weight : (n_samples,), or None for equal weights
    class_weight : per-output weights (class weights of cross-entropy, BCE's pos_weight)
    smoothing : cross-entropy's label smoothing
    opt_kind : an OptimizerKind; SGD reads momentum, nesterov and weight_decay, ADAM beta1,
        beta2, eps, weight_decay and decoupled (AdamW), RMSPROP alpha, eps, weight_decay and
        momentum, ADAGRAD lr_decay, eps and weight_decay. Its state lives in the LayerPlans.
    metrics : nonzero to add the outputs' error sums (fit's "mae"/"mse") to each run's sums
    lr : the learning rate (``run`` sets it again for each call)
    n_threads, parallel_min, parallel_min_cheap, parallel_min_adam : the OpenMP thread count
        and the sizes from which exp-heavy, memory-bound and Adam kernels use it
    batch_X, batch_labels, batch_target, batch_weight : at least one batch of rows each, into
        which a shuffled batch is gathered (batch_target (0, 0) without a target)
    """
    cdef LayerState *state
    cdef int n_layers
    cdef Settings s
    cdef object keep
    cdef object data    # the bound X, labels, target, sample_weight; None: none bound
    cdef object written  # WrittenSpans of every buffer the plan writes (the alias check)
    cdef bint is_float
    cdef bint ready     # set once __init__ has checked everything; run() refuses otherwise
    cdef bint has_velocity  # SGD built with momentum: the momentum may change per call
    cdef fl_index n, d, t_cols, batch
    cdef void *X
    cdef const int64_t *labels
    cdef void *T
    cdef void *SW
    cdef void *cw
    cdef void *xb
    cdef int64_t *lb
    cdef void *tb
    cdef void *swb

    def __cinit__(self):
        self.state = NULL
        self.ready = False
        self.data = None

    def __dealloc__(self):
        free(self.state)

    def __init__(self, X, list layers not None, *, Py_ssize_t batch, int loss_kind, labels=None,
                 target=None, sample_weight=None, class_weight=None, double smoothing=0.0,
                 int opt_kind, double lr, double momentum=0.0, double weight_decay=0.0,
                 bint nesterov=False, double beta1=0.9, double beta2=0.999, double eps=1e-8,
                 bint decoupled=False, double alpha=0.99, double lr_decay=0.0,
                 double loss_param=0.0, bint metrics=False, int n_threads, Py_ssize_t parallel_min,
                 Py_ssize_t parallel_min_cheap, Py_ssize_t parallel_min_adam, batch_X,
                 batch_labels, batch_target, batch_weight):
        self.ready = False
        self.release_data()
        if not layers:
            raise ValueError("TrainPlan needs at least one layer")
        smoothing_in_range(smoothing)
        self.is_float = getattr(X, "dtype", None) == "float32"
        dt = np.float32 if self.is_float else np.float64
        layers = filled(layers, dt)
        labels = or_empty(labels, 0, np.int64)
        target = or_empty(target, (0, 0), dt)
        sample_weight = or_empty(sample_weight, 0, dt)
        class_weight = or_empty(class_weight, 0, dt)
        if self.is_float:
            _describe[float](self, X, labels, target, sample_weight, batch, layers, loss_kind,
                             class_weight, batch_X, batch_labels, batch_target, batch_weight)
        else:
            _describe[double](self, X, labels, target, sample_weight, batch, layers, loss_kind,
                              class_weight, batch_X, batch_labels, batch_target, batch_weight)
        # (after the shapes are known to agree: an alias is checked on a plan that is whole)
        reads, writes = plan_buffers(X, labels, target, sample_weight, class_weight, layers,
                                     batch_X, batch_labels, batch_target, batch_weight)
        try:
            check_disjoint(reads, writes)
        except ValueError:
            self.release_data()
            raise
        self.written = WrittenSpans(writes)
        self.s.loss_kind, self.s.smoothing = loss_kind, smoothing
        self.s.opt_kind, self.s.lr, self.s.momentum = opt_kind, lr, momentum
        self.s.weight_decay, self.s.nesterov, self.s.beta1 = weight_decay, nesterov, beta1
        self.s.beta2, self.s.eps, self.s.decoupled = beta2, eps, decoupled
        self.s.alpha, self.s.lr_decay, self.s.loss_param = alpha, lr_decay, loss_param
        self.s.metrics = metrics
        self.s.n_threads, self.s.parallel_min = n_threads, parallel_min
        self.s.parallel_min_cheap, self.s.parallel_min_adam = parallel_min_cheap, parallel_min_adam
        if opt_kind < SGD or opt_kind > ADAGRAD:
            raise ValueError("TrainPlan: unknown optimizer kind")
        if (loss_kind == HUBER and not loss_param > 0) or not (0 <= loss_param < INFINITY):
            raise ValueError(f"TrainPlan: invalid loss_param {loss_param}")
        for i in range(self.n_layers):
            _check_state(&self.state[i], i, opt_kind, momentum)
        self.has_velocity = opt_kind == SGD and momentum != 0
        self.ready = True

    def bind_data(self, X, labels=None, target=None, sample_weight=None):
        """Train on another data set from now on: X with the plan's number of features (any
        number of rows), and the labels, target and sample_weight its loss reads, checked as
        __init__ checks them (lengths, columns, no byte shared with a buffer the plan writes).
        On a refusal the plan holds no data."""
        if not self.ready:
            raise ValueError("TrainPlan.bind_data: the plan was not built")
        dt = np.float32 if self.is_float else np.float64
        labels = or_empty(labels, 0, np.int64)
        target = or_empty(target, (0, 0), dt)
        sample_weight = or_empty(sample_weight, 0, dt)
        self.release_data()
        if getattr(X, "dtype", None) != dt:
            raise ValueError(f"TrainPlan.bind_data: X must be {np.dtype(dt).name}, like the plan")
        if self.is_float:
            _bind[float](self, X, labels, target, sample_weight)
        else:
            _bind[double](self, X, labels, target, sample_weight)
        try:
            self.written.check_apart({"X": X, "labels": labels, "target": target,
                                      "sample_weight": sample_weight})
        except ValueError:
            self.release_data()
            raise

    def release_data(self):
        """Let go of the data: the plan keeps no reference to it, and run refuses until
        bind_data gives it another."""
        self.X = self.T = self.SW = NULL
        self.labels = NULL
        self.n = 0
        self.data = None

    @property
    def n_threads(self):
        """Threads the plan's OpenMP kernels may use (fit lowers it while the machine is busy)."""
        return self.s.n_threads

    @n_threads.setter
    def n_threads(self, int n):
        if n < 1:
            raise ValueError(f"TrainPlan.n_threads must be >= 1, got {n}")
        self.s.n_threads = n

    @property
    def weight_bytes(self):
        """Bytes of every layer's W and b together: the size of copy_weights' buffer."""
        cdef size_t total = 0, sz = sizeof(float) if self.is_float else sizeof(double)
        cdef int i
        for i in range(self.n_layers if self.ready else 0):
            total += self.state[i].n_in * self.state[i].n_out * sz
            if self.state[i].has_bias:
                total += self.state[i].n_out * sz
        return total

    def copy_weights(self, unsigned char[::1] saved not None, bint restore):
        """Copy every layer's W and b into ``saved`` (restore=False) or back from it (True).
        fit's snapshot of the weights at each epoch's start, restored if a loss turns
        non-finite: one call where a NumPy copy per array cost ~0.7 us each per epoch."""
        cdef size_t off = 0, sz = sizeof(float) if self.is_float else sizeof(double)
        cdef int i
        cdef LayerState *L
        if not self.ready:
            raise ValueError("TrainPlan.copy_weights: the plan was not built")
        if <size_t>saved.shape[0] != self.weight_bytes:
            raise ValueError(f"TrainPlan.copy_weights: saved must have {self.weight_bytes} bytes, "
                             f"got {saved.shape[0]}")
        if saved.shape[0] == 0:
            return
        with nogil:
            for i in range(self.n_layers):
                L = &self.state[i]
                off += _copy_to_or_from(L.W, &saved[off], L.n_in * L.n_out * sz, restore)
                if L.has_bias:
                    off += _copy_to_or_from(L.b, &saved[off], L.n_out * sz, restore)

    def run(self, const int64_t[::1] order not None, Py_ssize_t b0, Py_ssize_t b1, int64_t step0,
            double lr, uint64_t drop_seed=0, double momentum=-1.0, double beta1=-1.0):
        """Train on batches [b0, b1) of an epoch in ``order`` (empty: the rows as they are),
        optimizer steps counted from step0, at learning rate ``lr`` (a schedule may change it
        between calls, with SGD's ``momentum`` or Adam's ``beta1`` when >= 0), dropout masks
        drawn from the epoch's ``drop_seed``. Returns (status, [loss*weight sum, weight sum,
        n correct, steps done, sum |error|, sum error^2]); status is a PlanStatus: OK, or NONFINITE_PARAMS when a
        parameter is no longer finite after the last step; or k >= 0 when batch k's loss was
        not finite."""
        cdef double out[6]
        cdef fl_index status, first, last
        cdef int in_range = 1
        if not self.ready:
            raise ValueError("TrainPlan.run: the plan was not built (its __init__ failed)")
        if self.data is None:
            raise ValueError("TrainPlan.run: the plan holds no data (bind_data)")
        if not (lr >= 0.0 and isfinite(lr)):
            raise ValueError(f"TrainPlan.run: lr must be finite and non-negative, got {lr}")
        self.s.lr = lr
        self.s.drop_seed = drop_seed
        # a one-cycle schedule moves SGD's momentum or Adam's beta1 with the learning rate
        if momentum >= 0.0 and self.s.opt_kind == SGD:
            if not (self.has_velocity and momentum < INFINITY):
                raise ValueError("TrainPlan.run: momentum can change only on an SGD built with "
                                 "momentum (its velocity buffers)")
            self.s.momentum = momentum
        if beta1 >= 0.0 and self.s.opt_kind == ADAM:
            if not beta1 < 1.0:
                raise ValueError(f"TrainPlan.run: beta1 must be in [0, 1), got {beta1}")
            self.s.beta1 = beta1
        # (bounded by a division: b1 * batch may overflow)
        if b0 < 0 or b0 > b1 or (b1 > b0 and b1 > (self.n + self.batch - 1) // self.batch):
            raise ValueError("TrainPlan.run: batch range outside the data")
        if order.shape[0] and order.shape[0] != self.n:
            raise ValueError("TrainPlan.run: order must have one entry per row")
        # the entries these batches read: their rows, and the next rows the one-pass linear
        # step asks for ahead (the whole order each call cost 12 us at 16384 rows, 1 us a
        # step of a linear model run one batch a call)
        first = b0 * self.batch
        last = min(<fl_index>order.shape[0], b1 * self.batch + <fl_index>FL_LINEAR_AHEAD)
        if b1 > b0 and last > first:
            with nogil:
                in_range = fl_indices_in_range(last - first, &order[first], self.n)
        if not in_range:
            raise ValueError("TrainPlan.run: order holds an index outside the data")
        out[0] = out[1] = out[2] = out[3] = out[4] = out[5] = 0.0
        with nogil:
            if self.is_float:
                status = _run_plan(<float *>NULL, self, &order[0] if order.shape[0] else NULL,
                                   b0, b1, step0, out)
            else:
                status = _run_plan(<double *>NULL, self, &order[0] if order.shape[0] else NULL,
                                   b0, b1, step0, out)
        if status == BAD_LABEL:
            raise ValueError("TrainPlan: a label is outside [0, n_outputs)")
        if status == BAD_WEIGHT:
            raise ValueError("a batch's total sample weight is not positive")
        return int(status), [out[0], out[1], out[2], int(out[3]), out[4], out[5]]

cdef _describe(TrainPlan self, const floating[:, ::1] X, const int64_t[::1] labels,
                 const floating[:, ::1] T, const floating[::1] SW, Py_ssize_t batch,
                 list layers, int loss_kind, const floating[::1] class_weight,
                 floating[:, ::1] xb, int64_t[::1] lb, floating[:, ::1] tb,
                 floating[::1] swb):
    cdef fl_index n = X.shape[0], d = X.shape[1], t_cols = T.shape[1] if T.shape[0] else 0
    cdef fl_index prev_out = d
    cdef int i
    cdef floating[::1] W, b, dW, db, A, G, alpha, s1W, s1b, s2W, s2b, D, M, s3W, s3b
    cdef void *ptrs[15]
    cdef int j
    if batch < 1:
        raise ValueError("TrainPlan: batch must be positive")
    blas_dim(d, "n_features")
    if xb.shape[0] < batch or xb.shape[1] != d or lb.shape[0] < batch or swb.shape[0] < batch:
        raise ValueError("TrainPlan: batch buffers too small")
    if T.shape[0] and (tb.shape[0] < batch or tb.shape[1] != t_cols):
        raise ValueError("TrainPlan: target batch buffer too small")
    keep = [class_weight, xb, lb, tb, swb]
    free(self.state)  # __init__ called again on a live plan
    self.state = NULL
    self.n_layers = len(layers)
    self.state = <LayerState *>malloc(self.n_layers * sizeof(LayerState))
    if self.state == NULL:
        raise MemoryError()
    for i in range(self.n_layers):
        spec = layers[i]
        W, b, dW, db, A, G = spec.W, spec.b, spec.dW, spec.db, spec.A, spec.G
        alpha, s1W, s1b = spec.alpha, spec.state1_W, spec.state1_b
        s2W, s2b, D, M = spec.state2_W, spec.state2_b, spec.dropout_out, spec.dropout_mask
        s3W, s3b = spec.state3_W, spec.state3_b
        act, n_out, drop_p, drop_id = spec.activation, spec.n_out, spec.dropout_p, spec.dropout_id
        keep.append(layers[i])
        self.state[i].n_out = n_out
        self.state[i].n_in = prev_out
        if (n_out < 1 or W.shape[0] != self.state[i].n_in * self.state[i].n_out
                or dW.shape[0] != W.shape[0]
                or A.shape[0] < batch * self.state[i].n_out or G.shape[0] != A.shape[0]
                or db.shape[0] != b.shape[0] or (b.shape[0] and b.shape[0] != n_out)
                or (s1W.shape[0] and s1W.shape[0] != W.shape[0])
                or (s2W.shape[0] and s2W.shape[0] != W.shape[0])
                or (s1b.shape[0] and s1b.shape[0] != b.shape[0])
                or (s2b.shape[0] and s2b.shape[0] != b.shape[0])
                or (s3W.shape[0] and s3W.shape[0] != W.shape[0])
                or (s3b.shape[0] and s3b.shape[0] != b.shape[0])):
            raise ValueError(f"TrainPlan: layer {i} buffers have inconsistent sizes")
        # prelu and abs need the pre-activation in their backward, which the plan does not keep
        if act < IDENTITY or act > ABS or act == PRELU or act == ABS:
            raise ValueError(f"TrainPlan: layer {i} has an activation the plan cannot run")
        if act == LEAKY_RELU and alpha.shape[0] != 1:
            raise ValueError(f"TrainPlan: layer {i} leaky_relu needs its slope")
        blas_dim(n_out, f"layer {i} out_features")
        ptrs[0], ptrs[1], ptrs[2], ptrs[3] = _ptr(W), _ptr(b), _ptr(dW), _ptr(db)
        ptrs[4], ptrs[5], ptrs[6], ptrs[7] = _ptr(A), _ptr(G), _ptr(alpha), _ptr(s1W)
        ptrs[8], ptrs[9], ptrs[10] = _ptr(s1b), _ptr(s2W), _ptr(s2b)
        ptrs[11], ptrs[12], ptrs[13], ptrs[14] = _ptr(D), _ptr(M), _ptr(s3W), _ptr(s3b)
        for j in range(15):
            aligned(ptrs[j], sizeof(floating), f"layer {i} buffers")
        if D.shape[0] and (D.shape[0] != A.shape[0] or M.shape[0] != A.shape[0]
                           or not (0.0 <= drop_p < 1.0) or i == self.n_layers - 1
                           or drop_id < 0):
            raise ValueError(f"TrainPlan: layer {i} has an invalid dropout description")
        self.state[i].D = _ptr(D) if D.shape[0] else NULL
        self.state[i].M = _ptr(M) if D.shape[0] else NULL
        self.state[i].drop_p = drop_p
        self.state[i].drop_id = <uint64_t>drop_id
        self.state[i].W, self.state[i].b = _ptr(W), _ptr(b)
        self.state[i].dW, self.state[i].db = _ptr(dW), _ptr(db)
        self.state[i].A, self.state[i].G, self.state[i].alpha = _ptr(A), _ptr(G), _ptr(alpha)
        self.state[i].state1_W, self.state[i].state1_b = _ptr(s1W), _ptr(s1b)
        self.state[i].state2_W, self.state[i].state2_b = _ptr(s2W), _ptr(s2b)
        self.state[i].state3_W, self.state[i].state3_b = _ptr(s3W), _ptr(s3b)
        self.state[i].act = act
        self.state[i].has_bias = b.shape[0] > 0
        prev_out = self.state[i].n_out
    if loss_kind < XENT_LABELS or loss_kind > HUBER:
        raise ValueError("TrainPlan: unknown loss kind")
    if class_weight.shape[0] and class_weight.shape[0] != prev_out:
        raise ValueError("TrainPlan: class/pos weights need one entry per output")
    self.s.loss_kind = loss_kind
    self.d, self.t_cols, self.batch = d, t_cols, batch
    _bind(self, X, labels, T, SW)
    self.keep = keep
    self.cw = <void *>&class_weight[0] if class_weight.shape[0] else NULL
    self.xb = <void *>&xb[0, 0] if xb.shape[0] else NULL
    self.lb = &lb[0] if lb.shape[0] else NULL
    self.tb = <void *>&tb[0, 0] if tb.shape[0] else NULL
    self.swb = <void *>&swb[0] if swb.shape[0] else NULL


cdef _bind(TrainPlan self, const floating[:, ::1] X, const int64_t[::1] labels,
           const floating[:, ::1] T, const floating[::1] SW):
    """The data's checks against a described plan (its width, batch, loss kind and output
    count), then its pointers."""
    cdef fl_index n = X.shape[0], t_cols = T.shape[1] if T.shape[0] else 0
    cdef fl_index n_out = self.state[self.n_layers - 1].n_out
    if X.shape[1] != self.d:
        raise ValueError(f"TrainPlan: X has {X.shape[1]} features, the plan's layers take "
                         f"{self.d}")
    blas_dim(min(self.batch, n), "batch_size")
    if labels.shape[0] and labels.shape[0] != n or T.shape[0] and T.shape[0] != n:
        raise ValueError("TrainPlan: targets and X disagree in length")
    if SW.shape[0] and SW.shape[0] != n:
        raise ValueError("TrainPlan: weights have the wrong length")
    if self.s.loss_kind == XENT_LABELS and labels.shape[0] != n:
        raise ValueError("TrainPlan: cross-entropy with labels needs labels")
    if self.s.loss_kind != XENT_LABELS and (T.shape[0] != n or t_cols != n_out):
        raise ValueError("TrainPlan: the target must have one column per output")
    if T.shape[0] and t_cols != self.t_cols:
        raise ValueError(f"TrainPlan: the target has {t_cols} columns, the plan's batch buffer "
                         f"{self.t_cols}")
    aligned(&X[0, 0] if n > 0 and self.d > 0 else NULL, sizeof(floating), "X")
    aligned(&labels[0] if labels.shape[0] else NULL, sizeof(int64_t), "labels")
    aligned(&T[0, 0] if T.shape[0] and t_cols else NULL, sizeof(floating), "target")
    aligned(&SW[0] if SW.shape[0] else NULL, sizeof(floating), "sample_weight")
    self.data = (X, labels, T, SW)
    self.n = n
    self.X = <void *>&X[0, 0] if n > 0 and self.d > 0 else NULL
    self.labels = &labels[0] if labels.shape[0] else NULL
    self.T = <void *>&T[0, 0] if T.shape[0] else NULL
    self.SW = <void *>&SW[0] if SW.shape[0] else NULL


cdef fl_index _run_plan(floating *tag, TrainPlan self, const int64_t *order, fl_index b0,
                        fl_index b1, int64_t step0, double *out) noexcept nogil:
    """_run over the plan's description, then the check that every weight is still finite."""
    cdef fl_index status = _run(tag, self.state, self.n_layers, &self.s,
                                <const floating *>self.X, self.d, self.labels,
                                <const floating *>self.T, self.t_cols,
                                <const floating *>self.SW, order, self.n, self.batch, b0, b1,
                                <floating *>self.xb, self.lb, <floating *>self.tb,
                                <floating *>self.swb, <const floating *>self.cw, step0, out)
    cdef int i
    cdef LayerState *L
    if status != OK or b1 <= b0:
        return status
    for i in range(self.n_layers):
        L = &self.state[i]
        if not _all_finite(<const floating *>L.W, L.n_in * L.n_out):
            return NONFINITE_PARAMS
        if L.has_bias and not _all_finite(<const floating *>L.b, L.n_out):
            return NONFINITE_PARAMS
    return status


def permutation(int64_t[::1] out not None, uint64_t seed):
    """Fill out with a uniformly random permutation of range(len(out)) drawn from seed (the
    epoch order of Sequential.fit; see csrc/fl_random.h)."""
    with nogil:
        fl_permutation(out.shape[0], seed, &out[0] if out.shape[0] else NULL)
