"""The five workloads of issue 4: one training step, cython vs numpy vs a careful hand-written
NumPy step vs the GEMM floor (vs PyTorch when installed), and the per-epoch time of fit."""
import numpy as np
import pytest

from fastlin.benchmarks.baselines import careful_numpy_step, gemm_floor, torch_step
from fastlin.benchmarks.workloads import WORKLOADS, fit_per_step, training_step, workload_data


@pytest.mark.parametrize("contender", ["cython", "numpy", "careful_numpy", "gemm_floor", "torch"])
@pytest.mark.parametrize("name", list(WORKLOADS))
def test_training_step(benchmark, name, contender):
    spec = WORKLOADS[name]
    X, y = workload_data(spec, spec["batch"] * 4, np.random.default_rng(0), np.float32)
    if contender == "gemm_floor":
        fn = gemm_floor(spec, X, np.float32)
    elif contender == "careful_numpy":
        fn = careful_numpy_step(spec, X, y, np.float32)
    elif contender == "torch":
        fn = torch_step(spec, X, y)
        if fn is None:
            pytest.skip("PyTorch is not installed")
    else:
        fn = training_step(spec, contender, X, y, np.float32)
    benchmark.group = f"step {name}"
    benchmark(fn)


@pytest.mark.parametrize("backend", ["cython", "numpy"])
@pytest.mark.parametrize("name", list(WORKLOADS))
def test_fit_epoch(benchmark, name, backend):
    spec = WORKLOADS[name]
    X, y = workload_data(spec, spec["batch"] * 16, np.random.default_rng(0), np.float32)
    run, steps = fit_per_step(spec, backend, X, y, np.float32)
    benchmark.group = f"fit epoch ({steps} steps) {name}"
    benchmark(run)
