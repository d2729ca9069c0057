"""Optimizers (fastlin/optim): the parameters an optimizer owns, and load_state_dict's checks."""
import numpy as np
import pytest

import fastlin


def test_fit_refuses_an_optimizer_over_another_models_parameters():
    # it "trained" for every epoch with a constant loss: the optimizer stepped the other
    # model's arrays with their (zero) gradients and this model never changed
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), rng.integers(0, 3, 40)
    model, other = fastlin.MLP([3, 5, 3], seed=0), fastlin.MLP([3, 5, 3], seed=1)
    before = [p.copy() for p in model.parameters()]
    with pytest.raises(ValueError, match="not this model's parameters"):
        model.fit(X, y, optimizer=fastlin.Adam(other.parameters(), lr=0.1), epochs=2)
    for p, q in zip(model.parameters(), before):
        np.testing.assert_array_equal(p, q)
    # an optimizer over some of the model's parameters trains those and freezes the rest
    model.fit(X, y, optimizer=fastlin.Adam(model.parameters()[2:], lr=0.1), epochs=2)
    changed = [not np.array_equal(p, q) for p, q in zip(model.parameters(), before)]
    assert changed == [False, False, True, True]


def test_optimizer_load_state_dict_with_a_bad_step_count_changes_nothing():
    # the settings were assigned first and the step count checked last: a bad state left the
    # optimizer with the saved lr but its own moments; a non-numeric count gave int()'s error
    model = fastlin.MLP([3, 2], seed=0)
    saved = fastlin.Adam(model.parameters(), lr=0.1).state_dict()
    opt = fastlin.Adam(model.parameters(), lr=0.5)
    for bad in (-1, 1.5, "x", True):
        with pytest.raises(ValueError, match="invalid step_count"):
            opt.load_state_dict({**saved, "step_count": bad})
        assert opt.lr == 0.5 and opt.step_count == 0
    opt.load_state_dict({**saved, "step_count": np.int64(3)})
    assert opt.lr == 0.1 and opt.step_count == 3
