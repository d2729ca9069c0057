"""Saving and loading models and checkpoints as .npz archives: no pickle, nothing executed.

Layout (format 2), a zip of .npy entries stored uncompressed, as ``numpy.savez`` writes them
(``numpy.load`` can read the arrays back for inspection):

  __fastlin_format__.npy  int64 scalar, the format version
  __architecture__.npy    uint8 vector: UTF-8 JSON with "class" ("Sequential" or "MLP"),
                          "mlp" (MLP's constructor arguments), "dtype", "backend", "layers"
                          ([{"type", "config"}]), "metadata", "seed", "fit_rng_state",
                          "loss" and, in a checkpoint, "optimizer"
  param_{layer}_{k}.npy   the parameters, in the order of ``model.parameters()``
  optim_{j}.npy           a checkpoint's optimizer state, in ``state_dict()["state"]`` order

``save`` is atomic: everything is serialised first, written to a temporary file in the
target's directory, flushed and fsynced, then renamed over the target (``os.replace``), so a
save that fails or is killed leaves the previous file as it was.

``load`` trusts nothing in the file. It reads only the entries it expects, checks each
header entry's size before reading it, validates the JSON field by field, computes every
parameter's shape from the architecture without building a layer, compares those shapes with
the ones recorded in the stored .npy headers and with the zip's entry sizes, and only then
allocates; every read is bounded by the byte count it expects. Any failure is a ValueError
whose message starts with the file's name (a missing file stays FileNotFoundError).
Format 1 files (fastlin 0.1) still load, as a Sequential.
"""
import json
import math
import numbers
import os
import zipfile
import zlib

import numpy as np
from numpy.lib import format as npy_format

from fastlin._atomic import atomic_write

FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)

MAX_HEADER_CHARS = 16 << 20        # the JSON text (format 1 stored 4 bytes a character)
MAX_HEADER_CONTAINERS = 1_000_000  # "[" and "{" in the JSON text: bounds the objects it builds
MAX_FEATURES = 2**31 - 1           # what the BLAS in use accepts as one dimension
MAX_DEFLATE_RATIO = 1032           # deflate cannot expand one byte into more than this
MAX_STATE_DEPTH = 16
MAX_LAYERS = 10_000

_FORMAT_ENTRY = "__fastlin_format__.npy"
_HEADER_ENTRY = "__architecture__.npy"
_OPTIMIZERS = ("SGD", "Adam", "AdamW")


class _Invalid(Exception):
    """A defect of the file being read; load turns it into a ValueError naming the file."""


# ----------------------------------------------------------------------------- saving
def save_model(model, path, metadata=None, optimizer=None):
    """Write `model` to `path` atomically (the exact path, no suffix added).

    metadata : JSON-serialisable dict, stored alongside; comes back as ``model.metadata``
        (None keeps the model's own ``metadata``).
    optimizer : an SGD/Adam/AdamW built over ``model.parameters()``; its state is stored too,
        for ``load_checkpoint``.

    Everything is serialised before the target is touched; on any failure the previous file
    at `path` is left intact.
    """
    header, arrays = _serialise(model, metadata, optimizer)
    _write_atomic(path, header, arrays)


def _serialise(model, metadata, optimizer):
    from fastlin.layers import LAYER_TYPES
    if metadata is None:
        metadata = getattr(model, "metadata", None)
    if metadata is not None and not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict or None, got {type(metadata).__name__}")
    layers, arrays = [], []
    for i, layer in enumerate(model.layers):
        name = type(layer).__name__
        if LAYER_TYPES.get(name) is not type(layer) or (
                name not in _PARAM_SCHEMAS and layer.parameters()):
            raise ValueError(f"layer {i} ({name}) cannot be saved")
        layers.append({"type": name, "config": _plain(layer.get_config(), f"layer {i} config")})
        for k, p in enumerate(layer.parameters()):
            arrays.append((f"param_{i}_{k}", p))
    header = {
        "class": "Sequential",
        "dtype": model.dtype.name,
        "backend": model.backend_name,
        "layers": layers,
        "metadata": metadata,
        "seed": _saved_seed(getattr(model, "seed", None)),
        "fit_rng_state": _plain(getattr(model, "_fit_rng_state", None), "model._fit_rng_state"),
        "loss": _loss_spec(getattr(model, "loss_", None)),
    }
    if header["fit_rng_state"] is not None and not isinstance(header["fit_rng_state"], dict):
        raise ValueError("model._fit_rng_state must be a dict or None")
    mlp = _mlp_spec(model, layers)
    if mlp is not None:
        header["class"], header["mlp"] = "MLP", mlp
    if optimizer is not None:
        header["optimizer"], state = _optimizer_spec(model, optimizer)
        arrays += [(f"optim_{j}", a) for j, a in enumerate(state)]
    try:
        text = json.dumps(header)
    except (TypeError, ValueError, RecursionError) as exc:
        raise TypeError(f"metadata is not JSON-serialisable: {exc}") from None
    return np.frombuffer(text.encode("utf-8"), np.uint8), arrays


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


