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


@pytest.mark.parametrize("make", ["ReLU", "PReLU", "Dropout", "Identity"])
def test_model_without_dense_layer_says_so(make):
    """Sequential(ReLU()) has no input width: predict (and a saved-and-loaded copy's predict)
    used to fail with "'NoneType' object cannot be interpreted as an integer"; every call
    now refuses with the words export already used."""
    import fastlin
    layer = getattr(fastlin, make)()
    model = fastlin.Sequential(layer)
    X = np.ones((2, 3), np.float32)
    for call in (lambda: model.predict(X), lambda: model.forward(X),
                 lambda: model.evaluate(X, np.zeros((2, 3), np.float32), loss="mse")):
        with pytest.raises(ValueError, match="no Dense layer"):
            call()
