"""``Message``: one delivery, with the seed's fields."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional


@dataclass
class Message:
    """A message as a subscriber receives it.

    ``reply_to`` is set when the message is a ``request``: the callback's return value is
    sent back as the reply. ``retained`` marks a message replayed from the retained store
    on subscribe; ``redelivered`` a QoS 1 message sent again after a reconnect.
    """

    topic: str
    payload: Any = None
    sender: Optional[str] = None
    timestamp: Optional[str] = None
    message_id: Optional[str] = None
    qos: int = 0
    reply_to: Optional[str] = None
    retained: bool = False
    redelivered: bool = False

    @classmethod
    def from_params(cls, params: Dict[str, Any]) -> "Message":
        """The message in a ``message`` notification's params."""
        qos = params.get("qos")
        return cls(
            topic=params["topic"],
            payload=params.get("payload"),
            sender=params.get("sender"),
            timestamp=params.get("timestamp"),
            message_id=params.get("message_id"),
            qos=qos if qos in (0, 1) else 0,
            reply_to=params.get("reply_to"),
            retained=params.get("retained") is True,
            redelivered=params.get("redelivered") is True,
        )

    @property
    def is_request(self) -> bool:
        """True when a reply is expected (the callback's return value)."""
        return self.reply_to is not None
