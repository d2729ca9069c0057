"""The one-pass training step of a one-output linear model (csrc/fl_linear.h: linear and
logistic regression under MSE and BCE) against the layer-by-layer Python loop and central
differences. Its sums run in another order than GEMV's, so the comparisons are to rounding.
Run at every SIMD level by test_build.py."""
import numpy as np
import pytest
from numpy.testing import assert_allclose

import fastlin
from fastlin import SGD, Adam, BCEWithLogitsLoss, Dense, Sequential


def _python_loop_only(monkeypatch):
    from fastlin.training import compiled as compiled_loop
    monkeypatch.setattr(compiled_loop.CompiledLoop, "build", classmethod(lambda cls, *a: None))


@pytest.mark.parametrize("case", ["mse_sgd", "mse_weighted_nobias", "bce_posweight_adam", "bce_weighted_momentum"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shuffle", [True, False])
def test_one_output_linear_model_one_pass_step_matches_python_loop(monkeypatch, rng, case, dtype,
                                                                   shuffle):
    """Linear and logistic regression train through the one-pass step of csrc/fl_linear.h,
    whose sums run in another order than the layer-by-layer GEMV path: the two agree to float
    rounding. float32: rtol 2e-5 after 3 epochs of 7 batches (each step's gradient differs by
    a few ulp and the updates compound them); float64: 1e-10."""
    X = rng.standard_normal((203, 37)).astype(dtype)
    w_true = rng.standard_normal(37)
    score = X @ w_true
    sw = rng.uniform(0.5, 1.5, 203).astype(dtype)

    def run():
        net = Sequential(Dense(37, 1, bias=case != "mse_weighted_nobias"), seed=3, dtype=dtype)
        kw = {}
        if case.startswith("mse"):
            loss, target = fastlin.MSELoss(), (score + 0.1).reshape(-1, 1).astype(dtype)
            opt = SGD(net.parameters(), lr=0.01)
        else:
            loss = BCEWithLogitsLoss(pos_weight=2.0 if case == "bce_posweight_adam" else None)
            target = (score > 0).astype(dtype).reshape(-1, 1)
            opt = (Adam(net.parameters(), lr=0.01) if case == "bce_posweight_adam"
                   else SGD(net.parameters(), lr=0.1, momentum=0.9))
        if "weighted" in case:
            kw = dict(sample_weight=sw)
        h = net.fit(X, target, loss=loss, optimizer=opt, epochs=3, batch_size=32, seed=9,
                    shuffle=shuffle, **kw)
        return [p.copy() for p in net.parameters()], h.history, net

    compiled_params, compiled_hist, net = run()
    _python_loop_only(monkeypatch)
    python_params, python_hist, _ = run()
    tol = dict(rtol=2e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-10, atol=1e-12)
    for a, b in zip(compiled_params, python_params):
        assert_allclose(a, b, **tol)
    for key in python_hist:
        assert_allclose(compiled_hist[key], python_hist[key], **tol)
    if case.startswith("bce"):
        assert compiled_hist["accuracy"][-1] > 0.55  # better than chance on a separable problem


@pytest.mark.parametrize("d", [1, 7, 8, 15, 16, 17, 60, 64, 100, 128, 131, 3000])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_one_pass_linear_step_every_width(monkeypatch, rng, d, dtype):
    """Every column layout of the one-pass kernel (csrc/fl_linear_tmpl.h) at 8 and 16 lanes: fewer
    than one vector, whole vectors only, blocks of eight vectors, the last d % L columns as one
    more vector, and chunks from 64 rows down to 8 (d = 3000); batches of 43 rows leave groups
    of eight and single rows, shuffled and in order; against the layer-by-layer path,
    tolerances as above."""
    X = rng.standard_normal((150, d)).astype(dtype)
    target = (X @ rng.standard_normal(d) / np.sqrt(d) + 0.5).reshape(-1, 1).astype(dtype)

    def run(shuffle):
        net = Sequential(Dense(d, 1), seed=3, dtype=dtype)
        net.fit(X, target, loss=fastlin.MSELoss(), optimizer=SGD(net.parameters(), lr=0.01),
                epochs=2, batch_size=43, seed=1, shuffle=shuffle)
        return [p.copy() for p in net.parameters()]

    compiled = [run(True), run(False)]
    _python_loop_only(monkeypatch)
    tol = dict(rtol=2e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-10, atol=1e-12)
    for params, shuffle in zip(compiled, (True, False)):
        for a, b in zip(params, run(shuffle)):
            assert_allclose(a, b, **tol)


def test_one_pass_linear_step_gradient_matches_finite_differences(rng):
    """The kernel's dw and db for MSE and BCE against central differences in float64."""
    X = rng.standard_normal((19, 5))
    t_mse = rng.standard_normal((19, 1))
    t_bce = rng.integers(0, 2, (19, 1)).astype(np.float64)
    for loss, t in ((fastlin.MSELoss(), t_mse), (BCEWithLogitsLoss(), t_bce)):
        net = Sequential(Dense(5, 1), seed=1, dtype="float64")
        W0, b0 = net.layers[0].W.copy(), net.layers[0].b.copy()
        # one full-batch plain-SGD step with lr=1 moves the weights by exactly -gradient
        net.fit(X, t, loss=loss, optimizer=SGD(net.parameters(), lr=1.0), epochs=1,
                batch_size=19, shuffle=False)
        grad_W, grad_b = W0 - net.layers[0].W, b0 - net.layers[0].b

        def mean_loss(W, b):
            z = X @ W + b
            if isinstance(loss, fastlin.MSELoss):
                return np.mean((z - t) ** 2)
            return np.mean(np.logaddexp(0, z) - t * z)

        h = 1e-6
        for idx in np.ndindex(W0.shape):
            Wp, Wm = W0.copy(), W0.copy()
            Wp[idx] += h
            Wm[idx] -= h
            fd = (mean_loss(Wp, b0) - mean_loss(Wm, b0)) / (2 * h)
            assert grad_W[idx] == pytest.approx(fd, rel=1e-6, abs=1e-9)
        fd_b = (mean_loss(W0, b0 + h) - mean_loss(W0, b0 - h)) / (2 * h)
        assert grad_b[0] == pytest.approx(fd_b, rel=1e-6, abs=1e-9)
