"""Build the project's parametric head rig: `python -m engine.head.build_rig` writes resources/rig/rig_v1.npz.

Deterministic (mediapipe's static mode on a fixed bundled portrait, fixed sampling) and a few seconds.
The steps: canonical face (canonical.py) -> head shell (shell.py) -> eyeballs, sockets, mouth cavity,
teeth, tongue (parts.py) -> regions, UVs, default colours -> skinning (skinning.py) -> identity basis
(identity.py) -> expression blendshapes (blendshapes.py). The file holds plain arrays only
(np.load(..., allow_pickle=False)); model.ParametricRig reads it.

UVs are per triangle corner [F, 3, 2]: the head surface (face, shell) is a spherical unwrap about
shell.SHELL_CENTRE into v in [0, 0.8] (u = 0.5 + azimuth / 2pi, the face in the middle, the seam at
the back of the head; triangles across it get u > 1, so sample with wrap-around); the parts get
front-projected islands in the strip v in [0.8, 1]: left eye, right eye, teeth, tongue, and the
pockets (sockets and mouth cavity).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from engine.head import anatomy as A
from engine.head import parts as P
from engine.head.anatomy import face_anatomy
from engine.head.blendshapes import face_blendshapes
from engine.head.canonical import canonical_face
from engine.head.identity import identity_basis
from engine.head.meshops import smooth_fill, is_closed_oriented, smoothstep
from engine.head.shell import COLLAR_Y, CRANIUM, EAR, SHELL_CENTRE, build_shell
from engine.head.skinning import JOINTS, build_weights
from engine.types import ARKIT_NAMES

RIG_PATH = Path(__file__).resolve().parents[2] / "resources" / "rig" / "rig_v1.npz"
FORMAT_VERSION = 1
REGIONS = ("face", "neck", "eyes", "mouth_interior", "scalp", "ears")
NECK_BLEND_TOP = -0.125  # the neck bends between the collar and here
HEAD_JOINT = np.array([0.0, -0.04, -0.075])  # top of the neck: neck and global rotations pivot here
JAW_JOINT = np.array([0.0, -0.028, -0.062])  # on the line through both temporomandibular joints
TONGUE_OUT = np.array([0.0, -0.006, 0.036])  # tip displacement of tongueOut
HAIR_THICKNESS = 0.007

COLORS = {
    "skin": (0.80, 0.60, 0.50), "lips": (0.70, 0.33, 0.33), "brow": (0.32, 0.22, 0.16),
    "lash": (0.25, 0.16, 0.13), "hair": (0.17, 0.11, 0.08), "sclera": (0.93, 0.91, 0.89),
    "iris": (0.33, 0.22, 0.13), "pupil": (0.03, 0.03, 0.03), "socket": (0.86, 0.74, 0.72),
    "teeth": (0.95, 0.93, 0.86), "tongue": (0.78, 0.38, 0.40), "cavity": (0.28, 0.07, 0.07),
}


def _mirror_map(v: np.ndarray, tol: float = 1e-6) -> np.ndarray:
    """Index of each vertex's mirror image (x -> -x) [V]; the rig is built exactly symmetric."""
    from scipy.spatial import cKDTree

    dist, idx = cKDTree(v).query(v * np.array([-1.0, 1.0, 1.0]))
    if dist.max() > tol:
        raise RuntimeError(f"rig is not mirror-symmetric (worst vertex off by {dist.max():.2e} m)")
    return idx


def _hairline(v: np.ndarray) -> np.ndarray:
    """Height [V] of the hairline above each vertex's depth: at the forehead's top in front, down to
    the nape at the back."""
    return np.interp(v[:, 2], [-0.14, -0.05], [-0.065, 0.03])


def _hair_volume(v: np.ndarray, parts: np.ndarray, oval_points: np.ndarray) -> np.ndarray:
    """The shell with HAIR_THICKNESS added radially above the hairline, fading in over ~2.5 cm (and
    away from the face's edge), so the scalp reads as a head of short hair rather than a bald cap."""
    from scipy.spatial import cKDTree

    w = smoothstep(0.0, 0.025, v[:, 1] - _hairline(v)) * smoothstep(0.01, 0.035, cKDTree(oval_points).query(v)[0])
    w[parts != "shell"] = 0.0
    d = v - np.array(CRANIUM[0])
    return v + HAIR_THICKNESS * w[:, None] * d / np.linalg.norm(d, axis=1, keepdims=True)


