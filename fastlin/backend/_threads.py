"""How many threads a kernel call may use.

The OpenMP kernels take an explicit positive thread count. ``set_num_threads`` fixes it for the
process (``None`` restores the default: every core this process may run on). A call on a
small buffer stays on one thread whatever the setting: below ``PARALLEL_MIN_ELEMENTS`` the cost
of waking a second thread (a few microseconds) is more than the work it would take over.
"""
import os

from fastlin._kernels import _config

# Measured on this 2-core machine (float32, 1 vs 2 threads, passive OpenMP waiting): waking the
# second thread costs ~70 us. Kernels with an exp per element (sigmoid, tanh, softmax, the
# fused losses) gain from it above ~256k elements (sigmoid 185 -> 146 us, softmax-CE 234 -> 186
# us at 262144; slower below). Memory-bound kernels (relu family, identity, abs, mse, optimizer
# updates) were still slower with 2 threads at 1M elements (relu 104 vs 133 us), so they stay
# serial up to 4M.
# Adam's update (a sqrt and a division per element) sits between: 2 threads lose at 262k
# (87 vs 152 us), break even at 512k, win at 1M (359 vs 255 us).
PARALLEL_MIN_ELEMENTS = 1 << 18
PARALLEL_MIN_ELEMENTS_CHEAP = 1 << 22
PARALLEL_MIN_ELEMENTS_ADAM = 1 << 20
# activation codes whose per-element work is a compare or a multiply
CHEAP_ACTIVATIONS = frozenset({0, 3, 4, 5, 6})

_num_threads = None


def _count_cores():
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


_CORES = _count_cores()  # read once: asking the OS costs ~1 us, more than a small kernel
_OPENMP = _config.openmp_enabled()


def _available_cores():
    return _CORES


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
    if not _OPENMP:
        return 1
    return n_threads


def for_size(n_elements, n_threads=None, cheap=False, min_elements=None):
    """Threads for a call touching n_elements: 1 below the measured threshold (the higher one
    for memory-bound `cheap` kernels, or `min_elements`), else resolve(n_threads)."""
    if min_elements is None:
        min_elements = PARALLEL_MIN_ELEMENTS_CHEAP if cheap else PARALLEL_MIN_ELEMENTS
    if n_elements < min_elements:
        return 1
    return resolve(n_threads)


def min_elements_for_activation(code):
    """The element count from which an activation kernel with this code uses several threads."""
    return PARALLEL_MIN_ELEMENTS_CHEAP if code in CHEAP_ACTIVATIONS else PARALLEL_MIN_ELEMENTS


def for_activation(code, n_elements, n_threads=None):
    """Threads for an activation kernel (or a Dense epilogue) with this activation code."""
    return for_size(n_elements, n_threads, cheap=code in CHEAP_ACTIVATIONS)


def set_num_threads(n_threads):
    """Set the thread count of fastlin's OpenMP kernels (None: all available cores).

    BLAS (OpenBLAS inside SciPy) keeps its own pool; limit it with OPENBLAS_NUM_THREADS or
    threadpoolctl."""
    global _num_threads, DEFAULT_THREADS
    resolved = resolve(n_threads)  # validate now, not at the first kernel call
    _num_threads = n_threads
    DEFAULT_THREADS = resolved


# resolve(None), kept current by set_num_threads: the kernels' fast entry points read it per call
DEFAULT_THREADS = resolve(None)


def get_num_threads():
    """The thread count kernels use for large buffers."""
    return resolve(None)
