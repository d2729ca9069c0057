"""The GEMM per size class (fastlin/parallel/gemm_choice.py): measured once per machine and
stored, applied at import, overridden by FASTLIN_BLAS; blis (an optional extra) gives the same
products as OpenBLAS in every orientation and class; the decision rule on given timings."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import fastlin  # noqa: F401  (puts the choice in force)
from fastlin import MLP
from fastlin._kernels import _blas, dense
from fastlin.parallel import blas_threads, gemm_choice

HAVE_BLIS = gemm_choice.blis_library() is not None
needs_blis = pytest.mark.skipif(not HAVE_BLIS, reason="the blis package is not installed")


@pytest.fixture
def restore_routes():
    before = blas_threads.chosen(), _blas.routed_classes(), dict(gemm_choice._state)
    yield
    blas_threads.choose(before[0])
    _blas.route_classes(*before[1])
    gemm_choice._state.update(before[2])


def _timings(one, many=None):
    return {"one": {cls: dict(t) for cls, t in zip(gemm_choice.CLASSES, one)},
            "many": many or {}}


def test_size_classes_follow_the_multiply_adds():
    assert _blas.product_class(1, 1, 1) == 0
    assert _blas.product_class(128, 10, 128) == 0
    assert _blas.product_class(1024, 1024, 1) == 1      # 2**20: the first medium product
    assert _blas.product_class(1024, 1023, 1) == 0
    assert _blas.product_class(128, 256, 784) == 1
    assert _blas.product_class(4096, 4096, 4) == 2      # 2**26
    assert _blas.product_class(256, 1024, 1024) == 2


def test_decide_keeps_numpys_openblas_unless_scipys_is_clearly_faster():
    versions = {"scipy": (0, 3, 31), "numpy": (0, 3, 30)}
    close = [{"scipy": 1.0, "numpy": 1.08}] * 3
    assert gemm_choice.decide(_timings(close), versions) == ("numpy", (False, False, False))
    faster = [{"scipy": 1.0, "numpy": 1.2}] * 3
    assert gemm_choice.decide(_timings(faster), versions)[0] == "scipy"
    # each class weighs alike: a 25% loss in one class alone is not past the margin ...
    mixed = [{"scipy": 0.001, "numpy": 0.00125}, {"scipy": 1.0, "numpy": 1.0},
             {"scipy": 10.0, "numpy": 10.0}]
    assert gemm_choice.decide(_timings(mixed), versions)[0] == "numpy"
    # ... and seconds in the large class do not outweigh the others
    heavy = [{"scipy": 0.0013, "numpy": 0.001}, {"scipy": 1.3, "numpy": 1.0},
             {"scipy": 10.0, "numpy": 10.5}]
    assert gemm_choice.decide(_timings(heavy), versions)[0] == "numpy"
    # without NumPy's, the newer release
    only = [{"scipy": 1.0}] * 3
    assert gemm_choice.decide(_timings(only), versions)[0] == "scipy"


def test_decide_gives_blis_a_class_only_where_it_won_at_every_thread_count():
    versions = {"scipy": (0, 3, 30)}
    one = [{"scipy": 1.0, "blis": 0.5}, {"scipy": 1.0, "blis": 0.97}, {"scipy": 1.0, "blis": 0.5}]
    many = {"small": {"scipy": 1.0, "blis": 0.5}, "large": {"scipy": 0.4, "blis": 0.5}}
    # medium: within the 5% margin; large: OpenBLAS on all cores beat single-threaded blis
    assert gemm_choice.decide(_timings(one, many), versions) == ("scipy", (True, False, False))


def test_the_choice_is_stored_and_read_back(tmp_path, monkeypatch, restore_routes):
    monkeypatch.setenv("FASTLIN_CACHE_DIR", str(tmp_path))
    choice = gemm_choice.calibrate()
    path = tmp_path / gemm_choice.FILENAME
    stored = json.loads(path.read_text())
    assert len(stored) == 1
    entry = next(iter(stored.values()))
    assert entry["openblas"] == choice["openblas"] == blas_threads.chosen()
    assert tuple(entry["routes"]) == _blas.routed_classes()
    for cls in gemm_choice.CLASSES:
        assert set(entry["timings"]["one"][cls]) == set(gemm_choice.candidates())
    again = gemm_choice.stored()
    assert again["openblas"] == choice["openblas"] and again["routes"] == choice["routes"]
    assert "measured on this machine" in gemm_choice.in_force()["source"]


# "[" * 100000: nested past the parser's recursion limit (RecursionError, out of import)
@pytest.mark.parametrize("content", ["", "[1, 2]", "{not json", '{"x": 1}', "[" * 100000])
def test_a_damaged_or_foreign_file_is_measured_over(tmp_path, monkeypatch, restore_routes,
                                                   content):
    monkeypatch.setenv("FASTLIN_CACHE_DIR", str(tmp_path))
    (tmp_path / gemm_choice.FILENAME).write_text(content)
    assert gemm_choice.stored() is None
    gemm_choice.choose("auto")
    assert gemm_choice.stored() is not None


def test_an_entry_naming_a_missing_library_is_not_applied(tmp_path, monkeypatch):
    monkeypatch.setenv("FASTLIN_CACHE_DIR", str(tmp_path))
    choice = {"openblas": "mkl", "routes": (False,) * 3, "timings": None, "measured": "x"}
    gemm_choice.save(choice)
    assert gemm_choice.stored() is None


def test_nowhere_to_store_means_the_version_rule_and_no_measurement(tmp_path, monkeypatch,
                                                                    restore_routes):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("FASTLIN_CACHE_DIR", str(blocker / "sub"))
    source = gemm_choice.choose("auto")
    assert "newer OpenBLAS" in source
    libs = blas_threads._load()
    expected = blas_threads.choose("auto")
    assert blas_threads.chosen() == expected and libs
    assert _blas.routed_classes() == (False, False, False)


def test_two_processes_share_one_measurement(tmp_path):
    env = dict(os.environ, FASTLIN_CACHE_DIR=str(tmp_path))
    env.pop("FASTLIN_BLAS", None)
    code = ("import fastlin; from fastlin.parallel import gemm_choice as g; d = g.in_force(); "
            "print(d['small'], d['medium'], d['large'], '|', d['source'])")
    first, second = (subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                                    text=True, check=True).stdout for _ in range(2))
    assert first.split("|")[0] == second.split("|")[0]
    assert "measured on this machine" in second
    assert str(tmp_path) in second


@pytest.mark.parametrize("value", ["mkl", "openblas"])
def test_a_bad_setting_is_refused_naming_the_choices(value):
    with pytest.raises(ValueError, match="'auto', 'scipy', 'numpy' or 'blis'"):
        gemm_choice.choose(value)


def test_blis_without_the_package_warns_and_keeps_openblas(monkeypatch, restore_routes):
    monkeypatch.setattr(gemm_choice, "blis_library", lambda: None)
    with pytest.warns(RuntimeWarning, match="blis package is not installed"):
        gemm_choice.choose("blis")
    assert _blas.routed_classes() == (False, False, False)


def test_routing_to_blis_needs_its_entry_points_first():
    if any(_blas.routed_classes()) or HAVE_BLIS:
        pytest.skip("blis entry points are already set in this process")
    with pytest.raises(ValueError, match="use_blis"):
        _blas.route_classes(True, False, False)


@needs_blis
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(33, 20, 7), (128, 130, 70), (300, 260, 200)])
@pytest.mark.parametrize("trans", [(0, 0), (1, 0), (0, 1), (1, 1)])
def test_blis_products_agree_with_openblas(restore_routes, dtype, shape, trans):
    """blis in every class and orientation, with leading dimensions wider than the operands
    (views of larger arrays), against float64 NumPy."""
    gemm_choice.choose("blis")
    assert _blas.routed_classes() == (True, True, True)
    m, n, k = shape
    ta, tb = trans
    rng = np.random.default_rng(0)
    A = rng.standard_normal((k, m + 3) if ta else (m, k + 3)).astype(dtype)[:, :m if ta else k]
    B = rng.standard_normal((n, k + 5) if tb else (k, n + 5)).astype(dtype)[:, :k if tb else n]
    opA, opB = (A.T if ta else A), (B.T if tb else B)
    expected = opA.astype(np.float64) @ opB.astype(np.float64)
    tol = 2e-4 if dtype == np.float32 else 1e-11
    W = np.ascontiguousarray(opB)
    out = np.empty((m, n), dtype)
    e1, e2 = np.empty(0, dtype), np.empty((0, 0), dtype)
    dense.dense_forward(np.ascontiguousarray(opA), W, e1, out, 0, e1, e2, False, False, 1)
    np.testing.assert_allclose(out, expected, rtol=tol, atol=tol * 10)
    # the kernels' own timing path calls gemm_rm with these flags and leading dimensions
    assert _blas.time_product(ta, tb, m, n, k, False, 1) > 0


@pytest.mark.parametrize("setting", ["numpy", "blis"])
def test_training_is_the_same_model_on_every_gemm(restore_routes, setting):
    """One float64 MLP trained through SciPy's OpenBLAS and through `setting` (NumPy's
    OpenBLAS, or blis for every class): the same weights to float64 rounding."""
    if setting == "numpy" and "numpy" not in blas_threads._load():
        pytest.skip("NumPy's OpenBLAS is not loaded in this process")
    if setting == "blis" and not HAVE_BLIS:
        pytest.skip("the blis package is not installed")
    rng = np.random.default_rng(1)
    X = rng.standard_normal((512, 300)).astype(np.float64)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    weights = {}
    for choice in ("scipy", setting):
        gemm_choice.choose(choice)
        model = MLP([300, 256, 2], seed=0, dtype="float64")
        model.fit(X, y, epochs=2, batch_size=256, seed=0)
        weights[choice] = model.parameters()
    for p, q in zip(weights["scipy"], weights[setting]):
        np.testing.assert_allclose(p, q, rtol=1e-9, atol=1e-11)


def test_the_key_does_not_depend_on_which_openblas_is_chosen(restore_routes):
    """The stored entry is looked up before the choice and written after it: its key must not
    change with the library chosen (it did when it held only the chosen one's thread count,
    which differs here: one library is set to a count the other does not have)."""
    libs = blas_threads._load()
    if len(libs) < 2 or any(lib.set_local is None for lib in libs.values()):
        pytest.skip("needs both OpenBLAS builds with a settable thread count")
    first = next(iter(libs.values()))
    before = first.set_local(first.get() + 1)
    try:
        keys = set()
        for name in libs:
            blas_threads.choose(name)
            keys.add(gemm_choice._key())
    finally:
        first.set_local(before)
    assert len(keys) == 1


def test_an_unwritable_cache_is_not_measured_into(tmp_path, monkeypatch, restore_routes):
    """Where nothing can be stored, the version rule applies at once: no 0.2-0.4 s of timing
    at every import that would be thrown away."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("FASTLIN_CACHE_DIR", str(blocker / "sub"))

    def refuse(*args, **kwargs):
        raise AssertionError("measured although the result cannot be stored")
    monkeypatch.setattr(gemm_choice, "measure", refuse)
    assert "newer OpenBLAS" in gemm_choice.choose("auto")
    assert _blas.routed_classes() == (False, False, False)


_SLOW_MEASURE = """
import json, os, sys, time
os.environ["FASTLIN_BLAS"] = "scipy"  # the import itself measures nothing
import fastlin
from fastlin.parallel import gemm_choice as g
measure = g.measure
def slow(*args, **kwargs):
    result = measure(*args, **kwargs)
    time.sleep(2.0)  # a long measurement: the other process starts meanwhile
    return result
g.measure = slow
g.choose("auto")
print(json.dumps(g.in_force()["timings"]))
"""


def test_processes_starting_together_apply_one_measurement(tmp_path):
    """Two processes that find no stored choice at the same time: one measures, the other
    waits for it and applies what it stored, so both (and every later process) run the same
    GEMM. Before, each measured and applied its own result, and the file kept the last."""
    env = dict(os.environ, FASTLIN_CACHE_DIR=str(tmp_path))
    procs = [subprocess.Popen([sys.executable, "-c", _SLOW_MEASURE], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(2)]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        outs.append(json.loads(out.strip().splitlines()[-1]))
    stored = json.loads((tmp_path / gemm_choice.FILENAME).read_text())
    assert len(stored) == 1
    assert outs[0] == outs[1] == next(iter(stored.values()))["timings"]
