"""The parametric head rig: topology, landmark correspondence, parameters, and what each blendshape moves."""
from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from engine.head import RigParams, load_rig
from engine.head.meshops import boundary_loops, is_closed_oriented, signed_volume
from engine.types import ARKIT_NAMES, DYN_DIM, MotionLatent

MIRROR = np.array([-1.0, 1.0, 1.0])


@pytest.fixture(scope="module")
def rig():
    return load_rig()


@pytest.fixture(scope="module")
def rest(rig):
    return rig(rig.zero_params(1)).vertices[0].numpy().astype(np.float64)


@pytest.fixture(scope="module")
def shape_disp(rig, rest):
    """Displacement [52, V, 3] of every expression coefficient at weight 1 (full forward: joints too)."""
    p = rig.zero_params(DYN_DIM)
    p.expression = torch.eye(DYN_DIM)
    with torch.no_grad():
        v = rig(p).vertices.numpy().astype(np.float64)
    return v - rest[None]


def test_shapes_and_counts(rig, rest):
    v_count, f_count = rig.num_vertices, rig.faces.shape[0]
    assert 1000 < v_count < 4000 and rest.shape == (v_count, 3)
    assert rig.faces.dtype == torch.long and rig.faces.shape == (f_count, 3) and int(rig.faces.max()) < v_count
    assert rig.uvs.shape == (f_count, 3, 2)
    assert rig.landmark_vertices.shape == (478,)
    assert torch.equal(rig.landmark_vertices[:468], torch.arange(468))
    assert rig.identity_basis.shape == (rig.n_identity, v_count, 3) and 20 <= rig.n_identity <= 40
    assert rig.expression_basis.shape == (52, v_count, 3) and rig.expression_names == ARKIT_NAMES
    assert rig.skin_weights.shape == (v_count, len(rig.joint_names))
    assert torch.allclose(rig.skin_weights.sum(1), torch.ones(v_count), atol=1e-5)
    regions = torch.stack(list(rig.regions.values()))
    assert set(rig.regions) == {"face", "neck", "eyes", "mouth_interior", "scalp", "ears"}
    assert torch.equal(regions.sum(0), torch.ones(v_count, dtype=torch.long))  # a partition
    assert rig.regions["eyes"][rig.landmark_vertices[468:]].all()  # iris landmarks sit on the eyeballs
    assert all(int(m.sum()) > 10 for m in rig.regions.values())


def test_face_vertices_follow_mediapipe_landmark_order(rest):
    face = rest[:468]
    assert int(np.argmax(face[:, 2])) in (1, 4)  # the nose tip is the most forward point
    assert face[1, 2] > face[:, 2].max() - 0.003
    assert face[10, 1] > face[1, 1] > face[152, 1]  # forehead above nose tip above chin
    for right, left in ((33, 263), (133, 362), (61, 291), (234, 454), (159, 386)):  # subject's right is -X
        assert face[right, 0] < -0.01
        np.testing.assert_allclose(face[left], face[right] * MIRROR, atol=1e-6)
    eye_span = np.linalg.norm(face[263] - face[33])
    assert 0.085 < eye_span < 0.095


def test_iris_landmarks_on_the_eyeball_fronts(rig, rest):
    lm = rest[rig.landmark_vertices.numpy()]
    ipd = np.linalg.norm(lm[473] - lm[468])
    assert 0.058 < ipd < 0.07
    for centre in (468, 473):
        rim = lm[centre + 1:centre + 5]
        radius = np.linalg.norm(rim - lm[centre], axis=1)
        assert np.all((radius > 0.004) & (radius < 0.008))  # iris radius ~6 mm
        assert lm[centre, 2] > rim[:, 2].max()  # the centre is the front pole
    assert lm[470, 1] > lm[468, 1] > lm[472, 1]  # rim order: 470 above, 472 below (as mediapipe)


