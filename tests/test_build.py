"""The build reports what it is, and a missing extension fails loudly with how to build it."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

import fastlin


def test_openmp_enabled_reports_a_bool():
    assert isinstance(fastlin.openmp_enabled(), bool)


def test_missing_extension_raises_import_error_with_build_hint():
    code = (
        "import sys, importlib.abc\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name == 'fastlin._kernels.dense':\n"
        "            raise ImportError('simulated missing build')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import fastlin\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode != 0
    assert "ImportError" in r.stderr and "pip install" in r.stderr
    assert "never falls back" in r.stderr


@pytest.mark.parametrize("level", ["base", "avx2", "avx512"])
def test_every_simd_variant_passes_the_kernel_tests(level):
    """The float kernels (and some double ones: the losses, the CSR products) are compiled for
    baseline x86-64, AVX2 and AVX-512, some once more for 512-bit vectors, and picked at run
    time; this machine runs the best one, so the others are checked by capping the level
    ("avx512": the AVX-512 kernels without the 512-bit variants)."""
    from fastlin._kernels import _config
    here = Path(__file__).parent
    env = dict(os.environ, FASTLIN_SIMD=level)
    code = "from fastlin._kernels import _config; print(_config.simd_level())"
    shown = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                           check=True).stdout.strip()
    if level == "avx512":  # a CPU without AVX-512 runs the best level it has
        assert shown in ("avx512", "avx2", "base")
    else:
        assert shown in (level, "base")  # a CPU without AVX2 runs the baseline kernels anyway
    assert _config.simd_level() in ("base", "avx2", "avx512")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         str(here / "test_kernels_reference.py"), str(here / "test_numerics.py"),
         str(here / "test_kernels_gradcheck.py"), str(here / "test_small_gemm.py"),
         str(here / "test_sparse_products.py"), str(here / "test_linear_one_pass.py")],
        env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_double_losses_give_the_same_bits_at_every_simd_level():
    """The float64 loss kernels are built without fused multiply-adds, so the baseline, AVX2 and
    AVX-512 builds do the same operations in the same order: a float64 fit (scikit-learn's
    logistic regression) gives the same numbers on every CPU."""
    code = (
        "import numpy as np, sys\n"
        "from fastlin._kernels import losses\n"
        "rng = np.random.default_rng(0)\n"
        "out = []\n"
        "for n, m in [(1, 1), (37, 3), (300, 10), (64, 33), (5, 130)]:\n"
        "    z = rng.standard_normal((n, m)) * 4\n"
        "    y = rng.integers(0, m, n)\n"
        "    g = np.empty_like(z)\n"
        "    out.append(losses.softmax_cross_entropy_labels_plain(z, y, g, 1, 0))\n"
        "    out.extend(g.ravel())\n"
        "    t = (rng.random((n, m)) > 0.5).astype(float)\n"
        "    out.append(losses.elementwise_loss_plain(True, z, t, g, 1, 0))\n"
        "    out.extend(g.ravel())\n"
        "sys.stdout.write(np.array(out).tobytes().hex())\n")
    runs = {level: subprocess.run([sys.executable, "-c", code],
                                  env=dict(os.environ, FASTLIN_SIMD=level), capture_output=True,
                                  text=True, check=True).stdout
            for level in ("base", "avx2", "")}
    assert runs["base"] == runs["avx2"] == runs[""]
