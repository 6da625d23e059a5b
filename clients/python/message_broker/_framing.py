"""Frames on the wire: a 4-byte big-endian length, then that many bytes of JSON text.

Encoding happens before anything is written, so a value the broker would refuse (not
JSON, nested too deeply) fails at the caller instead of on the connection.
"""
from __future__ import annotations

import json
import re
import struct
from typing import Any

HEADER = struct.Struct(">I")

#: The broker refuses frames nested deeper than this (arrays and objects, top level = 1),
#: answering with id null; a request refused that way would only ever time out.
MAX_JSON_DEPTH = 64

#: Largest incoming frame body accepted. The broker's own ``max_message_size`` bounds what
#: clients send and deliveries add only a small envelope; a far larger header means the
#: peer is not a broker (an HTTP server's "HTTP" reads as a 1.2 GB length) or is corrupt.
MAX_INCOMING_FRAME = 64 * 1024 * 1024

# Strings (with their escapes) or brackets: brackets inside strings must not count. The
# unrolled string form is linear, so a large payload cannot make the scan backtrack.
_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


class JsonDepthError(ValueError):
    """The encoded value nests deeper than the broker accepts."""


def _dumps(value: Any) -> bytes:
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError) as exc:
        raise TypeError("not JSON-serialisable: %s" % (exc,)) from exc
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate cannot be UTF-8; as an escape it is still valid JSON text.
        return json.dumps(value, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


def exceeds_depth(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when ``body`` (JSON text) opens more than ``limit`` arrays/objects inside one another."""
    # Cheap C-level count first: nearly every frame has far fewer brackets than the limit.
    if body.count(b"{") + body.count(b"[") <= limit:
        return False
    depth = 0
    for match in _TOKENS.finditer(body):
        token = match.group()
        if token in (b"{", b"["):
            depth += 1
            if depth > limit:
                return True
        elif token in (b"}", b"]"):
            depth -= 1
    return False


def encode_body(message: Any) -> bytes:
    """JSON text of one JSON-RPC message. Raises ``TypeError`` (not JSON) or ``JsonDepthError``."""
    body = _dumps(message)
    if exceeds_depth(body):
        raise JsonDepthError("nested deeper than %d levels (arrays and objects, counting the message's own)" % MAX_JSON_DEPTH)
    return body


def frame(body: bytes) -> bytes:
    """``body`` with its length header."""
    return HEADER.pack(len(body)) + body


def decode_body(body: bytes) -> Any:
    """Parse one frame body. UTF-8 is the contract; cp1252 is what older peers send instead."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = body.decode("cp1252", "replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    return json.loads(text)
