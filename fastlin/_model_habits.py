"""What Keras and PyTorch users reach for first on a model, as a mixin of Sequential.

Keras: ``get_weights``/``set_weights`` (Dense kernel then bias, in layer order),
``save_weights``/``load_weights``, ``len``/indexing/iteration over the layers, ``add`` and
``compile``. PyTorch: ``state_dict``/``load_state_dict`` (torch's names and layout: a Linear's
weight is (out_features, in_features)) and ``named_parameters``.

Every setter checks all of its input before it writes anything, and writes into the existing
parameter arrays (``np.copyto``), never replacing them: an optimizer holds those very arrays.
"""
import copy
from collections import OrderedDict, namedtuple

import numpy as np

from fastlin.layers import Dense, Layer, PReLU

# load_state_dict's return value, with the field names of torch's
IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


def _as_numpy(value):
    """A torch tensor (any device, requiring grad or not) or an array-like as a NumPy array;
    torch is never imported for this."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _checked_array(value, shape, what):
    """`value` as an array ready for np.copyto into a parameter of `shape`, or a clear error."""
    try:
        array = _as_numpy(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what} is not an array ({exc})") from None
    if array.dtype.kind not in "fiu":
        raise TypeError(f"{what} must be numeric, got dtype {array.dtype}")
    if array.shape != tuple(shape):
        raise ValueError(f"{what} has shape {array.shape}, expected {tuple(shape)}")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise ValueError(f"{what} contains NaN or infinity")
    return array


class ModelHabits:
    """Keras's and torch's model conveniences over ``self.layers`` (mixed into Sequential)."""

    # what compile keeps; class defaults, so models built before compile (or loaded) have them
    compiled_metrics = None
    _compiled_optimizer = None
    _compiled_loss = None

    # ------------------------------------------------------------ layers as a sequence
    def __len__(self):
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)

    def __getitem__(self, index):
        """``model[i]`` is a layer; ``model[i:j]`` a Sequential of those layers (the same layer
        objects, as torch's slicing shares modules: training one trains the other)."""
        if isinstance(index, slice):
            return type(self)._from_layers(self, self.layers[index])
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"model indices must be integers or slices, not "
                            f"{type(index).__name__}")
        return self.layers[index]

    @staticmethod
    def _from_layers(model, layers):
        # a plain stack of those layers even when the model is an MLP (whose constructor
        # takes sizes): the class that defines the stack says which one that is
        return model._stack_class()(*layers, dtype=model.dtype, backend=model.backend_name)

    def add(self, layer):
        """Append a layer, with the constructor's checks (a fastlin Layer, not already in the
        model, its width chaining on). It takes the model's dtype and backend. In a model built
        with a seed, its weights are drawn from the model's generator where the constructor's
        draws stopped (``Sequential(a, b, seed=s)`` then ``add(c)`` has the weights of
        ``Sequential(a, b, c, seed=s)``); without one it keeps its own. An optimizer built
        before covers the old parameters only: a fit with an optimizer name builds a new one."""
        if not isinstance(layer, Layer):
            raise TypeError(f"add takes a fastlin Layer, got {type(layer).__name__}")
        if any(existing is layer for existing in self.layers):
            raise ValueError(f"this {type(layer).__name__} is already in the model; a layer may "
                             "appear once in a model (build a new one for each use)")
        layers = self.layers + [layer]
        self._check_widths(layers)
        layer._set_backend(self.backend_name)
        layer._set_dtype(self.dtype)
        if self.seed is not None:
            layer.reset_parameters(self._seed_stream())
        self.layers = layers

    def _seed_stream(self):
        """The generator a seeded model's weights come from, where its last draw stopped; a
        model loaded from a file replays its layers' draws to get there."""
        rng = self.__dict__.get("_init_rng")
        if rng is None:
            rng = np.random.default_rng(self.seed)
            for existing in self.layers:
                copy.deepcopy(existing).reset_parameters(rng)
            self._init_rng = rng
        return rng

    # --------------------------------------------------------------------- Keras
    def get_weights(self):
        """Copies of the parameters in layer order: each Dense's kernel W (in_features,
        out_features) then its bias b, each PReLU's alpha, as Keras's ``get_weights``."""
        return [np.array(p) for p in self.parameters()]

    def set_weights(self, weights):
        """Set the parameters from a list in ``get_weights``'s order and shapes. Everything is
        checked first (count, then each array's shape, numeric dtype and finiteness, an error
        naming its index), so a refused list changes nothing."""
        if isinstance(weights, (np.ndarray, str, bytes)) or not hasattr(weights, "__len__"):
            raise TypeError(f"set_weights takes a list of arrays, got {type(weights).__name__}")
        params = self.parameters()
        if len(weights) != len(params):
            raise ValueError(f"set_weights got {len(weights)} arrays but the model has "
                             f"{len(params)} parameter arrays ({self._weight_names()})")
        arrays = [_checked_array(w, p.shape, f"weight {i} ({name})")
                  for i, (w, p, name) in enumerate(zip(weights, params, self._parameter_names()))]
        for p, a in zip(params, arrays):
            np.copyto(p, a, casting="unsafe")

    def _weight_names(self):
        return ", ".join(f"{i}: {name} {tuple(p.shape)}" for i, (name, p) in
                         enumerate(zip(self._parameter_names(), self.parameters())))

    def _parameter_names(self):
        """fastlin's names of parameters(), in its order: "<layer>.W", "<layer>.b",
        "<layer>.alpha"."""
        names = []
        for i, layer in enumerate(self.layers):
            if isinstance(layer, Dense):
                names += [f"{i}.W"] + ([f"{i}.b"] if layer.use_bias else [])
            elif isinstance(layer, PReLU):
                names.append(f"{i}.alpha")
            else:
                names += [f"{i}.param{j}" for j in range(len(layer.parameters()))]
        return names

    def save_weights(self, path):
        """Write the weights (``state_dict``, float arrays only, no pickle) to an .npz file at
        exactly `path`, atomically: an interrupted write leaves any previous file intact.
        ``load_weights`` reads it into a model of the same architecture."""
        from fastlin._atomic import atomic_write
        state = self.state_dict()
        atomic_write(path, lambda f: np.savez(f, **state))

    def load_weights(self, path):
        """Read weights written by ``save_weights`` into this model, with ``load_state_dict``'s
        strict checks: a file of another architecture is refused and changes nothing."""
        with np.load(path, allow_pickle=False) as data:
            state = OrderedDict((key, data[key]) for key in data.files)
        self.load_state_dict(state)

    def compile(self, optimizer=None, loss=None, metrics=None):
        """Keep an optimizer and a loss for the next ``fit`` and ``evaluate`` (an argument given
        to them still wins).

        Parameters
        ----------
        optimizer : Optimizer over this model's parameters, or a name ("sgd", "adam", ...);
            None: fit's default, "adam". A name is resolved by each fit as fit's own
            argument is, continuing ``model.optimizer`` when it is of that kind.
        loss : Loss or name; None: fit infers it from the labels, as without compile
        metrics : list of metric names, kept as ``model.compiled_metrics`` and not used here
        """
        from fastlin.losses import get_loss
        from fastlin.optim import OPTIMIZERS, Optimizer
        if optimizer is not None:
            if isinstance(optimizer, Optimizer):
                from fastlin.training.fit import make_optimizer
                make_optimizer(self, optimizer, None)  # its checks; with lr None it sets nothing
            elif not (isinstance(optimizer, str) and optimizer.lower() in OPTIMIZERS):
                raise ValueError(f"unknown optimizer {optimizer!r}; pass an Optimizer or one of "
                                 f"{', '.join(OPTIMIZERS)}")
        if loss is not None:
            loss = get_loss(loss, backend=self.backend_name)
        if metrics is not None:
            if isinstance(metrics, str) or not hasattr(metrics, "__iter__"):
                raise TypeError(f"metrics must be a list, got {type(metrics).__name__}")
            metrics = list(metrics)
        self._compiled_optimizer, self._compiled_loss = optimizer, loss
        self.compiled_metrics = metrics

    def _compiled_arguments(self, loss, optimizer):
        """fit's and evaluate's loss and optimizer: the ones given, else compile's, else the
        defaults (loss None: the previous fit's or inferred; optimizer "adam")."""
        if loss is None:
            loss = self._compiled_loss
        if optimizer is None:
            optimizer = "adam" if self._compiled_optimizer is None else self._compiled_optimizer
        return loss, optimizer

    # -------------------------------------------------------------------- PyTorch
    def _torch_entries(self):
        """(name, parameter, to torch layout, from torch layout) for every parameter, in
        parameters() order; a Dense kernel is stored transposed, as torch's Linear.weight."""
        entries = []
        for i, layer in enumerate(self.layers):
            if isinstance(layer, Dense):
                entries.append((f"{i}.weight", layer.W, np.transpose, np.transpose))
                if layer.use_bias:
                    entries.append((f"{i}.bias", layer.b, None, None))
            elif isinstance(layer, PReLU):
                entries.append((f"{i}.weight", layer.alpha, None, None))
            else:
                for j, p in enumerate(layer.parameters()):
                    entries.append((f"{i}.param{j}", p, None, None))
        return entries

    def state_dict(self):
        """An OrderedDict of copies of the parameters under torch's names and layout
        (``"0.weight"`` of shape (out_features, in_features), ``"0.bias"``, a PReLU's
        ``"k.weight"``): ``load_state_dict`` of ``fastlin.export.to_torch(model)`` takes it
        (as torch tensors), and ``load_state_dict`` here takes torch's."""
        return OrderedDict((name, np.array(p if to is None else to(p), order="C"))
                           for name, p, to, _ in self._torch_entries())

    def named_parameters(self):
        """(name, array) pairs with ``state_dict``'s names and layout. The arrays are views of
        the live parameters (a Dense weight is the transposed view of W), so in-place edits
        change the model, as with torch's; optimizers take ``parameters()``."""
        return [(name, p if to is None else to(p)) for name, p, to, _ in self._torch_entries()]

    def load_state_dict(self, state_dict, strict=True):
        """Copy parameters from a mapping of ``state_dict``'s names to arrays or torch tensors
        (``to_torch(model).state_dict()`` as it is, or converted to NumPy).

        strict=True (torch's default) refuses missing and unexpected keys; a wrong shape is
        refused either way. Everything is checked before anything is written. Returns
        ``(missing_keys, unexpected_keys)`` as torch does."""
        if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
            raise TypeError(f"load_state_dict takes a mapping of names to arrays, got "
                            f"{type(state_dict).__name__}")
        entries = self._torch_entries()
        names = [name for name, *_ in entries]
        missing = [name for name in names if name not in state_dict]
        unexpected = [key for key in state_dict.keys() if key not in set(names)]
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append("Missing key(s) in state_dict: " + ", ".join(map(repr, missing)))
            if unexpected:
                parts.append("Unexpected key(s) in state_dict: "
                             + ", ".join(map(repr, unexpected)))
            raise ValueError("Error(s) in loading state_dict for Sequential: "
                             + ". ".join(parts) + ".")
        writes = []
        for name, p, to, back in entries:
            if name in state_dict:
                shape = p.shape if to is None else to(p).shape
                array = _checked_array(state_dict[name], shape, f"state_dict[{name!r}]")
                writes.append((p, array if back is None else back(array)))
        for p, array in writes:
            np.copyto(p, array, casting="unsafe")
        return IncompatibleKeys(missing, unexpected)
