"""Helpers shared by the test modules (``from support import Inbox``; tests/ is on sys.path).

``Inbox`` collects what a subscription delivers and waits for a message on an
asyncio.Event, never by sleeping. The other helpers look at things no event reports (a
process, a listening port), so they poll.
"""
from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from typing import Any, Callable, List, Optional

from message_broker import Message

WAIT = 10.0  # default upper bound for a wait; passing tests never take it


class Inbox:
    """The messages one subscription delivered, in order, and a way to wait for one.

    Pass ``inbox.callback`` as the subscription callback: a coroutine function, or with
    ``sync=True`` a plain function. ``timeout`` is the default for the waits.
    """

    def __init__(self, sync: bool = False, timeout: float = WAIT) -> None:
        self.messages: List[Message] = []
        self.timeout = timeout
        self._arrived = asyncio.Event()
        self.callback: Callable[[Message], Any] = self._record if sync else self._record_async

    def _record(self, msg: Message) -> None:
        self.messages.append(msg)
        self._arrived.set()

    async def _record_async(self, msg: Message) -> None:
        self._record(msg)

    def topics(self) -> List[str]:
        """The topics of the messages received so far, in order."""
        return [m.topic for m in self.messages]

    async def wait(self, predicate: Callable[[Message], bool], timeout: Optional[float] = None) -> Message:
        """The first message received that satisfies ``predicate``, waiting for it if none
        has yet; fails (AssertionError) after ``timeout`` seconds."""
        return await self._wait(predicate, timeout, "matching message")

    async def wait_topic(self, topic: str, timeout: Optional[float] = None) -> Message:
        """The first message received on ``topic``, as ``wait``."""
        return await self._wait(lambda m: m.topic == topic, timeout, "message on %s" % topic)

    async def _wait(self, predicate: Callable[[Message], bool], timeout: Optional[float], what: str) -> Message:
        limit = self.timeout if timeout is None else timeout

        async def first_match() -> Message:
            while True:
                for msg in self.messages:
                    if predicate(msg):
                        return msg
                self._arrived.clear()
                await self._arrived.wait()

        try:
            return await asyncio.wait_for(first_match(), limit)
        except asyncio.TimeoutError:
            raise AssertionError("no %s within %ss; got %s" % (what, limit, self.topics())) from None


def pid_alive(pid: int) -> bool:
    """True while ``pid`` is a live process (a zombie counts as gone)."""
    if sys.platform == "win32":
        # os.kill(pid, 0) would terminate the process on Windows.
        out = subprocess.run(["tasklist", "/FI", "PID eq %d" % pid, "/NH"], capture_output=True, text=True).stdout
        return str(pid) in out.split()
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return True  # no /proc: kill(0) said it exists
    return stat[stat.rfind(")") + 2:].split()[0] != "Z"


def is_listening(port: int) -> bool:
    """True when something accepts connections on 127.0.0.1:``port``."""
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_until(cond: Callable[[], bool], timeout: float, what: str) -> None:
    """Block until ``cond()`` holds (polling); fails (AssertionError) after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError("%s not met within %ss" % (what, timeout))
        time.sleep(0.05)


def spin_until(cond: Callable[[], bool], timeout: float = WAIT) -> bool:
    """Run the Qt event loop until ``cond()`` holds or ``timeout`` seconds pass; ``cond()`` then.

    Needs a Qt binding; makes a QCoreApplication if there is none yet (and holds it
    while spinning).
    """
    if cond():
        return True
    from message_broker._qt_binding import QtCore  # the binding the Qt client uses

    app = QtCore.QCoreApplication.instance() or QtCore.QCoreApplication([])
    loop = QtCore.QEventLoop()
    poll = QtCore.QTimer()
    poll.timeout.connect(lambda: loop.quit() if cond() else None)
    deadline = QtCore.QTimer()
    deadline.setSingleShot(True)
    deadline.timeout.connect(loop.quit)
    poll.start(5)
    deadline.start(int(timeout * 1000))
    (getattr(loop, "exec", None) or loop.exec_)()
    poll.stop()
    deadline.stop()
    del app
    return cond()


def our_children(*words: bytes) -> List[int]:
    """Pids of the living child processes of this test process whose command line holds
    every one of ``words`` as an argument (Linux: read from /proc)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % name, "rb") as f:
                argv = f.read().split(b"\0")
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if fields[0] != "Z" and int(fields[1]) == os.getpid() and all(word in argv for word in words):
            found.append(int(name))
    return found
