"""fastlin.sklearn.LogisticRegression's ``set_callbacks`` (scikit-learn 1.9's callback API)
against scikit-learn's own LogisticRegression: the same validation, the same hooks in the
same order with the same arguments (one task per iteration of fastlin's solver, for every
solver name), scikit-learn's ProgressBar and ScoringMonitor on dense and CSR input, clone,
meta-estimators, and no callback work at all when none is set."""
import subprocess
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
import scipy.sparse as sp  # noqa: E402
import sklearn.linear_model as skl  # noqa: E402
from sklearn.base import clone  # noqa: E402

import fastlin.linear  # noqa: E402
import fastlin.sklearn as fls  # noqa: E402
import fastlin.sklearn._logistic as fl_logistic  # noqa: E402

HAS_API = hasattr(skl.LogisticRegression, "set_callbacks")
needs_api = pytest.mark.skipif(not HAS_API, reason="scikit-learn < 1.9 has no callback API")

# every fastlin solver path: L-BFGS-B (binary, multinomial, liblinear's L2 problem with and
# without its intercept column) and proximal Newton (binary, multinomial, liblinear's L1)
SOLVERS = {
    "lbfgs": dict(), "lbfgs-multinomial": dict(), "newton-cg": dict(solver="newton-cg"),
    "saga-l1": dict(solver="saga", l1_ratio=1.0),
    "saga-enet-multinomial": dict(solver="saga", l1_ratio=0.5),
    "liblinear-l2": dict(solver="liblinear"),
    "liblinear-l2-no-intercept": dict(solver="liblinear", fit_intercept=False),
    "liblinear-l1": dict(solver="liblinear", l1_ratio=1.0),
}
TASK_NAMES = {"saga-l1": "proximal-newton-iter", "saga-enet-multinomial": "proximal-newton-iter",
              "liblinear-l1": "proximal-newton-iter"}


