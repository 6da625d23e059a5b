"""BrokerClient against the real broker: the session broker for most tests, a broker of the
test's own where the test stops or restarts it, and a TCP relay in front of a broker where
the test has to cut or silence one client's connection without touching the broker."""
from __future__ import annotations

import asyncio
import logging
import math
import os
import re
import subprocess
import sys
import textwrap
import threading
import uuid
from datetime import datetime
from typing import Any, Callable, Dict, List, Optional, Set

import pytest

from conftest import BrokerProcess, free_port
from message_broker import BrokerClient, BrokerError, BrokerNotConnectedError, BrokerTimeoutError, ClientConfig, Message
from message_broker.errors import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    NO_RESPONDERS,
    NOT_CONNECTED,
    PUBLISH_ERROR,
    SUBSCRIPTION_ERROR,
    TIMEOUT,
)
from support import Inbox

WAIT = 10.0  # generous upper bound for anything awaited; passing tests never take it


def uid() -> str:
    return uuid.uuid4().hex[:10]


def fast_config(**overrides: Any) -> ClientConfig:
    """Quick reconnects, so restart tests take well under a second once the broker is back."""
    settings: Dict[str, Any] = dict(reconnect_delay=0.05, max_reconnect_delay=0.2, connect_timeout=3.0)
    settings.update(overrides)
    return ClientConfig(**settings)


async def within(awaitable: Any, timeout: float = WAIT) -> Any:
    return await asyncio.wait_for(awaitable, timeout)


class Events:
    """Records a client's listener events; ``wait(name, n)`` waits for the n-th one."""

    def __init__(self, client: BrokerClient) -> None:
        self.log: List[tuple] = []
        self._changed = asyncio.Event()
        for name in ("connected", "disconnected", "error", "message"):
            client.add_listener(name, self._recorder(name))

    def _recorder(self, name: str) -> Callable[..., None]:
        def record(*args: Any) -> None:
            self.log.append((name,) + args)
            self._changed.set()

        return record

    def of(self, name: str) -> List[tuple]:
        return [e for e in self.log if e[0] == name]

    async def wait(self, name: str, count: int = 1, timeout: float = WAIT) -> tuple:
        async def scan() -> tuple:
            while len(self.of(name)) < count:
                self._changed.clear()
                await self._changed.wait()
            return self.of(name)[count - 1]

        return await within(scan(), timeout)


