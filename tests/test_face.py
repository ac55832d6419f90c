"""engine.face: landmarks, matte, crop, pose, mesh topology, and every bad-input case of issue 3 item 1.

Test images are made here from skimage's public-domain portraits: astronaut() (frontal) and camera()
(a man in near-profile behind a camera)."""
from __future__ import annotations

import io
import math
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image

from engine.face import (ExtremePoseError, FaceLandmarks, FaceTooSmallError, LandmarkDetector, NoFaceError,
                         NotAnImageError, analyze_portrait, detect_landmarks, estimate_pose, head_rotation,
                         load_image, portrait_matte, read_image)
from engine.face import topology
from engine.face._mediapipe import SHOW_LOGS_ENV
from engine.face.geometry import similarity, warp_affine

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return skimage.data.astronaut()


@pytest.fixture(scope="module")
def astronaut_face(astronaut: np.ndarray) -> FaceLandmarks:
    faces = detect_landmarks(astronaut)
    assert len(faces) == 1
    return faces[0]


@pytest.fixture(scope="module")
def crop(astronaut: np.ndarray):
    return analyze_portrait(astronaut)


def _jpeg(image: Image.Image | np.ndarray, **save: object) -> bytes:
    im = Image.fromarray(image) if isinstance(image, np.ndarray) else image
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=95, **save)
    return buf.getvalue()


def _png(width: int, height: int, bit_depth: int, color_type: int, raw_rows: bytes) -> bytes:
    """A PNG written by hand, for what Pillow cannot write (48-bit RGB) or should not have to
    allocate (a header announcing a huge image)."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw_rows)) + chunk(b"IEND", b"")


def _eye_angle_deg(lm: FaceLandmarks) -> float:
    dx, dy = lm.points[topology.LEFT_IRIS_CENTER] - lm.points[topology.RIGHT_IRIS_CENTER]
    return math.degrees(math.atan2(dy, dx))


# ---------------------------------------------------------------------------------------- the astronaut

def test_astronaut_crop(crop, astronaut_face: FaceLandmarks) -> None:
    assert crop.image.shape == (512, 512, 3) and crop.image.dtype == np.uint8
    assert crop.matte.shape == (512, 512) and crop.matte.dtype == np.float32
    pts = crop.landmarks.points
    assert pts.shape == (478, 2) and crop.landmarks.image_size == (512, 512)
    assert (pts > 0).all() and (pts < 512).all()
    assert abs(_eye_angle_deg(crop.landmarks)) < 2.0  # irises: not what the levelling used (eye corners)
    assert abs(_eye_angle_deg(astronaut_face)) > 2.0  # ... and the photo itself is tilted
    assert 0.45 < crop.landmarks.face_height() / 512 < 0.55
    x0, y0, x1, y1 = crop.landmarks.bbox()
    assert y0 > 0.2 * 512 and y1 < 0.9 * 512  # room for hair above, chin and neck below
    assert abs((x0 + x1) / 2 - 256) < 0.1 * 512
    # source_to_crop carries the source landmarks onto the crop's
    moved = astronaut_face.transformed(crop.source_to_crop, (512, 512))
    np.testing.assert_allclose(moved.points, pts, atol=1e-3)
    # the crop's pixels are where its landmarks say: detecting again on the crop agrees (to ~1.5 px:
    # mediapipe's own answer shifts by as much when the photo is merely enlarged with Pillow)
    again = detect_landmarks(crop.image)[0]
    assert np.abs(again.points - pts).mean() < 2.0
    # roughly frontal (the astronaut looks at the camera, head slightly lowered)
    assert abs(crop.pose.yaw_deg) < 15 and abs(crop.pose.pitch_deg) < 20 and abs(crop.pose.roll_deg) < 3
    # the 512 px sample is small for a 512 px crop: the enlargement is reported
    assert any("enlarges it" in w for w in crop.warnings)


def test_astronaut_matte(crop) -> None:
    m = crop.matte
    assert 0.0 <= m.min() and m.max() <= 1.0
    xy = np.floor(crop.landmarks.points[:468]).astype(int)
    assert (m[xy[:, 1], xy[:, 0]] > 0.9).mean() > 0.98  # the face is person
    assert m[200:300, 200:300].mean() > 0.95
    for corner in (m[:40, :40], m[:40, -40:]):  # the studio backdrop is not
        assert corner.mean() < 0.05


def test_matte_on_whole_photo(astronaut: np.ndarray) -> None:
    m = portrait_matte(astronaut.astype(np.float32) / 255.0)  # float input is accepted too
    assert m.shape == (512, 512) and m[100:180, 180:260].mean() > 0.95 and m[:40, :40].mean() < 0.05


def test_pose_sign_follows_a_mirror(astronaut: np.ndarray, astronaut_face: FaceLandmarks) -> None:
    """A real-image check of the signs: mirroring the photo negates yaw and roll, keeps pitch."""
    p, q = estimate_pose(astronaut_face), estimate_pose(detect_landmarks(astronaut[:, ::-1])[0])
    assert abs(p.yaw_deg + q.yaw_deg) < 3 and abs(p.roll_deg + q.roll_deg) < 1 and abs(p.pitch_deg - q.pitch_deg) < 3


def _rotated(lm: FaceLandmarks, rotation: np.ndarray) -> FaceLandmarks:
    """lm's 3D landmarks (x, y, depth) rotated about their centre, seen orthographically."""
    p = np.column_stack([lm.points, lm.depth]).astype(np.float64)
    c = p.mean(axis=0)
    q = (p - c) @ rotation.T + c
    return FaceLandmarks(q[:, :2].astype(np.float32), q[:, 2].astype(np.float32), lm.image_size)


