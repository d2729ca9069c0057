"""Bad inputs meet a TypeError/ValueError that names the argument, before any buffer is written."""
import numpy as np
import pytest

import fastlin.backend as B


@pytest.fixture(params=["cython", "numpy"])
def K(request):
    return B.get(request.param)


def test_wrong_dtype_names_argument(K):
    X = np.ones((3, 2), np.float32)
    with pytest.raises(TypeError, match="W has dtype float64"):
        K.dense_forward(X, np.ones((2, 2)))
    with pytest.raises(TypeError, match="X must have dtype float32 or float64"):
        K.dense_forward(np.ones((3, 2), np.int64), np.ones((2, 2)))
    with pytest.raises(TypeError, match="x must be a numpy.ndarray"):
        K.activation_forward([[1.0]], "relu")
    with pytest.raises(TypeError, match="x must have dtype"):
        K.softmax(np.array([["a"]], dtype=object))


def test_wrong_shape_and_layout(K):
    X = np.ones((3, 2))
    with pytest.raises(ValueError, match="X has 2 features but W expects 4"):
        K.dense_forward(X, np.ones((4, 2)))
    with pytest.raises(ValueError, match="x must be 2-D"):
        K.activation_forward(np.ones(3), "relu")
    with pytest.raises(ValueError, match="x must be C-contiguous"):
        K.activation_forward(np.ones((4, 4))[:, ::2], "relu")
    with pytest.raises(ValueError, match="b must have shape"):
        K.dense_forward(X, np.ones((2, 5)), np.ones(4))
    with pytest.raises(ValueError, match="out must have shape"):
        K.dense_forward(X, np.ones((2, 5)), out=np.empty((3, 4)))
    with pytest.raises(ValueError, match="out must not overlap"):
        K.dense_forward(X, np.ones((2, 2)), out=X)
    ro = np.empty((3, 2))
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="out is read-only"):
        K.activation_forward(X, "relu", out=ro)
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        K.activation_forward(X, "swish")
    with pytest.raises(ValueError, match="logits is empty"):
        K.softmax_cross_entropy(np.ones((0, 3)), np.zeros(0, np.int64))


@pytest.mark.parametrize("bad", [-1, 3, 1 << 40])
def test_label_out_of_range_is_checked_and_grad_untouched(K, bad):
    z = np.zeros((4, 3))
    y = np.array([0, 1, bad, 2])
    grad = np.full((4, 3), 7.0)
    with pytest.raises(ValueError, match=rf"label {bad} at index 2 is outside \[0, 3\)"):
        K.softmax_cross_entropy(z, y, grad=grad)
    assert (grad == 7.0).all()


def test_labels_must_be_integers(K):
    with pytest.raises(TypeError, match="integer target must have an integer dtype"):
        K.softmax_cross_entropy(np.zeros((2, 3)), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="target has 3 entries but logits have 2 rows"):
        K.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 1, 2]))


def test_optimizer_argument_checks(K):
    p = np.zeros(4)
    with pytest.raises(ValueError, match="velocity buffer is required"):
        K.sgd_update(p, np.ones(4), lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="lr must be >= 0"):
        K.sgd_update(p, np.ones(4), lr=-1)
    with pytest.raises(ValueError, match="grad has 3 elements but param has 4"):
        K.sgd_update(p, np.ones(3), lr=0.1)
    with pytest.raises(ValueError, match="step must be an int >= 1"):
        K.adam_update(p, np.ones(4), np.zeros(4), np.zeros(4), 0)
    with pytest.raises(ValueError, match="beta2 must be < 1.0"):
        K.adam_update(p, np.ones(4), np.zeros(4), np.zeros(4), 1, betas=(0.9, 1.0))
    assert (p == 0).all()


def test_compiled_kernels_reject_mismatched_buffers_directly():
    """Even called without the validation layer, the Cython functions refuse shapes that would
    make them read or write out of bounds."""
    from fastlin._kernels import dense, losses
    e = np.empty(0)
    with pytest.raises(ValueError):
        dense.dense_forward(np.ones((3, 2)), np.ones((4, 2)), e, np.empty((3, 2)), 0, e,
                            np.empty((0, 0)), False, False, 1)
    with pytest.raises(ValueError):
        losses.softmax_cross_entropy_labels(np.ones((3, 2)), np.zeros(2, np.int64),
                                            np.empty((3, 2)), e, e, 0.0, 1)
    with pytest.raises(ValueError, match="outside"):
        losses.softmax_cross_entropy_labels(np.ones((3, 2)), np.array([0, 5, 1]),
                                            np.empty((3, 2)), e, e, 0.0, 1)
    with pytest.raises(TypeError):
        dense.dense_forward(None, np.ones((2, 2)), e, np.empty((3, 2)), 0, e,
                            np.empty((0, 0)), False, False, 1)


def test_abs_backward_refuses_the_output_alone(K):
    """abs' derivative needs the sign of the input; the output alone must not be accepted."""
    x = np.array([[-1.0, 2.0]])
    y = np.abs(x)
    with pytest.raises(ValueError, match="abs backward needs the input x"):
        K.activation_backward(np.ones_like(x), "abs", y=y, out=np.empty_like(x))