def _mlp_layer_specs(sizes, activation, init, bias):
    """The layer list MLP(sizes, activation, init=init, bias=bias) builds, as configs, without
    allocating any weights (decides at save time whether a model still has MLP's shape; load
    checks the real MLP's layers against the file)."""
    from fastlin.layers import ACTIVATION_LAYERS
    act = ACTIVATION_LAYERS[activation]
    specs = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        specs.append({"type": "Dense", "config": {"in_features": a, "out_features": b,
                                                  "bias": bias, "init": init}})
        if i < len(sizes) - 2:
            layer = act(num_parameters=b) if activation == "prelu" else act()
            specs.append({"type": act.__name__, "config": layer.get_config()})
    return specs


def _mlp_spec(model, layers):
    """MLP constructor arguments when `model` is an MLP whose layers are still the ones those
    arguments build (a user may have edited ``model.layers``); else None (saved as Sequential)."""
    from fastlin.layers import ACTIVATION_LAYERS
    from fastlin.sequential import MLP
    if not isinstance(model, MLP) or getattr(model, "activation", None) not in ACTIVATION_LAYERS:
        return None
    try:
        sizes = [int(s) for s in model.sizes]
        first = layers[0]["config"]
        spec = {"sizes": sizes, "activation": model.activation, "init": first["init"],
                "bias": first["bias"]}
        expected = _mlp_layer_specs(sizes, spec["activation"], spec["init"], spec["bias"])
    except (AttributeError, KeyError, TypeError, ValueError):
        return None
    return spec if _same_json(expected, layers) else None


def _same_json(a, b):
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


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
    from fastlin.losses import BCEWithLogitsLoss, GaussianNLLLoss, MSELoss, SoftmaxCrossEntropyLoss
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
    from fastlin.optim import Optimizer
    if not isinstance(optimizer, Optimizer) or type(optimizer).__name__ not in _OPTIMIZERS:
        raise TypeError(f"optimizer must be an SGD, Adam or AdamW, got {type(optimizer).__name__}")
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


def _write_atomic(path, header, arrays):
    def write(f):
        with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
            entries = [("__fastlin_format__", np.array(FORMAT_VERSION, np.int64)),
                       ("__architecture__", header)] + arrays
            for name, arr in entries:
                with zf.open(name + ".npy", "w", force_zip64=True) as out:
                    npy_format.write_array(out, np.asarray(arr), allow_pickle=False)

    atomic_write(path, write)


# ---------------------------------------------------------------------------- loading
def load(path, backend=None):
    """Load a model saved with ``model.save(path)``: the class that was saved (an MLP stays an
    MLP), its weights, ``metadata`` and training state. ValueError naming the file for any
    damaged, foreign or hostile file. A checkpoint's optimizer is checked but not rebuilt; use
    ``load_checkpoint`` for it."""
    return _load(path, backend, with_optimizer=False)[0]


def load_checkpoint(path, backend=None):
    """Load ``(model, optimizer)`` saved with ``model.save(path, optimizer=opt)``; the optimizer
    is rebuilt over ``model.parameters()`` (SGD, Adam or AdamW, on the backend it ran on, or on
    `backend` when given) with its settings, step count and state, so training continues
    bitwise as it would have. optimizer is None when the file holds none."""
    return _load(path, backend, with_optimizer=True)


