"""Optimizer updates in place on flat parameter, gradient and state buffers.

Design: every element's update is independent, so the buffer is cut into fixed chunks that
threads take statically; the result is the same for any thread count. The update rules are in
csrc/fl_optim.c and follow torch.optim. The C side declares param, grad and the state
buffers restrict, so any overlap between them is refused here (_contracts.pxd).
"""
from cython cimport floating
from cython.parallel cimport prange
from libc.stdint cimport int64_t

from fastlin._kernels._contracts cimport aligned, apart, bytes1, fl_threads
from fastlin._kernels._csrc cimport (
    fl_index, fl_sgd_f32, fl_sgd_f64, fl_adam_f32, fl_adam_f64, fl_rmsprop_f32, fl_rmsprop_f64,
    fl_adagrad_f32, fl_adagrad_f64,
)

cdef fl_index CHUNK = 16384


def sgd_update(floating[::1] param not None, const floating[::1] grad not None,
               floating[::1] velocity not None, double lr, double momentum, double weight_decay,
               bint nesterov, int n_threads):
    """SGD step as torch.optim.SGD (dampening 0); velocity is only touched when momentum != 0."""
    cdef fl_index n = param.shape[0], c, k0, nchunks = (n + CHUNK - 1) // CHUNK
    cdef floating *buf
    if grad.shape[0] != n or (momentum != 0 and velocity.shape[0] != n):
        raise ValueError("sgd_update: param, grad and velocity must have the same size")
    if n == 0:
        return
    buf = &velocity[0] if momentum != 0 else NULL
    aligned(&param[0], sizeof(floating), "param")
    aligned(&grad[0], sizeof(floating), "grad")
    aligned(buf, sizeof(floating), "velocity")
    apart(&grad[0], bytes1(grad), "grad", &param[0], bytes1(param), "param")
    if buf != NULL:
        apart(buf, bytes1(velocity), "velocity", &param[0], bytes1(param), "param")
        apart(buf, bytes1(velocity), "velocity", &grad[0], bytes1(grad), "grad")
    n_threads = fl_threads(n_threads)
    with nogil:
        if n_threads > 1 and nchunks > 1:
            for c in prange(nchunks, schedule="static", num_threads=n_threads):
                k0 = c * CHUNK
                if floating is float:
                    fl_sgd_f32(min(k0 + CHUNK, n) - k0, &param[k0], &grad[k0],
                               buf + k0 if buf != NULL else NULL, lr, momentum, weight_decay, nesterov)
                else:
                    fl_sgd_f64(min(k0 + CHUNK, n) - k0, &param[k0], &grad[k0],
                               buf + k0 if buf != NULL else NULL, lr, momentum, weight_decay, nesterov)
        else:
            if floating is float:
                fl_sgd_f32(n, &param[0], &grad[0], buf, lr, momentum, weight_decay, nesterov)
            else:
                fl_sgd_f64(n, &param[0], &grad[0], buf, lr, momentum, weight_decay, nesterov)


