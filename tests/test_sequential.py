"""Sequential/MLP through the public API: building a model (widths that chain, one place per
layer object, one dtype), fit and evaluate with their targets and weights, the input checks,
save/load. Layers on their own: test_layers.py; optimizers: test_optim.py."""
import tracemalloc

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import fastlin
from fastlin import (MLP, SGD, Adam, BCEWithLogitsLoss, Dense, LeakyReLU, PReLU, ReLU,
                     Sequential, Sigmoid, SoftmaxCrossEntropyLoss, Tanh, Abs, Identity)


def blobs(rng, n=300, d=5, k=3):
    centers = rng.standard_normal((k, d)) * 3
    y = rng.integers(0, k, n)
    return (centers[y] + rng.standard_normal((n, d))).astype(np.float32), y


def test_seed_reinitialises_and_is_dtype_independent():
    a = MLP([5, 7, 2], seed=11, dtype="float32")
    b = MLP([5, 7, 2], seed=11, dtype="float64", backend="numpy")
    for p, q in zip(a.parameters(), b.parameters()):
        assert_allclose(p, q.astype(np.float32), rtol=0)
    d = Dense(2, 2)
    d.W = [[1, 2], [3, 4]]
    kept = Sequential(d)
    assert_array_equal(kept.layers[0].W, [[1, 2], [3, 4]])


def test_mlp_structure():
    m = MLP([784, 256, 10], activation="relu")
    assert [type(l).__name__ for l in m.layers] == ["Dense", "ReLU", "Dense"]
    assert m.count_params() == 784 * 256 + 256 + 256 * 10 + 10
    assert "total params: 203530" in repr(m)


@pytest.mark.parametrize("act", [ReLU, Sigmoid, Tanh, Abs, Identity, lambda: LeakyReLU(0.1),
                                 lambda: PReLU(6), lambda: LeakyReLU(-0.2)])
def test_fused_and_unfused_paths_agree_with_numpy_backend(act, rng):
    X = rng.standard_normal((9, 4))
    G = rng.standard_normal((9, 3))
    outs = []
    for backend in ("cython", "numpy"):
        net = Sequential(Dense(4, 6), act(), Dense(6, 3), dtype="float64", seed=1, backend=backend)
        y = net.forward(X).copy()
        gx = net.backward(G).copy()
        outs.append((y, gx, [g.copy() for g in net.gradients()]))
    (y1, g1, p1), (y2, g2, p2) = outs
    assert_allclose(y1, y2, rtol=1e-12)
    assert_allclose(g1, g2, rtol=1e-11, atol=1e-12)
    for a, b in zip(p1, p2):
        assert_allclose(a, b, rtol=1e-11, atol=1e-12)


def test_backward_overwrites_gradients(rng):
    net = MLP([3, 4, 2], seed=0, dtype="float64")
    X = rng.standard_normal((5, 3))
    G = rng.standard_normal((5, 2))
    net.forward(X)
    net.backward(G)
    first = [g.copy() for g in net.gradients()]
    net.forward(X)
    net.backward(G)
    for a, b in zip(first, net.gradients()):
        assert_array_equal(a, b)


def test_predict_returns_a_copy(rng):
    net = MLP([3, 4, 2], seed=0)
    X = rng.standard_normal((5, 3)).astype(np.float32)
    a = net.predict(X)
    a[:] = 99
    assert not (net.predict(X) == 99).any()


@pytest.mark.parametrize("backend", ["cython", "numpy"])
def test_fit_classifies_and_records_history(backend, rng):
    X, y = blobs(rng)
    net = MLP([5, 16, 3], seed=0, backend=backend)
    h = net.fit(X, y, loss=SoftmaxCrossEntropyLoss(), optimizer="adam", lr=0.01, epochs=15,
                batch_size=32, validation_data=(X[:50], y[:50]), seed=0)
    assert set(h.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"}
    assert h.history["learning_rate"] == [pytest.approx(0.01)] * 15
    # 0-based, as Keras's History.epoch
    assert len(h.history["loss"]) == 15 and h.epoch == list(range(15))
    assert h.history["loss"][-1] < h.history["loss"][0]
    assert net.evaluate(X, y)["accuracy"] > 0.9
    proba = net.predict_proba(X)
    assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)


