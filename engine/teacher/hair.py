"""A hair volume from the portrait's matte: the rig's skull is a short-hair cap, so a person with fuller
hair would render as a shrunken head inside their own silhouette. Here the head shell is inflated
about the cranium's centre until its outline in the fitted view matches the matte's outline.

Method (in the fitted view): from the projected cranium centre, along rays at every angle, the
distance at which the matte ends (R_m) and at which the rig's rendered alpha ends (R_s). Every shell
vertex lying roughly across the view from the centre (the ones that form the outline) is scaled about
the centre by g(angle); the rest of the shell follows by harmonic interpolation over the mesh, face
vertices stay, and the scaling fades in over the first few centimetres from the face's edge so the
hair grows out of the hairline. g starts at R_m / R_s and is corrected a few times by re-rendering.
Only rays whose outline lies above the ears count: below them the matte is neck, shoulders or long
hair hanging free, which a scaled skull cannot represent (hair below the ears is not modelled).

The result is a per-vertex identity offset in rest space (RigParams.offsets), so the hair turns and
nods with the head through the rig's own skinning.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from engine.head.fit import PortraitFit
from engine.head.geometry import axis_angle_to_matrix
from engine.head.meshops import smooth_fill, smoothstep
from engine.head.model import ParametricRig
from engine.head.shell import CRANIUM
from engine.head.skinning import HEAD
from engine.render.mesh import MeshRenderer
from engine.render.projection import project_points
from engine.teacher.sample import bilinear

MAX_GAIN = 1.7  # hair at most this many times the skull's radius
OUTLINE_BIAS_PX = 1.0  # aim just outside the matte's 0.5 level so the render covers every hair pixel
_RAYS = 720
_STEP_PX = 0.5
_ITERATIONS = 4
_FACE_FADE_M = (0.0, 0.03)  # the scaling fades in over this distance from the nearest face vertex
_ACROSS_VIEW = 0.35  # |cos| between a vertex's direction from the centre and the view: outline ring
_EAR_MARGIN_PX = (-5.0, 15.0)  # rays fade in as their outline rises from just below to above the ears
_FULL_HAIR = 0.05  # a vertex inflated by 5 % of its distance from the centre counts as hair


@dataclass
class HairVolume:
    """offsets [V, 3] float32 rest-space displacements to add to the fit's offsets; hair [V] float32
    in 0..1: how much each vertex was inflated (1 = fully hair); gain [rays] the final g per angle."""

    offsets: np.ndarray
    hair: np.ndarray
    gain: np.ndarray


def _exit_radius(mask: np.ndarray, centre: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """Distance [K] px from centre along each angle (image axes, y down) to where mask first drops
    below 0.5 (linearly interpolated between samples); the ray's length when it never does."""
    h, w = mask.shape
    radii = np.arange(0.0, float(np.hypot(h, w)), _STEP_PX)
    dirs = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    pts = centre + radii[None, :, None] * dirs[:, None, :]  # [K, N, 2]
    inside_image = (pts[..., 0] >= 0) & (pts[..., 0] <= w) & (pts[..., 1] >= 0) & (pts[..., 1] <= h)
    vals = np.where(inside_image, bilinear(mask, pts), 0.0)
    below = vals < 0.5
    first = np.argmax(below, axis=1)
    never = ~below.any(axis=1)
    prev = np.maximum(first - 1, 0)
    k = np.arange(len(angles))
    a, b = vals[k, prev], vals[k, first]
    frac = np.clip((a - 0.5) / np.maximum(a - b, 1e-6), 0.0, 1.0)
    r = radii[prev] + frac * (radii[first] - radii[prev])
    return np.where(never, radii[-1], r)


