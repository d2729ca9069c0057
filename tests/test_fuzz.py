"""The property-based fuzz of every kernel against its NumPy twin (tests/_fuzz_kernels.py),
run in a child process so that a crash in a kernel fails this test rather than ending the run."""
import subprocess
import sys
from pathlib import Path

import pytest


def test_every_kernel_matches_its_numpy_twin_under_fuzzing():
    pytest.importorskip("hypothesis")
    here = Path(__file__).parent
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
         str(here / "_fuzz_kernels.py")],
        capture_output=True, text=True, timeout=600, cwd=here.parent)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert " passed" in r.stdout and "failed" not in r.stdout