def adam_update(floating[::1] param not None, const floating[::1] grad not None,
                floating[::1] exp_avg not None, floating[::1] exp_avg_sq not None, double lr,
                double beta1, double beta2, double eps, double weight_decay, int64_t step,
                bint decoupled, int n_threads):
    """Adam step as torch.optim.Adam (L2 weight decay) or AdamW (decoupled); step counts from 1."""
    cdef fl_index n = param.shape[0], c, k0, nchunks = (n + CHUNK - 1) // CHUNK
    if grad.shape[0] != n or exp_avg.shape[0] != n or exp_avg_sq.shape[0] != n:
        raise ValueError("adam_update: param, grad and moment buffers must have the same size")
    if step < 1:
        raise ValueError("adam_update: step counts from 1")
    if n == 0:
        return
    aligned(&param[0], sizeof(floating), "param")
    aligned(&grad[0], sizeof(floating), "grad")
    aligned(&exp_avg[0], sizeof(floating), "exp_avg")
    aligned(&exp_avg_sq[0], sizeof(floating), "exp_avg_sq")
    apart(&grad[0], bytes1(grad), "grad", &param[0], bytes1(param), "param")
    apart(&exp_avg[0], bytes1(exp_avg), "exp_avg", &param[0], bytes1(param), "param")
    apart(&exp_avg[0], bytes1(exp_avg), "exp_avg", &grad[0], bytes1(grad), "grad")
    apart(&exp_avg_sq[0], bytes1(exp_avg_sq), "exp_avg_sq", &param[0], bytes1(param), "param")
    apart(&exp_avg_sq[0], bytes1(exp_avg_sq), "exp_avg_sq", &grad[0], bytes1(grad), "grad")
    apart(&exp_avg_sq[0], bytes1(exp_avg_sq), "exp_avg_sq", &exp_avg[0], bytes1(exp_avg),
          "exp_avg")
    n_threads = fl_threads(n_threads)
    with nogil:
        if n_threads > 1 and nchunks > 1:
            for c in prange(nchunks, schedule="static", num_threads=n_threads):
                k0 = c * CHUNK
                if floating is float:
                    fl_adam_f32(min(k0 + CHUNK, n) - k0, &param[k0], &grad[k0], &exp_avg[k0],
                                &exp_avg_sq[k0], lr, beta1, beta2, eps, weight_decay, step, decoupled)
                else:
                    fl_adam_f64(min(k0 + CHUNK, n) - k0, &param[k0], &grad[k0], &exp_avg[k0],
                                &exp_avg_sq[k0], lr, beta1, beta2, eps, weight_decay, step, decoupled)
        else:
            if floating is float:
                fl_adam_f32(n, &param[0], &grad[0], &exp_avg[0], &exp_avg_sq[0], lr, beta1, beta2,
                            eps, weight_decay, step, decoupled)
            else:
                fl_adam_f64(n, &param[0], &grad[0], &exp_avg[0], &exp_avg_sq[0], lr, beta1, beta2,
                            eps, weight_decay, step, decoupled)


cdef inline floating *_opt_state(floating[::1] a, fl_index n, str name) except? NULL:
    """An optional state buffer: NULL when empty, else checked to hold n aligned elements."""
    if a.shape[0] == 0:
        return NULL
    if a.shape[0] != n:
        raise ValueError(f"{name} must have the size of param")
    aligned(&a[0], sizeof(floating), name)
    return &a[0]


def rmsprop_update(floating[::1] param not None, const floating[::1] grad not None,
                   floating[::1] square_avg not None, floating[::1] momentum_buffer not None,
                   floating[::1] grad_avg not None, double lr, double alpha, double eps,
                   double weight_decay, double momentum, int n_threads):
    """RMSprop step as torch.optim.RMSprop; momentum_buffer is used when not empty (momentum
    > 0), grad_avg when not empty (centered)."""
    cdef fl_index n = param.shape[0], c, k0, nchunks = (n + CHUNK - 1) // CHUNK
    cdef floating *buf
    cdef floating *gavg
    cdef floating *sq
    if grad.shape[0] != n or square_avg.shape[0] != n:
        raise ValueError("rmsprop_update: param, grad and square_avg must have the same size")
    if momentum != 0 and momentum_buffer.shape[0] == 0:
        raise ValueError("rmsprop_update: momentum != 0 needs momentum_buffer")
    if n == 0:
        return
    buf = _opt_state(momentum_buffer, n, "momentum_buffer")
    gavg = _opt_state(grad_avg, n, "grad_avg")
    sq = &square_avg[0]
    aligned(&param[0], sizeof(floating), "param")
    aligned(&grad[0], sizeof(floating), "grad")
    aligned(sq, sizeof(floating), "square_avg")
    _all_apart(&param[0], &grad[0], sq, buf, gavg, n * sizeof(floating),
               ("param", "grad", "square_avg", "momentum_buffer", "grad_avg"))
    n_threads = fl_threads(n_threads)
    with nogil:
        if n_threads > 1 and nchunks > 1:
            for c in prange(nchunks, schedule="static", num_threads=n_threads):
                k0 = c * CHUNK
                _rmsprop(min(k0 + CHUNK, n) - k0, &param[k0], &grad[k0], sq + k0,
                         buf + k0 if buf != NULL else NULL, gavg + k0 if gavg != NULL else NULL,
                         lr, alpha, eps, weight_decay, momentum)
        else:
            _rmsprop(n, &param[0], &grad[0], sq, buf, gavg, lr, alpha, eps, weight_decay,
                     momentum)


