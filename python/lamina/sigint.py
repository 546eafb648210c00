"""Ctrl-C handled by lamina's own loops: a context manager that installs a SIGINT handler
while it is entered (only on the main thread, and only over Python's default handler, so an
application's own handler is left alone) and restores the previous one on exit.

Example:
    >>> class Flag(SigintGuard):
    ...     hit = False
    ...     def _handler(self, signum, frame):
    ...         self.hit = True
    >>> with Flag() as guard:
    ...     pass
    >>> guard.hit
    False
"""

from __future__ import annotations

import signal
import threading

__all__ = ["SigintGuard"]


class SigintGuard:
    """Base of lamina's Ctrl-C handlers: subclasses define ``_handler(signum, frame)``."""

    _previous = None

    def __enter__(self):
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self._previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def _handler(self, signum, frame):  # pragma: no cover - subclasses override it
        raise KeyboardInterrupt

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None
        return False
