"""Regression tests for the defects the sixth audit found (one test per defect)."""
import numpy as np
import pytest

from fastlin import backend


@pytest.mark.parametrize("kernel", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_of_rows_without_classes_is_empty_in_both_backends(kernel, dtype):
    """A (3, 0) input has nothing to normalise: both backends return the empty (3, 0) output,
    as torch.softmax does, instead of the NumPy twin failing inside numpy's max."""
    x = np.empty((3, 0), dtype)
    for name in ("cython", "numpy"):
        out = getattr(backend.get(name), kernel)(x)
        assert out.shape == (3, 0) and out.dtype == dtype
