"""Sequential.fit / predict / evaluate on scipy.sparse input (SPEC §11): the first layer is
computed from each minibatch's sparse rows and the data set is never made dense; a matrix
whose index arrays point outside it is refused before any kernel reads it."""
import numpy as np
import pytest
import scipy.sparse as sp

import fastlin
from fastlin import MLP, SGD


def sparse_data(n=300, d=400, density=0.02, k=3, seed=0, fmt="csr"):
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=density, format=fmt, random_state=seed, dtype=np.float64)
    w = rng.standard_normal((d, k))
    y = np.asarray(X @ w).argmax(axis=1)
    return X, y


@pytest.fixture
def no_densify(monkeypatch):
    """Fail the test if any sparse matrix is turned into a dense array."""
    def refuse(self, *args, **kwargs):
        raise AssertionError("the sparse data set was densified")
    for cls in (sp.csr_matrix, sp.csc_matrix, sp.csr_array, sp.csc_array):
        monkeypatch.setattr(cls, "toarray", refuse)
        monkeypatch.setattr(cls, "todense", refuse)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("backend", ["cython", "numpy"])
def test_sparse_fit_matches_dense_fit(fmt, backend, monkeypatch):
    X, y = sparse_data(fmt=fmt)
    dense = X.toarray()
    results = []
    for data in (dense, X):
        model = MLP([400, 32, 3], seed=0, backend=backend, dtype="float64")
        opt = SGD(model.parameters(), lr=0.1, momentum=0.9, backend=backend)
        h = model.fit(data, y, optimizer=opt, epochs=3, batch_size=32, seed=1,
                      validation_split=0.2)
        results.append((model, h))
    (md, hd), (ms, hs) = results
    # the same batches and updates; only the first product's summation order differs
    for p, q in zip(md.parameters(), ms.parameters()):
        np.testing.assert_allclose(p, q, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(hd.history["val_loss"], hs.history["val_loss"], rtol=1e-9)
    np.testing.assert_allclose(md.predict(dense), ms.predict(X), rtol=1e-9, atol=1e-12)


def test_sparse_never_densified_in_fit_predict_evaluate(no_densify):
    X, y = sparse_data(n=400, d=5000, density=0.002)
    model = MLP([5000, 16, 3], seed=0)
    h = model.fit(X, y, epochs=5, batch_size=16, validation_data=(X[:50], y[:50]))
    assert np.isfinite(h.history["loss"]).all()
    out = model.predict(X)
    assert out.shape == (400, 3) and out.dtype == np.float32
    assert set(model.evaluate(X, y)) == {"loss", "accuracy"}
    assert model.predict_classes(X).shape == (400,)


def test_sparse_float32_learns():
    X, y = sparse_data(n=600, d=300, density=0.05)
    model = MLP([300, 64, 3], seed=0)
    model.fit(X, y, optimizer="adam", lr=1e-2, epochs=30, batch_size=32)
    assert model.evaluate(X, y)["accuracy"] > 0.9


def test_sparse_errors_name_the_problem():
    model = MLP([10, 4, 2], seed=0)
    with pytest.raises(ValueError, match="features"):
        model.predict(sp.random(3, 11, density=0.5, format="csr"))
    bad = sp.random(3, 10, density=0.5, format="csr")
    bad.data[0] = np.nan
    with pytest.raises(ValueError, match="NaN|finite"):
        model.fit(bad, [0, 1, 0], epochs=1)
    with pytest.raises(TypeError, match="Dense"):
        fastlin.Sequential(fastlin.ReLU(), fastlin.Dense(10, 2)).predict(
            sp.random(3, 10, density=0.5, format="csr"))


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
