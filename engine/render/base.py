"""The one renderer interface: GaussianFrame + Camera -> RenderOutput."""
from __future__ import annotations

import abc
from dataclasses import dataclass

import torch

from engine.config import RenderConfig
from engine.types import Camera, GaussianFrame


@dataclass
class RenderOutput:
    """rgb [H, W, 3] composited over the background; alpha [H, W] = 1 - final transmittance;
    depth [H, W] alpha-normalised expected camera z (0 where alpha is 0), or None if not produced."""

    rgb: torch.Tensor
    alpha: torch.Tensor
    depth: torch.Tensor | None = None


class Renderer(abc.ABC):
    """A Gaussian rasterizer. All renderers share camera and compositing conventions (engine.types)."""

    name: str = "?"
    differentiable: bool = False

    def __init__(self, config: RenderConfig | None = None) -> None:
        self.config = config or RenderConfig()

    @abc.abstractmethod
    def render(self, frame: GaussianFrame, camera: Camera,
               background: tuple[float, float, float] | None = None) -> RenderOutput:
        """Render one view. background defaults to config.background."""

    def close(self) -> None:
        """Release native resources (GL contexts); a no-op for tensor renderers."""

    def _background(self, background: tuple[float, float, float] | None) -> tuple[float, float, float]:
        return tuple(self.config.background if background is None else background)  # type: ignore[return-value]
