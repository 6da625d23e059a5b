"""Reading a child process's output (the broker's, the bridge host's) line by line.

``asyncio.StreamReader.readline()`` cannot be used for that: a line longer than the
stream's limit (64 KiB by default) makes it raise ``ValueError``, after which nothing more
is read, the child blocks on a full pipe and cannot even stop cleanly. A child logs such
lines (a large payload with ``log_messages``, a script printing a long line), so here a
line of any length is read, and only its first ``MAX_LINE_BYTES`` are kept.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Callable, Optional

#: The bytes of one output line that are kept; the rest is counted and left out.
MAX_LINE_BYTES = 16 * 1024
#: How much ``discard`` reads at a time.
_CHUNK = 64 * 1024


async def read_line(stream: asyncio.StreamReader, keep: int = MAX_LINE_BYTES) -> Optional[str]:
    """The next line of ``stream`` as text, without its line ending; None at the end of
    the stream. A line longer than ``keep`` bytes is cut there and ends with a marker
    saying how many bytes were left out; the whole line is read either way."""
    kept = bytearray()
    left_out = 0
    while True:
        last = True
        try:
            chunk = await stream.readuntil(b"\n")
        except asyncio.IncompleteReadError as err:
            # End of the stream: ``partial`` is a last line without a line ending, if any.
            chunk = err.partial
            if not chunk and not kept and not left_out:
                return None
        except asyncio.LimitOverrunError as err:
            # The line goes on past the buffer's limit. The buffered part is still there
            # (``consumed`` bytes of it belong to this line): take it and read on.
            chunk = await stream.read(max(err.consumed, 1))
            last = False
        if last:
            chunk = chunk.rstrip(b"\r\n")
        room = max(keep - len(kept), 0)
        kept += chunk[:room]
        left_out += max(len(chunk) - room, 0)
        if last:
            break
    text = kept.decode("utf-8", "replace").rstrip("\r\n")
    if left_out:
        text += " ... [%d more bytes of this line left out]" % left_out
    return text


async def forward_lines(stream: asyncio.StreamReader, handle: Callable[[str], None], logger: logging.Logger, source: str) -> None:
    """Pass every line of ``stream`` to ``handle`` until the stream ends.

    Raises nothing but ``CancelledError``: whoever awaits this (a ``stop()``) must not fail
    because of output. A failure (reading, or in ``handle``) is logged to ``logger`` as an
    ERROR with its traceback, naming ``source``; the rest of the output is then read and
    dropped, so that the child never blocks on a full pipe and can still stop cleanly.
    """
    try:
        while True:
            line = await read_line(stream)
            if line is None:
                return
            handle(line)
    except Exception:
        logger.exception("cannot forward the output of %s any more; the rest of it is dropped", source)
    await discard(stream, logger, source)


async def discard(stream: asyncio.StreamReader, logger: logging.Logger, source: str) -> None:
    """Read ``stream`` to its end, dropping what it holds; a read failure is logged, not raised."""
    try:
        while await stream.read(_CHUNK):
            pass
    except Exception:
        logger.exception("cannot read the output of %s; it may block writing to it", source)
