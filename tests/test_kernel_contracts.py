"""The kernel contract of SPEC §9: what a kernel cannot compute correctly it refuses with a
ValueError naming the argument, the same words on both backends, before writing anything; the
raw fastlin._kernels functions never crash; thread counts are capped.

Each public-API case is parametrized over both backends and matches the whole message, so the
two backends are checked to say the same thing.
"""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import fastlin
import fastlin.backend as B
from fastlin import MLP, SGD, Adam, SoftmaxCrossEntropyLoss, backend
from fastlin.parallel import threads as kernel_threads
from fastlin.backend import _validation as v


def _raises(msg):
    """pytest.raises(ValueError) matching the whole message."""
    import re
    return pytest.raises(ValueError, match="^" + re.escape(msg) + "$")


def _misaligned(shape, dtype):
    """A writeable C-contiguous array whose data starts one byte past an element boundary (a
    float view into a byte buffer at offset 1)."""
    n = int(np.prod(shape))
    raw = np.zeros(n * np.dtype(dtype).itemsize + 1, np.uint8)
    a = raw[1:].view(dtype).reshape(shape)
    a[...] = np.arange(n, dtype=dtype).reshape(shape) / n - 0.5
    assert not a.flags.aligned and a.flags.c_contiguous and a.flags.writeable
    return a


# ------------------------------------------------------------- 1. optimizer buffers overlap
def test_sgd_refuses_overlapping_param_grad_velocity(backend, dtype):
    K = B.get(backend)
    base = np.arange(20, dtype=dtype)
    p, g = base[:10], np.ones(10, dtype)
    keep = base.copy()
    with _raises("grad must not overlap param"):
        K.sgd_update(p, p, lr=0.1)
    with _raises("grad must not overlap param"):
        K.sgd_update(p, base[5:15], lr=0.1)
    with _raises("velocity must not overlap param"):
        K.sgd_update(p, g, velocity=base[9:19], lr=0.1, momentum=0.9)
    with _raises("velocity must not overlap grad"):
        K.sgd_update(p, g, velocity=g, lr=0.1, momentum=0.9)
    assert_array_equal(base, keep)  # nothing written


def test_adam_refuses_overlapping_param_grad_moments(backend, dtype):
    K = B.get(backend)
    p, g = np.ones(8, dtype), np.full(8, 0.5, dtype)
    m, s = np.zeros(8, dtype), np.zeros(8, dtype)
    both = np.zeros(12, dtype)
    with _raises("grad must not overlap param"):
        K.adam_update(p, p, m, s, 1)
    with _raises("exp_avg must not overlap param"):
        K.adam_update(p, g, p, s, 1)
    with _raises("exp_avg must not overlap grad"):
        K.adam_update(p, g, g, s, 1)
    with _raises("exp_avg_sq must not overlap exp_avg"):
        K.adam_update(p, g, m, m, 1)
    with _raises("exp_avg_sq must not overlap exp_avg"):
        K.adam_update(p, g, both[:8], both[4:], 1)
    assert (p == 1).all() and (g == 0.5).all() and (m == 0).all() and (s == 0).all()


def test_optimizers_refuse_a_parameter_overlapping_its_gradient(backend):
    p = np.ones(6, np.float32)
    for opt in (SGD, Adam):
        with _raises("a parameter must not overlap its gradient"):
            opt([(p, p)], lr=0.1, backend=backend)
        with _raises("a parameter must not overlap its gradient"):
            opt([(p[:4], p[2:])], lr=0.1, backend=backend)


def test_raw_optimizer_kernels_refuse_overlap():
    from fastlin._kernels import optim
    p, g, e = np.ones(8), np.ones(8), np.empty(0)
    with _raises("grad must not overlap param"):
        optim.sgd_update(p, p, e, 0.1, 0.0, 0.0, False, 1)
    with _raises("velocity must not overlap grad"):
        optim.sgd_update(p, g, g, 0.1, 0.9, 0.0, False, 1)
    with _raises("exp_avg_sq must not overlap exp_avg"):
        m = np.zeros(8)
        optim.adam_update(p, g, m, m, 1e-3, 0.9, 0.999, 1e-8, 0.0, 1, False, 1)
    assert (p == 1).all()


