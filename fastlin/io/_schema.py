"""Validation of a model file's header: every JSON field checked for type and range, and
every parameter's shape computed from the architecture alone, before anything is built.

``validate`` returns the plan the loader builds from. Each failure is an ``InvalidFile``
whose message names the field; no layer with parameters is constructed here, so a header
that declares absurd sizes costs nothing.
"""
from fastlin.backend import available
from fastlin.backend._validation import integer, number
from fastlin.init import INITS
from fastlin.io._format import MAX_FEATURES, MAX_LAYERS, MAX_STATE_DEPTH, OPTIMIZERS, InvalidFile
from fastlin.layers import ACTIVATION_LAYERS, LAYER_TYPES


def _scalar(check, value, what, low, high):
    """`check` (the argument checks every fastlin API uses) with its complaint re-raised as a
    defect of the file; a JSON integer too large for a float is one too."""
    try:
        return check(what, value, low, high)
    except (TypeError, ValueError) as exc:
        raise InvalidFile(str(exc)) from None
    except OverflowError:
        raise InvalidFile(f"{what} must be finite, got an integer too large for a float") from None


def _int(value, what, low=1, high=MAX_FEATURES):
    return _scalar(integer, value, what, low, high)


def _real(value, what, low=None, high=None):
    return _scalar(number, value, what, low, high)


def _bool(value, what):
    if not isinstance(value, bool):
        raise InvalidFile(f"{what} must be true or false, got {value!r}")
    return value


def _choice(value, what, options):
    if not isinstance(value, str) or value not in options:
        raise InvalidFile(f"{what} must be one of {', '.join(map(repr, options))}, got {value!r}")
    return value


def _dict(value, what, keys, required=None):
    """`value` is a dict whose keys are among `keys` and include `required` (default: all)."""
    if not isinstance(value, dict):
        raise InvalidFile(f"{what} must be a JSON object, got {type(value).__name__}")
    unknown = set(value) - set(keys)
    missing = set(keys if required is None else required) - set(value)
    if unknown or missing:
        raise InvalidFile(f"{what} has unknown keys {sorted(unknown)} or lacks {sorted(missing)}")
    return value


def _dense_shapes(cfg, what):
    _dict(cfg, what, ("in_features", "out_features", "bias", "init"))
    n_in = _int(cfg["in_features"], f"{what} in_features")
    n_out = _int(cfg["out_features"], f"{what} out_features")
    _bool(cfg["bias"], f"{what} bias")
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
# parameter-free with scalar settings (checked on load by building it, which is cheap), so
# the writer refuses a layer with parameters that is not here.
PARAM_SCHEMAS = {"Dense": _dense_shapes, "PReLU": _prelu_shapes,
                 "LeakyReLU": _leaky_relu_shapes}


def _layer_shapes(spec, i):
    what = f"layer {i}"
    if not isinstance(spec, dict) or not set(spec) <= {"type", "config"}:
        raise InvalidFile(f"{what} must be an object with 'type' and 'config'")
    kind = spec.get("type")
    if not isinstance(kind, str) or kind not in LAYER_TYPES:
        raise InvalidFile(f"{what} has an unknown type {kind!r}")
    cfg = spec.get("config", {})
    if not isinstance(cfg, dict):
        raise InvalidFile(f"{what} config must be a JSON object")
    if kind in PARAM_SCHEMAS:
        return kind, cfg, PARAM_SCHEMAS[kind](cfg, f"{what} ({kind})")
    if any(v is not None and not isinstance(v, (bool, int, float, str)) for v in cfg.values()):
        raise InvalidFile(f"{what} ({kind}) config must hold scalars")
    try:
        layer = LAYER_TYPES[kind](**cfg)
    except (TypeError, ValueError) as exc:
        raise InvalidFile(f"{what} ({kind}) has an invalid config: {exc}") from None
    if layer.parameters():
        raise InvalidFile(f"{what} ({kind}) has parameters fastlin.io cannot check")
    return kind, cfg, []


