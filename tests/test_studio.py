"""The studio: the GL viewport draws the head and follows the mouse (gui: needs a display with
OpenGL, e.g. xvfb-run -a -s "-screen 0 1280x800x24" env QT_QPA_PLATFORM=xcb python -m pytest
tests/test_studio.py; tests/conftest.py skips them elsewhere), and start-up without a display."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QImage, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from engine.config import StudioConfig
from studio import app
from studio.viewport import ORBIT_DEG_PER_PX, PITCH_LIMIT, ZOOM_PER_NOTCH, SplatViewport, set_default_gl_format

set_default_gl_format()  # before pytest-qt creates the QApplication

SETTLE_MS = 1000  # GL widgets under Xvfb grab black until a few frames have gone through


@pytest.fixture
def window(qtbot):
    w = app.MainWindow(StudioConfig(demo_splats=5000))
    qtbot.addWidget(w)
    w.resize(640, 480)
    w.show()
    qtbot.waitExposed(w)
    qtbot.wait(SETTLE_MS)
    if w.viewport.error:
        pytest.fail(f"viewport has no GL: {w.viewport.error}")
    return w


def differs(a: QImage, b: QImage) -> bool:
    return a.constBits().tobytes() != b.constBits().tobytes()


def drag(widget, start: QPoint, end: QPoint, button=Qt.MouseButton.LeftButton, steps: int = 5) -> None:
    QTest.mousePress(widget, button, Qt.KeyboardModifier.NoModifier, start)
    for k in range(1, steps + 1):
        QTest.mouseMove(widget, start + (end - start) * k / steps)
    QTest.mouseRelease(widget, button, Qt.KeyboardModifier.NoModifier, end)


@pytest.mark.gui
def test_window_draws_the_head(window):
    assert QApplication.platformName() != "offscreen"
    assert window.windowTitle() == "HeadSplat Studio"
    img = window.viewport.grabFramebuffer()
    assert not img.isNull() and img.width() > 100
    centre = img.pixelColor(img.width() // 2, img.height() // 2)
    corner = img.pixelColor(img.width() - 2, img.height() - 2)
    assert centre != corner  # the face covers the centre, the background the corner
    assert centre.red() > centre.blue()  # skin, not the bluish-grey background


@pytest.mark.gui
def test_left_drag_orbits(window, qtbot):
    vp = window.viewport
    before, yaw0 = vp.grabFramebuffer(), vp.camera().yaw
    centre = QPoint(vp.width() // 2, vp.height() // 2)
    drag(vp, centre, centre + QPoint(80, 0))
    qtbot.wait(300)
    assert vp.camera().yaw == pytest.approx(yaw0 - 80 * ORBIT_DEG_PER_PX)  # dragging right turns the face right
    assert differs(vp.grabFramebuffer(), before)


@pytest.mark.gui
def test_right_drag_pans(window):
    vp = window.viewport
    centre = QPoint(vp.width() // 2, vp.height() // 2)
    drag(vp, centre, centre + QPoint(50, 0), button=Qt.MouseButton.RightButton)
    assert vp.camera().target[0] < 0  # scene follows the cursor right: the target moves left
    assert vp.camera().yaw == 0


@pytest.mark.gui
def test_wheel_zooms_and_reset_restores(window):
    vp = window.viewport
    d0 = vp.camera().distance
    pos = QPointF(vp.width() / 2, vp.height() / 2)
    event = QWheelEvent(pos, vp.mapToGlobal(pos), QPoint(), QPoint(0, 240), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(vp, event)
    assert vp.camera().distance == pytest.approx(d0 * ZOOM_PER_NOTCH ** 2)  # two notches in
    window.reset_action.trigger()
    assert vp.camera().distance == pytest.approx(d0)


def test_pitch_is_clamped(qtbot):
    """No GL needed: the camera logic works on a viewport that was never shown."""
    vp = SplatViewport()
    qtbot.addWidget(vp)
    centre = QPoint(80, 60)
    drag(vp, centre, centre + QPoint(0, 1000))  # 400 degrees of pitch asked for
    assert vp.camera().pitch == PITCH_LIMIT
    assert vp.camera().yaw == 0


def test_no_display_exits_with_a_hint(monkeypatch, capsys):
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(app.sys, "platform", "linux")
    assert app.main([]) == 2
    assert "xvfb-run" in capsys.readouterr().err


@pytest.mark.gui
def test_screenshot_option(qapp, tmp_path):
    shot = tmp_path / "shot.png"
    assert app.main(["--screenshot", str(shot), "--size", "480x360"]) == 0
    img = QImage(str(shot))
    assert (img.width(), img.height()) == (480, 360)
