"""fastlin.sklearn passes scikit-learn's own estimator checks and swaps in for sklearn."""
import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn.datasets import make_classification, make_regression  # noqa: E402
from sklearn.model_selection import cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from fastlin.sklearn import (LinearRegression, LogisticRegression, MLPClassifier,  # noqa: E402
                             MLPRegressor)


@parametrize_with_checks([
    MLPClassifier(max_iter=100),
    MLPRegressor(max_iter=200),
    LinearRegression(),
    LogisticRegression(),
])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_swap_the_import_in_a_sklearn_script():
    X, y = make_classification(n_samples=300, n_features=10, n_informative=6, n_classes=3,
                               class_sep=2.0, random_state=0)
    pipe = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(32,), max_iter=100,
                                                         random_state=0))
    from sklearn.neural_network import MLPClassifier as SkMLP
    scores = cross_val_score(pipe, X, y, cv=3)
    reference = cross_val_score(make_pipeline(StandardScaler(), SkMLP(
        hidden_layer_sizes=(32,), max_iter=100, random_state=0)), X, y, cv=3)
    assert scores.mean() > reference.mean() - 0.08  # same model, different random init
    clf = pipe.fit(X, y)[-1]
    assert [w.shape for w in clf.coefs_] == [(10, 32), (32, 3)]
    assert [b.shape for b in clf.intercepts_] == [(32,), (3,)]
    assert len(clf.loss_curve_) == clf.n_iter_
    assert clf.predict_proba(X[:5]).shape == (5, 3)


def test_regressors_match_sklearn():
    from sklearn.linear_model import LinearRegression as SkLinear
    from sklearn.linear_model import LogisticRegression as SkLogistic
    X, y = make_regression(n_samples=100, n_features=4, noise=1.0, random_state=0)
    ours, theirs = LinearRegression().fit(X, y), SkLinear().fit(X, y)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-8)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, rtol=1e-8, atol=1e-10)
    Xc, yc = make_classification(n_samples=200, n_features=5, random_state=0)
    ours, theirs = LogisticRegression().fit(Xc, yc), SkLogistic().fit(Xc, yc)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-3, atol=1e-4)
    Xm, ym = make_classification(n_samples=300, n_features=6, n_informative=4, n_classes=3,
                                 random_state=1)
    ours, theirs = LogisticRegression().fit(Xm, ym), SkLogistic().fit(Xm, ym)
    np.testing.assert_allclose(ours.predict_proba(Xm), theirs.predict_proba(Xm), atol=1e-3)


def test_partial_fit_and_regressor():
    X, y = make_regression(n_samples=200, n_features=3, random_state=0)
    y = y / y.std()
    reg = MLPRegressor(hidden_layer_sizes=(16,), max_iter=300, random_state=0).fit(X, y)
    assert reg.score(X, y) > 0.9
    clf = MLPClassifier(random_state=0)
    Xc, yc = make_classification(n_samples=100, random_state=0)
    clf.partial_fit(Xc, yc, classes=[0, 1])
    clf.partial_fit(Xc, yc)
    assert clf.n_iter_ == 1  # as scikit-learn: the iterations of the last call
    assert clf.t_ == 2 * len(Xc)  # samples seen over all calls
    with pytest.raises(ValueError, match="classes must be passed"):
        MLPClassifier().partial_fit(Xc, yc)
