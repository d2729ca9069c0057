"""fastlin.export: ONNX checked with onnxruntime against predict, torch against predict, and
from_torch round trips. onnx/onnxruntime (extra fastlin[onnx]) and torch are optional."""
import os
import sys

import numpy as np
import pytest

import fastlin
from fastlin import export
from fastlin.layers import Dense, Layer, LeakyReLU, PReLU, ReLU, Tanh

ACTIVATIONS = ["relu", "sigmoid", "tanh", "leaky_relu", "prelu", "abs", "identity"]


def tol(dtype):
    return dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-14)


def make_mlp(activation, dtype, seed=0):
    m = fastlin.MLP([6, 9, 7, 4], activation=activation, dtype=dtype, seed=seed)
    rng = np.random.default_rng(seed + 100)
    for layer in m.layers:
        if isinstance(layer, PReLU):  # distinct slopes per unit, so a mix-up shows
            layer.alpha = rng.uniform(0.05, 0.6, layer.alpha.shape)
        if isinstance(layer, LeakyReLU):
            layer.alpha = 0.2
    return m


def shared_prelu(dtype):
    m = fastlin.Sequential(Dense(6, 9), PReLU(1, init=0.3), Dense(9, 5, bias=False),
                           PReLU(5), Dense(5, 2), dtype=dtype, seed=3)
    m.layers[3].alpha = [0.1, 0.2, 0.3, 0.4, 0.5]
    return m


def data(dtype, n=37, d=6, seed=1):
    return np.random.default_rng(seed).standard_normal((n, d)).astype(dtype)


