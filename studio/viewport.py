"""The 3D viewport: a QOpenGLWidget that draws Gaussians with the engine's moderngl renderer."""
from __future__ import annotations

import math
import time
from dataclasses import replace

import moderngl
import numpy as np
from PySide6.QtCore import QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QMouseEvent, QSurfaceFormat, QWheelEvent
from PySide6.QtOpenGLWidgets import QOpenGLWidget
from PySide6.QtWidgets import QLabel, QWidget

from engine.config import RenderConfig, StudioConfig
from engine.render.gl import GLRenderer
from engine.types import GaussianFrame, OrbitCamera

GL_VERSION = (4, 3)  # the GL renderer's storage buffers need 4.3 core

HOME_VIEW = OrbitCamera(target=(0.0, 0.0, 0.0), yaw=0.0, pitch=0.0, distance=0.6, fov_deg=30.0)
ORBIT_DEG_PER_PX = 0.4
PITCH_LIMIT = 89.0
ZOOM_PER_NOTCH = 0.9  # distance factor per wheel notch (120 eighths of a degree)
DISTANCE_RANGE = (0.05, 50.0)


def set_default_gl_format() -> None:
    """Ask for a GL 4.3 core context for every GL widget. Must run before the QApplication exists
    (mandatory on macOS, harmless elsewhere)."""
    fmt = QSurfaceFormat()
    fmt.setVersion(*GL_VERSION)
    fmt.setProfile(QSurfaceFormat.OpenGLContextProfile.CoreProfile)
    fmt.setDepthBufferSize(0)  # splats are sorted, not depth-tested
    QSurfaceFormat.setDefaultFormat(fmt)


