"""``BrokerClient``: the seed's asyncio client, speaking our broker's wire contract.

One TCP connection at a time; a read task routes responses to the calls waiting for
them and deliveries to subscription callbacks. After an unexpected loss the client
reconnects with exponential backoff (resuming its broker session, so QoS 1 messages
queued meanwhile arrive) and subscribes to its patterns again. Everything runs on the
loop that called ``connect()``, which may live in any thread.

This module is the public API and its argument checks (the constructor's, shared with
the Qt client, are ``config.client_settings``); the machinery is in the private
modules: ``_lifecycle`` (connect, reconnect, disconnect, heartbeat), ``_connection``
(writing, calls in flight), ``_inbound`` (reading), ``_delivery`` (callbacks, replies,
acks), ``_events`` (listeners), ``_wire_log`` (the DEBUG lines of each message).
"""
from __future__ import annotations

import itertools
import math
from typing import Any, Awaitable, Callable, Coroutine, Dict, List, Optional, Union

from ._connection import build_request
from ._events import EVENTS, Listeners
from ._lifecycle import ConnectionLifecycle
from ._retained_replay import EVERY_CALLBACK
from ._subscriptions import SubscriptionRegistry
from ._values import is_number
from .config import ClientConfig, client_settings
from .errors import BrokerNotConnectedError
from .message import Message

# Extra seconds the local timer of a `request` waits beyond the timeout sent to the broker,
# so the broker's own TIMEOUT normally answers first and the local timer only fires when
# the broker itself is unresponsive.
REQUEST_TIMEOUT_MARGIN = 1.0

Patterns = Union[str, List[str]]

__all__ = ["BrokerClient", "EVENTS", "Patterns"]


def _pattern_list(patterns: Any, what: str) -> List[str]:
    if isinstance(patterns, str):
        items = [patterns]
    elif isinstance(patterns, (list, tuple)):
        items = list(patterns)
    else:
        raise TypeError("%s: patterns must be a string or a list of strings, got %s" % (what, type(patterns).__name__))
    if not items:
        raise ValueError("%s: patterns must not be empty" % what)
    for item in items:
        if not isinstance(item, str):
            raise TypeError("%s: every pattern must be a string, got %r (%s)" % (what, item, type(item).__name__))
    return items


def _confirmed(result: Any, key: str, requested: List[str]) -> List[str]:
    value = result.get(key) if isinstance(result, dict) else None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return list(requested)


