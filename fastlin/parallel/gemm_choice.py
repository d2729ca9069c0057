"""Which GEMM fastlin's matrix products run on, per size class, chosen by measuring them here.

Candidates, none a new system dependency:
- the two OpenBLAS builds every PyPI install carries (SciPy's and NumPy's; see blas_threads.py);
- the ``blis`` package (``pip install fastlin[blis]``): BLIS with its own kernels per
  microarchitecture, single-threaded, as Thinc and spaCy use it. Which kernels it runs depends on
  whether its BLIS knows the CPU: on a Zen 5 its 0.7 release falls back to "generic" kernels
  and ran 0.2x OpenBLAS's speed; on a CPU whose OpenBLAS runs borrowed kernels it can win.

A product's size class is its multiply-adds m*n*k (``_blas.product_class``): small below 2**20
(a 128x128x10 layer), medium below 2**26 (W1's 784-256-128 layers), large from there (W2's
1024-wide ones). Each class is timed on the products a training step of that size makes (the
forward X @ W, the weight gradient Xᵀ dZ, the input gradient dZ Wᵀ), through fastlin's own call
path, each candidate in turn, medians of three rounds, at one BLAS thread: timed in turn at two
threads, one OpenBLAS's idle threads spin on the core the other one needs, and the kernels are
not compared alone.

The choice: one OpenBLAS for everything (the two builds share no thread pool, so fastlin keeps
to one whose thread count it manages): NumPy's, whose pool ``np.matmul`` uses too, unless
SciPy's was more than 10% faster as the geometric mean of its per-class ratios. Two pools in
one program spin against each other: with fastlin's products on SciPy's pool, W1's nine
products timed between careful-NumPy steps (two threads each, on two cores) took 4.6 ms
instead of 0.43. And blis for a class only where it beat
that OpenBLAS by more than 5% (a margin so that noise does not flip a tie) at one thread and
again, timed a second time, against the OpenBLAS at the process's thread count (blis runs one
thread; OpenBLAS on every core may still win). GEMV (one output row or column) stays with
OpenBLAS, whose GEMV skips the packing a GEMM does.

Why measured once and stored: the first ``import fastlin`` on a machine times the candidates
(about 0.2 s; 0.4 s with blis) and stores the result in ``$FASTLIN_CACHE_DIR/gemm-choice.json``
(``~/.cache/fastlin``), keyed by CPU, cores, BLAS thread count and library versions; later
imports read it. The measuring and storing hold a lock (``gemm-choice.json.lock`` beside it),
and a process that finds no stored choice takes that lock first and reads the file again: of
processes starting together, one measures and the others apply what it stored, instead of
each applying its own measurement. A choice remade in every process would vary with the
machine's load, and so would every float32 result's last bits; stored, it is the same for
every process until the file is deleted (or ``python -m fastlin bench --calibrate`` measures
again). Where the file cannot be written, nothing is measured: the newer OpenBLAS serves every
class, as before blis was a candidate.

``FASTLIN_BLAS`` overrides: ``scipy`` or ``numpy`` (that OpenBLAS for every class), ``blis``
(blis for every GEMM class, the newer OpenBLAS for GEMV), ``auto`` (the default: measured).
"""
import contextlib
import ctypes
import functools
import errno
import json
import os
import time

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no lock, the file is still written whole
    fcntl = None

from fastlin._atomic import atomic_write
from fastlin._kernels import _blas
from fastlin._timing import alternate
from fastlin.parallel import blas_threads, calibration

FILENAME = "gemm-choice.json"
CLASSES = ("small", "medium", "large")
OPENBLAS_MARGIN = 1.10  # SciPy's OpenBLAS must be this much faster than NumPy's to be chosen
BLIS_MARGIN = 1.05      # blis must be this much faster than the OpenBLAS to take a class
# (trans_a, trans_b, m, n, k) per class: a training step's three products at that size
SHAPES = {
    "small": [(0, 0, 128, 10, 128), (1, 0, 128, 10, 128), (0, 1, 128, 128, 10),
              (0, 0, 32, 64, 64), (1, 0, 64, 64, 32), (0, 1, 32, 64, 64)],
    "medium": [(0, 0, 128, 256, 784), (1, 0, 784, 256, 128), (0, 0, 128, 128, 256),
               (1, 0, 256, 128, 128), (0, 1, 128, 256, 128)],
    "large": [(0, 0, 256, 1024, 1024), (1, 0, 1024, 1024, 256), (0, 1, 256, 1024, 1024)],
}
_ENV = "FASTLIN_BLAS"
LOCK_SECONDS = 60  # wait this long for another process's measurement before giving up on it
_state = {"source": "not chosen yet", "timings": None, "routes": (False, False, False)}


