"""The data one fit trains on, checked before anything changes: the rows, the target the loss
kernel reads, the sample weights with the class weights folded in, and the validation set
(given, or the last fraction of the rows held out)."""
import numpy as np

from fastlin import _checks
from fastlin.backend._validation import number
from fastlin.losses import SoftmaxCrossEntropyLoss
from fastlin.training import targets


class FitData:
    """X, target and sw of the training rows; ``validation`` is None or (X, target, sw)."""

    def __init__(self, X, target, sw, validation):
        self.X, self.target, self.sw, self.validation = X, target, sw, validation

    @property
    def n(self):
        return self.X.shape[0]


def _class_weights(model, loss, target, class_weight, n_outputs):
    """Each row's class weight, from {class: weight} or one weight per class."""
    if not isinstance(loss, SoftmaxCrossEntropyLoss) or target.ndim != 1:
        raise ValueError("class_weight needs integer labels and softmax cross-entropy")
    cw = np.ones(n_outputs)
    items = class_weight.items() if isinstance(class_weight, dict) else enumerate(class_weight)
    for k, w in items:
        whole = isinstance(k, (int, np.integer)) or (
            isinstance(k, (float, np.floating)) and float(k).is_integer())
        if isinstance(k, bool) or not whole or not 0 <= k < n_outputs:
            raise ValueError(f"class_weight names class {k!r}, not an int in [0, {n_outputs})")
        # as sample_weight: a negative or NaN weight would train another objective
        cw[int(k)] = number(f"class_weight[{k}]", w, 0.0)
    return cw[target].astype(model.dtype)


def _validation_set(model, loss, validation_data, n_outputs):
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        raise ValueError("validation_data must be a pair (X_val, y_val) or a triple "
                         "(X_val, y_val, sample_weight_val)")
    sw_val = None
    try:  # the checks name X, y and sample_weight: say which ones they mean
        X_val = model._check_input(validation_data[0])
        y_val = targets.prepare_target(model, loss, validation_data[1], X_val.shape[0],
                                       n_outputs)
        if len(validation_data) == 3:
            sw_val = _checks.check_sample_weight(validation_data[2], X_val.shape[0], model.dtype)
    except (TypeError, ValueError) as e:
        raise type(e)(f"validation_data: {e}") from None
    targets.row_weights(loss, y_val, sw_val, n_outputs, refuse_none_as="validation samples'")
    return X_val, y_val, sw_val


def prepare(model, loss, X, y, sample_weight=None, class_weight=None, validation_data=None,
            validation_split=0.0):
    """Check and convert everything fit trains and validates on; raises before any state
    changes."""
    if not (0.0 <= float(validation_split) < 1.0):
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split}")
    X = model._check_input(X)
    n = X.shape[0]
    n_outputs = model._output_width(X)
    target = targets.prepare_target(model, loss, y, n, n_outputs)
    sw = _checks.check_sample_weight(sample_weight, n, model.dtype)
    sw_given = sw  # before class_weight: validation rows are weighed by sample_weight alone
    if class_weight is not None:
        per_sample = _class_weights(model, loss, target, class_weight, n_outputs)
        sw = per_sample if sw is None else sw * per_sample
    if validation_data is not None and validation_split:
        raise ValueError("pass validation_data or validation_split, not both")
    validation = None
    if validation_split:
        n_val = int(round(n * float(validation_split)))
        if n_val < 1 or n_val >= n:
            raise ValueError("validation_split leaves no training or no validation samples")
        validation = (X[n - n_val:], target[n - n_val:],
                      None if sw_given is None else sw_given[n - n_val:])
        X, target, n = X[:n - n_val], target[:n - n_val], n - n_val
        sw = None if sw is None else sw[:n]
        targets.row_weights(loss, validation[1], validation[2], n_outputs,
                            refuse_none_as="validation samples'")
    elif validation_data is not None:
        validation = _validation_set(model, loss, validation_data, n_outputs)
    # rows that all weigh nothing give no gradient: fit would train nothing, silently
    targets.row_weights(loss, target, sw, n_outputs, refuse_none_as="training samples'")
    return FitData(X, target, sw, validation)
