"""GaussianNLLLoss takes var in every shape PyTorch's takes: the output's, one per sample
(the output's shape without its last dimension), or the output's with one dimension of size 1
shared along it. Loss, d loss / d output and d loss / d var (summed over the shared dimension)
are checked against torch (float64, 1e-12) and against central differences. A negative var
is refused as torch refuses it, and an array var weighs the samples as a scalar one does."""
import numpy as np
import pytest

import fastlin

rng = np.random.default_rng(0)
MU = rng.standard_normal((5, 3))
Y = rng.standard_normal((5, 3))
SW = rng.uniform(0.2, 2.0, 5)


@pytest.mark.parametrize("shape", [(5, 3), (5, 1), (5,), (1, 3)])
def test_var_shapes_match_torch(shape):
    torch = pytest.importorskip("torch")
    var = rng.uniform(0.5, 2.0, shape)
    tv = torch.tensor(var, requires_grad=True)
    tm = torch.tensor(MU, requires_grad=True)
    tl = torch.nn.GaussianNLLLoss(full=True)(tm, torch.tensor(Y), tv)
    tl.backward()
    loss = fastlin.GaussianNLLLoss()
    value = loss.forward(MU, Y, var=var)
    grad = loss.backward()
    assert value == pytest.approx(tl.item(), rel=1e-12)
    np.testing.assert_allclose(grad, tm.grad.numpy(), rtol=1e-12, atol=1e-15)
    assert loss.grad_var.shape == var.shape
    np.testing.assert_allclose(loss.grad_var, tv.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("shape", [(5,), (1, 3)])
def test_shared_variance_gradient_by_central_differences(shape):
    var = rng.uniform(0.5, 2.0, shape)
    loss = fastlin.GaussianNLLLoss()
    loss.forward(MU, Y, var=var, sample_weight=SW)
    analytic = loss.grad_var.copy()
    h = 1e-6
    numeric = np.zeros_like(var)
    for i in np.ndindex(var.shape):
        up, down = var.copy(), var.copy()
        up[i] += h
        down[i] -= h
        numeric[i] = (fastlin.GaussianNLLLoss().forward(MU, Y, var=up, sample_weight=SW)
                      - fastlin.GaussianNLLLoss().forward(MU, Y, var=down, sample_weight=SW)) / (2 * h)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("shape", [(3,), (15,), (5, 3, 1), (4, 3), (5, 2)])
def test_other_shapes_are_refused_as_torch_refuses_them(shape):
    with pytest.raises(ValueError, match="var is of incorrect size"):
        fastlin.GaussianNLLLoss().forward(MU, Y, var=np.ones(shape))


def test_gaussian_nll_refuses_a_negative_variance_as_torch_does():
    # a negative var was clamped to eps silently (a loss of ~5e5 for ~1.5); torch raises
    torch = pytest.importorskip("torch")
    mu, y = np.zeros((3, 1)), np.ones((3, 1))
    ref = torch.nn.GaussianNLLLoss(full=True)
    with pytest.raises(ValueError, match="negative"):
        ref(torch.tensor(mu), torch.tensor(y), torch.full((3, 1), -2.0, dtype=torch.float64))
    loss = fastlin.GaussianNLLLoss()
    for bad in (np.full((3, 1), -2.0), -1.0):
        with pytest.raises(ValueError, match="negative"):
            loss.forward(mu, y, var=bad)
    with pytest.raises(ValueError, match="negative"):
        fastlin.GaussianNLLLoss(var=-1.0)
    with pytest.raises(ValueError, match="finite"):
        loss.forward(mu, y, var=np.full((3, 1), np.nan))
    with pytest.raises(ValueError, match="var is of incorrect size"):
        loss.forward(mu, y, var=np.full((2, 1), 2.0))
    # zero is clamped to eps, as in torch (fastlin includes the ½ log 2π constant: full=True)
    var0 = torch.zeros((3, 1), dtype=torch.float64)
    assert loss.forward(mu, y, var=0.0) == pytest.approx(
        float(ref(torch.tensor(mu), torch.tensor(y), var0)), rel=1e-12)


def test_gaussian_nll_with_an_array_variance_weighs_the_samples():
    # with an array var, sample_weight was ignored (the plain mean came back); with a scalar
    # var it was honoured: a constant array must give what the scalar gives
    rng = np.random.default_rng(0)
    out, target = rng.normal(size=(5, 2)), rng.normal(size=(5, 2))
    sw = np.array([1.0, 0.0, 2.0, 0.5, 0.0])
    loss = fastlin.GaussianNLLLoss()
    scalar = loss.forward(out, target, var=2.0, sample_weight=sw)
    grad_scalar = loss.backward().copy()
    array = loss.forward(out, target, var=np.full((5, 2), 2.0), sample_weight=sw)
    np.testing.assert_allclose(array, scalar, rtol=1e-13)
    np.testing.assert_allclose(loss.backward(), grad_scalar, rtol=1e-13, atol=1e-16)
    # closed form, per-element variances
    var = rng.uniform(0.5, 3.0, size=(5, 2))
    terms = 0.5 * np.log(2 * np.pi * var) + (out - target) ** 2 / (2 * var)
    expected = np.sum(sw[:, None] * terms) / (sw.sum() * 2)
    assert loss.forward(out, target, var=var, sample_weight=sw) == pytest.approx(expected, rel=1e-13)
    # its gradients against central differences in float64
    grad = loss.backward().copy()
    grad_var = loss.grad_var.copy()
    h = 1e-6
    for (i, j) in [(0, 0), (2, 1), (3, 0), (1, 1)]:
        for arr, analytic in ((out, grad), (var, grad_var)):
            up, down = arr.copy(), arr.copy()
            up[i, j] += h
            down[i, j] -= h
            args_up = (up, target, var) if arr is out else (out, target, up)
            args_down = (down, target, var) if arr is out else (out, target, down)
            numeric = (loss.forward(args_up[0], args_up[1], var=args_up[2], sample_weight=sw)
                       - loss.forward(args_down[0], args_down[1], var=args_down[2],
                                      sample_weight=sw)) / (2 * h)
            assert analytic[i, j] == pytest.approx(numeric, rel=1e-6, abs=1e-10)
    with pytest.raises(ValueError, match="sample_weight"):
        loss.forward(out, target, var=var, sample_weight=np.zeros(5))