class Relay:
    """A TCP relay in front of a broker. ``cut()`` drops every relayed connection and stops
    listening (so reconnects are refused) until ``resume()``; ``silence()`` keeps current
    connections open but swallows everything the broker sends on them."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._server: Optional[asyncio.AbstractServer] = None
        self._writers: Set[asyncio.StreamWriter] = set()
        self._silenced: Set[asyncio.StreamWriter] = set()
        self.accepted = 0
        self.upstream_bytes = 0

    async def start(self) -> "Relay":
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            broker_r, broker_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_w.transport.abort()
            return
        self._writers.update((client_w, broker_w))

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, downstream: bool) -> None:
            try:
                while True:
                    data = await src.read(65536)
                    if not data:
                        break
                    if downstream and client_w in self._silenced:
                        continue
                    if not downstream:
                        self.upstream_bytes += len(data)
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                client_w.transport.abort()
                broker_w.transport.abort()
                self._writers.discard(client_w)
                self._writers.discard(broker_w)

        await asyncio.gather(pump(client_r, broker_w, False), pump(broker_r, client_w, True))

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
        self._server = None
        for writer in list(self._writers):
            writer.transport.abort()

    async def resume(self) -> None:
        await self.start()

    def silence(self) -> None:
        self._silenced.update(self._writers)

    async def close(self) -> None:
        if self._server is not None:
            await self.cut()


@pytest.fixture
async def make_client(broker_port: int):
    """``make_client(name, **config)``: a connected client of the session broker; all are
    disconnected after the test."""
    made: List[BrokerClient] = []

    async def make(name: str = "c", connect: bool = True, port: Optional[int] = None, **config: Any) -> BrokerClient:
        client = BrokerClient("%s-%s" % (name, uid()), host="127.0.0.1", port=port or broker_port, config=fast_config(**config))
        made.append(client)
        if connect:
            assert await client.connect() is True
        return client

    yield make
    for client in made:
        await client.disconnect()


async def wait_acked(observer: BrokerClient, message_id: str, client_id: str) -> Dict[str, Any]:
    """Ask the broker who acked ``message_id`` until ``client_id`` is among them.

    The ack travels on the subscriber's connection and the question on the observer's, so
    the broker may see the question first; re-asking is the only way to wait for it.
    """

    async def poll() -> Dict[str, Any]:
        while True:
            acks = await observer.request("_internal.message_acks", {"message_id": message_id})
            if client_id in acks["clients"]:
                return acks
            await asyncio.sleep(0.02)

    return await within(poll())


# --------------------------------------------------------------------------- pub/sub


async def test_publish_subscribe_round_trip_with_message_fields(make_client):
    sub = await make_client("sub")
    pub = await make_client("pub")
    inbox = Inbox()
    topic = "jobs.%s.activated" % uid()
    assert await sub.subscribe(["jobs.*.activated"], inbox.callback) == ["jobs.*.activated"]

    message_id = await pub.publish(topic, {"job_id": "12345", "n": [1, 2.5, None, True], "text": "ünïcødé ✓"})

    msg = await inbox.wait_topic(topic)
    assert isinstance(msg, Message)
    assert msg.payload == {"job_id": "12345", "n": [1, 2.5, None, True], "text": "ünïcødé ✓"}
    assert msg.sender == pub.client_id
    assert msg.message_id == message_id and message_id
    assert msg.qos == 0
    assert msg.reply_to is None and msg.retained is False and msg.redelivered is False
    stamp = datetime.fromisoformat(msg.timestamp)
    assert stamp.utcoffset() is not None and stamp.utcoffset().total_seconds() == 0
    assert sub.is_connected and sub.client_id.startswith("sub-")


async def test_sync_callback_and_message_event_before_it(make_client):
    sub = await make_client("sub")
    order: List[str] = []
    got = asyncio.get_running_loop().create_future()

    def on_message_event(msg: Message) -> None:
        order.append("event:" + msg.topic)

    def callback(msg: Message) -> None:  # a plain function, not a coroutine
        order.append("callback:" + msg.topic)
        got.set_result(msg)

    sub.add_listener("message", on_message_event)
    topic = "sync.%s" % uid()
    await sub.subscribe(topic, callback)
    await sub.publish(topic, "hello")

    msg = await within(got)
    assert msg.payload == "hello"
    assert order == ["event:" + topic, "callback:" + topic]


async def test_each_delivery_once_and_every_matching_callback_runs(make_client):
    sub = await make_client("sub")
    pub = await make_client("pub")
    base = "multi.%s" % uid()
    both, single = Inbox(), Inbox(sync=True)
    events = Events(sub)
    # `both` is on two patterns that both match, `single` on one of them.
    await sub.subscribe([base + ".*", base + ".#"], both.callback)
    await sub.subscribe(base + ".x", single.callback)

    await pub.publish(base + ".x", 1)
    await pub.publish(base + ".end", 2)  # same publisher, so it arrives after any duplicate
    await both.wait_topic(base + ".end")

    assert both.topics() == [base + ".x", base + ".end"]
    assert single.topics() == [base + ".x"]
    assert [e[1].topic for e in events.of("message")] == [base + ".x", base + ".end"]


async def test_unsubscribe_stops_deliveries_and_callbacks(make_client):
    sub = await make_client("sub")
    pub = await make_client("pub")
    base = "unsub.%s" % uid()
    dropped, kept = Inbox(), Inbox()
    await sub.subscribe(base + ".a.*", dropped.callback)
    await sub.subscribe(base + ".b.*", kept.callback)

    assert await sub.unsubscribe(base + ".a.*") == [base + ".a.*"]
    assert sub.patterns == [base + ".b.*"]
    await pub.publish(base + ".a.1", "gone")
    await pub.publish(base + ".b.1", "sentinel")
    await kept.wait_topic(base + ".b.1")

    assert dropped.messages == []
    held = await sub.call("subscriptions")
    assert held["patterns"] == [base + ".b.*"]


async def test_slow_async_callback_does_not_stop_reading_and_starts_keep_order(make_client):
    sub = await make_client("sub")
    pub = await make_client("pub")
    base = "slow.%s" % uid()
    release = asyncio.Event()
    started: List[Any] = []
    fast = Inbox()

    async def slow(msg: Message) -> None:
        started.append(msg.payload)
        await release.wait()

    await sub.subscribe(base + ".slow", slow)
    await sub.subscribe(base + ".fast", fast.callback)
    for n in range(5):
        await pub.publish(base + ".slow", n)
    await pub.publish(base + ".fast", "through")

    # Five callbacks are blocked, yet the later delivery is read and handled.
    await fast.wait_topic(base + ".fast")
    assert started == [0, 1, 2, 3, 4]
    release.set()


async def test_callbacks_start_in_delivery_order_sync_and_async_mixed(make_client):
    sub = await make_client("sub")
    pub = await make_client("pub")
    base = "order.%s" % uid()
    starts: List[str] = []
    last = asyncio.get_running_loop().create_future()

    async def async_cb(msg: Message) -> None:
        starts.append(msg.topic)

    def sync_cb(msg: Message) -> None:
        starts.append(msg.topic)
        if msg.payload == "last":
            last.set_result(None)

    await sub.subscribe(base + ".a", async_cb)
    await sub.subscribe(base + ".s", sync_cb)
    topics = [base + t for t in (".a", ".s", ".a", ".a", ".s", ".a", ".s")]
    # Sent together, so several deliveries tend to arrive in one read.
    await asyncio.gather(*(pub.publish(t, "last" if i == len(topics) - 1 else i) for i, t in enumerate(topics)))
    await within(last)
    assert starts == topics


async def test_retained_message_flag(make_client):
    pub = await make_client("pub")
    sub = await make_client("sub")
    topic = "retained.%s" % uid()
    await pub.publish(topic, {"state": "on"}, retain=True)
    inbox = Inbox()
    try:
        await sub.subscribe(topic, inbox.callback)
        msg = await inbox.wait_topic(topic)
        assert msg.retained is True and msg.payload == {"state": "on"}
    finally:
        await pub.publish(topic, None, retain=True)  # clears it


async def test_a_later_subscribe_gives_its_retained_messages_to_its_own_callback_only(make_client):
    pub = await make_client("pub")
    sub = await make_client("sub")
    base = "cfg%s" % uid()
    await pub.publish(base + ".theme", "dark", retain=True)
    await pub.publish(base + ".lang", "de", retain=True)
    first, second, third = Inbox(), Inbox(sync=True), Inbox()
    events: List[str] = []
    sub.add_listener("message", lambda m: events.append(m.topic))
    try:
        await sub.subscribe(base + ".*", first.callback)
        await first.wait(lambda m: len(first.messages) == 2)
        # A second window on the same pattern, a narrower pattern, and the pattern again
        # without a callback: the broker sends the retained messages each time.
        await sub.subscribe(base + ".*", second.callback)
        await sub.subscribe([base + ".theme", "other.#"], third.callback)
        await sub.subscribe(base + ".*")
        await pub.publish(base + ".theme", "light")
        for inbox in (first, second, third):
            await inbox.wait(lambda m: m.payload == "light")

        def seen(inbox: Inbox) -> List[str]:
            return sorted("%s=%s%s" % (m.topic[len(base):], m.payload, " (retained)" if m.retained else "") for m in inbox.messages)

        assert seen(first) == [".lang=de (retained)", ".theme=dark (retained)", ".theme=light"]
        assert seen(second) == [".lang=de (retained)", ".theme=dark (retained)", ".theme=light"]
        assert seen(third) == [".theme=dark (retained)", ".theme=light"]
        # The message event still sees every delivery, the replays included.
        assert len(events) == 2 + 2 + 1 + 2 + 1
    finally:
        await pub.publish(base + ".theme", None, retain=True)
        await pub.publish(base + ".lang", None, retain=True)


async def test_subscribing_a_bound_method_again_runs_it_with_that_subscribes_retained_messages(make_client):
    pub = await make_client("pub")
    sub = await make_client("sub")
    topic = "cfgm%s.theme" % uid()
    await pub.publish(topic, "dark", retain=True)

    class Window:
        def __init__(self) -> None:
            self.seen = Inbox(sync=True)

        def on_cfg(self, msg: Message) -> None:
            self.seen.callback(msg)

    window = Window()
    try:
        # Each `window.on_cfg` is a new bound-method object, equal to the one before.
        await sub.subscribe(topic, window.on_cfg)
        await window.seen.wait(lambda m: len(window.seen.messages) == 1)
        await sub.subscribe(topic, window.on_cfg)
        await window.seen.wait(lambda m: len(window.seen.messages) == 2)
        await pub.publish(topic, "light")
        await window.seen.wait(lambda m: m.payload == "light")
        assert [(m.payload, m.retained) for m in window.seen.messages] == [("dark", True), ("dark", True), ("light", False)]
    finally:
        await pub.publish(topic, None, retain=True)


# --------------------------------------------------------------------------- request/reply


async def test_request_reply_between_clients_async_and_sync_responders(make_client):
    responder = await make_client("svc")
    requester = await make_client("req")
    base = "svc.%s" % uid()

    async def status(msg: Message) -> Dict[str, Any]:
        assert msg.reply_to is not None and msg.is_request
        return {"running": msg.payload["script_id"] == "saw1", "from": msg.sender}

    def echo(msg: Message) -> Any:
        return [msg.payload, "echoed"]

    await responder.subscribe(base + ".status", status)
    await responder.subscribe(base + ".echo", echo)

    assert await requester.request(base + ".status", {"script_id": "saw1"}, timeout=5) == {
        "running": True,
        "from": requester.client_id,
    }
    assert await requester.request(base + ".echo", 7) == [7, "echoed"]


async def test_request_to_a_callback_that_raises_gets_internal_error(make_client, caplog):
    responder = await make_client("svc")
    requester = await make_client("req")
    topic = "svc.%s.fail" % uid()

    async def broken(msg: Message) -> Any:
        raise ValueError("script saw1 is not known")

    await responder.subscribe(topic, broken)
    with caplog.at_level(logging.ERROR, logger="message_broker"):
        with pytest.raises(BrokerError) as info:
            await requester.request(topic, {"script_id": "saw1"}, timeout=5)
    assert info.value.code == INTERNAL_ERROR
    assert "script saw1 is not known" in info.value.message
    assert any("script saw1 is not known" in r.getMessage() for r in caplog.records if r.name.startswith("message_broker"))


async def test_request_error_code_chosen_by_callback_and_unserialisable_reply(make_client):
    responder = await make_client("svc")
    requester = await make_client("req")
    base = "svc.%s" % uid()

    def picky(msg: Message) -> Any:
        raise BrokerError(INVALID_PARAMS, "script_id is required")

    def odd(msg: Message) -> Any:
        return {"when": datetime.now()}  # not JSON

    await responder.subscribe(base + ".picky", picky)
    await responder.subscribe(base + ".odd", odd)
    with pytest.raises(BrokerError) as info:
        await requester.request(base + ".picky", {}, timeout=5)
    assert info.value.code == INVALID_PARAMS and info.value.message == "script_id is required"
    with pytest.raises(BrokerError) as info:
        await requester.request(base + ".odd", {}, timeout=5)
    assert info.value.code == INTERNAL_ERROR and "JSON" in info.value.message


async def test_request_timeout_when_responder_returns_none(make_client):
    responder = await make_client("svc")
    requester = await make_client("req")
    topic = "svc.%s.quiet" % uid()
    asked = Inbox()

    async def declines(msg: Message) -> None:
        await asked.callback(msg)
        return None  # "not answering": the broker waits for another responder

    await responder.subscribe(topic, declines)
    loop = asyncio.get_running_loop()
    began = loop.time()
    with pytest.raises(BrokerTimeoutError) as info:
        await requester.request(topic, {}, timeout=0.5)
    assert info.value.code == TIMEOUT
    assert isinstance(info.value, TimeoutError)
    assert 0.4 <= loop.time() - began < 3
    assert len(asked.messages) == 1


async def test_none_from_one_responder_lets_another_answer(make_client):
    decliner = await make_client("svc-a")
    answerer = await make_client("svc-b")
    requester = await make_client("req")
    topic = "svc.%s.who" % uid()
    await decliner.subscribe(topic, lambda msg: None)

    async def late_answer(msg: Message) -> str:
        await asyncio.sleep(0.05)  # answer after the decliner's null
        return "b"

    await answerer.subscribe(topic, late_answer)
    assert await requester.request(topic, None, timeout=5) == "b"


async def test_request_without_responders(make_client):
    requester = await make_client("req")
    with pytest.raises(BrokerError) as info:
        await requester.request("nobody.%s.home" % uid(), {"x": 1}, timeout=5)
    assert info.value.code == NO_RESPONDERS


async def test_broker_answered_requests_and_raw_call(make_client):
    client = await make_client("c")
    status = await client.call("status")
    assert status["client_count"] >= 1 and "uptime" in status
    assert (await client.request("status", {}))["client_count"] >= 1
    subs = await client.request("subscriptions", {"client_id": client.client_id})
    assert subs["client_id"] == client.client_id and subs["patterns"] == []
    pong = await client.call("ping")
    assert pong["pong"] is True


async def test_debug_log_names_each_call_and_frame_without_long_payloads(make_client, caplog):
    # The seed's "print all broker activity": logging.getLogger("message_broker") at DEBUG.
    sub = await make_client("sub", token="s3cret-%s" % uid())
    pub = await make_client("pub")
    topic = "dbg.%s" % uid()
    inbox = Inbox()
    await sub.subscribe(topic, inbox.callback)
    with caplog.at_level(logging.DEBUG, logger="message_broker"):
        await sub.disconnect()
        await sub.connect()  # a handshake, with its token, while DEBUG is on
        message_id = await pub.publish(topic, {"blob": "x" * 5000}, qos=1)
        await inbox.wait_topic(topic)
        await wait_acked(pub, message_id, sub.client_id)
        await pub.request("status", {})
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("message_broker") and r.levelno == logging.DEBUG]

    def one(start: str, *parts: str) -> str:
        found = [line for line in lines if line.startswith(start) and all(p in line for p in parts)]
        assert len(found) == 1, "want one %r with %s in:\n%s" % (start, parts, "\n".join(lines))
        return found[0]

    # Each call sent names its method, id and topic; its answer comes back under that id.
    sent = one(pub.client_id + " -> publish id=", 'topic="%s"' % topic, "qos=1")
    req_id = re.search(r" id=(\d+) ", sent).group(1)
    one("%s <- result id=%s " % (pub.client_id, req_id), message_id)
    one(pub.client_id + " -> request id=", 'topic="status"')
    one(sub.client_id + " -> connect id=", 'client_id="%s"' % sub.client_id)
    one(sub.client_id + " -> subscribe id=", topic)  # subscribing again after the reconnect
    # Each delivery names its topic and message_id; the ack that follows it, the message_id.
    one(sub.client_id + " <- message ", 'topic="%s"' % topic, 'message_id="%s"' % message_id, 'sender="%s"' % pub.client_id)
    one(sub.client_id + " -> ack ", message_id)
    # Payloads are cut short, and the token never shows.
    assert '{"blob":"xxx' in sent and "...(5011 chars)" in sent and "x" * 201 not in sent
    assert all(len(line) < 500 for line in lines), max(lines, key=len)
    assert not any("s3cret" in line for line in lines)


# --------------------------------------------------------------------------- QoS 1 and failing callbacks


async def test_qos1_acked_only_after_the_callback_ran(make_client):
    sub = await make_client("sub")
    pub = await make_client("pub")
    topic = "qos.%s" % uid()
    seen_during: List[Dict[str, Any]] = []
    done = asyncio.Event()

    async def callback(msg: Message) -> None:
        await asyncio.sleep(0.01)  # the callback's "work"; an early ack would be written by now
        # Frames of one connection are handled in order: once this ping is answered, an
        # ack written before it has been counted.
        await sub.call("ping")
        # While the callback runs, the broker must still count the message as unacked.
        seen_during.append(await pub.request("_internal.message_acks", {"message_id": msg.message_id}))
        done.set()

    await sub.subscribe(topic, callback)
    message_id = await pub.publish(topic, {"job": 1}, qos=1)
    await within(done.wait())

    assert seen_during[0]["clients"] == [] and seen_during[0]["pending"] == [sub.client_id]
    acks = await wait_acked(pub, message_id, sub.client_id)
    assert acks["pending"] == []


async def test_raising_callback_is_logged_others_run_and_qos1_still_acked(make_client, caplog):
    sub = await make_client("sub")
    pub = await make_client("pub")
    events = Events(sub)
    topic = "boom.%s" % uid()
    healthy_async, healthy_sync = Inbox(), Inbox(sync=True)

    async def explodes(msg: Message) -> None:
        raise RuntimeError("kaboom in callback")

    def explodes_sync(msg: Message) -> None:
        raise KeyError("sync kaboom")

    await sub.subscribe(topic, explodes)
    await sub.subscribe(topic, healthy_async.callback)
    await sub.subscribe(topic, explodes_sync)
    await sub.subscribe(topic, healthy_sync.callback)

    with caplog.at_level(logging.ERROR, logger="message_broker"):
        message_id = await pub.publish(topic, "x", qos=1)
        await healthy_async.wait_topic(topic)
        await healthy_sync.wait_topic(topic)
        await wait_acked(pub, message_id, sub.client_id)
        await events.wait("error", 2)

    logged = [r for r in caplog.records if r.name.startswith("message_broker") and r.levelno >= logging.ERROR]
    assert any("kaboom in callback" in r.getMessage() and r.exc_info for r in logged)
    assert any("sync kaboom" in r.getMessage() for r in logged)
    errors = [e[1] for e in events.of("error")]
    assert {type(e.__cause__) for e in errors} == {RuntimeError, KeyError}
    assert sub.is_connected


async def test_listener_that_raises_is_logged_and_harmless(make_client, caplog):
    client = await make_client("c", connect=False)

    def bad_listener() -> None:
        raise ZeroDivisionError("listener bug")

    client.add_listener("connected", bad_listener)
    with caplog.at_level(logging.ERROR, logger="message_broker"):
        assert await client.connect() is True
    assert client.is_connected
    assert any("listener" in r.getMessage() and r.exc_info for r in caplog.records if r.name.startswith("message_broker"))
    client.remove_listener("connected", bad_listener)
    with pytest.raises(ValueError):
        client.add_listener("conected", bad_listener)


# --------------------------------------------------------------------------- errors and validation


async def test_defaults_come_from_the_environment_and_overrides_do_not_touch_the_config(broker_port):
    # BROKER_PORT is the session broker's port (conftest), as an app would set it.
    client = BrokerClient("env-%s" % uid())
    assert client.config.port == broker_port
    try:
        assert await client.connect() is True
    finally:
        await client.disconnect()
    shared = ClientConfig(host="localhost", port=1)
    other = BrokerClient("x", host="127.0.0.1", port=broker_port, config=shared)
    assert (other.config.host, other.config.port) == ("127.0.0.1", broker_port)
    assert (shared.host, shared.port) == ("localhost", 1)


async def test_an_explicit_port_or_host_wins_without_reading_an_invalid_environment(broker_port, monkeypatch):
    monkeypatch.setenv("BROKER_PORT", "%dx" % broker_port)
    monkeypatch.setenv("BROKER_HOST", "no-such-host.invalid")
    # Both given: neither variable is used, and the bad BROKER_PORT is no error.
    client = BrokerClient("explicit-%s" % uid(), host="127.0.0.1", port=broker_port)
    assert (client.config.host, client.config.port) == ("127.0.0.1", broker_port)
    try:
        assert await within(client.connect()) is True
    finally:
        await client.disconnect()
    # The port given in a config of one's own wins the same way.
    assert BrokerClient("x", host="127.0.0.1", config=ClientConfig(host="h", port=broker_port)).config.port == broker_port
    # Left to the environment, the invalid variable is still an error that names it.
    with pytest.raises(ValueError, match="BROKER_PORT='%dx' is not a port number" % broker_port):
        BrokerClient("x", host="127.0.0.1")


async def test_broker_down_connect_raises_connection_refused():
    port = free_port()
    for host in ("127.0.0.1", "localhost"):
        client = BrokerClient("nobody-%s" % uid(), host=host, port=port)
        events = Events(client)
        with pytest.raises(ConnectionRefusedError) as info:
            await client.connect()
        assert str(port) in str(info.value)
        assert not client.is_connected
        assert events.log == []
        with pytest.raises(BrokerNotConnectedError):
            await client.publish("a.b", 1)
        await client.disconnect()


async def test_peer_that_accepts_but_never_answers_times_out_on_connect():
    accepted = asyncio.Event()

    async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.set()
        await reader.read()  # until the client gives up and closes
        writer.close()

    server = await asyncio.start_server(mute, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = BrokerClient("mute-%s" % uid(), host="127.0.0.1", port=port, config=fast_config(connect_timeout=0.3))
    try:
        with pytest.raises(BrokerTimeoutError) as info:
            await within(client.connect())
        assert accepted.is_set()
        assert "did not answer" in info.value.message and str(port) in info.value.message
        assert not client.is_connected
    finally:
        server.close()
        await server.wait_closed()


async def test_concurrent_connects_share_one_handshake(make_client):
    client = await make_client("c", connect=False)
    events = Events(client)
    assert await asyncio.gather(client.connect(), client.connect(), client.connect()) == [True, True, True]
    assert client.is_connected
    assert len(events.of("connected")) == 1
    assert await client.connect() is True  # already connected: no new handshake
    assert len(events.of("connected")) == 1


@pytest.mark.parametrize("connected_before", [False, True], ids=["never connected", "connected and disconnected before"])
@pytest.mark.parametrize("steps", [0, 1, 2, 3], ids=lambda n: "connect ran %d loop steps" % n)
async def test_disconnect_after_a_scheduled_connect_keeps_the_client_closed(make_client, connected_before, steps):
    # An app shut down during its start-up: connect() scheduled, disconnect() awaited
    # before the connect has started (0 steps) or while it starts. The later call wins.
    watcher = await make_client("watch")
    connected = Inbox()
    await watcher.subscribe("system.client.connected", connected.callback)
    client = await make_client("raced", connect=False)
    if connected_before:
        await client.connect()
        await client.disconnect()
    connected.messages.clear()

    task = asyncio.ensure_future(client.connect())
    for _ in range(steps):
        await asyncio.sleep(0)
    # Awaited directly: wait_for() would make it a task, which runs after the connect's.
    await client.disconnect()
    with pytest.raises(BrokerNotConnectedError, match="cancelled by disconnect"):
        await within(task)
    assert not client.is_connected

    # The broker never saw it connect: its connected notes come in order, and the
    # marker's is the first one after the race.
    marker = await make_client("marker")
    await connected.wait(lambda m: m.payload["client_id"] == marker.client_id)
    assert [m.payload["client_id"] for m in connected.messages] == [marker.client_id]
    assert not client.is_connected and repr(client).endswith((" idle>", " closed>"))

    # A connect() called after the disconnect() connects.
    assert await within(client.connect()) is True
    assert client.is_connected


async def test_calls_when_not_connected_raise_not_connected(make_client):
    client = await make_client("c", connect=False)
    for attempt in (
        client.publish("a.b", 1),
        client.subscribe("a.*"),
        client.request("a.b", {}),
        client.call("status"),
        client.unsubscribe("a.*"),
    ):
        with pytest.raises(BrokerNotConnectedError) as info:
            await attempt
        assert info.value.code == NOT_CONNECTED
    await client.connect()
    await client.disconnect()
    await client.disconnect()  # idempotent
    with pytest.raises(BrokerNotConnectedError):
        await client.publish("a.b", 1)
    assert not client.is_connected


async def test_disconnect_is_clean_and_fires_event(make_client):
    client = await make_client("c")
    watcher = await make_client("w")
    gone = Inbox()
    await watcher.subscribe("system.client.disconnected", gone.callback)
    events = Events(client)

    await client.disconnect()

    assert (await events.wait("disconnected"))[1] == "client_disconnect"
    note = await gone.wait(lambda m: m.payload["client_id"] == client.client_id)
    assert note.payload["reason"] == "client_disconnect"
    assert not client.is_connected


async def test_unserialisable_payload_raises_type_error_and_sends_nothing(make_client):
    sub = await make_client("sub")
    pub = await make_client("pub")
    base = "bad.%s" % uid()
    inbox = Inbox()
    await sub.subscribe(base + ".*", inbox.callback)

    for payload in ({"at": datetime.now()}, {1, 2}, {"x": math.nan}, {("tuple", "key"): 1}, object()):
        with pytest.raises(TypeError) as info:
            await pub.publish(base + ".bad", payload)
        assert "payload" in str(info.value) and "JSON" in str(info.value)
        with pytest.raises(TypeError):
            await pub.request(base + ".bad", payload)
    await pub.publish(base + ".good", "sentinel")
    await inbox.wait_topic(base + ".good")
    assert inbox.topics() == [base + ".good"]
    assert pub.is_connected


async def test_wrong_argument_types_raise_clear_errors(make_client):
    client = await make_client("c")
    with pytest.raises(TypeError, match="topic must be a string"):
        await client.publish(123, "x")
    with pytest.raises(ValueError, match="qos must be 0 or 1"):
        await client.publish("a.b", "x", qos=2)
    with pytest.raises(TypeError, match="qos"):
        await client.publish("a.b", "x", qos="1")
    with pytest.raises(TypeError, match="ttl"):
        await client.publish("a.b", "x", ttl="60")
    with pytest.raises(ValueError, match="ttl"):
        await client.publish("a.b", "x", ttl=-1)
    with pytest.raises(TypeError, match="retain"):
        await client.publish("a.b", "x", retain="yes")
    with pytest.raises(TypeError, match="pattern"):
        await client.subscribe(123)
    with pytest.raises(TypeError, match="pattern"):
        await client.subscribe(["ok.*", 5])
    with pytest.raises(TypeError, match="callback must be callable"):
        await client.subscribe("ok.*", "not a function")
    with pytest.raises(TypeError, match="timeout"):
        await client.request("a.b", {}, timeout="5")
    with pytest.raises(ValueError, match="timeout"):
        await client.request("a.b", {}, timeout=0)
    with pytest.raises(TypeError, match="method"):
        await client.call(None)
    with pytest.raises(TypeError):
        BrokerClient(123)
    with pytest.raises(ValueError):
        BrokerClient("")
    with pytest.raises(ValueError, match="port"):
        BrokerClient("x", port=70000)
    assert client.patterns == []  # nothing half-registered
    assert client.is_connected


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
async def test_non_finite_ttl_and_timeout_are_value_errors_naming_them(make_client, value):
    # JSON has no nan or inf: they used to fail encoding, blamed on the payload.
    client = await make_client("c")
    receiver = await make_client("r")
    inbox = Inbox(sync=True)
    topic = "finite.%s" % uid()
    await receiver.subscribe(topic, inbox.callback)
    with pytest.raises(ValueError, match=r"^publish: ttl must be 0 \(no expiry\) or a positive, finite number of seconds, got -?(nan|inf)$"):
        await client.publish(topic, {"n": 1}, ttl=value)
    with pytest.raises(ValueError, match=r"^request: timeout must be a positive, finite number of seconds, got -?(nan|inf)$"):
        await client.request(topic, {"n": 2}, timeout=value)
    with pytest.raises(ValueError, match=r"^call: timeout must be a positive, finite number"):
        await client.call("status", timeout=value)
    # Nothing went out: the first message the subscriber gets is the next one.
    await client.publish(topic, {"n": 3})
    await inbox.wait_topic(topic)
    assert [m.payload for m in inbox.messages] == [{"n": 3}]
    assert client.is_connected


async def test_broker_errors_carry_their_codes(make_client):
    client = await make_client("c")
    with pytest.raises(BrokerError) as info:
        await client.subscribe(["fine.*", "bad.#.pattern"], lambda m: None)
    assert info.value.code == SUBSCRIPTION_ERROR and info.value.data["invalid"] == ["bad.#.pattern"]
    assert client.patterns == []  # a refused subscribe leaves nothing behind
    with pytest.raises(BrokerError) as info:
        await client.publish("system.fake", {})
    assert info.value.code == PUBLISH_ERROR
    with pytest.raises(BrokerError) as info:
        await client.call("no_such_method")
    assert info.value.code == METHOD_NOT_FOUND
    with pytest.raises(BrokerError) as info:
        await client.request("_internal.message_acks", {"message_id": "never-sent"})
    assert info.value.code == INVALID_PARAMS


async def test_oversize_and_too_deep_frames_refused_locally(make_client):
    client = await make_client("c")
    limit = client.server_info["max_message_size"]
    with pytest.raises(BrokerError) as info:
        await client.publish("big.%s" % uid(), "x" * limit)
    assert info.value.code == INVALID_REQUEST and info.value.data["max_message_size"] == limit
    deep: Any = "bottom"
    for _ in range(70):
        deep = [deep]
    with pytest.raises(BrokerError) as info:
        await client.publish("deep.%s" % uid(), deep)
    assert info.value.code == INVALID_REQUEST and info.value.data["max_depth"] == 64
    # Refused here, so the broker did not close the connection over it.
    assert client.is_connected
    assert (await client.call("ping"))["pong"] is True


# --------------------------------------------------------------------------- frames as large as the broker allows

#: max_message_size of the brokers the size tests start.
SMALL_MAX = 4096


@pytest.fixture
def small_broker():
    """A broker of this test's own with ``max_message_size`` ``SMALL_MAX``."""
    broker = BrokerProcess(extra={"max_message_size": SMALL_MAX})
    yield broker
    broker.stop()


