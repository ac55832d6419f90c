"""Portrait fitting on the sample portrait, and video tracking on synthetic rig motion."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from helpers import pixels
from roundtrip import neutral_of, render_frames, score, synthetic_motion, track, tracking_camera
from engine.head.fit import FitConfig, PortraitFit, fit_portrait
from engine.motion.track import load_latents, resample
from engine.types import MotionLatent


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


@pytest.fixture(scope="module")
def oracle_run():
    """200 frames tracked from the rig's own projected landmarks at 512² (+0.5 px noise), identity
    fitted on the exact neutral landmarks: what the solver recovers when the landmarks are right."""
    frames, size = 200, 512
    rig, params = synthetic_motion(frames)
    cam = tracking_camera(size)
    with torch.no_grad():
        verts = rig.forward(params).vertices[:, rig.landmark_vertices]
        neutral = rig.forward(neutral_of(params)).vertices[0, rig.landmark_vertices]
    rng = np.random.default_rng(0)
    points = [pixels(v, cam) + rng.normal(0, 0.5, (478, 2)) for v in verts]
    fit = fit_portrait(pixels(neutral, cam), None, size, rig, FitConfig(offset_steps=0))
    return score(track(fit, points, rig), params)


def test_tracker_recovers_synthetic_motion_from_landmarks(oracle_run):
    for name, corr in oracle_run.correlation.items():
        assert corr >= 0.9, f"{name}: correlation {corr:.2f}"
    assert oracle_run.max_rotation_error_deg <= 3.0


@pytest.fixture(scope="module")
def mediapipe_run():
    """The issue's round trip at CI size: 200 shaded renders at 256² of a random identity with random
    expressions and head motion (±30° yaw), mediapipe landmarks (video mode, as `headsplat track`),
    identity fitted on a neutral render of the first frame's pose, then tracked."""
    from engine.face import LandmarkDetector

    frames, size = 200, 256
    rig, params = synthetic_motion(frames)
    cam = tracking_camera(size)
    images = render_frames(rig, params, cam)
    with LandmarkDetector(static_image=True) as still:
        (neutral,) = still.detect(render_frames(rig, neutral_of(params), cam)[0])
    with LandmarkDetector(static_image=False, max_faces=1) as video:
        points = [video.detect(im)[0].points for im in images]
    fit = fit_portrait(neutral.points, neutral.depth, size, rig)
    return score(track(fit, points, rig), params)


# The issue asks for every main coefficient at r >= 0.85 and the pose within 3°. Mediapipe reads the
# shaded renders with biases the tracker deliberately does not model (engine/motion/track.py), so
# smiles, brows and pose fall short. These floors are what seed 0 reaches (r = .94 .96 .91 .54 .63
# .92 .73, rotation error 5.0° max, 2.5° mean) less a margin; seeds 0-5 spread as in
# benchmarks/track_roundtrip.py. Raise them as the round trip improves.
MEDIAPIPE_FLOOR = {"jawOpen": 0.85, "eyeBlinkLeft": 0.85, "eyeBlinkRight": 0.8, "mouthSmileLeft": 0.4,
                   "mouthSmileRight": 0.5, "mouthPucker": 0.8, "browInnerUp": 0.6}
MEDIAPIPE_ROTATION_ERROR_DEG = (6.5, 3.5)  # max, mean


def test_mediapipe_round_trip_holds_its_level(mediapipe_run):
    for name, corr in mediapipe_run.correlation.items():
        assert corr >= MEDIAPIPE_FLOOR[name], f"{name}: correlation {corr:.2f}"
    worst, mean = MEDIAPIPE_ROTATION_ERROR_DEG
    assert mediapipe_run.max_rotation_error_deg <= worst and mediapipe_run.mean_rotation_error_deg <= mean


@pytest.mark.xfail(strict=True, reason="issue 3 acceptance not met yet: smiles and brows r ~0.5-0.75, pose 5-9° max")
def test_mediapipe_round_trip_meets_the_acceptance(mediapipe_run):
    assert min(mediapipe_run.correlation.values()) >= 0.85, mediapipe_run.correlation
    assert mediapipe_run.max_rotation_error_deg <= 3.0


def test_resample_keeps_endpoints_and_rate():
    lat = MotionLatent(torch.linspace(0, 1, 31)[:, None].expand(31, 52).clone(), torch.zeros(31, 6))
    out = resample(lat, 30.0, 25.0)  # 1 s at 30 fps -> 1 s at 25 fps
    assert len(out) == 26
    assert out.dyn[0, 0] == 0 and out.dyn[-1, 0] == pytest.approx(1.0)


def test_track_cli_on_rendered_video(tmp_path):
    """`headsplat track` on an MP4 of the shaded rig: latents at 25 fps, a face in every frame."""
    from engine.cli import main
    from engine.export import Mp4Writer

    frames, size = 25, 192
    rig, params = synthetic_motion(frames, seed=1)
    video = tmp_path / "talk.mp4"
    with Mp4Writer(video, size, size, fps=25) as w:
        for image in render_frames(rig, params, tracking_camera(size)):
            w.write(image)
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