def _regions(v: np.ndarray, parts: np.ndarray) -> dict[str, np.ndarray]:
    """Per-vertex labels, one region each (a partition)."""
    shell = parts == "shell"
    centre, radii = EAR
    folded = v.copy()
    folded[:, 0] = np.abs(folded[:, 0])  # both ears at once
    ears = shell & ((((folded - centre) / (1.5 * np.array(radii))) ** 2).sum(1) < 1)
    scalp = shell & ~ears & (v[:, 1] > _hairline(v))
    neck = shell & ~ears & ~scalp & ((v[:, 1] < NECK_BLEND_TOP) | ((v[:, 2] < -0.09) & (v[:, 1] < -0.05)))
    eyes = np.isin(parts, ("eyeball_left", "eyeball_right", "socket"))
    mouth = np.isin(parts, ("mouth_cavity", "teeth_upper", "teeth_lower", "tongue"))
    face = ~(ears | scalp | neck | eyes | mouth)
    return {"face": face, "neck": neck, "eyes": eyes, "mouth_interior": mouth, "scalp": scalp, "ears": ears}


def _uvs(v: np.ndarray, f: np.ndarray, parts: np.ndarray) -> np.ndarray:
    """Per-corner UVs [F, 3, 2] (see the module docstring)."""
    d = v - SHELL_CENTRE
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    uv = np.stack([0.5 + np.arctan2(d[:, 0], d[:, 2]) / (2 * np.pi), 0.8 * (0.5 + np.arcsin(d[:, 1]) / np.pi)], 1)
    islands = (("eyeball_left",), ("eyeball_right",), ("teeth_upper", "teeth_lower"), ("tongue",),
               ("socket", "mouth_cavity"))
    for k, names in enumerate(islands):
        sel = np.isin(parts, names)
        xy = v[sel, :2]
        lo, hi = xy.min(0), xy.max(0)
        uv[sel] = np.array([0.2 * k, 0.8]) + 0.18 * (xy - lo) / (hi - lo).max() + 0.01
    corner = uv[f].copy()  # [F, 3, 2]
    head = np.isin(parts[f[:, 0]], ("face", "shell"))
    u = corner[..., 0]
    wraps = head & (u.max(1) - u.min(1) > 0.5)
    u[wraps] = np.where(u[wraps] < 0.5, u[wraps] + 1.0, u[wraps])
    return corner


def _colors(v: np.ndarray, parts: np.ndarray, regions: dict[str, np.ndarray], anat, eye_polar: dict) -> np.ndarray:
    c = np.tile(np.array(COLORS["skin"]), (len(v), 1))
    paint = lambda sel, name: c.__setitem__(sel, COLORS[name])  # noqa: E731
    # Hair fades in over a centimetre above the hairline: per-vertex colour on ~1 cm triangles
    # would otherwise draw a zigzag.
    hair = smoothstep(-0.006, 0.008, v[:, 1] - _hairline(v)) * (parts == "shell") * ~regions["ears"]
    c += hair[:, None] * (np.array(COLORS["hair"]) - c)
    paint(anat.lips, "lips")
    brows = np.array(A.LEFT_BROW)
    paint(np.concatenate([brows, anat.mirror(brows)]), "brow")
    paint(np.concatenate([anat.eye_left.upper, anat.eye_right.upper]), "lash")
    paint(parts == "socket", "socket")
    paint(parts == "mouth_cavity", "cavity")
    paint(np.isin(parts, ("teeth_upper", "teeth_lower")), "teeth")
    paint(parts == "tongue", "tongue")
    for idx, polar in eye_polar.values():
        c[idx] = COLORS["sclera"]
        c[idx[polar <= P.LIMBUS_DEG + 1]] = COLORS["iris"]
        c[idx[polar <= P.PUPIL_DEG + 1]] = COLORS["pupil"]
    return c


