"""The identity shape basis: smooth spatial deformation fields authored by hand.

Each mode is a displacement field over space, evaluated at every rig vertex and scaled so its largest
displacement is the mode's sigma (metres, a rough population standard deviation): coefficients have a
N(0, 1) prior. The eyeballs take the mean of their field so they stay spheres. Symmetric modes are symmetrised and asymmetric ones
antisymmetrised with the rig's mirror map, so symmetric modes keep a symmetric head symmetric.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

Field = Callable[[np.ndarray], np.ndarray]  # points [N, 3] -> displacements [N, 3]
MIRROR = np.array([-1.0, 1.0, 1.0])


def bump(p: np.ndarray, centre, radii) -> np.ndarray:
    """Smooth compact weight [N]: 1 at centre, 0 beyond the ellipsoid radii, C2 in between."""
    r2 = (((p - np.asarray(centre)) / np.asarray(radii)) ** 2).sum(1)
    return np.clip(1.0 - r2, 0.0, 1.0) ** 3


def _both(centre) -> list[tuple[float, float, float]]:
    x, y, z = centre
    return [(x, y, z), (-x, y, z)]


def _modes(anchor: dict[str, np.ndarray]) -> list[tuple[str, bool, float, Field]]:
    """(name, symmetric, sigma in metres, field: only its shape matters) for every mode; anchor holds
    named reference points (metres)."""
    eye_l, nose, chin, mouth = anchor["eye_left"], anchor["nose_tip"], anchor["chin"], anchor["mouth"]
    brow, cheek_l, jaw_l, ear_l = anchor["brow"], anchor["cheek_left"], anchor["jaw_left"], anchor["ear_left"]
    head = anchor["head_centre"]
    x_hat, y_hat, z_hat = np.eye(3)

    def scale_about(centre, radii, axis: np.ndarray, amount: float) -> Field:
        return lambda p: (amount * bump(p, centre, radii) * ((p - centre) @ axis))[:, None] * axis

    def push(centre, radii, d) -> Field:
        return lambda p: bump(p, centre, radii)[:, None] * np.asarray(d)

    def pair(centre, radii, d) -> Field:  # the same push on both sides, mirrored
        return lambda p: sum(bump(p, c, radii)[:, None] * (np.asarray(d) * (MIRROR if c[0] < 0 else 1.0))
                             for c in _both(centre))

    big = (0.16, 0.22, 0.2)
    face_box = (0.075, 0.1, 0.09)
    face_c = (0.0, -0.03, 0.02)
    return [
        ("head_width", True, 0.0035, scale_about(head, big, x_hat, 0.05)),
        ("head_height", True, 0.0040, scale_about(head + np.array([0, -0.05, 0]), (0.2, 0.2, 0.22), y_hat, 0.04)),
        ("head_depth", True, 0.0050, push(head + np.array([0, 0.02, -0.1]), (0.12, 0.14, 0.11), -0.006 * z_hat)),
        ("face_width", True, 0.0030, scale_about(np.array(face_c), face_box, x_hat, 0.06)),
        ("face_length", True, 0.0040, push(np.array([0, -0.1, 0.0]), (0.07, 0.07, 0.09), -0.005 * y_hat)),
        ("jaw_width", True, 0.0040, pair(jaw_l, (0.035, 0.035, 0.04), 0.004 * x_hat)),
        ("chin_length", True, 0.0035, push(chin, (0.035, 0.03, 0.04), -0.004 * y_hat)),
        ("chin_protrusion", True, 0.0035, push(chin, (0.035, 0.03, 0.04), 0.004 * z_hat)),
        ("nose_length", True, 0.0030, push(nose + np.array([0, -0.004, 0]), (0.02, 0.022, 0.03), -0.003 * y_hat)),
        ("nose_width", True, 0.0020, scale_about(nose + np.array([0, 0.004, -0.012]), (0.03, 0.018, 0.025), x_hat, 0.25)),
        ("nose_projection", True, 0.0030, push(nose, (0.02, 0.03, 0.03), 0.003 * z_hat)),
        ("nose_bridge", True, 0.0020, push(anchor["nose_bridge"], (0.012, 0.02, 0.02), 0.0025 * z_hat)),
        ("cheek_fullness", True, 0.0035, pair(cheek_l, (0.025, 0.03, 0.03), np.array([0.0035, 0.0, 0.002]))),
        ("cheekbones", True, 0.0025, pair(cheek_l + np.array([0.008, 0.018, -0.01]), (0.022, 0.015, 0.025), np.array([0.003, 0.0, 0.002]))),
        ("brow_ridge", True, 0.0025, push(brow, (0.06, 0.015, 0.03), 0.003 * z_hat)),
        ("eye_spacing", True, 0.0015, pair(eye_l, (0.02, 0.02, 0.03), 0.002 * x_hat)),
        ("eye_size", True, 0.0012, lambda p: sum(scale_about(np.array(c), (0.024, 0.02, 0.03), y_hat, 0.3)(p)
                                         for c in _both(eye_l))),
        ("eye_height", True, 0.0020, pair(eye_l, (0.03, 0.022, 0.04), 0.0025 * y_hat)),
        ("lip_fullness", True, 0.0020, push(mouth, (0.03, 0.014, 0.03), 0.0022 * z_hat)),
        ("mouth_width", True, 0.0025, scale_about(mouth, (0.045, 0.02, 0.04), x_hat, 0.1)),
        ("upper_lip_height", True, 0.0025, push(mouth + np.array([0, -0.008, 0]), (0.05, 0.035, 0.05), -0.003 * y_hat)),
        ("forehead_slope", True, 0.0040, push(np.array([0.0, 0.06, 0.0]), (0.09, 0.06, 0.06), -0.005 * z_hat)),
        ("neck_thickness", True, 0.0040, lambda p: sum(scale_about(np.array([0.0, -0.18, -0.074]), (0.12, 0.09, 0.12), ax, 0.08)(p)
                                               for ax in (x_hat, z_hat))),
        ("ear_size", True, 0.0030, lambda p: sum(scale_about(np.array(c), (0.03, 0.045, 0.03), x_hat, 0.5)(p)
                                         for c in _both(ear_l))),
        ("face_depth", True, 0.0030, scale_about(np.array([0.0, -0.03, -0.03]), (0.075, 0.1, 0.09), z_hat, 0.07)),
        ("mouth_height", True, 0.0020, push(mouth, (0.045, 0.025, 0.04), 0.003 * y_hat)),
        ("nose_deviation", False, 0.0015, push(nose, (0.018, 0.03, 0.03), 0.002 * x_hat)),
        ("jaw_shift", False, 0.0020, push(np.array([0.0, -0.095, 0.0]), (0.07, 0.05, 0.08), 0.0025 * x_hat)),
        ("eye_level", False, 0.0012, push(eye_l, (0.025, 0.022, 0.04), 0.0018 * y_hat)),
        ("mouth_tilt", False, 0.0012, push(mouth + np.array([0.03, 0, 0]), (0.025, 0.02, 0.03), 0.0018 * y_hat)),
        ("cheek_asymmetry", False, 0.0015, push(cheek_l, (0.03, 0.035, 0.035), np.array([0.002, 0.0, 0.002]))),
        ("brow_level", False, 0.0015, push(brow + np.array([0.03, 0, 0]), (0.03, 0.02, 0.03), 0.002 * y_hat)),
    ]


def identity_basis(vertices: np.ndarray, mirror: np.ndarray, rigid_groups: list[np.ndarray],
                   anchor: dict[str, np.ndarray]) -> tuple[list[str], np.ndarray]:
    """Mode names and displacements [n_id, V, 3]. mirror [V]: each vertex's mirror partner;
    rigid_groups: vertex index sets moved by their mean displacement."""
    names, basis = [], []
    for name, symmetric, sigma, field in _modes(anchor):
        d = field(vertices)
        for g in rigid_groups:
            d[g] = d[g].mean(0)
        m = d[mirror] * MIRROR
        d = 0.5 * (d + m) if symmetric else 0.5 * (d - m)
        names.append(name)
        basis.append(d * sigma / np.linalg.norm(d, axis=1).max())
    return names, np.stack(basis)