def test_surface_is_closed_outward_and_parts_are_closed(rig, rest):
    faces = rig.faces.numpy()
    parts = rig.parts
    surface = np.isin(parts, ("face", "shell", "socket", "mouth_cavity"))
    main = faces[surface[faces].all(1)]
    assert len(main) + sum(int((parts[faces[:, 0]] == p).sum()) for p in
                           ("eyeball_left", "eyeball_right", "teeth_upper", "teeth_lower", "tongue")) == len(faces)
    assert is_closed_oriented(main)
    assert signed_volume(rest, main) > 0.002  # a head is a few litres; outward-oriented
    for part in ("eyeball_left", "eyeball_right", "teeth_upper", "teeth_lower", "tongue"):
        f = faces[(parts[faces] == part).all(1)]
        assert is_closed_oriented(f), part
        assert signed_volume(rest, f) > 0, part
    # The face mesh's own holes are the eyes and the mouth; the pockets close them.
    face_f = faces[(faces < 468).all(1)]
    assert sorted(len(lp) for lp in boundary_loops(face_f)) == [16, 16, 20, 36]


def test_rig_is_mirror_symmetric(rig, rest):
    m = rig.mirror.numpy()
    np.testing.assert_allclose(rest[m], rest * MIRROR, atol=1e-6)
    assert np.array_equal(m[m], np.arange(len(m)))


def test_gradients_reach_every_parameter(rig):
    b = 2
    gen = torch.Generator().manual_seed(0)
    p = RigParams(identity=0.5 * torch.randn(b, rig.n_identity, generator=gen),
                  expression=0.3 * torch.rand(b, DYN_DIM, generator=gen),
                  jaw=0.05 * torch.randn(b, 3, generator=gen), eyes=0.05 * torch.randn(b, 2, 3, generator=gen),
                  neck=0.05 * torch.randn(b, 3, generator=gen), rotation=0.1 * torch.randn(b, 3, generator=gen),
                  translation=0.01 * torch.randn(b, 3, generator=gen), offsets=torch.zeros(rig.num_vertices, 3))
    for name in ("identity", "expression", "jaw", "eyes", "neck", "rotation", "translation", "offsets"):
        getattr(p, name).requires_grad_(True)
    out = rig(p)
    weights = torch.randn(out.vertices.shape, generator=gen)
    (out.vertices * weights).sum().backward()
    for name in ("identity", "expression", "jaw", "eyes", "neck", "rotation", "translation", "offsets"):
        g = getattr(p, name).grad
        assert g is not None and torch.isfinite(g).all(), name
    assert (p.identity.grad.abs() > 0).all() and (p.expression.grad.abs().sum(0) > 0).all()
    assert (p.eyes.grad[..., :2].abs() > 0).all() and (p.jaw.grad[:, :2].abs() > 0).all()


def test_zero_rotation_gradient_is_finite(rig):
    p = rig.zero_params(1)
    p.rotation.requires_grad_(True)
    p.neck.requires_grad_(True)
    rig(p).vertices.sum().backward()
    assert torch.isfinite(p.rotation.grad).all() and p.rotation.grad.abs().sum() > 0
    assert torch.isfinite(p.neck.grad).all()


def test_batch_matches_single(rig):
    gen = torch.Generator().manual_seed(1)
    b = 3
    p = RigParams(identity=torch.randn(b, rig.n_identity, generator=gen), expression=torch.rand(b, DYN_DIM, generator=gen),
                  jaw=0.1 * torch.randn(b, 3, generator=gen), eyes=0.1 * torch.randn(b, 2, 3, generator=gen),
                  neck=0.1 * torch.randn(b, 3, generator=gen), rotation=0.3 * torch.randn(b, 3, generator=gen),
                  translation=0.05 * torch.randn(b, 3, generator=gen),
                  offsets=0.001 * torch.randn(b, rig.num_vertices, 3, generator=gen))
    batched = rig(p).vertices
    for i in range(b):
        single = RigParams(**{k: getattr(p, k)[i:i + 1] for k in ("identity", "expression", "jaw", "eyes", "neck",
                                                                  "rotation", "translation", "offsets")})
        torch.testing.assert_close(rig(single).vertices[0], batched[i], atol=1e-6, rtol=0)


