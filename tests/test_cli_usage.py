"""The command line as a user meets it (SPEC §6, §12): option checking, --out rules, held-out
metrics, string labels, --drop, --proba, BOM, huge values, closed pipes, and the CSV reader's
two engines agreeing with each other and with the exact reader."""
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import fastlin
import fastlin._csv as fcsv
from fastlin import cli
from fastlin.cli import main


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the default --out (model.npz) lands here


def _env():
    root = os.path.dirname(os.path.dirname(os.path.abspath(fastlin.__file__)))
    path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}


def run(*args):
    return subprocess.run([sys.executable, "-m", "fastlin", *map(str, args)], capture_output=True,
                          text=True, timeout=300, env=_env())


def user_error(capsys, argv):
    """Run main(argv), expecting a user error: exit 2 and exactly one stderr line (SPEC §12;
    option errors too, which say where the usage is). Returns the error line."""
    try:
        status = main([str(a) for a in argv])
    except SystemExit as exc:  # an option error
        status = exc.code
        err = capsys.readouterr().err.splitlines()
        assert status == 2 and len(err) == 1 and err[0].startswith("fastlin"), err
        assert err[0].endswith("--help)"), err
        return err[0]
    err = capsys.readouterr().err.splitlines()
    assert status == 2 and len(err) == 1, err
    assert "Traceback" not in err[0]
    return err[0]


def write_csv(path, header, rows, bom=False):
    with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as f:
        f.write(",".join(header) + "\n")
        for row in rows:
            f.write(",".join(str(v) for v in row) + "\n")
    return path


def blobs(n=120, seed=0):
    """Three well-separated classes named by strings, with two numeric features."""
    rng = np.random.default_rng(seed)
    names = np.array(["cat", "dog", "bird"])
    k = rng.integers(0, 3, n)
    centres = np.array([[0.0, 4.0], [4.0, 0.0], [-4.0, -4.0]])
    X = centres[k] + rng.standard_normal((n, 2))
    return X, names[k]


@pytest.fixture
def animals(tmp_path):
    X, y = blobs()
    path = write_csv(tmp_path / "animals.csv", ["x1", "x2", "animal"],
                     [[f"{a:.5f}", f"{b:.5f}", c] for (a, b), c in zip(X, y)])
    return path, X, y


# ------------------------------------------------------------------ option checking
@pytest.mark.parametrize("option,value,expect", [
    ("--epochs", "0", "--epochs"), ("--epochs", "x", "--epochs"), ("--lr", "nan", "--lr"),
    ("--lr", "-1", "--lr"), ("--lr", "inf", "--lr"), ("--hidden", "x", "--hidden"),
    ("--hidden", "0", "--hidden"), ("--hidden", "8,-2", "--hidden"),
    ("--activation", "foo", "--activation"), ("--batch-size", "0", "--batch-size"),
    ("--validation-split", "1.5", "--validation-split"),
    ("--validation-split", "nan", "--validation-split"), ("--seed", "-1", "--seed"),
])
def test_bad_option_values_are_argparse_errors(capsys, animals, option, value, expect):
    line = user_error(capsys, ["train", animals[0], "--target", "animal", option, value])
    assert line.startswith(f"fastlin train: error: argument {expect}")
    assert not os.path.exists("model.npz")


def test_bad_option_in_a_real_process_has_no_traceback(animals):
    r = run("train", animals[0], "--target", "animal", "--epochs", "0")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.splitlines() == ["fastlin train: error: argument --epochs: must be a "
                                     "positive integer, got '0' (see fastlin train --help)"]


@pytest.mark.parametrize("command", ["train", "predict", "demo", "bench"])
def test_help_shows_every_default(capsys, command):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    options = text.split("options:", 1)[1]
    # one entry per option: from its name at the start of a line to the next such line
    entries = re.split(r"\n  (?=-)", options)
    checked = 0
    for entry in entries:
        if not entry.strip():
            continue
        name = entry.split()[0].rstrip(",")
        if name in ("-h", "--target"):
            continue
        flat = " ".join(entry.split())
        assert "(default: " in flat, f"{command} {name}: no default shown in {flat!r}"
        checked += 1
    assert checked >= {"train": 12, "predict": 3, "demo": 4, "bench": 3}[command]


