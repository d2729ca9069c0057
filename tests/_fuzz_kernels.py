"""Property-based fuzz of every kernel: compiled == NumPy twin on random shapes, dtypes and
values (zeros, tiny 1x1 shapes and the extremes +-1e4 included; hypothesis favours the bounds).

Run by tests/test_fuzz.py in a child process, so a crash fails a test instead of ending the
test run (the file name lacks the test_ prefix so the main run does not collect it twice).

Tolerances are error bounds, not tuned constants: each side rounds every operation to its
dtype's eps, in a different order (BLAS blocking, lane sums, a polynomial exp of ~2 ulp), so a
sum of n products may differ by about n * eps * sum|products|; an elementwise function with
slope <= 1 keeps that bound; results of size |v| differ by a few eps * |v|.
"""
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fastlin.backend as B

C, N = B.get("cython"), B.get("numpy")
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
ACTS = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "prelu", "abs"]
dtypes = st.sampled_from([np.float32, np.float64])
dims = st.integers(1, 24)


def values(dtype, shape, bound=1e4):
    # width=32 keeps every value exact in float32 too
    return hnp.arrays(dtype, shape, elements=st.floats(-bound, bound, allow_nan=False,
                                                       allow_subnormal=False, width=32))


def f32(lo, hi):
    """Floats in [lo, hi] that float32 holds exactly."""
    return st.floats(float(np.float32(lo)), float(np.float32(hi)), width=32)


def eps(dtype):
    return float(np.finfo(dtype).eps)


def close(got, want, atol, rtol):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape
    same_inf = (got == want) | (np.isnan(got) & np.isnan(want))
    err = np.abs(got - want)
    ok = same_inf | (err <= atol + rtol * np.abs(want))
    assert ok.all(), (got[~ok][:5], want[~ok][:5], np.max(err[~ok]), atol)


@st.composite
def dense_case(draw):
    dt = draw(dtypes)
    n, k, m = draw(dims), draw(dims), draw(dims)
    X = draw(values(dt, (n, k)))
    W = draw(values(dt, (k, m)))
    b = draw(st.none() | values(dt, (m,)))
    act = draw(st.sampled_from(ACTS))
    alpha = None
    if act == "leaky_relu":
        alpha = draw(f32(-2, 2))
    elif act == "prelu":
        alpha = draw(values(dt, (draw(st.sampled_from([1, m])),), bound=2))
    return X, W, b, act, alpha


@SETTINGS
@given(dense_case())
def test_dense_forward(case):
    X, W, b, act, alpha = case
    bound = np.abs(X).astype(np.float64) @ np.abs(W) + (0 if b is None else np.abs(b))
    slope = 1.0 if alpha is None else max(1.0, float(np.max(np.abs(alpha))))
    got = C.dense_forward(X, W, b, act, alpha)
    want = N.dense_forward(X, W, b, act, alpha)
    close(got, want, atol=4 * (X.shape[1] + 2) * eps(X.dtype) * bound * slope + 1e-30,
          rtol=8 * eps(X.dtype))


@SETTINGS
@given(st.data())
def test_dense_backward(data):
    dt = data.draw(dtypes)
    n, k, m = data.draw(dims), data.draw(dims), data.draw(dims)
    X, W, dZ = (data.draw(values(dt, s)) for s in ((n, k), (k, m), (n, m)))
    got, want = C.dense_backward(X, W, dZ), N.dense_backward(X, W, dZ)
    aX, aW, adZ = (np.abs(a).astype(np.float64) for a in (X, W, dZ))
    e = 4 * eps(dt)
    close(got[0], want[0], atol=e * (n + 2) * (aX.T @ adZ) + 1e-30, rtol=e)
    close(got[1], want[1], atol=e * (n + 2) * adZ.sum(axis=0) + 1e-30, rtol=e)
    close(got[2], want[2], atol=e * (m + 2) * (adZ @ aW.T) + 1e-30, rtol=e)


