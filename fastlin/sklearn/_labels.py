"""MLPClassifier's label encoding without scikit-learn's per-call target inspection, for the
common case of integer labels: what keeps a small partial_fit and predict cheap. Anything
else goes through LabelBinarizer itself."""
import numpy as np


def _plain_labels(binarizer, y):
    """True when y may skip scikit-learn's target inspection (type_of_target, ~0.5 ms a call,
    which made a 64-row partial_fit cost 2 ms): a 1-D integer or bool ndarray, for a binarizer
    fitted on integer classes of a binary or multiclass target. type_of_target calls such y
    binary or multiclass whatever its values, so only the classes are left to check."""
    return (type(y) is np.ndarray and y.ndim == 1 and y.dtype.kind in "iub"
            and getattr(binarizer, "y_type_", None) in ("binary", "multiclass")
            and binarizer.classes_.dtype.kind in "iub" and not binarizer.sparse_output
            and binarizer.neg_label == 0 and binarizer.pos_label == 1)


def _binarize(binarizer, y):
    """LabelBinarizer.transform(y).astype(bool) for _plain_labels y whose values are all in
    classes_: one indicator column for one or two classes (a single class is all 0, as
    LabelBinarizer has it), one per class otherwise."""
    classes = binarizer.classes_
    idx = np.searchsorted(classes, y)
    if len(classes) <= 2:
        return (idx == 1).reshape(-1, 1)
    Y = np.zeros((len(y), len(classes)), bool)
    Y[np.arange(len(y)), idx] = True
    return Y


def _unbinarize(binarizer, p):
    """LabelBinarizer.inverse_transform(p) for a dense binary or multiclass output (the most
    probable class; p > 0.5 for one column), without its target inspection; anything else
    goes to scikit-learn."""
    kind = getattr(binarizer, "y_type_", None)
    if isinstance(p, np.ndarray) and not getattr(binarizer, "sparse_input_", False):
        if kind == "multiclass" and p.ndim == 2 and p.shape[1] == len(binarizer.classes_):
            return binarizer.classes_.take(p.argmax(axis=1), mode="clip")
        if (kind == "binary" and p.ndim == 1 and len(binarizer.classes_) == 2
                and binarizer.neg_label == 0 and binarizer.pos_label == 1):
            return binarizer.classes_[(p > 0.5).astype(int)]
    return binarizer.inverse_transform(p)
