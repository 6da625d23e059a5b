"""Python clients for the ahk-bridge message broker, with the seed's API.

``from message_broker import BrokerClient, Message, MessageBroker, BrokerConfig`` works as
the seed shows; ``message_broker.qt_client.QtBrokerClient`` needs PySide6, PySide2 or
PyQt5. Logging goes to ``logging.getLogger("message_broker")``.
"""
from __future__ import annotations

import logging

from .broker import BrokerStartError, MessageBroker
from .client import BrokerClient
from .config import BrokerConfig, ClientConfig
from .errors import BridgeNotFoundError, BrokerError, BrokerNotConnectedError, BrokerTimeoutError
from .message import Message

__version__ = "0.1.0"

# A library does not configure logging; without a handler, records would go to
# logging's last-resort stderr output, so stay quiet until the app configures it.
logging.getLogger("message_broker").addHandler(logging.NullHandler())

__all__ = [
    "BridgeNotFoundError",
    "BrokerClient",
    "BrokerConfig",
    "BrokerError",
    "BrokerNotConnectedError",
    "BrokerStartError",
    "BrokerTimeoutError",
    "ClientConfig",
    "Message",
    "MessageBroker",
]