def _jaw_share(v: np.ndarray, f: np.ndarray, parts: np.ndarray, anat, pocket_rings: list[np.ndarray],
               lip_y: float) -> np.ndarray:
    """The jaw's share [V] of each vertex's head-side weight: harmonic over the closed surface between
    pins (lower lip and chin 1; upper lip, everything above the mouth, the neck and the back 0), then
    rigid parts: lower teeth and tongue 1, upper teeth and eyes 0."""
    surface = np.isin(parts, ("face", "shell", "socket", "mouth_cavity"))
    one = [np.array(A.LOWER_INNER + A.LOWER_OUTER + A.CHIN)]
    zero = [np.array(A.UPPER_INNER + A.UPPER_OUTER + A.NOSE_TIP),
            np.flatnonzero(surface & (v[:, 1] > lip_y + 0.012)), np.flatnonzero(parts == "socket"),
            np.flatnonzero((parts == "shell") & ((v[:, 1] < NECK_BLEND_TOP - 0.01) | (v[:, 2] < -0.085)))]
    for ring in pocket_rings[:-1]:
        one.append(ring[anat.lip_side < 0])
        zero.append(ring[anat.lip_side > 0])
    one_idx = np.unique(np.concatenate(one))
    zero_idx = np.setdiff1d(np.unique(np.concatenate(zero)), one_idx)
    w = np.zeros(len(v))
    keep = np.flatnonzero(surface)
    renum = np.full(len(v), -1)
    renum[keep] = np.arange(len(keep))
    sub_f = f[np.all(surface[f], axis=1)]
    fixed = np.concatenate([one_idx, zero_idx])
    vals = np.concatenate([np.ones(len(one_idx)), np.zeros(len(zero_idx))])[:, None]
    w[keep] = smooth_fill(v[keep], renum[sub_f], renum[fixed], vals)[:, 0]
    w[np.isin(parts, ("teeth_lower", "tongue"))] = 1.0
    return np.clip(w, 0.0, 1.0)