# ------------------------------------------------------------------ 2. dense outputs overlap
def test_dense_forward_refuses_b_alpha_preact_overlapping_out(backend, dtype):
    K = B.get(backend)
    X, W = np.ones((4, 3), dtype), np.ones((3, 5), dtype)
    out = np.zeros((4, 5), dtype)
    with _raises("b must not overlap out"):
        K.dense_forward(X, W, b=out[0], out=out)
    with _raises("alpha must not overlap out"):
        K.dense_forward(X, W, activation="prelu", alpha=out[1], out=out)
    with _raises("preact must not overlap b"):
        base = np.zeros(25, dtype)  # b's last entry is preact's first
        K.dense_forward(X, W, b=base[:5], out=out, preact=base[4:24].reshape(4, 5))
    with _raises("out must not overlap X"):
        K.dense_forward(X, np.ones((3, 3), dtype), out=X)
    assert (out == 0).all()


def test_dense_backward_refuses_gradients_overlapping_inputs_or_each_other(backend, dtype):
    K = B.get(backend)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 4)).astype(dtype)
    W = rng.standard_normal((4, 3)).astype(dtype)
    dZ = rng.standard_normal((6, 3)).astype(dtype)
    W0, X0 = W.copy(), X.copy()
    with _raises("dW must not overlap W"):
        K.dense_backward(X, W, dZ, dW=W)
    with _raises("db must not overlap W"):
        K.dense_backward(X, W, dZ, db=W[1])
    with _raises("dX must not overlap X"):
        K.dense_backward(X, W, dZ, dX=X)
    dW = np.zeros((4, 3), dtype)
    with _raises("db must not overlap dW"):
        K.dense_backward(X, W, dZ, dW=dW, db=dW[0])
    with _raises("dX must not overlap dW"):
        both = np.zeros(12 + 24, dtype)
        K.dense_backward(X, W, dZ, dW=both[:12].reshape(4, 3), dX=both[10:34].reshape(6, 4))
    assert_array_equal(W, W0)
    assert_array_equal(X, X0)
    assert (dW == 0).all()


def test_raw_dense_kernels_refuse_overlap():
    from fastlin._kernels import dense
    X, W = np.ones((4, 3)), np.ones((3, 5))
    out, e1, e2 = np.zeros((4, 5)), np.empty(0), np.empty((0, 0))
    with _raises("b must not overlap out"):
        dense.dense_forward(X, W, out[0], out, 0, e1, e2, True, False, 1)
    dZ = np.ones((4, 5))
    with _raises("dW must not overlap W"):
        dense.dense_backward(X, W, dZ, W, e1, e2, False, False)
    with _raises("db must not overlap W"):
        dense.dense_backward(X, W, dZ, np.zeros((3, 5)), W[0], e2, True, False)
    assert (W == 1).all() and (out == 0).all()


def test_elementwise_out_may_be_its_input_exactly(backend):
    """In place is allowed where it is truly elementwise or row-wise, and gives the out-of-place
    result (the compiled log_softmax overwrote x with exps before reading it)."""
    K = B.get(backend)
    x = np.random.default_rng(1).standard_normal((5, 7))
    for fn in (K.softmax, K.log_softmax, lambda a, out: K.activation_forward(a, "tanh", out=out)):
        want = fn(x.copy(), out=None)
        y = x.copy()
        assert fn(y, out=y) is y
        assert_allclose(y, want, rtol=1e-12)
    base = np.zeros(x.size + 1)
    xs, shifted = base[:-1].reshape(x.shape), base[1:].reshape(x.shape)  # one element apart
    xs[...] = x
    for fn in (K.softmax, K.log_softmax):
        with _raises("out must be x itself (in place) or not overlap it"):
            fn(xs, out=shifted)
    with _raises("out must be x itself (in place) or not overlap it"):
        K.activation_forward(xs, "relu", out=shifted)
    assert_array_equal(xs, x)