def _load(path, backend, with_optimizer):
    if hasattr(path, "read"):
        label = str(getattr(path, "name", "<file object>"))
        source = path
    else:
        source = label = os.fspath(path)
    try:
        with _open_zip(source) as zf:
            return _read(zf, _archive_size(source), backend, with_optimizer)
    except _Invalid as exc:
        raise ValueError(f"{label}: {exc}") from None


def _archive_size(source):
    if isinstance(source, (str, bytes)):
        return os.stat(source).st_size
    pos = source.tell()
    size = source.seek(0, os.SEEK_END)
    source.seek(pos)
    return size


def _open_zip(source):
    try:
        return zipfile.ZipFile(source)
    except (FileNotFoundError, PermissionError):
        raise
    except IsADirectoryError:
        raise _Invalid("is a directory, not a fastlin model file") from None
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError,
            RuntimeError) as exc:
        if _starts_with(source, npy_format.MAGIC_PREFIX):
            raise _Invalid("is a single .npy array, not a fastlin model file (.npz archive); "
                           "save models with model.save(path)") from None
        raise _Invalid(f"not a readable fastlin model file (not a zip archive: {exc})") from None


def _starts_with(source, prefix):
    try:
        if isinstance(source, (str, bytes)):
            with open(source, "rb") as f:
                return f.read(len(prefix)) == prefix
        source.seek(0)
        return source.read(len(prefix)) == prefix
    except (OSError, ValueError):
        return False


_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, KeyError,
               NotImplementedError, RuntimeError)


