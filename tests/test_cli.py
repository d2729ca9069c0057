"""The command line end to end, as a user runs it."""
import os
import subprocess
import sys

import numpy as np
import pytest

import fastlin
from fastlin.cli import main


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    # train's default --out is model.npz in the current directory, never overwritten: run
    # each test where no earlier model.npz can be in the way
    monkeypatch.chdir(tmp_path)


def run(*args):
    # the fastlin under test, whatever the current directory
    root = os.path.dirname(os.path.dirname(os.path.abspath(fastlin.__file__)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "fastlin", *args], capture_output=True, text=True,
                          timeout=600, env=env)


def test_demo_runs_and_reports_accuracy_and_speedup():
    r = run("demo", "--epochs", "3", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "test accuracy" in r.stdout and "faster per epoch" in r.stdout
    lines = [l for l in r.stdout.splitlines() if l.startswith(("cython", "numpy"))]
    assert len(lines) == 2 and all(0.5 < float(l.split()[1]) <= 1 for l in lines)


def test_train_and_predict_csv(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 3))
    y = (X[:, 0] - X[:, 2] > 0).astype(int)
    data = tmp_path / "data.csv"
    with open(data, "w") as f:
        f.write("a,b,c,label\n")
        for row, t in zip(X, y):
            f.write(",".join(f"{v:.6f}" for v in row) + f",{t}\n")
    model = tmp_path / "model.npz"
    assert main(["train", str(data), "--target", "label", "--epochs", "30", "--out", str(model)]) == 0
    out = tmp_path / "pred.csv"
    assert main(["predict", str(model), str(data), "--out", str(out)]) == 0
    pred = np.loadtxt(out, skiprows=1)
    assert np.mean(pred == y) > 0.9


def test_train_regression(tmp_path, capsys):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((150, 2))
    y = X @ [1.5, -2.0] + 0.3
    data = tmp_path / "reg.csv"
    np.savetxt(data, np.column_stack([X, y]), delimiter=",", header="x1,x2,price", comments="")
    model = tmp_path / "m.npz"
    assert main(["train", str(data), "--target", "price", "--hidden", "", "--epochs", "100",
                 "--out", str(model)]) == 0
    assert main(["predict", str(model), str(data)]) == 0
    pred = np.array(capsys.readouterr().out.splitlines()[-150:], dtype=float)
    assert np.mean((pred - y) ** 2) < 0.01


@pytest.mark.parametrize("content,msg", [
    ("", "empty"),
    ("a,b\n", "no data rows"),
    ("label,b\n1,x\n", "non-numeric feature column(s) 'b'"),
    ("a,b\n1,2,3\n", "line 2 has 3 fields"),
    ("a,b\n1,2\n", "no column named 'label'"),
])
def test_train_bad_csv_gives_clear_error(tmp_path, capsys, content, msg):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    assert main(["train", str(path), "--target", "label"]) == 2
    assert msg in capsys.readouterr().err


def test_missing_files(tmp_path, capsys):
    assert main(["train", str(tmp_path / "nope.csv"), "--target", "y"]) == 2
    assert "no such file" in capsys.readouterr().err
    (tmp_path / "d.csv").write_text("a\n1\n")
    assert main(["predict", str(tmp_path / "nope.npz"), str(tmp_path / "d.csv")]) == 2
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"junk")
    assert main(["predict", str(bad), str(tmp_path / "d.csv")]) == 2
    assert "not a readable fastlin model" in capsys.readouterr().err


# --------------------------------------------- class labels and predictions written exactly
@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    # the test's directory by name (_in_tmp has already moved there)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _write(path, header, rows):
    with open(path, "w") as f:
        f.write(",".join(header) + "\n")
        f.writelines(",".join(str(v) for v in row) + "\n" for row in rows)
    return path


