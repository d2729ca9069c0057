"""The Python side of a TrainPlan's description (fastlin/_kernels/train.pyx): one LayerPlan per
Dense layer, its fields by name, read once when the plan is built."""
from bisect import bisect_right
from collections import namedtuple

import numpy as np

from fastlin._kernels._codes import Activation
from fastlin._kernels.checks import byte_span, first_overlap

LayerPlan = namedtuple("LayerPlan", [
    "W", "dW", "A", "G", "n_out", "b", "db", "activation", "alpha", "state1_W", "state1_b",
    "state2_W", "state2_b", "dropout_out", "dropout_mask", "dropout_p", "dropout_id",
    "state3_W", "state3_b",
], defaults=[None, None, Activation.IDENTITY, None, None, None, None, None, None, None, 0.0, 0,
             None, None])
LayerPlan.__doc__ = """One Dense layer of a TrainPlan and the activation and dropout after it.

Every array is flat, C-contiguous and of the model's dtype; None (or a length-0 array) stands
for "absent": no bias (b, db), no slope (alpha), no optimizer state, no dropout.

W, dW : the weights (n_in * n_out, row-major as Dense.W) and their gradient
A, G : at least batch * n_out long: the layer's output after its activation, and the gradient
    of the loss with respect to it (then to its pre-activation)
n_out : the layer's output width
b, db : the bias (n_out) and its gradient
activation : an Activation (identity, sigmoid, tanh, relu or leaky_relu)
alpha : leaky_relu's one-element slope
state1_W, state1_b : SGD's velocity, Adam's exp_avg, RMSprop's square_avg or Adagrad's sum
    of W and b
state2_W, state2_b : Adam's exp_avg_sq or RMSprop's momentum buffer of W and b
state3_W, state3_b : RMSprop's grad_avg (centered) of W and b
dropout_out, dropout_mask : the output after dropout (what the next layer reads) and the
    mask, both as long as A; dropout_p the probability; dropout_id the Dropout layer's index
    in model.layers, part of its masks' seed
"""
_OPTIONAL_ARRAYS = ("b", "db", "alpha", "state1_W", "state1_b", "state2_W", "state2_b",
                    "dropout_out", "dropout_mask", "state3_W", "state3_b")


def or_empty(a, shape, dtype):
    """a, or the empty array that stands for an absent one."""
    return np.empty(shape, dtype) if a is None else a


def filled(layers, dtype):
    """layers with their absent arrays as length-0 arrays of dtype, which the plan reads as
    NULL pointers."""
    empty = np.empty(0, dtype)
    out = []
    for spec in layers:
        if not isinstance(spec, LayerPlan):
            raise TypeError(f"TrainPlan: layers must be LayerPlan, got {type(spec).__name__}")
        out.append(spec._replace(**{name: empty for name in _OPTIONAL_ARRAYS
                                    if getattr(spec, name) is None}))
    return out


_WRITTEN = ("W", "dW", "A", "G", "b", "db", "state1_W", "state1_b", "state2_W", "state2_b",
            "dropout_out", "dropout_mask", "state3_W", "state3_b")


def check_disjoint(reads, writes):
    """Refuse a plan whose buffers alias: every array the plan writes (weights, gradients,
    optimizer state, layer and batch buffers) must share no byte with any other array it
    reads or writes. The kernels trust it; an alias (dW is W, a batch buffer that is a view of
    X) gave wrong losses and overwrote the caller's rows. ``reads``/``writes``: {name: array}."""
    names, arrays, written = [], [], []
    for is_written, group in ((False, reads), (True, writes)):
        for name, a in group.items():
            if a is not None:
                names.append(name)
                arrays.append(a if isinstance(a, np.ndarray) else np.asarray(a))
                written.append(is_written)
    pair = first_overlap(arrays, written)
    if pair is not None:
        raise ValueError(f"TrainPlan: {names[pair[0]]} and {names[pair[1]]} share memory; every "
                         "buffer the plan writes must be an array of its own")


class WrittenSpans:
    """The byte ranges of the buffers a built plan writes, sorted (they share no byte: the plan
    was checked whole), so that data bound later is checked against them by bisection: a few
    microseconds of each fit call instead of the whole check's ~12."""

    def __init__(self, writes):
        spans = sorted((span[0], span[1], name) for name, a in writes.items()
                       if a is not None and (span := byte_span(np.asarray(a))) is not None)
        self.starts = [s[0] for s in spans]
        self.spans = spans

    def check_apart(self, reads):
        """Refuse, as check_disjoint does, data ({name: array}) sharing a byte with a buffer
        the plan writes."""
        for name, a in reads.items():
            if a is None:
                continue
            span = byte_span(a if isinstance(a, np.ndarray) else np.asarray(a))
            if span is None:
                continue
            low, high = span
            i = bisect_right(self.starts, low) - 1  # the last written range starting at or before
            for j in (i, i + 1):
                if 0 <= j < len(self.spans) and self.spans[j][0] < high and low < self.spans[j][1]:
                    raise ValueError(f"TrainPlan: {name} and {self.spans[j][2]} share memory; "
                                     "every buffer the plan writes must be an array of its own")


def plan_buffers(X, labels, target, sample_weight, class_weight, layers, batch_X,
                 batch_labels, batch_target, batch_weight):
    """The plan's arrays by name, as check_disjoint takes them: (reads, writes)."""
    reads = {"X": X, "labels": labels, "target": target, "sample_weight": sample_weight,
             "class_weight": class_weight}
    writes = {"batch_X": batch_X, "batch_labels": batch_labels, "batch_target": batch_target,
              "batch_weight": batch_weight}
    for i, spec in enumerate(layers):
        reads[f"layers[{i}].alpha"] = spec.alpha
        for name in _WRITTEN:
            writes[f"layers[{i}].{name}"] = getattr(spec, name)
    return reads, writes
