import numpy as np
import pytest

import fastlin.backend as B


@pytest.fixture(params=["float32", "float64"])
def dtype(request):
    return np.dtype(request.param)


@pytest.fixture(params=["cython", "numpy"])
def backend(request):
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture
def C():
    return B.get("cython")


@pytest.fixture
def N():
    return B.get("numpy")


@pytest.fixture
def tol():
    return tolerance


def tolerance(dtype):
    """Compiled vs NumPy tolerance. float32: both sides round every operation to 24 bits but in a
    different order (BLAS blocking, fused epilogues, a polynomial exp accurate to ~2 ulp), so a
    few hundred ulp of headroom at unit scale; float64 likewise at 53 bits."""
    return dict(rtol=2e-5, atol=2e-6) if np.dtype(dtype) == np.float32 else dict(rtol=1e-11, atol=1e-13)


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """FASTLIN_CACHE_DIR in a fresh directory; the thread thresholds as they were afterwards."""
    from fastlin.parallel import threads as kernel_threads
    monkeypatch.setenv("FASTLIN_CACHE_DIR", str(tmp_path))
    saved = (kernel_threads.PARALLEL_MIN_ELEMENTS, kernel_threads.PARALLEL_MIN_ELEMENTS_CHEAP,
             kernel_threads.PARALLEL_MIN_ELEMENTS_ADAM, kernel_threads.THRESHOLD_SOURCE)
    yield tmp_path
    (kernel_threads.PARALLEL_MIN_ELEMENTS, kernel_threads.PARALLEL_MIN_ELEMENTS_CHEAP,
     kernel_threads.PARALLEL_MIN_ELEMENTS_ADAM, kernel_threads.THRESHOLD_SOURCE) = saved


@pytest.fixture
def run_c_driver(tmp_path):
    """Compile a C driver against csrc/ with gcc and run it: ``run(source, flags=(),
    opt="-O2")`` returns the CompletedProcess (skips where there is no gcc, fails on a build
    error). The SIMD variants are a GCC build, so the C-level tests go through here."""
    import shutil
    import subprocess
    from pathlib import Path

    csrc = Path(__file__).resolve().parents[1] / "csrc"

    def run(source, flags=(), opt="-O2"):
        cc = shutil.which("gcc")
        if cc is None:
            pytest.skip("no gcc (the SIMD variants are a GCC build)")
        src = tmp_path / "driver.c"
        src.write_text(source)
        exe = tmp_path / "driver"
        build = subprocess.run([cc, opt, "-fno-math-errno", "-fno-trapping-math", *flags,
                                f"-I{csrc}", str(src), "-o", str(exe), "-lm"],
                               capture_output=True, text=True)
        assert build.returncode == 0, build.stderr[-3000:]
        return subprocess.run([str(exe)], capture_output=True, text=True, timeout=300)
    return run
