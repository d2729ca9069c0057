"""The "cython" backend: checked arguments handed to the compiled kernels in fastlin._kernels.

Absent optional arrays travel as zero-length sentinels of the right dtype, so the fused-type
dispatch of each Cython function always sees a real buffer. The activation and loss kernels
also have *_plain entry points that take the common call (plain float arrays, no options)
with a check written in C and no memoryview setup; the _plain_* hooks below, and the _impl_*
methods that layers call, try those first.
"""
import numpy as np

from fastlin._kernels import activations, dense, linear_cd, losses, optim, train
from fastlin.parallel import threads
from fastlin.backend._base import KernelSet

_EMPTY1 = {np.dtype(np.float32): np.empty(0, np.float32), np.dtype(np.float64): np.empty(0, np.float64)}
_EMPTY2 = {dt: np.empty((0, 0), dt) for dt in _EMPTY1}


def _or_empty(a, dtype):
    return _EMPTY1[dtype] if a is None else a


class CompiledKernels(KernelSet):
    name = "cython"

    def _impl_dense_forward(self, X, W, b, code, alpha, out, preact, n_threads):
        dt = X.dtype
        dense.dense_forward(X, W, _or_empty(b, dt), out, code, _or_empty(alpha, dt),
                            _EMPTY2[dt] if preact is None else preact, b is not None,
                            preact is not None, n_threads)

    def _impl_dense_backward(self, X, W, dZ, dW, db, dX):
        dt = X.dtype
        dense.dense_backward(X, W, dZ, dW, _or_empty(db, dt), _EMPTY2[dt] if dX is None else dX,
                             db is not None, dX is not None)

    def _impl_activation_forward(self, x, code, alpha, out, n_threads):
        # the *_plain entry points check buffers in C and skip the memoryview setup; they
        # return None for what they do not take (a slope, say)
        if alpha is None and activations.activation_forward_plain(x, out, code, n_threads, 0) is not None:
            return
        activations.activation_forward(x, out, code, _or_empty(alpha, x.dtype), n_threads)

    def _impl_activation_backward(self, g, code, x, y, alpha, out, dalpha, n_threads):
        dt = g.dtype
        if (alpha is None and dalpha is None and (x is None) != (y is None)
                and activations.activation_backward_plain(g, y if x is None else x, x is None, out,
                                                          code, n_threads, 0) is not None):
            return
        activations.activation_backward(
            g, _EMPTY2[dt] if x is None else x, _EMPTY2[dt] if y is None else y, out, code,
            _or_empty(alpha, dt), _or_empty(dalpha, dt), x is not None, y is not None,
            dalpha is not None, n_threads)

    def _plain_activation_forward(self, x, code, out):
        return activations.activation_forward_plain(x, out, code, threads.DEFAULT_THREADS,
                                                     threads.min_elements_for_activation(code))

    def _plain_activation_backward(self, grad_output, code, src, src_is_output, out):
        return activations.activation_backward_plain(
            grad_output, src, src_is_output, out, code, threads.DEFAULT_THREADS,
            threads.min_elements_for_activation(code))

    def _plain_softmax_cross_entropy(self, logits, labels, grad):
        return losses.softmax_cross_entropy_labels_plain(logits, labels, grad,
                                                         threads.DEFAULT_THREADS,
                                                         threads.PARALLEL_MIN_ELEMENTS)

    def _plain_elementwise_loss(self, bce, z, target, grad):
        return losses.elementwise_loss_plain(
            bce, z, target, grad, threads.DEFAULT_THREADS,
            threads.PARALLEL_MIN_ELEMENTS if bce else threads.PARALLEL_MIN_ELEMENTS_CHEAP)

    def _impl_softmax(self, x, out, log, n_threads):
        losses.softmax(x, out, log, n_threads)

    def _impl_softmax_cross_entropy(self, z, target, grad, sw, cw, smoothing, n_threads):
        dt = z.dtype
        if sw is None and cw is None and smoothing == 0.0 and target.ndim == 1:
            loss = losses.softmax_cross_entropy_labels_plain(z, target, grad, n_threads, 0)
            if loss is not None:
                return loss
        if target.ndim == 1:
            return losses.softmax_cross_entropy_labels(z, target, grad, _or_empty(sw, dt),
                                                       _or_empty(cw, dt), smoothing, n_threads)
        return losses.softmax_cross_entropy_probs(z, target, grad, _or_empty(sw, dt),
                                                  _or_empty(cw, dt), smoothing, n_threads)

    def _impl_sigmoid_bce(self, z, t, grad, sw, pw, n_threads):
        dt = z.dtype
        if grad is not None and sw is None and pw is None:
            loss = losses.elementwise_loss_plain(True, z, t, grad, n_threads, 0)
            if loss is not None:
                return loss
        return losses.sigmoid_binary_cross_entropy(
            z, t, _EMPTY2[dt] if grad is None else grad, _or_empty(sw, dt), _or_empty(pw, dt),
            grad is not None, n_threads)

    def _impl_mse(self, p, t, grad, sw, n_threads):
        dt = p.dtype
        if grad is not None and sw is None:
            loss = losses.elementwise_loss_plain(False, p, t, grad, n_threads, 0)
            if loss is not None:
                return loss
        return losses.mse(p, t, _EMPTY2[dt] if grad is None else grad, _or_empty(sw, dt),
                          grad is not None, n_threads)

    def _impl_robust(self, p, t, grad, sw, huber, beta, n_threads):
        dt = p.dtype
        return losses.robust_loss(p, t, _EMPTY2[dt] if grad is None else grad, _or_empty(sw, dt),
                                  huber, beta, grad is not None, n_threads)

    def _impl_sgd(self, p, g, buf, lr, momentum, weight_decay, nesterov, n_threads):
        optim.sgd_update(p, g, _or_empty(buf, p.dtype), lr, momentum, weight_decay, nesterov,
                         n_threads)

    def _impl_adam(self, p, g, m, s, lr, beta1, beta2, eps, weight_decay, step, decoupled,
                   n_threads):
        optim.adam_update(p, g, m, s, lr, beta1, beta2, eps, weight_decay, step, decoupled,
                          n_threads)

    def _impl_rmsprop(self, p, g, sq, buf, gavg, lr, alpha, eps, weight_decay, momentum,
                      n_threads):
        dt = p.dtype
        optim.rmsprop_update(p, g, sq, _or_empty(buf, dt), _or_empty(gavg, dt), lr, alpha, eps,
                             weight_decay, momentum, n_threads)

    def _impl_adagrad(self, p, g, s, lr, lr_decay, eps, weight_decay, step, n_threads):
        optim.adagrad_update(p, g, s, lr, lr_decay, eps, weight_decay, step, n_threads)

    # Not part of the KernelSet contract: the whole minibatch loop of fit, used by
    # Sequential.fit for stacks it can describe (see fastlin/_kernels/train.pyx).
    TrainPlan = train.TrainPlan
    LayerPlan = train.LayerPlan


    def _impl_enet_cd(self, X, sparse, g, h, beta, q, b, H, l1, l2, fit_intercept, max_sweeps,
                      tol):
        if sparse:
            return linear_cd.enet_cd_csc(X.data, X.indices, X.indptr, X.shape[0], g, h, beta, q,
                                         b, H, l1, l2, fit_intercept, max_sweeps, tol)
        return linear_cd.enet_cd_dense(X, g, h, beta, q, b, H, l1, l2, fit_intercept,
                                       max_sweeps, tol)


kernels = CompiledKernels()
