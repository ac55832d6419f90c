"""gsplat's CUDA rasterizer behind the Renderer interface (same conventions as the torch renderer:
'classic' EWA, eps2d low-pass, 0.999 alpha clamp, 1e-4 transmittance stop)."""
from __future__ import annotations

import torch

from engine.config import RenderConfig
from engine.render.base import RenderOutput, Renderer
from engine.types import Camera, GaussianFrame


def gsplat_kernels() -> object | None:
    """gsplat's compiled CUDA extension, or None. The first call JIT-compiles it (minutes, needs nvcc);
    later calls hit gsplat's build cache."""
    try:
        from gsplat.cuda._backend import _C
    except Exception:
        return None
    return _C


class GsplatRenderer(Renderer):
    name = "gsplat"
    differentiable = True

    def __init__(self, config: RenderConfig | None = None) -> None:
        super().__init__(config)
        if not torch.cuda.is_available():
            raise RuntimeError("the gsplat renderer needs a CUDA GPU; use the torch renderer on the CPU")
        import gsplat

        self._rasterize = gsplat.rasterization

    def render(self, frame: GaussianFrame, camera: Camera,
               background: tuple[float, float, float] | None = None) -> RenderOutput:
        cfg = self.config
        dev, dtype = frame.means.device, frame.means.dtype
        if dev.type != "cuda":
            raise ValueError(f"the gsplat renderer needs the GaussianFrame on a CUDA device, got {dev}")
        bg = torch.tensor(self._background(background), dtype=dtype, device=dev)
        colors, alphas, _ = self._rasterize(
            frame.means, frame.quats, frame.scales, frame.opacities, frame.colors,
            camera.viewmat(dev, dtype)[None], torch.as_tensor(camera.K, dtype=dtype, device=dev)[None],
            camera.width, camera.height, near_plane=cfg.near, far_plane=cfg.far, eps2d=cfg.eps2d,
            tile_size=cfg.tile_size, backgrounds=bg[None], render_mode="RGB+ED", rasterize_mode="classic",
            packed=False)
        # colors [1, H, W, 4] (rgb composited over bg, expected depth); alphas [1, H, W, 1]
        alpha = alphas[0, ..., 0]
        depth = torch.where(alpha > 0, colors[0, ..., 3], torch.zeros_like(alpha))
        return RenderOutput(rgb=colors[0, ..., :3], alpha=alpha, depth=depth)
