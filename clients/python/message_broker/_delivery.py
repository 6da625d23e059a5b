"""Deliveries: running the subscription callbacks of each message, then replying with
their return value (requests) and acking (QoS 1) once they have all finished."""
from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any, Callable, Dict, List, Optional, Set

from . import _framing
from ._connection import Connection
from ._events import callback_name
from ._retained_replay import EVERY_CALLBACK
from ._subscriptions import SubscriptionRegistry
from ._values import error_text
from .errors import INTERNAL_ERROR, BrokerError
from .message import Message

log = logging.getLogger("message_broker.client")


class DeliveryDeclined(Exception):
    """A callback's way of saying it did not handle a delivery after all (internal).

    The Qt client raises it, or sets it on the future its callback returned, for a message
    its application never saw (the client was stopping). Neither an ack nor a reply is
    sent then, so the broker keeps a QoS 1 message pending and delivers it again at the
    next connect with the same client_id; the requester of a request waits for another
    responder or its timeout.
    """


class _Outcome:
    """What one callback did with one delivery."""

    __slots__ = ("callback", "value", "error", "task")

    def __init__(self, callback: Any) -> None:
        self.callback = callback
        self.value: Any = None
        self.error: Optional[BaseException] = None
        self.task: Optional["asyncio.Future[Any]"] = None


def reply_error(exc: BaseException) -> Dict[str, Any]:
    """The JSON-RPC error a request's requester gets when a callback raised ``exc``."""
    # A callback that raises a BrokerError chose its code (e.g. -32602 for bad input).
    if isinstance(exc, BrokerError):
        error: Dict[str, Any] = {"code": exc.code, "message": str(exc.message)[:4000]}
        if exc.data is not None:
            try:
                _framing.encode_body(exc.data)
                error["data"] = exc.data
            except (TypeError, ValueError):
                pass  # data that cannot go on the wire is left out; code and message still do
        return error
    # Bounded, so that the error reply itself cannot exceed max_message_size.
    return {"code": INTERNAL_ERROR, "message": error_text(exc)[:4000]}