# ---------------------------------------------------------------- 3. BLAS dimension limits
def test_blas_dimension_check_reads_the_shapes():
    """The check compares shape values with INT_MAX (scipy.linalg.cython_blas takes 32-bit int
    dimensions); it does not need the data, so it is tested on the values directly."""
    assert v.BLAS_MAX_DIM == 2**31 - 1
    v.blas_dims(n_samples=2**31 - 1, in_features=1)
    with _raises("in_features = 2147483648 exceeds the largest dimension the BLAS accepts "
                 "(2147483647, 32-bit integers)"):
        v.blas_dims(n_samples=1, in_features=2**31)


@pytest.mark.parametrize("where", ["n_samples", "in_features"])
def test_dense_kernels_refuse_dimensions_above_int_max(backend, dtype, where):
    """A public call with a 2**31-long axis. An array with another axis of length 0 holds no
    bytes, so the test can build it; the kernels refuse by shape, before any BLAS call, whether
    or not this particular (empty) product would have reached the BLAS. Before the check these
    calls returned empty results; non-empty ones were cast to int and truncated."""
    K = B.get(backend)
    big = 2**31
    if where == "n_samples":
        X, W, dZ = np.empty((big, 0), dtype), np.empty((0, 0), dtype), np.empty((big, 0), dtype)
    else:
        X, W, dZ = np.empty((0, big), dtype), np.empty((big, 0), dtype), np.empty((0, 0), dtype)
    msg = f"{where} = {big} exceeds the largest dimension the BLAS accepts (2147483647, 32-bit integers)"
    with _raises(msg):
        K.dense_forward(X, W)
    with _raises(msg):
        K.dense_backward(X, W, dZ)


def test_raw_dense_kernels_refuse_dimensions_above_int_max():
    from fastlin._kernels import dense
    big = 2**31
    X, W, out = np.empty((big, 0)), np.empty((0, 0)), np.empty((big, 0))
    e1, e2 = np.empty(0), np.empty((0, 0))
    with pytest.raises(ValueError, match="n_samples = 2147483648 exceeds"):
        dense.dense_forward(X, W, e1, out, 0, e1, e2, False, False, 1)
    with pytest.raises(ValueError, match="n_samples = 2147483648 exceeds"):
        dense.dense_backward(X, W, out, np.empty((0, 0)), e1, e2, False, False)


# --------------------------------------------------------- 4. softmax rows with +-inf or NaN
def test_softmax_rows_with_infinities_are_their_limit(backend, dtype):
    """fastlin's documented rule (README "Infinite logits"), the same as its fused
    cross-entropy: a row whose max is +-inf is replaced by its limit, the max entries sharing
    the mass (a row of only -inf is uniform); a row holding NaN is NaN. The compiled
    log_softmax used to give [1, 0, 0] for [inf, 1, 0]."""
    K = B.get(backend)
    inf, nan = np.inf, np.nan
    x = np.array([[inf, 1, 0], [-inf, -inf, -inf], [inf, inf, 0], [-inf, 1, 0],
                  [nan, 1, 0], [nan, inf, 0], [1, 2, 3]], dtype)
    p, lp = K.softmax(x), K.log_softmax(x)
    third, e = np.log(1 / 3), np.exp([1.0, 0.0]) / np.exp([1.0, 0.0]).sum()
    assert_array_equal(p[0], [1, 0, 0])
    assert_array_equal(lp[0], [0, -inf, -inf])
    assert_allclose(p[1], [1 / 3] * 3, rtol=1e-6)
    assert_allclose(lp[1], [third] * 3, rtol=1e-6)
    assert_array_equal(p[2], [0.5, 0.5, 0])
    assert_allclose(lp[2], [np.log(0.5), np.log(0.5), -inf], rtol=1e-6)
    assert_allclose(p[3], [0, *e], rtol=1e-6)
    assert lp[3, 0] == -inf
    assert np.isnan(p[4:6]).all() and np.isnan(lp[4:6]).all()
    assert_allclose(np.exp(lp[6]), p[6], rtol=1e-6)
    y = x.copy()
    K.log_softmax(y, out=y)  # in place: the same numbers
    assert_array_equal(np.isnan(y), np.isnan(lp))
    assert_allclose(y[~np.isnan(y)], lp[~np.isnan(lp)], rtol=1e-6)