def _euler(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Ry(-yaw) Rx(-pitch) Rz(roll) in image axes (degrees), the convention of estimate_pose."""
    y, p, r = map(math.radians, (yaw, pitch, roll))
    ry = np.array([[math.cos(-y), 0, math.sin(-y)], [0, 1, 0], [-math.sin(-y), 0, math.cos(-y)]])
    rx = np.array([[1, 0, 0], [0, math.cos(-p), -math.sin(-p)], [0, math.sin(-p), math.cos(-p)]])
    rz = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    return ry @ rx @ rz


@pytest.mark.parametrize("angles", [(30.0, 0.0, 0.0), (0.0, -25.0, 0.0), (0.0, 0.0, 20.0), (60.0, 20.0, -10.0)])
def test_pose_decomposition(astronaut_face: FaceLandmarks, angles: tuple[float, float, float]) -> None:
    """Synthetic landmarks: the astronaut's own turned frontal, then by known angles. This checks the
    geometry and the angle conventions exactly; it says nothing about mediapipe's depth accuracy."""
    frontal = _rotated(astronaut_face, head_rotation(astronaut_face).T)
    np.testing.assert_allclose(head_rotation(frontal), np.eye(3), atol=1e-5)
    est = estimate_pose(_rotated(frontal, _euler(*angles)))
    np.testing.assert_allclose((est.yaw_deg, est.pitch_deg, est.roll_deg), angles, atol=1e-3)


def test_warp_pixel_convention() -> None:
    """warp_affine follows engine.types' pixel centres (+0.5), enlarging and (area-averaged) shrinking."""
    img = np.zeros((64, 64), np.float32)
    img[10, 20] = 1.0  # centre (20.5, 10.5)
    out = warp_affine(img, np.array([[3.0, 0, 5], [0, 3.0, 7]]), (100, 100))  # -> (66.5, 38.5)
    assert np.unravel_index(out.argmax(), out.shape) == (38, 66) and out.max() == pytest.approx(1.0)
    img[:] = 0
    img[8:12, 16:20] = 1.0  # centre (18, 10)
    out = warp_affine(img, np.array([[0.25, 0, 0], [0, 0.25, 0]]), (16, 16))  # -> (4.5, 2.5)
    assert out[2, 4] == pytest.approx(1.0) and out.sum() == pytest.approx(1.0)
    assert similarity(2.0, math.pi / 2, np.array([1.0, 0.0]), np.array([5.0, 5.0])) @ [2.0, 0.0, 1.0] == \
        pytest.approx([5.0, 7.0])  # +90 degrees turns +x towards +y (down)


# ------------------------------------------------------------------------------------------- topology

def test_mesh_triangles_face_the_camera(astronaut_face: FaceLandmarks) -> None:
    tri = topology.FACE_MESH_TRIANGLES
    assert tri.shape == (852, 3) and not tri.flags.writeable
    assert set(np.unique(tri)) == set(range(468))
    p = np.column_stack([astronaut_face.points, astronaut_face.depth]).astype(np.float64)
    normals = np.cross(p[tri[:, 1]] - p[tri[:, 0]], p[tri[:, 2]] - p[tri[:, 0]])
    # OpenCV axes (z away from the camera): facing the camera means normal z < 0. The few that
    # are not are silhouette triangles at the cheeks, seen edge-on.
    assert (normals[:, 2] < 0).mean() > 0.95


def test_landmark_groups(astronaut_face: FaceLandmarks) -> None:
    g = topology.LANDMARK_GROUPS
    sizes = {"lips_outer": 20, "lips_inner": 20, "left_eye": 16, "right_eye": 16, "left_brow": 10,
             "right_brow": 10, "left_iris": 5, "right_iris": 5, "face_oval": 36, "nose": 24}
    assert {k: len(v) for k, v in g.items()} == sizes
    pts = astronaut_face.points.astype(np.float64)

    def area(loop: list[int]) -> float:
        x, y = pts[loop, 0], pts[loop, 1]
        return 0.5 * abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))

    assert area(g["lips_outer"]) > 1.5 * area(g["lips_inner"]) > 0  # loops in walking order
    assert area(g["face_oval"]) > 0.5 * np.prod(np.subtract(*np.reshape(astronaut_face.bbox(), (2, 2))[::-1]))
    # the subject's left appears on the image's right
    for part in ("eye", "brow", "iris"):
        assert pts[g[f"left_{part}"], 0].mean() > pts[g[f"right_{part}"], 0].mean()
    assert g["left_iris"][0] == topology.LEFT_IRIS_CENTER and g["right_iris"][0] == topology.RIGHT_IRIS_CENTER
    for side in ("left", "right"):  # brows: lower row, then upper row
        brow = pts[g[f"{side}_brow"]]
        assert brow[:5, 1].mean() > brow[5:, 1].mean()