# ----------------------------------------------------------------------------- --out
def test_existing_out_is_never_overwritten_without_force(capsys, animals, tmp_path):
    out = tmp_path / "keep.npz"
    out.write_bytes(b"precious")
    line = user_error(capsys, ["train", animals[0], "--target", "animal", "--out", out])
    assert "exists" in line and "--force" in line and out.read_bytes() == b"precious"
    # the default --out obeys the same rule
    (tmp_path / "model.npz").write_bytes(b"precious")
    assert "exists" in user_error(capsys, ["train", animals[0], "--target", "animal"])
    assert (tmp_path / "model.npz").read_bytes() == b"precious"
    assert main(["train", str(animals[0]), "--target", "animal", "--epochs", "2", "--out",
                 str(out), "--force"]) == 0
    assert fastlin.load(out).metadata["target"] == "animal"


@pytest.fixture
def no_training(monkeypatch):
    """Fail the test if anything reads the data or trains."""
    def boom(*args, **kwargs):
        raise AssertionError("the CLI read the data or trained before refusing --out")
    monkeypatch.setattr(cli, "read_csv", boom)
    monkeypatch.setattr(fastlin.Sequential, "fit", boom)


def _unwritable_directory(tmp_path):
    """A directory in which creating a file fails for this user, or skip."""
    d = tmp_path / "readonly"
    d.mkdir()
    d.chmod(0o500)
    candidates = [d, "/sys"]
    for c in candidates:
        try:
            open(os.path.join(c, "probe.npz"), "x").close()
        except OSError:
            return str(c)
        os.unlink(os.path.join(c, "probe.npz"))
    pytest.skip("no directory this user cannot write to (root without /sys?)")


@pytest.mark.parametrize("where", ["missing", "unwritable"])
def test_out_in_a_bad_directory_is_refused_before_training(capsys, animals, tmp_path,
                                                           no_training, where):
    if where == "missing":
        directory = str(tmp_path / "no" / "such")
    else:
        directory = _unwritable_directory(tmp_path)
    out = os.path.join(directory, "model.npz")
    line = user_error(capsys, ["train", animals[0], "--target", "animal", "--out", out])
    assert line.startswith("fastlin train: error: --out ") and directory in line
    assert not os.path.exists(out)


def test_out_that_is_the_input_or_a_directory(capsys, animals, tmp_path, no_training):
    assert "is the input file" in user_error(
        capsys, ["train", animals[0], "--target", "animal", "--out", animals[0], "--force"])
    assert "is a directory" in user_error(
        capsys, ["train", animals[0], "--target", "animal", "--out", tmp_path])


def test_predict_out_obeys_the_same_rule(capsys, animals, tmp_path):
    assert main(["train", str(animals[0]), "--target", "animal", "--epochs", "2"]) == 0
    out = tmp_path / "pred.csv"
    out.write_text("old\n")
    assert "exists" in user_error(capsys, ["predict", "model.npz", animals[0], "--out", out])
    assert out.read_text() == "old\n"
    assert main(["predict", "model.npz", str(animals[0]), "--out", str(out), "--force"]) == 0
    assert out.read_text().splitlines()[0] == "animal"


