# One training step's pieces for fastlin/_kernels/train.pyx, as cdef inline functions over the
# plan's C structs: the activation passes, the fused loss over row blocks, the optimizer update and
# the one-pass step of a lone Dense(d, 1). Inline functions of a .pxd are compiled into the module
# that cimports them, exactly as if written there, so keeping them apart costs the hot loop nothing
# (train.pyx is their only user); they live here to keep train.pyx to the loop and the plan.
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport isfinite
from libc.stdint cimport int64_t, uint64_t

from fastlin._kernels._codes cimport (
    ADAGRAD, ADAM, BAD_WEIGHT, BCE, HUBER, MSE, NO_WEIGHT, NOT_FINITE, OK, RMSPROP, SGD,
    SIGMOID, TANH, XENT_LABELS, XENT_PROBS,
)
from fastlin._kernels._contracts cimport fl_threads
from fastlin._kernels._csrc cimport (
    fl_index, fl_act_forward_f32, fl_act_forward_f64, fl_act_backward_f32, fl_act_backward_f64,
    fl_softmax_xent_labels_f32, fl_softmax_xent_labels_f64, fl_softmax_xent_probs_f32,
    fl_softmax_xent_probs_f64, fl_sigmoid_bce_f32, fl_sigmoid_bce_f64, fl_mse_f32, fl_mse_f64,
    fl_sgd_f32, fl_sgd_f64, fl_adam_f32, fl_adam_f64, fl_linear1_step_f32, fl_linear1_step_f64,
    fl_rmsprop_f32, fl_rmsprop_f64, fl_adagrad_f32, fl_adagrad_f64, fl_robust_f32, fl_robust_f64,
    fl_all_finite_f32, fl_all_finite_f64, FL_LINEAR_AHEAD,
)

# Compile-time constants, as the .pxd can hold no initialized module variables.
cdef enum:
    ROWS_PER_BLOCK = 64     # rows per block of the activation and loss passes
    OPT_CHUNK = 16384       # elements per thread's chunk of the optimizer update (as optim.pyx)


cdef struct LayerState:
    void *W
    void *b
    void *dW
    void *db
    void *A          # output of the layer (after its activation), rows x n_out
    void *G          # d loss / d A, then d loss / d pre-activation, rows x n_out
    void *alpha      # one-element slope array (leaky_relu) or NULL
    void *state1_W   # SGD velocity, Adam exp_avg, RMSprop square_avg or Adagrad sum
    void *state1_b
    void *state2_W   # Adam exp_avg_sq or RMSprop momentum buffer (NULL: no momentum)
    void *state2_b
    void *state3_W   # RMSprop grad_avg (NULL: not centered)
    void *state3_b
    void *D          # the output after dropout (what the next layer reads), or NULL
    void *M          # the dropout mask: 0 or 1 / (1 - p) per element of D
    double drop_p
    uint64_t drop_id # the Dropout layer's index in model.layers: part of its mask's seed
    fl_index n_in
    fl_index n_out
    int act
    int has_bias


cdef struct Settings:
    int loss_kind
    double smoothing
    int opt_kind
    double lr
    double momentum
    double weight_decay
    int nesterov
    double beta1
    double beta2
    double eps
    int decoupled
    double alpha                   # RMSprop's smoothing constant
    double lr_decay                # Adagrad's
    double loss_param              # smooth L1's beta or Huber's delta
    int metrics                    # nonzero: add the outputs' absolute and squared errors
    int n_threads
    fl_index parallel_min          # elements from which an exp-heavy kernel uses n_threads
    fl_index parallel_min_cheap    # the same for memory-bound kernels (relu, SGD)
    fl_index parallel_min_adam     # the same for the Adam update
    uint64_t drop_seed             # this epoch's dropout seed (see dropout_seed)


cdef inline void _act_forward(fl_index n, fl_index m, floating *y, const floating *bias, int act,
                              const floating *alpha, int n_threads) noexcept nogil:
    cdef fl_index nblocks = (n + ROWS_PER_BLOCK - 1) // ROWS_PER_BLOCK, blk, r0, r1
    if n_threads > 1 and nblocks > 1:
        n_threads = fl_threads(n_threads)
    if n_threads > 1 and nblocks > 1:
        for blk in prange(nblocks, schedule="static", num_threads=n_threads):
            r0 = blk * ROWS_PER_BLOCK
            r1 = min(r0 + ROWS_PER_BLOCK, n)
            if floating is float:
                fl_act_forward_f32(r1 - r0, m, y + r0 * m, bias, act, alpha, 0, NULL, y + r0 * m)
            else:
                fl_act_forward_f64(r1 - r0, m, y + r0 * m, bias, act, alpha, 0, NULL, y + r0 * m)
    else:
        if floating is float:
            fl_act_forward_f32(n, m, y, bias, act, alpha, 0, NULL, y)
        else:
            fl_act_forward_f64(n, m, y, bias, act, alpha, 0, NULL, y)


