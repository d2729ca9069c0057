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
