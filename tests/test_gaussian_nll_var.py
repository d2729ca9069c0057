"""GaussianNLLLoss takes var in every shape PyTorch's takes: the output's, one per sample
(the output's shape without its last dimension), or the output's with one dimension of size 1
shared along it. Loss, d loss / d output and d loss / d var (summed over the shared dimension)
are checked against torch (float64, 1e-12) and against central differences."""
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
