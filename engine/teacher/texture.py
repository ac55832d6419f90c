"""Bake the portrait onto the fitted rig: a texture in the teacher's UV atlas that covers the whole head.

bake_texture, in order:
  1. shape: the fit's identity, offsets and expression, plus a hair volume inflated to the matte's
     outline (hair.py); the texture belongs to this shape, so HeadTexture carries it.
  2. photo: every texel's point and normal on the posed mesh is projected into the crop; its colour is
     taken with a confidence that is the product of visibility (a depth test against the rendered depth,
     with a 3x3 minimum so texels just behind an occluding edge do not take the occluder's colour),
     facing (the cosine between normal and view ray, ramped: steep texels are what the naive prototype
     stretched across the near cheek at +-30 degrees; the ramp is lenient for hair and inside the
     photo's face oval, strict at its edge, where a pale ear lobe would otherwise turn into a spot on
     the cheek), the person matte, eroded (no background), and for the neck a skin-colour test (no
     collar or clothing on the neck).
  3. mirror: on the head's spherical unwrap the mirror image of texel (u, v) is (1 - u, v), so a side
     the photo saw badly takes the other side, shifted by a smooth colour offset (push-pull of the
     difference where both sides were seen) so lighting differences do not leave a seam at the midline.
  4. inpainting: what is left is filled by push-pull in UV space (wrapping around the back of the
     head) from texels of its own kind: skin-coloured texels fill skin, hair-coloured texels fill the
     hair volume and scalp, so the back of the head gets the photo's hair and the neck its skin. A
     smooth fill would make the back of the head a flat blur, so filled hair also gets fine detail:
     random-phase noise with the spectrum of the best-seen patch of the photo's hair.
  5. parts (each keeps what the photo shows of it, and fills the rest): eyeballs by a radial profile of
     that eye (iris rings by polar angle, sclera by its median), so the iris turns with the gaze;
     teeth by a continuation of the photo's teeth (off-white if it shows none) with gums beyond the
     crowns and darker towards the molars; the mouth cavity and eye sockets (disks in the atlas,
     atlas.py) by the inner-lip / lid-margin colour darkening with depth, so an open jaw shows a
     shaded cavity, not a flat black hole; the tongue by a procedural colour.
  6. gutters: texels outside every triangle are filled by push-pull so filtering at chart edges
     never pulls in black.

The photo's own expression stays baked in: its smile folds, dimples and cheek shading ride on the
surface when the teacher relaxes the face, and teeth the photo shows are painted on whichever tooth
row the fitted jaw puts behind the lips. Removing that would need an expression-neutral albedo model;
the teacher's expressions move the geometry (lips, lids, jaw), and the texture follows.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from enum import IntEnum

import moderngl
import numpy as np
import torch
from PIL import Image, ImageDraw
from scipy.ndimage import distance_transform_edt, gaussian_filter, minimum_filter, uniform_filter

from engine.face.crop import PortraitCrop
from engine.face.topology import LANDMARK_GROUPS
from engine.head.fit import PortraitFit
from engine.head.meshops import smoothstep
from engine.head.model import ParametricRig
from engine.head.parts import LIMBUS_DEG
from engine.render.mesh import MeshRenderer, smooth_normals
from engine.teacher.atlas import HEAD_PARTS, UVAtlas, pockets, rasterize_atlas
from engine.teacher.fill import push_pull
from engine.teacher.hair import hair_volume
from engine.teacher.sample import bilinear

HEAD_CHART_V = 0.8  # the spherical unwrap fills v < 0.8 of the atlas; the parts strip lies above

# Confidence ramps (smoothstep edges) on the cosine between a texel's normal and its view ray: a
# texel seen at a grazing angle is stretched when the head turns towards it.
FACE_FACING = (0.2, 0.45)  # skin inside the photo's face oval, where the landmarks register the mesh
SKIN_FACING = (0.55, 0.8)  # skin at and beyond the oval's edge (ears, jaw, neck: the mesh is a guess)
FACE_EDGE_PX = 16.0  # the oval's edge band in crop pixels over which one ramp hands over to the other
HAIR_FACING = (0.1, 0.35)  # hair has no features to stretch, and the head's outline needs it
INTERIOR_FACING = (0.0, 0.15)  # eyes and mouth are only ever seen through their opening
INTERIOR_PARTS = ("eyeball_left", "eyeball_right", "socket", "mouth_cavity", "teeth_upper", "teeth_lower", "tongue")
MATTE_RAMP = (0.5, 0.9)  # on the matte eroded by MATTE_ERODE_PX: the outline's pixels (hair mixed with
MATTE_ERODE_PX = 9  # background) are filled from inside instead, or they show as a pale rim when turned
NECK_SKIN = (0.4, 0.8)  # skin likelihood ramp for neck texels ...
NECK_CLEARANCE_PX = 9  # ... on the photo's skin map eroded by this window
DEPTH_TOLERANCE_M = 0.0008  # grows with the slope (tan of the view angle)
HAIRLINE_BLUR = 0.006  # atlas widths: softens the hair/skin boundary of the fill
HAIR_PATCH = 0.1  # atlas widths: side of the hair patch whose spectrum details the filled hair ...
HAIR_DETAIL_SIGMA = 2.0  # ... texels: its high-pass keeps strands, not blobs

OFF_WHITE = np.array([0.92, 0.89, 0.82], np.float32)  # teeth when the photo shows none
SCLERA = np.array([0.90, 0.87, 0.84], np.float32)
IRIS = np.array([0.33, 0.22, 0.13], np.float32)
TONGUE = np.array([0.74, 0.36, 0.38], np.float32)
GUM = np.array([0.76, 0.42, 0.42], np.float32)
# Darkening with depth from the opening: part -> (depth in metres at which it bottoms out, floor).
POCKET_SHADE = {"mouth_cavity": (0.02, 0.12), "socket": (0.006, 0.3)}
TONGUE_SHADE = (0.03, 0.45)  # measured from the tongue's tip backwards
TEETH_SHADE = (0.025, 0.5)  # measured from the front teeth backwards


class TexelSource(IntEnum):
    """Where a texel's colour came from (HeadTexture.source)."""

    GUTTER = 0  # no surface: padding for filtering
    PHOTO = 1
    MIRROR = 2
    INPAINTED = 3
    PROCEDURAL = 4


