"""QApplication and QMainWindow without a display: a QCoreApplication and a QObject."""
from PySide2.QtCore import QCoreApplication, QObject


class QApplication(QCoreApplication):
    def exec(self) -> int:  # PySide6's name for exec_()
        return self.exec_()


class QMainWindow(QObject):
    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        pass
