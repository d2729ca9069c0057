"""Ctrl-C inside fit: honoured at the next batch boundary, never in the middle of an update.

Python raises KeyboardInterrupt wherever the interpreter happens to be when SIGINT arrives,
which in a Python-loop step can be between two parameters' updates. While ``fit`` runs in the
main thread with Python's default SIGINT handler, ``deferred_interrupt`` swaps in a handler that
only records the signal; fit calls ``check()`` after every batch (or chunk of compiled batches,
each ~50 ms at most) and raises KeyboardInterrupt there. A second Ctrl-C before that check
raises at once, so a stuck fit can still be broken out of. Elsewhere (another thread, or a
handler the user installed) nothing is swapped and the signal behaves as it always does.
"""
import signal
import threading

try:  # the C module under `signal`: its wrappers' enum conversions cost ~15 us per fit
    from _signal import getsignal as _getsignal, signal as _setsignal
except ImportError:  # pragma: no cover - not CPython
    _getsignal, _setsignal = signal.getsignal, signal.signal


_active = threading.local()  # this thread's innermost deferred_interrupt, if any


def check_pending():
    """Raise KeyboardInterrupt if a deferred Ctrl-C waits in this thread: work that runs
    inside a fit without being the fit's loop (the validation pass) calls it between blocks."""
    current = getattr(_active, "current", None)
    if current is not None:
        current.check()


class deferred_interrupt:
    """Context manager: SIGINT is recorded while inside, raised by ``check()``."""

    def __init__(self):
        self.pending = False
        self._installed = False
        self._outer = None

    def _record(self, signum, frame):
        if self.pending:
            raise KeyboardInterrupt
        self.pending = True

    def __enter__(self):
        self.pending = False
        self._outer = getattr(_active, "current", None)
        _active.current = self
        if threading.current_thread() is threading.main_thread():
            try:
                if _getsignal(signal.SIGINT) is signal.default_int_handler:
                    _setsignal(signal.SIGINT, self._record)
                    self._installed = True
            except (ValueError, OSError):  # no signals here (embedded interpreter, say)
                pass
        return self

    def check(self):
        """Raise KeyboardInterrupt if Ctrl-C arrived since the last check."""
        if self.pending:
            self.pending = False
            raise KeyboardInterrupt

    def __exit__(self, exc_type, exc, tb):
        _active.current = self._outer
        if self._installed:
            _setsignal(signal.SIGINT, signal.default_int_handler)
            self._installed = False
        return False
