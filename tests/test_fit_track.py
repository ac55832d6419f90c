"""Portrait fitting on the sample portrait, and video tracking on synthetic rig motion."""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from helpers import pixels
from engine.head.fit import FitConfig, PortraitFit, fit_portrait, front_camera
from engine.head.model import RigParams, load_rig
from engine.motion.track import LandmarkTracker, TrackConfig, load_latents, resample
from engine.types import ARKIT_NAMES, MotionLatent

MAIN = ("jawOpen", "eyeBlinkLeft", "eyeBlinkRight", "mouthSmileLeft", "mouthSmileRight", "mouthPucker", "browInnerUp")


@pytest.fixture(scope="module")
def astronaut_crop():
    import skimage.data

    from engine.face import analyze_portrait

    return analyze_portrait(skimage.data.astronaut(), size=512)


def test_fit_astronaut_reprojection_error(astronaut_crop, tmp_path):
    crop = astronaut_crop
    fit = fit_portrait(crop.landmarks.points, crop.landmarks.depth, 512)
    assert fit.error_px <= 2.5, fit.error_by_group
    fov = math.degrees(2 * math.atan(256 / fit.camera.fx))
    assert 10 < fov < 45  # a plausible portrait lens
    assert float(fit.params.rotation.norm()) < math.radians(25)  # she looks roughly at the camera
    fit.save(tmp_path)
    again = PortraitFit.load(tmp_path)
    assert again.camera.fx == pytest.approx(fit.camera.fx)
    assert torch.equal(again.params.expression, fit.params.expression)
    assert torch.equal(again.params.offsets, fit.params.offsets)


def smooth_sequence(n: int, k: int, gen: torch.Generator, scale: float) -> torch.Tensor:
    """[n, k] smooth random curves (a moving average of noise)."""
    x = torch.randn(k, 1, n + 8, generator=gen)
    return (torch.nn.functional.conv1d(x, torch.ones(1, 1, 9) / 9)[:, 0].T * scale)


def synthetic_motion(frames: int, seed: int = 0):
    """A random identity and smooth random expression/pose sequences (yaw within ±30°)."""
    rig = load_rig()
    g = torch.Generator().manual_seed(seed)
    identity = torch.randn(1, rig.n_identity, generator=g) * 0.7
    expr = torch.zeros(frames, len(ARKIT_NAMES))
    idx = [ARKIT_NAMES.index(n) for n in MAIN]
    expr[:, idx] = (smooth_sequence(frames, len(idx), g, 2.5) - 0.2).clamp(0, 1)
    rot = torch.zeros(frames, 3)
    rot[:, 0] = smooth_sequence(frames, 1, g, 0.6)[:, 0].clamp(-0.3, 0.3)
    rot[:, 1] = smooth_sequence(frames, 1, g, 1.2)[:, 0].clamp(-math.radians(30), math.radians(30))
    trans = torch.zeros(frames, 3)
    trans[:, 2] = -0.25
    params = replace(RigParams.zeros(frames, rig.n_identity), identity=identity.expand(frames, -1),
                     expression=expr, rotation=rot, translation=trans)
    return rig, params


def test_tracker_recovers_synthetic_motion_from_landmarks():
    """Landmarks projected from the rig at 512² (+0.5 px noise): identity from a neutral first frame,
    then 200 tracked frames; the main coefficients and the pose must come back."""
    frames, size = 200, 512
    rig, params = synthetic_motion(frames)
    cam = front_camera(size, size, 0.5 * size / math.tan(math.radians(22) / 2))
    with torch.no_grad():
        verts = rig.forward(params).vertices  # [T, V, 3]
        neutral = rig.forward(replace(params, expression=torch.zeros_like(params.expression))).vertices[0]
    rng = np.random.default_rng(0)
    points = [pixels(v[rig.landmark_vertices], cam) + rng.normal(0, 0.5, (478, 2)) for v in verts]
    fit = fit_portrait(pixels(neutral[rig.landmark_vertices], cam), None, size, rig,
                       FitConfig(offset_steps=0))
    tracker = LandmarkTracker(fit, rig, TrackConfig(smoothing=0.0))
    latents = MotionLatent.stack([tracker.step(p) for p in points])
    for name in MAIN:
        j = ARKIT_NAMES.index(name)
        corr = np.corrcoef(latents.dyn[:, j].numpy(), params.expression[:, j].numpy())[0, 1]
        assert corr >= 0.85, f"{name}: correlation {corr:.2f}"
    yaw_err = (latents.pose[:, 1] - params.rotation[:, 1]).abs().max()
    pitch_err = (latents.pose[:, 0] - params.rotation[:, 0]).abs().max()
    assert math.degrees(float(max(yaw_err, pitch_err))) <= 3.0


def test_resample_keeps_endpoints_and_rate():
    lat = MotionLatent(torch.linspace(0, 1, 31)[:, None].expand(31, 52).clone(), torch.zeros(31, 6))
    out = resample(lat, 30.0, 25.0)  # 1 s at 30 fps -> 1 s at 25 fps
    assert len(out) == 26
    assert out.dyn[0, 0] == 0 and out.dyn[-1, 0] == pytest.approx(1.0)


def test_track_cli_on_rendered_video(tmp_path):
    """`headsplat track` on an MP4 of the shaded rig: latents at 25 fps, a face in every frame."""
    from engine.cli import main
    from engine.export import Mp4Writer
    from engine.render.mesh import MeshRenderer

    frames, size = 25, 192
    rig, params = synthetic_motion(frames, seed=1)
    cam = front_camera(size, size, 0.5 * size / math.tan(math.radians(22) / 2))
    with torch.no_grad():
        verts = rig.forward(params).vertices
    renderer = MeshRenderer()
    video = tmp_path / "talk.mp4"
    with Mp4Writer(video, size, size, fps=25) as w:
        for v in verts:
            w.write(renderer.render(v, rig.faces, cam, colors=rig.vertex_colors, background=(0.6, 0.65, 0.7)).rgb)
    renderer.close()
    out = tmp_path / "latents.npz"
    assert main(["track", str(video), "--out", str(out)]) == 0
    latents, fps = load_latents(out)
    assert fps == 25.0 and len(latents) == frames
    assert latents.dyn.shape == (frames, 52) and torch.isfinite(latents.pose).all()
    # the head turns: the tracked yaw follows the rendered one
    corr = np.corrcoef(latents.pose[:, 1].numpy(), params.rotation[:, 1].numpy())[0, 1]
    assert corr > 0.8


def test_track_cli_rejects_missing_video(tmp_path, capsys):
    from engine.cli import main

    assert main(["track", str(tmp_path / "nope.mp4"), "--out", str(tmp_path / "x.npz")]) == 1
    assert "no such file" in capsys.readouterr().err