def test_package_import_is_light() -> None:
    """Importing engine.face and reading the topology constants loads neither mediapipe nor OpenCV
    (which would move Qt's plugin path); the first detection then starts mediapipe quietly, while
    anything else written to stderr in that window still comes through."""
    code = (
        "import os, sys\n"
        "import engine.face as F\n"
        "assert F.FACE_MESH_TRIANGLES.shape == (852, 3) and len(F.LANDMARK_GROUPS) == 10\n"
        "assert 'mediapipe' not in sys.modules and 'cv2' not in sys.modules, 'imported too early'\n"
        "from engine.face._mediapipe import Graph\n"
        "def build(mp):\n"
        "    os.write(2, b'a real problem\\n')\n"
        "    return mp.face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=True)\n"
        "import skimage.data\n"
        "assert Graph(build).run(skimage.data.astronaut(), lambda r: len(r.multi_face_landmarks)) == 1\n"
        "assert len(F.portrait_matte(skimage.data.astronaut()).shape) == 2\n"
        "print('ok')\n")
    env = {k: v for k, v in os.environ.items() if k != SHOW_LOGS_ENV}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr
    assert "a real problem" in proc.stderr
    for chatter in ("XNNPACK", "absl::InitializeLog", "inference_feedback_manager", "NORM_RECT"):
        assert chatter not in proc.stderr


# ------------------------------------------------------------------------------------ video tracking

