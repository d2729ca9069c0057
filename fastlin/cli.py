"""The command line: ``python -m fastlin {demo,bench,train,predict}`` (also ``fastlin ...``)."""
import argparse
import csv
import sys
import time

import numpy as np


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
    hidden = [int(h) for h in args.hidden.split(",") if h]
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
    from fastlin.benchmarks import run_benchmarks, run_scaling
    if args.sklearn:
        from fastlin.benchmarks import run_sklearn_comparison
        run_sklearn_comparison()
    elif args.scaling:
        run_scaling()
    else:
        run_benchmarks(quick=args.quick, threads=args.threads)
    return 0


# ------------------------------------------------------------------------ CSV files
def read_csv(path):
    """(header, float matrix) of a CSV file with a header row; CLIError naming any problem."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
    except FileNotFoundError:
        raise CLIError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CLIError(f"{path}: cannot be read as CSV text ({exc})") from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise CLIError(f"{path}: the file is empty")
    header = [h.strip() for h in rows[0]]
    if len(set(header)) != len(header) or any(h == "" for h in header):
        raise CLIError(f"{path}: the header row must name every column once")
    if len(rows) < 2:
        raise CLIError(f"{path}: the file has a header but no data rows")
    data = np.empty((len(rows) - 1, len(header)))
    for i, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise CLIError(f"{path}: line {i} has {len(row)} fields, the header has {len(header)}")
        for j, cell in enumerate(row):
            try:
                data[i - 2, j] = float(cell)
            except ValueError:
                raise CLIError(f"{path}: line {i}, column {header[j]!r}: {cell!r} is not a number") from None
    if not np.isfinite(data).all():
        raise CLIError(f"{path}: the file contains NaN or infinite values")
    return header, data


def cmd_train(args):
    from fastlin import MLP, BCEWithLogitsLoss, MSELoss, SoftmaxCrossEntropyLoss
    header, data = read_csv(args.data)
    if args.target not in header:
        raise CLIError(f"{args.data}: no column named {args.target!r} (columns: {', '.join(header)})")
    t = header.index(args.target)
    features = [h for h in header if h != args.target]
    if not features:
        raise CLIError(f"{args.data}: no feature columns besides the target")
    X, y = np.delete(data, t, axis=1), data[:, t]
    task = args.task
    if task == "auto":
        whole = np.all(y == np.round(y))
        task = "classify" if whole and len(np.unique(y)) <= max(2, min(20, len(y) // 5)) else "regress"
    mean, std = X.mean(axis=0), X.std(axis=0)
    std[std == 0] = 1
    Xs = ((X - mean) / std).astype(np.float32)
    hidden = [int(h) for h in args.hidden.split(",") if h]
    meta = {"features": features, "target": args.target, "task": task,
            "mean": mean.tolist(), "std": std.tolist()}
    if task == "classify":
        classes, y_idx = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise CLIError(f"{args.data}: the target column has a single class")
        meta["classes"] = classes.tolist()
        n_out = 1 if len(classes) == 2 else len(classes)
        loss = BCEWithLogitsLoss() if n_out == 1 else SoftmaxCrossEntropyLoss()
        target = y_idx.astype(np.float32) if n_out == 1 else y_idx
    else:
        n_out, loss = 1, MSELoss()
        meta["y_mean"], meta["y_std"] = float(y.mean()), float(y.std() or 1.0)
        target = ((y - meta["y_mean"]) / meta["y_std"]).astype(np.float32)
    model = MLP([X.shape[1], *hidden, n_out], activation=args.activation, seed=args.seed)
    history = model.fit(Xs, target, loss=loss, optimizer="adam", lr=args.lr, epochs=args.epochs,
                        batch_size=args.batch_size, seed=args.seed, verbose=args.verbose)
    model.save(args.out, metadata=meta)
    msg = f"trained {task} model on {len(X)} rows, final loss {history.history['loss'][-1]:.4f}"
    if "accuracy" in history.history:
        msg += f", training accuracy {history.history['accuracy'][-1]:.4f}"
    print(msg + f"; saved to {args.out}")
    return 0


def cmd_predict(args):
    import fastlin
    try:
        model = fastlin.load(args.model)
    except FileNotFoundError:
        raise CLIError(f"{args.model}: no such file") from None
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    meta = model.metadata
    if not meta or "features" not in meta:
        raise CLIError(f"{args.model}: was not saved by `fastlin train` (no feature metadata)")
    header, data = read_csv(args.data)
    missing = [f for f in meta["features"] if f not in header]
    if missing:
        raise CLIError(f"{args.data}: missing feature columns {', '.join(missing)}")
    X = data[:, [header.index(f) for f in meta["features"]]]
    Xs = ((X - np.array(meta["mean"])) / np.array(meta["std"])).astype(model.dtype)
    out = model.predict(Xs)
    if meta["task"] == "classify":
        classes = np.array(meta["classes"])
        idx = (out[:, 0] > 0).astype(int) if out.shape[1] == 1 else out.argmax(axis=1)
        values = classes[idx]
    else:
        values = out[:, 0] * meta["y_std"] + meta["y_mean"]
    stream = open(args.out, "w", newline="") if args.out else sys.stdout
    try:
        stream.write(meta["target"] + "\n")
        for v in values:
            stream.write(f"{v:g}\n")
    finally:
        if args.out:
            stream.close()
    return 0


def build_parser():
    p = argparse.ArgumentParser(prog="fastlin", description="Train linear models and MLPs fast on the CPU.")
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="train an MLP on the shipped digits, compiled vs NumPy")
    d.add_argument("--epochs", type=int, default=15)
    d.add_argument("--hidden", default="128,64", help="hidden layer sizes, comma-separated")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--quiet", action="store_true", help="no progress bars")
    d.set_defaults(func=cmd_demo)
    b = sub.add_parser("bench", help="kernel and training-step benchmarks, compiled vs NumPy")
    b.add_argument("--quick", action="store_true", help="fewer repeats and sizes")
    b.add_argument("--threads", type=int, default=None, help="kernel threads (default: all cores)")
    b.add_argument("--scaling", action="store_true",
                   help="fit per step with 1 vs 2 threads, each workload in a fresh process")
    b.add_argument("--sklearn", action="store_true",
                   help="fastlin.sklearn vs scikit-learn: fit time and held-out score per data set")
    b.set_defaults(func=cmd_bench)
    t = sub.add_parser("train", help="train an MLP on a CSV file with a header row")
    t.add_argument("data")
    t.add_argument("--target", required=True, help="name of the target column")
    t.add_argument("--task", choices=["auto", "classify", "regress"], default="auto")
    t.add_argument("--hidden", default="64", help="hidden sizes, comma-separated ('' for linear)")
    t.add_argument("--activation", default="relu")
    t.add_argument("--epochs", type=int, default=50)
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--lr", type=float, default=1e-2)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--out", default="model.npz")
    t.add_argument("--verbose", action="store_true")
    t.set_defaults(func=cmd_train)
    r = sub.add_parser("predict", help="predict with a model saved by `fastlin train`")
    r.add_argument("model")
    r.add_argument("data")
    r.add_argument("--out", default=None, help="CSV file to write (default: standard output)")
    r.set_defaults(func=cmd_predict)
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CLIError as exc:
        print(f"fastlin {args.command}: error: {exc}", file=sys.stderr)
        return 2
