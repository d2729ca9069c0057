"""A model of activation layers alone (no Dense): it takes any input width and returns the same
shape, as torch's nn.Sequential(nn.Sigmoid()) does; forward, backward, predict, evaluate, fit
and save/load all work. The lecture's sigmoid example is one such model."""
import numpy as np
import pytest

import fastlin

LAYERS = {"Sigmoid": (fastlin.Sigmoid, "Sigmoid"), "Tanh": (fastlin.Tanh, "Tanh"),
          "ReLU": (fastlin.ReLU, "ReLU"), "LeakyReLU": (fastlin.LeakyReLU, "LeakyReLU"),
          "PReLU": (fastlin.PReLU, "PReLU"), "Identity": (fastlin.Identity, "Identity")}


def test_lecture_sigmoid_alone_squared_error_stalls_where_cross_entropy_does_not():
    """Logit 5.6, label 0: through a sigmoid, the squared error's gradient is 0.0073 while
    binary cross-entropy's is 0.9963 (closed forms: 2 s (1 - s) s and s, s = sigmoid(5.6))."""
    model = fastlin.Sequential(fastlin.Sigmoid(), dtype="float64")
    p = model.forward(np.array([[5.6]]))
    s = 1.0 / (1.0 + np.exp(-5.6))
    np.testing.assert_allclose(p, [[s]], rtol=1e-15)
    mse = fastlin.MSELoss()
    mse.forward(p, np.array([[0.0]]))
    g_mse = model.backward(mse.backward())
    np.testing.assert_allclose(g_mse, [[2 * s * s * (1 - s)]], rtol=1e-12)
    assert round(float(g_mse[0, 0]), 4) == 0.0073
    bce = fastlin.BCEWithLogitsLoss()
    bce.forward(np.array([[5.6]]), np.array([[0.0]]))
    assert round(float(bce.backward()[0, 0]), 4) == 0.9963


@pytest.mark.parametrize("name", sorted(LAYERS))
@pytest.mark.parametrize("width", [1, 3, 17])
def test_any_width_in_same_shape_out(name, width):
    model = fastlin.Sequential(LAYERS[name][0]())
    X = np.random.default_rng(0).normal(size=(5, width)).astype(np.float32)
    out = model.predict(X)
    assert out.shape == X.shape and out.dtype == np.float32
    np.testing.assert_array_equal(model.forward(X), out)
    g = model.backward(np.ones_like(X))
    assert g.shape == X.shape
    result = model.evaluate(X, np.zeros_like(X), loss="mse")
    np.testing.assert_allclose(result["loss"], np.mean(out.astype(np.float64) ** 2), rtol=1e-6)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_forward_and_backward_equal_torch(name):
    torch = pytest.importorskip("torch")
    cls, torch_name = LAYERS[name]
    X = np.random.default_rng(1).normal(size=(8, 4))
    model = fastlin.Sequential(cls(), dtype="float64")
    t_layer = getattr(torch.nn, torch_name)().double()
    if name == "LeakyReLU":
        t_layer = torch.nn.LeakyReLU(0.01).double()
    if name == "PReLU":
        with torch.no_grad():
            t_layer.weight.fill_(float(model.layers[0].alpha.ravel()[0]))
    xt = torch.tensor(X, requires_grad=True)
    yt = torch.nn.Sequential(t_layer)(xt)
    G = np.random.default_rng(2).normal(size=X.shape)
    yt.backward(torch.tensor(G))
    # float64, elementwise: equal to a few ulps (exp/tanh libraries may differ in the last bit)
    np.testing.assert_allclose(model.forward(X), yt.detach().numpy(), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(model.backward(G), xt.grad.numpy(), rtol=1e-13, atol=1e-15)
    if name == "PReLU":
        np.testing.assert_allclose(model.layers[0].dalpha.ravel(),
                                   t_layer.weight.grad.numpy().ravel(), rtol=1e-12)


def test_prelu_alone_learns_the_absolute_value_and_survives_save_and_load(tmp_path):
    """|x| is PReLU with slope -1: fit finds it, and the saved model predicts the same."""
    X = np.random.default_rng(3).normal(size=(64, 3)).astype(np.float32)
    model = fastlin.Sequential(fastlin.PReLU())
    model.fit(X, np.abs(X), loss="mse", optimizer="sgd", lr=0.1, epochs=50)
    np.testing.assert_allclose(model.layers[0].alpha, [-1.0], atol=1e-3)
    model.save(tmp_path / "abs.npz")
    np.testing.assert_array_equal(fastlin.load(tmp_path / "abs.npz").predict(X), model.predict(X))


def test_sparse_input_to_a_model_without_dense_is_refused_by_name():
    sp = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match="without a Dense layer takes dense X"):
        fastlin.Sequential(fastlin.ReLU()).predict(sp.csr_matrix(np.eye(3)))
