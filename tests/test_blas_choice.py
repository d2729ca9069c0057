"""fastlin's products go to SciPy's or NumPy's OpenBLAS (fastlin/parallel/blas_threads.py; which
one is measured at import by fastlin/parallel/gemm_choice.py, tested in test_gemm_choice.py, with
blas_threads' version rule as its tie-break and fallback). Both paths must give the same products, in float32 and
float64, through GEMM and the GEMV shortcut, and the choice must follow FASTLIN_BLAS."""
import os
import subprocess
import sys

import numpy as np
import pytest

import fastlin
from fastlin._kernels import _blas, dense
from fastlin.parallel import blas_threads


@pytest.fixture
def restore_choice():
    before = blas_threads.chosen()
    yield
    blas_threads.choose(before)


def test_version_rule_takes_the_newer_openblas(restore_choice):
    libs = blas_threads._load()
    assert "scipy" in libs
    expected = "scipy"
    if "numpy" in libs and libs["numpy"].version > libs["scipy"].version \
            and blas_threads._has_products(libs["numpy"]):
        expected = "numpy"
    assert blas_threads.choose("auto") == expected
    assert _blas.using_ilp64() == (blas_threads.chosen() == "numpy")


def test_version_parsing():
    parse = blas_threads._parse_version
    assert parse("OpenBLAS 0.3.31.188.0 DYNAMIC_ARCH NO_AFFINITY Haswell") == (0, 3, 31, 188, 0)
    assert parse("OpenBLAS 0.3.30 DYNAMIC_ARCH") == (0, 3, 30)
    assert parse("OpenBLAS 0.3.31.188.0") > parse("OpenBLAS 0.3.30")
    assert parse("OpenBLAS") == () and parse("OpenBLAS dev.x") == ()


@pytest.mark.parametrize("library", ["scipy", "numpy"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_out", [1, 7, 64])  # 1: the GEMV shortcut
def test_products_agree_with_numpy_on_both_libraries(restore_choice, library, dtype, n_out):
    if library == "numpy" and "numpy" not in blas_threads._load():
        pytest.skip("NumPy's OpenBLAS is not loaded in this process")
    assert blas_threads.choose(library) == library
    rng = np.random.default_rng(0)
    X = rng.standard_normal((33, 20)).astype(dtype)
    W = rng.standard_normal((20, n_out)).astype(dtype)
    b = rng.standard_normal(n_out).astype(dtype)
    out = np.empty((33, n_out), dtype)
    e1, e2 = np.empty(0, dtype), np.empty((0, 0), dtype)
    dense.dense_forward(X, W, b, out, 0, e1, e2, True, False, 1)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, X.astype(np.float64) @ W + b, rtol=tol, atol=tol * 10)
    G = rng.standard_normal((33, n_out)).astype(dtype)
    dW, db, dX = np.empty_like(W), np.empty_like(b), np.empty_like(X)
    dense.dense_backward(X, W, G, dW, db, dX, True, True)
    np.testing.assert_allclose(dW, X.T.astype(np.float64) @ G, rtol=tol, atol=tol * 10)
    np.testing.assert_allclose(dX, G.astype(np.float64) @ W.T, rtol=tol, atol=tol * 10)
    np.testing.assert_allclose(db, G.sum(0, dtype=np.float64), rtol=tol, atol=tol * 10)


def test_thread_count_of_the_chosen_library_is_per_thread(restore_choice):
    if not blas_threads.available():
        pytest.skip("no per-thread BLAS count")
    before = blas_threads.set_local(1)
    try:
        assert blas_threads.get_num_threads() == 1
    finally:
        blas_threads.set_local(before)
    assert blas_threads.get_num_threads() == before


def test_bad_preference_is_refused():
    with pytest.raises(ValueError, match="FASTLIN_BLAS"):
        blas_threads.choose("mkl")
    env = dict(os.environ, FASTLIN_BLAS="mkl")
    proc = subprocess.run([sys.executable, "-c", "import fastlin"], env=env,
                          capture_output=True, text=True)
    assert proc.returncode != 0 and "FASTLIN_BLAS" in proc.stderr


@pytest.mark.parametrize("library", ["scipy", "numpy"])
def test_environment_variable_chooses(library):
    env = dict(os.environ, FASTLIN_BLAS=library)
    code = ("import fastlin; from fastlin.parallel import blas_threads as b; "
            "print(b.chosen(), 'numpy' in b.libraries())")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[0] == (library if out[1] == "True" else "scipy")


def test_asking_for_a_missing_numpy_library_warns(restore_choice, monkeypatch):
    libs = dict(blas_threads._load())
    libs.pop("numpy", None)
    monkeypatch.setattr(blas_threads, "_libraries", libs)
    with pytest.warns(RuntimeWarning, match="NumPy's bundled OpenBLAS"):
        assert blas_threads.choose("numpy") == "scipy"
    assert not _blas.using_ilp64()
