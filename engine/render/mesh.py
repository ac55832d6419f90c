"""Shaded triangle-mesh rendering with moderngl (headless EGL), for the head rig and its checks.

Not a Gaussian renderer (no Renderer subclass): it draws an opaque mesh with a depth test, smooth
vertex normals, Lambert + ambient + a little Blinn-Phong specular, and per-vertex colours and/or a
texture sampled at per-corner or per-vertex UVs. Supersampling (render at k× the size, average k×k
blocks) smooths the edges and gives exact coverage (alpha) and coverage-weighted depth.

Conventions are engine.types': OpenCV cameras, pixel (row i, col j) centred at (j + 0.5, i + 0.5),
a point at camera-space (x, y, z) lands at (fx·x/z + cx, fy·y/z + cy) (projection.project_points). The light
direction is given in camera space (OpenCV axes) and points from the surface towards the light, so
the shading follows the camera as it orbits.

A MeshRenderer belongs to the thread that created it; an owned context is current only inside each
call (see engine.render.gl.GLRenderer._current for why).
"""
from __future__ import annotations

import contextlib

import moderngl
import numpy as np
import torch

from engine.render.base import RenderOutput
from engine.render.targets import SizedTargets
from engine.types import Camera

_VERTEX_SHADER = """
#version 330
in vec3 in_pos;      // world
in vec3 in_normal;   // world, unit
in vec3 in_color;
in vec2 in_uv;
uniform mat4 world_to_cam;  // OpenCV camera axes
uniform mat4 cam_to_clip;
out vec3 v_normal;   // camera space
out vec3 v_view;     // camera-space position
out vec3 v_color;
out vec2 v_uv;
void main() {
    vec4 c = world_to_cam * vec4(in_pos, 1.0);
    v_view = c.xyz;
    v_normal = mat3(world_to_cam) * in_normal;
    v_color = in_color;
    v_uv = in_uv;
    gl_Position = cam_to_clip * c;
}
"""

_FRAGMENT_SHADER = """
#version 330
in vec3 v_normal;
in vec3 v_view;
in vec3 v_color;
in vec2 v_uv;
uniform vec3 light_dir;   // camera space, towards the light, unit
uniform vec3 shading;     // ambient, diffuse, specular weights
uniform float shininess;
uniform bool use_texture;
uniform sampler2D albedo_map;
layout(location = 0) out vec4 frag;
layout(location = 1) out vec4 depth;  // camera z (red), coverage (green)
void main() {
    vec3 n = normalize(v_normal);
    vec3 to_eye = normalize(-v_view);
    if (dot(n, to_eye) < 0.0) n = -n;  // two-sided: open pockets and thin parts light from either side
    vec3 albedo = v_color;
    if (use_texture) albedo *= texture(albedo_map, v_uv).rgb;
    float diffuse = max(dot(n, light_dir), 0.0);
    float spec = pow(max(dot(n, normalize(light_dir + to_eye)), 0.0), shininess);
    vec3 rgb = albedo * (shading.x + shading.y * diffuse) + shading.z * spec;
    frag = vec4(clamp(rgb, 0.0, 1.0), 1.0);
    depth = vec4(v_view.z, 1.0, 0.0, 1.0);
}
"""

DEFAULT_LIGHT = (-0.35, -0.55, -1.0)  # camera space: up-left of the camera, towards the viewer


def _clip_matrix(camera: Camera, near: float, far: float) -> np.ndarray:
    """OpenCV camera space -> GL clip space [4, 4], so that NDC x = 2u/W - 1, y = 1 - 2v/H."""
    w, h = camera.width, camera.height
    a, b = (far + near) / (far - near), -2.0 * far * near / (far - near)
    return np.array([
        [2 * camera.fx / w, 0.0, 2 * camera.cx / w - 1, 0.0],
        [0.0, -2 * camera.fy / h, 1 - 2 * camera.cy / h, 0.0],
        [0.0, 0.0, a, b],
        [0.0, 0.0, 1.0, 0.0],
    ])