# ------------------------------------------------------------------- 5. label_smoothing
@pytest.mark.parametrize("bad,msg", [(2.0, "label_smoothing must be <= 1.0, got 2.0"),
                                     (-0.1, "label_smoothing must be >= 0.0, got -0.1"),
                                     (float("nan"), "label_smoothing must be finite, got nan")])
def test_label_smoothing_outside_0_1_is_refused(backend, bad, msg):
    with _raises(msg):
        SoftmaxCrossEntropyLoss(label_smoothing=bad, backend=backend)
    z, y = np.zeros((3, 4)), np.array([0, 1, 2])
    with _raises(msg):
        B.get(backend).softmax_cross_entropy(z, y, label_smoothing=bad)


def test_label_smoothing_set_after_construction_is_refused_by_fit(backend):
    """Neither the Python loop nor the compiled loop (TrainPlan) trains with it."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3)).astype(np.float32)
    y = rng.integers(0, 2, 40)
    model = MLP([3, 4, 2], seed=0, backend=backend)
    W0 = [p.copy() for p in model.parameters()]
    loss = SoftmaxCrossEntropyLoss()
    loss.label_smoothing = 2.0
    with pytest.raises(ValueError, match="label_smoothing must be <= 1.0, got 2.0"):
        model.fit(X, y, loss=loss, optimizer="sgd", epochs=1, batch_size=8, verbose=False)
    for p, p0 in zip(model.parameters(), W0):
        assert_array_equal(p, p0)


def test_raw_kernels_refuse_label_smoothing_outside_0_1():
    from fastlin._kernels import losses
    z, g, e = np.zeros((3, 4)), np.zeros((3, 4)), np.empty(0)
    with _raises("label_smoothing must be <= 1.0, got 2.0"):
        losses.softmax_cross_entropy_labels(z, np.array([0, 1, 2]), g, e, e, 2.0, 1)
    with _raises("label_smoothing must be >= 0.0, got -1.0"):
        losses.softmax_cross_entropy_probs(z, np.full((3, 4), 0.25), g, e, e, -1.0, 1)


# ---------------------------------------------------- 6. raw kernels with missing arguments
def test_raw_kernels_never_crash_on_missing_or_mismatched_arguments():
    """Each call below read a NULL or short buffer in C before (a segfault for several), so
    they run in a child process: a crash fails the test instead of killing the runner."""
    code = textwrap.dedent("""
        import numpy as np
        from fastlin._kernels import activations as A, dense as D
        x, out = np.ones((3, 4)), np.empty((3, 4))
        e1, e2 = np.empty(0), np.empty((0, 0))
        W = np.ones((4, 4))
        calls = {
            "sigmoid backward, x only": lambda: A.activation_backward(x, x, e2, out, 1, e1, e1, True, False, False, 1),
            "tanh backward, nothing": lambda: A.activation_backward(x, e2, e2, out, 2, e1, e1, False, False, False, 1),
            "abs backward, y only": lambda: A.activation_backward(x, e2, x, out, 6, e1, e1, False, True, False, 1),
            "prelu backward, no alpha": lambda: A.activation_backward(x, x, e2, out, 5, e1, e1, True, False, False, 1),
            "leaky forward, no alpha": lambda: A.activation_forward(x, out, 4, e1, 1),
            "prelu alpha of 3 for 4 columns": lambda: A.activation_forward(x, out, 5, np.ones(3), 1),
            "x claimed but empty": lambda: A.activation_backward(x, e2, e2, out, 3, e1, e1, True, False, False, 1),
            "unknown activation code": lambda: A.activation_forward(x, out, 99, e1, 1),
            "dalpha of the wrong size": lambda: A.activation_backward(x, x, e2, out, 5, np.ones(4), np.ones(2), True, False, True, 1),
            "dense leaky, no alpha": lambda: D.dense_forward(x, W, e1, out, 4, e1, e2, False, False, 1),
            "dense prelu alpha of 3": lambda: D.dense_forward(x, W, e1, out, 5, np.ones(3), e2, False, False, 1),
            "dense bias claimed but empty": lambda: D.dense_forward(x, W, e1, out, 0, e1, e2, True, False, 1),
        }
        for name, call in calls.items():
            try:
                call()
            except ValueError:
                print("refused:", name)
            else:
                print("ACCEPTED:", name)
        # the plain entry points send what they cannot take back (None), never crash
        assert A.activation_backward_plain(x, x, False, None, 1, 1, 0) is None  # sigmoid needs y
        assert A.activation_backward_plain(x, x, True, None, 6, 1, 0) is None   # abs needs x
        assert A.activation_forward_plain(x, None, 99, 1, 0) is None
        print("done")
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ACCEPTED" not in r.stdout, r.stdout
    assert r.stdout.count("refused:") == 12 and r.stdout.rstrip().endswith("done")


