"""Measure, on the machine at hand, from how many elements a kernel gains from a second thread.

Built in, fastlin/parallel/threads.py holds thresholds measured by hand on one 2-core machine.
``calibrate()`` times three kinds of kernel at 1 thread and at all usable cores, alternating, on
buffers from 2^15 to 2^23 elements:
- the sigmoid forward, standing for the kernels with an exp per element;
- the ReLU forward, for the memory-bound ones;
- the Adam update.
For each kind, the threshold is the smallest size that took at most ``GAIN`` of one thread's
time on all cores, with every larger size faster on all cores as well. A kind that never gains
gets ``NEVER``.

The result is saved in a small JSON file, keyed by CPU, core count, SIMD build and fastlin
version. ``load()`` applies it when ``fastlin`` is imported on the same machine, so a measured
threshold replaces the built-in one from then on. ``python -m fastlin bench --calibrate`` runs
it; ``python -m fastlin bench`` prints which thresholds are in force and where they came from.

Why not at every import: a calibration takes a few seconds, and a noisy machine (another
process, a busy VM host) can skew any one run. A stored result that the user can see, re-run
and delete is easier to trust than a choice remade silently in every process.

The file is ``$FASTLIN_CACHE_DIR/thread-thresholds.json``, by default
``~/.cache/fastlin/thread-thresholds.json`` (``$XDG_CACHE_HOME`` is honoured).
"""
import json
import os
import time

import numpy as np

from fastlin._atomic import atomic_write
from fastlin._timing import alternate, calls_for
from fastlin.parallel import threads as kernel_threads

GAIN = 0.9  # all cores must take at most this fraction of one thread's time
NEVER = 1 << 62
SIZES = tuple(1 << k for k in range(15, 24))
FILENAME = "thread-thresholds.json"
KINDS = ("exp", "cheap", "adam")


def cache_path(filename=FILENAME):
    """Where a measurement for this machine is stored: ``$FASTLIN_CACHE_DIR/<filename>``."""
    base = os.environ.get("FASTLIN_CACHE_DIR")
    if not base:
        base = os.path.join(os.environ.get("XDG_CACHE_HOME") or
                            os.path.join(os.path.expanduser("~"), ".cache"), "fastlin")
    return os.path.join(base, filename)


def cpu_name():
    """The CPU as /proc/cpuinfo names it, with its family and model numbers (x86)."""
    import platform
    fields = {}
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
    except OSError:
        return platform.processor() or platform.machine()
    name = fields.get("model name", platform.machine())
    if "cpu family" in fields:
        name += f" (family {fields['cpu family']}, model {fields.get('model', '?')})"
    return name


def machine_key():
    """CPU name, usable cores, SIMD build and fastlin version: a stored result applies only
    where all four match."""
    from fastlin import __version__  # load() runs at the end of fastlin/__init__.py
    from fastlin._kernels import _config
    return (f"{cpu_name()}|{kernel_threads._CORES} cores|{_config.simd_level()}|"
            f"fastlin {__version__}")


def threshold_from(sizes, one, many, gain=GAIN):
    """The smallest size that ran at most `gain` times one thread's time on all cores, with
    every larger size faster on all cores too (NEVER when no size qualifies)."""
    best = NEVER
    for size, t1, tn in sorted(zip(sizes, one, many), reverse=True):
        if tn >= t1:
            break
        if tn <= gain * t1:
            best = size
    return best


