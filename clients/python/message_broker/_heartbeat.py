"""The heartbeat: pings while connected, and drops a connection the broker has gone
silent on, which TCP alone may not notice for hours."""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, Optional, Tuple

from ._connection import Connection
from ._values import is_number

log = logging.getLogger("message_broker.client")

# Used when the broker's connect result lacks heartbeat_timeout (it never should).
FALLBACK_HEARTBEAT_TIMEOUT = 30.0


def heartbeat_timing(configured_interval: Optional[float], connect_result: Dict[str, Any]) -> Optional[Tuple[float, float]]:
    """``(ping interval, silence limit)`` in seconds for a connection, or None when
    ``configured_interval`` turns the heartbeat off."""
    interval = float(configured_interval or 0)
    if interval <= 0:
        return None
    broker_timeout = connect_result.get("heartbeat_timeout")
    if not is_number(broker_timeout) or broker_timeout <= 0:
        broker_timeout = FALLBACK_HEARTBEAT_TIMEOUT
    # A client that pings less often than the broker's timeout would be dropped by it.
    interval = min(interval, broker_timeout / 2)
    # Shorter than two ping periods would fire on a healthy connection that is merely idle.
    silence = max(float(broker_timeout), 2 * interval)
    return interval, silence


async def keep_alive(conn: Connection, interval: float, silence: float) -> None:
    """Ping every ``interval``; the broker never speaks unprompted, so when even the
    pongs stop for ``silence`` seconds the connection is dead, whatever TCP says."""
    loop = asyncio.get_running_loop()
    last_ping = loop.time()
    while not conn.closed:
        now = loop.time()
        quiet = now - conn.last_rx
        # Held reading leaves the pongs unread in the socket: that silence proves nothing.
        if quiet >= silence and not conn.reading_held:
            log.warning("no word from the broker at %s for %.1fs; dropping the connection", conn.where, quiet)
            conn.abort("heartbeat_timeout")
            return
        if now - last_ping >= interval:
            # Pings go on while reading is held, so the broker does not drop this client.
            last_ping = now
            _ping(conn)
        wake = last_ping + interval if conn.reading_held else min(last_ping + interval, conn.last_rx + silence)
        await asyncio.sleep(max(0.01, wake - loop.time()))


def _ping(conn: Connection) -> None:
    future = conn.send_request("ping", None)
    # Nobody awaits a ping's answer: the silence check is what notices a missing pong.
    future.add_done_callback(lambda f: f.cancelled() or f.exception())
