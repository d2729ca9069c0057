"""Which gradient array belongs to which parameter array.

``model.parameters()`` returns plain NumPy arrays, as the contract asks; optimizers built over
that list find each array's gradient here. Entries hold weak references so a dropped layer's
arrays are not kept alive.
"""
import weakref

import numpy as np

_GRADS = {}


def register(param, grad):
    """Record that `grad` holds the gradient of `param` (same shape and dtype)."""
    key = id(param)
    _GRADS[key] = (weakref.ref(param, lambda _r, key=key: _GRADS.pop(key, None)), grad)


def gradient_of(param):
    """The gradient array registered for `param`; ValueError when it is not a layer parameter."""
    entry = _GRADS.get(id(param))
    if entry is None or entry[0]() is not param:
        raise ValueError(
            "this array is not a fastlin layer parameter; build optimizers over "
            "model.parameters(), or pass (param, grad) pairs")
    return entry[1]


_TWINS = {}


def writeable(array):
    """``array`` itself when it is writeable, else a writeable copy, the same copy for every
    caller that asks while ``array`` lives.

    Unpickling hands a read-only array (a joblib memmap, say) that a layer and an optimizer both
    held to each of them as one object; both take this copy in ``__setstate__``, so the
    optimizer keeps updating the array the layer reads."""
    if array.flags.writeable:
        return array
    key = id(array)
    entry = _TWINS.get(key)
    if entry is not None and entry[0]() is array:
        return entry[1]
    twin = np.array(array)
    _TWINS[key] = (weakref.ref(array, lambda _r, key=key: _TWINS.pop(key, None)), twin)
    return twin
