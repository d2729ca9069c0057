"""Scans of user data that NumPy can only do through a temporary array.

``np.isfinite(X).all()`` builds a boolean array a quarter the size of a float32 X; fit checks
all of X, so that temporary set its peak memory. ``all_finite`` reads X once
(csrc/fl_scan.h), without the GIL, and allocates nothing; ``all_finite_rows`` reads chosen rows
in a given order (the benchmarks' memory floor of a shuffled epoch).
"""
cimport numpy as cnp
from libc.stdint cimport int64_t

from fastlin._kernels._arrays cimport data, float_type
from fastlin._kernels._csrc cimport (fl_all_finite_f32, fl_all_finite_f64,
                                     fl_all_finite_rows_f32, fl_all_finite_rows_f64)

cnp.import_array()


def all_finite(a):
    """True when every entry of the float32/float64 C-contiguous array ``a`` is finite; None
    when ``a`` is not such an array (the caller then asks NumPy)."""
    cdef int t = float_type(a)
    cdef int ok
    cdef const void *p
    cdef Py_ssize_t size
    if t < 0 or not cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>a):
        return None
    p = data(a)
    size = cnp.PyArray_SIZE(<cnp.ndarray>a)
    with nogil:
        if t == cnp.NPY_FLOAT:
            ok = fl_all_finite_f32(size, <const float *>p)
        else:
            ok = fl_all_finite_f64(size, <const double *>p)
    return ok != 0


def all_finite_rows(a, const int64_t[::1] rows not None):
    """all_finite of the rows ``rows`` of the 2-D float32/float64 C-contiguous ``a``, read in
    that order (csrc/fl_scan.h): the memory floor of an epoch that reads shuffled rows. Every
    entry of ``rows`` must index a row of ``a`` (ValueError)."""
    cdef Py_ssize_t i, n_rows = rows.shape[0], n, d
    cdef int t = float_type(a)
    cdef int ok
    cdef const void *p
    if t < 0 or cnp.PyArray_NDIM(<cnp.ndarray>a) != 2 \
            or not cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>a):
        raise ValueError("all_finite_rows needs a 2-D C-contiguous float32/float64 array")
    n, d = a.shape[0], a.shape[1]
    for i in range(n_rows):
        if rows[i] < 0 or rows[i] >= n:
            raise ValueError(f"all_finite_rows: row {rows[i]} outside [0, {n})")
    p = data(a)
    with nogil:
        if t == cnp.NPY_FLOAT:
            ok = fl_all_finite_rows_f32(n_rows, d, <const float *>p,
                                        &rows[0] if n_rows else NULL)
        else:
            ok = fl_all_finite_rows_f64(n_rows, d, <const double *>p,
                                        &rows[0] if n_rows else NULL)
    return ok != 0


def byte_span(a):
    """(first byte, one past the last byte) that the ndarray ``a`` can reach, as
    ``numpy.lib.array_utils.byte_bounds`` gives them, or None for an empty array. The plan's
    alias check asks this of some 50 buffers per fit call, where byte_bounds' Python took
    ~40 us of a small network's ~200 us fixed cost."""
    cdef cnp.ndarray arr = <cnp.ndarray?>a
    cdef int nd = cnp.PyArray_NDIM(arr), i
    cdef cnp.npy_intp *shape = cnp.PyArray_DIMS(arr)
    cdef cnp.npy_intp *strides = cnp.PyArray_STRIDES(arr)
    cdef Py_ssize_t low = <Py_ssize_t>cnp.PyArray_DATA(arr), high = low
    if cnp.PyArray_SIZE(arr) == 0:
        return None
    for i in range(nd):
        if strides[i] < 0:
            low += (shape[i] - 1) * strides[i]
        else:
            high += (shape[i] - 1) * strides[i]
    return low, high + cnp.PyArray_ITEMSIZE(arr)


def first_overlap(list arrays, list written):
    """(i, j), i before j in address order, of the first two ndarrays that share a byte where
    at least one of them is written (``written[i]`` true), or None. Empty arrays share
    nothing. The plan's alias check, in one pass over the sorted byte ranges."""
    cdef Py_ssize_t n = len(arrays), a, k
    spans = []
    for k in range(n):
        span = byte_span(arrays[k])
        if span is not None:
            spans.append((span[0], span[1], k))
    spans.sort()
    cdef Py_ssize_t m = len(spans)
    cdef Py_ssize_t low, high
    # a written span must not meet any span; spans sorted by start: keep the one reaching
    # furthest so far, and the furthest written one, and test each new span against both
    cdef Py_ssize_t reach_any = -1, reach_any_k = -1, reach_w = -1, reach_w_k = -1
    for a in range(m):
        low, high, k = spans[a]
        if written[k] and reach_any > low:
            return (reach_any_k, k)
        if reach_w > low:
            return (reach_w_k, k)
        if high > reach_any:
            reach_any, reach_any_k = high, k
        if written[k] and high > reach_w:
            reach_w, reach_w_k = high, k
    return None
