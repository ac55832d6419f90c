"""The teacher's baked head on the sample portrait: texture, frontal reproduction, mediapipe's matte and
landmarks on turned frames; and the atlas and fill helpers on their own."""
from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("moderngl")

from engine.head.model import load_rig
from engine.teacher.atlas import HEAD_PARTS, pockets, teacher_uvs
from engine.teacher.fill import push_pull
from engine.types import ARKIT_NAMES

SIZE = 256  # frames rendered for the checks


@pytest.fixture(scope="module")
def rig():
    return load_rig()


@pytest.fixture(scope="module")
def baked(rig):
    """(crop, fit, texture, renderer) for the astronaut. Fitting runs ~750 tiny optimiser steps: on one
    torch thread that is ~5 s, on two with a busy second core it can take ten times longer."""
    import skimage.data

    from engine.face import analyze_portrait
    from engine.head.fit import fit_portrait
    from engine.teacher import TeacherRenderer, bake_texture

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        crop = analyze_portrait(skimage.data.astronaut(), size=512)
        fit = fit_portrait(crop.landmarks.points, crop.landmarks.depth, 512, rig)
        try:
            texture = bake_texture(crop, fit, rig)
        except Exception as exc:  # no EGL on this machine
            pytest.skip(f"no headless OpenGL context (EGL): {exc}")
    finally:
        torch.set_num_threads(threads)
    renderer = TeacherRenderer(rig, texture)
    yield crop, fit, texture, renderer
    renderer.close()


def _frame(baked, yaw: float = 0.0, **coefficients: float):
    from engine.teacher.contact_sheet import turned, with_expression

    _, fit, _, renderer = baked
    params = fit.params if not coefficients else with_expression(fit.params, coefficients)
    out = renderer.render(turned(params, yaw), fit.camera.resized(SIZE, SIZE))
    return out.rgb[0], out.alpha[0], out.landmarks[0]


def test_texture_covers_the_head(baked, rig):
    from engine.teacher import TexelSource

    _, _, tex, _ = baked
    s = tex.size
    assert tex.image.shape == (s, s, 3) and tex.image.dtype == np.float32
    assert 0.0 <= tex.image.min() and tex.image.max() <= 1.0
    assert tex.confidence.shape == (s, s) and 0.0 <= tex.confidence.min() and tex.confidence.max() <= 1.0
    assert tex.uvs.shape == (len(rig.faces), 3, 2) and tex.offsets.shape == (rig.num_vertices, 3)
    counts = np.bincount(tex.source.ravel(), minlength=len(TexelSource))
    assert len(counts) == len(TexelSource)
    assert counts[TexelSource.PHOTO] > 0.1 * s * s  # face and front hair
    assert counts[TexelSource.INPAINTED] > 0.1 * s * s  # sides, back of the head, neck
    # The back of the head (u near 0 or 1 on the spherical unwrap, above the ears) is hair, coloured
    # like the photo's hair rather than its skin.
    back_rows, back_cols = slice(int(0.4 * s), int(0.5 * s)), slice(0, int(0.05 * s))
    assert tex.hair[back_rows, back_cols].mean() > 0.9
    back = tex.image[back_rows, back_cols].reshape(-1, 3).mean(axis=0)
    seen = tex.source == TexelSource.PHOTO
    hair = tex.image[seen & (tex.hair > 0.9)].mean(axis=0)
    skin = tex.image[seen & (tex.hair < 0.1)].mean(axis=0)
    assert np.linalg.norm(back - hair) < 0.5 * np.linalg.norm(back - skin)


def test_frontal_render_reproduces_the_photo(baked):
    from engine.teacher.evaluate import reproduction_psnr

    crop = baked[0]
    rgb, alpha, _ = _frame(baked)
    face, head = reproduction_psnr(crop, rgb)
    assert face >= 32.0, (face, head)
    assert head >= 26.0, (face, head)


def test_generate_renders_latents(baked):
    """The Teacher interface: a latent sequence with the fit's own expression and pose gives the
    frontal frame of the fit's parameters."""
    from engine.types import MotionLatent

    _, fit, _, renderer = baked
    cam = fit.camera.resized(SIZE, SIZE)
    pose = torch.cat([fit.params.rotation, fit.params.translation], dim=1)
    frames = renderer.generate(MotionLatent(fit.params.expression.repeat(2, 1), pose.repeat(2, 1)), [cam, cam])
    assert frames.rgb.shape == (2, SIZE, SIZE, 3) and frames.rgb.dtype == np.uint8
    assert frames.alpha.shape == (2, SIZE, SIZE) and frames.alpha.dtype == np.uint8
    assert frames.landmarks.shape == (2, 478, 2) and frames.landmarks.dtype == np.float32
    assert np.array_equal(frames.rgb[1], renderer.render(fit.params, cam).rgb[0])


@pytest.mark.parametrize("yaw", [-20, 20])
def test_turned_frames_agree_with_the_selfie_matte(baked, yaw):
    from engine.teacher.evaluate import matte_iou

    rgb, alpha, _ = _frame(baked, yaw)
    assert matte_iou(rgb, alpha) >= 0.9