def test_backends_give_the_same_training(rng):
    X, y = blobs(rng, n=128)
    res = []
    for backend in ("cython", "numpy"):
        net = MLP([5, 8, 3], seed=4, backend=backend, dtype="float64")
        net.fit(X, y, optimizer=SGD(net.parameters(), lr=0.05, momentum=0.9, backend=backend),
                loss="cross_entropy", epochs=3, batch_size=16, seed=1)
        res.append(net.parameters())
    for a, b in zip(*res):
        assert_allclose(a, b, rtol=1e-9, atol=1e-11)


def test_fit_is_bitwise_deterministic(rng):
    X, y = blobs(rng, n=500)
    runs = []
    for _ in range(2):
        net = MLP([5, 32, 3], seed=7)
        net.fit(X, y, loss="cross_entropy", optimizer="adam", epochs=3, batch_size=20, seed=5)
        runs.append([p.copy() for p in net.parameters()])
    for a, b in zip(*runs):
        assert_array_equal(a, b)


def test_regression_target_1d_or_column(rng):
    X = rng.standard_normal((100, 3)).astype(np.float32)
    y = X @ np.array([1.0, -1.0, 0.5], np.float32)
    for target in (y, y.reshape(-1, 1)):
        net = MLP([3, 1], seed=0)
        h = net.fit(X, target, loss="mse", optimizer="sgd", lr=0.1, epochs=30, batch_size=10)
        assert h.history["loss"][-1] < 1e-3


def test_binary_classification_with_bce(rng):
    X = rng.standard_normal((200, 2)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.float32)
    net = MLP([2, 8, 1], seed=0)
    h = net.fit(X, y, loss=BCEWithLogitsLoss(), optimizer="adam", lr=0.02, epochs=30)
    assert h.history["accuracy"][-1] > 0.95
    assert set(np.unique(net.predict_classes(X))) <= {0, 1}


def test_nan_loss_stops_with_finite_weights(rng):
    X = rng.standard_normal((64, 3)).astype(np.float32) * 100
    y = rng.standard_normal(64).astype(np.float32) * 1e6
    net = MLP([3, 16, 1], seed=0)
    with pytest.raises(FloatingPointError, match=r"epoch \d+, batch \d+"):
        net.fit(X, y, loss="mse", optimizer="sgd", lr=10.0, epochs=50, batch_size=8)
    assert all(np.isfinite(p).all() for p in net.parameters())


def test_early_stopping_restores_best(rng):
    X, _ = blobs(rng, n=200)
    y = rng.integers(0, 3, 200)  # random labels: validation loss soon rises as the net overfits
    net = MLP([5, 64, 3], seed=0)
    h = net.fit(X, y, loss="cross_entropy", optimizer="adam", lr=0.05, epochs=200,
                validation_split=0.25, early_stopping=True, patience=3)
    assert len(h.epoch) < 200
    best = min(h.history["val_loss"])
    assert_allclose(net.evaluate(X[150:], y[150:])["loss"], best, rtol=1e-4)


def test_class_and_sample_weight(rng):
    X, y = blobs(rng, n=200)
    net = MLP([5, 8, 3], seed=0)
    net.fit(X, y, loss="cross_entropy", epochs=2, class_weight={0: 2.0}, sample_weight=np.ones(200))
    with pytest.raises(ValueError, match="class_weight names class 7"):
        net.fit(X, y, loss="cross_entropy", epochs=1, class_weight={7: 1.0})


def test_warm_training_step_allocates_no_arrays(rng):
    X, y = blobs(rng, n=256)
    X = X.astype(np.float32)
    net = MLP([5, 64, 3], seed=0)
    loss = SoftmaxCrossEntropyLoss()
    opt = Adam(net.parameters())
    xb, yb = X[:32], y[:32]

    def step():
        out = net.forward(xb)
        loss.forward(out, yb)
        net.backward(loss.backward(), need_input_grad=False)
        opt.step()

    for _ in range(3):
        step()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for _ in range(20):
        step()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(s.size_diff for s in after.compare_to(before, "filename") if s.size_diff > 0)
    assert grown < 4096, f"{grown} bytes allocated and kept over 20 steps"
    big = [s for s in after.compare_to(before, "lineno") if s.size_diff > 1024]
    assert not big


