"""The command line: ``python -m fastlin {demo,bench,train,predict}`` (also ``fastlin ...``);
``--version`` prints the version.

Every user mistake (a bad option value, a bad file, a bad column, an ``--out`` that cannot or
must not be written) ends with one line on stderr and exit status 2, before any training; a
closed output pipe (``... | head``) ends quietly. CSV files are read by `fastlin._csv`.
"""
import csv
import os
import re
import sys
import tempfile
import time

import numpy as np

from fastlin._cli_options import (_Formatter, _Parser, _delimiter_option, _fraction, _names,
                                   _non_negative_int, _positive_float, _positive_int, _sizes,
                                   _subparser)
from fastlin._csv import CSVError, read_csv


class CLIError(Exception):
    """A user mistake (bad file, bad column): printed without a traceback, exit status 2."""


# ----------------------------------------------------------------------------- demo
def _train_digits(backend, X_tr, y_tr, X_te, y_te, epochs, seed, verbose, hidden):
    from fastlin import MLP, Adam, SoftmaxCrossEntropyLoss
    model = MLP([X_tr.shape[1], *hidden, 10], activation="relu", seed=seed, backend=backend)
    opt = Adam(model.parameters(), lr=2e-3, backend=backend)
    start = time.perf_counter()
    model.fit(X_tr, y_tr, loss=SoftmaxCrossEntropyLoss(backend=backend), optimizer=opt,
              epochs=epochs, batch_size=32, seed=seed, verbose=verbose)
    per_epoch = (time.perf_counter() - start) / epochs
    accuracy = model.evaluate(X_te, y_te)["accuracy"]
    return accuracy, per_epoch


def cmd_demo(args):
    from fastlin import openmp_enabled
    from fastlin.data import load_digits, train_test_split
    X, y = load_digits()
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_fraction=0.25, seed=0)
    hidden = list(args.hidden)
    print(f"fastlin demo: MLP {[64, *hidden, 10]} (ReLU) on the UCI handwritten digits shipped "
          f"with fastlin: {len(X_tr)} training and {len(X_te)} held-out 8x8 images")
    print(f"Adam lr 2e-3, batch 32, {args.epochs} epochs, float32, OpenMP: {openmp_enabled()}\n")
    results = {}
    for backend in ("cython", "numpy"):
        print(f"training on the {backend} backend ...")
        results[backend] = _train_digits(backend, X_tr, y_tr, X_te, y_te, args.epochs, args.seed,
                                         verbose=not args.quiet, hidden=hidden)
    print()
    print(f"{'backend':<10}{'test accuracy':>15}{'ms / epoch':>14}")
    for backend, (acc, t) in results.items():
        print(f"{backend:<10}{acc:>15.4f}{t * 1e3:>14.2f}")
    speedup = results["numpy"][1] / results["cython"][1]
    print(f"\ncompiled backend: {speedup:.2f}x faster per epoch than the NumPy backend")
    return 0


# ---------------------------------------------------------------------------- bench
def cmd_bench(args):
    from fastlin.benchmarks import (run_benchmarks, run_callbacks_overhead, run_contention,
                                    run_scaling)
    if args.sklearn:
        import subprocess
        import sys

        from fastlin.benchmarks import run_sklearn_comparison
        run_sklearn_comparison()
        print(flush=True)
        # the linear rows in a fresh process: at two threads, the thread pools the MLP fits
        # left spinning (fastlin's OpenMP, NumPy's and SciPy's OpenBLAS) slowed whichever
        # library fitted next, by up to 3x in one row and not the same row twice
        subprocess.run([sys.executable, "-c", "from fastlin.benchmarks.versus_sklearn_linear "
                        "import run_linear_comparison; run_linear_comparison(quick=True)"],
                       check=False)
    elif args.scaling:
        run_scaling()
    elif args.contention:
        run_contention()
    elif args.callbacks:
        run_callbacks_overhead()
    elif args.calibrate:
        from fastlin.benchmarks import run_calibration
        run_calibration()
    else:
        run_benchmarks(quick=args.quick, threads=args.threads)
    return 0


# ----------------------------------------------------------------- shared helpers
_INTEGER = re.compile(r"[+-]?[0-9]+")


