"""moderngl Gaussian splatting: one instanced quad per Gaussian, sorted back to front every draw.

The Gaussians live on the GPU in a shader storage buffer (GaussianFrame.packed(), float32 [N, 14]);
each draw sorts the view depths with numpy and uploads only the uint32 order (4 bytes per splat) as
the instance attribute. A compute pass does the EWA projection once per splat (the same math and
constants as the torch rasterizer, see engine.types for the conventions), so the vertex shader only
places quad corners (llvmpipe runs vertex shaders on one thread); the fragment shader evaluates the
Gaussian and blends premultiplied "over", back to front, so the target ends with
rgb = sum(w_i c_i) + T * background and alpha = 1 - T.

Known difference from the torch rasterizer: it stops compositing a pixel once the transmittance
would fall below config.transmittance_min (1e-4); blending cannot stop early, so the GL image also
gets those last, almost invisible contributions (each weight is below 1e-4).

A GLRenderer belongs to the thread (and GL context) that created it.
"""
from __future__ import annotations

import contextlib

import moderngl
import numpy as np
import torch

from engine.config import RenderConfig
from engine.render.base import Renderer, RenderOutput
from engine.render.targets import SizedTargets
from engine.types import Camera, GaussianFrame

_FLOATS = GaussianFrame.PACKED_DIM  # 14 floats per Gaussian in the storage buffer

_LOCAL_SIZE = 64
_PROJECT_SHADER = """
#version 430
layout(local_size_x = %d) in;
layout(std430, binding = 0) readonly buffer Gaussians { float g[]; };  // [N * 14], packed()
layout(std430, binding = 1) writeonly buffer Projected { vec4 p[]; };  // [N * 3], see below

uniform uint count;
uniform mat3 rot;       // world_to_cam rotation
uniform vec3 trans;     // world_to_cam translation
uniform vec4 intr;      // fx, fy, cx, cy
uniform vec2 size;      // width, height (px)
uniform vec2 depth_range;  // near, far
uniform float eps2d;
uniform float alpha_min;

// Per Gaussian i, in px: p[4i] = (mean xy, major half-axis xy), a zero axis = culled;
// p[4i+1] = (minor half-axis xy, opacity, -); p[4i+2] = (conic A, B, C, -); p[4i+3] = (r, g, b, -).
void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i >= count) return;
    uint b = i * 14u;
    vec3 mu = vec3(g[b], g[b + 1u], g[b + 2u]);
    vec4 q = normalize(vec4(g[b + 3u], g[b + 4u], g[b + 5u], g[b + 6u]));  // w, x, y, z
    vec3 s = vec3(g[b + 7u], g[b + 8u], g[b + 9u]);
    float o = g[b + 10u];
    vec3 t = rot * mu + trans;
    p[4u * i] = vec4(0.0);
    if (t.z < depth_range.x || t.z > depth_range.y || o < alpha_min) return;

    float w = q.x, x = q.y, y = q.z, z = q.w;
    mat3 R = mat3(  // columns
        1.0 - 2.0 * (y * y + z * z), 2.0 * (x * y + w * z), 2.0 * (x * z - w * y),
        2.0 * (x * y - w * z), 1.0 - 2.0 * (x * x + z * z), 2.0 * (y * z + w * x),
        2.0 * (x * z + w * y), 2.0 * (y * z - w * x), 1.0 - 2.0 * (x * x + y * y));
    mat3 M = rot * R * mat3(s.x, 0.0, 0.0, 0.0, s.y, 0.0, 0.0, 0.0, s.z);  // camera-space R diag(s)

    // Jacobian at a position clamped to 1.3x the frustum, as gsplat does (the mean stays unclamped).
    vec2 f = intr.xy, c = intr.zw;
    vec2 tan_fov = 0.5 * size / f;
    vec2 lim_pos = (size - c) / f + 0.3 * tan_fov;
    vec2 lim_neg = c / f + 0.3 * tan_fov;
    vec2 txy = t.z * clamp(t.xy / t.z, -lim_neg, lim_pos);
    mat3x2 J = mat3x2(f.x / t.z, 0.0, 0.0, f.y / t.z, -f.x * txy.x / (t.z * t.z), -f.y * txy.y / (t.z * t.z));
    mat3x2 T = J * M;
    mat2 cov = T * transpose(T);  // J Rw Sigma Rw^T J^T
    float a = cov[0][0] + eps2d, bb = cov[0][1], cc = cov[1][1] + eps2d;
    float det = a * cc - bb * bb;
    if (det <= 0.0) return;
    // The quad is the ellipse where alpha falls to alpha_min, boxed along its own axes: oblique,
    // thin splats then cover few wasted fragments (an axis-aligned box would cover many).
    float extent = min(3.33, sqrt(2.0 * log(o / alpha_min)));
    vec2 mean = f * t.xy / t.z + c;
    vec2 aabb = extent * sqrt(vec2(a, cc));
    if (any(lessThanEqual(mean + aabb, vec2(0.0))) || any(greaterThanEqual(mean - aabb, size))) return;
    float half_diff = 0.5 * (a - cc);
    float rad = sqrt(half_diff * half_diff + bb * bb);
    float mid = 0.5 * (a + cc);
    vec2 v1 = abs(bb) > 1e-12 * mid ? normalize(vec2(bb, mid + rad - a)) : (a >= cc ? vec2(1.0, 0.0) : vec2(0.0, 1.0));
    vec2 v2 = vec2(-v1.y, v1.x);
    p[4u * i] = vec4(mean, v1 * extent * sqrt(mid + rad));
    p[4u * i + 1u] = vec4(v2 * extent * sqrt(max(mid - rad, 1e-12)), o, 0.0);
    p[4u * i + 2u] = vec4(vec3(cc, -bb, a) / det, 0.0);
    p[4u * i + 3u] = vec4(g[b + 11u], g[b + 12u], g[b + 13u], 0.0);
}
""" % _LOCAL_SIZE

