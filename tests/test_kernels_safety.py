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
