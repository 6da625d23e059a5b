"""``AHKBridge``: the seed's "Option 2: Python Bridge", carried out by our TypeScript bridge.

The seed's ``AHKBridge`` ran AutoHotkey scripts as its own child processes. Here the
scripts are supervised by a ``bridge up`` process (the TypeScript supervisor: restarts,
stop grace, process-tree kills, the script line protocol), and ``AHKBridge`` drives it
through the broker with its control requests::

    client = BrokerClient("ahk_bridge")
    await client.connect()
    bridge = AHKBridge(broker_client=client)
    await bridge.start()        # joins the bridge host on this broker, or starts one
    await bridge.run_script(script_path="scripts/cad_hotkeys.ahk", program_key="cad")
    ...
    await bridge.stop()

What the seed's comments promise comes from the supervisor, on the broker:

- lifecycle events ``scripts.<key>.started`` ``{pid, script, args, timestamp}``,
  ``.stopped`` ``{exit_code, signal, reason, duration_ms, timestamp}``, ``.ready``,
  ``.error``, ``.restarting``, ``.output``, ``.stderr``;
- events the script publishes (``@pub hotkey.pressed ...`` becomes
  ``scripts.<key>.hotkey.pressed``);
- commands: a publish or request on ``scripts.<key>.command.<name>`` reaches the
  script's stdin; a request gets the script's reply.

Subscribe to them with the ``BrokerClient`` as usual. ``scripts.status`` ``{script_id}``
(the seed's Common Pattern 3) is answered by the same supervisor.

**Trust.** A host started here accepts ``scripts.run`` from *any* client of the broker,
for any file inside ``script_folders``: whoever can connect (see the broker's ``token``
and per-client permissions) can start those files with the AutoHotkey interpreter. The
default folder is the current working directory, so the seed's relative
``scripts/cad_hotkeys.ahk`` works unchanged; pass ``script_folders`` to narrow it to the
folders that hold your scripts, especially when the working directory is broad (a home
folder, a drive root).
"""
from __future__ import annotations

import asyncio
import logging
import os
import re
from typing import Any, Dict, Iterable, List, Optional, Sequence, Union

from ._bridge_host import BridgeHost
from .errors import INVALID_PARAMS, NO_RESPONDERS, TIMEOUT, BrokerError, BrokerNotConnectedError

log = logging.getLogger("message_broker.ahk_bridge")

#: Answered by every bridge that takes ``scripts.run`` (one with script_folders); -32005
#: from the broker means there is none. A bridge without folders (``bridge run --key K``)
#: answers ``scripts.list`` but cannot run scripts, so ``scripts.list`` does not tell.
RUN_HOST_TOPIC = "bridge.run_host"
#: How long ``start()`` waits for a host it started to answer on ``RUN_HOST_TOPIC``.
START_TIMEOUT = 30.0
#: How long ``stop()`` waits for that host to stop its scripts and exit before killing it.
#: Longer than the supervisor's default stop grace (3 s), which a hung script uses up.
STOP_TIMEOUT = 10.0
#: Timeout of the control requests. ``stop``/``restart`` wait for the script to exit,
#: up to its stop grace and then a process-tree kill.
REQUEST_TIMEOUT = 15.0
#: How long the "is there a host?" question waits. A subscriber to ``#`` that is not a
#: bridge receives it and never answers, so silence means "no host"; the TypeScript
#: bridge asks its owner question with the same 2 s.
PROBE_TIMEOUT = 2.0

# Script keys become topic levels; the bridge's own rule (bridge-config.ts SCRIPT_KEY).
_SCRIPT_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

PathLike = Union[str, "os.PathLike[str]"]


class AHKBridgeError(RuntimeError):
    """The bridge host could not be started (or exited before it answered); the message
    carries the host's last output lines."""


def _check_key(program_key: str) -> None:
    if not isinstance(program_key, str) or not _SCRIPT_KEY.match(program_key):
        raise BrokerError(
            INVALID_PARAMS,
            "program_key %r must be 1-64 of A-Z a-z 0-9 _ -" % (program_key,),
            {"program_key": program_key},
        )