cdef inline void _rmsprop(fl_index n, floating *p, const floating *g, floating *sq,
                          floating *buf, floating *gavg, double lr, double alpha, double eps,
                          double weight_decay, double momentum) noexcept nogil:
    if floating is float:
        fl_rmsprop_f32(n, p, g, sq, buf, gavg, lr, alpha, eps, weight_decay, momentum)
    else:
        fl_rmsprop_f64(n, p, g, sq, buf, gavg, lr, alpha, eps, weight_decay, momentum)


def adagrad_update(floating[::1] param not None, const floating[::1] grad not None,
                   floating[::1] state_sum not None, double lr, double lr_decay, double eps,
                   double weight_decay, int64_t step, int n_threads):
    """Adagrad step as torch.optim.Adagrad; step counts from 1 (for lr_decay)."""
    cdef fl_index n = param.shape[0], c, k0, nchunks = (n + CHUNK - 1) // CHUNK
    if grad.shape[0] != n or state_sum.shape[0] != n:
        raise ValueError("adagrad_update: param, grad and state_sum must have the same size")
    if step < 1:
        raise ValueError("adagrad_update: step counts from 1")
    if n == 0:
        return
    aligned(&param[0], sizeof(floating), "param")
    aligned(&grad[0], sizeof(floating), "grad")
    aligned(&state_sum[0], sizeof(floating), "state_sum")
    _all_apart(&param[0], &grad[0], &state_sum[0], NULL, NULL, n * sizeof(floating),
               ("param", "grad", "state_sum", "", ""))
    n_threads = fl_threads(n_threads)
    with nogil:
        if n_threads > 1 and nchunks > 1:
            for c in prange(nchunks, schedule="static", num_threads=n_threads):
                k0 = c * CHUNK
                if floating is float:
                    fl_adagrad_f32(min(k0 + CHUNK, n) - k0, &param[k0], &grad[k0],
                                   &state_sum[k0], lr, lr_decay, eps, weight_decay, step)
                else:
                    fl_adagrad_f64(min(k0 + CHUNK, n) - k0, &param[k0], &grad[k0],
                                   &state_sum[k0], lr, lr_decay, eps, weight_decay, step)
        else:
            if floating is float:
                fl_adagrad_f32(n, &param[0], &grad[0], &state_sum[0], lr, lr_decay, eps,
                               weight_decay, step)
            else:
                fl_adagrad_f64(n, &param[0], &grad[0], &state_sum[0], lr, lr_decay, eps,
                               weight_decay, step)


cdef int _all_apart(const void *a, const void *b, const void *c, const void *d, const void *e,
                    size_t nbytes, tuple names) except -1:
    """Every present buffer (each nbytes long; NULL: absent) apart from every other: the C
    updates declare them restrict."""
    cdef const void *ptrs[5]
    cdef int i, j
    ptrs[0], ptrs[1], ptrs[2], ptrs[3], ptrs[4] = a, b, c, d, e
    for i in range(5):
        for j in range(i):
            if ptrs[i] != NULL and ptrs[j] != NULL:
                apart(ptrs[i], nbytes, names[i], ptrs[j], nbytes, names[j])
    return 0