@functools.lru_cache(maxsize=1)
def blis_library():
    """{"version", "arch", "sgemm", "dgemm"} of the installed ``blis`` package (its row-major
    GEMM entry points as addresses), or None when it is not installed or lacks them. Looked up
    once per process (the choice asks for it several times at import)."""
    try:
        import blis.cy as cy
    except ImportError:
        return None
    api = getattr(cy, "__pyx_capi__", {})
    if "sgemm" not in api or "dgemm" not in api:
        return None
    capsule = ctypes.pythonapi
    capsule.PyCapsule_GetName.restype = ctypes.c_char_p
    capsule.PyCapsule_GetName.argtypes = [ctypes.py_object]
    capsule.PyCapsule_GetPointer.restype = ctypes.c_void_p
    capsule.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
    addresses = {name: capsule.PyCapsule_GetPointer(api[name], capsule.PyCapsule_GetName(api[name]))
                 for name in ("sgemm", "dgemm")}
    info = {"version": "?", "arch": "?", **addresses}
    try:
        lib = ctypes.CDLL(cy.__file__, mode=getattr(os, "RTLD_NOLOAD", 0) | os.RTLD_LOCAL)
        lib.bli_info_get_version_str.restype = ctypes.c_char_p
        lib.bli_arch_query_id.restype = ctypes.c_int
        lib.bli_arch_string.restype = ctypes.c_char_p
        lib.bli_arch_string.argtypes = [ctypes.c_int]
        info["version"] = lib.bli_info_get_version_str().decode("ascii", "replace")
        info["arch"] = lib.bli_arch_string(lib.bli_arch_query_id()).decode("ascii", "replace")
    except (OSError, AttributeError):
        pass  # version and kernels unknown; the entry points were found all the same
    return info


def candidates():
    """Names of the GEMMs this process can use: "scipy", "numpy" (OpenBLAS builds) and "blis"."""
    names = [name for name in blas_threads.libraries()
             if name == "scipy" or blas_threads._has_products(blas_threads._load()[name])]
    if blis_library() is not None:
        names.append("blis")
    return names


def _route(name, openblas):
    """Every GEMM class to `name`; GEMV (and blis's classes' GEMV) to `openblas`."""
    blas_threads.choose(openblas)
    _blas.route_classes(*(name == "blis",) * 3)


def _timed(names, cls, openblas, repeat):
    """{name: seconds} for one class's products, the candidates alternating; a candidate more
    than twice as slow as the fastest on the first pass is not timed again."""
    def run(name):
        _route(name, name if name != "blis" else openblas)
        for ta, tb, m, n, k in SHAPES[cls]:
            _blas.time_product(ta, tb, m, n, k, False, 4 if cls == "small" else 1)
    first = alternate({name: (lambda name=name: run(name)) for name in names}, 1, 1)
    close = [n for n in names if first[n] <= 2 * min(first.values())]
    return {**first, **alternate({name: (lambda name=name: run(name)) for name in close},
                                 repeat, 1)}


