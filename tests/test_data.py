"""fastlin.data: train_test_split's split and the checks of its arguments."""
import numpy as np
import pytest


def test_data_train_test_split_checks_its_arguments():
    from fastlin.data import train_test_split
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_fraction=0.3, seed=1)
    assert len(X_te) == len(y_te) == 3 and len(X_tr) == len(y_tr) == 7
    assert sorted(np.r_[y_tr, y_te]) == list(range(10))
    np.testing.assert_array_equal(X_tr[:, 0] / 2, y_tr)
    # -0.3 held out 7 samples and trained on 3, silently; 1.5 trained on none
    for bad in (-0.3, 1.5, float("nan"), "0.2"):
        with pytest.raises(ValueError, match="test_fraction"):
            train_test_split(X, y, test_fraction=bad)
    with pytest.raises(ValueError, match="samples"):
        train_test_split(X, y[:5])
