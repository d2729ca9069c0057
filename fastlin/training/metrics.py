"""The metrics fit and evaluate report besides the loss, Keras's way: ``metrics=["accuracy",
"mae", "mse"]`` logs each under its name (and ``val_`` + name for validation data). Keras's
other names for them, "acc", "mean_absolute_error" and "mean_squared_error", are logged under
the name given, as Keras logs them.

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
# Keras's other names of the same metrics
ALIASES = {"acc": "accuracy", "mean_absolute_error": "mae", "mean_squared_error": "mse"}


def resolve(metrics, loss):
    """The metric names asked for, checked and without repeats (a tuple; () for None)."""
    if metrics is None:
        return ()
    if isinstance(metrics, str):
        metrics = [metrics]
    names = []
    for name in metrics:
        if not isinstance(name, str) or (name not in METRICS and name not in ALIASES):
            raise ValueError(f"unknown metric {name!r}; choose from {', '.join(METRICS)} (or "
                             f"Keras's {', '.join(ALIASES)})")
        if ALIASES.get(name, name) == "accuracy" and not isinstance(
                loss, (SoftmaxCrossEntropyLoss, BCEWithLogitsLoss)):
            raise ValueError(f"the metric {name!r} needs a classification loss "
                             f"(cross-entropy or binary cross-entropy), not {type(loss).__name__}")
        if name not in names:
            names.append(name)
    return tuple(names)


def wants_errors(names):
    """True when the error sums behind "mae" and "mse" are needed."""
    return any(ALIASES.get(name, name) in ("mae", "mse") for name in names)


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


def values(names, abs_sum, sq_sum, n_values, accuracy=None):
    """{name: value} of "mae" and "mse" (or their Keras aliases) among names, from the error
    sums over n_values outputs, and of "acc" from `accuracy` ("accuracy" itself is logged
    with every classification loss)."""
    found = {}
    for name in names:
        kind = ALIASES.get(name, name)
        if kind == "mae":
            found[name] = float(abs_sum) / max(n_values, 1)
        elif kind == "mse":
            found[name] = float(sq_sum) / max(n_values, 1)
        elif name == "acc" and accuracy is not None:
            found[name] = accuracy
    return found