_VERTEX_SHADER = """
#version 430
layout(std430, binding = 1) readonly buffer Projected { vec4 p[]; };  // from _PROJECT_SHADER
in uint in_index;       // per instance: the Gaussian to draw (back-to-front order)
uniform vec2 size;      // width, height (px)

flat out vec2 v_mean;   // image coordinates (px)
flat out vec3 v_conic;  // inverse 2D covariance (A, B, C)
flat out vec4 v_color;  // rgb, opacity

void main() {
    vec4 head = p[4u * in_index];
    if (head.z == 0.0 && head.w == 0.0) { gl_Position = vec4(0.0, 0.0, 2.0, 1.0); return; }  // culled
    vec4 minor = p[4u * in_index + 1u];
    v_mean = head.xy;
    v_conic = p[4u * in_index + 2u].xyz;
    v_color = vec4(p[4u * in_index + 3u].rgb, minor.z);
    vec2 corner = vec2(gl_VertexID & 1, gl_VertexID >> 1) * 2.0 - 1.0;  // triangle strip of 4
    vec2 pix = head.xy + corner.x * head.zw + corner.y * minor.xy;
    gl_Position = vec4(2.0 * pix.x / size.x - 1.0, 1.0 - 2.0 * pix.y / size.y, 0.0, 1.0);  // image y is down
}
"""

_FRAGMENT_SHADER = """
#version 430
flat in vec2 v_mean;
flat in vec3 v_conic;
flat in vec4 v_color;
uniform float height;
uniform float alpha_min;
uniform float alpha_max;
out vec4 frag;

void main() {
    vec2 d = vec2(gl_FragCoord.x, height - gl_FragCoord.y) - v_mean;  // GL rows count from the bottom
    float power = -0.5 * (v_conic.x * d.x * d.x + v_conic.z * d.y * d.y) - v_conic.y * d.x * d.y;
    if (power > 0.0) discard;
    float alpha = min(alpha_max, v_color.a * exp(power));
    if (alpha < alpha_min) discard;
    frag = vec4(v_color.rgb * alpha, alpha);  // premultiplied
}
"""

