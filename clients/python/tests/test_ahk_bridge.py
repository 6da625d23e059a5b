"""AHKBridge against the real broker and the real TypeScript bridge host (`bridge up`).

No AutoHotkey runs here: the host starts scripts with the project's fake interpreter
(fixtures/fake-ahk), which acts out a script's `;@fake` lines. Each test has its own
broker, so a host left by one test cannot answer for the next.
"""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, List

import pytest

from message_broker import BrokerClient, BrokerError
from message_broker.ahk_bridge import AHKBridge, AHKBridgeError
from message_broker.errors import INVALID_PARAMS, NO_RESPONDERS
from support import Inbox, our_children, pid_alive

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "fixtures" / "scripts"
FAKE_AHK = str(ROOT / "fixtures" / "fake-ahk" / "AutoHotkey.mjs")
WAIT = 20.0


# -- helpers --------------------------------------------------------------------


async def wait_gone(pid: int, timeout: float = WAIT) -> None:
    """Wait until ``pid`` has exited, or fail."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while pid_alive(pid):
        assert loop.time() < deadline, "process %d still running after %ss" % (pid, timeout)
        await asyncio.sleep(0.05)


def bridge_up_processes() -> List[int]:
    """Pids of `bridge up` processes started under this test process (Linux: /proc)."""
    return our_children(b"up", b"--config")


async def subscribe(client: BrokerClient, *patterns: str) -> Inbox:
    events = Inbox(timeout=WAIT)
    await client.subscribe(list(patterns), events.callback)
    return events


# -- fixtures -------------------------------------------------------------------


@pytest.fixture
async def make_client(own_broker: Any) -> AsyncIterator[Callable[[str], Awaitable[BrokerClient]]]:
    clients: List[BrokerClient] = []

    async def make(client_id: str) -> BrokerClient:
        client = BrokerClient(client_id, host="127.0.0.1", port=own_broker.port)
        await client.connect()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.disconnect()


@pytest.fixture
async def make_bridge() -> AsyncIterator[Callable[..., AHKBridge]]:
    """AHKBridge objects that are stopped after the test, even when it fails."""
    bridges: List[AHKBridge] = []

    def make(client: BrokerClient, **kwargs: Any) -> AHKBridge:
        kwargs.setdefault("interpreter", FAKE_AHK)
        bridge = AHKBridge(client, **kwargs)
        bridges.append(bridge)
        return bridge

    yield make
    for bridge in reversed(bridges):
        await bridge.stop()


@pytest.fixture
async def client(make_client: Callable[[str], Awaitable[BrokerClient]]) -> BrokerClient:
    return await make_client("ahk_bridge")


@pytest.fixture
async def bridge(client: BrokerClient, make_bridge: Callable[..., AHKBridge]) -> AHKBridge:
    """A started AHKBridge hosting scripts from fixtures/scripts."""
    b = make_bridge(client, script_folders=[FIXTURES])
    await b.start()
    return b


# -- tests ----------------------------------------------------------------------


async def test_a_bridge_that_cannot_run_scripts_does_not_count_as_a_host(make_client: Any, make_bridge: Any) -> None:
    # `bridge run --key K` answers scripts.list but has no script_folders: it takes no
    # scripts.run, so start() must still start a host of its own.
    folderless = await make_client("folderless_bridge")
    await folderless.subscribe(["scripts.list"], lambda msg: {"scripts": []})
    app = await make_client("app_folderless")
    b = make_bridge(app, script_folders=[FIXTURES])
    await b.start()
    assert b.owns_host and b.host_pid is not None
    status = await b.run_script(os.path.join(FIXTURES, "echo.ahk"), "echo_fl")
    assert status["running"] is True


async def test_start_starts_a_host_only_when_none_answers(make_client: Any, make_bridge: Any) -> None:
    first = await make_client("app1")
    with pytest.raises(BrokerError) as before:
        await first.request("scripts.list", None, timeout=2)
    assert before.value.code == NO_RESPONDERS

    b1 = make_bridge(first, script_folders=[FIXTURES])
    await b1.start()
    assert b1.owns_host and b1.host_pid is not None and pid_alive(b1.host_pid)
    assert await first.request("scripts.list", None, timeout=5) == {"scripts": []}

    second = await make_client("app2")
    b2 = make_bridge(second, script_folders=[FIXTURES])
    await b2.start()
    assert not b2.owns_host and b2.host_pid is None
    status = await second.request("status", None, timeout=5)
    assert [c["client_id"] for c in status["clients"] if c["client_type"] == "bridge"] == ["bridge"]
    if os.path.isdir("/proc"):
        assert bridge_up_processes() == [b1.host_pid]

    # The second one drives the first one's host.
    result = await b2.run_script(FIXTURES / "echo.ahk", "echo")
    assert result["running"] is True
    assert [s["key"] for s in await b1.list_scripts()] == ["echo"]


async def test_run_script_seed_flow_relative_path_and_default_folder(
    client: BrokerClient, make_bridge: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The seed's example as written: relative path, no script_folders (default: cwd).
    monkeypatch.chdir(ROOT)
    events = await subscribe(client, "scripts.cad.#")
    bridge = make_bridge(client)
    await bridge.start()
    assert bridge.script_folders == [str(ROOT)]

    status = await bridge.run_script(script_path="scripts/cad_hotkeys.ahk", program_key="cad")
    assert status["running"] is True and status["key"] == "cad"
    assert status["script"] == str(ROOT / "scripts" / "cad_hotkeys.ahk")
    started = await events.wait_topic("scripts.cad.started")
    assert started.payload["pid"] == status["pid"]
    await events.wait_topic("scripts.cad.ready")

    # Common Pattern 3, asked directly, and through the bridge.
    reply = await client.request("scripts.status", {"script_id": "cad"}, timeout=5)
    assert reply["running"] is True and reply["pid"] == status["pid"]
    assert (await bridge.script_status("cad"))["state"] == "running"

    # Events the script publishes, and a command with a reply.
    pressed = await events.wait_topic("scripts.cad.hotkey.pressed")
    assert pressed.payload["key"] == "F1"
    assert await client.request("scripts.cad.command.ping", None, timeout=5) == "pong"


async def test_run_script_resolves_the_path_in_this_process(
    client: BrokerClient, make_bridge: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    # Relative folders and interpreter are this process's, too (the host reads them from a
    # config file elsewhere, relative to which they would mean something else).
    bridge = make_bridge(client, script_folders=["fixtures/scripts"], interpreter="fixtures/fake-ahk/AutoHotkey.mjs")
    await bridge.start()  # the host's working directory is ROOT
    monkeypatch.chdir(FIXTURES)
    events = await subscribe(client, "scripts.sw.#")
    status = await bridge.run_script("switches.ahk", "sw", args=["--saw", 1])
    assert status["script"] == str(FIXTURES / "switches.ahk")
    assert status["args"] == ["--saw", "1"]
    started = await events.wait_topic("scripts.sw.started")
    assert started.payload["args"] == ["--saw", "1"]
    output = await events.wait_topic("scripts.sw.output")
    assert "right switches" in output.payload["line"]


async def test_run_script_of_a_script_that_fails_to_load_says_so(bridge: AHKBridge, caplog: pytest.LogCaptureFixture) -> None:
    # Answered once the start has settled, not right after the spawn: not running, failed.
    with caplog.at_level(logging.INFO, logger="message_broker"):
        status = await bridge.run_script(FIXTURES / "syntax-error.ahk", "broken")
    assert status["running"] is False and status["state"] == "failed"
    assert status["last_exit"]["reason"] == "load_failure" and status["last_exit"]["exit_code"] == 2
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("script broken did not stay up" in m and "load_failure" in m for m in warned), warned
    assert not any("script broken running" in r.getMessage() for r in caplog.records)

    # One that prints its line and ends cleanly before the answer did its work: INFO.
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="message_broker"):
        status = await bridge.run_script(FIXTURES / "hello.ahk", "hello")
    assert status["running"] is False and status["last_exit"]["reason"] == "clean_exit"
    ended = [r for r in caplog.records if "script hello did not stay up" in r.getMessage()]
    assert [r.levelno for r in ended] == [logging.INFO], [r.getMessage() for r in ended]


async def test_commands_reach_the_script(client: BrokerClient, bridge: AHKBridge) -> None:
    events = await subscribe(client, "scripts.echo.#")
    await bridge.run_script(FIXTURES / "echo.ahk", "echo")

    reply = await client.request("scripts.echo.command.hello", {"x": 1}, timeout=5)
    assert reply == {"echo": {"x": 1}, "name": "hello"}
    assert await client.request("scripts.echo.command.add", {"a": 1, "b": 2}, timeout=5) == {"sum": 3}

    await client.publish("scripts.echo.command.note", {"n": 2})
    received = await events.wait(lambda m: m.topic == "scripts.echo.received" and m.payload.get("name") == "note")
    assert received.payload["payload"] == {"n": 2}
    assert received.payload["id"] is None

    with pytest.raises(BrokerError) as failed:
        await client.request("scripts.echo.command.fail", None, timeout=5)
    assert "something went wrong" in str(failed.value)


async def test_stop_script(client: BrokerClient, bridge: AHKBridge) -> None:
    events = await subscribe(client, "scripts.tick.#")
    status = await bridge.run_script(FIXTURES / "ticker.ahk", "tick")
    await events.wait_topic("scripts.tick.tick")
    pid = status["pid"]

    stopped_status = await bridge.stop_script("tick")
    assert stopped_status["running"] is False and stopped_status["state"] == "stopped"
    assert stopped_status["last_exit"]["reason"] == "stopped"
    stopped = await events.wait_topic("scripts.tick.stopped")
    assert stopped.payload["reason"] == "stopped"
    await wait_gone(pid)
    after = await bridge.script_status("tick")
    assert after["running"] is False and after["pid"] is None

    # Stopped, not forgotten: run_script of the same file starts it again.
    again = await bridge.run_script(FIXTURES / "ticker.ahk", "tick")
    assert again["running"] is True and again["pid"] != pid


async def test_restart_script(client: BrokerClient, bridge: AHKBridge) -> None:
    events = await subscribe(client, "scripts.echo.#")
    first = await bridge.run_script(FIXTURES / "echo.ahk", "echo")
    await events.wait_topic("scripts.echo.ready")

    second = await bridge.restart_script("echo")
    assert second["running"] is True and second["pid"] != first["pid"]
    stopped = await events.wait_topic("scripts.echo.stopped")
    assert stopped.payload["reason"] == "stopped"
    await events.wait(lambda m: m.topic == "scripts.echo.started" and m.payload["pid"] == second["pid"])
    await wait_gone(first["pid"])
    assert await client.request("scripts.echo.command.ping", "again", timeout=5) == {"echo": "again", "name": "ping"}


async def test_list_scripts(client: BrokerClient, bridge: AHKBridge) -> None:
    assert await bridge.list_scripts() == []
    await bridge.run_script(FIXTURES / "echo.ahk", "echo")
    await bridge.run_script(FIXTURES / "ticker.ahk", "tick")
    await bridge.stop_script("tick")
    scripts = {s["key"]: s for s in await bridge.list_scripts()}
    assert set(scripts) == {"echo", "tick"}
    assert scripts["echo"]["running"] is True and scripts["tick"]["running"] is False
    assert scripts["echo"]["script"] == str(FIXTURES / "echo.ahk")


async def test_unknown_key(bridge: AHKBridge) -> None:
    assert await bridge.script_status("nosuch") == {"script_id": "nosuch", "running": False, "known": False}
    for call in (bridge.stop_script, bridge.restart_script, bridge.start_script):
        with pytest.raises(BrokerError) as err:
            await call("nosuch")
        assert err.value.code == INVALID_PARAMS
        assert err.value.data["reason"] == "unknown_script"


async def test_run_script_refused(bridge: AHKBridge) -> None:
    # Outside script_folders, directly and by climbing out of a folder.
    for path in (ROOT / "scripts" / "cad_hotkeys.ahk", FIXTURES / ".." / ".." / "scripts" / "cad_hotkeys.ahk"):
        with pytest.raises(BrokerError) as err:
            await bridge.run_script(path, "cad")
        assert err.value.code == INVALID_PARAMS
        assert err.value.data["reason"] == "outside_script_folders"
    assert (await bridge.script_status("cad"))["known"] is False

    # A key that cannot be a topic level never reaches the broker.
    with pytest.raises(BrokerError) as bad_key:
        await bridge.run_script(FIXTURES / "echo.ahk", "bad.key")
    assert bad_key.value.code == INVALID_PARAMS

    # Another file under a key in use.
    await bridge.run_script(FIXTURES / "echo.ahk", "echo")
    with pytest.raises(BrokerError) as taken:
        await bridge.run_script(FIXTURES / "ticker.ahk", "echo")
    assert taken.value.code == INVALID_PARAMS


async def test_stop_leaves_no_process_behind(make_client: Any, make_bridge: Any) -> None:
    owner_client = await make_client("owner")
    events = await subscribe(owner_client, "scripts.#")
    owner = make_bridge(owner_client, script_folders=[FIXTURES])
    await owner.start()
    host = owner.host_pid
    assert host is not None
    tick = await owner.run_script(FIXTURES / "ticker.ahk", "tick")

    # A bridge that uses someone else's host stops only what it ran.
    guest = make_bridge(await make_client("guest"), script_folders=[FIXTURES])
    await guest.start()
    echo = await guest.run_script(FIXTURES / "echo.ahk", "echo")
    await guest.stop()
    assert (await events.wait_topic("scripts.echo.stopped")).payload["reason"] == "stopped"
    await wait_gone(echo["pid"])
    assert pid_alive(host)
    assert (await owner.script_status("tick"))["running"] is True

    await owner.stop()
    assert not owner.owns_host and not owner.is_started
    assert (await events.wait_topic("scripts.tick.stopped")).payload["reason"] == "stopped"
    await wait_gone(host)
    await wait_gone(tick["pid"])
    with pytest.raises(BrokerError) as gone:
        await owner_client.request("scripts.list", None, timeout=2)
    assert gone.value.code == NO_RESPONDERS
    await owner.stop()  # a second stop does nothing


async def test_stop_kills_a_host_that_does_not_stop_in_time(client: BrokerClient, make_bridge: Any) -> None:
    # hang.ahk ignores its stop line, so the host waits out the stop grace (3 s): longer
    # than this stop_timeout. The kill must take the script down with the host.
    bridge = make_bridge(client, script_folders=[FIXTURES], stop_timeout=0.5)
    await bridge.start()
    host = bridge.host_pid
    assert host is not None
    events = await subscribe(client, "scripts.hang.#")
    status = await bridge.run_script(FIXTURES / "hang.ahk", "hang")
    await events.wait_topic("scripts.hang.ready")

    await bridge.stop()
    await wait_gone(host, timeout=1)
    await wait_gone(status["pid"], timeout=5)


async def test_start_reports_a_host_that_fails(client: BrokerClient, make_bridge: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="message_broker")
    # No scripts and no folders: `bridge up` refuses to run, and says why.
    bridge = make_bridge(client, script_folders=[])
    with pytest.raises(AHKBridgeError, match="script_folders"):
        await bridge.start()
    assert not bridge.is_started and bridge.host_pid is None
    # Its output went to logging, under the package's logger.
    assert any(r.name == "message_broker.ahk_bridge.host" and "script_folders" in r.getMessage() for r in caplog.records)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
async def test_a_host_that_dies_is_reported_and_stop_still_works(
    client: BrokerClient, make_bridge: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="message_broker")
    bridge = make_bridge(client, script_folders=[FIXTURES])
    await bridge.start()
    host = bridge.host_pid
    assert host is not None
    os.kill(host, signal.SIGKILL)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT

    def reported() -> bool:
        return any(r.levelno == logging.ERROR and "exited unexpectedly" in r.getMessage() for r in caplog.records)

    while not reported():
        assert loop.time() < deadline, "the host's death was not logged"
        await asyncio.sleep(0.05)
    await bridge.stop()
    assert not bridge.owns_host and not bridge.is_started


async def test_start_needs_a_connected_client(own_broker: Any) -> None:
    client = BrokerClient("never_connected", host="127.0.0.1", port=own_broker.port)
    with pytest.raises(BrokerError):
        await AHKBridge(client, script_folders=[FIXTURES]).start()


def test_script_folders_must_be_a_list() -> None:
    with pytest.raises(TypeError):
        AHKBridge(object(), script_folders=str(FIXTURES))
    with pytest.raises(TypeError):
        AHKBridge(object(), script_folders=FIXTURES)


async def test_a_host_output_line_over_64_kib_is_logged_cut_and_the_next_ones_still_are(
    client: BrokerClient, make_bridge: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The host logs what a script prints; one line of 100 KB was over the 64 KiB that
    # StreamReader.readline() takes. The bridge now cuts its own log line (to 4 KiB, its
    # marker "[... N bytes left out]"), and the package reads a line of any length either
    # way (its own cut is tested with the broker's log in test_broker.py).
    caplog.set_level(logging.INFO, logger="message_broker")
    script = tmp_path / "long_line.ahk"
    script.write_text(";@fake print " + "L" * 100_000 + "\n;@fake print after-the-long-line\n;@fake persistent\n")
    bridge = make_bridge(client, script_folders=[tmp_path])
    await bridge.start()
    await bridge.run_script(script, "long")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT

    def host_lines() -> List[str]:
        return [r.getMessage() for r in caplog.records if r.name == "message_broker.ahk_bridge.host"]

    while not any("after-the-long-line" in line for line in host_lines()):
        assert loop.time() < deadline, "the line after the long one was not logged"
        await asyncio.sleep(0.05)
    long_lines = [line for line in host_lines() if "LLLL" in line]
    assert len(long_lines) == 1 and len(long_lines[0]) < 17_000
    assert long_lines[0].endswith("bytes left out]\"") or long_lines[0].endswith("more bytes of this line left out]")
    # The host still answers, and stops cleanly (not killed after stop_timeout).
    assert (await bridge.script_status("long"))["running"] is True
    started = loop.time()
    await asyncio.wait_for(bridge.stop(), WAIT)
    assert loop.time() - started < bridge.stop_timeout
    assert any(r.getMessage() == "bridge host stopped (exit code 0)" for r in caplog.records)
    assert not any("did not stop" in r.getMessage() for r in caplog.records)
