"""QtBrokerClient against the real broker, under a real Qt event loop (QCoreApplication).

Peers are raw TCP clients written here from the wire contract (PROTOCOL.md), so these
tests depend on nothing inside client.py. Waiting is always "spin the Qt event loop until
a condition or a deadline", never a fixed sleep.
"""
from __future__ import annotations

import importlib.util
import logging
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from conftest import BrokerProcess, free_port  # noqa: E402
from support import spin_until  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "qt_scenarios"))
from rawpub import RawPeer  # noqa: E402

qt_binding = pytest.importorskip("message_broker._qt_binding", reason="no Qt binding (PySide6, PySide2 or PyQt5) installed")
QtCore = qt_binding.QtCore
Slot = qt_binding.Slot

from message_broker.config import ClientConfig  # noqa: E402
from message_broker.qt_client import QtBrokerClient  # noqa: E402

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKER_PREFIX = "QtBrokerClient["
MAIN_IDENT = threading.get_ident()


# --- Qt helpers ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app() -> Any:
    return QtCore.QCoreApplication.instance() or QtCore.QCoreApplication([])


def spin_for(seconds: float) -> None:
    """Keep the Qt loop running for a while (to show that something does NOT happen)."""
    end = time.monotonic() + seconds
    spin_until(lambda: time.monotonic() >= end, seconds + 1)


def on_gui_thread() -> bool:
    return threading.get_ident() == MAIN_IDENT and QtCore.QThread.currentThread() == QtCore.QCoreApplication.instance().thread()


def worker_threads() -> List[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(WORKER_PREFIX)]


SIGNALS = ("connected", "disconnected", "connection_failed", "message_received", "subscribed", "unsubscribed", "published", "error_occurred")


DIRECT = getattr(QtCore.Qt, "DirectConnection", None) or QtCore.Qt.ConnectionType.DirectConnection


class Recorder:
    """Every signal of one client, in order, with whether each was emitted on the GUI thread.

    Direct connections, so the slot runs in the emitting thread: with the default
    connection the bindings would queue a lambda to the GUI thread and hide an emit made
    on the worker thread.
    """

    def __init__(self, client: QtBrokerClient) -> None:
        self.events: List[Tuple[str, Tuple[Any, ...], bool]] = []
        for name in SIGNALS:
            getattr(client, name).connect(lambda *args, name=name: self.events.append((name, args, on_gui_thread())), DIRECT)

    def of(self, name: str) -> List[Tuple[Any, ...]]:
        return [args for n, args, _ in self.events if n == name]

    def names(self) -> List[str]:
        return [n for n, _, _ in self.events]

    def wait(self, name: str, count: int = 1, timeout: float = 10.0) -> List[Tuple[Any, ...]]:
        assert spin_until(lambda: len(self.of(name)) >= count, timeout), "no %d x %s within %ss; got %r" % (count, name, timeout, self.events)
        return self.of(name)

    def messages(self) -> List[Tuple[str, Any, str, str]]:
        return self.of("message_received")  # type: ignore[return-value]

    def all_on_gui_thread(self) -> bool:
        return all(ok for _, _, ok in self.events)


def unique(prefix: str) -> str:
    return "%s-%s" % (prefix, uuid.uuid4().hex[:8])


@pytest.fixture
def make_client(app: Any) -> Iterator[Callable[..., Tuple[QtBrokerClient, Recorder]]]:
    """QtBrokerClients that are disconnected, and their threads checked gone, after the test."""
    made: List[QtBrokerClient] = []

    def make(prefix: str = "qt", **kwargs: Any) -> Tuple[QtBrokerClient, Recorder]:
        client = QtBrokerClient(unique(prefix), **kwargs)
        made.append(client)
        return client, Recorder(client)

    yield make
    for client in made:
        client.disconnect_from_broker()
    assert spin_until(lambda: not worker_threads(), 15), "worker threads left running: %r" % worker_threads()