@st.composite
def activation_case(draw):
    dt = draw(dtypes)
    n, m = draw(dims), draw(dims)
    x = draw(values(dt, (n, m)))
    act = draw(st.sampled_from(ACTS))
    alpha = None
    if act == "leaky_relu":
        alpha = draw(f32(0.001, 2))
    elif act == "prelu":
        alpha = draw(values(dt, (draw(st.sampled_from([1, m])),), bound=2))
    return x, act, alpha


@SETTINGS
@given(activation_case(), st.booleans())
def test_activation_forward(case, in_place):
    x, act, alpha = case
    want = N.activation_forward(x, act, alpha)
    if in_place:
        got = x.copy()
        C.activation_forward(got, act, alpha, out=got)
    else:
        got = C.activation_forward(x, act, alpha)
    close(got, want, atol=1e-30, rtol=8 * eps(x.dtype))


@SETTINGS
@given(activation_case(), st.data())
def test_activation_backward(case, data):
    x, act, alpha = case
    g = data.draw(values(x.dtype, x.shape))
    kw = dict(x=x)
    if act in ("sigmoid", "tanh"):
        kw = dict(y=N.activation_forward(x, act))
    dalpha = None if act != "prelu" else (np.empty_like(alpha), np.empty_like(alpha))
    got = C.activation_backward(g, act, alpha=alpha, dalpha=None if dalpha is None else dalpha[0], **kw)
    want = N.activation_backward(g, act, alpha=alpha, dalpha=None if dalpha is None else dalpha[1], **kw)
    close(got, want, atol=1e-30, rtol=8 * eps(x.dtype))
    if dalpha is not None:
        contrib = np.abs(g.astype(np.float64) * x)
        total = contrib.sum() if alpha.shape[0] == 1 else contrib.sum(axis=0)
        close(dalpha[0], dalpha[1], atol=4 * (x.shape[0] * x.shape[1] + 2) * eps(x.dtype) * total + 1e-30,
              rtol=0)


@SETTINGS
@given(st.data(), st.booleans(), st.booleans())
def test_softmax_and_log_softmax(data, log, in_place):
    dt = data.draw(dtypes)
    x = data.draw(values(dt, (data.draw(dims), data.draw(dims))))
    fn = "log_softmax" if log else "softmax"
    want = getattr(N, fn)(x)
    if in_place:  # out may be x itself: the same numbers
        got = x.copy()
        getattr(C, fn)(got, out=got)
    else:
        got = getattr(C, fn)(x)
    # log: x - lse rounded in another order, an error of a few eps * |x|
    atol = 16 * eps(dt) * (np.abs(x).max() + 1) if log else 16 * eps(dt)
    close(got, want, atol=atol, rtol=16 * eps(dt))


@SETTINGS
@given(st.data())
def test_softmax_cross_entropy(data):
    dt = data.draw(dtypes)
    n, k = data.draw(dims), data.draw(st.integers(1, 24))
    z = data.draw(values(dt, (n, k)))
    kw = {}
    if data.draw(st.booleans()):
        target = data.draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, k - 1)))
    else:
        raw = data.draw(hnp.arrays(dt, (n, k), elements=f32(0, 1)))
        target = (raw / np.maximum(raw.sum(axis=1, keepdims=True), 1)).astype(dt)
    if data.draw(st.booleans()):
        kw["sample_weight"] = data.draw(hnp.arrays(dt, (n,), elements=f32(0.1, 4)))
    if data.draw(st.booleans()):
        kw["class_weight"] = data.draw(hnp.arrays(dt, (k,), elements=f32(0.1, 4)))
    kw["label_smoothing"] = data.draw(st.sampled_from([0.0, 0.1, 1.0]))
    lc, gc = C.softmax_cross_entropy(z, target, **kw)
    ln, gn = N.softmax_cross_entropy(z, target, **kw)
    e = 16 * eps(dt)
    # the loss: lse rounded in the dtype on both sides, a few eps * max|z| apart
    close(lc, ln, atol=e * (np.abs(z).max() + 1), rtol=e)
    close(gc, gn, atol=e * 16 / n, rtol=e * 16)


