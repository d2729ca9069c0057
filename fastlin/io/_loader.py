"""Loading: the archive read within bounds, its header validated, every stored array's shape
compared with the architecture's, and only then the model (and optimizer) built.

This is the one module of fastlin.io that knows the model classes: it rebuilds what the
header describes. The models import only the writer, so the dependency runs one way.
"""
import json
import os

import numpy as np

from fastlin import losses, optim
from fastlin.io._bounded import archive_size, float_entry, open_archive, read_finite, read_header
from fastlin.io._format import InvalidFile, optim_stem, param_stem
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
        with open_archive(source) as zf:
            return _read(zf, archive_size(source), backend, with_optimizer)
    except InvalidFile as exc:
        raise ValueError(f"{label}: {exc}") from None


def _read(zf, size, backend, with_optimizer):
    header = read_header(zf, size)
    plan = validate(header, backend)
    shapes = [s for _, layer_shapes in plan["layers"] for s in layer_shapes]
    entries = []
    for i, (_, layer_shapes) in enumerate(plan["layers"]):
        for k, shape in enumerate(layer_shapes):
            entries.append(float_entry(zf, param_stem(i, k), shape, size))
    opt = plan["optimizer"]
    opt_entries = []
    if opt is not None:
        n = opt["n_state"]
        # one state array per parameter and buffer kind: up to three (RMSprop's square_avg,
        # momentum buffer and grad_avg)
        if n not in (0, len(shapes), 2 * len(shapes), 3 * len(shapes)) or (n and not shapes):
            raise InvalidFile(f"optimizer has {n} state arrays for {len(shapes)} parameters")
        opt_entries = [float_entry(zf, optim_stem(j), shapes[j % len(shapes)], size)
                       for j in range(n)]
    # every size is now known to match the architecture: allocate
    model = _build_model(plan)
    for entry, p in zip(entries, model.parameters()):
        np.copyto(p, read_finite(entry), casting="unsafe")
    _restore_attributes(model, header, plan)
    optimizer = None
    if with_optimizer and opt is not None:
        optimizer = _build_optimizer(model, opt, [read_finite(e) for e in opt_entries],
                                     plan["backend_override"])
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
                    backend=backend, init=m["init"], bias=m["bias"])
        stored = [{"type": kind, "config": cfg} for (kind, cfg), _ in plan["layers"]]
        if not _same_json(model.get_config()["layers"], stored):
            raise InvalidFile("the stored layers are not the ones MLP(sizes, activation) builds")
        return model
    layers = []
    for (kind, cfg), _ in plan["layers"]:
        cls = LAYER_TYPES[kind]
        try:
            layers.append(cls(**cfg, dtype=dtype) if cls in (Dense, PReLU) else cls(**cfg))
        except (TypeError, ValueError) as exc:
            raise InvalidFile(f"a {kind} layer has an invalid config: {exc}") from None
    try:
        return Sequential(*layers, dtype=dtype, backend=backend)
    except ValueError as exc:  # layers whose widths do not chain
        raise InvalidFile(f"the stored layers do not fit together: {exc}") from None


def _restore_attributes(model, header, plan):
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
