"""What a loss reads of the targets: the loss fit infers, the target array its kernel takes,
each row's weight in the mean, and how many rows a batch classifies correctly."""
import numpy as np

from fastlin import _checks
from fastlin.losses import BCEWithLogitsLoss, MSELoss, SoftmaxCrossEntropyLoss, get_loss


def resolve_loss(model, loss, y):
    """The loss given, else the model's last one, else one inferred from y: cross-entropy for
    whole-number labels with several outputs, binary cross-entropy for integer 0/1 labels on
    one output, MSE otherwise."""
    if loss is not None:
        return get_loss(loss, backend=model.backend_name)
    if model.loss_ is not None:
        return model.loss_
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]  # a column of labels or targets is inferred as the vector would be
    n_outputs = model.n_outputs
    if n_outputs is not None and y.ndim == 1 and y.size and y.dtype.kind in "iubf":
        whole = y.dtype.kind in "iub" or bool(np.all(np.isfinite(y)) and np.all(y == np.round(y)))
        if n_outputs > 1 and whole:
            # labels, also when they come as whole floats (0.0 ... 9.0)
            return SoftmaxCrossEntropyLoss(backend=model.backend_name)
        if n_outputs == 1 and y.dtype.kind in "iub" and np.all((y == 0) | (y == 1)):
            # integer 0/1 labels on one output: logistic regression, with accuracy
            return BCEWithLogitsLoss(backend=model.backend_name)
    return MSELoss(backend=model.backend_name)


def prepare_target(model, loss, y, n, n_outputs=None):
    """The whole target converted once to what the loss kernel reads. ``n_outputs`` is the
    model's output width (for a model without Dense layers, the width of its input)."""
    n_outputs = model.n_outputs if n_outputs is None else n_outputs
    y = _checks.check_y(y, n)
    if isinstance(loss, SoftmaxCrossEntropyLoss) and (
            y.ndim == 1 or (y.shape[1] == 1 and n_outputs > 1)):
        # labels, also as a column (n, 1): with several outputs it cannot be probabilities
        return _checks.check_labels(y, n_outputs)
    if y.ndim == 1:
        y = y.reshape(-1, 1)
    if y.shape[1] != n_outputs:
        raise ValueError(f"y has {y.shape[1]} columns but the model has {n_outputs} outputs")
    if isinstance(loss, BCEWithLogitsLoss) and ((y < 0) | (y > 1)).any():
        raise ValueError("binary cross-entropy targets must lie in [0, 1]")
    return _checks.converted(y, model.dtype, "y")


def is_classification(loss):
    return isinstance(loss, (SoftmaxCrossEntropyLoss, BCEWithLogitsLoss))


def count_correct(out, yb, loss):
    """How many rows of a batch are classified correctly."""
    if isinstance(loss, SoftmaxCrossEntropyLoss):
        if yb.ndim == 2:
            return int(np.count_nonzero(out.argmax(axis=1) == yb.argmax(axis=1)))
        return int(np.count_nonzero(out.argmax(axis=1) == yb))
    return int(np.count_nonzero((out > 0) == (yb > 0.5))) / out.shape[1]


def row_weights(loss, target, sw, n_outputs, refuse_none_as=None):
    """Each row's weight in the loss's mean, the mean's denominator summing them: the
    sample weight times, for labels, the loss's class_weight of the row's class (float64);
    None when every row weighs 1. With refuse_none_as (whose rows, for the message), rows
    that weigh nothing in all are a ValueError: their mean would have nothing to average."""
    weight = sw
    cw = getattr(loss, "class_weight", None)
    if isinstance(loss, SoftmaxCrossEntropyLoss) and target.ndim == 1 and cw is not None \
            and np.shape(cw) == (n_outputs,):
        per_row = np.asarray(cw, np.float64)[target]
        weight = per_row if weight is None else weight * per_row
    weight = None if weight is None else np.asarray(weight, np.float64)
    if refuse_none_as is not None and weight is not None and not weight.sum() > 0:
        raise ValueError(f"the {refuse_none_as} total weight in the loss is zero "
                         "(sample_weight, class_weight); nothing to average")
    return weight
