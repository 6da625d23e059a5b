"""Every Python snippet of the seed guide, run as written against our broker, doing what
the guide says it does (see seed_snippets/README.md for the files and the few edits)."""
from __future__ import annotations

import asyncio
import importlib.util
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import types
from datetime import datetime
from typing import Any, Dict, List

import pytest

from conftest import free_port
from message_broker import BrokerClient, BrokerConfig, Message, MessageBroker
from seed_snippets.harness import HERE as SNIPPETS, run_fragment, snippet_source
from support import Inbox, is_listening, spin_until, wait_until

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_ROOT = os.path.dirname(os.path.dirname(PACKAGE_DIR))
FAKE_AHK = os.path.join(REPO_ROOT, "fixtures", "fake-ahk", "AutoHotkey.mjs")
HAS_QT = any(importlib.util.find_spec(m) is not None for m in ("PySide6", "PySide2", "PyQt5"))
HAS_PYSIDE6 = importlib.util.find_spec("PySide6") is not None
needs_qt = pytest.mark.skipif(not HAS_QT, reason="no Qt binding (PySide6, PySide2 or PyQt5) installed")


def child_env(port: int, **extra: str) -> Dict[str, str]:
    """Environment for a snippet run as its own program: this package, the test broker's port."""
    paths = [PACKAGE_DIR]
    if not HAS_PYSIDE6:
        paths.append(os.path.join(SNIPPETS, "qt_shim"))
    env = dict(os.environ)
    env.update(
        PYTHONPATH=os.pathsep.join(paths + [env.get("PYTHONPATH", "")]),
        BROKER_PORT=str(port),
        PYTHONUNBUFFERED="1",
        QT_QPA_PLATFORM="offscreen",
    )
    env.update(extra)
    return env


def snippet_file(name: str, port: int) -> str:
    """The snippet with PORT filled in, as a file a child Python can run."""
    fd, path = tempfile.mkstemp(suffix="_" + name)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(snippet_source(name, port))
    return path


def wait_port(port: int, open_: bool, deadline_s: float = 20.0) -> None:
    """Wait until ``port`` accepts connections (or refuses them); fails at the deadline."""
    wait_until(lambda: is_listening(port) == open_, deadline_s, "port %d %s" % (port, "open" if open_ else "closed"))


def read_until(proc: subprocess.Popen, stream: str, text: str, deadline_s: float = 20.0) -> str:
    """Read lines of the child's ``stream`` until one contains ``text``; returns what was read."""
    pipe = getattr(proc, stream)
    seen: List[str] = []
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        line = pipe.readline()
        if not line:
            break
        seen.append(line.decode("utf-8", "replace") if isinstance(line, bytes) else line)
        if text in seen[-1]:
            return "".join(seen)
    raise AssertionError("no %r in the %s of the snippet; got:\n%s" % (text, stream, "".join(seen)))


def end(proc: subprocess.Popen) -> None:
    """Kill the child if it still runs, reap it and close its pipes (ResourceWarnings otherwise)."""
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


async def connected(client_id: str, port: int) -> BrokerClient:
    client = BrokerClient(client_id, host="127.0.0.1", port=port)
    await client.connect()
    return client


# --- Quick Start ------------------------------------------------------------------------


def test_quick_start_1_python_m_message_broker_serves_until_ctrl_c():
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "message_broker"], env=child_env(port), stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    try:
        read_until(proc, "stderr", "broker listening on localhost:%d" % port)
        assert is_listening(port)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 0
        wait_port(port, open_=False)
    finally:
        end(proc)