@pytest.fixture
def floor_at_small_max(monkeypatch):
    """The client's incoming floor (64 MiB) lowered to ``SMALL_MAX``: a 4 KiB broker then
    stands for one whose max_message_size is at or past the floor (64 MiB and more),
    without moving 64 MiB per test."""
    from message_broker import _framing

    monkeypatch.setattr(_framing, "MAX_INCOMING_FRAME", SMALL_MAX)


async def raw_publish_of_size(port: int, topic: str, size: int, qos: int = 0, pad: bytes = b"x") -> Dict[str, Any]:
    """Publish from a raw socket in a frame whose body is exactly ``size`` bytes; returns
    the broker's answer (result or error). The payload is a string of ``pad`` bytes filling
    the frame (b"\\x80" makes the frame cp1252, the broker's default legacy_encoding)."""
    import json
    import struct

    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    async def call(body: bytes) -> Dict[str, Any]:
        writer.write(struct.pack(">I", len(body)) + body)
        (length,) = struct.unpack(">I", await within(reader.readexactly(4)))
        return json.loads(await within(reader.readexactly(length)))

    try:
        connected = await call(json.dumps({"jsonrpc": "2.0", "method": "connect", "params": {"client_id": "raw-%s" % uid()}, "id": 1}).encode())
        assert "result" in connected, connected
        head = b'{"jsonrpc":"2.0","method":"publish","params":{"topic":%s,"qos":%d,"payload":"' % (json.dumps(topic).encode(), qos)
        tail = b'"},"id":2}'
        body = head + pad * (size - len(head) - len(tail)) + tail
        assert len(body) == size
        return await call(body)
    finally:
        writer.transport.abort()


