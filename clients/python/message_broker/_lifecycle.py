"""The client's connection lifecycle: ``connect()``, the handshake on each new socket, what
a lost connection does to the calls in flight, reconnecting, ``disconnect()``, and the
heartbeat that runs while connected. It owns the client's state and current connection;
``BrokerClient`` asks it for the connection a call goes out on.

Everything runs on the loop that called ``connect()``, which may live in any thread.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Dict, Iterator, Optional

from ._connection import Connection
from ._deadline import within
from ._delivery import DeliveryDispatcher
from ._events import Listeners
from ._handshake import open_socket, restore_subscriptions, send_connect
from ._heartbeat import heartbeat_timing, keep_alive
from ._inbound import read_frames
from ._reconnect import Reconnector, reconnect_delay
from ._subscriptions import SubscriptionRegistry
from ._values import error_text
from .config import ClientConfig
from .errors import BrokerError, BrokerNotConnectedError
from .message import Message

log = logging.getLogger("message_broker.client")

# `disconnect()` is a courtesy to the broker; a dead broker must not stall shutdown.
DISCONNECT_REPLY_TIMEOUT = 2.0
DISCONNECT_CLOSE_GRACE = 1.0
# How long `disconnect()` lets running callbacks finish, so their replies and acks go out.
DISCONNECT_IDLE_TIMEOUT = 2.0

_STATE_WORDS = {
    "idle": "never connected",
    "connecting": "still connecting",
    "reconnecting": "reconnecting",
    "closing": "disconnecting",
    "closed": "disconnected",
}


def _ordinal_suffix(n: int) -> str:
    if n % 100 in (11, 12, 13):
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


class ConnectionLifecycle:
    """States: idle, connecting, connected, reconnecting, closing, closed."""

    def __init__(
        self,
        client_id: str,
        config: ClientConfig,
        where: str,
        subscriptions: SubscriptionRegistry,
        listeners: Listeners,
        ids: Iterator[int],
    ) -> None:
        self.client_id = client_id
        #: Read at each use, so changes made to it apply from the next connect or reconnect.
        self.config = config
        #: host:port as given to the client, for messages.
        self.where = where
        self.state = "idle"
        #: The broker's connect result of the current (or last) connection.
        self.server_info: Optional[Dict[str, Any]] = None
        self._subs = subscriptions
        self._emit = listeners.emit
        self._ids = ids
        self._dispatcher = DeliveryDispatcher(subscriptions, self._emit, lambda conn: conn is self._conn)
        #: Asked before each frame is read: None to read on, or an awaitable to wait for.
        self.read_gate: Optional[Callable[[], Optional[Awaitable[None]]]] = None
        # Loop-bound objects are made on first use, on the loop that connects: the client
        # may be built in one thread and run in another (the Qt client does).
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._conn: Optional[Connection] = None
        self._epoch = 0  # bumped by disconnect(), so a handshake in flight knows it was cancelled
        self._connecting: Optional["asyncio.Task[None]"] = None
        self._disconnecting: Optional["asyncio.Task[None]"] = None
        self._heartbeat_task: Optional["asyncio.Task[None]"] = None
        #: When the current (or last) connection finished its handshake, on the loop's clock.
        self._connected_at = 0.0
        self._reconnector = Reconnector(
            where,
            delays=lambda attempt: reconnect_delay(attempt, self.config.reconnect_delay, self.config.max_reconnect_delay),
            max_attempts=lambda: self.config.max_reconnect_attempts,
            wanted=lambda: self.state == "reconnecting",
            attempt=self._reconnect_once,
            give_up=self._gave_up,
            cancelled=self._reconnect_cancelled,
        )

    def bind_loop(self) -> asyncio.AbstractEventLoop:
        """The running loop, which becomes the client's; refuses another loop while in use.

        A loop that has been closed is not in use, whatever the state says: its tasks (a
        reconnect loop, a handshake) and its sockets went with it. ``asyncio.run()`` ending
        while the client reconnects does that, and so does each test of pytest-asyncio.
        """
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            if self._loop is not None and self._loop.is_closed():
                self._forget_closed_loop()
            elif self._loop is not None and self.state not in ("idle", "closed"):
                raise RuntimeError(
                    "BrokerClient %r runs on the event loop that connected it (in another thread?); "
                    "use asyncio.run_coroutine_threadsafe(coro, that_loop)" % self.client_id
                )
            self._loop = loop
        return loop

    def _forget_closed_loop(self) -> None:
        """Drop what belonged to the client's closed loop, and count the client closed.

        Nothing of that loop may be touched (cancelling or aborting would schedule on it):
        its objects are only let go of. A connection still open then has its socket closed
        by the garbage collector."""
        log.debug("the event loop of client %r is closed; its connection and tasks are dropped", self.client_id)
        self._reconnector.forget()
        self._connecting = None
        self._disconnecting = None
        self._heartbeat_task = None
        if self._conn is not None:
            self._conn.closed = True
            self._conn = None
        # Deliveries of the old loop are not waited for by the next disconnect().
        self._dispatcher = DeliveryDispatcher(self._subs, self._emit, lambda conn: conn is self._conn)
        if self.state != "idle":
            self.state = "closed"

    def state_words(self) -> str:
        """The state, as the end of an error message."""
        return _STATE_WORDS.get(self.state, self.state)

    def connection_for(self, method: str) -> Connection:
        """The connection a call of ``method`` goes out on; ``BrokerNotConnectedError`` when none is up."""
        conn = self._conn
        if self.state != "connected" or conn is None or conn.closed:
            raise BrokerNotConnectedError(
                "cannot call \"%s\": not connected to the broker at %s (%s)" % (method, self.where, self.state_words()),
                {"state": self.state},
            )
        return conn

    # -- connecting -----------------------------------------------------------------------

    @property
    def epoch(self) -> int:
        """How many times ``disconnect()`` was called: a ``connect()`` called at one epoch
        is cancelled by any ``disconnect()`` called after it."""
        return self._epoch

    def _cancelled_by_disconnect(self) -> BrokerNotConnectedError:
        return BrokerNotConnectedError("connecting to the broker at %s was cancelled by disconnect()" % self.where)

    async def connect(self, epoch: int) -> bool:
        """``BrokerClient.connect``, called when ``self.epoch`` was ``epoch``."""
        self.bind_loop()
        if self._disconnecting is not None:
            await asyncio.shield(self._disconnecting)
        if epoch != self._epoch:
            # disconnect() was called after connect(), before this coroutine ran (or while
            # it waited for an earlier disconnect): the later call wins.
            raise self._cancelled_by_disconnect()
        if self.state == "connected":
            return True
        if self._connecting is not None:
            await asyncio.shield(self._connecting)
            return True
        if self.state == "reconnecting":
            # The caller wants a connection now rather than after the backoff delay.
            self._reconnector.stop()
            try:
                await self._run_establish(first=False)
            except Exception:
                if self.state == "reconnecting":
                    self._reconnector.start()
                raise
            return True
        before = "closed" if self.state == "closed" else "idle"
        self.state = "connecting"
        try:
            await self._run_establish(first=True, owned_by_caller=True)
        except BaseException:
            if epoch == self._epoch and self.state == "connecting":
                self.state = before
            raise
        return True

    async def _reconnect_once(self) -> None:
        if self._connecting is not None:
            await asyncio.shield(self._connecting)
        else:
            await self._run_establish(first=False)

    async def _run_establish(self, first: bool, owned_by_caller: bool = False) -> None:
        """Run one connection attempt, shared by every concurrent ``connect()``. With
        ``owned_by_caller``, cancelling the caller (``wait_for(client.connect(), t)``)
        cancels the attempt too, so no connection appears after the caller gave up."""
        # The epoch is taken now: a disconnect() before the task starts must cancel it.
        task = asyncio.ensure_future(self._establish(first, self._epoch))
        # When every waiter was cancelled (disconnect() stopping a reconnect), nobody else
        # would retrieve the failure and asyncio would log it as never retrieved.
        task.add_done_callback(lambda t: t.cancelled() or t.exception())
        self._connecting = task
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if owned_by_caller and not task.done():
                task.cancel()
                # Let the attempt unwind (its socket is aborted) before the caller goes on.
                await asyncio.wait({task})
            raise
        finally:
            if self._connecting is task:
                self._connecting = None

    async def _establish(self, first: bool, epoch: int) -> None:
        """Open a socket, handshake, restore subscriptions. The caller owns the state on failure."""
        loop = asyncio.get_running_loop()
        timeout = float(self.config.connect_timeout)
        deadline = loop.time() + timeout
        cancelled = self._cancelled_by_disconnect

        try:
            reader, writer = await within(open_socket(self.config.host, self.config.port, self.where), timeout)
        except asyncio.TimeoutError:
            raise asyncio.TimeoutError("timed out after %gs connecting to the broker at %s" % (timeout, self.where)) from None
        if epoch != self._epoch:
            writer.transport.abort()
            raise cancelled()
        conn = Connection(reader, writer, loop.time(), self.where, self._ids, self.client_id)
        self._conn = conn
        conn.read_task = asyncio.ensure_future(read_frames(conn, self))
        try:
            result = await send_connect(conn, self.client_id, self.config, first, max(0.001, deadline - loop.time()))
            if epoch != self._epoch:
                raise cancelled()
            await restore_subscriptions(conn, self._subs.patterns, float(self.config.request_timeout), self.report)
            if epoch != self._epoch:
                raise cancelled()
            if conn.closed:
                raise BrokerNotConnectedError("the broker at %s closed the connection during the handshake" % self.where)
        except BaseException as exc:
            conn.abort("handshake_failed")
            if epoch != self._epoch and isinstance(exc, Exception):
                raise cancelled() from exc
            raise
        self.server_info = result
        self.state = "connected"
        self._connected_at = loop.time()
        self._start_heartbeat(conn, result)
        log.info(
            "connected to the broker at %s as %r (server %s, session_present=%s)",
            self.where,
            self.client_id,
            result.get("server_version"),
            result.get("session_present"),
        )
        # On a reconnect the broker may still hold this client's own dropped connection; on
        # the first connect, a live one is most likely another program's.
        if first and result.get("replaced") is True:
            log.warning(
                "client id %r was connected elsewhere; the broker closed that connection (replaced): is another program connecting as it?",
                self.client_id,
            )
        self._emit("connected")

    # -- disconnecting --------------------------------------------------------------------

    async def disconnect(self) -> None:
        """``BrokerClient.disconnect``."""
        # Bumped at once, not in the task below: a connect() called before this must see
        # it even when it runs first (connect() scheduled with ensure_future, not started).
        if self._loop is None:
            self._epoch += 1
            return
        self.bind_loop()
        self._epoch += 1
        if self._disconnecting is None:
            # The caller may be a subscription callback: the wait for deliveries must skip it.
            self._disconnecting = asyncio.ensure_future(self._do_disconnect(asyncio.current_task()))
        task = self._disconnecting
        try:
            await asyncio.shield(task)
        finally:
            if task.done() and self._disconnecting is task:
                self._disconnecting = None

    async def _do_disconnect(self, caller: "Optional[asyncio.Future[Any]]") -> None:
        self._reconnector.stop()
        self._stop_heartbeat()
        if self.state in ("idle", "closed"):
            return
        was_connected = self.state == "connected"
        self.state = "closing"
        conn = self._conn
        if conn is not None and was_connected:
            await self._dispatcher.wait_idle(DISCONNECT_IDLE_TIMEOUT, caller)
            try:
                await conn.request("disconnect", None, DISCONNECT_REPLY_TIMEOUT)
            except Exception as exc:
                log.debug("no answer to disconnect (%s); closing anyway", error_text(exc))
            if conn.close_reason is None:
                conn.close_reason = "client_disconnect"
            conn.closed = True
            conn.writer.close()
            if conn.read_task is not None:
                done, _ = await asyncio.wait({conn.read_task}, timeout=DISCONNECT_CLOSE_GRACE)
                if not done:
                    conn.abort("client_disconnect")
                    await asyncio.wait({conn.read_task}, timeout=DISCONNECT_CLOSE_GRACE)
        elif conn is not None:
            conn.abort("client_disconnect")
        self.state = "closed"
        if was_connected:
            log.info("disconnected from the broker at %s", self.where)
            self._emit("disconnected", "client_disconnect")

    # -- what the read loop reports (InboundHandler) ----------------------------------------

    def deliver(self, conn: Connection, msg: Message, target: Any) -> bool:
        """Run the callbacks of a delivery (``target``: see ``_retained_replay``); True when
        async callbacks were started."""
        return self._dispatcher.dispatch(conn, msg, target)

    def hold_reading(self) -> Optional[Awaitable[None]]:
        """``read_gate()`` when one is set (the Qt worker's bounded relay), else None: read on."""
        gate = self.read_gate
        return None if gate is None else gate()

    def report(self, error: Exception) -> None:
        """Tell the ``error`` listeners of a failure no caller can see."""
        self._emit("error", error)

    def connection_closed(self, conn: Connection, reason: str, error: Optional[BaseException]) -> None:
        """Fail the calls in flight on ``conn``; when it was the live connection, reconnect (or close)."""
        conn.closed = True
        state = self.state
        why = "client_disconnect" if state == "closing" else reason
        server_error = conn.server_error

        def failure() -> BrokerError:
            if server_error is not None and state != "connected":
                # During a handshake the broker's unprompted error (e.g. -32006 too many
                # connections) says more than "connection closed".
                return server_error
            return BrokerNotConnectedError(
                "connection to the broker at %s closed (%s) before the reply arrived" % (self.where, why), {"reason": why}
            )

        conn.fail_pending(failure)
        if conn is not self._conn:
            return
        self._conn = None
        self._stop_heartbeat()
        if state != "connected":
            return
        log.warning("lost the connection to the broker at %s (%s%s)", self.where, why, ": %s" % error if error else "")
        if self.config.auto_reconnect:
            self.state = "reconnecting"
            self._emit("disconnected", why)
            # A listener may have called disconnect() meanwhile.
            if self.state == "reconnecting":
                self._reconnect_after_loss()
        else:
            self.state = "closed"
            self._emit("disconnected", why)

    def reader_cancelled(self, conn: Connection) -> None:
        """The read task was cancelled from outside: close, without counting it as a loss.

        ``asyncio.run()`` cancels every task once its main coroutine returns, so a program
        that ends without ``disconnect()`` comes here. Reconnecting would start a task the
        closing loop destroys while pending, and no listener is told: one that reacted by
        connecting again would do the same.
        """
        if conn.close_reason is None:
            conn.close_reason = "cancelled"
        current = conn is self._conn
        if current:
            self._conn = None
            if self.state == "connected":
                self.state = "closed"
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # the task was dropped with its closed loop: nothing may touch that loop now
        conn.writer.transport.abort()
        if current:
            self._stop_heartbeat()
        conn.fail_pending(
            lambda: BrokerNotConnectedError(
                "connection to the broker at %s closed (its event loop is shutting down) before the reply arrived" % self.where,
                {"reason": "cancelled"},
            )
        )
        log.debug("stopped reading from the broker at %s: the read task was cancelled", self.where)

    # -- reconnecting and heartbeat ---------------------------------------------------------

    def _reconnect_after_loss(self) -> None:
        """Start reconnecting; a connection that did not stay up for the longest backoff
        delay keeps the backoff growing rather than starting it over."""
        lasted = asyncio.get_running_loop().time() - self._connected_at
        stable_after = float(self.config.max_reconnect_delay)
        self._reconnector.start(lasted, stable_after)
        short = self._reconnector.short_connections
        if short >= 2:
            log.warning(
                "the connection to the broker at %s was lost %.1fs after it was made, the %d%s short-lived one in a row; "
                "reconnecting with growing delays (is another program connecting as %r? each connect closes the other's connection)",
                self.where,
                lasted,
                short,
                _ordinal_suffix(short),
                self.client_id,
            )

    def _gave_up(self, error: ConnectionError) -> None:
        self.state = "closed"
        log.error("%s", error)
        self._emit("error", error)

    def _reconnect_cancelled(self) -> None:
        """The reconnect loop was cancelled from outside, as ``asyncio.run()`` does when the
        program's main coroutine returns: closed, as ``reader_cancelled`` does for a
        connection; reconnecting would need a task that loop would destroy."""
        if self.state == "reconnecting":
            self.state = "closed"
            log.debug("stopped reconnecting to the broker at %s: the reconnect task was cancelled", self.where)

    def _start_heartbeat(self, conn: Connection, result: Dict[str, Any]) -> None:
        self._stop_heartbeat()
        timing = heartbeat_timing(self.config.heartbeat_interval, result)
        if timing is not None:
            self._heartbeat_task = asyncio.ensure_future(keep_alive(conn, *timing))

    def _stop_heartbeat(self) -> None:
        task = self._heartbeat_task
        self._heartbeat_task = None
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()
