"""``within()``: a timeout that never loses the caller's cancellation, which ``asyncio.wait_for``
does on 3.9-3.11 when the cancellation lands in the loop turn its awaitable finishes (a Ctrl+C
as ``MessageBroker.start()`` reads the broker's "listening" line was ignored)."""
from __future__ import annotations

import ast
import asyncio
import os
import sys

import pytest

from message_broker._deadline import within

SOURCES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "message_broker")


async def _cancel_as_the_result_arrives():
    """Cancels a caller in ``within()`` in the same loop turn its awaitable gets its result;
    returns how the caller ended and whether it went on past the call."""
    loop = asyncio.get_running_loop()
    line = loop.create_future()
    went_on = []
    reading = []

    async def read_line():
        reading.append(True)
        return await line

    async def start():
        await within(read_line(), 5)
        went_on.append(True)

    task = asyncio.ensure_future(start())
    while not reading:  # read_line() waits on the line from the step that sets this
        await asyncio.sleep(0)
    line.set_result(b"broker listening")
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        return "cancelled", went_on
    return "finished", went_on


@pytest.mark.skipif(sys.version_info < (3, 11), reason="3.9 and 3.10 have only wait_for")
async def test_a_cancellation_in_the_turn_the_result_arrives_is_kept():
    assert await _cancel_as_the_result_arrives() == ("cancelled", [])


async def test_returns_the_result_in_time():
    async def answer():
        await asyncio.sleep(0)
        return 42

    assert await within(answer(), 5) == 42


async def test_times_out_with_asyncio_timeout_error_and_stops_the_awaitable():
    loop = asyncio.get_running_loop()
    stopped = []

    async def never():
        try:
            await loop.create_future()
        except asyncio.CancelledError:
            stopped.append(True)
            raise

    started = loop.time()
    with pytest.raises(asyncio.TimeoutError):
        await within(never(), 0.05)
    assert loop.time() - started >= 0.04  # Windows' clock may fire a tick early
    assert stopped == [True]


async def test_times_out_in_a_task_that_was_cancelled_and_went_on():
    """Cleanup after a Ctrl+C: the task caught its cancellation and waits, bounded, for a stop."""
    loop = asyncio.get_running_loop()

    async def cleanup_after_cancel():
        try:
            await loop.create_future()
        except asyncio.CancelledError:
            pass
        with pytest.raises(asyncio.TimeoutError):
            await within(loop.create_future(), 0.05)
        return "cleaned up"

    task = asyncio.ensure_future(cleanup_after_cancel())
    await asyncio.sleep(0)
    task.cancel()
    assert await task == "cleaned up"


async def test_an_error_from_the_awaitable_comes_through_unchanged():
    async def refuse():
        raise ConnectionRefusedError("no broker")

    with pytest.raises(ConnectionRefusedError, match="no broker"):
        await within(refuse(), 5)


def test_the_package_times_out_only_through_within():
    users = []
    for name in sorted(os.listdir(SOURCES)):
        if not name.endswith(".py") or name == "_deadline.py":
            continue
        with open(os.path.join(SOURCES, name), encoding="utf-8") as f:
            tree = ast.parse(f.read(), name)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "wait_for":
                users.append("%s:%d" % (name, node.lineno))
            if isinstance(node, ast.ImportFrom) and any(a.name == "wait_for" for a in node.names):
                users.append("%s:%d" % (name, node.lineno))
    assert users == []
