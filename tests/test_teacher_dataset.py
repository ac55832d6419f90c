"""The teacher dataset on disk: layout, resume after an interruption, held-out split, reading back."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from engine.cancel import Cancelled
from engine.head.fit import front_camera
from engine.head.model import RigParams, load_rig
from engine.media import to_uint8
from engine.render.mesh import MeshRenderer
from engine.render.projection import project_points
from engine.teacher.base import Teacher, TeacherFrames
from engine.teacher.dataset import DatasetConfig, TeacherDataset, plan, write_dataset


class ShadedRigTeacher(Teacher):
    """The untextured rig (region colours) as a teacher: real renders, cheap, enough for the
    dataset's bookkeeping. Counts its calls so the tests can see what a resume re-renders."""

    name = "shaded-rig"

    def __init__(self) -> None:
        self.rig = load_rig()
        self.renderer = MeshRenderer(supersample=1)
        self.calls = 0

    def generate(self, latents, cameras):
        self.calls += 1
        with torch.no_grad():
            verts = self.rig.forward(RigParams.from_latent(latents, torch.zeros(self.rig.n_identity))).vertices
        rgb, alpha, lms = [], [], []
        for v, cam in zip(verts, cameras):
            out = self.renderer.render(v, self.rig.faces, cam, colors=self.rig.vertex_colors, background=(1, 1, 1))
            rgb.append(to_uint8(out.rgb))
            alpha.append((out.alpha.numpy() * 255 + 0.5).astype(np.uint8))
            lms.append(project_points(v[self.rig.landmark_vertices], cam).numpy())
        return TeacherFrames(np.stack(rgb), np.stack(alpha), np.stack(lms).astype(np.float32))


@pytest.fixture(scope="module")
def teacher():
    t = ShadedRigTeacher()
    yield t
    t.renderer.close()


def camera():
    return front_camera(256, 256, 0.5 * 256 / math.tan(math.radians(22) / 2))


def test_plan_splits_into_sequences():
    cfg = DatasetConfig(frames=50, held_out_frames=12, sequence_frames=20)
    assert plan(cfg) == [("train", 0, 20), ("train", 1, 20), ("train", 2, 10), ("heldout", 0, 12)]


def test_write_resume_and_read(tmp_path, teacher):
    cfg = DatasetConfig(frames=30, held_out_frames=10, resolution=48, sequence_frames=10, seed=3)
    calls = iter([False, False, True])  # cancel before the third chunk
    with pytest.raises(Cancelled, match="resume"):
        write_dataset(tmp_path, teacher, camera(), cfg, cancel=lambda: next(calls))
    assert not json.loads((tmp_path / "manifest.json").read_text())["complete"]
    assert len(TeacherDataset(tmp_path)) == 20  # two whole chunks survived
    assert not list(tmp_path.rglob("*.part.npz"))
    teacher.calls = 0
    seen = []
    ds = write_dataset(tmp_path, teacher, camera(), cfg, progress=lambda f, m: seen.append(f))
    assert teacher.calls == 2  # only the missing train chunk and the held-out chunk
    assert seen[-1] == 1.0 and ds.complete and len(ds) == 30
    samples = list(ds.samples("train"))
    assert len(samples) == 30
    s = samples[0]
    assert s.rgb.shape == (48, 48, 3) and s.alpha.shape == (48, 48) and s.latent.dyn.shape == (52,)
    assert s.alpha.max() == 255 and s.alpha[0, 0] == 0  # the head is there, the corner is background
    assert s.camera.width == 48 and s.camera.fx == pytest.approx(camera().fx * 48 / 256)
    held = list(ds.samples("heldout"))
    assert len(held) == 10
    assert not any(torch.equal(h.latent.dyn, t.latent.dyn) for h in held for t in samples)
    assert (tmp_path / "contact_sheet.png").exists()


def test_other_settings_are_refused(tmp_path, teacher):
    cfg = DatasetConfig(frames=10, held_out_frames=0, resolution=32, sequence_frames=10)
    write_dataset(tmp_path, teacher, camera(), cfg)
    with pytest.raises(ValueError, match="other settings"):
        write_dataset(tmp_path, teacher, camera(), DatasetConfig(frames=20, resolution=32))


def test_teach_cli_on_the_sample_portrait(tmp_path):
    """`headsplat teach` end to end on the astronaut, tiny: fit + texture + 20 frames at 48²."""
    import skimage.data
    from PIL import Image

    from engine.cli import main

    photo = tmp_path / "astronaut.png"
    Image.fromarray(skimage.data.astronaut()).save(photo)
    out = tmp_path / "data"
    assert main(["teach", str(photo), "--frames", "20", "--heldout", "5", "--res", "48", "--out", str(out)]) == 0
    ds = TeacherDataset(out)
    assert ds.complete and len(ds) == 20 and len(list(ds.samples("heldout"))) == 5
    assert (out / "fit" / "overlay.png").exists() and (out / "contact_sheet.png").exists()
    s = next(ds.samples("train"))
    # the head is framed as in the photo: in the middle, neither tiny nor cut off
    ys, xs = np.nonzero(s.alpha > 128)
    assert 0.3 < (ys.max() - ys.min()) / 48 < 1.0 and abs(xs.mean() - 24) < 8


def test_teach_cli_rejects_a_photo_without_a_face(tmp_path, capsys):
    from PIL import Image

    from engine.cli import main

    photo = tmp_path / "noise.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200, 3), dtype=np.uint8)).save(photo)
    assert main(["teach", str(photo), "--frames", "5", "--out", str(tmp_path / "d")]) == 1
    assert "No face" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()  # nothing written
