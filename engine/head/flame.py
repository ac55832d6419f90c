"""An adapter that runs a FLAME head model the user supplies behind the HeadModel interface.

FLAME is not redistributable, so nothing of it ships here. Point `FlameModel` at the model file you
licensed: the original `generic_model.pkl` (a pickle of chumpy arrays and a scipy sparse matrix)
or an `.npz` with the same keys. The pickle is read by a restricted unpickler that rebuilds numpy
arrays and captures the attribute dicts of chumpy / scipy objects as plain data; any other class in
the file is refused, so loading runs no code from it.

Keys: v_template [V, 3], f [F, 3], shapedirs [V, 3, S + E] (shape then expression PCA), posedirs
[V, 3, 36], J_regressor [5, V], weights [V, 5], kintree_table [2, 5] (joints: global, neck, jaw,
left eye, right eye). Optional: arkit_to_flame [52, E] (a linear map from this project's ARKit
coefficients to FLAME's expression PCA; without it only jaw and gaze follow the latent),
landmark_vertices [478] (the FLAME vertex for each mediapipe landmark; needed for fitting).
"""
from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine.head.geometry import axis_angle_to_matrix
from engine.head.model import HeadModel, RigOutput, RigParams
from engine.head.skinning import eye_motion, jaw_motion
from engine.types import DYN_DIM

N_SHAPE_DEFAULT = 300


class _Captured:
    """Stands in for a chumpy / scipy object from a FLAME pickle: keeps its state as plain data."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args

    def __setstate__(self, state: Any) -> None:
        self.state = state


def _captured_class(module: str, name: str) -> type:
    return type(f"{module}.{name}", (_Captured,), {})


class _RestrictedUnpickler(pickle.Unpickler):
    """numpy array reconstruction plus inert stand-ins for chumpy and scipy.sparse classes."""

    _NUMPY = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
              ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
              ("numpy._core.multiarray", "scalar")}
    _INERT_MODULES = ("chumpy", "scipy.sparse")

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._NUMPY:  # numpy 1.x and 2.x spell the module differently
            return getattr(np, name) if module == "numpy" else getattr(np.core.multiarray, name)
        if module == "copyreg" and name == "_reconstructor":
            import copyreg
            return copyreg._reconstructor
        if module == "_codecs" and name == "encode":  # how protocol-2 pickles store bytes: data only
            import codecs
            return codecs.encode
        if module.startswith(self._INERT_MODULES):
            return _captured_class(module, name)
        if module == "builtins" and name == "object":
            return object
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a FLAME file (only arrays are read)")


def _to_array(value: Any) -> Any:
    """A captured chumpy array -> ndarray; a captured scipy CSC/CSR matrix -> dense ndarray."""
    if isinstance(value, _Captured):
        state = getattr(value, "state", None)
        if isinstance(state, dict) and "x" in state:  # chumpy.Ch keeps its value in x
            return np.asarray(state["x"])
        if isinstance(state, dict) and {"data", "indices", "indptr"} <= set(state):
            shape = state.get("_shape") or state.get("shape")
            dense = np.zeros(shape, dtype=np.asarray(state["data"]).dtype)
            kind = type(value).__name__.rsplit(".", 1)[-1]
            data, idx, ptr = (np.asarray(state[k]) for k in ("data", "indices", "indptr"))
            for i in range(len(ptr) - 1):  # column i (CSC) or row i (CSR)
                sl = slice(ptr[i], ptr[i + 1])
                if kind.startswith("csc"):
                    dense[idx[sl], i] = data[sl]
                else:
                    dense[i, idx[sl]] = data[sl]
            return dense
        raise ValueError(f"unsupported object {type(value).__name__} in the FLAME file")
    return value


def load_flame_arrays(path: str | Path) -> dict[str, np.ndarray]:
    """The arrays of a FLAME model file (.pkl through the restricted unpickler, or .npz)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no FLAME model at {path}")
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    raw = _RestrictedUnpickler(io.BytesIO(path.read_bytes()), encoding="latin1").load()
    if not isinstance(raw, dict):
        raise ValueError(f"{path} is not a FLAME model (expected a dict of arrays)")
    return {k: _to_array(v) for k, v in raw.items() if not isinstance(v, str)}