@dataclass
class HeadTexture:
    """A baked head: the texture and the shape it belongs to.

    image [S, S, 3] float32 0..1 (top row first, v up: atlas.py); confidence [S, S] float32 0..1 (1 =
    seen straight on in the photo, lower = seen obliquely or mirrored at reduced trust, 0 =
    invented); source [S, S] uint8 TexelSource of the largest contribution; hair [S, S] float32 0..1,
    the hair volume and scalp; uvs [F, 3, 2] per-corner UVs to render with (atlas.teacher_uvs);
    identity [n_id] and offsets [V, 3]: the rig shape (the fit's, plus the hair volume) the texture
    was baked on, which renders must use."""

    image: np.ndarray
    confidence: np.ndarray
    source: np.ndarray
    hair: np.ndarray
    uvs: np.ndarray
    identity: torch.Tensor
    offsets: torch.Tensor

    @property
    def size(self) -> int:
        return self.image.shape[0]


def bake_texture(crop: PortraitCrop, fit: PortraitFit, rig: ParametricRig, size: int = 1024) -> HeadTexture:
    """Texture the fitted rig from the portrait crop (module notes). fit must be the fit of this crop
    (its camera renders the crop)."""
    cam = fit.camera
    if (cam.width, cam.height) != crop.image.shape[1::-1]:
        raise ValueError(f"the fit's camera is {cam.width}x{cam.height} but the crop is "
                         f"{crop.image.shape[1]}x{crop.image.shape[0]}")
    faces = rig.faces.cpu().numpy()
    ctx = moderngl.create_context(standalone=True, backend="egl")
    renderer = MeshRenderer(ctx)
    try:
        with ctx:
            hair = hair_volume(rig, fit, crop.matte, renderer)
            base = fit.params.offsets if fit.params.offsets is not None else torch.zeros(rig.num_vertices, 3)
            offsets = base + torch.as_tensor(hair.offsets)
            with torch.no_grad():
                posed = rig.forward(replace(fit.params, offsets=offsets)).vertices[0].numpy()
            view = renderer.render(posed, faces, cam)
            atlas = rasterize_atlas(rig, size, ctx)
    finally:
        renderer.close()
        ctx.release()

    baker = _Baker(rig, atlas, posed, hair.hair)
    inner_face = np.clip(distance_transform_edt(face_oval_mask(crop)) / FACE_EDGE_PX, 0.0, 1.0)
    baker.observe(crop.image.astype(np.float32) / 255.0, crop.matte, inner_face, view.depth.numpy(),
                  view.alpha.numpy(), fit)
    baker.fill_head()
    for side in ("left", "right"):
        baker.fill_eye(side)
    baker.fill_teeth()
    baker.fill_pockets()
    baker.fill_tongue()
    image = push_pull(baker.image, atlas.covered.astype(np.float32))  # gutters
    return HeadTexture(image=np.clip(image, 0.0, 1.0), confidence=baker.conf, source=baker.source,
                       hair=baker.hair * baker.head, uvs=atlas.uvs,
                       identity=fit.params.identity[0].detach().clone(), offsets=offsets.detach().clone())


