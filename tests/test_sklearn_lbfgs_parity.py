"""lbfgs reads the objective's value in its line search, so fastlin's value must be
scikit-learn's, including where scikit-learn's is not the exact loss:

- its log-loss clips probabilities to [eps, 1 - eps] before the log: a saturating probe (a
  large step tried by the line search) costs at most -log(eps) per sample;
- with several regression outputs its value is the mean over outputs of half the squared error,
  while its gradient is that of the sum.

Before, the two took different line-search steps on such probes: weights 0.28 (binary) and 0.08
(two outputs) apart. float64 throughout; tolerance 1e-7 on the weights after up to 60
iterations, where rounding differences have compounded from ~1e-16."""
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkClassifier
from sklearn.neural_network import MLPRegressor as SkRegressor

from fastlin import sklearn as fls
from fastlin.sklearn import _mlp_loss

rng = np.random.default_rng(0)
X = rng.normal(size=(120, 5))
SW = rng.uniform(0.1, 2, 120)
TARGETS = {
    "binary strings, weighted": (fls.MLPClassifier, SkClassifier,
                                 np.where(rng.uniform(size=120) > 0.5, "b", "a"), SW),
    "multiclass": (fls.MLPClassifier, SkClassifier, rng.integers(0, 3, 120), None),
    "multilabel": (fls.MLPClassifier, SkClassifier,
                   (rng.uniform(size=(120, 3)) > 0.5).astype(int), None),
    "separable": (fls.MLPClassifier, SkClassifier, (X[:, 0] > 0).astype(int), None),
    "two outputs, weighted": (fls.MLPRegressor, SkRegressor,
                              np.column_stack([X[:, 0] - X[:, 1], np.sin(X[:, 2])]), SW),
}


@pytest.mark.parametrize("case", list(TARGETS))
def test_lbfgs_follows_scikit_learn(case):
    ours, theirs, y, sw = TARGETS[case]
    kw = dict(hidden_layer_sizes=(7, 4), random_state=0, max_iter=60, alpha=1e-4,
              solver="lbfgs")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = ours(**kw).fit(X, y, sample_weight=sw)
        b = theirs(**kw).fit(X, y, sample_weight=sw)
    assert a.n_iter_ == b.n_iter_
    assert a.loss_ == pytest.approx(b.loss_, rel=1e-8)
    for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_allclose(p, q, rtol=1e-7, atol=1e-7)


def test_the_clip_only_changes_saturated_predictions():
    z = np.array([[40.0, 0.0, -1.0], [1.0, 2.0, 0.5]])
    t = np.array([1, 1])
    # row 0: the true class is 40 below the best, exact loss 40 > -log(eps) = 36.04
    excess = _mlp_loss._log_loss_clip(z, t, None, softmax=True)
    exact0 = np.log(np.exp(z[0] - 40).sum()) + 40 - 0.0
    assert excess == pytest.approx((-np.log(np.finfo(float).eps) - exact0) / 2, rel=1e-12)
    assert _mlp_loss._log_loss_clip(z[1:], t[1:], None, softmax=True) == 0.0
    logits = np.array([[-50.0], [50.0], [3.0]])
    target = np.array([[1.0], [1.0], [0.0]])
    # -50 against 1 is clipped; +50 against 1 costs ~0 either way; 3 is far from the clip
    cap = -np.log(np.finfo(float).eps)
    assert _mlp_loss._log_loss_clip(logits, target, None, softmax=False) == pytest.approx(
        (cap - 50.0) / 3, rel=1e-9)
