"""RMSprop and Adagrad: torch.optim's arithmetic (against torch itself over many steps), the
compiled kernel against its NumPy twin, the argument checks, state_dict and checkpoints, and
fit's compiled epoch loop bitwise equal to its Python loop."""
import pickle

import numpy as np
import pytest

import fastlin
from fastlin import MLP, Adagrad, RMSprop, SoftmaxCrossEntropyLoss
from fastlin import backend as B
from fastlin._kernels import optim as raw
from fastlin.optim import OPTIMIZERS

torch = pytest.importorskip("torch")

CONFIGS = [
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.003, "alpha": 0.9, "eps": 1e-6, "weight_decay": 0.01}),
    ("RMSprop", {"momentum": 0.9}),
    ("RMSprop", {"centered": True}),
    ("RMSprop", {"momentum": 0.5, "centered": True, "weight_decay": 0.1}),
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.05,
                 "initial_accumulator_value": 0.1, "eps": 1e-6}),
]


@pytest.mark.parametrize("backend", ["cython", "numpy"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kw", CONFIGS)
def test_equal_to_torch_over_many_steps(name, kw, dtype, backend):
    rng = np.random.default_rng(0)
    p = rng.standard_normal((40, 7)).astype(dtype)
    b = rng.standard_normal(7).astype(dtype)
    gp, gb = np.zeros_like(p), np.zeros_like(b)
    opt = getattr(fastlin, name)([(p, gp), (b, gb)], backend=backend, **kw)
    tp = torch.tensor(p.copy(), requires_grad=True)
    tb = torch.tensor(b.copy(), requires_grad=True)
    topt = getattr(torch.optim, name)([tp, tb], **kw)
    for _ in range(300):
        for g, t in ((gp, tp), (gb, tb)):
            g[...] = rng.standard_normal(g.shape)
            t.grad = torch.tensor(g.copy())
        opt.step()
        topt.step()
    tol = dict(rtol=2e-5, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(p, tp.detach().numpy(), **tol)
    np.testing.assert_allclose(b, tb.detach().numpy(), **tol)
    assert opt.step_count == 300


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_kernels_equal_their_numpy_twins(dtype, n_threads):
    rng = np.random.default_rng(1)
    n = 70_000  # more than one chunk, so two threads split it
    grads = [rng.standard_normal(n).astype(dtype) for _ in range(5)]
    start = rng.standard_normal(n).astype(dtype)
    states = {}
    for backend in ("cython", "numpy"):
        K = B.get(backend)
        p, q = start.copy(), start.copy()
        sq, buf, gavg = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p)
        s = np.full_like(q, 0.1)
        for step, g in enumerate(grads, 1):
            K.rmsprop_update(p, g, sq, buf, gavg, lr=0.01, alpha=0.9, eps=1e-6,
                             weight_decay=0.01, momentum=0.9, n_threads=n_threads)
            K.adagrad_update(q, g, s, step, lr=0.1, lr_decay=0.01, weight_decay=0.01,
                             n_threads=n_threads)
        states[backend] = (p, sq, buf, gavg, q, s)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)
    for a, b in zip(states["cython"], states["numpy"]):
        np.testing.assert_allclose(a, b, **tol)


@pytest.mark.parametrize("backend", ["cython", "numpy"])
def test_bad_arguments_are_refused_with_their_names(backend):
    K = B.get(backend)
    p, g = np.zeros(10), np.ones(10)
    with pytest.raises(ValueError, match="alpha"):
        K.rmsprop_update(p, g, np.zeros(10), alpha=-1.0)
    with pytest.raises(ValueError, match="momentum_buffer"):
        K.rmsprop_update(p, g, np.zeros(10), momentum=0.9)
    with pytest.raises(ValueError, match="square_avg has 9"):
        K.rmsprop_update(p, g, np.zeros(9))
    with pytest.raises(ValueError, match="grad_avg must not overlap square_avg"):
        sq = np.zeros(10)
        K.rmsprop_update(p, g, sq, grad_avg=sq)
    with pytest.raises(ValueError, match="grad must not overlap param"):
        K.adagrad_update(p, p, np.zeros(10), 1)
    with pytest.raises(ValueError, match="step"):
        K.adagrad_update(p, g, np.zeros(10), 0)
    with pytest.raises(ValueError, match="lr_decay"):
        K.adagrad_update(p, g, np.zeros(10), 1, lr_decay=-0.1)
    with pytest.raises(TypeError, match="state_sum"):
        K.adagrad_update(p, g, np.zeros(10, np.float32), 1)


def test_raw_kernels_refuse_overlap_and_short_buffers():
    base = np.zeros(40)
    p, g, e = base[:10], np.ones(10), np.empty(0)
    with pytest.raises(ValueError, match="must not overlap"):
        raw.rmsprop_update(p, g, base[5:15], e, e, 0.1, 0.9, 1e-8, 0.0, 0.0, 1)
    with pytest.raises(ValueError, match="must not overlap"):
        raw.rmsprop_update(p, g, base[10:20], base[15:25], e, 0.1, 0.9, 1e-8, 0.0, 0.5, 1)
    with pytest.raises(ValueError, match="grad_avg must have the size"):
        raw.rmsprop_update(p, g, base[10:20], e, base[20:25], 0.1, 0.9, 1e-8, 0.0, 0.0, 1)
    with pytest.raises(ValueError, match="momentum_buffer"):
        raw.rmsprop_update(p, g, base[10:20], e, e, 0.1, 0.9, 1e-8, 0.0, 0.5, 1)
    with pytest.raises(ValueError, match="must not overlap"):
        raw.adagrad_update(p, g, base[9:19], 0.1, 0.0, 1e-10, 0.0, 1, 1)
    with pytest.raises(ValueError, match="same size"):
        raw.adagrad_update(p, g, base[10:19], 0.1, 0.0, 1e-10, 0.0, 1, 1)


def test_hyperparameters_are_checked_as_torch_does():
    params = [(np.zeros(3), np.zeros(3))]
    with pytest.raises(ValueError, match="alpha"):
        RMSprop(params, alpha=-0.1)
    with pytest.raises(ValueError, match="eps"):
        RMSprop(params, eps=-1.0)
    with pytest.raises(ValueError, match="initial_accumulator_value"):
        Adagrad(params, initial_accumulator_value=-1.0)
    with pytest.raises(TypeError, match="lr"):
        Adagrad(params, lr="fast")
    opt = RMSprop(params)
    opt.momentum = 0.9
    with pytest.raises(ValueError, match="momentum buffer"):
        opt.step()


def test_defaults_names_and_state_dict_round_trip():
    pair = [(np.zeros(2), np.zeros(2))]
    assert RMSprop(pair).get_config() == {
        "lr": 0.01, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0, "momentum": 0.0,
        "centered": False}
    assert Adagrad(pair).get_config() == {
        "lr": 0.01, "lr_decay": 0.0, "weight_decay": 0.0, "initial_accumulator_value": 0.0,
        "eps": 1e-10}
    assert OPTIMIZERS["rmsprop"] is RMSprop and OPTIMIZERS["adagrad"] is Adagrad
    assert fastlin.optim.RMSprop is RMSprop and fastlin.optim.Adagrad is Adagrad
    for make in (lambda m: RMSprop(m.parameters(), momentum=0.9, centered=True),
                 lambda m: Adagrad(m.parameters(), lr_decay=0.1)):
        X, y = _data()
        a = MLP([5, 8, 3], seed=0)
        opt_a = make(a)
        a.fit(X, y, optimizer=opt_a, epochs=1, seed=0)
        b = MLP([5, 8, 3], seed=0)
        opt_b = make(b)
        for p, q in zip(b.parameters(), a.parameters()):
            p[...] = q
        opt_b.load_state_dict(opt_a.state_dict())
        a.fit(X, y, optimizer=opt_a, epochs=2, seed=1)
        b.fit(X, y, optimizer=opt_b, epochs=2, seed=1)
        _same(a, b)
        c, opt_c = pickle.loads(pickle.dumps((a, opt_a)))
        a.fit(X, y, optimizer=opt_a, epochs=1, seed=2)
        c.fit(X, y, optimizer=opt_c, epochs=1, seed=2)
        _same(a, c)
    with pytest.raises(ValueError, match="RMSprop state_dict"):
        RMSprop(pair).load_state_dict(Adagrad(pair).state_dict())


class PythonLoopCE(SoftmaxCrossEntropyLoss):
    """A type the compiled loop does not take: fit runs its Python loop."""


def _data(n=203, d=5, k=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    return X, np.argmax(X[:, :k], axis=1)


def _same(a, b):
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,kw", CONFIGS)
def test_compiled_loop_equals_python_loop_bitwise(name, kw, dtype, monkeypatch):
    from fastlin.training.compiled import CompiledLoop
    calls = []
    real = CompiledLoop.run
    monkeypatch.setattr(CompiledLoop, "run", lambda loop, *a: calls.append(1) or real(loop, *a))
    X, y = _data()
    X = X.astype(dtype)
    models = []
    for loss in (SoftmaxCrossEntropyLoss(), PythonLoopCE()):
        model = MLP([5, 16, 8, 3], dtype=dtype, seed=0)
        model.fit(X, y, loss=loss, optimizer=getattr(fastlin, name)(model.parameters(), **kw),
                  epochs=3, batch_size=16, seed=0)
        models.append(model)
        if not isinstance(loss, PythonLoopCE):
            assert calls, "the compiled loop did not run"
    _same(*models)


@pytest.mark.parametrize("name", ["rmsprop", "adagrad"])
def test_fit_by_name_continues_the_optimizer(name):
    X, y = _data()
    model = MLP([5, 8, 3], seed=0)
    model.fit(X, y, optimizer=name, epochs=1)
    opt = model.optimizer
    assert type(opt) is OPTIMIZERS[name]
    model.fit(X, y, optimizer=name, epochs=1, lr=0.02)
    assert model.optimizer is opt and opt.lr == 0.02 and opt.step_count == 2 * 7


@pytest.mark.parametrize("make", [lambda p: RMSprop(p, momentum=0.9, centered=True),
                                  lambda p: RMSprop(p), lambda p: Adagrad(p, lr_decay=0.1)])
def test_checkpoint_resumes_bitwise(make, tmp_path):
    X, y = _data()
    model = MLP([5, 8, 3], seed=0)
    opt = make(model.parameters())
    model.fit(X, y, optimizer=opt, epochs=1, seed=0)
    model.save(tmp_path / "ck.npz", optimizer=opt)
    loaded, opt2 = fastlin.load_checkpoint(tmp_path / "ck.npz")
    assert type(opt2) is type(opt) and opt2.get_config() == opt.get_config()
    model.fit(X, y, optimizer=opt, epochs=2)
    loaded.fit(X, y, optimizer=opt2, epochs=2)
    _same(model, loaded)
