"""Small judgements about values that several of the client's modules make the same way."""
from __future__ import annotations

from typing import Any


def is_number(value: Any) -> bool:
    """True for an int or float; ``bool`` is an int to Python but not a number on the wire."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def error_text(exc: BaseException) -> str:
    """The exception's message, or its type's name when the message is empty."""
    text = str(exc)
    return text if text else type(exc).__name__
