"""Reading a connection: frames in, answers to the calls waiting for them, deliveries to
the dispatcher, and the end of the connection reported once, with its reason."""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Optional, Protocol

from . import _framing, _wire_log
from ._connection import Connection
from .errors import METHOD_NOT_FOUND, error_from_wire
from .message import Message

log = logging.getLogger("message_broker.client")


class InboundHandler(Protocol):
    """What the read loop tells its client."""

    def deliver(self, conn: Connection, msg: Message, target: Any) -> bool:
        """Run the callbacks of a delivery; True when async callbacks were started."""

    def report(self, error: Exception) -> None:
        """An error no caller can see (bad frame, unprompted broker error)."""

    def connection_closed(self, conn: Connection, reason: str, error: Optional[BaseException]) -> None:
        """The connection ended: the peer closed it, it broke, or the client closed it."""

    def reader_cancelled(self, conn: Connection) -> None:
        """The read task was cancelled from outside: the event loop is shutting down."""

    def hold_reading(self) -> Optional[Awaitable[None]]:
        """None to read the next frame now; or what to wait for first (the consumer is behind)."""


async def read_frames(conn: Connection, handler: InboundHandler) -> None:
    """Read ``conn`` until it closes, then tell ``handler`` how it ended (exactly once)."""
    loop = asyncio.get_running_loop()
    reason = "connection_lost"
    error: Optional[BaseException] = None
    cancelled = False
    try:
        while True:
            hold = handler.hold_reading()
            if hold is not None:
                # Unread, the broker's frames back up in the socket and then in the
                # broker's queue for this client: backpressure instead of unbounded memory.
                conn.reading_held = True
                try:
                    await hold
                finally:
                    conn.reading_held = False
                    # The silence clock restarts now: what was held is about to be read.
                    conn.last_rx = loop.time()
            header = await conn.reader.readexactly(_framing.HEADER.size)
            conn.last_rx = loop.time()
            (length,) = _framing.HEADER.unpack(header)
            limit = conn.incoming_limit
            if length > limit:
                bad = ConnectionError(
                    "the peer at %s announced a %d-byte frame (limit %d): not a broker, or a corrupt stream; closing"
                    % (conn.where, length, limit)
                )
                log.error("%s", bad)
                handler.report(bad)
                reason, error = "protocol_error", bad
                conn.abort(reason)
                break
            body = await conn.reader.readexactly(length) if length else b""
            conn.last_rx = loop.time()
            try:
                value = _framing.decode_body(body)
            except (ValueError, RecursionError) as exc:
                bad = ValueError("skipped a frame from the broker that is not JSON (%d bytes): %s" % (length, exc))
                log.warning("%s", bad)
                handler.report(bad)
                continue
            if _route(conn, value, handler):
                # Let the async callbacks just started take their first step before
                # the next delivery's callbacks start: callbacks start in delivery order.
                await asyncio.sleep(0)
    except asyncio.IncompleteReadError:
        pass
    except (ConnectionError, OSError) as exc:
        error = exc
    except (asyncio.CancelledError, GeneratorExit):
        # CancelledError: the loop is shutting down (asyncio.run returning without
        # disconnect()). GeneratorExit: the task was dropped with its closed loop.
        # Neither is a lost connection; there is nothing to reconnect to.
        cancelled = True
        raise
    except Exception as exc:  # a bug here must end the connection visibly, not hang calls
        log.exception("reading from the broker at %s failed", conn.where)
        error = exc
    finally:
        conn.closed = True
        if cancelled:
            handler.reader_cancelled(conn)
        else:
            conn.writer.transport.abort()
            handler.connection_closed(conn, conn.close_reason or reason, error)


def _route(conn: Connection, value: Any, handler: InboundHandler) -> bool:
    """Handle one frame's value (a message or a batch); True when async callbacks were started."""
    if isinstance(value, list):
        started = False
        for item in value:
            started = _route_one(conn, item, handler) or started
        return started
    return _route_one(conn, value, handler)


def _route_one(conn: Connection, value: Any, handler: InboundHandler) -> bool:
    if _wire_log.enabled():
        _wire_log.log_received(conn.client_id, value)
    if not isinstance(value, dict):
        conn.replay.interrupted()
        _report_invalid(conn, handler, "not a JSON-RPC object: %r" % (value,))
        return False
    if "method" in value:
        method = value.get("method")
        if method == "message" and "id" not in value:
            msg = _delivery(value.get("params"))
            if msg is None:
                conn.replay.interrupted()
                _report_invalid(conn, handler, "malformed delivery %r" % (value.get("params"),))
                return False
            return handler.deliver(conn, msg, conn.replay.target_of(msg.retained))
        conn.replay.interrupted()
        if "id" in value:
            # The contract has no broker-to-client requests; answer so the peer is not left waiting.
            error = {"code": METHOD_NOT_FOUND, "message": "Method not found: %s" % (method,)}
            conn.write_message({"jsonrpc": "2.0", "error": error, "id": value.get("id")})
        else:
            log.debug("ignoring notification %r from the broker", method)
        return False
    if "result" in value or "error" in value:
        _settle(conn, value, handler)
        return False
    conn.replay.interrupted()
    _report_invalid(conn, handler, "neither a call nor a response: %r" % (value,))
    return False


def _delivery(params: Any) -> Optional[Message]:
    """The ``Message`` of a delivery's params, or None when they break the contract."""
    if (
        not isinstance(params, dict)
        or not isinstance(params.get("topic"), str)
        or not params["topic"]
        or not isinstance(params.get("message_id"), str)
        or ("reply_to" in params and params["reply_to"] is not None and not isinstance(params["reply_to"], str))
    ):
        return None
    return Message.from_params(params)


def _settle(conn: Connection, value: Any, handler: InboundHandler) -> None:
    """Hand a response to the call waiting for it."""
    req_id = value.get("id")
    conn.replay.answered(req_id, "error" not in value)
    future = conn.pending.pop(req_id, None) if isinstance(req_id, int) and not isinstance(req_id, bool) else None
    if future is not None and req_id == conn.connect_id and "error" not in value:
        # Now, not when the handshake resumes: the frames that follow are read first.
        conn.take_connect_result(value.get("result"))
    if future is not None:
        if not future.done():
            if "error" in value:
                future.set_exception(error_from_wire(value["error"]))
            else:
                future.set_result(value.get("result"))
    elif req_id is None and "error" in value:
        server_error = error_from_wire(value["error"])
        conn.server_error = server_error
        log.warning("the broker at %s sent an error: %s", conn.where, server_error)
        handler.report(server_error)
    else:
        log.debug("answer to no pending call (id %r), probably after its local timeout", req_id)


def _report_invalid(conn: Connection, handler: InboundHandler, what: str) -> None:
    error = ValueError("skipped a message from the broker at %s: %s" % (conn.where, what[:200]))
    log.warning("%s", error)
    handler.report(error)