# ------------------------------------------------------------------ 7. misaligned buffers
def test_misaligned_buffers_are_refused(backend, dtype):
    K = B.get(backend)
    xm = _misaligned((4, 3), dtype)
    x = np.ones((4, 3), dtype)
    W = np.ones((3, 2), dtype)
    msg = "{} is misaligned: its data does not start on a multiple of its {}-byte element size (copy it with numpy.array)"
    item = np.dtype(dtype).itemsize
    with _raises(msg.format("x", item)):
        K.activation_forward(xm, "relu")
    with _raises(msg.format("out", item)):
        K.activation_forward(x, "sigmoid", out=_misaligned((4, 3), dtype))
    with _raises(msg.format("grad_output", item)):
        K.activation_backward(xm, "relu", x=x)
    with _raises(msg.format("X", item)):
        K.dense_forward(xm, W)
    with _raises(msg.format("x", item)):
        K.log_softmax(xm)
    with _raises(msg.format("logits", item)):
        K.softmax_cross_entropy(xm, np.array([0, 1, 2, 0]))
    with _raises(msg.format("pred", item)):
        K.mse(xm, x, grad=np.empty_like(x))
    with _raises(msg.format("param", item)):
        K.sgd_update(_misaligned((5,), dtype), np.ones(5, dtype))


def test_models_and_layers_copy_a_misaligned_input(backend):
    """Models and layers convert their input when needed (dtype, layout, alignment) rather
    than refuse; fit on misaligned X, y and sample weights trains as on aligned copies."""
    xm = _misaligned((40, 3), np.float32)
    ym = _misaligned((40,), np.int64)
    ym[...] = np.arange(40) % 2
    sw = _misaligned((40,), np.float32)
    sw[...] = 1.0
    fits = []
    for X, y, w in ((xm, ym, sw), (np.array(xm), np.array(ym), np.array(sw))):
        model = MLP([3, 5, 2], seed=0, backend=backend)
        model.fit(X, y, loss="cross_entropy", optimizer="sgd", epochs=2, batch_size=8,
                  shuffle=False, sample_weight=w, verbose=False)
        fits.append(model)
        assert_allclose(model.predict(xm), model.predict(np.array(xm)), rtol=1e-6)
        assert_allclose(model.layers[0].forward(xm), model.layers[0].forward(np.array(xm)),
                        rtol=1e-6)
    for p, q in zip(fits[0].parameters(), fits[1].parameters()):
        assert_array_equal(p, q)


def test_loss_objects_treat_misaligned_arrays_alike(backend):
    """A loss object's fast path takes only aligned arrays; a misaligned output meets the
    public kernel's error on both backends, misaligned labels are converted on both."""
    from fastlin import MSELoss
    zm = _misaligned((4, 3), np.float64)
    with _raises("pred is misaligned: its data does not start on a multiple of its 8-byte "
                 "element size (copy it with numpy.array)"):
        MSELoss(backend=backend).forward(zm, np.zeros((4, 3)))
    ym = _misaligned((4,), np.int64)
    ym[...] = [0, 1, 2, 0]
    z = np.array(zm)
    loss = SoftmaxCrossEntropyLoss(backend=backend)
    assert loss.forward(z, ym) == pytest.approx(loss.forward(z, np.array(ym)), rel=1e-12)


