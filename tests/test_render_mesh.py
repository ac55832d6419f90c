"""The shaded mesh renderer (moderngl, headless EGL) on the head rig, and mediapipe on its renders."""
from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("moderngl")

from helpers import pixels
from engine.head import load_rig
from engine.types import ARKIT_NAMES, Camera, OrbitCamera, look_at

BG = (0.5, 0.5, 0.5)
SIZE = 256


@pytest.fixture(scope="module")
def renderer():
    from engine.render.mesh import MeshRenderer

    try:
        r = MeshRenderer()
    except Exception as exc:  # no EGL on this machine
        pytest.skip(f"no headless OpenGL context (EGL): {exc}")
    yield r
    r.close()


@pytest.fixture(scope="module")
def rig():
    return load_rig()


@pytest.fixture(scope="module")
def neutral(rig):
    return rig(rig.zero_params(1)).vertices[0]


def front(yaw: float = 0.0) -> Camera:
    return OrbitCamera(target=(0.0, -0.03, 0.0), yaw=yaw, distance=0.55, fov_deg=30).camera(SIZE, SIZE)


def test_project_points_convention():
    cam = Camera(64, 48, 50.0, 60.0, 32.0, 24.0, look_at((0, 0, 2), (0, 0, 0)))
    uv = pixels(np.array([[0.0, 0.0, 0.0], [0.1, 0.1, 0.0]]), cam)
    np.testing.assert_allclose(uv[0], [32.0, 24.0])
    # World +X is image right and world +Y image up for a camera on +Z looking at the origin.
    np.testing.assert_allclose(uv[1], [32.0 + 50.0 * 0.1 / 2.0, 24.0 - 60.0 * 0.1 / 2.0])


def test_render_covers_the_head_with_correct_depth(renderer, rig, neutral):
    cam = front()
    out = renderer.render(neutral, rig.faces, cam, colors=rig.vertex_colors, background=BG)
    assert out.rgb.shape == (SIZE, SIZE, 3) and out.alpha.shape == (SIZE, SIZE) and out.depth.shape == (SIZE, SIZE)
    assert out.alpha[0, 0] == 0 and torch.allclose(out.rgb[0, 0], torch.tensor(BG))
    nose = neutral[rig.landmark_vertices[1]]
    col, row = np.floor(pixels(nose[None], cam)[0]).astype(int)
    assert out.alpha[row, col] == 1.0
    nose_z = (cam.world_to_cam[:3, :3] @ nose.double().numpy() + cam.world_to_cam[:3, 3])[2]
    assert abs(float(out.depth[row, col]) - nose_z) < 0.003
    assert 0.2 < float(out.alpha.mean()) < 0.8


def test_landmarks_project_onto_the_rendered_face(renderer, rig, neutral):
    cam = front()
    out = renderer.render(neutral, rig.faces, cam, colors=rig.vertex_colors, background=BG)
    uv = pixels(neutral[rig.landmark_vertices], cam)
    assert np.all((uv > 0) & (uv < SIZE))
    px = np.floor(uv).astype(int)
    assert float((out.alpha[px[:, 1], px[:, 0]] > 0.5).float().mean()) > 0.97
    # Visible landmarks sit on the surface: the rendered depth there matches their own depth.
    cam_z = (neutral[rig.landmark_vertices].double().numpy() @ cam.world_to_cam[:3, :3].T + cam.world_to_cam[:3, 3])[:, 2]
    depth = out.depth[px[:, 1], px[:, 0]].double().numpy()
    assert np.median(np.abs(depth - cam_z)) < 0.002


def test_texture_path(renderer, rig, neutral):
    cam = front()
    checker = np.kron((np.indices((8, 8)).sum(0) % 2).astype(np.float32), np.ones((8, 8), np.float32))
    texture = np.repeat(checker[..., None], 3, axis=2) * 0.8 + 0.1  # [64, 64, 3]
    plain = renderer.render(neutral, rig.faces, cam, background=BG)
    textured = renderer.render(neutral, rig.faces, cam, texture=texture, uvs=rig.uvs, background=BG)
    assert torch.equal(plain.alpha, textured.alpha)
    covered = plain.alpha == 1
    assert (textured.rgb[covered] - plain.rgb[covered]).abs().mean() > 0.05


def test_open_mouth_shows_the_interior(renderer, rig):
    p = rig.zero_params(1)
    p.expression[0, ARKIT_NAMES.index("jawOpen")] = 1.0
    v = rig(p).vertices[0]
    cam = front()
    colors = torch.zeros_like(rig.vertex_colors)
    colors[rig.regions["mouth_interior"]] = 1.0  # white interior, black elsewhere
    out = renderer.render(v, rig.faces, cam, colors=colors, shading=(1.0, 0.0, 0.0))
    mouth = pixels(v[rig.landmark_vertices[[13, 14]]], cam).mean(0).astype(int)
    patch = out.rgb[mouth[1] - 2:mouth[1] + 3, mouth[0] - 2:mouth[0] + 3]
    assert float(patch.mean()) > 0.9
    closed = renderer.render(rig(rig.zero_params(1)).vertices[0], rig.faces, cam, colors=colors, shading=(1.0, 0.0, 0.0))
    # Closed lips hide teeth, tongue and cavity, but for a sub-pixel seam between the lips.
    assert int((closed.rgb[..., 0] > 0.5).sum()) == 0
    assert float(closed.rgb[..., 0].sum()) < 0.05 * float(out.rgb[..., 0].sum())


@pytest.fixture(scope="module")
def face_mesh():
    fm = pytest.importorskip("mediapipe.python.solutions.face_mesh")
    with fm.FaceMesh(static_image_mode=True, refine_landmarks=True, max_num_faces=1) as det:
        yield det


@pytest.mark.parametrize("yaw", [0.0, -45.0, 45.0])
def test_mediapipe_finds_the_rendered_face(renderer, rig, neutral, face_mesh, yaw):
    """The round trip (render -> mediapipe -> track) depends on this: the region-coloured shaded rig
    is a face to mediapipe, and its landmarks land where the rig's landmark vertices project."""
    cam = front(yaw)
    out = renderer.render(neutral, rig.faces, cam, colors=rig.vertex_colors, background=BG)
    image = (out.rgb.numpy() * 255).round().astype(np.uint8)
    result = face_mesh.process(image)
    assert result.multi_face_landmarks, f"mediapipe found no face at yaw {yaw}"
    found = np.array([[p.x * SIZE, p.y * SIZE] for p in result.multi_face_landmarks[0].landmark])
    err = np.linalg.norm(found - pixels(neutral[rig.landmark_vertices], cam), axis=1)
    assert err.mean() < (3.0 if yaw == 0 else 4.0), f"mean landmark error {err.mean():.2f} px at yaw {yaw}"
