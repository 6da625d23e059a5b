"""The worker thread behind ``QtBrokerClient``: an asyncio loop running a ``BrokerClient``.

``Worker`` takes ``Call``s from any thread, runs them one connection's worth at a time on
its own event loop, and reports everything that happens as plain tuples through a
``deliver`` callable; it knows nothing of Qt. Workers still running when the interpreter
exits are stopped by an ``atexit`` hook.
"""
from __future__ import annotations

import asyncio
import atexit
import logging
import threading
from collections import deque
from typing import Any, Callable, Deque, Iterable, Optional, Set, Tuple

from ._deadline import within
from ._delivery import DeliveryDeclined
from .client import BrokerClient
from .config import ClientConfig
from .errors import BrokerNotConnectedError
from .message import Message

# The qt_client logger: these records are about QtBrokerClient, whichever module writes them.
log = logging.getLogger("message_broker.qt_client")

#: Seconds ``disconnect_from_broker()`` lets calls made before it finish, and then again
#: the goodbye to the broker, before the worker gives up on them.
STOP_TIMEOUT = 5.0

__all__ = ["Call", "Delivery", "STOP_TIMEOUT", "Worker", "WorkerHolder", "describe_error"]


def describe_error(exc: BaseException) -> str:
    """``Type: message`` for an exception, or just the type's name when it has no message."""
    text = str(exc)
    return "%s: %s" % (type(exc).__name__, text) if text else type(exc).__name__


class Call:
    """One method call on its way to the worker."""

    __slots__ = ("kind", "args", "callback", "error_callback")

    def __init__(
        self,
        kind: str,
        args: Tuple[Any, ...],
        callback: Optional[Callable[[Any], Any]] = None,
        error_callback: Optional[Callable[[BaseException], Any]] = None,
    ) -> None:
        self.kind = kind
        self.args = args
        self.callback = callback
        self.error_callback = error_callback

    @property
    def sends_data(self) -> bool:
        """Publishes and requests are lost if not sent; (un)subscriptions are state, kept for the next connect.

        ("connect", a retry while the connection is down, is neither: it is simply dropped.)
        """
        return self.kind in ("publish", "request")

    def describe(self) -> str:
        """The call as error messages name it: ``publish to 'jobs.new'``, ``subscribe(['a.*'])``."""
        if not self.args:
            return self.kind
        if self.kind in ("subscribe", "unsubscribe"):
            return "%s(%r)" % (self.kind, self.args[0])
        return "%s to %r" % (self.kind, self.args[0])


class Delivery:
    """A QoS 1 message on its way to the GUI thread, settled exactly once.

    Either the GUI thread ``claim()``s it, emits it, and calls ``done()`` (the future
    resolves and the dispatcher acks), or it is ``decline()``d, by the worker when it
    stops or by the GUI thread when the client no longer emits messages (the future
    fails with ``DeliveryDeclined``: no ack, the broker redelivers at the next connect).
    The lock makes claim and decline, made on different threads, exclude each other.
    """

    __slots__ = ("future", "_loop", "_lock", "_state")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._state: Optional[str] = None
        #: What the subscription callback returns: the ack waits for it.
        self.future: "asyncio.Future[None]" = loop.create_future()

    def claim(self) -> bool:
        """Take the message for emitting (GUI thread); False when it was declined already.

        Whoever gets True must call ``done()`` once the message is emitted.
        """
        with self._lock:
            if self._state is not None:
                return False
            self._state = "claimed"
            return True

    def done(self) -> None:
        """The claimed message was emitted (GUI thread): let the dispatcher ack it."""
        self._settle(None)

    def decline(self, why: str) -> bool:
        """Give the message up unseen (any thread); False when it was claimed (or declined) already."""
        with self._lock:
            if self._state is not None:
                return False
            self._state = "declined"
        self._settle(DeliveryDeclined(why))
        return True

    def _settle(self, error: Optional[BaseException]) -> None:
        try:
            self._loop.call_soon_threadsafe(self._resolve, error)
        except RuntimeError:
            # The worker's loop is closed: its connection, and the ack with it, went first,
            # so the broker redelivers the message anyway. Nothing is left to tell.
            log.debug("delivery settled after its worker ended; the broker redelivers it")

    def _resolve(self, error: Optional[BaseException]) -> None:
        if self.future.done():  # cancelled with the loop's remaining tasks
            return
        if error is None:
            self.future.set_result(None)
        else:
            self.future.set_exception(error)


