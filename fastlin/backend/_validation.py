"""Argument checks shared by both backends, so both raise the same errors with the same words.

Every check names the argument it rejects and runs before any buffer is written. Kernels see
only C-contiguous, aligned float32/float64 arrays of matching dtype and agreeing shapes, int64
labels, outputs apart from the inputs they do not replace exactly, and dimensions the BLAS
takes. The compiled kernels check the same contract again in C (fastlin/_kernels/_contracts.pxd)
for the callers that skip this layer.
"""
import math
import numbers

import numpy as np

from fastlin._kernels._codes import Activation

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
# scipy.linalg.cython_blas takes 32-bit int dimensions (LP64 BLAS)
BLAS_MAX_DIM = 2**31 - 1

# Activation names and their codes, from the one declaration the C kernels read (csrc/fl_common.h
# through fastlin/_kernels/_codes.pxd): {"identity": 0, "sigmoid": 1, ...}. Plain ints, as the
# kernels take them.
ACTIVATIONS = {code.name.lower(): int(code) for code in Activation}
# Activations without a slope parameter, by name: the ones an unchecked fast path may take.
SLOPE_FREE = {name: ACTIVATIONS[name] for name in ("identity", "sigmoid", "tanh", "relu", "abs")}
# Activations whose backward pass needs the pre-activation x (the output y loses its sign).
NEEDS_INPUT = {"prelu", "abs"}
# Activations whose backward pass can use the output y.
USES_OUTPUT = {"sigmoid", "tanh"}


def activation_code(name):
    if not isinstance(name, str):
        raise TypeError(f"activation must be a string, got {type(name).__name__}")
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(
            f"unknown activation {name!r}; choose one of {', '.join(sorted(ACTIVATIONS))}"
        ) from None


def float_array(name, a, ndim, dtype=None):
    """A C-contiguous float32/float64 ndarray of the given ndim (and dtype, when given)."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(a).__name__}")
    if a.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must have dtype float32 or float64, got {a.dtype}")
    if dtype is not None and a.dtype != dtype:
        raise TypeError(f"{name} has dtype {a.dtype} but the other arrays are {dtype}")
    if a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got an array of shape {a.shape}")
    if not a.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous (use numpy.ascontiguousarray)")
    aligned(name, a)
    return a


def aligned(name, a):
    """a's data starts on a multiple of its element size (C kernels load whole elements)."""
    if not a.flags.aligned:
        raise ValueError(f"{name} is misaligned: its data does not start on a multiple of its "
                         f"{a.itemsize}-byte element size (copy it with numpy.array)")
    return a


def blas_dims(**dims):
    """Every dimension (by name) fits the BLAS's 32-bit int; refused before any BLAS call.
    Checked on the shapes alone, whether or not a given call would reach the BLAS."""
    for name, d in dims.items():
        if d > BLAS_MAX_DIM:
            raise ValueError(f"{name} = {d} exceeds the largest dimension the BLAS accepts "
                             f"({BLAS_MAX_DIM}, 32-bit integers)")


def apart(name, a, /, **others):
    """a shares no memory with any of the named arrays (None entries, and a None a, are
    skipped); a bounds check, as cheap as comparing two byte ranges."""
    if a is None:
        return a
    for other_name, other in others.items():
        if other is not None and np.may_share_memory(a, other):
            raise ValueError(f"{name} must not overlap {other_name}")
    return a


def optional_vector(name, a, length, dtype):
    """None, or a float vector of `length` entries (scalars and lists are converted)."""
    if a is None:
        return None
    if not isinstance(a, np.ndarray):
        a = np.asarray(a, dtype=dtype)
        if a.ndim == 0:
            a = a.reshape(1)
    elif a.dtype != dtype and a.dtype.kind in "fiu":
        a = a.astype(dtype)
    a = float_array(name, np.ascontiguousarray(a) if a.ndim == 1 else a, 1, dtype)
    if length is not None and a.shape[0] != length:
        raise ValueError(f"{name} must have {length} entries, got {a.shape[0]}")
    return a


def out_array(name, out, shape, dtype, /, **inputs):
    """Return `out` checked as a writeable buffer of `shape`, or a new one when out is None.
    `inputs` are the named arrays that out must not overlap at all (a GEMM cannot write into
    its operands; the optimizer and loss kernels declare their pointers restrict)."""
    if out is None:
        return np.empty(shape, dtype=dtype)
    float_array(name, out, len(shape), dtype)
    if out.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {out.shape}")
    if not out.flags.writeable:
        raise ValueError(f"{name} is read-only")
    return apart(name, out, **inputs)


def overlaps_partly(out, other):
    """out shares memory with other without being exactly it (same start, strides, shape)."""
    if not np.may_share_memory(out, other):
        return False
    return (out.__array_interface__["data"][0] != other.__array_interface__["data"][0]
            or out.strides != other.strides or out.shape != other.shape)


def same_or_disjoint(name, out, /, **inputs):
    """An elementwise or row-wise kernel may write over an input in place, but only exactly:
    an out that starts elsewhere inside an input would overwrite values before they are read."""
    for other_name, other in inputs.items():
        if other is not None and overlaps_partly(out, other):
            raise ValueError(f"{name} must be {other_name} itself (in place) or not overlap it")
    return out


