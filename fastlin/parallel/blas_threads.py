"""The BLAS behind fastlin's matrix products: which library, and its thread count for the
calling thread.

Two OpenBLAS builds are in every process that imports fastlin from PyPI wheels:
- SciPy's, reached through ``scipy.linalg.cython_blas`` (32-bit integers);
- NumPy's, an ILP64 build (64-bit integers, ``scipy_sgemm_64_``), which ``np.matmul`` uses.

Their releases differ. On a 2-core Zen 2 with NumPy 2.4's OpenBLAS 0.3.31 beside SciPy 1.16's
0.3.30, the newer one ran W1's nine products 6-34% faster each, 14% in all, at one thread.

``choose(name)`` points the compiled kernels at one of them. Which one is decided by
fastlin/parallel/gemm_choice.py, from a measurement stored per machine (``FASTLIN_BLAS``
overrides it); ``choose("auto")`` is the rule it falls back on where nothing can be stored: the
newer OpenBLAS, a tie to SciPy's, deterministic, so float32 results do not depend on a timing.

Sharing NumPy's library also means sharing its thread pool. A program that mixes NumPy
products with fastlin then runs one BLAS pool, not two pools spinning against each other on the
same cores.

``set_local(n)`` changes the chosen library's thread count through
``openblas_set_num_threads_local`` (OpenBLAS 0.3.27 and later). Only an OpenMP build keeps that
count per calling thread; in the pthreads builds of the PyPI wheels it is the process's count, so
while a fit has lowered it, other threads' products (NumPy's too, when NumPy's library is the
chosen one) run on that count as well. Where the symbol or the library is missing,
``available()`` is False and nothing is changed.
"""
import ctypes
import glob
import os
import threading

from fastlin._kernels import _blas

_ENV = "FASTLIN_BLAS"


class _Library:
    """One loaded OpenBLAS: its name, version and the entry points fastlin uses."""

    def __init__(self, name, path, lib, suffix):
        self.name, self.path, self.lib = name, path, lib
        config = getattr(lib, "scipy_openblas_get_config" + suffix)
        config.restype, config.argtypes = ctypes.c_char_p, []
        self.config = config().decode("ascii", "replace")
        self.version = _parse_version(self.config)
        self.get = getattr(lib, "scipy_openblas_get_num_threads" + suffix)
        self.get.restype, self.get.argtypes = ctypes.c_int, []
        self.set_local = getattr(lib, "openblas_set_num_threads_local", None)
        if self.set_local is not None:
            self.set_local.restype, self.set_local.argtypes = ctypes.c_int, [ctypes.c_int]
        # only an OpenMP build keeps a count per calling thread; in a pthreads build (the PyPI
        # wheels') openblas_set_num_threads_local sets the process's count
        self.per_thread = "USE_OPENMP" in self.config.split()


def _parse_version(config):
    """(0, 3, 31, 188, 0) from "OpenBLAS 0.3.31.188.0 DYNAMIC_ARCH ..."; () if unreadable."""
    words = config.split()
    if len(words) < 2:
        return ()
    try:
        return tuple(int(part) for part in words[1].split("."))
    except ValueError:
        return ()


def _open(package, pattern, name, suffix):
    """The already-loaded OpenBLAS bundled with `package` (never a second copy), or None."""
    try:
        module = __import__(package)
        if package == "scipy":
            import scipy.linalg  # noqa: F401  (loads SciPy's library)
    except ImportError:  # pragma: no cover - both are dependencies
        return None
    here = os.path.dirname(module.__file__)
    for path in sorted(glob.glob(os.path.join(here, os.pardir, package + ".libs", pattern))):
        try:
            lib = ctypes.CDLL(path, mode=getattr(os, "RTLD_NOLOAD", 0) | os.RTLD_LOCAL)
            return _Library(name, os.path.realpath(path), lib, suffix)
        except (OSError, AttributeError):
            continue
    return None


_libraries = None
_chosen = None


def _load():
    global _libraries
    if _libraries is None:
        found = [_open("scipy", "libscipy_openblas*.so*", "scipy", ""),
                 _open("numpy", "libscipy_openblas64_*.so*", "numpy", "64_")]
        _libraries = {lib.name: lib for lib in found if lib is not None}
    return _libraries


