"""The shortcuts that make a small partial_fit and predict cheap (fastlin/sklearn/) give
what scikit-learn's own machinery gives, and never skip a check they should not.

- labels: integer targets skip type_of_target; _binarize / _unbinarize must equal
  LabelBinarizer.transform / inverse_transform exactly;
- parameters: re-validated unless every value is the same immutable object as at the last check;
- random_state: a fresh generator per call, as scikit-learn makes, created only when drawn from;
- the first partial_fit's shuffle cache: rebuilt after unpickling, never carried in the pickle.
"""
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkClassifier
from sklearn.neural_network import MLPRegressor as SkRegressor
from sklearn.preprocessing import LabelBinarizer

from fastlin import sklearn as fls
from fastlin.sklearn import _labels


@pytest.mark.parametrize("classes", [[0, 1], [3, 7, 9], [-2, 0, 5, 6, 11], [False, True]])
def test_binarize_and_unbinarize_equal_label_binarizer(classes):
    rng = np.random.default_rng(len(classes))
    lb = LabelBinarizer().fit(np.array(classes))
    y = np.array(classes)[rng.integers(0, len(classes), 200)]
    np.testing.assert_array_equal(_labels._binarize(lb, y), lb.transform(y).astype(bool))
    if len(classes) == 2:
        p = rng.random(200)
        p[:5] = 0.5  # the threshold itself goes to the negative class in both
    else:
        p = rng.random((200, len(classes)))
        p[:5] = 0.25  # ties: the first maximum in both
    got, want = _labels._unbinarize(lb, p), lb.inverse_transform(p)
    np.testing.assert_array_equal(got, want)
    assert got.dtype == want.dtype


def test_plain_labels_only_for_integer_targets_of_an_integer_binarizer():
    lb = LabelBinarizer().fit(np.array([0, 1, 2]))
    assert _labels._plain_labels(lb, np.array([0, 2, 1]))
    assert not _labels._plain_labels(lb, np.array([0.0, 2.0]))          # floats: inspected
    assert not _labels._plain_labels(lb, [0, 2, 1])                      # lists: inspected
    assert not _labels._plain_labels(lb, np.array([[0], [1]]))           # 2-D: inspected
    assert not _labels._plain_labels(LabelBinarizer().fit(np.array(["a", "b"])), np.array([0, 1]))
    multilabel = LabelBinarizer().fit(np.array([[0, 1], [1, 1]]))
    assert not _labels._plain_labels(multilabel, np.array([0, 1]))


@pytest.mark.parametrize("n_classes", [2, 3])
def test_partial_fit_matches_scikit_learn_call_after_call(n_classes):
    rng = np.random.default_rng(n_classes)
    X = rng.standard_normal((150, 6))
    y = rng.integers(0, n_classes, 150) * 3 + 1   # classes 1, 4 (, 7)
    classes = np.unique(y)
    ours = fls.MLPClassifier(hidden_layer_sizes=(8,), random_state=3, batch_size=16,
                             dtype="float64")
    theirs = SkClassifier(hidden_layer_sizes=(8,), random_state=3, batch_size=16)
    for i in range(5):
        ours.partial_fit(X, y, classes=classes if i == 0 else None)
        theirs.partial_fit(X, y, classes=classes if i == 0 else None)
        for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))


def test_regressor_partial_fit_and_fit_draw_as_scikit_learn_does():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((120, 5)), rng.standard_normal(120)
    ours = fls.MLPRegressor(hidden_layer_sizes=(7,), random_state=5, batch_size=10,
                            dtype="float64")
    theirs = SkRegressor(hidden_layer_sizes=(7,), random_state=5, batch_size=10)
    for _ in range(3):
        ours.partial_fit(X, y)
        theirs.partial_fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours.set_params(max_iter=3).fit(X, y)   # a fit's several epochs share one generator
        theirs.set_params(max_iter=3).fit(X, y)
    for a, b in zip(ours.coefs_, theirs.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_an_unseen_class_is_still_refused():
    X = np.random.default_rng(0).standard_normal((20, 3))
    clf = fls.MLPClassifier(hidden_layer_sizes=(4,), random_state=0)
    clf.partial_fit(X, np.arange(20) % 2, classes=[0, 1])
    with pytest.raises(ValueError, match="classes not in `self.classes_`"):
        clf.partial_fit(X, np.arange(20) % 3)


def test_a_changed_parameter_is_checked_again():
    X = np.random.default_rng(0).standard_normal((20, 3))
    y = np.arange(20) % 2
    clf = fls.MLPClassifier(hidden_layer_sizes=(4,), random_state=0)
    clf.partial_fit(X, y, classes=[0, 1])
    clf.partial_fit(X, y)
    clf.learning_rate_init = -1.0
    with pytest.raises(ValueError, match="learning_rate_init"):
        clf.partial_fit(X, y)
    clf.set_params(learning_rate_init=0.001, alpha=-3.0)
    with pytest.raises(ValueError, match="alpha"):
        clf.partial_fit(X, y)


def test_a_mutable_parameter_is_checked_every_call():
    X = np.random.default_rng(0).standard_normal((20, 3))
    y = np.arange(20) % 2
    clf = fls.MLPClassifier(hidden_layer_sizes=[4], random_state=0)
    clf.partial_fit(X, y, classes=[0, 1])
    clf.partial_fit(X, y)
    assert clf.__dict__.get("_checked_parameters") is None
    clf.hidden_layer_sizes[0] = -4
    with pytest.raises(ValueError):
        clf.partial_fit(X, y)


def test_string_labels_take_the_general_path_and_still_work():
    X = np.random.default_rng(0).standard_normal((30, 3))
    y = np.array(["cat", "dog", "eel"])[np.arange(30) % 3]
    clf = fls.MLPClassifier(hidden_layer_sizes=(4,), random_state=0)
    clf.partial_fit(X, y, classes=["cat", "dog", "eel"])
    clf.partial_fit(X, y)
    assert set(clf.predict(X)) <= {"cat", "dog", "eel"}


def test_a_pickle_does_not_carry_the_partial_fit_shuffle_cache():
    """_first_shuffle caches a permutation of the last partial_fit's rows (8 bytes a row): it
    made a 4-unit classifier's pickle 1.6 MB after one partial_fit on 200 000 rows. It is
    dropped from the pickle and rebuilt, so the unpickled copy still shuffles as
    scikit-learn's does."""
    import pickle

    import numpy as np
    from sklearn.neural_network import MLPClassifier as SkClassifier

    from fastlin import sklearn as fls
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5000, 3))
    y = rng.integers(0, 2, 5000)
    ours = fls.MLPClassifier(hidden_layer_sizes=(4,), random_state=2, batch_size=50,
                             dtype="float64")
    theirs = SkClassifier(hidden_layer_sizes=(4,), random_state=2, batch_size=50)
    ours.partial_fit(X[:50], y[:50], classes=[0, 1])
    theirs.partial_fit(X[:50], y[:50], classes=[0, 1])
    before = len(pickle.dumps(ours))
    ours.partial_fit(X, y)
    theirs.partial_fit(X, y)
    assert "_first_shuffle_cache" in ours.__dict__   # the cache was used...
    grown = len(pickle.dumps(ours)) - before
    assert grown < 8 * 1000, grown                  # ...but does not travel (40 000 bytes)
    ours = pickle.loads(pickle.dumps(ours))
    ours.partial_fit(X, y)
    theirs.partial_fit(X, y)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
