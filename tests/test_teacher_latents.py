"""Teacher latent sampling: reproducible, in range, smooth, natural rates, and covering everything the
avatar will be driven with."""
from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from engine.head.geometry import axis_angle_to_matrix
from engine.head.skinning import eye_motion
from engine.motion.emotions import emotion_offsets
from engine.teacher.latents import (SWEEP_ORDER, axis_angle_to_euler, coverage_report, dataset_motion,
                                    euler_to_axis_angle, main, plot_motion, sample_dataset, sample_motion,
                                    sample_sequence)
from engine.motion.visemes import SILENCE, VISEMES
from engine.types import ARKIT_NAMES, EMOTIONS, LATENT_FPS, MotionLatent

I = {n: i for i, n in enumerate(ARKIT_NAMES)}
LONG = 20_000  # frames (13 min 20 s)


@pytest.fixture(scope="module")
def long_motion():
    return sample_motion(LONG, seed=11)


def test_deterministic_per_seed_and_different_across_seeds():
    a, b, c = sample_sequence(600, 3), sample_sequence(600, 3), sample_sequence(600, 4)
    assert isinstance(a, MotionLatent) and a.dyn.shape == (600, 52) and a.pose.shape == (600, 6)
    assert a.dyn.dtype == torch.float32 and a.pose.dtype == torch.float32
    assert torch.equal(a.dyn, b.dyn) and torch.equal(a.pose, b.pose)
    assert (a.dyn - c.dyn).abs().mean() > 0.05 and (a.pose - c.pose).abs().mean() > 0.01


def test_dataset_splits_are_separate_and_resumable():
    train = sample_dataset(4, 300, seed=5)
    again = sample_dataset(4, 300, seed=5)
    held = sample_dataset(4, 300, seed=5, held_out=True)
    assert all(torch.equal(x.dyn, y.dyn) for x, y in zip(train, again))
    # any sequence can be regenerated on its own (resumable dataset writing)
    assert torch.equal(dataset_motion(2, 300, seed=5).latent.dyn, train[2].dyn)
    seqs = train + held + [sample_sequence(300, 5)]
    for i in range(len(seqs)):
        for j in range(i + 1, len(seqs)):
            assert (seqs[i].dyn - seqs[j].dyn).abs().mean() > 0.03, (i, j)


def test_values_in_range_and_plausible(long_motion):
    d = long_motion.latent.dyn.numpy()
    assert np.isfinite(d).all() and d.min() >= 0.0 and d.max() <= 1.0
    for side in ("Left", "Right"):
        assert (d[:, I[f"eyeWide{side}"]] + d[:, I[f"eyeBlink{side}"]]).max() <= 1.0 + 1e-6
    assert (d[:, I["mouthClose"]] <= d[:, I["jawOpen"]] + 1e-6).all()
    for a, b in (("jawLeft", "jawRight"), ("mouthLeft", "mouthRight"), ("mouthSmileLeft", "mouthFrownLeft")):
        assert np.minimum(d[:, I[a]], d[:, I[b]]).max() < 1e-6
    e = long_motion.euler_deg
    assert np.abs(e).max(0) == pytest.approx([35.0, 20.0, 10.0], abs=1e-6)  # inside the box, reaching it
    assert (np.abs(long_motion.latent.pose[:, 3:].numpy()).max(0) <= np.array([0.02, 0.015, 0.05]) + 1e-6).all()


def test_smooth_except_blinks_and_saccades(long_motion):
    d = long_motion.latent.dyn.numpy()
    step = np.abs(np.diff(d, axis=0)).max(0)  # [52] largest change between consecutive frames
    eyes = np.array([n.startswith(("eyeBlink", "eyeLook", "eyeWide")) for n in ARKIT_NAMES])
    mouth = np.array([n.startswith(("jaw", "mouth", "tongue")) for n in ARKIT_NAMES])
    assert step[mouth].max() < 0.6  # a closure from a wide vowel takes about two frames
    assert step[~eyes & ~mouth].max() < 0.35
    e = long_motion.euler_deg
    r = axis_angle_to_matrix(long_motion.latent.pose[:, :3].double())
    rel = r[1:] @ r[:-1].transpose(1, 2)
    turn = torch.rad2deg(torch.arccos(((rel.diagonal(dim1=1, dim2=2).sum(-1) - 1) / 2).clamp(-1, 1)))
    assert turn.max() < 8.0 and np.abs(np.diff(e, axis=0)).max() < 8.0  # < 200°/s
    assert np.abs(np.diff(long_motion.latent.pose[:, 3:].numpy(), axis=0)).max() < 0.005


def test_every_coefficient_covers_its_range(long_motion):
    rep = coverage_report(long_motion.latent)
    assert rep["frames"] == LONG
    missing = {n: round(c["max"], 3) for n, c in rep["coefficients"].items() if c["max"] < 0.95}
    idle = {n: c["active"] for n, c in rep["coefficients"].items() if c["active"] < 0.003}
    assert not missing and not idle, (missing, idle)
    pose = rep["pose"]
    assert pose["yaw_deg"][0] < -34.9 and pose["yaw_deg"][1] > 34.9
    assert pose["pitch_deg"][0] < -19.9 and pose["pitch_deg"][1] > 19.9
    assert pose["roll_deg"][0] < -9.9 and pose["roll_deg"][1] > 9.9
    assert pose["z_m"][0] < -0.049 and pose["z_m"][1] > 0.049  # head-distance changes


def test_many_short_sequences_cover_too():
    """Sweeps continue from sequence to sequence of a dataset, so 10 s clips cover as well as one long take."""
    rep = coverage_report(sample_dataset(80, 250, seed=2))
    assert min(c["max"] for c in rep["coefficients"].values()) >= 0.95
    assert len(SWEEP_ORDER) == 44  # every coefficient but the eight eyeLook*, which the gaze layer covers


