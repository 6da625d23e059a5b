from PySide2.QtCore import *  # noqa: F401,F403 - the stand-in re-exports QtCore whole