# ---------------------------------------------------------------- plain-call fast paths
# A call whose arguments are all already right takes a fast path (checked in C on the compiled
# backend); everything else must take the general path. Each variant below is almost plain and
# must give what the NumPy twin gives on clean copies of the same data, or the same error.
def _almost_plain_variants(a):
    """(name, array) pairs equal in value to a but each failing one condition of 'plain'."""
    wide = np.empty((a.shape[0], a.shape[1] * 2), a.dtype)
    wide[:, ::2] = a
    readonly = a.copy()
    readonly.flags.writeable = False
    return [("plain", a.copy()), ("strided", wide[:, ::2]), ("fortran", np.asfortranarray(a)),
            ("list", a.tolist()), ("other float dtype", a.astype(np.float64 if a.dtype == np.float32 else np.float32)),
            ("read-only", readonly), ("matrix subclass", a.copy().view(_Sub))]


class _Sub(np.ndarray):
    pass


def _same_outcome(call_c, call_n, rtol, what):
    """Both backends raise the same exception type, or both return equal values."""
    try:
        want = call_n()
    except (TypeError, ValueError) as e:
        with pytest.raises(type(e)):
            call_c()
        return
    got = call_c()
    for a, b in zip(got if isinstance(got, tuple) else (got,), want if isinstance(want, tuple) else (want,)):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol, err_msg=what)


@pytest.mark.parametrize("act", ["relu", "sigmoid", "tanh", "abs", "identity"])
def test_activation_fast_path_only_takes_plain_calls(C, N, rng, act):
    x = rng.standard_normal((70, 5)).astype(np.float32)
    g = rng.standard_normal((70, 5)).astype(np.float32)
    y = N.activation_forward(x, act)
    src = "x" if act in ("relu", "abs", "identity") else "y"
    for name, v in _almost_plain_variants(x):
        _same_outcome(lambda: C.activation_forward(v, act), lambda: N.activation_forward(v, act),
                      1e-6, f"forward, input {name}")
        _same_outcome(lambda: C.activation_backward(v, act, **{src: x if src == "x" else y}),
                      lambda: N.activation_backward(v, act, **{src: x if src == "x" else y}),
                      1e-6, f"backward, grad_output {name}")
        _same_outcome(lambda: C.activation_backward(g, act, **{src: v}),
                      lambda: N.activation_backward(g, act, **{src: v}), 1e-6,
                      f"backward, {src} {name}")
    for name, v in _almost_plain_variants(np.zeros_like(x)):
        vc, vn = (v.copy(), v.copy()) if isinstance(v, np.ndarray) else (v, v)
        if isinstance(v, np.ndarray) and not v.flags.writeable:
            vc.flags.writeable = vn.flags.writeable = False
        _same_outcome(lambda: C.activation_forward(x, act, out=vc),
                      lambda: N.activation_forward(x, act, out=vn), 1e-6, f"forward, out {name}")
        _same_outcome(lambda: C.activation_backward(g, act, out=vc, **{src: x if src == "x" else y}),
                      lambda: N.activation_backward(g, act, out=vn, **{src: x if src == "x" else y}),
                      1e-6, f"backward, out {name}")


def test_loss_fast_paths_refuse_overlapping_or_read_only_grad(C, N, rng):
    z = rng.standard_normal((40, 3)).astype(np.float32)
    t = rng.integers(0, 2, (40, 3)).astype(np.float32)
    labels = rng.integers(0, 3, 40)
    for K in (C, N):
        ro = np.empty_like(z)
        ro.flags.writeable = False
        for call in (lambda g: K.softmax_cross_entropy(z, labels, grad=g),
                     lambda g: K.sigmoid_binary_cross_entropy(z, t, grad=g),
                     lambda g: K.mse(z, t, grad=g)):
            with pytest.raises(ValueError):
                call(ro)
            with pytest.raises(ValueError):
                call(z)  # the grad buffer may not be the logits


@pytest.mark.parametrize("kind", ["xent", "bce", "mse"])
def test_loss_fast_paths_match_the_general_path(C, N, rng, kind):
    """Plain and almost-plain logits, targets and grad buffers: one outcome on both backends."""
    z = rng.standard_normal((130, 4))
    target = (rng.integers(0, 4, 130) if kind == "xent"
              else rng.integers(0, 2, (130, 4)).astype(np.float64))
    fn = {"xent": "softmax_cross_entropy", "bce": "sigmoid_binary_cross_entropy", "mse": "mse"}[kind]
    fc, fn_ = getattr(C, fn), getattr(N, fn)
    targets = ([("plain", target), ("int32", target.astype(np.int32)), ("list", target.tolist()),
                ("strided", np.repeat(target, 2)[::2])]
               if kind == "xent" else _almost_plain_variants(target))
    for name, v in _almost_plain_variants(z):
        _same_outcome(lambda: fc(v, target, grad=np.empty((130, 4))),
                      lambda: fn_(v, target, grad=np.empty((130, 4))), 1e-11, f"logits {name}")
    for name, v in targets:
        _same_outcome(lambda: fc(z, v, grad=np.empty((130, 4))),
                      lambda: fn_(z, v, grad=np.empty((130, 4))), 1e-11, f"target {name}")
    for name, v in _almost_plain_variants(np.zeros_like(z)):
        vc, vn = (v.copy(), v.copy()) if isinstance(v, np.ndarray) else (v, v)
        if isinstance(v, np.ndarray) and not v.flags.writeable:
            vc.flags.writeable = vn.flags.writeable = False
        _same_outcome(lambda: fc(z, target, grad=vc), lambda: fn_(z, target, grad=vn), 1e-11,
                      f"grad {name}")


