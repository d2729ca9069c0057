"""How many threads a kernel call may use.

The OpenMP kernels take an explicit positive thread count. ``set_num_threads`` fixes it for the
process (``None`` restores the default: every core this process may run on). A call on a
small buffer stays on one thread whatever the setting: below ``PARALLEL_MIN_ELEMENTS`` the cost
of waking a second thread (a few microseconds) is more than the work it would take over.
"""
import os

from fastlin._kernels import _config

# Measured on a 2-core machine (python -m fastlin bench): with passive OpenMP waiting a
# fork/join costs tens of microseconds, about what a vectorized sigmoid or softmax-CE takes
# over 128k float32 elements on one core, so smaller calls stay serial.
PARALLEL_MIN_ELEMENTS = 1 << 17

_num_threads = None


def _available_cores():
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def resolve(n_threads):
    """Turn a user's n_threads (None, positive, or negative counting back from the cores) into a
    positive int; 1 when the build has no OpenMP."""
    if n_threads is None:
        n_threads = _num_threads
    if n_threads is None:
        n_threads = _available_cores()
    if isinstance(n_threads, bool) or not isinstance(n_threads, int):
        raise TypeError(f"n_threads must be an int or None, got {type(n_threads).__name__}")
    if n_threads == 0:
        raise ValueError("n_threads must not be 0 (use None for all cores, 1 for serial)")
    if n_threads < 0:
        n_threads = max(1, _available_cores() + 1 + n_threads)
    if not _config.openmp_enabled():
        return 1
    return n_threads


def for_size(n_elements, n_threads=None):
    """Threads for a call touching n_elements: 1 for small buffers, else resolve(n_threads)."""
    if n_elements < PARALLEL_MIN_ELEMENTS:
        return 1
    return resolve(n_threads)


def set_num_threads(n_threads):
    """Set the thread count of fastlin's OpenMP kernels (None: all available cores).

    BLAS (OpenBLAS inside SciPy) keeps its own pool; limit it with OPENBLAS_NUM_THREADS or
    threadpoolctl."""
    global _num_threads
    if n_threads is not None:
        resolve(n_threads)  # validate now, not at the first kernel call
    _num_threads = n_threads


def get_num_threads():
    """The thread count kernels use for large buffers."""
    return resolve(None)
