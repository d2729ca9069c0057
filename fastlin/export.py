"""Export a trained Sequential to ONNX or PyTorch, and import a PyTorch stack.

- ``to_onnx(model, path)`` writes an ONNX graph (Gemm, or MatMul for a Dense without bias;
  Relu, Sigmoid, Tanh, LeakyRelu, PRelu, Abs, Identity) with a dynamic batch dimension, in
  the model's dtype (float32 or float64). It needs the optional extra ``fastlin[onnx]``.
- ``to_torch(model)`` returns an equivalent ``torch.nn.Sequential``; ``from_torch(seq)`` builds
  a fastlin Sequential from a torch stack of Linear and activation modules. PyTorch is never a
  fastlin dependency: these two import it when called.

Weights: a fastlin ``Dense.W`` has shape (in_features, out_features) and computes ``x @ W + b``;
torch's ``Linear.weight`` has shape (out_features, in_features) and computes ``x @ weight.T +
bias``; the export transposes. Layers named "Dropout" are the identity at inference: ONNX
leaves them out, torch gets ``nn.Dropout(p)`` (inactive in ``eval()`` mode).
"""
import os

import numpy as np

from fastlin._atomic import atomic_write
from fastlin.layers import (Abs, Dense, Identity, LeakyReLU, PReLU, ReLU, Sigmoid, Tanh,
                            _as_dtype)

__all__ = ["to_onnx", "to_torch", "from_torch"]

DEFAULT_OPSET = 17
MIN_OPSET = 9  # PRelu's unidirectional slope broadcast and Gemm's bias broadcast
# parameter-free activations: fastlin layer -> ONNX operator / torch.nn class name
_ONNX_ELEMENTWISE = {ReLU: "Relu", Sigmoid: "Sigmoid", Tanh: "Tanh", Abs: "Abs",
                     Identity: "Identity"}
_TORCH_ELEMENTWISE = {ReLU: "ReLU", Sigmoid: "Sigmoid", Tanh: "Tanh", Identity: "Identity"}


def _check_model(model):
    from fastlin.sequential import Sequential
    if not isinstance(model, Sequential):
        raise TypeError(f"expected a fastlin Sequential (or MLP), got {type(model).__name__}")
    if model.n_features_in is None:
        raise ValueError("the model has no Dense layer, so its input size is unknown")
    return model


def _is_dropout(layer):
    return type(layer).__name__ == "Dropout"


def _import_onnx():
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError:
        raise ImportError("fastlin.export.to_onnx needs the onnx package: "
                          "pip install 'fastlin[onnx]'") from None
    return onnx, helper, numpy_helper


def _atomic_write(path, data):
    """Write bytes to path atomically (fastlin._atomic.atomic_write): a failed or killed export
    leaves any previous file intact."""
    atomic_write(path, lambda f: f.write(data))


def to_onnx(model, path, opset=None):
    """Write ``model`` as an ONNX file whose output equals ``model.predict``.

    Parameters
    ----------
    model : Sequential or MLP
    path : str or path-like, the .onnx file to write (atomically)
    opset : int, default 17; the ONNX operator set version (9 up to what the installed onnx
        knows). onnxruntime runs float64 PRelu (PReLU layers, and LeakyReLU in float64
        models) only from opset 16.

    Returns
    -------
    onnx.ModelProto, the model written. Its input "input" has shape (batch, n_features) and its
    output "output" shape (batch, n_outputs), "batch" being a dynamic dimension.

    Raises
    ------
    ImportError when onnx is not installed (``pip install 'fastlin[onnx]'``); TypeError for
    something other than a Sequential; ValueError for a layer ONNX export does not know.
    """
    _check_model(model)
    onnx, helper, numpy_helper = _import_onnx()
    opset = _check_opset(onnx, opset)
    try:
        path = os.fspath(path)
    except TypeError:
        raise TypeError(f"path must be a str or path-like, got {type(path).__name__}") from None
    nodes, inits = _onnx_graph_nodes(model, helper, numpy_helper)
    proto = _onnx_model(onnx, helper, model, nodes, inits, opset)
    _atomic_write(path, proto.SerializeToString())
    return proto


def _check_opset(onnx, opset):
    """`opset`, DEFAULT_OPSET for None; ValueError outside what the installed onnx knows."""
    if opset is None:
        opset = DEFAULT_OPSET
    newest = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)) \
            or not MIN_OPSET <= opset <= newest:
        raise ValueError(f"opset must be an int in [{MIN_OPSET}, {newest}], got {opset!r}")
    return opset