# ------------------------------------------------------------------------- ONNX
def ort_run(path, X):
    ort = pytest.importorskip("onnxruntime")
    sess = ort.InferenceSession(os.fspath(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == ["input"]
    return sess.run(["output"], {"input": X})[0]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_onnx_output_equals_predict(tmp_path, activation, dtype):
    pytest.importorskip("onnx")
    m = make_mlp(activation, dtype)
    path = tmp_path / "m.onnx"
    proto = export.to_onnx(m, path)
    for n in (1, 37, 300):  # the batch dimension is dynamic
        X = data(dtype, n)
        got = ort_run(path, X)
        assert got.dtype == np.dtype(dtype) and got.shape == (n, 4)
        np.testing.assert_allclose(got, m.predict(X), **tol(dtype))
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_onnx_prelu_shared_and_per_unit_and_no_bias(tmp_path, dtype):
    pytest.importorskip("onnx")
    m = shared_prelu(dtype)
    # onnxruntime implements float64 PRelu from opset 16 only
    proto = export.to_onnx(m, tmp_path / "p.onnx", opset=13 if dtype == "float32" else 16)
    assert [n.op_type for n in proto.graph.node] == ["Gemm", "PRelu", "MatMul", "PRelu", "Gemm"]
    X = data(dtype)
    np.testing.assert_allclose(ort_run(tmp_path / "p.onnx", X), m.predict(X), **tol(dtype))


@pytest.mark.parametrize("opset", [export.MIN_OPSET, 13, export.DEFAULT_OPSET])
def test_onnx_opsets(tmp_path, opset):
    onnx = pytest.importorskip("onnx")
    m = make_mlp("leaky_relu", "float32")
    export.to_onnx(m, tmp_path / "m.onnx", opset=opset)
    loaded = onnx.load(tmp_path / "m.onnx")
    assert loaded.opset_import[0].version == opset
    X = data("float32")
    np.testing.assert_allclose(ort_run(tmp_path / "m.onnx", X), m.predict(X), **tol("float32"))


def test_onnx_skips_dropout(tmp_path):
    pytest.importorskip("onnx")
    Dropout = getattr(fastlin.layers, "Dropout", None)
    if Dropout is None:
        pytest.skip("fastlin.layers.Dropout is not in this build yet")
    m = fastlin.Sequential(Dense(6, 8), ReLU(), Dropout(0.5), Dense(8, 3), Dropout(0.2),
                           seed=0)
    proto = export.to_onnx(m, tmp_path / "d.onnx")
    assert [n.op_type for n in proto.graph.node] == ["Gemm", "Relu", "Gemm"]
    X = data("float32")
    np.testing.assert_allclose(ort_run(tmp_path / "d.onnx", X), m.predict(X), **tol("float32"))


class Doubler(Layer):
    """A layer fastlin can run but export does not know."""

    def forward(self, x):
        return 2 * x

    def backward(self, g, need_input_grad=True):
        return 2 * g


def test_onnx_errors_leave_the_previous_file(tmp_path):
    pytest.importorskip("onnx")
    path = tmp_path / "m.onnx"
    export.to_onnx(make_mlp("relu", "float32"), path)
    before = path.read_bytes()
    bad = fastlin.Sequential(Dense(6, 4), Doubler(), seed=0)
    with pytest.raises(ValueError, match=r"layer 1 \(Doubler\) has no ONNX export"):
        export.to_onnx(bad, path)
    for opset in (8, 10_000, "17", True):
        with pytest.raises(ValueError, match="opset"):
            export.to_onnx(make_mlp("relu", "float32"), path, opset=opset)
    with pytest.raises(TypeError, match="Sequential"):
        export.to_onnx(fastlin.LinearRegression(), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.onnx"]  # no temporary file left behind


def test_onnx_missing_extra_names_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    with pytest.raises(ImportError, match=r"fastlin\[onnx\]"):
        export.to_onnx(make_mlp("relu", "float32"), tmp_path / "m.onnx")


# ------------------------------------------------------------------------- torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_to_torch_output_equals_predict(activation, dtype):
    torch = pytest.importorskip("torch")
    m = make_mlp(activation, dtype)
    seq = export.to_torch(m)
    assert isinstance(seq, torch.nn.Sequential) and len(seq) == len(m.layers)
    assert seq[0].weight.shape == (9, 6)  # torch's (out, in)
    X = data(dtype)
    with torch.no_grad():
        got = seq(torch.from_numpy(X)).numpy()
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_allclose(got, m.predict(X), **tol(dtype))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_torch_round_trip_is_exact(dtype):
    pytest.importorskip("torch")
    for m in (make_mlp("prelu", dtype), make_mlp("abs", dtype), shared_prelu(dtype)):
        back = export.from_torch(export.to_torch(m), dtype=dtype)
        assert [type(a) for a in back.layers] == [type(b) for b in m.layers]
        for p, q in zip(back.parameters(), m.parameters()):
            assert p.dtype == q.dtype
            np.testing.assert_array_equal(p, q)
        X = data(dtype)
        np.testing.assert_array_equal(back.predict(X), m.predict(X))


def test_from_torch_of_a_torch_built_stack():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    torch.manual_seed(0)
    seq = nn.Sequential(nn.Linear(6, 10), nn.Tanh(), nn.Linear(10, 8, bias=False),
                        nn.LeakyReLU(0.1), nn.Linear(8, 5), nn.PReLU(5), nn.Linear(5, 3),
                        nn.Sigmoid(), nn.Identity(), nn.Linear(3, 2), nn.ReLU())
    m = export.from_torch(seq)
    assert m.dtype == np.float32 and m.n_features_in == 6 and m.n_outputs == 2
    X = data("float32")
    with torch.no_grad():
        want = seq(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(m.predict(X), want, **tol("float32"))
    m64 = export.from_torch(seq, dtype="float64")
    np.testing.assert_allclose(m64.predict(X.astype(np.float64)), want, rtol=1e-5, atol=1e-6)


def test_from_torch_errors():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    with pytest.raises(ValueError, match=r"module 1 \(Softmax\) has no fastlin equivalent"):
        export.from_torch(nn.Sequential(nn.Linear(3, 2), nn.Softmax(dim=1)))
    with pytest.raises(ValueError, match="Conv1d"):
        export.from_torch(nn.Sequential(nn.Conv1d(1, 1, 3)))
    with pytest.raises(TypeError, match="torch.nn.Sequential"):
        export.from_torch(nn.Linear(3, 2))
    with pytest.raises(ValueError, match="takes 4 features"):
        export.from_torch(nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(4, 1)))
    with pytest.raises(ValueError, match="3 slopes for 2 features"):
        export.from_torch(nn.Sequential(nn.Linear(3, 2), nn.PReLU(3)))
    with pytest.raises(ValueError, match="no Linear"):
        export.from_torch(nn.Sequential(nn.ReLU()))
    lin = nn.Linear(2, 2)
    with torch.no_grad():
        lin.weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match="non-finite"):
        export.from_torch(nn.Sequential(lin))
    with pytest.raises(TypeError, match="float32 or float64"):
        export.from_torch(nn.Sequential(nn.Linear(2, 2)), dtype="float16")
    with pytest.raises(ValueError, match=r"layer 1 \(Doubler\)"):
        export.to_torch(fastlin.Sequential(Dense(6, 4), Doubler(), Tanh(), seed=0))


def test_torch_missing_is_a_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match="PyTorch"):
        export.to_torch(make_mlp("relu", "float32"))


class _Tensor:
    """What from_torch uses of a torch tensor: .detach().cpu().numpy()."""

    def __init__(self, array):
        self.array = array

    def detach(self):
        return self

    def cpu(self):
        return self

    def numpy(self):
        return self.array


class _Linear:
    def __init__(self, weight, bias):
        self.out_features, self.in_features = weight.shape
        self.weight, self.bias = _Tensor(weight), _Tensor(bias)


class _TorchSequential(list):
    pass


def _torch_stand_in():
    """Enough of torch for from_torch to read a stack of Linear modules: the check runs
    whether or not PyTorch is installed."""
    from types import SimpleNamespace
    kinds = {name: type(name, (), {}) for name in
             ("ReLU", "Sigmoid", "Tanh", "Identity", "LeakyReLU", "PReLU", "Dropout")}
    return SimpleNamespace(nn=SimpleNamespace(Sequential=_TorchSequential, Linear=_Linear, **kinds))


def test_from_torch_refuses_weights_the_dtype_cannot_hold(monkeypatch):
    """A double module with a 1e200 weight became a float32 model with inf weights (a numpy
    RuntimeWarning only), although non-finite weights were documented as a ValueError."""
    monkeypatch.setattr(export, "_import_torch", _torch_stand_in)
    rng = np.random.default_rng(0)
    weight, bias = rng.standard_normal((2, 3)), np.zeros(2)
    weight[1, 2] = 1e200
    seq = _TorchSequential([_Linear(rng.standard_normal((3, 3)), np.zeros(3)),
                            _Linear(weight, bias)])
    with pytest.raises(ValueError, match=r"module 1 \(_Linear\) weight holds values beyond "
                                         r"the range of float32"):
        export.from_torch(seq)
    assert export.from_torch(seq, dtype="float64").layers[1].W[2, 1] == 1e200
    weight[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"module 1 \(_Linear\) weight holds NaN"):
        export.from_torch(seq, dtype="float64")
