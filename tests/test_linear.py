"""fastlin.LinearRegression, LogisticRegression and SoftmaxRegression (fastlin/linear.py): score
and log_likelihood checked against independent references (scikit-learn's r2_score, NumPy
closed forms, the model's own predictions), for vector and column targets."""
import numpy as np
import pytest

import fastlin


def _regression(n=60, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, X @ np.arange(1.0, d + 1) + rng.normal(size=n)


def test_score_of_a_constant_target_is_scikit_learns():
    # ss_tot = 0: r2_score gives 0 (1 for an exact fit); fastlin gave 1 - ss_res, here about
    # -3000, a number in the target's squared units
    sk_metrics = pytest.importorskip("sklearn.metrics")
    X, y = _regression()
    model = fastlin.LinearRegression().fit(X, y)
    constant = np.full(len(y), 3.0)
    assert model.score(X, constant) == sk_metrics.r2_score(constant, model.predict(X)) == 0.0
    # an exact fit of a constant (zero: the solver returns it without rounding) scores 1
    exact = fastlin.LinearRegression().fit(X, np.zeros(len(y)))
    assert exact.score(X, np.zeros(len(y))) == 1.0


def test_score_and_likelihood_read_a_column_target_as_the_vector():
    # y of shape (n, 1) against predictions of shape (n,) broadcast into an (n, n) difference:
    # score gave -0.93 for a model whose R² is +0.93, log_likelihood -37949 for -67
    X, y = _regression()
    column = y.reshape(-1, 1)
    model = fastlin.LinearRegression().fit(X, y)
    r = y - model.predict(X)
    s2 = np.mean(r ** 2)
    r2 = 1 - np.sum(r ** 2) / np.sum((y - y.mean()) ** 2)
    ll = -0.5 * len(y) * (np.log(2 * np.pi * s2) + 1)  # closed form at the MLE variance
    for target in (y, column):
        assert model.score(X, target) == pytest.approx(r2, rel=1e-12)
        assert model.log_likelihood(X, target) == pytest.approx(ll, rel=1e-12)
    fitted_on_column = fastlin.LinearRegression().fit(X, column)
    assert fitted_on_column.score(X, y) == pytest.approx(r2, rel=1e-12)
    assert fitted_on_column.log_likelihood(X, y) == pytest.approx(ll, rel=1e-12)


def test_score_refuses_a_target_that_does_not_match():
    X, y = _regression()
    model = fastlin.LinearRegression().fit(X, y)
    with pytest.raises(ValueError, match="NaN"):
        model.score(X, np.where(y > 0, np.nan, y))
    with pytest.raises(ValueError, match="samples"):
        model.score(X, y[:10])
    with pytest.raises(ValueError, match="shape"):
        model.score(X, np.column_stack([y, y]))
    with pytest.raises(ValueError, match="sample_weight"):
        model.score(X, y, sample_weight=np.ones(5))


@pytest.mark.parametrize("cls", [fastlin.LogisticRegression, fastlin.SoftmaxRegression])
def test_classifier_score_reads_a_column_of_labels(cls):
    # fit takes labels of shape (n, 1); score compared them with (n,) predictions as (n, n)
    # and gave 0.5 for a model that is 98% right
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    y = (X[:, 0] > 0).astype(int)
    model = cls().fit(X, y)
    accuracy = np.mean(model.predict(X) == y)
    assert accuracy > 0.9
    assert model.score(X, y) == model.score(X, y.reshape(-1, 1)) == accuracy
    with pytest.raises(ValueError, match="one label per sample"):
        model.score(X, y[:10])


@pytest.mark.parametrize("model", ["softmax", "logistic"])
@pytest.mark.parametrize("weights", ["none", "with zero blocks"])
@pytest.mark.parametrize("intercept", [True, False])
def test_loss_and_gradient_in_blocks_equal_the_whole_batch(monkeypatch, model, weights,
                                                           intercept):
    """A dense X larger than the caches is taken in row blocks (fastlin/linear.py
    _block_rows); the loss and gradient must be the whole batch's, to rounding (1e-12
    relative in float64: the same terms summed in blocks), also when whole blocks carry zero
    sample weight (they are skipped) and without an intercept. Blocks of 64 rows are forced on
    a small X here."""
    import fastlin.linear as linear
    rng = np.random.default_rng(0)
    X = rng.standard_normal((1000, 20))
    if model == "softmax":
        est, y, n_out = fastlin.SoftmaxRegression(C=0.5, fit_intercept=intercept), \
            rng.integers(0, 4, 1000), 4
        target = y
    else:
        est, n_out = fastlin.LogisticRegression(C=0.5, fit_intercept=intercept), 1
        target = rng.integers(0, 2, (1000, 1)).astype(np.float64)
    sw = None
    if weights != "none":
        sw = rng.uniform(0.5, 2.0, 1000)
        sw[:130] = 0.0  # the first two blocks of 64 weigh nothing, the third in part
    theta = rng.standard_normal(20 * n_out + (n_out if intercept else 0)) * 0.3
    K = linear.get_backend("cython")
    whole = est._loss_and_grad(K, X, target, sw, n_out)(theta)
    monkeypatch.setattr(linear, "_block_rows", lambda X, n_out: 64)
    blocked = est._loss_and_grad(K, X, target, sw, n_out)(theta)
    np.testing.assert_allclose(blocked[0], whole[0], rtol=1e-12)
    np.testing.assert_allclose(blocked[1], whole[1], rtol=1e-10, atol=1e-14)


def test_block_rows_cut_only_an_x_larger_than_the_caches():
    from fastlin.linear import _block_rows

    def shaped(rows, cols, dtype=np.float64):  # the shape without the memory
        return np.broadcast_to(np.zeros((), dtype), (rows, cols))
    assert _block_rows(shaped(2000, 100), 5) is None                  # 1.5 MB: whole
    assert _block_rows(shaped(5000, 100), 5) == 512                   # 3.8 MB: blocks
    assert _block_rows(shaped(200_000, 100), 5) == 512                # 160 MB: 400 KB blocks
    assert _block_rows(shaped(200_000, 100, np.float32), 5) == 1024
    assert _block_rows(shaped(30_000, 10_000), 5) is None             # a row of 80 KB
    assert _block_rows(shaped(200_000, 1000), 100) is None            # weights of 800 KB


@pytest.mark.parametrize("make", [lambda: fastlin.LinearRegression(alpha=0.5, solver="normal"),
                                  lambda: fastlin.LogisticRegression(C=2.0, max_iter=50),
                                  lambda: fastlin.SoftmaxRegression(penalty=None)])
def test_native_estimators_have_scikit_learns_parameter_protocol(make):
    """get_params/set_params over the constructor's arguments (SPEC §8: scikit-learn shaped
    without scikit-learn): an unknown name is refused by name before anything is set, and a
    copy built from get_params fits the same."""
    est = make()
    params = est.get_params()
    assert params == type(est)(**params).get_params()
    before = dict(params)
    with pytest.raises(ValueError, match="invalid parameter 'bogus'"):
        est.set_params(tol=1e-3, bogus=1)
    assert est.get_params() == before
    assert est.set_params(tol=1e-7) is est and est.get_params()["tol"] == 1e-7
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3))
    regression = isinstance(est, fastlin.LinearRegression)
    y = X @ [1.0, 2.0, -1.0] if regression else (X[:, 0] > 0).astype(int)
    twin = type(est)(**est.get_params())
    np.testing.assert_array_equal(est.fit(X, y).predict(X), twin.fit(X, y).predict(X))


def test_native_estimators_work_in_scikit_learns_model_selection():
    """GridSearchCV and cross_val_score take the native estimators: they say which kind they
    are (``_estimator_type``, ``__sklearn_tags__``), so classifiers get stratified folds and
    accuracy, regressors R²."""
    sklearn_ms = pytest.importorskip("sklearn.model_selection")
    from sklearn.base import is_classifier, is_regressor
    rng = np.random.default_rng(0)
    X = rng.standard_normal((90, 3))
    y = (X[:, 0] - X[:, 1] > 0).astype(int)
    clf = fastlin.LogisticRegression()
    assert is_classifier(clf) and is_regressor(fastlin.LinearRegression())
    search = sklearn_ms.GridSearchCV(clf, {"C": [0.1, 1.0]}, cv=3).fit(X, y)
    assert search.best_params_["C"] in (0.1, 1.0) and search.best_score_ > 0.8
    scores = sklearn_ms.cross_val_score(fastlin.LinearRegression(), X, X @ [1.0, -2.0, 0.5], cv=3)
    assert np.all(scores > 0.99)