class Worker:
    """The thread that owns the asyncio loop and the ``BrokerClient`` for one connection.

    It talks to the GUI only through ``deliver(event)``, which must be thread-safe and
    return False once nobody is listening. It holds no reference to the QtBrokerClient, so
    the last reference to that QObject is never dropped on this thread.
    """

    def __init__(
        self,
        client_id: str,
        config: ClientConfig,
        calls: Iterable[Call],
        deliver: Callable[[Tuple[Any, ...]], bool],
        wait_for_room: Optional[Callable[[Callable[[], None]], bool]] = None,
    ) -> None:
        self.client_id = client_id
        self._config = config
        self._deliver = deliver
        #: ``EventRelay.wait_for_room``: True (and a call back later) when the GUI is behind.
        self._wait_for_room = wait_for_room
        #: What the read loop waits for while the GUI is behind.
        self._room: "Optional[asyncio.Future[None]]" = None
        self._lock = threading.Lock()
        self._calls: Deque[Call] = deque(calls)
        self._stop_requested = False
        self._closed = False
        # Created here, run there: call_soon_threadsafe works before the thread starts.
        self._loop = asyncio.new_event_loop()
        self._wakeup: Optional[asyncio.Event] = None
        self._stop_event: Optional[asyncio.Event] = None
        #: Set (on the worker's loop) once requests in flight are abandoned, not waited for.
        self._abandon_requests = False
        self._abandoning: Optional[asyncio.Event] = None
        self._requests: Set["asyncio.Future[None]"] = set()
        #: QoS 1 deliveries handed to the GUI and not settled yet (this thread only).
        self._unsettled: Set[Delivery] = set()
        self.thread = threading.Thread(target=self._run, name="QtBrokerClient[%s]" % client_id, daemon=True)

    def start(self) -> None:
        with _live_lock:
            _live.add(self)
        self.thread.start()

    def submit(self, call: Call) -> bool:
        """Queue a call (any thread); False once the worker stops taking calls."""
        with self._lock:
            if self._closed or self._stop_requested:
                return False
            self._calls.append(call)
            self._loop.call_soon_threadsafe(self._notify)
        return True

    def request_stop(self, abandon_requests: bool = False) -> None:
        """Finish the calls queued so far, say goodbye, end the thread (any thread, returns at once).

        ``abandon_requests`` when nobody is left to be told a request's reply (the program
        is exiting, the QtBrokerClient was deleted): requests in flight are cancelled at
        once instead of waited for, also after a stop requested without it.
        """
        with self._lock:
            if self._closed:
                return
            if abandon_requests and not self._abandon_requests:
                self._abandon_requests = True
            elif self._stop_requested:
                return
            self._stop_requested = True
            self._loop.call_soon_threadsafe(self._notify)

    def _emit(self, *event: Any) -> None:
        if not self._deliver(event):
            # The QtBrokerClient is gone: no reply can reach anyone either.
            self.request_stop(abandon_requests=True)

    def _notify(self) -> None:
        if self._wakeup is not None:
            self._wakeup.set()
        if self._stop_requested and self._stop_event is not None:
            self._stop_event.set()
        if self._abandon_requests and self._abandoning is not None:
            self._abandoning.set()
        if self._stop_requested:
            # Reading resumes for good: the goodbye's answer is behind the held frames,
            # and deliveries from now on are declined, not relayed.
            self._release_reading()

    # -- the worker thread -------------------------------------------------------------

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        failure: Optional[str] = None
        try:
            failure = self._loop.run_until_complete(self._main())
        except BaseException as exc:  # noqa: B902 - a bug here must still end the thread cleanly
            log.exception("QtBrokerClient worker for %r failed", self.client_id)
            failure = "internal error: %s" % describe_error(exc)
        finally:
            with self._lock:
                self._closed = True
                leftovers = list(self._calls)
                self._calls.clear()
            self._close_loop()
            with _live_lock:
                _live.discard(self)
            self._emit("ended", self, failure, leftovers)

    def _close_loop(self) -> None:
        loop = self._loop
        try:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            if hasattr(loop, "shutdown_default_executor"):
                loop.run_until_complete(loop.shutdown_default_executor())
        except Exception:  # pragma: no cover - nothing more to save; do not hide the close
            log.exception("QtBrokerClient worker for %r: error while closing its loop", self.client_id)
        finally:
            asyncio.set_event_loop(None)
            loop.close()

    async def _main(self) -> Optional[str]:
        """Connect, serve calls until told to stop; the connection failure, or None."""
        self._wakeup = asyncio.Event()
        self._stop_event = asyncio.Event()
        self._abandoning = asyncio.Event()
        self._notify()  # a stop requested before the loop ran
        try:
            client = BrokerClient(self.client_id, config=self._config)
        except Exception as exc:
            return describe_error(exc)
        client.add_listener("connected", self._on_connected)
        client.add_listener("disconnected", self._on_disconnected)
        client.add_listener("error", self._on_error)
        # Not a "message" listener: the ack of a QoS 1 message must wait for the GUI.
        client._handle_every_delivery(self._on_delivery)
        client._hold_reading_with(self._hold_reading)
        stopping = asyncio.ensure_future(self._stop_event.wait())
        try:
            connecting = asyncio.ensure_future(client.connect())
            await asyncio.wait({connecting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not connecting.done():
                connecting.cancel()
                await asyncio.gather(connecting, return_exceptions=True)
                await self._goodbye(client)
                return None
            exc = asyncio.CancelledError() if connecting.cancelled() else connecting.exception()
            if exc is not None or connecting.result() is False:
                await self._goodbye(client)
                where = "%s:%s" % (self._config.host, self._config.port)
                return "cannot connect to %s: %s" % (where, describe_error(exc) if exc else "connect() returned False")
            self._emit("connected")
            serving = asyncio.ensure_future(self._serve(client))
            await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
            # What the GUI has not taken yet it will never emit: unacked, it comes back at
            # the next connect. Declined now, so disconnect() does not wait for it.
            self._decline_unsettled("disconnect_from_broker() was called")
            # One budget for the calls made before the stop and the replies to their requests.
            loop = asyncio.get_running_loop()
            deadline = loop.time() + STOP_TIMEOUT
            if not serving.done():
                await asyncio.wait({serving}, timeout=STOP_TIMEOUT)
            if self._requests and not self._abandon_requests:
                assert self._abandoning is not None
                abandoning = asyncio.ensure_future(self._abandoning.wait())
                await asyncio.wait({*self._requests, abandoning}, timeout=max(0.0, deadline - loop.time()))
                abandoning.cancel()
            abandoned = [t for t in self._requests if not t.done()] if self._abandon_requests else []
            if abandoned:
                log.debug("QtBrokerClient %r: %d request(s) abandoned: nobody is left to take the reply", self.client_id, len(abandoned))
            unfinished = [t for t in [serving, *self._requests] if not t.done() and t not in abandoned]
            if unfinished:
                log.warning("QtBrokerClient %r: calls still running after %.0fs; stopping anyway", self.client_id, STOP_TIMEOUT)
            for task in unfinished + abandoned:
                task.cancel()
            await asyncio.gather(*unfinished, *abandoned, return_exceptions=True)
            await self._goodbye(client)
            return None
        finally:
            stopping.cancel()

    async def _goodbye(self, client: BrokerClient) -> None:
        self._decline_unsettled("the client is stopping")
        try:
            await within(client.disconnect(), STOP_TIMEOUT)
        except Exception as exc:  # the thread ends either way; the loop's close reaps the rest
            log.debug("QtBrokerClient %r: disconnect: %s", self.client_id, describe_error(exc))

    async def _serve(self, client: BrokerClient) -> None:
        assert self._wakeup is not None
        while True:
            while self._calls:
                # One at a time: publishes reach the broker in the order they were made.
                await self._execute(client, self._calls.popleft())
            if self._stop_requested:
                return
            self._wakeup.clear()
            await self._wakeup.wait()

    async def _execute(self, client: BrokerClient, call: Call) -> None:
        if call.kind == "request":
            # Concurrent: a request waits for a reply that may take seconds.
            task = asyncio.ensure_future(self._request(client, call))
            self._requests.add(task)
            task.add_done_callback(self._requests.discard)
            return
        if call.kind == "connect":
            try:
                await client.connect()  # also cuts short a reconnect backoff
            except Exception as exc:
                self._emit("connect_failed", "cannot connect to %s:%s: %s" % (self._config.host, self._config.port, describe_error(exc)))
            return
        try:
            if call.kind == "subscribe":
                self._emit("subscribed", list(await client.subscribe(call.args[0])))
            elif call.kind == "unsubscribe":
                self._emit("unsubscribed", list(await client.unsubscribe(call.args[0])))
            else:
                topic, payload, qos, ttl, retain = call.args
                message_id = await client.publish(topic, payload, qos=qos, ttl=ttl, retain=retain)
                self._emit("published", "" if message_id is None else str(message_id))
        except Exception as exc:
            self._emit("failed", call, exc)

    async def _request(self, client: BrokerClient, call: Call) -> None:
        topic, payload, timeout = call.args
        try:
            result = await client.request(topic, payload, timeout=timeout)
        except asyncio.CancelledError:
            self._emit("failed", call, BrokerNotConnectedError("disconnected before the reply came"))
            raise
        except Exception as exc:
            self._emit("failed", call, exc)
        else:
            self._emit("replied", call, result)

    # BrokerClient listeners: run on this thread, so they only hand the event on.

    def _on_connected(self, *_: Any) -> None:
        self._emit("connected")

    def _on_disconnected(self, reason: Any = None, *_: Any) -> None:
        log.debug("QtBrokerClient %r disconnected: %s", self.client_id, reason)
        self._emit("disconnected", reason)

    def _on_error(self, exc: Any = None, *_: Any) -> None:
        self._emit("error", describe_error(exc) if isinstance(exc, BaseException) else str(exc))

    def _on_delivery(self, message: Message) -> "Optional[asyncio.Future[None]]":
        """Hand a delivery to the GUI; for QoS 1, the future its ack waits for."""
        if message.qos != 1:
            self._emit("message", message, None)
            return None
        if self._stop_requested:
            # The GUI emits nothing more: left unacked, the broker redelivers it.
            raise DeliveryDeclined("the client is stopping")
        delivery = Delivery(asyncio.get_running_loop())
        self._unsettled.add(delivery)
        delivery.future.add_done_callback(lambda _: self._unsettled.discard(delivery))
        if not self._deliver(("message", message, delivery)):
            delivery.decline("the QtBrokerClient was deleted")
            self.request_stop(abandon_requests=True)
        return delivery.future

    def _hold_reading(self) -> "Optional[asyncio.Future[None]]":
        """The read loop's gate: a future while the relay is full, None to read on."""
        if self._wait_for_room is None or self._stop_requested:
            return None
        if self._room is not None and not self._room.done():
            return self._room
        loop = asyncio.get_running_loop()
        room: "asyncio.Future[None]" = loop.create_future()

        def on_room() -> None:  # the GUI thread, once half the backlog is taken
            try:
                loop.call_soon_threadsafe(self._release_reading)
            except RuntimeError:
                # The loop is closed: this worker ended, nothing is left to release.
                log.debug("QtBrokerClient %r: room in the relay after its worker ended", self.client_id)

        if not self._wait_for_room(on_room):
            return None
        log.debug("QtBrokerClient %r: the GUI thread is behind; reading held", self.client_id)
        self._room = room
        return room

    def _release_reading(self) -> None:
        room, self._room = self._room, None
        if room is not None and not room.done():
            room.set_result(None)

    def _decline_unsettled(self, why: str) -> None:
        for delivery in list(self._unsettled):
            delivery.decline(why)


_live: Set[Worker] = set()
_live_lock = threading.Lock()


@atexit.register
def _stop_workers_at_exit() -> None:
    # Worker threads are daemons so a forgotten client cannot hang the exit; stopping them
    # here, before the interpreter tears down, closes their connections cleanly and keeps
    # asyncio from complaining about tasks destroyed while pending.
    with _live_lock:
        workers = list(_live)
    for worker in workers:
        # The GUI loop has ended: a reply could never be emitted, so none is waited for.
        worker.request_stop(abandon_requests=True)
    for worker in workers:
        worker.thread.join(2 * STOP_TIMEOUT + 1)


class WorkerHolder:
    """The current worker, reachable without the QtBrokerClient (for its ``destroyed`` signal)."""

    worker: Optional[Worker] = None

    def stop(self) -> None:
        """Ask the current worker, if any, to stop (any thread, returns at once): the client
        was deleted, so requests in flight are not waited for."""
        worker = self.worker
        if worker is not None:
            worker.request_stop(abandon_requests=True)