def test_landmarks_are_redetected(baked):
    from engine.teacher.evaluate import landmark_error

    errors = []
    for yaw in (-30, -20, 0, 20, 30):
        rgb, _, lm = _frame(baked, yaw)
        e = landmark_error(rgb, lm)
        assert e is not None, f"no face found at yaw {yaw}"
        errors.append(e)
    assert max(errors) < 0.05, errors
    assert np.mean(errors) < 0.04, errors


def test_gaze_moves_the_iris(baked):
    from engine.face import detect_landmarks
    from engine.face.topology import LEFT_IRIS_CENTER, RIGHT_IRIS_CENTER

    iris = [RIGHT_IRIS_CENTER, LEFT_IRIS_CENTER]
    # The subject's left eye looks out and the right eye in: both turn towards +X (image right).
    right, _, lm_right = _frame(baked, eyeLookOutLeft=0.8, eyeLookInRight=0.8)
    left, _, lm_left = _frame(baked, eyeLookInLeft=0.8, eyeLookOutRight=0.8)
    seen_shift = detect_landmarks(right)[0].points[iris, 0] - detect_landmarks(left)[0].points[iris, 0]
    rig_shift = lm_right[iris, 0] - lm_left[iris, 0]
    assert (rig_shift > 1.0).all(), rig_shift
    assert (seen_shift > 0.5 * rig_shift).all(), (seen_shift, rig_shift)


def test_open_jaw_shows_a_shaded_mouth(baked):
    from PIL import Image, ImageDraw

    from engine.face.topology import LANDMARK_GROUPS

    rgb, _, lm = _frame(baked, jawOpen=0.8)
    mask = Image.new("L", (SIZE, SIZE), 0)
    ImageDraw.Draw(mask).polygon([tuple(p) for p in lm[LANDMARK_GROUPS["lips_inner"]]], fill=255)
    luma = (rgb @ np.array([0.299, 0.587, 0.114], np.float32) / 255.0)[np.asarray(mask) > 0]
    assert luma.size > 40  # the mouth is open
    assert (luma < 0.3).mean() > 0.1  # a cavity in shadow ...
    assert (luma > 0.55).mean() > 0.05  # ... teeth ...
    assert np.percentile(luma, 5) > 0.01  # ... and no flat black hole


def test_pocket_disks_do_not_fold(rig):
    """Each pocket's UV disk is an embedding: every triangle keeps one orientation, so each texel
    belongs to one surface point; and no triangle outside the head chart spans the atlas."""
    faces = rig.faces.numpy()
    uvs = teacher_uvs(rig)
    for pocket in pockets(rig):
        tri = uvs[np.isin(faces, pocket.vertices).any(axis=1)]
        e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
        area = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
        assert (area > 0).all() or (area < 0).all(), pocket.name
    parts = rig.parts[faces[:, 2]]
    extent = uvs.max(axis=1) - uvs.min(axis=1)
    assert extent[~np.isin(parts, HEAD_PARTS)].max() < 0.2


def test_mirror_texel_is_the_mirror_point(rig):
    """On the head's spherical unwrap, texel (1 - u, v) holds the mirror image (x -> -x) of texel (u, v)."""
    import moderngl

    from engine.teacher.atlas import rasterize_atlas

    try:
        ctx = moderngl.create_context(standalone=True, backend="egl")
    except Exception as exc:
        pytest.skip(f"no headless OpenGL context (EGL): {exc}")
    with ctx:
        atlas = rasterize_atlas(rig, 256, ctx)
    ctx.release()
    faces = rig.faces.numpy()
    head = np.isin(atlas.texel_part(faces, rig.parts), HEAD_PARTS)
    pos = atlas.interpolate(faces, rig.template.numpy())
    both = head & head[:, ::-1]
    mirrored = pos[:, ::-1] * np.array([-1.0, 1.0, 1.0], np.float32)
    err = np.linalg.norm(pos - mirrored, axis=-1)[both]
    assert np.median(err) < 0.002 and np.percentile(err, 95) < 0.006  # metres


def test_push_pull_keeps_known_texels_and_fills_smoothly():
    y, x = np.mgrid[0:64, 0:96].astype(np.float32)
    image = np.stack([x / 96, y / 64, np.full_like(x, 0.5)], axis=-1)
    known = ((x - 40) ** 2 + (y - 30) ** 2 < 15 ** 2).astype(np.float32)
    filled = push_pull(image * known[..., None], known)
    assert np.allclose(filled[known > 0], image[known > 0], atol=1e-6)
    lo, hi = image[known > 0].min(axis=0), image[known > 0].max(axis=0)
    assert (filled >= lo - 1e-5).all() and (filled <= hi + 1e-5).all()  # no overshoot
    # Wrapping: a value known only at the right edge reaches the left edge first.
    edge = np.zeros((8, 32), np.float32)
    edge[:, -1] = 1.0
    w = np.zeros_like(edge)
    w[:, -1] = 1.0
    w[:, 15] = 1.0  # a zero in the middle
    wrapped = push_pull(edge, w, wrap_x=True)
    assert wrapped[:, 0].mean() > wrapped[:, 12].mean()


def test_expression_names_used_by_the_sheet_exist():
    from engine.teacher.contact_sheet import EXPRESSIONS

    for coefficients in EXPRESSIONS.values():
        assert set(coefficients) <= set(ARKIT_NAMES)
