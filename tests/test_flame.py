"""The FLAME adapter on a tiny synthetic model file in FLAME's own format (a pickle of chumpy arrays
and a scipy CSC matrix, made here with stand-in classes of those names), and its restricted loader."""
from __future__ import annotations

import pickle
import sys
import types

import numpy as np
import pytest
import torch

from engine.head.flame import FlameModel, load_flame_arrays
from engine.head.model import RigParams
from engine.types import ARKIT_NAMES

V, S, E = 40, 6, 4


def _fake_module(monkeypatch, name: str, cls_name: str) -> type:
    """A class pickled under module `name` (as chumpy / scipy would be), without those packages."""
    for parent in [name.rsplit(".", i)[0] for i in range(name.count("."), 0, -1)]:
        if parent not in sys.modules:
            monkeypatch.setitem(sys.modules, parent, types.ModuleType(parent))
    mod = types.ModuleType(name)
    cls = type(cls_name, (), {"__module__": name})
    setattr(mod, cls_name, cls)
    monkeypatch.setitem(sys.modules, name, mod)
    return cls


def tiny_flame(monkeypatch, path, with_mapping: bool = False) -> dict:
    rng = np.random.default_rng(0)
    v = rng.normal(0, 0.05, (V, 3))
    v[:10, 1] -= 0.15  # a "neck" below the neck joint
    weights = np.zeros((V, 5))
    weights[:10, 1] = 1  # neck
    weights[10:20, 2] = 1  # jaw
    weights[20:, 0] = 1  # head / global
    jreg = np.zeros((5, V))
    for j, rows in enumerate([range(20, 40), range(0, 10), range(10, 20), range(20, 30), range(30, 40)]):
        jreg[j, list(rows)] = 1 / len(rows)
    arrays = {"v_template": v, "f": np.array([[0, 1, 2], [2, 3, 4]], np.uint32),
              "shapedirs": rng.normal(0, 0.01, (V, 3, S + E)), "posedirs": rng.normal(0, 1e-3, (V, 3, 36)),
              "weights": weights, "kintree_table": np.array([[4294967295, 0, 1, 1, 1], [0, 1, 2, 3, 4]])}
    Ch = _fake_module(monkeypatch, "chumpy.ch", "Ch")
    Csc = _fake_module(monkeypatch, "scipy.sparse.csc_fake", "csc_matrix")
    data = {}
    for k, a in arrays.items():
        if k in ("shapedirs", "posedirs", "v_template", "weights"):
            ch = Ch()
            ch.__dict__ = {"x": a}
            data[k] = ch
        else:
            data[k] = a
    sp = Csc()  # CSC: column by column
    cols = [np.nonzero(jreg[:, c])[0] for c in range(V)]
    sp.__dict__ = {"data": np.concatenate([jreg[r, c] for c, r in enumerate(cols)]),
                   "indices": np.concatenate(cols), "indptr": np.cumsum([0] + [len(r) for r in cols]),
                   "_shape": (5, V)}
    data["J_regressor"] = sp
    data["bs_style"] = "lbs"
    if with_mapping:
        data["arkit_to_flame"] = rng.normal(0, 1, (52, E))
    path.write_bytes(pickle.dumps(data, protocol=2))
    return {**arrays, "J_regressor": jreg}


def test_loads_pickle_without_chumpy_and_matches_arrays(tmp_path, monkeypatch):
    path = tmp_path / "generic_model.pkl"
    truth = tiny_flame(monkeypatch, path)
    arrays = load_flame_arrays(path)
    for k in ("v_template", "shapedirs", "posedirs", "weights", "J_regressor"):
        np.testing.assert_allclose(arrays[k], truth[k])


def test_refuses_code_in_pickle(tmp_path):
    class Evil:
        def __reduce__(self):
            import os
            return (os.system, ("echo pwned",))

    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"v_template": Evil()}))
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        load_flame_arrays(path)


def test_forward_rest_pose_and_joints(tmp_path, monkeypatch):
    path = tmp_path / "m.pkl"
    truth = tiny_flame(monkeypatch, path, with_mapping=True)
    model = FlameModel(path, n_shape=S)
    p = RigParams.zeros(2, model.n_identity)
    out = model(p)
    assert out.vertices.shape == (2, V, 3)
    np.testing.assert_allclose(out.vertices[0].numpy(), truth["v_template"], atol=1e-6)
    # jawOpen turns the jaw vertices only
    expr = torch.zeros(1, 52)
    expr[0, ARKIT_NAMES.index("jawOpen")] = 1.0
    opened = model(RigParams(**{**p.__dict__, "identity": p.identity[:1], "expression": expr, "jaw": p.jaw[:1],
                                "eyes": p.eyes[:1], "neck": p.neck[:1], "rotation": p.rotation[:1],
                                "translation": p.translation[:1]})).vertices[0]
    moved = (opened - out.vertices[0]).norm(dim=1)
    assert moved[10:20].min() > 1e-3  # the jaw (plus expression PCA via the mapping) moved
    # shape coefficients move vertices; translation shifts everything
    p2 = RigParams.zeros(1, model.n_identity)
    p2.identity[0, 0] = 1.0
    p2.translation[0] = torch.tensor([0.1, 0, 0])
    moved = model(p2).vertices[0] - torch.as_tensor(truth["v_template"], dtype=torch.float32)
    assert torch.allclose(moved[:, 0].mean(), torch.tensor(0.1), atol=0.02)
    assert model.regions["neck"][:10].all() and not model.regions["neck"][20:].any()


def test_npz_variant(tmp_path, monkeypatch):
    truth = tiny_flame(monkeypatch, tmp_path / "m.pkl")
    np.savez(tmp_path / "m.npz", **{k: np.asarray(v) for k, v in truth.items()})
    model = FlameModel(tmp_path / "m.npz", n_shape=S)
    out = model(RigParams.zeros(1, model.n_identity)).vertices[0]
    np.testing.assert_allclose(out.numpy(), truth["v_template"], atol=1e-6)
    with pytest.raises(FileNotFoundError):
        FlameModel(tmp_path / "missing.pkl")
