"""The package promises Python 3.9+: its sources parse as 3.9 code, and annotations that
3.9 cannot evaluate (``X | None``, ``list[str]``) stay strings (postponed evaluation)."""
from __future__ import annotations

import ast
import os

import pytest

SOURCES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "message_broker")
FILES = sorted(f for f in os.listdir(SOURCES) if f.endswith(".py"))


@pytest.mark.parametrize("name", FILES)
def test_parses_as_python_3_9(name):
    with open(os.path.join(SOURCES, name), encoding="utf-8") as f:
        source = f.read()
    tree = ast.parse(source, name, feature_version=(3, 9))
    has_annotations = any(isinstance(n, (ast.AnnAssign, ast.arg)) and getattr(n, "annotation", None) is not None for n in ast.walk(tree)) or any(
        isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.returns is not None for n in ast.walk(tree)
    )
    if has_annotations:
        assert "from __future__ import annotations" in source, "%s: annotations need postponed evaluation on 3.9" % name