def _onnx_layer(i, layer, source, dtype, helper, numpy_helper):
    """(the node computing layer `i` from the tensor `source` into "layer{i}", the initializers
    it reads); ValueError for a layer ONNX export does not know."""
    out = f"layer{i}"
    kind = type(layer)
    if kind is Dense:
        w = f"layer{i}.W"
        inits = [numpy_helper.from_array(np.asarray(layer.W, dtype), w)]
        if layer.use_bias:
            b = f"layer{i}.b"
            inits.append(numpy_helper.from_array(np.asarray(layer.b, dtype), b))
            return helper.make_node("Gemm", [source, w, b], [out], name=f"dense{i}"), inits
        return helper.make_node("MatMul", [source, w], [out], name=f"dense{i}"), inits
    if kind is LeakyReLU and (dtype == np.float32
                              or float(np.float32(layer.alpha)) == layer.alpha):
        return helper.make_node("LeakyRelu", [source], [out], name=f"act{i}",
                                alpha=float(layer.alpha)), []
    if kind is LeakyReLU:
        # ONNX attributes are float32: a float64 model whose slope float32 cannot hold
        # exactly gets PRelu with a double slope, so the export stays exact
        s = f"layer{i}.alpha"
        init = numpy_helper.from_array(np.array([layer.alpha], dtype), s)
        return helper.make_node("PRelu", [source, s], [out], name=f"act{i}"), [init]
    if kind is PReLU:
        s = f"layer{i}.alpha"
        init = numpy_helper.from_array(np.asarray(layer.alpha, dtype), s)
        return helper.make_node("PRelu", [source, s], [out], name=f"act{i}"), [init]
    if kind in _ONNX_ELEMENTWISE:
        return helper.make_node(_ONNX_ELEMENTWISE[kind], [source], [out], name=f"act{i}"), []
    raise ValueError(f"layer {i} ({kind.__name__}) has no ONNX export")


def _onnx_graph_nodes(model, helper, numpy_helper):
    """(nodes, initializers) chaining the layers from "input" to "output", Dropout left out."""
    nodes, inits = [], []
    current = "input"
    for i, layer in enumerate(model.layers):
        if _is_dropout(layer):
            continue
        node, layer_inits = _onnx_layer(i, layer, current, model.dtype, helper, numpy_helper)
        nodes.append(node)
        inits.extend(layer_inits)
        current = node.output[0]
    if current == "input":
        nodes.append(helper.make_node("Identity", ["input"], ["output"], name="identity"))
    else:
        nodes[-1].output[0] = "output"
    return nodes, inits


def _onnx_model(onnx, helper, model, nodes, inits, opset):
    """The checked ModelProto: the graph, its dynamic-batch input and output, the opset."""
    dtype = model.dtype
    elem = onnx.TensorProto.FLOAT if dtype == np.float32 else onnx.TensorProto.DOUBLE
    graph = helper.make_graph(
        nodes, "fastlin_sequential",
        [helper.make_tensor_value_info("input", elem, ["batch", model.n_features_in])],
        [helper.make_tensor_value_info("output", elem, ["batch", model.n_outputs])],
        initializer=inits)
    opset_id = helper.make_opsetid("", int(opset))
    proto = helper.make_model(graph, opset_imports=[opset_id], producer_name="fastlin",
                              doc_string=f"fastlin {type(model).__name__}, {dtype.name}")
    proto.ir_version = helper.find_min_ir_version_for([opset_id])
    onnx.checker.check_model(proto)
    return proto


# ----------------------------------------------------------------------------- PyTorch
def _import_torch():
    try:
        import torch
    except ImportError:
        raise ImportError("fastlin.export.to_torch/from_torch need PyTorch (pip install torch); "
                          "it is not a fastlin dependency") from None
    return torch


_TORCH_ABS = None


def torch_abs_module():
    """The ``nn.Module`` class computing ``|x|`` (torch has no Abs layer), built on first use
    so importing fastlin.export never imports torch."""
    global _TORCH_ABS
    if _TORCH_ABS is None:
        torch = _import_torch()

        class Abs(torch.nn.Module):
            """Elementwise absolute value, |x| (fastlin.Abs)."""

            def forward(self, x):
                return torch.abs(x)

        _TORCH_ABS = Abs
    return _TORCH_ABS


