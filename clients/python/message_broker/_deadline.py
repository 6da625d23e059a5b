"""``within(awaitable, seconds)``: ``asyncio.wait_for`` without its lost cancellations.

Before Python 3.12, ``wait_for`` runs the awaitable in a task of its own; when the caller
is cancelled in the same loop turn as that task finishes, ``wait_for`` returns the result
and the cancellation is gone. A Ctrl+C that lands as ``MessageBroker.start()`` reads the
broker's "listening" line is exactly that, and the program then runs on as if nobody had
pressed it. ``asyncio.timeout`` (3.11+) runs the awaitable in the caller's own task, so a
cancellation always reaches it; 3.9 and 3.10 have only ``wait_for``.
"""
from __future__ import annotations

import asyncio
import sys
from typing import Awaitable, TypeVar

T = TypeVar("T")

if sys.version_info >= (3, 12):

    async def within(awaitable: Awaitable[T], seconds: float) -> T:
        """Await ``awaitable`` for at most ``seconds``; ``asyncio.TimeoutError`` after that.
        A cancellation of the caller is never lost, however close it comes to the result."""
        async with asyncio.timeout(seconds):
            return await awaitable

elif sys.version_info >= (3, 11):

    async def within(awaitable: Awaitable[T], seconds: float) -> T:
        """Await ``awaitable`` for at most ``seconds``; ``asyncio.TimeoutError`` after that.
        A cancellation of the caller is never lost, however close it comes to the result."""
        # 3.11's timeout raises TimeoutError only when the task has no cancellation left at
        # all: in a task that was cancelled and went on (cleanup after Ctrl+C: stop() waiting
        # for the broker) it would let its own cancellation out instead. 3.12 counts from entry.
        task = asyncio.current_task()
        before = task.cancelling() if task is not None else 0
        deadline = asyncio.timeout(seconds)
        try:
            async with deadline:
                return await awaitable
        except asyncio.CancelledError:
            if deadline.expired() and task is not None and task.cancelling() == before:
                raise TimeoutError() from None
            raise

else:  # pragma: no cover - exercised only on 3.9 and 3.10

    async def within(awaitable: Awaitable[T], seconds: float) -> T:
        """Await ``awaitable`` for at most ``seconds``; ``asyncio.TimeoutError`` after that."""
        return await asyncio.wait_for(awaitable, seconds)
