"""A minimal asyncio broker client that speaks the wire protocol the way the seed's
Python `BrokerClient` (message_broker package) does.

Standard library only; Python 3.8+.

Wire: 4-byte big-endian length, then UTF-8 JSON. JSON-RPC 2.0 with integer ids.
Deliveries arrive as `message` notifications; a delivery with `reply_to` is a request
and the callback's return value is sent back with `reply`; QoS 1 deliveries are acked.
"""

import asyncio
import json
import struct
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

CLIENT_TYPE = "python"
CLIENT_VERSION = "1.0.0"


class RpcError(Exception):
    """A JSON-RPC error response."""

    def __init__(self, code, message, data=None):
        super().__init__("%s: %s" % (code, message))
        self.code = code
        self.message = message
        self.data = data


class Message(object):
    """One delivery, with the fields the seed's `Message` exposes."""

    def __init__(self, params):
        self.topic = params.get("topic")
        self.payload = params.get("payload")
        self.sender = params.get("sender")
        self.timestamp = params.get("timestamp")
        self.message_id = params.get("message_id")
        self.qos = params.get("qos", 0)
        self.reply_to = params.get("reply_to")
        self.raw = params


Callback = Callable[[Message], Awaitable[Any]]


def topic_matches(pattern, topic):
    """Local pattern matching, used only to pick the callback for a delivery."""
    p_levels = pattern.split(".")
    t_levels = topic.split(".")
    for i, p in enumerate(p_levels):
        if p == "#":
            return True
        if i >= len(t_levels):
            return False
        if p in ("*", "+"):
            if t_levels[i] == "":
                return False
        elif p != t_levels[i]:
            return False
    return len(p_levels) == len(t_levels)


class BrokerClient(object):
    def __init__(self, client_id, host="127.0.0.1", port=15234, auto_ack=True, token=None):
        self.client_id = client_id
        self.token = token  # the shared token, or this client's own secret
        self.host = host
        self.port = port
        self.auto_ack = auto_ack
        self.is_connected = False
        self.closed = asyncio.Event()  # set when the broker closes the socket
        self.ack_results = []  # type: List[Any]
        self.reply_results = []  # type: List[Any]
        self.errors = []  # type: List[str]
        self._next_id = 0
        self._pending = {}  # type: Dict[int, asyncio.Future]
        self._handlers = []  # type: List[Tuple[str, Callback]]
        self._reader = None  # type: Optional[asyncio.StreamReader]
        self._writer = None  # type: Optional[asyncio.StreamWriter]
        self._read_task = None  # type: Optional[asyncio.Task]
        self._tasks = set()

    # -- transport ---------------------------------------------------------

    def _send(self, obj):
        data = json.dumps(obj, ensure_ascii=False).encode("utf-8")
        self._writer.write(struct.pack(">I", len(data)) + data)

    async def _read_loop(self):
        try:
            while True:
                header = await self._reader.readexactly(4)
                (length,) = struct.unpack(">I", header)
                body = await self._reader.readexactly(length)
                self._dispatch(json.loads(body.decode("utf-8")))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except Exception as exc:  # a bug here must surface, not hang the scenario
            self.errors.append("read loop: %r" % (exc,))
        finally:
            self.is_connected = False
            self.closed.set()
            for fut in self._pending.values():
                if not fut.done():
                    fut.set_exception(ConnectionError("connection closed"))
            self._pending.clear()

    def _dispatch(self, msg):
        if "method" in msg:
            if msg["method"] == "message":
                self._spawn(self._on_delivery(Message(msg.get("params") or {})))
            return
        fut = self._pending.pop(msg.get("id"), None)
        if fut is None or fut.done():
            self.errors.append("unexpected response: %r" % (msg,))
            return
        if "error" in msg:
            err = msg["error"] or {}
            fut.set_exception(RpcError(err.get("code"), err.get("message"), err.get("data")))
        else:
            fut.set_result(msg.get("result"))

    def _spawn(self, coro):
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _on_delivery(self, msg):
        try:
            result = None
            called = []  # each callback once, however many of its patterns match
            for pattern, callback in list(self._handlers):
                if topic_matches(pattern, msg.topic) and callback not in called:
                    called.append(callback)
                    value = await callback(msg)
                    if result is None:
                        result = value
            if msg.qos == 1 and self.auto_ack:
                self.ack_results.append(await self.call("ack", {"message_id": msg.message_id}))
            if msg.reply_to is not None:
                self.reply_results.append(
                    await self.call("reply", {"reply_to": msg.reply_to, "result": result})
                )
        except Exception as exc:
            self.errors.append("delivery of %s: %r" % (msg.topic, exc))

    # -- JSON-RPC ----------------------------------------------------------

    async def call(self, method, params=None, timeout=5.0):
        """Send a request and wait (bounded) for its response."""
        self._next_id += 1
        req_id = self._next_id
        fut = asyncio.get_running_loop().create_future()
        self._pending[req_id] = fut
        msg = {"jsonrpc": "2.0", "method": method, "id": req_id}
        if params is not None:
            msg["params"] = params
        self._send(msg)
        await self._writer.drain()
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            self._pending.pop(req_id, None)

    async def notify(self, method, params=None):
        msg = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            msg["params"] = params
        self._send(msg)
        await self._writer.drain()

    # -- the seed's API ------------------------------------------------------

    async def connect(self, timeout=5.0):
        self._reader, self._writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port), timeout
        )
        self._read_task = asyncio.ensure_future(self._read_loop())
        params = {"client_id": self.client_id, "client_type": CLIENT_TYPE, "version": CLIENT_VERSION}
        if self.token is not None:
            params["token"] = self.token
        result = await self.call("connect", params, timeout)
        self.is_connected = True
        return result

    async def subscribe(self, patterns, callback):
        result = await self.call("subscribe", {"patterns": list(patterns)})
        for pattern in patterns:
            self._handlers.append((pattern, callback))
        return result

    async def publish(self, topic, payload, qos=0, ttl=0):
        return await self.call("publish", {"topic": topic, "payload": payload, "qos": qos, "ttl": ttl})

    async def request(self, topic, payload, timeout=5.0):
        # Allow the broker its own timeout plus a margin before giving up locally.
        return await self.call(
            "request", {"topic": topic, "payload": payload, "timeout": timeout}, timeout + 2.0
        )

    async def ping(self):
        return await self.call("ping")

    async def status(self):
        return await self.call("status")

    async def disconnect(self, timeout=3.0):
        """Send `disconnect`, then wait (bounded) for the broker to close the socket."""
        result = await self.call("disconnect", None, timeout)
        await asyncio.wait_for(self.closed.wait(), timeout)
        self._writer.close()
        return result

    async def close(self):
        """Hard close, for cleanup after a failure."""
        if self._writer is not None:
            self._writer.close()
        if self._read_task is not None:
            self._read_task.cancel()
        for task in list(self._tasks):
            task.cancel()
