"""fastlin/_least_squares.py: the Gram-matrix solve and its products through SciPy's BLAS
against NumPy's products and scipy.linalg.lstsq, for C-ordered, Fortran-ordered and strided
inputs. Tolerances: the products sum the same terms in another order (1e-12 relative); the
solve of a well-conditioned problem (cond ~ 10) agrees with lstsq to 1e-10."""
import numpy as np
import pytest
import scipy.linalg

from fastlin._least_squares import _gram, times, transposed_times, well_conditioned_solve


def _layouts(A):
    return {"C": np.ascontiguousarray(A), "F": np.asfortranarray(A),
            "strided": np.ascontiguousarray(np.repeat(A, 2, axis=1))[:, ::2]}


@pytest.mark.parametrize("layout", ["C", "F", "strided"])
def test_products_equal_numpys(layout):
    rng = np.random.default_rng(0)
    A = _layouts(rng.standard_normal((300, 7)))[layout]
    G = _gram(A)
    np.testing.assert_allclose(np.triu(G), np.triu(A.T @ A), rtol=1e-12, atol=1e-12)
    for Y in (rng.standard_normal(300), rng.standard_normal((300, 3))):
        np.testing.assert_allclose(transposed_times(A, Y), A.T @ Y, rtol=1e-12, atol=1e-12)
        assert transposed_times(A, Y).shape == (A.T @ Y).shape
    W = rng.standard_normal((7, 2))
    np.testing.assert_allclose(times(A, W), A @ W, rtol=1e-12, atol=1e-12)


def test_float32_products_fall_back_to_numpy():
    A = np.ones((10, 3), np.float32)
    W = np.ones((3, 2), np.float32)
    out = times(A, W)
    assert out.dtype == np.float32 and np.all(out == 3)


@pytest.mark.parametrize("layout", ["C", "F", "strided"])
def test_solve_equals_lstsq(layout):
    rng = np.random.default_rng(1)
    A = _layouts(rng.standard_normal((400, 12)) + np.eye(400, 12) * 3)[layout]
    Y = rng.standard_normal((400, 2))
    w, rank, sv = well_conditioned_solve(A, Y)
    want, _, want_rank, want_sv = scipy.linalg.lstsq(A, Y)
    np.testing.assert_allclose(w, want, rtol=1e-10, atol=1e-12)
    assert rank == want_rank
    np.testing.assert_allclose(sv, want_sv, rtol=1e-10)


def test_ill_conditioned_and_wide_problems_are_left_to_lstsq():
    rng = np.random.default_rng(2)
    A = rng.standard_normal((100, 5))
    A[:, 4] = A[:, 3] * (1 + 1e-9)
    assert well_conditioned_solve(A, rng.standard_normal(100)) is None
    assert well_conditioned_solve(rng.standard_normal((8, 5)), rng.standard_normal(8)) is None
