"""Finding the command that runs our broker: ``BRIDGE_CMD``, ``bridge`` on PATH, or the
``bridge`` of the ahk-bridge checkout this package sits in."""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import List, Optional

from .errors import BridgeNotFoundError

INSTALL_HINT = (
    "MessageBroker and AHKBridge run ahk-bridge's `bridge` command (a Node.js 20+ program). "
    "Any one of these makes it found: "
    "(1) set BRIDGE_CMD to the command line that runs it, for example "
    "BRIDGE_CMD=\"node C:/ahk-bridge/dist/bridge/cli.js\"; "
    "(2) with an ahk-bridge checkout, install this package from it in editable mode, "
    "`pip install -e ./clients/python`, so that it finds the checkout's dist/bridge/cli.js "
    "(a plain `pip install ./clients/python` copies the package into site-packages, away from the checkout); "
    "(3) put `bridge` on PATH: `npm install -g .` in the checkout, or bridge.exe (the single-file build)."
)


def _split(command: str) -> List[str]:
    # Windows paths keep their backslashes; POSIX command lines follow shell quoting.
    return shlex.split(command, posix=os.name != "nt")


def _checkout_cli() -> Optional[Path]:
    """dist/bridge/cli.js of the ahk-bridge checkout around this package (clients/python/)."""
    here = Path(__file__).resolve().parent
    for parent in list(here.parents)[:4]:
        cli = parent / "dist" / "bridge" / "cli.js"
        if cli.is_file() and (parent / "package.json").is_file():
            return cli
    return None


def _unbuilt_checkout() -> Optional[Path]:
    """The ahk-bridge checkout this package sits in (as clients/python/), when it has no
    dist/bridge/cli.js yet; None when the package is elsewhere (site-packages)."""
    package = Path(__file__).resolve().parent
    root = package.parents[2] if len(package.parents) > 2 else None
    if root is None or package.parent.name != "python" or package.parent.parent.name != "clients":
        return None
    return root if (root / "package.json").is_file() else None


def _not_found_message() -> str:
    """Why no ``bridge`` was found, naming where this package is, and how to fix it."""
    checkout = _unbuilt_checkout()
    if checkout is not None:
        where = "the ahk-bridge checkout this package is in (%s) is not built: run `npm install` there (it builds dist/)" % checkout
    else:
        where = "this message_broker package (at %s) is not inside an ahk-bridge checkout" % Path(__file__).resolve().parent
    return "no ahk-bridge `bridge` to run: BRIDGE_CMD is not set, no `bridge` on PATH is ahk-bridge's, and %s. %s" % (where, INSTALL_HINT)


def _is_ahk_bridge(executable: str) -> bool:
    """True when ``executable --version`` prints a bare version, as ours does (Linux has an
    unrelated iproute2 ``bridge`` on PATH)."""
    try:
        out = subprocess.run([executable, "--version"], capture_output=True, text=True, timeout=15, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and re.fullmatch(r"\d+\.\d+\.\d+\S*", out.stdout.strip()) is not None


def _bridge_on_path() -> Optional[str]:
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        found = shutil.which("bridge", path=folder) if folder else None
        if found and _is_ahk_bridge(found):
            return found
    return None


def bridge_command() -> List[str]:
    """The argv prefix that runs ``bridge``; raises ``BridgeNotFoundError`` saying how to install it."""
    configured = os.environ.get("BRIDGE_CMD")
    if configured:
        argv = _split(configured)
        if not argv:
            raise BridgeNotFoundError("BRIDGE_CMD is set but empty. " + INSTALL_HINT)
        if shutil.which(argv[0]) is None and not Path(argv[0]).is_file():
            raise BridgeNotFoundError("BRIDGE_CMD=%r: %s was not found. %s" % (configured, argv[0], INSTALL_HINT))
        return argv
    on_path = _bridge_on_path()
    if on_path:
        return [on_path]
    cli = _checkout_cli()
    if cli is not None:
        node = shutil.which("node")
        if node is None:
            raise BridgeNotFoundError("found %s but no `node` on PATH. %s" % (cli, INSTALL_HINT))
        return [node, str(cli)]
    raise BridgeNotFoundError(_not_found_message())

