"""The metrics fit and evaluate report besides the loss, Keras's way: ``metrics=["accuracy",
"mae", "mse"]`` logs each under its name (and ``val_`` + name for validation data).

"accuracy" is the share of rows classified correctly (a classification loss only). "mae" and
"mse" are the mean absolute and squared error, over every output of every row, between what the
model predicts in Keras's terms and the target: the output itself under a regression loss, its
sigmoid under binary cross-entropy, its row's softmax under softmax cross-entropy (against the
one-hot labels or the probability targets). They are unweighted, as Keras's ``metrics`` are (its
``weighted_metrics`` take sample weights), and accumulate over the epoch's batches from each
batch's outputs before its update; the compiled loop adds the same sums in
fastlin/_kernels/_train_metrics.pxd.
"""
import numpy as np

from fastlin.losses import BCEWithLogitsLoss, SoftmaxCrossEntropyLoss

METRICS = ("accuracy", "mae", "mse")


def resolve(metrics, loss):
    """The metric names asked for, checked and without repeats (a tuple; () for None)."""
    if metrics is None:
        return ()
    if isinstance(metrics, str):
        metrics = [metrics]
    names = []
    for name in metrics:
        if not isinstance(name, str) or name not in METRICS:
            raise ValueError(f"unknown metric {name!r}; choose from {', '.join(METRICS)}")
        if name == "accuracy" and not isinstance(loss, (SoftmaxCrossEntropyLoss,
                                                        BCEWithLogitsLoss)):
            raise ValueError(f"the metric 'accuracy' needs a classification loss "
                             f"(cross-entropy or binary cross-entropy), not {type(loss).__name__}")
        if name not in names:
            names.append(name)
    return tuple(names)


def wants_errors(names):
    """True when the error sums behind "mae" and "mse" are needed."""
    return "mae" in names or "mse" in names


def error_sums(out, target, loss):
    """(Σ|p − t|, Σ(p − t)²) over a batch's outputs `out` (n, k) and its prepared target
    (labels for softmax cross-entropy, else (n, k) values), p as the module docstring says."""
    z = np.asarray(out, np.float64)
    if isinstance(loss, SoftmaxCrossEntropyLoss):
        e = np.exp(z - z.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        if target.ndim == 1:
            t = np.zeros_like(p)
            t[np.arange(len(p)), target] = 1.0
        else:
            t = np.asarray(target, np.float64)
    else:
        with np.errstate(over="ignore"):
            p = 1.0 / (1.0 + np.exp(-z)) if isinstance(loss, BCEWithLogitsLoss) else z
        t = np.asarray(target, np.float64).reshape(p.shape)
    d = p - t
    return float(np.abs(d).sum()), float((d * d).sum())


def values(names, abs_sum, sq_sum, n_values):
    """{name: value} of "mae" and "mse" among names, from the error sums over n_values outputs."""
    found = {}
    if "mae" in names:
        found["mae"] = abs_sum / max(n_values, 1)
    if "mse" in names:
        found["mse"] = sq_sum / max(n_values, 1)
    return found
