"""Loading: the archive read within bounds, its header validated, every stored array's shape
compared with the architecture's, and only then the model (and optimizer) built.

This is the one module of fastlin.io that knows the model classes: it rebuilds what the
header describes. The models import only the writer, so the dependency runs one way.
"""
import json
import os

import numpy as np

from fastlin import losses, optim
from fastlin.io._bounded import Archive, check_disjoint, float_entry, read_header, read_into
from fastlin.io._format import InvalidFile, MissingFile, optim_stem, param_stem
from fastlin.io._schema import validate
from fastlin.layers import LAYER_TYPES, Dense, PReLU
from fastlin.sequential import MLP, Sequential


def load_file(path, backend, with_optimizer):
    """``(model, optimizer)`` from the file at `path` (a path or a binary file object); any
    defect of the file is a ValueError whose message starts with its name."""
    if hasattr(path, "read"):
        label = str(getattr(path, "name", "<file object>"))
        source = path
    else:
        source = label = os.fspath(path)
    try:
        with Archive(source) as archive:
            return _read(archive, backend, with_optimizer)
    except InvalidFile as exc:
        raise ValueError(f"{label}: {exc}") from None
    except FileNotFoundError as exc:
        raise MissingFile(exc.errno, exc.strerror, label) from None


def _read(archive, backend, with_optimizer):
    header = read_header(archive)
    plan = validate(header, backend)
    shapes = [s for _, layer_shapes in plan["layers"] for s in layer_shapes]
    entries = []
    for i, (_, layer_shapes) in enumerate(plan["layers"]):
        for k, shape in enumerate(layer_shapes):
            entries.append(float_entry(archive, param_stem(i, k), shape))
    opt = plan["optimizer"]
    opt_entries = []
    if opt is not None:
        n = opt["n_state"]
        # one state array per parameter and buffer kind: up to three (RMSprop's square_avg,
        # momentum buffer and grad_avg)
        if n not in (0, len(shapes), 2 * len(shapes), 3 * len(shapes)) or (n and not shapes):
            raise InvalidFile(f"optimizer has {n} state arrays for {len(shapes)} parameters")
        opt_entries = [float_entry(archive, optim_stem(j), shapes[j % len(shapes)])
                       for j in range(n)]
    check_disjoint(archive)
    # every size is now known to match the architecture and the file: allocate
    model = _build_model(plan)
    for entry, p in zip(entries, model.parameters()):
        read_into(entry, p)
    _restore_attributes(model, header, plan)
    optimizer = None
    if with_optimizer and opt is not None:
        state = [read_into(e, np.empty(e.shape, model.dtype)) for e in opt_entries]
        optimizer = _build_optimizer(model, opt, state, plan["backend_override"])
        # as after the fit that saved it: fit(optimizer="adam"), the default, continues this
        # optimizer (its moments and step count) rather than starting a fresh one
        model.optimizer = optimizer
    return model, optimizer


def _same_json(a, b):
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _build_model(plan):
    dtype, backend = plan["dtype"], plan["backend"]
    if plan["class"] == "MLP":
        m = plan["mlp"]
        model = MLP(m["sizes"], activation=m["activation"], dtype=dtype, seed=None,
                    backend=backend, init="zeros", bias=m["bias"])
        _keep_init(model.layers, m["init"])
        stored = [{"type": kind, "config": cfg} for (kind, cfg), _ in plan["layers"]]
        if not _same_json(model.get_config()["layers"], stored):
            raise InvalidFile("the stored layers are not the ones MLP(sizes, activation) builds")
        return model
    layers = []
    for (kind, cfg), _ in plan["layers"]:
        cls = LAYER_TYPES[kind]
        try:
            if cls is Dense:
                layers.append(cls(**{**cfg, "init": "zeros"}, dtype=dtype))
                _keep_init(layers[-1:], cfg["init"])
            else:
                layers.append(cls(**cfg, dtype=dtype) if cls is PReLU else cls(**cfg))
        except (TypeError, ValueError) as exc:
            raise InvalidFile(f"a {kind} layer has an invalid config: {exc}") from None
    try:
        return Sequential(*layers, dtype=dtype, backend=backend)
    except ValueError as exc:  # layers whose widths do not chain
        raise InvalidFile(f"the stored layers do not fit together: {exc}") from None


def _keep_init(layers, init):
    """Record `init` on Dense layers built with init="zeros". The stored weights replace the
    initial ones, so drawing random ones first would only cost time and float64 temporaries
    several times the layer's size; zeros come from untouched, lazily mapped memory."""
    for layer in layers:
        if isinstance(layer, Dense):
            layer.init = init


def _restore_attributes(model, header, plan):
    model.metadata = plan["metadata"]
    model.seed = header.get("seed")
    # numpy checks a bit generator's state only as far as it uses it: a damaged one raises
    # whatever its arithmetic meets (OverflowError, TypeError, KeyError), all defects of the file
    if "fit_rng_state" in header:
        try:
            model._fit_rng_state = header["fit_rng_state"]
        except (TypeError, ValueError, KeyError, IndexError, OverflowError) as exc:
            raise InvalidFile(f"fit_rng_state is not a valid shuffle-stream state: "
                              f"{exc}") from None
    if plan["loss"] is not None:
        kind, cfg = plan["loss"]
        try:
            model.loss_ = getattr(losses, kind)(**cfg, backend=model.backend_name)
        except (TypeError, ValueError, OverflowError) as exc:
            raise InvalidFile(f"the loss {kind} has an invalid config: {exc}") from None


def _build_optimizer(model, spec, state, backend):
    """The optimizer over model.parameters(), on the backend it ran on (an optimizer built
    without backend= uses the default one, whatever the model's), unless load was given one."""
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
        raise InvalidFile(f"the optimizer state does not fit: {exc}") from None
    return opt
