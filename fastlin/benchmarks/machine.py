"""What fastlin chose on the machine at hand (SIMD tier, BLAS library, thread thresholds, the
contention guard), the timings behind those choices, and ``bench --calibrate``."""
import os

import numpy as np

from fastlin._kernels import _blas, _config
from fastlin._timing import alternate
from fastlin.benchmarks.baselines import gemm_floor
from fastlin.benchmarks.kernels import small_gemm_rows
from fastlin.benchmarks.workloads import WORKLOADS
from fastlin.parallel import blas_threads, calibration, contention, gemm_choice
from fastlin.parallel import threads as kernel_threads


def blas_choice_rows(repeat=7):
    """W1's nine matrix products at one BLAS thread through each OpenBLAS fastlin can use,
    alternating: {library: seconds}. The evidence beside the version rule of
    fastlin/parallel/blas_threads.py."""
    spec = WORKLOADS["W1 MLP 784-256-128-10 b128 CE SGD"]
    X = np.random.default_rng(0).standard_normal((spec["batch"], 784)).astype(np.float32)
    floor = gemm_floor(spec, X, np.float32)
    chosen = blas_threads.chosen()
    contenders = {}
    for name in blas_threads.libraries():
        def run(name=name):
            blas_threads.choose(name)
            floor()
        contenders[name] = run
    libs = [lib for lib in blas_threads._load().values() if lib.set_local is not None]
    before = [lib.set_local(1) for lib in libs]  # this thread, every library: 1 thread
    try:
        return alternate(contenders, repeat, 3)
    finally:
        blas_threads.choose(chosen)
        for lib, count in zip(libs, before):
            lib.set_local(count)


def describe_choices(print_fn=print, measure=True):
    """What fastlin chose on this machine: SIMD tier, BLAS library, thread thresholds and the
    contention guard, and (measure=True) the BLAS timing behind the choice."""
    print_fn(f"CPU: {calibration.cpu_name()}, {kernel_threads._CORES} usable cores; kernels: "
             f"{_config.simd_level()} build (chosen at run time from CPUID)")
    coretype = os.environ.get("OPENBLAS_CORETYPE")
    if coretype:
        print_fn(f"OPENBLAS_CORETYPE={coretype} is set: OpenBLAS runs that core's kernels, which "
                 f"may be slower than this CPU's (unset it for the numbers below)")
    describe_gemm(print_fn)
    if measure and len(blas_threads.libraries()) > 1:
        t = blas_choice_rows()
        flops = 2 * 128 * (784 * 256 + 256 * 128 + 128 * 10) * 2 + 2 * 128 * (256 * 128 + 128 * 10)
        print_fn("  W1's products, 1 BLAS thread: " + ", ".join(
            f"{name} {sec * 1e6:.0f} us ({flops / sec / 1e9:.0f} GFLOP/s)" for name, sec in t.items()))
    rows, total = _blas.small_gemm_limits()
    print_fn(f"Small products skip BLAS (csrc/fl_gemm_small.h): X @ W and dZ @ W^T up to {rows} "
             f"multiply-adds per row, X^T dZ up to {total} in all")
    if measure:
        print_fn("  per call, small loops against BLAS: " + ", ".join(
            f"{name} {small * 1e9:.0f} vs {blas * 1e9:.0f} ns" for name, small, blas in small_gemm_rows()))
    guard = ("on" if contention.read_wait_ns() is not None and blas_threads.available()
             else "off")

    def show(n):
        return "never" if n >= calibration.NEVER else str(n)
    print_fn(f"OpenMP thresholds (elements from which a kernel uses every core): exp-heavy "
             f"{show(kernel_threads.PARALLEL_MIN_ELEMENTS)}, "
             f"Adam {show(kernel_threads.PARALLEL_MIN_ELEMENTS_ADAM)}, "
             f"memory-bound {show(kernel_threads.PARALLEL_MIN_ELEMENTS_CHEAP)}; "
             f"{kernel_threads.THRESHOLD_SOURCE}")
    print_fn(f"fit's contention guard: {guard}")