async def test_a_delivery_of_a_publish_frame_of_max_message_size_is_received(small_broker, floor_at_small_max):
    sub = BrokerClient("big-sub-%s" % uid(), host="127.0.0.1", port=small_broker.port, config=fast_config())
    events = Events(sub)
    inbox = Inbox()
    topic = "big.%s" % uid()
    try:
        await sub.connect()
        assert sub.server_info["max_message_size"] == SMALL_MAX
        await sub.subscribe(topic, inbox.callback)
        # One byte more is what the broker refuses: SMALL_MAX is the largest frame it takes.
        refused = await raw_publish_of_size(small_broker.port, topic, SMALL_MAX + 1)
        assert refused["error"]["code"] == INVALID_REQUEST
        answer = await raw_publish_of_size(small_broker.port, topic, SMALL_MAX)
        assert answer["result"]["delivered"] == 1
        msg = await inbox.wait_topic(topic)
        # Its delivery frame is larger than SMALL_MAX (envelope: timestamp, sender, id, ...).
        assert msg.message_id == answer["result"]["message_id"] and set(msg.payload) == {"x"}
        assert sub.is_connected and events.of("disconnected") == [] and events.of("error") == []
    finally:
        await sub.disconnect()


def test_the_incoming_limit_follows_only_a_numeric_max_message_size():
    from message_broker import _framing

    floor = _framing.MAX_INCOMING_FRAME
    for unknown in (None, True, "83886080", [83886080], 0, -5, float("nan")):
        assert _framing.incoming_frame_limit(unknown) == floor, unknown
    big = 80 * 1024 * 1024
    assert _framing.incoming_frame_limit(big) == 3 * big + _framing.ENVELOPE_ALLOWANCE
    assert _framing.incoming_frame_limit(float(big)) == 3 * big + _framing.ENVELOPE_ALLOWANCE
    assert _framing.incoming_frame_limit(2 ** 32) == 2 ** 32 - 1


