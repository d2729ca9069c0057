"""What ``Sequential.summary()`` prints and what ``History.plot()`` draws (kept out of
sequential.py so the model file stays about the model)."""
import re

import numpy as np


def _snake(name):
    # Keras's layer names: "Dense" -> "dense", "ReLU" -> "re_lu", "PReLU" -> "p_re_lu"
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


def summary_lines(model):
    """The lines of a Keras-style table: one row per layer with its name and type, output
    shape "(None, width)" and parameter count, then the totals."""
    rows, seen = [], {}
    width = model.n_features_in
    total = 0
    for layer in model.layers:
        cls = type(layer).__name__
        base = _snake(cls)
        k = seen.get(base, 0)
        seen[base] = k + 1
        name = base if k == 0 else f"{base}_{k}"
        out = getattr(layer, "out_features", None)
        if out is not None:
            width = out
        n = int(sum(p.size for p in layer.parameters()))
        total += n
        rows.append((f"{name} ({cls})", f"(None, {width})", f"{n:,}"))
    nbytes = total * model.dtype.itemsize
    size = (f"{nbytes} B" if nbytes < 1024 else f"{nbytes / 1024:.2f} KB"
            if nbytes < 1024 ** 2 else f"{nbytes / 1024 ** 2:.2f} MB")
    heads = ("Layer (type)", "Output Shape", "Param #")
    w0 = max(len(heads[0]), *(len(r[0]) for r in rows)) + 3 if rows else len(heads[0]) + 3
    w1 = max(len(heads[1]), *(len(r[1]) for r in rows)) + 3 if rows else len(heads[1]) + 3
    w2 = max(len(heads[2]), *(len(r[2]) for r in rows)) if rows else len(heads[2])
    line = w0 + w1 + w2

    def row(a, b, c):
        return f"{a:<{w0}}{b:<{w1}}{c:>{w2}}"

    lines = [f'Model: "{type(model).__name__}" ({model.dtype.name}, backend '
             f'{model.backend_name!r})', "_" * line, row(*heads), "=" * line]
    lines += [row(*r) for r in rows]
    lines += ["=" * line, f"Total params: {total:,} ({size})", f"Trainable params: {total:,}",
              "Non-trainable params: 0", "_" * line]
    return lines


def plot_history(history, keys=None, ax=None):
    """Draw the curves of ``history`` on ``ax`` (a new figure's Axes when None); the default
    keys are every recorded key except the learning rate. Returns the Axes."""
    try:
        from matplotlib.axes import Axes
    except ImportError:
        raise ImportError("History.plot needs matplotlib: pip install 'fastlin[plot]'") from None
    if not history.history:
        raise ValueError("the History is empty: nothing to plot")
    if keys is None:
        keys = [k for k in history.history if k not in ("lr", "learning_rate")]
    elif isinstance(keys, str):
        keys = [keys]
    else:
        keys = list(keys)
    if not keys:
        raise ValueError("no keys to plot")
    for k in keys:
        if k not in history.history:
            raise ValueError(f"{k!r} is not in the history; recorded: "
                             f"{', '.join(history.history)}")
    if ax is None:
        import matplotlib.pyplot as plt
        _, ax = plt.subplots()
    elif not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    for k in keys:
        values = history.history[k]
        epochs = history.epoch[-len(values):] if history.epoch else range(len(values))
        ax.plot(np.asarray(epochs), np.asarray(values, dtype=float), marker="o",
                markersize=3, label=k)
    ax.set_xlabel("epoch")
    ax.set_ylabel(", ".join(keys) if len(keys) <= 2 else "value")
    ax.legend()
    ax.grid(True, alpha=0.3)
    return ax
