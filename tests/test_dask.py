"""fastlin.sklearn under Dask, on a real distributed.LocalCluster (two worker processes on the
loopback interface): dask_ml.wrappers.Incremental over chunked dask arrays, and scikit-learn
searches through joblib's "dask" backend. Runs when the extra ``fastlin[dask]`` is installed.

Every fit here is compared bitwise with the same computation done in this process: the workers
run one thread each, so the in-process references run with one thread too.
"""
import contextlib
import os
import logging

import numpy as np
import pytest
from numpy.testing import assert_array_equal

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")
dask_ml_wrappers = pytest.importorskip("dask_ml.wrappers")
pytest.importorskip("sklearn")

import dask.array as da  # noqa: E402
import joblib  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits  # noqa: E402
from sklearn.metrics import r2_score  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

import fastlin  # noqa: E402
from fastlin.sklearn import LogisticRegression, MLPClassifier, MLPRegressor  # noqa: E402

TIMEOUT = 60  # seconds, for starting, reaching and closing the cluster


@pytest.fixture(scope="module")
def client():
    # distributed sets OMP_NUM_THREADS=1 (and the like) in this process's environment for its
    # workers and leaves it there: restore it, or every later test's subprocess inherits it
    saved_environ = dict(os.environ)
    try:
        yield from _cluster_client()
    finally:
        os.environ.clear()
        os.environ.update(saved_environ)


def _cluster_client():
    with dask.config.set({"distributed.comm.timeouts.connect": f"{TIMEOUT}s",
                          "distributed.comm.timeouts.tcp": f"{TIMEOUT}s"}):
        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None, silence_logs=logging.ERROR)
        try:
            c = distributed.Client(cluster, timeout=TIMEOUT)
            try:
                c.wait_for_workers(2, timeout=TIMEOUT)
                yield c
            finally:
                c.close(timeout=TIMEOUT)
        finally:
            cluster.close(timeout=TIMEOUT)


@contextlib.contextmanager
def one_thread():
    """The thread counts of a Dask worker (threads_per_worker=1): fastlin's kernels and BLAS."""
    before = fastlin.get_num_threads()
    fastlin.set_num_threads(1)
    try:
        with threadpool_limits(1):
            yield
    finally:
        fastlin.set_num_threads(before)


def partial_fit_tasks(client, stream):
    """{chunk number: worker} of Incremental's partial_fit tasks (keys ("fit-<token>", i)),
    from a task stream; every one ran on a worker of this cluster."""
    ran = {t["key"][1]: t["worker"] for t in stream.data
           if isinstance(t["key"], tuple) and str(t["key"][0]).startswith("fit-")
           and t["key"][1] >= 0}  # ("fit-<token>", -1) is the unfitted model
    assert set(ran.values()) <= set(client.scheduler_info()["workers"])
    return ran


def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def chunked_partial_fit(est, X, y, size, **kwargs):
    with one_thread():
        for start in range(0, len(X), size):
            est.partial_fit(X[start:start + size], y[start:start + size], **kwargs)
    return est


def assert_same_weights(a, b):
    for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert_array_equal(p, q)


def test_workers_import_this_fastlin(client):
    def where():
        import fastlin
        return fastlin.__file__
    assert set(client.run(where).values()) == {fastlin.__file__}


def test_incremental_classifier_equals_partial_fit_over_the_chunks(client):
    X, y = digits()
    chunk = 300
    Xd, yd = da.from_array(X, chunks=(chunk, X.shape[1])), da.from_array(y, chunks=chunk)
    assert Xd.numblocks == (6, 1)
    # plain SGD keeps no optimizer state between partial_fit calls, so the result cannot depend
    # on whether consecutive chunks ran on the same worker (Adam below: its state travels with the pickled estimator)
    params = dict(hidden_layer_sizes=(32,), solver="sgd", momentum=0.0, learning_rate_init=0.2,
                  batch_size=50, random_state=0)
    inc = dask_ml_wrappers.Incremental(MLPClassifier(**params), shuffle_blocks=False)
    with distributed.get_task_stream(client) as stream:
        inc.fit(Xd, yd, classes=np.arange(10))
    assert sorted(partial_fit_tasks(client, stream)) == list(range(6))
    ref = chunked_partial_fit(MLPClassifier(**params), X, y, chunk, classes=np.arange(10))

    est = inc.estimator_
    assert est.n_iter_ == ref.n_iter_ and est.t_ == ref.t_
    assert_same_weights(est, ref)
    assert est.loss_curve_ == ref.loss_curve_
    predicted = inc.predict(Xd)
    assert isinstance(predicted, da.Array)
    with one_thread():
        expected, proba = ref.predict(X), ref.predict_proba(X)
    assert_array_equal(predicted.compute(), expected)
    assert_array_equal(inc.predict_proba(Xd).compute(), proba)
    assert inc.score(Xd, yd) == np.mean(expected == y) > 0.8


