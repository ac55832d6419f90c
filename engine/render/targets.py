"""Render targets for one image size, re-made only when the size changes (shared by the GL renderers)."""
from __future__ import annotations

from typing import Any, Callable, Generic, TypeVar

T = TypeVar("T")


class SizedTargets(Generic[T]):
    """Holds what make(size) returned — the value to use (framebuffers) and every GL object to release
    (framebuffers and their attachments) — until another size is asked for or release() is called."""

    def __init__(self, make: Callable[[tuple[int, int]], tuple[T, list[Any]]]) -> None:
        self._make = make
        self._size: tuple[int, int] | None = None
        self._value: T | None = None
        self._objects: list[Any] = []

    def get(self, width: int, height: int) -> T:
        if self._size != (width, height):
            self.release()
            self._value, self._objects = self._make((width, height))
            self._size = (width, height)
        return self._value  # type: ignore[return-value]

    def release(self) -> None:
        for obj in self._objects:
            obj.release()
        self._size, self._value, self._objects = None, None, []
