"""Shared test set-up: Qt platform choice, and skipping gui/gpu tests where they cannot run."""
from __future__ import annotations

import os

import pytest

# Without a display Qt runs offscreen (non-GL widgets work); GL widgets need a real X server (Xvfb).
if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _has_display() -> bool:
    return bool(os.environ.get("DISPLAY")) and os.environ.get("QT_QPA_PLATFORM", "xcb") != "offscreen"


def _has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    no_display = pytest.mark.skip(reason="needs a display with OpenGL: run under xvfb-run (installer/setup.sh test does)")
    no_cuda = pytest.mark.skip(reason="needs a CUDA GPU")
    display, cuda = _has_display(), None
    for item in items:
        if "gui" in item.keywords and not display:
            item.add_marker(no_display)
        if "gpu" in item.keywords:
            cuda = _has_cuda() if cuda is None else cuda
            if not cuda:
                item.add_marker(no_cuda)
