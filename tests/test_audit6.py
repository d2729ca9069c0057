"""Regression tests for the defects the sixth audit found (one test per defect)."""
import numpy as np
import pytest

from fastlin import backend


@pytest.mark.parametrize("kernel", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_of_rows_without_classes_is_empty_in_both_backends(kernel, dtype):
    """A (3, 0) input has nothing to normalise: both backends return the empty (3, 0) output,
    as torch.softmax does, instead of the NumPy twin failing inside numpy's max."""
    x = np.empty((3, 0), dtype)
    for name in ("cython", "numpy"):
        out = getattr(backend.get(name), kernel)(x)
        assert out.shape == (3, 0) and out.dtype == dtype


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


def _malformed(kind):
    """A 4x4 sparse matrix whose index arrays point outside it (SciPy does not check them
    unless asked to)."""
    sp = pytest.importorskip("scipy.sparse")
    D = np.array([[1.0, 0, 0, 2], [0, 0, 0, 0], [0, 3, 0, 0], [0, 0, 1, 0]])
    if kind == "coo":
        S = sp.coo_matrix(D)
        S.col = S.col.copy()
        S.col[0] = 4
        return S
    S = sp.csr_matrix(D) if kind != "csc" else sp.csc_matrix(D)
    S.indices, S.indptr = S.indices.copy(), S.indptr.copy()
    if kind == "negative":
        S.indices[0] = -1
    elif kind == "indptr":
        S.indptr[2:4] = S.indptr[3], S.indptr[2]  # [0, 2, 3, 2, 4]: decreasing
    else:
        S.indices[0] = 4
    return S


@pytest.mark.parametrize("kind", ["csr", "csc", "negative", "indptr", "coo"])
def test_malformed_sparse_input_is_refused_not_read_out_of_bounds(kind):
    """A CSR matrix with column index 4 in a 4-column matrix made predict read past W (rows
    of 1e248 came back) and fit corrupt the heap; now a ValueError names the malformed matrix."""
    import fastlin
    model = fastlin.MLP([4, 3, 2], seed=0, dtype="float64")
    before = [p.copy() for p in model.parameters()]
    with pytest.raises(ValueError, match="malformed"):
        model.predict(_malformed(kind))
    with pytest.raises(ValueError, match="malformed"):
        model.fit(_malformed(kind), np.array([0, 1, 0, 1]), loss="cross_entropy",
                  optimizer="sgd", epochs=1, verbose=0)
    for a, b in zip(before, model.parameters()):
        np.testing.assert_array_equal(a, b)


def test_sklearn_estimators_refuse_malformed_sparse_input():
    """fastlin.sklearn's fit on such a matrix aborted the interpreter ("corrupted size vs.
    prev_size"): run in a subprocess so the failure before the fix is a failed test."""
    pytest.importorskip("sklearn")
    import os
    import subprocess
    import sys
    code = (
        "import numpy as np, scipy.sparse as sp, warnings\n"
        "warnings.simplefilter('ignore')\n"
        "from fastlin.sklearn import MLPClassifier, MLPRegressor, LinearRegression, "
        "LogisticRegression\n"
        "D = np.array([[1., 0, 0, 2], [0, 0, 0, 0], [0, 3, 0, 0], [0, 0, 1, 0]])\n"
        "y = np.array([0, 1, 0, 1])\n"
        "for fmt in ('csr', 'csc'):\n"
        "    for est in (MLPClassifier(hidden_layer_sizes=(3,), max_iter=5), "
        "MLPRegressor(hidden_layer_sizes=(3,), max_iter=5), LinearRegression(), "
        "LogisticRegression()):\n"
        "        for step in ('fit', 'predict'):\n"
        "            S = sp.csr_matrix(D) if fmt == 'csr' else sp.csc_matrix(D)\n"
        "            S.indices = S.indices.copy(); S.indices[0] = 1000\n"
        "            try:\n"
        "                if step == 'fit': est.fit(S, y)\n"
        "                else: est.fit(D, y).predict(S)\n"
        "            except ValueError as e:\n"
        "                assert 'malformed' in str(e), e\n"
        "            else:\n"
        "                raise SystemExit(f'{fmt} {type(est).__name__} {step} accepted it')\n"
        "print('refused')\n")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 0 and "refused" in proc.stdout, proc.stdout + proc.stderr


def test_bias_free_dense_refuses_a_bias():
    """Assigning b to Dense(bias=False) stored it verbatim: predict added it, but fit never
    trained it and save never wrote it, so the loaded model predicted something else (and a
    list made predict fail inside the kernel)."""
    import fastlin
    dense = fastlin.Dense(3, 2, bias=False, seed=0)
    model = fastlin.Sequential(dense, dtype="float64")
    X = np.ones((2, 3))
    before = model.predict(X)
    for value in (np.array([5.0, 5.0]), [5.0, 5.0]):
        with pytest.raises(ValueError, match="no b to assign"):
            dense.b = value
    dense.b = None  # nothing to remove: allowed
    np.testing.assert_array_equal(model.predict(X), before)
    assert len(model.parameters()) == 1


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


def test_validation_data_errors_say_they_are_about_validation_data():
    """A wrong validation set was reported as "X has 2 features ..." or "y holds label 7",
    naming the training arrays, which were fine."""
    import fastlin
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 3)).astype(np.float32)
    y = rng.integers(0, 3, 20)
    model = fastlin.MLP([3, 4, 3], seed=0)
    bad = [((X[:, :2], y), "X has 2 features"), ((X, np.r_[y[:-1], 7]), "label 7"),
           ((X, y, np.ones(19)), "sample_weight")]
    for val, words in bad:
        with pytest.raises(ValueError, match=f"^validation_data: .*{words}"):
            model.fit(X, y, loss="cross_entropy", optimizer="sgd", epochs=1, verbose=0,
                      validation_data=val)


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
