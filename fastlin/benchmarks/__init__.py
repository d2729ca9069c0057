"""Benchmarks behind ``python -m fastlin bench``: compiled vs NumPy kernels and training steps.

Every comparison is measured in one run, alternating the contenders round by round so drift
on a noisy machine hits both alike; medians are reported (fastlin/_timing.py). The "GEMM
floor" of a training step is the same step's matrix products alone through the BLAS fastlin
calls.

- ``report``: the default tables (``run_benchmarks``);
- ``kernels``: the kernel cases and their table;
- ``workloads``: W1-W5 and the ways fastlin runs them;
- ``baselines``: the floors, the careful hand-written NumPy step, PyTorch;
- ``machine``: what fastlin chose on this machine, and ``--calibrate``;
- ``scaling``: ``--scaling`` and ``--contention``;
- ``callback_overhead``: ``--callbacks``;
- ``versus_sklearn``: ``--sklearn``.
"""
from fastlin.benchmarks.callback_overhead import run_callbacks_overhead
from fastlin.benchmarks.machine import describe_choices, run_calibration
from fastlin.benchmarks.report import run_benchmarks
from fastlin.benchmarks.scaling import run_contention, run_scaling
from fastlin.benchmarks.versus_sklearn import run_sklearn_comparison
from fastlin.benchmarks.workloads import WORKLOADS, fit_step_time

__all__ = ["WORKLOADS", "describe_choices", "fit_step_time", "run_benchmarks",
           "run_callbacks_overhead", "run_calibration", "run_contention", "run_scaling",
           "run_sklearn_comparison"]