class DeliveryDispatcher:
    """Runs deliveries' callbacks; ``is_current(conn)`` says whether a connection is still
    the client's, since replies and acks only make sense on the one a delivery came on."""

    def __init__(
        self, subscriptions: SubscriptionRegistry, emit: Callable[..., None], is_current: Callable[[Connection], bool]
    ) -> None:
        self._subs = subscriptions
        self._emit = emit
        self._is_current = is_current
        #: Each delivery being finished -> the tasks of its async callbacks.
        self._running: Dict["asyncio.Task[None]", Set["asyncio.Future[Any]"]] = {}

    async def wait_idle(self, timeout: float, caller: "Optional[asyncio.Future[Any]]" = None) -> None:
        """Return once no delivery is being handled, or after ``timeout`` seconds.

        The delivery whose callback is ``caller`` (``disconnect()`` awaited inside a
        callback) is not waited for: it cannot finish before this returns.
        """
        others = {task for task, callbacks in self._running.items() if caller is None or caller not in callbacks}
        if others:
            await asyncio.wait(others, timeout=timeout)

    def dispatch(self, conn: Connection, msg: Message, target: Any = EVERY_CALLBACK) -> bool:
        """Start the callbacks of ``msg``: every one whose pattern matches, or with ``target``
        only that one among them (None: none; see ``_retained_replay``). True when async
        callbacks were started."""
        self._emit("message", msg)
        outcomes: List[_Outcome] = []
        started = False
        for callback in self._subs.callbacks_for(msg.topic, target):
            outcome = _Outcome(callback)
            outcomes.append(outcome)
            try:
                value = callback(msg)
            except Exception as exc:
                outcome.error = exc
                continue
            if inspect.isawaitable(value):
                # A task, so a slow callback neither blocks reading nor the other callbacks.
                outcome.task = asyncio.ensure_future(value)
                started = True
            else:
                outcome.value = value
        if not started and msg.qos != 1 and msg.reply_to is None:
            # Nothing to wait for and nothing to send: report failures now, skip the task.
            for outcome in outcomes:
                if outcome.error is not None:
                    self._report_callback_error(msg, outcome.callback, outcome.error)
            return False
        task = asyncio.ensure_future(self._finish(conn, msg, outcomes))
        self._running[task] = {o.task for o in outcomes if o.task is not None}
        task.add_done_callback(self._finished)
        return started

    def _finished(self, task: "asyncio.Task[None]") -> None:
        self._running.pop(task, None)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            log.error("handling a delivery failed", exc_info=(type(exc), exc, exc.__traceback__))

    async def _finish(self, conn: Connection, msg: Message, outcomes: List[_Outcome]) -> None:
        """Wait for the delivery's callbacks, then reply (requests) and ack (QoS 1)."""
        tasks = [o.task for o in outcomes if o.task is not None]
        if tasks:
            await asyncio.wait(tasks)
        answered = False
        answer: Any = None
        failure: Optional[BaseException] = None
        declined = False
        for outcome in outcomes:
            if outcome.task is not None:
                if outcome.task.cancelled():
                    outcome.error = asyncio.CancelledError("the callback was cancelled")
                elif outcome.task.exception() is not None:
                    outcome.error = outcome.task.exception()
                else:
                    outcome.value = outcome.task.result()
            if isinstance(outcome.error, DeliveryDeclined):
                declined = True  # not a failure: nobody handled the message, so nothing is said
            elif outcome.error is not None:
                if failure is None:
                    failure = outcome.error
                self._report_callback_error(msg, outcome.callback, outcome.error)
            elif not answered and outcome.value is not None:
                # None is "no answer" to the broker; it must not shadow another callback's value.
                answered, answer = True, outcome.value

        # A delivery from a connection that has since closed is redelivered on the new one
        # (QoS 1) or lost anyway (QoS 0); its reply_to belongs to the old connection.
        if not self._is_current(conn) or conn.closed:
            return
        if declined:
            # An ack would tell the broker the message was handled; it was not.
            log.debug("delivery %s (%r) declined: neither acked nor answered", msg.message_id, msg.topic)
            return
        if msg.reply_to is not None:
            self._reply(conn, msg, answered, answer, failure)
        # Ack even after a failure: a message that always raises would otherwise be
        # redelivered on every reconnect, forever.
        if msg.qos == 1:
            self._send(conn, "ack", {"message_id": msg.message_id}, msg)
        await conn.drain()

    def _reply(self, conn: Connection, msg: Message, answered: bool, answer: Any, failure: Optional[BaseException]) -> None:
        if answered:
            try:
                conn.notify("reply", {"reply_to": msg.reply_to, "result": answer})
                return
            except (TypeError, BrokerError) as exc:
                failure = exc
                self._report_send_error("reply to", msg, exc)
        if failure is not None:
            # Answer with an error so the requester fails now instead of at its timeout.
            reply: Dict[str, Any] = {"reply_to": msg.reply_to, "error": reply_error(failure)}
        else:
            # Null means "not answering": the broker waits for another responder.
            reply = {"reply_to": msg.reply_to, "result": None}
        self._send(conn, "reply", reply, msg)

    def _send(self, conn: Connection, method: str, params: Dict[str, Any], msg: Message) -> None:
        try:
            conn.notify(method, params)
        except (TypeError, BrokerError) as exc:
            self._report_send_error("reply to" if method == "reply" else method, msg, exc)

    def _report_send_error(self, what: str, msg: Message, exc: BaseException) -> None:
        error = RuntimeError("cannot %s %r (message %s): %s" % (what, msg.topic, msg.message_id, error_text(exc)))
        error.__cause__ = exc
        log.error("%s", error)
        self._emit("error", error)

    def _report_callback_error(self, msg: Message, callback: Any, exc: BaseException) -> None:
        description = "subscription callback %s for %r (message %s) raised %s: %s" % (
            callback_name(callback),
            msg.topic,
            msg.message_id,
            type(exc).__name__,
            exc,
        )
        log.error("%s", description, exc_info=(type(exc), exc, exc.__traceback__))
        error = RuntimeError(description)
        error.__cause__ = exc
        self._emit("error", error)
