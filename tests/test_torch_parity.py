"""Losses and optimizers against PyTorch itself, where PyTorch is installed (it is never a
dependency; CI skips this file). The contract says they follow torch exactly."""
import numpy as np
import pytest
from numpy.testing import assert_allclose

torch = pytest.importorskip("torch")
import fastlin  # noqa: E402
from fastlin.backend import get  # noqa: E402

F = torch.nn.functional


@pytest.mark.parametrize("backend", ["cython", "numpy"])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("kind", ["labels", "probs"])
def test_cross_entropy_matches_torch(backend, smoothing, weighted, kind):
    rng = np.random.default_rng(0)
    z = rng.standard_normal((7, 5))
    y = rng.integers(0, 5, 7) if kind == "labels" else rng.dirichlet(np.ones(5), 7)
    cw = rng.uniform(0.5, 2, 5) if weighted else None
    loss, grad = get(backend).softmax_cross_entropy(z, y, class_weight=cw, label_smoothing=smoothing)
    zt = torch.tensor(z, requires_grad=True)
    ref = F.cross_entropy(zt, torch.tensor(y), weight=None if cw is None else torch.tensor(cw),
                          label_smoothing=smoothing)
    ref.backward()
    assert_allclose(loss, ref.item(), rtol=1e-12)
    assert_allclose(grad, zt.grad.numpy(), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("backend", ["cython", "numpy"])
def test_bce_with_pos_weight_matches_torch(backend):
    rng = np.random.default_rng(1)
    z = rng.standard_normal((6, 3)) * 4
    t = rng.uniform(0, 1, (6, 3))
    pw = rng.uniform(0.5, 3, 3)
    loss, grad = get(backend).sigmoid_binary_cross_entropy(z, t, pos_weight=pw)
    zt = torch.tensor(z, requires_grad=True)
    ref = F.binary_cross_entropy_with_logits(zt, torch.tensor(t), pos_weight=torch.tensor(pw))
    ref.backward()
    assert_allclose(loss, ref.item(), rtol=1e-12)
    assert_allclose(grad, zt.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_gaussian_nll_matches_torch_full():
    rng = np.random.default_rng(2)
    mu, y, var = rng.standard_normal((8, 1)), rng.standard_normal((8, 1)), rng.uniform(0.5, 2, (8, 1))
    loss = fastlin.GaussianNLLLoss().forward(mu, y, var=var)
    ref = torch.nn.GaussianNLLLoss(full=True)(torch.tensor(mu), torch.tensor(y), torch.tensor(var))
    assert_allclose(loss, ref.item(), rtol=1e-12)


@pytest.mark.parametrize("make", [
    lambda p, T: (fastlin.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
                  lambda q: T.optim.SGD(q, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    lambda p, T: (fastlin.Adam(p, lr=0.01, weight_decay=0.1),
                  lambda q: T.optim.Adam(q, lr=0.01, weight_decay=0.1)),
    lambda p, T: (fastlin.AdamW(p, lr=0.01, weight_decay=0.1),
                  lambda q: T.optim.AdamW(q, lr=0.01, weight_decay=0.1)),
])
@pytest.mark.parametrize("backend", ["cython", "numpy"])
def test_optimizers_match_torch(make, backend):
    rng = np.random.default_rng(3)
    layer = fastlin.Dense(4, 3, dtype="float64", seed=0)
    layer._set_backend(backend)
    opt, make_torch = make(layer.parameters(), torch)
    opt.backend = get(backend)
    params = [torch.tensor(p.copy(), requires_grad=True) for p in layer.parameters()]
    topt = make_torch(params)
    for _ in range(5):
        grads = [rng.standard_normal(p.shape) for p in layer.parameters()]
        for g_ours, g in zip(layer.gradients(), grads):
            g_ours[...] = g
        for p, g in zip(params, grads):
            p.grad = torch.tensor(g)
        opt.step()
        topt.step()
    for ours, theirs in zip(layer.parameters(), params):
        assert_allclose(ours, theirs.detach().numpy(), rtol=1e-12, atol=1e-14)
