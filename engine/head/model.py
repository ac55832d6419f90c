"""The head-model interface and the project's parametric rig (torch, batched, differentiable).

ParametricRig.forward, in this order:
  1. shape:      template + identity_basis · identity + offsets                (rest pose, per batch)
                 joints follow: rest joints + regressor · (shaped - template)
  2. expression: + expression_basis · expression                               (52 ARKit shapes)
  3. skinning:   linear blend over the joints neck (torso, fixed), head (turns by `neck` about the
                 head joint), jaw (jaw* coefficients mapped to a rotation and a shift, plus `jaw`,
                 about the jaw joint) and the eyes (eyeLook* mapped to rotations, plus `eyes`, about
                 the eyeball centres); jaw and eyes are children of the head
  4. global:     rotation about the head joint, then + translation.
So rotation = 0, translation = 0 leaves the rest head in place (world: metres, +Y up, facing +Z,
the origin between the outer eye corners).
"""
from __future__ import annotations

import abc
import functools
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np
import torch

from engine.head.geometry import axis_angle_to_matrix
from engine.head.skinning import HEAD, JAW, eye_motion, jaw_motion
from engine.types import ARKIT_NAMES, DYN_DIM, MotionLatent

RIG_FILE = Path(__file__).resolve().parents[2] / "resources" / "rig" / "rig_v1.npz"


@dataclass
class RigParams:
    """Parameters of a batch of B heads (every tensor has the leading batch dim except offsets).

    identity [B, n_id] (N(0, 1) prior); expression [B, 52] in ARKIT_NAMES order (mostly 0..1);
    jaw [B, 3] axis-angle added to what jaw* coefficients imply; eyes [B, 2, 3] axis-angles of the
    left / right eye added to eyeLook*; neck [B, 3] axis-angle of the head on the neck; rotation
    [B, 3] global axis-angle (about the head joint); translation [B, 3] metres; offsets [V, 3] or
    [B, V, 3] per-vertex identity offsets (fitting regularises them), or None."""

    identity: torch.Tensor
    expression: torch.Tensor
    jaw: torch.Tensor
    eyes: torch.Tensor
    neck: torch.Tensor
    rotation: torch.Tensor
    translation: torch.Tensor
    offsets: torch.Tensor | None = None

    @property
    def batch(self) -> int:
        return self.expression.shape[0]

    @classmethod
    def zeros(cls, batch: int, n_id: int, device: torch.device | str = "cpu",
              dtype: torch.dtype = torch.float32) -> "RigParams":
        z = lambda *s: torch.zeros(batch, *s, device=device, dtype=dtype)  # noqa: E731
        return cls(z(n_id), z(DYN_DIM), z(3), z(2, 3), z(3), z(3), z(3), None)

    @classmethod
    def from_latent(cls, latent: MotionLatent, identity: torch.Tensor) -> "RigParams":
        """A motion latent (one sample, or a sequence [T] -> B = T) as rig parameters: dyn ->
        expression, pose -> rotation and translation. identity [n_id] or [B, n_id]."""
        dyn, pose = latent.dyn, latent.pose
        if dyn.dim() == 1:
            dyn, pose = dyn[None], pose[None]
        b = dyn.shape[0]
        ident = identity.expand(b, -1) if identity.dim() == 1 else identity
        p = cls.zeros(b, ident.shape[1], dyn.device, dyn.dtype)
        return replace(p, identity=ident.to(dyn), expression=dyn, rotation=pose[:, :3], translation=pose[:, 3:])

    def to(self, device: torch.device | str) -> "RigParams":
        return RigParams(**{f.name: None if getattr(self, f.name) is None else getattr(self, f.name).to(device)
                            for f in fields(self)})


@dataclass
class TriangleFrames:
    """Per-triangle frames for binding Gaussians (GaussianAvatars style).

    centre [B, F, 3]; rotation [B, F, 3, 3] with columns (tangent along the first edge, bitangent,
    normal); scale [B, F]: the mean edge length."""

    centre: torch.Tensor
    rotation: torch.Tensor
    scale: torch.Tensor


@dataclass
class RigOutput:
    """vertices [B, V, 3] and joints [B, J, 3] in world space."""

    vertices: torch.Tensor
    joints: torch.Tensor

    def triangle_frames(self, faces: torch.Tensor) -> TriangleFrames:
        """Frames of faces [F, 3] (long) on these vertices."""
        a, b, c = (self.vertices[:, faces[:, i]] for i in range(3))  # [B, F, 3] each
        e1, e2 = b - a, c - a
        n = torch.cross(e1, e2, dim=-1)
        normal = n / n.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        tangent = e1 / e1.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        bitangent = torch.cross(normal, tangent, dim=-1)
        scale = (e1.norm(dim=-1) + e2.norm(dim=-1) + (c - b).norm(dim=-1)) / 3.0
        return TriangleFrames((a + b + c) / 3.0, torch.stack([tangent, bitangent, normal], dim=-1), scale)


class HeadModel(abc.ABC):
    """A parametric head mesh: parameters -> world-space vertices. The rig is the default; a FLAME
    adapter can implement the same interface.

    name; num_vertices; faces [F, 3] long; regions: name -> bool [V]; uvs [F, 3, 2] per corner;
    landmark_vertices [478] long (the vertex for each mediapipe landmark, iris ones on the
    eyeballs); n_identity."""

    name: str
    num_vertices: int
    faces: torch.Tensor
    regions: dict[str, torch.Tensor]
    uvs: torch.Tensor
    landmark_vertices: torch.Tensor
    n_identity: int

    @abc.abstractmethod
    def forward(self, params: RigParams) -> RigOutput:
        """Posed vertices for a batch of parameters."""

    def __call__(self, params: RigParams) -> RigOutput:
        return self.forward(params)

    def zero_params(self, batch: int = 1) -> RigParams:
        return RigParams.zeros(batch, self.n_identity, self.faces.device)