@SETTINGS
@given(st.data(), st.booleans())
def test_bce_and_mse(data, bce):
    dt = data.draw(dtypes)
    shape = (data.draw(dims), data.draw(dims))
    z = data.draw(values(dt, shape))
    kw = {}
    if data.draw(st.booleans()):
        kw["sample_weight"] = data.draw(hnp.arrays(dt, (shape[0],), elements=f32(0.1, 4)))
    e = 16 * eps(dt)
    if bce:
        t = data.draw(hnp.arrays(dt, shape, elements=f32(0, 1)))
        if data.draw(st.booleans()):
            kw["pos_weight"] = data.draw(hnp.arrays(dt, (shape[1],), elements=f32(0.1, 4)))
        (lc, gc), (ln, gn) = (K.sigmoid_binary_cross_entropy(z, t, **kw) for K in (C, N))
        close(lc, ln, atol=e * (np.abs(z).max() + 1), rtol=e)
        close(gc, gn, atol=e * 16 / z.size, rtol=e)
    else:
        t = data.draw(values(dt, shape))
        (lc, gc), (ln, gn) = (K.mse(z, t, **kw) for K in (C, N))
        close(lc, ln, atol=1e-30, rtol=1e-10)
        close(gc, gn, atol=1e-30, rtol=e)


@SETTINGS
@given(st.data())
def test_sgd_update(data):
    dt = data.draw(dtypes)
    size = data.draw(st.integers(1, 300))
    p, g = data.draw(values(dt, (size,))), data.draw(values(dt, (size,)))
    momentum = data.draw(st.sampled_from([0.0, 0.9]))
    kw = dict(lr=data.draw(st.sampled_from([0.0, 1e-3, 0.1])), momentum=momentum,
              nesterov=momentum > 0 and data.draw(st.booleans()),
              weight_decay=data.draw(st.sampled_from([0.0, 1e-2])))
    v0 = data.draw(values(dt, (size,)))
    pc, pn, vc, vn = p.copy(), p.copy(), v0.copy(), v0.copy()
    C.sgd_update(pc, g, vc, **kw)
    N.sgd_update(pn, g, vn, **kw)
    scale = np.abs(p).astype(np.float64) + np.abs(g) + np.abs(v0) * 2
    close(pc, pn, atol=8 * eps(dt) * scale + 1e-30, rtol=8 * eps(dt))
    close(vc, vn, atol=8 * eps(dt) * scale + 1e-30, rtol=8 * eps(dt))


@SETTINGS
@given(st.data())
def test_adam_update(data):
    dt = data.draw(dtypes)
    size = data.draw(st.integers(1, 300))
    p, g = data.draw(values(dt, (size,))), data.draw(values(dt, (size,)))
    m0 = data.draw(values(dt, (size,)))
    s0 = np.abs(data.draw(values(dt, (size,)))) ** 2
    kw = dict(lr=data.draw(st.sampled_from([1e-3, 0.1])),
              weight_decay=data.draw(st.sampled_from([0.0, 1e-2])),
              decoupled=data.draw(st.booleans()))
    step = data.draw(st.integers(1, 50))
    pc, pn, mc, mn, sc, sn = p.copy(), p.copy(), m0.copy(), m0.copy(), s0.copy(), s0.copy()
    C.adam_update(pc, g, mc, sc, step, **kw)
    N.adam_update(pn, g, mn, sn, step, **kw)
    e = 16 * eps(dt)
    close(mc, mn, atol=e * (np.abs(m0).astype(np.float64) + np.abs(g) * 2) + 1e-30, rtol=e)
    close(sc, sn, atol=e * (np.abs(s0).astype(np.float64) + 4 * np.abs(g) ** 2) + 1e-30, rtol=e)
    # the step lr * m_hat / (sqrt(v_hat) + eps) can be large where v is ~0; bound by its size
    upd = np.abs(pn.astype(np.float64) - p)
    close(pc, pn, atol=e * (np.abs(p).astype(np.float64) + upd) * 4 + 1e-30, rtol=e)
