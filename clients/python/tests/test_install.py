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
