"""One-line DEBUG descriptions of what the client sends and receives ("print all broker
activity", as the seed's Debugging Tools put it).

Only names and ids are spelled out; payloads and results appear as a preview cut at
``PREVIEW_LIMIT`` characters, so a large message cannot flood the log. The connect
token is never shown: parameters are picked by name, never dumped whole.
"""
from __future__ import annotations

import json
import logging
from typing import Any, List

log = logging.getLogger("message_broker.client")

#: Longest payload or result preview in a log line, in characters.
PREVIEW_LIMIT = 200

# Parameters worth naming in a line about a sent call, in this order.
_SENT_KEYS = ("topic", "patterns", "client_id", "reply_to", "message_id", "qos", "retain", "ttl", "timeout")
# Fields of a delivery worth naming in a line about it, in this order.
_DELIVERY_KEYS = ("topic", "message_id", "sender", "qos", "reply_to", "retained", "redelivered")


def enabled() -> bool:
    """Whether the lines are wanted; checked first, so that no preview is made for nothing."""
    return log.isEnabledFor(logging.DEBUG)


def preview(value: Any, limit: int = PREVIEW_LIMIT) -> str:
    """``value`` as compact JSON, cut to ``limit`` characters with the full length noted."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=repr)
    if len(text) <= limit:
        return text
    return "%s...(%d chars)" % (text[:limit], len(text))


def _named(params: Any, keys: Any) -> List[str]:
    if not isinstance(params, dict):
        return []
    # Defaults (qos 0, ttl 0, not retained) only lengthen the line.
    return ["%s=%s" % (key, preview(params[key], 80)) for key in keys if key in params and params[key] not in (None, False, 0)]


def log_sent(client_id: str, method: str, req_id: Any, params: Any, size: int) -> None:
    """Log one call or notification ``client_id`` wrote to the broker."""
    parts = [client_id, "->", method]
    if req_id is not None:
        parts.append("id=%s" % req_id)
    parts.extend(_named(params, _SENT_KEYS))
    if isinstance(params, dict):
        for key in ("payload", "result", "error"):
            if key in params:
                parts.append("%s=%s" % (key, preview(params[key])))
    parts.append("(%d bytes)" % size)
    log.debug("%s", " ".join(parts))


def log_received(client_id: str, value: Any) -> None:
    """Log one JSON-RPC message ``client_id`` read from the broker."""
    if not isinstance(value, dict):
        log.debug("%s <- %s", client_id, preview(value))
        return
    method = value.get("method")
    if method == "message" and "id" not in value:
        params = value.get("params")
        parts = [client_id, "<- message"] + _named(params, _DELIVERY_KEYS)
        if isinstance(params, dict) and "payload" in params:
            parts.append("payload=%s" % preview(params["payload"]))
        log.debug("%s", " ".join(parts))
    elif method is not None and "id" in value:
        log.debug("%s <- call %s id=%s", client_id, preview(method, 80), preview(value["id"], 40))
    elif method is not None:
        log.debug("%s <- notification %s", client_id, preview(method, 80))
    elif "error" in value:
        log.debug("%s <- error id=%s %s", client_id, preview(value.get("id"), 40), preview(value["error"]))
    else:
        log.debug("%s <- result id=%s %s", client_id, preview(value.get("id"), 40), preview(value.get("result")))
