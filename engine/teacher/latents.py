"""Seeded motion-latent sequences that look like talking people: what drives the teacher.

A sequence is a sum of layers evaluated at the frame times (25 fps), then made physically plausible
and clamped to [0, 1]:
  speech   phrases and pauses; syllables at ~4.5/s of onset consonant, vowel and coda made of visemes
           (visemes.py), blended with Cohen-Massaro dominance (coarticulation, anticipation included);
           amplitude per phrase, stressed syllables longer and wider
  emotion  segments of one emotion at an intensity (often full), cross-faded (emotions.py offsets)
  brows    raises on stressed syllables, occasional frowns and one-sided raises
  blinks   a Poisson process with a refractory gap (~17/min), 100-400 ms each, sometimes double
  gaze     fixations and saccades: at the frontal camera (with the vestibulo-ocular counter-rotation
           against the head), nearby, averted, or at the extremes; the lids follow the eyes down
  head     held poses (sometimes at the edges of the range) cross-faded, sway (calmer when silent),
           nods on stress, nod/shake gestures, breathing; head-distance changes along z
  noise    small smooth activations of every coefficient (what a tracker's output looks like)
  sweep    coverage: every coefficient except gaze (which the gaze layer covers, both eyes together)
           takes its turn ramping 0 -> 1 -> 0 in a fixed shuffled order, on a regular jittered schedule
           (at least one per sequence), one side or both, with partners that keep it plausible; mouth
           sweeps pause speech
A dataset continues the sweep order from sequence to sequence (sweep_offset), so many short sequences
cover every coefficient as surely as one long one.

Every layer is built from one primitive, the soft box σ((t − a)/r) · σ((b − t)/f) (σ the logistic):
summed for events, and dominance-weighted and normalised over a tiling of segments for states
(visemes, fixations, emotions, held poses).

Pose convention: pose[:3] is the axis-angle of R = Ry(yaw) · Rx(pitch) · Rz(roll) (world +Y up, the
head faces +Z): yaw about +Y (positive turns the face towards +X, the subject's left), pitch about +X
(positive tips the face down), roll about +Z (positive tilts the top of the head towards −X, the
subject's right). pose[3:] is a translation in metres (+Z: towards a camera in front of the face).
"""
from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from engine.head.skinning import EYE_DOWN_RAD, EYE_UP_RAD, EYE_YAW_RAD
from engine.motion.emotions import emotion_offsets
from engine.motion.visemes import SILENCE, VISEMES, viseme_choices, viseme_targets
from engine.types import ARKIT_NAMES, DYN_DIM, EMOTIONS, LATENT_FPS, MotionLatent

Range = tuple[float, float]  # (low, high)


@dataclass(frozen=True)
class LatentSamplerConfig:
    """What the sampled motion looks like. Seconds, degrees, metres; coefficient units for amplitudes
    (gaze: 1 = the eyeLook* extreme). Ranges named *_s are sampled log-uniformly, the others uniformly."""

    fps: float = LATENT_FPS
    # speech
    syllables_per_s: float = 4.5
    phrase_s: Range = (1.2, 5.0)
    pause_s: Range = (0.2, 1.2)
    listen_prob: float = 0.15  # a pause is a long silence (listening) instead
    listen_s: Range = (2.0, 6.0)
    phrase_amplitude: Range = (0.6, 1.3)
    stress_prob: float = 0.25  # per syllable
    # blinks
    blinks_per_min: float = 17.0  # double blinks included
    blink_s: Range = (0.1, 0.4)
    double_blink_prob: float = 0.1
    # gaze
    fixation_s: Range = (0.2, 3.0)
    gaze_camera_prob: float = 0.45
    gaze_averted_prob: float = 0.12
    gaze_extreme_prob: float = 0.08  # else: near the camera, N(0, gaze_near_sd) per axis
    gaze_near_sd: float = 0.2
    # brows
    emphasis_brow_prob: float = 0.35  # per stressed syllable
    frowns_per_min: float = 2.0  # frowns and one-sided raises
    # emotions
    emotion_s: Range = (2.5, 8.0)
    neutral_prob: float = 0.3
    full_intensity_prob: float = 0.35  # else uniform in [0.3, 1]
    mixed_emotion_prob: float = 0.2  # a second emotion at 0.2-0.6 on top (the controls can mix them)
    emotion_fade_s: Range = (0.12, 0.3)  # logistic scale: 10-90 % of a cross-fade takes 4.4x
    # head
    yaw_deg: float = 35.0  # the pose box: |yaw|, |pitch|, |roll| never exceed these
    pitch_deg: float = 20.0
    roll_deg: float = 10.0
    head_sd_deg: tuple[float, float, float] = (10.0, 6.0, 3.0)  # held poses away from the edges
    pose_hold_s: Range = (1.0, 5.0)
    pose_fade_s: Range = (0.12, 0.3)
    pose_extreme_prob: float = 0.2  # a held pose with one axis at the edge of the box
    nod_prob: float = 0.3  # per stressed syllable
    gestures_per_min: float = 1.5  # nod / shake series
    translation_m: tuple[float, float, float] = (0.02, 0.015, 0.05)  # |x|, |y|, |z| bounds
    distance_s: Range = (2.0, 8.0)
    distance_extreme_prob: float = 0.25  # a held distance at ±translation_m[2]
    # coverage
    sweeps_per_min: float = 8.0
    sweep_hold_s: Range = (0.4, 1.2)
    micro_noise: float = 0.04  # sd of the smooth per-coefficient noise (rectified)


DEFAULT_CONFIG = LatentSamplerConfig()


