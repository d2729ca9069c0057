"""The plateau arithmetic behind both ReduceLROnPlateau classes (the Keras callback's and the
PyTorch scheduler's): when has a metric stopped improving?

The two libraries count differently, and each class keeps its library's count exactly:
- Keras reduces once ``patience`` epochs have not improved, and counts the epoch in which a
  cooldown ends; PyTorch reduces after ``patience + 1`` and does not (``count_cooldown_end``);
- Keras compares with an absolute margin, PyTorch by default with a relative one
  (``relative``);
- Keras restarts the cooldown only when it really lowered the rate, PyTorch always: the owner
  calls ``start_cooldown`` when its rule says so.
"""
import math


class Plateau:
    """Counts the steps without improvement of one metric.

    Parameters
    ----------
    maximize : bool; improvement means larger
    threshold : float >= 0; the margin an improvement must clear
    relative : bool; the margin is ``best * threshold`` (else ``threshold``)
    patience : int; ``update`` reports a plateau at the ``patience``-th bad step in a row
    cooldown : int; steps after ``start_cooldown`` during which bad steps are not counted
    count_cooldown_end : bool; the step that ends a cooldown counts (Keras) or not (PyTorch)
    """

    def __init__(self, maximize, threshold, relative, patience, cooldown, count_cooldown_end):
        self.maximize, self.threshold, self.relative = maximize, threshold, relative
        self.patience, self.cooldown = patience, cooldown
        self.count_cooldown_end = count_cooldown_end
        self.reset()

    def reset(self):
        self.best = -math.inf if self.maximize else math.inf
        self.cooldown_counter = 0
        self.bad_steps = 0

    @property
    def in_cooldown(self):
        return self.cooldown_counter > 0

    def is_better(self, value, best):
        if self.relative:
            if self.maximize:
                return value > best * (self.threshold + 1.0)
            return value < best * (1.0 - self.threshold)
        if self.maximize:
            return value > best + self.threshold
        return value < best - self.threshold

    def update(self, value):
        """Record one step's value; True when the metric has plateaued (reduce now)."""
        was_cooling = self.in_cooldown
        if was_cooling:
            self.cooldown_counter -= 1
            self.bad_steps = 0
        if self.is_better(value, self.best):
            self.best = value
            self.bad_steps = 0
            return False
        counts = not self.in_cooldown if self.count_cooldown_end else not was_cooling
        if not counts:
            return False
        self.bad_steps += 1
        return self.bad_steps >= self.patience

    def start_cooldown(self):
        self.cooldown_counter = self.cooldown
        self.bad_steps = 0
