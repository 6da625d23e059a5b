from PySide6.QtWidgets import QMainWindow
from PySide6.QtCore import Slot
from message_broker.qt_client import QtBrokerClient


class MainWindow(QMainWindow):
    def __init__(self):
        super().__init__()
        
        # Create client
        self._broker = QtBrokerClient(
            client_id="main_app",
            host="localhost",
            port=PORT,
            parent=self,
        )
        
        # Connect signals
        self._broker.connected.connect(self._on_connected)
        self._broker.disconnected.connect(self._on_disconnected)
        self._broker.message_received.connect(self._on_message)
        self._broker.error_occurred.connect(self._on_error)
        
        # Connect to broker
        self._broker.connect_to_broker()
    
    @Slot()
    def _on_connected(self):
        print("Connected to broker!")
        
        # Subscribe after connection
        self._broker.subscribe(["jobs.*", "scripts.+.status"])
    
    @Slot()
    def _on_disconnected(self):
        print("Disconnected from broker")
    
    @Slot(str, dict, str, str)
    def _on_message(self, topic: str, payload: dict, sender: str, message_id: str):
        print(f"Received: {topic} from {sender}")
        
        if topic.startswith("jobs."):
            self._handle_job_event(topic, payload)
    
    @Slot(str)
    def _on_error(self, error: str):
        print(f"Broker error: {error}")
    
    def _handle_job_event(self, topic: str, payload: dict):
        if topic == "jobs.activated":
            job_id = payload.get("job_id")
            print(f"Job activated: {job_id}")
    
    def publish_job_change(self, job_id: str):
        """Publish job change to other apps."""
        self._broker.publish(
            "jobs.activated",
            {"job_id": job_id, "source": "main_app"},
        )
    
    def closeEvent(self, event):
        self._broker.disconnect_from_broker()
        super().closeEvent(event)
