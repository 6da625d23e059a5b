"""A PEP 517 build backend with no dependencies, so ``pip install ./clients/python`` works
offline: pip's isolated build would otherwise have to download setuptools first.

It builds a pure-Python wheel of ``message_broker`` (and an editable one for
``pip install -e``), and an sdist. Version and metadata are read from pyproject.toml.
"""
from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile
from typing import Dict, List, Optional, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "message_broker"


def _project() -> Dict[str, str]:
    """name, version, description and requires-python from pyproject.toml's [project]."""
    with open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8") as f:
        text = f.read()
    section = text.split("[project]", 1)[1].split("\n[", 1)[0]
    fields = dict(re.findall(r'^([a-z-]+)\s*=\s*"([^"]*)"', section, re.M))
    return fields


def _metadata() -> str:
    p = _project()
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    return (
        "Metadata-Version: 2.1\n"
        "Name: %s\nVersion: %s\nSummary: %s\nRequires-Python: %s\nLicense: MIT\n"
        "Provides-Extra: qt\nRequires-Dist: PySide6; extra == \"qt\"\n"
        "Description-Content-Type: text/markdown\n\n%s"
    ) % (p["name"], p["version"], p["description"], p["requires-python"], readme)


def _dist_info() -> str:
    p = _project()
    return "%s-%s.dist-info" % (p["name"], p["version"])


def _wheel_name() -> str:
    p = _project()
    return "%s-%s-py3-none-any.whl" % (p["name"], p["version"])


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (path, digest, len(data))


def _write_wheel(directory: str, files: List[Tuple[str, bytes]]) -> str:
    info = _dist_info()
    files = files + [
        ("%s/METADATA" % info, _metadata().encode("utf-8")),
        ("%s/WHEEL" % info, b"Wheel-Version: 1.0\nGenerator: message_broker _build\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
        ("%s/top_level.txt" % info, ("%s\n" % PACKAGE).encode()),
    ]
    record = [_record_line(path, data) for path, data in files] + ["%s/RECORD,," % info]
    name = _wheel_name()
    with zipfile.ZipFile(os.path.join(directory, name), "w", zipfile.ZIP_DEFLATED) as whl:
        for path, data in files:
            whl.writestr(path, data)
        whl.writestr("%s/RECORD" % info, "\n".join(record) + "\n")
    return name


def _package_files() -> List[Tuple[str, bytes]]:
    out = []
    src = os.path.join(ROOT, PACKAGE)
    for name in sorted(os.listdir(src)):
        if name.endswith(".py"):
            with open(os.path.join(src, name), "rb") as f:
                out.append(("%s/%s" % (PACKAGE, name), f.read()))
    return out


def get_requires_for_build_wheel(config_settings: Optional[dict] = None) -> List[str]:
    return []


def get_requires_for_build_sdist(config_settings: Optional[dict] = None) -> List[str]:
    return []


def get_requires_for_build_editable(config_settings: Optional[dict] = None) -> List[str]:
    return []


def prepare_metadata_for_build_wheel(metadata_directory: str, config_settings: Optional[dict] = None) -> str:
    info = os.path.join(metadata_directory, _dist_info())
    os.makedirs(info, exist_ok=True)
    with open(os.path.join(info, "METADATA"), "w", encoding="utf-8") as f:
        f.write(_metadata())
    return _dist_info()


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel


def build_wheel(wheel_directory: str, config_settings: Optional[dict] = None, metadata_directory: Optional[str] = None) -> str:
    return _write_wheel(wheel_directory, _package_files())


def build_editable(wheel_directory: str, config_settings: Optional[dict] = None, metadata_directory: Optional[str] = None) -> str:
    # A .pth line puts this folder on sys.path: edits to the sources take effect at once.
    return _write_wheel(wheel_directory, [("%s.pth" % PACKAGE, (ROOT + "\n").encode("utf-8"))])


def build_sdist(sdist_directory: str, config_settings: Optional[dict] = None) -> str:
    p = _project()
    base = "%s-%s" % (p["name"], p["version"])
    name = base + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz") as tar:
        for rel in ["pyproject.toml", "README.md", "_build/backend.py"] + [path for path, _ in _package_files()]:
            tar.add(os.path.join(ROOT, rel), arcname="%s/%s" % (base, rel))
        pkg_info = _metadata().encode("utf-8")
        ti = tarfile.TarInfo("%s/PKG-INFO" % base)
        ti.size = len(pkg_info)
        tar.addfile(ti, io.BytesIO(pkg_info))
    return name