MIN_GL_VERSION = 430  # storage buffers


class GLRenderer(Renderer):
    """Instanced-quad Gaussian splatting with moderngl (not differentiable).

    ctx: render with an existing context (inside Qt: the widget's, which Qt makes current before
    paintGL); None creates a headless EGL context owned (and released) by this renderer.
    Use render() for an image tensor, or set_frame() once and draw() per view for display.

    An owned context is current only during each call: glvnd lets a thread have an EGL or a GLX
    context current, not both, so leaving ours bound would stop Qt's widgets from drawing.
    """

    name = "gl"
    differentiable = False

    def __init__(self, config: RenderConfig | None = None, ctx: moderngl.Context | None = None) -> None:
        super().__init__(config)
        self._owns_ctx = ctx is None
        self.ctx = ctx if ctx is not None else moderngl.create_context(
            standalone=True, backend="egl", require=MIN_GL_VERSION)
        with self._current():  # creation made an owned context current; leaving the block unbinds it
            if self.ctx.version_code < MIN_GL_VERSION:
                raise RuntimeError(f"the GL renderer needs OpenGL 4.3, this context has "
                                   f"{self.ctx.version_code // 100}.{self.ctx.version_code % 100 // 10} "
                                   f"({self.ctx.info.get('GL_RENDERER', '?')})")
            self.prog = self.ctx.program(vertex_shader=_VERTEX_SHADER, fragment_shader=_FRAGMENT_SHADER)
            self.project = self.ctx.compute_shader(_PROJECT_SHADER)
            self._capacity = 1
            self._gaussians = self.ctx.buffer(reserve=self._capacity * _FLOATS * 4)  # [cap, 14] float32
            self._projected = self.ctx.buffer(reserve=self._capacity * 16 * 4)  # [cap, 4, vec4] float32
            self._order = self.ctx.buffer(reserve=self._capacity * 4)  # [cap] uint32
            self._vao = self.ctx.vertex_array(self.prog, [(self._order, "1u/i", "in_index")])
        self._n = 0
        self._means = np.zeros((self._capacity, 3), np.float32)  # CPU copy for sorting, [cap, 3]
        self._depth = np.zeros(self._capacity, np.float32)  # [cap]
        self._order_np = np.zeros(self._capacity, np.uint32)  # [cap]
        # Offscreen RGBA32F target sized to the last camera, and its readback array [H, W, 4] float32
        # (GL row order: bottom-up).
        self._offscreen = SizedTargets(self._make_offscreen)
        self._closed = False

    def __len__(self) -> int:
        """Number of Gaussians uploaded by the last set_frame()."""
        return self._n

    def _current(self) -> contextlib.AbstractContextManager:
        """Make an owned context current for a block and unbind it after (moderngl's enter/exit;
        blocks must not nest: the inner exit unbinds). A borrowed context is the caller's business."""
        return self.ctx if self._owns_ctx else contextlib.nullcontext()

    def set_frame(self, frame: GaussianFrame) -> None:
        """Upload the Gaussians; buffers grow (are orphaned) only when N exceeds the capacity."""
        with self._current():
            self._upload(frame)

    def draw(self, camera: Camera, background: tuple[float, float, float] | None = None,
             fbo: moderngl.Framebuffer | None = None, *, opaque: bool = False) -> None:
        """Sort, upload the order and draw the current frame into fbo (None: the offscreen float
        target, sized to the camera). opaque clears alpha to 1 so an on-screen target stays opaque;
        the colours are the same either way. Call finish() to time the GPU work."""
        with self._current():
            self._draw(camera, self._background(background), fbo, opaque)

    def render(self, frame: GaussianFrame, camera: Camera,
               background: tuple[float, float, float] | None = None) -> RenderOutput:
        """set_frame + draw offscreen + read back: rgb [H, W, 3], alpha [H, W] float32 CPU tensors."""
        with self._current():
            self._upload(frame)
            self._draw(camera, self._background(background), None, False)
            fbo, readback = self._offscreen.get(camera.width, camera.height)
            fbo.read_into(readback, components=4, dtype="f4")
        rgba = torch.from_numpy(np.ascontiguousarray(readback[::-1]))  # [H, W, 4], rows top-down
        return RenderOutput(rgb=rgba[..., :3], alpha=rgba[..., 3], depth=None)

    def finish(self) -> None:
        """Wait until the GPU has done all submitted work (to time draw() without a readback)."""
        with self._current():
            self.ctx.finish()

    def _upload(self, frame: GaussianFrame) -> None:
        packed = frame.packed().detach().cpu().numpy()  # [N, 14] float32
        n = packed.shape[0]
        if n > self._capacity:
            self._capacity = n
            self._gaussians.orphan(n * _FLOATS * 4)
            self._projected.orphan(n * 16 * 4)
            self._order.orphan(n * 4)
            self._means = np.empty((n, 3), np.float32)
            self._depth = np.empty(n, np.float32)
            self._order_np = np.empty(n, np.uint32)
        if n:
            self._gaussians.write(packed)
        self._means[:n] = packed[:, :3]
        self._n = n

    def _draw(self, camera: Camera, bg: tuple[float, float, float], fbo: moderngl.Framebuffer | None,
              opaque: bool) -> None:
        if fbo is None:
            fbo = self._offscreen.get(camera.width, camera.height)[0]
        fbo.use()
        self.ctx.viewport = (0, 0, camera.width, camera.height)
        fbo.clear(bg[0], bg[1], bg[2], 1.0 if opaque else 0.0)
        n, cfg, w2c = self._n, self.config, camera.world_to_cam
        if n == 0:
            return
        # View depth of every mean (less the translation, which shifts all alike), far to near.
        np.matmul(self._means[:n], w2c[2, :3].astype(np.float32), out=self._depth[:n])
        self._order_np[:n] = np.argsort(self._depth[:n])[::-1]  # [n] indices into the storage buffer
        self._order.write(self._order_np[:n])
        # Project every Gaussian once (a compute pass), then draw quads from the projected data.
        cs = self.project
        cs["count"].value = n
        cs["rot"].write(np.ascontiguousarray(w2c[:3, :3].T, dtype=np.float32))  # column-major
        cs["trans"].value = tuple(w2c[:3, 3])
        cs["intr"].value = (camera.fx, camera.fy, camera.cx, camera.cy)
        cs["size"].value = (camera.width, camera.height)
        cs["depth_range"].value = (cfg.near, cfg.far)
        cs["eps2d"].value = cfg.eps2d
        cs["alpha_min"].value = cfg.alpha_min
        self._gaussians.bind_to_storage_buffer(0)
        self._projected.bind_to_storage_buffer(1)
        cs.run(group_x=(n + _LOCAL_SIZE - 1) // _LOCAL_SIZE)
        self.ctx.memory_barrier()
        self.prog["size"].value = (camera.width, camera.height)
        self.prog["height"].value = camera.height
        self.prog["alpha_min"].value = cfg.alpha_min
        self.prog["alpha_max"].value = cfg.alpha_max
        # Premultiplied "over", back to front, for colour and alpha alike.
        self.ctx.enable_only(moderngl.BLEND)
        self.ctx.blend_func = moderngl.ONE, moderngl.ONE_MINUS_SRC_ALPHA
        self.ctx.blend_equation = moderngl.FUNC_ADD
        self._vao.render(moderngl.TRIANGLE_STRIP, vertices=4, instances=n)

    def _make_offscreen(self, size: tuple[int, int]) -> tuple[tuple[moderngl.Framebuffer, np.ndarray], list]:
        colour = self.ctx.renderbuffer(size, 4, dtype="f4")
        fbo = self.ctx.framebuffer(color_attachments=[colour])
        return (fbo, np.empty((size[1], size[0], 4), np.float32)), [fbo, colour]

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with self._current():
            self._offscreen.release()
            for obj in (self._vao, self._order, self._projected, self._gaussians, self.project, self.prog):
                obj.release()
        if self._owns_ctx:
            self.ctx.release()