class _Entry:
    """One .npy member: its ZipInfo and, once its header is read, the shape, dtype and the
    offset of the data."""

    def __init__(self, zf, name, archive_size):
        self.zf, self.name = zf, name
        try:
            info = zf.getinfo(name)
        except KeyError:
            raise _Invalid(f"entry {name} is missing") from None
        if info.flag_bits & 0x1:
            raise _Invalid(f"entry {name} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _Invalid(f"entry {name} uses an unsupported compression method")
        if info.compress_size > archive_size:
            raise _Invalid(f"entry {name} claims more bytes than the file holds (truncated?)")
        if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size \
                or info.file_size > MAX_DEFLATE_RATIO * info.compress_size + 4096:
            raise _Invalid(f"entry {name} has inconsistent sizes (a zip bomb or a damaged file)")
        self.info = info

    def read_header(self, max_size=None):
        if max_size is not None and self.info.file_size > max_size:
            raise _Invalid(f"entry {self.name} is too large ({self.info.file_size} bytes)")
        try:
            with self.zf.open(self.info) as fp:
                version = npy_format.read_magic(fp)
                if version == (1, 0):
                    shape, fortran, dtype = npy_format.read_array_header_1_0(fp)
                elif version == (2, 0):
                    shape, fortran, dtype = npy_format.read_array_header_2_0(fp)
                else:
                    raise _Invalid(f"entry {self.name} has .npy version {version}")
                self.offset = fp.tell()
        except _ZIP_ERRORS as exc:
            raise _Invalid(f"entry {self.name} is not a readable array: {exc}") from None
        if fortran:
            raise _Invalid(f"entry {self.name} is stored in Fortran order")
        if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
            raise _Invalid(f"entry {self.name} has dtype {dtype}")
        self.shape, self.dtype = tuple(shape), dtype
        self.nbytes = math.prod(self.shape) * dtype.itemsize
        if self.info.file_size != self.offset + self.nbytes:
            raise _Invalid(f"entry {self.name}: its size does not match its shape {self.shape}")
        return self

    def read(self):
        """The array, read with a bound of exactly the bytes its header announced."""
        try:
            with self.zf.open(self.info) as fp:
                fp.read(self.offset)
                data = fp.read(self.nbytes)
                if len(data) != self.nbytes or fp.read(1):
                    raise _Invalid(f"entry {self.name} is truncated")
        except _ZIP_ERRORS as exc:
            raise _Invalid(f"entry {self.name} is damaged: {exc}") from None
        return np.frombuffer(data, self.dtype).reshape(self.shape)


def _read(zf, archive_size, backend, with_optimizer):
    names = set(zf.namelist())
    if _FORMAT_ENTRY not in names or _HEADER_ENTRY not in names:
        raise _Invalid("not a fastlin model file (no format marker)")
    header = _read_header(zf, archive_size)
    plan = _validate(header, backend)
    shapes = [s for _, layer_shapes in plan["layers"] for s in layer_shapes]
    entries = []
    for i, (_, layer_shapes) in enumerate(plan["layers"]):
        for k, shape in enumerate(layer_shapes):
            entries.append(_float_entry(zf, f"param_{i}_{k}", shape, archive_size))
    opt = plan["optimizer"]
    opt_entries = []
    if opt is not None:
        n = opt["n_state"]
        if n not in (0, len(shapes), 2 * len(shapes)) or (n and not shapes):
            raise _Invalid(f"optimizer has {n} state arrays for {len(shapes)} parameters")
        opt_entries = [_float_entry(zf, f"optim_{j}", shapes[j % len(shapes)], archive_size)
                       for j in range(n)]
    # every size is now known to match the architecture: allocate
    model = _build_model(plan)
    for entry, p in zip(entries, model.parameters()):
        np.copyto(p, _finite(entry), casting="unsafe")
    _restore_attributes(model, header, plan)
    optimizer = None
    if with_optimizer and opt is not None:
        optimizer = _build_optimizer(model, opt, [_finite(e) for e in opt_entries],
                                     plan["backend_override"])
        # as after the fit that saved it: fit(optimizer="adam"), the default, continues this
        # optimizer (its moments and step count) rather than starting a fresh one
        model.optimizer = optimizer
    return model, optimizer


def _float_entry(zf, stem, shape, archive_size):
    entry = _Entry(zf, stem + ".npy", archive_size).read_header()
    if entry.dtype.kind != "f" or entry.dtype.itemsize not in (4, 8):
        raise _Invalid(f"{stem} has dtype {entry.dtype}, not float32/float64")
    if entry.shape != tuple(shape):
        raise _Invalid(f"{stem} has shape {entry.shape} but the architecture needs {tuple(shape)}")
    return entry


def _finite(entry):
    arr = entry.read()
    if not np.isfinite(arr).all():
        raise _Invalid(f"{entry.name[:-4]} holds NaN or infinity")
    return arr


def _read_header(zf, archive_size):
    fmt = _Entry(zf, _FORMAT_ENTRY, archive_size).read_header(max_size=1024)
    if fmt.shape != () or fmt.dtype.kind not in "iu":
        raise _Invalid("the format marker is not an integer")
    version = int(fmt.read()[()])
    if version not in READABLE_VERSIONS:
        raise _Invalid(f"has format version {version}; this fastlin reads versions "
                       f"{', '.join(map(str, READABLE_VERSIONS))}")
    cap = (4 if version == 1 else 1) * MAX_HEADER_CHARS + 4096
    entry = _Entry(zf, _HEADER_ENTRY, archive_size).read_header(max_size=cap)
    if entry.dtype == np.uint8 and len(entry.shape) == 1:
        try:
            text = entry.read().tobytes().decode("utf-8")
        except UnicodeDecodeError:
            raise _Invalid("the architecture is not UTF-8 text") from None
    elif entry.dtype.kind == "U" and entry.shape == ():  # format 1
        text = str(entry.read()[()])
    else:
        raise _Invalid(f"the architecture entry has dtype {entry.dtype} and shape {entry.shape}")
    if len(text) > MAX_HEADER_CHARS or text.count("[") + text.count("{") > MAX_HEADER_CONTAINERS:
        raise _Invalid("the architecture is too large")
    try:
        header = json.loads(text)
    except RecursionError:
        raise _Invalid("the architecture is nested too deeply") from None
    except ValueError as exc:
        raise _Invalid(f"the architecture is not valid JSON: {exc}") from None
    if not isinstance(header, dict):
        raise _Invalid("the architecture is not a JSON object")
    header["__version__"] = version
    return header


# --------------------------------------------------------------------- validation
def _int(value, what, low=1, high=MAX_FEATURES):
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _Invalid(f"{what} must be an int in [{low}, {high}], got {value!r}")
    return value


def _real(value, what, low=-math.inf, high=math.inf):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value) or not low <= value <= high:
        raise _Invalid(f"{what} must be a finite number in [{low}, {high}], got {value!r}")
    return float(value)


def _choice(value, what, options):
    if not isinstance(value, str) or value not in options:
        raise _Invalid(f"{what} must be one of {', '.join(map(repr, options))}, got {value!r}")
    return value


