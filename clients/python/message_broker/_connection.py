"""One TCP connection to the broker: writing frames, and the calls waiting for answers.

Everything is encoded before anything is written, so a value the broker would refuse (not
JSON, nested too deeply, over its ``max_message_size``) fails at the caller and never
costs the connection, with every other call in flight on it.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable, Dict, Iterator, Optional, Tuple

from . import _framing, _wire_log
from ._retained_replay import RetainedReplay
from ._values import is_number
from .errors import INVALID_REQUEST, BrokerError, BrokerNotConnectedError, BrokerTimeoutError

log = logging.getLogger("message_broker.client")

#: A request as it goes out: its id and its encoded body.
BuiltRequest = Tuple[int, bytes]


def encode(message: Dict[str, Any], what: str) -> bytes:
    """The JSON text of ``message``; ``TypeError`` (naming ``what``) when it is not JSON,
    ``BrokerError`` -32600 when it nests deeper than the broker accepts."""
    try:
        return _framing.encode_body(message)
    except _framing.JsonDepthError as exc:
        raise BrokerError(INVALID_REQUEST, "%s: %s" % (what, exc), {"max_depth": _framing.MAX_JSON_DEPTH}) from None
    except TypeError as exc:
        raise TypeError("%s is %s" % (what, exc)) from exc.__cause__


def build_request(ids: Iterator[int], method: str, params: Any, what: Optional[str] = None) -> BuiltRequest:
    """Number and encode a request; ``what`` names the part a caller supplied, for errors."""
    req_id = next(ids)
    message: Dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": req_id}
    if params is not None:
        message["params"] = params
    return req_id, encode(message, what or 'the params of "%s"' % method)


class Connection:
    """One TCP connection of client ``client_id``: its streams, its calls in flight and why it closed.

    ``ids`` numbers the requests; the client shares one counter among its connections.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        now: float,
        where: str,
        ids: Iterator[int],
        client_id: str,
    ) -> None:
        self.reader = reader
        self.writer = writer
        #: host:port, for messages.
        self.where = where
        #: Whose connection this is, for the DEBUG lines of what goes over it.
        self.client_id = client_id
        self.pending: Dict[int, "asyncio.Future[Any]"] = {}
        self.read_task: Optional["asyncio.Task[None]"] = None
        self.drain_lock = asyncio.Lock()
        #: Loop time of the last bytes read; the heartbeat measures silence from it.
        self.last_rx = now
        #: True while the client holds reading on purpose (its consumer is behind): the
        #: silence is then its own, not the broker's, and the heartbeat does not count it.
        self.reading_held = False
        self.closed = False
        self.close_reason: Optional[str] = None
        #: An error the broker sent unprompted (id null): explains a close during the handshake.
        self.server_error: Optional[BrokerError] = None
        #: ``max_message_size`` from this connection's connect result.
        self.max_message_size: Optional[int] = None
        #: Largest frame body to read from the broker (``_framing.incoming_frame_limit``):
        #: set again from the connect result, not worked out for every frame.
        self.incoming_limit = _framing.incoming_frame_limit(None)
        #: The id of this connection's ``connect`` request, while it waits for its answer.
        self.connect_id: Optional[int] = None
        #: Which callbacks the retained messages after a subscribe's answer run.
        self.replay = RetainedReplay()
        self._ids = ids

    def take_connect_result(self, result: Any) -> None:
        """Learn the broker's limits from its connect result. Called by the read loop as the
        answer arrives, before it reads the next frame: deliveries queued for this client
        follow the answer at once, possibly in the same read, and must be measured against
        the broker's ``max_message_size`` already."""
        self.connect_id = None
        if isinstance(result, dict):
            size = result.get("max_message_size")
            self.max_message_size = size if is_number(size) else None
        self.incoming_limit = _framing.incoming_frame_limit(self.max_message_size)

    def abort(self, reason: str) -> None:
        """Close at once; the read loop ends and reports ``reason``."""
        if self.close_reason is None:
            self.close_reason = reason
        self.closed = True
        self.writer.transport.abort()

    def fail_pending(self, error_for: Callable[[], BaseException]) -> None:
        """Settle every call still waiting with ``error_for()``'s exception."""
        pending = list(self.pending.values())
        self.pending.clear()
        for future in pending:
            if not future.done():
                future.set_exception(error_for())

    # -- writing ------------------------------------------------------------------------

    def check_size(self, body: bytes, what: str) -> None:
        """Raise ``BrokerError`` -32600 when ``body`` is over the broker's ``max_message_size``."""
        limit = self.max_message_size
        if limit is not None and len(body) > limit:
            # The broker would answer an oversize frame by closing the connection, failing
            # every other call in flight too; refuse this one alone.
            raise BrokerError(
                INVALID_REQUEST,
                "%s is %d bytes, over the broker's max_message_size of %d" % (what, len(body), limit),
                {"max_message_size": limit, "size": len(body)},
            )

    def write(self, body: bytes) -> bool:
        """Frame and write ``body``; False when the connection is already closed."""
        if self.closed or self.writer.is_closing():
            return False
        self.writer.write(_framing.frame(body))
        return True

    def write_message(self, message: Dict[str, Any]) -> bool:
        """Write a message the client makes up itself; one that cannot be encoded is logged."""
        try:
            return self.write(_framing.encode_body(message))
        except (TypeError, ValueError) as exc:
            log.error("could not encode %r: %s", message.get("method", "a response"), exc)
            return False

    async def drain(self) -> None:
        """Wait until the written data is handed to the OS (or the connection is gone)."""
        # One drain at a time: concurrent drain() calls trip an assertion in Python < 3.10.
        try:
            async with self.drain_lock:
                await self.writer.drain()
        except (ConnectionError, OSError):
            pass  # the read loop reports the loss and fails the pending calls

    def notify(self, method: str, params: Dict[str, Any]) -> None:
        """Send a notification; raises ``TypeError``/``BrokerError`` when it cannot be encoded or is too large."""
        body = encode({"jsonrpc": "2.0", "method": method, "params": params}, '"%s"' % method)
        self.check_size(body, '"%s"' % method)
        if self.write(body) and _wire_log.enabled():
            _wire_log.log_sent(self.client_id, method, None, params, len(body))

    # -- calls --------------------------------------------------------------------------

    def new_request(self, method: str, params: Any) -> BuiltRequest:
        """Number and encode a request for ``send_request``/``request`` (ids from the client's counter)."""
        return build_request(self._ids, method, params)

    def send_request(self, method: str, params: Any, built: Optional[BuiltRequest] = None) -> "asyncio.Future[Any]":
        """Register and write a request; the future settles with its answer or the connection's loss."""
        req_id, body = built if built is not None else build_request(self._ids, method, params)
        future: "asyncio.Future[Any]" = asyncio.get_running_loop().create_future()
        if not self.write(body):
            future.set_exception(
                BrokerNotConnectedError("cannot send \"%s\": the connection to the broker at %s is closed" % (method, self.where))
            )
            return future
        self.pending[req_id] = future
        if _wire_log.enabled():
            _wire_log.log_sent(self.client_id, method, req_id, params, len(body))
        return future

    async def request(self, method: str, params: Any, timeout: float, built: Optional[BuiltRequest] = None) -> Any:
        """Send a request (connected or still handshaking) and return its result.

        Raises the broker's error, ``BrokerTimeoutError`` after ``timeout`` seconds, or
        ``BrokerNotConnectedError`` when the connection closes first.
        """
        loop = asyncio.get_running_loop()
        req_id, body = built if built is not None else build_request(self._ids, method, params)
        future = self.send_request(method, params, (req_id, body))

        def expire() -> None:
            if not future.done():
                future.set_exception(BrokerTimeoutError("no answer to \"%s\" within %gs" % (method, timeout), {"method": method}))

        timer = loop.call_later(timeout, expire) if timeout and timeout > 0 else None
        try:
            await self.drain()
            return await future
        finally:
            if timer is not None:
                timer.cancel()
            self.pending.pop(req_id, None)
