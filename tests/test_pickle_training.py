"""A model and its optimizer pickled together (a Dask task, a joblib job, pickle.dumps) keep
training bitwise as if they had never left the process."""
import pickle

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from fastlin import MLP, SGD, Adam, AdamW


def _data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 6))
    return X, (X[:, 0] - X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1)


def _optimizer(kind, model):
    if kind == "sgd":
        return SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3)
    if kind == "adam":
        return Adam(model.parameters(), lr=0.01, weight_decay=1e-3)
    return AdamW(model.parameters(), lr=0.01)


def _read_only_roundtrip(obj):
    # protocol 5 with out-of-band buffers handed back as bytes: every array comes back
    # read-only, as joblib's memmaps do
    buffers = []
    data = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
    return pickle.loads(data, buffers=[bytes(b.raw()) for b in buffers])


def _roundtrip(obj):
    return pickle.loads(pickle.dumps(obj))


@pytest.mark.parametrize("roundtrip", [_roundtrip, _read_only_roundtrip])
@pytest.mark.parametrize("kind", ["sgd", "adam", "adamw"])
@pytest.mark.parametrize("backend", ["cython", "numpy"])
def test_training_continues_bitwise_after_pickling_model_and_optimizer(kind, backend, roundtrip):
    X, y = _data()
    straight = MLP([6, 8, 3], dtype="float64", seed=1, backend=backend)
    opt = _optimizer(kind, straight)
    straight.fit(X, y, optimizer=opt, epochs=2, batch_size=16, seed=3)
    straight.fit(X, y, optimizer=opt, epochs=2, batch_size=16, seed=4)

    moved = MLP([6, 8, 3], dtype="float64", seed=1, backend=backend)
    opt2 = _optimizer(kind, moved)
    moved.fit(X, y, optimizer=opt2, epochs=2, batch_size=16, seed=3)
    moved, opt2 = roundtrip((moved, opt2))
    for (p, _), q in zip(opt2.param_groups, moved.parameters()):
        assert p is q and p.flags.writeable
    assert opt2.step_count == opt.step_count // 2
    moved.fit(X, y, optimizer=opt2, epochs=2, batch_size=16, seed=4)

    for p, q in zip(straight.parameters(), moved.parameters()):
        assert_array_equal(p, q)
    assert opt2.step_count == opt.step_count
    for a, b in zip(opt.state_arrays(), opt2.state_arrays()):
        assert_array_equal(a, b)


def test_pickled_optimizer_alone_updates_its_own_parameters():
    # without its model the optimizer comes back with its own copies, and steps them
    model = MLP([3, 2], dtype="float64", seed=0)
    opt = Adam(model.parameters(), lr=0.1)
    for g in model.layers[0].gradients():
        g.fill(1.0)
    copy = _roundtrip(opt)
    before = [p.copy() for p, _ in copy.param_groups]
    copy.step()
    for (p, _), b in zip(copy.param_groups, before):
        assert not np.array_equal(p, b)
    for p, (q, _) in zip(model.parameters(), copy.param_groups):
        assert p is not q