async def test_a_max_size_cp1252_publish_is_received_transcoded_to_three_times_its_size(small_broker, floor_at_small_max, monkeypatch):
    # A script's cp1252 frame is delivered as UTF-8: each 0x80 byte becomes "€", 3 bytes.
    from message_broker import _framing

    monkeypatch.setattr(_framing, "ENVELOPE_ALLOWANCE", 1024)  # so the 64 KiB spare cannot hide the growth
    sub = BrokerClient("cp-sub-%s" % uid(), host="127.0.0.1", port=small_broker.port, config=fast_config())
    events = Events(sub)
    inbox = Inbox()
    topic = "big.cp.%s" % uid()
    try:
        await sub.connect()
        await sub.subscribe(topic, inbox.callback)
        answer = await raw_publish_of_size(small_broker.port, topic, SMALL_MAX, pad=b"\x80")
        assert answer["result"]["delivered"] == 1
        msg = await inbox.wait_topic(topic)
        assert set(msg.payload) == {"\u20ac"} and len(msg.payload.encode("utf-8")) > 2 * SMALL_MAX
        assert sub.is_connected and events.of("disconnected") == [] and events.of("error") == []
    finally:
        await sub.disconnect()


async def test_a_max_size_qos1_message_queued_while_away_arrives_right_after_connect(small_broker, floor_at_small_max):
    # Queued messages follow the connect answer at once, in the same read as often as not:
    # the broker's max_message_size must be known before the frame after the answer is read.
    client_id = "big-away-%s" % uid()
    topic = "big.away.%s" % uid()
    inbox = Inbox()
    sub = BrokerClient(client_id, host="127.0.0.1", port=small_broker.port, config=fast_config())
    try:
        await sub.connect()
        await sub.subscribe(topic, inbox.callback)
        await sub.disconnect()  # the session, with its subscription, stays on the broker
        answers = [await raw_publish_of_size(small_broker.port, topic, SMALL_MAX, qos=1) for _ in range(3)]
        assert [a["result"]["delivered"] for a in answers] == [1, 1, 1]
        events = Events(sub)
        await sub.connect()
        assert sub.server_info["session_present"] is True
        for answer in answers:
            await inbox.wait(lambda m, wanted=answer["result"]["message_id"]: m.message_id == wanted)
        assert sub.is_connected and events.of("disconnected") == [] and events.of("error") == []
    finally:
        await sub.disconnect()


