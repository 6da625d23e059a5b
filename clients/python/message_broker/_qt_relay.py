"""Events from the worker thread, handed to the thread a QObject lives in.

The worker appends an event and emits a signal on a child QObject of the owner; the
signal is connected queued, so the owner's slot drains the events on the owner's thread
(the GUI thread, normally), where they may be turned into signals that touch widgets.
"""
from __future__ import annotations

from collections import deque
from typing import Any, Callable, Deque, Iterator, Tuple

from ._qt_binding import QUEUED_CONNECTION, QObject, Signal

__all__ = ["EventRelay"]


class _Wake(QObject):
    """A child of the owner that the worker emits on (queued to the owner's thread)."""

    wake = Signal()


class EventRelay:
    """A queue of event tuples whose arrival calls ``drain`` on ``owner``'s thread.

    ``drain`` is only connected, not stored: a worker holding ``deliver`` must not keep the
    owner alive, or the last reference to that QObject could be dropped on its thread.
    """

    def __init__(self, owner: Any, drain: Callable[[], None]) -> None:
        self._events: Deque[Tuple[Any, ...]] = deque()
        self._wake = _Wake(owner)
        self._wake.wake.connect(drain, QUEUED_CONNECTION)

    def deliver(self, event: Tuple[Any, ...]) -> bool:
        """Queue ``event`` and wake the owner (any thread); False once the owner is deleted."""
        self._events.append(event)
        try:
            self._wake.wake.emit()
        except RuntimeError:  # the QObjects are deleted: nobody left to tell
            return False
        return True

    def post(self, event: Tuple[Any, ...]) -> None:
        """Queue ``event`` from the owner's thread; ``drain`` sees it once control is back in the event loop."""
        self._events.append(event)
        self._wake.wake.emit()

    def take_all(self) -> Iterator[Tuple[Any, ...]]:
        """The queued events, oldest first, including any queued while they are being handled."""
        while self._events:
            yield self._events.popleft()
