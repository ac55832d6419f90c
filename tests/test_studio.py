"""The studio window under a real display (Xvfb): the GL viewport draws the head and follows the mouse.

Run: xvfb-run -a -s "-screen 0 1280x800x24" env QT_QPA_PLATFORM=xcb python -m pytest tests/test_studio.py
"""
from __future__ import annotations

import os

import pytest

pytestmark = pytest.mark.gui

if os.environ.get("QT_QPA_PLATFORM") == "offscreen" or not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
    pytest.skip("the GL viewport needs a display (QOpenGLWidget gets no context offscreen): run under xvfb-run "
                "with QT_QPA_PLATFORM=xcb", allow_module_level=True)

from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QImage, QWheelEvent  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from engine.config import StudioConfig  # noqa: E402
from studio.viewport import set_default_gl_format  # noqa: E402

set_default_gl_format()  # before pytest-qt creates the QApplication

SETTLE_MS = 1000  # GL widgets under Xvfb grab black until a few frames have gone through


@pytest.fixture
def window(qtbot):
    from studio.app import MainWindow

    w = MainWindow(StudioConfig(demo_splats=5000))
    qtbot.addWidget(w)
    w.resize(640, 480)
    w.show()
    qtbot.waitExposed(w)
    qtbot.wait(SETTLE_MS)
    if w.viewport.error:
        pytest.fail(f"viewport has no GL: {w.viewport.error}")
    return w


def grab(viewport) -> QImage:
    return viewport.grabFramebuffer()


def differs(a: QImage, b: QImage) -> bool:
    return a.constBits().tobytes() != b.constBits().tobytes()


def drag(widget, start: QPoint, end: QPoint, button=Qt.MouseButton.LeftButton, steps: int = 5) -> None:
    QTest.mousePress(widget, button, Qt.KeyboardModifier.NoModifier, start)
    for k in range(1, steps + 1):
        QTest.mouseMove(widget, start + (end - start) * k / steps)
    QTest.mouseRelease(widget, button, Qt.KeyboardModifier.NoModifier, end)


def test_window_draws_the_head(window):
    assert QApplication.platformName() != "offscreen"
    assert window.windowTitle() == "HeadSplat Studio"
    img = grab(window.viewport)
    assert not img.isNull() and img.width() > 100
    centre = img.pixelColor(img.width() // 2, img.height() // 2)
    corner = img.pixelColor(img.width() - 2, img.height() - 2)
    assert centre != corner  # the face covers the centre, the background the corner
    assert centre.red() > centre.blue()  # skin, not the bluish-grey background


def test_left_drag_orbits(window, qtbot):
    vp = window.viewport
    before, yaw0 = grab(vp), vp.camera().yaw
    centre = QPoint(vp.width() // 2, vp.height() // 2)
    drag(vp, centre, centre + QPoint(80, 0))
    qtbot.wait(300)
    assert vp.camera().yaw == pytest.approx(yaw0 - 80 * 0.4)
    assert differs(grab(vp), before)


def test_right_drag_pans(window, qtbot):
    vp = window.viewport
    centre = QPoint(vp.width() // 2, vp.height() // 2)
    drag(vp, centre, centre + QPoint(50, 0), button=Qt.MouseButton.RightButton)
    assert vp.camera().target[0] < 0  # scene follows the cursor right: the target moves left
    assert vp.camera().yaw == 0


def test_wheel_zooms_and_reset_restores(window, qtbot):
    vp = window.viewport
    d0 = vp.camera().distance
    pos = QPointF(vp.width() / 2, vp.height() / 2)
    event = QWheelEvent(pos, vp.mapToGlobal(pos), QPoint(), QPoint(0, 240), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(vp, event)
    assert vp.camera().distance == pytest.approx(d0 * 0.81)  # two notches in
    window.reset_action.trigger()
    assert vp.camera().distance == pytest.approx(d0)