cdef inline void _act_backward(fl_index n, fl_index m, floating *g, const floating *y, int act,
                               const floating *alpha, int n_threads) noexcept nogil:
    cdef fl_index nblocks = (n + ROWS_PER_BLOCK - 1) // ROWS_PER_BLOCK, blk, r0, r1
    if n_threads > 1 and nblocks > 1:
        n_threads = fl_threads(n_threads)
    if n_threads > 1 and nblocks > 1:
        for blk in prange(nblocks, schedule="static", num_threads=n_threads):
            r0 = blk * ROWS_PER_BLOCK
            r1 = min(r0 + ROWS_PER_BLOCK, n)
            if floating is float:
                fl_act_backward_f32(r1 - r0, m, g + r0 * m, NULL, y + r0 * m, act, alpha, 0, g + r0 * m, NULL)
            else:
                fl_act_backward_f64(r1 - r0, m, g + r0 * m, NULL, y + r0 * m, act, alpha, 0, g + r0 * m, NULL)
    else:
        if floating is float:
            fl_act_backward_f32(n, m, g, NULL, y, act, alpha, 0, g, NULL)
        else:
            fl_act_backward_f64(n, m, g, NULL, y, act, alpha, 0, g, NULL)


cdef inline double _loss_block(int kind, fl_index r0, fl_index r1, fl_index k, const floating *z,
                               const int64_t *labels, const floating *t, const floating *sw,
                               const floating *cw, double smoothing, double scale,
                               floating *g, double beta) noexcept nogil:
    cdef fl_index n = r1 - r0
    cdef const floating *swr = sw + r0 if sw != NULL else NULL
    if kind == XENT_LABELS:
        if floating is float:
            return fl_softmax_xent_labels_f32(n, k, z + r0 * k, labels + r0, swr, cw, smoothing, scale, g + r0 * k)
        else:
            return fl_softmax_xent_labels_f64(n, k, z + r0 * k, labels + r0, swr, cw, smoothing, scale, g + r0 * k)
    elif kind == XENT_PROBS:
        if floating is float:
            return fl_softmax_xent_probs_f32(n, k, z + r0 * k, t + r0 * k, swr, cw, smoothing, scale, g + r0 * k)
        else:
            return fl_softmax_xent_probs_f64(n, k, z + r0 * k, t + r0 * k, swr, cw, smoothing, scale, g + r0 * k)
    elif kind == BCE:
        if floating is float:
            return fl_sigmoid_bce_f32(n, k, z + r0 * k, t + r0 * k, swr, cw, scale, g + r0 * k)
        else:
            return fl_sigmoid_bce_f64(n, k, z + r0 * k, t + r0 * k, swr, cw, scale, g + r0 * k)
    elif kind == MSE:
        if floating is float:
            return fl_mse_f32(n, k, z + r0 * k, t + r0 * k, swr, scale, g + r0 * k)
        else:
            return fl_mse_f64(n, k, z + r0 * k, t + r0 * k, swr, scale, g + r0 * k)
    else:
        if floating is float:
            return fl_robust_f32(n, k, z + r0 * k, t + r0 * k, swr, kind == HUBER, beta, scale, g + r0 * k)
        else:
            return fl_robust_f64(n, k, z + r0 * k, t + r0 * k, swr, kind == HUBER, beta, scale, g + r0 * k)


cdef inline void _update(const Settings *s, fl_index size, floating *p, const floating *g,
                         floating *st1, floating *st2, floating *st3,
                         int64_t step) noexcept nogil:
    """The optimizer on one parameter, chunked over threads exactly as optim.pyx does."""
    cdef fl_index nchunks = (size + OPT_CHUNK - 1) // OPT_CHUNK, c, k0, k1
    cdef int nt = s.n_threads if size >= (s.parallel_min_cheap if s.opt_kind == SGD
                                          else s.parallel_min_adam) else 1
    if nt > 1 and nchunks > 1:
        nt = fl_threads(nt)
    if nt > 1 and nchunks > 1:
        for c in prange(nchunks, schedule="static", num_threads=nt):
            k0 = c * OPT_CHUNK
            k1 = min(k0 + OPT_CHUNK, size)
            _update_range(s, k1 - k0, p + k0, g + k0, st1 + k0 if st1 != NULL else NULL,
                          st2 + k0 if st2 != NULL else NULL, st3 + k0 if st3 != NULL else NULL,
                          step)
    else:
        _update_range(s, size, p, g, st1, st2, st3, step)


