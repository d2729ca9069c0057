# OpenMP queries that degrade to serial stubs when the build has no OpenMP: prange falls back to
# a plain loop by itself, direct omp_* calls would not.
cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static int fl_openmp_enabled(void) { return 1; }
    static int fl_max_threads(void) { return omp_get_max_threads(); }
    #else
    static int fl_openmp_enabled(void) { return 0; }
    static int fl_max_threads(void) { return 1; }
    #endif
    """
    int fl_openmp_enabled() noexcept nogil
    int fl_max_threads() noexcept nogil
