"""TeacherRenderer: the baked head (HeadTexture) rendered for any rig parameters and camera, as RGB over
a solid background, a coverage alpha, and the rig's projected landmarks; it is the project's default
Teacher (base.py): generate() turns motion latents into rig parameters and renders them.

Shading: none, the texture is the colour. It is the photo, which already holds the photo's lighting on
the face; shading it again would darken it twice and the frontal render would no longer reproduce the
portrait. The baked lighting turns with the head, which at the teacher's head turns (|yaw| <= 35
degrees) reads as the subject turning under soft light. The only synthetic shading is painted into
the texture where the photo has nothing to say: the mouth cavity and eye sockets darken with depth,
teeth towards the molars.

Why not engine.render.mesh.MeshRenderer: it uploads the texture on every call and antialiases by
supersampling with a numpy reduction, which measured 3.7 frames/s at 512² (3x3 supersampling) and
8.5 frames/s (2x2) on 2 cores; the teacher needs >= 20. Here the texture (8-bit, mipmapped) and
the UVs stay on the GPU, only the posed vertices are uploaded per frame, and edges are antialiased
by 4x MSAA resolved on the GPU. The projection follows the same conventions (engine.types: OpenCV
camera, pixel centres at +0.5).

The rig is posed on one torch thread (engine.threads.single_threaded): its per-frame work is ~1 ms of small ops,
and with the other core busy (the dataset writer, another job) torch's two-thread pool turned that
into ~50 ms (measured: 88 ms per 512² frame with two threads, 22 ms with one, on a loaded machine).

A TeacherRenderer owns a headless EGL context that is current only inside its calls, so it can live
beside other renderers in one thread; use it from the thread that created it.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import moderngl
import numpy as np
import torch

from engine.head.model import ParametricRig, RigParams
from engine.render.projection import project_points
from engine.render.targets import SizedTargets
from engine.teacher.base import Teacher, TeacherFrames
from engine.teacher.texture import HeadTexture
from engine.threads import single_threaded
from engine.types import Camera, MotionLatent

_VERTEX_SHADER = """
#version 330
in vec3 in_pos;    // world
in vec2 in_uv;
uniform mat4 world_to_cam;   // OpenCV camera axes
uniform vec4 intrinsics;     // fx, fy, cx, cy in pixels
uniform vec2 image_size;     // width, height
uniform vec2 depth_range;    // near, far
out vec2 v_uv;
void main() {
    vec3 c = (world_to_cam * vec4(in_pos, 1.0)).xyz;
    float n = depth_range.x, f = depth_range.y;
    // Clip space whose NDC is x = 2u/W - 1, y = 1 - 2v/H for the pixel (u, v) = (fx x/z + cx, fy y/z + cy).
    gl_Position = vec4(2.0 * intrinsics.x / image_size.x * c.x + (2.0 * intrinsics.z / image_size.x - 1.0) * c.z,
                       -2.0 * intrinsics.y / image_size.y * c.y + (1.0 - 2.0 * intrinsics.w / image_size.y) * c.z,
                       (f + n) / (f - n) * c.z - 2.0 * f * n / (f - n),
                       c.z);
    v_uv = in_uv;
}
"""

_FRAGMENT_SHADER = """
#version 330
in vec2 v_uv;
uniform sampler2D albedo;
uniform float lod_bias;
out vec4 frag;
void main() { frag = vec4(texture(albedo, v_uv, lod_bias).rgb, 1.0); }
"""

MSAA_SAMPLES = 4
# A light, slightly green grey. mediapipe's selfie segmenter (the acceptance check, and the kind of
# model downstream tools run) invents shoulders beside the bare neck on dark or mid-grey backgrounds:
# its matte's IoU with the frame's alpha at yaw 35 degrees in the fit's framing measured 0.85 on 0.5
# grey and 0.95 on this colour (0.99 on both when the neck runs out of the frame).
DEFAULT_BACKGROUND = (0.65, 0.7, 0.6)
# Trilinear filtering blurs about twice as much as a box filter of the pixel's footprint would (a
# bilinear tent on the mip level whose texels are pixel-sized); a bias of -1 level matches the photo's
# own detail: the frontal render of the astronaut gains 1.6 dB PSNR at 256² and 0.7 dB at 512², with
# no visible aliasing (per-sample shading with 4 samples was 2x slower and no closer to the photo).
TEXTURE_LOD_BIAS = -1.0


class TeacherRenderer(Teacher):
    """Renders a baked head. background: the solid colour behind the head (display RGB 0..1).
    near / far: clip planes in metres."""

    name = "textured-rig"

    def __init__(self, rig: ParametricRig, texture: HeadTexture,
                 background: tuple[float, float, float] = DEFAULT_BACKGROUND,
                 near: float = 0.01, far: float = 100.0) -> None:
        self.rig = rig
        self.texture = texture
        self.background = background
        self.near, self.far = near, far
        self._faces = rig.faces.cpu().numpy()
        self._corners = self._faces.reshape(-1)  # per-corner draw: corners may differ in UV (seams)
        self.ctx = moderngl.create_context(standalone=True, backend="egl")
        with self.ctx:
            self.prog = self.ctx.program(vertex_shader=_VERTEX_SHADER, fragment_shader=_FRAGMENT_SHADER)
            img = (np.clip(texture.image[::-1], 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)  # GL rows bottom-up
            self.tex = self.ctx.texture((texture.size, texture.size), 3, np.ascontiguousarray(img).tobytes())
            self.tex.build_mipmaps()
            self.tex.filter = (moderngl.LINEAR_MIPMAP_LINEAR, moderngl.LINEAR)
            self.tex.repeat_y = False  # u wraps at the back of the head; v does not
            self.prog["lod_bias"].value = TEXTURE_LOD_BIAS
            self.uv_vbo = self.ctx.buffer(texture.uvs.reshape(-1, 2).astype(np.float32).tobytes())
            self.pos_vbo = self.ctx.buffer(reserve=len(self._corners) * 12)
            self.vao = self.ctx.vertex_array(self.prog, [(self.pos_vbo, "3f", "in_pos"), (self.uv_vbo, "2f", "in_uv")])
        self._targets = SizedTargets(self._make_targets)  # (4x MSAA fbo, its resolve fbo)
        self._closed = False

    def shape_params(self, params: RigParams) -> RigParams:
        """params with the texture's identity and offsets (the shape the texture was baked on)."""
        b = params.batch
        ident = self.texture.identity.to(params.expression).expand(b, -1)
        return replace(params, identity=ident, offsets=self.texture.offsets.to(params.expression))

    def generate(self, latents: MotionLatent, cameras: Sequence[Camera]) -> TeacherFrames:
        """Teacher: frames for a latent sequence [T] (pose in the portrait fit's space) and T cameras."""
        return self.render(RigParams.from_latent(latents, self.texture.identity), cameras)

    def render(self, params: RigParams, cameras: Camera | Sequence[Camera],
               background: tuple[float, float, float] | None = None) -> TeacherFrames:
        """Render a batch of B heads: rgb [B, H, W, 3] uint8 over the background, alpha [B, H, W] uint8
        coverage, landmarks [B, 478, 2] float32 px (the rig's landmark vertices projected, occluded
        ones included). params: expression, jaw, eyes, neck, rotation and translation are used;
        identity and offsets are always the texture's. cameras: one for all, or B of them (all the
        same size)."""
        b = params.batch
        cams = [cameras] * b if isinstance(cameras, Camera) else list(cameras)
        if len(cams) != b or len({(c.width, c.height) for c in cams}) != 1:
            raise ValueError(f"need one camera or {b} cameras of one size, got {len(cams)}")
        bg = self.background if background is None else background
        with torch.no_grad(), single_threaded():
            verts = self.rig.forward(self.shape_params(params)).vertices  # [B, V, 3]
            lm_idx = self.rig.landmark_vertices
            landmarks = torch.stack([project_points(verts[i, lm_idx], cams[i]) for i in range(b)])
        w, h = cams[0].width, cams[0].height
        rgba = np.empty((b, h, w, 4), np.uint8)
        corners = verts.numpy()[:, self._corners].astype(np.float32)  # [B, 3F, 3]
        with self.ctx:
            msaa, resolve = self._targets.get(w, h)
            self.tex.use(0)
            self.prog["albedo"].value = 0
            self.prog["image_size"].value = (float(w), float(h))
            self.prog["depth_range"].value = (self.near, self.far)
            self.ctx.enable_only(moderngl.DEPTH_TEST)
            for i, cam in enumerate(cams):
                self.pos_vbo.write(corners[i].tobytes())
                self.prog["world_to_cam"].write(cam.world_to_cam.T.astype(np.float32).tobytes())  # column-major
                self.prog["intrinsics"].value = (cam.fx, cam.fy, cam.cx, cam.cy)
                msaa.use()
                self.ctx.viewport = (0, 0, w, h)
                msaa.clear(*bg, 0.0, depth=1.0)
                self.vao.render(moderngl.TRIANGLES)
                self.ctx.copy_framebuffer(resolve, msaa)  # the MSAA resolve averages the samples
                rgba[i] = np.frombuffer(resolve.read(components=4, dtype="f1"), np.uint8).reshape(h, w, 4)[::-1]
        return TeacherFrames(np.ascontiguousarray(rgba[..., :3]), np.ascontiguousarray(rgba[..., 3]),
                             landmarks.numpy().astype(np.float32))

    def _make_targets(self, size: tuple[int, int]) -> tuple[tuple[moderngl.Framebuffer, moderngl.Framebuffer], list]:
        """The 4x MSAA target and its single-sample resolve target of one size."""
        att = [self.ctx.renderbuffer(size, 4, samples=MSAA_SAMPLES),
               self.ctx.depth_renderbuffer(size, samples=MSAA_SAMPLES), self.ctx.renderbuffer(size, 4)]
        msaa = self.ctx.framebuffer(color_attachments=[att[0]], depth_attachment=att[1])
        resolve = self.ctx.framebuffer(color_attachments=[att[2]])
        return (msaa, resolve), [msaa, resolve, *att]

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with self.ctx:
            self._targets.release()
            for obj in (self.vao, self.pos_vbo, self.uv_vbo, self.tex, self.prog):
                obj.release()
        self.ctx.release()

    def __enter__(self) -> "TeacherRenderer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