def test_fast_path_labels_are_still_range_checked(C):
    z = np.zeros((4, 3), np.float32)
    g = np.empty_like(z)
    with pytest.raises(ValueError, match="outside"):
        C.softmax_cross_entropy(z, np.array([0, 1, 3, 0]), grad=g)


@pytest.mark.parametrize("backend_name", ["cython", "numpy"])
def test_out_may_be_the_input_but_not_overlap_it_partly(backend_name):
    """In place (out is x) works; an out that starts one row into x would overwrite rows before
    they are read, so it is refused on both backends, plain call or not."""
    K = B.get(backend_name)
    base = np.linspace(-2, 2, 11 * 5).astype(np.float32)
    x = base[:50].reshape(10, 5)
    shifted = base[5:55].reshape(10, 5)
    want = K.activation_forward(x.copy(), "sigmoid")
    for act in ("sigmoid", "relu"):
        with pytest.raises(ValueError, match="overlap"):
            K.activation_forward(x, act, out=shifted)
        with pytest.raises(ValueError, match="overlap"):
            K.activation_backward(np.ones((10, 5), np.float32), act, x=x, out=shifted)
    with pytest.raises(ValueError, match="overlap"):
        K.softmax(x, out=shifted)
    y = x.copy()
    assert K.activation_forward(y, "sigmoid", out=y) is y
    np.testing.assert_allclose(y, want, rtol=1e-6)
    z = x.copy()
    K.softmax(z, out=z)
    np.testing.assert_allclose(z.sum(axis=1), 1, rtol=1e-6)


@pytest.mark.parametrize("bad", [-1, 10, 2**62, -(2**63)])
@pytest.mark.parametrize("where", [0, 3, 7, 9])
def test_train_plan_refuses_a_row_index_outside_the_data_before_training(tiny_plan_parts, bad,
                                                                         where):
    """An epoch order holding an index outside [0, n) in the batches a call trains, or in the
    eight rows after them (which the one-pass linear step asks for ahead), is refused before
    any row is read or any weight written. Negative indices too: the check compares unsigned."""
    from fastlin._kernels._codes import LossKind, PlanStatus
    from fastlin._kernels.train import TrainPlan
    X, T, layer, settings = tiny_plan_parts
    X = X + 1
    plan = TrainPlan(X, [layer], batch=4, loss_kind=LossKind.MSE, target=T, **settings)
    W = layer.W
    before = W.copy()
    order = np.arange(10, dtype=np.int64)
    order[where] = bad
    with pytest.raises(ValueError, match="index outside the data"):
        plan.run(order, 0, 3, 0, 0.01)  # every batch: all ten entries are read
    assert np.array_equal(W, before)
    with pytest.raises(ValueError, match="index outside the data"):
        plan.run(order, 0, 1, 0, 0.01)  # batch 0, and rows 4-9 within eight ahead
    with pytest.raises(ValueError, match="index outside the data"):
        plan.run(order, 2, 3, 0, 0.01) if where >= 8 else plan.run(order, 0, 3, 0, 0.01)
    assert np.array_equal(W, before)
    good = np.arange(10, dtype=np.int64)
    status, out = plan.run(good, 0, 3, 0, 0.01)
    assert status == PlanStatus.OK and out[3] == 3


def test_train_plan_batch_range_far_beyond_the_data_is_refused_or_empty(tiny_plan_parts):
    """Batch numbers whose row offsets overflow 64 bits: an empty range trains nothing and
    reads nothing, a non-empty one is refused (the bound is checked by division)."""
    from fastlin._kernels._codes import LossKind
    from fastlin._kernels.train import TrainPlan
    X, T, layer, settings = tiny_plan_parts
    plan = TrainPlan(X + 1, [layer], batch=4, loss_kind=LossKind.MSE, target=T, **settings)
    order = np.arange(10, dtype=np.int64)
    before = layer.W.copy()
    for b in (2**62 - 2**38, 2**62 - 1, 2**63 - 1):
        status, out = plan.run(order, b, b, 0, 0.01)
        assert out[3] == 0
    for b0, b1 in ((2**62 - 2**38, 2**62 - 2**38 + 1), (0, 4), (0, 2**63 - 1)):
        with pytest.raises(ValueError, match="batch range"):
            plan.run(order, b0, b1, 0, 0.01)
    assert np.array_equal(layer.W, before)
