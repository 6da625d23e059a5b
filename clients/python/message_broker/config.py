"""``ClientConfig`` and ``BrokerConfig`` with the seed's fields and defaults.

Defaults for host, port and log level come from ``BROKER_HOST``, ``BROKER_PORT`` and
``BROKER_LOG_LEVEL`` when set (read when a config is created), as the seed documents.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional

DEFAULT_HOST = "localhost"
DEFAULT_PORT = 15234
DEFAULT_HEARTBEAT_INTERVAL = 5.0
DEFAULT_HEARTBEAT_TIMEOUT = 30.0
DEFAULT_MAX_MESSAGE_SIZE = 1024 * 1024
DEFAULT_MAX_QUEUE_SIZE = 10000
MAX_CLIENT_ID_LENGTH = 128


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


def client_settings(client_id: Any, host: Optional[str], port: Optional[int], config: Optional[ClientConfig]) -> ClientConfig:
    """Check a client constructor's ``client_id``, ``host``, ``port`` and ``config`` and
    settle them into the config the client uses: a copy of ``config`` (default
    ``ClientConfig()``) with ``host``/``port`` put over its own; ``BROKER_HOST`` and
    ``BROKER_PORT`` are read only for what neither gives. The given config is not
    modified. Raises ``TypeError``/``ValueError`` for an invalid argument."""
    if not isinstance(client_id, str):
        raise TypeError("client_id must be a string, got %s" % type(client_id).__name__)
    if not 1 <= len(client_id) <= MAX_CLIENT_ID_LENGTH:
        raise ValueError("client_id must be 1-%d characters, got %r" % (MAX_CLIENT_ID_LENGTH, client_id))
    if config is not None and not isinstance(config, ClientConfig):
        raise TypeError("config must be a ClientConfig, got %s" % type(config).__name__)
    # Given ones go to the constructor: their environment variable is then not read at
    # all, so an invalid BROKER_PORT cannot fail a client whose port was given.
    given: Dict[str, Any] = {}
    if host is not None:
        given["host"] = host
    if port is not None:
        given["port"] = port
    config = dataclasses.replace(config, **given) if config is not None else ClientConfig(**given)
    if not isinstance(config.host, str) or not config.host:
        raise TypeError("host must be a non-empty string, got %r" % (config.host,))
    if not isinstance(config.port, int) or isinstance(config.port, bool) or not 1 <= config.port <= 65535:
        raise ValueError("port must be an integer from 1 to 65535, got %r" % (config.port,))
    return config


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
