"""Timing by alternation: the contenders run in turn, round by round, so drift on a noisy
machine (another process, frequency changes) hits all of them alike; medians are reported.

Shared by the thread calibration (fastlin/parallel/calibration.py) and the benchmarks, which
must not import each other.
"""
import statistics
import time


def alternate(contenders, repeat, number):
    """{name: median seconds per call}, contenders timed in turn, `number` calls per sample."""
    samples = {name: [] for name in contenders}
    for fn in contenders.values():
        fn()  # warm up: buffers, caches, thread pools
    for _ in range(repeat):
        for name, fn in contenders.items():
            start = time.perf_counter()
            for _ in range(number):
                fn()
            samples[name].append((time.perf_counter() - start) / number)
    return {name: statistics.median(s) for name, s in samples.items()}


def calls_for(seconds_estimate, budget=2e-3):
    """Calls per timed sample so that one sample lasts about `budget` seconds: a single call of
    a few microseconds is below the clock's resolution and the loop's own cost."""
    return max(1, int(budget / max(seconds_estimate, 1e-7)))
