"""MessageBroker: runs our broker as a child process, maps BrokerConfig onto it, and never
leaves it behind."""
from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import struct
import subprocess
import sys

import pytest

from conftest import free_port
from message_broker import BridgeNotFoundError, BrokerClient, BrokerConfig, BrokerError, MessageBroker
from message_broker.broker import BrokerStartError
from message_broker.errors import PUBLISH_ERROR
from support import is_listening, our_children, pid_alive, wait_until

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


async def test_start_on_port_0_reports_the_port_and_stop_closes_it():
    broker = MessageBroker(BrokerConfig(host="127.0.0.1", port=0))
    await broker.start()
    assert broker.is_running and broker._running
    assert broker.port > 0 and is_listening(broker.port)
    pid = broker.pid
    await broker.stop()
    assert not broker.is_running
    assert not is_listening(broker.port)
    assert pid is not None and not pid_alive(pid)


async def test_clients_see_a_clean_shutdown_when_stopped():
    async with MessageBroker(BrokerConfig(host="127.0.0.1", port=0)) as broker:
        client = BrokerClient("watcher", host="127.0.0.1", port=broker.port)
        await client.connect()
        got = asyncio.get_running_loop().create_future()
        await client.subscribe(["system.broker.shutdown"], lambda m: got.done() or got.set_result(m))
    msg = await asyncio.wait_for(got, 10)
    assert msg.payload == {"reason": "parent_exited"}
    await client.disconnect()


async def test_every_config_field_reaches_the_broker():
    config = BrokerConfig(host="127.0.0.1", port=0, max_message_size=4096, max_queue_size=7, heartbeat_interval=2.0, heartbeat_timeout=9.0)
    config.extra["session_expiry"] = 60
    async with MessageBroker(config) as broker:
        client = BrokerClient("limits", host="127.0.0.1", port=broker.port)
        await client.connect()
        info = await client.call("status")
        assert info["client_count"] == 1
        # The connect result carries the broker's limits: they are the config's.
        with pytest.raises((BrokerError, ValueError)):
            await client.publish("big.one", "x" * 8192)
        await client.disconnect()
        raw = socket.create_connection(("127.0.0.1", broker.port))
        try:
            body = json.dumps({"jsonrpc": "2.0", "method": "connect", "params": {"client_id": "raw"}, "id": 1}).encode()
            raw.sendall(struct.pack(">I", len(body)) + body)
            length = struct.unpack(">I", raw.recv(4))[0]
            data = b""
            while len(data) < length:
                data += raw.recv(length - len(data))
            result = json.loads(data)["result"]
        finally:
            raw.close()
    assert (result["max_message_size"], result["max_queue_size"], result["heartbeat_interval"], result["heartbeat_timeout"], result["session_expiry"]) == (4096, 7, 2, 9, 60)


async def test_reserved_topics_stay_reserved(broker_port):
    client = BrokerClient("reserved", host="127.0.0.1", port=broker_port)
    await client.connect()
    with pytest.raises(BrokerError) as err:
        await client.publish("system.fake", {})
    assert err.value.code == PUBLISH_ERROR
    await client.disconnect()


def test_broker_port_env_is_the_default_and_explicit_config_wins(monkeypatch):
    monkeypatch.setenv("BROKER_PORT", "16001")
    assert BrokerConfig().port == 16001
    assert BrokerConfig(port=16002).port == 16002
    monkeypatch.setenv("BROKER_PORT", "not-a-port")
    with pytest.raises(ValueError, match="BROKER_PORT"):
        BrokerConfig()


async def test_explicit_port_beats_broker_port_in_the_environment(monkeypatch):
    port = free_port()
    monkeypatch.setenv("BROKER_PORT", str(free_port()))
    async with MessageBroker(BrokerConfig(host="127.0.0.1", port=port)) as broker:
        assert broker.port == port and is_listening(port)


async def test_a_busy_port_is_a_clear_start_error(broker_port):
    broker = MessageBroker(BrokerConfig(host="127.0.0.1", port=broker_port))
    with pytest.raises(BrokerStartError, match="port %d is in use" % broker_port):
        await broker.start()
    assert not broker.is_running and broker.pid is None


async def test_a_bad_config_value_is_a_clear_start_error():
    broker = MessageBroker(BrokerConfig(host="127.0.0.1", port=0, heartbeat_interval=30, heartbeat_timeout=5))
    with pytest.raises(BrokerStartError, match="heartbeat_timeout"):
        await broker.start()


async def test_no_bridge_installed_says_how_to_install(monkeypatch):
    monkeypatch.setenv("BRIDGE_CMD", "/nonexistent/bridge")
    with pytest.raises(BridgeNotFoundError, match=r"pip install -e \./clients/python.*npm install -g \."):
        await MessageBroker(BrokerConfig(port=0)).start()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_the_broker_does_not_outlive_a_killed_python_process(tmp_path):
    port = free_port()
    code = (
        "import asyncio, os, signal, sys\n"
        "from message_broker import MessageBroker, BrokerConfig\n"
        "async def main():\n"
        "    b = MessageBroker(BrokerConfig(host='127.0.0.1', port=%d))\n"
        "    await b.start()\n"
        "    print(b.pid, flush=True)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "asyncio.run(main())\n" % port
    )
    # A killed process cannot remove its broker's config folder: it goes in pytest's tmp_path.
    env = dict(os.environ, PYTHONPATH=PACKAGE_DIR, TMPDIR=str(tmp_path))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert [p.name.startswith("message_broker-") for p in tmp_path.iterdir()] == [True]
    broker_pid = int(proc.stdout.strip())
    wait_until(lambda: not pid_alive(broker_pid), 15.0, "the orphaned broker exiting")
    assert not is_listening(port)


