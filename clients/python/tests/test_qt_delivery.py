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


# --- QoS 1: acked once the application has seen the message -------------------------------


def redelivered_to(port: int, client_id: str, count: int) -> List[Dict[str, Any]]:
    """Reconnect as ``client_id`` (same session: no clean_session) and take what the broker redelivers."""
    sys.path.insert(0, SCENARIOS)
    from rawpub import RawPeer

    peer = RawPeer(port, client_id)
    try:
        return peer.deliveries(count)
    finally:
        peer.close()


@each_binding
def test_qos1_messages_the_busy_gui_has_not_emitted_are_not_acked_and_come_back_after_a_crash(broker_port, binding):
    # The worker used to ack at arrival: a crash while the GUI thread was busy lost them all.
    client_id = "qos1-busy-%s-%d" % (binding, os.getpid())
    report = last_json(run_scenario("qos1_ack", binding, broker_port, client_id, "busy", 10))
    assert report["seen"] == [0]
    for n, acks in enumerate(report["acks"]):
        # Message 0's slot had not returned either: nothing is acked.
        assert client_id not in acks["clients"], (n, acks)
        assert client_id in acks["pending"], (n, acks)
    again = redelivered_to(broker_port, client_id, 10)
    assert [m["payload"]["n"] for m in again] == list(range(10))
    assert [m["message_id"] for m in again] == report["ids"]
    assert all(m["redelivered"] is True for m in again), again


@each_binding
def test_qos1_messages_dropped_by_disconnect_from_broker_are_not_acked_and_come_back(broker_port, binding):
    # Messages arriving after disconnect_from_broker() are not emitted; they used to be
    # acked all the same, so the broker counted delivered what the application never saw.
    client_id = "qos1-disc-%s-%d" % (binding, os.getpid())
    count = 200
    report = last_json(run_scenario("qos1_ack", binding, broker_port, client_id, "disconnect", count))
    seen = report["seen"]
    assert seen == list(range(len(seen))) and len(seen) >= count // 10 + 1, seen
    unseen = [n for n in range(count) if n not in seen]
    assert unseen, "the disconnect came after the last message: nothing was tested"
    for n in seen:
        assert client_id in report["acks"][n]["clients"], (n, report["acks"][n])
    for n in unseen:
        assert client_id not in report["acks"][n]["clients"], (n, report["acks"][n])
        assert client_id in report["acks"][n]["pending"], (n, report["acks"][n])
    again = redelivered_to(broker_port, client_id, len(unseen))
    assert [m["payload"]["n"] for m in again] == unseen
    assert [m["message_id"] for m in again] == [report["ids"][n] for n in unseen]


# --- bursts: the GUI thread keeps breathing, the relay stays bounded ------------------------


@each_binding
def test_a_burst_neither_freezes_the_gui_thread_nor_grows_the_relay_past_its_bound(broker_port, binding):
    # The drain used to run until the relay was empty, taking what arrived meanwhile too:
    # 30k messages with a 1 ms slot kept a 20 ms QTimer from firing for 32 s.
    from message_broker._qt_relay import MAX_BACKLOG

    count = 4000
    report = last_json(run_scenario("flood", binding, broker_port, count, 0, 5))
    assert report["got"] == list(range(count))  # all of them, in order
    assert report["max_gap"] < 0.2, "the 20 ms timer went %.2fs without firing" % report["max_gap"]
    assert 0 < report["peak"] <= MAX_BACKLOG, report["peak"]
    assert report["disconnects"] == 0


@each_binding
def test_holding_the_socket_for_a_busy_gui_is_not_taken_for_a_silent_broker(own_broker_fast_heartbeat, binding):
    # While the relay is full the worker reads nothing, pongs included; the heartbeat
    # must not count that silence (1 s here) against the broker and drop the connection.
    from message_broker._qt_relay import MAX_BACKLOG

    count = 3000
    report = last_json(run_scenario("flood", binding, own_broker_fast_heartbeat.port, count, 3.0, 0.2))
    assert report["peak"] >= MAX_BACKLOG, "the relay never filled: reading was never held"
    assert report["peak"] <= MAX_BACKLOG
    assert report["disconnects"] == 0
    assert report["got"] == list(range(count))


@pytest.fixture
def own_broker_fast_heartbeat():
    """A broker whose heartbeat_timeout is 1 s, so a client's silence limit is 1 s too."""
    from conftest import BrokerProcess

    broker = BrokerProcess(extra={"heartbeat_interval": 0.5, "heartbeat_timeout": 1})
    yield broker
    broker.stop()