def test_quick_start_1_programmatic_broker_runs_and_dies_with_its_program():
    port = free_port()
    path = snippet_file("quick_start_1_programmatic.py", port)
    proc = subprocess.Popen([sys.executable, path], env=child_env(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, open_=True)
        proc.send_signal(signal.SIGINT)
        proc.wait(20)
        # Whatever way the program ended, its broker did not outlive it.
        wait_port(port, open_=False)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.remove(path)


def test_quick_start_2_client_receives_its_own_publish(broker_port):
    path = snippet_file("quick_start_2_client.py", broker_port)
    try:
        out = subprocess.run([sys.executable, path], env=child_env(broker_port), capture_output=True, text=True, timeout=40)
    finally:
        os.remove(path)
    assert out.returncode == 0, out.stderr
    assert "Received: jobs.activated = {'job_id': '12345'}" in out.stdout


@needs_qt
async def test_quick_start_3_qt_app_connects_and_prints_messages(broker_port):
    publisher = await connected("qs3_publisher", broker_port)
    # Retained, so the app gets it whenever its subscription becomes active.
    await publisher.publish("jobs.qs3", {"job_id": "Q3"}, retain=True)
    path = snippet_file("quick_start_3_qt.py", broker_port)
    proc = subprocess.Popen([sys.executable, path], env=child_env(broker_port), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out = await asyncio.get_running_loop().run_in_executor(None, read_until, proc, "stdout", "jobs.qs3: {'job_id': 'Q3'}")
        assert out.splitlines()[0] == "Connected!"
    finally:
        end(proc)
        os.remove(path)
        await publisher.publish("jobs.qs3", None, retain=True)
        await publisher.disconnect()


# --- Broker Server ----------------------------------------------------------------------


async def test_broker_configuration_maps_to_a_running_broker():
    port = free_port()
    ns = await run_fragment("broker_configuration.py", port, {})
    config = ns["config"]
    assert (config.host, config.port, config.max_connections, config.max_message_size) == ("localhost", port, 100, 1024 * 1024)
    assert (config.heartbeat_interval, config.heartbeat_timeout, config.log_level, config.persistence_enabled) == (5.0, 30.0, "INFO", False)
    broker = MessageBroker(config)
    await broker.start()
    try:
        client = await connected("config_check", port)
        status = await client.request("status", {})
        assert status["client_count"] == 1
        await client.disconnect()
    finally:
        await broker.stop()


def test_broker_service_stops_on_sigterm():
    port = free_port()
    proc = subprocess.Popen([sys.executable, os.path.join(SNIPPETS, "broker_service.py")], env=child_env(port), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_port(port, open_=True)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0, proc.stderr.read().decode() if proc.stderr else ""
        wait_port(port, open_=False)
    finally:
        end(proc)


# --- Python Clients ---------------------------------------------------------------------


async def test_python_clients_async_client_walkthrough(own_broker, capsys):
    service = await connected("saw_service", own_broker.port)
    await service.subscribe(["scripts.status"], lambda msg: {"script_id": msg.payload["script_id"], "running": True})
    try:
        ns = await run_fragment("python_clients_async.py", own_broker.port, {})
    finally:
        await service.disconnect()
    assert ns["response"] == {"script_id": "saw1", "running": True}
    assert ns["client"].is_connected is False
    out = capsys.readouterr().out
    assert "Topic: jobs.activated" in out
    assert "Payload: {'job_id': '12345', 'job_number': 'ABC123'}" in out
    assert "Sender: my_python_app" in out


# --- Qt Integration ---------------------------------------------------------------------


def qt_app():
    from message_broker.qt_client import QtCore  # the binding the Qt client chose

    return QtCore, QtCore.QCoreApplication.instance() or QtCore.QCoreApplication([])


@needs_qt
def test_qt_integration_main_window(own_broker, capsys, monkeypatch):
    if not HAS_PYSIDE6:
        monkeypatch.syspath_prepend(os.path.join(SNIPPETS, "qt_shim"))
    qt_app()
    printed: List[str] = []

    def lines() -> List[str]:
        printed.extend(capsys.readouterr().out.splitlines())
        return printed

    async def publish_retained(payload: Any) -> None:
        c = await connected("qt_window_peer", own_broker.port)
        await c.publish("jobs.activated", payload, retain=True)
        await c.disconnect()

    asyncio.run(publish_retained({"job_id": "J1"}))
    ns = asyncio.run(run_fragment("qt_integration_main_window.py", own_broker.port, {}))
    window = ns["MainWindow"]()
    assert spin_until(lambda: "Job activated: J1" in lines(), 15)
    assert lines()[:3] == ["Connected to broker!", "Received: jobs.activated from qt_window_peer", "Job activated: J1"]

    received: List[Message] = []
    subscribed = threading.Event()

    async def watch_publish() -> None:
        c = await connected("qt_window_watcher", own_broker.port)
        got = asyncio.get_running_loop().create_future()
        await c.subscribe(["jobs.activated"], lambda m: None if m.retained or got.done() else got.set_result(m))
        subscribed.set()
        received.append(await asyncio.wait_for(got, 10))
        await c.disconnect()

    # The watcher's loop runs in a thread beside the Qt loop; the window is used from the
    # GUI thread only, as the seed's app does.
    t = threading.Thread(target=lambda: asyncio.run(watch_publish()))
    t.start()
    assert spin_until(subscribed.is_set, 15)
    window.publish_job_change("J2")
    assert spin_until(lambda: not t.is_alive(), 15)
    assert received and received[0].payload == {"job_id": "J2", "source": "main_app"}
    window.closeEvent(None)
    assert spin_until(lambda: "Disconnected from broker" in lines(), 15)
    asyncio.run(publish_retained(None))


# --- AHK Integration --------------------------------------------------------------------


async def test_ahk_option2_runs_the_script_under_our_supervisor(own_broker):
    watcher = await connected("option2_watcher", own_broker.port)
    inbox = Inbox()
    await watcher.subscribe(["scripts.cad.#"], inbox.callback)
    path = snippet_file("ahk_option2.py", own_broker.port)
    runner = "import asyncio, runpy; ns = runpy.run_path(%r); asyncio.run(ns['main']())" % path
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", runner, cwd=REPO_ROOT, env=child_env(own_broker.port, AHK_PATH=FAKE_AHK), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        try:
            started = await inbox.wait_topic("scripts.cad.started", 30)
        except AssertionError:
            proc.kill()
            out, err = await proc.communicate()
            raise AssertionError("no scripts.cad.started; the snippet printed:\n%s%s" % (out.decode(), err.decode()))
        assert started.payload["script"].endswith(os.path.join("scripts", "cad_hotkeys.ahk"))
        _, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, err.decode()
        # The snippet's program ends right after run_script: the bridge it started goes
        # with it, and stops the script first.
        stopped = await inbox.wait_topic("scripts.cad.stopped", 30)
        assert stopped.payload["reason"] == "stopped"
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        os.remove(path)
        await watcher.disconnect()


# --- Common Patterns --------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.calls: List[Any] = []
        self.event = asyncio.Event()

    def __call__(self, *args: Any) -> None:
        self.calls.append(args)
        self.event.set()


async def test_pattern_1_job_activation_flow(broker_port):
    ds_pas = await connected("ds_pas", broker_port)
    ahk_manager = await connected("ahk_manager_p1", broker_port)
    self = types.SimpleNamespace(_broker=ds_pas, _write_active_job_ini=Recorder(), _update_ui=Recorder())
    ns = await run_fragment("pattern_1_job_activation.py", broker_port, {"self": self, "datetime": datetime, "Message": Message})
    await ahk_manager.subscribe(["jobs.activated"], ns["on_message"])
    await ns["activate_job"]("J-77")
    await asyncio.wait_for(self._update_ui.event.wait(), 10)
    assert self._update_ui.calls == [("J-77",)]
    assert self._write_active_job_ini.calls == [("J-77",)]
    assert self._active_job == "J-77"
    await ds_pas.disconnect()
    await ahk_manager.disconnect()


async def test_pattern_2_script_status_updates(broker_port):
    runner = await connected("script_runner", broker_port)
    monitor = await connected("status_monitor", broker_port)
    inbox = Inbox()
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", "import sys; sys.exit(3)")
    ns = {"self": types.SimpleNamespace(_broker=runner), "client": monitor, "handler": inbox.callback, "process": process, "datetime": datetime}
    await run_fragment("pattern_2_script_status.py", broker_port, ns)
    await ns["run_script"]("saw1")
    started = await inbox.wait_topic("scripts.saw1.started")
    stopped = await inbox.wait_topic("scripts.saw1.stopped")
    assert started.payload["pid"] == process.pid
    assert stopped.payload == {"exit_code": 3}
    await runner.disconnect()
    await monitor.disconnect()


async def test_pattern_3_request_response(own_broker, capsys):
    service = await connected("status_service", own_broker.port)
    service_ns = await run_fragment("pattern_3_rpc_service.py", own_broker.port, {"self": types.SimpleNamespace(_running_scripts={"saw1": 4242}), "Message": Message})
    await service.subscribe(["scripts.status"], service_ns["handle_status_request"])
    client = await connected("status_client", own_broker.port)
    ns = await run_fragment("pattern_3_rpc_client.py", own_broker.port, {"client": client})
    assert ns["response"] == {"running": True, "pid": 4242}
    assert "Script running: True" in capsys.readouterr().out
    await client.disconnect()
    await service.disconnect()


async def test_pattern_4_broadcast_with_acknowledgment(broker_port, capsys):
    receiver = await connected("config_listener", broker_port)
    await receiver.subscribe(["config.reload"], lambda msg: None)
    sender = await connected("config_sender", broker_port)
    ns = await run_fragment("pattern_4_broadcast_ack.py", broker_port, {"client": sender, "asyncio": asyncio})
    assert ns["acks"]["clients"] == ["config_listener"]
    assert "Acknowledged by: ['config_listener']" in capsys.readouterr().out
    await sender.disconnect()
    await receiver.disconnect()


# --- Testing ----------------------------------------------------------------------------


def test_testing_section_mock_and_real_broker_fixtures_pass():
    port = free_port()
    testing = os.path.join(SNIPPETS, "testing")
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", testing],
        cwd=testing,
        env=child_env(port, PYTHONPATH=os.pathsep.join([PACKAGE_DIR, testing])),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 passed" in out.stdout
    assert not is_listening(port)  # the fixture's broker stopped


# --- Troubleshooting and debugging ------------------------------------------------------


async def test_troubleshooting_1_socket_check(broker_port, capsys):
    await run_fragment("troubleshooting_1_socket.py", broker_port, {})
    await run_fragment("troubleshooting_1_socket.py", free_port(), {})
    assert capsys.readouterr().out.splitlines() == ["Broker is running", "Broker not available"]


async def test_troubleshooting_1_connection_refused_is_the_error_the_guide_shows():
    client = BrokerClient("nobody_home", host="127.0.0.1", port=free_port())
    with pytest.raises(ConnectionRefusedError):
        await client.connect()


async def test_troubleshooting_2_log_messages_and_catch_all_subscription(broker_port, caplog):
    client = await connected("debugger", broker_port)
    inbox = Inbox()
    ns = await run_fragment("troubleshooting_2_debug.py", broker_port, {"BrokerConfig": BrokerConfig, "client": client, "debug_handler": inbox.callback})
    publisher = await connected("noisy_app", broker_port)
    await publisher.publish("anything.at.all", {"n": 1})
    got = await inbox.wait_topic("anything.at.all")
    assert got.payload == {"n": 1}
    # The config logs every publish when used for a broker.
    config = ns["config"]
    config.port = 0
    caplog.set_level("INFO", logger="message_broker")
    async with MessageBroker(config) as broker:
        c = await connected("logged_publisher", broker.port)
        await c.publish("debug.topic", {"x": 1})
        await c.disconnect()
    assert any("debug.topic" in r.getMessage() for r in caplog.records)
    await publisher.disconnect()
    await client.disconnect()


@needs_qt
def test_troubleshooting_3_qt_client_does_not_block(broker_port):
    from message_broker.qt_client import QtBrokerClient

    qt_app()
    self = types.SimpleNamespace()
    before = time.monotonic()
    asyncio.run(run_fragment("troubleshooting_3_qt.py", broker_port, {"self": self, "QtBrokerClient": QtBrokerClient}))
    assert time.monotonic() - before < 1.0  # connect_to_broker returned at once
    assert spin_until(lambda: self._broker.is_connected, 15)
    self._broker.disconnect_from_broker()
    assert spin_until(lambda: not self._broker.is_connected, 15)


async def test_debugging_tools_status_and_subscriptions(own_broker, capsys, caplog):
    client = await connected("my_app", own_broker.port)
    await client.subscribe(["jobs.*", "scripts.#"], lambda m: None)
    caplog.set_level("DEBUG", logger="message_broker")
    await run_fragment("debugging_tools.py", own_broker.port, {"client": client})
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Connected clients: ") and int(out[0].split(": ")[1]) >= 1
    assert out[1].startswith("Messages processed: ")
    assert out[2] == "Active subscriptions: ['jobs.*', 'scripts.#']"
    assert any(r.name.startswith("message_broker") and r.levelname == "DEBUG" for r in caplog.records)
    await client.disconnect()
