"""``bench --sklearn`` (and ``bench/sklearn_linear.py``): fastlin.sklearn's linear models
against scikit-learn's, fit time and held-out score.

Each row fits fastlin's and scikit-learn's estimator alternately in one process (fastlin,
scikit-learn, fastlin, ...) and reports the median fit time of each, so both see the same
machine load (``repeat`` rounds, more for fits under a second: as many as fill about a second,
up to MAX_ROUNDS, since millisecond fits move by tens of percent between rounds); the held-out scores must agree within 0.005 (accuracy for classifiers, R² for
regressors) or the row is flagged. When ``import sklearnex`` works, a column for
scikit-learn-intelex's estimator is added (it is not a dependency of fastlin).
"""
import time
import warnings

import numpy as np
import scipy.sparse as sp

TOLERANCE = 0.005
MAX_ROUNDS = 31


def _classification_csr(n, d, density, n_classes, seed=0):
    """A CSR matrix with ~density·d entries per row and labels from a sparse linear model with
    Gumbel noise (a softmax model), so the problem has signal and is not separable."""
    rng = np.random.default_rng(seed)
    per_row = max(1, int(round(density * d)))
    indices = rng.integers(0, d, size=n * per_row)
    X = sp.csr_matrix((rng.uniform(0.5, 1.5, n * per_row), indices,
                       np.arange(0, n * per_row + 1, per_row)), shape=(n, d))
    X.sum_duplicates()  # sorted, unique column indices per row
    W = rng.standard_normal((d, n_classes)) * 3.0
    y = np.argmax(np.asarray(X @ W) + rng.gumbel(size=(n, n_classes)), axis=1)
    return X, y


