"""Serialising a model (and optionally its optimizer) into a model archive.

The writer knows no model class: a model describes its architecture through
``get_config()`` (``{"class", "dtype", "backend", "layers", ["mlp"]}``), hands over its
parameters layer by layer through ``model.layers``, and its training state through the
attributes ``fit`` sets (``seed``, ``_fit_rng_state``, ``loss_``). The header's keys keep the
order fastlin has always written, so files stay the same byte for byte.
"""
import json
import zipfile

import numpy as np
from numpy.lib import format as npy_format

from fastlin._atomic import atomic_write
from fastlin.io._format import (FORMAT_STEM, FORMAT_VERSION, HEADER_STEM, MAX_STATE_DEPTH,
                                OPTIMIZERS, optim_stem, param_stem)
from fastlin.io._schema import PARAM_SCHEMAS
from fastlin.layers import LAYER_TYPES
from fastlin.losses import BCEWithLogitsLoss, GaussianNLLLoss, MSELoss, SoftmaxCrossEntropyLoss
from fastlin.optim import Optimizer


def save_model(model, path, metadata=None, optimizer=None):
    """Write `model` to `path` atomically (the exact path, no suffix added).

    metadata : JSON-serialisable dict, stored alongside; comes back as ``model.metadata``
        (None keeps the model's own ``metadata``).
    optimizer : an SGD/Adam/AdamW/RMSprop/Adagrad built over ``model.parameters()``; its state is stored too,
        for ``load_checkpoint``.

    Everything is serialised before the target is touched; on any failure the previous file
    at `path` is left intact.
    """
    header, arrays = _serialise(model, metadata, optimizer)
    _write_archive(path, header, arrays)


def _serialise(model, metadata, optimizer):
    if metadata is None:
        metadata = getattr(model, "metadata", None)
    if metadata is not None and not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict or None, got {type(metadata).__name__}")
    config = model.get_config()
    layers, arrays = _layers(model.layers, config["layers"])
    header = {
        "class": config["class"],
        "dtype": config["dtype"],
        "backend": config["backend"],
        "layers": layers,
        "metadata": metadata,
        "seed": _saved_seed(getattr(model, "seed", None)),
        "fit_rng_state": _plain(getattr(model, "_fit_rng_state", None), "model._fit_rng_state"),
        "loss": _loss_spec(getattr(model, "loss_", None)),
    }
    if header["fit_rng_state"] is not None and not isinstance(header["fit_rng_state"], dict):
        raise ValueError("model._fit_rng_state must be a dict or None")
    if "mlp" in config:
        header["mlp"] = _plain(config["mlp"], "the MLP config")
    if optimizer is not None:
        header["optimizer"], state = _optimizer_spec(model, optimizer)
        arrays += [(optim_stem(j), a) for j, a in enumerate(state)]
    try:
        text = json.dumps(header)
    except (TypeError, ValueError, RecursionError) as exc:
        raise TypeError(f"metadata is not JSON-serialisable: {exc}") from None
    return np.frombuffer(text.encode("utf-8"), np.uint8), arrays


def _layers(layers, specs):
    """The layer specs as plain JSON, and the parameters as (entry stem, array) pairs; only a
    fastlin layer whose parameters load can check is saved."""
    plain, arrays = [], []
    for i, (layer, spec) in enumerate(zip(layers, specs)):
        name = type(layer).__name__
        if LAYER_TYPES.get(name) is not type(layer) or (
                name not in PARAM_SCHEMAS and layer.parameters()):
            raise ValueError(f"layer {i} ({name}) cannot be saved")
        plain.append({"type": spec["type"], "config": _plain(spec["config"], f"layer {i} config")})
        arrays += [(param_stem(i, k), p) for k, p in enumerate(layer.parameters())]
    return plain, arrays


def _plain(value, what, depth=0):
    """`value` as plain JSON types (numpy scalars converted); ValueError for anything else."""
    if depth > MAX_STATE_DEPTH:
        raise ValueError(f"{what} is nested too deeply")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        value = value.item()
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise ValueError(f"{what} has a key that is not a string")
        return {k: _plain(v, what, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, what, depth + 1) for v in value]
    raise ValueError(f"{what} holds a {type(value).__name__}, which JSON cannot store")


def _saved_seed(seed):
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0:
        return int(seed)
    return None  # a Generator or SeedSequence has no faithful JSON form


def _loss_weights(value):
    """A loss's weight per output (class_weight, pos_weight) as a JSON list of floats, or
    False when it cannot be one (not finite, say: that loss is then not stored)."""
    try:
        w = np.asarray(value, np.float64).reshape(-1)
    except (TypeError, ValueError):
        return False
    return [float(v) for v in w] if w.size and np.isfinite(w).all() else False


def _loss_spec(loss):
    """The loss ``fit`` recorded (``model.loss_``), when its settings fit in JSON: scalars, and
    the per-output weights (class_weight, pos_weight), which the model's width bounds."""
    kind = type(loss)
    if kind is MSELoss:
        return {"class": "MSELoss", "config": {}}
    if kind is BCEWithLogitsLoss:
        pw = loss.pos_weight
        if pw is not None:
            pw = float(pw) if np.ndim(pw) == 0 else _loss_weights(pw)
            if pw is False:
                return None
        return {"class": "BCEWithLogitsLoss", "config": {"pos_weight": pw}}
    if kind is SoftmaxCrossEntropyLoss:
        config = {"label_smoothing": float(loss.label_smoothing)}
        if loss.class_weight is not None:
            config["class_weight"] = _loss_weights(loss.class_weight)
            if config["class_weight"] is False:
                return None
        return {"class": "SoftmaxCrossEntropyLoss", "config": config}
    if kind is GaussianNLLLoss and np.ndim(loss.var) == 0:
        return {"class": "GaussianNLLLoss",
                "config": {"var": float(loss.var), "eps": float(loss.eps)}}
    return None


def _optimizer_spec(model, optimizer):
    if not isinstance(optimizer, Optimizer) or type(optimizer).__name__ not in OPTIMIZERS:
        raise TypeError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got "
                        f"{type(optimizer).__name__}")
    params = model.parameters()
    if len(params) != len(optimizer.param_groups) or any(
            p is not q for p, (q, _) in zip(params, optimizer.param_groups)):
        raise ValueError("the optimizer was not built over model.parameters(); a checkpoint "
                         "rebuilds it over the loaded model's parameters")
    state = optimizer.state_dict()
    spec = {"class": state["class"], "config": _plain(state["config"], "optimizer config"),
            "step_count": int(state["step_count"]), "n_state": len(state["state"]),
            "backend": optimizer.backend.name}
    if "initial_lr" in state:
        spec["initial_lr"] = state["initial_lr"]
    return spec, state["state"]


def _write_archive(path, header, arrays):
    def write(f):
        with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
            entries = [(FORMAT_STEM, np.array(FORMAT_VERSION, np.int64)),
                       (HEADER_STEM, header)] + arrays
            for stem, arr in entries:
                with zf.open(stem + ".npy", "w", force_zip64=True) as out:
                    npy_format.write_array(out, np.asarray(arr), allow_pickle=False)

    atomic_write(path, write)
