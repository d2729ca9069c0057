"""Saving and loading models as .npz archives: no pickle, nothing executed on load.

Layout: "__fastlin_format__" (int version), "__architecture__" (a JSON string describing the
layers, dtype and backend) and "param_{layer}_{k}" arrays in the order of parameters().
Every field is checked on load; a truncated, foreign or hostile file raises ValueError.
"""
import json
import zipfile

import numpy as np

FORMAT_VERSION = 1


def save_model(model, path, metadata=None):
    """Write `model` to `path`; `metadata` (JSON-serialisable dict) is stored alongside and
    comes back as ``model.metadata`` after load."""
    from fastlin.layers import LAYER_TYPES
    arch = {
        "dtype": model.dtype.name,
        "backend": model.backend_name,
        "layers": [],
        "metadata": metadata if metadata is not None else getattr(model, "metadata", None),
    }
    arrays = {}
    for i, layer in enumerate(model.layers):
        name = type(layer).__name__
        if name not in LAYER_TYPES:
            raise ValueError(f"layer {i} ({name}) cannot be saved")
        arch["layers"].append({"type": name, "config": layer.get_config()})
        for k, p in enumerate(layer.parameters()):
            arrays[f"param_{i}_{k}"] = p
    # a file object, not a name: np.savez would append ".npz" to a name that lacks it, and
    # load(path) with the same path would then not find the file
    with open(path, "wb") as f:
        np.savez(f, __fastlin_format__=np.array(FORMAT_VERSION),
                 __architecture__=np.array(json.dumps(arch)), **arrays)


def load(path, backend=None):
    """Load a model saved with ``model.save(path)``; ValueError for any damaged or foreign file."""
    from fastlin.layers import LAYER_TYPES
    from fastlin.sequential import Sequential
    try:
        with np.load(path, allow_pickle=False) as data:
            contents = {k: data[k] for k in data.files}
    except FileNotFoundError:
        raise
    except (ValueError, OSError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        raise ValueError(f"{path} is not a readable fastlin model file: {exc}") from None
    if "__fastlin_format__" not in contents or "__architecture__" not in contents:
        raise ValueError(f"{path} is not a fastlin model file (no format marker)")
    try:
        version = int(contents["__fastlin_format__"])
        arch = json.loads(str(contents["__architecture__"]))
        dtype = arch["dtype"]
        layer_specs = arch["layers"]
    except (TypeError, ValueError, KeyError) as exc:
        raise ValueError(f"{path} has a damaged header: {exc}") from None
    if version != FORMAT_VERSION:
        raise ValueError(f"{path} has format version {version}; this fastlin reads {FORMAT_VERSION}")
    if dtype not in ("float32", "float64") or not isinstance(layer_specs, list) or not layer_specs:
        raise ValueError(f"{path} has an invalid architecture")
    layers = []
    for i, spec in enumerate(layer_specs):
        if not isinstance(spec, dict) or spec.get("type") not in LAYER_TYPES \
                or not isinstance(spec.get("config", {}), dict):
            raise ValueError(f"{path}: layer {i} has an unknown type")
        try:
            layer = LAYER_TYPES[spec["type"]](**spec.get("config", {}))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{path}: layer {i} has an invalid configuration: {exc}") from None
        params = layer.parameters()
        for k, p in enumerate(params):
            key = f"param_{i}_{k}"
            arr = contents.get(key)
            if arr is None or arr.shape != p.shape or arr.dtype.kind != "f":
                raise ValueError(f"{path}: parameter {key} is missing or has the wrong shape")
            if not np.isfinite(arr).all():
                raise ValueError(f"{path}: parameter {key} holds NaN or infinity")
        layers.append((layer, [contents[f"param_{i}_{k}"] for k in range(len(params))]))
    model = Sequential(*[layer for layer, _ in layers], dtype=dtype,
                       backend=backend or arch.get("backend", "cython"))
    for layer, arrays in layers:
        for p, arr in zip(layer.parameters(), arrays):
            np.copyto(p, arr, casting="unsafe")
    metadata = arch.get("metadata")
    model.metadata = metadata if isinstance(metadata, dict) else None
    return model
