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


# ------------------------------------------------------------- L1, smooth L1, Huber
from fastlin import HuberLoss, L1Loss, SmoothL1Loss  # noqa: E402
from fastlin import backend as _B  # noqa: E402
from fastlin.losses import (BCEWithLogitsLoss, LOSSES, MSELoss, get_loss)  # noqa: E402

ROBUST = [(L1Loss, "L1Loss", {}), (SmoothL1Loss, "SmoothL1Loss", {}),
          (SmoothL1Loss, "SmoothL1Loss", {"beta": 0.3}), (SmoothL1Loss, "SmoothL1Loss", {"beta": 0.0}),
          (HuberLoss, "HuberLoss", {}), (HuberLoss, "HuberLoss", {"delta": 2.5})]


@pytest.mark.parametrize("backend", ["cython", "numpy"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls,torch_name,kw", ROBUST)
def test_robust_losses_equal_torch(cls, torch_name, kw, dtype, backend):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    out = (2 * rng.standard_normal((37, 3))).astype(dtype)
    target = (2 * rng.standard_normal((37, 3))).astype(dtype)
    target[0, 0] = out[0, 0]  # d = 0: the gradient there is 0, as torch's
    loss = cls(backend=backend, **kw)
    value = loss(out, target)
    t_out = torch.tensor(out, requires_grad=True)
    t_value = getattr(torch.nn, torch_name)(**kw)(t_out, torch.tensor(target))
    t_value.backward()
    tol = 1e-6 if dtype == np.float32 else 1e-13
    assert value == pytest.approx(t_value.item(), rel=tol, abs=tol)
    np.testing.assert_allclose(loss.backward(), t_out.grad.numpy(), rtol=tol, atol=tol)
    assert loss.backward()[0, 0] == 0


@pytest.mark.parametrize("kernel,kw", [("l1_loss", {}), ("smooth_l1_loss", {"beta": 0.5}),
                                       ("huber_loss", {"delta": 0.7})])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_robust_kernels_equal_twins_with_sample_weight(kernel, kw, dtype):
    rng = np.random.default_rng(1)
    p = rng.standard_normal((150, 4)).astype(dtype)  # several row blocks
    t = rng.standard_normal((150, 4)).astype(dtype)
    sw = rng.random(150).astype(dtype)
    results = [getattr(_B.get(b), kernel)(p, t, sample_weight=sw, n_threads=2, **kw)
               for b in ("cython", "numpy")]
    tol = 1e-6 if dtype == np.float32 else 1e-13
    assert results[0][0] == pytest.approx(results[1][0], rel=tol)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=tol, atol=tol)
    # the weighting is MSELoss's: each row's elements weighted by its sample weight
    unweighted = getattr(_B.get("numpy"), kernel)(p, t, compute_grad=False, **kw)[0]
    ones = getattr(_B.get("cython"), kernel)(p, t, sample_weight=np.ones(150, dtype), **kw)[0]
    assert ones == pytest.approx(unweighted, rel=tol)


@pytest.mark.parametrize("backend", ["cython", "numpy"])
def test_robust_loss_arguments_are_checked(backend):
    K = _B.get(backend)
    p = np.zeros((4, 2))
    with pytest.raises(ValueError, match="delta"):
        K.huber_loss(p, p, delta=0.0)
    with pytest.raises(ValueError, match="beta"):
        K.smooth_l1_loss(p, p, beta=-1.0)
    with pytest.raises(ValueError, match="target must have shape"):
        K.l1_loss(p, np.zeros((4, 3)))
    with pytest.raises(ValueError, match="grad must not overlap pred"):
        K.l1_loss(p, p.copy(), grad=p)
    with pytest.raises(ValueError, match="delta"):
        HuberLoss(delta=-1.0)
    with pytest.raises(ValueError, match="beta"):
        SmoothL1Loss(beta=float("nan"))
    from fastlin._kernels import losses as raw
    with pytest.raises(ValueError, match="delta"):
        raw.robust_loss(p, p, p.copy(), np.empty(0), True, 0.0, True, 1)


def test_keras_and_torch_loss_names():
    assert type(get_loss("mae")) is L1Loss and type(get_loss("l1")) is L1Loss
    assert type(get_loss("mse")) is MSELoss
    huber = get_loss("huber")
    assert type(huber) is HuberLoss and huber.delta == 1.0
    assert type(get_loss("smooth_l1")) is SmoothL1Loss and get_loss("smooth_l1").beta == 1.0
    assert type(get_loss("binary_crossentropy")) is BCEWithLogitsLoss
    for name in ("categorical_crossentropy", "sparse_categorical_crossentropy"):
        assert type(get_loss(name)) is SoftmaxCrossEntropyLoss
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy"):
        get_loss("hinge")
    assert set(LOSSES) >= {"mae", "huber", "l1", "smooth_l1"}


def test_keras_crossentropy_names_take_one_hot_and_integer_targets():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 4)).astype(np.float32)
    labels = np.argmax(X[:, :3], axis=1)
    one_hot = np.eye(3, dtype=np.float32)[labels]
    a, b = MLP([4, 8, 3], seed=0), MLP([4, 8, 3], seed=0)
    ha = a.fit(X, one_hot, loss="categorical_crossentropy", epochs=2, seed=0)
    hb = b.fit(X, labels, loss="sparse_categorical_crossentropy", epochs=2, seed=0)
    np.testing.assert_allclose(ha.history["loss"], hb.history["loss"], rtol=1e-5)
    assert ha.history["accuracy"] == hb.history["accuracy"]


class _PythonLoop:
    """Mixed into a loss class: a type the compiled loop does not take."""


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cls,kw", [(L1Loss, {}), (SmoothL1Loss, {"beta": 0.4}),
                                    (HuberLoss, {"delta": 0.5})])
def test_robust_losses_compiled_loop_equals_python_loop_bitwise(cls, kw, dtype, monkeypatch):
    from fastlin.training.compiled import CompiledLoop
    calls = []
    real = CompiledLoop.run
    monkeypatch.setattr(CompiledLoop, "run", lambda loop, *a: calls.append(1) or real(loop, *a))
    rng = np.random.default_rng(0)
    X = rng.standard_normal((150, 4)).astype(dtype)
    Y = np.stack([X[:, 0] * 2 + X[:, 1], np.sin(X[:, 2])], axis=1).astype(dtype)
    sw = rng.random(150)
    python_cls = type("Py" + cls.__name__, (cls, _PythonLoop), {})
    models = []
    for loss_cls in (cls, python_cls):
        model = MLP([4, 12, 2], dtype=dtype, seed=0)
        model.fit(X, Y, loss=loss_cls(**kw), optimizer="adam", epochs=3, batch_size=16, seed=0,
                  sample_weight=sw)
        models.append(model)
        if loss_cls is cls:
            assert calls, "the compiled loop did not run"
    for p, q in zip(models[0].parameters(), models[1].parameters()):
        np.testing.assert_array_equal(p, q)
