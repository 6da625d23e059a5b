"""Scenario: delete a connected QtBrokerClient's parent while a flood of messages arrives.

argv: port, iterations, "close" (call disconnect_from_broker() first, as the seed's
closeEvent does) or "delete". Prints ``DONE <iterations> <messages>``; a crash is the bug.
"""
import faulthandler
import sys
import threading

from message_broker.qt_client import QtBrokerClient, QtCore
from rawpub import flood

faulthandler.enable()
port, iterations, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
app = QtCore.QCoreApplication([])
stop = threading.Event()
flood(port, "race.x", stop)
state = {"done": 0, "messages": 0}
windows = []


def one() -> None:
    if state["done"] >= iterations:
        stop.set()
        app.quit()
        return
    parent = QtCore.QObject()
    windows.append(parent)  # as an app holds its main window; deleteLater() ends it
    client = QtBrokerClient("race-%d" % state["done"], host="127.0.0.1", port=port, parent=parent)
    seen = [0]

    def on_message(*_: object) -> None:
        seen[0] += 1
        state["messages"] += 1
        if seen[0] == 50:  # the worker is busy emitting now: delete in the thick of it
            if mode == "close":
                client.disconnect_from_broker()
            parent.deleteLater()
            state["done"] += 1
            QtCore.QTimer.singleShot(20, one)

    client.message_received.connect(on_message)
    client.connect_to_broker()
    client.subscribe(["race.#"])


QtCore.QTimer.singleShot(0, one)
(getattr(app, "exec", None) or app.exec_)()
print("DONE", state["done"], state["messages"], flush=True)