class BrokerClient:
    """An asyncio client of the ahk-bridge message broker, with the seed's API.

    >>> client = BrokerClient("my_app")                       # doctest: +SKIP
    >>> await client.connect()                                # doctest: +SKIP
    >>> await client.subscribe(["jobs.*"], on_message)        # doctest: +SKIP
    >>> await client.publish("jobs.activated", {"job_id": "12345"})  # doctest: +SKIP

    Calls made while not connected raise ``BrokerNotConnectedError`` (code -32001) at once;
    so do calls in flight when the connection drops. Broker errors raise ``BrokerError``
    with the JSON-RPC ``code``. The client belongs to the event loop that called
    ``connect()``; from another thread use ``asyncio.run_coroutine_threadsafe``.
    """

    def __init__(
        self,
        client_id: str,
        host: Optional[str] = None,
        port: Optional[int] = None,
        config: Optional[ClientConfig] = None,
    ) -> None:
        """``host``/``port`` override ``config``'s; ``config`` defaults to ``ClientConfig()``
        (``BROKER_HOST``/``BROKER_PORT`` or localhost:15234). The given config is not modified."""
        config = client_settings(client_id, host, port, config)
        self._client_id = client_id
        self._subs = SubscriptionRegistry()
        self._listeners = Listeners()
        # Request ids run on across reconnects, so an answer can never be taken for another's.
        self._ids = itertools.count(1)
        where = "%s:%s" % (config.host, config.port)
        self._lifecycle = ConnectionLifecycle(client_id, config, where, self._subs, self._listeners, self._ids)

    def __repr__(self) -> str:
        return "<BrokerClient %r %s %s>" % (self._client_id, self._lifecycle.where, self._lifecycle.state)

    # ------------------------------------------------------------------ properties

    @property
    def config(self) -> ClientConfig:
        """The settings this client uses (a copy of the one given)."""
        return self._lifecycle.config

    @config.setter
    def config(self, value: ClientConfig) -> None:
        self._lifecycle.config = value

    @property
    def client_id(self) -> str:
        """The ``client_id`` given to the constructor."""
        return self._client_id

    @property
    def is_connected(self) -> bool:
        """True while a handshaken connection is up and calls can be made."""
        return self._lifecycle.state == "connected"

    @property
    def server_info(self) -> Optional[Dict[str, Any]]:
        """The broker's ``connect`` result of the current (or last) connection."""
        return self._lifecycle.server_info

    @property
    def patterns(self) -> List[str]:
        """The patterns this client holds; they are subscribed again after every reconnect."""
        return self._subs.patterns

    # ------------------------------------------------------------------ events

    def add_listener(self, event: str, callback: Callable[..., Any]) -> None:
        """Call ``callback`` on ``event``, on the client's loop.

        ``"connected"`` () after every successful connect and reconnect;
        ``"disconnected"`` (reason: str) when a connection that was up ends: the broker's
        disconnect reasons, ``"client_disconnect"`` after ``disconnect()``, or
        ``"heartbeat_timeout"`` when the broker went silent (not when the event loop shuts
        down under a connected client, cancelling its tasks: the client just closes);
        ``"error"`` (exc: Exception) for failures no caller can see: a subscription callback
        that raised (a ``RuntimeError`` whose ``__cause__`` is the original), an error the
        broker sent unprompted, a failed re-subscribe, giving up reconnecting;
        ``"message"`` (msg: Message) for every delivery, before its callbacks.

        A listener that raises is logged; the exception never reaches the client.
        """
        self._listeners.add(event, callback)

    def remove_listener(self, event: str, callback: Callable[..., Any]) -> None:
        """Stop calling ``callback`` on ``event``; no error when it was not registered."""
        self._listeners.remove(event, callback)

    def _handle_every_delivery(self, callback: Optional[Callable[[Message], Any]]) -> None:
        """Internal (the Qt worker): run ``callback`` for every delivery, whatever its topic.

        Unlike a ``"message"`` listener it is a subscription callback in all but pattern:
        its result decides the reply, the ack of a QoS 1 message waits for the future it
        returns, and raising ``DeliveryDeclined`` sends neither. None removes it.
        """
        self._subs.every_delivery = callback

    def _hold_reading_with(self, gate: Optional[Callable[[], Optional[Awaitable[None]]]]) -> None:
        """Internal (the Qt worker): ``gate()`` is asked before each frame is read; an
        awaitable it returns holds reading until done (its consumer is behind). The
        heartbeat does not count that silence against the broker. None removes it."""
        self._lifecycle.read_gate = gate

    # ------------------------------------------------------------------ connection

    def connect(self) -> "Coroutine[Any, Any, bool]":
        """Open the connection and perform the ``connect`` handshake; True once connected
        (at once when already connected). Use it as a coroutine function:
        ``await client.connect()``, ``asyncio.ensure_future(client.connect())``.

        A ``disconnect()`` called after ``connect()`` wins: the connect raises
        ``BrokerNotConnectedError`` ("cancelled by disconnect()") and the client stays
        closed, also when the connect had not started running yet
        (``task = ensure_future(client.connect()); await client.disconnect()``). A
        ``connect()`` called after ``disconnect()`` connects again.

        Raises ``ConnectionRefusedError`` when nothing listens at host:port, another
        ``OSError`` for other network failures, ``asyncio.TimeoutError`` when TCP does not
        connect within ``connect_timeout``, and ``BrokerError`` when the broker refuses the
        handshake (bad token, invalid client id). A failed first connect is not retried;
        auto-reconnect covers losses after a success. ``clean_session`` is sent when
        ``config.clean_session`` is set, on this call only, never on a reconnect.
        """
        # Which disconnect() calls came after this one is settled now, at the call, not
        # when the returned coroutine starts running.
        return self._lifecycle.connect(self._lifecycle.epoch)

    async def disconnect(self) -> None:
        """Say goodbye to the broker and close; no reconnect follows. Waits briefly for
        running callbacks (so their replies and acks go out) and for the broker's answer,
        never more than a few seconds. Calls still in flight raise
        ``BrokerNotConnectedError``. Calling it again, or when not connected, does nothing.

        The broker keeps this client's session (subscriptions, queued QoS 1 messages) for
        its ``session_expiry``.

        A program that ends without it (``asyncio.run`` returning) closes the connection
        too, without the goodbye: the broker then reports ``connection_lost``.
        """
        await self._lifecycle.disconnect()

    # ------------------------------------------------------------------ calls

    async def _call(self, method: str, params: Any, timeout: float, what: Optional[str] = None, replay: Any = EVERY_CALLBACK) -> Any:
        """Encode first (bad values raise before anything is sent), then check the connection.

        ``replay``: for a ``subscribe``, the callback its retained messages run (see
        ``_retained_replay``)."""
        self._lifecycle.bind_loop()
        built = build_request(self._ids, method, params, what)
        conn = self._lifecycle.connection_for(method)
        conn.check_size(built[1], '"%s"' % method)
        if replay is EVERY_CALLBACK:
            return await conn.request(method, params, timeout, built)
        conn.replay.expect(built[0], replay)
        try:
            return await conn.request(method, params, timeout, built)
        finally:
            conn.replay.forget(built[0])

    def _timeout(self, timeout: Optional[float], what: str) -> float:
        if timeout is None:
            return float(self.config.request_timeout)
        if not is_number(timeout):
            raise TypeError("%s: timeout must be a number of seconds, got %s" % (what, type(timeout).__name__))
        # inf and nan cannot go on the wire (JSON has no such numbers).
        if not (math.isfinite(timeout) and timeout > 0):
            raise ValueError("%s: timeout must be a positive, finite number of seconds, got %r" % (what, timeout))
        return float(timeout)

    async def call(self, method: str, params: Optional[Dict[str, Any]] = None, timeout: Optional[float] = None) -> Any:
        """Send any JSON-RPC method and return its ``result``, e.g. ``await call("status")``.

        Broker errors raise ``BrokerError`` with the broker's code; no answer within
        ``timeout`` seconds (default ``config.request_timeout``) raises ``BrokerTimeoutError``.
        """
        if not isinstance(method, str) or not method:
            raise TypeError("call: method must be a non-empty string, got %r" % (method,))
        if params is not None and not isinstance(params, (dict, list, tuple)):
            raise TypeError("call: params must be a dict (or a list), got %s" % type(params).__name__)
        return await self._call(method, params, self._timeout(timeout, "call"))

    async def subscribe(self, patterns: Patterns, callback: Optional[Callable[[Message], Any]] = None) -> List[str]:
        """Subscribe to topic patterns (``jobs.*``, ``scripts.+.status``, ``logs.#``).

        ``callback`` (sync or async, gets a ``Message``) runs for every delivery whose topic
        matches one of them, once per delivery however many of its patterns match; for a
        request its return value is the reply. Returns the patterns the broker confirmed.
        Raises ``BrokerError`` -32003 for an invalid pattern.
        """
        items = _pattern_list(patterns, "subscribe")
        if callback is not None and not callable(callback):
            raise TypeError("subscribe: callback must be callable, got %s" % type(callback).__name__)
        self._lifecycle.bind_loop()
        if not self.is_connected:
            raise BrokerNotConnectedError(
                "cannot subscribe: not connected to the broker at %s (%s)" % (self._lifecycle.where, self._lifecycle.state_words()),
                {"state": self._lifecycle.state},
            )
        # Register before sending: retained messages follow the answer in the same read.
        undo = self._subs.add(items, callback)
        try:
            # The retained messages that follow the answer run this callback alone.
            result = await self._call("subscribe", {"patterns": items}, float(self.config.request_timeout), replay=callback)
        except BaseException:
            undo()
            raise
        return _confirmed(result, "subscribed", items)

    async def unsubscribe(self, patterns: Patterns) -> List[str]:
        """Drop patterns and their callbacks; returns the patterns the broker removed."""
        items = _pattern_list(patterns, "unsubscribe")
        result = await self._call("unsubscribe", {"patterns": items}, float(self.config.request_timeout))
        self._subs.remove(items)
        return _confirmed(result, "unsubscribed", items)

    async def publish(self, topic: str, payload: Any = None, qos: int = 0, ttl: float = 0, retain: bool = False) -> str:
        """Publish ``payload`` (any JSON value) to ``topic``; returns the broker's ``message_id``
        once the broker has routed it.

        ``qos`` 1 makes subscribers ack it (see ``_internal.message_acks``) and queues it for
        offline sessions; ``ttl`` seconds drops it if undelivered by then (0 = never);
        ``retain`` keeps it as the topic's last value for later subscribers. A payload that
        is not JSON raises ``TypeError`` before anything is sent.
        """
        if not isinstance(topic, str):
            raise TypeError("publish: topic must be a string, got %s" % type(topic).__name__)
        if not topic:
            raise ValueError("publish: topic must not be empty")
        if not isinstance(qos, int) or isinstance(qos, bool):
            raise TypeError("publish: qos must be 0 or 1, got %r" % (qos,))
        if qos not in (0, 1):
            raise ValueError("publish: qos must be 0 or 1, got %r" % (qos,))
        if not is_number(ttl):
            raise TypeError("publish: ttl must be a number of seconds, got %s" % type(ttl).__name__)
        # inf and nan cannot go on the wire (JSON has no such numbers): 0 is "never expires".
        if not (math.isfinite(ttl) and ttl >= 0):
            raise ValueError("publish: ttl must be 0 (no expiry) or a positive, finite number of seconds, got %r" % (ttl,))
        if not isinstance(retain, bool):
            raise TypeError("publish: retain must be True or False, got %r" % (retain,))
        params: Dict[str, Any] = {"topic": topic, "payload": payload, "qos": qos, "ttl": ttl}
        if retain:
            params["retain"] = True
        # Every other param is checked above, so an encoding failure is the payload's.
        result = await self._call("publish", params, float(self.config.request_timeout), "publish: the payload")
        message_id = result.get("message_id") if isinstance(result, dict) else None
        return message_id if isinstance(message_id, str) else ""

    async def request(self, topic: str, payload: Any = None, timeout: Optional[float] = None) -> Any:
        """Send a request to the subscribers of ``topic``; returns the first non-null reply.

        Raises ``BrokerError`` -32005 when nobody subscribes, ``BrokerTimeoutError`` (-32002)
        when nobody answers within ``timeout`` seconds (default ``config.request_timeout``),
        or the responder's error (-32603 when its callback raised). The broker answers
        ``status``, ``subscriptions`` and ``_internal.message_acks`` itself.
        """
        if not isinstance(topic, str):
            raise TypeError("request: topic must be a string, got %s" % type(topic).__name__)
        if not topic:
            raise ValueError("request: topic must not be empty")
        seconds = self._timeout(timeout, "request")
        params = {"topic": topic, "payload": payload, "timeout": seconds}
        return await self._call("request", params, seconds + REQUEST_TIMEOUT_MARGIN, "request: the payload")
