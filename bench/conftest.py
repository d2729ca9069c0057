"""pytest-benchmark suites: compiled vs NumPy in one group per kernel/workload.

Run: pip install -e ".[bench]" && python -m pytest bench/ --benchmark-only \
         --benchmark-group-by=group --benchmark-columns=median,iqr,rounds
"""
import numpy as np
import pytest

import fastlin
from fastlin.backend import get_num_threads


def pytest_report_header(config):
    return (f"fastlin OpenMP={fastlin.openmp_enabled()} kernel threads={get_num_threads()} "
            f"numpy={np.__version__}")


@pytest.fixture
def rng():
    return np.random.default_rng(0)