def _data(n_classes=2, n=120, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (X @ rng.normal(size=(d, n_classes)) + rng.normal(size=(n, n_classes))).argmax(axis=1)
    return X, y


class _Recorder:
    """A FitCallback that records each hook call: (hook, task name, task id, X and y given,
    metadata, the fitted_estimator's coef_ and intercept_ or None)."""

    def __init__(self, stop=False):
        self.calls, self.stop = [], stop

    def setup(self, estimator, context):
        self.calls.append(("setup", context.task_name, context.max_subtasks))

    def teardown(self, estimator, context):
        self.calls.append(("teardown", context.task_name))

    def _record(self, hook, context, X, y, metadata, fitted):
        weights = None if fitted is None else (fitted.coef_, fitted.intercept_,
                                               fitted.predict(X))
        self.calls.append((hook, context.task_name, context.task_id, X is not None,
                           y is not None, metadata, weights))

    def on_fit_task_begin(self, estimator, context, *, X=None, y=None, metadata=None,
                          fitted_estimator=None):
        self._record("begin", context, X, y, metadata, fitted_estimator)

    def on_fit_task_end(self, estimator, context, *, X=None, y=None, metadata=None,
                        fitted_estimator=None):
        self._record("end", context, X, y, metadata, fitted_estimator)
        return self.stop


def _shape(calls):
    """The hook sequence, each entry (hook, task, X given, y given, metadata given, fitted
    estimator given), with the repeats of an iteration task's (begin, end) folded: what
    scikit-learn's and fastlin's fits share whatever their iteration counts."""
    out = []
    for call in calls:
        hook, name = call[0], call[1]
        out.append((hook, "iter" if name.endswith("-iter") else name) + (
            tuple(call[3:5]) + (call[5] is not None, call[6] is not None)
            if hook in ("begin", "end") else ()))
        if len(out) >= 4 and out[-1][1] == "iter" and out[-4:-2] == out[-2:]:
            del out[-2:]
    return out


def _fit(est, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y, **kw)


def _iteration_calls(calls):
    return [c for c in calls if c[1].endswith("-iter")]


@needs_api
def test_set_callbacks_validates_returns_self_and_clears_as_sklearn():
    from sklearn.callback import ProgressBar
    for est in (skl.LogisticRegression(), fls.LogisticRegression()):
        for bad in [(object(),), (ProgressBar,), (_Recorder(), 3), ("progress",)]:
            with pytest.raises(TypeError, match="FitCallback protocol"):
                est.set_callbacks(*bad)
            assert "_skl_callbacks" not in vars(est)
        rec = _Recorder()
        assert est.set_callbacks(rec) is est
        assert est._skl_callbacks == [rec]
        assert est.set_callbacks() is est
        assert "_skl_callbacks" not in vars(est)
        _fit(est, *_data())
        assert rec.calls == []


@needs_api
def test_clone_passes_the_same_callbacks_on_as_sklearn():
    for est in (skl.LogisticRegression(), fls.LogisticRegression()):
        rec = _Recorder()
        est.set_callbacks(rec)
        copy = clone(est)
        assert copy._skl_callbacks is est._skl_callbacks
        assert "callbacks" not in " ".join(copy.get_params())
        _fit(copy, *_data())
        assert rec.calls[0][0] == "setup" and rec.calls[-1][0] == "teardown"
        assert "_skl_callbacks" not in vars(clone(est.set_callbacks()))


@needs_api
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("solver", sorted(SOLVERS))
def test_hooks_in_sklearns_order_for_every_solver(solver, sparse):
    n_classes = 3 if "multinomial" in solver else 2
    X, y = _data(n_classes)
    sw = np.linspace(0.5, 2.0, len(y))
    reference = _Recorder()
    _fit(skl.LogisticRegression(max_iter=6).set_callbacks(reference), X, y, sample_weight=sw)
    rec = _Recorder()
    est = _fit(fls.LogisticRegression(max_iter=6, **SOLVERS[solver]).set_callbacks(rec),
               sp.csr_matrix(X) if sparse else X, y, sample_weight=sw)
    # setup, begin "fit", iteration tasks (data at each begin and end, the last end empty),
    # end "fit" with the fitted estimator, teardown: scikit-learn's lbfgs sequence
    assert _shape(rec.calls) == _shape(reference.calls)
    assert rec.calls[0] == reference.calls[0] == ("setup", "fit", 7)
    for call in rec.calls[1:-1]:
        if call[5] is not None:
            np.testing.assert_array_equal(call[5]["sample_weight"], sw)
    iterations = _iteration_calls(rec.calls)
    assert {c[1] for c in iterations} == {TASK_NAMES.get(solver, "lbfgs-iter")}
    # one task per solver iteration (L-BFGS-B and proximal Newton alike), numbered 0, 1, ...
    assert len(iterations) == 2 * (est.n_iter_[0] + 1)
    assert [c[2] for c in iterations] == [i // 2 for i in range(len(iterations))]
    # the fitted estimators hold the weights of the iterations, as fit's attributes would
    coef0, intercept0, _ = iterations[0][6]
    assert not coef0.any() and not np.any(intercept0)
    coef, intercept, predicted = iterations[-3][6]
    np.testing.assert_allclose(coef, est.coef_, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(intercept, est.intercept_, rtol=1e-6, atol=1e-6)
    assert coef.dtype == est.coef_.dtype and np.shape(intercept) == np.shape(est.intercept_)
    np.testing.assert_array_equal(predicted, est.predict(X))
    np.testing.assert_array_equal(rec.calls[-2][6][0], est.coef_)


@needs_api
def test_warm_start_iterations_begin_at_the_previous_fit():
    X, y = _data()
    rec = _Recorder()
    est = _fit(fls.LogisticRegression(warm_start=True, max_iter=3), X, y)
    previous = est.coef_.copy()
    _fit(est.set_callbacks(rec), X, y)
    np.testing.assert_allclose(_iteration_calls(rec.calls)[0][6][0], previous)


@needs_api
@pytest.mark.parametrize("kw, y", [(dict(), np.zeros(120, int)),
                                   (dict(solver="liblinear"), np.arange(120) % 3)])
def test_a_fit_refused_after_the_fit_task_began_tears_down_as_sklearn(kw, y):
    X, _ = _data()
    sequences = []
    for cls in (skl.LogisticRegression, fls.LogisticRegression):
        rec = _Recorder()
        with pytest.raises(ValueError), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scikit-learn's: "only supported for lbfgs"
            cls(**kw).set_callbacks(rec).fit(X, y)
        sequences.append(_shape(rec.calls))
    assert sequences[0] == sequences[1]
    assert [s[:2] for s in sequences[1]] == [("setup", "fit"), ("begin", "fit"),
                                             ("teardown", "fit")]


@needs_api
def test_a_hook_returning_true_stops_as_it_does_in_sklearn():
    X, y = _data()
    stopped = []
    for cls in (skl.LogisticRegression, fls.LogisticRegression):
        plain = _fit(cls(max_iter=50), X, y).n_iter_[0]
        asked = _fit(cls(max_iter=50).set_callbacks(_Recorder(stop=True)), X, y).n_iter_[0]
        stopped.append(asked < plain)
    # scikit-learn 1.9 does not act on the request (its L-BFGS bridge leaves it for 1.10)
    assert stopped[1] == stopped[0]


@needs_api
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("solver", ["lbfgs", "saga-enet-multinomial", "liblinear-l1"])
def test_progress_bar_and_scoring_monitor_run_as_on_sklearn(solver, sparse):
    pytest.importorskip("rich")
    from sklearn.callback import ProgressBar, ScoringMonitor
    X, y = _data(3 if "multinomial" in solver else 2)
    Xs = sp.csr_matrix(X) if sparse else X
    logs = []
    for est in (skl.LogisticRegression(max_iter=30), fls.LogisticRegression(max_iter=30,
                                                                           **SOLVERS[solver])):
        monitor = ScoringMonitor(scoring=["accuracy", "neg_log_loss"])
        _fit(est.set_callbacks(ProgressBar(), monitor), Xs, y, sample_weight=np.ones(len(y)))
        log = monitor.get_logs()
        assert log.estimator_name == "LogisticRegression"
        # a row for the fit task (first), then one per iteration
        assert len(log.data) == est.n_iter_[0] + 1
        name = TASK_NAMES.get(solver, "lbfgs-iter") if isinstance(est, fls.LogisticRegression) \
            else "lbfgs-iter"
        assert [row["task_name"] for row in log.data] == ["fit"] + [name] * est.n_iter_[0]
        assert all(np.isfinite(row["neg_log_loss"]) for row in log.data)
        assert log.data[0]["accuracy"] > 0.6
        logs.append(log.data)
    if solver == "lbfgs":  # the same problem: the same optimum, the same scores
        assert logs[1][0]["accuracy"] == pytest.approx(logs[0][0]["accuracy"], abs=0.01)
        assert logs[1][0]["neg_log_loss"] == pytest.approx(logs[0][0]["neg_log_loss"],
                                                           rel=1e-4)


@needs_api
def test_meta_estimators_propagate_and_merge_as_with_sklearn():
    from sklearn.model_selection import cross_validate
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    X, y = _data()
    shapes = []
    for cls in (skl.LogisticRegression, fls.LogisticRegression):
        rec = _Recorder()
        _fit(make_pipeline(StandardScaler(), cls(max_iter=5).set_callbacks(rec)), X, y)
        shapes.append(_shape(rec.calls))
        rec = _Recorder()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cross_validate(cls(max_iter=5).set_callbacks(rec), X, y, cv=3)
        assert sum(c[0] == "setup" for c in rec.calls) == 3
    assert shapes[0] == shapes[1]
    pytest.importorskip("rich")
    from sklearn.callback import ProgressBar
    _fit(make_pipeline(StandardScaler(), fls.LogisticRegression()).set_callbacks(
        ProgressBar(max_propagation_depth=None)), X, y)


def test_no_callback_no_callback_work(monkeypatch):
    """Without callbacks the solvers get callback=None: one `if` per iteration, and fit
    creates no callback context."""
    seen = []
    lbfgs, proximal = fastlin.linear.minimize_lbfgsb, fl_logistic.fit_penalized_logistic
    monkeypatch.setattr(fastlin.linear, "minimize_lbfgsb",
                        lambda *a, **kw: seen.append(kw["callback"]) or lbfgs(*a, **kw))
    monkeypatch.setattr(fl_logistic, "fit_penalized_logistic",
                        lambda *a, **kw: seen.append(kw["callback"]) or proximal(*a, **kw))
    X, y = _data()
    for kw in SOLVERS.values():
        est = _fit(fls.LogisticRegression(**kw), X, y)
        assert not any(name.startswith("_callback") for name in vars(est))
    assert len(seen) == len(SOLVERS) and all(cb is None for cb in seen)


def test_set_callbacks_exists_exactly_when_sklearn_has_it():
    assert hasattr(fls.LogisticRegression(), "set_callbacks") == HAS_API


def test_without_sklearn_callback_module_there_is_no_set_callbacks():
    """scikit-learn < 1.9 has no sklearn.callback: fastlin's LogisticRegression then has no
    set_callbacks either, and fits as before."""
    # scikit-learn's own modules that import sklearn.callback are loaded first; then the
    # module is hidden, as it is absent before 1.9, and fastlin.sklearn imported
    code = ("import sys, numpy as np, sklearn.linear_model, sklearn.neural_network\n"
            "import sklearn.model_selection, sklearn.pipeline, sklearn.preprocessing\n"
            "sys.modules['sklearn.callback'] = None\n"
            "from fastlin.sklearn import LogisticRegression as L\n"
            "assert not hasattr(L, 'set_callbacks')\n"
            "X = np.random.default_rng(0).normal(size=(50, 3)); y = (X[:, 0] > 0).astype(int)\n"
            "for kw in ({}, {'solver': 'saga', 'l1_ratio': 1.0}, {'solver': 'liblinear'}):\n"
            "    assert L(**kw).fit(X, y).score(X, y) > 0.8\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
