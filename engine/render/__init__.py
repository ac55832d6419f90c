"""Gaussian renderers behind one interface (base.Renderer): torch (CPU, differentiable),
gsplat (CUDA, differentiable) and gl (moderngl, display)."""
from __future__ import annotations

from engine.config import RenderConfig
from engine.render.base import RenderOutput, Renderer

BACKENDS = ("torch", "gsplat", "gl")


def cuda_gsplat_available() -> bool:
    """True when torch sees a CUDA device and gsplat's CUDA kernels load (they JIT-compile with nvcc
    on first use; a machine with CUDA but no toolkit falls back to the torch rasterizer)."""
    import torch

    if not torch.cuda.is_available():
        return False
    from engine.render.gsplat_backend import gsplat_kernels

    return gsplat_kernels() is not None


def make_renderer(backend: str = "auto", config: RenderConfig | None = None, **kwargs) -> Renderer:
    """Build a renderer. "auto" picks gsplat when CUDA is usable, else the torch rasterizer."""
    config = config or RenderConfig()
    name = config.backend if backend == "auto" and config.backend != "auto" else backend
    if name == "auto":
        name = "gsplat" if cuda_gsplat_available() else "torch"
    if name == "torch":
        from engine.render.torch_raster import TorchRenderer
        return TorchRenderer(config, **kwargs)
    if name == "gsplat":
        from engine.render.gsplat_backend import GsplatRenderer
        return GsplatRenderer(config, **kwargs)
    if name == "gl":
        from engine.render.gl import GLRenderer
        return GLRenderer(config, **kwargs)
    raise ValueError(f"unknown renderer {name!r}; choose auto or one of {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "RenderOutput", "Renderer", "cuda_gsplat_available", "make_renderer"]
