"""Layers on their own (fastlin/layers.py): parameters as plain arrays, input conversion,
Dense without bias, Dropout's mask and probability."""
import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import fastlin
from fastlin import Abs, Dense, Dropout, PReLU


def test_layer_parameters_are_plain_arrays():
    d = Dense(3, 4, seed=0)
    assert type(d.W) is np.ndarray and d.W.shape == (3, 4) and d.b.shape == (4,)
    assert d.dW.shape == (3, 4) and d.db.shape == (4,)
    W = d.W
    d.W = np.ones((3, 4))
    assert d.W is W and (d.W == 1).all()
    with pytest.raises(ValueError, match="W must have shape"):
        d.W = np.ones((4, 3))
    p = PReLU(num_parameters=4, init=0.1)
    assert p.alpha.shape == (4,) and np.allclose(p.alpha, 0.1) and p.dalpha.shape == (4,)


def test_layers_convert_or_reject_their_input(rng):
    """A layer used on its own accepts float64 or non-contiguous input for a float32 layer
    (converted) and names the problem otherwise; abs keeps the input's sign for backward."""
    d = Dense(3, 2, seed=0)
    x64 = rng.standard_normal((4, 3))
    assert_allclose(d.forward(x64), (x64.astype(np.float32) @ d.W + d.b), rtol=1e-6)
    a = Abs()
    x = np.array([[-1.0, 2.0]])
    a.forward(x)
    assert_array_equal(a.backward(np.ones((1, 2))), [[-1.0, 1.0]])
    with pytest.raises(ValueError, match=r"x must have shape \(n, 3\)"):
        d.forward(np.ones((4, 2)))
    with pytest.raises(TypeError, match="x must hold numbers"):
        d.forward(np.array([["a", "b", "c"]]))
    d.forward(x64)
    with pytest.raises(ValueError, match=r"grad_output must have shape \(4, 2\)"):
        d.backward(np.ones((4, 3)))


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


def test_dropout_mask_twins_agree_and_have_the_right_rate():
    from fastlin._kernels import train
    from fastlin.layers import dropout_mask_reference
    for dtype in (np.float32, np.float64):
        a = np.random.default_rng(0).standard_normal(100_003).astype(dtype)
        for p in (0.0, 0.1, 0.5, 0.9):
            mask, out = np.empty_like(a), np.empty_like(a)
            train.dropout(a, mask, out, 12345, p)
            np.testing.assert_array_equal(mask, dropout_mask_reference(a.size, 12345, p,
                                                                       np.dtype(dtype)))
            np.testing.assert_array_equal(out, a * mask)
            # 100k Bernoulli draws: the kept share within 5 standard deviations of 1 - p
            sd = math.sqrt(p * (1 - p) / a.size)
            assert abs((mask != 0).mean() - (1 - p)) <= 5 * sd + 1e-12


def test_dropout_rejects_bad_probabilities():
    for p in (-0.1, 1.0, 1.5, float("nan")):
        with pytest.raises(ValueError, match="dropout probability"):
            Dropout(p)
    with pytest.raises(TypeError):
        Dropout("half")