async def test_a_length_header_far_past_the_broker_limits_is_still_refused():
    """Not a broker: an HTTP server answers the connect frame with "HTTP/1.1 ...", whose
    first four bytes read as a 1.2 GB length; after a handshake, a header past what the
    advertised max_message_size allows is refused just the same."""
    import json
    import struct

    async def http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)
        writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        await reader.read()
        writer.close()

    async def oversize_after_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        (length,) = struct.unpack(">I", await reader.readexactly(4))
        request = json.loads(await reader.readexactly(length))
        result = {"client_id": request["params"]["client_id"], "server_version": "0", "max_message_size": SMALL_MAX}
        body = json.dumps({"jsonrpc": "2.0", "result": result, "id": request["id"]}).encode()
        # The answer, then a header 64 MiB + 1 long: past max(64 MiB, what SMALL_MAX needs).
        writer.write(struct.pack(">I", len(body)) + body + struct.pack(">I", 64 * 1024 * 1024 + 1))
        await reader.read()
        writer.close()

    for handler in (http, oversize_after_connect):
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = BrokerClient("garbage-%s" % uid(), host="127.0.0.1", port=port, config=fast_config(auto_reconnect=False))
        errors: List[BaseException] = []
        client.add_listener("error", errors.append)
        try:
            try:
                await within(client.connect())
            except (BrokerError, ConnectionError):
                pass
            deadline = asyncio.get_running_loop().time() + WAIT
            while not errors and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.01)
            assert any("announced a" in str(e) and "not a broker" in str(e) for e in errors), errors
            assert not client.is_connected
        finally:
            await client.disconnect()
            server.close()
            await server.wait_closed()


# --------------------------------------------------------------------------- connection loss and recovery


async def test_broker_restart_reconnects_and_resubscribes(own_broker):
    port = own_broker.port
    client = BrokerClient("restart-%s" % uid(), host="127.0.0.1", port=port, config=fast_config())
    events = Events(client)
    inbox = Inbox()
    replacement: Optional[BrokerProcess] = None
    publisher = BrokerClient("pub-%s" % uid(), host="127.0.0.1", port=port, config=fast_config(auto_reconnect=False))
    try:
        await client.connect()
        await client.subscribe(["restart.*"], inbox.callback)

        own_broker.kill()
        assert (await events.wait("disconnected"))[1] == "connection_lost"
        assert not client.is_connected
        with pytest.raises(BrokerNotConnectedError):
            await client.publish("restart.x", 1)

        loop = asyncio.get_running_loop()
        replacement = await loop.run_in_executor(None, BrokerProcess, port)
        await events.wait("connected", 2)
        assert client.is_connected
        # The new broker knows nothing of the old session: the client subscribed again.
        assert client.server_info["session_present"] is False
        assert (await client.call("subscriptions"))["patterns"] == ["restart.*"]

        await publisher.connect()
        await publisher.publish("restart.after", {"n": 1})
        msg = await inbox.wait_topic("restart.after")
        assert msg.payload == {"n": 1}
    finally:
        await publisher.disconnect()
        await client.disconnect()
        if replacement is not None:
            replacement.stop()


async def test_qos1_published_while_away_arrives_after_reconnect(make_client, broker_port):
    relay = await Relay(broker_port).start()
    try:
        # clean_session on the first connect (the default) must not be repeated on reconnect.
        sub = await make_client("away", port=relay.port, clean_session=True)
        pub = await make_client("pub")
        events = Events(sub)
        inbox = Inbox()
        left = Inbox()
        topic = "away.%s" % uid()
        await sub.subscribe(topic, inbox.callback)
        await pub.subscribe("system.client.disconnected", left.callback)

        await relay.cut()
        await events.wait("disconnected")
        await left.wait(lambda m: m.payload["client_id"] == sub.client_id)

        queued = await pub.call("publish", {"topic": topic, "payload": {"while": "away"}, "qos": 1})
        assert queued["delivered"] == 1  # the offline session queued it
        lost = await pub.publish(topic, {"qos0": "not queued"})
        assert lost

        await relay.resume()
        await events.wait("connected", 1)
        msg = await inbox.wait_topic(topic)
        assert msg.payload == {"while": "away"} and msg.qos == 1
        assert msg.message_id == queued["message_id"]
        assert sub.server_info["session_present"] is True
        await wait_acked(pub, queued["message_id"], sub.client_id)
        assert all(m.payload != {"qos0": "not queued"} for m in inbox.messages)
    finally:
        await relay.close()