# --- a raw peer, from PROTOCOL.md (qt_scenarios/rawpub.py) -------------------------------


@pytest.fixture
def peer() -> Iterator[Callable[[int], RawPeer]]:
    peers: List[RawPeer] = []

    def make(port: int) -> RawPeer:
        p = RawPeer(port, unique("raw"))
        peers.append(p)
        return p

    yield make
    for p in peers:
        p.close()


# --- binding choice -----------------------------------------------------------------------


def run_python(code: str, env: Optional[Dict[str, str]] = None, args: Tuple[str, ...] = (), timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter (warnings shown) with this package importable."""
    full_env = dict(os.environ)
    full_env.pop("QT_API", None)
    full_env["PYTHONPATH"] = PACKAGE_DIR
    full_env.update(env or {})
    argv = [sys.executable, "-W", "default", "-c", textwrap.dedent(code)] + list(args)
    return subprocess.run(argv, env=full_env, capture_output=True, text=True, timeout=timeout)


HAS = {name: importlib.util.find_spec(name) is not None for name in ("PySide6", "PySide2", "PyQt5")}


def test_binding_default_is_the_first_installed_of_pyside6_pyside2_pyqt5():
    out = run_python("from message_broker.qt_client import QT_API; print(QT_API)")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == next(name for name in ("PySide6", "PySide2", "PyQt5") if HAS[name])


@pytest.mark.parametrize("forced", ["pyside6", "pyside2", "PyQt5"])
def test_qt_api_forces_a_binding(forced):
    out = run_python("from message_broker.qt_client import QT_API, QtBrokerClient; print(QT_API)", {"QT_API": forced})
    name = {"pyside6": "PySide6", "pyside2": "PySide2", "pyqt5": "PyQt5"}[forced.lower()]
    if HAS[name]:
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == name
    else:
        assert out.returncode != 0
        assert "ImportError: QT_API=%s" % forced.lower() in out.stderr
        assert name in out.stderr


def test_unknown_qt_api_is_refused_by_name():
    out = run_python("import message_broker.qt_client", {"QT_API": "pyqt6"})
    assert out.returncode != 0
    assert "ImportError: QT_API='pyqt6' is not a binding" in out.stderr
    assert "pyside6, pyside2 or pyqt5" in out.stderr


def test_no_binding_is_a_clear_import_error_and_the_package_still_imports():
    code = """
        import sys
        sys.modules.update({"PySide6": None, "PySide2": None, "PyQt5": None})
        import message_broker  # the asyncio client needs no Qt
        try:
            import message_broker.qt_client
        except ImportError as exc:
            print("ERROR:", exc)
    """
    out = run_python(code)
    assert out.returncode == 0, out.stderr
    line = out.stdout.strip()
    assert line.startswith("ERROR: message_broker.qt_client needs a Qt binding: PySide6, PySide2 or PyQt5"), line
    assert "pip install PySide6" in line


@pytest.mark.skipif(not (HAS["PyQt5"] and (HAS["PySide6"] or HAS["PySide2"])), reason="needs PyQt5 and a PySide")
def test_a_binding_the_app_already_imported_wins():
    out = run_python("import PyQt5.QtCore\nfrom message_broker.qt_client import QT_API; print(QT_API)")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "PyQt5"


# --- connecting ---------------------------------------------------------------------------


def test_connected_arrives_on_the_gui_thread(make_client, broker_port):
    client, rec = make_client(host="127.0.0.1", port=broker_port)
    assert not client.is_connected
    client.connect_to_broker()
    rec.wait("connected")
    assert client.is_connected
    assert rec.names() == ["connected"]
    assert rec.all_on_gui_thread()


def test_seed_defaults_reach_the_broker_in_broker_port(make_client, broker_port):
    # QtBrokerClient("main_app") as in Quick Start 3: host/port from BROKER_HOST/BROKER_PORT.
    assert os.environ["BROKER_PORT"] == str(broker_port)
    client, rec = make_client()
    assert client.config.port == broker_port
    client.connect_to_broker()
    rec.wait("connected")


def test_bad_arguments_raise_in_the_constructor(app):
    with pytest.raises(ValueError):
        QtBrokerClient("")
    with pytest.raises(ValueError):
        QtBrokerClient("x" * 129)
    with pytest.raises(ValueError):
        QtBrokerClient("ok", port=0)
    with pytest.raises(TypeError):
        QtBrokerClient("ok", config={"port": 1})  # type: ignore[arg-type]
    assert worker_threads() == []


def test_config_has_the_host_and_port_given(app):
    given = ClientConfig(host="example.invalid", port=1111, reconnect_delay=0.25)
    client = QtBrokerClient("cfg", host="127.0.0.1", port=2222, config=given)
    assert (client.config.host, client.config.port, client.config.reconnect_delay) == ("127.0.0.1", 2222, 0.25)
    assert (given.host, given.port) == ("example.invalid", 1111)  # the caller's config is left alone
    assert client.client_id == "cfg" and not client.is_connected


def test_connect_to_broker_twice_is_one_connection(make_client, broker_port, peer):
    watcher = peer(broker_port)
    watcher.call("subscribe", {"patterns": ["system.client.connected"]})
    client, rec = make_client(port=broker_port)
    client.connect_to_broker()
    client.connect_to_broker()
    rec.wait("connected")
    client.connect_to_broker()
    spin_for(0.3)
    assert rec.names() == ["connected"]
    watcher.call("ping")  # the broker's events about our connects were sent before its answer
    ours = [f for f in watcher.inbox if f.get("method") == "message" and f["params"]["payload"]["client_id"] == client.client_id]
    assert len(ours) == 1


# --- messages -----------------------------------------------------------------------------


def test_subscribe_before_connected_then_messages_arrive_on_the_gui_thread(make_client, broker_port, peer):
    client, rec = make_client(port=broker_port)
    client.connect_to_broker()
    client.subscribe(["qtmsg.*", "other.#"])  # before the connection is up: queued
    assert rec.events == []  # nothing happens inside the calls
    assert rec.wait("subscribed") == [(["qtmsg.*", "other.#"],)]
    publisher = peer(broker_port)
    message_id = publisher.publish("qtmsg.created", {"job_id": "12345", "nested": {"list": [1, 2.5, None, True]}})
    (topic, payload, sender, mid), = rec.wait("message_received")
    assert (topic, payload, mid) == ("qtmsg.created", {"job_id": "12345", "nested": {"list": [1, 2.5, None, True]}}, message_id)
    assert sender.startswith("raw-")
    assert rec.names() == ["connected", "subscribed", "message_received"]
    assert rec.all_on_gui_thread()


def test_a_lone_pattern_string_is_one_pattern(make_client, broker_port):
    client, rec = make_client(port=broker_port)
    client.connect_to_broker()
    client.subscribe("lone.pattern")
    assert rec.wait("subscribed") == [(["lone.pattern"],)]


def test_seed_style_slot_with_dict_signature_receives_payloads(make_client, broker_port, peer):
    class Window(QtCore.QObject):
        def __init__(self) -> None:
            super().__init__()
            self.got: List[Tuple[str, Any, str, str, bool]] = []

        @Slot(str, dict, str, str)
        def _on_message(self, topic: str, payload: dict, sender: str, message_id: str) -> None:
            self.got.append((topic, payload, sender, message_id, on_gui_thread()))

    window = Window()
    client, rec = make_client(port=broker_port, parent=window)
    client.message_received.connect(window._on_message)
    client.connect_to_broker()
    client.subscribe(["seed.*"])
    rec.wait("subscribed")
    publisher = peer(broker_port)
    first = publisher.publish("seed.dict", {"job_id": "J1", "tags": ["a", "b"], "n": {"deep": {"x": 1}}})
    # Not dicts, yet still JSON payloads: they must get through the signal too.
    publisher.publish("seed.list", [1, "two", {"three": 3}])
    publisher.publish("seed.number", 42)
    publisher.publish("seed.none", None)
    last = publisher.publish("seed.dict2", {})
    rec.wait("message_received", 5)
    assert [(t, p) for t, p, _, _ in rec.messages()] == [
        ("seed.dict", {"job_id": "J1", "tags": ["a", "b"], "n": {"deep": {"x": 1}}}),
        ("seed.list", [1, "two", {"three": 3}]),
        ("seed.number", 42),
        ("seed.none", None),
        ("seed.dict2", {}),
    ]
    dicts = [g for g in window.got if isinstance(g[1], dict)]
    assert [(t, p, mid) for t, p, _, mid, _ in dicts] == [
        ("seed.dict", {"job_id": "J1", "tags": ["a", "b"], "n": {"deep": {"x": 1}}}, first),
        ("seed.dict2", {}, last),
    ]
    assert all(on_gui for *_, on_gui in window.got)
    assert all(sender.startswith("raw-") for _, _, sender, _, _ in window.got)


def test_publish_emits_published_with_the_message_id_subscribers_see(make_client, broker_port, peer):
    watcher = peer(broker_port)
    watcher.call("subscribe", {"patterns": ["qtpub.#"]})
    client, rec = make_client(port=broker_port)
    client.connect_to_broker()
    rec.wait("connected")
    payload = {"job_id": "7", "source": "main_app"}
    client.publish("qtpub.activated", payload)
    payload["job_id"] = "changed after the call"  # the message was taken at the call
    (message_id,), = rec.wait("published")
    delivered = watcher.wait_message("qtpub.activated")
    assert delivered["message_id"] == message_id and message_id
    assert delivered["payload"] == {"job_id": "7", "source": "main_app"}
    assert delivered["sender"] == client.client_id
    assert rec.all_on_gui_thread()


def test_calls_made_before_connected_are_sent_in_order(make_client, broker_port, peer):
    watcher = peer(broker_port)
    watcher.call("subscribe", {"patterns": ["qtorder.n"]})
    client, rec = make_client(port=broker_port)
    client.connect_to_broker()
    for n in range(20):
        client.publish("qtorder.n", n)
    rec.wait("published", 20)
    delivered = [watcher.wait_message("qtorder.n") for _ in range(20)]
    assert [d["payload"] for d in delivered] == list(range(20))
    assert [(d["message_id"],) for d in delivered] == rec.of("published")


def test_publish_with_retain_and_qos(make_client, broker_port, peer):
    topic = "qtretain.%s" % uuid.uuid4().hex[:6]
    client, rec = make_client(port=broker_port)
    client.connect_to_broker()
    client.publish(topic, {"v": 1}, retain=True, qos=1)
    rec.wait("published")
    late = peer(broker_port)
    late.call("subscribe", {"patterns": [topic]})
    retained = late.wait_message(topic)
    assert retained["payload"] == {"v": 1} and retained.get("retained") is True and retained["qos"] == 1
    client.publish(topic, None, retain=True)  # clears it
    rec.wait("published", 2)


def test_unsubscribe_stops_deliveries(make_client, broker_port, peer):
    client, rec = make_client(port=broker_port)
    client.connect_to_broker()
    client.subscribe(["qtunsub.a", "qtunsub.b"])
    client.unsubscribe(["qtunsub.a"])
    assert rec.wait("unsubscribed") == [(["qtunsub.a"],)]
    publisher = peer(broker_port)
    publisher.publish("qtunsub.a", 1)
    publisher.publish("qtunsub.b", 2)  # same publisher, so it arrives after the one on .a would
    rec.wait("message_received")
    spin_for(0.1)
    assert [(t, p) for t, p, _, _ in rec.messages()] == [("qtunsub.b", 2)]


# --- errors -------------------------------------------------------------------------------


def test_non_json_payload_is_error_occurred_and_the_client_goes_on(make_client, broker_port, peer):
    watcher = peer(broker_port)
    watcher.call("subscribe", {"patterns": ["qtbad.#"]})
    client, rec = make_client(port=broker_port)
    client.connect_to_broker()
    rec.wait("connected")
    client.publish("qtbad.set", {"ids": {1, 2}})
    client.publish("qtbad.nan", float("nan"))
    assert rec.of("error_occurred") == []  # reported later, never inside the call
    errors = rec.wait("error_occurred", 2)
    assert "publish to 'qtbad.set'" in errors[0][0] and "not JSON" in errors[0][0]
    assert "publish to 'qtbad.nan'" in errors[1][0]
    client.publish("qtbad.ok", "fine")
    rec.wait("published")
    assert watcher.wait_message("qtbad.ok")["payload"] == "fine"
    watcher.call("ping")
    assert not [f for f in watcher.inbox if f.get("method") == "message"]
    assert rec.all_on_gui_thread()


def test_invalid_pattern_is_error_occurred_with_the_broker_code(make_client, broker_port):
    client, rec = make_client(port=broker_port)
    client.connect_to_broker()
    client.subscribe(["bad..pattern"])
    (text,), = rec.wait("error_occurred")
    assert "subscribe(['bad..pattern'])" in text and "-32003" in text
    assert rec.of("subscribed") == []


def test_publish_to_a_reserved_topic_is_error_occurred(make_client, broker_port):
    client, rec = make_client(port=broker_port)
    client.connect_to_broker()
    client.publish("system.fake", {})
    (text,), = rec.wait("error_occurred")
    assert "publish to 'system.fake'" in text and "-32004" in text


def test_publish_without_connect_to_broker_is_error_occurred(make_client):
    client, rec = make_client(port=free_port())
    client.publish("never.sent", 1)
    assert rec.events == []
    (text,), = rec.wait("error_occurred")
    assert "publish to 'never.sent'" in text and "connect_to_broker()" in text
    assert worker_threads() == []


# --- request ------------------------------------------------------------------------------


def test_request_delivers_the_reply_to_the_callback_on_the_gui_thread(make_client, broker_port):
    client, rec = make_client(port=broker_port)
    replies: List[Tuple[Any, bool]] = []
    client.connect_to_broker()
    # Queued before connected, like the other calls.
    client.request("status", {}, lambda result: replies.append((result, on_gui_thread())))
    assert spin_until(lambda: bool(replies))
    (status, on_gui), = replies
    assert on_gui and status["client_count"] >= 1 and "uptime" in status


def test_request_failures_go_to_error_callback_or_error_occurred(make_client, broker_port):
    client, rec = make_client(port=broker_port)
    failures: List[Any] = []
    client.connect_to_broker()
    client.request("nobody.answers", {}, lambda r: failures.append(("result", r)), timeout=2, error_callback=lambda exc: failures.append((exc, on_gui_thread())))
    assert spin_until(lambda: bool(failures))
    (exc, on_gui), = failures
    assert on_gui and getattr(exc, "code", None) == -32005
    client.request("nobody.answers.either", {})
    (text,), = rec.wait("error_occurred")
    assert "request to 'nobody.answers.either'" in text and "-32005" in text


# --- connection failures ------------------------------------------------------------------


def test_connection_failed_when_nothing_listens(make_client):
    port = free_port()
    client, rec = make_client(host="127.0.0.1", port=port)
    client.connect_to_broker()
    (text,), = rec.wait("connection_failed")
    assert str(port) in text and "ConnectionRefusedError" in text
    assert not client.is_connected
    assert rec.names() == ["connection_failed"] and rec.all_on_gui_thread()
    assert spin_until(lambda: not worker_threads())


def test_event_loop_keeps_running_while_a_connect_hangs(make_client):
    # A listener that accepts TCP but never answers "connect": the client waits its
    # connect_timeout, and the Qt loop must keep turning all that time.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        config = ClientConfig(host="127.0.0.1", port=silent.getsockname()[1], connect_timeout=1.5, auto_reconnect=False)
        client, rec = make_client(config=config)
        ticks: List[float] = []
        timer = QtCore.QTimer()
        timer.timeout.connect(lambda: ticks.append(time.monotonic()))
        timer.start(10)
        started = time.monotonic()
        client.connect_to_broker()
        client.subscribe(["kept.*"])
        client.publish("lost.topic", 1)
        assert time.monotonic() - started < 0.2  # the calls returned at once
        (text,), = rec.wait("connection_failed", timeout=10)
        timer.stop()
        waited = time.monotonic() - started
        assert waited >= 1.4, waited
        assert "did not answer" in text
        gaps = [b - a for a, b in zip(ticks, ticks[1:])]
        assert len(ticks) >= 40 and max(gaps) < 0.5, (len(ticks), max(gaps))
        # The publish made while connecting could not be sent: said so, after connection_failed.
        assert rec.names() == ["connection_failed", "error_occurred"]
        assert "publish to 'lost.topic'" in rec.of("error_occurred")[0][0]
    finally:
        silent.close()


def test_subscriptions_survive_a_failed_connect_for_the_next_one(make_client, peer):
    port = free_port()
    client, rec = make_client(host="127.0.0.1", port=port)
    client.subscribe(["retry.*"])  # before connect_to_broker() at all
    client.connect_to_broker()
    rec.wait("connection_failed")
    broker = BrokerProcess(port=port)
    try:
        client.connect_to_broker()
        assert rec.wait("subscribed") == [(["retry.*"],)]
        peer(port).publish("retry.works", {"ok": True})
        assert rec.wait("message_received")[0][:2] == ("retry.works", {"ok": True})
        assert rec.names() == ["connection_failed", "connected", "subscribed", "message_received"]
    finally:
        client.disconnect_from_broker()
        spin_until(lambda: not worker_threads())
        broker.stop()


# --- disconnecting ------------------------------------------------------------------------


def test_disconnect_emits_disconnected_after_the_thread_ended(make_client, broker_port, peer):
    watcher = peer(broker_port)
    watcher.call("subscribe", {"patterns": ["system.client.disconnected"]})
    client, rec = make_client(port=broker_port)
    threads_at_disconnected: List[List[threading.Thread]] = []
    client.disconnected.connect(lambda: threads_at_disconnected.append(worker_threads()))
    client.connect_to_broker()
    client.subscribe(["qtbye.*"])
    rec.wait("subscribed")
    assert len(worker_threads()) == 1
    client.publish("qtbye.last", "sent before the goodbye")
    client.disconnect_from_broker()
    assert client.is_connected  # until the signal says otherwise
    rec.wait("disconnected")
    assert threads_at_disconnected == [[]]
    assert not client.is_connected
    # Its own message on qtbye.* arrives after disconnect_from_broker(): not delivered.
    assert rec.names() == ["connected", "subscribed", "published", "disconnected"]
    assert rec.all_on_gui_thread()
    while True:
        event = watcher.wait_message("system.client.disconnected")["payload"]
        if event["client_id"] == client.client_id:
            break
    assert event["reason"] == "client_disconnect"  # a clean goodbye, not a dropped socket
    # Nothing more after disconnected, even when messages are published to its patterns.
    watcher.publish("qtbye.after", 1)
    spin_for(0.2)
    assert rec.names()[-1] == "disconnected"


def test_calls_made_before_disconnect_still_get_their_results(make_client, broker_port):
    client, rec = make_client(port=broker_port)
    replies: List[Any] = []
    client.connect_to_broker()
    rec.wait("connected")
    client.publish("qtflush.one", 1)
    client.request("status", {}, lambda result: replies.append(("reply", result)), error_callback=lambda exc: replies.append(("error", exc)))
    client.disconnect_from_broker()
    rec.wait("disconnected")
    assert rec.names() == ["connected", "published", "disconnected"]
    assert len(replies) == 1 and replies[0][0] == "reply" and "client_count" in replies[0][1]


def test_disconnect_while_connecting_stops_at_once(make_client):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        config = ClientConfig(host="127.0.0.1", port=silent.getsockname()[1], connect_timeout=10)
        client, rec = make_client(config=config)
        client.connect_to_broker()
        client.publish("never.sent", 1)
        spin_for(0.2)
        started = time.monotonic()
        client.disconnect_from_broker()
        assert spin_until(lambda: not worker_threads(), 5)
        assert time.monotonic() - started < 3
        spin_until(lambda: bool(rec.events), 1)
        # Never connected: no connected/disconnected; the publish is reported as not sent.
        assert rec.names() == ["error_occurred"]
        assert "never.sent" in rec.of("error_occurred")[0][0]
    finally:
        silent.close()


def test_disconnect_then_connect_again(make_client, broker_port, peer):
    client, rec = make_client(port=broker_port)
    client.connect_to_broker()
    rec.wait("connected")
    client.disconnect_from_broker()
    client.connect_to_broker()  # while the first connection is still closing
    client.subscribe(["again.*"])
    rec.wait("subscribed")
    assert rec.names() == ["connected", "disconnected", "connected", "subscribed"]
    peer(broker_port).publish("again.hello", "hi")
    assert rec.wait("message_received")[0][:2] == ("again.hello", "hi")
    assert len(worker_threads()) == 1


def test_deleting_the_parent_stops_the_worker(app, broker_port, peer):
    watcher = peer(broker_port)
    watcher.call("subscribe", {"patterns": ["system.client.disconnected"]})
    parent = QtCore.QObject()
    client = QtBrokerClient(unique("orphan"), port=broker_port, parent=parent)
    client_id = client.client_id
    rec = Recorder(client)
    client.connect_to_broker()
    rec.wait("connected")
    del client
    parent.deleteLater()
    assert spin_until(lambda: not worker_threads(), 10)
    while True:
        event = watcher.wait_message("system.client.disconnected")["payload"]
        if event["client_id"] == client_id:
            break
    assert event["reason"] == "client_disconnect"


def test_deleting_the_client_does_not_wait_for_the_reply_to_its_request(app, broker_port, peer, caplog):
    # Nobody is left to be told the reply: the worker ends without waiting for it (up to
    # STOP_TIMEOUT, 5 s, and a warning, before).
    responder = peer(broker_port)
    topic = unique("silent")
    responder.call("subscribe", {"patterns": [topic]})
    parent = QtCore.QObject()
    client = QtBrokerClient(unique("asker"), port=broker_port, parent=parent)
    rec = Recorder(client)
    client.connect_to_broker()
    rec.wait("connected")
    client.request(topic, {"q": 1}, timeout=30)
    assert responder.wait_message(topic)["payload"] == {"q": 1}
    with caplog.at_level(logging.DEBUG, logger="message_broker"):
        del client
        parent.deleteLater()
        assert spin_until(lambda: not worker_threads(), 10)
    said = [r.getMessage() for r in caplog.records]
    assert any("1 request(s) abandoned" in m for m in said), said
    assert not any("still running" in m for m in said), said


def test_broker_restart_gives_disconnected_then_connected(make_client, own_broker, peer):
    port = own_broker.port
    config = ClientConfig(host="127.0.0.1", port=port, reconnect_delay=0.05, max_reconnect_delay=0.2)
    client, rec = make_client(config=config)
    client.connect_to_broker()
    client.subscribe(["restart.*"])
    rec.wait("subscribed")
    own_broker.stop()
    rec.wait("disconnected")
    assert not client.is_connected
    replacement = BrokerProcess(port=port)
    try:
        rec.wait("connected", 2, timeout=15)
        assert client.is_connected
        assert rec.names() == ["connected", "subscribed", "disconnected", "connected"]
        # The subscription made before the restart holds on the new broker.
        peer(port).publish("restart.after", {"n": 1})
        assert rec.wait("message_received")[0][:2] == ("restart.after", {"n": 1})
        assert rec.all_on_gui_thread()
    finally:
        client.disconnect_from_broker()
        spin_until(lambda: not worker_threads())
        replacement.stop()


def test_without_auto_reconnect_connect_to_broker_is_the_way_back(make_client, own_broker, peer):
    port = own_broker.port
    client, rec = make_client(config=ClientConfig(host="127.0.0.1", port=port, auto_reconnect=False))
    client.connect_to_broker()
    client.subscribe(["manual.*"])
    rec.wait("subscribed")
    own_broker.stop()
    rec.wait("disconnected")
    client.connect_to_broker()  # the broker is still down
    (text,), = rec.wait("connection_failed")
    assert str(port) in text and "ConnectionRefusedError" in text
    replacement = BrokerProcess(port=port)
    try:
        spin_for(0.5)
        assert rec.names() == ["connected", "subscribed", "disconnected", "connection_failed"]  # no reconnect by itself
        client.connect_to_broker()
        rec.wait("connected", 2)
        peer(port).publish("manual.back", 1)
        assert rec.wait("message_received")[0][:2] == ("manual.back", 1)
        assert rec.all_on_gui_thread()
    finally:
        client.disconnect_from_broker()
        spin_until(lambda: not worker_threads())
        replacement.stop()


# --- interpreter exit ---------------------------------------------------------------------

EXIT_SCRIPT = """
import logging, sys, threading
from message_broker.qt_client import QtBrokerClient, QtCore
logging.basicConfig(level=logging.WARNING)  # a warning of the client's would show in stderr
app = QtCore.QCoreApplication([])
client = QtBrokerClient(sys.argv[2], host="127.0.0.1", port=int(sys.argv[1]))
def on_connected():
    client.subscribe(["exit.*"])
    if sys.argv[3].startswith("ask"):
        client.request("exit.ask", {"q": 1}, timeout=30)  # its responder never answers
    client.publish("exit.now", {"bye": True})
    if sys.argv[3].endswith("disconnect"):
        client.disconnect_from_broker()  # then quit at once, as in the seed's closeEvent
    app.quit()
client.connected.connect(on_connected)
client.connection_failed.connect(lambda e: (print("FAILED", e), app.quit()))
client.connect_to_broker()
(getattr(app, "exec", None) or app.exec_)()
print("EXITING")
"""


@pytest.mark.parametrize("mode", ["disconnect", "forget", "ask-then-disconnect", "ask-then-forget"])
def test_interpreter_exit_is_clean(broker_port, peer, mode):
    watcher = peer(broker_port)
    watcher.call("subscribe", {"patterns": ["system.client.disconnected", "exit.now", "exit.ask"]})
    client_id = unique("exit-" + mode)
    out = run_python(EXIT_SCRIPT, args=(str(broker_port), client_id, mode))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "EXITING"
    # No warnings (a request in flight is not waited for: "calls still running after 5s"),
    # no "Task was destroyed", no thread complaints.
    assert out.stderr == ""
    if mode.startswith("ask"):
        assert watcher.wait_message("exit.ask")["payload"] == {"q": 1}
    assert watcher.wait_message("exit.now")["payload"] == {"bye": True}
    while True:
        event = watcher.wait_message("system.client.disconnected")["payload"]
        if event["client_id"] == client_id:
            break
    assert event["reason"] == "client_disconnect"
