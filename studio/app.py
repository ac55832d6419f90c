"""HeadSplat Studio's main window and the `headsplat-studio` entry point."""
from __future__ import annotations

import argparse
import os
import sys

from PySide6.QtCore import QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow, QToolBar

from engine.config import StudioConfig
from engine.render.scenes import demo_head
from engine.types import OrbitCamera
from studio.viewport import SplatViewport, set_default_gl_format

HEADLESS_HINT = """HeadSplat Studio needs a display, and none was found (DISPLAY, WAYLAND_DISPLAY and
QT_QPA_PLATFORM are all unset). On a machine without one, run it under a virtual X server:

    xvfb-run -a -s "-screen 0 1280x800x24" headsplat-studio --screenshot shot.png

or check the installation without any window: headsplat doctor"""

SCREENSHOT_DELAY_MS = 1500  # earlier grabs of a GL widget under Xvfb can come back black


class MainWindow(QMainWindow):
    """The studio window: the 3D viewport (showing the demo head for now), a toolbar, a status bar."""

    def __init__(self, config: StudioConfig | None = None) -> None:
        super().__init__()
        config = config or StudioConfig()
        self.setWindowTitle("HeadSplat Studio")
        self.viewport = SplatViewport(demo_head(config.demo_splats), config)
        self.setCentralWidget(self.viewport)

        toolbar = QToolBar("View", self)
        toolbar.setObjectName("view-toolbar")
        self.reset_action = QAction("Reset view", self)
        self.reset_action.setShortcut(QKeySequence("F"))
        self.reset_action.setStatusTip("Look at the head from the front (F)")
        self.reset_action.triggered.connect(self.viewport.reset_view)
        toolbar.addAction(self.reset_action)
        self.addToolBar(toolbar)

        self._camera_label = QLabel()
        self.statusBar().addPermanentWidget(self._camera_label)
        self.viewport.cameraChanged.connect(self._show_camera)
        self.viewport.glFailed.connect(self.statusBar().showMessage)
        self._show_camera(self.viewport.camera())
        self.statusBar().showMessage("Left-drag: orbit · right/middle-drag: pan · wheel: zoom · F: reset view")

    def _show_camera(self, orbit: OrbitCamera) -> None:
        self._camera_label.setText(f"yaw {orbit.yaw:+.0f}°  pitch {orbit.pitch:+.0f}°  distance {orbit.distance:.2f} m")


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, e.g. 1280x800, got {text!r}") from None
    if w < 160 or h < 120:
        raise argparse.ArgumentTypeError(f"window size {w}x{h} is too small (at least 160x120)")
    return w, h


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="headsplat-studio", description="HeadSplat Studio: portrait to 3D talking head.")
    p.add_argument("--screenshot", metavar="PATH", help="save a PNG of the window after start-up, then exit")
    p.add_argument("--size", type=_size, default=(1280, 800), metavar="WxH", help="window size (default 1280x800)")
    return p.parse_args(argv)


def display_available() -> bool:
    """False on Linux/BSD when Qt would find no display to open and no platform was chosen."""
    if not sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return True
    return any(os.environ.get(k) for k in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not display_available():
        print(HEADLESS_HINT, file=sys.stderr)
        return 2

    set_default_gl_format()  # before the QApplication exists
    app = QApplication.instance() or QApplication(["headsplat-studio"])
    window = MainWindow()
    window.resize(*args.size)
    window.show()

    if args.screenshot:
        def shoot() -> None:
            ok = window.grab().save(args.screenshot, "PNG")
            if window.viewport.error:
                print(f"headsplat-studio: {window.viewport.error}", file=sys.stderr)
            if not ok:
                print(f"headsplat-studio: could not write {args.screenshot}", file=sys.stderr)
            app.exit(0 if ok and not window.viewport.error else 1)
        QTimer.singleShot(SCREENSHOT_DELAY_MS, shoot)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
