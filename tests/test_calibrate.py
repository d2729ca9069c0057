"""Thread thresholds measured on the machine at hand (fastlin/parallel/calibration.py): the rule
that turns timings into a threshold, the stored file, and its use at import."""
import json
import os
import subprocess
import sys

import pytest

from fastlin.parallel import calibration
from fastlin.parallel import threads as kernel_threads
from fastlin.parallel.calibration import NEVER, threshold_from


def test_threshold_is_where_all_cores_win_from_then_on():
    sizes = [1, 2, 4, 8, 16]
    one = [10, 10, 10, 10, 10]
    # loses, loses, clear gain, small gain, clear gain: from 4 on every size is faster
    assert threshold_from(sizes, one, [20, 12, 8, 9.5, 6]) == 4
    # a larger size that is slower on all cores moves the threshold above it
    assert threshold_from(sizes, one, [5, 5, 5, 11, 6]) == 16
    # never a clear gain
    assert threshold_from(sizes, one, [12, 11, 9.5, 9.6, 9.9]) == NEVER
    # the largest size loses: never
    assert threshold_from(sizes, one, [5, 5, 5, 5, 10.5]) == NEVER
    assert threshold_from(sizes[::-1], one, [6, 9.5, 8, 12, 20]) == 4  # any order


def test_calibrate_measures_every_kind_on_small_sizes():
    result = calibration.calibrate(sizes=(1 << 12, 1 << 13), repeat=1, threads=2)
    for kind in calibration.KINDS:
        assert result[kind] in (1 << 12, 1 << 13, NEVER)
        assert [row[0] for row in result["timings"][kind]] == [1 << 12, 1 << 13]
        assert all(row[1] > 0 and row[2] > 0 for row in result["timings"][kind])


def test_stored_thresholds_are_applied_and_survive_another_machines_entry(cache_dir):
    result = {"exp": 1 << 16, "cheap": 1 << 20, "adam": NEVER, "threads": 2}
    path = calibration.save(result)
    assert path == str(cache_dir / calibration.FILENAME)
    # another machine's entry in the same file is kept and never applied here
    data = json.loads(open(path).read())
    data["some other CPU|64 cores|avx512|fastlin 0.1.0"] = {"exp": 1, "cheap": 1, "adam": 1}
    open(path, "w").write(json.dumps(data))
    values = calibration.load()
    assert values["exp"] == 1 << 16 and values["adam"] == NEVER
    assert kernel_threads.PARALLEL_MIN_ELEMENTS == 1 << 16
    assert kernel_threads.PARALLEL_MIN_ELEMENTS_CHEAP == 1 << 20
    assert kernel_threads.PARALLEL_MIN_ELEMENTS_ADAM == NEVER
    assert "measured on this machine" in kernel_threads.THRESHOLD_SOURCE
    assert kernel_threads.for_size(1 << 17) == kernel_threads.resolve(None)
    assert kernel_threads.for_size(1 << 15) == 1


# "[" * 100000: nested past the parser's recursion limit (RecursionError, out of import)
@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"%s": {"exp": "x"}}',
                                     '{"%s": {"exp": -1, "cheap": 1, "adam": 1}}', "[" * 100000])
def test_a_damaged_file_is_ignored(cache_dir, content):
    if "%s" in content:
        content = content % calibration.machine_key()
    (cache_dir / calibration.FILENAME).write_text(content)
    before = kernel_threads.PARALLEL_MIN_ELEMENTS
    assert calibration.load() is None
    assert kernel_threads.PARALLEL_MIN_ELEMENTS == before


def test_import_applies_the_stored_calibration(cache_dir):
    calibration.save({"exp": 12345, "cheap": 23456, "adam": 34567, "threads": 2})
    code = ("import fastlin; from fastlin.parallel import threads as t; "
            "print(t.PARALLEL_MIN_ELEMENTS, t.PARALLEL_MIN_ELEMENTS_CHEAP, "
            "t.PARALLEL_MIN_ELEMENTS_ADAM)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=dict(os.environ)).stdout.split()
    assert out == ["12345", "23456", "34567"]


def test_no_file_keeps_the_built_in_thresholds(cache_dir):
    code = ("import fastlin; from fastlin.parallel import threads as t; "
            "print(t.PARALLEL_MIN_ELEMENTS, t.THRESHOLD_SOURCE.startswith('built in'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=dict(os.environ)).stdout.split()
    assert out == [str(1 << 18), "True"]


def test_bench_calibrate_is_offered():
    out = subprocess.run([sys.executable, "-m", "fastlin", "bench", "--help"],
                         capture_output=True, text=True, check=True).stdout
    assert "--calibrate" in out
