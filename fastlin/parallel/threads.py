"""How many threads a kernel call may use.

The OpenMP kernels take an explicit positive thread count. By default it is what
scikit-learn's ``_openmp_effective_n_threads`` would choose: the CPUs this process may use
(its affinity mask and its cgroup CPU quota, rounded up), lowered by ``OMP_NUM_THREADS`` and
by threadpoolctl's limits, both of which OpenMP reports through ``omp_get_max_threads()``.
``set_num_threads`` fixes the count for the process (``None`` restores the default) and a
per-call ``n_threads`` overrides it; either is capped at that same limit, so an absurd count
never starts more threads than there are CPUs to run them. The compiled kernels take the
minimum with ``omp_get_max_threads()`` again at every parallel call (a C call), so a
threadpoolctl limit entered after a model was built still holds.

A call on a small buffer stays on one thread whatever the setting: below
``PARALLEL_MIN_ELEMENTS`` the cost of waking a second thread (a few microseconds) is more than
the work it would take over.
"""
import math
import os

from fastlin._kernels import _config
from fastlin._kernels._codes import Activation

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
THRESHOLD_SOURCE = ("built in, measured by hand on the first 2-core development machine; "
                    "`python -m fastlin bench --calibrate` measures this one's")
# activation codes whose per-element work is a compare or a multiply
CHEAP_ACTIVATIONS = frozenset(Activation) - {Activation.SIGMOID, Activation.TANH}

_num_threads = None


def _own_cgroups(proc_cgroup):
    """(cgroup v1 cpu controller's path, cgroup v2 path) of this process, "/" when unknown."""
    v1 = v2 = "/"
    try:
        with open(proc_cgroup) as fh:
            lines = fh.read().splitlines()
    except OSError:
        return v1, v2
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        if parts[1] == "":
            v2 = parts[2] or "/"
        elif "cpu" in parts[1].split(","):
            v1 = parts[2] or "/"
    return v1, v2


def _up_to(base, path):
    """base/path, then each parent up to base itself: a quota anywhere above limits too."""
    parts = [p for p in path.split("/") if p and p not in (".", "..")]
    return [os.path.join(base, *parts[:k]) for k in range(len(parts), -1, -1)]


def _quota(directory, v2):
    try:
        if v2:
            with open(os.path.join(directory, "cpu.max")) as fh:
                quota, period = fh.read().split()[:2]
        else:
            with open(os.path.join(directory, "cpu.cfs_quota_us")) as fh:
                quota = fh.read().strip()
            with open(os.path.join(directory, "cpu.cfs_period_us")) as fh:
                period = fh.read().strip()
        if quota == "max":
            return None
        quota, period = int(quota), int(period)
    except (OSError, ValueError):
        return None
    if quota <= 0 or period <= 0:
        return None
    return max(1, math.ceil(quota / period))


def cgroup_cpu_limit(root="/sys/fs/cgroup", proc_cgroup="/proc/self/cgroup"):
    """The CPU quota of this process's cgroup, rounded up (None when there is none): cgroup v2
    ``cpu.max`` ("max 100000" or "150000 100000"), else cgroup v1 ``cpu/cpu.cfs_quota_us`` over
    ``cpu/cpu.cfs_period_us`` (a quota of -1 means none). Read in the process's own cgroup (its
    path in ``/proc/self/cgroup``, nested ones included) and every cgroup above it, the
    smallest quota winning, as loky/joblib read it."""
    v1_path, v2_path = _own_cgroups(proc_cgroup)
    if os.path.exists(os.path.join(root, "cpu.max")) or os.path.exists(
            os.path.join(root, "cgroup.controllers")):
        found = [_quota(d, True) for d in _up_to(root, v2_path)]
    else:
        base = os.path.join(root, "cpu")
        found = [_quota(d, False) for d in _up_to(base, v1_path)]
    found = [q for q in found if q is not None]
    return min(found) if found else None


def _count_cores():
    """CPUs this process may use: the affinity mask (else os.cpu_count()), capped by the cgroup
    CPU quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    quota = cgroup_cpu_limit()
    if quota is not None:
        cores = min(cores, quota)
    return max(1, cores)


_CORES = _count_cores()  # read once: asking the OS costs ~1 us, more than a small kernel
_OPENMP = _config.openmp_enabled()


def _available_cores():
    """The most threads a kernel may use now: the CPUs this process may use, lowered by
    OpenMP's current limit (OMP_NUM_THREADS, threadpoolctl), read at each call (~50 ns)."""
    if not _OPENMP:
        return 1
    return max(1, min(_CORES, _config.openmp_max_threads()))


def resolve(n_threads, _cores=None):
    """Turn a user's n_threads (None, positive, or negative counting back from the available
    cores) into a positive int, capped at the available cores; 1 when the build has no OpenMP."""
    if n_threads is None:
        n_threads = _num_threads
    if isinstance(n_threads, bool) or not (n_threads is None or isinstance(n_threads, int)):
        raise TypeError(f"n_threads must be an int or None, got {type(n_threads).__name__}")
    if n_threads == 0:
        raise ValueError("n_threads must not be 0 (use None for all cores, 1 for serial)")
    if not _OPENMP:
        return 1
    cores = _available_cores() if _cores is None else _cores
    if n_threads is None:
        return cores
    if n_threads < 0:
        return max(1, cores + 1 + n_threads)
    return min(n_threads, cores)


def for_size(n_elements, n_threads=None, cheap=False, min_elements=None):
    """Threads for a call touching n_elements: 1 below the measured threshold (the higher one
    for memory-bound `cheap` kernels, or `min_elements`), else resolve(n_threads)."""
    if min_elements is None:
        min_elements = PARALLEL_MIN_ELEMENTS_CHEAP if cheap else PARALLEL_MIN_ELEMENTS
    if n_elements < min_elements:
        if n_threads is not None:
            resolve(n_threads)  # a bad count is refused whatever the buffer's size
        return 1
    return resolve(n_threads)


def min_elements_for_activation(code):
    """The element count from which an activation kernel with this code uses several threads."""
    return PARALLEL_MIN_ELEMENTS_CHEAP if code in CHEAP_ACTIVATIONS else PARALLEL_MIN_ELEMENTS


def for_activation(code, n_elements, n_threads=None):
    """Threads for an activation kernel (or a Dense epilogue) with this activation code."""
    return for_size(n_elements, n_threads, cheap=code in CHEAP_ACTIVATIONS)


def set_num_threads(n_threads):
    """Set the thread count of fastlin's OpenMP kernels (None: all available cores). A count
    above the CPUs this process may use (or OMP_NUM_THREADS, or a threadpoolctl limit) is
    capped there.

    BLAS (OpenBLAS inside SciPy) keeps its own pool; limit it with OPENBLAS_NUM_THREADS or
    threadpoolctl."""
    global _num_threads, DEFAULT_THREADS
    resolve(n_threads)  # validate now, not at the first kernel call
    _num_threads = n_threads
    DEFAULT_THREADS = resolve(None, _CORES)


# resolve(None) against the CPUs alone, kept current by set_num_threads: the kernels' fast entry
# points read it per call, and the kernels lower it to omp_get_max_threads() themselves (so a
# threadpoolctl limit entered or left later is seen, and none is frozen in here)
DEFAULT_THREADS = resolve(None, _CORES)


def get_num_threads():
    """The thread count kernels use for large buffers (now: a threadpoolctl limit counts)."""
    return resolve(None)