def test_tracking_detector_follows_frames(astronaut: np.ndarray) -> None:
    with LandmarkDetector(static_image=False, max_faces=1) as det:
        centres = []
        for shift in range(0, 40, 8):
            frame = np.roll(astronaut, shift, axis=1)
            (face,) = det.detect(frame)
            centres.append(face.points[topology.NOSE_TIP, 0])
    np.testing.assert_allclose(np.diff(centres), 8.0, atol=1.5)


# ------------------------------------------------------------------------------------------ bad input

def test_not_an_image(tmp_path: Path) -> None:
    fake = tmp_path / "portrait.png"
    fake.write_text("this is a shopping list, not a picture\n")
    with pytest.raises(NotAnImageError, match=r"portrait\.png is not an image"):
        analyze_portrait(fake)
    with pytest.raises(NotAnImageError, match="does not exist"):
        analyze_portrait(tmp_path / "missing.jpg")
    with pytest.raises(NotAnImageError, match="folder"):
        load_image(tmp_path)
    with pytest.raises(NotAnImageError, match="shape"):
        load_image(np.zeros((4, 4, 2), np.uint8))


def test_corrupt_and_truncated_jpeg(tmp_path: Path, astronaut: np.ndarray) -> None:
    data = _jpeg(astronaut)
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(NotAnImageError, match=r"cut\.jpg could not be decoded .*damaged or incomplete"):
        analyze_portrait(truncated)
    garbled = tmp_path / "garbled.jpg"  # the JPEG signature, then noise
    garbled.write_bytes(data[:4] + np.random.default_rng(0).integers(0, 256, 5000, np.uint8).tobytes())
    with pytest.raises(NotAnImageError, match=r"garbled\.jpg"):
        analyze_portrait(garbled)


