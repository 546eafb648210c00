"""lamina's Ctrl-C guards: nesting (fit inside a tune trial), a held Ctrl-C handed inward,
and an application's own handler left alone."""

from __future__ import annotations

import os
import signal

import pytest

from lamina.sigint import SigintGuard

pytestmark = pytest.mark.skipif(
    signal.getsignal(signal.SIGINT) is not signal.default_int_handler,
    reason="the test runner owns SIGINT")


class Recorder(SigintGuard):
    def __init__(self):
        self.handled = 0
        self.noted = 0

    def _handler(self, signum, frame):
        self.handled += 1

    def _note(self):
        self.noted += 1

    def _seen(self):
        return self.handled + self.noted > 0


def ctrl_c():
    os.kill(os.getpid(), signal.SIGINT)  # delivered before os.kill returns to Python code


def test_the_innermost_guard_handles_ctrl_c_and_the_outer_ones_hear_of_it():
    with Recorder() as outer:
        with Recorder() as middle:
            with Recorder() as inner:
                ctrl_c()
            assert (inner.handled, middle.noted, outer.noted) == (1, 1, 1)
            assert (middle.handled, outer.handled) == (0, 0)
            ctrl_c()  # the inner guard is gone: the middle one has it again
            assert (middle.handled, outer.noted, inner.handled) == (1, 2, 1)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with pytest.raises(KeyboardInterrupt):
        ctrl_c()


def test_a_guard_entered_after_an_unhandled_ctrl_c_handles_it_at_once():
    with Recorder() as outer:
        ctrl_c()
        assert outer.handled == 1
        with Recorder() as inner:
            assert inner.handled == 1  # the Ctrl-C the outer loop is still holding
    with Recorder() as outer:
        with Recorder() as inner:
            assert inner.handled == 0


def test_an_applications_own_handler_is_left_alone():
    seen = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: seen.append(signum))
    try:
        with Recorder() as guard:
            ctrl_c()
        assert seen == [signal.SIGINT] and guard.handled == 0
    finally:
        signal.signal(signal.SIGINT, previous)