def face_oval_mask(crop: PortraitCrop) -> np.ndarray:
    """bool [S, S]: inside the polygon of the crop's face-oval landmarks (mediapipe's face outline)."""
    h, w = crop.image.shape[:2]
    mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(mask).polygon([tuple(p) for p in crop.landmarks.points[LANDMARK_GROUPS["face_oval"]]], fill=255)
    return np.asarray(mask) > 0


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def _shade(depth: np.ndarray, reach: float, floor: float) -> np.ndarray:
    """Ambient-occlusion-like darkening [K]: 1 at depth 0, floor from depth reach on (metres)."""
    return 1.0 - (1.0 - floor) * smoothstep(0.0, reach, depth)


@dataclass
class _SkinModel:
    """Skin colour from the face: median chroma (YCbCr) with a robust spread, and median luma."""

    chroma: np.ndarray  # [2]
    spread: float
    luma: float

    @staticmethod
    def _ycc(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        y = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
        cb = rgb @ np.array([-0.169, -0.331, 0.5], np.float32)
        cr = rgb @ np.array([0.5, -0.419, -0.081], np.float32)
        return y, np.stack([cb, cr], axis=-1)

    @classmethod
    def generic(cls) -> "_SkinModel":
        """A broad model for when the face shows too little usable skin."""
        return cls(np.array([-0.06, 0.08], np.float32), 0.06, 0.6)

    @classmethod
    def from_samples(cls, rgb: np.ndarray) -> "_SkinModel":
        if len(rgb) < 50:
            return cls.generic()
        y, c = cls._ycc(rgb)
        med = np.median(c, axis=0)
        mad = np.median(np.linalg.norm(c - med, axis=1))
        return cls(med, float(max(2.0 * 1.4826 * mad, 0.015)), float(np.median(y)))

    def likelihood(self, rgb: np.ndarray) -> np.ndarray:
        """[...] in 0..1: 1 for the face's own chroma and brightness, falling off for other colours."""
        y, c = self._ycc(rgb)
        d = np.linalg.norm(c - self.chroma, axis=-1) / self.spread
        bright = smoothstep(0.25, 0.45, y / self.luma) * smoothstep(1.9, 1.5, y / self.luma)
        return (np.exp(-0.5 * d ** 2) * bright).astype(np.float32)

    def hair_likelihood(self, rgb: np.ndarray) -> np.ndarray:
        """[...] in 0..1: not skin, and darker than the face (hair over the forehead or temples, not a
        pale ear lobe or background at the face's edge)."""
        y, _ = self._ycc(rgb)
        return ((1.0 - self.likelihood(rgb)) * smoothstep(1.0, 0.85, y / self.luma)).astype(np.float32)


def _hair_detail(colour: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Zero-mean hair detail [H, W, 3] for the whole chart: random-phase noise (the amplitude spectrum
    of the high-pass of the square patch where weight [H, W] (observed hair) is highest, with
    seeded random phases), which keeps the strands' scale and direction without repeating any
    feature; it is periodic, so it tiles without seams."""
    h, w = weight.shape
    side = max(8, int(HAIR_PATCH * w))
    density = uniform_filter(weight, size=side, mode="constant")
    cy, cx = np.unravel_index(np.argmax(density), density.shape)
    y0 = int(np.clip(cy - side // 2, 0, h - side))
    x0 = int(np.clip(cx - side // 2, 0, w - side))
    patch = colour[y0:y0 + side, x0:x0 + side].astype(np.float64)
    detail = patch - gaussian_filter(patch, sigma=(HAIR_DETAIL_SIGMA, HAIR_DETAIL_SIGMA, 0))
    window = np.outer(np.hanning(side), np.hanning(side))[..., None]
    spectrum = np.fft.fft2(detail * window, axes=(0, 1))
    noise = np.fft.fft2(np.random.default_rng(0).standard_normal((side, side)))
    tile = np.real(np.fft.ifft2(spectrum * (noise / np.maximum(np.abs(noise), 1e-12))[..., None], axes=(0, 1)))
    tile *= detail.std() / max(tile.std(), 1e-12)  # the window took energy away
    ys, xs = np.arange(h) % side, np.arange(w) % side
    return tile[ys[:, None], xs[None, :]].astype(np.float32)


class _Baker:
    """The texture being baked: per-texel geometry of the posed, fitted mesh, the photo's colour and
    confidence at every texel, and the output image / confidence / source maps ([S, S, ...])."""

    def __init__(self, rig: ParametricRig, atlas: UVAtlas, posed: np.ndarray, hair: np.ndarray) -> None:
        self.rig, self.atlas = rig, atlas
        self.faces = rig.faces.cpu().numpy()
        interp = lambda values: atlas.interpolate(self.faces, values)  # noqa: E731
        self.part = atlas.texel_part(self.faces, rig.parts)
        self.head = np.isin(self.part, HEAD_PARTS)
        self.position = interp(posed)
        self.normal = _unit(interp(smooth_normals(posed, self.faces)))
        self.rest = interp(rig.template.cpu().numpy())  # rest pose, mean identity: for procedural parts
        regions = {k: m.cpu().numpy().astype(np.float32) for k, m in rig.regions.items()}
        self.face_region = interp(regions["face"][:, None])[..., 0]
        self.neck_region = interp(regions["neck"][:, None])[..., 0]
        self.hair = np.clip(interp(np.maximum(hair, regions["scalp"])[:, None])[..., 0], 0.0, 1.0)
        size = atlas.size
        self.image = np.zeros((size, size, 3), np.float32)
        self.conf = np.zeros((size, size), np.float32)
        self.source = np.zeros((size, size), np.uint8)
        # Set by observe(), which must run before the fills.
        self.colour = np.zeros((size, size, 3), np.float32)
        self.weight = np.zeros((size, size), np.float32)
        self.skin = _SkinModel.generic()

    def observe(self, photo: np.ndarray, matte: np.ndarray, face_oval: np.ndarray, depth: np.ndarray,
                alpha: np.ndarray, fit: PortraitFit) -> None:
        """The photo's colour at every texel and its confidence (module notes, step 2). face_oval [H, W]
        in 0..1: inside the photo's face, ramping down to 0 at its edge."""
        cam = fit.camera
        w2c = cam.world_to_cam.astype(np.float32)
        pc = self.position @ w2c[:3, :3].T + w2c[:3, 3]  # camera space
        z = np.maximum(pc[..., 2], 1e-6)
        xy = np.stack([cam.fx * pc[..., 0] / z + cam.cx, cam.fy * pc[..., 1] / z + cam.cy], axis=-1)
        cos = np.sum(self.normal * _unit(cam.position.astype(np.float32) - self.position), axis=-1)
        # Visible: the nearest surface within a pixel of the texel's projection is the texel's own.
        # Inside the eyes and mouth (openings a few pixels wide) only the texel's own pixel is tested:
        # the rim's pixels mix lid or lip into the colour, but a ring of invented colour is worse.
        interior = np.isin(self.part, INTERIOR_PARTS)
        surface = np.where(alpha > 0.5, depth, 1e3)  # 1e3 m: nothing there
        nearest = np.where(interior, bilinear(surface, xy), bilinear(minimum_filter(surface, size=3), xy))
        slope = np.sqrt(np.maximum(1.0 - cos ** 2, 0.0)) / np.maximum(cos, 0.1)
        visible = smoothstep(2.0, 1.0, (z - nearest) / (DEPTH_TOLERANCE_M * (1.0 + 0.9 * slope)))
        inside = (xy[..., 0] > 0) & (xy[..., 0] < cam.width) & (xy[..., 1] > 0) & (xy[..., 1] < cam.height)
        person = smoothstep(*MATTE_RAMP, bilinear(minimum_filter(matte, size=MATTE_ERODE_PX), xy))
        self.colour = bilinear(photo, xy)
        seen = visible * person * inside * self.atlas.covered
        self.skin = _SkinModel.from_samples(self.colour[(seen * cos > 0.6) & (self.face_region > 0.99)])
        # Facing: hair (the hair volume, and hair the photo shows over the forehead and temples) may be
        # seen at grazing angles; skin inside the photo's face oval moderately; skin at or beyond the
        # oval's edge (ears, jaw, neck, where the mesh is only a guess) only nearly head-on.
        face = bilinear(face_oval, xy)
        skin = face * smoothstep(*FACE_FACING, cos) + (1.0 - face) * smoothstep(*SKIN_FACING, cos)
        hair = np.maximum(self.hair, self.face_region * self.skin.hair_likelihood(self.colour))
        facing = np.where(interior, smoothstep(*INTERIOR_FACING, np.abs(cos)),  # folds show their back
                          (1.0 - hair) * skin + hair * smoothstep(*HAIR_FACING, cos))
        # The neck takes only skin, a few pixels clear of the collar (whose shadow is not the neck's).
        skin_px = minimum_filter(self.skin.likelihood(photo), size=NECK_CLEARANCE_PX)
        neck_ok = smoothstep(*NECK_SKIN, bilinear(skin_px, xy))
        weight = seen * facing * (1.0 - self.neck_region * (1.0 - neck_ok))
        self.weight = np.clip(weight, 0.0, 1.0).astype(np.float32)

    def fill_head(self) -> None:
        """Face, scalp, hair, ears and neck: photo, then mirror, then inpainting by kind (module notes)."""
        rows = slice(int(round((1.0 - HEAD_CHART_V) * self.atlas.size)), None)  # the head chart's rows
        h = self.head[rows]
        c, w = self.colour[rows], self.weight[rows] * h
        cm, wm = c[:, ::-1], w[:, ::-1] * h  # the mirror image of texel (u, v) is (1 - u, v)
        mirrored = np.clip(cm + push_pull(c - cm, w * wm, wrap_x=True), 0.0, 1.0)
        wm_used = (1.0 - w) * wm
        known = w + wm_used
        col = (w[..., None] * c + wm_used[..., None] * mirrored) / np.maximum(known, 1e-6)[..., None]
        # Inpaint by kind: skin-coloured texels fill skin, the others fill the hair volume.
        is_skin = self.skin.likelihood(col)
        skin_fill = push_pull(col, known * is_skin, wrap_x=True)
        hair = gaussian_filter(self.hair[rows], HAIRLINE_BLUR * self.atlas.size)  # per-vertex labels zigzag
        hair_known = known * (1.0 - is_skin) * hair
        if hair_known.sum() > 100:
            hair_fill = push_pull(col, hair_known, wrap_x=True) + _hair_detail(col, hair_known)
        else:
            hair_fill = skin_fill
        fill = hair[..., None] * hair_fill + (1.0 - hair[..., None]) * skin_fill
        out = known[..., None] * col + (1.0 - known[..., None]) * fill
        self.image[rows] = np.where(h[..., None], out, self.image[rows])
        self.conf[rows] = np.where(h, w + 0.5 * wm_used, self.conf[rows])
        kinds = np.argmax(np.stack([np.zeros_like(w), w, wm_used, 1.0 - known]), axis=0)
        self.source[rows] = np.where(h, kinds, self.source[rows]).astype(np.uint8)

    def _keep_photo(self, sel: np.ndarray, fill: np.ndarray, weight: np.ndarray | None = None) -> None:
        """Texels sel [S, S]: the photo where it saw them, blended into fill [K, 3] elsewhere; weight [K]
        overrides the photo's confidence."""
        w = self.weight[sel] if weight is None else weight
        self.image[sel] = w[:, None] * self.colour[sel] + (1.0 - w[:, None]) * fill
        self.conf[sel] = w
        self.source[sel] = np.where(w > 0.5, TexelSource.PHOTO, TexelSource.PROCEDURAL)

    def fill_tongue(self) -> None:
        """The tongue: a tongue colour darkening from the tip backwards, where the photo does not show it."""
        sel = self.part == "tongue"
        depth = self.rest[sel, 2].max() - self.rest[sel, 2]
        self._keep_photo(sel, TONGUE * _shade(depth, *TONGUE_SHADE)[:, None])

    def fill_eye(self, side: str) -> None:
        """One eyeball: the photo between the lids; elsewhere a radial profile of what the photo showed
        (iris rings by polar angle from the front pole, sclera by its median colour)."""
        sel = self.part == f"eyeball_{side}"
        if not sel.any():
            return
        centre = self.rig.joints[self.rig.joint_names.index(f"eye_{side}")].cpu().numpy()
        polar = np.degrees(np.arccos(np.clip(_unit(self.rest[sel] - centre)[:, 2], -1.0, 1.0)))
        c, w = self.colour[sel], self.weight[sel]
        seen = w > 0.5
        edges = np.arange(0.0, LIMBUS_DEG + 4.0, 2.0)  # 2-degree rings out to just past the limbus
        ring = np.minimum((polar / 2.0).astype(np.int64), len(edges) - 1)
        counts = np.bincount(ring[seen], minlength=len(edges))
        have = np.flatnonzero(counts >= 3)
        if len(have):  # rings the lids hid take the nearest ring that was seen
            sums = np.stack([np.bincount(ring[seen], weights=(w * c[:, k])[seen], minlength=len(edges))
                             for k in range(3)], axis=1)
            profile = sums / np.bincount(ring[seen], weights=w[seen], minlength=len(edges))[:, None].clip(1e-6)
            profile = profile[have[np.argmin(np.abs(np.arange(len(edges))[:, None] - have[None]), axis=1)]]
        else:
            profile = np.tile(IRIS, (len(edges), 1))
        sclera_seen = seen & (polar > LIMBUS_DEG + 4.0)
        sclera = np.median(c[sclera_seen], axis=0) if sclera_seen.sum() >= 10 else SCLERA
        self._keep_photo(sel, np.where((polar < edges[-1] + 2.0)[:, None], profile[ring], sclera))

    def fill_teeth(self) -> None:
        """Teeth: the photo where it shows teeth (bright, little colour), continued by push-pull over the
        rows (off-white if the photo shows none), gums beyond the crowns, darker towards the molars.
        Dark texels the photo shows on a tooth row (the shadowed corners of a smile) are not kept: on a
        row that moves with the jaw they would read as missing teeth."""
        sel = np.isin(self.part, ("teeth_upper", "teeth_lower"))
        if not sel.any():
            return
        c, w = self.colour[sel], self.weight[sel]
        luma = c @ np.array([0.299, 0.587, 0.114], np.float32)
        seen = w > 0.5
        bright = np.percentile(luma[seen], 90) if seen.sum() >= 30 else 1.0
        toothlike = smoothstep(0.55, 0.75, luma / bright) * smoothstep(0.25, 0.15, c.max(axis=1) - c.min(axis=1))
        rows, cols = np.nonzero(sel)
        box = (slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1))
        seed = np.zeros(sel.shape, np.float32)
        seed[sel] = w * toothlike
        if seed.sum() > 30:
            continued = push_pull(self.colour[box], seed[box])[sel[box]]
        else:
            continued = np.broadcast_to(OFF_WHITE, (int(sel.sum()), 3))
        rest, part = self.rest[sel], self.part[sel]
        fill = np.empty_like(continued)
        for name in ("teeth_upper", "teeth_lower"):
            m = part == name
            y = rest[m, 1]
            lo, hi = y.min(), y.max()
            # The crown is the 70 % of the row's height nearest the bite; the rest is gum.
            from_bite = (y - lo) / (hi - lo) if name == "teeth_upper" else (hi - y) / (hi - lo)
            gum = smoothstep(0.65, 0.75, from_bite)[:, None]
            occlusion = _shade(rest[m, 2].max() - rest[m, 2], *TEETH_SHADE)
            fill[m] = ((1.0 - gum) * continued[m] + gum * GUM) * occlusion[:, None]
        self._keep_photo(sel, fill, w * toothlike)

    def fill_pockets(self) -> None:
        """Mouth cavity and eye sockets: the rim's colour (inner lip, lid margin) darkening with depth."""
        for pocket in pockets(self.rig):
            part = self.rig.parts[pocket.vertices[0]]
            reach, floor = POCKET_SHADE[part]
            members = np.concatenate([pocket.vertices, pocket.rim])
            mask = np.zeros(self.rig.num_vertices, np.float32)
            mask[members] = 1.0
            depth = np.where(mask > 0, np.nan_to_num(pocket.depth, posinf=0.0), 0.0)
            in_pocket = (self.part == part) & (self.atlas.interpolate(self.faces, mask[:, None])[..., 0] > 0.999)
            texel_depth = self.atlas.interpolate(self.faces, depth[:, None])[..., 0][in_pocket]
            self._keep_photo(in_pocket, self._rim_colour(pocket.rim) * _shade(texel_depth, reach, floor)[:, None])

    def _rim_colour(self, rim: np.ndarray) -> np.ndarray:
        """Mean baked colour [3] of the head chart at the rim vertices (their face-side UVs)."""
        head_tri = np.isin(self.rig.parts[self.faces], HEAD_PARTS).all(axis=1)
        corners = np.isin(self.faces, rim) & head_tri[:, None]
        uv = self.atlas.uvs[corners]  # [K, 2]
        s = self.atlas.size
        return bilinear(self.image, np.stack([uv[:, 0] % 1.0 * s, (1.0 - uv[:, 1]) * s], axis=1)).mean(axis=0)
