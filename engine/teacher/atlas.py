"""The teacher's texture atlas: the rig's UV layout with its parts strip reworked so every texel belongs
to one surface point, rasterised once into a per-texel (triangle, barycentric) map, so any per-vertex
quantity (posed positions, normals, rest positions) can be read per texel.

Texture images are stored top row first with v pointing up (row i holds v = 1 - (i + 0.5) / S), as
engine.render.mesh.MeshRenderer expects. The head surface's UVs (the rig's spherical unwrap) are kept;
its seam at the back of the head gives triangles with u > 1 (sampled with wrap-around), so those
are rasterised a second time shifted by -1.

Changes to the rig's per-corner UVs (ParametricRig.uvs), whose parts strip front-projects each part:
- the pockets (mouth cavity, eye sockets) are nested rings that a front projection stacks onto each
  other, and the triangles bridging them to the face had their pocket corners in the strip and their
  face corners on the face (each spanned half the atlas). Each pocket (with its bridges) is a
  topological disk and is flattened into a circle here: its rim on the circle by arc length, the
  rest by harmonic interpolation (a Tutte embedding: positive weights and a convex boundary, so no
  triangle folds over); the bridges' rim corners take the circle's edge. So each texel is one point
  of the pocket, and the photo can be projected onto what it shows of one (mouth and eye corners);
- the two tooth rows share one island in which the top of the lower row lies under the bottom of the
  upper row, so the lower row's biting edge had no texels of its own. The upper row moves up by
  TEETH_SPLIT_V, clear of the lower one;
- the tongue is seen from above and in front through an open mouth, but its island projected it from
  the front, where its hidden tip owned the texels of its visible top. It is projected from above.
"""
from __future__ import annotations

from dataclasses import dataclass

import moderngl
import numpy as np

from engine.head.meshops import boundary_loops, geodesic_distance, smooth_fill
from engine.head.model import ParametricRig

_VERTEX_SHADER = """
#version 330
in vec2 in_uv;
in vec3 in_bary;
in float in_priority;  // lower wins where islands overlap (front-projected parts)
in float in_face;
uniform float u_shift;
out vec3 v_bary;
flat out float v_face;
void main() {
    v_bary = in_bary;
    v_face = in_face;
    gl_Position = vec4(2.0 * (in_uv.x + u_shift) - 1.0, 2.0 * in_uv.y - 1.0, in_priority, 1.0);
}
"""

_FRAGMENT_SHADER = """
#version 330
in vec3 v_bary;
flat in float v_face;
out vec4 frag;
void main() { frag = vec4(v_bary, v_face); }
"""

HEAD_PARTS = ("face", "shell")  # the spherical unwrap; everything else lives in the parts strip
TEETH_SPLIT_V = 0.02
TONGUE_ISLAND, TONGUE_ISLAND_SIZE = (0.61, 0.81), 0.18  # the rig's tongue island (corner, side)
# Pocket disks in the strip's last island (u, v in [0.81, 0.99]): build part, side (+1: x > 0, the
# subject's left; 0: both), disk centre and radius in UV units.
POCKET_DISKS = {"mouth_cavity": ("mouth_cavity", 0, (0.87, 0.90), 0.058),
                "socket_left": ("socket", 1, (0.96, 0.95), 0.028),
                "socket_right": ("socket", -1, (0.96, 0.87), 0.028)}


@dataclass
class Pocket:
    """A pocket of the rig: its vertices [K], its rim [R] (the face vertices it is bridged to) and
    depth [V] (surface distance from the rim in metres; finite on the pocket and its rim only)."""

    name: str
    vertices: np.ndarray
    rim: np.ndarray
    depth: np.ndarray


def pockets(rig: ParametricRig) -> list[Pocket]:
    """The mouth cavity and the two eye sockets, in POCKET_DISKS order."""
    faces = rig.faces.cpu().numpy()
    template = rig.template.cpu().numpy()
    out = []
    for name, (part, side, _, _) in POCKET_DISKS.items():
        sel = (rig.parts == part) & ((side == 0) | (np.sign(template[:, 0]) == side))
        inside = sel[faces]  # [F, 3]
        touching = inside.any(axis=1)
        bridges = touching & ~inside.all(axis=1)
        rim = np.unique(faces[bridges][~inside[bridges]])
        out.append(Pocket(name, np.flatnonzero(sel), rim, geodesic_distance(template, faces[touching], rim)))
    return out


