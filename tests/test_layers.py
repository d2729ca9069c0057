"""Layers on their own (fastlin/layers.py): Dense without bias."""
import numpy as np
import pytest


def test_bias_free_dense_refuses_a_bias():
    """Assigning b to Dense(bias=False) stored it verbatim: predict added it, but fit never
    trained it and save never wrote it, so the loaded model predicted something else (and a
    list made predict fail inside the kernel)."""
    import fastlin
    dense = fastlin.Dense(3, 2, bias=False, seed=0)
    model = fastlin.Sequential(dense, dtype="float64")
    X = np.ones((2, 3))
    before = model.predict(X)
    for value in (np.array([5.0, 5.0]), [5.0, 5.0]):
        with pytest.raises(ValueError, match="no b to assign"):
            dense.b = value
    dense.b = None  # nothing to remove: allowed
    np.testing.assert_array_equal(model.predict(X), before)
    assert len(model.parameters()) == 1
