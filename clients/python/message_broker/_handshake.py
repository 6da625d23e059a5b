"""Opening a connection: the TCP socket, the ``connect`` handshake, and subscribing again
to the patterns the client holds."""
from __future__ import annotations

import asyncio
import errno
import logging
import socket
from typing import Any, Callable, Dict, List, Tuple

from ._connection import Connection
from ._values import error_text
from .config import ClientConfig
from .errors import INTERNAL_ERROR, BrokerError, BrokerTimeoutError

log = logging.getLogger("message_broker.client")


def _package_version() -> str:
    from . import __version__  # the package is fully imported by the time anyone connects

    return __version__


async def open_socket(host: str, port: int, where: str) -> Tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect to ``host``:``port``; ``ConnectionRefusedError`` when nothing listens there."""
    # Each address in turn, so that "localhost" (::1 and 127.0.0.1) with no broker is a
    # ConnectionRefusedError, not asyncio's generic "Multiple exceptions" OSError.
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise socket.gaierror(exc.errno, "cannot resolve the broker host %r: %s" % (host, exc.strerror)) from exc
    errors: List[OSError] = []
    for family, kind, proto, _name, address in infos:
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            await loop.sock_connect(sock, address)
        except OSError as exc:
            sock.close()
            errors.append(exc)
            continue
        except BaseException:
            sock.close()
            raise
        try:
            # Reap a silently vanished broker even when heartbeats are off.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        except OSError:
            pass
        return await asyncio.open_connection(sock=sock)
    refused = [e for e in errors if isinstance(e, ConnectionRefusedError)]
    if refused or not errors:
        raise ConnectionRefusedError(
            errno.ECONNREFUSED,
            "no broker at %s: connection refused (is the broker running, and on this port?)" % where,
        ) from (refused[0] if refused else None)
    first = errors[0]
    message = "cannot connect to the broker at %s: %s" % (where, first.strerror or first)
    try:
        error = type(first)(first.errno, message)
    except Exception:
        error = OSError(first.errno, message)
    raise error from first


async def send_connect(conn: Connection, client_id: str, config: ClientConfig, first: bool, timeout: float) -> Dict[str, Any]:
    """Perform the ``connect`` handshake on ``conn``; returns the broker's connect result."""
    params: Dict[str, Any] = {
        "client_id": client_id,
        "client_type": config.client_type,
        "version": _package_version(),
    }
    if config.token is not None:
        params["token"] = config.token
    # Only on connect(): a reconnect that discarded the session would lose the QoS 1
    # messages the broker queued for us during the outage.
    if first and config.clean_session:
        params["clean_session"] = True
    built = conn.new_request("connect", params)
    # The read loop hands the answer to conn.take_connect_result() as it arrives.
    conn.connect_id = built[0]
    try:
        result = await conn.request("connect", params, timeout, built)
    except BrokerTimeoutError:
        raise BrokerTimeoutError(
            "%s accepted the connection but did not answer \"connect\" within %gs (is it a broker?)"
            % (conn.where, config.connect_timeout)
        ) from None
    if not isinstance(result, dict) or not isinstance(result.get("client_id"), str):
        raise BrokerError(INTERNAL_ERROR, "the broker at %s sent a malformed connect result: %r" % (conn.where, result))
    return result


async def restore_subscriptions(conn: Connection, patterns: List[str], timeout: float, report: Callable[[Exception], None]) -> None:
    """Subscribe ``conn`` to ``patterns``; a refusal goes to ``report``, a lost connection raises."""
    if not patterns:
        return
    try:
        await conn.request("subscribe", {"patterns": patterns}, timeout)
    except Exception as exc:
        if conn.closed:
            raise
        # The connection is fine but the broker refused (say, a lowered
        # max_subscriptions): staying connected beats a reconnect loop that cannot succeed.
        error = RuntimeError("subscribing again to %d pattern(s) after connecting failed: %s" % (len(patterns), error_text(exc)))
        error.__cause__ = exc
        log.error("%s", error)
        report(error)