def smooth_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Unit area-weighted vertex normals [V, 3] (float32)."""
    a, b, c = (vertices[faces[:, i]] for i in range(3))
    fn = np.cross(b - a, c - a)
    n = np.zeros_like(vertices)
    for i in range(3):
        np.add.at(n, faces[:, i], fn)
    return (n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def _as_numpy(x: np.ndarray | torch.Tensor, dtype) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.ascontiguousarray(x, dtype=dtype)


class MeshRenderer:
    """Shaded, depth-tested, antialiased mesh rendering. ctx: an existing context, or None for an
    owned headless EGL context."""

    def __init__(self, ctx: moderngl.Context | None = None, supersample: int = 3) -> None:
        self.supersample = supersample
        self._owns_ctx = ctx is None
        self.ctx = ctx if ctx is not None else moderngl.create_context(standalone=True, backend="egl")
        with self._current():
            self.prog = self.ctx.program(vertex_shader=_VERTEX_SHADER, fragment_shader=_FRAGMENT_SHADER)
            self._white = self.ctx.texture((1, 1), 3, np.ones(3, np.float32).tobytes(), dtype="f4")
        self._targets = SizedTargets(self._make_targets)
        self._closed = False

    def _current(self) -> contextlib.AbstractContextManager:
        return self.ctx if self._owns_ctx else contextlib.nullcontext()

    def render(self, vertices: np.ndarray | torch.Tensor, faces: np.ndarray | torch.Tensor, camera: Camera,
               colors: np.ndarray | torch.Tensor | None = None,
               background: tuple[float, float, float] = (0.0, 0.0, 0.0),
               light_dir: tuple[float, float, float] = DEFAULT_LIGHT,
               shading: tuple[float, float, float] = (0.35, 0.7, 0.12), shininess: float = 24.0,
               texture: np.ndarray | torch.Tensor | None = None, uvs: np.ndarray | torch.Tensor | None = None,
               near: float = 0.01, far: float = 100.0) -> RenderOutput:
        """Render one view.

        vertices [V, 3] world; faces [F, 3]; colors [V, 3] in 0..1 (None: light grey);
        texture [Ht, Wt, 3] in 0..1 with uvs per vertex [V, 2] or per corner [F, 3, 2] (u right,
        v up from the texture's bottom row), multiplied with colors. shading: ambient, diffuse,
        specular weights. Returns rgb [H, W, 3], alpha [H, W] (coverage) and depth [H, W] (camera z,
        0 where empty) as float32 CPU tensors, rows top-down."""
        v = _as_numpy(vertices, np.float32)
        f = _as_numpy(faces, np.int64)
        col = np.full((len(v), 3), 0.8, np.float32) if colors is None else _as_numpy(colors, np.float32)
        normals = smooth_normals(v, f)
        corners = f.reshape(-1)  # non-indexed draw: per-corner attributes allow per-corner UVs (seams)
        if uvs is None:
            uv = np.zeros((len(corners), 2), np.float32)
        else:
            uv = _as_numpy(uvs, np.float32)
            uv = uv.reshape(-1, 2) if uv.ndim == 3 else uv[corners]
        data = np.concatenate([v[corners], normals[corners], col[corners], uv], axis=1)  # [3F, 11]
        light = np.asarray(light_dir, np.float64)
        light /= np.linalg.norm(light)

        with self._current():
            k = self.supersample
            fbo = self._targets.get(camera.width * k, camera.height * k)
            vbo = self.ctx.buffer(data.astype(np.float32).tobytes())
            vao = self.ctx.vertex_array(self.prog, [(vbo, "3f 3f 3f 2f", "in_pos", "in_normal", "in_color", "in_uv")])
            tex = None
            if texture is not None:
                t = _as_numpy(texture, np.float32)
                tex = self.ctx.texture((t.shape[1], t.shape[0]), 3, np.ascontiguousarray(t[::-1]).tobytes(), dtype="f4")
                tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
            try:
                self.prog["world_to_cam"].write(camera.world_to_cam.T.astype(np.float32).tobytes())  # column-major
                self.prog["cam_to_clip"].write(_clip_matrix(camera, near, far).T.astype(np.float32).tobytes())
                self.prog["light_dir"].value = tuple(light)
                self.prog["shading"].value = tuple(shading)
                self.prog["shininess"].value = shininess
                self.prog["use_texture"].value = tex is not None
                (tex or self._white).use(0)
                self.prog["albedo_map"].value = 0
                fbo.use()
                self.ctx.viewport = (0, 0, camera.width * k, camera.height * k)
                fbo.clear(*background, 0.0, depth=1.0)
                self.ctx.enable_only(moderngl.DEPTH_TEST)
                vao.render(moderngl.TRIANGLES)
                color = np.frombuffer(fbo.read(components=4, attachment=0, dtype="f4"), np.float32)
                depth = np.frombuffer(fbo.read(components=4, attachment=1, dtype="f4"), np.float32)
            finally:
                vao.release()
                vbo.release()
                if tex is not None:
                    tex.release()
        h, w = camera.height, camera.width
        # Rows top-down, then average each k x k block: edge pixels become coverage-weighted mixes of
        # surface and clear colour (bg, alpha 0), i.e. already composited over the background.
        color = color.reshape(h, k, w, k, 4)[::-1, ::-1].mean(axis=(1, 3))
        depth = depth.reshape(h, k, w, k, 4)[::-1, ::-1].mean(axis=(1, 3))
        alpha = color[..., 3]
        z = np.where(depth[..., 1] > 1e-6, depth[..., 0] / np.maximum(depth[..., 1], 1e-6), 0.0)
        return RenderOutput(rgb=torch.from_numpy(np.ascontiguousarray(color[..., :3])),
                            alpha=torch.from_numpy(np.ascontiguousarray(alpha)),
                            depth=torch.from_numpy(np.ascontiguousarray(z, dtype=np.float32)))

    def _make_targets(self, size: tuple[int, int]) -> tuple[moderngl.Framebuffer, list]:
        """Float colour + (camera z, coverage) targets and a depth buffer of one size."""
        att = [self.ctx.renderbuffer(size, 4, dtype="f4"), self.ctx.renderbuffer(size, 4, dtype="f4"),
               self.ctx.depth_renderbuffer(size)]
        fbo = self.ctx.framebuffer(color_attachments=att[:2], depth_attachment=att[2])
        return fbo, [fbo, *att]

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with self._current():
            self._targets.release()
            self._white.release()
            self.prog.release()
        if self._owns_ctx:
            self.ctx.release()
