"""A raw wire-protocol peer (framing from PROTOCOL.md) for the Qt tests and their scenario
scripts, so their traffic does not depend on the client under test."""
from __future__ import annotations

import json
import socket
import struct
import threading
import time
from typing import Any, Dict, List, Optional


class RawPeer:
    """A blocking JSON-RPC client: ``call`` waits for its answer; ``notify`` does not."""

    def __init__(self, port: int, client_id: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.next_id = 0
        self.inbox: List[Dict[str, Any]] = []
        self.call("connect", {"client_id": client_id, "client_type": "test", "version": "1.0"})

    def _send(self, message: Dict[str, Any]) -> None:
        body = json.dumps(message).encode("utf-8")
        self.sock.sendall(struct.pack(">I", len(body)) + body)

    def _recv_exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("broker closed the connection")
            data += chunk
        return data

    def _read(self) -> Dict[str, Any]:
        (n,) = struct.unpack(">I", self._recv_exact(4))
        return json.loads(self._recv_exact(n).decode("utf-8"))

    def call(self, method: str, params: Optional[Dict[str, Any]] = None) -> Any:
        self.next_id += 1
        message: Dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": self.next_id}
        if params is not None:
            message["params"] = params
        self._send(message)
        while True:
            frame = self._read()
            if frame.get("id") == self.next_id:
                if "error" in frame:
                    raise RuntimeError(frame["error"])
                return frame["result"]
            self.inbox.append(frame)

    def notify(self, method: str, params: Dict[str, Any]) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def acked_by(self, message_id: str) -> List[str]:
        """The client ids that acked a QoS 1 message (``_internal.message_acks``)."""
        return list(self.call("_internal.message_acks", {"message_id": message_id})["clients"])

    def acks(self, message_id: str) -> Dict[str, List[str]]:
        """``{"clients": acked, "pending": not acked yet}`` for a QoS 1 message."""
        answer = self.call("_internal.message_acks", {"message_id": message_id})
        return {"clients": list(answer["clients"]), "pending": list(answer["pending"])}

    def publish(self, topic: str, payload: Any, qos: int = 0) -> str:
        """Publish and wait for the broker's answer; the message_id."""
        return str(self.call("publish", {"topic": topic, "payload": payload, "qos": qos})["message_id"])

    def deliveries(self, count: int, timeout: float = 20.0) -> List[Dict[str, Any]]:
        """Wait for ``count`` deliveries (their params, in arrival order), taking them from the inbox."""
        end = time.monotonic() + timeout
        while sum(1 for f in self.inbox if f.get("method") == "message") < count:
            remaining = end - time.monotonic()
            if remaining <= 0:
                break
            self.sock.settimeout(remaining)
            try:
                (n,) = struct.unpack(">I", self._recv_exact(4))
            except socket.timeout:
                break
            self.inbox.append(json.loads(self._recv_exact(n).decode("utf-8")))
        found = [f for f in self.inbox if f.get("method") == "message"]
        self.inbox = [f for f in self.inbox if f.get("method") != "message"]
        return [f["params"] for f in found]

    def wait_message(self, topic: str, timeout: float = 10.0) -> Dict[str, Any]:
        """The params of the first delivery on ``topic``, taken from the inbox or waited for."""
        end = time.monotonic() + timeout
        while True:
            for frame in self.inbox:
                if frame.get("method") == "message" and frame["params"]["topic"] == topic:
                    self.inbox.remove(frame)
                    return frame["params"]
            remaining = end - time.monotonic()
            assert remaining > 0, "no message on %s within %ss" % (topic, timeout)
            self.sock.settimeout(remaining)
            self.inbox.append(self._read())

    def close(self) -> None:
        try:
            self.call("disconnect")
        except (OSError, ConnectionError, RuntimeError):
            pass
        self.sock.close()


def flood(port: int, topic: str, stop: threading.Event) -> threading.Thread:
    """A thread publishing QoS 0 messages to ``topic`` as fast as the socket takes them, until ``stop``."""

    def run() -> None:
        peer = RawPeer(port, "flood-%d" % threading.get_ident())
        k = 0
        while not stop.is_set():
            peer.notify("publish", {"topic": topic, "payload": {"k": k}})
            k += 1
        peer.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread
