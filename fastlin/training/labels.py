"""Non-numeric class labels (strings, objects) for Sequential.fit, as the scikit-learn layer
takes them: the sorted unique labels become ``model.classes_`` and the targets their indices,
so the loss inference and the kernels see integer labels. Numeric targets pass through
untouched: they keep their meaning (regression targets, probabilities, indices)."""
import numbers

import numpy as np


def _label_vector(y):
    """y as a 1-D array when it holds non-numeric labels, else None (numeric: left alone)."""
    if y is None or isinstance(y, (str, bytes)):
        return None
    try:
        array = np.asarray(y)
    except (TypeError, ValueError):
        return None
    if array.dtype.kind not in "USO":
        return None
    if array.dtype.kind == "O" and all(isinstance(v, numbers.Number) for v in array.flat):
        return None  # numbers in an object array: refused by the numeric checks, as before
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(f"non-numeric labels must be one per sample, shape (n_samples,); got "
                         f"shape {array.shape}")
    return array


def _unique(labels):
    try:
        return np.unique(labels)
    except TypeError:
        raise TypeError("the labels cannot be sorted (mixed kinds such as str and int, or "
                        "None): give labels of one kind") from None


def _codes(labels, classes, what):
    """Indices of `labels` in `classes`; a label outside them is a ValueError naming it."""
    codes = np.searchsorted(classes, labels)
    codes = np.minimum(codes, len(classes) - 1)
    unknown = classes[codes] != labels
    if unknown.any():
        raise ValueError(f"{what} has labels the model was not fitted with: "
                         f"{list(np.unique(labels[unknown])[:5])}; its classes_ are "
                         f"{list(classes)}")
    return codes.astype(np.int64)


def encode_fit(model, y, validation_data, loss):
    """(y, validation_data, classes) for a fit: with non-numeric labels, their indices and
    the sorted classes (the validation labels encoded with them), else the arguments as they
    are and None. Changes nothing on the model."""
    labels = _label_vector(y)
    if labels is None:
        return y, validation_data, None
    classes = _unique(labels)
    n_outputs = model.n_outputs
    if loss is None and n_outputs == 1 and len(classes) > 2:
        raise ValueError(f"y has {len(classes)} classes but the model has one output: give its "
                         f"last Dense layer {len(classes)} outputs (one output takes 2 classes)")
    if n_outputs is not None and n_outputs > 1 and len(classes) > n_outputs:
        raise ValueError(f"y has {len(classes)} classes but the model has {n_outputs} outputs")
    codes = _codes(labels, classes, "y")
    if validation_data is not None and isinstance(validation_data, (tuple, list)) \
            and len(validation_data) in (2, 3):
        val_labels = _label_vector(validation_data[1])
        if val_labels is None:
            raise ValueError("validation_data's labels must be of y's kind (non-numeric)")
        validation_data = (validation_data[0], _codes(val_labels, classes, "validation_data"),
                           *validation_data[2:])
    return codes, validation_data, classes


def encode_known(model, y):
    """evaluate's y: non-numeric labels as indices into ``model.classes_``."""
    labels = _label_vector(y)
    if labels is None:
        return y
    classes = getattr(model, "classes_", None)
    if classes is None:
        raise ValueError("y holds non-numeric labels but the model was not fitted with such "
                         "labels (it has no classes_)")
    return _codes(labels, classes, "y")


def keep(model, classes):
    """Record the fit's classes (a fit on numeric targets drops those of an earlier one)."""
    if classes is None:
        model.__dict__.pop("classes_", None)
    else:
        model.classes_ = classes
