"""The teacher dataset on disk: frames + masks + latents + cameras + manifest, written incrementally,
resumable after a kill, with a held-out split made from separate latent sequences.

Layout of DIR:
  manifest.json             format, config, the plan (one chunk per latent sequence), completion
  train/seq_00000.npz ...   rgba [T, R, R, 4] uint8, dyn [T, 52], pose [T, 6], landmarks [T, 478, 2],
  heldout/seq_00000.npz     K [3, 3], world_to_cam [T, 4, 4]   (uncompressed: fast to write and load)
  contact_sheet.png         24 frames across the training split

A chunk is written to a temporary name and renamed when whole, so after a kill every chunk on disk is
complete; writing again with the same config skips them. Uncompressed chunks cost R²·4 bytes a frame
(64 KB at 128², 1 MB at 512²).
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch
from PIL import Image

from engine.cancel import Cancelled
from engine.teacher.base import Teacher
from engine.teacher.latents import dataset_motion
from engine.types import Camera, MotionLatent

FORMAT = "headsplat-teacher-dataset"
VERSION = 1
SPLITS = ("train", "heldout")


@dataclass(frozen=True)
class DatasetConfig:
    frames: int = 300  # training frames
    held_out_frames: int = 60
    resolution: int = 128
    sequence_frames: int = 100  # frames per latent sequence (= per chunk)
    seed: int = 0
    background: tuple[float, float, float] = (1.0, 1.0, 1.0)  # replaces the photo's background


def plan(config: DatasetConfig) -> list[tuple[str, int, int]]:
    """(split, sequence index, frames) of every chunk, in writing order."""
    out = []
    for split, total in (("train", config.frames), ("heldout", config.held_out_frames)):
        for i in range(math.ceil(total / config.sequence_frames)):
            out.append((split, i, min(config.sequence_frames, total - i * config.sequence_frames)))
    return out


def _chunk_path(folder: Path, split: str, index: int) -> Path:
    return folder / split / f"seq_{index:05d}.npz"


def write_dataset(folder: str | Path, teacher: Teacher, camera: Camera, config: DatasetConfig,
                  progress: Callable[[float, str], None] | None = None,
                  cancel: Callable[[], bool] | None = None) -> "TeacherDataset":
    """Generate (or finish) the dataset in folder. camera: the portrait's camera (resized to the
    dataset resolution here); head motion comes from the latents' pose. Raises Cancelled when
    cancel() turns true between chunks; what was written stays valid for a later resume."""
    folder = Path(folder)
    manifest_path = folder / "manifest.json"
    cfg_dict = asdict(config)
    if manifest_path.exists():
        old = json.loads(manifest_path.read_text())
        if old.get("format") != FORMAT or old.get("config") != json.loads(json.dumps(cfg_dict)):
            raise ValueError(f"{folder} holds a teacher dataset made with other settings; "
                             "choose another folder or delete it")
    chunks = plan(config)
    folder.mkdir(parents=True, exist_ok=True)
    for split in SPLITS:
        (folder / split).mkdir(exist_ok=True)
    manifest = {"format": FORMAT, "version": VERSION, "config": cfg_dict, "teacher": teacher.name,
                "chunks": [{"split": s, "index": i, "frames": n} for s, i, n in chunks], "complete": False}
    manifest_path.write_text(json.dumps(manifest, indent=2))
    cam = camera.resized(config.resolution, config.resolution)
    total = sum(n for _, _, n in chunks)
    done = 0
    for split, index, n in chunks:
        path = _chunk_path(folder, split, index)
        if not path.exists():
            if cancel is not None and cancel():
                raise Cancelled(f"stopped after {done} of {total} frames; run again to resume")
            latent = dataset_motion(index, n, config.seed, held_out=(split == "heldout")).latent
            frames = teacher.generate(latent, [cam] * n)
            tmp = path.with_name(path.stem + ".part.npz")
            np.savez(tmp, rgba=np.concatenate([frames.rgb, frames.alpha[..., None]], axis=-1),
                     dyn=latent.dyn.numpy().astype(np.float32), pose=latent.pose.numpy().astype(np.float32),
                     landmarks=frames.landmarks.astype(np.float32), K=cam.K,
                     world_to_cam=np.repeat(cam.world_to_cam[None], n, axis=0))
            os.replace(tmp, path)
        done += n
        if progress is not None:
            progress(done / total, f"{split} sequence {index + 1}")
    manifest["complete"] = True
    manifest_path.write_text(json.dumps(manifest, indent=2))
    dataset = TeacherDataset(folder)
    dataset.contact_sheet().save(folder / "contact_sheet.png")
    return dataset


@dataclass
class TeacherSample:
    rgb: np.ndarray  # [R, R, 3] uint8
    alpha: np.ndarray  # [R, R] uint8
    latent: MotionLatent  # dyn [52], pose [6]
    camera: Camera


class TeacherDataset:
    """Read access to a written dataset (chunks are loaded lazily, one at a time)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        path = self.folder / "manifest.json"
        if not path.exists():
            raise FileNotFoundError(f"{self.folder} is not a teacher dataset (no manifest.json)")
        self.manifest = json.loads(path.read_text())
        if self.manifest.get("format") != FORMAT:
            raise ValueError(f"{path} is not a {FORMAT} manifest")
        self.config = DatasetConfig(**{**self.manifest["config"],
                                       "background": tuple(self.manifest["config"]["background"])})
        self.complete = bool(self.manifest["complete"])

    def chunks(self, split: str = "train") -> list[tuple[int, int]]:
        """(sequence index, frames) of the split's chunks present on disk."""
        return [(c["index"], c["frames"]) for c in self.manifest["chunks"]
                if c["split"] == split and _chunk_path(self.folder, split, c["index"]).exists()]

    def __len__(self) -> int:
        return sum(n for _, n in self.chunks("train"))

    def load_chunk(self, split: str, index: int) -> dict[str, np.ndarray]:
        with np.load(_chunk_path(self.folder, split, index), allow_pickle=False) as z:
            return {k: z[k] for k in z.files}

    def samples(self, split: str = "train") -> Iterator[TeacherSample]:
        res = self.config.resolution
        for index, _ in self.chunks(split):
            c = self.load_chunk(split, index)
            K = c["K"]
            for t in range(c["rgba"].shape[0]):
                cam = Camera(res, res, K[0, 0], K[1, 1], K[0, 2], K[1, 2], c["world_to_cam"][t])
                yield TeacherSample(c["rgba"][t, ..., :3], c["rgba"][t, ..., 3],
                                    MotionLatent(torch.from_numpy(c["dyn"][t]), torch.from_numpy(c["pose"][t])), cam)

    def contact_sheet(self, count: int = 24, columns: int = 6, tile: int = 128) -> Image.Image:
        """count frames spread evenly over the training split, in a grid (loads only their chunks)."""
        chunks = self.chunks("train")
        total = sum(n for _, n in chunks)
        if total == 0:
            raise ValueError(f"{self.folder} has no training frames yet")
        picks = set(np.linspace(0, total - 1, min(count, total)).round().astype(int).tolist())
        tiles, start = [], 0
        for index, n in chunks:
            wanted = [i - start for i in sorted(picks) if start <= i < start + n]
            if wanted:
                rgba = self.load_chunk("train", index)["rgba"]
                tiles += [Image.fromarray(rgba[t, ..., :3]).resize((tile, tile), Image.LANCZOS) for t in wanted]
            start += n
        rows = math.ceil(len(tiles) / columns)
        sheet = Image.new("RGB", (columns * tile, rows * tile), (255, 255, 255))
        for k, im in enumerate(tiles):
            sheet.paste(im, ((k % columns) * tile, (k // columns) * tile))
        return sheet