def hair_volume(rig: ParametricRig, fit: PortraitFit, matte: np.ndarray, renderer: MeshRenderer) -> HairVolume:
    """Inflate the rig's shell to the matte's outline (matte [H, W] 0..1 in the fit camera's pixels)."""
    params = fit.params
    faces = rig.faces.cpu().numpy()
    parts = rig.parts
    n_v = rig.num_vertices
    base_offsets = params.offsets if params.offsets is not None else torch.zeros(n_v, 3)
    with torch.no_grad():
        out = rig.forward(params)
        posed = out.vertices[0].double().numpy()  # [V, 3]
        r_g = axis_angle_to_matrix(params.rotation)[0].double().numpy()
        centre = (out.joints[0, HEAD].double().numpy()
                  + r_g @ (np.asarray(CRANIUM[0]) - rig.joints[HEAD].double().numpy()))
    cam = fit.camera
    to_px = lambda p: project_points(torch.as_tensor(p), cam).numpy()  # noqa: E731
    c_px = to_px(centre[None])[0]
    angles = np.linspace(-np.pi, np.pi, _RAYS, endpoint=False)
    target = _exit_radius(matte, c_px, angles) + OUTLINE_BIAS_PX

    # Rays count only where the matte's outline lies above the lowest point of the ears.
    ear_bottom = to_px(posed[rig.regions["ears"].cpu().numpy()])[:, 1].max()
    outline_y = c_px[1] + target * np.sin(angles)
    eligible = smoothstep(*_EAR_MARGIN_PX, ear_bottom - outline_y)

    shell = parts == "shell"
    head = shell | (parts == "face")
    head_idx = np.flatnonzero(head)
    renum = np.full(n_v, -1)
    renum[head_idx] = np.arange(len(head_idx))
    head_faces = renum[faces[np.all(head[faces], axis=1)]]
    template = rig.template.cpu().numpy()
    face_pts = template[parts == "face"]
    dist_face = np.min(np.linalg.norm(template[shell][:, None] - face_pts[None], axis=2), axis=1)
    fade = np.zeros(n_v)
    fade[shell] = smoothstep(*_FACE_FADE_M, dist_face)

    rel = posed - centre
    to_cam = cam.position - centre
    across = np.abs(rel @ to_cam) / (np.linalg.norm(rel, axis=1) * np.linalg.norm(to_cam))
    ring = shell & (across < _ACROSS_VIEW)
    vertex_px = to_px(posed) - c_px
    vertex_angle = np.arctan2(vertex_px[:, 1], vertex_px[:, 0])
    fixed = np.concatenate([np.flatnonzero(parts == "face"), np.flatnonzero(ring)])

    def scales(gain: np.ndarray) -> np.ndarray:
        g_ring = np.interp(vertex_angle[ring], angles, gain, period=2 * np.pi)
        values = np.concatenate([np.ones((parts == "face").sum()), g_ring])
        s = np.ones(n_v)
        s[head_idx] = smooth_fill(posed[head_idx], head_faces, renum[fixed], values[:, None])[:, 0]
        return 1.0 + (s - 1.0) * fade

    def offsets_for(s: np.ndarray) -> np.ndarray:
        # Scaling about the centre in the fitted pose is the same scaling in rest space, rotated back.
        return ((s - 1.0)[:, None] * rel) @ r_g

    def outline(s: np.ndarray) -> np.ndarray:
        p = replace(params, offsets=base_offsets + torch.as_tensor(offsets_for(s), dtype=torch.float32))
        with torch.no_grad():
            v = rig.forward(p).vertices[0]
        alpha = renderer.render(v, rig.faces, cam).alpha.numpy()
        return _exit_radius(alpha, c_px, angles)

    gain = np.ones(_RAYS)
    for _ in range(_ITERATIONS):
        ratio = target / np.maximum(outline(scales(gain)), 1.0)
        gain = np.clip(gain * (1.0 + eligible * (ratio - 1.0)), 1.0, MAX_GAIN)
        # A little smoothing across angles keeps the outline free of single-ray spikes.
        gain = np.convolve(np.concatenate([gain[-3:], gain, gain[:3]]), np.ones(7) / 7, mode="valid")
    s = scales(gain)
    hair = np.clip((s - 1.0) / _FULL_HAIR, 0.0, 1.0)
    return HairVolume(offsets_for(s).astype(np.float32), hair.astype(np.float32), gain)