def _dict(value, what, keys, required=None):
    """`value` is a dict whose keys are among `keys` and include `required` (default: all)."""
    if not isinstance(value, dict):
        raise _Invalid(f"{what} must be a JSON object, got {type(value).__name__}")
    unknown = set(value) - set(keys)
    missing = set(keys if required is None else required) - set(value)
    if unknown or missing:
        raise _Invalid(f"{what} has unknown keys {sorted(unknown)} or lacks {sorted(missing)}")
    return value


def _dense_shapes(cfg, what):
    from fastlin.init import INITS
    _dict(cfg, what, ("in_features", "out_features", "bias", "init"))
    n_in = _int(cfg["in_features"], f"{what} in_features")
    n_out = _int(cfg["out_features"], f"{what} out_features")
    if not isinstance(cfg["bias"], bool):
        raise _Invalid(f"{what} bias must be true or false, got {cfg['bias']!r}")
    _choice(cfg["init"], f"{what} init", INITS)
    return [(n_in, n_out), (n_out,)] if cfg["bias"] else [(n_in, n_out)]


def _prelu_shapes(cfg, what):
    _dict(cfg, what, ("num_parameters", "init"))
    n = _int(cfg["num_parameters"], f"{what} num_parameters")
    _real(cfg["init"], f"{what} init")
    return [(n,)]


def _leaky_relu_shapes(cfg, what):
    _dict(cfg, what, ("alpha",))
    _real(cfg["alpha"], f"{what} alpha")
    return []


# Layers with parameters, or with settings load must type-check itself: the shapes of their
# parameters computed from the config alone. Any other layer in LAYER_TYPES must be
# parameter-free with scalar settings (checked on load by building it, which is cheap).
_PARAM_SCHEMAS = {"Dense": _dense_shapes, "PReLU": _prelu_shapes,
                  "LeakyReLU": _leaky_relu_shapes}


def _layer_shapes(spec, i):
    from fastlin.layers import LAYER_TYPES
    what = f"layer {i}"
    if not isinstance(spec, dict) or not set(spec) <= {"type", "config"}:
        raise _Invalid(f"{what} must be an object with 'type' and 'config'")
    kind = spec.get("type")
    if not isinstance(kind, str) or kind not in LAYER_TYPES:
        raise _Invalid(f"{what} has an unknown type {kind!r}")
    cfg = spec.get("config", {})
    if not isinstance(cfg, dict):
        raise _Invalid(f"{what} config must be a JSON object")
    if kind in _PARAM_SCHEMAS:
        return kind, cfg, _PARAM_SCHEMAS[kind](cfg, f"{what} ({kind})")
    if any(v is not None and not isinstance(v, (bool, int, float, str)) for v in cfg.values()):
        raise _Invalid(f"{what} ({kind}) config must hold scalars")
    try:
        layer = LAYER_TYPES[kind](**cfg)
    except (TypeError, ValueError) as exc:
        raise _Invalid(f"{what} ({kind}) has an invalid config: {exc}") from None
    if layer.parameters():
        raise _Invalid(f"{what} ({kind}) has parameters fastlin.io cannot check")
    return kind, cfg, []


def _validate(header, backend):
    """Check every field of the header and return the plan load builds from."""
    from fastlin.backend import available
    version = header["__version__"]
    kind = header.get("class", "Sequential") if version >= 2 else "Sequential"
    _choice(kind, "class", ("Sequential", "MLP"))
    dtype = _choice(header.get("dtype"), "dtype", ("float32", "float64"))
    stored_backend = _choice(header.get("backend", "cython"), "backend", tuple(available()))
    specs = header.get("layers")
    if not isinstance(specs, list) or not 1 <= len(specs) <= MAX_LAYERS:
        raise _Invalid(f"layers must be a list of 1 to {MAX_LAYERS} layers")
    layers = []  # [((type, config), [parameter shapes])]
    for i, spec in enumerate(specs):
        kind_i, cfg, shapes = _layer_shapes(spec, i)
        layers.append(((kind_i, cfg), shapes))
    metadata = header.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise _Invalid(f"metadata must be a JSON object or null, got {type(metadata).__name__}")
    plan = {"class": kind, "dtype": dtype, "backend": backend or stored_backend,
            "backend_override": backend,
            "layers": layers, "metadata": metadata, "mlp": None, "optimizer": None}
    if kind == "MLP":
        plan["mlp"] = _validate_mlp(header.get("mlp"), layers)
    seed = header.get("seed")
    if seed is not None:
        _int(seed, "seed", 0, 2**128)
    state = header.get("fit_rng_state")
    if state is not None:
        if not isinstance(state, dict):
            raise _Invalid("fit_rng_state must be a JSON object or null")
        _check_state(state, "fit_rng_state", 0)
    widths = [cfg["out_features"] for (kind_i, cfg), _ in layers if kind_i == "Dense"]
    plan["loss"] = _validate_loss(header.get("loss"), widths[-1] if widths else None)
    if header.get("optimizer") is not None:
        plan["optimizer"] = _validate_optimizer(header["optimizer"])
    return plan