def _classification_dense(n, d, n_classes, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    W = rng.standard_normal((d, n_classes)) * 0.3
    y = np.argmax(X @ W + rng.gumbel(size=(n, n_classes)), axis=1)
    return X, y


def _regression_dense(n, d, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return X, X @ rng.standard_normal(d) + rng.standard_normal(n)


def _bundled(name):
    from sklearn import datasets
    from sklearn.preprocessing import StandardScaler
    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def rows(quick):
    """(name, make data, estimator keyword arguments, kind); sizes shrink with quick."""
    k = 10 if quick else 1
    csr = dict(n=100_000 // k, d=50_000 // k, density=0.001 * k, n_classes=20)
    return [
        ("breast_cancer logistic", lambda: _bundled("breast_cancer"), {}, "logistic"),
        ("digits logistic (10 classes)", lambda: _bundled("digits"), dict(max_iter=500),
         "logistic"),
        ("diabetes linear", lambda: _bundled("diabetes"), {}, "linear"),
        ("dense 200000x100 5 classes", lambda: _classification_dense(200_000 // k, 100, 5),
         {}, "logistic"),
        ("dense regression 200000x200", lambda: _regression_dense(200_000 // k, 200), {},
         "linear"),
        ("CSR 100000x50000 0.1% 20 classes", lambda: _classification_csr(**csr),
         dict(max_iter=100), "logistic"),
        ("CSR L1 (saga, C=0.5)", lambda: _classification_csr(**csr),
         dict(l1_ratio=1.0, C=0.5, solver="saga", max_iter=100, tol=1e-3), "logistic"),
        ("CSR elastic net 0.5 (saga, C=0.5)", lambda: _classification_csr(**csr),
         dict(l1_ratio=0.5, C=0.5, solver="saga", max_iter=100, tol=1e-3), "logistic"),
    ]


def _estimators(kind, kwargs):
    import sklearn.linear_model as skl

    import fastlin.sklearn as fls
    name = "LogisticRegression" if kind == "logistic" else "LinearRegression"
    out = {"fastlin": lambda: getattr(fls, name)(**kwargs),
           "sklearn": lambda: getattr(skl, name)(**kwargs)}
    try:
        import sklearnex.linear_model as sklx
        out["sklearnex"] = lambda: getattr(sklx, name)(**kwargs)
    except ImportError:
        pass
    return out


def _time_row(make, kwargs, kind, repeat):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    X, y = make()
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, random_state=0)
    times, scores = {}, {}
    ests = _estimators(kind, kwargs)
    rounds, done = repeat, 0
    while done < rounds:
        for name, build in ests.items():  # alternating: each sees the same machine load
            est = build()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                start = time.perf_counter()
                est.fit(X_tr, y_tr)
                times.setdefault(name, []).append(time.perf_counter() - start)
            scores[name] = est.score(X_te, y_te)
        if done == 0:  # millisecond fits: more rounds, ~1 s a row, so the median settles
            slowest = max(t[0] for t in times.values())
            rounds = max(repeat, min(MAX_ROUNDS, int(1.0 / max(slowest, 1e-6))))
        done += 1
    return {name: (float(np.median(t)), scores[name]) for name, t in times.items()}


def run_linear_comparison(quick=True, repeat=3, only=None, print_fn=print):
    """Print one row per case; returns the number of rows whose scores differ. ``quick``
    takes a tenth of the large sizes (at full size scikit-learn's saga with L1 on the CSR
    matrix runs for more than ten minutes)."""
    import sklearn

    import fastlin
    print_fn(f"fastlin {fastlin.__version__}, scikit-learn {sklearn.__version__}, median of "
             f"{repeat} alternating fits (up to {MAX_ROUNDS} for fits under a second)"
             f"{', a tenth of the sizes' if quick else ''}")
    print_fn(f"{'row':38s} {'fastlin s':>10s} {'sklearn s':>10s} {'speed-up':>8s} "
             f"{'score fl':>9s} {'score sk':>9s}")
    bad = 0
    for name, make, kwargs, kind in rows(quick):
        if only and not any(w.lower() in name.lower() for w in only):
            continue
        res = _time_row(make, kwargs, kind, repeat)
        (tf, sf), (ts, ss) = res["fastlin"], res["sklearn"]
        flag = "" if abs(sf - ss) <= TOLERANCE else "  SCORES DIFFER"
        bad += bool(flag)
        extra = "".join(f"  {k} {t:.4f}s ({s:.4f})" for k, (t, s) in res.items()
                        if k not in ("fastlin", "sklearn"))
        print_fn(f"{name:38s} {tf:10.4f} {ts:10.4f} {ts / tf:7.2f}x {sf:9.4f} {ss:9.4f}"
                 f"{extra}{flag}")
    return bad


_PEAK_SCRIPT = """
import sys, tracemalloc, warnings
from fastlin.benchmarks.versus_sklearn_linear import _classification_csr
X, y = _classification_csr(200_000, 50_000, 0.0005, 20)
mod = __import__(sys.argv[1], fromlist=["LogisticRegression"])
est = mod.LogisticRegression(max_iter=5)
warnings.simplefilter("ignore")
tracemalloc.start()
est.fit(X, y)
print(tracemalloc.get_traced_memory()[1])
"""


def run_memory_comparison(print_fn=print):
    """Peak memory traced by tracemalloc (NumPy's and SciPy's arrays included) while each
    library fits LogisticRegression(max_iter=5) on a 200,000 x 50,000 CSR matrix at 0.05%
    with 20 classes, each in a fresh process; returns 1 when fastlin's peak is the larger."""
    import subprocess
    import sys
    peaks = {}
    for name, module in (("fastlin", "fastlin.sklearn"), ("sklearn", "sklearn.linear_model")):
        out = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT, module], check=True,
                             capture_output=True, text=True).stdout
        peaks[name] = int(out.split()[-1]) / 2 ** 20
    print_fn(f"peak traced memory, CSR 200000x50000 0.05% 20 classes, max_iter 5: fastlin "
             f"{peaks['fastlin']:.0f} MiB, scikit-learn {peaks['sklearn']:.0f} MiB "
             f"({peaks['fastlin'] / peaks['sklearn']:.2f}x)")
    return int(peaks["fastlin"] > peaks["sklearn"])