cdef inline void _update_range(const Settings *s, fl_index size, floating *p, const floating *g,
                               floating *st1, floating *st2, floating *st3,
                               int64_t step) noexcept nogil:
    if s.opt_kind == SGD:
        if floating is float:
            fl_sgd_f32(size, p, g, st1, s.lr, s.momentum, s.weight_decay, s.nesterov)
        else:
            fl_sgd_f64(size, p, g, st1, s.lr, s.momentum, s.weight_decay, s.nesterov)
    elif s.opt_kind == RMSPROP:
        if floating is float:
            fl_rmsprop_f32(size, p, g, st1, st2, st3, s.lr, s.alpha, s.eps, s.weight_decay, s.momentum)
        else:
            fl_rmsprop_f64(size, p, g, st1, st2, st3, s.lr, s.alpha, s.eps, s.weight_decay, s.momentum)
    elif s.opt_kind == ADAGRAD:
        if floating is float:
            fl_adagrad_f32(size, p, g, st1, s.lr, s.lr_decay, s.eps, s.weight_decay, step)
        else:
            fl_adagrad_f64(size, p, g, st1, s.lr, s.lr_decay, s.eps, s.weight_decay, step)
    else:
        if floating is float:
            fl_adam_f32(size, p, g, st1, st2, s.lr, s.beta1, s.beta2, s.eps, s.weight_decay, step, s.decoupled)
        else:
            fl_adam_f64(size, p, g, st1, st2, s.lr, s.beta1, s.beta2, s.eps, s.weight_decay, step, s.decoupled)


cdef inline fl_index _min_elements(const Settings *s, int act) noexcept nogil:
    # sigmoid and tanh take an exp per element; the others are memory-bound
    return s.parallel_min if act == SIGMOID or act == TANH else s.parallel_min_cheap


cdef inline uint64_t _mix64(uint64_t z) noexcept nogil:
    z = (z ^ (z >> 30)) * <uint64_t>0xbf58476d1ce4e5b9ULL
    z = (z ^ (z >> 27)) * <uint64_t>0x94d049bb133111ebULL
    return z ^ (z >> 31)


cdef inline floating *_layer_output(floating *tag, LayerState *L) noexcept nogil:
    """What the next layer reads: the output after dropout when the layer has one."""
    return <floating *>(L.D if L.D != NULL else L.A)


cdef inline void _count_correct(int kind, fl_index m, fl_index k, const floating *z,
                                const int64_t *lab, const floating *tgt,
                                double *out) noexcept nogil:
    """Add the batch's correct predictions to out[2], as Sequential._correct counts them."""
    cdef fl_index i, j, best, idx
    cdef double partial
    if kind == XENT_LABELS or kind == XENT_PROBS:
        for i in range(m):
            best = 0
            for j in range(1, k):
                if z[i * k + j] > z[i * k + best]:
                    best = j
            if kind == XENT_LABELS:
                out[2] += best == lab[i]
            else:
                idx = 0
                for j in range(1, k):
                    if tgt[i * k + j] > tgt[i * k + idx]:
                        idx = j
                out[2] += best == idx
    elif kind == BCE:
        partial = 0.0
        for i in range(m * k):
            partial += (z[i] > 0) == (tgt[i] > 0.5)
        out[2] += partial / k


cdef inline void _update_all(floating *tag, const Settings *s, LayerState *layers, int n_layers,
                             int64_t step) noexcept nogil:
    """The optimizer step, parameters in the order of model.parameters()."""
    cdef int l
    cdef LayerState *L
    for l in range(n_layers):
        L = &layers[l]
        _update(s, L.n_in * L.n_out, <floating *>L.W, <floating *>L.dW,
                <floating *>L.state1_W, <floating *>L.state2_W, <floating *>L.state3_W, step)
        if L.has_bias:
            _update(s, L.n_out, <floating *>L.b, <floating *>L.db, <floating *>L.state1_b,
                    <floating *>L.state2_b, <floating *>L.state3_b, step)