@dataclass
class UVAtlas:
    """size S; uvs [F, 3, 2] per-corner UVs to render with; face_index [S, S] int32 (-1: no
    triangle); bary [S, S, 3] float32 barycentrics of each texel centre in its triangle."""

    size: int
    uvs: np.ndarray
    face_index: np.ndarray
    bary: np.ndarray

    @property
    def covered(self) -> np.ndarray:
        """bool [S, S]: texels inside some triangle."""
        return self.face_index >= 0

    def interpolate(self, faces: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Per-vertex values [V, C] at every texel -> [S, S, C] float32 (0 where not covered)."""
        f = np.maximum(self.face_index, 0)
        corners = values[faces[f]]  # [S, S, 3, C]
        out = np.einsum("ijk,ijkc->ijc", self.bary, corners).astype(np.float32)
        out[~self.covered] = 0.0
        return out

    def texel_part(self, faces: np.ndarray, parts: np.ndarray) -> np.ndarray:
        """Build-part name of each texel's triangle ('' where not covered) -> [S, S] numpy strings.
        A triangle's part is that of its last corner: a bridge's last corner lies in its pocket."""
        labels = np.asarray(parts)[faces[:, 2]]
        out = labels[np.maximum(self.face_index, 0)]
        return np.where(self.covered, out, "")


def teacher_uvs(rig: ParametricRig) -> np.ndarray:
    """The rig's per-corner UVs [F, 3, 2] with the pockets as disks and the tooth rows apart (module
    notes)."""
    faces = rig.faces.cpu().numpy()
    uvs = rig.uvs.cpu().numpy().copy()
    template = rig.template.cpu().numpy()
    for pocket in pockets(rig):
        _, _, centre, radius = POCKET_DISKS[pocket.name]
        touches = np.isin(faces, pocket.vertices).any(axis=1)  # the pocket's own triangles and its bridges
        sub = faces[touches]
        (rim,) = boundary_loops(sub)
        step = np.linalg.norm(template[np.roll(rim, -1)] - template[rim], axis=1)
        angle = 2.0 * np.pi * np.concatenate([[0.0], np.cumsum(step)[:-1]]) / step.sum()
        edge = np.asarray(centre) + radius * np.stack([np.cos(angle), np.sin(angle)], axis=1)
        disk = smooth_fill(template, sub, rim, edge)  # [V, 2]
        uvs[touches] = disk[sub]
    uvs[rig.parts[faces[:, 0]] == "teeth_upper", :, 1] += TEETH_SPLIT_V
    tongue = rig.parts == "tongue"
    xz = template[tongue][:, [0, 2]]
    lo, extent = xz.min(axis=0), (xz.max(axis=0) - xz.min(axis=0)).max()
    top_view = np.zeros((rig.num_vertices, 2))
    top_view[tongue] = np.asarray(TONGUE_ISLAND) + TONGUE_ISLAND_SIZE * (xz - lo) / extent
    uvs[tongue[faces[:, 0]]] = top_view[faces[tongue[faces[:, 0]]]]
    return uvs


def rasterize_atlas(rig: ParametricRig, size: int, ctx: moderngl.Context) -> UVAtlas:
    """Rasterise the teacher's UV layout at size x size texels (one texel = its centre sample).
    Where projected islands overlap (eyeball front and back, the two faces of a tooth row, tongue top
    and bottom) the surface nearest the projection's viewer in rest pose keeps the texel."""
    faces = rig.faces.cpu().numpy()
    uvs = teacher_uvs(rig)
    template = rig.template.cpu().numpy()
    # Projection axis of each island: z (front) for the parts, y (top) for the tongue.
    height = np.where((rig.parts == "tongue")[faces], template[faces, 1], template[faces, 2])  # [F, 3]
    head = np.isin(rig.parts, HEAD_PARTS)[faces]
    priority = np.where(head, 0.0, np.clip(-height * 5.0, -0.99, 0.99))  # rest coordinates within +-0.2 m
    n = len(faces)
    data = np.concatenate([
        uvs.reshape(-1, 2),
        np.tile(np.eye(3), (n, 1)),
        priority.reshape(-1, 1),
        np.repeat(np.arange(n, dtype=np.float64), 3)[:, None],
    ], axis=1).astype(np.float32)
    wraps = (uvs[..., 0] > 1.0).any(axis=1)
    passes = [(data, 0.0), (data.reshape(n, 3, -1)[wraps].reshape(-1, data.shape[1]), -1.0)]
    prog = ctx.program(vertex_shader=_VERTEX_SHADER, fragment_shader=_FRAGMENT_SHADER)
    color = ctx.renderbuffer((size, size), 4, dtype="f4")
    depth = ctx.depth_renderbuffer((size, size))
    fbo = ctx.framebuffer(color_attachments=[color], depth_attachment=depth)
    try:
        fbo.use()
        ctx.viewport = (0, 0, size, size)
        fbo.clear(0.0, 0.0, 0.0, -1.0, depth=1.0)
        ctx.enable_only(moderngl.DEPTH_TEST)
        for corners, shift in passes:
            if len(corners) == 0:
                continue
            vbo = ctx.buffer(corners.tobytes())
            vao = ctx.vertex_array(prog, [(vbo, "2f 3f 1f 1f", "in_uv", "in_bary", "in_priority", "in_face")])
            prog["u_shift"].value = shift
            vao.render(moderngl.TRIANGLES)
            vao.release()
            vbo.release()
        raw = np.frombuffer(fbo.read(components=4, dtype="f4"), np.float32).reshape(size, size, 4)[::-1]
    finally:
        for obj in (fbo, color, depth, prog):
            obj.release()
    face_index = np.where(raw[..., 3] >= 0, np.rint(raw[..., 3]), -1).astype(np.int32)
    bary = np.ascontiguousarray(raw[..., :3])
    return UVAtlas(size, uvs, face_index, bary)