def _library_names():
    """{"scipy"|"numpy"|"blis": "SciPy's OpenBLAS 0.3.30" ...} for the GEMMs loaded here."""
    owner = {"scipy": "SciPy", "numpy": "NumPy"}
    names = {name: f"{owner[name]}'s OpenBLAS {version}"
             for name, (version, _) in blas_threads.libraries().items()}
    blis = gemm_choice.blis_library()
    if blis is not None:
        names["blis"] = f"blis {blis['version']} ({blis['arch']} kernels)"
    return names


def describe_gemm(print_fn=print):
    """The GEMM in force per size class, why, and the timings behind a measured choice."""
    names = _library_names()
    now = gemm_choice.in_force()
    print_fn(f"GEMM per size class of product ({now['source']}):")
    bounds = {"small": "< 2^20 multiply-adds", "medium": "< 2^26", "large": ">= 2^26"}
    timings = now["timings"] or {}
    for cls in gemm_choice.CLASSES:
        line = f"  {cls:<7}({bounds[cls]}): {names.get(now[cls], now[cls])}"
        for label, key in (("1 BLAS thread", "one"), ("default threads", "many")):
            times = timings.get(key, {}).get(cls)
            if times:
                flops = sum(2 * m * n * k * (4 if cls == "small" else 1)
                            for _, _, m, n, k in gemm_choice.SHAPES[cls])
                line += f"; {label}: " + ", ".join(
                    f"{name} {flops / sec / 1e9:.0f}" for name, sec in times.items()) + " GFLOP/s"
        print_fn(line)
    if "blis" not in names:
        print_fn("  (blis is not installed: pip install fastlin[blis] makes it a candidate)")


def run_calibration(print_fn=print, sizes=None, repeat=7):
    """Measure this machine's OpenMP thresholds (fastlin/parallel/calibration.py), store them
    and put them in force; returns the result."""
    print_fn(f"CPU: {calibration.cpu_name()}, {kernel_threads._CORES} usable cores, "
             f"SIMD: {_config.simd_level()}")
    before = {"exp": kernel_threads.PARALLEL_MIN_ELEMENTS,
              "cheap": kernel_threads.PARALLEL_MIN_ELEMENTS_CHEAP,
              "adam": kernel_threads.PARALLEL_MIN_ELEMENTS_ADAM}
    threads = kernel_threads.get_num_threads()
    print_fn(f"each kernel at 1 thread and at {threads}, alternating (us per call, medians of "
             f"{repeat})")
    print_fn(f"  {'kernel':<6}{'elements':>10}{'1 thread':>11}{f'{threads} thr':>11}{'gain':>8}")
    result = calibration.calibrate(sizes or calibration.SIZES, repeat, threads, print_fn)

    def show(n):
        return "never" if n >= calibration.NEVER else str(n)
    for kind, label in (("exp", "exp-heavy (sigmoid, tanh, softmax, losses)"),
                        ("cheap", "memory-bound (relu family, SGD)"), ("adam", "Adam update")):
        print_fn(f"{label:<45} from {show(result[kind]):>9} elements (was {show(before[kind])})")
    try:
        path = calibration.save(result)
    except OSError as exc:
        calibration.apply(result, "measured in this process, not stored")
        print_fn(f"could not store the result in {calibration.cache_path()} ({exc}); in force for "
                 f"this process only: set FASTLIN_CACHE_DIR to a writable directory")
        return result
    calibration.load(path)
    print_fn(f"stored in {path}; fastlin uses these from now on on this machine (delete the file "
             f"to return to the built-in ones)")
    if os.environ.get("FASTLIN_BLAS", "auto").strip().lower() in ("", "auto"):
        gemm_choice.calibrate()
        describe_gemm(print_fn)
    return result