def test_cli_numeric_class_labels_keep_every_digit(in_tmp, capsys):
    # f"{v:g}" wrote both 1000001 and 1000002 as "1e+06": every prediction and both --proba
    # columns carried the same name
    rng = np.random.default_rng(1)
    X = rng.normal(size=(100, 2))
    y = np.where(X[:, 0] > 0, 1000001, 1000002)
    data = _write(in_tmp / "ids.csv", ["a", "b", "y"], [[a, b, t] for (a, b), t in zip(X, y)])
    assert main(["train", str(data), "--target", "y", "--epochs", "20"]) == 0
    assert "1000001, 1000002" in capsys.readouterr().out
    assert main(["predict", "model.npz", str(data)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "y" and set(lines[1:]) <= {"1000001", "1000002"}
    assert np.mean(np.array(lines[1:], dtype=np.int64) == y) > 0.9
    assert main(["predict", "model.npz", str(data), "--proba"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "1000001,1000002"


def test_cli_fractional_class_labels_are_named_exactly(in_tmp, capsys):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(90, 2))
    y = np.where(X[:, 0] > 0, 0.1234567, 0.1234568)
    data = _write(in_tmp / "f.csv", ["a", "b", "y"], [[a, b, repr(float(t))] for (a, b), t in zip(X, y)])
    assert main(["train", str(data), "--target", "y", "--task", "classify", "--epochs", "5"]) == 0
    capsys.readouterr()
    assert main(["predict", "model.npz", str(data), "--proba"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "0.1234567,0.1234568"


def test_cli_regression_predictions_are_not_rounded_to_seven_digits(in_tmp, capsys):
    # "%.7g" wrote 1000000.51 as 1000001: an error of up to 0.5 on a model whose RMSE is 0.05
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    y = 1e6 + 3 * X[:, 0] - X[:, 1]
    data = _write(in_tmp / "reg.csv", ["a", "b", "y"],
                  [[repr(float(a)), repr(float(b)), repr(float(t))]
                   for (a, b), t in zip(X, y)])
    assert main(["train", str(data), "--target", "y", "--hidden", "", "--epochs", "30"]) == 0
    capsys.readouterr()
    assert main(["predict", "model.npz", str(data)]) == 0
    written = np.array(capsys.readouterr().out.splitlines()[1:], dtype=np.float64)
    # what the model computes, in float64 from its float32 outputs, as predict does
    model = fastlin.load("model.npz")
    meta = model.metadata
    Z = ((X - np.array(meta["mean"])) / np.array(meta["std"])).astype(np.float32)
    expected = model.predict(Z)[:, 0].astype(np.float64) * meta["y_std"] + meta["y_mean"]
    # equal up to the standardisation's rounding (float32 inputs), far below the old 0.5
    assert np.max(np.abs(written - expected)) < 1e-3
    assert np.sqrt(np.mean((written - y) ** 2)) < 0.2


def _labelled_csv(path, labels, rng):
    X = rng.standard_normal((len(labels), 2))
    with open(path, "w") as f:
        f.write("a,b,label\n")
        for x, label in zip(X, labels):
            f.write(f"{x[0]},{x[1]},{label}\n")


def test_a_csv_from_a_pipe_keeps_every_row(tmp_path):
    """The readers open the file several times (delimiter, header, rows): from a pipe each open
    got what the last one left, and 3,000 rows gave ~2,700 predictions."""
    rng = np.random.default_rng(0)
    _labelled_csv(tmp_path / "d.csv", rng.integers(0, 2, 3000), rng)
    assert run("train", "d.csv", "--target", "label", "--epochs", "1").returncode == 0
    with open(tmp_path / "d.csv") as f:
        r = subprocess.run([sys.executable, "-m", "fastlin", "predict", "model.npz",
                            "/dev/stdin"], stdin=f, capture_output=True, text=True, timeout=600,
                           env={**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(
                               os.path.abspath(fastlin.__file__)))})
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 3001  # the header and every row


def test_integer_labels_beyond_2_53_stay_distinct_and_exact(tmp_path):
    rng = np.random.default_rng(1)
    big = [2**53, 2**53 + 1, 2**64 - 1]
    _labelled_csv(tmp_path / "d.csv", [big[i] for i in rng.integers(0, 3, 300)], rng)
    r = run("train", "d.csv", "--target", "label", "--epochs", "1")
    assert r.returncode == 0, r.stderr
    assert "3 classes: 9007199254740992, 9007199254740993, 18446744073709551615" in r.stdout
    r = run("predict", "model.npz", "d.csv")
    assert set(r.stdout.split()[1:]) <= {str(b) for b in big}


def test_a_network_too_large_is_one_line_not_a_traceback(tmp_path):
    rng = np.random.default_rng(2)
    _labelled_csv(tmp_path / "d.csv", rng.integers(0, 2, 50), rng)
    r = run("train", "d.csv", "--target", "label", "--hidden", "3000000000")
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "parameters" in r.stderr and "--hidden" in r.stderr


def test_predict_out_never_replaces_the_model(tmp_path):
    rng = np.random.default_rng(3)
    _labelled_csv(tmp_path / "d.csv", rng.integers(0, 2, 50), rng)
    assert run("train", "d.csv", "--target", "label", "--epochs", "1").returncode == 0
    before = (tmp_path / "model.npz").read_bytes()
    r = run("predict", "model.npz", "d.csv", "--out", "model.npz", "--force")
    assert r.returncode == 2 and "is the model" in r.stderr
    assert (tmp_path / "model.npz").read_bytes() == before