def test_emotions_reach_full_intensity_and_move_their_coefficients(long_motion):
    w, d = long_motion.emotion, long_motion.latent.dyn.numpy()
    assert w.shape == (LONG, len(EMOTIONS)) and (w.max(0) >= 0.95).all()
    offsets = emotion_offsets()
    calm = w[:, 0] > 0.95
    for k, name in enumerate(EMOTIONS[1:], start=1):
        full = w[:, k] > 0.95
        top = np.argsort(-offsets[k])[:3]  # the coefficients this emotion raises most
        lift = d[full][:, top].mean(0) - d[calm][:, top].mean(0)
        assert (lift > 0.4 * offsets[k, top]).all(), (name, [ARKIT_NAMES[i] for i in top], lift)


def test_gaze_moves_both_eyes_together_and_reaches_extremes(long_motion):
    d = long_motion.latent.dyn
    eyes = eye_motion(d)  # [T, 2, 3] axis-angles of the left and right eye (skinning's mapping)
    assert torch.allclose(eyes[:, 0, 1], eyes[:, 1, 1], atol=1e-6)  # same yaw: conjugate gaze
    assert torch.allclose(eyes[:, 0, 0], eyes[:, 1, 0], atol=1e-6)  # same pitch
    for n in ARKIT_NAMES:
        if n.startswith("eyeLook"):
            assert (d[:, I[n]] > 0.99).float().mean() > 0.002, n  # held at the extreme now and then


def test_blink_rate_is_natural(long_motion):
    lid = long_motion.latent.dyn[:, I["eyeBlinkLeft"]].numpy()
    closes = int(((lid[1:] > 0.5) & (lid[:-1] <= 0.5)).sum())
    per_min = closes / (LONG / LATENT_FPS / 60)
    assert 12.0 <= per_min <= 24.0, per_min


def _speech_runs(speaking: np.ndarray, min_len: int) -> list[tuple[int, int]]:
    edges = np.flatnonzero(np.diff(np.concatenate([[0], speaking.astype(np.int8), [0]])))
    return [(a, b) for a, b in zip(edges[::2], edges[1::2]) if b - a >= min_len]


def test_mouth_opens_and_closes_at_syllable_rate(long_motion):
    jaw = long_motion.latent.dyn[:, I["jawOpen"]].numpy()
    speaking = long_motion.speaking
    assert 0.4 < speaking.mean() < 0.9
    assert (long_motion.viseme[~speaking] == SILENCE).all()
    assert (long_motion.viseme[speaking] != SILENCE).mean() > 0.95
    assert set(np.unique(long_motion.viseme[speaking])) >= set(range(1, len(VISEMES)))  # every mouth shape
    # open/close cycles: jaw maxima that rise at least 0.03 above the minima on both sides
    cycles, seconds = 0, 0.0
    for a, b in _speech_runs(speaking, 25):
        x = jaw[a:b]
        peaks = np.flatnonzero((x[1:-1] > x[:-2]) & (x[1:-1] >= x[2:])) + 1
        for p in peaks:
            cycles += x[p] - x[max(0, p - 3):p].min() > 0.03 and x[p] - x[p + 1:p + 4].min() > 0.03
        seconds += (b - a) / LATENT_FPS
    assert 3.0 <= cycles / seconds <= 6.0, cycles / seconds
    # modulation spectrum (power per octave, as speech envelopes are reported): its peak is the syllable rate
    win = 64
    power = np.zeros(win + 1)
    for a, b in _speech_runs(speaking, win):
        for s in range(a, b - win + 1, win // 4):
            x = jaw[s:s + win] - jaw[s:s + win].mean()
            power += np.abs(np.fft.rfft(x * np.hanning(win), 2 * win)) ** 2
    freq = np.fft.rfftfreq(2 * win, 1 / LATENT_FPS)
    peak = freq[np.argmax(power * freq)]
    assert 2.0 <= peak <= 7.0, peak


def test_pose_convention_round_trip_and_axes():
    rng = np.random.default_rng(0)
    euler = rng.uniform(-1, 1, (200, 3)) * np.array([35.0, 20.0, 10.0])
    aa = euler_to_axis_angle(euler)
    assert np.allclose(axis_angle_to_euler(aa), euler, atol=1e-9)
    r = axis_angle_to_matrix(torch.from_numpy(euler_to_axis_angle(np.array([[30.0, 0, 0], [0, 20.0, 0],
                                                                               [0, 0, 10.0]]))))
    face = torch.tensor([0.0, 0.0, 1.0], dtype=r.dtype)  # the head faces +Z
    top = torch.tensor([0.0, 1.0, 0.0], dtype=r.dtype)
    assert (r[0] @ face)[0] > 0.4  # yaw turns the face towards +X
    assert (r[1] @ face)[1] < -0.3  # pitch tips it down
    assert (r[2] @ top)[0] < -0.15  # roll tilts the top of the head towards -X


def test_fast():
    sample_sequence(100, 0)  # warm up imports and caches
    start = time.perf_counter()
    sample_sequence(10_000, 1)
    assert time.perf_counter() - start < 1.5


def test_cli_table_and_plot(tmp_path, capsys):
    main(["--frames", "300", "--seed", "1"])
    out = capsys.readouterr().out
    assert "jawOpen" in out and "yaw_deg" in out and "300 frames" in out
    plot_motion(sample_motion(250, 0), tmp_path / "latents.png")
    assert (tmp_path / "latents.png").stat().st_size > 10_000