cdef inline fl_index _linear1_step(LayerState *layers, const Settings *s, const floating *X,
                                   fl_index d, const floating *T, const floating *SW,
                                   const int64_t *order, fl_index start, fl_index m,
                                   fl_index n, const floating *cw, double *out) noexcept nogil:
    """Forward, loss and gradient of a single Dense(d, 1) layer under MSE or BCE in one pass;
    rows start..start+m of the epoch's n (through order when shuffled). OK, NOT_FINITE,
    NO_WEIGHT (the rows weigh zero: only their correct predictions are counted) or
    BAD_WEIGHT."""
    cdef LayerState *L = &layers[0]
    cdef const int64_t *rows = order + start if order != NULL else NULL
    cdef const floating *xb = X if order != NULL else X + start * d
    cdef const floating *tb = T if order != NULL else T + start
    cdef const floating *swb = NULL
    cdef double sw_sum = 0.0, total_weight, value, correct = 0.0
    cdef fl_index r
    # the next batch's first rows, which the kernel asks for during this batch's last ones
    cdef fl_index next = min(<fl_index>FL_LINEAR_AHEAD, n - start - m)
    if SW != NULL:
        swb = SW if order != NULL else SW + start
        if rows != NULL:
            for r in range(m):
                sw_sum += swb[rows[r]]
        else:
            for r in range(m):
                sw_sum += swb[r]
        total_weight = sw_sum
    else:
        total_weight = <double>m
    if total_weight == 0:
        if s.loss_kind == BCE:
            out[2] += _linear1_correct(L, X, d, T, rows, start, m)
        return NO_WEIGHT
    if not total_weight > 0:
        return BAD_WEIGHT
    if floating is float:
        value = fl_linear1_step_f32(m, d, xb, rows, next, <float *>L.W,
                                    <float *>L.b if L.has_bias else NULL, tb, swb, cw,
                                    s.loss_kind == BCE, 1.0 / total_weight, <float *>L.dW,
                                    <float *>L.db if L.has_bias else NULL, &correct)
    else:
        value = fl_linear1_step_f64(m, d, xb, rows, next, <double *>L.W,
                                    <double *>L.b if L.has_bias else NULL, tb, swb, cw,
                                    s.loss_kind == BCE, 1.0 / total_weight, <double *>L.dW,
                                    <double *>L.db if L.has_bias else NULL, &correct)
    value = value / total_weight
    if not isfinite(value):
        return NOT_FINITE
    out[0] += value * total_weight
    out[1] += total_weight
    out[2] += correct
    return OK


cdef inline double _linear1_correct(LayerState *L, const floating *X, fl_index d,
                                   const floating *T, const int64_t *rows, fl_index start,
                                   fl_index m) noexcept nogil:
    """Rows start..start+m (through rows when shuffled) whose logit x.w + b has the sign of
    their 0/1 target: a one-output logistic model's correct predictions."""
    cdef const floating *W = <const floating *>L.W
    cdef fl_index r, j, row
    cdef double zr, hits = 0.0
    for r in range(m):
        row = rows[r] if rows != NULL else start + r
        zr = (<const floating *>L.b)[0] if L.has_bias else 0.0
        for j in range(d):
            zr += X[row * d + j] * W[j]
        hits += (zr > 0) == (T[row] > 0.5)
    return hits


cdef inline bint _all_finite(const floating *a, fl_index size) noexcept nogil:
    if floating is float:
        return fl_all_finite_f32(size, a) != 0
    else:
        return fl_all_finite_f64(size, a) != 0


cdef inline int _check_state(LayerState *L, int i, int opt_kind, double momentum) except -1:
    """Layer i holds every state buffer its optimizer's update writes."""
    cdef bint b = L.has_bias
    if opt_kind == SGD and momentum != 0 and (L.state1_W == NULL or (b and L.state1_b == NULL)):
        raise ValueError(f"TrainPlan: layer {i} lacks its velocity buffers")
    if opt_kind == ADAM and (L.state1_W == NULL or L.state2_W == NULL
                             or (b and (L.state1_b == NULL or L.state2_b == NULL))):
        raise ValueError(f"TrainPlan: layer {i} lacks its Adam moments")
    if (opt_kind == RMSPROP or opt_kind == ADAGRAD) and (L.state1_W == NULL
                                                         or (b and L.state1_b == NULL)):
        raise ValueError(f"TrainPlan: layer {i} lacks its squared-gradient sums")
    # RMSprop's momentum buffer and grad_avg are optional, but W's and b's come together
    if opt_kind == RMSPROP and b and ((L.state2_W == NULL) != (L.state2_b == NULL)
                                      or (L.state3_W == NULL) != (L.state3_b == NULL)):
        raise ValueError(f"TrainPlan: layer {i} has RMSprop buffers for W or b only")
    if opt_kind == RMSPROP and momentum != 0 and L.state2_W == NULL:
        raise ValueError(f"TrainPlan: layer {i} lacks its momentum buffers")
    return 0
