"""``QtBrokerClient``: the broker for Qt applications, as signals.

The asyncio ``BrokerClient`` runs on a worker thread with an event loop of its own, so
the Qt event loop never waits on the network. Every method returns at once; connection
changes, messages, results and errors come back as signals emitted on the thread the
``QtBrokerClient`` lives in (the GUI thread, normally), so slots may touch widgets.

The Qt binding is PySide6, PySide2 or PyQt5, the first installed, or the one the
application already imported; ``QT_API=pyside6|pyside2|pyqt5`` forces one.

>>> client = QtBrokerClient("main_app")                          # doctest: +SKIP
>>> client.connected.connect(lambda: print("Connected!"))        # doctest: +SKIP
>>> client.message_received.connect(lambda t, p, s, i: print(t, p))  # doctest: +SKIP
>>> client.connect_to_broker()                                   # doctest: +SKIP
>>> client.subscribe(["jobs.*"])       # queued until connected  # doctest: +SKIP
"""
from __future__ import annotations

import dataclasses
import json
import logging
import sys
import time
from typing import Any, Callable, Iterable, List, Optional, Tuple, Union

# QT_API and QtCore are re-exported so an application can follow the client's binding choice.
from ._qt_binding import API as QT_API
from ._qt_binding import QObject, QtCore, Signal, Slot
from ._qt_relay import EventRelay, watch_destroyed
from ._qt_worker import STOP_TIMEOUT, Call, Worker, WorkerHolder, describe_error
from .config import ClientConfig, client_settings
from .errors import BrokerNotConnectedError

log = logging.getLogger("message_broker.qt_client")

__all__ = ["QtBrokerClient", "QT_API", "QtCore", "STOP_TIMEOUT"]

#: Seconds of events handled per turn of the Qt event loop; the rest waits for the next turn.
DRAIN_SLICE = 0.015


def _json_copy(payload: Any) -> Any:
    # The worker thread sends the payload later: a copy taken now keeps the caller free to
    # change its dict meanwhile, and refuses what the wire cannot carry while the caller
    # still knows which call it was. NaN/Infinity are not JSON; the broker would refuse them.
    return json.loads(json.dumps(payload, allow_nan=False))