def measure(names=None, repeat=3):
    """{"one": {class: {candidate: seconds}}, "many": {class: {candidate: seconds}}}.

    "one": every candidate at one BLAS thread, so that no OpenBLAS's idle threads spin beside
    another's (they would, timed in turn at two threads) and the kernels are compared alone.
    "many": for the classes where blis (always one thread) won, blis against the OpenBLAS of
    `decide` at the process's BLAS thread count."""
    names = names or candidates()
    blis = blis_library() if "blis" in names else None
    if blis is not None:
        _blas.use_blis(blis["sgemm"], blis["dgemm"])
    openblas = [n for n in names if n != "blis"]
    before = blas_threads.chosen(), _blas.routed_classes()
    libs = [lib for lib in blas_threads._load().values() if lib.set_local is not None]
    result = {"one": {}, "many": {}}
    try:
        counts = [lib.set_local(1) for lib in libs]
        try:
            for cls in CLASSES:
                result["one"][cls] = _timed(names, cls, openblas[0], repeat)
        finally:
            for lib, count in zip(libs, counts):
                lib.set_local(count)
        chosen = _openblas_of(result["one"], _versions())
        for cls in CLASSES:
            if blis is not None and _blis_wins(result["one"][cls], chosen):
                result["many"][cls] = _timed([chosen, "blis"], cls, chosen, repeat)
    finally:
        blas_threads.choose(before[0])
        _blas.route_classes(*before[1])
    return result


def _versions():
    return {name: lib.version for name, lib in blas_threads._load().items()}


def _openblas_of(one, versions):
    """The OpenBLAS for every product: NumPy's (the pool NumPy's own products use) unless the
    other one's time, as the geometric mean over the classes of its ratio to the best, was
    more than OPENBLAS_MARGIN shorter; without NumPy's, the newer release."""
    openblas = [n for n in one[CLASSES[0]] if n != "blis"]
    score = {n: 1.0 for n in openblas}
    for cls in CLASSES:
        best = min(one[cls][n] for n in openblas)
        for n in openblas:
            score[n] *= (one[cls][n] / best) ** (1.0 / len(CLASSES))  # geometric mean
    chosen = "numpy" if "numpy" in openblas else max(
        openblas, key=lambda n: (versions.get(n, ()), n == "scipy"))
    for name in openblas:
        if score[name] * OPENBLAS_MARGIN < score[chosen]:
            chosen = name
    return chosen


def _blis_wins(times, openblas):
    return "blis" in times and times["blis"] * BLIS_MARGIN < times[openblas]


def decide(timings, versions):
    """(OpenBLAS name, (small, medium, large): True where blis takes the class) from
    measure()'s timings; blis takes a class where it won at one thread and, when timed again
    at the process's thread count, there too."""
    chosen = _openblas_of(timings["one"], versions)
    routes = tuple(_blis_wins(timings["one"][cls], chosen)
                   and (cls not in timings["many"] or _blis_wins(timings["many"][cls], chosen))
                   for cls in CLASSES)
    return chosen, routes


def _key():
    versions = {name: version for name, (version, _) in blas_threads.libraries().items()}
    blis = blis_library()
    versions["blis"] = f"{blis['version']} {blis['arch']}" if blis else "absent"
    # every OpenBLAS's count, not only the chosen one's: the key must be the same before the
    # choice (when it is read) and after it (when it is stored)
    threads = " ".join(f"{name} {lib.get()}" for name, lib in sorted(blas_threads._load().items()))
    parts = [f"{name} {versions[name]}" for name in sorted(versions)]
    return f"{calibration.machine_key()}|BLAS threads {threads}|" + "|".join(parts)


def _read(path):
    try:
        with open(path) as fh:
            stored = json.load(fh)
        return stored if isinstance(stored, dict) else {}
    except (OSError, ValueError, RecursionError):  # RecursionError: nested past json's limit
        return {}


def stored(path=None):
    """This machine's stored choice {"openblas", "routes", "timings", "measured"}, or None."""
    entry = _read(path or calibration.cache_path(FILENAME)).get(_key())
    try:
        names = candidates()
        if entry["openblas"] not in names or len(entry["routes"]) != 3 or (
                any(entry["routes"]) and "blis" not in names):
            return None
        return {"openblas": entry["openblas"], "routes": tuple(bool(r) for r in entry["routes"]),
                "timings": entry.get("timings"), "measured": str(entry.get("measured", "?"))}
    except (TypeError, KeyError, AttributeError):
        return None


def save(choice, path=None):
    """Store a choice for this machine (other machines' entries are kept); returns the path."""
    path = path or calibration.cache_path(FILENAME)
    entries = _read(path)
    entries[_key()] = {"openblas": choice["openblas"], "routes": list(choice["routes"]),
                       "timings": choice["timings"], "measured": choice["measured"]}
    os.makedirs(os.path.dirname(path), exist_ok=True)
    text = json.dumps(entries, indent=1, sort_keys=True).encode()
    atomic_write(path, lambda fh: fh.write(text))
    return path


