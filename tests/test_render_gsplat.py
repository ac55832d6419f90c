"""gsplat (CUDA) against the torch rasterizer: same conventions, same images."""
from __future__ import annotations

import pytest
import torch

from engine.config import RenderConfig
from engine.render.scenes import random_scene
from engine.render.torch_raster import TorchRenderer
from engine.types import OrbitCamera


@pytest.mark.gpu
def test_gsplat_matches_torch():
    from engine.render.gsplat_backend import GsplatRenderer, gsplat_kernels

    if gsplat_kernels() is None:
        pytest.skip("gsplat's CUDA kernels did not build (is nvcc installed?)")
    frame = random_scene(300, seed=1)
    cam = OrbitCamera(yaw=20, pitch=-10, distance=2.0, fov_deg=40).camera(96, 80)
    cfg = RenderConfig()
    ref = TorchRenderer(cfg).render(frame, cam, background=(0.2, 0.3, 0.4))
    out = GsplatRenderer(cfg).render(frame.to("cuda"), cam, background=(0.2, 0.3, 0.4))
    assert (out.rgb.cpu() - ref.rgb).abs().max() < 1e-4
    assert (out.alpha.cpu() - ref.alpha).abs().max() < 1e-4
    # Gradients exist and agree in direction.
    f_cuda = frame.to("cuda")
    f_cuda.colors.requires_grad_()
    GsplatRenderer(cfg).render(f_cuda, cam).rgb.sum().backward()
    f_cpu = random_scene(300, seed=1)
    f_cpu.colors.requires_grad_()
    TorchRenderer(cfg).render(f_cpu, cam).rgb.sum().backward()
    assert torch.allclose(f_cuda.colors.grad.cpu(), f_cpu.colors.grad, atol=1e-3)
