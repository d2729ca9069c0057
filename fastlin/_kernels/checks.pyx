"""Scans of user data that NumPy can only do through a temporary array.

``np.isfinite(X).all()`` builds a boolean array a quarter the size of a float32 X; fit checks
all of X, so that temporary set its peak memory. ``all_finite`` reads X once
(csrc/fl_scan.h), without the GIL, and allocates nothing.
"""
cimport numpy as cnp

from fastlin._kernels._arrays cimport data, float_type
from fastlin._kernels._csrc cimport fl_all_finite_f32, fl_all_finite_f64

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