def test_no_face(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    y = np.linspace(0, 1, 480)[:, None, None]
    landscape = np.where(y < 0.6, [0.45, 0.65, 0.95], [0.25, 0.5, 0.15]) + 0.05 * rng.standard_normal((480, 640, 3))
    path = tmp_path / "holiday.png"
    Image.fromarray((np.clip(landscape, 0, 1) * 255).astype(np.uint8)).save(path)
    with pytest.raises(NoFaceError) as err:
        analyze_portrait(path)
    assert str(err.value) == ("No face was found in holiday.png. Use a photo where one face is clearly visible, "
                              "looking roughly at the camera.")
    assert detect_landmarks(rng.integers(0, 256, (256, 256, 3), np.uint8)) == []


def test_face_too_small(astronaut: np.ndarray) -> None:
    """A 60 px face in the corner of a 1024 px canvas: too small for the face mesh's own detector, so
    this also exercises the tiled search that finds it."""
    small = np.asarray(Image.fromarray(astronaut).resize((287, 287), Image.Resampling.LANCZOS))
    canvas = np.full((1024, 1024, 3), 255, np.uint8)
    canvas[-287:, -287:] = small
    assert detect_landmarks(canvas) == []
    with pytest.raises(FaceTooSmallError, match=r"only (5[5-9]|6[0-5]) px from forehead to chin; at least 80 px"):
        analyze_portrait(canvas)
    crop = analyze_portrait(canvas, min_face_px=40)  # with a lower bar it is cropped, with a warning
    assert any("enlarges it" in w for w in crop.warnings)


def test_several_faces_use_the_largest(astronaut: np.ndarray) -> None:
    canvas = np.full((512, 896, 3), 255, np.uint8)
    canvas[:, :512] = astronaut
    canvas[128:, 512:] = np.asarray(Image.fromarray(astronaut).resize((384, 384), Image.Resampling.LANCZOS))
    crop = analyze_portrait(canvas)
    assert crop.warnings[0] == "2 faces were found in the image; using the largest."
    # the crop is the big face: its centre maps back into the left half
    inv = np.linalg.inv(np.vstack([crop.source_to_crop, [0, 0, 1]]))
    assert (inv @ [256, 256, 1])[0] < 512
    assert 0.45 < crop.landmarks.face_height() / 512 < 0.55


def test_extreme_pose_real_photo() -> None:
    """skimage's cameraman is in near profile; the landmark estimate says ~50 degrees of yaw (it
    flattens strong turns, see engine.face.pose), beyond the 45 degree limit. His face is 72 px tall,
    so the size limit is lowered to reach the pose check."""
    camera = skimage.data.camera()
    with pytest.raises(FaceTooSmallError):
        analyze_portrait(camera)
    with pytest.raises(ExtremePoseError, match=r"estimated yaw \+\d+° \(limit ±45°\)"):
        analyze_portrait(camera, min_face_px=40)


def test_extreme_pitch_synthetic(monkeypatch: pytest.MonkeyPatch, astronaut: np.ndarray,
                                 astronaut_face: FaceLandmarks) -> None:
    """Pitch: no real photo at hand, so analyze_portrait gets the astronaut's landmarks turned 50
    degrees chin-up (a monkeypatched face finder). This tests the check and its message only."""
    frontal = _rotated(astronaut_face, head_rotation(astronaut_face).T)
    tilted = _rotated(frontal, _euler(0.0, 50.0, 0.0))
    monkeypatch.setattr("engine.face.analyze.find_faces", lambda image: [tilted])
    with pytest.raises(ExtremePoseError, match=r"estimated pitch \+50° \(limit ±35°\)"):
        analyze_portrait(astronaut)


def test_greyscale(tmp_path: Path, astronaut: np.ndarray) -> None:
    path = tmp_path / "grey.png"
    Image.fromarray(astronaut).convert("L").save(path)
    img = load_image(path)
    assert img.shape == (512, 512, 3) and (img[..., 0] == img[..., 2]).all()
    assert len(analyze_portrait(path).landmarks.points) == 478
    np.testing.assert_array_equal(load_image(img[..., 0]), img)  # a 2D array too


def test_transparency_becomes_white(tmp_path: Path, astronaut: np.ndarray) -> None:
    rgba = np.dstack([astronaut, np.full((512, 512), 255, np.uint8)])
    rgba[:, :60, 3] = 0  # a transparent strip
    path = tmp_path / "cutout.png"
    Image.fromarray(rgba).save(path)
    img = load_image(path)
    assert (img[:, :60] == 255).all() and (img[:, 60:] == astronaut[:, 60:]).all()
    np.testing.assert_array_equal(load_image(rgba), img)  # an RGBA array too
    la = Image.fromarray(rgba).convert("LA")  # greyscale with alpha
    assert (load_image(_png_of(la))[:, :60] == 255).all()
    pal = Image.fromarray(rgba).convert("P")  # palette with a transparent index
    pal.info["transparency"] = pal.getpixel((0, 0))
    assert (load_image(_png_of(pal))[:, :60] == 255).all()
    assert analyze_portrait(path).landmarks.points.shape == (478, 2)


def _png_of(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG", **({"transparency": im.info["transparency"]} if "transparency" in im.info else {}))
    return buf.getvalue()


def test_cmyk_jpeg(tmp_path: Path, astronaut: np.ndarray) -> None:
    path = tmp_path / "print.jpg"
    Image.fromarray(astronaut).convert("CMYK").save(path, quality=95)
    assert Image.open(path).mode == "CMYK"
    img = load_image(path)
    assert np.abs(img.astype(int) - astronaut).mean() < 6
    assert len(detect_landmarks(img)) == 1


def test_sixteen_bit(astronaut: np.ndarray) -> None:
    grey8 = np.asarray(Image.fromarray(astronaut).convert("L"))
    buf = io.BytesIO()
    Image.fromarray(grey8.astype(np.uint16) * 257).save(buf, "PNG")  # 16-bit greyscale ("I;16")
    assert Image.open(io.BytesIO(buf.getvalue())).mode.startswith("I;16")
    np.testing.assert_array_equal(load_image(buf.getvalue())[..., 0], grey8)
    rgb16 = astronaut.astype(np.uint16) * 257  # 48-bit RGB
    rows = b"".join(b"\x00" + row.astype(">u2").tobytes() for row in rgb16)
    img = load_image(_png(512, 512, 16, 2, rows))
    assert np.abs(img.astype(int) - astronaut).max() <= 1
    dark = np.full((8, 8), 1000, np.uint16)  # stays dark: not stretched to white
    assert load_image(_png(8, 8, 16, 0, b"".join(b"\x00" + r.astype(">u2").tobytes() for r in dark)))[0, 0, 0] == 4


def test_float_tiff(tmp_path: Path, astronaut: np.ndarray) -> None:
    grey = np.asarray(Image.fromarray(astronaut).convert("L"), np.float32) / 255.0
    path = tmp_path / "scan.tif"
    Image.fromarray(grey, mode="F").save(path)
    np.testing.assert_allclose(load_image(path)[..., 0], grey * 255, atol=1)


def test_exif_rotation(tmp_path: Path, astronaut: np.ndarray) -> None:
    upright = astronaut[:, 56:456]  # 512 tall, 400 wide: the rotation shows in the shape
    stored = Image.fromarray(upright).transpose(Image.Transpose.ROTATE_90)  # a camera held sideways
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    path = tmp_path / "phone.jpg"
    stored.save(path, quality=95, exif=exif)
    loaded = read_image(path)
    assert loaded.pixels.shape == (512, 400, 3) and loaded.stored_size == (400, 512)
    assert np.abs(loaded.pixels.astype(int) - upright).mean() < 4
    crop = analyze_portrait(path)
    assert abs(crop.pose.roll_deg) < 3 and abs(crop.pose.yaw_deg) < 15


def test_animated_gif_first_frame() -> None:
    frames = [Image.new("RGB", (64, 64), c) for c in ((200, 30, 30), (30, 30, 200))]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100)
    img = load_image(buf.getvalue())
    assert img[0, 0, 0] > 150 and img[0, 0, 2] < 100


def test_huge_jpeg_is_shrunk_with_bounded_memory(tmp_path: Path, astronaut: np.ndarray) -> None:
    """9000x9000 (81 megapixels, 243 MB as RGB): JPEG decodes at 1/4 scale, so reading it costs a few
    tens of MB, measured in a fresh process. The face is then ~10 % of the shrunk image's side, found
    by the tiled search."""
    big = Image.new("L", (9000, 9000), 200)
    big.paste(Image.fromarray(astronaut).convert("L").resize((4096, 4096), Image.Resampling.BILINEAR), (2452, 2452))
    path = tmp_path / "huge.jpg"
    big.save(path, quality=80)
    del big
    code = (
        "import sys\n"
        "from engine.face import read_image\n"
        "def kb(key):\n"
        "    return int(next(l for l in open('/proc/self/status') if l.startswith(key)).split()[1])\n"
        "open('/proc/self/clear_refs', 'w').write('5')  # reset the peak to now\n"
        "before = kb('VmRSS')\n"
        "img = read_image(sys.argv[1])\n"
        "print(img.pixels.shape, img.stored_size, (kb('VmHWM') - before) // 1024, sep='|')\n")
    proc = subprocess.run([sys.executable, "-c", code, str(path)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    shape, stored, peak_mb = proc.stdout.strip().split("|")
    assert (shape, stored) == ("(2048, 2048, 3)", "(9000, 9000)")
    assert int(peak_mb) < 100, f"reading the 9000x9000 JPEG took {peak_mb} MB"
    crop = analyze_portrait(path)
    assert crop.image.shape == (512, 512, 3) and abs(crop.pose.yaw_deg) < 15


def test_too_many_pixels(tmp_path: Path) -> None:
    """Headers that announce huge images (nothing is decoded): above Pillow's bomb limit, and just
    above the decoded-size limit (a PNG cannot be decoded at a reduced scale)."""
    with pytest.raises(NotAnImageError, match=r"bomb.png has too many pixels to open safely"):
        path = tmp_path / "bomb.png"
        path.write_bytes(_png(30000, 30000, 8, 2, b""))
        load_image(path)
    side = math.isqrt(Image.MAX_IMAGE_PIXELS) + 1
    with pytest.raises(NotAnImageError, match=rf"is {side}x{side} pixels, too large to decode safely"):
        load_image(_png(side, side, 8, 2, b""))

