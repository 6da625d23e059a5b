"""The Qt binding ``qt_client`` is built on: PySide6, PySide2 or PyQt5.

``QT_API`` (``pyside6``, ``pyside2`` or ``pyqt5``, any case) forces one, as qtpy and
matplotlib read it. Otherwise a binding the application has already imported is used,
since QObjects of two bindings cannot be mixed (a ``parent`` from PyQt5 is not a PySide6
QObject); failing that, the first of PySide6, PySide2, PyQt5 that imports.
"""
from __future__ import annotations

import importlib
import os
import sys
from types import ModuleType
from typing import Any, List, Tuple

#: Preference order when nothing forces or has already chosen a binding.
BINDINGS: Tuple[str, ...] = ("PySide6", "PySide2", "PyQt5")
_BY_ENV = {name.lower(): name for name in BINDINGS}


def _install_hint(tried: List[str]) -> str:
    return (
        "message_broker.qt_client needs a Qt binding: PySide6, PySide2 or PyQt5 "
        "(pip install PySide6, or pip install message_broker[qt]). Tried: %s" % "; ".join(tried)
    )


def _choose() -> Tuple[str, ModuleType]:
    forced = os.environ.get("QT_API", "").strip().lower()
    if forced:
        if forced not in _BY_ENV:
            raise ImportError(
                "QT_API=%r is not a binding message_broker.qt_client supports; "
                "use pyside6, pyside2 or pyqt5 (or unset QT_API to pick the first installed)" % forced
            )
        candidates: Tuple[str, ...] = (_BY_ENV[forced],)
    else:
        already = tuple(name for name in BINDINGS if sys.modules.get(name + ".QtCore") is not None)
        candidates = already[:1] or BINDINGS
    tried: List[str] = []
    for name in candidates:
        try:
            return name, importlib.import_module(name + ".QtCore")
        except ImportError as exc:
            tried.append("%s (%s)" % (name, exc))
    if forced:
        raise ImportError("QT_API=%s, but %s" % (forced, _install_hint(tried)))
    raise ImportError(_install_hint(tried))


#: The binding in use: "PySide6", "PySide2" or "PyQt5".
API, QtCore = _choose()

QObject: Any = QtCore.QObject
Qt: Any = QtCore.Qt
if API == "PyQt5":
    Signal: Any = QtCore.pyqtSignal
    Slot: Any = QtCore.pyqtSlot
else:
    Signal = QtCore.Signal
    Slot = QtCore.Slot
# Newer bindings only have the scoped enum name; older ones only the flat one.
QUEUED_CONNECTION: Any = getattr(Qt, "QueuedConnection", None) or Qt.ConnectionType.QueuedConnection

__all__ = ["API", "BINDINGS", "QObject", "QUEUED_CONNECTION", "Qt", "QtCore", "Signal", "Slot"]
