"""Optimizers (fastlin/optim): torch's update rules by hand, the parameters an optimizer owns,
and load_state_dict's checks."""
import numpy as np
import pytest
from numpy.testing import assert_allclose

import fastlin
from fastlin import SGD, Adam, Dense


def test_optimizers_follow_torch_rules():
    """Hand-computed torch.optim steps on one parameter."""
    d = Dense(1, 1, bias=False)
    d.W = [[1.0]]
    d.dW[...] = 0.5
    opt = SGD([d.W], lr=0.1, momentum=0.9, weight_decay=0.1)
    opt.step()  # g = 0.5 + 0.1*1 = 0.6; buf = 0.6; w = 1 - 0.06
    assert_allclose(d.W, [[0.94]], rtol=1e-6)
    opt.step()  # g = 0.5 + 0.094 = 0.594; buf = 0.9*0.6 + 0.594 = 1.134
    assert_allclose(d.W, [[0.94 - 0.1134]], rtol=1e-6)
    d.W = [[1.0]]
    adam = Adam([d.W], lr=0.1)
    adam.step()  # first Adam step moves by lr * sign(g)
    assert_allclose(d.W, [[0.9]], rtol=1e-6)
    d.W = [[1.0]]
    adamw = fastlin.AdamW([d.W], lr=0.1, weight_decay=0.5)
    adamw.step()  # w = 1 * (1 - 0.05) - 0.1
    assert_allclose(d.W, [[0.85]], rtol=1e-6)


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


def test_defaults_and_keywords_are_torch_optims():
    """SGD's lr defaults to torch's 1e-3 (fit's "sgd" by name keeps Keras's 0.01); torch's
    dampening/maximize (SGD) and amsgrad/maximize (Adam, AdamW) are taken at their defaults and
    any other value is refused with its name."""
    params = Dense(3, 2, seed=0).parameters()
    assert SGD(params).lr == 1e-3 and Adam(params).lr == 1e-3
    SGD(params, lr=0.1, momentum=0.9, dampening=0, weight_decay=1e-4, nesterov=True,
        maximize=False)
    Adam(params, amsgrad=False, maximize=False)
    fastlin.AdamW(params, amsgrad=False)
    for build, name in ((lambda: SGD(params, dampening=0.1), "dampening"),
                        (lambda: SGD(params, maximize=True), "maximize"),
                        (lambda: Adam(params, amsgrad=True), "amsgrad"),
                        (lambda: fastlin.AdamW(params, maximize=True), "maximize")):
        with pytest.raises(ValueError, match=name):
            build()
    model = fastlin.MLP([3, 4, 2], seed=0)
    X = np.random.default_rng(0).standard_normal((16, 3)).astype(np.float32)
    model.fit(X, np.arange(16) % 2, optimizer="sgd", epochs=1)
    assert type(model.optimizer) is SGD and model.optimizer.lr == 0.01