def build() -> dict[str, np.ndarray]:
    """All rig arrays (see model.ParametricRig for their meaning)."""
    face = canonical_face()
    pts, tris, pairs = face.points, face.triangles, face.pairs
    anat = face_anatomy(pts, tris, pairs)
    shell = build_shell(pts[:468], tris, anat.oval)

    mb = P.MeshBuilder()
    mb.add_vertices(pts[:468], "face")
    mb.add_faces(tris)
    mb.add_vertices(shell.vertices, "shell")
    mb.add_faces(shell.faces)

    eye_centre = {"left": pts[473] - [0, 0, P.EYE_RADIUS], "right": pts[468] - [0, 0, P.EYE_RADIUS]}
    eye_polar, sockets = {}, {}
    for side, lids in (("left", anat.eye_left), ("right", anat.eye_right)):
        eye_polar[side] = P.eyeball(mb, eye_centre[side], f"eyeball_{side}")
        sockets[side] = P.socket(mb, lids.loop, pts, eye_centre[side])
    g = P.MouthGeometry(lip_y=float(pts[[13, 14], 1].mean()), lip_z=float(pts[[13, 14], 2].mean()),
                        half_width=float(pts[A.MOUTH_CORNERS[1], 0]))
    pocket = P.mouth_pocket(mb, anat.lip_loop, pts, anat.lip_side, g)
    P.teeth(mb, g)
    tongue = P.tongue(mb, g)
    v, f, parts = mb.arrays()
    regions = _regions(v, parts)
    v = _hair_volume(v, parts, pts[anat.oval])

    main = np.isin(parts, ("face", "shell", "socket", "mouth_cavity"))
    if not is_closed_oriented(f[np.all(main[f], axis=1)]):
        raise RuntimeError("the head surface is not closed and consistently oriented")
    mirror = _mirror_map(v)

    # Landmarks: 0..467 are the face vertices; iris centres are the front poles of the eyeballs, rims
    # the limbus vertices nearest to mediapipe's rim points (seen from the eye centre).
    landmarks = np.concatenate([np.arange(468), np.zeros(10, np.int64)])
    for side, centre_lm in (("right", 468), ("left", 473)):
        idx, polar = eye_polar[side]
        landmarks[centre_lm] = idx[0]
        rim = idx[np.isclose(polar, P.LIMBUS_DEG)]
        for lm in range(centre_lm + 1, centre_lm + 5):
            want = pts[lm] - eye_centre[side]
            have = v[rim] - eye_centre[side]
            landmarks[lm] = rim[np.argmax(have @ want / np.linalg.norm(have, axis=1))]

    # Skinning.
    jaw = _jaw_share(v, f, parts, anat, pocket, g.lip_y)
    jaw = 0.5 * (jaw + jaw[mirror])  # the shell's triangulation is not mirror-symmetric; the weights are
    weights = build_weights(v, parts, jaw, COLLAR_Y, NECK_BLEND_TOP)
    joints = np.stack([np.array([0.0, COLLAR_Y + 0.03, -0.074]), HEAD_JOINT, JAW_JOINT,
                       eye_centre["left"], eye_centre["right"]])
    regressor = np.zeros((len(JOINTS), len(v)))  # joints follow the mean displacement of these vertices
    near = lambda c, r: np.flatnonzero(main & (np.linalg.norm(v - c, axis=1) < r))  # noqa: E731
    anchors = [near(joints[0], 0.07), np.concatenate([near(c, 0.025) for c in ([0.065, -0.03, -0.07], [-0.065, -0.03, -0.07])]),
               np.concatenate([near(c, 0.025) for c in ([0.06, -0.04, -0.05], [-0.06, -0.04, -0.05])]),
               eye_polar["left"][0], eye_polar["right"][0]]
    for j, a in enumerate(anchors):
        regressor[j, a] = 1.0 / len(a)

    # Identity basis.
    ref = {"eye_left": eye_centre["left"], "nose_tip": pts[4], "chin": pts[152], "mouth": pts[[13, 14]].mean(0),
           "brow": pts[[9, 107, 336]].mean(0), "cheek_left": pts[425], "jaw_left": pts[397], "ear_left": np.array(EAR[0]),
           "head_centre": np.array([0.0, 0.02, -0.075]), "nose_bridge": pts[6]}
    rigid = [eye_polar["left"][0], eye_polar["right"][0]]
    id_names, id_basis = identity_basis(v, mirror, rigid, ref)

    # Expressions: face fields, carried into the pockets behind the lids and lips, plus the tongue.
    expr = np.zeros((len(ARKIT_NAMES), len(v), 3))
    expr[:, :468] = face_blendshapes(anat, eye_centre["left"])
    for side, lids in (("left", anat.eye_left), ("right", anat.eye_right)):
        expr[:, sockets[side][0]] = 0.8 * expr[:, lids.loop]
    for ring, share in zip(pocket[:2], (0.8, 0.35)):
        expr[:, ring] = share * expr[:, anat.lip_loop]
    tz = v[tongue, 2]
    reach = ((tz - tz.min()) / (tz.max() - tz.min()))[:, None]
    expr[ARKIT_NAMES.index("tongueOut"), tongue] = (0.3 + 0.7 * reach) * TONGUE_OUT

    return {
        "format_version": np.array(FORMAT_VERSION),
        "template": v.astype(np.float32),
        "faces": f.astype(np.int32),
        "uvs": _uvs(v, f, parts).astype(np.float32),
        "colors": _colors(v, parts, regions, anat, eye_polar).astype(np.float32),
        "parts": parts,
        "region_names": np.array(REGIONS),
        "regions": np.stack([regions[r] for r in REGIONS]),
        "mirror": mirror.astype(np.int32),
        "landmark_vertices": landmarks.astype(np.int32),
        "joint_names": np.array(JOINTS),
        "joints": joints.astype(np.float32),
        "joint_regressor": regressor.astype(np.float32),
        "skin_weights": weights.astype(np.float32),
        "identity_names": np.array(id_names),
        "identity_basis": id_basis.astype(np.float32),
        "expression_names": np.array(ARKIT_NAMES),
        "expression_basis": expr.astype(np.float32),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=RIG_PATH)
    args = ap.parse_args(argv)
    t0 = time.time()
    arrays = build()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    v, f = arrays["template"], arrays["faces"]
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB): {len(v)} vertices, {len(f)} triangles, "
          f"{len(arrays['identity_names'])} identity modes, {len(arrays['expression_names'])} expressions "
          f"in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