class ParametricRig(HeadModel):
    """The project's own rig, read from rig_v1.npz (plain arrays; built by engine.head.build_rig).

    Besides HeadModel: template [V, 3]; identity_basis [n_id, V, 3]; expression_basis [52, V, 3];
    skin_weights [V, J]; joints [J, 3] (rest); joint_regressor [J, V]; vertex_colors [V, 3]
    (default albedo by region: skin, lips, brows, hair, eyes, teeth, ...); mirror [V] (index of
    each vertex's mirror image); parts: the build part of each vertex (numpy strings);
    identity_names, expression_names (= ARKIT_NAMES), joint_names."""

    name = "parametric_rig_v1"
    _TENSORS = ("template", "faces", "uvs", "landmark_vertices", "identity_basis", "expression_basis",
                "skin_weights", "joints", "joint_regressor", "vertex_colors", "mirror")

    def __init__(self, path: Path | str = RIG_FILE, device: torch.device | str = "cpu") -> None:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
        if tuple(data["expression_names"]) != ARKIT_NAMES:
            raise ValueError(f"{path}: expressions are not in ARKIT_NAMES order")
        t = lambda k, dtype=torch.float32: torch.as_tensor(data[k], dtype=dtype, device=device)  # noqa: E731
        self.template = t("template")
        self.faces = t("faces", torch.long)
        self.uvs = t("uvs")
        self.landmark_vertices = t("landmark_vertices", torch.long)
        self.identity_basis = t("identity_basis")
        self.expression_basis = t("expression_basis")
        self.skin_weights = t("skin_weights")
        self.joints = t("joints")
        self.joint_regressor = t("joint_regressor")
        self.vertex_colors = t("colors")
        self.mirror = t("mirror", torch.long)
        self.regions = {str(n): torch.as_tensor(m, device=device) for n, m in zip(data["region_names"], data["regions"])}
        self.parts = data["parts"]
        self.identity_names = tuple(str(n) for n in data["identity_names"])
        self.expression_names = ARKIT_NAMES
        self.joint_names = tuple(str(n) for n in data["joint_names"])
        self.num_vertices = self.template.shape[0]
        self.n_identity = len(self.identity_names)

    def to(self, device: torch.device | str) -> "ParametricRig":
        """A copy on another device (the cached default rig is never moved in place)."""
        other = object.__new__(ParametricRig)
        other.__dict__.update(self.__dict__)
        for k in self._TENSORS:
            setattr(other, k, getattr(self, k).to(device))
        other.regions = {k: m.to(device) for k, m in self.regions.items()}
        return other

    def forward(self, params: RigParams) -> RigOutput:
        b, dev, dt = params.batch, self.template.device, self.template.dtype
        n_v = self.num_vertices
        # 1. identity shape and the rest joints that follow it
        shaped = self.template + (params.identity.to(dt) @ self.identity_basis.reshape(self.n_identity, -1)).reshape(b, n_v, 3)
        if params.offsets is not None:
            shaped = shaped + params.offsets
        joints = self.joints + torch.einsum("jv,bvc->bjc", self.joint_regressor, shaped - self.template)  # [B, J, 3]
        # 2. expression
        v = shaped + (params.expression.to(dt) @ self.expression_basis.reshape(DYN_DIM, -1)).reshape(b, n_v, 3)
        # 3. skinning: world transform x -> R x + t of every joint
        eye3 = torch.eye(3, device=dev, dtype=dt).expand(b, 3, 3)
        r_head = axis_angle_to_matrix(params.neck)
        t_head = joints[:, HEAD] - (r_head @ joints[:, HEAD, :, None])[..., 0]
        jaw_aa, jaw_shift = jaw_motion(params.expression)
        eye_aa = eye_motion(params.expression) + params.eyes  # [B, 2, 3]
        local_r = torch.cat([axis_angle_to_matrix(jaw_aa + params.jaw)[:, None], axis_angle_to_matrix(eye_aa)], 1)  # [B, 3, 3, 3]
        pivots = joints[:, JAW:]  # the head's children: jaw, eye_left, eye_right [B, 3, 3]
        local_t = pivots - (local_r @ pivots[..., None])[..., 0]
        local_t = local_t + torch.cat([jaw_shift[:, None], torch.zeros_like(pivots[:, 1:])], 1)
        child_r = r_head[:, None] @ local_r
        child_t = (r_head[:, None] @ local_t[..., None])[..., 0] + t_head[:, None]
        rot = torch.cat([eye3[:, None], r_head[:, None], child_r], 1)  # [B, J, 3, 3]
        trans = torch.cat([torch.zeros_like(t_head)[:, None], t_head[:, None], child_t], 1)  # [B, J, 3]
        per_joint = torch.einsum("bjkl,bvl->bjvk", rot, v) + trans[:, :, None]  # [B, J, V, 3]
        v = torch.einsum("vj,bjvk->bvk", self.skin_weights, per_joint)
        posed_joints = torch.cat([joints[:, :1], joints[:, 1:2], (child_r @ pivots[..., None])[..., 0] + child_t], 1)
        # 4. global rotation about the head joint, then translation
        r_g = axis_angle_to_matrix(params.rotation)
        pivot = joints[:, HEAD:HEAD + 1]
        to_world = lambda x: (x - pivot) @ r_g.transpose(1, 2) + pivot + params.translation[:, None]  # noqa: E731
        return RigOutput(to_world(v), to_world(posed_joints))


@functools.lru_cache(maxsize=1)
def load_rig() -> ParametricRig:
    """The default rig on the CPU (cached; use .to(device) for a copy elsewhere)."""
    return ParametricRig()