async def test_pending_calls_fail_with_not_connected_when_connection_drops(make_client, broker_port):
    relay = await Relay(broker_port).start()
    try:
        requester = await make_client("req", port=relay.port)
        responder = await make_client("svc")
        topic = "hang.%s" % uid()
        asked = asyncio.Event()
        never = asyncio.Event()

        async def stall(msg: Message) -> str:
            asked.set()
            await never.wait()
            return "too late"

        await responder.subscribe(topic, stall)
        call = asyncio.ensure_future(requester.request(topic, {}, timeout=30))
        await within(asked.wait())
        await relay.cut()
        with pytest.raises(BrokerNotConnectedError) as info:
            await within(call)
        assert info.value.code == NOT_CONNECTED and "closed" in info.value.message
        never.set()
    finally:
        await relay.close()


async def test_silent_broker_is_detected_by_heartbeat_and_client_reconnects():
    # heartbeat_timeout 1s: the client gives up on a silent connection after 1s.
    broker = BrokerProcess(extra={"heartbeat_interval": 0.5, "heartbeat_timeout": 1})
    relay = await Relay(broker.port).start()
    client = BrokerClient("hb-%s" % uid(), host="127.0.0.1", port=relay.port, config=fast_config(heartbeat_interval=0.2))
    events = Events(client)
    inbox = Inbox()
    try:
        await client.connect()
        await client.subscribe("hb.*", inbox.callback)
        relay.silence()  # the socket stays open; only the pongs stop coming

        assert (await events.wait("disconnected"))[1] == "heartbeat_timeout"
        await events.wait("connected", 2)
        assert relay.accepted == 2
        await client.publish("hb.back", "ok")
        assert (await inbox.wait_topic("hb.back")).payload == "ok"
    finally:
        await client.disconnect()
        await relay.close()
        broker.stop()


async def test_heartbeat_pings_keep_a_quiet_connection_alive():
    # With heartbeat_timeout 1s on both sides (the broker drops a client that pinged and
    # then went quiet; the client drops a broker that sent nothing), an idle connection
    # only lives through 2s if the client keeps pinging and the broker keeps answering.
    broker = BrokerProcess(extra={"heartbeat_interval": 0.3, "heartbeat_timeout": 1})
    relay = await Relay(broker.port).start()
    client = BrokerClient("ping-%s" % uid(), host="127.0.0.1", port=relay.port, config=fast_config(heartbeat_interval=0.25))
    events = Events(client)
    try:
        await client.connect()
        before = relay.upstream_bytes
        with pytest.raises(asyncio.TimeoutError):
            await events.wait("disconnected", timeout=2.0)
        assert client.is_connected and len(events.of("connected")) == 1
        # About eight pings of ~40 bytes each went out while the application said nothing.
        assert relay.upstream_bytes - before >= 5 * 40
    finally:
        await client.disconnect()
        await relay.close()
        broker.stop()


async def test_gives_up_after_max_reconnect_attempts(own_broker):
    client = BrokerClient(
        "giveup-%s" % uid(), host="127.0.0.1", port=own_broker.port, config=fast_config(max_reconnect_attempts=2, reconnect_delay=0.01)
    )
    events = Events(client)
    await client.connect()
    own_broker.kill()
    await events.wait("disconnected")
    error = (await events.wait("error"))[1]
    assert isinstance(error, ConnectionError) and "2 attempt" in str(error)
    assert isinstance(error.__cause__, ConnectionRefusedError)
    assert not client.is_connected
    with pytest.raises(ConnectionRefusedError):
        await client.connect()  # still down: a fresh connect reports it directly
    await client.disconnect()


_RECONNECT_DELAY = re.compile(r"reconnecting to the broker at \S+ in ([0-9.]+)s")


def logged_delays(caplog: Any) -> List[float]:
    """The reconnect delays the clients logged, in order."""
    found = (_RECONNECT_DELAY.search(r.getMessage()) for r in caplog.records)
    return [float(m.group(1)) for m in found if m]


async def test_two_programs_with_one_client_id_back_off_instead_of_taking_turns(broker_port, caplog):
    # Each connect closes the other's connection (reason "replaced"); a connection lost that
    # soon must not start the backoff over, or the two take turns forever, every 10-20 ms here.
    name = "twin-%s" % uid()
    config = fast_config(reconnect_delay=0.02, max_reconnect_delay=1.0)
    first = BrokerClient(name, host="127.0.0.1", port=broker_port, config=config)
    second = BrokerClient(name, host="127.0.0.1", port=broker_port, config=config)
    first_events = Events(first)
    with caplog.at_level(logging.INFO, logger="message_broker"):
        try:
            await first.connect()
            await second.connect()
            # Losses alternate: first, second, first, ...; the sixth of the first needs the
            # second's fifth delay to have been logged.
            await first_events.wait("disconnected", 6)
        finally:
            await first.disconnect()
            await second.disconnect()
    delays = logged_delays(caplog)
    assert len(delays) >= 10, delays
    # Each client's first reconnect waits 10-20 ms, its fifth 160-320 ms (0.02 * 2**4, halved by jitter at most).
    assert max(delays[:2]) <= 0.02, delays
    assert min(delays[8:10]) >= 0.16, delays
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "short-lived one in a row" in r.getMessage()]
    assert warned and repr(name) in warned[-1], warned


async def test_a_first_connect_that_takes_over_a_live_connection_warns_a_reconnect_does_not(broker_port, caplog):
    # `bridge sub -i app` while the app runs: the app's connection is closed (replaced),
    # and the app's reconnect closes the intruder's in turn.
    name = "app-%s" % uid()
    app = BrokerClient(name, host="127.0.0.1", port=broker_port, config=fast_config(reconnect_delay=0.02))
    intruder = BrokerClient(name, host="127.0.0.1", port=broker_port, config=fast_config(auto_reconnect=False))
    app_events = Events(app)
    intruder_events = Events(intruder)
    with caplog.at_level(logging.INFO, logger="message_broker"):
        try:
            await app.connect()
            assert "replaced" not in app.server_info
            await intruder.connect()
            assert intruder.server_info.get("replaced") is True
            await app_events.wait("connected", 2)
            await intruder_events.wait("disconnected", 1)
            assert app.server_info.get("replaced") is True
        finally:
            await app.disconnect()
            await intruder.disconnect()
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "connected elsewhere" in r.getMessage()]
    # Once: the intruder's first connect, not the app's reconnect.
    assert warned == ["client id %r was connected elsewhere; the broker closed that connection (replaced): is another program connecting as it?" % name], warned


async def test_a_connection_that_stayed_up_starts_the_backoff_over(make_client, broker_port, caplog):
    relay = await Relay(broker_port).start()
    try:
        client = await make_client("steady", port=relay.port, reconnect_delay=0.02, max_reconnect_delay=0.3)
        events = Events(client)
        with caplog.at_level(logging.INFO, logger="message_broker"):
            for n in range(1, 4):
                # Cut and listen again at once: each connection lives a few milliseconds.
                await relay.cut()
                await relay.resume()
                await events.wait("connected", n)
            # Up for longer than the longest delay (0.3 s): the next loss is a first one again.
            await asyncio.sleep(0.4)
            await relay.cut()
            await relay.resume()
            await events.wait("connected", 4)
        delays = logged_delays(caplog)
        assert len(delays) == 4, delays
        assert delays[2] >= 0.04 and delays[3] <= 0.02, delays
    finally:
        await relay.close()


