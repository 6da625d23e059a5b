"""Scenario: when does a QtBrokerClient ack its QoS 1 messages?

argv: port, client_id, mode, count. A raw peer publishes ``count`` QoS 1 messages to
``q1.<client_id>`` with payload ``{"n": k}``.

- ``busy``: the slot of message 0 holds the GUI thread until the worker has received all
  the others, makes the broker take everything the client sent so far (a sync publish
  the peer waits for), reports each message's acks, and ends the process the way a crash
  does (``os._exit``).
- ``disconnect``: the slot of message ``count // 10`` calls ``disconnect_from_broker()``
  while the rest arrive; once ``disconnected``, each message's acks are reported.

Prints JSON ``{"seen": [n...], "ids": [message_id by n], "acks": [{"clients", "pending"}...]}``.
"""
import json
import os
import sys
import threading
import time
from typing import Any, List

from message_broker.qt_client import QtBrokerClient, QtCore
from rawpub import RawPeer

port, client_id, mode, count = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
topic = "q1." + client_id
app = QtCore.QCoreApplication([])
client = QtBrokerClient(client_id, host="127.0.0.1", port=port)
seen: List[int] = []
ids: List[str] = []
published = threading.Event()


def publish_all() -> None:
    publisher = RawPeer(port, client_id + "-pub")
    for k in range(count):
        ids.append(publisher.publish(topic, {"n": k}, qos=1))
    publisher.close()
    published.set()


def report() -> None:
    published.wait(60)
    checker = RawPeer(port, client_id + "-check")
    acks = [checker.acks(message_id) for message_id in ids]
    checker.close()
    print(json.dumps({"seen": seen, "ids": ids, "acks": acks}), flush=True)


def wait_for(condition: Any, what: str, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise SystemExit("timed out waiting for " + what)
        time.sleep(0.005)


def on_message(_topic: str, payload: Any, _sender: str, _message_id: str) -> None:
    seen.append(payload["n"])
    if mode == "busy" and payload["n"] == 0:
        # The GUI thread is busy (a modal dialog, a long redraw) while the rest arrive.
        wait_for(lambda: client._relay.backlog() >= count - 1, "the worker to receive every message")
        # The broker has taken whatever the client sent before this publish once the
        # peer sees it: acks, with the old code, included.
        sync = RawPeer(port, client_id + "-sync")
        sync.call("subscribe", {"patterns": [topic + ".sync"]})
        client.publish(topic + ".sync", {"sync": True})
        got = sync.deliveries(1)
        sync.close()
        if len(got) != 1:
            raise SystemExit("the sync publish never reached the broker")
        report()
        os._exit(0)  # a crash: nothing is cleaned up, nothing more is sent
    if mode == "disconnect" and payload["n"] == count // 10:
        client.disconnect_from_broker()  # the user closes the window mid-stream


client.message_received.connect(on_message)
client.subscribed.connect(lambda _: threading.Thread(target=publish_all, daemon=True).start())
client.disconnected.connect(app.quit)
client.connect_to_broker()
client.subscribe([topic])
(getattr(app, "exec", None) or app.exec_)()
report()
