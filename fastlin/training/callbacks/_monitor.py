"""What the callbacks that watch one logs key share: its direction and its value."""
import math
import warnings

from fastlin.training.callbacks.base import Callback


class MonitorCallback(Callback):
    """Shared by the callbacks that watch one logs key: the direction and the value."""

    def __init__(self, monitor, mode):
        if not isinstance(monitor, str) or not monitor:
            raise TypeError(f"monitor must be a logs key (a non-empty str), got {monitor!r}")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
        self.monitor, self.mode = monitor, mode
        self._warned = False

    @property
    def _maximize(self):
        if self.mode == "auto":
            return "acc" in self.monitor
        return self.mode == "max"

    def _worst(self):
        return -math.inf if self._maximize else math.inf

    def _monitor_value(self, logs):
        logs = logs or {}
        key = self.monitor
        if key not in logs and key.startswith("val_") and key[4:] in logs:
            if not self._warned:
                warnings.warn(f"{type(self).__name__}: {key!r} is not in the logs (no "
                              f"validation data?); monitoring {key[4:]!r} instead",
                              UserWarning, stacklevel=3)
                self._warned = True
            key = key[4:]
        if key not in logs:
            raise ValueError(f"{type(self).__name__}: monitor={self.monitor!r} is not in the "
                             f"logs; available: {', '.join(sorted(logs)) or 'none'}")
        value = logs[key]
        try:
            return float(value)
        except (TypeError, ValueError):
            raise TypeError(f"{type(self).__name__}: logs[{key!r}] must be a number, got "
                            f"{value!r}") from None