def test_raw_kernels_refuse_misaligned_buffers():
    from fastlin._kernels import activations, dense, losses, optim
    xm, x = _misaligned((4, 3), np.float64), np.ones((4, 3))
    e1, e2 = np.empty(0), np.empty((0, 0))
    with pytest.raises(ValueError, match="^x is misaligned"):
        activations.activation_forward(xm, np.empty((4, 3)), 3, e1, 1)
    assert activations.activation_forward_plain(xm, None, 3, 1, 0) is None
    with pytest.raises(ValueError, match="^X is misaligned"):
        dense.dense_forward(xm, np.ones((3, 2)), e1, np.empty((4, 2)), 0, e1, e2, False, False, 1)
    with pytest.raises(ValueError, match="^x is misaligned"):
        losses.softmax(xm, np.empty((4, 3)), True, 1)
    assert losses.elementwise_loss_plain(False, xm, x, np.empty((4, 3)), 1, 0) is None
    with pytest.raises(ValueError, match="^param is misaligned"):
        optim.sgd_update(_misaligned((5,), np.float64), np.ones(5), e1, 0.1, 0.0, 0.0, False, 1)


# ------------------------------------------------------------------------------ 8. threads
def test_cgroup_quota_is_read_like_loky(tmp_path):
    (tmp_path / "v2").mkdir()
    (tmp_path / "v2" / "cpu.max").write_text("150000 100000\n")
    assert kernel_threads.cgroup_cpu_limit(str(tmp_path / "v2")) == 2
    (tmp_path / "v2" / "cpu.max").write_text("max 100000\n")
    assert kernel_threads.cgroup_cpu_limit(str(tmp_path / "v2")) is None
    v1 = tmp_path / "v1" / "cpu"
    v1.mkdir(parents=True)
    (v1 / "cpu.cfs_quota_us").write_text("250000\n")
    (v1 / "cpu.cfs_period_us").write_text("100000\n")
    assert kernel_threads.cgroup_cpu_limit(str(tmp_path / "v1")) == 3
    (v1 / "cpu.cfs_quota_us").write_text("-1\n")
    assert kernel_threads.cgroup_cpu_limit(str(tmp_path / "v1")) is None
    assert kernel_threads.cgroup_cpu_limit(str(tmp_path / "absent")) is None


def test_a_nested_cgroup_v1_quota_is_read_where_proc_self_cgroup_points(tmp_path):
    """cgroup v1 with the process in a nested group (docker, systemd slices): the quota is in
    cpu/<path>/, not in cpu/; a parent's quota limits too, the smallest wins."""
    proc = tmp_path / "cgroup"
    proc.write_text("12:memory:/a/b\n4:cpu,cpuacct:/slice/job\n0::/\n")
    nested = tmp_path / "v1" / "cpu" / "slice" / "job"
    nested.mkdir(parents=True)
    (nested / "cpu.cfs_quota_us").write_text("150000\n")
    (nested / "cpu.cfs_period_us").write_text("100000\n")
    assert kernel_threads.cgroup_cpu_limit(str(tmp_path / "v1"), str(proc)) == 2
    parent = tmp_path / "v1" / "cpu" / "slice"
    (parent / "cpu.cfs_quota_us").write_text("100000\n")
    (parent / "cpu.cfs_period_us").write_text("100000\n")
    assert kernel_threads.cgroup_cpu_limit(str(tmp_path / "v1"), str(proc)) == 1
    v2 = tmp_path / "v2"
    (v2 / "user" / "job").mkdir(parents=True)
    (v2 / "cgroup.controllers").write_text("cpu\n")
    (v2 / "user" / "job" / "cpu.max").write_text("300000 100000\n")
    proc.write_text("0::/user/job\n")
    assert kernel_threads.cgroup_cpu_limit(str(v2), str(proc)) == 3


