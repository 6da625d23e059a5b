"""``MessageBroker``: the seed's broker class, running **our** broker as a child process.

``start()`` runs ``bridge broker --config <file>`` with every ``BrokerConfig`` field in
that file, waits for the broker's "listening" log line (which carries the bound port, so
``port=0`` works), and forwards the broker's log lines to ``logging`` under
``message_broker.broker``. ``stop()`` asks it to stop cleanly (SIGTERM, or CTRL_BREAK on
Windows) and kills it only if it does not stop in time.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import tempfile
from collections import deque
from typing import Any, Deque, Dict, List, Optional

from ._bridge_command import bridge_command
from ._deadline import within
from ._output_lines import forward_lines, read_line
from .config import BrokerConfig

log = logging.getLogger("message_broker.broker")

#: How long ``start()`` waits for the broker to listen.
START_TIMEOUT = 30.0
#: How long ``stop()`` waits for a clean stop before killing the broker.
STOP_TIMEOUT = 10.0

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}


class BrokerStartError(RuntimeError):
    """The broker process could not start (bad config, port in use, ...); the message has its own words."""


class MessageBroker:
    """Runs the ahk-bridge broker for as long as this object is started.

    >>> broker = MessageBroker(BrokerConfig(port=0))
    >>> await broker.start()      # doctest: +SKIP
    >>> broker.port               # the port it listens on  # doctest: +SKIP
    """

    def __init__(self, config: Optional[BrokerConfig] = None) -> None:
        self.config = config if config is not None else BrokerConfig()
        self.host: str = self.config.host
        #: The port the broker listens on (known after ``start()`` when configured as 0).
        self.port: int = self.config.port
        self._running = False
        self._process: Optional[asyncio.subprocess.Process] = None
        self._config_dir: Optional[tempfile.TemporaryDirectory] = None
        self._log_task: Optional["asyncio.Task[None]"] = None
        self._recent: Deque[str] = deque(maxlen=20)
        # The start in progress, shared by every start() call made meanwhile.
        self._starting: Optional["asyncio.Task[None]"] = None
        self._start_waiters = 0

    @property
    def is_running(self) -> bool:
        return self._running

    @property
    def pid(self) -> Optional[int]:
        return self._process.pid if self._process else None

    def _write_config(self) -> str:
        self._config_dir = tempfile.TemporaryDirectory(prefix="message_broker-")
        path = os.path.join(self._config_dir.name, "broker.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.config.to_broker_options(), f)
        return path

    async def start(self) -> None:
        """Start the broker; returns once it accepts connections. Raises ``BridgeNotFoundError``
        when there is no broker to run, ``BrokerStartError`` when it refuses to start.

        Calls made while a start is in progress wait for that one and get its outcome (the
        same exception when it fails); once running, start() returns at once. Cancelling
        the last call waiting for a start stops it, killing the half-started broker.
        """
        if self._running:
            return
        task = self._starting
        if task is None:
            task = self._starting = asyncio.ensure_future(self._start())
        self._start_waiters += 1
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if self._start_waiters == 1 and not task.done():
                # Nobody else waits for it: cancelling start() cancels the start, as it did
                # before starts were shared.
                task.cancel()
                await asyncio.wait({task})
            raise
        finally:
            self._start_waiters -= 1
            if task.done() and self._starting is task:
                self._starting = None

    async def _start(self) -> None:
        # --stop-on-stdin-close: we hold the broker's stdin open; when this process ends,
        # however it ends, the OS closes it and the broker stops instead of lingering.
        argv = bridge_command() + ["broker", "--config", self._write_config(), "--log-format", "json", "--stop-on-stdin-close"]
        # The config file is the whole truth: BROKER_* in our environment already went
        # into BrokerConfig's defaults, and must not override what the caller set.
        env = {k: v for k, v in os.environ.items() if not k.startswith("BROKER_")}
        kwargs: Dict[str, Any] = {}
        if sys.platform == "win32":
            # Its own process group: a Ctrl+C in our console is ours to handle, and the
            # broker then stops cleanly when we close its stdin.
            kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP
        log.debug("starting the broker: %s", " ".join(argv))
        self._process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            **kwargs,
        )
        try:
            await within(self._wait_listening(), START_TIMEOUT)
        except BaseException:
            await self._kill()
            self._cleanup()
            raise
        self._running = True
        self._log_task = asyncio.ensure_future(self._forward_logs())

    async def _wait_listening(self) -> None:
        assert self._process is not None and self._process.stderr is not None
        while True:
            line = await read_line(self._process.stderr)
            if line is None:
                code = await self._process.wait()
                detail = "\n".join(self._recent) or "(no output)"
                raise BrokerStartError("the broker exited with code %s before listening:\n%s" % (code, detail))
            record = self._log_line(line)
            if record is not None and record.get("msg") == "broker listening":
                port = record.get("port")
                if isinstance(port, int):
                    self.port = port
                log.info("broker listening on %s:%s (pid %s)", self.host, self.port, self._process.pid)
                return

    def _log_line(self, text: str) -> Optional[Dict[str, Any]]:
        """Forward one of the broker's log lines to ``logging``; returns it parsed when it is JSON.
        (A line cut by ``read_line`` is no longer JSON: it goes out whole, as INFO.)"""
        if not text:
            return None
        self._recent.append(text)
        try:
            record = json.loads(text)
        except ValueError:
            log.info("%s", text)
            return None
        if not isinstance(record, dict):
            log.info("%s", text)
            return None
        fields = {k: v for k, v in record.items() if k not in ("time", "level", "component", "msg")}
        level = _LEVELS.get(str(record.get("level")), logging.INFO)
        log.log(level, "%s %s", record.get("msg"), " ".join("%s=%s" % kv for kv in fields.items()))
        return record

    async def _forward_logs(self) -> None:
        process = self._process
        if process is None or process.stderr is None:
            return
        # Never raises: stop() awaits this task, and output must not make stop() fail.
        await forward_lines(process.stderr, self._log_line, log, "the broker (pid %s)" % process.pid)
        code = await process.wait()
        if self._running:
            self._running = False
            log.error("the broker exited unexpectedly with code %s", code)

    async def stop(self) -> None:
        """Stop the broker cleanly (clients get its shutdown), and wait until it has exited."""
        process = self._process
        if process is None:
            return
        self._running = False
        if process.returncode is None:
            if process.stdin is not None:
                process.stdin.close()
            try:
                await within(process.wait(), STOP_TIMEOUT)
            except asyncio.TimeoutError:
                log.warning("the broker did not stop within %ss; killing it", STOP_TIMEOUT)
                await self._kill()
        if self._log_task is not None:
            await self._log_task
            self._log_task = None
        self._cleanup()
        log.info("broker stopped (exit code %s)", process.returncode)

    async def _kill(self) -> None:
        process = self._process
        if process is not None and process.returncode is None:
            try:
                process.kill()
            except ProcessLookupError:
                pass
            await process.wait()

    def _cleanup(self) -> None:
        self._process = None
        if self._config_dir is not None:
            self._config_dir.cleanup()
            self._config_dir = None

    async def __aenter__(self) -> "MessageBroker":
        await self.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()


__all__: List[str] = ["MessageBroker", "BrokerStartError"]