def _check_state(value, what, depth):
    if depth > MAX_STATE_DEPTH:
        raise _Invalid(f"{what} is nested too deeply")
    if isinstance(value, dict):
        for v in value.values():
            _check_state(v, what, depth + 1)
    elif isinstance(value, list):
        for v in value:
            _check_state(v, what, depth + 1)
    elif value is not None and not isinstance(value, (bool, int, float, str)):
        raise _Invalid(f"{what} holds a {type(value).__name__}")


def _validate_mlp(spec, layers):
    from fastlin.init import INITS
    from fastlin.layers import ACTIVATION_LAYERS
    _dict(spec, "mlp", ("sizes", "activation", "init", "bias"))
    sizes = spec["sizes"]
    if not isinstance(sizes, list) or len(sizes) < 2:
        raise _Invalid("mlp sizes must be a list of at least two ints")
    for s in sizes:
        _int(s, "mlp sizes entry")
    _choice(spec["activation"], "mlp activation", tuple(ACTIVATION_LAYERS))
    _choice(spec["init"], "mlp init", INITS)
    if not isinstance(spec["bias"], bool):
        raise _Invalid("mlp bias must be true or false")
    # the stored Dense layers must chain exactly through `sizes`: then building the MLP
    # allocates no more than the (already validated) stored layers describe
    dense = [cfg for (kind, cfg), _ in layers if kind == "Dense"]
    if [(c["in_features"], c["out_features"]) for c in dense] != list(zip(sizes[:-1], sizes[1:])):
        raise _Invalid("mlp sizes do not match the stored Dense layers")
    return spec


def _per_output(value, what, n_outputs):
    """A list of one finite number >= 0 per model output."""
    if not isinstance(value, list) or len(value) != n_outputs:
        raise _Invalid(f"{what} must be a list of {n_outputs} numbers (one per output)")
    for v in value:
        _real(v, what, 0.0)


def _validate_loss(spec, n_outputs):
    if spec is None:
        return None
    _dict(spec, "loss", ("class", "config"))
    kind = _choice(spec["class"], "loss class", ("MSELoss", "BCEWithLogitsLoss",
                                                 "SoftmaxCrossEntropyLoss", "GaussianNLLLoss"))
    cfg = spec["config"]
    if kind == "MSELoss":
        _dict(cfg, "loss config", ())
    elif kind == "BCEWithLogitsLoss":
        _dict(cfg, "loss config", ("pos_weight",))
        if isinstance(cfg["pos_weight"], list):
            _per_output(cfg["pos_weight"], "loss pos_weight", n_outputs)
        elif cfg["pos_weight"] is not None:
            _real(cfg["pos_weight"], "loss pos_weight", 0.0)
    elif kind == "SoftmaxCrossEntropyLoss":
        _dict(cfg, "loss config", ("label_smoothing", "class_weight"), ("label_smoothing",))
        _real(cfg["label_smoothing"], "loss label_smoothing", 0.0, 1.0)
        if "class_weight" in cfg:
            _per_output(cfg["class_weight"], "loss class_weight", n_outputs)
    else:
        _dict(cfg, "loss config", ("var", "eps"))
        _real(cfg["var"], "loss var", 0.0)
        _real(cfg["eps"], "loss eps", 0.0)
    return kind, cfg


_OPTIMIZER_SETTINGS = {
    "SGD": {"lr": "real", "momentum": "real", "nesterov": "bool", "weight_decay": "real"},
    "Adam": {"lr": "real", "betas": "pair", "eps": "real", "weight_decay": "real",
             "decoupled_weight_decay": "bool"},
}
_OPTIMIZER_SETTINGS["AdamW"] = _OPTIMIZER_SETTINGS["Adam"]


