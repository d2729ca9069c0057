"""Every kernel at batch 128 and 4096 (float32): cython, numpy and the call's floor (the GEMMs
alone, or NumPy moving the same bytes) in one benchmark group."""
import numpy as np
import pytest

from fastlin.benchmarks.kernels import kernel_cases

CASES = [(batch, name) for batch in (128, 4096)
         for name, _ in kernel_cases(batch, np.random.default_rng(0))]


@pytest.mark.parametrize("backend", ["cython", "numpy", "floor"])
@pytest.mark.parametrize("batch,name", CASES)
def test_kernel(benchmark, batch, name, backend):
    fns = dict(kernel_cases(batch, np.random.default_rng(0)))[name]
    benchmark.group = f"{name} @ {batch}"
    benchmark(fns[backend])