class SplatViewport(QOpenGLWidget):
    """Orbit view of a GaussianFrame. Left-drag orbits, right/middle-drag pans, the wheel zooms;
    reset_view() goes back to the front view. Renders on demand (camera change, new frame, resize)."""

    cameraChanged = Signal(object)  # OrbitCamera
    glFailed = Signal(str)  # readable reason; the viewport stays blank

    def __init__(self, frame: GaussianFrame | None = None, config: StudioConfig | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.config = config or StudioConfig()
        self._frame = frame
        self._frame_dirty = frame is not None
        self._orbit = HOME_VIEW
        self._renderer: GLRenderer | None = None  # created with (and bound to) Qt's GL context
        self._ctx: moderngl.Context | None = None
        self._drag_pos: QPointF | None = None
        self._drag_button = Qt.MouseButton.NoButton
        self._frame_s: float | None = None  # smoothed paint time
        self.error: str | None = None
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(160, 120)
        self._overlay = QLabel(self)  # fps overlay: a child widget, so no QPainter mixes with moderngl
        self._overlay.setStyleSheet("color: #e8e8e8; background: rgba(0, 0, 0, 110); padding: 2px 6px;"
                                    "font: 11px monospace;")
        self._overlay.move(8, 8)
        self._overlay.hide()

    # --- public API ---
    def camera(self) -> OrbitCamera:
        return self._orbit

    def set_camera(self, orbit: OrbitCamera) -> None:
        pitch = max(-PITCH_LIMIT, min(PITCH_LIMIT, orbit.pitch))
        distance = max(DISTANCE_RANGE[0], min(DISTANCE_RANGE[1], orbit.distance))
        self._orbit = replace(orbit, pitch=pitch, distance=distance)
        self.cameraChanged.emit(self._orbit)
        self.update()

    def reset_view(self) -> None:
        self.set_camera(HOME_VIEW)

    def set_frame(self, frame: GaussianFrame) -> None:
        """Show new Gaussians (uploaded on the next paint, when the GL context is current)."""
        self._frame = frame
        self._frame_dirty = True
        self.update()

    # --- GL ---
    def initializeGL(self) -> None:
        try:
            self._ctx = moderngl.create_context()  # wraps Qt's current context
            self._renderer = GLRenderer(RenderConfig(background=self.config.viewport_background), ctx=self._ctx)
        except Exception as exc:  # no usable GL: say why instead of a traceback
            self._fail(f"The 3D view cannot start: {exc}")
            return
        # Free the GL objects while Qt's context still exists (widget closed or reparented).
        self.context().aboutToBeDestroyed.connect(self._release_gl)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        QTimer.singleShot(0, self._check_context)  # Qt has tried to create the context by now

    def _check_context(self) -> None:
        if self.error is None and not self.isValid():  # initializeGL never ran
            self._fail(f"No OpenGL context on the Qt platform '{QGuiApplication.platformName()}': the 3D "
                       "view needs a display with OpenGL 4.3 (without one, run under xvfb-run).")

    def paintGL(self) -> None:
        if self._renderer is None:  # GL failed; the overlay says why
            return
        start = time.perf_counter()
        if self._frame_dirty and self._frame is not None:
            self._renderer.set_frame(self._frame)
            self._frame_dirty = False
        dpr = self.devicePixelRatioF()
        cam = self._orbit.camera(max(1, round(self.width() * dpr)), max(1, round(self.height() * dpr)))
        fbo = self._ctx.detect_framebuffer(self.defaultFramebufferObject())
        self._renderer.draw(cam, fbo=fbo, opaque=True)
        self._ctx.finish()  # so the timing covers the GPU work, not just its submission
        self._record_time(time.perf_counter() - start)

    def _record_time(self, seconds: float) -> None:
        self._frame_s = seconds if self._frame_s is None else 0.8 * self._frame_s + 0.2 * seconds
        fps = 1.0 / max(self._frame_s, 1e-6)
        n = len(self._renderer)
        self._overlay.setText(f"{fps:5.1f} fps · {n:,} splats")
        self._overlay.adjustSize()
        self._overlay.show()

    def _fail(self, message: str) -> None:
        self.error = message
        self._overlay.setText(message)
        self._overlay.setWordWrap(True)
        self._overlay.setFixedWidth(max(160, self.width() - 16))
        self._overlay.adjustSize()
        self._overlay.show()
        self.glFailed.emit(message)

    def _release_gl(self) -> None:
        if self._renderer is not None:
            self.makeCurrent()
            self._renderer.close()
            self._renderer = None
            self._frame_dirty = self._frame is not None  # a new context needs a new upload
            self.doneCurrent()

    # --- interaction ---
    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._drag_pos = event.position()
        self._drag_button = event.button()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == self._drag_button:
            self._drag_pos, self._drag_button = None, Qt.MouseButton.NoButton

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag_pos is None:
            return
        pos = event.position()
        dx, dy = pos.x() - self._drag_pos.x(), pos.y() - self._drag_pos.y()
        self._drag_pos = pos
        o = self._orbit
        if self._drag_button == Qt.MouseButton.LeftButton:
            # Grab-the-object feel: dragging right turns the face right (camera goes left).
            self.set_camera(replace(o, yaw=(o.yaw - dx * ORBIT_DEG_PER_PX + 180.0) % 360.0 - 180.0,
                                    pitch=o.pitch + dy * ORBIT_DEG_PER_PX))
        elif self._drag_button in (Qt.MouseButton.RightButton, Qt.MouseButton.MiddleButton):
            self.set_camera(replace(o, target=self._panned_target(dx, dy)))

    def _panned_target(self, dx: float, dy: float) -> tuple[float, float, float]:
        """Move the target in the camera plane so the point at the target follows the cursor."""
        rows = self._orbit.camera(self.width(), self.height()).world_to_cam[:3, :3]  # right, down, forward
        metres_per_px = 2.0 * self._orbit.distance * math.tan(math.radians(self._orbit.fov_deg) / 2) / self.height()
        shift = -(dx * rows[0] + dy * rows[1]) * metres_per_px
        return tuple(float(v) for v in np.asarray(self._orbit.target) + shift)

    def wheelEvent(self, event: QWheelEvent) -> None:
        notches = event.angleDelta().y() / 120.0
        self.set_camera(replace(self._orbit, distance=self._orbit.distance * ZOOM_PER_NOTCH ** notches))