@pytest.mark.parametrize("bad,exc,msg", [
    (np.ones(5), ValueError, "X must be 2-D"),
    (np.ones((0, 5)), ValueError, "X is empty"),
    (np.full((3, 5), np.nan), ValueError, "NaN or infinity"),
    (np.full((3, 5), np.inf, dtype=np.float32), ValueError, "NaN or infinity"),
    (np.ones((3, 4)), ValueError, "X has 4 features, but the model expects 5"),
    (np.array([["a"] * 5]), TypeError, "X must hold numbers"),
])
def test_bad_input_errors_leave_weights_alone(bad, exc, msg, rng):
    net = MLP([5, 4, 2], seed=0)
    before = [p.copy() for p in net.parameters()]
    with pytest.raises(exc, match=msg):
        net.fit(bad, np.zeros(len(bad), dtype=int), loss="cross_entropy")
    with pytest.raises(exc, match=msg):
        net.predict(bad)
    for a, b in zip(before, net.parameters()):
        assert_array_equal(a, b)


def test_bad_targets(rng):
    net = MLP([5, 4, 2], seed=0)
    X = np.ones((4, 5), np.float32)
    with pytest.raises(ValueError, match="X has 4 samples but y has 3"):
        net.fit(X, np.zeros(3, int), loss="cross_entropy")
    with pytest.raises(ValueError, match="label 5, outside"):
        net.fit(X, np.array([0, 1, 5, 1]), loss="cross_entropy")
    with pytest.raises(ValueError, match="y contains NaN"):
        net.fit(X, np.array([0, 1, np.nan, 1]), loss="mse")


def test_save_load_roundtrip(tmp_path, rng):
    net = Sequential(Dense(4, 6), PReLU(6), Dense(6, 3), LeakyReLU(0.2), Dense(3, 2), seed=0)
    X = rng.standard_normal((5, 4)).astype(np.float32)
    path = tmp_path / "m.npz"
    net.save(path)
    back = fastlin.load(path)
    assert [type(l) for l in back.layers] == [type(l) for l in net.layers]
    assert_array_equal(back.predict(X), net.predict(X))


@pytest.mark.parametrize("content", [b"", b"not a zip", b"PK\x03\x04garbage"])
def test_load_rejects_damaged_files(tmp_path, content):
    path = tmp_path / "bad.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError):
        fastlin.load(path)


def test_load_rejects_foreign_and_pickled_files(tmp_path):
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, a=np.ones(3))
    with pytest.raises(ValueError, match="not a fastlin model"):
        fastlin.load(foreign)
    hostile = tmp_path / "hostile.npz"
    np.savez(hostile, __fastlin_format__=np.array(1), __architecture__=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ValueError):
        fastlin.load(hostile)
    truncated = tmp_path / "trunc.npz"
    net = MLP([3, 2], seed=0)
    net.save(tmp_path / "ok.npz")
    truncated.write_bytes((tmp_path / "ok.npz").read_bytes()[:200])
    with pytest.raises(ValueError):
        fastlin.load(truncated)


def test_openmp_and_threads_api():
    assert isinstance(fastlin.openmp_enabled(), bool)
    fastlin.set_num_threads(1)
    assert fastlin.get_num_threads() == 1
    fastlin.set_num_threads(None)
    with pytest.raises(ValueError):
        fastlin.set_num_threads(0)


def _python_loop_only(monkeypatch):
    from fastlin.training import compiled as compiled_loop
    monkeypatch.setattr(compiled_loop.CompiledLoop, "build", classmethod(lambda cls, *a: None))


