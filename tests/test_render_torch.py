"""The torch tiled rasterizer against an independent brute-force reference, gradients, and fitting."""
from __future__ import annotations


import pytest
import torch

from engine.config import RenderConfig
from engine.render import make_renderer
from engine.render.torch_raster import TorchRenderer
from engine.render.scenes import random_scene
from engine.types import Camera, GaussianFrame, OrbitCamera


def reference_render(frame: GaussianFrame, cam: Camera, bg, cfg: RenderConfig):
    """Dense brute force: every Gaussian at every pixel, no tiles, a plain per-pixel loop over depth
    order. Written from the 3DGS equations independently of engine.render.projection."""
    dt = torch.float64
    W = torch.as_tensor(cam.world_to_cam, dtype=dt)
    p = frame.means.to(dt) @ W[:3, :3].T + W[:3, 3]
    q = frame.quats.to(dt)
    q = q / q.norm(dim=1, keepdim=True)
    out = []
    for i in range(len(frame)):
        w, x, y, z = q[i].tolist()
        R = torch.tensor([[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                          [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                          [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]], dtype=dt)
        S = torch.diag(frame.scales[i].to(dt))
        cov = W[:3, :3] @ R @ S @ S @ R.T @ W[:3, :3].T
        X, Y, Z = p[i].tolist()
        if Z < cfg.near:
            continue
        limx = 1.3 * 0.5 * cam.width / cam.fx  # frustum clamp for the Jacobian (cx = w/2 here)
        limy = 1.3 * 0.5 * cam.height / cam.fy
        tx, ty = Z * max(-limx, min(limx, X / Z)), Z * max(-limy, min(limy, Y / Z))
        J = torch.tensor([[cam.fx / Z, 0, -cam.fx * tx / Z ** 2], [0, cam.fy / Z, -cam.fy * ty / Z ** 2]], dtype=dt)
        c2 = J @ cov @ J.T + cfg.eps2d * torch.eye(2, dtype=dt)
        mu = torch.tensor([cam.fx * X / Z + cam.cx, cam.fy * Y / Z + cam.cy], dtype=dt)
        out.append((Z, mu, torch.linalg.inv(c2), float(frame.opacities[i]), frame.colors[i].to(dt)))
    out.sort(key=lambda e: e[0])
    ys, xs = torch.meshgrid(torch.arange(cam.height, dtype=dt) + 0.5, torch.arange(cam.width, dtype=dt) + 0.5, indexing="ij")
    T = torch.ones(cam.height, cam.width, dtype=dt)
    C = torch.zeros(cam.height, cam.width, 3, dtype=dt)
    live = torch.ones(cam.height, cam.width, dtype=torch.bool)
    for Z, mu, inv, o, col in out:
        d = torch.stack([xs - mu[0], ys - mu[1]], -1)
        power = -0.5 * torch.einsum("hwi,ij,hwj->hw", d, inv, d)
        a = torch.clamp(o * torch.exp(power), max=cfg.alpha_max)
        a = torch.where((power <= 0) & (a >= cfg.alpha_min) & live, a, torch.zeros_like(a))
        nxt = T * (1 - a)
        stop = nxt <= cfg.transmittance_min
        a = torch.where(stop, torch.zeros_like(a), a)
        live &= ~stop
        C += (a * T)[..., None] * col
        T = T * (1 - a)
    rgb = C + T[..., None] * torch.tensor(bg, dtype=dt)
    return rgb, 1 - T


def scene_camera(w=80, h=64, yaw=20.0, pitch=-10.0):
    return OrbitCamera(yaw=yaw, pitch=pitch, distance=2.0, fov_deg=40.0).camera(w, h)


def test_matches_brute_force_reference():
    frame = random_scene(300, seed=1)
    cam = scene_camera()
    cfg = RenderConfig()
    out = TorchRenderer(cfg).render(frame, cam, background=(0.2, 0.3, 0.4))
    ref_rgb, ref_alpha = reference_render(frame, cam, (0.2, 0.3, 0.4), cfg)
    assert out.rgb.shape == (64, 80, 3) and out.alpha.shape == (64, 80) and out.depth.shape == (64, 80)
    err = (out.rgb.double() - ref_rgb).abs().max().item()
    assert err <= 1e-5, f"max abs error vs reference {err:.2e}"
    assert (out.alpha.double() - ref_alpha).abs().max().item() <= 1e-5
    assert ref_alpha.mean() > 0.3  # the scene really covers the image


def test_early_termination_matches_reference_on_dense_scene():
    # Many opaque splats piled up: most pixels saturate and stop early.
    frame = random_scene(200, seed=3, extent=0.15, scale=(0.05, 0.12))
    frame.opacities[:] = 0.95
    cam = scene_camera(48, 48)
    cfg = RenderConfig()
    out = TorchRenderer(cfg, chunk=8).render(frame, cam, background=(1, 1, 1))
    ref_rgb, _ = reference_render(frame, cam, (1, 1, 1), cfg)
    assert (out.rgb.double() - ref_rgb).abs().max().item() <= 1e-5


def test_empty_and_behind_camera():
    frame = random_scene(50, seed=2)
    frame.means[:, 2] += 5.0  # everything behind a camera at z=+2 looking at -z
    out = TorchRenderer().render(frame, scene_camera(yaw=0, pitch=0), background=(0.1, 0.2, 0.3))
    assert torch.allclose(out.rgb, torch.tensor([0.1, 0.2, 0.3]).expand(64, 80, 3))
    assert out.alpha.abs().max() == 0


def test_depth_output_is_camera_z():
    # One big flat opaque splat facing the camera at z = 0: depth there equals the camera distance.
    frame = GaussianFrame(torch.zeros(1, 3), torch.tensor([[1.0, 0, 0, 0]]), torch.tensor([[0.5, 0.5, 0.001]]),
                          torch.tensor([0.99]), torch.ones(1, 3))
    out = TorchRenderer().render(frame, scene_camera(32, 32, yaw=0, pitch=0))
    assert abs(out.depth[16, 16].item() - 2.0) < 1e-4


def test_gradcheck_float64():
    g = torch.Generator().manual_seed(0)
    n = 4
    means = ((torch.rand(n, 3, generator=g) - 0.5) * 0.3).double().requires_grad_()
    quats = torch.randn(n, 4, generator=g).double().requires_grad_()
    scales = (0.05 + 0.05 * torch.rand(n, 3, generator=g)).double().requires_grad_()
    opac = (0.3 + 0.4 * torch.rand(n, generator=g)).double().requires_grad_()
    colors = torch.rand(n, 3, generator=g).double().requires_grad_()
    cam = scene_camera(12, 10, yaw=15, pitch=5)
    r = TorchRenderer()

    def f(m, q, s, o, c):
        out = r.render(GaussianFrame(m, q, s, o, c), cam, background=(0.3, 0.3, 0.3))
        return out.rgb, out.alpha

    assert torch.autograd.gradcheck(f, (means, quats, scales, opac, colors), eps=1e-6, atol=1e-5)


def test_fit_target_image_reduces_loss_5x():
    torch.manual_seed(0)
    cam = scene_camera(48, 48, yaw=0, pitch=0)
    r = TorchRenderer()
    target = r.render(random_scene(150, seed=7, extent=0.3), cam, background=(0, 0, 0)).rgb.detach()
    init = random_scene(150, seed=8, extent=0.3)
    params = {k: getattr(init, k).clone().requires_grad_() for k in ("means", "quats", "scales", "opacities", "colors")}
    # Optimise unconstrained parameters the way a trainer does: log-scales, logit-opacities, raw colours.
    raw = {"means": params["means"], "quats": params["quats"], "log_s": params["scales"].detach().log().requires_grad_(),
           "logit_o": torch.logit(params["opacities"].detach()).requires_grad_(), "colors": params["colors"]}
    opt = torch.optim.Adam(raw.values(), lr=0.02)

    def loss_now():
        frame = GaussianFrame(raw["means"], raw["quats"], raw["log_s"].exp(), torch.sigmoid(raw["logit_o"]),
                              raw["colors"].clamp(0, 1))
        return (r.render(frame, cam, background=(0, 0, 0)).rgb - target).abs().mean()

    first = loss_now().item()
    for _ in range(30):
        opt.zero_grad()
        loss = loss_now()
        loss.backward()
        opt.step()
    last = loss_now().item()
    assert last * 5 <= first, f"loss {first:.4f} -> {last:.4f}"


def test_make_renderer_auto_is_torch_without_cuda():
    if torch.cuda.is_available():
        pytest.skip("CUDA present: auto picks gsplat")
    assert make_renderer("auto").name == "torch"
    with pytest.raises(ValueError, match="unknown renderer"):
        make_renderer("vulkan")
