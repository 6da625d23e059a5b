"""Events from the worker thread, handed to the thread a QObject lives in.

The worker appends an event and emits a signal on a child QObject of the owner; the
signal is connected queued, so the owner's slot drains the events on the owner's thread
(the GUI thread, normally), where they may be turned into signals that touch widgets.

Lifetime: the QObject the worker emits on has no parent and belongs to the relay, which
the worker holds until its thread ends, so deleting the owner (on the GUI thread, while
the worker is emitting) never deletes it; Qt itself drops queued calls to a receiver that
is gone. ``watch_destroyed`` tells plain Python code that a QObject was deleted without
a Python slot on that object's own ``destroyed`` signal (see there).
"""
from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any, Callable, Deque, Iterator, Optional, Set, Tuple

from ._qt_binding import QUEUED_CONNECTION, QObject, QtCore, Signal, Slot

__all__ = ["EventRelay", "MAX_BACKLOG", "watch_destroyed"]

_watches: Set["_DestroyedWatch"] = set()


class _DestroyedWatch(QObject):
    """Runs a callback when a QObject is deleted, from a real Qt slot taking no arguments.

    A Python callable on ``destroyed`` makes the binding wrap the dying object; PyQt5
    crashes doing so when that object's Python wrapper died with it (an app's slot that
    was the last to reference its client). A slot without arguments wraps nothing.
    """

    def __init__(self, callback: Callable[[], None]) -> None:
        super().__init__()
        self._callback = callback

    @Slot()
    def fire(self) -> None:
        """The watched object is being deleted: run the callback, then let this watch go."""
        try:
            self._callback()
        finally:
            # Not dropped here: this object is a receiver of the signal being emitted.
            QtCore.QTimer.singleShot(0, lambda: _watches.discard(self))


def watch_destroyed(obj: Any, callback: Callable[[], None]) -> None:
    """Call ``callback()`` on ``obj``'s thread when ``obj`` is deleted (by its parent, or otherwise)."""
    watch = _DestroyedWatch(callback)
    _watches.add(watch)  # held here: nothing else may keep a watch alive
    obj.destroyed.connect(watch.fire)


class _Wake(QObject):
    """The object the worker emits on (queued to the owner's thread); nobody's child."""

    wake = Signal()


#: Messages the relay holds at most (about): past it the worker stops reading the socket
#: until the GUI thread has taken half of them, so a burst waits in the kernel and the
#: broker's queue for this client instead of growing this process without bound.
MAX_BACKLOG = 1000


class EventRelay:
    """A bounded queue of event tuples whose arrival calls ``drain`` on ``owner``'s thread.

    ``drain`` is only connected, not stored: a worker holding ``deliver`` must not keep the
    owner alive, or the last reference to that QObject could be dropped on its thread.
    One wake signal is in flight at a time: ``drain`` takes events until the queue is
    empty or its slice of time is over, and only then may the next ``deliver`` wake it.
    """

    def __init__(self, owner: Any, drain: Callable[[], None]) -> None:
        self._events: Deque[Tuple[Any, ...]] = deque()
        self._lock = threading.Lock()
        self._closed = False
        #: Message events queued (the bound counts these; other events are few).
        self._messages = 0
        #: A wake was emitted and ``drain`` has not yet found the queue empty.
        self._awake = False
        #: The worker's callback for "below half the bound again", while it holds reading.
        self._on_room: Optional[Callable[[], None]] = None
        self._wake = _Wake()  # no parent: see the module's docstring
        self._wake.wake.connect(drain, QUEUED_CONNECTION)

    def close(self) -> None:
        """Stop taking events (any thread): ``deliver`` returns False from now on."""
        with self._lock:
            self._closed = True
            on_room, self._on_room = self._on_room, None
        if on_room is not None:
            on_room()  # nobody will drain: a worker waiting for room must not wait forever

    def deliver(self, event: Tuple[Any, ...]) -> bool:
        """Queue ``event`` and wake the owner (any thread); False once the owner is deleted."""
        with self._lock:
            if self._closed:
                return False
            self._events.append(event)
            if event[0] == "message":
                self._messages += 1
            if not self._awake:
                self._awake = True
                self._wake.wake.emit()
        return True

    def post(self, event: Tuple[Any, ...]) -> None:
        """Queue ``event`` from the owner's thread; ``drain`` sees it once control is back in the event loop."""
        self.deliver(event)

    def backlog(self) -> int:
        """How many events are queued, not yet taken by ``drain`` (any thread)."""
        with self._lock:
            return len(self._events)

    def wait_for_room(self, on_room: Callable[[], None]) -> bool:
        """True when ``MAX_BACKLOG`` messages are queued (worker thread): ``on_room()`` is
        then called, on the owner's thread, once they are down to half, or on ``close``.
        False when there is room: no call follows."""
        with self._lock:
            if self._closed or self._messages < MAX_BACKLOG:
                return False
            self._on_room = on_room
            return True

    def take(self, deadline: float) -> Iterator[Tuple[Any, ...]]:
        """The queued events, oldest first, until the queue is empty or ``time.monotonic()``
        passes ``deadline`` (owner's thread). ``more()`` tells which one it was."""
        while True:
            on_room = None
            with self._lock:
                if not self._events:
                    self._awake = False  # the next deliver wakes the owner again
                    return
                if time.monotonic() >= deadline:
                    return  # still awake: the owner schedules the next slice itself
                event = self._events.popleft()
                if event[0] == "message":
                    self._messages -= 1
                    if self._on_room is not None and self._messages <= MAX_BACKLOG // 2:
                        on_room, self._on_room = self._on_room, None
            if on_room is not None:
                on_room()
            yield event

    def more(self) -> bool:
        """After a ``take`` (owner's thread): True when events are left, for the owner to
        schedule the next slice; False when none is, and the next ``deliver`` wakes it.

        Also right after a ``take`` cut short by an exception, which must not leave the
        relay believing a wake is in flight.
        """
        with self._lock:
            if self._events:
                self._awake = True
                return True
            self._awake = False
            return False