def test_global_pose_is_rigid_and_from_latent(rig, rest):
    pose = torch.tensor([0.2, -0.4, 0.1, 0.01, -0.02, 0.3])
    latent = MotionLatent(torch.zeros(DYN_DIM), pose)
    p = RigParams.from_latent(latent, torch.zeros(rig.n_identity))
    assert p.batch == 1 and torch.equal(p.rotation[0], pose[:3]) and torch.equal(p.translation[0], pose[3:])
    v = rig(p).vertices[0].double().numpy()
    i, j = 1, 1500
    assert abs(np.linalg.norm(v[i] - v[j]) - np.linalg.norm(rest[i] - rest[j])) < 1e-5
    seq = RigParams.from_latent(MotionLatent.neutral(5), torch.zeros(rig.n_identity))
    assert seq.batch == 5 and rig(seq).vertices.shape == (5, rig.num_vertices, 3)


def test_triangle_frames(rig):
    out = rig(rig.zero_params(2))
    fr = out.triangle_frames(rig.faces)
    f = rig.faces.shape[0]
    assert fr.centre.shape == (2, f, 3) and fr.rotation.shape == (2, f, 3, 3) and fr.scale.shape == (2, f)
    r = fr.rotation[0]
    torch.testing.assert_close(r.transpose(1, 2) @ r, torch.eye(3).expand(f, 3, 3), atol=1e-4, rtol=0)
    assert torch.all(torch.det(r) > 0.99) and torch.all(fr.scale > 1e-4) and torch.all(fr.scale < 0.05)


def test_forward_is_fast(rig):
    p = rig.zero_params(1)
    p.expression[:] = 0.2
    times, threads = [], torch.get_num_threads()
    # One intra-op thread: a B=1 forward is too small to split, and spinning thread pools slow down
    # many-fold when another process holds the cores.
    torch.set_num_threads(1)
    try:
        with torch.no_grad():
            rig(p)
            for _ in range(5):  # best of 5 rounds
                t0 = time.perf_counter()
                for _ in range(10):
                    rig(p)
                times.append((time.perf_counter() - t0) / 10)
    finally:
        torch.set_num_threads(threads)
    assert min(times) < 0.005  # ~1 ms here


# --------------------------------------------------------------------------------------------
# What every expression coefficient moves. Zones are mediapipe landmark groups ("L" = subject's
# left = +X; the right zones are mirror images) or rig parts.
LEFT = {
    "lid_up": [386, 385, 387, 384, 388], "lid_lo": [374, 373, 380, 381, 390],
    "brow_in": [285, 336, 295, 296], "brow_out": [276, 283, 293, 300],
    "corner": [291, 308], "cheek": [425, 411, 427, 436], "under_eye": [330, 347, 348],
    "ala": [358, 279, 294], "lip_up_side": [267, 269, 312, 311], "lip_lo_side": [314, 405, 317, 402],
}
MID = {"lip_up": [0, 13, 37, 267, 82, 312], "lip_lo": [17, 14, 84, 314, 87, 317], "chin": [152, 175, 199],
       "nose_tip": [1, 4]}
PARTS = ("eyeball_left", "eyeball_right", "tongue", "teeth_lower", "teeth_upper")


