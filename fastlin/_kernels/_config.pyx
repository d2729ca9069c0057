"""What this build of the kernels saw: OpenMP or not, and OpenMP's default thread count."""
from fastlin._kernels._openmp cimport fl_openmp_enabled, fl_max_threads


def openmp_enabled():
    """Return True when the kernels were compiled with OpenMP (multithreaded prange loops)."""
    return bool(fl_openmp_enabled())


def openmp_max_threads():
    """Return OpenMP's default thread count (1 without OpenMP)."""
    return int(fl_max_threads())


cdef extern from "fl_cpu.h" nogil:
    int fl_simd_level() noexcept


def simd_level():
    """Return the instruction set in use by the kernels built per SIMD level (every float
    kernel, the double losses and CSR products): "base" (SSE2), "avx2" or "avx512" (chosen at
    first use from the CPU, capped by FASTLIN_SIMD=base|avx2)."""
    return ("base", "avx2", "avx512")[fl_simd_level()]