def _check_out(path, force, data=None, model=None):
    """Refuse, before any work, an --out that exists (unless `force`), is a directory, would
    replace an input (the data file, or the model predict reads), or lies in a directory that
    is missing or cannot be written."""
    if os.path.isdir(path):
        raise CLIError(f"--out {path}: is a directory")
    if os.path.lexists(path):
        if not force:
            raise CLIError(f"--out {path}: the file exists; pass --force to overwrite it")
        for what, given in (("the input file", data), ("the model", model)):
            if given is not None and os.path.exists(given) and os.path.samefile(path, given):
                raise CLIError(f"--out {path}: is {what} {given}")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise CLIError(f"--out {path}: the directory {directory} does not exist")
    # a real file, not os.access: also right for root, ACLs and read-only file systems
    try:
        fd, probe = tempfile.mkstemp(dir=directory, prefix=".fastlin-", suffix=".probe")
    except OSError as exc:
        raise CLIError(f"--out {path}: cannot write in {directory} "
                       f"({exc.strerror or exc})") from None
    os.close(fd)
    os.unlink(probe)


def _robust_standardisation(X):
    """(scale, mean, std) per column such that ((X / scale) - mean / scale) / (std / scale) is
    X standardised, computed without overflow: each column is first divided by its largest
    magnitude (scale), so a column of +-1e300 has finite statistics. `mean` and `std` are in
    the column's units (finite: at most `scale`); a constant column gets std = scale, i.e. 1 in
    scaled units, so it maps to 0 at training time and stays bounded at prediction time."""
    scale = np.max(np.abs(X), axis=0) if len(X) else np.ones(X.shape[1])
    scale[scale == 0] = 1.0
    Xs = X / scale
    mean_s = Xs.mean(axis=0)
    std_s = Xs.std(axis=0)
    std_s[std_s == 0] = 1.0
    return scale, mean_s * scale, std_s * scale


def _standardise(X, meta, path):
    """X standardised with the parameters stored by `train`, as float32; CLIError when a
    value lies so far outside the training range that it cannot be represented."""
    mean, std = np.asarray(meta["mean"], float), np.asarray(meta["std"], float)
    scale = np.asarray(meta.get("scale", np.ones_like(mean)), float)
    with np.errstate(over="ignore", invalid="ignore"):
        Z = ((X / scale - mean / scale) / (std / scale)).astype(np.float32)
    bad = ~np.isfinite(Z).all(axis=0)
    if bad.any():
        names = [f for f, b in zip(meta["features"], bad) if b]
        raise CLIError(f"{path}: values in column(s) {', '.join(map(repr, names))} lie too far "
                       "outside the training range to be standardised")
    return Z


def _label(v):
    """A class label as text: strings as they are, numbers exactly (1000001, not "1e+06",
    which would make 1000001 and 1000002 the same name)."""
    if isinstance(v, str):
        return v
    v = float(v)
    return str(int(v)) if v.is_integer() else repr(v)


def _r2(y, pred):
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    if ss_tot == 0:
        return float("nan")
    return 1.0 - float(np.sum((y - pred) ** 2)) / ss_tot


