"""The ``bridge up`` child process that ``AHKBridge.start()`` runs when no bridge host
answers on the broker: starting it, passing its output to logging, stopping it by closing
its stdin, and killing its whole process tree when it does not stop in time.

The host is started with ``--stop-on-stdin-close`` and reads a pipe only this process
holds, so it stops its scripts and exits however this program ends, even when killed.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
from collections import deque
from typing import Any, Deque, Dict, List, Optional

from ._bridge_command import bridge_command
from ._output_lines import forward_lines

log = logging.getLogger("message_broker.ahk_bridge")
host_log = logging.getLogger("message_broker.ahk_bridge.host")

_HOST_LEVELS = {
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARNING": logging.WARNING,
    "ERROR": logging.ERROR,
    "CRITICAL": logging.CRITICAL,
}


class BridgeHost:
    """A running ``bridge up`` process started by ``start()``.

    Set ``serving`` once the host answers: from then on, an exit that ``stop()`` did not
    ask for is logged as an error (the scripts it supervised are gone with it).
    """

    def __init__(self, process: asyncio.subprocess.Process, config_dir: tempfile.TemporaryDirectory) -> None:
        self.process = process
        #: True while the host is in use; an exit then is unexpected.
        self.serving = False
        self._config_dir: Optional[tempfile.TemporaryDirectory] = config_dir
        self._recent: Deque[str] = deque(maxlen=20)
        assert process.stdout is not None and process.stderr is not None
        self._readers = [asyncio.ensure_future(self._forward(process.stdout)), asyncio.ensure_future(self._forward(process.stderr))]
        self._exit_task = asyncio.ensure_future(self._watch())

    @classmethod
    async def start(cls, config: Dict[str, Any], log_level: str, token: Optional[str]) -> "BridgeHost":
        """Start ``bridge up`` with ``config`` (written to a temporary file, removed by
        ``stop()``/``kill()``). Raises ``BridgeNotFoundError`` when there is no ``bridge``."""
        # bridge_command() may run `bridge --version` to tell ours from iproute2's `bridge`.
        command = await asyncio.get_running_loop().run_in_executor(None, bridge_command)
        config_dir = tempfile.TemporaryDirectory(prefix="ahk_bridge-")
        try:
            path = os.path.join(config_dir.name, "bridge.config.json")
            with open(path, "w", encoding="utf-8") as f:
                json.dump(config, f, indent=2)
            argv = command + ["up", "--config", path, "--log-level", log_level, "--stop-on-stdin-close"]
            # The config file is the whole truth for the address; the token goes by environment
            # so it is not on a command line other users can read.
            env = {k: v for k, v in os.environ.items() if not k.startswith("BROKER_")}
            if token:
                env["BROKER_TOKEN"] = token
            kwargs: Dict[str, Any] = {}
            if sys.platform == "win32":
                # Its own process group: a Ctrl+C in our console is ours to handle; the host
                # stops when we close its stdin.
                kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP
            log.debug("starting the bridge host: %s", " ".join(argv))
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                **kwargs,
            )
        except BaseException:
            config_dir.cleanup()
            raise
        return cls(process, config_dir)

    @property
    def pid(self) -> int:
        """The host's process id."""
        return self.process.pid

    @property
    def returncode(self) -> Optional[int]:
        """The host's exit code, None while it runs."""
        return self.process.returncode

    def recent_output(self) -> str:
        """The host's last output lines, for error messages."""
        return "\n".join(self._recent)

    async def wait_exit(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the host to exit; True when it has."""
        done, _ = await asyncio.wait({self._exit_task}, timeout=timeout)
        return bool(done)

    async def drain_output(self) -> None:
        """Wait until the host's output has all been read (it has exited, or is about to)."""
        # The readers log their own failures and never raise (see forward_lines).
        await asyncio.gather(*self._readers)

    async def stop(self, timeout: float) -> None:
        """Close the host's stdin (it stops every script, then exits); kill it, with the
        processes under it, when it has not exited within ``timeout`` seconds."""
        self.serving = False
        if self.process.returncode is None:
            if self.process.stdin is not None:
                self.process.stdin.close()  # --stop-on-stdin-close: stop every script, then exit
            if not await self.wait_exit(timeout):
                log.warning("the bridge host did not stop within %ss; killing it and its scripts", timeout)
                await self.kill()
        await self.drain_output()
        log.info("bridge host stopped (exit code %s)", self.process.returncode)
        self._remove_config()

    async def kill(self) -> None:
        """Kill the host and every process under it: its own exit handler, which takes
        the scripts down, does not run when it is killed."""
        self.serving = False
        process = self.process
        if process.returncode is None:
            if sys.platform == "win32":
                try:
                    killer = await asyncio.create_subprocess_exec(
                        "taskkill", "/F", "/T", "/PID", str(process.pid),
                        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
                    )
                    await killer.wait()
                except OSError as err:
                    log.warning("taskkill failed: %s", err)
                descendants: List[int] = []
            else:
                descendants = await asyncio.get_running_loop().run_in_executor(None, _descendants, process.pid)
            try:
                process.kill()
            except ProcessLookupError:
                pass  # it exited between the check and the kill
            await process.wait()
            for pid in descendants:
                _kill_posix_tree(pid)
        self._remove_config()

    def forget_config(self) -> None:
        """Remove the config file; the host read it when it started."""
        self._remove_config()

    def _remove_config(self) -> None:
        if self._config_dir is not None:
            self._config_dir.cleanup()
            self._config_dir = None

    async def _forward(self, stream: asyncio.StreamReader) -> None:
        """Pass the host's output lines to logging (``message_broker.ahk_bridge.host``).
        Never raises: ``stop()`` waits for this, and output must not make it fail."""
        await forward_lines(stream, self._log_line, log, "the bridge host (pid %s)" % self.process.pid)

    def _log_line(self, text: str) -> None:
        if not text:
            return
        self._recent.append(text)
        # Text log lines are "<time> <LEVEL> <component>: <message> k=v ..."; the
        # summary on stdout is not a log line and goes out as INFO.
        parts = text.split(None, 2)
        level = _HOST_LEVELS.get(parts[1]) if len(parts) == 3 else None
        if level is None:
            host_log.info("%s", text)
        else:
            host_log.log(level, "%s", parts[2])

    async def _watch(self) -> int:
        code = await self.process.wait()
        if self.serving:
            await self.drain_output()
            log.error(
                "the bridge host (pid %s) exited unexpectedly with code %s; its scripts are gone:\n%s",
                self.process.pid, code, self.recent_output() or "(no output)",
            )
        return code


def _children_map() -> Dict[int, List[int]]:
    """Parent pid -> child pids, from /proc (Linux) or ``ps`` (other POSIX systems)."""
    children: Dict[int, List[int]] = {}
    if os.path.isdir("/proc/self"):
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % name, "rb") as f:
                    stat = f.read().decode("ascii", "replace")
            except OSError:
                continue  # the process exited while we listed /proc
            # The command name in parentheses may itself hold spaces and parentheses.
            fields = stat[stat.rfind(")") + 2:].split()
            if len(fields) > 1:
                children.setdefault(int(fields[1]), []).append(int(name))
        return children
    try:
        out = subprocess.run(["ps", "-A", "-o", "pid=,ppid="], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError) as err:
        log.warning("cannot list processes with ps (%s); killing the bridge host alone", err)
        return children
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
            children.setdefault(int(parts[1]), []).append(int(parts[0]))
    return children


def _descendants(pid: int) -> List[int]:
    """Every process under ``pid``: children, their children, and so on."""
    children = _children_map()
    found: List[int] = []
    pending = list(children.get(pid, []))
    while pending:
        child = pending.pop()
        found.append(child)
        pending.extend(children.get(child, []))
    return found


def _kill_posix_tree(pid: int) -> None:
    """SIGKILL ``pid``, and its whole process group when it leads one (the supervisor
    starts each script as a group leader, so this reaches what the script started)."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
    except OSError:
        pass  # already gone: exactly what we wanted
