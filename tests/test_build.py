"""The build reports what it is, and a missing extension fails loudly with how to build it."""
import subprocess
import sys

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
