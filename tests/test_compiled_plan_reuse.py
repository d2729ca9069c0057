"""A model keeps its compiled training plan from one fit call to the next
(fastlin/training/compiled.py): reused only while everything it was built from is the same,
rebound to each call's data, never keeping that data alive, never pickled. Each case is
checked against the same fits with the plan built afresh every call (bitwise: the same kernels
in the same order)."""
import copy
import gc
import pickle
import weakref

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import fastlin
from fastlin import MLP, SGD, Adam, BCEWithLogitsLoss, SoftmaxCrossEntropyLoss


def _data(rng, n=96, d=6, k=3):
    X = rng.standard_normal((n, d)).astype(np.float32)
    y = (X[:, :k].argmax(1) + (X[:, -1] > 1)) % k
    return X, y


def _net():
    return MLP([6, 9, 3], activation="relu", seed=4, dtype="float32")


def _fits(calls, fresh):
    """Run ``calls`` (each a function of the model) on a new model; with fresh, the kept plan
    is dropped before every call. Returns the model."""
    net = _net()
    for call in calls:
        if fresh:
            net.__dict__.pop("_compiled_loop", None)
        call(net)
    return net


def _same_training(calls):
    kept, fresh = _fits(calls, False), _fits(calls, True)
    for p, q in zip(kept.parameters(), fresh.parameters()):
        assert_array_equal(p, q)
    return kept


def test_a_second_fit_reuses_the_plan_and_trains_as_a_fresh_one(rng):
    X, y = _data(rng)
    X2, y2 = _data(rng, n=37)  # another data set, another length
    seen = []

    def call(data):
        def run(net):
            if not hasattr(net, "_opt"):
                net._opt = Adam(net.parameters(), lr=0.01)
            # a new loss object each call, as a loss named by a string is
            net.fit(*data, loss=SoftmaxCrossEntropyLoss(), optimizer=net._opt, epochs=2,
                    batch_size=16, seed=1)
            seen.append(net.__dict__.get("_compiled_loop"))
        return run

    _same_training([call((X, y)), call((X2, y2)), call((X, y))])
    kept_loops = seen[:3]
    assert kept_loops[0] is not None and kept_loops[0] is kept_loops[1] is kept_loops[2]


def test_the_plan_is_built_again_when_what_it_was_built_from_changes(rng):
    X, y = _data(rng)
    Xb = X[:, :1].copy()
    yb = (Xb[:, 0] > 0).astype(np.float32).reshape(-1, 1)

    def fit(net, **kw):
        opt = kw.pop("optimizer", None) or net.__dict__.setdefault(
            "_opt", SGD(net.parameters(), lr=0.05, momentum=0.9))
        net.fit(X, y, loss=SoftmaxCrossEntropyLoss(**kw.pop("loss_kw", {})), optimizer=opt,
                epochs=1, batch_size=kw.pop("batch_size", 16), seed=2, **kw)

    def new_weights(net):
        dense = net.layers[0]
        dense.W = dense.W * 0.5  # assigned in place: the plan sees the new values
        fit(net)

    def new_optimizer(net):
        net._opt = SGD(net.parameters(), lr=0.02)
        fit(net)

    def weight_decay(net):
        net._opt.weight_decay = 0.1
        fit(net)

    def threads(net):
        fastlin.set_num_threads(1)
        try:
            fit(net)
        finally:
            fastlin.set_num_threads(None)

    calls = [fit, new_weights, fit, new_optimizer, weight_decay,
             lambda net: fit(net, batch_size=10),
             lambda net: fit(net, loss_kw={"label_smoothing": 0.1}), threads, fit]
    _same_training(calls)
    # a one-output linear model too (its one-pass kernel), targets and losses changing kind
    lin = fastlin.Sequential(fastlin.Dense(1, 1), seed=0, dtype="float32")
    opt = SGD(lin.parameters(), lr=0.1)
    for loss in (BCEWithLogitsLoss(), fastlin.MSELoss(), BCEWithLogitsLoss(pos_weight=2.0)):
        lin.fit(Xb, yb, loss=loss, optimizer=opt, epochs=1, batch_size=8, shuffle=False)
        assert lin.__dict__["_compiled_loop"].loss is loss
    # a pos_weight array the caller changes after a fit, then asks for its old values again
    # with a new loss: the kept plan reads its own copy, not the caller's array
    for dtype in ("float32", "float64"):
        def two_fits(fresh):
            net = fastlin.Sequential(fastlin.Dense(1, 1), seed=0, dtype=dtype)
            opt = SGD(net.parameters(), lr=0.1)
            pw = np.array([2.0], dtype)
            for weight in (pw, np.array([2.0], dtype)):
                if fresh:
                    net.__dict__.pop("_compiled_loop", None)
                net.fit(Xb.astype(dtype), yb.astype(dtype),
                        loss=BCEWithLogitsLoss(pos_weight=weight), optimizer=opt, epochs=1,
                        batch_size=8)
                pw[0] = 50.0
            return net.layers[0].W.copy()
        assert_array_equal(two_fits(False), two_fits(True))
    # the optimizer's state arrays: a new SGD with momentum has its own velocity; a new one
    # without state reuses the plan, with its own learning rate and step count
    calls = [fit, lambda net: fit(net, optimizer=SGD(net.parameters(), lr=0.05, momentum=0.9)),
             fit, lambda net: fit(net, optimizer=SGD(net.parameters(), lr=0.05)),
             lambda net: fit(net, optimizer=SGD(net.parameters(), lr=0.02))]
    _same_training(calls)