class AHKBridge:
    """Runs AutoHotkey scripts under the ahk-bridge supervisor, controlled over the broker.

    ``broker_client`` is a connected ``BrokerClient``. ``script_folders`` are the folders
    a host started by ``start()`` may run scripts from (default: the current working
    directory; see the module's note on trust); ``interpreter`` is the AutoHotkey
    executable it uses (default: ``AHK_PATH``, then the usual install locations). Both
    only matter when ``start()`` starts the host: a host already on the broker keeps its
    own configuration. Relative paths are taken from the current working directory.

    ``request_timeout`` bounds each control request (seconds), ``start_timeout`` the wait
    for a started host to answer, ``stop_timeout`` the wait for it to exit before it is
    killed; ``log_level`` is the host's (its lines go to the
    ``message_broker.ahk_bridge.host`` logger).

    A host started here lives until ``stop()``, or until this program ends, however it
    ends: the host reads its stdin from a pipe this process holds, and stops its scripts
    and exits when the pipe closes.
    """

    def __init__(
        self,
        broker_client: Any,
        *,
        script_folders: Optional[Iterable[PathLike]] = None,
        interpreter: Optional[PathLike] = None,
        request_timeout: float = REQUEST_TIMEOUT,
        start_timeout: float = START_TIMEOUT,
        stop_timeout: float = STOP_TIMEOUT,
        log_level: str = "info",
    ) -> None:
        self._client = broker_client
        if isinstance(script_folders, (str, bytes, os.PathLike)):
            raise TypeError("script_folders must be a list of folders, not one folder")
        folders = [os.getcwd()] if script_folders is None else list(script_folders)
        # Absolute here: the host resolves config paths against the temporary config's folder.
        self.script_folders: List[str] = [os.path.abspath(os.fspath(f)) for f in folders]
        self.interpreter: Optional[str] = os.path.abspath(os.fspath(interpreter)) if interpreter is not None else None
        self.request_timeout = request_timeout
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.log_level = log_level
        self._started = False
        self._lock: Optional[asyncio.Lock] = None
        self._host: Optional[BridgeHost] = None
        # Keys run through this object, stopped by stop() when the host is someone else's.
        self._ran: Dict[str, None] = {}

    # -- properties ---------------------------------------------------------------

    @property
    def broker_client(self) -> Any:
        """The ``BrokerClient`` the control requests go through."""
        return self._client

    @property
    def is_started(self) -> bool:
        """True between ``start()`` and ``stop()``."""
        return self._started

    @property
    def owns_host(self) -> bool:
        """True when ``start()`` started the bridge host (``stop()`` will stop it)."""
        return self._host is not None

    @property
    def host_pid(self) -> Optional[int]:
        """The process id of the host ``start()`` started, else None."""
        return self._host.pid if self._host is not None else None

    # -- lifecycle ----------------------------------------------------------------

    async def start(self) -> None:
        """Make sure a bridge host answers on the broker, starting ``bridge up`` if none does.

        Returns once a host that takes ``scripts.run`` answers. Raises ``BrokerNotConnectedError``
        when the client is not connected, ``BridgeNotFoundError`` when there is no
        ``bridge`` to run, ``AHKBridgeError`` when the host it started fails.
        """
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._started:
                return
            if not self._client.is_connected:
                raise BrokerNotConnectedError("connect the BrokerClient before AHKBridge.start()")
            if await self._host_answers():
                log.info("a bridge host already answers on the broker; using it")
            else:
                await self._start_host()
            self._started = True

    async def stop(self) -> None:
        """Stop what ``start()`` and ``run_script()`` set up.

        A host this object started is asked to stop (its stdin is closed);
        it stops its scripts, all of them, whoever ran them. It is killed, with the
        script processes under it, if it has not exited within ``stop_timeout``. With a
        host that was already there, only the scripts run through this object are
        stopped, and the host keeps running.
        """
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if not self._started and self._host is None:
                return
            self._started = False
            if self._host is not None:
                await self._host.stop(self.stop_timeout)
                self._host = None
            else:
                await self._stop_ran_scripts()
            self._ran.clear()

    async def __aenter__(self) -> "AHKBridge":
        await self.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()

    # -- script control -----------------------------------------------------------

    async def run_script(self, script_path: PathLike, program_key: str, args: Optional[Sequence[Any]] = None) -> Dict[str, Any]:
        """Start ``script_path`` under ``program_key`` (``scripts.run``); returns its status dict
        once the start has settled: the script said ``@ready``, ended, or has run for a
        second. A script that fails to load comes back with ``running`` False, ``state``
        ``"failed"`` and its ``last_exit``; that is logged as a WARNING, not raised (a
        script that ended cleanly by then, as INFO).

        A relative path is resolved against this process's working directory before it
        is sent. Running a key that already has the same file starts it if stopped (with
        the args it was first run with);
        another file under a used key, or a file outside the host's ``script_folders``,
        raises ``BrokerError`` -32602.
        """
        _check_key(program_key)
        if isinstance(args, (str, bytes)):
            raise TypeError("args must be a list of arguments, not one string")
        payload: Dict[str, Any] = {
            "script_path": os.path.abspath(os.fspath(script_path)),
            "program_key": program_key,
            "args": [os.fspath(a) if isinstance(a, os.PathLike) else str(a) for a in (args or [])],
        }
        status = await self._request("scripts.run", payload)
        self._ran[program_key] = None
        if _get(status, "running") is False:
            last_exit = _get(status, "last_exit")
            why = "reason %s, exit code %s" % (_get(last_exit, "reason"), _get(last_exit, "exit_code")) if isinstance(last_exit, dict) else "no exit recorded"
            # A script that did its work and ended is no failure; one that failed to load or crashed is.
            level = logging.INFO if _get(last_exit, "reason") == "clean_exit" else logging.WARNING
            log.log(level, "script %s did not stay up: %s (state %s, %s)", program_key, payload["script_path"], _get(status, "state"), why)
        else:
            log.info("script %s running: %s (pid %s)", program_key, payload["script_path"], _get(status, "pid"))
        return status

    async def stop_script(self, program_key: str) -> Dict[str, Any]:
        """Stop the script (``scripts.<key>.stop``) without a restart; returns its status dict.

        The script gets the ``exit`` command, then its process tree is killed after the
        stop grace. An unknown key raises ``BrokerError`` -32602 (``data.reason`` is
        ``unknown_script``).
        """
        _check_key(program_key)
        return await self._request("scripts.%s.stop" % program_key)

    async def restart_script(self, program_key: str) -> Dict[str, Any]:
        """Stop the script if it runs and start it again (``scripts.<key>.restart``)."""
        _check_key(program_key)
        return await self._request("scripts.%s.restart" % program_key)

    async def start_script(self, program_key: str) -> Dict[str, Any]:
        """Start a known script that is stopped (``scripts.<key>.start``)."""
        _check_key(program_key)
        return await self._request("scripts.%s.start" % program_key)

    async def list_scripts(self) -> List[Dict[str, Any]]:
        """The status dicts of the scripts the host supervises (``scripts.list``).

        With several bridges on one broker, the first to answer does, with its own scripts.
        """
        result = await self._request("scripts.list")
        scripts = result.get("scripts") if isinstance(result, dict) else None
        return list(scripts) if isinstance(scripts, list) else []

    async def script_status(self, program_key: str) -> Dict[str, Any]:
        """The status dict of a script (``scripts.status``): ``running``, ``pid``, ``state``,
        ``restarts``, ``last_exit``, ... A key no bridge supervises gives
        ``{"script_id": key, "running": False, "known": False}``."""
        return await self._request("scripts.status", {"script_id": program_key})

    # -- internals ----------------------------------------------------------------

    async def _request(self, topic: str, payload: Any = None) -> Any:
        return await self._client.request(topic, payload, timeout=self.request_timeout)

    async def _host_answers(self, quiet: bool = False) -> bool:
        try:
            await self._client.request(RUN_HOST_TOPIC, None, timeout=PROBE_TIMEOUT)
            return True
        except BrokerError as err:
            if err.code == NO_RESPONDERS:
                return False
            if err.code != TIMEOUT:
                raise
        except asyncio.TimeoutError:
            pass
        if not quiet:
            log.warning("%s got no answer within %ss: taking it that no bridge host is running", RUN_HOST_TOPIC, PROBE_TIMEOUT)
        return False

    def _host_config(self) -> Dict[str, Any]:
        config: Dict[str, Any] = {
            "broker": {"host": self._client.config.host, "port": self._client.config.port},
            "script_folders": self.script_folders,
        }
        if self.interpreter is not None:
            config["interpreter"] = self.interpreter
        return config

    async def _start_host(self) -> None:
        log.info("no bridge host answers; starting one for folders %s", ", ".join(self.script_folders))
        host = await BridgeHost.start(self._host_config(), self.log_level, getattr(self._client.config, "token", None))
        self._host = host
        try:
            await self._wait_answering(host)
        except BaseException:
            await host.kill()
            self._host = None
            raise
        host.serving = True
        host.forget_config()  # read at its start; nothing needs the file after that
        log.info("bridge host answering (pid %s)", host.pid)

    async def _wait_answering(self, host: BridgeHost) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.start_timeout
        delay = 0.05
        while True:
            if host.returncode is not None:
                break
            if await self._host_answers(quiet=True):
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AHKBridgeError(
                    "the bridge host did not answer on %s within %ss; its last output:\n%s"
                    % (RUN_HOST_TOPIC, self.start_timeout, host.recent_output() or "(none)")
                )
            # Wakes early when the host exits, so a bad config fails at once.
            await host.wait_exit(min(delay, remaining))
            delay = min(delay * 2, 0.5)
        await host.drain_output()
        raise AHKBridgeError(
            "the bridge host exited with code %s before answering:\n%s" % (host.returncode, host.recent_output() or "(no output)")
        )

    async def _stop_ran_scripts(self) -> None:
        for key in list(self._ran):
            try:
                await self.stop_script(key)
            except BrokerError as err:
                # Someone else stopped or removed it, or its host is gone: nothing left to do.
                log.warning("could not stop script %s: %s", key, err)


def _get(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, dict) else None


__all__ = ["AHKBridge", "AHKBridgeError"]
