"""fit's epoch-start snapshot: taken by one TrainPlan call on the compiled loop, restored when
a later epoch's loss or weights turn non-finite."""
import numpy as np
import pytest
from numpy.testing import assert_array_equal

import fastlin


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("compiled", [True, False])
def test_the_snapshot_is_retaken_each_epoch_and_restores_the_latest(dtype, compiled):
    from fastlin.training.compiled import CompiledLoop
    from fastlin.training.snapshot import EpochStart
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 3)).astype(dtype)
    y = rng.integers(0, 4, 64)
    net = fastlin.MLP([3, 8, 5, 4], seed=0, dtype=dtype)
    opt = fastlin.SGD(net.parameters(), lr=0.05)
    plan = CompiledLoop.build(net, fastlin.SoftmaxCrossEntropyLoss(), opt, 16, X, y, None).plan
    start = EpochStart(net, plan if compiled else None)
    initial = [p.copy() for p in net.parameters()]
    for p in net.parameters():          # an epoch of training moves every weight
        p += rng.standard_normal(p.shape).astype(dtype)
    second = [p.copy() for p in net.parameters()]
    start.take()                         # the next epoch begins here
    for p in net.parameters():
        p[...] = np.inf
    start.restore()
    for p, s, s0 in zip(net.parameters(), second, initial):
        assert_array_equal(p, s)
        assert np.any(p != s0)


def test_copy_weights_round_trips_and_checks_its_buffer():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((32, 3)).astype(np.float32)
    y = rng.standard_normal((32, 2)).astype(np.float32)
    net = fastlin.Sequential(fastlin.Dense(3, 4), fastlin.Tanh(), fastlin.Dense(4, 2, bias=False),
                             seed=0)
    opt = fastlin.SGD(net.parameters(), lr=0.1)
    from fastlin.training.compiled import CompiledLoop
    plan = CompiledLoop.build(net, fastlin.MSELoss(), opt, 8, X, y, None).plan
    assert plan.weight_bytes == 4 * (3 * 4 + 4 + 4 * 2)
    saved = np.empty(plan.weight_bytes, np.uint8)
    plan.copy_weights(saved, False)
    before = [p.copy() for p in net.parameters()]
    for p in net.parameters():
        p[...] = 7.0
    plan.copy_weights(saved, True)
    for p, s in zip(net.parameters(), before):
        assert_array_equal(p, s)
    with pytest.raises(ValueError, match="saved must have 96 bytes"):
        plan.copy_weights(np.empty(95, np.uint8), False)
    with pytest.raises(TypeError):
        plan.copy_weights(None, False)
