# The kernel contract of SPEC §9, checked in C by every def kernel on the raw buffers it got.
#
# Why here and not only in fastlin/backend/_validation.py: the layers and optimizers call the
# backends' _impl_* methods, which go straight to these functions, and the raw
# fastlin._kernels functions are reachable from Python too. Each check is a few integer
# compares on pointers and sizes (no Python objects unless it fails), so every call pays
# nanoseconds for them:
# - an output overlapping an input it does not replace exactly (the C kernels declare their
#   pointers restrict; a GEMM cannot write into its operands) is refused;
# - a buffer whose start is not a multiple of its element size is refused (misaligned loads
#   are undefined behaviour in C);
# - a dimension handed to the BLAS above INT_MAX is refused (scipy.linalg.cython_blas takes
#   32-bit ``int``; a cast would wrap it to a wrong size);
# - thread counts are capped (fl_threads) at OpenMP's current limit, omp_get_max_threads(),
#   read at call time: the CPUs of the affinity mask unless OMP_NUM_THREADS or threadpoolctl
#   lowered it. (fastlin.parallel.threads also caps at the cgroup CPU quota before calling.)
from libc.limits cimport INT_MAX
from cython cimport floating
from libc.stdint cimport uintptr_t

from fastlin._kernels._codes cimport ABS, IDENTITY
from fastlin._kernels._openmp cimport fl_max_threads

cdef inline bint disjoint(const void *a, size_t na, const void *b, size_t nb) noexcept nogil:
    """The byte ranges [a, a + na) and [b, b + nb) do not intersect (empty ranges never do)."""
    cdef uintptr_t a0 = <uintptr_t>a, b0 = <uintptr_t>b
    return na == 0 or nb == 0 or a0 + na <= b0 or b0 + nb <= a0


cdef inline int apart(const void *a, size_t na, str a_name, const void *b, size_t nb,
                      str b_name) except -1:
    if not disjoint(a, na, b, nb):
        raise ValueError(f"{a_name} must not overlap {b_name}")
    return 0


cdef inline int same_or_apart(const void *a, size_t na, str a_name, const void *b, size_t nb,
                              str b_name) except -1:
    """An elementwise output may be its input exactly (same start, same size), or apart."""
    if not (a == b and na == nb) and not disjoint(a, na, b, nb):
        raise ValueError(f"{a_name} must be {b_name} itself (in place) or not overlap it")
    return 0


cdef inline int aligned(const void *p, size_t itemsize, str name) except -1:
    if <uintptr_t>p % itemsize:
        raise ValueError(f"{name} is misaligned: its data does not start on a multiple of its "
                         f"{itemsize}-byte element size (copy it with numpy.array)")
    return 0


cdef inline int blas_dim(Py_ssize_t d, str name) except -1:
    if d > INT_MAX:
        raise ValueError(f"{name} = {d} exceeds the largest dimension the BLAS accepts "
                         f"({INT_MAX}, 32-bit integers)")
    return 0


cdef inline int fl_threads(int requested) noexcept nogil:
    """requested, capped at omp_get_max_threads() (OMP_NUM_THREADS and threadpoolctl lower it;
    a prange with an explicit num_threads would not see their limits otherwise); 1 for
    anything below 2. A C call reading OpenMP's per-thread setting: a few nanoseconds."""
    cdef int limit
    if requested <= 1:
        return 1
    limit = fl_max_threads()
    return requested if requested < limit else (limit if limit > 1 else 1)


# Start and size in bytes of a typed memoryview's buffer (NULL and 0 when empty).
cdef inline const void *start2(const floating[:, ::1] a) noexcept nogil:
    return <const void *>&a[0, 0] if a.shape[0] > 0 and a.shape[1] > 0 else NULL


cdef inline size_t bytes2(const floating[:, ::1] a) noexcept nogil:
    return <size_t>(a.shape[0] * a.shape[1]) * sizeof(floating)


cdef inline const void *start1(const floating[::1] a) noexcept nogil:
    return <const void *>&a[0] if a.shape[0] > 0 else NULL


cdef inline size_t bytes1(const floating[::1] a) noexcept nogil:
    return <size_t>a.shape[0] * sizeof(floating)


cdef inline int activation_code(int act) except -1:
    if act < IDENTITY or act > ABS:
        raise ValueError(f"activation code {act} is not one of {<int>IDENTITY}..{<int>ABS}")
    return 0


cdef inline int smoothing_in_range(double s) except -1:
    """label_smoothing in [0, 1], refused with the words of fastlin.backend._validation.number."""
    if s != s or s - s != 0:
        raise ValueError(f"label_smoothing must be finite, got {s}")
    if s < 0.0:
        raise ValueError(f"label_smoothing must be >= 0.0, got {s}")
    if s > 1.0:
        raise ValueError(f"label_smoothing must be <= 1.0, got {s}")
    return 0
