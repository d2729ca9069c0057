"""fit with 1 and with 2 threads, each in a fresh process, and fit beside a busy process: the
benchmarks behind ``bench --scaling`` and ``bench --contention``."""
import numpy as np

from fastlin._timing import alternate
from fastlin.benchmarks.machine import describe_choices
from fastlin.benchmarks.workloads import WORKLOADS, fit_per_step, workload_data


def run_scaling(print_fn=print):
    """fit per step with 1 and with 2 threads (fastlin's OpenMP and OpenBLAS together), each in
    a fresh process so that no other thread pool is awake: the "never slower with 2 threads"
    check of issue 4, free of the two-BLAS-pool contention of the alternating tables."""
    import json
    import os
    import subprocess
    import sys
    describe_choices(print_fn, measure=False)
    print_fn(f"{'workload (fit, us per step)':<38}{'1 thread':>10}{'2 threads':>11}{'2t / 1t':>9}")
    for name in WORKLOADS:
        times = []
        for threads in (1, 2):
            env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads))
            code = ("import json, fastlin; from fastlin.benchmarks.workloads import fit_step_time; "
                    f"fastlin.set_num_threads({threads}); "
                    f"print(json.dumps(fit_step_time({name!r})))")
            out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                                 text=True, check=True).stdout
            times.append(json.loads(out.strip().splitlines()[-1]))
        print_fn(f"{name:<38}{times[0] * 1e6:10.1f}{times[1] * 1e6:11.1f}{times[1] / times[0]:8.2f}x")


_BUSY_LOOP = "import numpy as np\na = np.ones(1 << 16)\nwhile True:\n    a *= 1.0000001\n"


def run_contention(print_fn=print, names=("W1", "W3", "W5"), seconds_per_phase=None):
    """fit per step with default settings on a quiet machine, beside one busy process (a NumPy
    loop that keeps one core at 100%), and quiet again, in one run (issue 11, goal 4: at most
    2x slower when busy). Each phase is the median of alternating timed fit calls."""
    import subprocess
    import sys
    chosen = [n for n in WORKLOADS if n.split()[0] in names]
    runs = {}
    for name in chosen:
        spec = WORKLOADS[name]
        n = spec["batch"] * (8 if name.startswith("W2") else 64)
        X, y = workload_data(spec, n, np.random.default_rng(0), np.float32)
        run, steps = fit_per_step(spec, "cython", X, y, np.float32)
        one = alternate({"fit": run}, 3, 1)["fit"]
        epochs = max(4, int(4 * 0.1 / one))  # each timed call >= ~100 ms
        runs[name] = fit_per_step(spec, "cython", X, y, np.float32, epochs=epochs)

    def phase():
        return {name: alternate({"fit": run}, 7, 1)["fit"] / steps
                for name, (run, steps) in runs.items()}

    describe_choices(print_fn, measure=False)
    quiet = phase()
    busy_proc = subprocess.Popen([sys.executable, "-c", _BUSY_LOOP])
    try:
        import time
        time.sleep(0.5)  # the competitor is running
        busy = phase()
    finally:
        busy_proc.kill()
        busy_proc.wait()
    quiet_again = phase()
    print_fn(f"{'workload (fit, us per step)':<38}{'quiet':>9}{'busy':>9}{'quiet':>9}"
             f"{'busy/quiet':>12}")
    rows = []
    for name in chosen:
        base = min(quiet[name], quiet_again[name])
        rows.append((name, quiet[name], busy[name], quiet_again[name], busy[name] / base))
        print_fn(f"{name:<38}{quiet[name] * 1e6:9.1f}{busy[name] * 1e6:9.1f}"
                 f"{quiet_again[name] * 1e6:9.1f}{busy[name] / base:11.2f}x")
    print_fn("\nbusy = one other process spinning on a core (a NumPy loop), started between the "
             "quiet phases; busy/quiet against the faster quiet phase. Target: <= 2x.")
    return rows
