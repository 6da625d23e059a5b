"""Runs a seed snippet as written: the file's text, with ``PORT`` replaced by the test
broker's port, compiled with top-level ``await`` allowed (the seed's fragments use it),
in a namespace holding only the names the fragment assumes."""
from __future__ import annotations

import ast
import os
import re
import types
from typing import Any, Dict

HERE = os.path.dirname(os.path.abspath(__file__))


def snippet_source(name: str, port: int) -> str:
    with open(os.path.join(HERE, name), encoding="utf-8") as f:
        return re.sub(r"\bPORT\b", str(port), f.read())


async def run_fragment(name: str, port: int, namespace: Dict[str, Any]) -> Dict[str, Any]:
    """Execute snippet ``name`` in ``namespace`` (awaiting its top-level awaits); returns the namespace."""
    code = compile(snippet_source(name, port), name, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    namespace.setdefault("__name__", "seed_snippet")
    result = eval(code, namespace)  # noqa: S307 - our own checked-in snippet files
    if isinstance(result, types.CoroutineType):
        await result
    return namespace
