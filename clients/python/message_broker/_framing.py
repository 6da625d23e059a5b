"""Frames on the wire: a 4-byte big-endian length, then that many bytes of JSON text.

Encoding happens before anything is written, so a value the broker would refuse (not
JSON, nested too deeply) fails at the caller instead of on the connection.
"""
from __future__ import annotations

import json
import re
import struct
from typing import Any

from ._values import is_number

HEADER = struct.Struct(">I")

#: The broker refuses frames nested deeper than this (arrays and objects, top level = 1),
#: answering with id null; a request refused that way would only ever time out.
MAX_JSON_DEPTH = 64

#: Largest incoming frame body accepted from a broker whose ``max_message_size`` is not
#: known yet (before its connect result), and the least accepted once it is. A far larger
#: header means the peer is not a broker (an HTTP server's "HTTP" reads as a 1.2 GB
#: length) or is corrupt.
MAX_INCOMING_FRAME = 64 * 1024 * 1024

#: What a broker's frame may add to the largest frame it accepts: a delivery wraps the
#: published payload in an envelope (topic, timestamp, sender, message_id, flags). The
#: sender is at most 128 characters and the topic was already in the publish frame, so the
#: envelope is a few hundred bytes; this leaves room to spare.
ENVELOPE_ALLOWANCE = 64 * 1024

#: How many UTF-8 bytes a delivery may spend per byte of the frame it was published in: the
#: broker reads a frame that is not UTF-8 in its ``legacy_encoding`` (cp1252 by default)
#: and delivers UTF-8, where one cp1252 byte can take three (``€`` is E2 82 AC). The broker
#: checks ``max_message_size`` on the frame as it arrived.
TRANSCODING_GROWTH = 3

#: The length header's own limit: nothing larger can be announced.
_MAX_HEADER_LENGTH = 2 ** 32 - 1


def incoming_frame_limit(max_message_size: Any) -> int:
    """Largest frame body to accept from a broker that advertised ``max_message_size``
    (None or not a number: not known yet).

    Every frame such a broker legitimately sends fits: a delivery of a publish frame of
    exactly ``max_message_size`` bytes, envelope and UTF-8 transcoding included. Never
    below ``MAX_INCOMING_FRAME``, so a broker with a small ``max_message_size`` is read as
    before; garbage headers above the limit are still refused.
    """
    if not is_number(max_message_size) or not max_message_size > 0:
        return MAX_INCOMING_FRAME
    if max_message_size >= _MAX_HEADER_LENGTH:
        return _MAX_HEADER_LENGTH
    needed = TRANSCODING_GROWTH * int(max_message_size) + ENVELOPE_ALLOWANCE
    return min(max(MAX_INCOMING_FRAME, needed), _MAX_HEADER_LENGTH)

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