def _zones(rig) -> dict[str, np.ndarray]:
    m = rig.mirror.numpy()
    z = {f"{k}_L": np.array(v) for k, v in LEFT.items()}
    z.update({f"{k}_R": m[np.array(v)] for k, v in LEFT.items()})
    z.update({k: np.array(v) for k, v in MID.items()})
    z.update({p: np.flatnonzero(rig.parts == p) for p in PARTS})
    z["face"] = np.arange(468)
    z["mouth"] = np.concatenate([z["lip_up"], z["lip_lo"], z["corner_L"], z["corner_R"]])
    z["eyes"] = np.concatenate([z["lid_up_L"], z["lid_lo_L"], z["lid_up_R"], z["lid_lo_R"]])
    z["brows"] = np.concatenate([z["brow_in_L"], z["brow_out_L"], z["brow_in_R"], z["brow_out_R"]])
    return z


# name (Left versions only; Right ones are checked as mirrors): (moves, min metres, stays still)
EXPECT = {
    "eyeBlinkLeft": ("lid_up_L", 0.006, ["mouth", "lid_up_R", "lid_lo_R", "brows", "eyeball_left", "nose_tip"]),
    "eyeSquintLeft": ("lid_lo_L", 0.0015, ["mouth", "lid_up_R", "lid_lo_R", "eyeball_left", "nose_tip"]),
    "eyeWideLeft": ("lid_up_L", 0.002, ["mouth", "lid_up_R", "lid_lo_R", "eyeball_left", "nose_tip"]),
    "eyeLookDownLeft": ("eyeball_left", 0.004, ["face", "eyeball_right"]),
    "eyeLookInLeft": ("eyeball_left", 0.004, ["face", "eyeball_right"]),
    "eyeLookOutLeft": ("eyeball_left", 0.004, ["face", "eyeball_right"]),
    "eyeLookUpLeft": ("eyeball_left", 0.004, ["face", "eyeball_right"]),
    "jawForward": ("chin", 0.004, ["eyes", "brows", "nose_tip", "lip_up", "teeth_upper"]),
    "jawLeft": ("chin", 0.004, ["eyes", "brows", "nose_tip", "teeth_upper"]),
    "jawOpen": ("chin", 0.02, ["eyes", "brows", "nose_tip", "teeth_upper"]),
    "mouthClose": ("lip_lo", 0.003, ["eyes", "brows", "nose_tip", "chin"]),
    "mouthFunnel": ("lip_up", 0.003, ["eyes", "brows", "nose_tip"]),
    "mouthPucker": ("corner_L", 0.005, ["eyes", "brows", "nose_tip"]),
    "mouthLeft": ("corner_L", 0.004, ["eyes", "brows", "nose_tip"]),
    "mouthSmileLeft": ("corner_L", 0.006, ["corner_R", "eyes", "brows", "nose_tip"]),
    "mouthFrownLeft": ("corner_L", 0.004, ["corner_R", "eyes", "brows", "nose_tip"]),
    "mouthDimpleLeft": ("corner_L", 0.003, ["corner_R", "eyes", "brows", "nose_tip"]),
    "mouthStretchLeft": ("corner_L", 0.005, ["corner_R", "eyes", "brows", "nose_tip"]),
    "mouthRollLower": ("lip_lo", 0.003, ["lip_up", "eyes", "brows", "nose_tip"]),
    "mouthRollUpper": ("lip_up", 0.003, ["lip_lo", "eyes", "brows", "nose_tip"]),
    "mouthShrugLower": ("lip_lo", 0.003, ["eyes", "brows", "nose_tip"]),
    "mouthShrugUpper": ("lip_up", 0.0025, ["eyes", "brows", "chin"]),
    "mouthPressLeft": ("lip_up_side_L", 0.002, ["lip_up_side_R", "eyes", "brows", "nose_tip"]),
    "mouthLowerDownLeft": ("lip_lo_side_L", 0.004, ["lip_lo_side_R", "lip_up", "eyes", "brows", "nose_tip"]),
    "mouthUpperUpLeft": ("lip_up_side_L", 0.004, ["lip_up_side_R", "lip_lo", "eyes", "brows", "chin"]),
    "browDownLeft": ("brow_in_L", 0.004, ["brow_in_R", "brow_out_R", "mouth", "nose_tip", "eyeball_left"]),
    "browInnerUp": ("brow_in_L", 0.005, ["mouth", "nose_tip", "eyeball_left", "eyeball_right"]),
    "browOuterUpLeft": ("brow_out_L", 0.004, ["brow_in_R", "brow_out_R", "mouth", "nose_tip"]),
    "cheekPuff": ("cheek_L", 0.004, ["eyes", "brows", "nose_tip"]),
    "cheekSquintLeft": ("under_eye_L", 0.0025, ["under_eye_R", "mouth", "brows"]),
    "noseSneerLeft": ("ala_L", 0.003, ["ala_R", "mouth", "brows", "eyeball_left"]),
    "tongueOut": ("tongue", 0.02, ["face", "teeth_upper", "teeth_lower"]),
}
STILL_FRACTION = 0.12  # of the largest displacement in the moving zone


