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
def tiny_plan_parts():
    """What a raw TrainPlan of one Dense(3, 2) layer under MSE is built from: X (10 x 3), T
    (10 x 2), the LayerPlan, and the keyword arguments besides them (batch buffers for 4 rows,
    plain SGD, one thread)."""
    from fastlin._kernels._codes import OptimizerKind
    from fastlin._kernels.train import LayerPlan
    f = np.float32
    X, T = np.zeros((10, 3), f), np.zeros((10, 2), f)
    layer = LayerPlan(W=np.zeros(6, f), b=np.zeros(2, f), dW=np.zeros(6, f), db=np.zeros(2, f),
                      A=np.zeros(8, f), G=np.zeros(8, f), n_out=2)
    settings = dict(opt_kind=OptimizerKind.SGD, lr=0.1, n_threads=1, parallel_min=1 << 18,
                    parallel_min_cheap=1 << 22, parallel_min_adam=1 << 20,
                    batch_X=np.zeros((4, 3), f), batch_labels=np.zeros(4, np.int64),
                    batch_target=np.zeros((4, 2), f), batch_weight=np.zeros(4, f))
    return X, T, layer, settings


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
