"""Ctrl-C held while something must not be cut in half: a file being written, a loop reaching a clean point.
This module needs the standard library only."""

from __future__ import annotations

import signal
import threading


class deferred_interrupts:
    """Hold Ctrl-C (SIGINT) while a block runs; ``received`` says whether one came.

    With ``deliver=True`` (file writes) a held interrupt is delivered when the block ends, to whatever
    handled SIGINT before (``KeyboardInterrupt`` by default, or an enclosing block's flag), so a file is
    never left half-replaced. With ``deliver=False`` (the training loops) the caller polls ``received`` and
    stops at a clean point itself; a second Ctrl-C then raises ``KeyboardInterrupt`` at once (a file being
    written still finishes first: its own block holds it). Outside the main thread (where Python never delivers
    SIGINT, and no handler can be set) the block runs as is.
    """

    def __init__(self, deliver: bool = True):
        self.deliver = deliver
        self.received = False
        self._old = None
        self._installed = False

    def _handler(self, signum, frame):
        if self.received and not self.deliver:  # a second Ctrl-C while a loop winds down: stop now
            raise KeyboardInterrupt
        self.received = True

    def __enter__(self):
        # A process started with SIGINT ignored (``nohup ... &``) keeps ignoring it.
        main = threading.current_thread() is threading.main_thread()
        if main and signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
            try:
                self._old = signal.signal(signal.SIGINT, self._handler)
                self._installed = True
            except ValueError:  # not the main interpreter
                pass
        return self

    def __exit__(self, *exc):
        if not self._installed:
            return False
        signal.signal(signal.SIGINT, self._old)
        if self.received and self.deliver and exc[0] is None:
            if callable(self._old):
                self._old(signal.SIGINT, None)
            elif self._old != signal.SIG_IGN:
                raise KeyboardInterrupt
        return False
