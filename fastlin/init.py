"""Weight initialisers on a numpy.random.Generator.

Weights are always drawn in float64 and then rounded to the model's dtype, so the same seed
gives the same weights whatever the dtype (up to rounding) and whatever the backend.
"""
import numpy as np

INITS = ("he", "glorot", "lecun", "uniform", "zeros")


def initial_weights(init, in_features, out_features, rng):
    """Return (W of shape (in_features, out_features), b of shape (out_features,)) in float64.

    he: N(0, 2/in) (for ReLU); glorot: U(±sqrt(6/(in+out))) (for tanh/sigmoid); lecun: N(0, 1/in);
    uniform: PyTorch's nn.Linear default, W and b ~ U(±1/sqrt(in)); zeros: all zeros.
    Biases are zero except for "uniform".
    """
    shape = (in_features, out_features)
    b = np.zeros(out_features)
    if init == "he":
        W = rng.standard_normal(shape) * np.sqrt(2.0 / max(in_features, 1))
    elif init == "glorot":
        limit = np.sqrt(6.0 / max(in_features + out_features, 1))
        W = rng.uniform(-limit, limit, shape)
    elif init == "lecun":
        W = rng.standard_normal(shape) * np.sqrt(1.0 / max(in_features, 1))
    elif init == "uniform":
        limit = 1.0 / np.sqrt(max(in_features, 1))
        W = rng.uniform(-limit, limit, shape)
        b = rng.uniform(-limit, limit, out_features)
    elif init == "zeros":
        W = np.zeros(shape)
    else:
        raise ValueError(f"unknown init {init!r}; choose one of {', '.join(INITS)}")
    return W, b