def test_a_fit_inside_a_fits_callback_trains_on_its_own_plan(rng):
    X, y = _data(rng)
    X2, y2 = _data(rng, n=40)

    class Nested(fastlin.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.fit(X2, y2, loss=SoftmaxCrossEntropyLoss(), optimizer="sgd", epochs=1,
                           batch_size=16, seed=epoch)

    def call(net):
        net.fit(X, y, loss=SoftmaxCrossEntropyLoss(), optimizer="sgd", epochs=3, batch_size=16,
                seed=5, callbacks=[Nested()])
    _same_training([call, call])


def test_a_fit_interrupted_before_its_first_epoch_lets_the_data_go(rng, monkeypatch):
    """A KeyboardInterrupt (a second Ctrl-C) after the plan took the data, before training."""
    from fastlin.training import loop as loop_module
    X, y = _data(rng)
    net = _net()

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(loop_module, "EpochStart", interrupted)
    with pytest.raises(KeyboardInterrupt):
        net.fit(X, y, loss=SoftmaxCrossEntropyLoss(), epochs=1, batch_size=16)
    kept = net.__dict__["_compiled_loop"]
    assert not kept.in_use
    ref = weakref.ref(X)
    del X
    gc.collect()
    assert ref() is None


def test_fit_keeps_none_of_the_callers_data(rng):
    X, y = _data(rng)
    w = rng.uniform(0.5, 1.5, len(y)).astype(np.float32)
    net = _net()
    net.fit(X, y, loss=SoftmaxCrossEntropyLoss(), epochs=1, batch_size=16, sample_weight=w)
    assert net.__dict__.get("_compiled_loop") is not None
    refs = [weakref.ref(a) for a in (X, w)]
    del X, w
    gc.collect()
    assert all(r() is None for r in refs)
    with pytest.raises(ValueError, match="holds no data"):
        net._compiled_loop.plan.run(np.empty(0, np.int64), 0, 1, 0, 0.01)


def test_pickled_and_copied_models_leave_the_plan_behind(rng):
    X, y = _data(rng)
    net = _net()
    opt = Adam(net.parameters(), lr=0.01)
    net.fit(X, y, loss=SoftmaxCrossEntropyLoss(), optimizer=opt, epochs=1, batch_size=16)
    for twin in (pickle.loads(pickle.dumps(net)), copy.deepcopy(net)):
        assert "_compiled_loop" not in twin.__dict__
        twin.fit(X, y, loss=SoftmaxCrossEntropyLoss(), epochs=1, batch_size=16, seed=0)
        assert twin.__dict__["_compiled_loop"] is not net.__dict__["_compiled_loop"]


def test_bind_data_checks_the_data_and_holds_none_after_a_refusal(tiny_plan_parts):
    from fastlin._kernels._codes import LossKind, PlanStatus
    from fastlin._kernels.train import TrainPlan
    X, T, layer, settings = tiny_plan_parts
    f = np.float32
    X = X + 1
    plan = TrainPlan(X, [layer], batch=4, loss_kind=LossKind.MSE, target=T, **settings)
    order = np.arange(10, dtype=np.int64)
    refusals = [
        ((np.ones((10, 4), f),), dict(target=T), "features"),
        ((X,), dict(target=np.zeros((9, 2), f)), "length"),
        ((X,), dict(target=np.zeros((10, 3), f)), "column"),
        ((X,), {}, "column"),  # MSE needs a target
        ((X,), dict(target=T, sample_weight=np.ones(3, f)), "weights"),
        ((X.astype(np.float64),), dict(target=T), "float32"),
        ((settings["batch_X"],), dict(target=T[:4]), "share memory"),  # a buffer it writes
        ((np.ones((10, 3), f)[:, ::-1],), dict(target=T), "contiguous"),
    ]
    for args, kw, match in refusals:
        with pytest.raises(ValueError, match=match):
            plan.bind_data(*args, **kw)
        with pytest.raises(ValueError, match="holds no data"):
            plan.run(order, 0, 1, 0, 0.01)
    X2 = np.ones((6, 3), f)
    plan.bind_data(X2, target=np.zeros((6, 2), f))
    with pytest.raises(ValueError, match="order"):
        plan.run(order, 0, 1, 0, 0.01)  # ten rows' order for six rows
    status, out = plan.run(np.arange(6, dtype=np.int64), 0, 2, 0, 0.01)
    assert status == PlanStatus.OK and out[3] == 2
    plan.release_data()
    with pytest.raises(ValueError, match="holds no data"):
        plan.run(order, 0, 1, 0, 0.01)