def libraries():
    """{name: (OpenBLAS version string, path)} of the BLAS libraries fastlin can use."""
    return {name: (lib.config.split()[1] if len(lib.config.split()) > 1 else "?", lib.path)
            for name, lib in _load().items()}


def choose(preference=None):
    """Point the compiled kernels at SciPy's or NumPy's OpenBLAS and return the name chosen.

    preference: "scipy", "numpy" or "auto"; None reads FASTLIN_BLAS (unset means "auto").
    "auto" takes the newer OpenBLAS; a tie, or an unreadable version, keeps SciPy's."""
    global _chosen
    if preference is None:
        preference = os.environ.get(_ENV, "auto").strip().lower() or "auto"
    if preference not in ("auto", "scipy", "numpy"):
        raise ValueError(f"{_ENV} must be 'auto', 'scipy' or 'numpy', got {preference!r}")
    libs = _load()
    numpy_lib = libs.get("numpy")
    use_numpy = numpy_lib is not None and _has_products(numpy_lib) and (
        preference == "numpy" or (preference == "auto" and "scipy" in libs
                                  and libs["scipy"].version  # () when unreadable
                                  and numpy_lib.version > libs["scipy"].version))
    if preference == "numpy" and not use_numpy:
        import warnings
        warnings.warn(f"{_ENV}=numpy, but NumPy's bundled OpenBLAS (scipy_sgemm_64_ and the rest) "
                      "was not found in this process; fastlin's products use SciPy's BLAS",
                      RuntimeWarning, stacklevel=2)
    if use_numpy:
        lib = numpy_lib.lib
        _blas.use_ilp64(*(ctypes.cast(getattr(lib, f"scipy_{name}_64_"), ctypes.c_void_p).value
                          for name in ("sgemm", "dgemm", "sgemv", "dgemv")))
        _chosen = "numpy"
    else:
        _blas.use_scipy()
        _chosen = "scipy"
    return _chosen


def _has_products(lib):
    return all(hasattr(lib.lib, f"scipy_{name}_64_") for name in ("sgemm", "dgemm", "sgemv",
                                                                   "dgemv"))


def chosen():
    """"scipy" or "numpy": the library fastlin's products go to."""
    return _chosen or ("numpy" if _blas.using_ilp64() else "scipy")


def _current():
    return _load().get(chosen())


def available():
    """True when the calling thread's BLAS thread count can be set."""
    lib = _current()
    return lib is not None and lib.set_local is not None


def get_num_threads():
    """The chosen library's thread count (the calling thread's count when one was set)."""
    lib = _current()
    return lib.get() if lib is not None else 1


def set_local(n):
    """Set the calling thread's thread count in the chosen library; returns the previous one
    (None when the library has no per-thread setting)."""
    lib = _current()
    if lib is None or lib.set_local is None:
        return None
    return lib.set_local(max(1, int(n)))


_fit_lock = threading.Lock()
_fits_holding = 0  # fits that changed the count and have not restored it yet
_count_before_fits = None


def set_for_fit(n):
    """set_local(n) for a fit: the count before (None when nothing was changed). A fit that got
    a count back must hand it to ``restore_after_fit``.

    Where the count is the process's (pthreads OpenBLAS), fits overlapping in several threads
    each see the count another one set; only the last of them to end puts back the count from
    before the first, so no lowered count outlives them and none is raised under a running fit
    (two fits with the same fixed count stay reproducible)."""
    global _fits_holding, _count_before_fits
    with _fit_lock:
        count = get_num_threads()
        previous = set_local(n)
        if previous is not None:
            if _fits_holding == 0:
                _count_before_fits = count
            _fits_holding += 1
        return previous


def restore_after_fit(previous):
    """End what ``set_for_fit`` began: this thread's count back to `previous`, and the count from
    before the first overlapping fit once the last one ends (pthreads OpenBLAS)."""
    global _fits_holding
    with _fit_lock:
        _fits_holding = max(0, _fits_holding - 1)
        lib = _current()
        if lib is None or lib.per_thread:
            set_local(previous)
        elif _fits_holding == 0 and _count_before_fits is not None:
            # one count for the process: a fit still running keeps the count it set
            set_local(_count_before_fits)