def nonempty(name, a):
    if a.size == 0:
        raise ValueError(f"{name} is empty (shape {a.shape})")


def labels_array(name, labels, n):
    """1-D integer labels of length n as int64 (range is checked by the kernel)."""
    if not isinstance(labels, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(labels).__name__}")
    if labels.dtype.kind not in "iu":
        raise TypeError(f"integer {name} must have an integer dtype, got {labels.dtype}")
    if labels.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {labels.shape}")
    if labels.shape[0] != n:
        raise ValueError(f"{name} has {labels.shape[0]} entries but logits have {n} rows")
    if labels.dtype != np.int64 or not labels.flags.c_contiguous:
        if labels.dtype.kind == "u" and labels.size and labels.max() > np.iinfo(np.int64).max:
            raise ValueError(f"{name} holds values too large for int64")
        labels = np.ascontiguousarray(labels, dtype=np.int64)
    if not labels.flags.aligned:
        labels = labels.copy()  # integer labels are converted, not refused, like their dtype
    return labels


def number(name, value, low=None, high=None, low_open=False, high_open=False):
    """A finite real scalar within the given bounds, as float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {value}")
    if high is not None and (value > high or (high_open and value == high)):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {high}, got {value}")
    return value


def integer(name, value, low=None, high=None):
    """An int scalar (a bool is refused) within the given bounds, as int."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {value}")
    return int(value)


def same_shape(name, a, shape):
    if a.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {a.shape}")
    return a


def alpha_vector(alpha, activation, n_columns, dtype):
    """The slope vector leaky_relu/prelu need: shape (1,) or (n_columns,) for prelu."""
    if activation not in ("leaky_relu", "prelu"):
        return None
    if alpha is None:
        if activation == "leaky_relu":
            alpha = 0.01
        else:
            raise ValueError("prelu needs alpha (one slope, or one per column)")
    if activation == "leaky_relu":
        if isinstance(alpha, np.ndarray) and alpha.dtype == dtype and alpha.shape == (1,):
            return alpha
        return np.array([number("alpha", alpha)], dtype=dtype)
    a = optional_vector("alpha", alpha, None, dtype)
    if a.shape[0] not in (1, n_columns):
        raise ValueError(f"alpha must have 1 or {n_columns} entries, got {a.shape[0]}")
    return a


def plain_labels_call(logits, labels, grad):
    """True when a softmax cross-entropy call needs no conversion or check beyond the kernel's
    own: non-empty C-contiguous float logits, C-contiguous int64 labels of matching length, and
    a writeable C-contiguous grad buffer of the logits' shape and dtype that is not the logits."""
    return (type(logits) is np.ndarray and logits.dtype in FLOAT_DTYPES and logits.ndim == 2
            and logits.size > 0 and logits.flags.c_contiguous and logits.flags.aligned
            and type(labels) is np.ndarray and labels.dtype == np.int64 and labels.ndim == 1
            and labels.shape[0] == logits.shape[0] and labels.flags.c_contiguous
            and labels.flags.aligned
            and type(grad) is np.ndarray and grad.dtype == logits.dtype
            and grad.shape == logits.shape and grad.flags.c_contiguous and grad.flags.writeable
            and grad.flags.aligned and not np.may_share_memory(grad, logits)
            and not np.may_share_memory(grad, labels))


def plain_elementwise_call(a, out, like=None):
    """True when `a` (and the buffer `out`, unless None) are non-empty C-contiguous float 2-D
    arrays of one shape and dtype (that of `like` when given) and out is writeable: an
    elementwise kernel can then take them as they are."""
    ref = a if like is None else like
    if not (type(a) is np.ndarray and a.dtype in FLOAT_DTYPES and a.ndim == 2 and a.size > 0
            and a.flags.c_contiguous and a.flags.aligned and a.dtype == ref.dtype
            and a.shape == ref.shape):
        return False
    return out is None or (type(out) is np.ndarray and out.dtype == a.dtype
                           and out.shape == a.shape and out.flags.c_contiguous
                           and out.flags.writeable and out.flags.aligned)


def csc_matrix(name, X):
    """A scipy.sparse CSC matrix of float32/float64 data with int32 index arrays whose
    structure the compiled kernels may trust (checked in O(nnz))."""
    import scipy.sparse as sp
    if not sp.issparse(X) or X.format != "csc":
        raise TypeError(f"{name} must be a numpy.ndarray or a scipy.sparse CSC matrix, got "
                        f"{type(X).__name__}")
    if X.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must have dtype float32 or float64, got {X.dtype}")
    if X.indices.dtype != np.int32 or X.indptr.dtype != np.int32:
        raise TypeError(f"{name} must have int32 index arrays, got {X.indices.dtype}")
    for part in ("data", "indices", "indptr"):
        if not getattr(X, part).flags.c_contiguous:
            raise ValueError(f"{name}.{part} must be C-contiguous")
    return X