class QtBrokerClient(QObject):
    """A broker client for Qt applications: methods return at once, results come as signals.

    Signals (all emitted on the thread this object lives in):

    - ``connected()``: connected, also again after an automatic reconnect.
    - ``disconnected()``: the connection is gone: lost (a reconnect follows when
      ``config.auto_reconnect``), or ended by ``disconnect_from_broker()``, once its
      worker thread has finished. Only after a ``connected``.
    - ``connection_failed(str)``: ``connect_to_broker()`` could not connect; call it again to retry.
    - ``message_received(str, object, str, str)``: topic, payload, sender, message_id, for
      every delivery. The payload is declared ``object`` so that any JSON value gets
      through; slots decorated ``@Slot(str, dict, str, str)`` receive it as well.
    - ``subscribed(list)`` / ``unsubscribed(list)``: the patterns the broker confirmed.
    - ``published(str)``: the message_id of a publish the broker accepted.
    - ``error_occurred(str)``: a call failed (bad pattern, payload that is not JSON, not
      connected, ...) or the client reported an error.

    ``subscribe``/``unsubscribe`` calls made before the connection is up are queued and
    sent once it is (and kept for the next ``connect_to_broker()`` if it fails);
    ``publish``/``request`` calls are queued while ``connect_to_broker()`` is under way.
    While a lost connection is being re-established, calls fail with ``error_occurred``
    (not connected); the subscriptions made before are restored by the reconnect itself.
    Call the methods from the thread the object lives in, as with any QObject.

    The constructor raises ``TypeError``/``ValueError`` for an invalid ``client_id``,
    ``host``, ``port`` or ``config``, as ``BrokerClient`` does.
    """

    connected = Signal()
    disconnected = Signal()
    connection_failed = Signal(str)
    message_received = Signal(str, object, str, str)
    subscribed = Signal(list)
    unsubscribed = Signal(list)
    published = Signal(str)
    error_occurred = Signal(str)

    def __init__(
        self,
        client_id: str,
        host: Optional[str] = None,
        port: Optional[int] = None,
        parent: Optional[Any] = None,
        config: Optional[ClientConfig] = None,
    ) -> None:
        # Checked now, in the caller's thread, as BrokerClient checks them; each connection
        # gets a BrokerClient of its own, made on the worker thread's loop with this config.
        effective = client_settings(client_id, host, port, config)
        super().__init__(parent)
        self._client_id = client_id
        self._config = effective
        self._relay = EventRelay(self, self._drain_events)
        # A child: deleted with this object, so it never calls a slot of a deleted one.
        self._next_slice = QtCore.QTimer(self)
        self._next_slice.setSingleShot(True)
        self._next_slice.setInterval(0)
        self._next_slice.timeout.connect(self._drain_events)
        self._worker: Optional[Worker] = None
        #: The current worker got past its first connect (so its client can reconnect).
        self._worker_connected_once = False
        self._pending: List[Call] = []
        self._connected = False
        self._stopping = False
        self._restart = False
        holder = self._worker_holder = WorkerHolder()
        # Deleting this QObject (or its parent) while connected must not leave the thread
        # running, nor the relay taking events. Only the closure holds the relay and the
        # holder then: this object's wrapper may die with it.
        relay = self._relay

        def on_destroyed() -> None:
            relay.close()
            holder.stop()

        watch_destroyed(self, on_destroyed)

    # -- properties ----------------------------------------------------------------------

    @property
    def client_id(self) -> str:
        """The id this client connects with."""
        return self._client_id

    @property
    def config(self) -> ClientConfig:
        """The ``ClientConfig`` each connection is made with: the one given (or the default),
        with the ``host``/``port`` given to the constructor applied. Changes apply from the
        next ``connect_to_broker()``."""
        return self._config

    @property
    def is_connected(self) -> bool:
        """True between ``connected`` and ``disconnected``, as the signals were delivered."""
        return self._connected

    # -- connection ----------------------------------------------------------------------

    def connect_to_broker(self) -> None:
        """Start connecting on the worker thread; ``connected`` or ``connection_failed`` follows.

        Does nothing while already connected or connecting. After ``connection_failed``,
        calling it again tries again. Once connected, lost connections are re-established
        automatically when ``config.auto_reconnect`` (the default); calling it while the
        connection is down tries at once (without auto-reconnect, it is the way back).
        """
        if self._worker is None:
            self._start_worker()
        elif self._stopping:
            self._restart = True  # once the old connection has finished closing
        elif self._worker_connected_once and not self._connected:
            self._submit(Call("connect", ()))

    def disconnect_from_broker(self) -> None:
        """Close the connection and end the worker thread; returns at once.

        Calls made before it are still sent (for up to ``STOP_TIMEOUT`` seconds) and their
        results reported, replies to requests included; when the program exits or the
        client is deleted, requests still waiting for a reply are abandoned instead, as
        nobody is left to take it. Queued calls that could not be sent are dropped, with
        ``error_occurred`` for publishes. ``disconnected`` follows once the thread has
        ended (when ``connected`` had been emitted). No messages are delivered after it.
        """
        self._restart = False
        self._drop_pending("disconnect_from_broker() was called before it was sent")
        if self._worker is None or self._stopping:
            return
        self._stopping = True
        self._worker.request_stop()

    # -- pub/sub -------------------------------------------------------------------------

    def subscribe(self, patterns: Union[str, Iterable[str]]) -> None:
        """Subscribe to topic patterns (a list, or one pattern); ``subscribed`` confirms.

        Messages arrive through ``message_received``. Queued until connected.
        """
        self._submit(Call("subscribe", (self._pattern_list(patterns),)))

    def unsubscribe(self, patterns: Union[str, Iterable[str]]) -> None:
        """Remove subscriptions; ``unsubscribed`` confirms."""
        self._submit(Call("unsubscribe", (self._pattern_list(patterns),)))

    def publish(self, topic: str, payload: Any = None, retain: bool = False, qos: int = 0, ttl: float = 0) -> None:
        """Publish ``payload`` (any JSON value) to ``topic``; ``published(message_id)`` confirms.

        The payload is copied now, so changing it afterwards does not change the message.
        A payload that is not JSON is reported through ``error_occurred``.
        """
        call = Call("publish", (topic, payload, qos, ttl, retain))
        try:
            call.args = (topic, _json_copy(payload), qos, ttl, retain)
        except (TypeError, ValueError, RecursionError) as exc:
            self._post(("failed", call, TypeError("payload is not JSON: %s" % exc)))
            return
        self._submit(call)

    def request(
        self,
        topic: str,
        payload: Any = None,
        callback: Optional[Callable[[Any], Any]] = None,
        timeout: Optional[float] = None,
        error_callback: Optional[Callable[[BaseException], Any]] = None,
    ) -> None:
        """Send a request; ``callback(result)`` is called on this object's thread with the reply.

        On failure (timeout, no responders, not connected, ...) ``error_callback(exc)`` is
        called instead, or, without one, ``error_occurred`` is emitted. ``timeout`` is in
        seconds (default ``config.request_timeout``).
        """
        call = Call("request", (topic, payload, timeout), callback, error_callback)
        try:
            call.args = (topic, _json_copy(payload), timeout)
        except (TypeError, ValueError, RecursionError) as exc:
            self._post(("failed", call, TypeError("payload is not JSON: %s" % exc)))
            return
        self._submit(call)

    # -- plumbing (this object's thread) ---------------------------------------------------

    @staticmethod
    def _pattern_list(patterns: Union[str, Iterable[str]]) -> List[str]:
        # A lone string would otherwise be taken one character per pattern.
        return [patterns] if isinstance(patterns, str) else list(patterns)

    def _start_worker(self) -> None:
        calls, self._pending = self._pending, []
        # A copy: the caller may change self.config while this connection runs.
        worker = Worker(self._client_id, dataclasses.replace(self._config), calls, self._relay.deliver, self._relay.wait_for_room)
        self._worker_connected_once = False
        self._worker = self._worker_holder.worker = worker
        log.debug("QtBrokerClient %r: connecting (Qt binding %s)", self._client_id, QT_API)
        worker.start()

    def _post(self, event: Tuple[Any, ...]) -> None:
        # Failures found while the caller is still in a method are reported later, like all
        # others: a slot never runs inside the call that caused it.
        self._relay.post(event)

    def _submit(self, call: Call) -> None:
        worker = self._worker
        if worker is not None and not self._stopping:
            if not worker.submit(call):
                self._pending.append(call)  # the worker just ended; its "ended" event settles this
            return
        if not call.sends_data or self._restart:
            self._pending.append(call)
            return
        self._post(("failed", call, BrokerNotConnectedError("not connected: call connect_to_broker() first")))

    def _drop_pending(self, why: str) -> None:
        for call in self._pending:
            if call.sends_data:
                self._post(("failed", call, BrokerNotConnectedError("not sent: " + why)))
        self._pending = []

    @Slot()
    def _drain_events(self) -> None:
        # A slice at a time: a burst must not keep the event loop from timers, input, paint.
        deadline = time.monotonic() + DRAIN_SLICE
        try:
            for event in self._relay.take(deadline):
                self._handle(event)
        finally:
            if self._relay.more():
                self._next_slice.start()  # after what the event loop has waiting

    def _handle(self, event: Tuple[Any, ...]) -> None:
        kind = event[0]
        if kind == "connected":
            if not self._stopping and not self._connected:
                self._connected = self._worker_connected_once = True
                self.connected.emit()
        elif kind == "disconnected":
            if not self._stopping and self._connected:
                self._connected = False
                self.disconnected.emit()
        elif kind == "message":
            msg, delivery = event[1], event[2]
            if self._stopping:
                # Not emitted after disconnect_from_broker(), so not acked either.
                if delivery is not None:
                    delivery.decline("disconnect_from_broker() was called")
            elif delivery is None or delivery.claim():
                try:
                    self.message_received.emit(msg.topic, msg.payload, msg.sender or "", msg.message_id or "")
                finally:
                    # Acked once the slots connected directly have returned.
                    if delivery is not None:
                        delivery.done()
        elif kind == "subscribed":
            self.subscribed.emit(event[1])
        elif kind == "unsubscribed":
            self.unsubscribed.emit(event[1])
        elif kind == "published":
            self.published.emit(event[1])
        elif kind == "replied":
            call = event[1]
            if call.callback is not None:
                self._call_back(call.callback, event[2])
        elif kind == "failed":
            call, exc = event[1], event[2]
            if call.error_callback is not None:
                self._call_back(call.error_callback, exc)
            else:
                self.error_occurred.emit("%s failed: %s" % (call.describe(), describe_error(exc)))
        elif kind == "error":
            self.error_occurred.emit(event[1])
        elif kind == "connect_failed":
            if not self._stopping:
                self.connection_failed.emit(event[1])
        elif kind == "ended":
            self._on_worker_ended(event[1], event[2], event[3])

    @staticmethod
    def _call_back(callback: Callable[[Any], Any], value: Any) -> None:
        try:
            callback(value)
        except Exception:
            # Reported as PySide does for a slot that raises, and the events keep flowing on
            # every binding (PyQt5 would abort the application for a slot of the app's own
            # that raises; this is the client's call, not the app's slot).
            sys.excepthook(*sys.exc_info())

    def _on_worker_ended(self, worker: Worker, failure: Optional[str], leftovers: List[Call]) -> None:
        # It has posted its last event: only returning from its function remains.
        worker.thread.join(STOP_TIMEOUT)
        if worker is not self._worker:  # pragma: no cover - one worker at a time
            return
        self._worker = self._worker_holder.worker = None
        stopping, restart = self._stopping, self._restart
        self._stopping = self._restart = False
        was_connected, self._connected = self._connected, False
        if stopping:
            for call in leftovers:
                if call.sends_data:
                    self._handle(("failed", call, BrokerNotConnectedError("not sent: disconnect_from_broker() was called first")))
            if was_connected:
                self.disconnected.emit()
            if restart:
                self._start_worker()
            return
        # The connection failed (or, after a bug, the worker ended by itself): keep the
        # subscriptions for the next connect_to_broker(), report what was not sent.
        calls, self._pending = leftovers + self._pending, []
        if was_connected:
            self.disconnected.emit()
        if failure is not None:
            log.info("QtBrokerClient %r: %s", self._client_id, failure)
            self.connection_failed.emit(failure)
        for call in calls:
            if call.sends_data:
                self._handle(("failed", call, BrokerNotConnectedError("not sent: %s" % (failure or "the connection ended"))))
            elif call.kind != "connect":
                self._pending.append(call)