@dataclass(frozen=True)
class SampledMotion:
    """A sampled sequence and what it was made of (labels for datasets and tests), T frames.

    latent: dyn [T, 52], pose [T, 6] (float32); emotion [T, 7] weights over EMOTIONS (intensity
    included; neutral segments carry 1 on "neutral"); viseme [T] index into VISEME_NAMES (SILENCE
    when not speaking); speaking [T] bool; euler_deg [T, 3] yaw, pitch, roll."""

    latent: MotionLatent
    emotion: np.ndarray
    viseme: np.ndarray
    speaking: np.ndarray
    euler_deg: np.ndarray

    def first(self, frames: int) -> "SampledMotion":
        """The first `frames` frames."""
        return SampledMotion(self.latent[:frames], self.emotion[:frames], self.viseme[:frames],
                             self.speaking[:frames], self.euler_deg[:frames])


_I = {n: i for i, n in enumerate(ARKIT_NAMES)}
_GAZE = np.array([i for i, n in enumerate(ARKIT_NAMES) if n.startswith("eyeLook")])
_MOUTH = np.array([n.startswith(("jaw", "mouth", "tongue")) or n == "cheekPuff" for n in ARKIT_NAMES])
# The sweep order is fixed (not per seed) so that sweep_offset means the same thing in every sequence.
SWEEP_ORDER: np.ndarray = np.random.default_rng(52).permutation(np.setdiff1d(np.arange(DYN_DIM), _GAZE))
_SWEEP_PEAK = 1.1  # over 1 so that clamping holds the top of a sweep at exactly 1
# What a sweep also drives (value, or -_SWEEP_PEAK to hold an antagonist off so the target reaches 1).
_OFF = -_SWEEP_PEAK
_SWEEP_PARTNERS: dict[str, dict[str, float]] = {
    "mouthClose": {"jawOpen": _SWEEP_PEAK, "cheekPuff": _OFF},  # lips sealed over a dropped jaw
    "tongueOut": {"jawOpen": 0.5, "cheekPuff": _OFF},
    "cheekPuff": {"jawOpen": _OFF, "mouthPressLeft": 0.3, "mouthPressRight": 0.3},
    "jawOpen": {"cheekPuff": _OFF},
    "jawLeft": {"jawRight": _OFF}, "jawRight": {"jawLeft": _OFF},
    "mouthLeft": {"mouthRight": _OFF}, "mouthRight": {"mouthLeft": _OFF},
    "mouthFunnel": {"jawOpen": 0.1},
    **{f"eyeWide{s}": {f"eyeBlink{s}": _OFF} for s in ("Left", "Right")},
    **{f"eyeBlink{s}": {f"eyeWide{s}": _OFF, f"cheekSquint{s}": 0.3} for s in ("Left", "Right")},
    **{f"mouthSmile{s}": {f"mouthFrown{s}": _OFF} for s in ("Left", "Right")},
    **{f"mouthFrown{s}": {f"mouthSmile{s}": _OFF} for s in ("Left", "Right")},
}
# Opposing pairs: both at once cancel (continuously: each loses the smaller of the two).
_ANTAGONISTS = [(_I[a], _I[b]) for a, b in (("jawLeft", "jawRight"), ("mouthLeft", "mouthRight"),
                                            ("mouthSmileLeft", "mouthFrownLeft"),
                                            ("mouthSmileRight", "mouthFrownRight"))]
_PAD_S = 2.0  # state tilings start this much before 0 and end after the last frame (no fade at the ends)
_LID_FOLLOW = 0.3  # the upper lids follow the eyes down (eyeBlink per unit eyeLookDown)
_SACCADE_S = 0.012  # logistic scale of a saccade: done within one frame


# ---------------------------------------------------------------------------------------------- primitives
def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 + 0.5 * np.tanh(0.5 * x)


