"""The thread count of the BLAS behind fastlin's matrix products (SciPy's OpenBLAS), set for the
calling thread only.

fastlin's GEMMs go through ``scipy.linalg.cython_blas``, i.e. the OpenBLAS that SciPy bundles.
Its pool is sized for the whole machine; a thread count set with ``fastlin.set_num_threads``
governs ``fit``'s products too, through ``openblas_set_num_threads_local`` (OpenBLAS 0.3.27 and
later), which changes the count for the calling thread alone, so a fit never changes what other
threads' BLAS calls use. Where the symbol or the library is missing, ``available()`` is False and
nothing is changed.

(Choosing one thread automatically when a busy process holds the other core was tried and
measured: a probe on scratch arrays was too noisy to decide reliably, and in the alternating
benchmark it picked one thread where two were faster, W1 2024 against 1135 us per step. See
BENCHMARKS.md.)
"""
import ctypes
import glob
import os

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
