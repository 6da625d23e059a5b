"""``ClientConfig`` and ``BrokerConfig`` with the seed's fields and defaults.

Defaults for host, port and log level come from ``BROKER_HOST``, ``BROKER_PORT`` and
``BROKER_LOG_LEVEL`` when set (read when a config is created), as the seed documents.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional

DEFAULT_HOST = "localhost"
DEFAULT_PORT = 15234
DEFAULT_HEARTBEAT_INTERVAL = 5.0
DEFAULT_HEARTBEAT_TIMEOUT = 30.0
DEFAULT_MAX_MESSAGE_SIZE = 1024 * 1024
DEFAULT_MAX_QUEUE_SIZE = 10000


def env_host() -> str:
    """``BROKER_HOST``, or ``localhost``."""
    return os.environ.get("BROKER_HOST") or DEFAULT_HOST


def env_port() -> int:
    """``BROKER_PORT``, or 15234. A value that is not a port is an error, not ignored."""
    raw = os.environ.get("BROKER_PORT")
    if not raw:
        return DEFAULT_PORT
    try:
        port = int(raw)
    except ValueError:
        raise ValueError("BROKER_PORT=%r is not a port number" % raw) from None
    if not 0 <= port <= 65535:
        raise ValueError("BROKER_PORT=%r is not a port number (0-65535)" % raw)
    return port


def env_log_level() -> str:
    """``BROKER_LOG_LEVEL``, or ``INFO``."""
    return (os.environ.get("BROKER_LOG_LEVEL") or "INFO").upper()


@dataclass
class ClientConfig:
    """How a ``BrokerClient`` connects. Times are in seconds."""

    host: str = field(default_factory=env_host)
    port: int = field(default_factory=env_port)
    auto_reconnect: bool = True
    reconnect_delay: float = 1.0
    max_reconnect_delay: float = 30.0
    #: 0 = try forever.
    max_reconnect_attempts: int = 0
    connect_timeout: float = 10.0
    request_timeout: float = 5.0
    #: Seconds between pings while idle; 0 = no heartbeats.
    heartbeat_interval: float = DEFAULT_HEARTBEAT_INTERVAL
    #: Sent as ``client_type`` in ``connect``.
    client_type: str = "python"
    #: Shared secret, when the broker asks for one.
    token: Optional[str] = None
    #: True discards the broker's session for this client id on the first connect. The
    #: default keeps it, as the broker does: subscriptions and QoS 1 messages queued while
    #: the program was not running arrive when it connects again.
    clean_session: bool = False


@dataclass
class BrokerConfig:
    """The broker's settings, with the seed's names; each maps to the same option of ``bridge broker``."""

    host: str = field(default_factory=env_host)
    port: int = field(default_factory=env_port)
    max_connections: int = 100
    connection_timeout: float = 30.0
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
    max_queue_size: int = DEFAULT_MAX_QUEUE_SIZE
    heartbeat_interval: float = DEFAULT_HEARTBEAT_INTERVAL
    heartbeat_timeout: float = DEFAULT_HEARTBEAT_TIMEOUT
    persistence_enabled: bool = False
    persistence_path: Optional[str] = None
    log_level: str = field(default_factory=env_log_level)
    log_messages: bool = False
    #: Options of our broker that the seed does not have (``max_output_bytes``,
    #: ``session_expiry``, ``token``, ``clients``, ...), passed through as given.
    extra: Dict[str, Any] = field(default_factory=dict)

    def to_broker_options(self) -> Dict[str, Any]:
        """The config file ``bridge broker --config`` reads: every field, by the same name."""
        options = asdict(self)
        extra = options.pop("extra")
        options["log_level"] = str(options["log_level"]).lower()
        options.update(extra)
        return options


__all__: List[str] = ["ClientConfig", "BrokerConfig", "DEFAULT_HOST", "DEFAULT_PORT"]
