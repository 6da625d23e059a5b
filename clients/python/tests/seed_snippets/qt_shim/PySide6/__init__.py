"""A stand-in for PySide6 on machines that only have PySide2 (Debian ships PySide2 5.15
with QtCore alone): the seed's Qt snippets import PySide6, and the tests run them as
written, headless. Only used when no real PySide6 is installed."""
