"""`pip install ./clients/python` works offline (no index, no download of build tools)
and gives a package that imports and runs from where it was installed."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile

import pytest

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def python_with_pip() -> str:
    for candidate in (sys.executable, shutil.which("python3"), shutil.which("python")):
        if candidate and subprocess.run([candidate, "-m", "pip", "--version"], capture_output=True).returncode == 0:
            return candidate
    raise AssertionError("no Python with pip on this machine to test `pip install ./clients/python` with")


def test_pip_install_works_offline_and_the_installed_package_runs(tmp_path):
    target = tmp_path / "site"
    pip = python_with_pip()
    out = subprocess.run(
        [pip, "-m", "pip", "install", "--no-index", "--no-cache-dir", "--disable-pip-version-check", "--target", str(target), PACKAGE_DIR],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    installed = sorted(p.name for p in (target / "message_broker").glob("*.py"))
    assert installed == sorted(p for p in os.listdir(os.path.join(PACKAGE_DIR, "message_broker")) if p.endswith(".py"))
    env = dict(os.environ, PYTHONPATH=str(target))
    check = subprocess.run(
        [sys.executable, "-c", "import message_broker, message_broker.ahk_bridge; print(message_broker.__file__, message_broker.__version__)"],
        cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=60,
    )
    assert check.returncode == 0, check.stderr
    where, version = check.stdout.split()
    assert where.startswith(str(target)) and version == "0.1.0"
    usage = subprocess.run([sys.executable, "-m", "message_broker", "--help"], cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=60)
    assert usage.returncode == 0 and "--port" in usage.stdout


def test_the_wheel_carries_metadata_with_the_qt_extra(tmp_path):
    sys.path.insert(0, os.path.join(PACKAGE_DIR, "_build"))
    try:
        import backend  # the in-tree PEP 517 backend
    finally:
        sys.path.pop(0)
    name = backend.build_wheel(str(tmp_path))
    with zipfile.ZipFile(tmp_path / name) as whl:
        metadata = whl.read("message_broker-0.1.0.dist-info/METADATA").decode()
        record = whl.read("message_broker-0.1.0.dist-info/RECORD").decode()
    assert "Requires-Python: >=3.9" in metadata
    assert 'Requires-Dist: PySide6; extra == "qt"' in metadata
    assert "message_broker/client.py,sha256=" in record
    with pytest.raises(KeyError):
        zipfile.ZipFile(tmp_path / name).getinfo("tests/conftest.py")


def _install(tmp_path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [python_with_pip(), "-m", "pip", "install", "--no-index", "--no-cache-dir", "--disable-pip-version-check", *args],
        capture_output=True, text=True, timeout=300, cwd=str(tmp_path),
    )


def _path_with_node_only(tmp_path) -> str:
    """A PATH that holds `node` and nothing else: no `bridge` of anyone's is found on it."""
    folder = tmp_path / "bin"
    folder.mkdir()
    node = shutil.which("node")
    if node is not None:
        os.symlink(node, str(folder / "node"))
    return str(folder)


START = (
    "import asyncio, sys\n"
    "from message_broker import BridgeNotFoundError, BrokerConfig, MessageBroker\n"
    "async def main():\n"
    "    broker = MessageBroker(BrokerConfig(host='127.0.0.1', port=0))\n"
    "    try:\n"
    "        await broker.start()\n"
    "    except BridgeNotFoundError as err:\n"
    "        print('BridgeNotFoundError:', err)\n"
    "        return\n"
    "    print('started', broker.port)\n"
    "    await broker.stop()\n"
    "asyncio.run(main())\n"
)


def test_a_plain_install_outside_the_checkout_says_how_to_find_bridge(tmp_path):
    target = tmp_path / "site"
    out = _install(tmp_path, "--target", str(target), PACKAGE_DIR)
    assert out.returncode == 0, out.stdout + out.stderr
    env = {k: v for k, v in os.environ.items() if k != "BRIDGE_CMD"}
    env.update(PYTHONPATH=str(target), PATH=_path_with_node_only(tmp_path))
    run = subprocess.run([sys.executable, "-c", START], cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    message = run.stdout
    assert message.startswith("BridgeNotFoundError:"), message
    # Where the package is, and each way out: BRIDGE_CMD, an editable install, bridge on PATH.
    assert str(target / "message_broker") in message
    assert "BRIDGE_CMD=" in message and "pip install -e ./clients/python" in message and "npm install -g ." in message


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run the checkout's bridge")
def test_an_editable_install_runs_the_checkouts_bridge(tmp_path):
    checkout_cli = os.path.join(os.path.dirname(os.path.dirname(PACKAGE_DIR)), "dist", "bridge", "cli.js")
    assert os.path.isfile(checkout_cli), "build the checkout first (npm run build)"
    prefix = tmp_path / "prefix"
    out = _install(tmp_path, "--prefix", str(prefix), "-e", PACKAGE_DIR)
    assert out.returncode == 0, out.stdout + out.stderr
    # The editable install is a .pth file in the prefix's site-packages; addsitedir reads it
    # as the interpreter does for its own site-packages.
    (site_dir,) = [str(p.parent) for p in prefix.rglob("message_broker.pth")]
    env = {k: v for k, v in os.environ.items() if k not in ("BRIDGE_CMD", "PYTHONPATH")}
    env["PATH"] = _path_with_node_only(tmp_path)
    code = "import site; site.addsitedir(%r)\n" % site_dir + START
    run = subprocess.run([sys.executable, "-c", code], cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("started "), run.stdout + run.stderr


def test_a_checkout_not_built_yet_is_named(tmp_path):
    checkout = tmp_path / "ahk-bridge"
    shutil.copytree(os.path.join(PACKAGE_DIR, "message_broker"), str(checkout / "clients" / "python" / "message_broker"))
    (checkout / "package.json").write_text('{"name": "ahk-bridge"}')
    env = {k: v for k, v in os.environ.items() if k != "BRIDGE_CMD"}
    env.update(PYTHONPATH=str(checkout / "clients" / "python"), PATH=_path_with_node_only(tmp_path))
    run = subprocess.run([sys.executable, "-c", START], cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("BridgeNotFoundError:") and "(%s) is not built: run `npm install` there" % checkout in run.stdout, run.stdout