_THREADS_CHILD = """
import os, sys
import numpy as np
import fastlin, fastlin.backend as B
from fastlin._kernels import activations

def tasks():
    return len(os.listdir("/proc/self/task"))

cores = len(os.sched_getaffinity(0))
x = np.random.default_rng(0).standard_normal((1 << 19, 2)).astype(np.float32)  # 1M elements
out = np.empty_like(x)
before = tasks()
"""


def _run_child(body, **env):
    inherited = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    full = dict(inherited, OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1", **env)
    code = _THREADS_CHILD + textwrap.dedent(body)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=300, env=full)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


@pytest.mark.skipif(not fastlin.openmp_enabled(), reason="a serial build starts no threads")
def test_absurd_thread_counts_are_capped_at_the_cpus():
    """n_threads=5000 and set_num_threads(10**6) start at most one thread per CPU this process
    may use (OpenMP keeps its pool threads alive, so /proc/self/task counts them)."""
    out = _run_child("""
        fastlin.set_num_threads(10**6)
        assert fastlin.get_num_threads() <= cores <= os.cpu_count(), fastlin.get_num_threads()
        B.get("cython").activation_forward(x, "sigmoid", out=out)
        B.get("cython").activation_forward(x, "sigmoid", out=out, n_threads=5000)
        B.get("numpy").activation_forward(x, "sigmoid", out=out, n_threads=5000)
        activations.activation_forward(x, out, 1, np.empty(0, np.float32), 5000)  # raw call
        assert tasks() - before <= cores - 1, (tasks(), before, cores)
        print("ok", fastlin.get_num_threads(), tasks() - before)
    """)
    assert out.startswith("ok")


@pytest.mark.skipif(not fastlin.openmp_enabled(), reason="a serial build starts no threads")
def test_omp_num_threads_lowers_the_default_and_caps_explicit_counts():
    out = _run_child("""
        assert fastlin.get_num_threads() == 1
        fastlin.set_num_threads(8)
        assert fastlin.get_num_threads() == 1
        B.get("cython").activation_forward(x, "sigmoid", out=out, n_threads=2)
        assert tasks() == before, (tasks(), before)
        print("ok")
    """, OMP_NUM_THREADS="1")
    assert out.startswith("ok")


@pytest.mark.skipif(not fastlin.openmp_enabled(), reason="a serial build starts no threads")
def test_threadpoolctl_limits_are_honoured():
    pytest.importorskip("threadpoolctl")
    out = _run_child("""
        from threadpoolctl import threadpool_info, threadpool_limits
        assert any(i["user_api"] == "openmp" for i in threadpool_info()), threadpool_info()
        with threadpool_limits(1, user_api="openmp"):
            assert fastlin.get_num_threads() == 1
            B.get("cython").activation_forward(x, "sigmoid", out=out, n_threads=2)
            B.get("cython").activation_forward(x, "sigmoid", out=out)
            assert tasks() == before, (tasks(), before)
        from fastlin.parallel import threads as kernel_threads
        assert fastlin.get_num_threads() == kernel_threads._CORES
        print("ok")
    """)
    assert out.startswith("ok")


@pytest.mark.parametrize("bad, error", [(0, ValueError), ("2", TypeError), (2.0, TypeError),
                                        (True, TypeError)])
def test_kernel_n_threads_is_checked_whatever_the_buffer_size(bad, error):
    """A per-call n_threads of 0, "2", 2.0 or True was accepted on a small buffer (which runs
    serially without looking at it) and refused on a large one; set_num_threads refuses them
    always. Now every kernel refuses them on any buffer."""
    for name in ("cython", "numpy"):
        K = backend.get(name)
        x = np.ones((4, 4))
        for call in (lambda: K.activation_forward(x, "tanh", n_threads=bad),
                     lambda: K.softmax(x, n_threads=bad),
                     lambda: K.mse(x, x, n_threads=bad),
                     lambda: K.sgd_update(x.copy(), x, n_threads=bad)):
            with pytest.raises(error, match="n_threads"):
                call()


