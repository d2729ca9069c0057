"""scikit-learn's MLP losses of the output pre-activation on fastlin's kernels, with the value
scikit-learn reports where it is not the exact loss (lbfgs's line search reads it)."""
import numpy as np
from scipy.special import expit, logsumexp, xlogy

# eps of each float dtype and -log(eps): what scikit-learn's log-loss charges at most
_CLIP = {np.dtype(t): (float(np.finfo(t).eps), -float(np.log(np.finfo(t).eps)))
         for t in (np.float32, np.float64)}


def _log_loss_clip(z, target, sw, softmax):
    """What scikit-learn's log-loss value adds to the exact one: it clips probabilities to
    [eps, 1 - eps] (eps of the dtype) before the log, so no prediction costs more than
    -log(eps) (36 in float64, 16 in float32). Its gradient is the unclipped one, as fastlin's.
    Only the value differs, and only for predictions that confident. But lbfgs's line search
    reads the value, and on a saturating probe the two had taken different steps (weights
    0.28 apart after 15 iterations). Found from the logits, so the common case costs one pass
    that finds nothing. The clip at 1 - eps changes a term by < 2e-16 and is left out."""
    eps, cap = _CLIP[z.dtype]
    hi, lo = float(z.max()), float(z.min())
    if (hi - lo if softmax else max(hi, -lo)) <= cap - 1.0:
        return 0.0  # no logit is far enough from the others (or from 0) to be clipped
    w = None if sw is None else np.asarray(sw, np.float64)
    total = len(z) if w is None else float(w.sum())
    if softmax:
        rows = np.arange(len(z))
        margin = z.max(axis=1).astype(np.float64) - z[rows, target]
        hit = np.flatnonzero(margin > cap - 1.0)
        if not hit.size:
            return 0.0
        zc = z[hit].astype(np.float64)
        exact = logsumexp(zc, axis=1) - zc[np.arange(len(hit)), target[hit]]
        weights = 1.0 if w is None else w[hit]
    else:
        hit_r, hit_c = np.nonzero(np.abs(z) > cap - 1.0)
        if not hit_r.size:
            return 0.0
        zc = z[hit_r, hit_c].astype(np.float64)
        t = np.asarray(target[hit_r, hit_c], np.float64)
        exact = np.logaddexp(0.0, zc) - t * zc          # the element's exact BCE
        weights = 1.0 if w is None else w[hit_r]
    clipped = np.minimum(exact, cap) if softmax else _clipped_bce(zc, t, eps)
    return float(np.sum(weights * (clipped - exact)) / total)


def _clipped_bce(z, t, eps):
    """scikit-learn's binary log-loss of logits z against targets t, probabilities clipped."""
    p = np.clip(expit(z), eps, 1.0 - eps)
    return -(xlogy(t, p) + xlogy(1.0 - t, 1.0 - p))



def output_loss(K, kind, z, target, sw, grad):
    """scikit-learn's loss of the output pre-activation z and its gradient d loss / dz
    written into grad, scaled as scikit-learn scales it: (act(z) - y) · sw / Σ sw.

    K is the model's backend and kind its output activation ("softmax", "logistic",
    "identity" or "exp"). The value is scikit-learn's too where it is not the exact loss
    (lbfgs's line search reads it): log-loss with probabilities clipped at eps, and for several
    regression outputs the mean over outputs while the gradient is the sum's."""
    k = z.shape[1]
    if kind == "softmax":
        loss = K.softmax_cross_entropy(z, target, grad=grad, sample_weight=sw)[0]
        return loss + _log_loss_clip(z, target, sw, softmax=True)
    if kind == "logistic":
        loss = K.sigmoid_binary_cross_entropy(z, target, grad=grad, sample_weight=sw)[0]
        if k > 1:
            grad *= grad.dtype.type(k)
        return loss * k + _log_loss_clip(z, target, sw, softmax=False)
    if kind == "identity":
        loss = K.mse(z, target, grad=grad, sample_weight=sw)[0]
        grad *= grad.dtype.type(0.5 * k)
        return 0.5 * loss
    # "exp": the Poisson deviance with a log link, halved (scikit-learn's poisson_loss)
    z64 = z.astype(np.float64)
    mu = np.exp(z64)
    t = target.astype(np.float64)
    terms = xlogy(t, t) - t * z64 + mu - t
    w = np.ones(len(z)) if sw is None else sw.astype(np.float64)
    total = w.sum()
    loss = float((w @ terms).sum() / total)
    np.copyto(grad, (mu - t) * (w / total)[:, None], casting="same_kind")
    return loss