# ------------------------------------------------------------------ held-out metrics
def test_held_out_accuracy_is_printed_and_computed_on_the_held_out_rows(capsys, animals):
    path, X, y = animals
    assert main(["train", str(path), "--target", "animal", "--epochs", "20",
                 "--validation-split", "0.25", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "120 rows: 90 for training, 30 held out" in out
    assert re.search(r"^\s+loss\s+accuracy$", out, re.M)
    held = re.search(r"^held out\s+(\S+)\s+(\S+)$", out, re.M)
    train = re.search(r"^training\s+(\S+)\s+(\S+)$", out, re.M)
    assert held and train
    # the documented split: a permutation drawn from the seed, its last 25% held out
    val = np.random.default_rng(3).permutation(120)[90:]
    assert main(["predict", "model.npz", str(path)]) == 0
    pred = np.array(capsys.readouterr().out.splitlines()[1:])
    assert float(held.group(2)) == pytest.approx(np.mean(pred[val] == y[val]), abs=1e-4)
    assert float(held.group(2)) > 0.9 and float(train.group(2)) > 0.9


def test_held_out_r2_for_regression(capsys, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100, 3))
    y = X @ [2.0, -1.0, 0.5] + 10 + 0.1 * rng.standard_normal(100)
    path = write_csv(tmp_path / "r.csv", ["a", "b", "c", "y"], np.column_stack([X, y]))
    assert main(["train", str(path), "--target", "y", "--hidden", "", "--epochs", "60"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^\s+RMSE\s+R\^2$", out, re.M)
    r2 = float(re.search(r"^held out\s+\S+\s+(\S+)$", out, re.M).group(1))
    val = np.random.default_rng(0).permutation(100)[80:]
    assert main(["predict", "model.npz", str(path)]) == 0
    pred = np.array(capsys.readouterr().out.splitlines()[1:], dtype=float)
    ref = 1 - np.sum((y[val] - pred[val]) ** 2) / np.sum((y[val] - y[val].mean()) ** 2)
    assert r2 == pytest.approx(ref, abs=2e-4) and r2 > 0.95


def test_validation_split_zero_holds_nothing_out(capsys, animals):
    assert main(["train", str(animals[0]), "--target", "animal", "--epochs", "2",
                 "--validation-split", "0"]) == 0
    out = capsys.readouterr().out
    assert "none held out" in out and "held out " not in out.replace("none held out", "")


# ------------------------------------------------------------ labels, --proba, --drop
@pytest.mark.parametrize("engine", ["default", "numpy"])
def test_string_labels_round_trip_through_predict(capsys, animals, monkeypatch, engine):
    if engine == "numpy":  # the reader without the optional pandas
        monkeypatch.setattr(fcsv, "_engine_default", lambda: "numpy")
    path, X, y = animals
    assert main(["train", str(path), "--target", "animal", "--epochs", "20"]) == 0
    assert fastlin.load("model.npz").metadata["classes"] == ["bird", "cat", "dog"]
    capsys.readouterr()
    assert main(["predict", "model.npz", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "animal" and set(lines[1:]) <= {"bird", "cat", "dog"}
    assert np.mean(np.array(lines[1:]) == y) > 0.9


@pytest.mark.parametrize("n_classes", [2, 3])
def test_proba_columns_are_class_names_and_sum_to_one(capsys, tmp_path, n_classes):
    X, y = blobs()
    keep = np.isin(y, ["cat", "dog", "bird"][:n_classes])
    path = write_csv(tmp_path / "a.csv", ["x1", "x2", "animal"],
                     [[a, b, c] for (a, b), c in zip(X[keep], y[keep])])
    assert main(["train", str(path), "--target", "animal", "--epochs", "10"]) == 0
    capsys.readouterr()
    assert main(["predict", "model.npz", str(path), "--proba"]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = sorted(["cat", "dog", "bird"][:n_classes])
    assert lines[0].split(",") == names
    P = np.array([l.split(",") for l in lines[1:]], dtype=float)
    assert P.shape == (keep.sum(), n_classes) and (P >= 0).all()
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-5)
    assert main(["predict", "model.npz", str(path)]) == 0
    labels = capsys.readouterr().out.splitlines()[1:]
    assert labels == [names[i] for i in P.argmax(axis=1)]


def test_proba_of_a_regression_model_is_an_error(capsys, tmp_path):
    path = write_csv(tmp_path / "r.csv", ["a", "y"], [[i, i * 0.37] for i in range(40)])
    assert main(["train", str(path), "--target", "y", "--epochs", "2"]) == 0
    assert "regression model" in user_error(capsys, ["predict", "model.npz", path, "--proba"])


def test_non_numeric_features_are_named_and_can_be_dropped(capsys, tmp_path):
    X, y = blobs(60)
    rows = [[a, "Paris" if i % 2 else "Rome", b, f"id{i}", c]
            for i, ((a, b), c) in enumerate(zip(X, y))]
    path = write_csv(tmp_path / "m.csv", ["x1", "city", "x2", "id", "animal"], rows)
    line = user_error(capsys, ["train", path, "--target", "animal"])
    assert "non-numeric feature column(s) 'city', 'id'" in line and "--drop city,id" in line
    line = user_error(capsys, ["train", path, "--target", "animal", "--drop", "id"])
    assert "non-numeric feature column(s) 'city';" in line
    assert main(["train", str(path), "--target", "animal", "--drop", "city,id",
                 "--epochs", "5"]) == 0
    assert fastlin.load("model.npz").metadata["features"] == ["x1", "x2"]
    # predict ignores the text columns the model does not use
    assert main(["predict", "model.npz", str(path)]) == 0
    assert "no column(s) 'zip'" in user_error(
        capsys, ["train", path, "--target", "animal", "--drop", "city,zip", "--force"])
    assert "is the target" in user_error(
        capsys, ["train", path, "--target", "animal", "--drop", "city,id,animal", "--force"])


def test_text_target_cannot_be_regressed(capsys, animals):
    line = user_error(capsys, ["train", animals[0], "--target", "animal", "--task", "regress"])
    assert "holds text" in line


# ------------------------------------------------------------- BOM and huge values
def test_bom_before_the_header_is_ignored(capsys, tmp_path):
    X, y = blobs(60)
    path = write_csv(tmp_path / "bom.csv", ["animal", "x1", "x2"],
                     [[c, a, b] for (a, b), c in zip(X, y)], bom=True)
    assert path.read_bytes().startswith(b"\xef\xbb\xbfanimal,")
    assert main(["train", str(path), "--target", "animal", "--epochs", "5"]) == 0
    assert fastlin.load("model.npz").metadata["features"] == ["x1", "x2"]
    assert main(["predict", "model.npz", str(path)]) == 0


def test_column_of_1e300_standardises_without_overflow(capsys, tmp_path):
    rng = np.random.default_rng(0)
    n = 80
    big = rng.choice([-1e300, 1e300], n) * rng.uniform(0.5, 1.5, n)
    small = rng.standard_normal(n)
    y = (big > 0).astype(int) ^ (small > 1.5)
    path = write_csv(tmp_path / "big.csv", ["big", "small", "y"],
                     [[f"{a:.17g}", f"{b:.17g}", c] for a, b, c in zip(big, small, y)])
    with np.errstate(all="raise"):  # no overflow anywhere on the way
        assert main(["train", str(path), "--target", "y", "--epochs", "20",
                     "--validation-split", "0"]) == 0
    model = fastlin.load("model.npz")
    assert all(np.isfinite(p).all() for p in model.parameters())
    meta = model.metadata
    assert np.isfinite(meta["mean"]).all() and np.isfinite(meta["std"]).all()
    # against a reference computed where it is safe: the column divided by 1e300 first
    X = np.column_stack([big, small])
    ref_cols = np.column_stack([big / 1e300, small])
    ref = (ref_cols - ref_cols.mean(axis=0)) / ref_cols.std(axis=0)
    np.testing.assert_allclose(cli._standardise(X, meta, "big.csv"), ref, rtol=1e-5, atol=1e-5)
    assert np.mean(model.predict_classes(ref.astype(np.float32)) == y) > 0.9
    assert main(["predict", "model.npz", str(path)]) == 0


def test_constant_column_gets_unit_scale():
    X = np.column_stack([np.full(5, 7.0), np.zeros(5), np.arange(5.0)])
    scale, mean, std = cli._robust_standardisation(X)
    np.testing.assert_allclose(mean, [7.0, 0.0, 2.0])
    np.testing.assert_allclose(std / scale, [1.0, 1.0, np.std(np.arange(5.0)) / 4])


# ------------------------------------------------------------------ user errors
def test_user_errors_are_one_line_exit_2(capsys, animals, tmp_path):
    path = animals[0]
    assert main(["train", str(path), "--target", "animal", "--epochs", "2"]) == 0
    bad = write_csv(tmp_path / "nofeat.csv", ["x1", "animal"], [[1, "cat"]])
    text = write_csv(tmp_path / "text.csv", ["x1", "x2"], [[1, "a"], [2, "b"]])
    nan = write_csv(tmp_path / "nan.csv", ["x1", "x2"], [[1, 2], [2, "nan"]])
    cases = [
        (["predict", "model.npz", bad], "missing feature column(s) 'x2'"),
        (["predict", "model.npz", text], "non-numeric feature column(s) 'x2'"),
        (["predict", "model.npz", nan], "line 3, column 'x2': 'nan' is not a finite number"),
        (["predict", tmp_path / "none.npz", path], "no such file"),
        (["predict", tmp_path, path], "is a directory"),
        (["predict", path, path], "not a readable fastlin model"),
        (["train", tmp_path, "--target", "y", "--out", "m2.npz"], "is a directory"),
        (["train", write_csv(tmp_path / "one.csv", ["a", "y"], [[1, "u"], [2, "u"]]),
          "--target", "y", "--out", "m3.npz"], "single class"),
    ]
    for argv, expect in cases:
        assert expect in user_error(capsys, argv), argv


def test_closed_pipe_ends_quietly(tmp_path, animals):
    assert main(["train", str(animals[0]), "--target", "animal", "--epochs", "2"]) == 0
    X, _ = blobs(60000, seed=1)
    many = tmp_path / "many.csv"
    np.savetxt(many, X, fmt="%.3f", delimiter=",", header="x1,x2", comments="")
    # --proba writes ~30 bytes a row, 1.8 MB in all: far more than a pipe holds, so the writer
    # is still writing when the reader goes away
    p = subprocess.Popen([sys.executable, "-m", "fastlin", "predict", "model.npz", str(many),
                          "--proba"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
    first = p.stdout.readline()
    p.stdout.close()
    err = p.stderr.read().decode()
    p.stderr.close()
    status = p.wait(timeout=120)
    assert first.decode().strip() == "bird,cat,dog"
    assert err == "" and status == 141


# ------------------------------------------------------------------ the CSV reader
ENGINES = ["numpy", pytest.param("pandas", marks=pytest.mark.skipif(
    fcsv._engine_default() != "pandas", reason="pandas not installed (fastlin[csv])"))]

CONTENTS = [
    "\ufeffa,b\n1,2\n",
    "a,b\n1, nan\n3,inf\n",
    "a,b\n1,\n3,4\n",
    "a,b\n1\n3,4\n",
    "a,b\n1,2,3\n3,4\n",
    "a,b\n1,2\n3,4,5\n",
    "a,b\n1,x\n3,4\n",
    'a,b\n 1, cat \n\n3 ,"do,g"\n',
    "a,b\n1,NA\n3,True\n",
    "a,b\n1, 1e300\n3,-1e300 \n",
    "a,a\n1,2\n",
    "a,b\n",
    "",
    "\n\n",
    "a,,b\n",
    "a,b\n1,cat\n2,\n",
]


def _outcome(path, engine, **kw):
    try:
        t = fcsv.read_csv(path, engine=engine, **kw)
    except fcsv.CSVError as exc:
        return str(exc)
    return t.header, t.values.tolist(), t.categories


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("content", CONTENTS)
def test_csv_engines_agree_with_the_exact_reader(tmp_path, engine, content):
    path = tmp_path / "t.csv"
    path.write_text(content, encoding="utf-8")
    got = _outcome(str(path), engine)
    try:
        header, skip, _ = fcsv._read_head(str(path))
    except fcsv.CSVError as exc:
        assert got == str(exc)
        return
    try:
        t = fcsv._read_exact(str(path), header, skip, [])
        expected = (t.header, t.values.tolist(), t.categories) if t.n_rows else \
            f"{path}: the file has a header but no data rows"
    except fcsv.CSVError as exc:
        expected = str(exc)
    assert got == expected


def test_csv_exact_messages(tmp_path):
    cases = {
        "a,b\n1,\n3,4\n": "line 2, column 'b': empty value",
        "a,b\n1\n3,4\n": "line 2 has 1 field, the header has 2",
        "a,b\n1,2\n\n3,4,5\n": "line 4 has 3 fields, the header has 2",
        "a,b\n1,inf\n": "line 2, column 'b': 'inf' is not a finite number",
        "a,a\n1,2\n": "names 'a' more than once",
        "a,,b\n": "empty column name",
    }
    for content, message in cases.items():
        (tmp_path / "t.csv").write_text(content)
        with pytest.raises(fcsv.CSVError, match=re.escape(message)):
            fcsv.read_csv(str(tmp_path / "t.csv"), engine="numpy")


@pytest.mark.parametrize("engine", ENGINES)
def test_csv_text_found_after_the_sniffed_rows(tmp_path, monkeypatch, engine):
    monkeypatch.setattr(fcsv, "SNIFF_ROWS", 2)
    rows = [[i, i % 3] for i in range(10)] + [[10, "other"]]
    path = write_csv(tmp_path / "late.csv", ["a", "b"], rows)
    t = fcsv.read_csv(str(path), engine=engine)
    assert t.text_columns() == ["b"]
    assert list(t.column("b")) == [str(i % 3) for i in range(10)] + ["other"]
    np.testing.assert_array_equal(t.column("a"), np.arange(11.0))


@pytest.mark.parametrize("engine", ENGINES)
def test_csv_text_and_numeric_columns_requested(tmp_path, engine):
    path = write_csv(tmp_path / "t.csv", ["a", "b", "c"], [[1, 2, ""], [3, 4, "x"]])
    t = fcsv.read_csv(str(path), text_columns=["b"], engine=engine)
    assert t.text_columns() == ["b", "c"] and list(t.column("b")) == ["2", "4"]
    t = fcsv.read_csv(str(path), numeric_columns=["a"], engine=engine)
    assert t.text_columns() == ["b", "c"] and t.numeric(["a"]).tolist() == [[1.0], [3.0]]


def test_csv_not_utf8_and_missing(tmp_path):
    (tmp_path / "latin.csv").write_bytes(b"a,b\n1,\xe9\n")
    with pytest.raises(fcsv.CSVError, match="not UTF-8"):
        fcsv.read_csv(str(tmp_path / "latin.csv"))
    with pytest.raises(fcsv.CSVError, match="no such file"):
        fcsv.read_csv(str(tmp_path / "none.csv"))


def test_model_metadata_is_json_with_standardisation(capsys, animals):
    assert main(["train", str(animals[0]), "--target", "animal", "--epochs", "2"]) == 0
    meta = fastlin.load("model.npz").metadata
    json.dumps(meta)
    assert {"features", "target", "task", "mean", "std", "scale", "classes", "metrics"} <= set(meta)
    assert meta["task"] == "classify" and set(meta["metrics"]) == {"training", "held out"}


def test_regression_target_of_1e300(capsys, tmp_path):
    rng = np.random.default_rng(2)
    X = rng.standard_normal((80, 2))
    y = 1e300 * (X[:, 0] - 0.5 * X[:, 1])
    path = write_csv(tmp_path / "huge.csv", ["a", "b", "y"],
                     [[f"{a:.6f}", f"{b:.6f}", f"{t:.17g}"] for (a, b), t in zip(X, y)])
    with np.errstate(over="raise", invalid="raise"):
        assert main(["train", str(path), "--target", "y", "--hidden", "", "--epochs", "60",
                     "--task", "regress"]) == 0
    out = capsys.readouterr().out
    r2 = float(re.search(r"^held out\s+\S+\s+(\S+)$", out, re.M).group(1))
    assert r2 > 0.95
    assert main(["predict", "model.npz", str(path)]) == 0
    pred = np.array(capsys.readouterr().out.splitlines()[1:], dtype=float)
    assert np.isfinite(pred).all()
    np.testing.assert_allclose(pred / 1e300, y / 1e300, atol=0.1)
