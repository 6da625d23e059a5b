"""Scenario: a burst of messages to a QtBrokerClient whose slot takes 1 ms each.

argv: port, count, block (seconds the slot of the first message holds the GUI thread,
as a modal dialog does; 0 for none), heartbeat (the client's heartbeat_interval).
A raw peer publishes ``count`` QoS 0 messages ``{"k": n}`` as fast as the socket takes
them. A 20 ms QTimer records how long the event loop went without firing it; a sampler
thread records the largest relay backlog. Prints JSON once every message has arrived
(or after 60 s): ``{"got": [k...], "max_gap", "peak", "disconnects"}``.
"""
import json
import sys
import threading
import time
from typing import Any, List

from message_broker.config import ClientConfig
from message_broker.qt_client import QtBrokerClient, QtCore
from rawpub import RawPeer

port, count, block, heartbeat = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
topic = "flood.%d" % id(object())
app = QtCore.QCoreApplication([])
client = QtBrokerClient("flood-sub-%s" % topic, host="127.0.0.1", port=port, config=ClientConfig(heartbeat_interval=heartbeat))
got: List[int] = []
state = {"peak": 0, "max_gap": 0.0, "last_tick": 0.0, "first": 0.0, "disconnects": 0, "done": False}


def on_message(_topic: str, payload: Any, _sender: str, _message_id: str) -> None:
    if not got:
        state["first"] = state["last_tick"] = time.monotonic()
        if block:
            time.sleep(block)  # the GUI thread is busy; meanwhile the burst arrives
    got.append(payload["k"])
    end = time.perf_counter() + 0.001  # a slot that costs 1 ms
    while time.perf_counter() < end:
        pass
    if len(got) == count:
        finish()


def tick() -> None:
    now = time.monotonic()
    if state["first"] and not block:
        state["max_gap"] = max(state["max_gap"], now - state["last_tick"])
    state["last_tick"] = now


def sample() -> None:
    while not state["done"]:
        state["peak"] = max(state["peak"], client._relay.backlog())
        time.sleep(0.0005)


def publish_all() -> None:
    publisher = RawPeer(port, "flood-pub-%s" % topic)
    for k in range(count):
        publisher.notify("publish", {"topic": topic, "payload": {"k": k, "pad": "x" * 200}})
    publisher.close()


def finish() -> None:
    if state["done"]:
        return
    state["done"] = True
    tick()  # the time since the last tick counts too: a drain that never ends never lets it fire
    report = {"got": got, "max_gap": state["max_gap"], "peak": state["peak"], "disconnects": state["disconnects"]}
    print(json.dumps(report), flush=True)
    app.quit()


timer = QtCore.QTimer()
timer.timeout.connect(tick)
timer.start(20)
QtCore.QTimer.singleShot(60000, finish)
threading.Thread(target=sample, daemon=True).start()
client.message_received.connect(on_message)
client.disconnected.connect(lambda: state.__setitem__("disconnects", state["disconnects"] + 1))
client.subscribed.connect(lambda _: threading.Thread(target=publish_all, daemon=True).start())
client.connect_to_broker()
client.subscribe([topic])
(getattr(app, "exec", None) or app.exec_)()
