"""Small real data sets shipped inside the package (nothing is downloaded)."""
from importlib import resources

import numpy as np


def load_digits(dtype="float32"):
    """The UCI optical handwritten digits: X of shape (1797, 64) scaled to [0, 1], y in 0..9.

    See fastlin/data/README.txt for the source and license (CC BY 4.0)."""
    with resources.files(__name__).joinpath("digits.npz").open("rb") as f:
        with np.load(f, allow_pickle=False) as data:
            images, target = data["images"], data["target"]
    X = images.astype(dtype) / np.asarray(16, dtype)
    return X, target.astype(np.int64)


def train_test_split(X, y, test_fraction=0.25, seed=0):
    """Shuffle with `seed` and hold out the last `test_fraction` of the samples.

    Returns X_train, X_test, y_train, y_test."""
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} samples but y has {len(y)}")
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, (int, float, np.number)) \
            or not 0.0 <= test_fraction <= 1.0:
        # (a negative fraction sliced the permutation from its end: train and test swapped)
        raise ValueError(f"test_fraction must be a number in [0, 1], got {test_fraction!r}")
    order = np.random.default_rng(seed).permutation(len(X))
    n_test = int(round(len(X) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    return X[train], X[test], y[train], y[test]
