"""The client's event listeners: who is told of connects, disconnects, errors and deliveries.

A listener's failure is logged and stops there: a bug in application code must not break
the connection that reported the event.
"""
from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any, Callable, Dict, List

# One logger for all of BrokerClient's modules, so "message_broker.client" keeps naming
# everything the client logs however its code is split.
log = logging.getLogger("message_broker.client")

#: Events of ``add_listener`` and the arguments their listeners get.
EVENTS = ("connected", "disconnected", "error", "message")


def callback_name(callback: Any) -> str:
    """A readable name for a listener or subscription callback, for log lines."""
    return getattr(callback, "__qualname__", None) or getattr(callback, "__name__", None) or repr(callback)


def check_event(event: str) -> None:
    """Raise ``ValueError`` unless ``event`` is one of ``EVENTS``."""
    if event not in EVENTS:
        raise ValueError("unknown event %r; events are %s" % (event, ", ".join(EVENTS)))


class Listeners:
    """Event name -> listeners, each called once per event in the order they were added."""

    def __init__(self) -> None:
        self._by_event: Dict[str, List[Callable[..., Any]]] = {event: [] for event in EVENTS}

    def add(self, event: str, callback: Callable[..., Any]) -> None:
        """Add ``callback`` for ``event`` unless it is already there."""
        check_event(event)
        if not callable(callback):
            raise TypeError("listener for %r must be callable, got %s" % (event, type(callback).__name__))
        if callback not in self._by_event[event]:
            self._by_event[event].append(callback)

    def remove(self, event: str, callback: Callable[..., Any]) -> None:
        """Remove ``callback`` for ``event``; no error when it was not there."""
        check_event(event)
        if callback in self._by_event[event]:
            self._by_event[event].remove(callback)

    def emit(self, event: str, *args: Any) -> None:
        """Call every listener of ``event``; an async listener runs as a task of its own."""
        for listener in list(self._by_event[event]):
            try:
                result = listener(*args)
            except Exception:
                log.exception("%r listener %s raised", event, callback_name(listener))
                continue
            if inspect.isawaitable(result):
                task = asyncio.ensure_future(result)
                task.add_done_callback(lambda t, e=event, cb=listener: _log_listener_task(t, e, cb))


def _log_listener_task(task: "asyncio.Future[Any]", event: str, listener: Any) -> None:
    if not task.cancelled() and task.exception() is not None:
        exc = task.exception()
        log.error("%r listener %s raised", event, callback_name(listener), exc_info=(type(exc), exc, exc.__traceback__))