def test_incremental_regressor_equals_partial_fit_over_the_chunks(client):
    X, y = load_diabetes(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    y = (y - y.mean()) / y.std()
    chunk = 100
    Xd, yd = da.from_array(X, chunks=(chunk, X.shape[1])), da.from_array(y, chunks=chunk)
    params = dict(hidden_layer_sizes=(16,), solver="sgd", momentum=0.0, learning_rate_init=0.02,
                  batch_size=20, random_state=0)
    inc = dask_ml_wrappers.Incremental(MLPRegressor(**params), shuffle_blocks=False)
    inc.fit(Xd, yd)
    inc.partial_fit(Xd, yd)  # a second pass over the chunks continues from the first
    ref = MLPRegressor(**params)
    for _ in range(2):
        chunked_partial_fit(ref, X, y, chunk)
    assert inc.estimator_.n_iter_ == ref.n_iter_  # as scikit-learn counts partial_fit
    assert_same_weights(inc.estimator_, ref)
    with one_thread():
        expected = ref.predict(X)
    predicted = inc.predict(Xd).compute()
    assert_array_equal(predicted, expected)
    # Incremental.score is left out: dask_ml's r2_score fails on dask >= 2025.2 for every
    # regressor, scikit-learn's SGDRegressor included ("cannot broadcast shape (nan,) to shape
    # (nan,)", dask/dask-ml#1012)
    assert r2_score(y, predicted) > 0.3


def test_incremental_adam_equals_partial_fit_when_chunks_hop_workers(client):
    X, y = digits()
    chunk = 300
    Xd, yd = da.from_array(X, chunks=(chunk, X.shape[1])), da.from_array(y, chunks=chunk)
    workers = sorted(client.scheduler_info()["workers"])

    def alternate(key):  # chunk i is fitted on worker i % 2: the model moves at every chunk
        if isinstance(key, tuple) and str(key[0]).startswith("fit-") and key[1] >= 0:
            return [workers[key[1] % 2]]
        return workers

    params = dict(hidden_layer_sizes=(16,), random_state=0)  # solver="adam"
    inc = dask_ml_wrappers.Incremental(MLPClassifier(**params), shuffle_blocks=False)
    with distributed.get_task_stream(client) as stream:
        with dask.annotate(workers=alternate, allow_other_workers=False):
            inc.fit(Xd, yd, classes=np.arange(10))
    ran = partial_fit_tasks(client, stream)
    assert [ran[i] for i in range(6)] == [workers[i % 2] for i in range(6)]
    ref = chunked_partial_fit(MLPClassifier(**params), X, y, chunk, classes=np.arange(10))
    assert_same_weights(inc.estimator_, ref)


def test_partial_fit_with_adam_continues_bitwise_after_pickling():
    import pickle
    X, y = digits()
    params = dict(hidden_layer_sizes=(16,), random_state=0)
    ref = chunked_partial_fit(MLPClassifier(**params), X, y, 600, classes=np.arange(10))
    moved = MLPClassifier(**params)
    for start in range(0, len(X), 600):
        moved = pickle.loads(pickle.dumps(moved))
        moved.partial_fit(X[start:start + 600], y[start:start + 600], classes=np.arange(10))
    assert_same_weights(moved, ref)


def grid_search_both_ways(client, estimator, grid, X, y):
    """The same GridSearchCV run on the cluster through joblib's dask backend and here."""
    with distributed.get_task_stream(client) as stream:
        with joblib.parallel_backend("dask"):
            on_dask = GridSearchCV(estimator, grid, cv=3, n_jobs=-1).fit(X, y)
    workers = {t["worker"] for t in stream.data}
    assert workers and workers <= set(client.scheduler_info()["workers"])
    with one_thread():
        local = GridSearchCV(estimator, grid, cv=3, n_jobs=1).fit(X, y)
    assert on_dask.best_params_ == local.best_params_
    for key in ("mean_test_score", "std_test_score", "rank_test_score"):
        assert_array_equal(on_dask.cv_results_[key], local.cv_results_[key])
    return on_dask


def test_grid_search_mlp_classifier_on_dask_backend(client):
    X, y = digits()
    X, y = X[:600], y[:600]
    grid = {"hidden_layer_sizes": [(8,), (32,)], "alpha": [1e-4, 1.0]}
    search = grid_search_both_ways(
        client, MLPClassifier(max_iter=20, learning_rate_init=0.01, random_state=0), grid, X, y)
    assert len(set(search.cv_results_["mean_test_score"])) == 4  # the grid matters
    assert search.best_score_ > 0.85


def test_grid_search_logistic_regression_on_dask_backend(client):
    X, y = load_breast_cancer(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    grid = {"C": [1e-3, 1e-2, 0.1, 1.0, 10.0]}
    search = grid_search_both_ways(client, LogisticRegression(max_iter=200), grid, X, y)
    assert search.best_params_["C"] >= 1e-2  # C=1e-3 underfits this data set
    assert search.best_score_ > 0.95
