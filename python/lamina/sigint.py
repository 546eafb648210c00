"""Ctrl-C handled by lamina's own loops: a context manager that installs a SIGINT handler
while it is entered (only on the main thread, and only over Python's default handler or
another lamina guard, so an application's own handler is left alone) and restores the
previous one on exit.

Guards nest: a guard entered inside another (``fit`` inside a ``lamina tune`` trial) takes
Ctrl-C over while it runs, and the outer one is told (``_note``) of each Ctrl-C the inner one
handled, so both loops stop where each is safe to stop; a guard entered after the outer one
already saw a Ctrl-C handles that Ctrl-C at once (``_seen``).

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
    """Base of lamina's Ctrl-C handlers: subclasses define ``_handler(signum, frame)`` and,
    to hear of a Ctrl-C a nested guard handled, ``_note()`` and ``_seen()``."""

    _previous = None
    _outer = None

    def __enter__(self):
        if threading.current_thread() is not threading.main_thread():
            return self
        current = signal.getsignal(signal.SIGINT)
        outer = getattr(current, "__self__", None)
        if not isinstance(outer, SigintGuard) or current != outer._dispatch:
            outer = None
            if current is not signal.default_int_handler:
                return self  # the application's own handler: leave it alone
        self._outer = outer
        self._previous = signal.signal(signal.SIGINT, self._dispatch)
        if outer is not None and outer._seen():
            self._handler(signal.SIGINT, None)  # a Ctrl-C the outer loop has not acted on
        return self

    def _dispatch(self, signum, frame):
        outer = self._outer
        while outer is not None:  # the outer loops hear of it first: the handler may raise
            outer._note()
            outer = outer._outer
        self._handler(signum, frame)

    def _handler(self, signum, frame):  # pragma: no cover - subclasses override it
        raise KeyboardInterrupt

    def _note(self):
        """A nested guard handled a Ctrl-C (nothing by default)."""

    def _seen(self):
        """Whether this guard holds a Ctrl-C its loop has not acted on yet."""
        return False

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None
        self._outer = None
        return False
