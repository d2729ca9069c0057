"""Losses (fastlin/losses.py): the loss fit infers from the targets, class weights changed
after a forward, strided outputs; values checked against torch and float64 closed forms."""
import numpy as np
import pytest

import fastlin
from fastlin import MLP, SoftmaxCrossEntropyLoss


def test_loss_inference_integer_labels_on_one_output_is_bce():
    rng = np.random.default_rng(9)
    X = rng.standard_normal((300, 5)).astype(np.float32)
    y = (X[:, 0] - X[:, 1] > 0).astype(np.int64)
    model = MLP([5, 16, 1], seed=0)
    h = model.fit(X, y, epochs=30)
    assert isinstance(model.loss_, fastlin.BCEWithLogitsLoss)
    assert h.history["accuracy"][-1] > 0.9
    # float 0.0/1.0 targets on one output stay regression (MSE): they may be measurements
    reg = MLP([5, 4, 1], seed=0)
    reg.fit(X, y.astype(np.float64), epochs=1)
    assert isinstance(reg.loss_, fastlin.MSELoss)


def test_loss_inference_whole_float_labels_on_many_outputs_is_cross_entropy():
    rng = np.random.default_rng(10)
    X = rng.standard_normal((200, 4)).astype(np.float32)
    y = (np.argmax(X[:, :3], axis=1)).astype(np.float64)   # 0.0, 1.0, 2.0
    model = MLP([4, 16, 3], seed=0)
    h = model.fit(X, y, epochs=20)
    assert isinstance(model.loss_, SoftmaxCrossEntropyLoss)
    assert "accuracy" in h.history
    with pytest.raises(ValueError, match="class labels|non-integer|outside"):
        MLP([4, 16, 3], seed=0).fit(X, y + 0.5, loss="cross_entropy", epochs=1)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_class_weight_changed_after_a_forward_is_used(dtype):
    # the kernel copy of class_weight was cached at the first forward: a reassigned or
    # edited class_weight was silently ignored (label_smoothing changes were honoured)
    torch = pytest.importorskip("torch")
    z = np.array([[1.0, 2.0, 0.5], [0.1, 0.2, 3.0], [0.3, -1.0, 0.0]])
    y = np.array([0, 2, 1])

    def reference(weights):
        crit = torch.nn.CrossEntropyLoss(weight=torch.tensor(weights, dtype=torch.float64))
        return float(crit(torch.tensor(z), torch.tensor(y)))

    tol = 1e-12 if dtype == np.float64 else 1e-6
    loss = fastlin.SoftmaxCrossEntropyLoss(class_weight=[1.0, 1.0, 1.0])
    assert loss.forward(z.astype(dtype), y) == pytest.approx(reference([1, 1, 1]), rel=tol)
    loss.class_weight = np.array([1.0, 2.0, 10.0])
    assert loss.forward(z.astype(dtype), y) == pytest.approx(reference([1, 2, 10]), rel=tol)
    loss.class_weight[1] = 0.5
    assert loss.forward(z.astype(dtype), y) == pytest.approx(reference([1, 0.5, 10]), rel=tol)
    unweighted = fastlin.SoftmaxCrossEntropyLoss()
    unweighted.forward(z.astype(dtype), y)
    unweighted.class_weight = [3.0, 1.0, 1.0]
    assert unweighted.forward(z.astype(dtype), y) == pytest.approx(reference([3, 1, 1]), rel=tol)
    # and a fit started after the change trains with it
    X = np.eye(3)
    a, b = (fastlin.MLP([3, 3], seed=0, dtype=dtype) for _ in range(2))
    changed = fastlin.SoftmaxCrossEntropyLoss(class_weight=[1.0, 1.0, 1.0])
    changed.forward(z.astype(dtype), y)
    changed.class_weight = [1.0, 2.0, 10.0]
    a.fit(X, y, loss=changed, epochs=2, seed=0)
    b.fit(X, y, loss=fastlin.SoftmaxCrossEntropyLoss(class_weight=[1.0, 2.0, 10.0]), epochs=2,
          seed=0)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p, q)


def test_losses_take_a_strided_output_as_torch_does():
    """MSELoss().forward(z[:, :1], t) raised "pred must be C-contiguous" (a kernel argument
    the caller never named); torch's losses take any layout. Values checked against the
    float64 closed forms (rtol 1e-12)."""
    import fastlin
    rng = np.random.default_rng(0)
    z = rng.standard_normal((6, 4))
    t = rng.standard_normal(6)
    col = z[:, 1:2]  # strided
    loss = fastlin.MSELoss()
    assert loss.forward(col, t) == pytest.approx(np.mean((z[:, 1] - t) ** 2), rel=1e-12)
    np.testing.assert_allclose(loss.backward()[:, 0], 2 * (z[:, 1] - t) / 6, rtol=1e-12)
    b = (t > 0).astype(float)
    bce = fastlin.BCEWithLogitsLoss().forward(col, b)
    ref = np.mean(np.logaddexp(0, z[:, 1]) - b * z[:, 1])
    assert bce == pytest.approx(ref, rel=1e-12)
    labels = rng.integers(0, 2, 6)
    sce = fastlin.SoftmaxCrossEntropyLoss().forward(z[:, ::2], labels)
    zz = z[:, ::2]
    ref = np.mean(np.log(np.exp(zz).sum(1)) - zz[np.arange(6), labels])
    assert sce == pytest.approx(ref, rel=1e-12)
    nll = fastlin.GaussianNLLLoss(var=2.0).forward(np.asfortranarray(z), z + 1)
    assert nll == pytest.approx(0.5 * np.log(2 * np.pi * 2.0) + 1 / 4, rel=1e-12)