def validate(header, backend):
    """Check every field of the header and return the plan load builds from: the class,
    dtype, backend (`backend` when given, else the stored one), the layers as
    ``[((type, config), [parameter shapes])]``, metadata, MLP arguments, loss and optimizer."""
    version = header["__version__"]
    kind = header.get("class", "Sequential") if version >= 2 else "Sequential"
    _choice(kind, "class", ("Sequential", "MLP"))
    dtype = _choice(header.get("dtype"), "dtype", ("float32", "float64"))
    stored_backend = _choice(header.get("backend", "cython"), "backend", tuple(available()))
    specs = header.get("layers")
    if not isinstance(specs, list) or not len(specs) <= MAX_LAYERS:
        raise InvalidFile(f"layers must be a list of at most {MAX_LAYERS} layers")
    layers = []
    for i, spec in enumerate(specs):
        kind_i, cfg, shapes = _layer_shapes(spec, i)
        layers.append(((kind_i, cfg), shapes))
    metadata = header.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise InvalidFile(f"metadata must be a JSON object or null, got "
                          f"{type(metadata).__name__}")
    plan = {"class": kind, "dtype": dtype, "backend": backend or stored_backend,
            "backend_override": backend,
            "layers": layers, "metadata": metadata, "mlp": None, "optimizer": None}
    if kind == "MLP":
        plan["mlp"] = _validate_mlp(header.get("mlp"), layers)
    _validate_training_state(header)
    widths = [cfg["out_features"] for (kind_i, cfg), _ in layers if kind_i == "Dense"]
    plan["loss"] = _validate_loss(header.get("loss"), widths[-1] if widths else None)
    if header.get("optimizer") is not None:
        plan["optimizer"] = _validate_optimizer(header["optimizer"])
    return plan


def _validate_training_state(header):
    seed = header.get("seed")
    if seed is not None:
        _int(seed, "seed", 0, 2**128)
    state = header.get("fit_rng_state")
    if state is not None:
        if not isinstance(state, dict):
            raise InvalidFile("fit_rng_state must be a JSON object or null")
        _check_state(state, "fit_rng_state", 0)


def _check_state(value, what, depth):
    if depth > MAX_STATE_DEPTH:
        raise InvalidFile(f"{what} is nested too deeply")
    if isinstance(value, dict):
        for v in value.values():
            _check_state(v, what, depth + 1)
    elif isinstance(value, list):
        for v in value:
            _check_state(v, what, depth + 1)
    elif value is not None and not isinstance(value, (bool, int, float, str)):
        raise InvalidFile(f"{what} holds a {type(value).__name__}")


def _validate_mlp(spec, layers):
    _dict(spec, "mlp", ("sizes", "activation", "init", "bias"))
    sizes = spec["sizes"]
    if not isinstance(sizes, list) or len(sizes) < 2:
        raise InvalidFile("mlp sizes must be a list of at least two ints")
    for s in sizes:
        _int(s, "mlp sizes entry")
    _choice(spec["activation"], "mlp activation", tuple(ACTIVATION_LAYERS))
    _choice(spec["init"], "mlp init", INITS)
    _bool(spec["bias"], "mlp bias")
    # the stored Dense layers must chain exactly through `sizes`: then building the MLP
    # allocates no more than the (already validated) stored layers describe
    dense = [cfg for (kind, cfg), _ in layers if kind == "Dense"]
    if [(c["in_features"], c["out_features"]) for c in dense] != list(zip(sizes[:-1], sizes[1:])):
        raise InvalidFile("mlp sizes do not match the stored Dense layers")
    return spec


def _per_output(value, what, n_outputs):
    """A list of one finite number >= 0 per model output."""
    if not isinstance(value, list) or len(value) != n_outputs:
        raise InvalidFile(f"{what} must be a list of {n_outputs} numbers (one per output)")
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
_OPTIMIZER_SETTINGS["RMSprop"] = {"lr": "real", "alpha": "real", "eps": "real",
                                  "weight_decay": "real", "momentum": "real", "centered": "bool"}
_OPTIMIZER_SETTINGS["Adagrad"] = {"lr": "real", "lr_decay": "real", "weight_decay": "real",
                                  "initial_accumulator_value": "real", "eps": "real"}


def _validate_optimizer(spec):
    _dict(spec, "optimizer", ("class", "config", "step_count", "n_state", "backend",
                              "initial_lr"),
          ("class", "config", "step_count", "n_state"))
    if "initial_lr" in spec:
        _real(spec["initial_lr"], "optimizer initial_lr", 0.0)
    if "backend" in spec:
        _choice(spec["backend"], "optimizer backend", tuple(available()))
    kind = _choice(spec["class"], "optimizer class", OPTIMIZERS)
    settings = _OPTIMIZER_SETTINGS[kind]
    cfg = _dict(spec["config"], "optimizer config", tuple(settings), ())
    for key, value in cfg.items():
        what = f"optimizer {key}"
        if settings[key] == "bool":
            _bool(value, what)
        elif settings[key] == "pair":
            if not isinstance(value, list) or len(value) != 2:
                raise InvalidFile(f"{what} must be a pair of numbers")
            for v in value:
                _real(v, what)
        else:
            _real(value, what)
    if kind == "AdamW" and cfg.get("decoupled_weight_decay", True) is not True:
        raise InvalidFile("an AdamW must have decoupled_weight_decay true")
    _int(spec["step_count"], "optimizer step_count", 0, 2**62)
    _int(spec["n_state"], "optimizer n_state", 0, 2**31)
    return spec
