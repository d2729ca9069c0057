"""The thread count of the BLAS behind fastlin's matrix products (SciPy's OpenBLAS), set for the
calling thread only.

fastlin's GEMMs go through ``scipy.linalg.cython_blas``, i.e. the OpenBLAS that SciPy bundles.
Its pool is sized for the whole machine. On a quiet machine a second BLAS thread speeds up the
large products of an MLP; beside one busy process the same thread waits for a core the other
process holds, and a training step takes several times longer than on one thread. fit therefore
times its products on scratch arrays with both settings before an epoch and keeps the faster
(``choose``). OpenBLAS 0.3.27
and later export ``openblas_set_num_threads_local``, which changes the count for the calling
thread alone, so a fit never changes what other threads' BLAS calls use. Where the symbol or the
library is missing, ``available()`` is False and nothing is changed.
"""
import ctypes
import glob
import os
import time

_lib = None
_set_local = None
_get = None


def _load():
    global _lib, _set_local, _get
    if _lib is not None:
        return
    _lib = False
    try:
        import scipy
        import scipy.linalg  # noqa: F401  (loads the library)
    except ImportError:  # pragma: no cover - scipy is a dependency
        return
    here = os.path.dirname(scipy.__file__)
    candidates = sorted(glob.glob(os.path.join(here, os.pardir, "scipy.libs", "*openblas*.so*")))
    for path in candidates:
        try:
            # RTLD_NOLOAD: only the copy SciPy already loaded, never a second one
            lib = ctypes.CDLL(path, mode=getattr(os, "RTLD_NOLOAD", 0) | os.RTLD_GLOBAL)
        except OSError:
            continue
        set_local = getattr(lib, "openblas_set_num_threads_local", None)
        get = getattr(lib, "scipy_openblas_get_num_threads", None) or \
            getattr(lib, "openblas_get_num_threads", None)
        if set_local is not None and get is not None:
            set_local.restype, set_local.argtypes = ctypes.c_int, [ctypes.c_int]
            get.restype, get.argtypes = ctypes.c_int, []
            _lib, _set_local, _get = lib, set_local, get
            return


def available():
    """True when the calling thread's BLAS thread count can be set."""
    _load()
    return _set_local is not None


def get_num_threads():
    """The BLAS pool's thread count (the calling thread's count when one was set)."""
    _load()
    return _get() if _get is not None else 1


def set_local(n):
    """Set the calling thread's BLAS thread count; returns the previous one (None when the
    library has no per-thread setting)."""
    _load()
    if _set_local is None:
        return None
    return _set_local(max(1, int(n)))


def _median_time(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


# Products smaller than this (m * n * k multiply-adds) run on one BLAS thread whatever the
# setting (OpenBLAS decides so itself), so probing them tells nothing.
PROBE_MIN_WORK = 1 << 21
# One thread is chosen only when it is this much faster than the full pool: on a quiet machine
# the full pool is never that much slower, so the choice (and with it the float32 rounding of
# the products, which depends on the thread count) stays the same from run to run.
ONE_THREAD_MARGIN = 1.3


_recent = {}  # (shapes, dtype, full) -> (time of the probe, its choice)
# a choice is reused for this long: fits called in a loop do not probe every call
REUSE_SECONDS = 1.0


def choose(shapes, dtype, full, repeat=5):
    """The BLAS thread count for the products `shapes` [(m, k, n), ...] now: ``full`` unless
    one thread is clearly faster (another process holds a core). Times the products on scratch
    arrays, never the model's, so the probe changes no result. Quiet, it costs a few product
    times (~1 ms for an MNIST-sized MLP); beside a busy process, one slow pool run (the wait
    for the other core, tens of ms), which is what one step would have lost anyway."""
    if full <= 1 or not available():
        return full
    shapes = tuple(s for s in shapes if s[0] * s[1] * s[2] >= PROBE_MIN_WORK)
    if not shapes:
        return full
    import numpy as np
    key = (shapes, np.dtype(dtype).str, full)
    now = time.monotonic()
    seen = _recent.get(key)
    if seen is not None and now - seen[0] < REUSE_SECONDS:
        return seen[1]
    from fastlin.backend import get
    kernels = get("cython")
    arrays = [(np.ones((m, k), dtype), np.ones((k, n), dtype), np.empty((m, n), dtype),
               np.empty((k, n), dtype), np.empty((m, k), dtype)) for m, k, n in shapes]

    def products():
        # a training step's products with a pass over each output between them, as in fit:
        # the pool's threads idle in the gaps, which is when a busy core delays them
        for X, W, out, _, _ in arrays:
            kernels.dense_forward(X, W, out=out)
            np.maximum(out, 0, out=out)
        for X, W, out, dW, dX in reversed(arrays):
            kernels.dense_backward(X, W, out, dW=dW, dX=dX)

    previous = set_local(1)
    choice = 1
    try:
        products()  # warm the caches
        t_one = _median_time(products, repeat)
        set_local(full)
        products()  # wake the pool
        # the median of a few pool runs: one lucky run (the other process descheduled for a
        # moment) must not decide; a run far slower than one thread decides at once
        runs = []
        for _ in range(repeat):
            runs.append(_median_time(products, 1))
            if runs[-1] > 5 * t_one:
                break
        runs.sort()
        choice = full if runs[len(runs) // 2] <= t_one * ONE_THREAD_MARGIN else 1
    finally:
        set_local(previous)
    if len(_recent) > 64:
        _recent.clear()
    _recent[key] = (time.monotonic(), choice)
    return choice
