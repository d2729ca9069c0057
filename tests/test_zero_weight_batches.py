"""A batch whose rows all weigh zero in the loss's mean has no gradient: fit skips it (no step,
its rows still counted in the accuracy). The compiled loop does so itself, so weighted data
with zeros keeps the compiled loop, and equals the Python loop bitwise, Adam's step count
included (to rounding for a lone one-output Dense layer, whose one-pass kernel sums in another
order)."""
import numpy as np
import pytest

import fastlin
from fastlin.training import compiled as compiled_loop


def _fit(monkeypatch, compiled, sizes, loss, y, sw, opt, rows=60, batch=4, **fit_kw):
    with monkeypatch.context() as m:
        if not compiled:
            m.setattr(compiled_loop.CompiledLoop, "build", classmethod(lambda cls, *a: None))
        else:
            built = []
            real = compiled_loop.CompiledLoop.build.__func__
            m.setattr(compiled_loop.CompiledLoop, "build",
                      classmethod(lambda cls, *a: built.append(real(cls, *a)) or built[-1]))
        rng = np.random.default_rng(1)
        X = rng.standard_normal((rows, sizes[0]))
        model = fastlin.MLP(sizes, seed=0, dtype="float64")
        optimizer = (fastlin.Adam(model.parameters(), lr=0.05) if opt == "adam"
                     else fastlin.SGD(model.parameters(), lr=0.05, momentum=0.9))
        history = model.fit(X, y, loss=loss, optimizer=optimizer, sample_weight=sw, epochs=3,
                            batch_size=batch, seed=3, **fit_kw)
        if compiled:
            assert built and built[0] is not None, "the compiled loop was not used"
        return model, history, optimizer


def _weights(rows, zero_every):
    sw = np.ones(rows)
    sw[::zero_every] = 0.0
    sw[:8] = 0.0   # unshuffled, the first two batches weigh nothing
    return sw


CASES = {
    "ce labels": ([3, 6, 3], lambda: fastlin.SoftmaxCrossEntropyLoss(), "labels"),
    "bce": ([3, 5, 2], lambda: fastlin.BCEWithLogitsLoss(), "binary"),
    "mse": ([3, 5, 2], lambda: fastlin.MSELoss(), "real"),
}


def _target(kind, rows, n_out):
    rng = np.random.default_rng(2)
    if kind == "labels":
        return rng.integers(0, n_out, rows)
    if kind == "binary":
        return rng.integers(0, 2, (rows, n_out)).astype(float)
    return rng.standard_normal((rows, n_out))


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("opt", ["adam", "sgd"])
@pytest.mark.parametrize("case", list(CASES))
def test_compiled_loop_skips_weightless_batches_as_the_python_loop_does(monkeypatch, case, opt,
                                                                         shuffle):
    sizes, make_loss, kind = CASES[case]
    rows = 60
    y, sw = _target(kind, rows, sizes[-1]), _weights(rows, 3)
    a, ha, oa = _fit(monkeypatch, True, sizes, make_loss(), y, sw, opt, shuffle=shuffle)
    b, hb, ob = _fit(monkeypatch, False, sizes, make_loss(), y, sw, opt, shuffle=shuffle)
    assert oa.step_count == ob.step_count < 3 * rows // 4
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p, q)
    assert ha.history == hb.history


def test_a_class_left_out_by_class_weight_keeps_the_compiled_loop(monkeypatch):
    y = np.repeat([0, 1, 2], 20)   # unshuffled batches of 4: five of class 0 alone
    kw = dict(class_weight={0: 0.0}, shuffle=False)
    a, ha, oa = _fit(monkeypatch, True, [3, 6, 3], fastlin.SoftmaxCrossEntropyLoss(), y, None,
                     "adam", **kw)
    b, hb, ob = _fit(monkeypatch, False, [3, 6, 3], fastlin.SoftmaxCrossEntropyLoss(), y, None,
                     "adam", **kw)
    assert oa.step_count == ob.step_count == 3 * 10
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p, q)
    assert ha.history == hb.history


@pytest.mark.parametrize("loss", ["bce", "mse"])
def test_linear_model_one_pass_kernel_skips_them_too(monkeypatch, loss):
    rows = 60
    y = _target("binary" if loss == "bce" else "real", rows, 1)
    sw = _weights(rows, 3)
    make = fastlin.BCEWithLogitsLoss if loss == "bce" else fastlin.MSELoss
    a, ha, oa = _fit(monkeypatch, True, [3, 1], make(), y, sw, "adam", shuffle=True)
    b, hb, ob = _fit(monkeypatch, False, [3, 1], make(), y, sw, "adam", shuffle=True)
    assert oa.step_count == ob.step_count
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-14)
    for key in ha.history:
        np.testing.assert_allclose(ha.history[key], hb.history[key], rtol=1e-12)


@pytest.mark.parametrize("backend", ["cython", "numpy"])
def test_a_batch_of_zero_weight_is_skipped_not_an_error_mid_fit(backend):
    # Rows 10..19 weigh 0: their batch raised "a batch's total sample weight is not positive"
    # in the middle of the epoch, after the first batch had changed the weights (and with
    # shuffling, at random). Such a batch has no gradient: it is skipped, so the fit equals
    # one on the other batches alone.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = rng.integers(0, 3, 40)
    sw = np.ones(40)
    sw[10:20] = 0
    model = fastlin.MLP([3, 5, 3], seed=0, backend=backend)
    history = model.fit(X, y, sample_weight=sw, batch_size=10, shuffle=False, epochs=3)
    keep = np.r_[0:10, 20:40]
    reference = fastlin.MLP([3, 5, 3], seed=0, backend=backend)
    expected = reference.fit(X[keep], y[keep], batch_size=10, shuffle=False, epochs=3)
    for a, b in zip(model.parameters(), reference.parameters()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(history.history["loss"], expected.history["loss"], rtol=1e-12)
    # shuffled, with a class left out by class_weight and by the loss's own class_weight
    for kwargs in ({"sample_weight": sw}, {"class_weight": {0: 0.0}},
                   {"loss": fastlin.SoftmaxCrossEntropyLoss(class_weight=[0.0, 1.0, 1.0])}):
        shuffled = fastlin.MLP([3, 5, 3], seed=0, backend=backend)
        h = shuffled.fit(X, y, batch_size=2, epochs=3, seed=0, **kwargs)
        assert np.all(np.isfinite(h.history["loss"]))
