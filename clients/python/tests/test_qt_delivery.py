"""QtBrokerClient under load and at its end, under every installed Qt binding.

Each scenario is a script in ``qt_scenarios/`` run in a fresh interpreter with
``QT_API`` set, against the session broker over real TCP: a crash shows as the exit
code, and one test run covers PySide2 and PyQt5 (and PySide6) alike. The scenarios print
what they observed as JSON (or a DONE line); the asserts are here.
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from typing import Any, Dict, List

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_DIR = os.path.dirname(HERE)
SCENARIOS = os.path.join(HERE, "qt_scenarios")

BINDINGS = [name for name in ("PySide6", "PySide2", "PyQt5") if importlib.util.find_spec(name) is not None]
if not BINDINGS:
    pytest.skip("no Qt binding (PySide6, PySide2 or PyQt5) installed", allow_module_level=True)

each_binding = pytest.mark.parametrize("binding", BINDINGS)


def run_scenario(name: str, binding: str, *args: Any, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``qt_scenarios/<name>.py`` under ``binding``; its stdout/stderr and exit code."""
    env = dict(os.environ)
    env.update({"QT_API": binding.lower(), "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": PACKAGE_DIR})
    argv = [sys.executable, os.path.join(SCENARIOS, name + ".py")] + [str(a) for a in args]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)


def last_json(out: subprocess.CompletedProcess) -> Dict[str, Any]:
    """The scenario's report: its last stdout line, as JSON."""
    assert out.returncode == 0, "rc %d\n%s" % (out.returncode, out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- lifetime -----------------------------------------------------------------------------


@each_binding
@pytest.mark.parametrize("mode", ["delete", "close"])
def test_deleting_the_client_while_messages_arrive_does_not_crash(broker_port, binding, mode):
    # The worker thread used to emit on a QObject the GUI thread was deleting: SIGSEGV.
    out = run_scenario("delete_race", binding, broker_port, 12, mode)
    assert out.returncode == 0, "rc %d (139 is SIGSEGV)\n%s" % (out.returncode, out.stderr[-3000:])
    words = out.stdout.split()
    assert words[:2] == ["DONE", "12"], out.stdout
    assert int(words[2]) >= 12 * 50
