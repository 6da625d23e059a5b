from PySide6.QtWidgets import QApplication
from message_broker.qt_client import QtBrokerClient

app = QApplication([])

client = QtBrokerClient("main_app")
client.connected.connect(lambda: print("Connected!"))
client.message_received.connect(lambda t, p, s, i: print(f"{t}: {p}"))

client.connect_to_broker()
client.subscribe(["jobs.*"])

app.exec()