def _mirror_name(name: str) -> str | None:
    if name.endswith("Left"):
        return name[:-4] + "Right"
    return "mouthRight" if name == "mouthLeft" else ("jawRight" if name == "jawLeft" else None)


def test_expectations_cover_all_52():
    covered = set(EXPECT) | {_mirror_name(n) for n in EXPECT} - {None}
    assert covered == set(ARKIT_NAMES)


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_blendshape_moves_its_region_only(rig, shape_disp, name):
    zones = _zones(rig)
    moving, min_m, still = EXPECT[name]
    d = np.linalg.norm(shape_disp[ARKIT_NAMES.index(name)], axis=1)
    peak = d[zones[moving]].max()
    assert peak >= min_m, f"{name} moves {moving} by only {peak * 1000:.2f} mm"
    assert d.max() < 0.05, f"{name} moves something by {d.max() * 1000:.0f} mm"
    for zone in still:
        assert d[zones[zone]].max() <= STILL_FRACTION * peak, \
            f"{name} moves {zone} by {d[zones[zone]].max() * 1000:.2f} mm (peak {peak * 1000:.2f} mm)"


def test_blendshape_directions(rig, rest, shape_disp):
    zones = _zones(rig)
    lm = rig.landmark_vertices.numpy()

    def mean_d(name, zone):
        return shape_disp[ARKIT_NAMES.index(name)][zones[zone] if isinstance(zone, str) else zone].mean(0)

    assert mean_d("eyeBlinkLeft", "lid_up_L")[1] < -0.004
    assert mean_d("eyeWideLeft", "lid_up_L")[1] > 0.0015
    assert mean_d("jawOpen", "chin")[1] < -0.02 and mean_d("jawOpen", "teeth_lower")[1] < -0.01
    smile = mean_d("mouthSmileLeft", "corner_L")
    assert smile[1] > 0.004 and smile[0] > 0.002
    assert mean_d("mouthFrownLeft", "corner_L")[1] < -0.003
    assert mean_d("browInnerUp", "brow_in_L")[1] > 0.004 and mean_d("browInnerUp", "brow_in_R")[1] > 0.004
    assert mean_d("browDownLeft", "brow_in_L")[1] < -0.003
    assert mean_d("mouthPucker", "lip_up")[2] > 0.003
    assert mean_d("mouthLeft", "corner_R")[0] > 0.003  # the whole mouth shifts to the subject's left
    assert mean_d("jawLeft", "chin")[0] > 0.003
    assert mean_d("tongueOut", "tongue")[2] > 0.01
    assert mean_d("eyeLookUpLeft", [lm[473]])[1] > 0.003 and mean_d("eyeLookDownLeft", [lm[473]])[1] < -0.003
    assert mean_d("eyeLookOutLeft", [lm[473]])[0] > 0.003 and mean_d("eyeLookInLeft", [lm[473]])[0] < -0.003
    assert mean_d("eyeLookInRight", [lm[468]])[0] > 0.003 and mean_d("eyeLookOutRight", [lm[468]])[0] < -0.003


