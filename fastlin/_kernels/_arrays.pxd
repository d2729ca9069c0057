# The "already right" test behind the kernels' plain entry points, at C speed.
#
# Why: a public kernel call on a small batch (128 x 10 logits, say) does ~1.5 us of real work;
# checking six attributes per argument in Python, then acquiring typed memoryviews through a
# fused-type dispatcher, cost more than that again. These inline checks read the ndarray
# struct directly (~10 ns each). Anything they do not accept goes back to the general path,
# which converts or raises the documented error.
cimport numpy as cnp
from libc.stdint cimport uintptr_t


cdef inline bint plain_array(object a, int typenum, int ndim, cnp.npy_intp n0, cnp.npy_intp n1,
                             bint writeable):
    """a is exactly an ndarray of this type and ndim, C-contiguous, aligned (its data starts on
    a multiple of the element size), of shape (n0[, n1]); n0/n1 of -1 take any extent.
    Non-empty and writeable when asked."""
    cdef cnp.ndarray arr
    if not cnp.PyArray_CheckExact(a):
        return False
    arr = <cnp.ndarray>a
    if cnp.PyArray_NDIM(arr) != ndim or cnp.PyArray_TYPE(arr) != typenum:
        return False
    if not cnp.PyArray_IS_C_CONTIGUOUS(arr) or cnp.PyArray_SIZE(arr) == 0:
        return False
    if not cnp.PyArray_ISALIGNED(arr):
        return False
    if writeable and not cnp.PyArray_ISWRITEABLE(arr):
        return False
    if n0 >= 0 and cnp.PyArray_DIM(arr, 0) != n0:
        return False
    if ndim == 2 and n1 >= 0 and cnp.PyArray_DIM(arr, 1) != n1:
        return False
    return True


cdef inline int float_type(object a):
    """NPY_FLOAT or NPY_DOUBLE when a is exactly an ndarray of that dtype, else -1."""
    cdef int t
    if not cnp.PyArray_CheckExact(a):
        return -1
    t = cnp.PyArray_TYPE(<cnp.ndarray>a)
    return t if t == cnp.NPY_FLOAT or t == cnp.NPY_DOUBLE else -1


cdef inline bint overlaps(object a, object b):
    """The two arrays' memory ranges intersect (both must have passed plain_array)."""
    cdef uintptr_t a0 = <uintptr_t>cnp.PyArray_DATA(<cnp.ndarray>a)
    cdef uintptr_t b0 = <uintptr_t>cnp.PyArray_DATA(<cnp.ndarray>b)
    return (a0 < b0 + <uintptr_t>cnp.PyArray_NBYTES(<cnp.ndarray>b)
            and b0 < a0 + <uintptr_t>cnp.PyArray_NBYTES(<cnp.ndarray>a))


cdef inline void *data(object a):
    return cnp.PyArray_DATA(<cnp.ndarray>a)


cdef inline object plain_output(object out, object like, int typenum):
    """The output buffer for an elementwise kernel over the plain 2-D array ``like``: out itself
    when it is a plain writeable array of like's shape and type, a new array when out is None,
    and None when out must go down the general path."""
    cdef cnp.ndarray ref = <cnp.ndarray>like
    if out is None:
        return cnp.PyArray_EMPTY(2, cnp.PyArray_DIMS(ref), typenum, 0)
    if plain_array(out, typenum, 2, cnp.PyArray_DIM(ref, 0), cnp.PyArray_DIM(ref, 1), True):
        return out
    return None


cdef inline bint same_or_disjoint(object out, object a):
    """out is a itself (in place: same start, both plain arrays of one shape) or does not touch
    it; a partial overlap would overwrite values before the kernel reads them."""
    return data(out) == data(a) or not overlaps(out, a)