def apply(choice, source):
    """Put a choice in force for every later product."""
    if any(choice["routes"]):
        blis = blis_library()
        _blas.use_blis(blis["sgemm"], blis["dgemm"])
    blas_threads.choose(choice["openblas"])
    _blas.route_classes(*choice["routes"])
    _state.update(source=source, timings=choice.get("timings"), routes=choice["routes"])


@contextlib.contextmanager
def _locked(path):
    """Hold the lock beside `path` (created, with its directory, when missing): one process at
    a time measures and stores. An OSError when it cannot be created, or when another
    process holds it longer than LOCK_SECONDS."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path + ".lock", os.O_RDWR | os.O_CREAT, 0o666)
    try:
        if fcntl is not None:
            deadline = time.monotonic() + LOCK_SECONDS
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise OSError(errno.ETIMEDOUT, "another process holds the lock",
                                      path + ".lock") from None
                    time.sleep(0.02)
        yield
    finally:
        os.close(fd)  # releases the lock


def calibrate(path=None):
    """Measure the candidates now, store and apply the result; returns it."""
    path = path or calibration.cache_path(FILENAME)
    with _locked(path):
        return _calibrate(path)


def _calibrate(path):
    timings = measure()
    openblas, routes = decide(timings, _versions())
    choice = {"openblas": openblas, "routes": routes, "timings": timings,
              "measured": time.strftime("%Y-%m-%d %H:%M:%S")}
    path = save(choice, path)
    apply(choice, f"measured on this machine {choice['measured']} ({path})")
    return choice


def choose(preference=None):
    """Put the GEMM choice in force at import: FASTLIN_BLAS's, else the stored measurement,
    else a new one (stored); where it cannot be stored, the newer OpenBLAS. Returns the source."""
    if preference is None:
        preference = os.environ.get(_ENV, "auto").strip().lower() or "auto"
    if preference not in ("auto", "scipy", "numpy", "blis"):
        raise ValueError(f"{_ENV} must be 'auto', 'scipy', 'numpy' or 'blis', got {preference!r}")
    if preference in ("scipy", "numpy"):
        blas_threads.choose(preference)
        _blas.route_classes(False, False, False)
        _state.update(source=f"{_ENV}={preference}", timings=None, routes=(False,) * 3)
        return _state["source"]
    if preference == "blis":
        return _choose_blis()
    path = calibration.cache_path(FILENAME)
    choice = stored(path)
    if choice is None:
        try:
            with _locked(path):  # before measuring: nothing is timed that cannot be stored
                choice = stored(path)  # another process may have stored one meanwhile
                if choice is None:
                    _calibrate(path)
                    return _state["source"]
        except OSError as exc:  # nowhere to store it: a deterministic rule instead
            return _fallback(f"the newer OpenBLAS (no stored measurement: {exc})")
    apply(choice, f"measured on this machine {choice['measured']} ({path})")
    return _state["source"]


def _choose_blis():
    blis = blis_library()
    if blis is None:
        import warnings
        warnings.warn(f"{_ENV}=blis, but the blis package is not installed "
                      "(pip install fastlin[blis]); fastlin's products use OpenBLAS",
                      RuntimeWarning, stacklevel=3)
        return _fallback(f"{_ENV}=blis without the blis package: the newer OpenBLAS")
    _blas.use_blis(blis["sgemm"], blis["dgemm"])
    blas_threads.choose("auto")
    _blas.route_classes(True, True, True)
    _state.update(source=f"{_ENV}=blis", timings=None, routes=(True,) * 3)
    return _state["source"]


def _fallback(source):
    blas_threads.choose("auto")
    _blas.route_classes(False, False, False)
    _state.update(source=source, timings=None, routes=(False,) * 3)
    return source


def in_force():
    """{class: library name} of the products now, with "source" (why) and "timings" (or None)."""
    openblas = blas_threads.chosen()
    routes = _blas.routed_classes()
    out = {cls: ("blis" if route else openblas) for cls, route in zip(CLASSES, routes)}
    out.update(source=_state["source"], timings=_state["timings"])
    return out
