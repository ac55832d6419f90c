"""Visemes: the mouth shapes of speech as ARKit coefficient targets, with coarticulation weights.

The 15 classes are the usual viseme set of real-time lip sync (silence, 9 consonant and 5 vowel
groups). A target is the shape a phone reaches when said on its own at normal effort. Coarticulation
follows Cohen & Massaro's dominance model: every phone pulls the mouth towards its target with a
`dominance` that falls off over `spread_s` around its interval, and the mouth is the dominance-weighted
mean of the targets. Dominance is per articulator (Cohen & Massaro weigh each facial parameter apart):
for the lips, closures (PP), lip-teeth contact (FF) and rounding (OU, CH) dominate, while tongue
consonants (DD, KK, NN, SS) barely care and take the lip shape of the vowels around them, which is where
anticipation (rounding before "oo") comes from; for the jaw, consonants dominate (the jaw rises for
nearly every consonant, most for S and the closures), which makes the jaw cycle at the syllable rate.

Shapes respect the rig: mouthClose closes the lips *over an open jaw* (it never exceeds jawOpen), and
tongueOut needs the jaw open.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from engine.types import ARKIT_NAMES, DYN_DIM


@dataclass(frozen=True)
class Viseme:
    name: str
    phones: str  # ARPAbet phones it stands for (documentation, and the later phoneme -> viseme map)
    kind: str  # "silence" | "consonant" | "vowel"
    targets: Mapping[str, float]  # ARKit name -> value; unnamed coefficients are 0
    dominance: float  # how strongly it holds its lip shape against its neighbours
    jaw_dominance: float  # the same for jawOpen: tongue consonants raise the jaw though the lips yield
    spread_s: float  # logistic scale (s) of its influence beyond its interval
    frequency: float  # relative frequency within its kind in running English speech (approximate)


def both_sides(stem: str, value: float) -> dict[str, float]:
    """{stemLeft: value, stemRight: value}."""
    return {f"{stem}Left": value, f"{stem}Right": value}


VISEMES: tuple[Viseme, ...] = (
    Viseme("sil", "-", "silence", {}, 0.6, 0.6, 0.06, 0.0),
    Viseme("PP", "P B M", "consonant",
           {"jawOpen": 0.04, "mouthClose": 0.04, **both_sides("mouthPress", 0.45), "mouthRollLower": 0.12,
            "mouthRollUpper": 0.08}, 4.0, 3.0, 0.018, 0.14),
    Viseme("FF", "F V", "consonant",
           {"jawOpen": 0.04, "mouthRollLower": 0.55, **both_sides("mouthUpperUp", 0.25), "mouthShrugUpper": 0.1},
           2.5, 2.0, 0.02, 0.08),
    Viseme("TH", "TH DH", "consonant",
           {"jawOpen": 0.12, "tongueOut": 0.3, **both_sides("mouthLowerDown", 0.12),
            **both_sides("mouthStretch", 0.08)}, 1.2, 1.5, 0.02, 0.06),
    Viseme("DD", "T D L", "consonant",
           {"jawOpen": 0.06, **both_sides("mouthStretch", 0.1), **both_sides("mouthLowerDown", 0.08)},
           0.35, 1.5, 0.022, 0.2),
    Viseme("KK", "K G NG", "consonant",
           {"jawOpen": 0.1, **both_sides("mouthStretch", 0.12)}, 0.3, 1.5, 0.025, 0.12),
    Viseme("CH", "CH JH SH ZH", "consonant",
           {"jawOpen": 0.06, "mouthFunnel": 0.55, "mouthPucker": 0.25, **both_sides("mouthUpperUp", 0.18),
            **both_sides("mouthLowerDown", 0.2)}, 2.0, 2.0, 0.025, 0.06),
    Viseme("SS", "S Z", "consonant",
           {"jawOpen": 0.03, **both_sides("mouthStretch", 0.25), **both_sides("mouthSmile", 0.1),
            **both_sides("mouthUpperUp", 0.1), **both_sides("mouthLowerDown", 0.12)}, 0.6, 3.0, 0.02, 0.14),
    Viseme("NN", "N", "consonant",
           {"jawOpen": 0.05, **both_sides("mouthStretch", 0.05)}, 0.3, 1.5, 0.022, 0.13),
    Viseme("RR", "R W ER", "consonant",
           {"jawOpen": 0.08, "mouthFunnel": 0.3, "mouthPucker": 0.35}, 1.5, 1.5, 0.03, 0.07),
    Viseme("AA", "AA AH AO AY AW", "vowel",
           {"jawOpen": 0.65, **both_sides("mouthLowerDown", 0.3), **both_sides("mouthUpperUp", 0.08),
            **both_sides("mouthStretch", 0.1)}, 1.0, 1.0, 0.04, 0.24),
    Viseme("EH", "EH AE EY", "vowel",
           {"jawOpen": 0.42, **both_sides("mouthStretch", 0.3), **both_sides("mouthLowerDown", 0.25),
            **both_sides("mouthSmile", 0.1)}, 1.0, 1.0, 0.04, 0.2),
    Viseme("IH", "IH IY", "vowel",
           {"jawOpen": 0.26, **both_sides("mouthStretch", 0.35), **both_sides("mouthSmile", 0.3),
            **both_sides("mouthUpperUp", 0.1), **both_sides("mouthLowerDown", 0.15)}, 1.0, 1.0, 0.04, 0.26),
    Viseme("OH", "OW OY", "vowel",
           {"jawOpen": 0.5, "mouthFunnel": 0.5, "mouthPucker": 0.2}, 1.2, 1.2, 0.045, 0.14),
    Viseme("OU", "UW UH", "vowel",
           {"jawOpen": 0.22, "mouthPucker": 0.75, "mouthFunnel": 0.35}, 1.5, 1.5, 0.045, 0.16),
)
VISEME_NAMES: tuple[str, ...] = tuple(v.name for v in VISEMES)
SILENCE = 0


def viseme_targets() -> np.ndarray:
    """Targets [15, 52] in VISEMES x ARKIT_NAMES order."""
    out = np.zeros((len(VISEMES), DYN_DIM))
    for i, v in enumerate(VISEMES):
        for name, value in v.targets.items():
            out[i, ARKIT_NAMES.index(name)] = value
    return out


def viseme_choices(kind: str) -> tuple[np.ndarray, np.ndarray]:
    """The visemes of one kind: indices [K] into VISEMES and their probabilities [K]."""
    ids = np.array([i for i, v in enumerate(VISEMES) if v.kind == kind])
    freq = np.array([VISEMES[i].frequency for i in ids])
    return ids, freq / freq.sum()
