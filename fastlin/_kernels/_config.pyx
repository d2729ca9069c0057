"""What this build of the kernels saw: OpenMP or not, and OpenMP's default thread count."""
from fastlin._kernels._openmp cimport fl_openmp_enabled, fl_max_threads


def openmp_enabled():
    """Return True when the kernels were compiled with OpenMP (multithreaded prange loops)."""
    return bool(fl_openmp_enabled())


def openmp_max_threads():
    """Return OpenMP's default thread count (1 without OpenMP)."""
    return int(fl_max_threads())
