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