def test_left_right_pairs_are_mirror_images(rig, shape_disp):
    m = rig.mirror.numpy()
    for name in ARKIT_NAMES:
        if name.endswith("Right") or name in ("mouthRight", "jawRight"):
            continue  # checked from the Left side
        other = _mirror_name(name) or name  # symmetric shapes mirror onto themselves
        d, e = shape_disp[ARKIT_NAMES.index(name)], shape_disp[ARKIT_NAMES.index(other)]
        np.testing.assert_allclose(e[m] * MIRROR, d, atol=2e-6, err_msg=f"{name} vs {other}")


def test_identity_modes_are_smooth_and_keep_symmetry(rig, rest):
    m = rig.mirror.numpy()
    faces = rig.faces.numpy()
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    length = np.linalg.norm(rest[edges[:, 0]] - rest[edges[:, 1]], axis=1)
    eyes = np.flatnonzero(np.isin(rig.parts, ("eyeball_left", "eyeball_right")))
    for k, name in enumerate(rig.identity_names):
        d = rig.identity_basis[k].double().numpy()
        mag = np.linalg.norm(d, axis=1).max()
        assert 0.001 < mag < 0.02, f"{name}: {mag * 1000:.1f} mm"
        strain = np.linalg.norm(d[edges[:, 0]] - d[edges[:, 1]], axis=1) / length
        assert strain.max() < 0.5, f"{name} is not smooth (edge strain {strain.max():.2f})"
        mirrored = d[m] * MIRROR
        symmetric = np.abs(mirrored - d).max() < 1e-6
        antisymmetric = np.abs(mirrored + d).max() < 1e-6
        assert symmetric or antisymmetric, name
        if symmetric:
            p = rig.zero_params(1)
            p.identity[0, k] = 2.0
            v = rig(p).vertices[0].double().numpy()
            np.testing.assert_allclose(v[m] * MIRROR, v, atol=1e-5)
        for side in (rig.parts == "eyeball_left", rig.parts == "eyeball_right"):  # eyeballs stay spheres
            assert np.ptp(d[side], axis=0).max() < 1e-7
    assert len(eyes) > 0


def test_jaw_opening_is_skinned_smoothly(rig, shape_disp):
    d = np.linalg.norm(shape_disp[ARKIT_NAMES.index("jawOpen")], axis=1)
    w = rig.skin_weights[:, rig.joint_names.index("jaw")].numpy()
    assert w[MID["chin"]].min() > 0.95 and w[MID["lip_lo"]].min() > 0.95 and w[MID["lip_up"]].max() < 0.05
    cheek = w[[432, 422, 273, 335]]  # beside and below the left mouth corner
    assert 0.1 < cheek.mean() < 0.9  # the cheeks blend between head and jaw
    np.testing.assert_allclose(w[rig.mirror.numpy()], w, atol=1e-6)
    assert d[np.flatnonzero(rig.parts == "teeth_upper")].max() < 1e-6


def test_committed_rig_matches_its_build_script():
    """resources/rig/rig_v1.npz is what `python -m engine.head.build_rig` makes from this code."""
    pytest.importorskip("mediapipe")
    from engine.head.build_rig import RIG_PATH, build

    built = build()
    with np.load(RIG_PATH, allow_pickle=False) as committed:
        assert set(committed.files) == set(built), "rebuild: python -m engine.head.build_rig"
        assert committed["faces"].shape == built["faces"].shape, "rebuild: python -m engine.head.build_rig"
        for key in ("template", "identity_basis", "expression_basis", "skin_weights", "joints", "colors"):
            np.testing.assert_allclose(committed[key], built[key], atol=1e-4, err_msg=f"{key}: rebuild the rig")
        for key in ("faces", "landmark_vertices", "mirror", "regions", "parts"):
            assert np.array_equal(committed[key], built[key]), f"{key}: rebuild the rig"