async def test_broker_logs_go_to_the_message_broker_logger(caplog):
    caplog.set_level(logging.DEBUG, logger="message_broker")
    async with MessageBroker(BrokerConfig(host="127.0.0.1", port=0)):
        pass
    names = {r.name for r in caplog.records}
    assert "message_broker.broker" in names
    assert any("broker listening" in r.getMessage() for r in caplog.records)
    assert any("broker stopped" in r.getMessage() for r in caplog.records)


async def wait_for_record(caplog: pytest.LogCaptureFixture, predicate, what: str, timeout: float = 10.0) -> logging.LogRecord:
    """The first captured log record that satisfies ``predicate``, waiting for it (polling:
    logging has no event to wait on)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        for record in caplog.records:
            if predicate(record):
                return record
        assert loop.time() < deadline, "no log record with %s within %ss" % (what, timeout)
        await asyncio.sleep(0.02)


async def test_a_log_line_over_64_kib_is_forwarded_cut_and_the_next_ones_still_are(caplog):
    # With log_messages the broker logs each payload: one line of ~100 KB here, over
    # StreamReader.readline()'s 64 KiB limit.
    caplog.set_level(logging.INFO, logger="message_broker")
    broker = MessageBroker(BrokerConfig(host="127.0.0.1", port=0, log_messages=True))
    await broker.start()
    try:
        client = BrokerClient("big_logger", host="127.0.0.1", port=broker.port)
        await client.connect()
        await client.publish("log.big", {"x": "a" * 100_000})
        await client.publish("log.after_big", {"x": "small"})
        after = await wait_for_record(caplog, lambda r: "log.after_big" in r.getMessage(), "the publish after the big one")
        assert after.name == "message_broker.broker"
        big = [r.getMessage() for r in caplog.records if "log.big" in r.getMessage()]
        assert len(big) == 1
        # Cut to the first 16 KiB, with how much was left out.
        assert big[0].startswith('{"time"') and len(big[0]) < 17_000
        left_out = int(big[0].rsplit("[", 1)[1].split()[0])
        assert 80_000 < left_out < 100_000
        assert big[0].endswith("[%d more bytes of this line left out]" % left_out)
        await client.disconnect()
    finally:
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.wait_for(broker.stop(), 15)
        stop_took = loop.time() - started
    # A clean stop, not the kill after STOP_TIMEOUT.
    assert stop_took < 5
    assert any(r.getMessage() == "broker stopped (exit code 0)" for r in caplog.records)
    assert not any("did not stop" in r.getMessage() for r in caplog.records)


class _FailOn(logging.Filter):
    """A user's logging filter that raises on the records holding ``text``."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def filter(self, record: logging.LogRecord) -> bool:
        if self.text in record.getMessage():
            raise RuntimeError("filter failed on purpose")
        return True


async def test_a_failure_forwarding_the_log_is_reported_and_stop_stays_clean(caplog):
    caplog.set_level(logging.INFO, logger="message_broker")
    broker_log = logging.getLogger("message_broker.broker")
    failing = _FailOn("log.fails_here")
    broker_log.addFilter(failing)
    broker = MessageBroker(BrokerConfig(host="127.0.0.1", port=0, log_messages=True))
    try:
        await broker.start()
        client = BrokerClient("failing_logger", host="127.0.0.1", port=broker.port)
        await client.connect()
        await client.publish("log.fails_here", {})
        error = await wait_for_record(caplog, lambda r: r.levelno == logging.ERROR, "the forwarding failure")
        assert "cannot forward the output of the broker (pid %s)" % broker.pid in error.getMessage()
        assert error.exc_info is not None and "filter failed on purpose" in str(error.exc_info[1])
        # The rest of the output is still read (and dropped): 2 MB of logged payloads
        # would fill the pipe and block the broker otherwise.
        for _ in range(40):
            await asyncio.wait_for(client.publish("log.more", {"x": "b" * 50_000}), 5)
        assert not any("log.more" in r.getMessage() for r in caplog.records)
        await client.disconnect()
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.wait_for(broker.stop(), 15)  # does not raise the filter's error
        assert loop.time() - started < 5
        assert any(r.getMessage() == "broker stopped (exit code 0)" for r in caplog.records)
    finally:
        broker_log.removeFilter(failing)
        await asyncio.wait_for(broker.stop(), 15)


def _our_broker_children() -> list:
    """Pids of the `bridge broker` processes this test process started (Linux: /proc)."""
    return our_children(b"broker", b"--stop-on-stdin-close")


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="lists processes with /proc")
async def test_concurrent_starts_share_one_broker():
    broker = MessageBroker(BrokerConfig(host="127.0.0.1", port=0))
    try:
        results = await asyncio.gather(broker.start(), broker.start(), broker.start(), return_exceptions=True)
        assert results == [None, None, None]
        assert broker.is_running and is_listening(broker.port)
        assert _our_broker_children() == [broker.pid]
        await broker.start()  # running: nothing new
        assert _our_broker_children() == [broker.pid]
    finally:
        await asyncio.wait_for(broker.stop(), 15)
    assert _our_broker_children() == []


async def test_concurrent_starts_that_fail_get_the_same_error():
    broker = MessageBroker(BrokerConfig(host="127.0.0.1", port=0, heartbeat_interval=30, heartbeat_timeout=5))
    results = await asyncio.gather(broker.start(), broker.start(), return_exceptions=True)
    assert isinstance(results[0], BrokerStartError) and "heartbeat_timeout" in str(results[0])
    assert results[1] is results[0]
    assert not broker.is_running and broker.pid is None
