"""Shared fixtures: a real ahk-bridge broker (our Node broker, started from this checkout's
dist/ or BRIDGE_CMD) for the whole session, and one per test where a test needs its own.

``BROKER_PORT`` is set to the session broker's port, so code written against the seed's
defaults (``BrokerClient("x")``, ``MessageBroker()``) reaches it unchanged.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from typing import Dict, Iterator, List, Optional

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # the package under test, not an installed copy

from message_broker._bridge_command import bridge_command  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BrokerProcess:
    """A broker child process for tests; ``stop()`` ends it cleanly, ``kill()`` abruptly."""

    def __init__(self, port: int = 0, extra: Optional[Dict[str, object]] = None) -> None:
        self.config_path = os.path.join(os.environ.get("TMPDIR", "/tmp"), "mb-test-%d-%d.json" % (os.getpid(), id(self)))
        options: Dict[str, object] = {"host": "127.0.0.1", "port": port, "log_level": os.environ.get("TEST_LOG_LEVEL", "info")}
        options.update(extra or {})
        with open(self.config_path, "w", encoding="utf-8") as f:
            json.dump(options, f)
        env = {k: v for k, v in os.environ.items() if not k.startswith("BROKER_")}
        self.proc = subprocess.Popen(
            bridge_command() + ["broker", "--config", self.config_path, "--log-format", "json"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
        )
        self.lines: List[str] = []
        self._drain: Optional[threading.Thread] = None
        try:
            self.port = self._wait_listening()
        except BaseException:
            self.kill()
            raise
        self._drain = threading.Thread(target=self._read_rest, daemon=True)
        self._drain.start()

    def _wait_listening(self) -> int:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").strip()
            self.lines.append(line)
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("msg") == "broker listening":
                return int(record["port"])
        raise RuntimeError("broker exited before listening: %s" % "\n".join(self.lines))

    def _read_rest(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            self.lines.append(raw.decode("utf-8", "replace").strip())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._release()

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self._release()

    def _release(self) -> None:
        """Close the stderr pipe and remove the config file, once the broker has exited."""
        if self._drain is not None:
            # The pipe reaches EOF once the broker has exited; closing it under a reading
            # thread would block, so a thread still reading is a failure to report.
            self._drain.join(5)
            if self._drain.is_alive():
                raise RuntimeError("the broker (pid %d) exited but its stderr is still open" % self.proc.pid)
        assert self.proc.stderr is not None
        self.proc.stderr.close()
        if os.path.exists(self.config_path):
            os.remove(self.config_path)


@pytest.fixture(scope="session")
def session_broker() -> Iterator[BrokerProcess]:
    broker = BrokerProcess()
    previous = os.environ.get("BROKER_PORT")
    os.environ["BROKER_PORT"] = str(broker.port)
    yield broker
    broker.stop()
    if previous is None:
        os.environ.pop("BROKER_PORT", None)
    else:
        os.environ["BROKER_PORT"] = previous


@pytest.fixture
def broker_port(session_broker: BrokerProcess) -> int:
    """The session broker's port (also in BROKER_PORT)."""
    return session_broker.port


@pytest.fixture
def own_broker() -> Iterator[BrokerProcess]:
    """A broker of this test's own, for tests that stop or restart it."""
    broker = BrokerProcess()
    yield broker
    broker.stop()