def test_train_plan_refuses_buffers_that_alias():
    """The raw TrainPlan took dW is W, exp_avg is W, G is A, exp_avg_sq is exp_avg and a batch
    buffer viewing X: wrong losses, and in the last case the caller's X overwritten."""
    from fastlin._kernels._codes import LossKind, OptimizerKind
    from fastlin._kernels.train import LayerPlan, TrainPlan
    f = np.float32
    X, T = np.arange(30, dtype=f).reshape(10, 3), np.zeros((10, 2), f)
    X_before = X.copy()

    def layer(**swap):
        arrays = dict(W=np.zeros(6, f), b=np.zeros(2, f), dW=np.zeros(6, f), db=np.zeros(2, f),
                      A=np.zeros(8, f), G=np.zeros(8, f), state1_W=np.zeros(6, f),
                      state1_b=np.zeros(2, f), state2_W=np.zeros(6, f), state2_b=np.zeros(2, f))
        for name, other in swap.items():
            arrays[name] = arrays[other]
        return LayerPlan(n_out=2, **arrays)

    def plan(spec, batch_X=None):
        return TrainPlan(X, [spec], batch=4, loss_kind=LossKind.MSE, target=T,
                         opt_kind=OptimizerKind.ADAM, lr=0.1, n_threads=1,
                         parallel_min=1 << 18, parallel_min_cheap=1 << 22,
                         parallel_min_adam=1 << 20,
                         batch_X=np.zeros((4, 3), f) if batch_X is None else batch_X,
                         batch_labels=np.zeros(4, np.int64), batch_target=np.zeros((4, 2), f),
                         batch_weight=np.zeros(4, f))

    plan(layer())  # the same arrays, each its own: fine
    for swap in ({"dW": "W"}, {"state1_W": "W"}, {"G": "A"}, {"state2_W": "state1_W"}):
        with pytest.raises(ValueError, match="share memory"):
            plan(layer(**swap))
    with pytest.raises(ValueError, match="share memory"):
        plan(layer(), batch_X=X[:4])
    np.testing.assert_array_equal(X, X_before)


def test_byte_span_is_numpys_byte_bounds():
    """The plan's alias check reads each buffer's byte range through checks.byte_span; it must
    be NumPy's byte_bounds for every layout: views, steps, negative strides, Fortran order,
    0-d arrays, and None for an empty one."""
    from fastlin._kernels.checks import byte_span
    base = np.arange(240, dtype=np.float64).reshape(12, 20)
    cases = [base, base[2:7, 3:11], base[::3, ::-2], base.T, base[::-1], base[5, 4:9],
             np.asfortranarray(base), np.array(3.0, np.float32),
             np.zeros((4, 0)), base[:, 5], np.lib.stride_tricks.as_strided(base, (3, 4), (0, 8))]
    for a in cases:
        expected = None if a.size == 0 else tuple(np.lib.array_utils.byte_bounds(a))
        assert byte_span(a) == expected, a.strides
    with pytest.raises(TypeError):
        byte_span([1.0, 2.0])


def test_first_overlap_finds_every_aliasing_pair_a_brute_force_finds():
    """The plan's alias check (checks.first_overlap) against all pairs: views of one buffer
    at random offsets and lengths, some written; a pair may overlap when neither is written."""
    from fastlin._kernels.checks import first_overlap
    rng = np.random.default_rng(5)
    base = np.zeros(400)
    for _ in range(300):
        k = int(rng.integers(1, 9))
        views, written = [], []
        for _ in range(k):
            start = int(rng.integers(0, 390))
            views.append(base[start:start + int(rng.integers(0, 40))])
            written.append(bool(rng.random() < 0.4))
        brute = any(
            (written[i] or written[j]) and a.size and b.size and np.shares_memory(a, b)
            for i, a in enumerate(views) for j, b in enumerate(views) if i < j)
        got = first_overlap(views, written)
        assert (got is not None) == brute
        if got is not None:
            i, j = got
            assert (written[i] or written[j]) and np.shares_memory(views[i], views[j])