def to_torch(model):
    """An equivalent ``torch.nn.Sequential`` with the weights copied (float32 or float64 as
    the model): Linear, ReLU, Sigmoid, Tanh, LeakyReLU, PReLU, Identity, and an ``Abs`` module
    (``fastlin.export.torch_abs_module()``); a Dropout layer becomes ``nn.Dropout(p)``. The
    module is returned in ``eval()`` mode, so that its output equals ``predict``.

    Raises
    ------
    ImportError without torch; TypeError for something other than a Sequential; ValueError for
    a layer with no torch equivalent.
    """
    _check_model(model)
    torch = _import_torch()
    nn = torch.nn
    tdtype = torch.float32 if model.dtype == np.float32 else torch.float64
    modules = []
    for i, layer in enumerate(model.layers):
        kind = type(layer)
        if kind is Dense:
            m = nn.Linear(layer.in_features, layer.out_features, bias=layer.use_bias,
                          dtype=tdtype)
            with torch.no_grad():
                m.weight.copy_(torch.from_numpy(np.ascontiguousarray(layer.W.T)))
                if layer.use_bias:
                    m.bias.copy_(torch.from_numpy(np.array(layer.b)))
        elif kind is LeakyReLU:
            m = nn.LeakyReLU(negative_slope=float(layer.alpha))
        elif kind is PReLU:
            m = nn.PReLU(num_parameters=layer.num_parameters, init=layer.init, dtype=tdtype)
            with torch.no_grad():
                m.weight.copy_(torch.from_numpy(np.array(layer.alpha)))
        elif kind is Abs:
            m = torch_abs_module()()
        elif kind in _TORCH_ELEMENTWISE:
            m = getattr(nn, _TORCH_ELEMENTWISE[kind])()
        elif _is_dropout(layer):
            m = nn.Dropout(p=float(getattr(layer, "p", 0.5)))
        else:
            raise ValueError(f"layer {i} ({kind.__name__}) has no torch equivalent")
        modules.append(m)
    # eval(): the module computes what predict does (Dropout off); train() to fine-tune it
    return nn.Sequential(*modules).eval()


def _numpy(t):
    return t.detach().cpu().numpy()


def from_torch(seq, dtype="float32", backend="cython"):
    """A fastlin Sequential equal to a ``torch.nn.Sequential`` of Linear, ReLU, Sigmoid, Tanh,
    LeakyReLU, PReLU, Identity, Dropout (when fastlin has a Dropout layer) and the Abs module
    of ``torch_abs_module()``, weights copied.

    Parameters
    ----------
    seq : torch.nn.Sequential
    dtype : "float32" (default) or "float64"
    backend : "cython" (default) or "numpy"

    Raises
    ------
    TypeError when seq is not a torch.nn.Sequential; ValueError naming the first module with
    no fastlin equivalent, or Linear sizes that do not chain, or weights that are not finite
    or do not fit `dtype` (a float64 1e200 has no float32 value).
    """
    torch = _import_torch()
    nn = torch.nn
    from fastlin import layers as L
    from fastlin.io._weights import check_weights
    from fastlin.sequential import Sequential
    dtype = _as_dtype(dtype)
    if not isinstance(seq, nn.Sequential):
        raise TypeError(f"expected a torch.nn.Sequential, got {type(seq).__name__}")
    if len(seq) == 0:
        raise ValueError("the torch Sequential is empty")
    simple = {nn.ReLU: ReLU, nn.Sigmoid: Sigmoid, nn.Tanh: Tanh, nn.Identity: Identity}
    layers, weights = [], []
    width = None  # the current feature count, known after the first Linear
    for i, m in enumerate(seq):
        kind = type(m)
        if kind is nn.Linear:
            if width is not None and m.in_features != width:
                raise ValueError(f"module {i} (Linear) takes {m.in_features} features but the "
                                 f"previous Linear gives {width}")
            layer = Dense(m.in_features, m.out_features, bias=m.bias is not None, dtype=dtype)
            params = [_numpy(m.weight).T] + ([] if m.bias is None else [_numpy(m.bias)])
            width = m.out_features
        elif kind is nn.LeakyReLU:
            layer, params = LeakyReLU(alpha=float(m.negative_slope)), []
        elif kind is nn.PReLU:
            n = m.num_parameters
            if n != 1 and width is not None and n != width:
                raise ValueError(f"module {i} (PReLU) has {n} slopes for {width} features")
            layer, params = PReLU(num_parameters=n, dtype=dtype), [_numpy(m.weight)]
        elif kind in simple:
            layer, params = simple[kind](), []
        elif _TORCH_ABS is not None and kind is _TORCH_ABS:
            layer, params = Abs(), []
        elif kind is nn.Dropout and hasattr(L, "Dropout"):
            layer, params = L.Dropout(float(m.p)), []
        else:
            raise ValueError(f"module {i} ({kind.__name__}) has no fastlin equivalent; "
                             "from_torch takes Linear, ReLU, Sigmoid, Tanh, LeakyReLU, PReLU, "
                             "Identity and fastlin.export.torch_abs_module()")
        for name, p in zip(("weight", "bias"), params):
            # non-finite, or beyond what `dtype` holds (a float64 1e200 is inf as float32)
            check_weights(p, dtype, f"module {i} ({kind.__name__}) {name}")
        layers.append(layer)
        weights.append(params)
    if width is None:
        raise ValueError("the torch Sequential has no Linear layer")
    model = Sequential(*layers, dtype=dtype, backend=backend)
    for layer, params in zip(model.layers, weights):
        for dst, src in zip(layer.parameters(), params):
            np.copyto(dst, src, casting="unsafe")
    return model

