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
from support import is_listening, pid_alive, wait_until

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
    with pytest.raises(BridgeNotFoundError, match="npm install -g ahk-bridge"):
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