@pytest.mark.parametrize("case", ["ce_sgd", "ce_probs_adam", "bce_adamw", "mse_nesterov", "ce_weighted"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_compiled_loop_matches_python_loop_bitwise(monkeypatch, rng, case, dtype):
    """The compiled epoch loop runs the same kernels in the same order as the Python loop."""
    X, y = blobs(rng, n=203)
    acts = {"ce_sgd": ReLU(), "ce_probs_adam": Tanh(), "bce_adamw": LeakyReLU(0.1),
            "mse_nesterov": Sigmoid(), "ce_weighted": ReLU()}

    def run():
        out = 1 if case in ("bce_adamw", "mse_nesterov") else 3
        net = Sequential(Dense(5, 16), acts[case], Dense(16, 8), Tanh(), Dense(8, out),
                         seed=3, dtype=dtype)
        kw = {}
        if case == "ce_sgd":
            loss, opt, target = SoftmaxCrossEntropyLoss(), SGD(net.parameters(), lr=0.05, momentum=0.9), y
        elif case == "ce_probs_adam":
            loss, opt, target = SoftmaxCrossEntropyLoss(label_smoothing=0.1), Adam(net.parameters(), lr=0.01), np.eye(3)[y]
        elif case == "bce_adamw":
            loss, opt = BCEWithLogitsLoss(pos_weight=2.0), fastlin.AdamW(net.parameters(), lr=0.01)
            target = (y == 1).astype(np.float32)
        elif case == "mse_nesterov":
            loss = fastlin.MSELoss()
            opt = SGD(net.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3)
            target = y.astype(np.float32)
        else:
            loss = SoftmaxCrossEntropyLoss(class_weight=[1.0, 2.0, 0.5])
            opt, target = Adam(net.parameters(), lr=0.01, weight_decay=1e-3), y
            kw = dict(sample_weight=rng.uniform(0.5, 1.5, len(y)))
        h = net.fit(X, target, loss=loss, optimizer=opt, epochs=3, batch_size=32, seed=9, **kw)
        return [p.copy() for p in net.parameters()], h.history

    kw_rng = rng.bit_generator.state
    compiled_params, compiled_hist = run()
    rng.bit_generator.state = kw_rng
    _python_loop_only(monkeypatch)
    python_params, python_hist = run()
    for a, b in zip(compiled_params, python_params):
        assert_array_equal(a, b)
    for key in python_hist:
        assert_allclose(compiled_hist[key], python_hist[key], rtol=1e-6)


def test_compiled_loop_is_used_and_stops_on_nan(rng):
    from fastlin.training import compiled as compiled_loop
    X = rng.standard_normal((64, 3)).astype(np.float32) * 100
    y = rng.standard_normal(64).astype(np.float32) * 1e6
    net = MLP([3, 16, 1], seed=0)
    opt = SGD(net.parameters(), lr=10.0)
    assert compiled_loop.CompiledLoop.build(net, fastlin.MSELoss(), opt, 8, X, y.reshape(-1, 1),
                                          None) is not None
    with pytest.raises(FloatingPointError, match=r"epoch \d+, batch \d+"):
        net.fit(X, y, loss="mse", optimizer=opt, epochs=50, batch_size=8)
    assert all(np.isfinite(p).all() for p in net.parameters())


def test_compiled_loop_without_bias_matches_python_loop(monkeypatch, rng):
    X, y = blobs(rng, n=100)

    def run():
        net = Sequential(Dense(5, 8, bias=False), ReLU(), Dense(8, 3, bias=False), seed=2)
        net.fit(X, y, loss="cross_entropy", optimizer=SGD(net.parameters(), lr=0.1, momentum=0.5),
                epochs=2, batch_size=16, seed=1)
        return [p.copy() for p in net.parameters()]

    compiled = run()
    _python_loop_only(monkeypatch)
    for a, b in zip(compiled, run()):
        assert_array_equal(a, b)


def test_save_uses_the_exact_path(tmp_path, rng):
    net = MLP([3, 2], seed=0)
    path = tmp_path / "model.bin"
    net.save(str(path))
    assert path.exists() and not (tmp_path / "model.bin.npz").exists()
    X = rng.standard_normal((2, 3)).astype(np.float32)
    assert_array_equal(fastlin.load(str(path)).predict(X), net.predict(X))


@pytest.mark.parametrize("compiled", [True, False])
def test_fit_stops_when_the_last_update_leaves_a_weight_infinite(monkeypatch, compiled):
    """The loss of the only batch is finite (1e38 in double) but its gradient overflows float32,
    so the update writes -inf into W: fit must raise and put back the epoch's starting weights,
    on the compiled loop (which checks its weights in C) as on the Python loop."""
    if not compiled:
        _python_loop_only(monkeypatch)
    net = fastlin.Sequential(fastlin.Dense(1, 1), seed=0)
    start = [p.copy() for p in net.parameters()]
    X, y = np.array([[1e20]], np.float32), np.array([[0.0]], np.float32)
    with pytest.raises(fastlin.NonFiniteLossError, match="epoch 1, batch 0"):
        net.fit(X, y, loss="mse", optimizer=SGD(net.parameters(), lr=1.0), epochs=3,
                batch_size=1, shuffle=False)
    for p, s in zip(net.parameters(), start):
        assert_array_equal(p, s)


def test_train_plan_refuses_inconsistent_descriptions(tiny_plan_parts):
    from fastlin._kernels._codes import Activation, LossKind, PlanStatus
    from fastlin._kernels.train import TrainPlan
    X, T, ok_layer, settings = tiny_plan_parts
    f = np.float32
    settings = dict(settings, target=T)

    def plan(layer=ok_layer, batch=4, loss_kind=LossKind.MSE, Xa=X):
        return TrainPlan(Xa, [layer], batch=batch, loss_kind=loss_kind, **settings)

    p = plan()
    for order in (np.array([0] * 9, np.int64), np.arange(10) - 1, np.arange(10) + 1):
        with pytest.raises(ValueError, match="order"):
            p.run(order.astype(np.int64), 0, 2, 0, 0.01)
    with pytest.raises(ValueError, match="batch range"):
        p.run(np.arange(10, dtype=np.int64), 0, 4, 0, 0.01)
    bad_W = ok_layer._replace(W=np.zeros(5, f))
    with pytest.raises(ValueError, match="inconsistent"):
        plan(bad_W)
    with pytest.raises(ValueError, match="batch buffers"):
        plan(batch=5)
    with pytest.raises(ValueError, match="activation"):
        plan(ok_layer._replace(activation=Activation.PRELU))
    with pytest.raises(ValueError, match="loss kind"):
        plan(loss_kind=7)
    with pytest.raises(TypeError, match="LayerPlan"):  # a positional tuple: fields by name only
        plan(tuple(ok_layer))
    with pytest.raises(ValueError):  # float64 data against float32 buffers
        plan(Xa=X.astype(np.float64))
    status, out = p.run(np.arange(10, dtype=np.int64), 0, 2, 0, 0.01)
    assert status == PlanStatus.OK and out[3] == 2
    half_built = TrainPlan.__new__(TrainPlan)
    with pytest.raises(ValueError, match="not built"):
        half_built.run(np.arange(10, dtype=np.int64), 0, 1, 0, 0.01)
    with pytest.raises(ValueError, match="inconsistent"):
        p.__init__(X, [ok_layer, bad_W], batch=4, loss_kind=LossKind.MSE, **settings)
    with pytest.raises(ValueError, match="not built"):
        p.run(np.arange(10, dtype=np.int64), 0, 1, 0, 0.01)



@pytest.mark.parametrize("sizes", [[25, 1], [25, 16, 1]])
def test_fit_peak_memory_is_the_order_plus_small_buffers(sizes):
    """Beyond the data, fit allocates the epoch order (8 bytes per row), one batch and the
    model's buffers: no temporary the size of X (NumPy's isfinite(X).all() used to add a
    boolean array a quarter of a float32 X). X is 2 MB; the bound allows the order plus 100 kB."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20000, 25)).astype(np.float32)
    y = (X[:, :1] > 0).astype(np.float32)
    net = MLP(sizes, seed=0)
    net.fit(X, y, loss="bce", optimizer="sgd", epochs=1, batch_size=64)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        net.fit(X, y, loss="bce", optimizer="sgd", epochs=2, batch_size=64)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert peak < X.shape[0] * 8 + 100_000, f"fit's peak allocation was {peak} bytes"


def test_all_finite_scan_agrees_with_numpy():
    from fastlin._checks import all_finite
    rng = np.random.default_rng(1)
    for dtype in (np.float32, np.float64):
        for n in (1, 31, 32, 33, 4095, 4096, 4097, 10000):
            x = rng.standard_normal(n).astype(dtype)
            assert all_finite(x)
            for bad in (np.nan, np.inf, -np.inf):
                for where in {0, n // 2, n - 1}:
                    y = x.copy()
                    y[where] = bad
                    assert not all_finite(y), (dtype, n, bad, where)
    big = np.full((3, 4), np.finfo(np.float32).max, np.float32)
    assert all_finite(big)  # huge but finite: no false alarm from overflow
    assert all_finite(np.arange(5)) and all_finite(np.ones((4, 3)).T)  # NumPy fallback


def test_row_scan_reads_the_rows_it_is_given_in_their_order():
    """checks.all_finite_rows (the benchmarks' floor of a shuffled epoch) against NumPy on the
    rows it names, every column layout of its 32 lanes, and its refusals."""
    from fastlin._kernels import checks
    rng = np.random.default_rng(2)
    for dtype in (np.float32, np.float64):
        for d in (1, 31, 32, 33, 100):
            X = rng.standard_normal((50, d)).astype(dtype)
            order = rng.permutation(50)
            assert checks.all_finite_rows(X, order) and checks.all_finite_rows(X, order[:0])
            for bad in (np.nan, np.inf):
                Y = X.copy()
                Y[order[30], d - 1] = bad
                assert not checks.all_finite_rows(Y, order)
                assert checks.all_finite_rows(Y, order[:30])  # the bad row is not among them
    X = np.ones((5, 3), np.float32)
    for rows in (np.array([5]), np.array([-1])):
        with pytest.raises(ValueError, match="outside"):
            checks.all_finite_rows(X, rows)
    with pytest.raises(ValueError, match="C-contiguous"):
        checks.all_finite_rows(np.ones((4, 3)).T, np.arange(3))


def test_sequential_refuses_layers_whose_widths_do_not_chain(tmp_path):
    # built silently, then failed at the first fit with "TrainPlan: layer 1 buffers have
    # inconsistent sizes" (or a kernel's shape message at predict)
    with pytest.raises(ValueError, match="layer 2 \\(Dense\\) takes 5 features but the layer "
                                         "before it gives 6"):
        fastlin.Sequential(fastlin.Dense(4, 6), fastlin.ReLU(), fastlin.Dense(5, 2))
    with pytest.raises(ValueError, match="layer 1 \\(PReLU\\) has 5 slopes for 6 units"):
        fastlin.Sequential(fastlin.Dense(4, 6), fastlin.PReLU(5), fastlin.Dense(6, 2))
    fastlin.Sequential(fastlin.Dense(4, 6), fastlin.PReLU(6), fastlin.Dropout(0.1),
                       fastlin.Dense(6, 2), fastlin.PReLU(1))
    # a file whose stored layers do not chain is refused by load with the file named
    import zipfile
    model = fastlin.Sequential(fastlin.Dense(4, 6), fastlin.ReLU(), fastlin.Dense(6, 6), seed=0)
    path = tmp_path / "m.npz"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        entries = {name: zf.read(name) for name in zf.namelist()}
    stored = b'"in_features": 6, "out_features": 6'
    assert stored in entries["__architecture__.npy"]
    bad = tmp_path / "bad.npz"
    with zipfile.ZipFile(bad, "w") as zf:
        for name, data in entries.items():
            if name == "__architecture__.npy":
                data = data.replace(stored, b'"in_features": 5, "out_features": 6')
            elif name == "param_2_0.npy":  # the weight of the shape the header now states
                import io
                buf = io.BytesIO()
                np.save(buf, np.zeros((5, 6), np.float32))
                data = buf.getvalue()
            zf.writestr(name, data)
    with pytest.raises(ValueError, match="bad.npz.*do not fit together"):
        fastlin.load(bad)


@pytest.mark.parametrize("n_outputs", [1, 3])
def test_a_column_of_labels_trains_as_the_vector_does(n_outputs):
    # y of shape (n, 1): one output inferred MSE where (n,) infers binary cross-entropy (a
    # different objective, no accuracy); three outputs raised "y has 1 columns but the model
    # has 3 outputs", also with loss="cross_entropy"
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    y = (X[:, 0] > 0).astype(int) if n_outputs == 1 else rng.integers(0, 3, 50)
    vector, column = (fastlin.MLP([3, 4, n_outputs], seed=0) for _ in range(2))
    h_vector = vector.fit(X, y, epochs=2, seed=0, validation_data=(X, y))
    h_column = column.fit(X, y.reshape(-1, 1), epochs=2, seed=0,
                          validation_data=(X, y.reshape(-1, 1)))
    assert type(column.loss_) is type(vector.loss_)
    assert h_column.history == h_vector.history and "accuracy" in h_column.history
    for a, b in zip(vector.parameters(), column.parameters()):
        np.testing.assert_array_equal(a, b)
    assert column.evaluate(X, y.reshape(-1, 1)) == vector.evaluate(X, y)


def test_fit_class_weight_is_checked_like_sample_weight():
    X, y = np.eye(3), np.array([0, 1, 2])
    model = fastlin.MLP([3, 3], seed=0)
    before = [p.copy() for p in model.parameters()]
    for bad, msg in (({0: -1.0}, "class_weight\\[0\\] must be >= 0"),
                     ({0: np.nan}, "class_weight\\[0\\] must be finite"),
                     ({"a": 1.0}, "names class 'a'"), ({1.5: 1.0}, "names class 1.5"),
                     ({3: 1.0}, "names class 3")):
        with pytest.raises(ValueError, match=msg):
            model.fit(X, y, class_weight=bad, epochs=1)
    for p, q in zip(model.parameters(), before):
        np.testing.assert_array_equal(p, q)
    model.fit(X, y, class_weight={np.int64(0): 2, 1.0: 0.5}, epochs=1)  # ints, whole floats


def test_evaluate_with_a_class_weighted_loss_is_the_mean_over_all_rows():
    # evaluate averages blocks of 4096 rows; it weighted each block's mean by its row count
    # (or Σ sample_weight) although a class-weighted mean divides by Σ sw·class_weight[y]:
    # 1.160 for a loss of 1.366 here, and the same error in val_loss of a large validation set
    rng = np.random.default_rng(0)
    n = 9000
    X = rng.normal(size=(n, 3))
    y = np.where(np.arange(n) < 4096, 0, rng.integers(0, 3, n))
    model = fastlin.MLP([3, 5, 3], seed=0, dtype="float64")
    loss = fastlin.SoftmaxCrossEntropyLoss(class_weight=[0.1, 1.0, 3.0])
    sw = rng.uniform(0, 2, n)
    out = model.predict(X)
    assert model.evaluate(X, y, loss=loss)["loss"] == pytest.approx(
        loss.forward(out, y), rel=1e-12)
    assert model.evaluate(X, y, loss=loss, sample_weight=sw)["loss"] == pytest.approx(
        loss.forward(out, y, sample_weight=sw), rel=1e-12)
    sw[:4096] = 0  # a block of zero weight adds nothing
    assert model.evaluate(X, y, loss=loss, sample_weight=sw)["loss"] == pytest.approx(
        loss.forward(out, y, sample_weight=sw), rel=1e-12)
    with pytest.raises(ValueError, match="total weight"):
        model.evaluate(X, y, sample_weight=np.zeros(n))


def test_layer_shared_with_a_model_of_another_dtype_is_refused_by_name():
    """Sequential(dtype="float64") converts the layers it is given; a float32 model sharing
    one of them used to fail deep in a kernel ("Buffer dtype mismatch") in predict, fit and
    evaluate, and forward silently returned float64. Now each call names the layer."""
    from fastlin import Dense, ReLU, Sequential
    shared = Dense(3, 2, seed=0)
    m32 = Sequential(shared, ReLU())
    Sequential(shared, ReLU(), dtype="float64")
    X = np.ones((4, 3), np.float32)
    y = np.zeros((4, 2), np.float32)
    before = shared.W.copy()
    for call in (lambda: m32.predict(X), lambda: m32.forward(X),
                 lambda: m32.evaluate(X, y, loss="mse"),
                 lambda: m32.fit(X, y, loss="mse", optimizer="sgd", epochs=1, verbose=0)):
        with pytest.raises(ValueError, match=r"layer 0 \(Dense\) is float64 but the model is float32"):
            call()
    np.testing.assert_array_equal(shared.W, before)


def test_a_layer_used_twice_in_one_model_is_refused():
    """Sequential(d, ReLU(), d) ran, but d kept one gradient: backward left dW of the second
    use only (off by 100% of the central-difference gradient) and parameters() listed W twice,
    so fit stepped it twice with the wrong gradient; (d, r, d, r) failed inside the kernel
    with "out must not overlap X". A layer may now appear once per model."""
    import fastlin
    d = fastlin.Dense(3, 3, seed=0)
    r = fastlin.ReLU()
    with pytest.raises(ValueError, match="layer 2 is the same Dense object as layer 0"):
        fastlin.Sequential(d, fastlin.ReLU(), d)
    with pytest.raises(ValueError, match="layer 3 is the same ReLU object as layer 1"):
        fastlin.Sequential(d, r, fastlin.Dense(3, 3), r)


def test_values_beyond_float32_say_so():
    """A finite 1e39 given to a float32 model was reported as "X contains NaN or infinity";
    the message now says the value is beyond float32's range."""
    import warnings
    import fastlin
    sp = pytest.importorskip("scipy.sparse")
    model = fastlin.MLP([2, 3, 1], seed=0)
    X = np.array([[1e39, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's overflow-in-cast warning
        for given in (X, sp.csr_matrix(X)):
            with pytest.raises(ValueError, match="beyond the range of float32"):
                model.predict(given)
    with pytest.raises(ValueError, match="NaN or infinity"):
        model.predict(np.array([[np.inf, 0.0]]))