def _infer_task(y, n):
    """classify for a small set of whole numbers (at most max(2, min(20, n // 5)) values)."""
    whole = np.all(y == np.round(y))
    return "classify" if whole and len(np.unique(y)) <= max(2, min(20, n // 5)) else "regress"


# ----------------------------------------------------------------------------- train
def _feature_columns(table, args):
    """The columns the model learns from: every column but the target and --drop, all of
    them numeric; CLIError naming the first column problem."""
    header = table.header
    if args.target not in header:
        raise CLIError(f"{args.data}: no column named {args.target!r} "
                       f"(columns: {', '.join(header)})")
    unknown = [c for c in args.drop if c not in header]
    if unknown:
        raise CLIError(f"--drop: {args.data} has no column(s) {', '.join(map(repr, unknown))}")
    if args.target in args.drop:
        raise CLIError(f"--drop: {args.target!r} is the target column")
    features = [h for h in header if h != args.target and h not in args.drop]
    if not features:
        raise CLIError(f"{args.data}: no feature columns besides the target")
    text = table.text_columns(features)
    _refuse_bad_cells(table, text)
    if text:
        raise CLIError(f"{args.data}: non-numeric feature column(s) {', '.join(map(repr, text))}; "
                       f"drop them with --drop {','.join(text)}")
    return features


def _refuse_bad_cells(table, columns):
    """A feature column of numbers with a few cells that are not (``n/a?``) is a numeric
    column with a typo: name the first such cell, with its line, rather than the column as
    text."""
    for name in columns:
        if table.mostly_numbers(name):
            line, cell = table.first_non_number(name)
            raise CLIError(f"{table.path}: line {line}, column {name!r}: {cell!r} is not a "
                           "number (the column's other values are numbers)")


def _choose_task(args, y, text_target):
    """"classify" or "regress": --task, or for "auto" what the target column looks like."""
    task = args.task
    if task == "auto":
        task = "classify" if text_target else _infer_task(y, len(y))
    if task == "regress" and text_target:
        raise CLIError(f"{args.data}: the target column {args.target!r} holds text (e.g. "
                       f"{y[0]!r}), which cannot be regressed; use --task classify")
    if text_target and np.any(y == ""):
        raise CLIError(f"{args.data}: the target column {args.target!r} has "
                       f"{int(np.sum(y == ''))} empty value(s)")
    return task


def _split_rows(n, validation_split, seed):
    """(training rows, held-out rows) of `n` rows; CLIError when no training row is left."""
    # a seeded shuffle, so sorted files still split fairly
    order = np.random.default_rng(seed).permutation(n)
    n_val = max(1, int(round(n * validation_split))) if validation_split else 0
    if n_val >= n:
        raise CLIError(f"--validation-split {validation_split} of {n} rows leaves no "
                       "training rows")
    return order[:n - n_val], order[n - n_val:]


def _classes(y, text_target):
    """(sorted distinct labels, each row's index among them). Labels written as integers are
    ordered, and told apart, by their exact value (beyond 2**53 too), not as text."""
    if not text_target:
        return np.unique(y, return_inverse=True)
    text = np.char.strip(y.astype(str))
    if all(_INTEGER.fullmatch(t) for t in np.unique(text)):
        values = [int(t) for t in text]
        classes = sorted(set(values))
        index = {c: i for i, c in enumerate(classes)}
        return np.array([str(c) for c in classes]), np.array([index[v] for v in values])
    return np.unique(text, return_inverse=True)


def _encode_target(args, y, task, text_target, train_idx, meta):
    """(loss, training target, number of outputs, class index per row or None); records the
    classes, or the target's standardisation, in `meta` for `predict`."""
    from fastlin import BCEWithLogitsLoss, MSELoss, SoftmaxCrossEntropyLoss
    if task == "classify":
        classes, y_idx = _classes(y, text_target)
        if len(classes) < 2:
            raise CLIError(f"{args.data}: the target column {args.target!r} has a single class")
        meta["classes"] = [str(c) for c in classes] if text_target else [float(c) for c in classes]
        n_out = 1 if len(classes) == 2 else len(classes)
        loss = BCEWithLogitsLoss() if n_out == 1 else SoftmaxCrossEntropyLoss()
        target = y_idx.astype(np.float32) if n_out == 1 else y_idx.astype(np.int64)
        return loss, target, n_out, y_idx
    loss = MSELoss()
    y_scale, y_mean, y_std = (float(v[0]) for v in _robust_standardisation(y[train_idx, None]))
    meta.update(y_mean=y_mean, y_std=y_std, y_scale=y_scale)
    target = ((y / y_scale - y_mean / y_scale) / (y_std / y_scale)).astype(np.float32)
    return loss, target, 1, None


def _fit_model(args, sizes, Z, target, loss, train_idx, val_idx):
    """The trained MLP; a diverging loss is a user error (the learning rate), not a crash."""
    from fastlin import MLP, NonFiniteLossError
    n_params = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
    try:
        model = MLP(sizes, activation=args.activation, seed=args.seed)
    except MemoryError:
        # weights, gradients and Adam's two moments: four float32 arrays of each size
        raise CLIError(f"the network {'-'.join(map(str, sizes))} has {n_params:,} parameters "
                       f"(~{16 * n_params / 2**30:,.1f} GiB to train), more than this machine "
                       "can allocate; choose smaller --hidden sizes") from None
    fit_val = (Z[val_idx], target[val_idx]) if (args.verbose and len(val_idx)) else None
    try:
        model.fit(Z[train_idx], target[train_idx], loss=loss, optimizer="adam", lr=args.lr,
                  epochs=args.epochs, batch_size=args.batch_size, seed=args.seed,
                  verbose=args.verbose, validation_data=fit_val)
    except NonFiniteLossError:
        raise CLIError(f"training diverged (the loss became NaN or infinite); try a smaller "
                       f"--lr than {args.lr:g}") from None
    except MemoryError:
        raise CLIError(f"training the network {'-'.join(map(str, sizes))} needs more memory "
                       "than this machine can allocate; choose smaller --hidden sizes or "
                       "--batch-size") from None
    return model


def _classification_metrics(model, rows, Z, target, y_idx, loss):
    return {name: (model.evaluate(Z[idx], target[idx], loss=loss)["loss"],
                   float(np.mean(model.predict_classes(Z[idx]) == y_idx[idx])))
            for name, idx in rows}


def _regression_metrics(model, rows, Z, y, meta):
    y_scale, y_mean, y_std = meta["y_scale"], meta["y_mean"], meta["y_std"]
    metrics = {}
    for name, idx in rows:
        # in units of y_scale (no overflow for huge targets; R^2 does not depend on it)
        y_s = y[idx] / y_scale
        outputs = model.predict(Z[idx])[:, 0].astype(np.float64)
        pred_s = outputs * (y_std / y_scale) + y_mean / y_scale
        metrics[name] = (float(np.sqrt(np.mean((pred_s - y_s) ** 2))) * y_scale,
                         _r2(y_s, pred_s))
    return metrics


def _measure(model, meta, rows, Z, y, target, y_idx, loss):
    """(the two metric names, {row set name: (metric, metric)}) for the task in `meta`."""
    if meta["task"] == "classify":
        return ("loss", "accuracy"), _classification_metrics(model, rows, Z, target, y_idx, loss)
    return ("RMSE", "R^2"), _regression_metrics(model, rows, Z, y, meta)


def _save_model(model, path, meta):
    try:
        model.save(path, metadata=meta)
    except OSError as exc:
        raise CLIError(f"--out {path}: cannot be written ({exc.strerror or exc})") from None


def _target_summary(meta):
    if meta["task"] != "classify":
        return "regression"
    classes = meta["classes"]
    return f"{len(classes)} classes: {', '.join(_label(c) for c in classes[:10])}" + \
        (", ..." if len(classes) > 10 else "")


def _print_training_report(args, meta, columns, metrics, n, n_val):
    sizes = meta["sizes"]
    net = f"MLP {sizes} {args.activation}" if args.hidden else f"linear model {sizes}"
    print(f"{meta['task']} {args.target!r} ({_target_summary(meta)}) from "
          f"{len(meta['features'])} feature(s): {net}, {args.epochs} epochs")
    held = (f"{n_val} held out (--validation-split {args.validation_split:g}, seed {args.seed})"
            if n_val else "none held out")
    print(f"{n} rows: {n - n_val} for training, {held}")
    print(f"{'':<10}{columns[0]:>10}{columns[1]:>10}")
    for name, (a, b) in metrics.items():
        print(f"{name:<10}{a:>10.4f}{b:>10.4f}")
    print(f"saved to {args.out}")


def cmd_train(args):
    _check_out(args.out, args.force, data=args.data)
    table = read_csv(args.data, text_columns=args.drop, delimiter=args.delimiter)
    features = _feature_columns(table, args)
    X = table.numeric(features)
    y = table.column(args.target)
    text_target = args.target in table.categories
    task = _choose_task(args, y, text_target)
    if task == "classify" and not text_target and np.any(np.abs(y) >= 2.0**53):
        # float64 merges neighbouring integers from 2**53 on: take the labels as written
        y = read_csv(table.path, numeric_columns=[], delimiter=table.delimiter).column(args.target)
        text_target = True
    train_idx, val_idx = _split_rows(len(y), args.validation_split, args.seed)

    scale, mean, std = _robust_standardisation(X[train_idx])
    meta = {"features": features, "target": args.target, "task": task,
            "mean": mean.tolist(), "std": std.tolist(), "scale": scale.tolist()}
    Z = _standardise(X, meta, args.data)
    loss, target, n_out, y_idx = _encode_target(args, y, task, text_target, train_idx, meta)
    sizes = [len(features), *args.hidden, n_out]
    meta.update(sizes=sizes, activation=args.activation)
    model = _fit_model(args, sizes, Z, target, loss, train_idx, val_idx)

    rows = [("training", train_idx)] + ([("held out", val_idx)] if len(val_idx) else [])
    columns, metrics = _measure(model, meta, rows, Z, y, target, y_idx, loss)
    meta["metrics"] = {name: dict(zip(columns, values)) for name, values in metrics.items()}
    _save_model(model, args.out, meta)
    _print_training_report(args, meta, columns, metrics, len(y), len(val_idx))
    return 0


# --------------------------------------------------------------------------- predict
def _write_rows(stream, header, lines):
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(header)
    block = 8192  # written in blocks: a closed pipe is noticed early
    for start in range(0, len(lines), block):
        stream.write("".join(lines[start:start + block]))


def cmd_predict(args):
    import fastlin
    if args.out is not None:
        _check_out(args.out, args.force, data=args.data, model=args.model)
    if os.path.isdir(args.model):
        raise CLIError(f"{args.model}: is a directory, not a model file")
    try:
        model = fastlin.load(args.model)
    except FileNotFoundError:
        raise CLIError(f"{args.model}: no such file") from None
    except (ValueError, OSError) as exc:
        raise CLIError(str(exc)) from None
    meta = model.metadata
    if not meta or "features" not in meta:
        raise CLIError(f"{args.model}: was not saved by `fastlin train` (no feature metadata)")
    classify = meta.get("task") == "classify"
    if args.proba and not classify:
        raise CLIError(f"--proba: {args.model} is a regression model, it has no class "
                       "probabilities")
    features = meta["features"]
    table = read_csv(args.data, numeric_columns=features, delimiter=args.delimiter)
    missing = [f for f in features if f not in table.header]
    if missing:
        raise CLIError(f"{args.data}: missing feature column(s) {', '.join(map(repr, missing))}")
    text = table.text_columns(features)
    _refuse_bad_cells(table, text)
    if text:
        raise CLIError(f"{args.data}: non-numeric feature column(s) {', '.join(map(repr, text))}")
    Z = _standardise(table.numeric(features), meta, args.data)
    if classify:
        names = [_label(c) for c in meta["classes"]]
        if args.proba:
            p = model.predict_proba(Z).astype(np.float64)
            if p.shape[1] == 1:
                p = np.column_stack([1.0 - p[:, 0], p[:, 0]])
            header, lines = names, [",".join(f"{v:.6g}" for v in row) + "\n" for row in p]
        else:
            quoted = [_csv_cell(name) + "\n" for name in names]
            header, lines = [meta["target"]], [quoted[i] for i in model.predict_classes(Z)]
    else:
        values = model.predict(Z)[:, 0].astype(np.float64) * meta["y_std"] + meta["y_mean"]
        # the shortest text that reads back as the same float64: a fixed number of
        # significant digits would round away what the model resolves on a large offset
        # (1000000.51 written as 1000001)
        header, lines = [meta["target"]], [f"{v!r}\n" for v in values.tolist()]
    if args.out is None:
        _write_rows(sys.stdout, header, lines)
        return 0
    try:
        with open(args.out, "w" if args.force else "x", newline="", encoding="utf-8") as f:
            _write_rows(f, header, lines)
    except OSError as exc:
        raise CLIError(f"--out {args.out}: cannot be written ({exc.strerror or exc})") from None
    return 0


def _csv_cell(text):
    if any(c in text for c in ',"\n\r') or text != text.strip():
        return '"' + text.replace('"', '""') + '"'
    return text


def build_parser():
    from fastlin.layers import ACTIVATION_LAYERS
    p = _Parser(prog="fastlin", usage="%(prog)s {demo,bench,train,predict} ...",
                                description="Train linear models and MLPs fast on the CPU.",
                                formatter_class=_Formatter)
    from fastlin import __version__
    p.add_argument("--version", action="version", version=f"fastlin {__version__}",
                   help="print fastlin's version and exit")
    sub = p.add_subparsers(dest="command", required=True, metavar="{demo,bench,train,predict}")
    d = _subparser(sub, "demo", "[options]",
                   "train an MLP on the shipped digits, compiled vs NumPy")
    d.add_argument("--epochs", type=_positive_int, default=15, help="training epochs")
    d.add_argument("--hidden", type=_sizes, default="128,64",
                   help="hidden layer sizes, comma-separated")
    d.add_argument("--seed", type=_non_negative_int, default=0,
                   help="seed of weights and shuffling")
    d.add_argument("--quiet", action="store_true", help="no progress bars")
    d.set_defaults(func=cmd_demo)
    b = _subparser(sub, "bench", "[options]",
                   "kernel and training-step benchmarks, compiled vs NumPy")
    b.add_argument("--quick", action="store_true", help="fewer repeats and sizes")
    b.add_argument("--threads", type=_positive_int, default=None,
                   help="kernel threads (default: all cores)")
    b.add_argument("--scaling", action="store_true",
                   help="fit per step with 1 vs 2 threads, each workload in a fresh process")
    b.add_argument("--contention", action="store_true",
                   help="fit per step quiet, beside one busy process, and quiet again")
    b.add_argument("--calibrate", action="store_true",
                   help="measure from how many elements the kernels gain from every core, and "
                        "store it for this machine")
    b.add_argument("--callbacks", action="store_true",
                   help="fit per step with and without callbacks and a per-batch schedule")
    b.add_argument("--sklearn", action="store_true",
                   help="fastlin.sklearn vs scikit-learn: fit time and held-out score per data "
                        "set, then the linear models' rows at a tenth of their size (full size: "
                        "bench/sklearn_linear.py)")
    b.set_defaults(func=cmd_bench)
    t = _subparser(sub, "train", "DATA.csv --target COL [options]",
                   "train an MLP on a CSV file with a header row")
    t.add_argument("data", help="CSV file with a header row")
    t.add_argument("--target", required=True, help="name of the target column")
    t.add_argument("--task", choices=["auto", "classify", "regress"], default="auto",
                   help="auto: classify text labels or a few whole numbers, else regress")
    t.add_argument("--hidden", type=_sizes, default="64",
                   help="hidden layer sizes, comma-separated ('' for a linear model)")
    t.add_argument("--activation", choices=sorted(ACTIVATION_LAYERS), default="relu",
                   help="activation after each hidden layer")
    t.add_argument("--epochs", type=_positive_int, default=50, help="training epochs")
    t.add_argument("--batch-size", type=_positive_int, default=32, help="minibatch size")
    t.add_argument("--lr", type=_positive_float, default=1e-2, help="Adam learning rate")
    t.add_argument("--validation-split", type=_fraction, default=0.2,
                   help="fraction of rows held out (seeded shuffle) for the held-out metrics")
    t.add_argument("--drop", type=_names, default=[], metavar="COL[,COL...]",
                   help="columns to ignore, e.g. non-numeric ones (default: none)")
    t.add_argument("--seed", type=_non_negative_int, default=0,
                   help="seed of the split, the weights and the shuffling")
    t.add_argument("--out", default="model.npz", metavar="PATH", help="model file to write")
    t.add_argument("--force", action="store_true", help="overwrite an existing --out")
    t.add_argument("--verbose", action="store_true", help="progress bars and per-epoch metrics")
    _delimiter_option(t)
    t.set_defaults(func=cmd_train)
    r = _subparser(sub, "predict", "MODEL.npz DATA.csv [options]",
                   "predict with a model saved by `fastlin train`")
    r.add_argument("model", help="model file written by `fastlin train`")
    r.add_argument("data", help="CSV file with (at least) the model's feature columns")
    r.add_argument("--proba", action="store_true",
                   help="write class probabilities, one column per class")
    r.add_argument("--out", default=None, metavar="PATH",
                   help="CSV file to write (default: standard output)")
    r.add_argument("--force", action="store_true", help="overwrite an existing --out")
    _delimiter_option(r)
    r.set_defaults(func=cmd_predict)
    return p


def _quiet_stdout():
    """After a closed pipe: point stdout at /dev/null so the interpreter's final flush does not
    raise again (the recipe of the Python documentation, "Note on SIGPIPE")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # stdout is not a real file (captured, say): nothing will flush it to a pipe


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        status = args.func(args)
        sys.stdout.flush()
        return status
    except (CLIError, CSVError) as exc:
        message = " ".join(str(exc).split("\n"))
        print(f"fastlin {args.command}: error: {message}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        _quiet_stdout()
        return 141  # 128 + SIGPIPE, what a shell reports for a tool stopped by a closed pipe
    except KeyboardInterrupt:
        print(f"fastlin {args.command}: interrupted", file=sys.stderr)
        return 130
