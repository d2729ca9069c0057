"""The command line's small habits: --version, --delimiter (and its sniffing), a bad cell in a
numeric column named by line and column."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import fastlin
from fastlin import _csv as fcsv
from fastlin.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(fastlin.__file__)))


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def env():
    return {**os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))}


def write(path, rows, sep):
    path.write_text("".join(sep.join(str(v) for v in row) + "\n" for row in rows))
    return path


def table_rows(n=80, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2))
    labels = np.where(X[:, 0] - X[:, 1] > 0, "up", "down")
    return [["x1", "x2", "move"]] + [[f"{a:.4f}", f"{b:.4f}", c] for (a, b), c in zip(X, labels)]


def test_version_from_python_m_and_the_script():
    r = subprocess.run([sys.executable, "-m", "fastlin", "--version"], capture_output=True,
                       text=True, timeout=120, env=env())
    assert r.returncode == 0 and r.stdout.strip() == f"fastlin {fastlin.__version__}"
    script = shutil.which("fastlin", path=os.path.dirname(sys.executable))
    if script is None:
        pytest.skip("the fastlin script is not installed beside this Python")
    r = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=120,
                       env=env())
    assert r.returncode == 0 and r.stdout.strip() == f"fastlin {fastlin.__version__}"


@pytest.mark.parametrize("sep", [";", "\t", ","])
def test_delimiter_is_sniffed(tmp_path, capsys, sep):
    path = write(tmp_path / "moves.csv", table_rows(), sep)
    assert main(["train", str(path), "--target", "move", "--epochs", "2"]) == 0
    assert "from 2 feature(s)" in capsys.readouterr().out
    assert main(["predict", "model.npz", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "move" and set(lines[1:]) <= {"up", "down"} and len(lines) == 81


@pytest.mark.parametrize("engine", ["numpy", "pandas"])
def test_read_csv_delimiters(tmp_path, engine):
    if engine == "pandas":
        pytest.importorskip("pandas")
    path = write(tmp_path / "t.csv", [["a", "b"], ["1,5", "2"], ["3", "4"]], ";")
    t = fcsv.read_csv(str(path), engine=engine)
    assert t.header == ["a", "b"] and t.text_columns() == ["a"]
    t = fcsv.read_csv(str(path), engine=engine, delimiter="|")
    assert t.header == ["a;b"]
    with pytest.raises(ValueError, match="one character"):
        fcsv.read_csv(str(path), delimiter=";;")
    single = write(tmp_path / "one.csv", [["a"], [1], [2]], ",")
    assert fcsv.sniff_delimiter(str(single)) == ","


def test_explicit_delimiter_option(tmp_path, capsys):
    path = write(tmp_path / "moves.txt", table_rows(), "|")
    assert main(["train", str(path), "--target", "move", "--epochs", "1",
                 "--delimiter", "|"]) == 0
    capsys.readouterr()
    # the comma a file does not use: one column, named in the error
    assert main(["train", str(path), "--target", "move", "--delimiter", ",", "--force"]) == 2
    assert "no column named 'move'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", str(path), "--target", "move", "--delimiter", "ab"])
    assert "is not one character" in capsys.readouterr().err


@pytest.mark.parametrize("engine", ["numpy", "pandas"])
def test_bad_cell_in_a_numeric_column_is_named(tmp_path, capsys, monkeypatch, engine):
    if engine == "pandas":
        pytest.importorskip("pandas")
    monkeypatch.setattr(fcsv, "_engine_default", lambda: engine)
    rows = table_rows()
    rows[7][1] = "n/a?"
    path = write(tmp_path / "moves.csv", rows, ",")
    assert main(["train", str(path), "--target", "move"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (f"fastlin train: error: {path}: line 8, column 'x2': 'n/a?' is not a "
                           "number (the column's other values are numbers)")
    # a column of text is still named as one
    rows = [row[:2] + [("a", "b", "c")[i % 3]] + row[2:] for i, row in enumerate(table_rows())]
    rows[0][2] = "colour"
    path = write(tmp_path / "colours.csv", rows, ",")
    assert main(["train", str(path), "--target", "move"]) == 2
    assert "non-numeric feature column(s) 'colour'" in capsys.readouterr().err


def test_editable_install_is_a_path_entry_not_a_late_finder():
    # setuptools serves an editable install with a .pth line (the checkout on sys.path, which
    # a fastlin/ folder in the current directory cannot shadow) only for this layout; otherwise
    # its finder runs after the path entries and `import fastlin` beside a clone named fastlin/
    # imports that folder as an empty namespace package
    tomllib = pytest.importorskip("tomllib")
    editable = pytest.importorskip("setuptools.command.editable_wheel")
    if not hasattr(editable, "_simple_layout"):
        pytest.skip("this setuptools decides the editable layout elsewhere")
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        config = tomllib.load(f)["tool"]["setuptools"]
    package_dir = config.get("package-dir", {})
    assert set(package_dir) == {""}
    assert editable._simple_layout(config["packages"], package_dir, ROOT)
