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


@pytest.mark.parametrize("level", ["base", "avx2"])
def test_every_simd_variant_passes_the_kernel_tests(level):
    """The float kernels are compiled for baseline x86-64, AVX2 and AVX-512 and picked at run
    time; this machine runs the best one, so the others are checked by capping the level."""
    from fastlin._kernels import _config
    here = Path(__file__).parent
    env = dict(os.environ, FASTLIN_SIMD=level)
    code = "from fastlin._kernels import _config; print(_config.simd_level())"
    shown = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                           check=True).stdout.strip()
    assert shown in (level, "base")  # a CPU without AVX2 runs the baseline kernels anyway
    assert _config.simd_level() in ("base", "avx2", "avx512")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         str(here / "test_kernels_reference.py"), str(here / "test_numerics.py"),
         str(here / "test_kernels_gradcheck.py"), str(here / "test_small_gemm.py")],
        env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
