"""``python -m fastlin bench``: the machine and its choices, the kernel table and the workload
table (each training step beside its floors, careful NumPy and PyTorch, and fit's per-step
time)."""
import platform

import numpy as np

from fastlin import openmp_enabled
from fastlin._kernels import _config
from fastlin._timing import alternate, calls_for
from fastlin.benchmarks.baselines import (careful_numpy_step, gemm_floor, memory_floor,
                                          sgemm_peak, step_flops, torch_step, update_floor)
from fastlin.benchmarks.kernels import kernel_table
from fastlin.benchmarks.machine import describe_choices
from fastlin.benchmarks.workloads import WORKLOADS, fit_per_step, training_step, workload_data
from fastlin.parallel.threads import get_num_threads


_WORKLOAD_COLUMNS = ("floor", "careful", "np step", "cy step", "np fit", "cy fit", "cy ordr",
                     "torch")


def run_benchmarks(quick=False, threads=None, print_fn=print):
    """Print the kernel and workload tables; return the measured rows."""
    import fastlin
    if threads is not None:
        fastlin.set_num_threads(threads)
    rng = np.random.default_rng(0)
    repeat = 5 if quick else 15
    _print_environment(print_fn)
    describe_choices(print_fn)
    print_fn(f"medians of {repeat} alternating rounds, microseconds per call, float32\n")
    rows = kernel_table(rng, repeat, print_fn)
    print_fn("")
    # W2 is the largest workload by far: --quick leaves it out to stay quick
    names = [name for name in WORKLOADS if not (quick and name.startswith("W2"))]
    return rows + workload_table(names, rng, repeat, print_fn)


def _print_environment(print_fn):
    try:
        from threadpoolctl import threadpool_info
        blas = ", ".join(f"{i['internal_api']} {i.get('version')} ({i['num_threads']} threads)"
                         for i in threadpool_info() if i["user_api"] == "blas")
    except ImportError:
        blas = "SciPy's OpenBLAS (install threadpoolctl for details)"
    print_fn(f"fastlin bench on {platform.machine()} {platform.processor() or ''}, Python "
             f"{platform.python_version()}, NumPy {np.__version__}")
    print_fn(f"OpenMP: {openmp_enabled()}, kernel threads: {get_num_threads()}, "
             f"SIMD: {_config.simd_level()}, BLAS: {blas}")


def workload_table(names, rng, repeat, print_fn=print):
    """Time the named workloads and print their table; returns its rows."""
    peak = sgemm_peak()
    print_fn(f"single-core float32 GEMM peak here (512^3 at one BLAS thread): {peak / 1e9:.0f} "
             f"GFLOP/s")
    print_fn(f"{'workload (us per training step)':<38}{'floor':>8}{'careful':>9}{'np step':>9}"
             f"{'cy step':>9}{'np fit':>9}{'cy fit':>9}{'cy ordr':>9}{'torch':>9}{'fit/car':>9}"
             f"{'fit/trch':>9}"
             f"{'step/flr':>9}{'fit flr':>9}{'fit/flr':>9}{'upd flr':>9}{'fit/f+u':>9}"
             f"{'flop flr':>9}{'fit/flp':>9}{'mem flr':>9}{'fit/mem':>9}")
    rows = []
    for name in names:
        spec = WORKLOADS[name]
        t = time_workload(name, rng, repeat)
        t["flop floor"] = step_flops(spec) / peak
        rows.append(("workload", name, spec["batch"], t))
        print_fn(_workload_line(name, t))
    print_fn("\nfloor = the step's matrix products alone (the GEMM calls fastlin makes, same BLAS); careful = a hand-written "
             "preallocated NumPy step; np/cy step = a manual forward/loss/backward/step loop on the "
             "numpy/cython backend; np/cy fit = per-step time inside fit(); cy ordr = the same without "
             "shuffling (the difference is the cost of reading random rows); fit/car and fit/trch = how "
             "many times faster fastlin's fit is than careful NumPy and than PyTorch eager; "
             "step/flr = cython manual step over the floor; fit flr = the floor's products run "
             "back to back for as many steps as a timed fit call (warm, as fit's are); fit/flr = "
             "cy fit over it (1.00x is the BLAS limit); upd flr = the optimizer update's memory "
             "traffic alone (NumPy adding arrays the size of all parameters, as many streams as the "
             "update moves); fit/f+u = cy fit over fit flr + upd flr, both floors together; "
             "flop flr = the step's FLOPs at the single-core GEMM peak above; mem flr = reading "
             "the data set's rows once in a shuffled order, as fit reads them (a compiled scan, each "
             "row asked for eight ahead), per step of an epoch; fit/flp and fit/mem "
             "= cy fit over each.")
    return rows


def time_workload(name, rng, repeat):
    """{contender: seconds per training step} for one workload, float32."""
    spec, dtype = WORKLOADS[name], np.float32
    # 64 batches of data (8 for W2), 4 epochs per timed fit call: per-call costs (input
    # checks, the epoch-start weight snapshot) are amortised as on a real data set
    n = spec["batch"] * (8 if name.startswith("W2") else 64)
    X, y = workload_data(spec, n, rng, dtype)
    fit_c, steps = fit_per_step(spec, "cython", X, y, dtype)
    fit_n, _ = fit_per_step(spec, "numpy", X, y, dtype)
    fit_o, _ = fit_per_step(spec, "cython", X, y, dtype, shuffle=False)
    contenders = {"floor": gemm_floor(spec, X, dtype),
                  "careful": careful_numpy_step(spec, X, y, dtype),
                  "np step": training_step(spec, "numpy", X, y, dtype),
                  "cy step": training_step(spec, "cython", X, y, dtype),
                  "update floor": update_floor(spec, dtype)}
    torch = torch_step(spec, X, y)
    if torch is not None:
        contenders["torch"] = torch
    est = alternate(contenders, 1, 1)["careful"]
    t = alternate(contenders, repeat, calls_for(est, 5e-3))
    floor = contenders["floor"]

    def floor_run():
        # the products of as many steps back to back as a timed fit call makes: warm, as
        # fit's are (one floor call between other contenders runs with cold caches)
        for _ in range(steps):
            floor()
    # fit reads the rows in a shuffled order: the floor reads them so too
    scan = memory_floor(X, np.random.default_rng(0).permutation(n))
    tf = alternate({"cy fit": fit_c, "np fit": fit_n, "cy ordr": fit_o, "fit floor": floor_run},
                   repeat, 1)
    for key in tf:
        t[key] = tf[key] / steps
    t["memory floor"] = alternate({"scan": scan}, repeat, 1)["scan"] / (n // spec["batch"])
    return t


def _workload_line(name, t):
    cells = "".join(f"{t[k] * 1e6:9.1f}" if k in t else f"{'n/a':>9}" for k in _WORKLOAD_COLUMNS)
    vs_torch = f"{t['torch'] / t['cy fit']:8.1f}x" if "torch" in t else f"{'n/a':>9}"
    return (f"{name:<38}{cells[1:]}{t['careful'] / t['cy fit']:8.2f}x{vs_torch}"
            f"{t['cy step'] / t['floor']:8.2f}x{t['fit floor'] * 1e6:9.1f}"
            f"{t['cy fit'] / t['fit floor']:8.2f}x{t['update floor'] * 1e6:9.1f}"
            f"{t['cy fit'] / (t['fit floor'] + t['update floor']):8.2f}x"
            f"{t['flop floor'] * 1e6:9.2f}{t['cy fit'] / t['flop floor']:8.2f}x"
            f"{t['memory floor'] * 1e6:9.2f}{t['cy fit'] / t['memory floor']:8.2f}x")