async def test_auto_reconnect_off_stays_down(own_broker, caplog):
    client = BrokerClient("once-%s" % uid(), host="127.0.0.1", port=own_broker.port, config=fast_config(auto_reconnect=False))
    events = Events(client)
    await client.connect()
    with caplog.at_level(logging.DEBUG, logger="message_broker"):
        own_broker.kill()
        assert (await events.wait("disconnected"))[1] == "connection_lost"
        await client.disconnect()
    assert not client.is_connected
    assert len(events.of("disconnected")) == 1
    assert any("lost the connection" in r.getMessage() for r in caplog.records)
    assert not any("reconnect" in r.getMessage() for r in caplog.records)


# --------------------------------------------------------------------------- event loop shutdown


def test_program_ending_without_disconnect_closes_quietly(broker_port):
    # asyncio.run() cancels the client's tasks when main() returns without disconnect(), as
    # the seed's AHK Option 2 snippet does. That is no lost connection: no warning, no
    # reconnect task left pending, and the client is closed, so a new loop can connect it.
    program = textwrap.dedent(
        """
        import asyncio, logging, sys
        logging.basicConfig(level=logging.DEBUG)
        from message_broker import BrokerClient, ClientConfig

        client = BrokerClient("no-goodbye-%s", host="127.0.0.1", port=%d, config=ClientConfig(heartbeat_interval=0.2))

        async def main():
            await client.connect()
            await client.subscribe("quiet.*", lambda msg: None)
            print("connected", client.is_connected)

        asyncio.run(main())
        print("after the loop", client.is_connected)
        asyncio.run(main())
        """
        % (uid(), broker_port)
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.dirname(os.path.dirname(os.path.abspath(__file__))), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run(
        [sys.executable, "-W", "always::ResourceWarning", "-c", program], capture_output=True, text=True, timeout=60, env=env
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["connected True", "after the loop False", "connected True"], proc.stderr
    for unwanted in ("Task was destroyed", "lost the connection", "reconnecting", "ResourceWarning", "Traceback", "WARNING", "ERROR"):
        assert unwanted not in proc.stderr, proc.stderr
    assert "the read task was cancelled" in proc.stderr


#: What asyncio reported about the loops ``_run_and_close`` closed (expected, not printed).
_CLOSED_LOOP_REPORTS: List[str] = []


def _run_and_close(coro: Any) -> Any:
    """Run ``coro`` on a new loop, then close the loop without cancelling what is left
    (asyncio then reports the client's reconnect task as destroyed while pending, as it
    would in a program that does this). That report comes whenever the task is garbage
    collected, possibly at exit after pytest's summary line, which test runners read
    last: it goes to this loop's own handler instead of stderr."""
    loop = asyncio.new_event_loop()
    loop.set_exception_handler(lambda _loop, context: _CLOSED_LOOP_REPORTS.append(str(context.get("message"))))
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


@pytest.mark.parametrize(
    "run_first, state_after",
    [(asyncio.run, "closed>"), (_run_and_close, "reconnecting>")],
    ids=["asyncio.run cancels its tasks", "loop closed with tasks pending"],
)
def test_a_client_whose_loop_ended_while_reconnecting_connects_from_a_new_loop(own_broker, run_first, state_after):
    # pytest-asyncio gives each test its own loop; a program may call asyncio.run() twice.
    # The first loop ends while the client reconnects (its broker is gone); the client
    # must work on the next loop, whether the first one cancelled the reconnect task
    # (asyncio.run) or was closed with it still pending.
    port = own_broker.port
    client = BrokerClient("loops-%s" % uid(), host="127.0.0.1", port=port, config=fast_config())
    states: List[str] = []

    async def first_loop() -> None:
        events = Events(client)
        await within(client.connect())
        await client.subscribe(["loops.*"], lambda msg: None)
        own_broker.kill()
        assert (await events.wait("disconnected"))[1] == "connection_lost"
        states.append(repr(client).rsplit(" ", 1)[1])

    run_first(first_loop())
    states.append(repr(client).rsplit(" ", 1)[1])
    replacement = BrokerProcess(port)

    async def second_loop() -> Dict[str, Any]:
        await within(client.connect())
        assert client.is_connected
        subscriptions = await client.call("subscriptions")
        await within(client.disconnect())
        return subscriptions

    try:
        subscriptions = asyncio.run(second_loop())
    finally:
        replacement.stop()
    # asyncio.run() ending stops the reconnecting: the client is closed, not "reconnecting".
    assert states == ["reconnecting>", state_after]
    assert subscriptions["patterns"] == ["loops.*"]
    assert repr(client).endswith(" closed>") and not client.is_connected


# --------------------------------------------------------------------------- threads


def test_client_runs_on_a_loop_in_a_worker_thread(broker_port):
    results: Dict[str, Any] = {}

    async def scenario() -> None:
        sub = BrokerClient("thread-sub-%s" % uid(), host="127.0.0.1", port=broker_port)
        pub = BrokerClient("thread-pub-%s" % uid(), host="127.0.0.1", port=broker_port)
        got = asyncio.get_running_loop().create_future()
        await sub.connect()
        await pub.connect()
        topic = "thread.%s" % uid()
        await sub.subscribe(topic, lambda msg: got.set_result((msg.payload, threading.current_thread().name)))
        await pub.publish(topic, {"from": "worker"}, qos=1)
        results["got"] = await asyncio.wait_for(got, WAIT)
        await sub.disconnect()
        await pub.disconnect()

    def worker() -> None:
        try:
            asyncio.run(scenario())
        except BaseException as exc:  # surfaced by the assertion below
            results["error"] = exc

    thread = threading.Thread(target=worker, name="broker-worker")
    thread.start()
    thread.join(WAIT * 2)
    assert not thread.is_alive()
    assert "error" not in results, results.get("error")
    assert results["got"] == ({"from": "worker"}, "broker-worker")


async def test_cancelling_connect_cancels_the_attempt():
    """``wait_for(client.connect(), t)`` that times out ends the attempt: its socket closes
    at once, rather than the handshake going on (and connecting) after the caller gave up."""
    accepted: "asyncio.Queue[asyncio.StreamReader]" = asyncio.Queue()

    async def on_accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accepted.put(reader)  # a peer that never answers the handshake

    server = await asyncio.start_server(on_accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = BrokerClient("cancelled_connect", host="127.0.0.1", port=port, config=ClientConfig(connect_timeout=30.0))
    try:
        task = asyncio.ensure_future(client.connect())
        reader = await asyncio.wait_for(accepted.get(), 10)
        await reader.readexactly(4)  # the connect frame is on its way: the handshake waits
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The attempt's socket is closed now, long before connect_timeout.
        assert await asyncio.wait_for(reader.read(), 5) is not None
        assert reader.at_eof()
        assert client.is_connected is False
    finally:
        server.close()
        await server.wait_closed()
        await client.disconnect()


async def test_disconnect_awaited_in_a_callback_returns_promptly(make_client):
    # disconnect() waits for the deliveries being handled, up to DISCONNECT_IDLE_TIMEOUT
    # (2 s); it used to wait for the very callback awaiting it, so always the full 2 s.
    sub = await make_client("sub", connect=True)
    pub = await make_client("pub")
    loop = asyncio.get_running_loop()
    took = loop.create_future()
    topic = "dc.%s" % uid()

    async def callback(msg: Message) -> None:
        start = loop.time()
        await sub.disconnect()
        took.set_result(loop.time() - start)

    await sub.subscribe(topic, callback)
    await pub.publish(topic, 1)
    assert await within(took) < 1.0
    assert not sub.is_connected