class FlameModel(HeadModel):
    """FLAME behind HeadModel: identity = shape PCA, expression = the 52 ARKit coefficients (jaw and
    gaze through FLAME's joints; the rest through arkit_to_flame when the file has it), neck / jaw /
    eyes / global rotation as FLAME's pose. Regions come from the skinning (FLAME ships none):
    'neck' where the neck joint dominates, 'face' the rest (VASA-3D's split of the VAS MLPs);
    uvs are zero."""

    name = "flame"

    def __init__(self, path: str | Path, n_shape: int = N_SHAPE_DEFAULT, device: torch.device | str = "cpu") -> None:
        a = load_flame_arrays(path)
        missing = {"v_template", "f", "shapedirs", "posedirs", "J_regressor", "weights"} - set(a)
        if missing:
            raise ValueError(f"{path} lacks the FLAME arrays {sorted(missing)}")
        t = lambda x, dtype=torch.float32: torch.as_tensor(np.asarray(x), dtype=dtype, device=device)  # noqa: E731
        self.template = t(a["v_template"])  # [V, 3]
        self.faces = t(a["f"].astype(np.int64), torch.long)
        shapedirs = t(a["shapedirs"])  # [V, 3, S + E]
        total = shapedirs.shape[2]
        self.n_identity = min(n_shape, total)
        self.shape_basis = shapedirs[:, :, : self.n_identity].permute(2, 0, 1).contiguous()  # [S, V, 3]
        self.expr_basis = shapedirs[:, :, self.n_identity:].permute(2, 0, 1).contiguous()  # [E, V, 3]
        self.pose_basis = t(a["posedirs"]).reshape(-1, 36).T.reshape(36, -1, 3)  # [36, V, 3]
        self.j_regressor = t(a["J_regressor"])  # [5, V]
        self.weights = t(a["weights"])  # [V, 5]
        self.parents = [-1, 0, 1, 1, 1] if "kintree_table" not in a else [int(p) if i else -1 for i, p in
                                                                          enumerate(np.asarray(a["kintree_table"])[0])]
        self.arkit_to_flame = t(a["arkit_to_flame"]) if "arkit_to_flame" in a else None  # [52, E]
        self.num_vertices = self.template.shape[0]
        self.uvs = torch.zeros(self.faces.shape[0], 3, 2, device=device)
        lm = a.get("landmark_vertices")
        self.landmark_vertices = t(lm, torch.long) if lm is not None else torch.zeros(0, dtype=torch.long, device=device)
        neck = self.weights.argmax(dim=1) == 1  # skinned mostly to the neck joint
        self.regions = {"neck": neck, "face": ~neck}

    def forward(self, params: RigParams) -> RigOutput:
        b = params.batch
        ident = params.identity[:, : self.n_identity]
        v = self.template + torch.einsum("bs,svc->bvc", ident, self.shape_basis[: ident.shape[1]])
        if params.offsets is not None:
            v = v + params.offsets
        joints = torch.einsum("jv,bvc->bjc", self.j_regressor, v)  # [B, 5, 3]
        if self.arkit_to_flame is not None:
            v = v + torch.einsum("be,evc->bvc", params.expression[:, :DYN_DIM] @ self.arkit_to_flame, self.expr_basis)
        jaw_aa, _ = jaw_motion(params.expression)
        eyes = eye_motion(params.expression) + params.eyes  # [B, 2, 3]
        local = torch.stack([params.rotation, params.neck, jaw_aa + params.jaw, eyes[:, 0], eyes[:, 1]], 1)
        rots = axis_angle_to_matrix(local)  # [B, 5, 3, 3]
        eye3 = torch.eye(3, dtype=v.dtype, device=v.device)
        v = v + torch.einsum("bp,pvc->bvc", (rots[:, 1:] - eye3).reshape(b, 36), self.pose_basis)  # pose correctives
        # Forward kinematics: world transform of each joint (rotation about the joint's rest position).
        world_r, world_t = [], []
        for j, parent in enumerate(self.parents):
            r_local, pivot = rots[:, j], joints[:, j]
            t_local = pivot - (r_local @ pivot[..., None])[..., 0]
            if parent < 0:
                world_r.append(r_local)
                world_t.append(t_local)
            else:
                world_r.append(world_r[parent] @ r_local)
                world_t.append((world_r[parent] @ t_local[..., None])[..., 0] + world_t[parent])
        r = torch.stack(world_r, 1)  # [B, 5, 3, 3]
        tr = torch.stack(world_t, 1)  # [B, 5, 3]
        per_joint = torch.einsum("bjkl,bvl->bjvk", r, v) + tr[:, :, None]
        verts = torch.einsum("vj,bjvk->bvk", self.weights, per_joint) + params.translation[:, None]
        posed_joints = torch.einsum("bjkl,bjl->bjk", r, joints) + tr + params.translation[:, None]
        return RigOutput(verts, posed_joints)