def _soft_boxes(frames: int, fps: float, start: np.ndarray, end: np.ndarray, rise: np.ndarray,
                fall: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Σ_i values[i] · σ((t − start_i) / rise_i) · σ((end_i − t) / fall_i) at t = frame / fps.

    start, end, rise, fall [N] seconds; values [N, C] -> [frames, C]. A box is evaluated from 8 scales
    before its start to 8 after its end (σ(−8) < 4e-4), in groups of similar span so that one long box
    does not widen the window of every short one."""
    c = values.shape[1]
    out = np.zeros(frames * c)
    lo = np.maximum(np.floor((start - 8 * rise) * fps).astype(np.int64), 0)
    hi = np.minimum(np.ceil((end + 8 * fall) * fps).astype(np.int64), frames - 1)
    span = hi - lo + 1
    group = np.ceil(np.log2(np.maximum(span, 1)))
    for g in np.unique(group[span > 0]):
        sel = np.flatnonzero((span > 0) & (group == g))
        f = lo[sel, None] + np.arange(int(span[sel].max()))  # [n, K] frame indices
        t = f / fps
        w = _sigmoid((t - start[sel, None]) / rise[sel, None]) * _sigmoid((end[sel, None] - t) / fall[sel, None])
        w = np.where(f <= hi[sel, None], w, 0.0)
        idx = np.minimum(f, frames - 1)[:, :, None] * c + np.arange(c)  # [n, K, C] into out
        out += np.bincount(idx.ravel(), (w[:, :, None] * values[sel, None, :]).ravel(), minlength=frames * c)
    return out.reshape(frames, c)


def _blend(frames: int, fps: float, start: np.ndarray, end: np.ndarray, rise: np.ndarray, fall: np.ndarray,
           values: np.ndarray, dominance: np.ndarray) -> np.ndarray:
    """Dominance-weighted mean of segment values [N, C] -> [frames, C]. The segments must tile the
    sampled span (with margin) so the weights never vanish."""
    acc = _soft_boxes(frames, fps, start, end, rise, fall,
                      np.concatenate([values * dominance[:, None], dominance[:, None]], axis=1))
    return acc[:, :-1] / np.maximum(acc[:, -1:], 1e-9)


def _log_uniform(rng: np.random.Generator, r: Range, n: int | None = None) -> np.ndarray:
    return np.exp(rng.uniform(math.log(r[0]), math.log(r[1]), n))


def _tile(rng: np.random.Generator, t0: float, t1: float, durations: Range) -> tuple[np.ndarray, np.ndarray]:
    """Contiguous segments covering [t0, t1] with log-uniform durations: starts [N], ends [N]."""
    n = int(math.ceil((t1 - t0) / durations[0])) + 1
    edges = t0 + np.concatenate([[0.0], np.cumsum(_log_uniform(rng, durations, n))])
    m = int(np.searchsorted(edges, t1))  # edges[m] >= t1
    return edges[:m], edges[1:m + 1]


def _smooth_noise(rng: np.random.Generator, frames: int, fps: float, knot_s: float, sd: np.ndarray) -> np.ndarray:
    """Catmull-Rom interpolation of N(0, sd²) knots every knot_s seconds: sd [C] -> [frames, C]."""
    n = int(frames / fps / knot_s) + 4
    k = rng.normal(0.0, 1.0, (n, len(sd))) * sd
    u = np.arange(frames) / fps / knot_s + 1.0
    i = u.astype(np.int64)
    f = (u - i)[:, None]
    p0, p1, p2, p3 = k[i - 1], k[i], k[i + 1], k[i + 2]
    return 0.5 * (2 * p1 + (p2 - p0) * f + (2 * p0 - 5 * p1 + 4 * p2 - p3) * f ** 2
                  + (3 * p1 - p0 - 3 * p2 + p3) * f ** 3)


def _poisson_times(rng: np.random.Generator, duration: float, per_min: float) -> np.ndarray:
    return np.sort(rng.uniform(0.0, duration, rng.poisson(per_min * duration / 60.0)))


# ---------------------------------------------------------------------------------------------- rotations
def euler_to_axis_angle(euler_deg: np.ndarray) -> np.ndarray:
    """yaw, pitch, roll in degrees [..., 3] -> axis-angle [..., 3] of Ry(yaw) · Rx(pitch) · Rz(roll)."""
    y, p, r = np.moveaxis(np.radians(euler_deg), -1, 0)
    cy, sy, cp, sp, cr, sr = np.cos(y), np.sin(y), np.cos(p), np.sin(p), np.cos(r), np.sin(r)
    m = np.stack([np.stack([cy * cr + sy * sp * sr, sy * sp * cr - cy * sr, sy * cp], -1),
                  np.stack([cp * sr, cp * cr, -sp], -1),
                  np.stack([cy * sp * sr - sy * cr, sy * sr + cy * sp * cr, cy * cp], -1)], -2)
    angle = np.arccos(np.clip((np.trace(m, axis1=-2, axis2=-1) - 1.0) / 2.0, -1.0, 1.0))
    vee = np.stack([m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0], m[..., 1, 0] - m[..., 0, 1]], -1)
    # angle / (2 sin angle), with its limit 1/2 at zero (the head never turns near 180°)
    scale = np.where(angle < 1e-6, 0.5, angle / (2.0 * np.sin(np.maximum(angle, 1e-6))))
    return vee * scale[..., None]


def axis_angle_to_euler(aa: np.ndarray) -> np.ndarray:
    """Axis-angle [..., 3] -> yaw, pitch, roll in degrees [..., 3] (inverse of euler_to_axis_angle for
    |pitch| < 90°)."""
    theta = np.linalg.norm(aa, axis=-1, keepdims=True)
    k = aa / np.maximum(theta, 1e-12)
    kx, ky, kz = np.moveaxis(k, -1, 0)
    s, c = np.sin(theta[..., 0]), np.cos(theta[..., 0])
    v = 1.0 - c
    m02, m22 = kx * kz * v + ky * s, c + kz * kz * v
    m12, m10, m11 = ky * kz * v - kx * s, kx * ky * v + kz * s, c + ky * ky * v
    return np.degrees(np.stack([np.arctan2(m02, m22), np.arcsin(np.clip(-m12, -1.0, 1.0)), np.arctan2(m10, m11)], -1))


# ---------------------------------------------------------------------------------------------- layers
@dataclass
class _Speech:
    mouth: np.ndarray  # [T, 52] viseme blend
    viseme: np.ndarray  # [T] the viseme whose interval holds each frame
    envelope: np.ndarray  # [T] 0..1, ~1 inside phrases
    stress: np.ndarray  # [S] onset times (s) of stressed vowels


def _speech(rng: np.random.Generator, frames: int, cfg: LatentSamplerConfig) -> _Speech:
    """Phrases of syllables between pauses, as visemes blended with per-articulator dominance."""
    cons, cons_p = viseme_choices("consonant")
    vows, vow_p = viseme_choices("vowel")
    duration = frames / cfg.fps
    segments, phrases, stress = [], [], []  # segments: [k, 5] start, end, viseme, amplitude, jaw at rest
    t = -_PAD_S
    while t < duration + _PAD_S:
        pause = float(_log_uniform(rng, cfg.listen_s if rng.random() < cfg.listen_prob else cfg.pause_s))
        segments.append(np.array([[t, t + pause, SILENCE, 1.0, rng.uniform(0.0, 0.06)]]))  # lips shut or just apart
        t += pause
        rate = cfg.syllables_per_s * rng.uniform(0.85, 1.15)
        n = max(1, round(float(_log_uniform(rng, cfg.phrase_s)) * rate))
        # log-normal durations (sd 0.25 in log) whose mean, stressed ones lengthened by 25 %, is 1 / rate
        mean_log = math.log(1.0 / rate / (1.0 + 0.25 * cfg.stress_prob)) - 0.25 ** 2 / 2
        stressed = rng.random(n) < cfg.stress_prob
        syllable_s = np.clip(rng.lognormal(mean_log, 0.25, n) * np.where(stressed, 1.25, 1.0), 0.1, 0.5)  # [n]
        amp = rng.uniform(*cfg.phrase_amplitude) * np.where(stressed, 1.2, 1.0) * rng.uniform(0.9, 1.1, n)
        # a syllable is (onset consonant) vowel (coda consonant), the vowel taking the larger share
        share = np.stack([(rng.random(n) < 0.9) * 0.4, np.full(n, 0.6), (rng.random(n) < 0.3) * 0.3], 1)
        phone_s = (share / share.sum(1, keepdims=True) * syllable_s[:, None]).ravel()  # [3n]
        phone = np.stack([rng.choice(cons, n, p=cons_p), rng.choice(vows, n, p=vow_p),
                          rng.choice(cons, n, p=cons_p)], 1).ravel()
        edge = t + np.concatenate([[0.0], np.cumsum(phone_s)])
        keep = phone_s > 0
        segments.append(np.column_stack([edge[:-1], edge[1:], phone, np.repeat(amp, 3), np.zeros(3 * n)])[keep])
        stress.append(edge[:-1].reshape(n, 3)[stressed, 1])
        phrases.append((t, edge[-1]))
        t = float(edge[-1])
    seg = np.concatenate(segments)
    start, end, vid = seg[:, 0], seg[:, 1], seg[:, 2].astype(np.int64)
    jaw = _I["jawOpen"]
    values = viseme_targets()[vid] * seg[:, 3:4]
    values[:, jaw] += seg[:, 4]
    lip_dom = np.array([v.dominance for v in VISEMES])[vid]
    jaw_dom = np.array([v.jaw_dominance for v in VISEMES])[vid]
    spread = np.array([v.spread_s for v in VISEMES])[vid]
    # one pass for both articulators: lip-dominance-weighted values, their weight, the same for the jaw
    acc = _soft_boxes(frames, cfg.fps, start, end, spread, spread,
                      np.column_stack([values * lip_dom[:, None], lip_dom, values[:, jaw] * jaw_dom, jaw_dom]))
    mouth = acc[:, :DYN_DIM] / np.maximum(acc[:, DYN_DIM:DYN_DIM + 1], 1e-9)
    mouth[:, jaw] = acc[:, -2] / np.maximum(acc[:, -1], 1e-9)
    viseme = vid[np.searchsorted(start, np.arange(frames) / cfg.fps, side="right") - 1]
    ph = np.array(phrases)
    ramp = np.full(len(ph), 0.08)
    env = _soft_boxes(frames, cfg.fps, ph[:, 0], ph[:, 1], ramp, ramp, np.ones((len(ph), 1)))[:, 0]
    return _Speech(mouth, viseme, env, np.concatenate(stress))


def _mirror(name: str) -> str:
    return name[:-4] + "Right" if name.endswith("Left") else name[:-5] + "Left"


def _sweep_count(frames: int, cfg: LatentSamplerConfig) -> int:
    """Sweeps in a sequence: sweeps_per_min, and at least one however short the sequence."""
    return max(1, round(frames / cfg.fps / 60.0 * cfg.sweeps_per_min))


def _sweeps(rng: np.random.Generator, frames: int, cfg: LatentSamplerConfig,
            offset: int) -> tuple[np.ndarray, np.ndarray]:
    """Coverage sweeps [T, 52] (partners' holds may be negative: they cancel before clamping) and the
    speech gate [T] (~1 while a mouth sweep has the mouth)."""
    n = _sweep_count(frames, cfg)
    slot = frames / cfg.fps / n  # one sweep in the middle half of each slot: none falls off either end
    centre = slot * (np.arange(n) + 0.5 + rng.uniform(-0.25, 0.25, n))
    coef = SWEEP_ORDER[(offset + np.arange(n)) % len(SWEEP_ORDER)]
    values = np.zeros((n, DYN_DIM))
    for row, c in enumerate(coef):
        names = [ARKIT_NAMES[c]]
        # half the time both sides (jaw/mouth Left/Right are directions, not sides)
        if names[0].endswith(("Left", "Right")) and not names[0].startswith(("jaw", "mouthL", "mouthR")) \
                and rng.random() < 0.5:
            names.append(_mirror(names[0]))
        for name in names:
            for partner, v in _SWEEP_PARTNERS.get(name, {}).items():
                values[row, _I[partner]] = v
        values[row, [_I[name] for name in names]] = _SWEEP_PEAK
    hold = _log_uniform(rng, cfg.sweep_hold_s, n)
    ramp = rng.uniform(0.06, 0.15, n)
    peak = _sigmoid(hold / 2 / ramp) ** 2  # a box's value at its middle: scaled to 1 below
    boxes = _soft_boxes(frames, cfg.fps, centre - hold / 2, centre + hold / 2, ramp, ramp,
                        np.concatenate([values, _MOUTH[coef][:, None]], axis=1) / peak[:, None])
    return boxes[:, :-1], np.clip(boxes[:, -1], 0.0, 1.0)


def _emotions(rng: np.random.Generator, frames: int, cfg: LatentSamplerConfig) -> np.ndarray:
    """Emotion weights [T, 7] over EMOTIONS: held segments (one emotion, sometimes with a second one
    weaker) cross-faded."""
    start, end = _tile(rng, -_PAD_S, frames / cfg.fps + _PAD_S, cfg.emotion_s)
    n = len(start)
    label = np.where(rng.random(n) < cfg.neutral_prob, 0, rng.integers(1, len(EMOTIONS), n))
    level = np.where((rng.random(n) < cfg.full_intensity_prob) | (label == 0), 1.0, rng.uniform(0.3, 1.0, n))
    values = np.zeros((n, len(EMOTIONS)))
    mixed = np.flatnonzero((rng.random(n) < cfg.mixed_emotion_prob) & (label > 0))
    second = (label[mixed] - 1 + rng.integers(1, len(EMOTIONS) - 1, len(mixed))) % (len(EMOTIONS) - 1) + 1
    values[mixed, second] = rng.uniform(0.2, 0.6, len(mixed))
    values[np.arange(n), label] = level
    fade = _log_uniform(rng, cfg.emotion_fade_s, n)
    return _blend(frames, cfg.fps, start, end, fade, fade, values, np.ones(n))


def _brows(rng: np.random.Generator, frames: int, cfg: LatentSamplerConfig, stress: np.ndarray) -> np.ndarray:
    """Brow raises on emphasis, frowns and one-sided raises: [T, 52]."""
    inner, out_l, out_r, down_l, down_r = (_I[n] for n in ("browInnerUp", "browOuterUpLeft", "browOuterUpRight",
                                                           "browDownLeft", "browDownRight"))
    t_raise = stress[rng.random(len(stress)) < cfg.emphasis_brow_prob]
    n = len(t_raise)
    raise_v = np.zeros((n, DYN_DIM))
    raise_v[:, inner] = rng.uniform(0.25, 0.7, n)
    raise_v[:, [out_l, out_r]] = raise_v[:, [inner]] * rng.uniform(0.5, 1.0, (n, 2))
    t_frown = _poisson_times(rng, frames / cfg.fps, cfg.frowns_per_min)
    m = len(t_frown)
    frown_v = np.zeros((m, DYN_DIM))
    frown_v[:, [down_l, down_r]] = rng.uniform(0.3, 0.8, (m, 1)) * rng.uniform(0.9, 1.1, (m, 2))
    one_sided = np.flatnonzero(rng.random(m) < 0.3)  # the sceptical look: one brow up, the other down a little
    left = rng.random(len(one_sided)) < 0.5
    frown_v[one_sided] = 0.0
    frown_v[one_sided, np.where(left, out_l, out_r)] = rng.uniform(0.5, 0.9, len(one_sided))
    frown_v[one_sided, np.where(left, down_r, down_l)] = 0.2
    start = np.concatenate([t_raise - 0.03, t_frown])
    end = np.concatenate([t_raise + _log_uniform(rng, (0.25, 0.6), n), t_frown + _log_uniform(rng, (0.6, 2.5), m)])
    rise = np.concatenate([np.full(n, 0.04), rng.uniform(0.1, 0.2, m)])
    fall = np.concatenate([np.full(n, 0.1), rng.uniform(0.1, 0.2, m)])
    return _soft_boxes(frames, cfg.fps, start, end, rise, fall, np.concatenate([raise_v, frown_v]))


def _blinks(rng: np.random.Generator, frames: int, cfg: LatentSamplerConfig) -> np.ndarray:
    """Blinks [T, 2] (left, right eyeBlink before clamping)."""
    duration, refractory = frames / cfg.fps, 0.5
    rate = cfg.blinks_per_min / 60.0 / (1.0 + cfg.double_blink_prob)  # first blinks per second
    n = int(2 * duration * rate) + 20
    gaps = refractory + rng.exponential(max(1.0 / rate - refractory, 1e-3), n)
    t = np.cumsum(gaps) - rng.uniform(0.0, 1.0 / rate)
    t = t[t < duration]
    d = _log_uniform(rng, cfg.blink_s, len(t))
    second = np.flatnonzero(rng.random(len(t)) < cfg.double_blink_prob)
    t = np.concatenate([t, t[second] + d[second] + rng.uniform(0.08, 0.25, len(second))])
    d = np.concatenate([d, _log_uniform(rng, (0.1, 0.2), len(second))])
    # closing takes 30 % of a blink, closed 10 %, opening 60 %; the peak over 1 holds the lid shut
    peak = np.full((len(t), 2), 1.1)
    peak[np.arange(len(t)), rng.integers(0, 2, len(t))] *= rng.uniform(0.93, 1.0, len(t))
    return _soft_boxes(frames, cfg.fps, t + 0.15 * d, t + 0.7 * d, 0.05 * d, 0.1 * d, peak)


def _gaze(rng: np.random.Generator, frames: int, cfg: LatentSamplerConfig, euler_deg: np.ndarray) -> np.ndarray:
    """eyeLook* (both eyes together) and the lids that follow them down: [T, 52]."""
    start, end = _tile(rng, -_PAD_S, frames / cfg.fps + _PAD_S, cfg.fixation_s)
    n = len(start)
    p = [cfg.gaze_camera_prob, cfg.gaze_averted_prob, cfg.gaze_extreme_prob]
    kind = rng.choice(4, n, p=[*p, 1.0 - sum(p)])  # camera, averted, extreme, near
    target = rng.normal(0.0, cfg.gaze_near_sd, (n, 2))  # (x: towards +X, y: up)
    cam = kind == 0
    target[cam] = rng.normal(0.0, 0.03, (int(cam.sum()), 2))
    avert = np.flatnonzero(kind == 1)  # aside and often up, as when thinking
    target[avert, 0] = rng.choice([-1.0, 1.0], len(avert)) * rng.uniform(0.4, 0.85, len(avert))
    target[avert, 1] = rng.uniform(-0.5, 0.8, len(avert))
    ext = np.flatnonzero(kind == 2)  # on the border of the range, overshooting so clamping holds it there
    ang = rng.uniform(0.0, 2 * np.pi, len(ext))
    d = np.stack([np.cos(ang), np.sin(ang)], 1)
    target[ext] = 1.05 * d / np.abs(d).max(1, keepdims=True)
    s = np.full(n, _SACCADE_S)
    g = _blend(frames, cfg.fps, start, end, s, s, np.column_stack([target, cam]), np.ones(n))
    # at the camera the eyes counter-rotate against the head (vestibulo-ocular reflex)
    yaw, pitch = np.radians(euler_deg[:, 0]), np.radians(euler_deg[:, 1])
    vor = np.stack([-yaw / EYE_YAW_RAD, pitch / np.where(pitch > 0, EYE_UP_RAD, EYE_DOWN_RAD)], 1)
    drift = _smooth_noise(rng, frames, cfg.fps, 0.3, np.array([0.015, 0.015]))
    gx, gy = np.clip(g[:, :2] + g[:, 2:] * vor + drift, -1.0, 1.0).T
    out = np.zeros((frames, DYN_DIM))
    plus_x, minus_x, up, down = np.maximum(gx, 0), np.maximum(-gx, 0), np.maximum(gy, 0), np.maximum(-gy, 0)
    # towards +X (the subject's left) is out for the left eye and in for the right one (skinning.eye_motion)
    for name, v in (("eyeLookOutLeft", plus_x), ("eyeLookInRight", plus_x), ("eyeLookInLeft", minus_x),
                    ("eyeLookOutRight", minus_x), ("eyeLookUpLeft", up), ("eyeLookUpRight", up),
                    ("eyeLookDownLeft", down), ("eyeLookDownRight", down)):
        out[:, _I[name]] = v
    out[:, [_I["eyeBlinkLeft"], _I["eyeBlinkRight"]]] = _LID_FOLLOW * down[:, None]
    return out


def _head(rng: np.random.Generator, frames: int, cfg: LatentSamplerConfig,
          speech: _Speech) -> tuple[np.ndarray, np.ndarray]:
    """Head rotation as yaw, pitch, roll in degrees [T, 3] and translation in metres [T, 3]."""
    fps, duration = cfg.fps, frames / cfg.fps
    t = np.arange(frames) / fps
    lim = np.array([cfg.yaw_deg, cfg.pitch_deg, cfg.roll_deg])
    start, end = _tile(rng, -_PAD_S, duration + _PAD_S, cfg.pose_hold_s)
    n = len(start)
    target = np.clip(rng.normal(0.0, 1.0, (n, 3)) * np.array(cfg.head_sd_deg), -lim, lim)
    ext = np.flatnonzero(rng.random(n) < cfg.pose_extreme_prob)
    axis = rng.integers(0, 3, len(ext))
    target[ext] = rng.uniform(-1.0, 1.0, (len(ext), 3)) * lim
    target[ext, axis] = rng.choice([-1.25, 1.25], len(ext)) * lim[axis]  # overshoot: clamping holds the edge
    fade = _log_uniform(rng, cfg.pose_fade_s, n)
    euler = _blend(frames, fps, start, end, fade, fade, target, np.ones(n))
    euler += _smooth_noise(rng, frames, fps, 0.8, np.array([2.0, 1.5, 1.0])) * (0.6 + 0.4 * speech.envelope[:, None])
    nods = speech.stress[rng.random(len(speech.stress)) < cfg.nod_prob]  # a short dip of the chin
    k = len(nods)
    euler[:, 1] += _soft_boxes(frames, fps, nods, nods + 0.12, np.full(k, 0.05), np.full(k, 0.08),
                               rng.uniform(2.0, 6.0, (k, 1)))[:, 0]
    for t0 in _poisson_times(rng, duration, cfg.gestures_per_min):  # "yes" / "no" series
        freq, amp = rng.uniform(1.5, 2.5), rng.uniform(3.0, 8.0)
        gesture_axis = int(rng.integers(0, 2))  # 0: yaw (shake), 1: pitch (nod)
        env = _soft_boxes(frames, fps, np.array([t0]), np.array([t0 + rng.uniform(1.5, 3.0) / freq]),
                          np.array([0.08]), np.array([0.08]), np.array([[amp]]))[:, 0]
        euler[:, gesture_axis] += env * np.sin(2 * np.pi * freq * (t - t0))
    breath = np.sin(2 * np.pi * rng.uniform(0.2, 0.3) * t + rng.uniform(0.0, 2 * np.pi))
    euler[:, 1] += 0.4 * breath
    euler = np.clip(euler, -lim, lim)

    t_lim = np.array(cfg.translation_m)
    trans = np.zeros((frames, 3))
    trans[:, :2] = _smooth_noise(rng, frames, fps, 1.5, np.array([0.006, 0.004]))
    trans[:, 1] += 0.001 * breath
    start, end = _tile(rng, -_PAD_S, duration + _PAD_S, cfg.distance_s)
    m = len(start)
    z = rng.normal(0.0, 0.3 * t_lim[2], m)  # leaning in and out
    ext = rng.random(m) < cfg.distance_extreme_prob
    z[ext] = rng.choice([-1.25, 1.25], int(ext.sum())) * t_lim[2]  # overshoot: clamping holds the edge
    fade = _log_uniform(rng, (0.3, 0.6), m)
    trans[:, 2] = _blend(frames, fps, start, end, fade, fade, z[:, None], np.ones(m))[:, 0]
    return euler, np.clip(trans, -t_lim, t_lim)


def _make_plausible(dyn: np.ndarray) -> np.ndarray:
    """Clamp dyn [T, 52] to [0, 1] and remove what a face cannot do at once (in place)."""
    np.clip(dyn, 0.0, 1.0, out=dyn)
    for a, b in _ANTAGONISTS:
        both = np.minimum(dyn[:, a], dyn[:, b])
        dyn[:, a] -= both
        dyn[:, b] -= both
    for side in ("Left", "Right"):  # a lid cannot open wide while it closes
        wide, blink = _I[f"eyeWide{side}"], _I[f"eyeBlink{side}"]
        dyn[:, wide] = np.minimum(dyn[:, wide], 1.0 - dyn[:, blink])
    jaw, close, puff, tongue = _I["jawOpen"], _I["mouthClose"], _I["cheekPuff"], _I["tongueOut"]
    dyn[:, jaw] = np.minimum(dyn[:, jaw], 1.0 - 0.85 * dyn[:, puff])  # cheeks puff behind sealed lips
    dyn[:, close] = np.maximum(dyn[:, close], dyn[:, puff] * dyn[:, jaw])
    dyn[:, jaw] = np.maximum(dyn[:, jaw], 0.5 * dyn[:, tongue])  # the tongue comes out through an open jaw
    # mouthClose closes the lips over an open jaw; beyond jawOpen it would push them through each other
    dyn[:, close] = np.minimum(dyn[:, close], dyn[:, jaw])
    return dyn


# ---------------------------------------------------------------------------------------------- API
def _sample(frames: int, rng: np.random.Generator, cfg: LatentSamplerConfig,
            sweep_offset: int | None) -> SampledMotion:
    if frames <= 0:
        raise ValueError(f"frames must be positive, got {frames}")
    default_offset = int(rng.integers(len(SWEEP_ORDER)))  # drawn always: the offset never shifts other draws
    speech = _speech(rng, frames, cfg)
    sweep, gate = _sweeps(rng, frames, cfg, default_offset if sweep_offset is None else sweep_offset)
    emotion = _emotions(rng, frames, cfg)
    euler, translation = _head(rng, frames, cfg, speech)
    noise = np.maximum(_smooth_noise(rng, frames, cfg.fps, 0.4, np.full(DYN_DIM, cfg.micro_noise)), 0.0)
    noise[:, _GAZE] = 0.0
    dyn = (speech.mouth * (1.0 - gate[:, None]) + emotion @ emotion_offsets() + _brows(rng, frames, cfg, speech.stress)
           + _gaze(rng, frames, cfg, euler) + noise + sweep)
    dyn[:, [_I["eyeBlinkLeft"], _I["eyeBlinkRight"]]] += _blinks(rng, frames, cfg)
    _make_plausible(dyn)
    speaking = (speech.envelope > 0.5) & (gate < 0.5)
    pose = np.concatenate([euler_to_axis_angle(euler), translation], axis=1)
    latent = MotionLatent(torch.from_numpy(dyn.astype(np.float32)), torch.from_numpy(pose.astype(np.float32)))
    return SampledMotion(latent, emotion.astype(np.float32), np.where(speaking, speech.viseme, SILENCE),
                         speaking, euler)


def sample_motion(frames: int, seed: int, config: LatentSamplerConfig = DEFAULT_CONFIG,
                  sweep_offset: int | None = None) -> SampledMotion:
    """A sequence of `frames` latents at config.fps and its labels; the same seed gives the same
    sequence. sweep_offset: where in SWEEP_ORDER this sequence's coverage sweeps start (default: drawn
    from the seed)."""
    return _sample(frames, np.random.default_rng(np.random.SeedSequence(seed)), config, sweep_offset)


def sample_sequence(frames: int, seed: int, config: LatentSamplerConfig = DEFAULT_CONFIG) -> MotionLatent:
    """dyn [frames, 52], pose [frames, 6] at config.fps (see sample_motion)."""
    return sample_motion(frames, seed, config).latent


def dataset_motion(index: int, frames: int, seed: int, config: LatentSamplerConfig = DEFAULT_CONFIG,
                   held_out: bool = False) -> SampledMotion:
    """Sequence `index` of a dataset, computable on its own (resumable writing). Its seed is (seed,
    split, index) in a space of its own, so no held-out sequence is a training sequence and neither is
    any sample_motion(seed) sequence. The sweeps continue the order from one index to the next."""
    offset = index * _sweep_count(frames, config) + (len(SWEEP_ORDER) // 2 if held_out else 0)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(int(held_out), index)))
    return _sample(frames, rng, config, offset)


def sample_dataset(n_sequences: int, frames_per_sequence: int, seed: int,
                   config: LatentSamplerConfig = DEFAULT_CONFIG, held_out: bool = False) -> list[MotionLatent]:
    """n_sequences independent sequences (dataset_motion(0..n-1)); held_out=True gives the held-out split."""
    return [dataset_motion(i, frames_per_sequence, seed, config, held_out).latent for i in range(n_sequences)]


def coverage_report(latents: MotionLatent | Sequence[MotionLatent], active: float = 0.1) -> dict:
    """What a set of sequences covers: {"frames": N, "coefficients": {name: {"min", "max", "mean",
    "active" (fraction of frames above `active`)}}, "pose": {"yaw_deg" | "pitch_deg" | "roll_deg" |
    "x_m" | "y_m" | "z_m": (min, max)}}."""
    items = [latents] if isinstance(latents, MotionLatent) else list(latents)
    dyn = torch.cat([m.dyn.reshape(-1, DYN_DIM) for m in items]).double().numpy()
    pose = torch.cat([m.pose.reshape(-1, 6) for m in items]).double().numpy()
    euler = axis_angle_to_euler(pose[:, :3])
    coeffs = {name: {"min": float(dyn[:, i].min()), "max": float(dyn[:, i].max()), "mean": float(dyn[:, i].mean()),
                     "active": float((dyn[:, i] > active).mean())} for i, name in enumerate(ARKIT_NAMES)}
    axes = {"yaw_deg": euler[:, 0], "pitch_deg": euler[:, 1], "roll_deg": euler[:, 2],
            "x_m": pose[:, 3], "y_m": pose[:, 4], "z_m": pose[:, 5]}
    return {"frames": len(dyn), "coefficients": coeffs,
            "pose": {k: (float(v.min()), float(v.max())) for k, v in axes.items()}}


# ---------------------------------------------------------------------------------------------- report, plot, CLI
def format_report(report: dict) -> str:
    """coverage_report as a table."""
    lines = [f"{report['frames']} frames", f"{'coefficient':<20} {'min':>6} {'max':>6} {'mean':>6} {'active':>7}"]
    lines += [f"{name:<20} {c['min']:6.3f} {c['max']:6.3f} {c['mean']:6.3f} {100 * c['active']:6.1f}%"
              for name, c in report["coefficients"].items()]
    lines.append(f"{'pose':<20} {'min':>8} {'max':>8}")
    lines += [f"{axis:<20} {lo:8.3f} {hi:8.3f}" for axis, (lo, hi) in report["pose"].items()]
    return "\n".join(lines)


_PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
            (227, 119, 194)]
_VIRIDIS = np.array([(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)], np.float64)


def plot_motion(motion: SampledMotion, path: Path | str, fps: float = LATENT_FPS) -> None:
    """A picture of a sequence (PNG, drawn with Pillow): every coefficient as a heat map, then the mouth
    (speech shaded), eyes, brows, emotions and head pose as curves over time."""
    from PIL import Image, ImageDraw, ImageFont

    dyn = motion.latent.dyn.numpy()
    t_count = len(dyn)
    left, width, row_h = 170, 1600, 9
    font = ImageFont.load_default(size=11)
    g = lambda n: dyn[:, _I[n]]  # noqa: E731
    panels: list[tuple[str, tuple[float, float], list[tuple[str, np.ndarray]]]] = [
        ("mouth (speech shaded)", (0.0, 1.0),
         [(n, g(n)) for n in ("jawOpen", "mouthClose", "mouthPucker", "mouthFunnel", "mouthStretchLeft",
                              "mouthPressLeft")]),
        ("eyes", (-1.0, 1.0), [("eyeBlinkLeft", g("eyeBlinkLeft")),
                               ("gaze x (+X)", g("eyeLookOutLeft") - g("eyeLookInLeft")),
                               ("gaze y (up)", g("eyeLookUpLeft") - g("eyeLookDownLeft"))]),
        ("brows, cheeks, nose", (0.0, 1.0), [(n, g(n)) for n in ("browInnerUp", "browDownLeft", "browOuterUpLeft",
                                                               "cheekSquintLeft", "noseSneerLeft")]),
        ("emotion", (0.0, 1.0), [(e, motion.emotion[:, i]) for i, e in enumerate(EMOTIONS) if e != "neutral"]),
        ("head (degrees)", (-35.0, 35.0), [(a, motion.euler_deg[:, i]) for i, a in enumerate(("yaw", "pitch", "roll"))]
         + [("z (cm, x5)", motion.latent.pose[:, 5].numpy() * 500.0)]),
    ]
    heat_h, panel_h, gap = DYN_DIM * row_h, 150, 24
    img = Image.new("RGB", (left + width + 20, heat_h + len(panels) * (panel_h + gap) + 50), "white")
    draw = ImageDraw.Draw(img)
    x_of = lambda f: left + f * width / max(t_count - 1, 1)  # noqa: E731
    # heat map: one row per coefficient, viridis 0..1
    v = np.clip(dyn.T, 0.0, 1.0) * (len(_VIRIDIS) - 1)  # [52, T]
    lo = np.minimum(v.astype(np.int64), len(_VIRIDIS) - 2)
    rgb = _VIRIDIS[lo] + (v - lo)[..., None] * (_VIRIDIS[lo + 1] - _VIRIDIS[lo])
    heat = Image.fromarray(rgb.astype(np.uint8)).resize((width, heat_h), Image.NEAREST)
    img.paste(heat, (left, 0))
    for i, name in enumerate(ARKIT_NAMES):
        draw.text((4, i * row_h - 2), name, fill="black", font=ImageFont.load_default(size=9))
    y0 = heat_h + gap
    for title, (lo_v, hi_v), curves in panels:
        draw.rectangle([left, y0, left + width, y0 + panel_h], outline=(160, 160, 160))
        if title.startswith("mouth"):
            for f in np.flatnonzero(motion.speaking):
                draw.line([(x_of(f), y0 + 1), (x_of(f), y0 + panel_h - 1)], fill=(232, 232, 232), width=2)
        y_of = lambda val: y0 + panel_h * (hi_v - np.clip(val, lo_v, hi_v)) / (hi_v - lo_v)  # noqa: E731
        if lo_v < 0:
            draw.line([(left, y_of(0.0)), (left + width, y_of(0.0))], fill=(200, 200, 200))
        draw.text((4, y0), title, fill="black", font=font)
        draw.text((4, y0 + 14), f"{lo_v:g} .. {hi_v:g}", fill=(90, 90, 90), font=font)
        for k, (name, curve) in enumerate(curves):
            color = _PALETTE[k % len(_PALETTE)]
            draw.line([(x_of(f), y_of(c)) for f, c in enumerate(curve)], fill=color, width=2)
            draw.text((4, y0 + 30 + 14 * k), name, fill=color, font=font)
        y0 += panel_h + gap
    for sec in range(int(t_count / fps) + 1):
        x = x_of(sec * fps)
        draw.line([(x, y0 - gap), (x, y0 - gap + 5)], fill="black")
        if sec % 2 == 0:
            draw.text((x - 4, y0 - gap + 7), f"{sec}s", fill="black", font=font)
    img.save(path)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m engine.teacher.latents",
                                     description="Sample motion latents and print what they cover.")
    parser.add_argument("--frames", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", type=Path, help="also draw the first --plot-seconds of the sample to this PNG")
    parser.add_argument("--plot-seconds", type=float, default=30.0)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    motion = sample_motion(args.frames, args.seed)
    elapsed = time.perf_counter() - start
    print(format_report(coverage_report(motion.latent)))
    emotion_max = ", ".join(f"{e} {w:.2f}" for e, w in zip(EMOTIONS, motion.emotion.max(0)))
    print(f"emotion peaks: {emotion_max}")
    print(f"speaking {100 * motion.speaking.mean():.0f} % of frames; "
          f"sampled {args.frames} frames in {1000 * elapsed:.0f} ms")
    if args.plot:
        plot_motion(motion.first(round(args.plot_seconds * LATENT_FPS)), args.plot)
        print(f"wrote {args.plot}")


if __name__ == "__main__":
    main()
