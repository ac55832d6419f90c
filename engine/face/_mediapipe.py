"""Lazy, quiet, thread-safe access to mediapipe's legacy solution graphs (the 0.10.x ones whose models
ship inside the wheel).

mediapipe is imported on first use only: it pulls OpenCV, whose import points Qt at OpenCV's own plugin
folder (see STACK.md). When a graph starts, mediapipe's native code prints a few lines of start-up
chatter (TFLite's XNNPACK notice, absl's pre-init warning, two harmless calculator warnings) straight to
file descriptor 2; GLOG_minloglevel no longer reaches them. Graph start-up therefore runs with fd 2
routed through a temporary file, and every line that is not that known chatter is written back to
stderr afterwards. Set HEADSPLAT_MEDIAPIPE_LOGS=1 to switch the filter off (a hard crash inside the
filtered window would otherwise lose its last words).
"""
from __future__ import annotations

import functools
import os
import re
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")
SHOW_LOGS_ENV = "HEADSPLAT_MEDIAPIPE_LOGS"
_CHATTER = re.compile(
    r"Created TensorFlow Lite XNNPACK delegate"
    r"|All log messages before absl::InitializeLog\(\) is called"
    r"|inference_feedback_manager\.cc:\d+\] Feedback manager requires a model with a single signature"
    r"|landmark_projection_calculator\.cc:\d+\] Using NORM_RECT without IMAGE_DIMENSIONS")
_FD2_LOCK = threading.Lock()  # fd 2 is process-wide: one redirection at a time


@contextmanager
def _filtered_stderr() -> Iterator[None]:
    """Run the body with fd 2 captured; afterwards write back every line that is not known chatter.
    Other threads' stderr output during the body is delayed, not lost."""
    if os.environ.get(SHOW_LOGS_ENV):
        yield
        return
    with _FD2_LOCK, tempfile.TemporaryFile() as captured:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [line for line in captured.read().decode(errors="replace").splitlines(keepends=True)
                    if not _CHATTER.search(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


@functools.cache
def solutions() -> ModuleType:
    """mediapipe.solutions, imported on first use (this also imports cv2)."""
    from mediapipe.python import solutions as mp_solutions

    return mp_solutions


class Graph:
    """One mediapipe solution graph (FaceMesh, FaceDetection, SelfieSegmentation ...): built on first
    use and reused, since building and starting one costs ~100 ms against a few ms per image. Calls are
    serialised by a lock because a graph is not re-entrant. close() frees it; a later call rebuilds."""

    def __init__(self, build: Callable[[ModuleType], Any]) -> None:
        self._build = build
        self._graph: Any = None
        self._lock = threading.Lock()

    def run(self, image: np.ndarray, read: Callable[[Any], T]) -> T:
        """process() one contiguous uint8 RGB image [H, W, 3]; read(result) runs under the lock, so it
        may look at buffers the graph owns (copy what you keep)."""
        with self._lock:
            if self._graph is None:
                with _filtered_stderr():  # the chatter comes from construction and the first run
                    self._graph = self._build(solutions())
                    return read(self._graph.process(image))
            return read(self._graph.process(image))

    def close(self) -> None:
        with self._lock:
            if self._graph is not None:
                self._graph.close()
                self._graph = None
