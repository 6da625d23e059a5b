"""Errors as exceptions that carry the JSON-RPC code: branch on ``err.code``, not on text."""
from __future__ import annotations

from typing import Any

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
NOT_CONNECTED = -32001
TIMEOUT = -32002
SUBSCRIPTION_ERROR = -32003
PUBLISH_ERROR = -32004
NO_RESPONDERS = -32005
LIMIT_EXCEEDED = -32006

#: Code -> name, as in the protocol's error table.
ERROR_NAMES = {
    PARSE_ERROR: "PARSE_ERROR",
    INVALID_REQUEST: "INVALID_REQUEST",
    METHOD_NOT_FOUND: "METHOD_NOT_FOUND",
    INVALID_PARAMS: "INVALID_PARAMS",
    INTERNAL_ERROR: "INTERNAL_ERROR",
    NOT_CONNECTED: "NOT_CONNECTED",
    TIMEOUT: "TIMEOUT",
    SUBSCRIPTION_ERROR: "SUBSCRIPTION_ERROR",
    PUBLISH_ERROR: "PUBLISH_ERROR",
    NO_RESPONDERS: "NO_RESPONDERS",
    LIMIT_EXCEEDED: "LIMIT_EXCEEDED",
}


class BrokerError(Exception):
    """An error answer from the broker (or raised locally with a protocol code)."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__("%s (%d): %s" % (ERROR_NAMES.get(code, "ERROR"), code, message))
        self.code = code
        self.message = message
        self.data = data

    @property
    def name(self) -> str:
        return ERROR_NAMES.get(self.code, "ERROR")


class BrokerNotConnectedError(BrokerError, ConnectionError):
    """A call made while the client has no connection (code -32001)."""

    def __init__(self, message: str = "not connected to the broker", data: Any = None) -> None:
        BrokerError.__init__(self, NOT_CONNECTED, message, data)


class BrokerTimeoutError(BrokerError, TimeoutError):
    """No answer in time (code -32002); also an ``asyncio.TimeoutError``-style ``TimeoutError``."""

    def __init__(self, message: str, data: Any = None) -> None:
        BrokerError.__init__(self, TIMEOUT, message, data)


def error_from_wire(error: Any) -> BrokerError:
    """The exception for a JSON-RPC ``error`` object, with the right subclass for its code."""
    if not isinstance(error, dict):
        return BrokerError(INTERNAL_ERROR, "malformed error: %r" % (error,))
    code = error.get("code") if isinstance(error.get("code"), int) else INTERNAL_ERROR
    message = error.get("message") if isinstance(error.get("message"), str) else "error without a message"
    data = error.get("data")
    if code == TIMEOUT:
        return BrokerTimeoutError(message, data)
    if code == NOT_CONNECTED:
        return BrokerNotConnectedError(message, data)
    return BrokerError(code, message, data)


class BridgeNotFoundError(RuntimeError):
    """``MessageBroker`` could not find Node.js or the ``bridge`` command to run."""


