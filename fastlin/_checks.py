"""Checks on user data (X, y, sample weights) shared by the models, raised before any weight
is touched: every message names the argument and the problem."""
import numpy as np

from fastlin._kernels.checks import all_finite as _compiled_all_finite


def all_finite(a):
    """Every entry of the numeric array ``a`` is finite. Float arrays are scanned in one
    compiled pass that allocates nothing (NumPy's isfinite would build a boolean array)."""
    done = _compiled_all_finite(a)
    return bool(np.isfinite(a).all()) if done is None else done


def positive_int(name, value):
    """`value` as an int, or a ValueError naming `name` unless it is a positive integer (a bool
    is not)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def as_plain_array(value, name):
    """``value`` as a NumPy array. A masked array's masked entries hold whatever was there
    (NaN, often) and would be computed with as if unmasked, so one with any masked entry is
    refused; without one it is its data."""
    if np.ma.isMaskedArray(value):
        if np.ma.getmaskarray(value).any():
            raise ValueError(f"{name} is a masked array with masked entries, whose hidden values "
                             f"would be used as they are; fill them ({name}.filled(value)) or "
                             "drop those rows first")
        return np.asarray(value.data)
    return np.asarray(value)


def converted(arr, dtype, name):
    """``arr`` as a C-contiguous aligned array of the float ``dtype``; a finite value beyond
    that dtype's range (1e39 in float32) is refused by name rather than becoming inf."""
    given = arr
    with np.errstate(over="ignore"):  # reported below as a ValueError, not a RuntimeWarning
        arr = np.require(arr, dtype=dtype, requirements=["C", "A"])
    if given.dtype != arr.dtype and given.dtype.kind == "f" and not all_finite(arr) \
            and all_finite(given):
        raise ValueError(f"{name} holds values beyond the range of {np.dtype(dtype).name} "
                         "(the model's dtype), which become infinite when converted")
    return arr


def check_X(X, n_features=None, dtype=np.float64, name="X"):
    """A finite, non-empty 2-D C-contiguous array of `dtype` (copied only when needed)."""
    if isinstance(X, (str, bytes)) or X is None:
        raise TypeError(f"{name} must be an array of numbers, got {type(X).__name__}")
    try:
        arr = as_plain_array(X, name)
    except ValueError:
        raise
    except Exception as exc:
        raise TypeError(f"{name} could not be read as an array: {exc}") from None
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{name} must hold numbers, got dtype {arr.dtype}")
    if arr.ndim != 2:
        hint = " (reshape a single feature with X.reshape(-1, 1), one sample with X.reshape(1, -1))"
        raise ValueError(f"{name} must be 2-D, got {arr.ndim}-D with shape {arr.shape}" +
                         (hint if arr.ndim == 1 else ""))
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); need at least one sample and one feature")
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(f"{name} has {arr.shape[1]} features, but the model expects {n_features}")
    # "A": a misaligned buffer is copied too (the kernels refuse one; models convert it)
    arr = converted(arr, dtype, name)
    if not all_finite(arr):
        raise ValueError(f"{name} contains NaN or infinity")
    return arr


def check_y(y, n_samples, name="y"):
    """A finite numeric target of n_samples rows (1-D or 2-D), as given."""
    if isinstance(y, (str, bytes)) or y is None:
        raise TypeError(f"{name} must be an array of numbers, got {type(y).__name__}")
    arr = as_plain_array(y, name)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{name} must hold numbers, got dtype {arr.dtype}")
    if arr.ndim not in (1, 2):
        raise ValueError(f"{name} must be 1-D or 2-D, got shape {arr.shape}")
    if arr.shape[0] != n_samples:
        raise ValueError(f"X has {n_samples} samples but {name} has {arr.shape[0]}")
    if arr.dtype.kind == "f" and not all_finite(arr):
        raise ValueError(f"{name} contains NaN or infinity")
    return arr


def check_labels(y, n_classes, name="y"):
    """Integer class labels in [0, n_classes) as int64 (float labels must be whole numbers)."""
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D class labels, got shape {arr.shape}")
    if arr.dtype.kind == "f":
        if not np.all(arr == np.round(arr)):
            raise ValueError(f"{name} must hold integer class labels, got non-integer values")
    elif arr.dtype.kind not in "iub":
        raise TypeError(f"{name} must hold integer class labels, got dtype {arr.dtype}")
    labels = np.require(arr, dtype=np.int64, requirements=["C", "A"])
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        bad = labels[(labels < 0) | (labels >= n_classes)][0]
        raise ValueError(f"{name} holds label {bad}, outside [0, {n_classes}) for {n_classes} outputs")
    return labels


def check_sample_weight(sample_weight, n_samples, dtype):
    if sample_weight is None:
        return None
    sw = as_plain_array(sample_weight, "sample_weight")
    if sw.dtype.kind not in "fiub":
        raise TypeError(f"sample_weight must hold numbers, got dtype {sw.dtype}")
    if sw.ndim == 0:
        sw = np.full(n_samples, float(sw))
    if sw.shape != (n_samples,):
        raise ValueError(f"sample_weight must have shape ({n_samples},), got {sw.shape}")
    sw = converted(sw, dtype, "sample_weight")
    if not np.isfinite(sw).all() or (sw < 0).any():
        raise ValueError("sample_weight must be finite and non-negative")
    return sw