def _validate_optimizer(spec):
    from fastlin.backend import available
    _dict(spec, "optimizer", ("class", "config", "step_count", "n_state", "backend",
                              "initial_lr"),
          ("class", "config", "step_count", "n_state"))
    if "initial_lr" in spec:
        _real(spec["initial_lr"], "optimizer initial_lr", 0.0)
    if "backend" in spec:
        _choice(spec["backend"], "optimizer backend", tuple(available()))
    kind = _choice(spec["class"], "optimizer class", _OPTIMIZERS)
    settings = _OPTIMIZER_SETTINGS[kind]
    cfg = _dict(spec["config"], "optimizer config", tuple(settings), ())
    for key, value in cfg.items():
        what = f"optimizer {key}"
        if settings[key] == "bool":
            if not isinstance(value, bool):
                raise _Invalid(f"{what} must be true or false, got {value!r}")
        elif settings[key] == "pair":
            if not isinstance(value, list) or len(value) != 2:
                raise _Invalid(f"{what} must be a pair of numbers")
            for v in value:
                _real(v, what)
        else:
            _real(value, what)
    if kind == "AdamW" and cfg.get("decoupled_weight_decay", True) is not True:
        raise _Invalid("an AdamW must have decoupled_weight_decay true")
    _int(spec["step_count"], "optimizer step_count", 0, 2**62)
    _int(spec["n_state"], "optimizer n_state", 0, 2**31)
    return spec


# ------------------------------------------------------------------------ building
def _build_model(plan):
    from fastlin.layers import LAYER_TYPES, Dense, PReLU
    from fastlin.sequential import MLP, Sequential
    dtype, backend = plan["dtype"], plan["backend"]
    if plan["class"] == "MLP":
        m = plan["mlp"]
        model = MLP(m["sizes"], activation=m["activation"], dtype=dtype, seed=None,
                    backend=backend, init=m["init"], bias=m["bias"])
        built = [{"type": type(layer).__name__, "config": layer.get_config()}
                 for layer in model.layers]
        stored = [{"type": kind, "config": cfg} for (kind, cfg), _ in plan["layers"]]
        if not _same_json(built, stored):
            raise _Invalid("the stored layers are not the ones MLP(sizes, activation) builds")
        return model
    layers = []
    for (kind, cfg), _ in plan["layers"]:
        cls = LAYER_TYPES[kind]
        try:
            layers.append(cls(**cfg, dtype=dtype) if cls in (Dense, PReLU) else cls(**cfg))
        except (TypeError, ValueError) as exc:
            raise _Invalid(f"a {kind} layer has an invalid config: {exc}") from None
    try:
        return Sequential(*layers, dtype=dtype, backend=backend)
    except ValueError as exc:  # layers whose widths do not chain
        raise _Invalid(f"the stored layers do not fit together: {exc}") from None


def _restore_attributes(model, header, plan):
    from fastlin import losses
    model.metadata = plan["metadata"]
    model.seed = header.get("seed")
    if "fit_rng_state" in header:
        model._fit_rng_state = header["fit_rng_state"]
    if plan["loss"] is not None:
        kind, cfg = plan["loss"]
        model.loss_ = getattr(losses, kind)(**cfg, backend=model.backend_name)


def _build_optimizer(model, spec, state, backend):
    """The optimizer over model.parameters(), on the backend it ran on (an optimizer built
    without backend= uses the default one, whatever the model's), unless load was given one."""
    from fastlin import optim
    backend = backend or spec.get("backend", model.backend_name)
    cls = getattr(optim, spec["class"])
    cfg = dict(spec["config"])
    if spec["class"] == "AdamW":
        cfg.pop("decoupled_weight_decay", None)
    try:
        opt = cls(model.parameters(), backend=backend, **cfg)
        opt.load_state_dict({"class": spec["class"], "config": opt.get_config(),
                             "step_count": spec["step_count"], "state": state,
                             "initial_lr": spec.get("initial_lr")})
    except (TypeError, ValueError) as exc:
        raise _Invalid(f"the optimizer state does not fit: {exc}") from None
    return opt