def _kernels(size, threads, rng):
    """{kind: (run at 1 thread, run at `threads`)} on float32 buffers of `size` elements."""
    from fastlin._kernels import activations, optim
    from fastlin._kernels._codes import Activation
    x = rng.standard_normal((size // 256, 256)).astype(np.float32)
    out = np.empty_like(x)
    p, g = x.reshape(-1).copy(), rng.standard_normal(size).astype(np.float32)
    m, v = np.zeros(size, np.float32), np.zeros(size, np.float32)

    def act(code, nt):
        return lambda: activations.activation_forward_plain(x, out, code, nt, 0)

    def adam(nt):
        return lambda: optim.adam_update(p, g, m, v, 1e-9, 0.9, 0.999, 1e-8, 0.0, 1, False, nt)

    sig, relu = int(Activation.SIGMOID), int(Activation.RELU)
    return {"exp": (act(sig, 1), act(sig, threads)), "cheap": (act(relu, 1), act(relu, threads)),
            "adam": (adam(1), adam(threads))}


def calibrate(sizes=SIZES, repeat=7, threads=None, print_fn=None):
    """Measure the thresholds; returns {"exp"|"cheap"|"adam": elements, "threads": n,
    "timings": {kind: [[size, seconds at 1, seconds at n], ...]}}."""
    threads = threads or kernel_threads.get_num_threads()
    rng = np.random.default_rng(0)
    timings = {kind: [] for kind in KINDS}
    for size in sizes:
        for kind, (one, many) in _kernels(size, threads, rng).items():
            est = alternate({"one": one}, 1, 1)["one"]
            t = alternate({"one": one, "many": many}, repeat, calls_for(est, 2e-3))
            timings[kind].append([size, t["one"], t["many"]])
            if print_fn:
                print_fn(f"  {kind:<6}{size:>10}{t['one'] * 1e6:11.1f}{t['many'] * 1e6:11.1f}"
                         f"{t['one'] / t['many']:8.2f}x")
    result = {"threads": threads, "timings": timings}
    for kind in KINDS:
        rows = timings[kind]
        result[kind] = threshold_from([r[0] for r in rows], [r[1] for r in rows],
                                      [r[2] for r in rows]) if threads > 1 else NEVER
    return result


def save(result, path=None):
    """Store a calibration for this machine (other machines' entries are kept)."""
    path = path or cache_path()
    try:
        with open(path) as fh:
            stored = json.load(fh)
        if not isinstance(stored, dict):
            stored = {}
    except (OSError, ValueError, RecursionError):
        stored = {}
    entry = {kind: int(result[kind]) for kind in KINDS}
    entry["threads"] = int(result["threads"])
    entry["measured"] = time.strftime("%Y-%m-%d %H:%M:%S")
    stored[machine_key()] = entry
    os.makedirs(os.path.dirname(path), exist_ok=True)
    text = json.dumps(stored, indent=1, sort_keys=True).encode()
    atomic_write(path, lambda fh: fh.write(text))
    return path


def stored(path=None):
    """This machine's stored calibration, or None (no file, another machine's, or unreadable:
    a damaged file is ignored, never an import error)."""
    path = path or cache_path()
    if not os.path.exists(path):
        return None
    try:
        with open(path) as fh:
            entry = json.load(fh).get(machine_key())
        if not isinstance(entry, dict):
            return None
        values = {kind: int(entry[kind]) for kind in KINDS}
    except (OSError, ValueError, TypeError, KeyError, AttributeError, OverflowError,
            RecursionError):  # RecursionError: nested past json's limit
        return None
    if any(v < 1 or v > NEVER for v in values.values()):  # beyond NEVER: not a C ssize_t
        return None
    values["measured"] = str(entry.get("measured", "?"))
    return values


def apply(values, source):
    """Put thresholds in force for every later kernel call and fit."""
    kernel_threads.PARALLEL_MIN_ELEMENTS = int(values["exp"])
    kernel_threads.PARALLEL_MIN_ELEMENTS_CHEAP = int(values["cheap"])
    kernel_threads.PARALLEL_MIN_ELEMENTS_ADAM = int(values["adam"])
    kernel_threads.THRESHOLD_SOURCE = source


def load(path=None):
    """Apply this machine's stored calibration, if there is one; returns it (or None)."""
    path = path or cache_path()
    values = stored(path)
    if values is not None:
        apply(values, f"measured on this machine {values['measured']} ({path})")
    return values
